package schedule

import (
	"math"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/tailgate-dev/tailgate/scenario"
)

// shape is the arrival law of one segment, in the segment's own time (0 is
// its start). Deterministic shapes place request i where the integral of the
// rate reaches i, so a window of any length holds its integral ±1 request.
// The integral over the whole segment and its peak rate are the segment's
// own (scenario.Segment's ExpectedRequests and PeakRate).
type shape interface {
	// at is the intended send time of the segment's request i (0-based).
	at(i int64, c *blockCache) time.Duration
	// rate is the instantaneous (or, for random shapes, mean) rate at t, per second.
	rate(t time.Duration) float64
}

func newShape(s scenario.Segment) shape {
	switch {
	case s.Constant != nil:
		return newPeriodic(piece{s.Constant.Duration.D(), s.Constant.Rate.PerSecond()})
	case s.Ramp != nil:
		return ramp{from: s.Ramp.From.PerSecond(), to: s.Ramp.To.PerSecond(), d: s.Ramp.Duration.D()}
	case s.Step != nil:
		return newStep(s.Step)
	case s.Burst != nil:
		b := s.Burst
		return newPeriodic(piece{b.Every.D() - b.Lasting.D(), b.Rate.PerSecond()}, piece{b.Lasting.D(), b.Peak.PerSecond()})
	case s.Sine != nil:
		return sine{mean: s.Sine.Mean.PerSecond(), amp: s.Sine.Amplitude.PerSecond(), period: s.Sine.Period.D().Seconds()}
	case s.OnOff != nil:
		return newPeriodic(piece{s.OnOff.On.D(), s.OnOff.Rate.PerSecond()}, piece{s.OnOff.Off.D(), 0})
	case s.Pause != nil:
		return newPeriodic(piece{s.Pause.Duration.D(), 0})
	case s.Poisson != nil:
		return &renewal{mean: s.Poisson.Rate.PerSecond()}
	case s.Gamma != nil:
		return &renewal{mean: s.Gamma.Rate.PerSecond(), k: s.Gamma.Burstiness}
	}
	return nil
}

// piece is a stretch of constant rate.
type piece struct {
	d    time.Duration
	rate float64 // per second
}

// periodic repeats a list of constant-rate pieces: constant and pause (one
// piece), step (one period of stairs), burst and onoff (two pieces a period).
type periodic struct {
	pieces []piece
	per    time.Duration // one period
	hits   float64       // requests in one period
	// Where each piece ends within the period, and the requests from the
	// period's start to that end: at and rate find their piece by binary
	// search, since a step may have 100,000 stairs.
	ends []time.Duration
	upto []float64
}

func newPeriodic(pieces ...piece) periodic {
	p := periodic{pieces: pieces, ends: make([]time.Duration, len(pieces)), upto: make([]float64, len(pieces))}
	for j, pc := range pieces {
		p.per += pc.d
		p.hits += pc.rate * pc.d.Seconds()
		p.ends[j], p.upto[j] = p.per, p.hits
	}
	return p
}

func newStep(s *scenario.Step) periodic {
	pieces := make([]piece, s.Steps)
	for i := range pieces {
		pieces[i].d, pieces[i].rate = s.Stair(i)
	}
	return newPeriodic(pieces...)
}

func (p periodic) at(i int64, _ *blockCache) time.Duration {
	if p.hits <= 0 {
		return 0
	}
	x := float64(i)
	k := math.Floor(x / p.hits)
	rem := x - k*p.hits
	// x/hits can round across a whole number of periods; keep rem in [0, hits)
	// so the request stays in a busy piece.
	for rem >= p.hits {
		k, rem = k+1, rem-p.hits
	}
	rem = max(rem, 0)
	// The piece is the first whose end holds more than rem requests, so it is
	// busy, and a request that lands exactly at the end of a busy piece
	// belongs to the start of the next busy one: each on-phase or stair gets
	// its share.
	j := sort.Search(len(p.upto), func(j int) bool { return p.upto[j] > rem })
	pc := p.pieces[j]
	begin, before := p.ends[j]-pc.d, 0.0
	if j > 0 {
		before = p.upto[j-1]
	}
	return time.Duration(k)*p.per + begin + time.Duration(max(rem-before, 0)/pc.rate*float64(time.Second))
}

func (p periodic) rate(t time.Duration) float64 {
	if p.per <= 0 {
		return 0
	}
	t %= p.per
	j := sort.Search(len(p.ends), func(j int) bool { return p.ends[j] > t })
	return p.pieces[min(j, len(p.pieces)-1)].rate
}

// ramp changes the rate linearly from `from` to `to` over d.
type ramp struct {
	from, to float64
	d        time.Duration
}

func (r ramp) slope() float64 { return (r.to - r.from) / r.d.Seconds() }

// at solves from·t + slope·t²/2 = i in the form that stays exact when slope
// is tiny or from is zero.
func (r ramp) at(i int64, _ *blockCache) time.Duration {
	x := float64(i)
	a, b := r.from, r.slope()
	den := a + math.Sqrt(max(a*a+2*b*x, 0))
	if den <= 0 {
		return 0
	}
	return time.Duration(2 * x / den * float64(time.Second))
}

