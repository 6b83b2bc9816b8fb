// Package report renders one budget.Result as text, JSON, Markdown, JUnit
// or HTML — pure functions of the result, so every view shows the same
// numbers — and masks the scenario's secrets in everything tailgate writes.
package report

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/tailgate-dev/tailgate/budget"
	"github.com/tailgate-dev/tailgate/histogram"
)

// Text writes the verdict table a person reads in a terminal or a CI log.
func Text(w io.Writer, r *budget.Result) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s   %s requests in %s (%s/s planned %s/s)   errors %s   new connections %s\n",
		r.Scenario, thousands(r.Requests.Sent), Seconds(r.Requests.ElapsedS),
		Rate(r.Requests.AchievedRate), Rate(r.Requests.PlannedRate),
		Share(r.Requests.Errors, r.Requests.Sent), Share(r.Requests.NewConnections, r.Requests.Sent))
	if r.Engine != "" {
		// The generator's own precision: how late requests left against the
		// schedule, charged to every total measured from the schedule.
		fmt.Fprintf(&b, "engine %s   send lag p50 %s p99 %s\n", r.Engine, Millis(r.Saturation.LagP50Ms), Millis(r.Saturation.LagP99Ms))
	}

	ps := Percentiles(r)
	tw := tabwriter.NewWriter(&b, 0, 0, 3, ' ', 0)
	head := []string{"line", "source", "samples"}
	for _, p := range ps {
		head = append(head, ColumnHead(r, p))
	}
	head = append(head, "verdict")
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, l := range r.Lines {
		row := []string{l.Label(), sourceLabel(l.Source), thousands(l.Count)}
		row = append(row, Cells(l, ps)...)
		row = append(row, LineVerdict(l))
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	b.WriteString(Summary(r))
	if t := TailLine(r, 4); t != "" {
		b.WriteString("   " + t)
	}
	b.WriteByte('\n')
	if a := amplification(r); a != "" {
		fmt.Fprintf(&b, "handshake amplification: %s\n", a)
	}
	if len(r.Errors) > 0 {
		b.WriteString("errors by class:\n")
		etw := tabwriter.NewWriter(&b, 0, 0, 3, ' ', 0)
		for _, e := range r.Errors {
			row := "  " + thousands(e.Count) + "\t" + e.Class
			if e.First != "" {
				row += "\tfirst: " + e.First
			}
			fmt.Fprintln(etw, row)
		}
		if err := etw.Flush(); err != nil {
			return err
		}
	}
	if rd := redirects(r); rd != "" {
		fmt.Fprintf(&b, "%s\n", rd)
	}
	for _, wn := range r.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", wn)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// ColumnHead heads a percentile's column: "p99 observed / budget", or
// "p99 predicted / budget" for a simulation, whose values are a model's.
func ColumnHead(r *budget.Result, p float64) string {
	if r.Mode == "simulate" {
		return Label(p) + " predicted / budget"
	}
	return Label(p) + " observed / budget"
}

// redirects reports 3xx responses, which are never followed: "redirects:
// 12 (3xx, not followed), the first to /login".
func redirects(r *budget.Result) string {
	q := r.Requests
	if q.Redirects == 0 {
		return ""
	}
	s := fmt.Sprintf("redirects: %s (3xx, not followed)", thousands(q.Redirects))
	if q.FirstLocation != "" {
		s += ", the first to " + q.FirstLocation
	}
	return s
}

// Summary is the verdict in one line: PASS, FAIL with the count of lines
// over, or INVALID with the reasons.
func Summary(r *budget.Result) string {
	switch r.Verdict {
	case budget.Invalid:
		return "INVALID: no trustworthy verdict: " + strings.Join(r.Reasons, "; ")
	case budget.Fail:
		over, nodata := 0, 0
		for _, l := range r.Lines {
			switch l.Verdict {
			case budget.Over:
				over++
			case budget.NoData:
				nodata++
			}
		}
		s := fmt.Sprintf("FAIL: %d of %d lines over budget", over, len(r.Lines))
		if nodata > 0 {
			s += fmt.Sprintf(", %d without data", nodata)
		}
		return s
	}
	return fmt.Sprintf("PASS: all %d lines within budget", len(r.Lines))
}

// TailLine says where the slowest requests spent their time, naming at most
// n phases: "p99 tail: 68% ttft, 21% database, 6% queue, 5% network".
func TailLine(r *budget.Result, n int) string {
	var parts []string
	for _, p := range r.Tail.Phases {
		if len(parts) == n || p.Share < 0.005 {
			break
		}
		parts = append(parts, fmt.Sprintf("%.0f%% %s", 100*p.Share, p.Name))
	}
	if len(parts) == 0 {
		return ""
	}
	return "p99 tail: " + strings.Join(parts, ", ")
}

// Percentiles lists every percentile any line judges, in order: the table's columns.
func Percentiles(r *budget.Result) []float64 {
	var ps []float64
	for _, l := range r.Lines {
		for _, p := range l.Percentiles {
			if !slices.Contains(ps, p.P) {
				ps = append(ps, p.P)
			}
		}
	}
	slices.Sort(ps)
	if len(ps) == 0 {
		ps = []float64{99}
	}
	return ps
}

// Cells renders a line's "observed / budget" under each percentile column.
// The errors line puts its share in the first column.
func Cells(l budget.Line, ps []float64) []string {
	cells := make([]string, len(ps))
	if l.BudgetRatio != nil {
		obs := "no data"
		if l.ObservedRatio != nil {
			obs = percent(*l.ObservedRatio)
		}
		cells[0] = obs + " / " + percent(*l.BudgetRatio)
		return cells
	}
	for _, p := range l.Percentiles {
		i := slices.Index(ps, p.P)
		cells[i] = Observed(p, l.Count) + " / " + Limit(p.BudgetMs)
	}
	return cells
}

// Observed renders an observed percentile with its confidence interval,
// "998ms (945ms–1.19s)" ("?" for a side the sample cannot bound), or, when
// its rank is among the three slowest samples, its place there: a p99 of
// 24 samples is "90.6ms (the slowest of 24)", nothing more can be said.
func Observed(p budget.Percentile, count int64) string {
	if p.ObservedMs == nil {
		return "no data"
	}
	obs := Millis(*p.ObservedMs)
	if p.Rank > 0 && count > 0 {
		switch place := count - p.Rank + 1; place {
		case 1:
			return obs + " (the slowest of " + thousands(count) + ")"
		case 2, 3:
			return obs + " (" + ordinal(place) + " slowest of " + thousands(count) + ")"
		}
	}
	if p.CILowMs == nil && p.CIHighMs == nil {
		return obs
	}
	lo, hi := "?", "?"
	if p.CILowMs != nil {
		lo = Millis(*p.CILowMs)
	}
	if p.CIHighMs != nil {
		hi = Millis(*p.CIHighMs)
	}
	// One unit for both ends when they share it: "(945–990ms)".
	if u := unit(lo); u != "" && u == unit(hi) {
		lo = strings.TrimSuffix(lo, u)
	}
	return obs + " (" + lo + "–" + hi + ")"
}

// unit is the unit suffix of a Millis string: "ms", "µs", "s" or "".
func unit(s string) string {
	for _, u := range []string{"µs", "ms", "s"} {
		if strings.HasSuffix(s, u) {
			return u
		}
	}
	return ""
}

func ordinal(n int64) string {
	switch n {
	case 2:
		return "2nd"
	case 3:
		return "3rd"
	}
	return strconv.FormatInt(n, 10) + "th"
}

// LineVerdict is "ok", "no data", or "OVER p99 +51ms" naming the worst
// percentile over budget and by how much.
func LineVerdict(l budget.Line) string {
	switch l.Verdict {
	case budget.OK:
		return "ok"
	case budget.NoData:
		return "no data"
	case budget.Inconclusive:
		return "inconclusive"
	}
	if l.ObservedRatio != nil {
		return "OVER +" + percent(*l.ObservedRatio-*l.BudgetRatio)
	}
	var over []string
	for _, p := range l.Percentiles {
		if p.Verdict == budget.Over && p.MarginMs != nil {
			over = append(over, Label(p.P)+" +"+Millis(-*p.MarginMs))
		}
	}
	return "OVER " + strings.Join(over, ", ")
}

func sourceLabel(s string) string {
	switch s {
	case "total":
		return "total (CO-corr.)"
	case "errors":
		return ""
	}
	return s
}

// Label writes a percentile as p99 or p99.9.
func Label(p float64) string { return "p" + strconv.FormatFloat(p, 'f', -1, 64) }

// Limit formats a budget limit in milliseconds the way it was written:
// 70ms, 1.1s, 500µs.
func Limit(v float64) string { return trim(Millis(v)) }

func trim(s string) string {
	num := strings.TrimRightFunc(s, func(r rune) bool { return r < '0' || r > '9' })
	unit := s[len(num):]
	if strings.Contains(num, ".") {
		num = strings.TrimRight(strings.TrimRight(num, "0"), ".")
	}
	return num + unit
}

// Millis formats milliseconds with three significant digits and a unit a
// person reads at a glance: 850µs, 44.0ms, 131ms, 2.20s (histogram.Millis,
// which judging's messages and the plots use too).
func Millis(v float64) string { return histogram.Millis(v) }

// Seconds formats a duration in seconds for the header line.
func Seconds(s float64) string {
	if s < 10 {
		return strconv.FormatFloat(s, 'f', 1, 64) + "s"
	}
	return strconv.FormatFloat(math.Round(s), 'f', 0, 64) + "s"
}

// Rate formats a per-second rate with at most one decimal.
func Rate(r float64) string {
	s := strconv.FormatFloat(r, 'f', 1, 64)
	return strings.TrimSuffix(s, ".0")
}

// Share formats n of total as a percentage.
func Share(n, total int64) string {
	if total == 0 {
		return "0%"
	}
	return percent(float64(n) / float64(total))
}

func percent(r float64) string {
	v := r * 100
	switch {
	case v == 0:
		return "0%"
	case math.Abs(v) < 0.1:
		return strconv.FormatFloat(v, 'f', 2, 64) + "%"
	}
	return strings.TrimSuffix(strconv.FormatFloat(v, 'f', 1, 64), ".0") + "%"
}

func thousands(n int64) string { return budget.Thousands(n) }
