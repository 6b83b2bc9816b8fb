package main

import (
	"github.com/spf13/cobra"
	"github.com/tailgate-dev/tailgate/scenario"
)

// scenarioFlags change a scenario from the command line without editing it.
type scenarioFlags struct{}

func (f *scenarioFlags) register(cmd *cobra.Command) {}

// load reads the scenario at path and applies the flags.
func (f *scenarioFlags) load(path string) (*scenario.Scenario, error) {
	return scenario.Load(path)
}
