// Command tailgate holds tail latency to a budget: it drives a target on a
// scenario's schedule, judges p95/p99 per component and exits 0, 1, 2 or 3.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"github.com/tailgate-dev/tailgate/scenario"
)

// Exit codes: CI tells "the service got slower" (1) from "the test broke" (2, 3).
const (
	exitPass    = 0 // within budget
	exitFail    = 1 // over budget: the gate failed
	exitInvalid = 2 // invalid input: scenario, flags, files
	exitNoTrust = 3 // no trustworthy verdict: unreachable, interrupted, saturated
)

// errGateFailed and errNoVerdict carry a judged result's exit code; the
// result itself has already been printed.
var (
	errGateFailed = errors.New("over budget")
	errNoVerdict  = errors.New("no trustworthy verdict")
)

// usageError is a problem with flags or arguments (exit 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// run executes one command line and returns its exit code.
func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := interruptContext(context.Background(), stderr)
	defer stop()
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	return exitCode(err, stderr)
}

func exitCode(err error, stderr io.Writer) int {
	var se *scenario.Error
	var ue usageError
	switch {
	case err == nil:
		return exitPass
	case errors.Is(err, errGateFailed):
		return exitFail
	case errors.Is(err, errNoVerdict):
		return exitNoTrust
	case errors.As(err, &se):
		fmt.Fprintln(stderr, se.Error())
		return exitInvalid
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "tailgate: %v\n", ue)
		return exitInvalid
	}
	fmt.Fprintf(stderr, "tailgate: %v\n", err)
	return exitNoTrust
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "tailgate",
		Short: "Hold tail latency to a budget",
		Long: `tailgate drives a target on a scenario's schedule, measures every phase of every
request into HDR histograms, and judges observed p95/p99 against the budget.

Exit codes: 0 within budget, 1 over budget, 2 invalid input, 3 no trustworthy verdict.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(
		newRunCmd(),
		newSimulateCmd(),
		newValidateCmd(),
		newServeCmd(),
		newCompareCmd(),
		newReportCmd(),
		newMergeCmd(),
		newPlotCmd(),
	)
	return root
}

// args requires exactly n arguments, as a usage error.
func args(n int, what string) cobra.PositionalArgs {
	return func(_ *cobra.Command, a []string) error {
		if len(a) != n {
			return usagef("want %s, got %d argument(s)", what, len(a))
		}
		return nil
	}
}
