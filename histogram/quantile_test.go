package histogram

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"gonum.org/v1/gonum/stat/distuv"
)

// exactRank is the nearest rank of p = m/1000 % among n samples in integer
// arithmetic: the smallest k ≥ 1 with k·100000 ≥ m·n.
func exactRank(m, n int64) int64 {
	return max((m*n+99_999)/100_000, 1)
}

func TestRank(t *testing.T) {
	for _, c := range []struct {
		p    float64
		n    int64
		want int64
	}{
		{99.9, 1000, 999}, // 99.9/100·1000 is 999.0000000000001 in float64
		{99, 160, 159},    // 158.4: hdrhistogram-go rounds to 158
		{50, 1, 1},
		{100, 1, 1},
		{100, 160, 160},
		{0, 160, 1},
		{50, 4, 2},
		{50, 5, 3},
		{95, 20, 19},
		{99, 100, 99},
		{99.99, 10_000, 9_999},
		{99.999, 100_000, 99_999},
		{99.9, 1_000_000_000, 999_000_000},
		{1e-9, 1000, 1},
		{-5, 10, 1},
		{150, 10, 10},
		{math.NaN(), 10, 1},
	} {
		if got := Rank(c.p, c.n); got != c.want {
			t.Errorf("Rank(%v, %d) = %d, want %d", c.p, c.n, got, c.want)
		}
	}
	// Percentiles of up to three decimals, as a budget writes them, against
	// the definition in integers.
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200_000 {
		m := rng.Int64N(100_001)
		n := 1 + rng.Int64N(10_000_000)
		if rng.IntN(4) == 0 {
			// Whole percentiles of round counts: where p/100·n is a whole
			// rank and floating point may land a hair above it.
			m = 1000 * rng.Int64N(101)
			n = 10 * (1 + rng.Int64N(100_000))
		}
		p := float64(m) / 1000
		if got, want := Rank(p, n), exactRank(m, n); got != want {
			t.Fatalf("Rank(%v, %d) = %d, want %d", p, n, got, want)
		}
	}
}

// sortedExact returns a histogram of n values below 2048µs (exact in HDR)
// and the values sorted.
func sortedExact(rng *rand.Rand, n int) (*hdrhistogram.Histogram, []int64) {
	h := NewHistogram()
	vs := make([]int64, n)
	spread := 1 + rng.Int64N(2047)
	for i := range vs {
		vs[i] = 1 + rng.Int64N(spread)
		if err := h.RecordValue(vs[i]); err != nil {
			panic(err)
		}
	}
	slices.Sort(vs)
	return h, vs
}

// sortAndIndex is the nearest-rank value of p = m/1000 % by sort and index:
// the smallest sample with at least p% of the samples at or below it.
func sortAndIndex(sorted []int64, m int64) time.Duration {
	n := int64(len(sorted))
	for i, v := range sorted {
		if (int64(i)+1)*100_000 >= m*n {
			return time.Duration(v) * time.Microsecond
		}
	}
	panic("unreachable")
}

func TestValueAtBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	fixed := []struct{ p, n int64 }{{99_900, 1000}, {99_000, 160}, {50_000, 1}, {100_000, 1}, {100_000, 77}, {95_000, 20}, {0, 13}}
	for trial := range 600 {
		var n int
		var ms []int64
		if trial < len(fixed) {
			n, ms = int(fixed[trial].n), []int64{fixed[trial].p}
		} else {
			n = 1 + rng.IntN([]int{10, 200, 3000}[trial%3])
			ms = []int64{50_000, 90_000, 95_000, 99_000, 99_900, 99_990, 100_000, rng.Int64N(100_001), rng.Int64N(100_001)}
		}
		h, sorted := sortedExact(rng, n)
		ps := make([]float64, len(ms))
		for i, m := range ms {
			ps[i] = float64(m) / 1000
		}
		all := ValuesAt(h, ps...)
		for i, m := range ms {
			want := sortAndIndex(sorted, m)
			if got := ValueAt(h, ps[i]); got != want {
				t.Fatalf("n=%d: ValueAt(p%v) = %v, sort-and-index %v", n, ps[i], got, want)
			}
			if all[i] != want {
				t.Fatalf("n=%d: ValuesAt(p%v) = %v, sort-and-index %v", n, ps[i], all[i], want)
			}
		}
		if n <= 200 {
			for k := int64(0); k <= int64(n)+1; k++ {
				want := time.Duration(sorted[min(max(k, 1), int64(n))-1]) * time.Microsecond
				if got := ValueAtRank(h, k); got != want {
					t.Fatalf("n=%d: ValueAtRank(%d) = %v, want %v", n, k, got, want)
				}
			}
		}
	}
	// The case that made the rank matter: 160 distinct samples, p99 is the
	// 159th, one above hdrhistogram-go's 158th.
	h := NewHistogram()
	for v := range int64(160) {
		_ = h.RecordValue(1000 + v)
	}
	if got := ValueAt(h, 99); got != 1158*time.Microsecond {
		t.Errorf("p99 of 1000…1159µs = %v, want the 159th, 1.158ms", got)
	}
	if got := ValueAt(NewHistogram(), 99); got != 0 {
		t.Errorf("p99 of nothing = %v, want 0", got)
	}
}

