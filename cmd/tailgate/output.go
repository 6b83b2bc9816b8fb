package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/tailgate-dev/tailgate/budget"
	"github.com/tailgate-dev/tailgate/histogram"
	"github.com/tailgate-dev/tailgate/load"
	"github.com/tailgate-dev/tailgate/report"
	"github.com/tailgate-dev/tailgate/scenario"
	"github.com/tailgate-dev/tailgate/schedule"
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
	cmd.Flags().BoolVarP(&o.quiet, "quiet", "q", false, "no progress and no notes on stderr; the result still prints in the chosen format")
	cmd.Flags().StringVar(&o.out, "out", "", "directory for artifacts: report.json, report.md, junit.xml, report.html, run.hlog, <line>.hgrm, plots")
}

// check validates the flags and makes sure --out can be written, before
// any work: a run must not be wasted on a place its report cannot go.
func (o *outputFlags) check() error {
	switch o.format {
	case "text", "json", "markdown":
	default:
		return usagef("--format %q: use text, json or markdown", o.format)
	}
	if o.out == "" {
		return nil
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return usagef("--out %s: %v", o.out, unwrapPath(err))
	}
	probe, err := os.CreateTemp(o.out, ".tailgate-probe-*")
	if err != nil {
		return usagef("--out %s: cannot write there: %v", o.out, unwrapPath(err))
	}
	probe.Close()
	os.Remove(probe.Name())
	return nil
}

// unwrapPath drops the path an *fs.PathError repeats, when the message
// names it already.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// measured is everything a judged run or simulation leaves behind: the
// scenario, the recorder and the result. Artifacts are functions of it.
type measured struct {
	sc  *scenario.Scenario
	rec *histogram.Recorder
	res *budget.Result
	// failed counts outputs that already failed during the run (the
	// interval log); they were reported on stderr.
	failed int
}

// emit prints the result and writes the artifacts, then returns the error
// that carries the verdict's exit code. Outputs never change the verdict:
// one that cannot be written (a closed stdout, a full disk) is reported on
// stderr and the others are still written; the exit code stays the
// verdict's, except that a pass whose outputs are missing exits 2.
func (o *outputFlags) emit(stdout, stderr io.Writer, m measured) error {
	failed := m.failed
	fail := func(what string, err error) {
		if err != nil {
			fmt.Fprintf(stderr, "tailgate: %s: %v\n", what, err)
			failed++
		}
	}
	fail("printing the result", render(stdout, o.format, m.res))
	if o.out != "" {
		for _, err := range writeArtifacts(o.out, m) {
			fail("writing artifacts to "+o.out, err)
		}
	}
	v := verdictError(m.res)
	if failed > 0 {
		return writeError{verdict: exitOf(v), failed: failed}
	}
	return v
}

// writeError says that outputs the user asked for could not be written.
// Each failure has been reported; verdict is the judged exit code.
type writeError struct {
	verdict int
	failed  int
}

func (e writeError) Error() string {
	return fmt.Sprintf("%d output(s) could not be written", e.failed)
}

// code is the exit code: the verdict's, or 2 for a pass whose outputs
// are missing.
func (e writeError) code() int {
	if e.verdict == exitPass {
		return exitInvalid
	}
	return e.verdict
}

// exitOf is the exit code a verdict error stands for.
func exitOf(err error) int {
	switch {
	case errors.Is(err, errGateFailed):
		return exitFail
	case errors.Is(err, errNoVerdict):
		return exitNoTrust
	}
	return exitPass
}

// ticker returns what a run calls every second: the interval log when
// artifacts are written, and progress unless quiet. It returns a closer for
// the interval log. sched is the plan the run sends (a shard's in a
// distributed run), whose planned counts the interval log keeps.
// planStart is --start-at, which the log records; zero when not given.
func (o *outputFlags) ticker(sc *scenario.Scenario, sched *schedule.Schedule, planStart time.Time, stderr io.Writer) (func(load.Tick), func() error, error) {
	var ticks []func(load.Tick)
	closeLog := func() error { return nil }
	if o.out != "" {
		tick, closer, err := openIntervalLogOf(o.out, sc, sched, planStart)
		if err != nil {
			return nil, nil, usagef("--out %s: %v", o.out, err)
		}
		if tick != nil {
			ticks = append(ticks, tick)
			closeLog = closer
		}
	}
	if !o.quiet {
		if p := newProgress(stderr, sc, sched); p != nil {
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
