package schedule_test

import (
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/tailgate-dev/tailgate/scenario"
	"github.com/tailgate-dev/tailgate/schedule"
)

// designTraffic is the `traffic:` example of DESIGN.md, with the laws of its
// deterministic segments (nil for random ones).
func designTraffic() ([]scenario.Segment, []*law) {
	lw := func(l law) *law { return &l }
	return []scenario.Segment{
			{Constant: &scenario.Constant{Rate: 20, Duration: secs(10)}},
			{Ramp: &scenario.Ramp{From: 20, To: 80, Duration: secs(20)}},
			{Step: &scenario.Step{From: 20, To: 100, Steps: 4, Duration: secs(20)}},
			{Burst: &scenario.Burst{Rate: 40, Peak: 300, Every: secs(5), Lasting: secs(0.5), Duration: secs(20)}},
			{Sine: &scenario.Sine{Mean: 50, Amplitude: 30, Period: secs(10), Duration: secs(20)}},
			{OnOff: &scenario.OnOff{Rate: 200, On: secs(1), Off: secs(4), Duration: secs(20)}},
			{Poisson: &scenario.Poisson{Rate: 50, Duration: secs(20)}},
			{Gamma: &scenario.Gamma{Rate: 50, Burstiness: 0.3, Duration: secs(20)}},
			{Pause: &scenario.Pause{Duration: secs(5)}},
		}, []*law{
			lw(constantLaw(20)),
			lw(rampLaw(20, 80, 20)),
			lw(stepLaw(20, 100, 4, 20)),
			lw(burstLaw(40, 300, 5, 0.5)),
			lw(sineLaw(50, 30, 10)),
			lw(onoffLaw(200, 1, 4)),
			nil,
			nil,
			lw(pauseLaw()),
		}
}

func TestScheduleSegmentsPlayInOrder(t *testing.T) {
	traffic, laws := designTraffic()
	// A pause first and in the middle, and the same shape twice in a row.
	traffic = append([]scenario.Segment{{Pause: &scenario.Pause{Duration: secs(1.5)}}}, traffic...)
	laws = append([]*law{lw(pauseLaw())}, laws...)
	traffic = append(traffic, traffic[1], traffic[2])
	laws = append(laws, laws[1], laws[2])

	s := schedule.New(traffic, 7)
	segs := s.Segments()
	if len(segs) != len(traffic) {
		t.Fatalf("Segments() has %d entries, want %d", len(segs), len(traffic))
	}
	times := allTimes(s)
	var start time.Duration
	var requests int64
	for i, seg := range traffic {
		info := segs[i]
		if info.Kind != seg.Kind() || info.Start != start || info.Duration != seg.Duration() {
			t.Errorf("segment %d = %+v, want kind %s, start %v, duration %v", i, info, seg.Kind(), start, seg.Duration())
		}
		mine := times[requests : requests+info.Requests]
		if laws[i] != nil {
			checkPlacement(t, mine, start, seg.Duration(), *laws[i])
			// A deterministic segment plays the same, shifted by its start,
			// as it does alone.
			alone := allTimes(schedule.New([]scenario.Segment{seg}, 7))
			if len(alone) != len(mine) {
				t.Errorf("segment %d: %d requests in the plan, %d alone", i, len(mine), len(alone))
			} else {
				for j := range alone {
					if mine[j] != start+alone[j] {
						t.Fatalf("segment %d request %d at %v, want %v + %v", i, j, mine[j], start, alone[j])
					}
				}
			}
		} else {
			checkSortedWithin(t, mine, start, seg.Duration())
			// A renewal process's first arrival is one gap in, not at the start.
			if len(mine) == 0 || mine[0] <= start {
				t.Errorf("random segment %d: first arrival not after its start %v", i, start)
			}
		}
		start += seg.Duration()
		requests += info.Requests
	}
	if s.Requests() != requests || int64(len(times)) != requests {
		t.Errorf("Requests() = %d, want the sum of the segments' %d", s.Requests(), requests)
	}
	if s.Duration() != start {
		t.Errorf("Duration() = %v, want the sum of the segments' %v", s.Duration(), start)
	}
	checkSortedWithin(t, times, 0, s.Duration())
	if want := float64(requests) / start.Seconds(); math.Abs(s.MeanRate()-want) > 1e-9 {
		t.Errorf("MeanRate() = %v, want %v", s.MeanRate(), want)
	}
	if s.PeakRate() != 300 {
		t.Errorf("PeakRate() = %v, want the burst's 300", s.PeakRate())
	}
	for i, info := range segs {
		mid := info.Start + info.Duration/2 + 7*time.Millisecond
		if laws[i] == nil {
			continue
		}
		if got, want := s.Rate(mid), laws[i].rate((mid - info.Start).Seconds()); math.Abs(got-want) > 1e-6 {
			t.Errorf("Rate(%v) in segment %d = %v, want %v", mid, i, got, want)
		}
	}
	if got := s.Rate(s.Duration()); got != 0 {
		t.Errorf("Rate after the plan = %v, want 0", got)
	}
}

