package scenario

import (
	"math"
	"time"
)

// Segment is one item of `traffic:`; exactly one shape is set. Segments play
// one after another.
type Segment struct {
	Constant *Constant `yaml:"constant"`
	Ramp     *Ramp     `yaml:"ramp"`
	Step     *Step     `yaml:"step"`
	Burst    *Burst    `yaml:"burst"`
	Sine     *Sine     `yaml:"sine"`
	OnOff    *OnOff    `yaml:"onoff"`
	Poisson  *Poisson  `yaml:"poisson"`
	Gamma    *Gamma    `yaml:"gamma"`
	Pause    *Pause    `yaml:"pause"`
}

// Constant sends at a fixed rate: {rate: 20/s, duration: 10s}.
type Constant struct {
	Rate     Rate     `yaml:"rate"`
	Duration Duration `yaml:"duration"`
}

// Ramp changes the rate linearly: {from: 20/s, to: 80/s, duration: 20s}.
type Ramp struct {
	From     Rate     `yaml:"from"`
	To       Rate     `yaml:"to"`
	Duration Duration `yaml:"duration"`
}

// Step moves from one rate to another in equal stairs, each lasting
// duration/steps: {from: 20/s, to: 100/s, steps: 4, duration: 20s} plays
// 20, 46.7, 73.3 and 100/s for 5s each.
type Step struct {
	From     Rate     `yaml:"from"`
	To       Rate     `yaml:"to"`
	Steps    int      `yaml:"steps"`
	Duration Duration `yaml:"duration"`
}

// Burst runs at rate, rising to peak for `lasting` at the end of every
// `every` period: {rate: 40/s, peak: 300/s, every: 5s, lasting: 500ms, duration: 20s}.
type Burst struct {
	Rate     Rate     `yaml:"rate"`
	Peak     Rate     `yaml:"peak"`
	Every    Duration `yaml:"every"`
	Lasting  Duration `yaml:"lasting"`
	Duration Duration `yaml:"duration"`
}

// Sine oscillates around a mean: rate(t) = mean + amplitude·sin(2πt/period).
type Sine struct {
	Mean      Rate     `yaml:"mean"`
	Amplitude Rate     `yaml:"amplitude"`
	Period    Duration `yaml:"period"`
	Duration  Duration `yaml:"duration"`
}

// OnOff alternates `on` at rate with `off` at zero, starting on.
type OnOff struct {
	Rate     Rate     `yaml:"rate"`
	On       Duration `yaml:"on"`
	Off      Duration `yaml:"off"`
	Duration Duration `yaml:"duration"`
}

// Poisson sends with exponential gaps at a mean rate (seeded).
type Poisson struct {
	Rate     Rate     `yaml:"rate"`
	Duration Duration `yaml:"duration"`
}

// Gamma sends with gaps ~ Gamma(k, 1/(rate·k)) where k is burstiness: 1 is
// Poisson, below 1 burstier (the gaps' coefficient of variation is 1/√k).
type Gamma struct {
	Rate       Rate     `yaml:"rate"`
	Burstiness float64  `yaml:"burstiness"`
	Duration   Duration `yaml:"duration"`
}

// Pause sends nothing: {duration: 5s}.
type Pause struct {
	Duration Duration `yaml:"duration"`
}

// Kind names the segment's shape ("constant", "ramp", …), "" when none is set.
func (s Segment) Kind() string {
	kinds := s.kinds()
	if len(kinds) == 1 {
		return kinds[0]
	}
	return ""
}

func (s Segment) kinds() []string {
	var k []string
	add := func(set bool, name string) {
		if set {
			k = append(k, name)
		}
	}
	add(s.Constant != nil, "constant")
	add(s.Ramp != nil, "ramp")
	add(s.Step != nil, "step")
	add(s.Burst != nil, "burst")
	add(s.Sine != nil, "sine")
	add(s.OnOff != nil, "onoff")
	add(s.Poisson != nil, "poisson")
	add(s.Gamma != nil, "gamma")
	add(s.Pause != nil, "pause")
	return k
}

// Duration is how long the segment lasts.
func (s Segment) Duration() time.Duration {
	if d := s.durationField(); d != nil {
		return d.D()
	}
	return 0
}

// durationField points at the duration of the segment's shape; nil when no
// shape is set.
func (s Segment) durationField() *Duration {
	switch {
	case s.Constant != nil:
		return &s.Constant.Duration
	case s.Ramp != nil:
		return &s.Ramp.Duration
	case s.Step != nil:
		return &s.Step.Duration
	case s.Burst != nil:
		return &s.Burst.Duration
	case s.Sine != nil:
		return &s.Sine.Duration
	case s.OnOff != nil:
		return &s.OnOff.Duration
	case s.Poisson != nil:
		return &s.Poisson.Duration
	case s.Gamma != nil:
		return &s.Gamma.Duration
	case s.Pause != nil:
		return &s.Pause.Duration
	}
	return nil
}

