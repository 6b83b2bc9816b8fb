package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"github.com/tailgate-dev/tailgate/budget"
	"github.com/tailgate-dev/tailgate/embedded"
	"github.com/tailgate-dev/tailgate/load"
	"github.com/tailgate-dev/tailgate/scenario"
	"github.com/tailgate-dev/tailgate/schedule"
)

// runCmd is `tailgate run SCENARIO.yaml`.
type runCmd struct {
	output outputFlags
	scen   scenarioFlags
	shard  shardFlags
	safety safetyFlags
	engine string
}

func newRunCmd() *cobra.Command {
	c := &runCmd{}
	cmd := &cobra.Command{
		Use:   "run SCENARIO.yaml",
		Short: "Drive the target, measure, judge against the budget",
		Args:  args(1, "one scenario file"),
		RunE: func(cmd *cobra.Command, a []string) error {
			return c.Run(cmd.Context(), a[0], cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	c.output.register(cmd)
	c.scen.register(cmd)
	c.shard.register(cmd)
	c.safety.register(cmd)
	cmd.Flags().StringVar(&c.engine, "engine", "", "who sends the requests: vegeta or native (tailgate's own engine, for rates vegeta cannot sustain); default the scenario's engine: key, else vegeta")
	return cmd
}

// Run loads the scenario, starts the embedded service when asked, drives the
// target and prints the verdict.
func (c *runCmd) Run(ctx context.Context, path string, stdout, stderr io.Writer) error {
	if err := c.output.check(); err != nil {
		return err
	}
	sc, err := c.scen.load(path)
	if err != nil {
		return err
	}
	maskerOf(ctx).Add(sc.Secrets)
	full := schedule.Of(sc)
	if err := c.safety.check(ctx, sc, full.PeakRate(), c.output.quiet, stderr); err != nil {
		return err
	}
	if c.engine != "" {
		if sc.Engine, err = scenario.ParseEngine(c.engine); err != nil {
			return usagef("--engine: %v", err)
		}
	}
	var opt load.Options
	if opt.Schedule, err = c.shard.schedule(sc, full, c.output.quiet, stderr); err != nil {
		return err
	}
	if sc.Target.Embedded() {
		// The service outlives an interruption (ctx) until the drain is
		// over, so requests in flight finish instead of failing as resets.
		srv, err := embedded.Start(context.WithoutCancel(ctx), sc, "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("starting the embedded service: %w", err)
		}
		defer srv.Close()
		opt.URL = srv.URL()
		opt.TLSConfig = srv.ClientTLS()
	}
	if err := c.shard.wait(ctx, c.output.quiet, stderr); err != nil {
		return err
	}
	tick, closeLog, err := c.output.ticker(sc, opt.Schedule, c.shard.planStart(), stderr)
	if err != nil {
		return err
	}
	opt.OnTick = tick
	out, err := load.Run(ctx, sc, opt)
	// A log that failed mid-run (a full disk) is reported and the run is
	// judged all the same: the verdict comes from memory, not the file.
	logFailed := 0
	if cerr := closeLog(); cerr != nil {
		fmt.Fprintf(stderr, "tailgate: writing the interval log: %v\n", cerr)
		logFailed = 1
	}
	if err != nil {
		return err
	}
	res := budget.Judge(sc, budget.Measurement{
		Mode:            "run",
		Engine:          string(out.Engine),
		Rec:             out.Rec,
		Planned:         out.Planned,
		PlannedDuration: out.PlannedDuration,
		SendSpan:        out.SendSpan,
		Elapsed:         out.Elapsed,
		Interrupted:     out.Interrupted,
		LagSource:       load.SourceLag,
		Started:         time.Now().Add(-out.Elapsed),
		Schedule:        opt.Schedule,
	})
	return c.output.emit(stdout, stderr, measured{sc: sc, rec: out.Rec, res: res, failed: logFailed})
}
