package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/tailgate-dev/tailgate/budget"
)

// Markdown writes the verdict as GitHub-flavoured Markdown: what report.md
// holds and what a CI job appends to $GITHUB_STEP_SUMMARY. The numbers are
// the text table's, formatted by the same functions.
func Markdown(w io.Writer, r *budget.Result) error {
	var b strings.Builder
	fmt.Fprintf(&b, "## %s tailgate: %s — %s\n\n", verdictMark(r.Verdict), mdText(r.Scenario), verdictWord(r.Verdict))
	if r.Description != "" {
		fmt.Fprintf(&b, "%s\n\n", mdText(r.Description))
	}
	fmt.Fprintf(&b, "**%s**\n\n", mdText(Summary(r)))
	fmt.Fprintf(&b, "%s\n\n", mdText(strings.Join(facts(r), " · ")))

	ps := Percentiles(r)
	head := []string{"line", "source", "samples"}
	align := []string{":---", ":---", "---:"}
	for _, p := range ps {
		head = append(head, ColumnHead(r, p))
		align = append(align, "---:")
	}
	head = append(head, "verdict")
	align = append(align, ":---")
	mdRow(&b, head)
	mdRow(&b, align)
	for _, l := range r.Lines {
		row := []string{mdText(l.Label()), mdText(sourceLabel(l.Source)), thousands(l.Count)}
		over := overCells(l, ps)
		for i, c := range Cells(l, ps) {
			c = mdText(c)
			if over[i] {
				c = "**" + c + "**"
			}
			row = append(row, c)
		}
		v := mdText(LineVerdict(l))
		if l.Verdict != budget.OK {
			v = "**" + v + "**"
		}
		mdRow(&b, append(row, v))
	}
	b.WriteByte('\n')

	if t := TailLine(r, len(r.Tail.Phases)); t != "" {
		fmt.Fprintf(&b, "**Tail attribution:** %s (%s)\n\n", mdText(strings.TrimPrefix(t, "p99 tail: ")), slowest(r.Tail.Requests))
	}
	if a := amplification(r); a != "" {
		fmt.Fprintf(&b, "**Handshake amplification:** %s\n\n", mdText(a))
	}
	if g := generatorLine(r); g != "" {
		fmt.Fprintf(&b, "**Load generator:** %s\n\n", mdText(g))
	}
	if len(r.Errors) > 0 {
		b.WriteString("**Errors by class**\n\n")
		mdRow(&b, []string{"class", "requests", "share of sent", "first seen"})
		mdRow(&b, []string{":---", "---:", "---:", ":---"})
		for _, e := range r.Errors {
			mdRow(&b, []string{mdText(e.Class), thousands(e.Count), Share(e.Count, r.Requests.Sent), mdText(e.First)})
		}
		b.WriteByte('\n')
	}
	if rd := redirects(r); rd != "" {
		fmt.Fprintf(&b, "**Redirects:** %s\n\n", mdText(strings.TrimPrefix(rd, "redirects: ")))
	}
	for _, wn := range r.Warnings {
		fmt.Fprintf(&b, "> **Warning:** %s\n\n", mdText(wn))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// facts are the header's facts about a run, in the words of the text
// table's header line: "run", "4,812 requests in 60s", "80.2/s (planned
// 80/s)", "errors 0.4%", "new connections 3.1%".
func facts(r *budget.Result) []string {
	out := []string{
		r.Mode,
		fmt.Sprintf("%s requests in %s", thousands(r.Requests.Sent), Seconds(r.Requests.ElapsedS)),
		fmt.Sprintf("%s/s (planned %s/s)", Rate(r.Requests.AchievedRate), Rate(r.Requests.PlannedRate)),
		"errors " + Share(r.Requests.Errors, r.Requests.Sent),
		"new connections " + Share(r.Requests.NewConnections, r.Requests.Sent),
	}
	if r.Partial {
		out = append(out, "partial")
	}
	return out
}

// amplification is handshake amplification in one sentence, empty when
// cold or warm requests were not both measured: "149 new connections
// (3.1%), total p99 cold 2.61s vs warm 2.15s".
func amplification(r *budget.Result) string {
	c := r.Connections
	if c.ColdP99Ms == nil || c.WarmP99Ms == nil {
		return ""
	}
	s := fmt.Sprintf("%s new connections (%s), total p99 cold %s (of %s) vs warm %s (of %s)",
		thousands(c.New), percent(c.NewShare), Millis(*c.ColdP99Ms), thousands(c.ColdCount), Millis(*c.WarmP99Ms), thousands(c.WarmCount))
	var small []string
	if c.ColdCount < budget.MinCompare {
		small = append(small, "cold")
	}
	if c.WarmCount < budget.MinCompare {
		small = append(small, "warm")
	}
	switch len(small) {
	case 1:
		s += fmt.Sprintf("; the %s group is too small to compare (under %d requests, a p99 is its slowest)", small[0], budget.MinCompare)
	case 2:
		s += fmt.Sprintf("; both groups are too small to compare (under %d requests, a p99 is its slowest)", budget.MinCompare)
	}
	return s
}

// generatorLine says whether the load generator kept to its schedule, for runs
// only (a simulation has no generator to fall behind).
func generatorLine(r *budget.Result) string {
	if r.Mode != "run" {
		return ""
	}
	s := r.Saturation
	state := "kept to the schedule"
	if s.Saturated {
		state = "SATURATED"
	}
	if r.Engine != "" {
		state += " (" + r.Engine + " engine)"
	}
	return fmt.Sprintf("%s: schedule lag p50 %s, p99 %s (limit %s), achieved %s of the planned rate (limit %s)",
		state, Millis(s.LagP50Ms), Millis(s.LagP99Ms), Limit(float64(budget.MaxLagP99.Microseconds())/1000),
		percent(s.AchievedRatio), percent(budget.MinAchievedRate))
}

// slowest names the requests the tail attribution looked at.
func slowest(n int) string {
	if n == 1 {
		return "the slowest request"
	}
	return "the " + thousands(int64(n)) + " slowest requests"
}

// overCells marks the cells of Cells(l, ps) whose percentile is over budget.
func overCells(l budget.Line, ps []float64) []bool {
	over := make([]bool, len(ps))
	if l.BudgetRatio != nil {
		over[0] = l.Verdict == budget.Over
		return over
	}
	for _, p := range l.Percentiles {
		for i, q := range ps {
			if q == p.P && p.Verdict == budget.Over {
				over[i] = true
			}
		}
	}
	return over
}

func verdictWord(v budget.Verdict) string { return strings.ToUpper(string(v)) }

func verdictMark(v budget.Verdict) string {
	switch v {
	case budget.Pass:
		return "✅"
	case budget.Fail:
		return "❌"
	}
	return "⚠️"
}

func mdRow(b *strings.Builder, cells []string) {
	b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
}

// mdText keeps user-supplied text (scenario and line names, error classes,
// reasons) from breaking a table or starting markup.
var mdReplacer = strings.NewReplacer(
	"\\", "\\\\", "|", "\\|", "*", "\\*", "_", "\\_", "`", "\\`", "<", "&lt;", ">", "&gt;",
	"[", "\\[", "]", "\\]", "\r\n", " ", "\n", " ",
)

func mdText(s string) string { return mdReplacer.Replace(s) }
