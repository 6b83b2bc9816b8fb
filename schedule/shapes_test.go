package schedule_test

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"testing"
	"time"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/tailgate-dev/tailgate/scenario"
	"github.com/tailgate-dev/tailgate/schedule"
)

// The tests here state each shape's rate as the documentation describes it
// and integrate it in closed form, independently of shapes.go, then check the
// schedule's intended send times against that integral.

// secs is a scenario.Duration of s seconds.
func secs(s float64) scenario.Duration {
	return scenario.Duration(time.Duration(math.Round(s * float64(time.Second))))
}

// law is a shape's documented rate and its integral, in seconds and per second.
type law struct {
	rate func(t float64) float64 // requests per second at t
	cum  func(t float64) float64 // ∫₀ᵗ rate, requests
}

// stretch is a piece of constant rate.
type stretch struct{ d, rate float64 } // seconds, per second

// repeating is the law of pieces played in order, over and over.
func repeating(pieces ...stretch) law {
	var period, perPeriod float64
	for _, p := range pieces {
		period += p.d
		perPeriod += p.d * p.rate
	}
	return law{
		rate: func(t float64) float64 {
			t -= math.Floor(t/period) * period
			for _, p := range pieces {
				if t < p.d {
					return p.rate
				}
				t -= p.d
			}
			return pieces[len(pieces)-1].rate
		},
		cum: func(t float64) float64 {
			k := math.Floor(t / period)
			sum := k * perPeriod
			t -= k * period
			for _, p := range pieces {
				step := min(t, p.d)
				sum += step * p.rate
				t -= step
			}
			return sum
		},
	}
}

func constantLaw(r float64) law { return repeating(stretch{1, r}) }

func rampLaw(from, to, d float64) law {
	slope := (to - from) / d
	return law{
		rate: func(t float64) float64 { return from + slope*t },
		cum:  func(t float64) float64 { return from*t + slope*t*t/2 },
	}
}

// stepLaw plays `steps` stairs from..to inclusive, each d/steps long.
func stepLaw(from, to float64, steps int, d float64) law {
	pieces := make([]stretch, steps)
	for i := range pieces {
		pieces[i] = stretch{d / float64(steps), from + (to-from)*float64(i)/float64(steps-1)}
	}
	return repeating(pieces...)
}

// burstLaw runs at rate, then at peak for the last `lasting` of every period.
func burstLaw(rate, peak, every, lasting float64) law {
	return repeating(stretch{every - lasting, rate}, stretch{lasting, peak})
}

func sineLaw(mean, amp, period float64) law {
	w := 2 * math.Pi / period
	return law{
		rate: func(t float64) float64 { return mean + amp*math.Sin(w*t) },
		cum:  func(t float64) float64 { return mean*t + amp/w*(1-math.Cos(w*t)) },
	}
}

// onoffLaw starts on.
func onoffLaw(rate, on, off float64) law { return repeating(stretch{on, rate}, stretch{off, 0}) }

func pauseLaw() law { return repeating(stretch{1, 0}) }

type shapeCase struct {
	name string
	seg  scenario.Segment
	law  law
	peak float64
}