// Above 2048µs ValueAt reports the top of the sample's bucket, as the Java
// reference does.
func TestValueAtHighestEquivalent(t *testing.T) {
	h := NewHistogram()
	for _, v := range []int64{100_000, 200_000, 300_000} {
		_ = h.RecordValue(v)
	}
	for _, c := range []struct {
		p    float64
		want int64
	}{{1, 100_031}, {50, 200_063}, {67, 300_031}, {100, 300_031}} {
		if got := ValueAt(h, c.p); got != time.Duration(c.want)*time.Microsecond {
			t.Errorf("p%v = %v, want %dµs", c.p, got, c.want)
		}
	}
}

func TestLowestEquivalentValue(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, h := range []*hdrhistogram.Histogram{
		NewHistogram(),
		hdrhistogram.New(1, 1e9, 2),
		hdrhistogram.New(1, 1e12, 5),
		hdrhistogram.New(1000, 1e10, 3),
		hdrhistogram.New(7, 1e8, 1),
	} {
		for range 20_000 {
			v := int64(math.Exp(rng.Float64() * math.Log(float64(h.HighestTrackableValue()))))
			lo := lowestEquivalentValue(h, v)
			if lo > v || !h.ValuesAreEquivalent(v, lo) || (lo > 0 && h.ValuesAreEquivalent(v, lo-1)) {
				t.Fatalf("New(%d, %d, %d): lowest equivalent of %d = %d", h.LowestTrackableValue(), h.HighestTrackableValue(), h.SignificantFigures(), v, lo)
			}
		}
	}
	h := NewHistogram()
	for v := int64(1); v < HighestUS; v = v*5/4 + 1 {
		if a, b := lowestEquivalentValue(h, v), lowestEquivalentUS(v); a != b {
			t.Fatalf("lowest equivalent of %dµs: %d, LowestEquivalent %d", v, a, b)
		}
	}
}

// binomialCDF is P(B ≤ j) for B ~ B(n, q), summed from 0 in log space with
// log-gamma: independent of orderRanks's sums around the mode.
func binomialCDF(n int64, q float64, j int64) float64 {
	if j < 0 {
		return 0
	}
	if j >= n {
		return 1
	}
	lgN, _ := math.Lgamma(float64(n) + 1)
	var sum float64
	for i := int64(0); i <= j; i++ {
		a, _ := math.Lgamma(float64(i) + 1)
		b, _ := math.Lgamma(float64(n-i) + 1)
		sum += math.Exp(lgN - a - b + float64(i)*math.Log(q) + float64(n-i)*math.Log1p(-q))
	}
	return sum
}

