package main

import (
	"errors"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/tailgate-dev/tailgate/budget"
	"github.com/tailgate-dev/tailgate/report"
	"github.com/tailgate-dev/tailgate/scenario"
)

// compareCmd is `tailgate compare BASE.json NEW.json`.
type compareCmd struct {
	maxRegression  string
	confidence     string
	format         string
	allowDifferent bool
}

func newCompareCmd() *cobra.Command {
	c := &compareCmd{}
	cmd := &cobra.Command{
		Use:   "compare BASE.json NEW.json",
		Short: "Regression gate between two runs' report.json",
		Long: `compare sets every line and percentile of NEW.json against BASE.json and prints
the change, absolute and relative, as a table that is also Markdown.

A percentile regresses when both hold:
  - it matters: it grew by more than --max-regression of the base value and
    by more than HDR precision (the new value's bucket starts over 0.1% above
    the base), so histogram rounding never fails the gate;
  - it is significant: NEW's confidence interval of the percentile lies
    wholly above BASE's (NEW's lower end beyond HDR precision above BASE's
    upper end), so sampling noise alone fails the gate rarely.
A percentile over the allowance with overlapping intervals is "not
significant"; one whose BASE upper end or NEW lower end the sample cannot
bound (null) is "not significant (too few samples)": neither fails, and the
summary names them. The table shows each value with its interval:
200ms (190–210ms); "?" is a side the sample cannot bound.

--confidence sets the intervals' level (default 95%). report.json carries 95%
intervals; another level is computed from the run.hlog beside each report
(tailgate run --out DIR writes both), and without it is invalid input. A
report that carries no interval at all (written before reports carried them)
takes its 95% intervals from the run.hlog beside it when there is one.

The errors line compares shares; its precision is one request. A percentile
or line measured in BASE and missing or without data in NEW regresses: the
gate never passes on what it did not measure. What only NEW has is listed,
not failed.

BASE and NEW must be runs of one scenario: the same name and, when both
reports carry it, the same plan identity (traffic, seed, target, request and
service; the budget may differ). --allow-different compares them anyway.

Exit codes: 0 no regression, 1 a regression, 2 unreadable input, not a
tailgate.report/v1 document, or reports of different scenarios, 3 no
trustworthy comparison (NEW is partial or has no trustworthy verdict, or
nothing was measured in both).`,
		Args: args(2, "BASE.json and NEW.json"),
		RunE: func(cmd *cobra.Command, a []string) error {
			return c.Run(a[0], a[1], cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&c.maxRegression, "max-regression", "10%", "allowed increase of a percentile over the base, in percent (10% or 2.5%)")
	cmd.Flags().StringVar(&c.confidence, "confidence", "95%", "level of the confidence intervals a regression must clear (95%; another level reads the run.hlog beside each report)")
	cmd.Flags().StringVar(&c.format, "format", "text", "output format: text or markdown")
	cmd.Flags().BoolVar(&c.allowDifferent, "allow-different", false, "compare reports of different scenarios or plans")
	return cmd
}

// Run reads both reports, compares them and prints the table; the error
// carries the exit code.
func (c *compareCmd) Run(basePath, newPath string, stdout io.Writer) error {
	allow, err := parsePercent(c.maxRegression)
	if err != nil {
		return usagef("--max-regression %q: %v", c.maxRegression, err)
	}
	conf, err := parsePercent(c.confidence)
	if err == nil && (conf <= 0 || conf >= 1) {
		err = errors.New("must be between 0% and 100%, both excluded")
	}
	if err != nil {
		return usagef("--confidence %q: %v", c.confidence, err)
	}
	if c.format != "text" && c.format != "markdown" {
		return usagef("--format %q: use text or markdown", c.format)
	}
	base, err := c.load(basePath, conf)
	if err != nil {
		return err
	}
	next, err := c.load(newPath, conf)
	if err != nil {
		return err
	}
	cmp := report.Compare(base, next, allow, conf)
	if cmp.Different != "" && !c.allowDifferent {
		return usagef("%s and %s are not runs of one scenario: %s; compare runs of one scenario, or pass --allow-different", basePath, newPath, cmp.Different)
	}
	render := report.CompareText
	if c.format == "markdown" {
		render = report.CompareMarkdown
	}
	if err := render(stdout, cmp); err != nil {
		return err
	}
	switch {
	case cmp.Untrusted != "":
		return errNoVerdict
	case cmp.Regressions() > 0:
		return errGateFailed
	}
	return nil
}

// load reads a report.json with its intervals at level conf: at 95%
// its own, else (or when it carries none) from the run.hlog beside it. Any
// problem is invalid input (exit 2).
func (c *compareCmd) load(path string, conf float64) (*budget.Result, error) {
	r, err := readReport(path)
	if err != nil {
		return nil, err
	}
	if conf == report.DefaultConfidence && report.HasIntervals(r) {
		return r, nil
	}
	logPath := filepath.Join(filepath.Dir(path), fileRunHlog)
	if _, err := os.Stat(logPath); errors.Is(err, fs.ErrNotExist) {
		if conf == report.DefaultConfidence {
			return r, nil // Compare notes that it carries no interval
		}
		return nil, usagef("--confidence %s needs the histograms of both runs: there is no %s beside %s (tailgate run --out DIR writes both; report.json carries 95%% intervals only)", c.confidence, logPath, path)
	}
	l, err := readLog(logPath, nil)
	if err != nil {
		return nil, err
	}
	r, err = report.WithIntervals(r, l, conf)
	if err != nil {
		return nil, usagef("%s beside %s: %v", logPath, path, err)
	}
	return r, nil
}

// readReport reads a report.json; any problem is invalid input (exit 2).
func readReport(path string) (*budget.Result, error) {
	f, err := scenario.OpenFile(path, "report")
	if err != nil {
		return nil, usagef("%v", err)
	}
	defer f.Close()
	r, err := report.Read(f)
	if err != nil {
		return nil, usagef("%s: %v", path, err)
	}
	return r, nil
}

// parsePercent reads "10%" or "10" as 0.1.
func parsePercent(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "%")), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, errors.New("want a percentage such as 10%")
	}
	if v < 0 {
		return 0, errors.New("must not be negative")
	}
	return v / 100, nil
}