func deterministicCases() []shapeCase {
	return []shapeCase{
		{"constant 20/s 10s",
			scenario.Segment{Constant: &scenario.Constant{Rate: 20, Duration: secs(10)}},
			constantLaw(20), 20},
		{"constant 7.3/s 3.3s",
			scenario.Segment{Constant: &scenario.Constant{Rate: 7.3, Duration: secs(3.3)}},
			constantLaw(7.3), 7.3},
		{"constant 0.7/s 10s",
			scenario.Segment{Constant: &scenario.Constant{Rate: 0.7, Duration: secs(10)}},
			constantLaw(0.7), 0.7},
		{"constant 4999/s 2.0001s",
			scenario.Segment{Constant: &scenario.Constant{Rate: 4999, Duration: secs(2.0001)}},
			constantLaw(4999), 4999},
		{"ramp 20→80/s 20s",
			scenario.Segment{Ramp: &scenario.Ramp{From: 20, To: 80, Duration: secs(20)}},
			rampLaw(20, 80, 20), 80},
		{"ramp from 0 to 100/s 10s",
			scenario.Segment{Ramp: &scenario.Ramp{From: 0, To: 100, Duration: secs(10)}},
			rampLaw(0, 100, 10), 100},
		{"ramp down 80→20/s 20s",
			scenario.Segment{Ramp: &scenario.Ramp{From: 80, To: 20, Duration: secs(20)}},
			rampLaw(80, 20, 20), 80},
		{"ramp down to 0 100→0/s 10s",
			scenario.Segment{Ramp: &scenario.Ramp{From: 100, To: 0, Duration: secs(10)}},
			rampLaw(100, 0, 10), 100},
		{"ramp flat 33/s 3.7s",
			scenario.Segment{Ramp: &scenario.Ramp{From: 33, To: 33, Duration: secs(3.7)}},
			rampLaw(33, 33, 3.7), 33},
		{"ramp 1→2000/s 1.3s",
			scenario.Segment{Ramp: &scenario.Ramp{From: 1, To: 2000, Duration: secs(1.3)}},
			rampLaw(1, 2000, 1.3), 2000},
		{"step 20→100/s ×4 20s",
			scenario.Segment{Step: &scenario.Step{From: 20, To: 100, Steps: 4, Duration: secs(20)}},
			stepLaw(20, 100, 4, 20), 100},
		{"step from 0 0→90/s ×3 9s",
			scenario.Segment{Step: &scenario.Step{From: 0, To: 90, Steps: 3, Duration: secs(9)}},
			stepLaw(0, 90, 3, 9), 90},
		{"step down 100→10/s ×5 10s",
			scenario.Segment{Step: &scenario.Step{From: 100, To: 10, Steps: 5, Duration: secs(10)}},
			stepLaw(100, 10, 5, 10), 100},
		{"step uneven 20→100/s ×3 10s",
			scenario.Segment{Step: &scenario.Step{From: 20, To: 100, Steps: 3, Duration: secs(10)}},
			stepLaw(20, 100, 3, 10), 100},
		{"step many stairs 5→500/s ×1000 7.3s",
			scenario.Segment{Step: &scenario.Step{From: 5, To: 500, Steps: 1000, Duration: secs(7.3)}},
			stepLaw(5, 500, 1000, 7.3), 500},
		{"burst 40/s peak 300/s every 5s for 500ms, 20s",
			scenario.Segment{Burst: &scenario.Burst{Rate: 40, Peak: 300, Every: secs(5), Lasting: secs(0.5), Duration: secs(20)}},
			burstLaw(40, 300, 5, 0.5), 300},
		{"burst from 0 peak 300/s every 5s for 500ms, 20s",
			scenario.Segment{Burst: &scenario.Burst{Rate: 0, Peak: 300, Every: secs(5), Lasting: secs(0.5), Duration: secs(20)}},
			burstLaw(0, 300, 5, 0.5), 300},
		{"burst from 0 peak 7.3/s every 1.3s for 0.7s, 9.1s",
			scenario.Segment{Burst: &scenario.Burst{Rate: 0, Peak: 7.3, Every: secs(1.3), Lasting: secs(0.7), Duration: secs(9.1)}},
			burstLaw(0, 7.3, 1.3, 0.7), 7.3},
		{"burst 3/s peak 0.3+3/s, ends mid-burst",
			scenario.Segment{Burst: &scenario.Burst{Rate: 3, Peak: 3.3, Every: secs(0.37), Lasting: secs(0.11), Duration: secs(7.33)}},
			burstLaw(3, 3.3, 0.37, 0.11), 3.3},
		{"sine 50±30/s period 10s, 20s",
			scenario.Segment{Sine: &scenario.Sine{Mean: 50, Amplitude: 30, Period: secs(10), Duration: secs(20)}},
			sineLaw(50, 30, 10), 80},
		{"sine amplitude == mean 50±50/s period 10s, 20s",
			scenario.Segment{Sine: &scenario.Sine{Mean: 50, Amplitude: 50, Period: secs(10), Duration: secs(20)}},
			sineLaw(50, 50, 10), 100},
		{"sine amplitude == mean 3±3/s period 2.5s, 7.7s",
			scenario.Segment{Sine: &scenario.Sine{Mean: 3, Amplitude: 3, Period: secs(2.5), Duration: secs(7.7)}},
			sineLaw(3, 3, 2.5), 6},
		{"sine amplitude 0",
			scenario.Segment{Sine: &scenario.Sine{Mean: 40, Amplitude: 0, Period: secs(1), Duration: secs(3)}},
			sineLaw(40, 0, 1), 40},
		{"sine fast 500±400/s period 370ms, 5s",
			scenario.Segment{Sine: &scenario.Sine{Mean: 500, Amplitude: 400, Period: secs(0.37), Duration: secs(5)}},
			sineLaw(500, 400, 0.37), 900},
		{"onoff 200/s on 1s off 4s, 20s",
			scenario.Segment{OnOff: &scenario.OnOff{Rate: 200, On: secs(1), Off: secs(4), Duration: secs(20)}},
			onoffLaw(200, 1, 4), 200},
		{"onoff 33/s on 370ms off 130ms, 3.3s",
			scenario.Segment{OnOff: &scenario.OnOff{Rate: 33, On: secs(0.37), Off: secs(0.13), Duration: secs(3.3)}},
			onoffLaw(33, 0.37, 0.13), 33},
		{"onoff ends mid-on 200/s on 1s off 4s, 11.5s",
			scenario.Segment{OnOff: &scenario.OnOff{Rate: 200, On: secs(1), Off: secs(4), Duration: secs(11.5)}},
			onoffLaw(200, 1, 4), 200},
		{"pause 5s",
			scenario.Segment{Pause: &scenario.Pause{Duration: secs(5)}},
			pauseLaw(), 0},
	}
}

