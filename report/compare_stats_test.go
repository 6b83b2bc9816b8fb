package report

import (
	"math"
	"math/rand/v2"
	"testing"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/tailgate-dev/tailgate/budget"
	"github.com/tailgate-dev/tailgate/histogram"
)

// lognormalRun is the result of a run of n samples of a lognormal latency
// (median 100ms, σ 0.5: p95 ≈ 228ms, p99 ≈ 320ms), each multiplied by scale,
// drawn from seed and recorded into h (reset first) as a run records them:
// total p95 and p99 with their 95% intervals.
func lognormalRun(h *hdrhistogram.Histogram, seed uint64, n int, scale float64) *budget.Result {
	h.Reset()
	rng := rand.New(rand.NewPCG(seed, 0x7a11))
	for range n {
		ms := scale * 100 * math.Exp(0.5*rng.NormFloat64())
		h.RecordValue(int64(math.Round(ms * 1000))) // µs
	}
	l := budget.Line{Name: "total", Source: "total", Count: h.TotalCount()}
	for _, p := range []float64{95, 99} {
		ci := histogram.Interval(h, p, DefaultConfidence)
		pr := budget.Percentile{P: p, ObservedMs: msPtr(histogram.ValueAt(h, p)), BudgetMs: 1000}
		if ci.LowOK {
			pr.CILowMs = msPtr(ci.Low)
		}
		if ci.HighOK {
			pr.CIHighMs = msPtr(ci.High)
		}
		l.Percentiles = append(l.Percentiles, pr)
	}
	return &budget.Result{Schema: budget.Schema, Scenario: "api", Mode: "run", Verdict: budget.Pass,
		Requests: budget.Requests{Sent: int64(n)}, Lines: []budget.Line{l}}
}

// TestCompareFalseAlarmsAndDetection holds the gate to its statistical
// promise with the default allowance (10%) and confidence (95%), over 200
// pairs of runs: two runs of one distribution with different seeds are
// flagged in under 5% of pairs, and a new run 20% slower (every sample
// ×1.2) with 5,000 samples in over 95%.
//
// With 500 samples a percentile of two runs of one distribution differs by
// more than 10% in over a quarter of pairs: a gate on point estimates alone
// fails there, and the test checks that it would.
func TestCompareFalseAlarmsAndDetection(t *testing.T) {
	const pairs = 200
	baseH, newH := histogram.NewHistogram(), histogram.NewHistogram()
	for _, tc := range []struct {
		name    string
		samples int
		scale   float64
		// minFlagged and maxFlagged bound the pairs flagged; minOver
		// bounds from below those over the allowance on point estimates.
		minFlagged, maxFlagged, minOver int
	}{
		{"same distribution, 5,000 samples", 5000, 1, 0, pairs/20 - 1, 0},
		{"same distribution, 500 samples", 500, 1, 0, pairs/20 - 1, pairs / 20},
		{"20% slower, 5,000 samples", 5000, 1.2, pairs*95/100 + 1, pairs, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var flagged, over int
			byP := map[float64]int{}
			for i := range uint64(pairs) {
				base := lognormalRun(baseH, 2*i, tc.samples, 1)
				next := lognormalRun(newH, 2*i+1, tc.samples, tc.scale)
				c := Compare(base, next, 0.1, DefaultConfidence)
				if c.Regressions() > 0 {
					flagged++
				}
				pairOver := false
				for _, ch := range c.Changes {
					switch ch.Status {
					case Regressed:
						byP[ch.P]++
						pairOver = true
					case NotSignificant, TooFewSamples:
						pairOver = true
					}
				}
				if pairOver {
					over++
				}
			}
			t.Logf("%d of %d pairs flagged (%.1f%%; p95 in %d, p99 in %d); over the allowance on point estimates alone: %d (%.1f%%)",
				flagged, pairs, 100*float64(flagged)/pairs, byP[95], byP[99], over, 100*float64(over)/pairs)
			if flagged < tc.minFlagged || flagged > tc.maxFlagged {
				t.Errorf("%d of %d pairs flagged, want %d to %d", flagged, pairs, tc.minFlagged, tc.maxFlagged)
			}
			if over < tc.minOver {
				t.Errorf("%d of %d pairs over the allowance on point estimates, want at least %d: this case no longer shows what the intervals add", over, pairs, tc.minOver)
			}
		})
	}
}
