package sim

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// sweepScenario: four workers each busy exactly 10ms hold 400/s; constant
// arrivals below that never wait, and above it the queue grows for the
// whole 10s: by (rate − 400) × 10s requests, each 2.5ms more of waiting.
// The 50ms p99 then breaks just above 400/s (at 404/s the last requests
// wait ~100ms), so the knee of a 100/s plan is ×4, within the 1% the
// bisection resolves.
func sweepScenario(rate, p99 string) string {
	return `target: {url: embedded}
traffic: [{constant: {rate: ` + rate + `, duration: 10s}}]
service: {workers: 4, queue: 100000, database: {fixed: 10ms}}
budget: {total: {p99: ` + p99 + `}, errors: 1%}
`
}

func TestSweep(t *testing.T) {
	cases := []struct {
		name         string
		yaml         string
		knee         float64 // 0: none
		stopped      string
		firstVerdict string
	}{
		{"passes as written, knee above", sweepScenario("100/s", "50ms"), 4, "", "pass"},
		{"fails as written, knee below", sweepScenario("1000/s", "50ms"), 0.4, "", "fail"},
		{"never fails up to the ceiling", strings.Replace(sweepScenario("1/s", "1s"), "workers: 4", "workers: 10000", 1), 1024, "the sweep's ceiling", "pass"},
		{"fails without load", sweepScenario("10/s", "5ms"), 0, "over budget down to ×0.016; below that the plan sends no request", "fail"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sw, err := RunSweep(context.Background(), parse(t, c.yaml))
			if err != nil {
				t.Fatal(err)
			}
			if sw.Steps[0].Factor != 1 || string(sw.Steps[0].Verdict) != c.firstVerdict {
				t.Errorf("first step %+v, want ×1 %s", sw.Steps[0], c.firstVerdict)
			}
			switch {
			case c.knee == 0 && sw.Knee != nil:
				t.Errorf("knee ×%v, want none", sw.Knee.Factor)
			case c.knee != 0 && sw.Knee == nil:
				t.Errorf("no knee, want ×%v", c.knee)
			case c.knee != 0:
				// Resolved within SweepPrecision, below the true knee.
				if k := sw.Knee.Factor; k > c.knee*1.005 || k < c.knee*(1-2*SweepPrecision) {
					t.Errorf("knee ×%v, want ×%v", k, c.knee)
				}
				if !sw.Knee.Pass() {
					t.Errorf("the knee's step %+v does not pass", sw.Knee)
				}
				if f := sw.Fails; f != nil && (f.Pass() || f.Factor <= sw.Knee.Factor || f.Factor > sw.Knee.Factor*(1+SweepPrecision)) {
					t.Errorf("first failure %+v, knee ×%v", f, sw.Knee.Factor)
				}
			}
			if !strings.Contains(sw.Stopped, c.stopped) {
				t.Errorf("stopped %q, want %q", sw.Stopped, c.stopped)
			}
			if len(sw.Steps) > 30 {
				t.Errorf("%d steps", len(sw.Steps))
			}
		})
	}
}

func TestSweepWrite(t *testing.T) {
	sw, err := RunSweep(context.Background(), parse(t, sweepScenario("100/s", "50ms")))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := sw.Write(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"  factor   peak rate   mean rate   requests   total p99   verdict\n",
		"  ×1       100/s       100/s       1000       10.0ms      pass\n",
		"  ×8       800/s       800/s       8000       ",
		"FAIL: total",
		"knee: ×4 (peak 400/s, mean 400/s) is the highest rate scale within budget; ×4.031 fails (total)",
		"is the highest rate scale within budget; ×",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("sweep output:\n%s\nwant it to hold %q", out, want)
		}
	}
	// Factors are listed smallest first.
	if strings.Index(out, "×1 ") > strings.Index(out, "×2 ") {
		t.Errorf("factors out of order:\n%s", out)
	}
}

// TestSweepInterrupted: ended before the first step, a sweep has nothing
// to say and returns the cause; ended later, it keeps the steps it
// simulated whole and says it was interrupted.
func TestSweepInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	stop := errors.New("stop")
	cancel(stop)
	sw, err := RunSweep(ctx, parse(t, sweepScenario("100/s", "50ms")))
	if !errors.Is(err, stop) || sw != nil {
		t.Errorf("cancelled before the first step: %+v, %v", sw, err)
	}

	// The first step looks at the context once, before it starts; the
	// second step finds it ended.
	sw, err = RunSweep(&endsAfter{calls: 1}, parse(t, sweepScenario("100/s", "50ms")))
	if err != nil {
		t.Fatal(err)
	}
	if len(sw.Steps) != 1 || sw.Stopped != "interrupted" || sw.Knee == nil || sw.Knee.Factor != 1 || sw.Fails != nil {
		t.Errorf("interrupted sweep: %d steps, stopped %q, knee %+v, fails %+v", len(sw.Steps), sw.Stopped, sw.Knee, sw.Fails)
	}
}

// endsAfter is a context that ends once Err has been asked calls times:
// where a simulation stops does not depend on how fast it runs.
type endsAfter struct {
	context.Context
	calls int
	asked int
}

func (c *endsAfter) Err() error {
	if c.asked++; c.asked > c.calls {
		return context.Canceled
	}
	return nil
}

func (c *endsAfter) Done() <-chan struct{} { return nil }