// The closed forms above are the yardstick, so check them against a plain
// numerical integral of their own rate first.
func TestShapeLawsIntegrateTheirRate(t *testing.T) {
	for _, tc := range deterministicCases() {
		d := tc.seg.Duration().Seconds()
		const n = 200_000
		h := d / n
		sum := 0.0
		for i := range n {
			sum += tc.law.rate((float64(i)+0.5)*h) * h // midpoint rule
		}
		if got := tc.law.cum(d); math.Abs(got-sum) > 1e-3*max(1, sum) {
			t.Errorf("%s: closed form ∫rate = %.6f, midpoint rule %.6f", tc.name, got, sum)
		}
	}
}

// allTimes walks the schedule in order.
func allTimes(s *schedule.Schedule) []time.Duration {
	c := s.Cursor()
	out := make([]time.Duration, s.Requests())
	for n := range out {
		out[n] = c.At(int64(n))
	}
	return out
}

// countBefore is the number of times (sorted) before b.
func countBefore(times []time.Duration, b time.Duration) int {
	return sort.Search(len(times), func(i int) bool { return times[i] >= b })
}

// checkPlacement checks the times of one segment that starts at start, lasts
// d and follows lw: sorted, inside [start, start+d), where the rate is not
// zero, every window holding its integral ±1, every prefix [start, b)
// holding between Λ(b) and Λ(b)+1 (request i is where Λ reaches i).
func checkPlacement(t *testing.T, times []time.Duration, start, d time.Duration, lw law) {
	t.Helper()
	if !slices.IsSorted(times) {
		for i := 1; i < len(times); i++ {
			if times[i] < times[i-1] {
				t.Fatalf("request %d at %v is before request %d at %v", i, times[i], i-1, times[i-1])
			}
		}
	}
	for i, at := range times {
		if at < start || at >= start+d {
			t.Fatalf("request %d at %v is outside the segment [%v, %v)", i, at, start, start+d)
		}
		// A request goes where the rate is positive. Times are cut to whole
		// nanoseconds, so look half a nanosecond on too: the start of a piece
		// (or of a ramp from 0) is then safely inside it.
		local := (at - start).Seconds()
		if lw.rate(local) <= 0 && lw.rate(local+0.5e-9) <= 0 {
			t.Fatalf("request %d at %v is where the rate is zero", i, at)
		}
	}
	lambda := func(b time.Duration) float64 { return lw.cum((b - start).Seconds()) }
	total := lambda(start + d)
	if n := float64(len(times)); n < total-1e-6 || n > total+1 {
		t.Errorf("%d requests, want Λ(d) = %.6f (+1)", len(times), total)
	}
	eps := 1e-6 + 1e-9*total
	for _, window := range []time.Duration{100 * time.Millisecond, time.Second, 370 * time.Millisecond, 37 * time.Millisecond} {
		for _, phase := range []time.Duration{0, 13 * time.Millisecond} {
			lo := start
			for b := start + phase; lo < start+d; b += window {
				hi := min(b, start+d)
				if hi <= lo {
					continue
				}
				got := countBefore(times, hi) - countBefore(times, lo)
				want := lambda(hi) - lambda(lo)
				if math.Abs(float64(got)-want) > 1+eps {
					t.Errorf("window [%v, %v) (Δ=%v): %d requests, want ∫rate = %.4f ±1", lo-start, hi-start, window, got, want)
				}
				prefix := float64(countBefore(times, hi))
				if want := lambda(hi); prefix < want-eps || prefix > want+1+eps {
					t.Errorf("[0, %v): %d requests, want in [Λ, Λ+1] = [%.4f, %.4f]", hi-start, int(prefix), want, want+1)
				}
				lo = hi
			}
		}
	}
}

