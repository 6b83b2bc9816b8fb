package scenario

import (
	"fmt"
	"math"
)

// traffic checks each segment's parameters and the plan as a whole.
func (c *checker) traffic(segs []Segment) {
	if len(segs) == 0 {
		c.add("traffic", "missing: give at least one segment, e.g. - constant: {rate: 20/s, duration: 10s}")
		return
	}
	before := len(c.probs)
	var total float64
	var dur float64
	for i, s := range segs {
		base := fmt.Sprintf("traffic[%d]", i)
		kinds := s.kinds()
		switch len(kinds) {
		case 0:
			c.add(base, "empty segment: give one of constant, ramp, step, burst, sine, onoff, poisson, gamma, pause")
			continue
		case 1:
		default:
			c.add(base, "one shape per segment, found %v: make each its own list item", kinds)
			continue
		}
		p := base + "." + kinds[0]
		n := len(c.probs)
		c.segment(p, s)
		if len(c.probs) > n {
			continue
		}
		dur += s.Duration().Seconds()
		total += s.ExpectedRequests()
	}
	// The plan as a whole only means something when every segment is valid;
	// problems elsewhere in the file do not hide these.
	if len(c.probs) > before {
		return
	}
	if dur > maxRunDuration.Seconds() {
		c.add("traffic", "plan lasts %s; the limit is %s", Duration(dur*1e9), Duration(maxRunDuration))
	}
	if total < 1 {
		c.add("traffic", "plan sends no request: raise a rate or a duration")
	}
	if total > maxPlannedRequests {
		c.add("traffic", "plan sends %.3g requests; the limit is %.0e", total, float64(maxPlannedRequests))
	}
}

// Bounds of gamma burstiness. Below 0.01 (gaps with a coefficient of
// variation of 10) almost every gap is zero: a renewal process started with an
// arrival sends about (1/k − 1)/2 requests more than rate × duration, in
// clumps, so the plan no longer means its rate (k = 0.001 turns 10 planned
// requests into hundreds). Above 1e6 the gaps are constant anyway.
const (
	minBurstiness = 0.01
	maxBurstiness = 1e6
)

// maxPlannedRequests bounds one run (a week at 1,600/s): beyond it, shard.
const maxPlannedRequests = 1e9

func (c *checker) rate(path string, r Rate) {
	if r <= 0 {
		c.add(path, "must be above zero (a segment with no traffic is a pause)")
	}
}

func (c *checker) positive(path string, d Duration) {
	if d <= 0 {
		c.add(path, "must be above zero")
	}
}

func (c *checker) segment(p string, s Segment) {
	switch {
	case s.Constant != nil:
		c.rate(p+".rate", s.Constant.Rate)
		c.positive(p+".duration", s.Constant.Duration)
	case s.Ramp != nil:
		if s.Ramp.From < 0 {
			c.add(p+".from", "must not be negative")
		}
		if s.Ramp.To < 0 {
			c.add(p+".to", "must not be negative")
		}
		if s.Ramp.From == 0 && s.Ramp.To == 0 {
			c.add(p, "from and to are both zero: this is a pause")
		}
		c.positive(p+".duration", s.Ramp.Duration)
	case s.Step != nil:
		if s.Step.From < 0 {
			c.add(p+".from", "must not be negative")
		}
		c.rate(p+".to", s.Step.To)
		if s.Step.Steps < 2 {
			c.add(p+".steps", "%d: a step needs at least 2 stairs (use constant for one)", s.Step.Steps)
		} else if s.Step.Steps > 100_000 {
			c.add(p+".steps", "%d is more stairs than make sense; use ramp", s.Step.Steps)
		}
		c.positive(p+".duration", s.Step.Duration)
	case s.Burst != nil:
		b := s.Burst
		if b.Rate < 0 {
			c.add(p+".rate", "must not be negative")
		}
		if b.Peak <= b.Rate {
			c.add(p+".peak", "%s must be above rate (%s)", b.Peak, b.Rate)
		}
		c.positive(p+".every", b.Every)
		c.positive(p+".lasting", b.Lasting)
		if b.Lasting > 0 && b.Every > 0 && b.Lasting >= b.Every {
			c.add(p+".lasting", "%s must be shorter than every (%s)", b.Lasting, b.Every)
		}
		c.positive(p+".duration", b.Duration)
	case s.Sine != nil:
		c.rate(p+".mean", s.Sine.Mean)
		if s.Sine.Amplitude < 0 {
			c.add(p+".amplitude", "must not be negative")
		} else if s.Sine.Amplitude > s.Sine.Mean {
			c.add(p+".amplitude", "%s is above mean (%s): the rate would go negative", s.Sine.Amplitude, s.Sine.Mean)
		}
		c.positive(p+".period", s.Sine.Period)
		c.positive(p+".duration", s.Sine.Duration)
	case s.OnOff != nil:
		c.rate(p+".rate", s.OnOff.Rate)
		c.positive(p+".on", s.OnOff.On)
		c.positive(p+".off", s.OnOff.Off)
		c.positive(p+".duration", s.OnOff.Duration)
	case s.Poisson != nil:
		c.rate(p+".rate", s.Poisson.Rate)
		c.positive(p+".duration", s.Poisson.Duration)
	case s.Gamma != nil:
		c.rate(p+".rate", s.Gamma.Rate)
		switch k := s.Gamma.Burstiness; {
		case k == 0:
			c.add(p+".burstiness", "missing or 0: give the gamma shape k, above 0 (1 is Poisson, below 1 burstier)")
		case math.IsNaN(k) || k < minBurstiness || k > maxBurstiness:
			c.add(p+".burstiness", "%v must be between %v and %v (1 is Poisson, below 1 burstier)", k, minBurstiness, maxBurstiness)
		}
		c.positive(p+".duration", s.Gamma.Duration)
	case s.Pause != nil:
		c.positive(p+".duration", s.Pause.Duration)
	}
}
