package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"
	"github.com/tailgate-dev/tailgate/scenario"
)

// plotCmd is `tailgate plot RUN.hlog -o DIR`.
type plotCmd struct {
	out      string
	scenario string
	quiet    bool
}

func newPlotCmd() *cobra.Command {
	c := &plotCmd{}
	cmd := &cobra.Command{
		Use:   "plot RUN.hlog -o DIR [--scenario S.yaml]",
		Short: "PNG and SVG plots from a saved interval log",
		Long: `plot draws a run's figures from its interval log (run.hlog, or a merge of shards),
each as PNG and SVG in DIR:

  latency-distribution   latency by percentile, x = 1/(1−p) on a log scale
                         (50%, 90%, 99%, 99.9%…), one curve per budget line
  latency-over-time      total's p50 and budgeted percentiles per interval above
                         the planned and achieved request rate
  budget-vs-observed     each line's observed percentiles as a share of its budget

With --scenario, the curves are the budget lines with their limits marked, and
the budget figure is drawn; without, every measured latency is drawn.`,
		Args: args(1, "one interval log (run.hlog)"),
		RunE: func(cmd *cobra.Command, a []string) error {
			return c.Run(cmd.Context(), a[0], cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVarP(&c.out, "out", "o", "", "`DIR` to write the plots to (required)")
	cmd.Flags().StringVar(&c.scenario, "scenario", "", "scenario `S.yaml` whose budget the plots mark")
	cmd.Flags().BoolVarP(&c.quiet, "quiet", "q", false, "print nothing")
	return cmd
}

// Run reads the log and writes its figures. When ctx ends it stops before
// reading the log or before drawing, and returns the cause (exit 3).
func (c *plotCmd) Run(ctx context.Context, path string, stdout io.Writer) error {
	if c.out == "" {
		return usagef("-o DIR is required: where to write the plots")
	}
	// A named pipe or a device is not a log: refuse it before readLog
	// would wait on it.
	f, err := scenario.OpenFile(path, "interval log")
	if err != nil {
		return usageError{err}
	}
	f.Close()
	var sc *scenario.Scenario
	if c.scenario != "" {
		var err error
		if sc, err = scenario.Load(c.scenario); err != nil {
			return err
		}
		maskerOf(ctx).Add(sc.Secrets)
	}
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	l, err := readLog(path, timelinePercentiles(sc))
	if err != nil {
		return err
	}
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	if err := os.MkdirAll(c.out, 0o755); err != nil {
		return usagef("-o %s: %v", c.out, err)
	}
	m := measured{sc: sc, rec: l.Rec}
	if sc != nil {
		m.res = judgeLog(sc, l)
	}
	figs, err := figuresOf(c.out, m, l, maskerFor(sc))
	if !c.quiet {
		for _, f := range figs {
			fmt.Fprintf(stdout, "%s: %s\n", filepath.Join(c.out, f.File), f.Title)
		}
	}
	return err
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
