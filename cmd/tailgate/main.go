// Command tailgate holds tail latency to a budget: it drives a target on a
// scenario's schedule, judges p95/p99 per component and exits 0, 1, 2 or 3.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/tailgate-dev/tailgate/report"
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

func main() {
	// A closed stdout (`tailgate run … | head -1`) must not kill the process
	// before --out is written: with SIGPIPE ignored, the write fails, is
	// reported, and the run's artifacts and exit code follow as usual.
	signal.Ignore(syscall.SIGPIPE)
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one command line and returns its exit code.
func run(args []string, stdout, stderr io.Writer) int {
	// Everything printed passes through one masking step: secrets from
	// ${VAR} never show, whatever reflects them.
	mk := &report.Masker{}
	out, errOut := mk.Writer(stdout), mk.Writer(stderr)
	defer errOut.Flush()
	defer out.Flush()
	ctx, stop := interruptContext(context.Background(), errOut)
	defer stop()
	ctx = withMasker(ctx, mk)
	stdout, stderr = out, errOut
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	// Until a command starts its work, every error is cobra's about the
	// command line (unknown command, flag or argument): a usage error.
	started := false
	root.PersistentPreRun = func(*cobra.Command, []string) { started = true }
	err := root.ExecuteContext(ctx)
	if err != nil && !started {
		err = usageError{err}
	}
	return exitCode(err, stderr)
}

// exitCode maps the error a command returned to the process's exit code,
// printing it. Only errors known to mean something decide 1, 2 or 3; any
// other is an internal error, said as such (exit 3: there is no verdict),
// never passed off as an unreachable target.
func exitCode(err error, stderr io.Writer) int {
	var se *scenario.Error
	var ue usageError
	var pe *fs.PathError
	var we writeError
	switch {
	case err == nil:
		return exitPass
	case errors.Is(err, errGateFailed):
		return exitFail
	case errors.Is(err, errNoVerdict):
		return exitNoTrust
	case errors.Is(err, errInterrupted):
		fmt.Fprintf(stderr, "tailgate: %v\n", err)
		return exitNoTrust
	case errors.As(err, &we):
		// The outputs the user asked for are missing; each failure has been
		// reported already, and the verdict printed.
		return we.code()
	case errors.As(err, &se):
		fmt.Fprintln(stderr, se.Error())
		return exitInvalid
	case errors.As(err, &ue), errors.As(err, &pe):
		fmt.Fprintf(stderr, "tailgate: %v\n", err)
		return exitInvalid
	}
	fmt.Fprintf(stderr, "tailgate: internal error (no verdict; please report it): %v\n", err)
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
	root.Version = version()
	root.SetVersionTemplate("tailgate {{.Version}}\n")
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
		newVersionCmd(),
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
