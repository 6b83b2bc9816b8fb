package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tailgate-dev/tailgate/budget"
)

// JUnit writes the verdict as JUnit XML, valid against the common schema
// (Jenkins' junit-10.xsd, which Ant, Surefire and CI test reporters read):
// one testsuite per scenario, one testcase per budget line. A line over
// budget or without data is a <failure> whose message holds the numbers.
// An invalid verdict (exit 3) is an <error> on a testcase named "verdict",
// and the lines are <skipped>: their numbers say nothing trustworthy, and
// CI should show a broken test, not a slower service. started is when the
// run began (the suite's timestamp); the zero time leaves it out.
func JUnit(w io.Writer, r *budget.Result, started time.Time) error {
	name := r.Scenario
	if name == "" {
		name = "tailgate"
	}
	suite := junitSuite{
		Name:       name,
		Time:       strconv.FormatFloat(r.Requests.ElapsedS, 'f', 3, 64),
		Properties: junitProperties(r),
		SystemOut:  cdata(textOf(r)),
	}
	if !started.IsZero() {
		// Ant's schema wants ISO 8601 without a zone; tailgate writes UTC.
		suite.Timestamp = started.UTC().Format("2006-01-02T15:04:05")
	}
	invalid := r.Verdict == budget.Invalid
	for _, l := range r.Lines {
		tc := junitCase{Name: l.Label(), Classname: name}
		detail := lineDetail(r, l)
		switch {
		case invalid:
			// No attributes: the older junit-4.xsd allows <skipped> only text.
			tc.Skipped = cdata("not judged: " + Summary(r) + "\n" + detail)
			suite.Skipped++
		case l.Verdict != budget.OK:
			kind := "over budget"
			if l.Verdict == budget.NoData {
				kind = "no data"
			}
			tc.Failure = &junitMessage{Type: kind, Message: lineMessage(l), Text: xmlChars(detail)}
			suite.Failures++
		default:
			tc.SystemOut = cdata(detail)
		}
		suite.Cases = append(suite.Cases, tc)
	}
	if invalid {
		suite.Cases = append(suite.Cases, junitCase{
			Name: "verdict", Classname: name,
			Error: &junitMessage{Type: "no trustworthy verdict", Message: Summary(r), Text: xmlChars(invalidDetail(r))},
		})
		suite.Errors++
	}
	suite.Tests = len(suite.Cases)
	doc := junitSuites{
		Name: "tailgate", Tests: suite.Tests, Failures: suite.Failures, Errors: suite.Errors,
		Time: suite.Time, Suites: []junitSuite{suite},
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// The JUnit document, in the order the schema's sequences require:
// properties, testcases, system-out in a suite; skipped, error, failure,
// system-out in a case.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
	SystemOut  *junitText      `xml:"system-out"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Skipped   *junitText    `xml:"skipped"`
	Error     *junitMessage `xml:"error"`
	Failure   *junitMessage `xml:"failure"`
	SystemOut *junitText    `xml:"system-out"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",cdata"`
}

// junitText is element text kept as CDATA, so a report's lines stay lines
// (encoding/xml writes newlines in character data as &#xA;).
type junitText struct {
	Text string `xml:",cdata"`
}

func cdata(s string) *junitText { return &junitText{Text: xmlChars(s)} }

// xmlChars replaces what XML 1.0 cannot hold (control characters, bytes
// that are not UTF-8, U+FFFE/U+FFFF) with U+FFFD. encoding/xml does so in
// attributes and text, but not in CDATA, which a scenario name, a line
// name or a reflected error message can reach: the file stays well-formed.
func xmlChars(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			return r
		case r < 0x20, r == 0xFFFE, r == 0xFFFF, r >= 0xD800 && r < 0xE000:
			return utf8.RuneError
		}
		return r
	}, strings.ToValidUTF8(s, string(utf8.RuneError)))
}

func junitProperties(r *budget.Result) []junitProperty {
	q := r.Requests
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	return []junitProperty{
		{"schema", r.Schema},
		{"mode", r.Mode},
		{"verdict", string(r.Verdict)},
		{"partial", strconv.FormatBool(r.Partial)},
		{"requests.planned", strconv.FormatInt(q.Planned, 10)},
		{"requests.sent", strconv.FormatInt(q.Sent, 10)},
		{"requests.ok", strconv.FormatInt(q.OK, 10)},
		{"requests.errors", strconv.FormatInt(q.Errors, 10)},
		{"requests.planned_rate", f(q.PlannedRate)},
		{"requests.achieved_rate", f(q.AchievedRate)},
		{"requests.new_connections", strconv.FormatInt(q.NewConnections, 10)},
	}
}

// lineMessage is a failed line's verdict with its numbers, one line:
// "database: OVER p99 +51.2ms (p95 38.0ms / 40ms, p99 131ms / 80ms)".
func lineMessage(l budget.Line) string {
	var nums []string
	if l.BudgetRatio != nil {
		nums = Cells(l, []float64{0})
	} else {
		ps := make([]float64, len(l.Percentiles))
		for i, p := range l.Percentiles {
			ps[i] = p.P
		}
		for i, c := range Cells(l, ps) {
			nums = append(nums, Label(ps[i])+" "+c)
		}
	}
	msg := l.Name + ": " + LineVerdict(l)
	if l.Verdict == budget.NoData {
		msg += ": " + l.Source + " recorded no samples, and a gate never passes on what it did not measure"
	}
	return msg + " (" + strings.Join(nums, ", ") + ")"
}

// lineDetail is every number of a line, one percentile a row.
func lineDetail(r *budget.Result, l budget.Line) string {
	var b strings.Builder
	fmt.Fprintf(&b, "line %s, source %s, %s samples\n", l.Name, l.Source, thousands(l.Count))
	if l.BudgetRatio != nil {
		obs := "no data"
		if l.ObservedRatio != nil {
			obs = fmt.Sprintf("%s (%s of %s requests)", percent(*l.ObservedRatio), thousands(r.Requests.Errors), thousands(r.Requests.Sent))
		}
		fmt.Fprintf(&b, "observed %s, budget %s: %s\n", obs, percent(*l.BudgetRatio), LineVerdict(l))
	}
	for _, p := range l.Percentiles {
		obs, margin := "no data", ""
		if p.ObservedMs != nil {
			obs = Millis(*p.ObservedMs)
		}
		if p.MarginMs != nil {
			if *p.MarginMs < 0 {
				margin = ", over by " + Millis(-*p.MarginMs)
			} else {
				margin = ", margin " + Millis(*p.MarginMs)
			}
		}
		fmt.Fprintf(&b, "%s observed %s, budget %s%s: %s\n", Label(p.P), obs, Limit(p.BudgetMs), margin, p.Verdict)
	}
	return b.String()
}

// invalidDetail says why there is no verdict, with the generator's numbers.
func invalidDetail(r *budget.Result) string {
	var b strings.Builder
	b.WriteString("no trustworthy verdict: the run says nothing about the budget (exit 3)\n")
	for _, reason := range r.Reasons {
		fmt.Fprintf(&b, "- %s\n", reason)
	}
	if g := generatorLine(r); g != "" {
		fmt.Fprintf(&b, "load generator %s\n", g)
	}
	return b.String()
}

func textOf(r *budget.Result) string {
	var b strings.Builder
	_ = Text(&b, r) // a strings.Builder does not fail
	return b.String()
}