// The ranks are the tightest the exact binomial tails allow: each side
// misses with probability at most a, and one rank tighter it would miss
// more often.
func TestOrderRanksExactTails(t *testing.T) {
	const a = 0.025
	const tol = 1e-9
	ns := []int64{1, 2, 3, 5, 6, 7, 10, 20, 50, 71, 72, 100, 160, 200, 367, 368, 500, 1000, 2000, 3687, 3688, 10_000}
	for n := int64(8); n <= 400; n += 13 {
		ns = append(ns, n)
	}
	for _, n := range ns {
		for _, p := range []float64{1, 10, 50, 90, 95, 99, 99.9} {
			q := p / 100
			l, u, lowOK, highOK := orderRanks(n, q, a)
			cdf := func(j int64) float64 {
				if n <= 2000 {
					return distuv.Binomial{N: float64(n), P: q}.CDF(float64(j))
				}
				return binomialCDF(n, q, j)
			}
			if wantLow := math.Pow(1-q, float64(n)) <= a; lowOK != wantLow {
				t.Errorf("n=%d p%v: LowOK %v, (1−q)^n = %g", n, p, lowOK, math.Pow(1-q, float64(n)))
			}
			if wantHigh := math.Pow(q, float64(n)) <= a; highOK != wantHigh {
				t.Errorf("n=%d p%v: HighOK %v, q^n = %g", n, p, highOK, math.Pow(q, float64(n)))
			}
			if lowOK {
				if miss := cdf(l - 1); miss > a+tol {
					t.Errorf("n=%d p%v: low rank %d misses with %g > %g", n, p, l, miss, a)
				}
				if l < n {
					if miss := cdf(l); miss <= a-tol {
						t.Errorf("n=%d p%v: low rank %d is not the tightest: %d misses with %g", n, p, l, l+1, miss)
					}
				}
			} else if l != 0 {
				t.Errorf("n=%d p%v: unbounded low side at rank %d, want 0", n, p, l)
			}
			if highOK {
				if miss := 1 - cdf(u-1); miss > a+tol {
					t.Errorf("n=%d p%v: high rank %d misses with %g > %g", n, p, u, miss, a)
				}
				if u > 1 {
					if miss := 1 - cdf(u-2); miss <= a-tol {
						t.Errorf("n=%d p%v: high rank %d is not the tightest: %d misses with %g", n, p, u, u-1, miss)
					}
				}
			} else if u != n+1 {
				t.Errorf("n=%d p%v: unbounded high side at rank %d, want n+1", n, p, u)
			}
		}
	}
}

// Far beyond what the tests sum directly, the ranks follow the normal
// approximation (within a rank or two of skew), and stay in order.
func TestOrderRanksLargeN(t *testing.T) {
	z := distuv.UnitNormal.Quantile(0.975)
	for _, n := range []int64{100_000, 10_000_000, 1_000_000_000, 100_000_000_000} {
		for _, p := range []float64{50, 95, 99, 99.9, 99.99} {
			q := p / 100
			l, u, lowOK, highOK := orderRanks(n, q, 0.025)
			mean, sd := float64(n)*q, math.Sqrt(float64(n)*q*(1-q))
			wantL, wantU := mean-z*sd+0.5, mean+z*sd+0.5
			slack := 3 + 0.01*sd
			if !lowOK || !highOK || math.Abs(float64(l)-wantL) > slack || math.Abs(float64(u)-wantU) > slack {
				t.Errorf("n=%d p%v: ranks %d…%d (%v %v), normal approximation %.1f…%.1f", n, p, l, u, lowOK, highOK, wantL, wantU)
			}
			if k := Rank(p, n); l > k || k > u {
				t.Errorf("n=%d p%v: rank %d outside %d…%d", n, p, k, l, u)
			}
		}
	}
}

func TestMinSamples(t *testing.T) {
	for _, c := range []struct {
		p, conf float64
		want    int64
	}{
		{99, 0.95, 368},    // ⌈ln 0.025 / ln 0.99⌉
		{99.9, 0.95, 3688}, // ⌈ln 0.025 / ln 0.999⌉
		{95, 0.95, 72},
		{50, 0.95, 6},
		{1, 0.95, 368},
		{99, 0.99, 528}, // ⌈ln 0.005 / ln 0.99⌉
		{100, 0.95, math.MaxInt64},
		{0, 0.95, math.MaxInt64},
	} {
		got := MinSamples(c.p, c.conf)
		if got != c.want {
			t.Errorf("MinSamples(%v, %v) = %d, want %d", c.p, c.conf, got, c.want)
		}
		if got == math.MaxInt64 {
			continue
		}
		// Interval agrees: both sides bounded from n on, not at n−1.
		for _, n := range []int64{got - 1, got} {
			h := NewHistogram()
			_ = h.RecordValues(1000, n)
			ci := Interval(h, c.p, c.conf)
			if both := ci.LowOK && ci.HighOK; both != (n == got) {
				t.Errorf("p%v at %v, n=%d: LowOK %v HighOK %v; MinSamples %d", c.p, c.conf, n, ci.LowOK, ci.HighOK, got)
			}
		}
	}
}

