package scenario

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func within(got, want time.Duration, rel float64) bool {
	return math.Abs(float64(got-want)) <= rel*float64(want)
}

func TestDelayQuantile(t *testing.T) {
	mean := &Delay{Mean: dur("10ms")}
	for _, c := range []struct {
		name string
		d    *Delay
		q    float64
		want time.Duration
	}{
		{"fixed p1", &Delay{Fixed: dur("20ms")}, 0.01, 20 * time.Millisecond},
		{"fixed p99", &Delay{Fixed: dur("20ms")}, 0.99, 20 * time.Millisecond},
		{"fixed zero", &Delay{Fixed: dur("0s")}, 0.5, 0},
		// Exponential: Q(q) = −mean·ln(1−q).
		{"exponential p50", mean, 0.5, ms(10 * math.Ln2)},
		{"exponential p99", mean, 0.99, ms(10 * math.Log(100))},
		// Lognormal through the two points it is given.
		{"lognormal p50", lognormal("8ms", "60ms"), 0.5, 8 * time.Millisecond},
		{"lognormal p99", lognormal("8ms", "60ms"), 0.99, 60 * time.Millisecond},
		{"lognormal rtt p50", lognormal("62ms", "85ms"), 0.5, 62 * time.Millisecond},
		{"lognormal rtt p99", lognormal("62ms", "85ms"), 0.99, 85 * time.Millisecond},
		{"lognormal wide p99", lognormal("250ms", "5s"), 0.99, 5 * time.Second},
		{"degenerate lognormal", lognormal("5ms", "5ms"), 0.999, 5 * time.Millisecond},
		{"nil", nil, 0.99, 0},
	} {
		if got := c.d.Quantile(c.q); !within(got, c.want, 0.001) {
			t.Errorf("%s: Quantile(%v) = %v, want %v ± 0.1%%", c.name, c.q, got, c.want)
		}
	}

	// Between its two points a lognormal rises: p95 sits between p50 and p99.
	d := lognormal("8ms", "60ms")
	if p95 := d.Quantile(0.95); p95 <= 8*time.Millisecond || p95 >= 60*time.Millisecond {
		t.Errorf("lognormal p95 = %v, not between p50 and p99", p95)
	}
}

// sampleQuantiles draws n samples and returns the empirical p50, p99 and mean.
func sampleQuantiles(d *Delay, seed uint64, n int) (p50, p99, mean time.Duration) {
	r := rand.New(rand.NewPCG(seed, seed^0x5eed))
	xs := make([]time.Duration, n)
	var sum float64
	for i := range xs {
		xs[i] = d.Sample(r)
		sum += float64(xs[i])
	}
	slices.Sort(xs)
	return xs[n/2], xs[n*99/100], time.Duration(sum / float64(n))
}

// TestDelaySample checks the samples against the model with 200,000 draws
// per seed. The bounds are several standard errors wide: for a lognormal
// with p50 8ms and p99 60ms (σ = 0.87), the empirical p99 of 200k samples has
// a relative standard error of about 0.7% and the p50 about 0.25%, so 3%
// is over 4σ; an exponential's sample mean has a relative standard error of
// 1/√n = 0.22%, so 2% is 9σ. The seeds are fixed, so the test is repeatable.
func TestDelaySample(t *testing.T) {
	const n = 200_000
	for _, seed := range []uint64{1, 2, 3} {
		for _, d := range []*Delay{lognormal("8ms", "60ms"), lognormal("62ms", "85ms"), lognormal("250ms", "700ms")} {
			p50, p99, _ := sampleQuantiles(d, seed, n)
			if !within(p50, d.P50.D(), 0.03) || !within(p99, d.P99.D(), 0.03) {
				t.Errorf("seed %d, %v: sampled p50 %v, p99 %v; want within 3%%", seed, d, p50, p99)
			}
		}
		exp := &Delay{Mean: dur("10ms")}
		_, p99, mean := sampleQuantiles(exp, seed, n)
		if !within(mean, 10*time.Millisecond, 0.02) {
			t.Errorf("seed %d, exponential: sampled mean %v, want 10ms ± 2%%", seed, mean)
		}
		if want := exp.Quantile(0.99); !within(p99, want, 0.03) {
			t.Errorf("seed %d, exponential: sampled p99 %v, want %v ± 3%%", seed, p99, want)
		}
	}

	r := rand.New(rand.NewPCG(1, 1))
	fixed := &Delay{Fixed: dur("20ms")}
	var none *Delay
	for range 100 {
		if got := fixed.Sample(r); got != 20*time.Millisecond {
			t.Fatalf("fixed sample = %v", got)
		}
		if got := none.Sample(r); got != 0 {
			t.Fatalf("nil sample = %v", got)
		}
	}
}

func TestDelaySampleIsRepeatable(t *testing.T) {
	d := lognormal("8ms", "60ms")
	a := rand.New(rand.NewPCG(7, 7))
	b := rand.New(rand.NewPCG(7, 7))
	for i := range 1000 {
		if x, y := d.Sample(a), d.Sample(b); x != y {
			t.Fatalf("sample %d: %v then %v from the same seed", i, x, y)
		}
	}
}

func TestDelayString(t *testing.T) {
	for _, c := range []struct {
		d    *Delay
		want string
	}{
		{nil, "none"},
		{&Delay{Fixed: dur("20ms")}, "fixed 20ms"},
		{&Delay{Mean: dur("10ms")}, "exponential, mean 10ms"},
		{lognormal("8ms", "60ms"), "p50 8ms, p99 60ms"},
		{&Delay{}, "invalid"},
	} {
		if got := c.d.String(); got != c.want {
			t.Errorf("String() = %q, want %q", got, c.want)
		}
	}
}

// ms converts a (fractional) number of milliseconds to a Duration.
func ms(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }
