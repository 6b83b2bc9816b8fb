package main

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/tailgate-dev/tailgate/budget"
	"github.com/tailgate-dev/tailgate/histogram"
	"github.com/tailgate-dev/tailgate/histogram/plot"
	"github.com/tailgate-dev/tailgate/load"
	"github.com/tailgate-dev/tailgate/report"
	"github.com/tailgate-dev/tailgate/scenario"
)

// figure is one plot written into --out: File is the PNG's name there
// (the SVG beside it has the same stem), SVG the same plot for a page.
type figure struct {
	Title, File string
	SVG         []byte
}

// Figure files, each written as .png and .svg.
const (
	figDistribution = "latency-distribution"
	figOverTime     = "latency-over-time"
	figBudget       = "budget-vs-observed"
)

// plotFigures writes the plots of m into dir, PNG and SVG, and returns
// them: the percentile distribution of every budget line with its limits,
// latency and request rate over time (from the interval log at hlogPath;
// left out when there is none, or only one interval), and each line's
// observed percentiles against its budget.
func plotFigures(dir string, m measured, hlogPath string, mk *report.Masker) ([]figure, error) {
	var l *histogram.Log
	var readErr error
	if hlogPath != "" {
		// Without its log a run still has its other figures.
		if l, readErr = readLog(hlogPath, timelinePercentiles(m.sc)); readErr != nil {
			readErr = fmt.Errorf("latency over time: %w", readErr)
		}
	}
	figs, err := figuresOf(dir, m, l, mk)
	return figs, errors.Join(readErr, err)
}

// figuresOf draws m's figures, and latency over time from l when given.
// Without a scenario (tailgate plot with no --scenario), every measured
// latency is drawn and there is no budget to hold it to.
func figuresOf(dir string, m measured, l *histogram.Log, mk *report.Masker) ([]figure, error) {
	name := scenarioName(m, l)
	var figs []*plot.Figure
	var files []string
	var errs []error
	add := func(f *plot.Figure, err error, file string) {
		if errors.Is(err, plot.ErrNothingToDraw) {
			return // a figure of nothing is left out, not failed
		}
		if err != nil {
			errs = append(errs, err)
			return
		}
		figs, files = append(figs, f), append(files, file)
	}
	f, err := plot.Distribution(name+": latency by percentile", curves(m))
	add(f, err, figDistribution)
	if tl, ok := timeline(m.sc, l); ok {
		f, err := plot.OverTime(name+": "+tl.Source+" latency and request rate over time", tl)
		add(f, err, figOverTime)
	}
	if bars := budgetBars(m.res); len(bars) > 0 {
		f, err := plot.Budget(name+": observed against budget", bars)
		add(f, err, figBudget)
	}
	out := make([]figure, 0, len(figs))
	for i, f := range figs {
		var png, svg bytes.Buffer
		if err := f.WritePNG(&png); err != nil {
			errs = append(errs, fmt.Errorf("%s.png: %w", files[i], err))
			continue
		}
		if err := f.WriteSVG(&svg); err != nil {
			errs = append(errs, fmt.Errorf("%s.svg: %w", files[i], err))
			continue
		}
		// The SVG is text and passes through the masker. The PNG's labels
		// are the scenario's own names, or the tags of a log that was
		// masked when written.
		svgText := []byte(mk.String(svg.String()))
		for ext, b := range map[string][]byte{".png": png.Bytes(), ".svg": svgText} {
			if err := os.WriteFile(filepath.Join(dir, files[i]+ext), b, 0o644); err != nil {
				errs = append(errs, err)
			}
		}
		out = append(out, figure{Title: strings.TrimPrefix(f.Title, name+": "), File: files[i] + ".png", SVG: svgText})
	}
	return out, errors.Join(errs...)
}

func scenarioName(m measured, l *histogram.Log) string {
	switch {
	case m.sc != nil:
		return m.sc.Name
	case l != nil && l.Header != nil:
		return l.Header.Scenario
	}
	return "run"
}

// curves are the budget lines' distributions with their limits; without a
// scenario, every latency measured.
func curves(m measured) []plot.Curve {
	if m.sc == nil {
		var out []plot.Curve
		for _, src := range latencySources(m.rec) {
			out = append(out, plot.Curve{Name: src, Hist: m.rec.Histogram(src)})
		}
		return out
	}
	var out []plot.Curve
	for _, l := range m.sc.Budget.Lines {
		c := plot.Curve{Name: l.Name, Hist: m.rec.Histogram(l.Source)}
		if l.Source != l.Name {
			c.Name += " (" + l.Source + ")"
		}
		for _, p := range l.Percentiles {
			c.Limits = append(c.Limits, plot.Limit{P: p.P, D: p.Limit.D()})
		}
		out = append(out, c)
	}
	return out
}

// latencySources are the measured sources a person reads a run by, in the
// order of a report: the fixed ones, then Server-Timing metrics.
func latencySources(rec *histogram.Recorder) []string {
	var out []string
	for _, s := range scenario.Sources {
		if rec.Histogram(s) != nil {
			out = append(out, s)
		}
	}
	for _, s := range rec.Sources() {
		if strings.HasPrefix(s, scenario.ServerTimingPrefix) {
			out = append(out, s)
		}
	}
	return out
}

// timelinePercentiles are the percentiles of total drawn over time: the
// median and every percentile the budget holds total to (p99 without one).
func timelinePercentiles(sc *scenario.Scenario) []float64 {
	ps := []float64{50}
	for _, l := range totalLines(sc) {
		for _, p := range l.Percentiles {
			ps = append(ps, p.P)
		}
	}
	if len(ps) == 1 {
		ps = append(ps, 99)
	}
	slices.Sort(ps)
	return slices.Compact(ps)
}

func totalLines(sc *scenario.Scenario) []scenario.Line {
	if sc == nil {
		return nil
	}
	var out []scenario.Line
	for _, l := range sc.Budget.Lines {
		if l.Source == scenario.SourceTotal {
			out = append(out, l)
		}
	}
	return out
}

// timeline is total's latency and the request rate per interval of l; not
// ok when l has fewer than two intervals, which make no line.
func timeline(sc *scenario.Scenario, l *histogram.Log) (plot.Timeline, bool) {
	tl := plot.Timeline{Source: scenario.SourceTotal, Percentiles: timelinePercentiles(sc)}
	if l == nil {
		return tl, false
	}
	// A run's last interval is the moment between its last tick and its
	// end: a few requests over milliseconds would plot as a spike in rate
	// and a lone latency. It joins the interval before it.
	const short = 250 * time.Millisecond
	for _, st := range l.Timeline {
		if st.Source != scenario.SourceTotal || len(st.Percentiles) != len(tl.Percentiles) {
			continue
		}
		if n := len(tl.Latency); n > 0 && st.End-st.Start < short {
			continue
		}
		tl.Latency = append(tl.Latency, plot.TimePoint{Start: st.Start, End: st.End, Values: st.Percentiles})
	}
	var planned, sent float64
	for _, c := range l.Intervals {
		start, end := seconds(c.StartS), seconds(c.EndS)
		if n := len(tl.Rate); n > 0 && end-start < short {
			// Join the previous interval: its rates over the two together.
			prev := &tl.Rate[n-1]
			planned, sent = planned+float64(c.Planned), sent+float64(c.Sent)
			prev.End = end
			d := (prev.End - prev.Start).Seconds()
			prev.Planned, prev.Achieved = planned/d, sent/d
			continue
		}
		if end <= start {
			continue
		}
		planned, sent = float64(c.Planned), float64(c.Sent)
		d := (end - start).Seconds()
		tl.Rate = append(tl.Rate, plot.RatePoint{Start: start, End: end, Planned: planned / d, Achieved: sent / d})
	}
	for _, line := range totalLines(sc) {
		for _, p := range line.Percentiles {
			tl.Limits = append(tl.Limits, plot.Limit{P: p.P, D: p.Limit.D()})
		}
	}
	slices.SortFunc(tl.Limits, func(a, b plot.Limit) int { return cmp.Compare(a.P, b.P) })
	return tl, max(len(tl.Latency), len(tl.Rate)) >= 2
}

// budgetBars are the judged percentiles of every latency line.
func budgetBars(res *budget.Result) []plot.Bar {
	if res == nil {
		return nil
	}
	var out []plot.Bar
	for _, l := range res.Lines {
		for _, p := range l.Percentiles {
			b := plot.Bar{Line: l.Name, P: p.P, Limit: msDuration(p.BudgetMs), Over: p.Verdict == budget.Over}
			if p.ObservedMs != nil {
				b.Observed, b.HasData = msDuration(*p.ObservedMs), true
			}
			out = append(out, b)
		}
	}
	return out
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

func msDuration(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }

// lagSource names the schedule-lag histogram when the log has one: a run's
// log has, a simulation's has not.
func lagSource(rec *histogram.Recorder) string {
	if rec.Histogram(load.SourceLag) != nil {
		return load.SourceLag
	}
	return ""
}
