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
	"github.com/tailgate-dev/tailgate/scenario"
)

// reportCmd is `tailgate report RUN.hlog --scenario S.yaml`.
type reportCmd struct {
	output   outputFlags
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

Exit codes: 0 within budget, 1 over budget, 2 unreadable log or scenario,
3 no trustworthy verdict (the run was interrupted or its generator saturated).`,
		Args: args(1, "one interval log (run.hlog)"),
		RunE: func(cmd *cobra.Command, a []string) error {
			return c.Run(cmd.Context(), a[0], cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	c.output.register(cmd)
	cmd.Flags().StringVar(&c.scenario, "scenario", "", "scenario `S.yaml` whose budget judges the log (required)")
	return cmd
}

// Run reads the log, judges it and prints the verdict.
func (c *reportCmd) Run(_ context.Context, path string, stdout, stderr io.Writer) error {
	if err := c.output.check(); err != nil {
		return err
	}
	if c.scenario == "" {
		return usagef("--scenario is required: the budget to judge %s against", path)
	}
	sc, err := scenario.Load(c.scenario)
	if err != nil {
		return err
	}
	l, err := readLog(path, nil)
	if err != nil {
		return err
	}
	if l.Header.Scenario != sc.Name && !c.output.quiet {
		fmt.Fprintf(stderr, "tailgate: %s was a run of %q; judging it against the budget of %q\n", path, l.Header.Scenario, sc.Name)
	}
	res := judgeLog(sc, l)
	if c.output.out != "" {
		// The artifacts of a report carry its log, so plots and a later
		// report can be made from the directory alone.
		if err := copyLog(path, filepath.Join(c.output.out, fileRunHlog)); err != nil {
			return fmt.Errorf("writing artifacts to %s: %w", c.output.out, err)
		}
	}
	return c.output.emit(stdout, stderr, measured{sc: sc, rec: l.Rec, res: res})
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

// copyLog copies the log at from to to, unless they are one file.
func copyLog(from, to string) error {
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
	return os.WriteFile(to, data, 0o644)
}
