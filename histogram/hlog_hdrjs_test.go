package histogram

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// hdr-histogram-js, an HdrHistogram implementation independent of
// tailgate's and hdrhistogram-go's, reads tailgate's log: the same tags,
// counts and percentiles, at its own (Java's) rank and at Go's.
// testdata/hdrjs/check.sh installs it from the npm registry and runs this;
// without it the test skips.
func TestLogReadByHdrHistogramJS(t *testing.T) {
	nodePath := os.Getenv("TAILGATE_HDRJS_NODE_PATH")
	node, err := exec.LookPath("node")
	if nodePath == "" || err != nil {
		t.Skip("hdr-histogram-js is not installed: run histogram/testdata/hdrjs/check.sh (needs node and npm)")
	}
	start := time.Date(2025, 3, 1, 12, 0, 0, 250_000_000, time.UTC)
	rec, log := writeTestLog(t, 11, start, 6, 700)
	path := filepath.Join(t.TempDir(), "run.hlog")
	if err := os.WriteFile(path, log, 0o644); err != nil {
		t.Fatal(err)
	}
	ps := []float64{50, 90, 95, 99, 99.9, 100}
	args := []string{filepath.Join("testdata", "hdrjs", "percentiles.js"), path}
	for _, p := range ps {
		args = append(args, strconv.FormatFloat(p, 'f', -1, 64))
	}
	cmd := exec.Command(node, args...)
	cmd.Env = append(os.Environ(), "NODE_PATH="+nodePath)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	var got struct {
		StartMs   float64 `json:"start_ms"`
		Intervals int
		Tags      map[string]struct {
			Count int64
			Java  map[string]int64
			Round map[string]int64
		}
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if int64(got.StartMs) != start.UnixMilli() {
		t.Errorf("hdr-histogram-js: first interval at %v ms, want %d", got.StartMs, start.UnixMilli())
	}
	if len(got.Tags) != len(rec.Sources()) {
		t.Errorf("hdr-histogram-js read tags %v, want %q", got.Tags, rec.Sources())
	}
	for _, src := range rec.Sources() {
		h := rec.Histogram(src)
		js, ok := got.Tags[Tag(src)]
		if !ok {
			t.Errorf("hdr-histogram-js: no tag %q", Tag(src))
			continue
		}
		if js.Count != h.TotalCount() {
			t.Errorf("%s: hdr-histogram-js counts %d, tailgate %d", src, js.Count, h.TotalCount())
		}
		n := float64(h.TotalCount())
		for _, p := range ps {
			key := strconv.FormatFloat(p, 'f', -1, 64)
			if js.Round[key] != h.ValueAtQuantile(p) {
				t.Errorf("%s p%s: hdr-histogram-js %dµs, tailgate %dµs", src, key, js.Round[key], h.ValueAtQuantile(p))
			}
			// Java's rank is ⌈p·N⌉; asking Go for (rank − ¼)/N gets that rank.
			rank := max(int64(ceilRank(p, n)), 1)
			if want := h.ValueAtQuantile(100 * (float64(rank) - 0.25) / n); js.Java[key] != want {
				t.Errorf("%s p%s at Java's rank %d: hdr-histogram-js %dµs, tailgate %dµs", src, key, rank, js.Java[key], want)
			}
		}
	}
	t.Logf("hdr-histogram-js read %d intervals of %d tags; counts and percentiles agree", got.Intervals, len(got.Tags))
}

func ceilRank(p, n float64) float64 {
	r := p / 100 * n
	if c := float64(int64(r)); c < r-1e-9 {
		return c + 1
	}
	return float64(int64(r + 1e-9))
}
