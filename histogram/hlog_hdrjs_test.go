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
// tailgate's and hdrhistogram-go's, reads tailgate's log: the same tags and
// counts, and at every percentile the same value (its getValueAtPercentile,
// Java's nearest rank, in µs: one rank off is a different value), the same
// rank and the same 95% interval, computed there on its own.
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
	ps := []float64{1, 10, 25, 50, 75, 90, 95, 97.5, 99, 99.5, 99.9, 99.99, 100}
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
	type jsCI struct {
		LowRank  int64  `json:"low_rank"`
		HighRank int64  `json:"high_rank"`
		Low      *int64 `json:"low"`
		High     *int64 `json:"high"`
	}
	var got struct {
		StartMs   float64 `json:"start_ms"`
		Intervals int
		Tags      map[string]struct {
			Count int64
			Java  map[string]int64
			Rank  map[string]int64
			CI    map[string]jsCI
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
	checked, roundedDiffers, bounded := 0, 0, 0
	for _, src := range rec.Sources() {
		h := rec.Histogram(src)
		js, ok := got.Tags[Tag(src)]
		if !ok {
			t.Errorf("hdr-histogram-js: no tag %q", Tag(src))
			continue
		}
		n := h.TotalCount()
		if js.Count != n {
			t.Errorf("%s: hdr-histogram-js counts %d, tailgate %d", src, js.Count, n)
		}
		for _, p := range ps {
			key := strconv.FormatFloat(p, 'f', -1, 64)
			v := ValueAt(h, p)
			if js.Java[key] != int64(v/time.Microsecond) {
				t.Errorf("%s p%s: hdr-histogram-js %dµs, tailgate %v", src, key, js.Java[key], v)
			}
			if js.Rank[key] != Rank(p, n) {
				t.Errorf("%s p%s: hdr-histogram-js rank %d, tailgate %d", src, key, js.Rank[key], Rank(p, n))
			}
			// hdrhistogram-go's own rank, ⌊p/100·N + ½⌋: where it reads
			// another value, this comparison is what tells them apart.
			if old := ValueAtRank(h, min(max(int64(p/100*float64(n)+0.5), 1), n)); old != v {
				roundedDiffers++
			}
			ci, jci := Interval(h, p, 0.95), js.CI[key]
			if ci.LowRank != jci.LowRank || ci.HighRank != jci.HighRank ||
				ci.LowOK != (jci.Low != nil) || (ci.LowOK && int64(ci.Low/time.Microsecond) != *jci.Low) ||
				ci.HighOK != (jci.High != nil) || (ci.HighOK && int64(ci.High/time.Microsecond) != *jci.High) {
				t.Errorf("%s p%s: tailgate's interval %+v, hdr-histogram-js's ranks %d…%d values %v…%v", src, key, ci, jci.LowRank, jci.HighRank, jsValue(jci.Low), jsValue(jci.High))
			}
			if ci.LowOK && ci.HighOK {
				bounded++
			}
			checked++
		}
	}
	// The log must be one where the old rank would have been caught.
	if roundedDiffers == 0 {
		t.Errorf("no percentile of the test log reads another value at hdrhistogram-go's rounded rank: the comparison cannot tell the ranks apart")
	}
	t.Logf("hdr-histogram-js read %d intervals of %d tags; %d percentiles agree (%d read another value at the rounded rank), and their intervals (%d bounded on both sides)", got.Intervals, len(got.Tags), checked, roundedDiffers, bounded)
}

func jsValue(v *int64) any {
	if v == nil {
		return "null"
	}
	return *v
}