// Interval reads its ranks from the histogram: the lowest value equivalent
// to the l-th sample, the highest equivalent to the u-th, around ValueAt.
func TestIntervalReadsRanks(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for trial := range 300 {
		n := 1 + rng.IntN([]int{20, 500, 5000}[trial%3])
		h := NewHistogram()
		vs := make([]int64, n)
		for i := range vs {
			vs[i] = int64(math.Exp(8 + 2*rng.NormFloat64())) // beyond 2048µs too
			vs[i] = min(max(vs[i], 1), HighestUS)
			_ = h.RecordValue(vs[i])
		}
		slices.Sort(vs)
		for _, p := range []float64{50, 90, 95, 99, 99.9, rng.Float64() * 100} {
			ci := Interval(h, p, 0.95)
			l, u, lowOK, highOK := orderRanks(int64(n), p/100, 0.025)
			if ci.LowRank != l || ci.HighRank != u || ci.LowOK != lowOK || ci.HighOK != highOK {
				t.Fatalf("n=%d p%v: %+v, ranks %d…%d", n, p, ci, l, u)
			}
			if k := Rank(p, int64(n)); ci.LowRank > k || k > ci.HighRank {
				t.Fatalf("n=%d p%v: rank %d outside %d…%d", n, p, k, ci.LowRank, ci.HighRank)
			}
			v := ValueAt(h, p)
			if ci.LowOK {
				x := vs[ci.LowRank-1]
				if want := LowestEquivalent(time.Duration(x) * time.Microsecond); ci.Low != want || ci.Low > v {
					t.Fatalf("n=%d p%v: Low %v, want %v (the %d-th sample %dµs), ValueAt %v", n, p, ci.Low, want, ci.LowRank, x, v)
				}
			} else if ci.LowRank != 0 {
				t.Fatalf("n=%d p%v: unbounded low at rank %d", n, p, ci.LowRank)
			}
			if ci.HighOK {
				if want := ValueAtRank(h, ci.HighRank); ci.High != want || ci.High < v || ci.High < time.Duration(vs[ci.HighRank-1])*time.Microsecond {
					t.Fatalf("n=%d p%v: High %v, want %v, ValueAt %v", n, p, ci.High, want, v)
				}
			} else if ci.HighRank != int64(n)+1 {
				t.Fatalf("n=%d p%v: unbounded high at rank %d", n, p, ci.HighRank)
			}
		}
	}
	if ci := Interval(NewHistogram(), 99, 0.95); ci.LowOK || ci.HighOK {
		t.Errorf("interval of nothing: %+v", ci)
	}
}

func TestRecorderPercentileAndInterval(t *testing.T) {
	r := NewRecorder(1)
	if _, ok := r.Interval("total", 99, 0.95); ok {
		t.Error("interval of a source never recorded")
	}
	for i := range 160 {
		r.Record("total", time.Duration(1000+i)*time.Microsecond)
	}
	d, n, ok := r.Percentile("total", 99)
	if !ok || n != 160 || d != 1158*time.Microsecond {
		t.Errorf("Percentile(total, 99) = %v, %d, %v; want the 159th of 160, 1.158ms", d, n, ok)
	}
	ci, ok := r.Interval("total", 99, 0.95)
	// 160 samples cannot bound p99 from above (0.99^160 = 0.20): the low
	// side is the sample below which B(160, 0.99) falls 2.5% of the time.
	if !ok || !ci.LowOK || ci.HighOK || ci.HighRank != 161 || ci.LowRank != 156 || ci.Low != 1155*time.Microsecond {
		t.Errorf("Interval(total, 99) = %+v, %v", ci, ok)
	}
}

// dist is a latency distribution (µs) with known quantiles.
type dist struct {
	name     string
	sample   func(*rand.Rand) float64
	quantile func(q float64) float64
}

func lognormalDist(medianUS, sigma float64) dist {
	mu := math.Log(medianUS)
	return dist{
		name:     fmt.Sprintf("lognormal(%gµs, σ=%g)", medianUS, sigma),
		sample:   func(r *rand.Rand) float64 { return math.Exp(mu + sigma*r.NormFloat64()) },
		quantile: func(q float64) float64 { return math.Exp(mu + sigma*distuv.UnitNormal.Quantile(q)) },
	}
}