func TestDeterministicShapePlacement(t *testing.T) {
	for _, tc := range deterministicCases() {
		t.Run(tc.name, func(t *testing.T) {
			s := schedule.New([]scenario.Segment{tc.seg}, 1)
			d := tc.seg.Duration()
			if s.Duration() != d {
				t.Errorf("Duration() = %v, want %v", s.Duration(), d)
			}
			times := allTimes(s)
			checkPlacement(t, times, 0, d, tc.law)
			if tc.law.cum(d.Seconds()) >= 1 && times[0] != firstAt(tc.law) {
				t.Errorf("first request at %v, want %v", times[0], firstAt(tc.law))
			}
			segs := s.Segments()
			if len(segs) != 1 {
				t.Fatalf("Segments() has %d entries, want 1", len(segs))
			}
			if segs[0].Requests != int64(len(times)) || segs[0].Start != 0 || segs[0].Duration != d || segs[0].Kind != tc.seg.Kind() {
				t.Errorf("Segments()[0] = %+v, want kind %s, start 0, duration %v, %d requests", segs[0], tc.seg.Kind(), d, len(times))
			}
		})
	}
}

// firstAt is where the first request goes: where the rate first turns positive.
func firstAt(lw law) time.Duration {
	for ns := time.Duration(0); ns < time.Hour; ns += time.Millisecond {
		if lw.rate(ns.Seconds()) > 0 || lw.rate(ns.Seconds()+1e-9) > 0 {
			return ns
		}
	}
	return -1
}

func TestShapeRateAndPeak(t *testing.T) {
	for _, tc := range deterministicCases() {
		t.Run(tc.name, func(t *testing.T) {
			s := schedule.New([]scenario.Segment{tc.seg}, 1)
			if got := s.PeakRate(); math.Abs(got-tc.peak) > 1e-9*tc.peak {
				t.Errorf("PeakRate() = %v, want %v", got, tc.peak)
			}
			if got := s.Segments()[0].Peak; math.Abs(got-tc.peak) > 1e-9*tc.peak {
				t.Errorf("Segments()[0].Peak = %v, want %v", got, tc.peak)
			}
			d := tc.seg.Duration()
			const n = 61 // prime, so the samples miss piece boundaries
			for i := range n {
				at := time.Duration((float64(i) + 0.5) / n * float64(d))
				want := tc.law.rate(at.Seconds())
				if got := s.Rate(at); math.Abs(got-want) > 1e-6*max(1, tc.peak) {
					t.Errorf("Rate(%v) = %v, want %v", at, got, want)
				}
			}
			if got := s.Rate(d); got != 0 {
				t.Errorf("Rate(%v) after the plan = %v, want 0", d, got)
			}
		})
	}
}

