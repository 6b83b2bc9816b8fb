package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tailgate-dev/tailgate/budget"
	"github.com/tailgate-dev/tailgate/histogram"
)

// ErrSchema is returned by Read for a document that is not a tailgate
// report of a schema version this build reads.
var ErrSchema = errors.New("not a " + budget.Schema + " report")

// Read decodes a report.json. Fields added by later builds are ignored; a
// missing or different schema is ErrSchema.
func Read(rd io.Reader) (*budget.Result, error) {
	var r budget.Result
	if err := json.NewDecoder(rd).Decode(&r); err != nil {
		return nil, fmt.Errorf("decoding JSON: %w", err)
	}
	if r.Schema != budget.Schema {
		if r.Schema == "" {
			return nil, fmt.Errorf("%w: no \"schema\" field", ErrSchema)
		}
		return nil, fmt.Errorf("%w: schema is %q", ErrSchema, r.Schema)
	}
	return &r, nil
}

// Change is one percentile of one line (or the errors line's share) in
// two runs.
type Change struct {
	Line, Source string
	// P is the percentile; 0 for the errors line, which compares shares.
	P float64
	// Base and New are milliseconds, or shares (0–1) for the errors line;
	// nil when that run had no data.
	Base, New *float64
	// BaseCI and NewCI are the percentile's confidence intervals in each
	// run, at the comparison's Confidence; empty for the errors line.
	BaseCI, NewCI CI
	Status        Status
}

// CI is a confidence interval of a percentile, in milliseconds. A nil side
// is one the run's sample cannot bound (too few samples beyond the
// percentile's rank, or none below it).
type CI struct{ Low, High *float64 }

// Status is how a percentile changed from base to new.
type Status string

// Statuses. Only Regressed fails the comparison.
const (
	// Regressed: worse by more than the allowance and than measurement
	// precision, and significantly (the new interval lies wholly above the
	// base one); or measured in base and not in new.
	Regressed Status = "REGRESSED"
	// Slower: worse beyond precision and significantly, within the allowance.
	Slower Status = "slower"
	// Faster: better beyond precision and significantly.
	Faster Status = "faster"
	// NotSignificant: different beyond precision, but the two intervals
	// overlap: sampling noise alone could make that difference.
	NotSignificant Status = "not significant"
	// TooFewSamples: different beyond precision, but a run's sample cannot
	// bound the side of its interval that would show it (for a slowdown,
	// base's upper end or new's lower end).
	TooFewSamples Status = "not significant (too few samples)"
	Unchanged     Status = "unchanged" // within measurement precision
	Missing       Status = "no data"   // the base run has no data for it: nothing to compare with
)

// DefaultConfidence is the level of the intervals report.json carries.
const DefaultConfidence = 0.95

// Comparison is a new run's report set against a baseline's.
type Comparison struct {
	BaseScenario, NewScenario string
	// MaxRegression is the allowed relative increase, 0.1 for 10%.
	MaxRegression float64
	// Confidence is the level of the intervals compared, 0.95 for 95%.
	Confidence float64
	Changes    []Change
	// OnlyBase and OnlyNew list lines (or percentiles, "ttft p99.9") present
	// in one report only: listed, never failed.
	OnlyBase, OnlyNew []string
	// Notes say what makes the comparison less meaningful: different
	// scenarios, an untrustworthy base.
	Notes []string
	// Different says why base and new are not runs of one experiment (their
	// scenarios' names, or the plan identities both carry, differ); "" when
	// they are. Comparing them is a mistake unless the user says otherwise.
	Different string
	// Untrusted says why the comparison judges nothing: the new run is
	// partial or has no trustworthy verdict, or no percentile has data in
	// both runs; "" when it judges.
	Untrusted string
}

