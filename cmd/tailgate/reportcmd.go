package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/tailgate-dev/tailgate/budget"
	"github.com/tailgate-dev/tailgate/histogram"
	"github.com/tailgate-dev/tailgate/report"
	"github.com/tailgate-dev/tailgate/scenario"
)

// reportCmd is `tailgate report RUN.hlog --scenario S.yaml`.
type reportCmd struct {
	output   outputFlags
	scen     scenarioFlags
	scenario string
}

func newReportCmd() *cobra.Command {
	c := &reportCmd{}
	cmd := &cobra.Command{
		Use:   "report RUN.hlog --scenario S.yaml",
		Short: "Re-judge saved histograms (a run's run.hlog, or merged shards) against a budget",
		Long: `report rebuilds a run's histograms and counts from its interval log (run.hlog,
or the output of tailgate merge) and judges them against the scenario's budget,
exactly as the run did: the same table, the same exit code. The log keeps every
sample (HDR, 3 significant digits), so the percentiles are the run's own.

The log records the plan it is of. --scenario, with the --set, --rate-scale
and --duration the run was given, must make that plan; only its budget may
differ, to judge the same samples against another budget. A log of some
shards of a distributed run (see tailgate merge) has no verdict until every
shard is merged in.

Exit codes: 0 within budget, 1 over budget, 2 unreadable log or scenario, or
a scenario of another plan than the log's, 3 no trustworthy verdict (the run
was interrupted or its generator saturated, or shards are missing).`,
		Args: args(1, "one interval log (run.hlog)"),
		RunE: func(cmd *cobra.Command, a []string) error {
			return c.Run(cmd.Context(), a[0], cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	c.output.register(cmd)
	c.scen.register(cmd)
	cmd.Flags().StringVar(&c.scenario, "scenario", "", "scenario `S.yaml` whose budget judges the log (required)")
	return cmd
}

// Run reads the log, judges it and prints the verdict.
func (c *reportCmd) Run(ctx context.Context, path string, stdout, stderr io.Writer) error {
	if err := c.output.check(); err != nil {
		return err
	}
	if c.scenario == "" {
		return usagef("--scenario is required: the budget to judge %s against", path)
	}
	sc, err := c.scen.load(c.scenario)
	if err != nil {
		return err
	}
	// A run's log keeps what the target sent back (first error messages),
	// which may reflect a secret.
	maskerOf(ctx).Add(sc.Secrets)
	l, err := readLog(path, nil)
	if err != nil {
		return err
	}
	if err := c.checkPlan(path, l.Header, sc, stderr); err != nil {
		return err
	}
	if l.Header.Scenario != sc.Name && !c.output.quiet {
		fmt.Fprintf(stderr, "tailgate: %s was a run of %q; judging it against the budget of %q\n", path, l.Header.Scenario, sc.Name)
	}
	res := judgeLog(sc, l)
	if c.output.out != "" {
		// The artifacts of a report carry its log, so plots and a later
		// report can be made from the directory alone.
		if err := copyLog(path, filepath.Join(c.output.out, fileRunHlog), maskerFor(sc)); err != nil {
			return fmt.Errorf("writing artifacts to %s: %w", c.output.out, err)
		}
	}
	return c.output.emit(stdout, stderr, measured{sc: sc, rec: l.Rec, res: res})
}

// checkPlan refuses a scenario that makes another plan than the log's: its
// budget would judge samples of requests it does not describe. A log that
// does not record its plan is judged with a warning.
func (c *reportCmd) checkPlan(path string, h *histogram.LogHeader, sc *scenario.Scenario, stderr io.Writer) error {
	id := sc.Identity()
	switch {
	case h.Identity == id:
		return nil
	case scenario.IdentityComparable(h.Identity, id):
		return usagef("%s is a run of plan %s, and %s makes plan %s: point --scenario at the scenario the run used, with the same --set, --rate-scale and --duration (only the budget, and the values of ${VAR}s, may differ)",
			path, h.Identity, c.scenario, id)
	case !c.output.quiet:
		fmt.Fprintf(stderr, "tailgate: warning: %s does not record its plan in a form this tailgate reads (written by another version): could not check that it is a run of %s\n", path, c.scenario)
	}
	return nil
}

// judgeLog judges a log as the run that wrote it was judged.
func judgeLog(sc *scenario.Scenario, l *histogram.Log) *budget.Result {
	mode := l.Header.Mode
	if mode == "" {
		mode = "run"
	}
	m := budget.Measurement{
		Mode:            mode,
		Engine:          l.Header.Engine,
		Rec:             l.Rec,
		Planned:         l.Planned(),
		PlannedDuration: l.PlannedDuration(),
		SendSpan:        l.SendSpan(),
		Elapsed:         l.Elapsed(),
		Interrupted:     l.Interrupted(),
		LagSource:       lagSource(l.Rec),
		// A log of some shards of a plan is no verdict on the plan.
		Incomplete: l.Header.Incomplete(),
	}
	switch {
	case l.Run != nil && l.Run.Started != nil:
		m.Started = *l.Run.Started
	case mode == "run":
		m.Started = l.Start
	}
	res := budget.Judge(sc, m)
	// The plan the run played (a shard's own) as it said; a merged log's is
	// the scenario's whole plan, which Judge gives.
	if l.Run != nil && len(l.Run.Plan) > 0 {
		var p budget.Plan
		if json.Unmarshal(l.Run.Plan, &p) == nil {
			res.Plan = p
		}
	}
	return res
}

// copyLog copies the log at from to to through mk, unless they are one
// file.
func copyLog(from, to string, mk *report.Masker) error {
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	a, errA := os.Stat(from)
	b, errB := os.Stat(to)
	if errA == nil && errB == nil && os.SameFile(a, b) {
		return nil
	}
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, []byte(mk.String(string(data))), 0o644)
}