// Boundaries: a piece starts at its first instant and ends just before the next.
func TestShapeRateAtBoundaries(t *testing.T) {
	ms := time.Millisecond
	burst := scenario.Segment{Burst: &scenario.Burst{Rate: 40, Peak: 300, Every: secs(5), Lasting: secs(0.5), Duration: secs(20)}}
	onoff := scenario.Segment{OnOff: &scenario.OnOff{Rate: 200, On: secs(1), Off: secs(4), Duration: secs(20)}}
	step := scenario.Segment{Step: &scenario.Step{From: 20, To: 100, Steps: 4, Duration: secs(20)}}
	ramp := scenario.Segment{Ramp: &scenario.Ramp{From: 20, To: 80, Duration: secs(20)}}
	sine := scenario.Segment{Sine: &scenario.Sine{Mean: 50, Amplitude: 30, Period: secs(10), Duration: secs(20)}}
	for _, tc := range []struct {
		seg  scenario.Segment
		at   time.Duration
		want float64
	}{
		{burst, 0, 40},
		{burst, 4500*ms - 1, 40},
		{burst, 4500 * ms, 300},
		{burst, 5000*ms - 1, 300},
		{burst, 5000 * ms, 40},
		{burst, 19999 * ms, 300},
		{onoff, 0, 200},
		{onoff, 1000*ms - 1, 200},
		{onoff, 1000 * ms, 0},
		{onoff, 5000 * ms, 200},
		{onoff, 16000 * ms, 0},
		{step, 0, 20},
		{step, 5000*ms - 1, 20},
		{step, 5000 * ms, 20 + 80.0/3},
		{step, 10000 * ms, 20 + 160.0/3},
		{step, 15000 * ms, 100},
		{step, 20000*ms - 1, 100},
		{ramp, 0, 20},
		{ramp, 10000 * ms, 50},
		{sine, 0, 50},
		{sine, 2500 * ms, 80},
		{sine, 7500 * ms, 20},
		{sine, 12500 * ms, 80},
	} {
		s := schedule.New([]scenario.Segment{tc.seg}, 1)
		if got := s.Rate(tc.at); math.Abs(got-tc.want) > 1e-9*tc.want {
			t.Errorf("%s: Rate(%v) = %v, want %v", tc.seg.Kind(), tc.at, got, tc.want)
		}
		if got := s.Pacer().Rate(tc.at); math.Abs(got-tc.want) > 1e-9*tc.want {
			t.Errorf("%s: Pacer().Rate(%v) = %v, want %v", tc.seg.Kind(), tc.at, got, tc.want)
		}
	}
	// Random shapes report their mean rate as rate and peak.
	for _, seg := range []scenario.Segment{
		{Poisson: &scenario.Poisson{Rate: 50, Duration: secs(2)}},
		{Gamma: &scenario.Gamma{Rate: 50, Burstiness: 0.3, Duration: secs(2)}},
	} {
		s := schedule.New([]scenario.Segment{seg}, 1)
		if s.Rate(time.Second) != 50 || s.PeakRate() != 50 {
			t.Errorf("%s: Rate = %v, PeakRate = %v, want 50 and 50", seg.Kind(), s.Rate(time.Second), s.PeakRate())
		}
	}
}

// renewalCase is a random segment at 1000/s for 100s: 10⁵ gaps, enough that
// 5σ bounds are tight (a few per cent) and the test stays well under a second.
type renewalCase struct {
	name string
	seg  scenario.Segment
	k    float64 // gap shape; CV² = 1/k
}

func renewalCases() []renewalCase {
	const rate, d = 1000, 100
	gamma := func(k float64) scenario.Segment {
		return scenario.Segment{Gamma: &scenario.Gamma{Rate: rate, Burstiness: k, Duration: secs(d)}}
	}
	return []renewalCase{
		{"poisson", scenario.Segment{Poisson: &scenario.Poisson{Rate: rate, Duration: secs(d)}}, 1},
		{"gamma k=0.3", gamma(0.3), 0.3},
		{"gamma k=1", gamma(1), 1},
		{"gamma k=4", gamma(4), 4},
	}
}

