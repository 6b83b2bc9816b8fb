package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/tailgate-dev/tailgate/budget"
	"github.com/tailgate-dev/tailgate/budget/sim"
	"github.com/tailgate-dev/tailgate/histogram"
	"github.com/tailgate-dev/tailgate/report"
	"github.com/tailgate-dev/tailgate/scenario"
	"github.com/tailgate-dev/tailgate/schedule"
)

// validateCmd is `tailgate validate SCENARIO.yaml…`.
type validateCmd struct{}

func newValidateCmd() *cobra.Command {
	c := &validateCmd{}
	return &cobra.Command{
		Use:   "validate SCENARIO.yaml...",
		Short: "Check scenarios and print their planned schedule and budget sanity warnings",
		Args: func(_ *cobra.Command, a []string) error {
			if len(a) == 0 {
				return usagef("want one or more scenario files")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, a []string) error {
			return c.Run(cmd.Context(), a, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
}

// Run checks every file, reporting all invalid ones before failing. When
// ctx ends it stops between files or within the simulation of one: the
// files described so far stand, the invalid ones found so far are
// reported, and it returns the cause (exit 3).
func (c *validateCmd) Run(ctx context.Context, paths []string, stdout, stderr io.Writer) error {
	var bad []error
	for _, p := range paths {
		if ctx.Err() != nil {
			break
		}
		sc, err := scenario.Load(p)
		if err != nil {
			bad = append(bad, err)
			continue
		}
		maskerOf(ctx).Add(sc.Secrets)
		if err := describe(ctx, stdout, sc); err != nil {
			break
		}
	}
	if ctx.Err() != nil {
		for _, e := range bad {
			fmt.Fprintln(stderr, e)
		}
		return context.Cause(ctx)
	}
	if len(bad) == 1 {
		return bad[0]
	}
	if len(bad) > 1 {
		for _, e := range bad[:len(bad)-1] {
			fmt.Fprintln(stderr, e)
		}
		return bad[len(bad)-1]
	}
	return nil
}

// describe prints the plan of a valid scenario, whole or not at all: it
// simulates first, and returns the cause when ctx ends during it.
func describe(ctx context.Context, w io.Writer, sc *scenario.Scenario) error {
	s := schedule.Of(sc)
	rec, err := composed(ctx, sc, s)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%s: ok\n", sc.File)
	if sc.Description != "" {
		fmt.Fprintf(w, "  %s\n", strings.TrimSpace(sc.Description))
	}
	fmt.Fprintf(w, "  target %s %s (stream %s, timeout %s)\n", sc.Target.Method, targetLabel(sc), sc.Target.Stream, sc.Target.Timeout)
	// What the body is, never its bytes: it may be binary, or hold a secret.
	if d := sc.Target.DescribeBody(); d != "" && sc.Target.BodyFile != "" {
		fmt.Fprintf(w, "  body_file %s (%s)\n", sc.Target.BodyFile, d)
	} else if d != "" {
		fmt.Fprintf(w, "  body (%s)\n", d)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	fmt.Fprintln(tw, "  segment\tstart\tduration\trequests\tpeak")
	for _, g := range s.Segments() {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%s/s\n", g.Kind, g.Start, g.Duration, g.Requests, report.Rate(g.Peak))
	}
	tw.Flush()
	fmt.Fprintf(w, "  plan: %d requests in %s, mean %s/s, peak %s/s\n", s.Requests(), s.Duration(), report.Rate(s.MeanRate()), report.Rate(s.PeakRate()))
	if d := sc.Network.Distance; d > 0 {
		fmt.Fprintf(w, "  network: %s, RTT floor %s (light in fibre, 200 km/ms)", d, d.RTTFloor())
		if sc.Network.RTT != nil {
			fmt.Fprintf(w, "; rtt model %s", sc.Network.RTT)
		}
		fmt.Fprintln(w)
	}
	for _, warn := range budget.PhysicsWarnings(sc) {
		fmt.Fprintf(w, "  warning: %s\n", warn)
	}
	samplesNeeded(w, sc, s.Requests())
	switch _, isDefault, judged := sc.Budget.ErrorLimit(); {
	case !judged:
		fmt.Fprintln(w, "  warning: errors: off: failed requests are not judged; only latency lines without data can fail a target that fails")
	case isDefault:
		fmt.Fprintf(w, "  warning: the budget has no errors line: the default (%s of requests may fail) is judged; write errors: to set your own share, or errors: off to opt out\n", scenario.DefaultErrors)
	}
	explain(w, sc, rec)
	return nil
}

// maxExplainRequests bounds the simulation validate runs for the composed
// p99: a second or so of simulating.
const maxExplainRequests = 2_000_000

// composed simulates the plan for the composed p99, unless the plan is too
// large to simulate quickly (nil then).
func composed(ctx context.Context, sc *scenario.Scenario, s *schedule.Schedule) (*histogram.Recorder, error) {
	if s.Requests() > maxExplainRequests {
		return nil, nil
	}
	out, err := sim.RunSchedule(ctx, sc, s)
	if err != nil {
		return nil, err
	}
	return out.Rec, nil
}

// explain prints the budget explained, with the composed p99 from rec when
// there is one.
func explain(w io.Writer, sc *scenario.Scenario, rec *histogram.Recorder) {
	fmt.Fprintln(w, "  the budget explained")
	// The plan's network line above already gives the floor.
	for _, r := range report.ExplanationRows(budget.Explain(sc, rec), false) {
		fmt.Fprintf(w, "    %-10s %s\n", r.Label, r.Text)
	}
	if rec == nil {
		fmt.Fprintf(w, "    %-10s (the plan is over %d requests: run tailgate simulate for the composed p99)\n", "", maxExplainRequests)
	}
}

func targetLabel(sc *scenario.Scenario) string {
	if sc.Target.Embedded() {
		return "embedded (built-in simulated service)"
	}
	// A ${VAR} in the URL (a key in the query, say) is a secret.
	return maskSecrets(sc.Target.URL, sc.Secrets)
}

// samplesNeeded prints, for every budget percentile, the fewest samples
// whose order statistics bound it on both sides at the budget's confidence
// (95% when it sets none), and warns where the plan has fewer requests.
// Lines of new connections (connect, tls, dns) see fewer samples than
// requests, and itl more.
func samplesNeeded(w io.Writer, sc *scenario.Scenario, planned int64) {
	conf := budget.ReportedConfidence
	if c := sc.Budget.Confidence; c != nil {
		conf = float64(*c)
	}
	var ps []float64
	for _, l := range sc.Budget.Lines {
		for _, p := range l.Percentiles {
			if !slices.Contains(ps, p.P) {
				ps = append(ps, p.P)
			}
		}
	}
	if len(ps) == 0 {
		return
	}
	slices.Sort(ps)
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = fmt.Sprintf("%s ≥ %s", report.Label(p), budget.Thousands(histogram.MinSamples(p, conf)))
	}
	fmt.Fprintf(w, "  samples for a %s interval: %s; the plan has %s requests\n", scenario.Ratio(conf), strings.Join(parts, ", "), budget.Thousands(planned))
	for _, l := range sc.Budget.Lines {
		for _, p := range l.Percentiles {
			need := histogram.MinSamples(p.P, conf)
			switch l.Source {
			case scenario.SourceConnect, scenario.SourceTLS, scenario.SourceDNS:
				if need > planned {
					fmt.Fprintf(w, "  warning: %s %s needs ≥ %s samples for a %s interval; the plan has %s requests, and %s counts new connections only\n",
						l.Name, report.Label(p.P), budget.Thousands(need), scenario.Ratio(conf), budget.Thousands(planned), l.Source)
				}
			case scenario.SourceITL:
			default:
				if need > planned {
					fmt.Fprintf(w, "  warning: %s %s needs ≥ %s requests for a %s interval; the plan has %s\n",
						l.Name, report.Label(p.P), budget.Thousands(need), scenario.Ratio(conf), budget.Thousands(planned))
				}
			}
		}
	}
}
