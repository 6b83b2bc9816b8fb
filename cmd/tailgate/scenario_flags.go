package main

import (
	"errors"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"github.com/tailgate-dev/tailgate/scenario"
)

// scenarioFlags change a scenario from the command line without editing it:
// --set overrides any key (validated like the file), --rate-scale and
// --duration scale the traffic plan.
type scenarioFlags struct {
	sets      []string
	rateScale float64
	duration  time.Duration
}

func (f *scenarioFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	// StringArray, not StringSlice: a value such as {p50: 20ms, p99: 35ms}
	// holds commas that must not split it.
	fl.StringArrayVar(&f.sets, "set", nil, "override a scenario key by its YAML path, repeatable: --set service.workers=32 --set network.distance=800km")
	fl.Float64Var(&f.rateScale, "rate-scale", 1, "multiply every traffic rate by this factor, keeping the traffic's shape")
	fl.DurationVar(&f.duration, "duration", 0, "fit the traffic plan into this duration, each segment keeping its share of the time (periods stay as written)")
}

// load reads the scenario at path and applies the flags. Problems the flags
// cause are usage errors naming the flag (exit 2), like problems in the file.
func (f *scenarioFlags) load(path string) (*scenario.Scenario, error) {
	var overrides []scenario.Override
	for _, s := range f.sets {
		o, err := scenario.ParseOverride(s)
		if err != nil {
			return nil, usagef("--set %v", err)
		}
		overrides = append(overrides, o)
	}
	sc, err := scenario.LoadWith(path, overrides)
	var oe *scenario.OverrideError
	if errors.As(err, &oe) {
		return nil, usageError{err}
	}
	if err != nil {
		return nil, err
	}
	if f.rateScale != 1 {
		if !(f.rateScale > 0) {
			return nil, usagef("--rate-scale %v: must be above 0", f.rateScale)
		}
		if sc, err = sc.ScaleRates(f.rateScale); err != nil {
			return nil, usagef("--rate-scale %v: %v", f.rateScale, err)
		}
	}
	if f.duration != 0 {
		if f.duration < 0 {
			return nil, usagef("--duration %v: must be above zero", f.duration)
		}
		if sc, err = sc.ScaleDuration(f.duration); err != nil {
			return nil, usagef("--duration %v: %v", f.duration, err)
		}
	}
	return sc, nil
}

// changes lists what the flags changed, as typed, for printing above a result.
func (f *scenarioFlags) changes() []string {
	var out []string
	for _, s := range f.sets {
		out = append(out, "--set "+s)
	}
	if f.rateScale != 1 {
		out = append(out, "--rate-scale "+strconv.FormatFloat(f.rateScale, 'g', -1, 64))
	}
	if f.duration != 0 {
		out = append(out, "--duration "+f.duration.String())
	}
	return out
}