func (r ramp) rate(t time.Duration) float64 { return r.from + r.slope()*t.Seconds() }

// sine is rate(t) = mean + amp·sin(2πt/period).
type sine struct {
	mean, amp, period float64 // per second, per second, seconds
}

func (s sine) cumulativeS(t float64) float64 {
	w := 2 * math.Pi / s.period
	return s.mean*t + s.amp/w*(1-math.Cos(w*t))
}

// at inverts Λ by bracketed Newton: 0 ≤ Λ(t) − mean·t ≤ amp·period/π bounds
// the answer to an interval, and Λ is monotone because amp ≤ mean.
func (s sine) at(i int64, _ *blockCache) time.Duration {
	x := float64(i)
	lo := max((x-s.amp*s.period/math.Pi)/s.mean, 0)
	hi := x / s.mean
	t := (lo + hi) / 2
	for range 100 {
		f := s.cumulativeS(t) - x
		if f > 0 {
			hi = t
		} else {
			lo = t
		}
		r := s.rateS(t)
		next := t - f/r
		// Newton nears the root from one side, leaving the far end of the
		// bracket where it was: stop on a step under 0.1ns, not only on a
		// narrow bracket, or most calls end in dozens of bisections.
		if r > 0 && math.Abs(next-t) < 1e-10 {
			return time.Duration(min(max(next, lo), hi) * float64(time.Second))
		}
		if hi-lo < 1e-10 {
			break
		}
		if r <= 0 || next <= lo || next >= hi || math.IsNaN(next) {
			next = (lo + hi) / 2
		}
		t = next
	}
	return time.Duration(hi * float64(time.Second))
}

func (s sine) rateS(t float64) float64 { return s.mean + s.amp*math.Sin(2*math.Pi*t/s.period) }

func (s sine) rate(t time.Duration) float64 { return s.rateS(t.Seconds()) }

// renewal is a random arrival process with i.i.d. gaps: exponential
// (Poisson) when k is 0, Gamma(k, 1/(mean·k)) otherwise. Arrivals are made
// in blocks of blockSize from a source seeded by (seed, segment, block), so
// request i's time can be found again without keeping every arrival.
type renewal struct {
	mean float64 // requests per second
	k    float64 // gamma shape; 0 = exponential

	// Filled by plan: the segment's seed stream and each block's start.
	seed, stream uint64
	starts       []float64 // seconds from segment start
	count        int64
}

const blockSize = 256

func (r *renewal) gap(src *rand.Rand) float64 {
	if r.k == 0 {
		return src.ExpFloat64() / r.mean
	}
	return gammaVariate(src, r.k) / (r.mean * r.k)
}

// seedBlock points pcg at the start of block's stream. Callers keep one
// rand.Rand over their pcg and reseed it, so a block costs no allocation.
func (r *renewal) seedBlock(pcg *rand.PCG, block int64) {
	pcg.Seed(r.seed, r.stream^uint64(block)*0x9E3779B97F4A7C15)
}

// plan draws every arrival once to count those within d and remember where
// each block starts; memory is one float per blockSize requests.
func (r *renewal) plan(seed, stream uint64, d time.Duration) {
	r.seed, r.stream = seed, stream
	end := d.Seconds()
	t := 0.0
	var pcg rand.PCG
	src := rand.New(&pcg)
	for block := int64(0); ; block++ {
		r.starts = append(r.starts, t)
		r.seedBlock(&pcg, block)
		for range blockSize {
			// The first arrival comes one gap after the segment starts, not
			// at 0: an arrival pinned to the start would add a request to
			// every segment (and every shard) beyond the process's own.
			t += r.gap(src)
			if t >= end {
				return
			}
			r.count++
		}
	}
}

func (r *renewal) at(i int64, c *blockCache) time.Duration {
	block := i / blockSize
	if c == nil {
		c = &blockCache{}
	}
	if c.owner != r || c.block != block {
		c.owner, c.block = r, block
		if c.rng == nil {
			c.rng = rand.New(&c.pcg)
		}
		r.seedBlock(&c.pcg, block)
		src := c.rng
		t := r.starts[block]
		for j := range blockSize {
			t += r.gap(src)
			c.times[j] = t
		}
	}
	return time.Duration(c.times[i%blockSize] * float64(time.Second))
}

func (r *renewal) rate(time.Duration) float64 { return r.mean }

// blockCache holds the arrivals of one block of a random segment, so a reader
// walking forward regenerates each block once.
type blockCache struct {
	owner *renewal
	block int64
	times [blockSize]float64
	pcg   rand.PCG
	rng   *rand.Rand // over pcg, made on first use
}

// gammaVariate draws from Gamma(k, 1) by Marsaglia and Tsang's method, with
// the usual boost for k < 1. It allocates nothing, unlike a distuv.Gamma
// built per call.
func gammaVariate(src *rand.Rand, k float64) float64 {
	boost := 1.0
	if k < 1 {
		boost = math.Pow(1-src.Float64(), 1/k) // U^(1/k), U in (0,1]
		k++
	}
	d := k - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := src.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := src.Float64()
		if u < 1-0.0331*x*x*x*x || math.Log(u) < 0.5*x*x+d*(1-v+math.Log(v)) {
			return d * v * boost
		}
	}
}
