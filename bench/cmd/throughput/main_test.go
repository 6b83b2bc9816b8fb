package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
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
	a := newBisector("a", 4000, 0.02, run("a", 23_500, false))
	b := newBisector("b", 4000, 0.02, run("b", 9_000, true))
	c := newBisector("c", 4000, 0.02, run("c", 40_000, false))
	bisect(a, b, c)
	for _, s := range []struct {
		b     *bisector
		limit float64
	}{{a, 23_500}, {b, 9_000}, {c, 40_000}} {
		if got := s.b.best(); got > s.limit || got < s.limit*0.98 {
			t.Errorf("%s: found %v, want within 2%% below %v", s.b.name, got, s.limit)
		}
	}
	if len(order) < 6 || strings.Join(order[:6], "") != "abcabc" {
		t.Errorf("trials ran in order %v, want the searches taking turns", order[:min(len(order), 6)])
	}
	none := newBisector("none", 4000, 0.02, run("none", 0, false))
	bisect(none)
	if none.best() != 0 || !none.done {
		t.Errorf("a generator that never passes: best %v, done %v", none.best(), none.done)
	}
}

// The goals are judged from the run's figures: a ratio just under its goal
// is not met, the overload goal needs both the share sent and an invalid
// verdict for the lag, and precision is judged at 2,000/s only.
func TestGoals(t *testing.T) {
	gen := func(name string, capacity float64, over trial) *generator {
		return &generator{name: name, search: &bisector{lo: capacity}, over: over}
	}
	late := trial{Planned: 2 * 40_000, Achieved: 38_000, LagP99: 2 * time.Second, Verdict: "invalid", Saturated: true}
	onTime := late
	onTime.Verdict, onTime.Saturated, onTime.LagP99 = "pass", false, time.Millisecond
	r := results{
		cli:    gen("vegeta CLI", 20_000, trial{}),
		vegeta: gen("tailgate --engine vegeta", 17_900, trial{Planned: 35_800, Achieved: 17_000, LagP99: time.Second, Verdict: "invalid", Saturated: true}),
		native: gen("tailgate --engine native", 40_000, late),
		bare:   closed{rate: 45_000},
		precision: []trial{
			{Engine: "native", Planned: 500, LagP50: time.Millisecond, LagP99: time.Second},
			{Engine: "native", Planned: 2000, LagP50: 40 * time.Microsecond, LagP99: 250 * time.Microsecond},
			{Engine: "vegeta", Planned: 2000, LagP50: 60 * time.Microsecond, LagP99: 250 * time.Microsecond},
		},
	}
	want := []bool{
		true,  // native 2.00× the CLI
		false, // native 0.89× the bare loop
		false, // vegeta engine 0.895× the CLI
		true,  // vegeta engine at 2×: 17,000 of 17,900 (95%) sent, invalid for its lag
		true,  // native at 2×: 95% sent, invalid for its lag
		false, // vegeta engine at 2,000/s: p50 60 µs
		true,  // native at 2,000/s: p50 40 µs, p99 250 µs (its 500/s trial is not judged)
	}
	check := func(r results, want []bool) {
		t.Helper()
		got := r.goals()
		if len(got) != len(want) {
			t.Fatalf("%d goals, want %d: %v", len(got), len(want), got)
		}
		for i, g := range got {
			if g.met != want[i] {
				t.Errorf("%q measured %s: met %v, want %v", g.what, g.measured, g.met, want[i])
			}
		}
	}
	check(r, want)
	// Sending enough late but judged pass is not the verdict owed.
	r.native = gen("tailgate --engine native", 40_000, onTime)
	want[4] = false
	check(r, want)
}

// The engines' benchmarks report req/s beside the -benchmem columns; their
// allocations per request still reach the Hot path section.
func TestEngineAllocations(t *testing.T) {
	out := `goos: linux
BenchmarkEngine/vegeta-2         	    5937	    200035 ns/op	      5001 req/s	    6096 B/op	      63 allocs/op
BenchmarkEngine/native-2         	    6001	    200006 ns/op	      5001 req/s	    1223 B/op	      14 allocs/op
BenchmarkClaim/constant-2        	26214945	        45.76 ns/op	       0 B/op	       0 allocs/op
PASS
`
	hot := parseBench("load", out)
	want := []goBench{
		{"load.BenchmarkEngine/vegeta", "200035", "6096", "63"},
		{"load.BenchmarkEngine/native", "200006", "1223", "14"},
		{"load.BenchmarkClaim/constant", "45.76", "0", "0"},
	}
	if !slices.Equal(hot, want) {
		t.Fatalf("parsed %v, want %v", hot, want)
	}
	var b strings.Builder
	results{hot: hot}.hotPathTable(&b)
	if s := "allocates **63 times (6096 B) per request on the vegeta engine and 14 times (1223 B) on the native engine**"; !strings.Contains(b.String(), s) {
		t.Errorf("Hot path section does not say %q:\n%s", s, b.String())
	}
}