// rates points at every rate of the segment's shape (none for a pause).
func (s Segment) rates() []*Rate {
	switch {
	case s.Constant != nil:
		return []*Rate{&s.Constant.Rate}
	case s.Ramp != nil:
		return []*Rate{&s.Ramp.From, &s.Ramp.To}
	case s.Step != nil:
		return []*Rate{&s.Step.From, &s.Step.To}
	case s.Burst != nil:
		return []*Rate{&s.Burst.Rate, &s.Burst.Peak}
	case s.Sine != nil:
		return []*Rate{&s.Sine.Mean, &s.Sine.Amplitude}
	case s.OnOff != nil:
		return []*Rate{&s.OnOff.Rate}
	case s.Poisson != nil:
		return []*Rate{&s.Poisson.Rate}
	case s.Gamma != nil:
		return []*Rate{&s.Gamma.Rate}
	}
	return nil
}

// clone copies the segment's shape, so that editing the copy (scaling a
// scenario) never writes into the original.
func (s Segment) clone() Segment {
	return Segment{
		Constant: clonePtr(s.Constant), Ramp: clonePtr(s.Ramp), Step: clonePtr(s.Step),
		Burst: clonePtr(s.Burst), Sine: clonePtr(s.Sine), OnOff: clonePtr(s.OnOff),
		Poisson: clonePtr(s.Poisson), Gamma: clonePtr(s.Gamma), Pause: clonePtr(s.Pause),
	}
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	c := *p
	return &c
}

// PeakRate is the highest rate the segment asks for, per second; for a
// Poisson or gamma segment, its mean rate. Scaling checks it against the
// rate limit; a schedule reports it.
func (s Segment) PeakRate() float64 {
	switch {
	case s.Constant != nil:
		return max(0, s.Constant.Rate.PerSecond())
	case s.Ramp != nil:
		return max(s.Ramp.From.PerSecond(), s.Ramp.To.PerSecond())
	case s.Step != nil:
		m := 0.0
		for i := range s.Step.Steps {
			_, r := s.Step.Stair(i)
			m = max(m, r)
		}
		return m
	case s.Burst != nil:
		return max(0, s.Burst.Rate.PerSecond(), s.Burst.Peak.PerSecond())
	case s.Sine != nil:
		return s.Sine.Mean.PerSecond() + s.Sine.Amplitude.PerSecond()
	case s.OnOff != nil:
		return max(0, s.OnOff.Rate.PerSecond())
	case s.Poisson != nil:
		return s.Poisson.Rate.PerSecond()
	case s.Gamma != nil:
		return s.Gamma.Rate.PerSecond()
	}
	return 0
}

// ExpectedRequests is the integral of the segment's rate over its duration:
// the requests it plans, exactly for a deterministic shape once rounded up
// (a schedule sends every request i below it) and on average for a Poisson
// or gamma one. The segment must have passed validation.
func (s Segment) ExpectedRequests() float64 {
	d := s.Duration()
	switch {
	case s.Constant != nil:
		return s.Constant.Rate.PerSecond() * d.Seconds()
	case s.Ramp != nil:
		from, to, t := s.Ramp.From.PerSecond(), s.Ramp.To.PerSecond(), d.Seconds()
		slope := (to - from) / t
		return from*t + slope*t*t/2
	case s.Step != nil:
		stairs := make([]stretch, s.Step.Steps)
		for i := range stairs {
			stairs[i].d, stairs[i].rate = s.Step.Stair(i)
		}
		return repeatIntegral(d, stairs...)
	case s.Burst != nil:
		b := s.Burst
		return repeatIntegral(d, stretch{b.Every.D() - b.Lasting.D(), b.Rate.PerSecond()}, stretch{b.Lasting.D(), b.Peak.PerSecond()})
	case s.Sine != nil:
		mean, amp, t := s.Sine.Mean.PerSecond(), s.Sine.Amplitude.PerSecond(), d.Seconds()
		w := 2 * math.Pi / s.Sine.Period.D().Seconds()
		return mean*t + amp/w*(1-math.Cos(w*t))
	case s.OnOff != nil:
		return repeatIntegral(d, stretch{s.OnOff.On.D(), s.OnOff.Rate.PerSecond()}, stretch{s.OnOff.Off.D(), 0})
	case s.Poisson != nil:
		return s.Poisson.Rate.PerSecond() * d.Seconds()
	case s.Gamma != nil:
		return s.Gamma.Rate.PerSecond() * d.Seconds()
	}
	return 0
}

// Stair is the duration and rate (per second) of stair i (0-based) of
// the step: the stairs share the duration equally, the last taking the
// rounding remainder, and their rates go linearly from From to To.
func (s *Step) Stair(i int) (time.Duration, float64) {
	n := s.Steps
	stair := s.Duration.D() / time.Duration(n)
	d := stair
	if i == n-1 {
		d = s.Duration.D() - stair*time.Duration(n-1)
	}
	from, to := s.From.PerSecond(), s.To.PerSecond()
	return d, from + (to-from)*float64(i)/float64(n-1)
}

// stretch is a time at a constant rate (per second).
type stretch struct {
	d    time.Duration
	rate float64
}

// repeatIntegral is the requests of the stretches played in a loop for t:
// whole loops, then the part of the last.
func repeatIntegral(t time.Duration, stretches ...stretch) float64 {
	var per time.Duration
	hits := 0.0
	for _, st := range stretches {
		per += st.d
		hits += st.rate * st.d.Seconds()
	}
	if per <= 0 || t <= 0 {
		return 0
	}
	k := t / per
	t -= k * per
	sum := float64(k) * hits
	for _, st := range stretches {
		if t <= st.d {
			return sum + st.rate*t.Seconds()
		}
		sum += st.rate * st.d.Seconds()
		t -= st.d
	}
	return sum
}