// Compare sets every percentile of every line in next against base; the
// intervals both results carry (CILowMs, CIHighMs) are at confidence (0.95
// for report.json as written; see WithIntervals for another level).
//
// A percentile regresses only when both hold:
//
//   - the difference matters: the new value exceeds the base value by more
//     than maxRegression (0.1 = 10%) of it and by more than HDR precision
//     (the bottom of the new value's bucket lies over 0.1% above the base
//     value, so values the histograms cannot tell apart never fail);
//   - the difference is significant: the new interval lies wholly above the
//     base one, its lower end beyond HDR precision above base's upper end.
//
// Every change is described by the same test: Slower (within the
// allowance) and Faster also need the intervals apart. A change beyond
// precision whose intervals overlap is NotSignificant; one where the side
// that would show it is null in either run (the sample cannot bound it:
// base's upper end and new's lower end for a slowdown) is TooFewSamples.
// Neither fails the comparison; Summary names those over the allowance.
// The errors line compares shares on their values, and its precision is
// one request of the smaller run.
//
// What base measured and next did not (a percentile or a line missing, null
// or not finite in next) regresses: a gate never passes on what it did not
// measure. What only next measured is listed, not compared. A next run that
// is partial or has no trustworthy verdict, and a pair with nothing measured
// in both, leave the comparison Untrusted.
func Compare(base, next *budget.Result, maxRegression, confidence float64) *Comparison {
	c := &Comparison{BaseScenario: base.Scenario, NewScenario: next.Scenario, MaxRegression: maxRegression, Confidence: confidence}
	switch bp, np := base.Plan.Identity, next.Plan.Identity; {
	case base.Scenario != next.Scenario:
		c.Different = fmt.Sprintf("the base run is of scenario %q and the new one of %q", base.Scenario, next.Scenario)
		c.Notes = append(c.Notes, fmt.Sprintf("comparing different scenarios: %q and %q", base.Scenario, next.Scenario))
	case bp != "" && np != "" && bp != np:
		c.Different = fmt.Sprintf("the base run is of plan %s and the new one of plan %s (traffic, seed, target, request or service differ)", bp, np)
		c.Notes = append(c.Notes, fmt.Sprintf("comparing different plans: %s and %s", bp, np))
	}
	if base.Verdict == budget.Invalid {
		c.Notes = append(c.Notes, "the base run has no trustworthy verdict: "+strings.Join(base.Reasons, "; "))
	}
	for _, r := range []struct {
		name string
		res  *budget.Result
	}{{"base", base}, {"new", next}} {
		if measuredPercentile(r.res) && !HasIntervals(r.res) {
			c.Notes = append(c.Notes, "the "+r.name+" report carries no confidence interval on any percentile it measured (written before reports carried them, or from very few samples): no change of a percentile can be shown significant")
		}
	}
	switch {
	case next.Verdict == budget.Invalid:
		c.Untrusted = "the new run has no trustworthy verdict: " + strings.Join(next.Reasons, "; ")
	case next.Partial:
		c.Untrusted = "the new run is partial: it was interrupted before its plan ended"
	}
	ratioPrecision := 1 / float64(max(min(base.Requests.Sent, next.Requests.Sent), 1))
	ratio := func(b, n float64) bool { return n-b > ratioPrecision }

	for _, nl := range next.Lines {
		bl, ok := findLine(base, nl.Name)
		if !ok {
			c.OnlyNew = append(c.OnlyNew, nl.Name)
			continue
		}
		if nl.BudgetRatio != nil || bl.BudgetRatio != nil {
			ch := Change{Line: nl.Name, Source: nl.Source, Base: bl.ObservedRatio, New: nl.ObservedRatio}
			ch.Status = status(ch.Base, ch.New, maxRegression, ratio)
			c.Changes = append(c.Changes, ch)
			continue
		}
		for _, np := range nl.Percentiles {
			bp, ok := findPercentile(bl, np.P)
			if !ok {
				c.OnlyNew = append(c.OnlyNew, nl.Name+" "+Label(np.P))
				continue
			}
			ch := Change{Line: nl.Name, Source: nl.Source, P: np.P, Base: bp.ObservedMs, New: np.ObservedMs,
				BaseCI: ciOf(bp), NewCI: ciOf(np)}
			ch.Status = latencyStatus(ch, maxRegression)
			c.Changes = append(c.Changes, ch)
		}
		for _, bp := range bl.Percentiles {
			if _, ok := findPercentile(nl, bp.P); !ok {
				c.baseOnly(bl, bp)
			}
		}
	}
	for _, bl := range base.Lines {
		if _, ok := findLine(next, bl.Name); ok {
			continue
		}
		switch {
		case bl.BudgetRatio != nil && finite(bl.ObservedRatio):
			c.Changes = append(c.Changes, Change{Line: bl.Name, Source: bl.Source, Base: bl.ObservedRatio, Status: Regressed})
		case !observed(bl):
			c.OnlyBase = append(c.OnlyBase, bl.Name)
		default:
			for _, bp := range bl.Percentiles {
				c.baseOnly(bl, bp)
			}
		}
	}
	if c.Untrusted == "" && c.Regressions() == 0 && c.compared() == 0 {
		switch {
		case len(c.Changes) == 0:
			c.Untrusted = "nothing to compare: the two reports have no line in common"
		default:
			c.Untrusted = "nothing to compare: the base run has no data on any line the new one has"
		}
	}
	return c
}