// TestRenewalStatistics checks the random shapes against their law. Every
// bound is 5 standard deviations of the estimate (so a correct generator
// fails about once in 1.7 million seeds; the seed is fixed anyway), with the
// standard deviation derived for gaps ~ Gamma(k, 1/(λk)), n gaps, T = 100s:
//
//   - count N(T): Var ≈ λT·CV² for a renewal process, CV² = 1/k;
//   - mean gap: sd = CV/(λ√n);
//   - gap CV: sd ≈ √((1+1/k)/(2kn)) (delta method with the gamma's skewness
//     and kurtosis; 1/√n for exponential gaps);
//   - counts in m = 1000 windows of 100ms (≈100 arrivals each): the index of
//     dispersion Var/mean tends to CV² = 1/k (1 for Poisson) and its sample
//     value has sd ≈ (1/k)·√(2/(m−1)) (counts this large are near normal);
//   - lag-1 and lag-256 autocorrelation of the gaps: sd 1/√n, so blocks that
//     repeat or sources that ignore the block number show up;
//   - Kolmogorov–Smirnov distance of the gaps to the Gamma CDF below
//     1.95/√n (α ≈ 0.001), so the whole distribution, not two moments, fits.
//     The supremum is taken from ksFrom up: intended times are whole
//     nanoseconds, and with k = 0.3 about 1.2% of gaps are under 1ns and
//     collapse to 0 (an empirical CDF of ~0.009 at 0 where F is 0). From
//     100ns up, moving a gap by ±1ns changes F by under 0.0003.
func TestRenewalStatistics(t *testing.T) {
	for _, tc := range renewalCases() {
		t.Run(tc.name, func(t *testing.T) {
			s := schedule.New([]scenario.Segment{tc.seg}, 7)
			times := allTimes(s)
			d := tc.seg.Duration()
			checkSortedWithin(t, times, 0, d)
			const lambda = 1000.0
			T := d.Seconds()
			cv2 := 1 / tc.k

			n := float64(len(times))
			if bound := 5 * math.Sqrt(lambda*T*cv2); math.Abs(n-lambda*T) > bound {
				t.Errorf("count %v, want λT = %v ± %.0f", n, lambda*T, bound)
			}
			if times[0] < 0 {
				t.Errorf("first arrival at %v, before the start", times[0])
			}

			gaps := make([]float64, len(times)-1)
			for i := range gaps {
				gaps[i] = (times[i+1] - times[i]).Seconds()
			}
			m := float64(len(gaps))
			mean, sd := meanSD(gaps)
			if bound := 5 * math.Sqrt(cv2) / (lambda * math.Sqrt(m)); math.Abs(mean-1/lambda) > bound {
				t.Errorf("mean gap %.6gs, want %.6gs ± %.2g", mean, 1/lambda, bound)
			}
			cv := sd / mean
			if bound := 5 * math.Sqrt((1+cv2)/(2*tc.k*m)); math.Abs(cv-math.Sqrt(cv2)) > bound {
				t.Errorf("gap CV %.4f, want 1/√k = %.4f ± %.4f", cv, math.Sqrt(cv2), bound)
			}

			const window = 100 * time.Millisecond
			var counts []float64
			for lo := time.Duration(0); lo < d; lo += window {
				counts = append(counts, float64(countBefore(times, lo+window)-countBefore(times, lo)))
			}
			cm, csd := meanSD(counts)
			dispersion := csd * csd / cm
			if bound := 5 * cv2 * math.Sqrt(2/float64(len(counts)-1)); math.Abs(dispersion-cv2) > bound {
				t.Errorf("index of dispersion of %v counts %.3f, want 1/k = %.3f ± %.3f", window, dispersion, cv2, bound)
			}

			for _, lag := range []int{1, 256} {
				if r, bound := autocorrelation(gaps, lag), 5/math.Sqrt(m); math.Abs(r) > bound {
					t.Errorf("lag-%d autocorrelation of gaps %.4f, want 0 ± %.4f", lag, r, bound)
				}
			}

			law := distuv.Gamma{Alpha: tc.k, Beta: lambda * tc.k}
			sorted := slices.Clone(gaps)
			slices.Sort(sorted)
			ks := 0.0
			for i, g := range sorted {
				if g < ksFrom {
					continue
				}
				f := law.CDF(g)
				ks = max(ks, math.Abs(f-float64(i)/m), math.Abs(f-float64(i+1)/m))
			}
			if bound := 1.95 / math.Sqrt(m); ks > bound {
				t.Errorf("Kolmogorov–Smirnov distance to Gamma(%v, 1/(λk)) %.4f, want < %.4f", tc.k, ks, bound)
			}
		})
	}
}

const ksFrom = 100e-9 // seconds

func checkSortedWithin(t *testing.T, times []time.Duration, start, d time.Duration) {
	t.Helper()
	for i, at := range times {
		if at < start || at >= start+d {
			t.Fatalf("request %d at %v is outside [%v, %v)", i, at, start, start+d)
		}
		if i > 0 && at < times[i-1] {
			t.Fatalf("request %d at %v is before request %d at %v", i, at, i-1, times[i-1])
		}
	}
}

func meanSD(xs []float64) (mean, sd float64) {
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss / float64(len(xs)-1))
}

func autocorrelation(xs []float64, lag int) float64 {
	mean, sd := meanSD(xs)
	var sum float64
	for i := lag; i < len(xs); i++ {
		sum += (xs[i] - mean) * (xs[i-lag] - mean)
	}
	return sum / float64(len(xs)-lag) / (sd * sd)
}

