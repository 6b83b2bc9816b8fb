package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/tailgate-dev/tailgate/budget"
	"github.com/tailgate-dev/tailgate/budget/sim"
	"github.com/tailgate-dev/tailgate/report"
)

// simulateCmd is `tailgate simulate SCENARIO.yaml`.
type simulateCmd struct {
	output outputFlags
	scen   scenarioFlags
	sweep  bool
}

func newSimulateCmd() *cobra.Command {
	c := &simulateCmd{}
	cmd := &cobra.Command{
		Use:   "simulate SCENARIO.yaml",
		Short: "Predict the budget table from the model, no target; --sweep finds the highest rate within budget",
		Long: `simulate runs a seeded discrete-event model of the scenario — its traffic, the
network (rtt, tls, reuse), the service's workers, queue and delays — and prints the
same verdict table as run, then explains the budget: the RTT floor, what a new
connection costs, and how the parts' p99s compose.

--sweep then scales every rate by a factor and bisects for the largest factor still
within budget. The exit code is the verdict of the scenario as written (with --set,
--rate-scale and --duration applied): 0 within budget, 1 over.

Ctrl-C stops at once with exit 3. A simulation cut short prints nothing: part of
a plan would judge a different plan. A sweep cut short prints the factors it
simulated whole, and says it was interrupted.`,
		Args: args(1, "one scenario file"),
		RunE: func(cmd *cobra.Command, a []string) error {
			return c.Run(cmd.Context(), a[0], cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	c.output.register(cmd)
	c.scen.register(cmd)
	cmd.Flags().BoolVar(&c.sweep, "sweep", false, "also find the largest rate scale that stays within budget")
	return cmd
}

// Run simulates the scenario, prints the verdict and the explanation, and
// sweeps when asked.
func (c *simulateCmd) Run(ctx context.Context, path string, stdout, stderr io.Writer) error {
	if err := c.output.check(); err != nil {
		return err
	}
	sc, err := c.scen.load(path)
	if err != nil {
		return err
	}
	maskerOf(ctx).Add(sc.Secrets)
	// Text goes around the table; other formats keep stdout to the result.
	// --quiet silences progress and notes on stderr only.
	text := c.output.format == "text"
	if ch := c.scen.changes(); text && len(ch) > 0 {
		fmt.Fprintf(stdout, "what if: %s\n", strings.Join(ch, "  "))
	}
	out, err := sim.Run(ctx, sc)
	if err != nil {
		// Part of a plan would judge another plan: nothing is printed.
		return fmt.Errorf("%w: the simulation did not reach the end of the plan; nothing to report", err)
	}
	res := sim.Judge(sc, out)
	verdict := c.output.emit(stdout, stderr, measured{sc: sc, rec: out.Rec, res: res})
	if verdict != nil && !errors.Is(verdict, errGateFailed) && !errors.Is(verdict, errNoVerdict) {
		return verdict
	}
	if text {
		fmt.Fprintln(stdout)
		if err := report.Explanation(stdout, budget.Explain(sc, out.Rec), ""); err != nil {
			return err
		}
	}
	// Beside JSON or Markdown the sweep is a note on stderr, which --quiet
	// silences; it changes no exit code, so then it is skipped.
	if c.sweep && (text || !c.output.quiet) {
		sw, err := sim.RunSweep(ctx, sc)
		if err != nil {
			return err
		}
		// The sweep is text; beside JSON or Markdown on stdout it goes to stderr.
		w := stderr
		if text {
			w = stdout
			fmt.Fprintln(w)
		}
		if err := sw.Write(w); err != nil {
			return err
		}
		// The verdict above stands, but the sweep asked for is not whole.
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
	}
	return verdict
}
