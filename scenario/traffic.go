package scenario

import "time"

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
