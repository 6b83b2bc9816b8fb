package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"github.com/tailgate-dev/tailgate/budget"
	"github.com/tailgate-dev/tailgate/histogram"
	"github.com/tailgate-dev/tailgate/load"
	"github.com/tailgate-dev/tailgate/report"
	"github.com/tailgate-dev/tailgate/scenario"
)

// outputFlags are the flags every judging command shares: how to print the
// result and where to save artifacts.
type outputFlags struct {
	format string
	quiet  bool
	out    string
}

func (o *outputFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&o.format, "format", "text", "output format: text, json or markdown")
	cmd.Flags().BoolVarP(&o.quiet, "quiet", "q", false, "print nothing; the exit code is the verdict")
	cmd.Flags().StringVar(&o.out, "out", "", "directory for artifacts: report.json, report.md, junit.xml, report.html, run.hlog, <line>.hgrm, plots")
}

func (o *outputFlags) check() error {
	switch o.format {
	case "text", "json", "markdown":
		return nil
	}
	return usagef("--format %q: use text, json or markdown", o.format)
}

// measured is everything a judged run or simulation leaves behind: the
// scenario, the recorder and the result. Artifacts are functions of it.
type measured struct {
	sc  *scenario.Scenario
	rec *histogram.Recorder
	res *budget.Result
}

// emit prints the result and writes the artifacts, then returns the error
// that carries the verdict's exit code.
func (o *outputFlags) emit(stdout io.Writer, m measured) error {
	if !o.quiet {
		if err := render(stdout, o.format, m.res); err != nil {
			return err
		}
	}
	if o.out != "" {
		if err := writeArtifacts(o.out, m); err != nil {
			return fmt.Errorf("writing artifacts to %s: %w", o.out, err)
		}
	}
	return verdictError(m.res)
}

// ticker returns what a run calls every second: the interval log when
// artifacts are written, and progress unless quiet. It returns a closer for
// the interval log. sched is the plan the run sends (a shard's in a
// distributed run), whose planned counts the interval log keeps.
func (o *outputFlags) ticker(sc *scenario.Scenario, sched *scenario.Schedule, stderr io.Writer) (func(load.Tick), func() error, error) {
	var ticks []func(load.Tick)
	closeLog := func() error { return nil }
	if o.out != "" {
		if err := os.MkdirAll(o.out, 0o755); err != nil {
			return nil, nil, usagef("--out %s: %v", o.out, err)
		}
		tick, closer, err := openIntervalLogOf(o.out, sc, sched)
		if err != nil {
			return nil, nil, err
		}
		if tick != nil {
			ticks = append(ticks, tick)
			closeLog = closer
		}
	}
	if !o.quiet {
		if p := newProgress(stderr, sc); p != nil {
			ticks = append(ticks, p)
		}
	}
	if len(ticks) == 0 {
		return nil, closeLog, nil
	}
	return func(t load.Tick) {
		for _, f := range ticks {
			f(t)
		}
	}, closeLog, nil
}

func render(w io.Writer, format string, res *budget.Result) error {
	switch format {
	case "json":
		return report.JSON(w, res)
	case "markdown":
		return report.Markdown(w, res)
	}
	return report.Text(w, res)
}

// verdictError maps a verdict to the error that sets the exit code.
func verdictError(res *budget.Result) error {
	switch res.Verdict {
	case budget.Fail:
		return errGateFailed
	case budget.Invalid:
		return errNoVerdict
	}
	return nil
}