// baseOnly records percentile bp of line bl, which next lacks: a
// regression when base observed it, else listed.
func (c *Comparison) baseOnly(bl budget.Line, bp budget.Percentile) {
	if !finite(bp.ObservedMs) {
		c.OnlyBase = append(c.OnlyBase, bl.Name+" "+Label(bp.P))
		return
	}
	c.Changes = append(c.Changes, Change{Line: bl.Name, Source: bl.Source, P: bp.P, Base: bp.ObservedMs, BaseCI: ciOf(bp), Status: Regressed})
}

func ciOf(p budget.Percentile) CI { return CI{Low: p.CILowMs, High: p.CIHighMs} }

// latencyStatus classifies a percentile's change: its direction and size
// from the observed values, beyond HDR precision, and whether the intervals
// show it.
func latencyStatus(ch Change, maxRegression float64) Status {
	b, n := ch.Base, ch.New
	switch {
	case !finite(b):
		return Missing
	case !finite(n):
		return Regressed
	case beyondPrecision(*b, *n):
		if s := apart(ch.BaseCI.High, ch.NewCI.Low); s != "" {
			return s
		}
		if *n-*b > maxRegression**b {
			return Regressed
		}
		return Slower
	case beyondPrecision(*n, *b):
		if s := apart(ch.NewCI.High, ch.BaseCI.Low); s != "" {
			return s
		}
		return Faster
	}
	return Unchanged
}

// apart is "" when an interval's upper end hi lies below another's lower
// end lo beyond HDR precision (interval ends are histogram values too): the
// two percentiles differ significantly. Else it says why they cannot be
// told apart.
func apart(hi, lo *float64) Status {
	switch {
	case !finite(hi) || !finite(lo):
		return TooFewSamples
	case beyondPrecision(*hi, *lo):
		return ""
	}
	return NotSignificant
}

// measuredPercentile reports whether r measured any percentile.
func measuredPercentile(r *budget.Result) bool {
	for _, l := range r.Lines {
		for _, p := range l.Percentiles {
			if finite(p.ObservedMs) {
				return true
			}
		}
	}
	return false
}

// HasIntervals reports whether any percentile of r carries a side of its
// interval: a report without any was written before reports carried them
// (or measured very few samples).
func HasIntervals(r *budget.Result) bool {
	for _, l := range r.Lines {
		for _, p := range l.Percentiles {
			if finite(p.CILowMs) || finite(p.CIHighMs) {
				return true
			}
		}
	}
	return false
}

// compared counts the changes with data in both runs.
func (c *Comparison) compared() int {
	n := 0
	for _, ch := range c.Changes {
		if finite(ch.Base) && finite(ch.New) {
			n++
		}
	}
	return n
}

// observed reports whether a line has any value measured.
func observed(l budget.Line) bool {
	if finite(l.ObservedRatio) {
		return true
	}
	for _, p := range l.Percentiles {
		if finite(p.ObservedMs) {
			return true
		}
	}
	return false
}

// finite reports whether v holds a measured value: not null, NaN or ±Inf.
func finite(v *float64) bool { return v != nil && !math.IsNaN(*v) && !math.IsInf(*v, 0) }

