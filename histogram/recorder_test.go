package histogram

import (
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// bruteForce is the nearest-rank percentile: the smallest sample with at
// least p% of the sorted samples at or below it, p read as the decimal it
// was written as (99.9% of 1000 is the 999th).
func bruteForce(sorted []int64, p float64) int64 {
	pr, _ := new(big.Rat).SetString(strconv.FormatFloat(p, 'f', -1, 64))
	need := new(big.Rat).Mul(pr, big.NewRat(int64(len(sorted)), 100))
	// The rank is ⌈need⌉: the quotient rounded up.
	num, den := need.Num(), need.Denom()
	rank, rem := new(big.Int).QuoRem(num, den, new(big.Int))
	if rem.Sign() > 0 {
		rank.Add(rank, big.NewInt(1))
	}
	return sorted[min(max(rank.Int64(), 1), int64(len(sorted)))-1]
}

func TestPercentileAgainstBruteForce(t *testing.T) {
	dists := map[string]func(r *rand.Rand) time.Duration{
		"uniform 1-100ms": func(r *rand.Rand) time.Duration {
			return time.Millisecond + time.Duration(r.Int64N(int64(99*time.Millisecond)))
		},
		"lognormal p50 8ms": func(r *rand.Rand) time.Duration {
			return time.Duration(math.Exp(math.Log(8e6) + 0.8*r.NormFloat64()))
		},
		"bimodal 2ms/900ms": func(r *rand.Rand) time.Duration {
			if r.Float64() < 0.02 {
				return 900*time.Millisecond + time.Duration(r.Int64N(int64(50*time.Millisecond)))
			}
			return 2*time.Millisecond + time.Duration(r.Int64N(int64(time.Millisecond)))
		},
		"sub-millisecond": func(r *rand.Rand) time.Duration {
			return time.Duration(r.Int64N(int64(time.Millisecond)))
		},
	}
	for name, draw := range dists {
		for _, n := range []int{1, 7, 100, 10_000, 200_000} {
			r := rand.New(rand.NewPCG(1, uint64(n)))
			rec := NewRecorder(100)
			us := make([]int64, n)
			for i := range us {
				d := draw(r)
				rec.Record("total", d)
				us[i] = int64((d + time.Microsecond/2) / time.Microsecond)
			}
			slices.Sort(us)
			for _, p := range []float64{1, 50, 90, 95, 99, 99.9, 99.99, 100} {
				got, count, ok := rec.Percentile("total", p)
				if !ok || count != int64(n) {
					t.Fatalf("%s n=%d: count %d ok %v", name, n, count, ok)
				}
				want := bruteForce(us, p)
				gotUS := int64(got / time.Microsecond)
				// 3 significant digits: HDR reports the top of the bucket
				// holding the sample, never below it and at most 1/1000 above.
				if gotUS < want || float64(gotUS) > float64(want)*1.001+1 {
					t.Errorf("%s n=%d p%v: HDR %dµs, brute force %dµs", name, n, p, gotUS, want)
				}
			}
		}
	}
}

func TestRecordRoundsAndClamps(t *testing.T) {
	rec := NewRecorder(100)
	rec.Record("x", 1499*time.Nanosecond) // rounds to 1µs
	rec.Record("x", -5*time.Millisecond)  // clock noise: zero
	rec.Record("x", 2*time.Hour)          // beyond range: clamped and counted
	h := rec.Histogram("x")
	if h.TotalCount() != 3 || h.Min() != 0 {
		t.Fatalf("count %d min %d", h.TotalCount(), h.Min())
	}
	if rec.Counts.Clamped != 1 {
		t.Errorf("clamped %d, want 1", rec.Counts.Clamped)
	}
	if got := time.Duration(h.Max()) * time.Microsecond; got < time.Hour || got > time.Hour+4*time.Second {
		t.Errorf("max %v, want about 1h", got)
	}
	if _, _, ok := rec.Percentile("absent", 99); ok {
		t.Error("a source never recorded must report no data")
	}
}

func TestMergeEqualsSingleRecorder(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	all, a, b := NewRecorder(100), NewRecorder(100), NewRecorder(100)
	for i := range 50_000 {
		d := time.Duration(r.ExpFloat64() * float64(20*time.Millisecond))
		all.Record("total", d)
		if i%3 == 0 {
			a.Record("total", d)
			a.Error("timeout")
		} else {
			b.Record("total", d)
			b.Record("connect", d/10)
		}
	}
	all.Record("connect", 0) // keep the source set equal below
	a.Merge(b)
	for _, p := range []float64{50, 95, 99, 99.9} {
		want, _, _ := all.Percentile("total", p)
		got, _, _ := a.Percentile("total", p)
		if got != want {
			t.Errorf("p%v merged %v, single %v", p, got, want)
		}
	}
	if a.Counts.ByClass["timeout"] != 16667 || a.Counts.Errors != 16667 {
		t.Errorf("merged counts %+v", a.Counts)
	}
	if got := a.Histogram("connect").TotalCount(); got != 33333 {
		t.Errorf("connect count %d, want 33333", got)
	}
}

func BenchmarkRecord(b *testing.B) {
	rec := NewRecorder(100)
	rec.Record("total", time.Millisecond)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		rec.Record("total", time.Duration(i%100_000)*time.Microsecond)
	}
}

func TestRecordDoesNotAllocate(t *testing.T) {
	rec := NewRecorder(100)
	rec.Record("total", time.Millisecond)
	if n := testing.AllocsPerRun(1000, func() { rec.Record("total", 3*time.Millisecond) }); n != 0 {
		t.Errorf("Record allocates %v times per sample", n)
	}
}

// TestLowestEquivalentMatchesHDR checks our bucket arithmetic against the
// library's own notion of equivalent values.
func TestLowestEquivalentMatchesHDR(t *testing.T) {
	h := NewHistogram()
	r := rand.New(rand.NewPCG(5, 6))
	values := []int64{0, 1, 2047, 2048, 2049, 4095, 4096, 990_000, HighestUS}
	for range 10_000 {
		values = append(values, r.Int64N(HighestUS))
	}
	for _, v := range values {
		lo := lowestEquivalentUS(v)
		if lo > v || !h.ValuesAreEquivalent(lo, v) {
			t.Fatalf("lowest equivalent of %d: %d is not equivalent", v, lo)
		}
		if lo > 0 && h.ValuesAreEquivalent(lo-1, v) {
			t.Fatalf("lowest equivalent of %d: %d is not the lowest", v, lo)
		}
	}
}

// Swapping intervals keeps every sample exactly once, whatever the next
// interval's histograms (none, or made beforehand).
func TestSwapInterval(t *testing.T) {
	r := NewRecorder(1)
	if r.SwapInterval(nil) != nil {
		t.Fatal("intervals handed over before KeepIntervals")
	}
	r.KeepIntervals()
	var got int64
	for i, next := range []map[string]*hdrhistogram.Histogram{nil, {"total": NewHistogram(), "ttfb": NewHistogram()}, {}} {
		for range 10 {
			r.Record("total", time.Millisecond)
		}
		last := WithSamples(r.SwapInterval(next))
		if len(last) != 1 || last["total"].TotalCount() != 10 {
			t.Fatalf("interval %d: %d sources, want total with 10 samples", i, len(last))
		}
		got += last["total"].TotalCount()
	}
	if got != r.Histogram("total").TotalCount() {
		t.Errorf("intervals hold %d samples, the run %d", got, r.Histogram("total").TotalCount())
	}
}