func lw(l law) *law { return &l }

func TestScheduleEmpty(t *testing.T) {
	for _, traffic := range [][]scenario.Segment{
		nil,
		{{Pause: &scenario.Pause{Duration: secs(3)}}},
	} {
		s := schedule.New(traffic, 1)
		if s.Requests() != 0 {
			t.Errorf("%d segments: Requests() = %d, want 0", len(traffic), s.Requests())
		}
		if wait, stop := s.Pacer().Pace(0, 0); !stop || wait != 0 {
			t.Errorf("%d segments: Pace(0, 0) = %v, %v, want 0, stop", len(traffic), wait, stop)
		}
	}
}

// randomAccessPlan has random segments of several blocks each, between
// deterministic ones, so reads cross blocks and segments.
func randomAccessPlan() *schedule.Schedule {
	return schedule.New([]scenario.Segment{
		{Poisson: &scenario.Poisson{Rate: 700, Duration: secs(3)}},
		{Constant: &scenario.Constant{Rate: 300, Duration: secs(2)}},
		{Gamma: &scenario.Gamma{Rate: 900, Burstiness: 0.3, Duration: secs(2.5)}},
		{Pause: &scenario.Pause{Duration: secs(1)}},
		{Gamma: &scenario.Gamma{Rate: 500, Burstiness: 4, Duration: secs(2)}},
		{Sine: &scenario.Sine{Mean: 200, Amplitude: 200, Period: secs(1), Duration: secs(2)}},
		{Poisson: &scenario.Poisson{Rate: 600, Duration: secs(1.5)}},
	}, 99)
}

