// Package schedule turns a scenario's traffic segments into send times: the
// plan, cursors that read it, a vegeta pacer and shards for --shard i/N.
package schedule

import (
	"math"
	"sort"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/tailgate-dev/tailgate/scenario"
)

// Schedule is the whole traffic plan: when each request is meant to be
// sent. Segments play in order. It is immutable once built; read it with a
// Cursor (one per goroutine) or pace vegeta with its Pacer.
type Schedule struct {
	segs     []planned
	requests int64
	duration time.Duration
}

type planned struct {
	kind   string
	offset time.Duration // segment start, from the run's start
	d      time.Duration
	first  int64 // index of the segment's first request in the run
	count  int64
	peak   float64 // per second
	shape  shape
}

// Of plans the scenario's traffic with its seed. A command builds it once
// and hands it on.
func Of(sc *scenario.Scenario) *Schedule { return New(sc.Traffic, sc.SeedValue()) }

// New plans traffic with seed for the random shapes. The segments must have
// passed validation (scenario.Load does that).
func New(traffic []scenario.Segment, seed uint64) *Schedule {
	s := &Schedule{}
	for i, seg := range traffic {
		sh := newShape(seg)
		p := planned{kind: seg.Kind(), offset: s.duration, d: seg.Duration(), first: s.requests, peak: seg.PeakRate(), shape: sh}
		if r, ok := sh.(*renewal); ok {
			r.plan(seed, uint64(i)<<40, p.d)
			p.count = r.count
		} else {
			// Request i goes where Λ reaches i, so the segment sends every i < Λ(d).
			// The epsilon keeps 200.0000000001 (float noise) from becoming 201.
			p.count = int64(math.Ceil(seg.ExpectedRequests() - 1e-9))
		}
		s.segs = append(s.segs, p)
		s.requests += p.count
		s.duration += p.d
	}
	return s
}

// Requests is the number of requests the plan sends.
func (s *Schedule) Requests() int64 { return s.requests }

// Duration is how long the plan lasts.
func (s *Schedule) Duration() time.Duration { return s.duration }

// MeanRate is the planned requests per second over the whole plan.
func (s *Schedule) MeanRate() float64 {
	if s.duration <= 0 {
		return 0
	}
	return float64(s.requests) / s.duration.Seconds()
}

// PeakRate is the highest rate any segment asks for, per second. For Poisson
// and gamma segments it is their mean rate.
func (s *Schedule) PeakRate() float64 {
	m := 0.0
	for _, p := range s.segs {
		m = max(m, p.peak)
	}
	return m
}

// Rate is the planned rate at t from the start, per second.
func (s *Schedule) Rate(t time.Duration) float64 {
	for _, p := range s.segs {
		if t < p.offset+p.d {
			return p.shape.rate(t - p.offset)
		}
	}
	return 0
}

// SegmentInfo describes one planned segment, for `validate`.
type SegmentInfo struct {
	Kind     string
	Start    time.Duration
	Duration time.Duration
	Requests int64
	Peak     float64 // per second
}

// Segments describes the planned segments in order.
func (s *Schedule) Segments() []SegmentInfo {
	out := make([]SegmentInfo, len(s.segs))
	for i, p := range s.segs {
		out[i] = SegmentInfo{Kind: p.kind, Start: p.offset, Duration: p.d, Requests: p.count, Peak: p.peak}
	}
	return out
}

// Cursor reads intended send times. It caches the block of random arrivals
// it read last, so walking forward is cheap; it is not safe for concurrent use.
type Cursor struct {
	s     *Schedule
	seg   int
	cache blockCache
}

// Cursor returns a new reader of the schedule.
func (s *Schedule) Cursor() *Cursor { return &Cursor{s: s} }

// At is the intended send time of request n (0-based), from the start of the
// run. n must be below Requests.
func (c *Cursor) At(n int64) time.Duration {
	segs := c.s.segs
	if p := &segs[c.seg]; n < p.first || n >= p.first+p.count {
		c.seg = sort.Search(len(segs), func(i int) bool { return segs[i].first+segs[i].count > n })
		if c.seg == len(segs) {
			c.seg = len(segs) - 1
		}
	}
	p := &segs[c.seg]
	return p.offset + p.shape.at(n-p.first, &c.cache)
}

// Pacer paces a vegeta attack by the schedule: request n is released at
// At(n), and the attack stops after the last. vegeta calls it from one
// goroutine only.
type Pacer struct {
	c *Cursor
}

var _ vegeta.Pacer = (*Pacer)(nil)

// Pacer returns a vegeta.Pacer for the whole plan.
func (s *Schedule) Pacer() *Pacer { return &Pacer{c: s.Cursor()} }

// Pace returns how long to wait before sending hit number `hits`.
func (p *Pacer) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	if hits >= uint64(p.c.s.requests) {
		return 0, true
	}
	wait := p.c.At(int64(hits)) - elapsed
	return max(wait, 0), false
}

// Rate is the planned rate at elapsed, per second.
func (p *Pacer) Rate(elapsed time.Duration) float64 { return p.c.s.Rate(elapsed) }