// bimodal is a fast path (80%, median 30ms) and a slow one (20%, median
// 400ms), as a cache hit or miss: p95 and p99 fall in the slow mode.
func bimodalDist() dist {
	fast, slow := lognormalDist(30_000, 0.3), lognormalDist(400_000, 0.4)
	mFast, mSlow := math.Log(30_000), math.Log(400_000)
	cdf := func(x float64) float64 {
		return 0.8*distuv.UnitNormal.CDF((math.Log(x)-mFast)/0.3) + 0.2*distuv.UnitNormal.CDF((math.Log(x)-mSlow)/0.4)
	}
	return dist{
		name: "bimodal 80% lognormal(30ms) + 20% lognormal(400ms)",
		sample: func(r *rand.Rand) float64 {
			if r.Float64() < 0.8 {
				return fast.sample(r)
			}
			return slow.sample(r)
		},
		quantile: func(q float64) float64 {
			lo, hi := 1.0, float64(HighestUS)
			for range 200 {
				mid := math.Sqrt(lo * hi)
				if cdf(mid) < q {
					lo = mid
				} else {
					hi = mid
				}
			}
			return math.Sqrt(lo * hi)
		},
	}
}

// paretoDist has a heavy tail: P(X > x) = (xm/x)^α.
func paretoDist(xm, alpha float64) dist {
	return dist{
		name:     fmt.Sprintf("Pareto(%gµs, α=%g)", xm, alpha),
		sample:   func(r *rand.Rand) float64 { return xm * math.Pow(1-r.Float64(), -1/alpha) },
		quantile: func(q float64) float64 { return xm * math.Pow(1-q, -1/alpha) },
	}
}

// The 95% interval covers the true percentile at least 95% of the time,
// whatever the distribution and the sample size. Samples are rounded to
// whole µs as Recorder does; rounding is monotone, so the rounded true
// percentile is what the interval of rounded samples must cover.
func TestIntervalCoverage(t *testing.T) {
	dists := []dist{lognormalDist(80_000, 0.6), bimodalDist(), paretoDist(20_000, 3)}
	ps := []float64{50, 95, 99}
	const conf = 0.95
	for _, n := range []int64{50, 200, 1000, 10_000, 100_000} {
		trials := 1000
		if raceEnabled || testing.Short() {
			// The race detector makes a recorded sample about seven times
			// dearer: the large samples get fewer trials (and a wider
			// allowance for noise).
			trials = min(trials, int(5_000_000/n))
		}
		// A side misses at most 2.5% of the time, both at most 5%: allow
		// three standard deviations of binomial noise over the trials.
		noise := func(miss float64) float64 { return 3 * math.Sqrt(miss*(1-miss)/float64(trials)) }
		for di, d := range dists {
			rng := rand.New(rand.NewPCG(uint64(n), uint64(di)))
			truth := make([]time.Duration, len(ps))
			for i, p := range ps {
				truth[i] = time.Duration(math.Round(d.quantile(p/100))) * time.Microsecond
			}
			var lowMiss, highMiss, bothMiss, both [3]int
			h := NewHistogram()
			for range trials {
				h.Reset()
				for range n {
					us := min(max(int64(math.Round(d.sample(rng))), 1), HighestUS)
					_ = h.RecordValue(us)
				}
				for i, p := range ps {
					ci := Interval(h, p, conf)
					low := ci.LowOK && ci.Low > truth[i]
					high := ci.HighOK && ci.High < truth[i]
					if low {
						lowMiss[i]++
					}
					if high {
						highMiss[i]++
					}
					if ci.LowOK && ci.HighOK {
						both[i]++
						if low || high {
							bothMiss[i]++
						}
					}
				}
			}
			for i, p := range ps {
				bounded := MinSamples(p, conf) <= n
				tr := float64(trials)
				if want := map[bool]int{true: trials, false: 0}[bounded]; both[i] != want {
					t.Errorf("%s n=%d p%v: bounded on both sides in %d of %d trials; MinSamples %d", d.name, n, p, both[i], trials, MinSamples(p, conf))
				}
				if bounded {
					cov := 1 - float64(bothMiss[i])/tr
					t.Logf("%s n=%d p%v: coverage %.1f%% (low misses %d, high misses %d of %d)", d.name, n, p, 100*cov, lowMiss[i], highMiss[i], trials)
					if cov < conf-noise(1-conf) {
						t.Errorf("%s n=%d p%v: coverage %.1f%% over %d trials, want ≥ %.1f%%", d.name, n, p, 100*cov, trials, 100*(conf-noise(1-conf)))
					}
				}
				// One-sided: a bounded side misses at most 2.5% of the time.
				for side, miss := range map[string]int{"low": lowMiss[i], "high": highMiss[i]} {
					if rate := float64(miss) / tr; rate > (1-conf)/2+noise((1-conf)/2) {
						t.Errorf("%s n=%d p%v: the %s side misses in %.1f%% of %d trials", d.name, n, p, side, 100*rate, trials)
					}
				}
			}
		}
	}
}