func TestRenewalRepeatable(t *testing.T) {
	for _, tc := range renewalCases() {
		t.Run(tc.name, func(t *testing.T) {
			seg := tc.seg
			if seg.Poisson != nil {
				seg = scenario.Segment{Poisson: &scenario.Poisson{Rate: 1000, Duration: secs(2)}}
			} else {
				seg = scenario.Segment{Gamma: &scenario.Gamma{Rate: 1000, Burstiness: tc.k, Duration: secs(2)}}
			}
			plan := []scenario.Segment{seg}
			a := allTimes(schedule.New(plan, 42))
			b := allTimes(schedule.New(plan, 42))
			if !slices.Equal(a, b) {
				t.Errorf("two schedules with seed 42 differ")
			}
			c := allTimes(schedule.New(plan, 43))
			if same := sameTimes(a, c); same > len(a)/100 {
				t.Errorf("seeds 42 and 43 share %d of %d times, want different arrivals", same, len(a))
			}
			// Two identical random segments in one plan draw different arrivals.
			two := schedule.New([]scenario.Segment{seg, seg}, 42)
			all := allTimes(two)
			first := two.Segments()[1].Requests
			n0 := two.Segments()[0].Requests
			second := make([]time.Duration, first)
			for i := range second {
				second[i] = all[n0+int64(i)] - two.Segments()[1].Start
			}
			if same := sameTimes(all[:n0], second); same > int(n0)/100 {
				t.Errorf("two identical segments share %d of %d times, want independent arrivals", same, n0)
			}
		})
	}
}

// A random segment sends exactly the arrivals of its process that fall
// before its end: the same segment made longer (same seed, same place in the
// plan) draws the same process, so it starts with the same times and the
// shorter one's count is how many of them fall before the shorter end.
func TestRenewalCountIsArrivalsBeforeEnd(t *testing.T) {
	for _, tc := range []struct {
		name string
		seg  func(d scenario.Duration) scenario.Segment
	}{
		{"poisson", func(d scenario.Duration) scenario.Segment {
			return scenario.Segment{Poisson: &scenario.Poisson{Rate: 300, Duration: d}}
		}},
		{"gamma k=0.3", func(d scenario.Duration) scenario.Segment {
			return scenario.Segment{Gamma: &scenario.Gamma{Rate: 300, Burstiness: 0.3, Duration: d}}
		}},
		{"gamma k=4", func(d scenario.Duration) scenario.Segment {
			return scenario.Segment{Gamma: &scenario.Gamma{Rate: 300, Burstiness: 4, Duration: d}}
		}},
	} {
		long := allTimes(schedule.New([]scenario.Segment{tc.seg(secs(20))}, 3))
		for _, d := range []float64{0.001, 0.37, 0.853, 1, 2.5, 7.77, 19.99} {
			short := allTimes(schedule.New([]scenario.Segment{tc.seg(secs(d))}, 3))
			want := countBefore(long, secs(d).D())
			if len(short) != want {
				t.Errorf("%s over %vs: %d requests, but %d arrivals of the same process fall before %vs", tc.name, d, len(short), want, d)
				continue
			}
			if !slices.Equal(short, long[:want]) {
				t.Errorf("%s over %vs: times differ from the same process over 20s", tc.name, d)
			}
		}
	}
}

// sameTimes counts positions where a and b hold the same time.
func sameTimes(a, b []time.Duration) int {
	same := 0
	for i := 0; i < min(len(a), len(b)); i++ {
		if a[i] == b[i] {
			same++
		}
	}
	return same
}

func ExampleSchedule() {
	s := schedule.New([]scenario.Segment{
		{Burst: &scenario.Burst{Rate: 0, Peak: 4, Every: secs(2), Lasting: secs(1), Duration: secs(4)}},
	}, 1)
	c := s.Cursor()
	var times []time.Duration
	for n := range s.Requests() {
		times = append(times, c.At(n))
	}
	fmt.Println(times)
	fmt.Println(s.Requests(), "requests, peak", s.PeakRate(), "/s")
	// Output:
	// [1s 1.25s 1.5s 1.75s 3s 3.25s 3.5s 3.75s]
	// 8 requests, peak 4 /s
}