// beyondPrecision says whether latency n (ms) is above b beyond what 3
// significant digits can resolve: n's bucket starts over 0.1% above b.
func beyondPrecision(b, n float64) bool {
	low := histogram.LowestEquivalent(time.Duration(n * float64(time.Millisecond)))
	return float64(low)/float64(time.Millisecond) > b*1.001
}

// status classifies one change; worse says whether n is worse than b beyond
// measurement precision. What base measured and n lacks has regressed.
func status(b, n *float64, maxRegression float64, worse func(b, n float64) bool) Status {
	switch {
	case !finite(b):
		return Missing
	case !finite(n):
		return Regressed
	case worse(*b, *n):
		if *n-*b > maxRegression**b {
			return Regressed
		}
		return Slower
	case worse(*n, *b):
		return Faster
	}
	return Unchanged
}

func findLine(r *budget.Result, name string) (budget.Line, bool) {
	for _, l := range r.Lines {
		if l.Name == name {
			return l, true
		}
	}
	return budget.Line{}, false
}

func findPercentile(l budget.Line, p float64) (budget.Percentile, bool) {
	for _, q := range l.Percentiles {
		if q.P == p {
			return q, true
		}
	}
	return budget.Percentile{}, false
}

// Regressions counts the changes that fail the comparison.
func (c *Comparison) Regressions() int {
	n := 0
	for _, ch := range c.Changes {
		if ch.Status == Regressed {
			n++
		}
	}
	return n
}

// Summary is the comparison's outcome in one line; the changes over the
// allowance that were not significant are named after it.
func (c *Comparison) Summary() string {
	allow := percent(c.MaxRegression)
	if c.Untrusted != "" {
		return "NO TRUSTWORTHY COMPARISON: " + c.Untrusted
	}
	var worst, unsure []string
	for _, ch := range c.Changes {
		over := finite(ch.Base) && finite(ch.New) && *ch.New-*ch.Base > c.MaxRegression**ch.Base
		switch {
		case ch.Status == NotSignificant && over:
			unsure = append(unsure, ch.name()+" "+ch.relative())
		case ch.Status == TooFewSamples && over:
			unsure = append(unsure, ch.name()+" "+ch.relative()+" (too few samples)")
		case ch.Status != Regressed:
		case !finite(ch.New):
			worst = append(worst, ch.name()+" no data in new")
		default:
			worst = append(worst, ch.name()+" "+ch.relative())
		}
	}
	var s string
	if len(worst) > 0 {
		s = fmt.Sprintf("REGRESSED: %d of %d compared over the %s allowance: %s",
			len(worst), len(c.Changes), allow, strings.Join(worst, ", "))
	} else {
		s = fmt.Sprintf("OK: no regression beyond %s in %d compared", allow, len(c.Changes))
	}
	if len(unsure) > 0 {
		s += fmt.Sprintf("; over the allowance but not significant at %s: %s", level(c.Confidence), strings.Join(unsure, ", "))
	}
	return s
}

// level is a confidence level as typed: "95%", "99.99%" (percent would
// round the latter to 100%).
func level(c float64) string {
	return strconv.FormatFloat(math.Round(c*1e6)/1e4, 'f', -1, 64) + "%"
}

func (ch Change) name() string {
	if ch.P == 0 {
		return ch.Line
	}
	return ch.Line + " " + Label(ch.P)
}

// value is a run's value and, for a percentile, its interval as the
// verdict table shows it: "134ms (128–141ms)", "?" for a side the sample
// cannot bound.
func (ch Change) value(v *float64, ci CI) string {
	switch {
	case !finite(v):
		return "no data"
	case ch.P == 0:
		return percent(*v)
	}
	return Observed(budget.Percentile{ObservedMs: v, CILowMs: ci.Low, CIHighMs: ci.High}, 0)
}

// absolute is new − base: "+250ms", "−1.2%" (percentage points for errors).
func (ch Change) absolute() string {
	if !finite(ch.Base) || !finite(ch.New) {
		return ""
	}
	d := *ch.New - *ch.Base
	if d == 0 {
		return "0"
	}
	sign := "+"
	if d < 0 {
		sign = "-"
	}
	if ch.P == 0 {
		return sign + strings.TrimSuffix(percent(math.Abs(d)), "%") + " pt"
	}
	return sign + Millis(math.Abs(d))
}

