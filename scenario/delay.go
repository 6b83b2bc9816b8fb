package scenario

import (
	"math"
	"math/rand/v2"
	"time"

	"gonum.org/v1/gonum/stat/distuv"
)

// Delay is a latency model. Exactly one form is given:
//
//	{p50: 8ms, p99: 60ms}   lognormal through those two percentiles
//	{fixed: 20ms}           always the same
//	{mean: 10ms}            exponential
type Delay struct {
	P50   *Duration `yaml:"p50"`
	P99   *Duration `yaml:"p99"`
	Fixed *Duration `yaml:"fixed"`
	Mean  *Duration `yaml:"mean"`
}

// z99 is the standard normal quantile at 0.99.
var z99 = distuv.UnitNormal.Quantile(0.99)

// lognormal returns μ and σ of the lognormal through p50 and p99.
func (d *Delay) lognormal() (mu, sigma float64) {
	p50 := float64(d.P50.D())
	p99 := float64(d.P99.D())
	mu = math.Log(p50)
	if p99 > p50 {
		sigma = (math.Log(p99) - mu) / z99
	}
	return mu, sigma
}

// Quantile returns the model's value at quantile q in (0, 1).
func (d *Delay) Quantile(q float64) time.Duration {
	switch {
	case d == nil:
		return 0
	case d.Fixed != nil:
		return d.Fixed.D()
	case d.Mean != nil:
		return time.Duration(-float64(d.Mean.D()) * math.Log1p(-q))
	case d.P50 != nil && d.P99 != nil:
		mu, sigma := d.lognormal()
		return time.Duration(math.Exp(mu + sigma*distuv.UnitNormal.Quantile(q)))
	}
	return 0
}

// Sample draws one value from the model. A nil Delay is always zero.
func (d *Delay) Sample(r *rand.Rand) time.Duration {
	switch {
	case d == nil:
		return 0
	case d.Fixed != nil:
		return d.Fixed.D()
	case d.Mean != nil:
		return time.Duration(r.ExpFloat64() * float64(d.Mean.D()))
	case d.P50 != nil && d.P99 != nil:
		mu, sigma := d.lognormal()
		return time.Duration(math.Exp(mu + sigma*r.NormFloat64()))
	}
	return 0
}

// String describes the model as it was written.
func (d *Delay) String() string {
	switch {
	case d == nil:
		return "none"
	case d.Fixed != nil:
		return "fixed " + d.Fixed.String()
	case d.Mean != nil:
		return "exponential, mean " + d.Mean.String()
	case d.P50 != nil && d.P99 != nil:
		return "p50 " + d.P50.String() + ", p99 " + d.P99.String()
	}
	return "invalid"
}
