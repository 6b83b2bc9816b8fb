package schedule

import (
	"fmt"
	"time"
)

// Shard returns shard i of n (0 ≤ i < n) of the plan: requests i, i+n,
// i+2n, … of the whole schedule, in order, each at its planned time. The n
// shards together send exactly the plan, every request once and on time, so
// n processes started together offer the target the traffic one would. For
// n = 3 the shards hold ⌈N/3⌉ or ⌊N/3⌋ requests: counts differ by at most one.
//
// Random shapes (poisson, gamma) are interleaved like the others: every
// shard draws the one process from the scenario's seed and keeps its own
// arrivals. Independent shards at rate/n would keep the mean rate, and for
// Poisson the whole law (a sum of Poisson processes is Poisson), but not a
// gamma process's burstiness: a sum of independent renewal processes tends
// to Poisson as n grows (Palm–Khintchine), so burstiness 0.3 over 20 shards
// would reach the target almost as Poisson. Interleaving keeps the sum
// exactly the planned process for every shape. The price is that each shard
// draws every arrival of a random segment (tens of nanoseconds each), and
// that one shard on its own is smoother than the plan, which the target
// never sees alone. All shards must therefore use the same seed.
//
// Rates of a shard (Rate, PeakRate, MeanRate, Segments) are its own: 1/n of
// the plan's. Its Duration is the plan's. Shard panics when i or n are out
// of range; Shard(0, 1) is the schedule itself.
func (s *Schedule) Shard(i, n int) *Schedule {
	if n < 1 || i < 0 || i >= n {
		panic(fmt.Sprintf("schedule: Shard(%d, %d): want 0 ≤ i < n", i, n))
	}
	if n == 1 {
		return s
	}
	step := int64(n)
	out := &Schedule{duration: s.duration}
	for _, p := range s.segs {
		// The segment's requests of this shard are the whole-plan indices j in
		// [first, first+count) with j ≡ i (mod n); lo is the first of them.
		lo := p.first + ((int64(i)-p.first)%step+step)%step
		end := p.first + p.count
		q := p
		q.first = out.requests
		q.count = 0
		if lo < end {
			q.count = (end - lo + step - 1) / step
		}
		q.shape = every{inner: p.shape, from: lo - p.first, step: step}
		q.peak = p.peak / float64(step)
		out.segs = append(out.segs, q)
		out.requests += q.count
	}
	return out
}

// every is the shard of a segment: its request k is the segment's request
// from + k·step.
type every struct {
	inner      shape
	from, step int64
}

func (e every) at(k int64, c *blockCache) time.Duration { return e.inner.at(e.from+k*e.step, c) }
func (e every) rate(t time.Duration) float64            { return e.inner.rate(t) / float64(e.step) }

// ShardOf says which shard of its plan the schedule is (Schedule.Shard):
// i of n, or 0 of 1 for a whole plan. A log records it, so that merging
// knows which part of the plan each log holds.
func (s *Schedule) ShardOf() (i, n int) {
	if len(s.segs) > 0 {
		// Shard deals every segment out alike; the first one's starts at
		// request 0 of the plan, so its first request is the shard's index.
		if e, ok := s.segs[0].shape.(every); ok && s.segs[0].first == 0 {
			return int(e.from), int(e.step)
		}
	}
	return 0, 1
}