// relative is (new − base) / base: "+11.4%"; "new" when base is zero.
func (ch Change) relative() string {
	if !finite(ch.Base) || !finite(ch.New) {
		return ""
	}
	b, n := *ch.Base, *ch.New
	if b == 0 {
		if n == 0 {
			return "0%"
		}
		return "+∞"
	}
	if n == b {
		return "0%"
	}
	r := 100 * (n - b) / b
	s := strconv.FormatFloat(r, 'f', 1, 64)
	if r >= 0 {
		s = "+" + s
	}
	return s + "%"
}

func (c *Comparison) rows() [][]string {
	rows := [][]string{{"line", "source", "percentile", "base", "new", "change", "relative", "result"}}
	for _, ch := range c.Changes {
		p := Label(ch.P)
		if ch.P == 0 {
			p = "share"
		}
		rows = append(rows, []string{ch.Line, ch.Source, p, ch.value(ch.Base, ch.BaseCI), ch.value(ch.New, ch.NewCI), ch.absolute(), ch.relative(), string(ch.Status)})
	}
	return rows
}

// CompareText writes the comparison as an aligned table that is also valid
// Markdown, so a terminal, a CI log and a pull request comment read the same.
func CompareText(w io.Writer, c *Comparison) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s   allowance +%s per percentile, significant at %s\n", scenarios(c), percent(c.MaxRegression), level(c.Confidence))
	tw := tabwriter.NewWriter(&b, 0, 0, 0, ' ', 0)
	for i, r := range c.rows() {
		fmt.Fprintf(tw, "| %s \t|\n", strings.Join(r, " \t| "))
		if i == 0 {
			dashes := strings.Repeat("--- \t| ", len(r)-1) + "--- \t|"
			fmt.Fprintf(tw, "| %s\n", dashes)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	writeCompareFooter(&b, c, "")
	_, err := io.WriteString(w, b.String())
	return err
}

// CompareMarkdown writes the comparison for a pull request comment or a
// step summary.
func CompareMarkdown(w io.Writer, c *Comparison) error {
	var b strings.Builder
	mark := "✅"
	switch {
	case c.Untrusted != "":
		mark = "⚠️"
	case c.Regressions() > 0:
		mark = "❌"
	}
	fmt.Fprintf(&b, "## %s tailgate compare: %s\n\n", mark, mdText(scenarios(c)))
	fmt.Fprintf(&b, "**%s**\n\n", mdText(c.Summary()))
	rows := c.rows()
	for i, r := range rows {
		cells := make([]string, len(r))
		for j, s := range r {
			cells[j] = mdText(s)
		}
		if i > 0 && r[len(r)-1] == string(Regressed) {
			cells[len(cells)-1] = "**" + cells[len(cells)-1] + "**"
		}
		mdRow(&b, cells)
		if i == 0 {
			mdRow(&b, []string{":---", ":---", ":---", "---:", "---:", "---:", "---:", ":---"})
		}
	}
	b.WriteByte('\n')
	writeCompareFooter(&b, c, "md")
	_, err := io.WriteString(w, b.String())
	return err
}

func scenarios(c *Comparison) string {
	if c.BaseScenario == c.NewScenario {
		return c.NewScenario
	}
	return c.BaseScenario + " → " + c.NewScenario
}

func writeCompareFooter(b *strings.Builder, c *Comparison, style string) {
	lines := []string{}
	if style != "md" {
		lines = append(lines, c.Summary())
	}
	if len(c.OnlyBase) > 0 {
		lines = append(lines, "only in base (not compared): "+strings.Join(c.OnlyBase, ", "))
	}
	if len(c.OnlyNew) > 0 {
		lines = append(lines, "only in new (not compared): "+strings.Join(c.OnlyNew, ", "))
	}
	for _, n := range c.Notes {
		lines = append(lines, "note: "+n)
	}
	for _, l := range lines {
		if style == "md" {
			b.WriteString(mdText(l) + "\n\n")
		} else {
			b.WriteString(l + "\n")
		}
	}
}
