package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The Throughput section is replaced in place; other sections (the soak
// figures, say) stay byte for byte.
func TestReplaceSection(t *testing.T) {
	path := filepath.Join(t.TempDir(), "RESULTS.md")
	if err := replaceSection(path, "Throughput", "## Throughput\n\nfirst\n"); err != nil {
		t.Fatal(err)
	}
	before := "# Benchmarks\n\nintro\n\n## Throughput\n\nold\n\n### Overload\n\nold too\n\n## Soak\n\nsoak figures\n"
	os.WriteFile(path, []byte(before), 0o644)
	if err := replaceSection(path, "Throughput", "## Throughput\n\nnew\n\n"); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	if want := "# Benchmarks\n\nintro\n\n## Throughput\n\nnew\n\n## Soak\n\nsoak figures\n"; string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	os.WriteFile(path, []byte("# Benchmarks\n\n## Soak\n\nsoak\n"), 0o644)
	replaceSection(path, "Throughput", "## Throughput\n\nnew\n")
	got, _ = os.ReadFile(path)
	if want := "# Benchmarks\n\n## Soak\n\nsoak\n\n## Throughput\n\nnew\n"; string(got) != want {
		t.Errorf("appended: got\n%s\nwant\n%s", got, want)
	}
}

func TestThousands(t *testing.T) {
	for x, want := range map[float64]string{0: "0", 999: "999", 1000: "1,000", 123456.6: "123,457", 1234567: "1,234,567"} {
		if got := thousands(x); got != want {
			t.Errorf("thousands(%v) = %q, want %q", x, got, want)
		}
	}
}

// bisect brackets each generator's highest passing rate to the resolution
// asked, retrying a failed trial once, and the searches take turns.
func TestBisect(t *testing.T) {
	var order []string
	run := func(name string, limit float64, flaky bool) func(float64) trial {
		failed := map[float64]bool{}
		return func(rate float64) trial {
			order = append(order, name)
			lag := time.Millisecond
			if flaky && !failed[rate] {
				failed[rate] = true // every rate fails its first trial
				lag = time.Second
			}
			return trial{Planned: rate, Achieved: min(rate, limit), Sent: 1000, LagP99: lag}
		}
	}
	a := newBisector("a", 4000, 0.02)
	b := newBisector("b", 4000, 0.02)
	bisect(map[*bisector]func(float64) trial{a: run("a", 23_500, false), b: run("b", 9_000, true)}, a, b)
	if got := a.best(); got > 23_500 || got < 23_500*0.98 {
		t.Errorf("a: found %v, want within 2%% below 23,500", got)
	}
	if got := b.best(); got > 9_000 || got < 9_000*0.98 {
		t.Errorf("b (every rate failing once): found %v, want within 2%% below 9,000", got)
	}
	if len(order) < 4 || order[0] != "a" || order[1] != "b" || order[2] != "a" {
		t.Errorf("trials ran in order %v, want the searches taking turns", order[:min(len(order), 6)])
	}
	none := newBisector("none", 4000, 0.02)
	bisect(map[*bisector]func(float64) trial{none: run("none", 0, false)}, none)
	if none.best() != 0 || !none.done {
		t.Errorf("a generator that never passes: best %v, done %v", none.best(), none.done)
	}
}
