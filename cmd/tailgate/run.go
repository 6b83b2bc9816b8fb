package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"github.com/tailgate-dev/tailgate/budget"
	"github.com/tailgate-dev/tailgate/load"
	"github.com/tailgate-dev/tailgate/report"
	"github.com/tailgate-dev/tailgate/scenario"
	"github.com/tailgate-dev/tailgate/target"
)

// runCmd is `tailgate run SCENARIO.yaml`.
type runCmd struct {
	format string
	quiet  bool
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
	cmd.Flags().StringVar(&c.format, "format", "text", "output format: text or json")
	cmd.Flags().BoolVarP(&c.quiet, "quiet", "q", false, "print nothing; the exit code is the verdict")
	return cmd
}

// Run loads the scenario, starts the embedded service when asked, drives the
// target and prints the verdict.
func (c *runCmd) Run(ctx context.Context, path string, stdout, stderr io.Writer) error {
	if err := checkFormat(c.format); err != nil {
		return err
	}
	sc, err := scenario.Load(path)
	if err != nil {
		return err
	}
	var opt load.Options
	if sc.Target.Embedded() {
		srv, err := target.Start(ctx, sc, "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("starting the embedded service: %w", err)
		}
		defer srv.Close()
		opt.URL = srv.URL()
		opt.TLSConfig = srv.ClientTLS()
	}
	out, err := load.Run(ctx, sc, opt)
	if err != nil {
		return err
	}
	res := budget.Judge(sc, budget.Measurement{
		Mode:            "run",
		Rec:             out.Rec,
		Planned:         out.Planned,
		PlannedDuration: out.PlannedDuration,
		SendSpan:        out.SendSpan,
		Elapsed:         out.Elapsed,
		Interrupted:     out.Interrupted,
		LagSource:       load.SourceLag,
	})
	if !c.quiet {
		if err := render(stdout, c.format, res); err != nil {
			return err
		}
	}
	return verdictError(res)
}

func checkFormat(f string) error {
	switch f {
	case "text", "json":
		return nil
	}
	return usagef("--format %q: use text or json", f)
}

func render(w io.Writer, format string, res *budget.Result) error {
	if format == "json" {
		return report.JSON(w, res)
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