func TestCursorRandomAccess(t *testing.T) {
	s := randomAccessPlan()
	ref := allTimes(s)
	n := int64(len(ref))
	check := func(c *schedule.Cursor, i int64, how string) {
		t.Helper()
		if got := c.At(i); got != ref[i] {
			t.Fatalf("%s: At(%d) = %v, want %v from a sequential walk", how, i, got, ref[i])
		}
	}

	c := s.Cursor()
	for i := n - 1; i >= 0; i-- {
		check(c, i, "backwards")
	}

	// Indices either side of every block edge and segment edge, out of order.
	var edges []int64
	var first int64
	for _, seg := range s.Segments() {
		for _, j := range []int64{0, 1, 255, 256, 257, 511, 512, seg.Requests - 1} {
			if j >= 0 && j < seg.Requests {
				edges = append(edges, first+j)
			}
		}
		first += seg.Requests
	}
	rng := rand.New(rand.NewPCG(1, 2))
	c = s.Cursor()
	for range 20 {
		rng.Shuffle(len(edges), func(i, j int) { edges[i], edges[j] = edges[j], edges[i] })
		for _, i := range edges {
			check(c, i, "edges")
		}
	}

	c = s.Cursor()
	for range 3000 {
		check(c, rng.Int64N(n), "random")
	}
	// Short hops forwards and backwards around one spot.
	for range 2000 {
		i := min(max(n/2+rng.Int64N(1200)-600, 0), n-1)
		check(c, i, "hops")
	}

	// Two cursors read interleaved without disturbing each other.
	a, b := s.Cursor(), s.Cursor()
	for i := range n {
		check(a, i, "cursor a forwards")
		check(b, n-1-i, "cursor b backwards")
	}

	// Cursors on one schedule in separate goroutines (for -race).
	var wg sync.WaitGroup
	errs := make(chan int64, 4)
	for g := range 4 {
		wg.Go(func() {
			c := s.Cursor()
			r := rand.New(rand.NewPCG(uint64(g), 3))
			for range 500 {
				i := r.Int64N(n)
				if c.At(i) != ref[i] {
					errs <- i
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for i := range errs {
		t.Errorf("concurrent cursor: At(%d) differs from the sequential walk", i)
	}
}

// simulatePacer runs vegeta's attack loop without sleeping: ask Pace for
// hit `hits`, honour the wait (plus lateness from late), send, repeat.
func simulatePacer(t *testing.T, s *schedule.Schedule, late func(hits uint64) time.Duration) {
	t.Helper()
	p := s.Pacer()
	c := s.Cursor()
	var elapsed time.Duration
	var hits uint64
	for {
		wait, stop := p.Pace(elapsed, hits)
		if stop {
			break
		}
		if hits >= uint64(s.Requests()) {
			t.Fatalf("Pace(%v, %d) did not stop after the last of %d requests", elapsed, hits, s.Requests())
		}
		want := max(c.At(int64(hits))-elapsed, 0)
		if wait != want {
			t.Fatalf("Pace(%v, %d) = %v, want At(%d) − elapsed = %v", elapsed, hits, wait, hits, want)
		}
		elapsed += wait + late(hits)
		hits++
	}
	if hits != uint64(s.Requests()) {
		t.Fatalf("Pace stopped after %d hits, want %d", hits, s.Requests())
	}
	// It keeps saying stop.
	for _, h := range []uint64{hits, hits + 1, math.MaxUint64} {
		if wait, stop := p.Pace(elapsed, h); !stop || wait != 0 {
			t.Errorf("Pace(%v, %d) = %v, %v after the last request, want 0, stop", elapsed, h, wait, stop)
		}
	}
}

func TestPacer(t *testing.T) {
	traffic, _ := designTraffic()
	s := schedule.New(traffic, 7)
	t.Run("on time", func(t *testing.T) {
		simulatePacer(t, s, func(uint64) time.Duration { return 0 })
	})
	t.Run("late now and then", func(t *testing.T) {
		rng := rand.New(rand.NewPCG(5, 5))
		simulatePacer(t, s, func(uint64) time.Duration {
			if rng.IntN(10) == 0 {
				return time.Duration(rng.Int64N(int64(200 * time.Millisecond)))
			}
			return 0
		})
	})
	t.Run("always late", func(t *testing.T) {
		simulatePacer(t, s, func(uint64) time.Duration { return time.Second })
	})

	p := s.Pacer()
	c := s.Cursor()
	for _, tc := range []struct {
		hits    uint64
		elapsed time.Duration
	}{
		{0, 0},
		{100, 0},
		{100, c.At(100)},
		{100, c.At(100) + time.Hour},
		{5000, c.At(5000) - time.Millisecond},
		{uint64(s.Requests() - 1), 0},
		{uint64(s.Requests() - 1), s.Duration()},
	} {
		wait, stop := p.Pace(tc.elapsed, tc.hits)
		if stop {
			t.Errorf("Pace(%v, %d) stopped before the last request", tc.elapsed, tc.hits)
		}
		if want := max(c.At(int64(tc.hits))-tc.elapsed, 0); wait != want {
			t.Errorf("Pace(%v, %d) = %v, want %v", tc.elapsed, tc.hits, wait, want)
		}
	}
	// Pace reads any hit number, not only the next: vegeta may call it again.
	for _, h := range []uint64{7000, 3, 7000, 6999, 1} {
		if wait, _ := p.Pace(0, h); wait != c.At(int64(h)) {
			t.Errorf("Pace(0, %d) = %v, want %v", h, wait, c.At(int64(h)))
		}
	}
	if _, stop := p.Pace(0, uint64(s.Requests())); !stop {
		t.Errorf("Pace(0, Requests()) did not stop")
	}
}

// Pacing and reading a schedule are on the hot path: they allocate nothing,
// whether walking forwards or jumping to another block.
func TestPacingAllocatesNothing(t *testing.T) {
	for _, tc := range benchPlans(100) {
		s := schedule.New([]scenario.Segment{tc.seg}, 1)
		n := uint64(s.Requests())
		if a := paceAllocs(s); a != 0 {
			t.Errorf("%s: Pace allocates %v times a call, want 0", tc.name, a)
		}
		c := s.Cursor()
		rng := rand.New(rand.NewPCG(1, 1))
		if a := testing.AllocsPerRun(1000, func() { c.At(rng.Int64N(int64(n))) }); a != 0 {
			t.Errorf("%s: Cursor.At at random allocates %v times a call, want 0", tc.name, a)
		}
	}
}

// paceAllocs is how many times a call of s's Pacer allocates, jumping
// through the plan 37 requests at a time.
func paceAllocs(s *schedule.Schedule) float64 {
	n := uint64(s.Requests())
	var p vegeta.Pacer = s.Pacer()
	hits := uint64(0)
	return testing.AllocsPerRun(1000, func() {
		p.Pace(time.Duration(hits), hits%n)
		hits += 37
	})
}

type benchPlan struct {
	name string
	seg  scenario.Segment
}

// benchPlans are one segment each, about 1000 requests a second for d
// seconds; step has the most stairs validation allows.
func benchPlans(d float64) []benchPlan {
	return []benchPlan{
		{"constant", scenario.Segment{Constant: &scenario.Constant{Rate: 1000, Duration: secs(d)}}},
		{"sine", scenario.Segment{Sine: &scenario.Sine{Mean: 1000, Amplitude: 600, Period: secs(10), Duration: secs(d)}}},
		{"gamma", scenario.Segment{Gamma: &scenario.Gamma{Rate: 1000, Burstiness: 0.3, Duration: secs(d)}}},
		{"step100k", scenario.Segment{Step: &scenario.Step{From: 10, To: 2000, Steps: 100_000, Duration: secs(d)}}},
	}
}

func BenchmarkPace(b *testing.B) {
	for _, tc := range benchPlans(1000) {
		b.Run(tc.name, func(b *testing.B) {
			s := schedule.New([]scenario.Segment{tc.seg}, 1)
			p := s.Pacer()
			n := uint64(s.Requests())
			var elapsed time.Duration
			var hits uint64
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				wait, stop := p.Pace(elapsed, hits)
				elapsed += wait
				hits++
				if stop || hits == n {
					elapsed, hits = 0, 0
				}
			}
		})
	}
}

func BenchmarkCursorAt(b *testing.B) {
	for _, tc := range benchPlans(1000) {
		s := schedule.New([]scenario.Segment{tc.seg}, 1)
		n := s.Requests()
		b.Run(tc.name+"/forwards", func(b *testing.B) {
			c := s.Cursor()
			var i int64
			b.ReportAllocs()
			for b.Loop() {
				c.At(i)
				if i++; i == n {
					i = 0
				}
			}
		})
		b.Run(tc.name+"/random", func(b *testing.B) {
			c := s.Cursor()
			rng := rand.New(rand.NewPCG(1, 1))
			b.ReportAllocs()
			for b.Loop() {
				c.At(rng.Int64N(n))
			}
		})
	}
}

// FuzzSchedule builds up to four segments from fuzzed parameters, clamped to
// valid and modest values (each segment plans at most ~2,500 requests), and
// checks what must hold of any plan.
func FuzzSchedule(f *testing.F) {
	f.Add(uint64(1), []byte{0, 1, 2, 3}, 20.0, 80.0, 1.0, uint64(10e9), uint64(5e9), uint64(5e8))
	f.Add(uint64(2), []byte{4, 5, 6, 7}, 50.0, 30.0, 0.3, uint64(20e9), uint64(10e9), uint64(1e9))
	f.Add(uint64(3), []byte{3, 8, 2, 4}, 0.0, 300.0, 4.0, uint64(20e9), uint64(5e9), uint64(5e8))
	f.Add(uint64(4), []byte{1, 4}, 100.0, 0.0, 1.0, uint64(10e9), uint64(1e9), uint64(1))
	f.Add(uint64(5), []byte{2, 3, 5}, 7.3, 7.3, 2.0, uint64(3333333333), uint64(370e6), uint64(369999999))
	f.Add(uint64(6), []byte{2}, 1999.0, 0.001, 1.0, uint64(7), uint64(2), uint64(1))
	// Bursts of 1ns and 7ns in periods of 8 and 9ns.
	f.Add(uint64(81), []byte("00"), 2000.0, 240.0, 0.3, uint64(20000000043), uint64(10000000005), uint64(1000000000))
	f.Fuzz(func(t *testing.T, seed uint64, kinds []byte, r1, r2, k float64, d1, d2, d3 uint64) {
		if len(kinds) == 0 || len(kinds) > 4 {
			return
		}
		var traffic []scenario.Segment
		var laws []*law
		for i, kind := range kinds {
			seg, l := fuzzSegment(kind, r1*float64(i+1), r2, k, d1, d2+uint64(i), d3)
			traffic = append(traffic, seg)
			laws = append(laws, l)
		}
		s := schedule.New(traffic, seed)
		segs := s.Segments()
		if len(segs) != len(traffic) {
			t.Fatalf("Segments() has %d entries, want %d", len(segs), len(traffic))
		}
		var start time.Duration
		var requests int64
		for i, seg := range traffic {
			info := segs[i]
			if info.Start != start || info.Duration != seg.Duration() {
				t.Fatalf("segment %d at %v for %v, want %v for %v", i, info.Start, info.Duration, start, seg.Duration())
			}
			if laws[i] != nil {
				want := laws[i].cum(seg.Duration().Seconds())
				if n := float64(info.Requests); n < want-1e-6 || n > want+1+1e-6 {
					t.Fatalf("segment %d (%s): %d requests, want Λ(d) = %v (+1)", i, seg.Kind(), info.Requests, want)
				}
			} else if info.Requests < 0 {
				// A random segment may send nothing: its first arrival comes
				// one gap in, which can fall past a short segment's end.
				t.Fatalf("random segment %d has %d requests", i, info.Requests)
			}
			start += seg.Duration()
			requests += info.Requests
		}
		if s.Requests() != requests || s.Duration() != start {
			t.Fatalf("Requests() = %d, Duration() = %v, want the segments' sums %d, %v", s.Requests(), s.Duration(), requests, start)
		}
		times := allTimes(s)
		var first int64
		for i, info := range segs {
			mine := times[first : first+info.Requests]
			if laws[i] != nil {
				checkPlacement(t, mine, info.Start, info.Duration, *laws[i])
			} else {
				checkSortedWithin(t, mine, info.Start, info.Duration)
			}
			first += info.Requests
		}
		checkSortedWithin(t, times, 0, s.Duration())
		simulatePacer(t, s, func(uint64) time.Duration { return 0 })
		if n := s.Requests(); n > 0 {
			c := s.Cursor()
			for _, i := range []int64{n - 1, 0, n / 2, n - 1} {
				if c.At(i) != times[i] {
					t.Fatalf("At(%d) = %v out of order, %v in order", i, c.At(i), times[i])
				}
			}
		}
	})
}

// fuzzSegment makes a valid segment of kind%9 and its law (nil for random
// shapes): rates in [0, 2000]/s scaled down so the segment plans at most
// ~2,500 requests, durations from 1ns to 30s.
func fuzzSegment(kind byte, r1, r2, k float64, d1, d2, d3 uint64) (scenario.Segment, *law) {
	rate := func(x float64) float64 {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return 1
		}
		return math.Mod(math.Abs(x), 2000)
	}
	positive := func(x float64) float64 { return max(rate(x), 0.01) }
	dur := func(d uint64) time.Duration { return time.Duration(d%uint64(30*time.Second)) + 1 }
	a, b := rate(r1), rate(r2)
	d := dur(d1)
	ds := d.Seconds()
	// scale keeps the expected requests ≤ 2,500 however high the rates.
	scale := func(expected float64) float64 {
		if expected > 2500 {
			return 2500 / expected
		}
		return 1
	}
	switch kind % 9 {
	case 0:
		r := positive(a)
		r *= scale(r * ds)
		return scenario.Segment{Constant: &scenario.Constant{Rate: scenario.Rate(r), Duration: scenario.Duration(d)}}, lw(constantLaw(r))
	case 1:
		if a == 0 && b == 0 {
			b = 1
		}
		f := scale((a + b) / 2 * ds)
		a, b = a*f, b*f
		return scenario.Segment{Ramp: &scenario.Ramp{From: scenario.Rate(a), To: scenario.Rate(b), Duration: scenario.Duration(d)}}, lw(rampLaw(a, b, ds))
	case 2:
		steps := 2 + int(d3%20)
		b = positive(b)
		f := scale(max(a, b) * ds)
		a, b = a*f, b*f
		// The stairs of the law are d/steps in float; the code cuts them to
		// whole nanoseconds, the last taking the remainder.
		stair := (d / time.Duration(steps)).Seconds()
		pieces := make([]stretch, steps)
		for i := range pieces {
			pieces[i] = stretch{stair, a + (b-a)*float64(i)/float64(steps-1)}
		}
		pieces[steps-1].d = ds - stair*float64(steps-1)
		return scenario.Segment{Step: &scenario.Step{From: scenario.Rate(a), To: scenario.Rate(b), Steps: steps, Duration: scenario.Duration(d)}},
			lw(repeating(pieces...))
	case 3:
		every := dur(d2)%(10*time.Second) + 2
		lasting := time.Duration(d3)%(every-1) + 1
		peak := a + positive(b)
		f := scale(peak * ds)
		a, peak = a*f, peak*f
		return scenario.Segment{Burst: &scenario.Burst{Rate: scenario.Rate(a), Peak: scenario.Rate(peak), Every: scenario.Duration(every), Lasting: scenario.Duration(lasting), Duration: scenario.Duration(d)}},
			lw(burstLaw(a, peak, every.Seconds(), lasting.Seconds()))
	case 4:
		mean := positive(a)
		amp := min(b, mean)
		f := scale(mean * ds)
		mean, amp = mean*f, amp*f
		period := dur(d2)
		return scenario.Segment{Sine: &scenario.Sine{Mean: scenario.Rate(mean), Amplitude: scenario.Rate(amp), Period: scenario.Duration(period), Duration: scenario.Duration(d)}},
			lw(sineLaw(mean, amp, period.Seconds()))
	case 5:
		r := positive(a)
		r *= scale(r * ds)
		on, off := dur(d2)%(5*time.Second)+1, dur(d3)%(5*time.Second)+1
		return scenario.Segment{OnOff: &scenario.OnOff{Rate: scenario.Rate(r), On: scenario.Duration(on), Off: scenario.Duration(off), Duration: scenario.Duration(d)}},
			lw(onoffLaw(r, on.Seconds(), off.Seconds()))
	case 6:
		r := positive(a)
		r *= scale(r * ds)
		return scenario.Segment{Poisson: &scenario.Poisson{Rate: scenario.Rate(r), Duration: scenario.Duration(d)}}, nil
	case 7:
		r := positive(a)
		r *= scale(r * ds)
		burstiness := 1.0
		if !math.IsNaN(k) && !math.IsInf(k, 0) {
			burstiness = 0.1 + math.Mod(math.Abs(k), 50)
		}
		return scenario.Segment{Gamma: &scenario.Gamma{Rate: scenario.Rate(r), Burstiness: burstiness, Duration: scenario.Duration(d)}}, nil
	default:
		return scenario.Segment{Pause: &scenario.Pause{Duration: scenario.Duration(d)}}, lw(pauseLaw())
	}
}

// The example in the design plans 200 + 1000 + 1200 + 4×(4.5s×40 + 0.5s×300)
// + 1000 + 4×200 = 5,520 deterministic requests, then Poisson and gamma about
// 1,000 each, over 155s.
func TestDesignScenarioPlan(t *testing.T) {
	t.Setenv("API_TOKEN", "s3cret-token")
	sc, err := scenario.Load("../scenario/testdata/design.yaml")
	if err != nil {
		t.Fatal(err)
	}
	plan := schedule.Of(sc)
	if plan.Duration() != 155*time.Second {
		t.Errorf("plan lasts %v, want 155s", plan.Duration())
	}
	if r := plan.Requests(); r < 7000 || r > 8100 {
		t.Errorf("plan sends %d requests, want about 7,500", r)
	}
}
