package report

import (
	"bytes"
	"errors"
	"math"
	"regexp"
	"strings"
	"testing"

	"github.com/tailgate-dev/tailgate/budget"
)

// twoLines is a result with a total line at p95/p99 and an errors line.
// Each percentile's interval is the observed value itself, as from a sample
// so large that its difference from any other is significant: the tests of
// the allowance and of precision use it; TestCompareSignificance sets real
// intervals.
func twoLines(p95, p99 *float64, errRatio float64, sent int64) *budget.Result {
	return &budget.Result{
		Schema: budget.Schema, Scenario: "api", Mode: "run", Verdict: budget.Pass,
		Requests: budget.Requests{Sent: sent},
		Lines: []budget.Line{
			{Name: "total", Source: "total", Percentiles: []budget.Percentile{
				{P: 95, ObservedMs: p95, CILowMs: p95, CIHighMs: p95, BudgetMs: 500},
				{P: 99, ObservedMs: p99, CILowMs: p99, CIHighMs: p99, BudgetMs: 1000}}},
			{Name: "errors", Source: "errors", ObservedRatio: f(errRatio), BudgetRatio: f(0.01)},
		},
	}
}

func TestCompareStatus(t *testing.T) {
	for _, tc := range []struct {
		name             string
		base, next       *budget.Result
		allow            float64
		p95, p99, errors Status
	}{
		{"same", twoLines(f(100), f(200), 0.001, 10000), twoLines(f(100), f(200), 0.001, 10000), 0.1, Unchanged, Unchanged, Unchanged},
		{"regression beyond the allowance", twoLines(f(100), f(200), 0, 10000), twoLines(f(100), f(230), 0, 10000), 0.1, Unchanged, Regressed, Unchanged},
		{"slower within the allowance", twoLines(f(100), f(200), 0, 10000), twoLines(f(100), f(215), 0, 10000), 0.1, Unchanged, Slower, Unchanged},
		{"improvement", twoLines(f(100), f(200), 0.01, 10000), twoLines(f(50), f(150), 0.001, 10000), 0.1, Faster, Faster, Faster},
		// 100.05ms is in the same 3-significant-digit bucket neighbourhood as
		// 100ms: with no allowance at all, still not a regression.
		{"within HDR precision", twoLines(f(100), f(200), 0, 10000), twoLines(f(100.05), f(200.15), 0, 10000), 0, Unchanged, Unchanged, Unchanged},
		{"beyond HDR precision with no allowance", twoLines(f(100), f(200), 0, 10000), twoLines(f(100.3), f(200), 0, 10000), 0, Regressed, Unchanged, Unchanged},
		// Exact microseconds below 2ms: 1.000 → 1.002ms is 0.2%, past 0.1%.
		{"small exact values", twoLines(f(1), f(2), 0, 10000), twoLines(f(1.002), f(2.001), 0, 10000), 0, Regressed, Unchanged, Unchanged},
		// Measured in base, not in new: a regression. Not in base: nothing
		// to compare with.
		{"no data on one side", twoLines(f(100), nil, 0, 10000), twoLines(nil, f(200), 0, 10000), 0.1, Regressed, Missing, Unchanged},
		{"not finite in new", twoLines(f(100), f(200), 0, 10000), twoLines(f(math.NaN()), f(math.Inf(1)), 0, 10000), 0.1, Regressed, Regressed, Unchanged},
		// One error more in 100 requests is the ratio's resolution: not a regression.
		{"errors within one request", twoLines(f(1), f(1), 0.01, 100), twoLines(f(1), f(1), 0.02, 100), 0.1, Unchanged, Unchanged, Unchanged},
		{"errors regress", twoLines(f(1), f(1), 0.01, 1000), twoLines(f(1), f(1), 0.05, 1000), 0.1, Unchanged, Unchanged, Regressed},
		{"errors from zero", twoLines(f(1), f(1), 0, 1000), twoLines(f(1), f(1), 0.01, 1000), 0.1, Unchanged, Unchanged, Regressed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Compare(tc.base, tc.next, tc.allow, DefaultConfidence)
			if len(c.Changes) != 3 {
				t.Fatalf("%d changes, want 3: %+v", len(c.Changes), c.Changes)
			}
			got := []Status{c.Changes[0].Status, c.Changes[1].Status, c.Changes[2].Status}
			want := []Status{tc.p95, tc.p99, tc.errors}
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("%s: %s, want %s", c.Changes[i].name(), got[i], want[i])
				}
			}
			wantRegressions := 0
			for _, s := range want {
				if s == Regressed {
					wantRegressions++
				}
			}
			if c.Regressions() != wantRegressions {
				t.Errorf("Regressions() = %d, want %d", c.Regressions(), wantRegressions)
			}
		})
	}
}

// TestCompareMissingLines: what base measured and new lacks (a line, a
// percentile) regresses and is named; what only new has, or base has
// without data, is listed and never fails.
func TestCompareMissingLines(t *testing.T) {
	base := twoLines(f(100), f(200), 0, 1000)
	base.Lines = append(base.Lines,
		budget.Line{Name: "tls", Source: "tls", Percentiles: []budget.Percentile{{P: 99, ObservedMs: f(30)}}},
		budget.Line{Name: "cache", Source: "server-timing:cache", Percentiles: []budget.Percentile{{P: 99}}})
	next := twoLines(f(100), f(200), 0, 1000)
	next.Lines[0].Percentiles = next.Lines[0].Percentiles[:1] // total p99 gone
	next.Lines[0].Percentiles = append(next.Lines[0].Percentiles, budget.Percentile{P: 99.9, ObservedMs: f(5000)})
	next.Lines = append(next.Lines, budget.Line{Name: "ttft", Source: "ttft", Percentiles: []budget.Percentile{{P: 99, ObservedMs: f(900)}}})

	c := Compare(base, next, 0.1, DefaultConfidence)
	var regressed []string
	for _, ch := range c.Changes {
		if ch.Status == Regressed {
			regressed = append(regressed, ch.name())
		}
	}
	if strings.Join(regressed, ",") != "total p99,tls p99" || c.Regressions() != 2 {
		t.Errorf("regressed %q; want total p99 and tls p99, which new lacks", regressed)
	}
	if strings.Join(c.OnlyBase, ",") != "cache" || strings.Join(c.OnlyNew, ",") != "total p99.9,ttft" {
		t.Errorf("only base %q, only new %q", c.OnlyBase, c.OnlyNew)
	}
	var b bytes.Buffer
	CompareText(&b, c)
	for _, want := range []string{
		"REGRESSED: 2 of 4 compared over the 10% allowance: total p99 no data in new, tls p99 no data in new",
		"only in base (not compared): cache",
		"only in new (not compared): total p99.9, ttft",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, b.String())
		}
	}
	if !regexp.MustCompile(`(?m)^\| tls +\| tls +\| p99 +\| 30.0ms +\| no data +\| +\| +\| REGRESSED +\|$`).MatchString(b.String()) {
		t.Errorf("no row for tls p99:\n%s", b.String())
	}
}

// Base and new of different scenarios, or of different plans when both
// say, are different experiments; a report without an identity is not
// told apart by it.
func TestCompareDifferent(t *testing.T) {
	withPlan := func(name, id string) *budget.Result {
		r := twoLines(f(100), f(200), 0, 1000)
		r.Scenario, r.Plan.Identity = name, id
		return r
	}
	for _, tc := range []struct {
		base, next *budget.Result
		want, note string
	}{
		{withPlan("api", "plan1-aa"), withPlan("api", "plan1-aa"), "", ""},
		{withPlan("api", "plan1-aa"), withPlan("api", ""), "", ""},
		{withPlan("api", "plan1-aa"), withPlan("api-v2", "plan1-aa"), `the base run is of scenario "api" and the new one of "api-v2"`, `comparing different scenarios: "api" and "api-v2"`},
		{withPlan("api", "plan1-aa"), withPlan("api", "plan1-bb"), "the base run is of plan plan1-aa and the new one of plan plan1-bb (traffic, seed, target, request or service differ)", "comparing different plans: plan1-aa and plan1-bb"},
	} {
		c := Compare(tc.base, tc.next, 0.1, DefaultConfidence)
		if c.Different != tc.want || strings.Join(c.Notes, "|") != tc.note {
			t.Errorf("%s/%s vs %s/%s: different %q, notes %q", tc.base.Scenario, tc.base.Plan.Identity, tc.next.Scenario, tc.next.Plan.Identity, c.Different, c.Notes)
		}
	}
}

// A new run without a trustworthy verdict, or a pair with nothing measured
// in both, judges nothing: never OK.
func TestCompareUntrusted(t *testing.T) {
	invalid := twoLines(f(100), f(200), 0, 1000)
	invalid.Verdict, invalid.Reasons = budget.Invalid, []string{"load generator saturated", "interrupted after 10 of 100 planned requests"}
	partial := twoLines(f(100), f(200), 0, 1000)
	partial.Partial = true
	empty := &budget.Result{Schema: budget.Schema, Scenario: "api", Verdict: budget.Pass}
	noData := twoLines(nil, nil, 0, 0)
	noData.Lines[1].ObservedRatio = nil
	for _, tc := range []struct {
		name        string
		base, next  *budget.Result
		untrusted   string
		regressions int
		summary     string
	}{
		{"new invalid", twoLines(f(100), f(200), 0, 1000), invalid, "the new run has no trustworthy verdict: load generator saturated; interrupted after 10 of 100 planned requests", 0, ""},
		{"new partial", twoLines(f(100), f(200), 0, 1000), partial, "the new run is partial: it was interrupted before its plan ended", 0, ""},
		{"both without data", noData, noData, "nothing to compare: the base run has no data on any line the new one has", 0, ""},
		{"empty reports", empty, empty, "nothing to compare: the two reports have no line in common", 0, ""},
		{"base without data", noData, twoLines(f(100), f(200), 0, 1000), "nothing to compare: the base run has no data on any line the new one has", 0, ""},
		// New measured nothing that base did: every such percentile regressed.
		{"new without data", twoLines(f(100), f(200), 0, 1000), noData, "", 3, "REGRESSED: 3 of 3 compared over the 10% allowance: total p95 no data in new, total p99 no data in new, errors no data in new"},
		{"new without lines", twoLines(f(100), f(200), 0, 1000), empty, "", 3, ""},
		{"base invalid: a note", invalid, twoLines(f(100), f(200), 0, 1000), "", 0, "OK: no regression beyond 10% in 3 compared"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Compare(tc.base, tc.next, 0.1, DefaultConfidence)
			if c.Untrusted != tc.untrusted || c.Regressions() != tc.regressions {
				t.Errorf("untrusted %q, %d regressions; want %q, %d", c.Untrusted, c.Regressions(), tc.untrusted, tc.regressions)
			}
			want := tc.summary
			if want == "" && tc.untrusted != "" {
				want = "NO TRUSTWORTHY COMPARISON: " + tc.untrusted
			}
			if s := c.Summary(); want != "" && s != want {
				t.Errorf("summary %q, want %q", s, want)
			}
			if strings.HasPrefix(c.Summary(), "OK") && (c.Untrusted != "" || c.Regressions() > 0) {
				t.Errorf("summary %q", c.Summary())
			}
			var b bytes.Buffer
			CompareMarkdown(&b, c)
			if c.Untrusted != "" && !strings.HasPrefix(b.String(), "## ⚠️ tailgate compare") {
				t.Errorf("markdown starts %q", b.String()[:40])
			}
		})
	}
}

// TestCompareSignificance: a percentile over the allowance regresses only
// when new's interval lies wholly above base's, beyond HDR precision.
func TestCompareSignificance(t *testing.T) {
	one := func(p99, lo, hi *float64) *budget.Result {
		r := twoLines(f(100), p99, 0, 10000)
		r.Lines[0].Percentiles[1].CILowMs, r.Lines[0].Percentiles[1].CIHighMs = lo, hi
		return r
	}
	base := one(f(200), f(190), f(210))
	for _, tc := range []struct {
		name       string
		base, next *budget.Result
		want       Status
	}{
		{"new's interval above base's", base, one(f(250), f(240), f(262)), Regressed},
		{"intervals overlap", base, one(f(250), f(205), f(300)), NotSignificant},
		// 210.1ms is in 210ms's neighbourhood at 3 significant digits (its
		// bucket starts at 210.048ms): the intervals touch.
		{"intervals touch within precision", base, one(f(250), f(210.1), f(262)), NotSignificant},
		{"intervals apart beyond precision", base, one(f(250), f(211), f(262)), Regressed},
		{"new without a lower end", base, one(f(250), nil, f(262)), TooFewSamples},
		{"base without an upper end", one(f(200), f(190), nil), one(f(250), f(240), f(262)), TooFewSamples},
		{"neither has an interval", one(f(200), nil, nil), one(f(250), nil, nil), TooFewSamples},
		// Only the sides that would show the difference matter.
		{"the other sides missing", one(f(200), nil, f(210)), one(f(250), f(240), nil), Regressed},
		// Significant but within the allowance: slower, not failed.
		{"significant within the allowance", base, one(f(215), f(212), f(218)), Slower},
		{"within the allowance, not significant", base, one(f(215), f(195), f(230)), NotSignificant},
		{"faster", base, one(f(150), f(140), f(160)), Faster},
		{"faster, not significant", base, one(f(180), f(170), f(195)), NotSignificant},
		{"faster, base without a lower end", one(f(200), nil, f(210)), one(f(150), f(140), f(160)), TooFewSamples},
		// What base measured and new did not regresses, interval or not.
		{"no data in new", base, one(nil, nil, nil), Regressed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Compare(tc.base, tc.next, 0.1, DefaultConfidence)
			ch := c.Changes[1]
			if ch.name() != "total p99" || ch.Status != tc.want {
				t.Fatalf("%s: %s, want %s", ch.name(), ch.Status, tc.want)
			}
			if got, want := c.Regressions(), map[bool]int{true: 1}[tc.want == Regressed]; got != want {
				t.Errorf("Regressions() = %d, want %d", got, want)
			}
		})
	}
}

// TestCompareNotSignificantSummary: a change over the allowance that cannot
// be shown significant passes, and the summary names it and why.
func TestCompareNotSignificantSummary(t *testing.T) {
	base := twoLines(f(100), f(200), 0, 10000)
	next := twoLines(f(120), f(250), 0, 10000)
	base.Lines[0].Percentiles[0].CIHighMs = f(115)
	next.Lines[0].Percentiles[0].CILowMs = f(110) // overlaps base's
	base.Lines[0].Percentiles[1].CIHighMs = nil
	c := Compare(base, next, 0.1, 0.9)
	want := "OK: no regression beyond 10% in 3 compared; over the allowance but not significant at 90%: total p95 +20.0%, total p99 +25.0% (too few samples)"
	if s := c.Summary(); s != want {
		t.Errorf("summary\n%s\nwant\n%s", s, want)
	}
	next.Lines[1].ObservedRatio = f(0.5)
	want = "REGRESSED: 1 of 3 compared over the 10% allowance: errors +∞; over the allowance but not significant at 90%: total p95 +20.0%, total p99 +25.0% (too few samples)"
	if s := Compare(base, next, 0.1, 0.9).Summary(); s != want {
		t.Errorf("summary\n%s\nwant\n%s", s, want)
	}
}

func TestLevel(t *testing.T) {
	for c, want := range map[float64]string{0.95: "95%", 0.9999: "99.99%", 0.5: "50%", 0.999999: "99.9999%", 0.875: "87.5%"} {
		if got := level(c); got != want {
			t.Errorf("level(%v) = %q, want %q", c, got, want)
		}
	}
}

// A report with no interval at all (written before reports carried them)
// is said to be so: no change of a percentile can be shown significant.
func TestCompareWithoutIntervals(t *testing.T) {
	base := twoLines(f(100), f(200), 0, 10000)
	old := twoLines(f(150), f(300), 0, 10000)
	for i := range old.Lines[0].Percentiles {
		old.Lines[0].Percentiles[i].CILowMs, old.Lines[0].Percentiles[i].CIHighMs = nil, nil
	}
	c := Compare(base, old, 0.1, DefaultConfidence)
	if c.Regressions() != 0 || c.Changes[0].Status != TooFewSamples || c.Changes[1].Status != TooFewSamples {
		t.Errorf("%d regressions, %s, %s", c.Regressions(), c.Changes[0].Status, c.Changes[1].Status)
	}
	want := "the new report carries no confidence interval on any percentile it measured (written before reports carried them, or from very few samples): no change of a percentile can be shown significant"
	if strings.Join(c.Notes, "|") != want {
		t.Errorf("notes %q", c.Notes)
	}
}

// compareSample sets every interval itself, so that the golden files show
// each status whatever sample() carries.
func compareSample() *Comparison {
	base := judged()
	next := judged()
	next.Lines = append([]budget.Line(nil), next.Lines...)
	next.Lines[0] = budget.Line{Name: "rtt", Source: "connect", Verdict: budget.OK, Count: 149, Percentiles: []budget.Percentile{
		{P: 95, ObservedMs: f(41.2), BudgetMs: 70, Verdict: budget.OK},
		{P: 99, ObservedMs: f(52.1), BudgetMs: 90, Verdict: budget.OK}}}
	next.Lines[2] = budget.Line{Name: "ttft", Source: "ttft", Verdict: budget.Over, Count: 4793, Percentiles: []budget.Percentile{
		{P: 95, ObservedMs: f(812), BudgetMs: 700, Verdict: budget.Over},
		{P: 99, ObservedMs: f(1520), BudgetMs: 1100, Verdict: budget.Over}}}
	next.Lines[4] = budget.Line{Name: "total", Source: "total", Verdict: budget.Over, Count: 4793, Percentiles: []budget.Percentile{
		{P: 95, ObservedMs: f(1250), BudgetMs: 1600, Verdict: budget.OK},
		{P: 99, ObservedMs: f(2750), BudgetMs: 2400, Verdict: budget.Over}}}
	next.Lines[5] = budget.Line{Name: "errors", Source: "errors", Count: 4812, ObservedRatio: f(0.0052), BudgetRatio: f(0.01)}
	// rtt has 149 samples: too few to bound its p99 from above.
	intervals := map[string][2][2]*float64{
		"rtt":      {{f(39.8), f(43.1)}, {f(42.6), nil}},
		"database": {{f(37.2), f(38.9)}, {f(122), f(140)}},
		"ttft":     {{f(790), f(836)}, {f(1210), f(1450)}},
		"total":    {{f(1380), f(1450)}, {f(2050), f(2410)}},
	}
	newIntervals := map[string][2][2]*float64{
		"rtt":   {{f(39.8), f(43.1)}, {f(47.9), nil}},   // base's p99 has no upper end: too few samples
		"ttft":  {{f(790), f(836)}, {f(1400), f(1660)}}, // overlaps base: not significant
		"total": {{f(1220), f(1290)}, {f(2580), f(2930)}},
	}
	set := func(r *budget.Result, ivs map[string][2][2]*float64) {
		for i, l := range r.Lines {
			iv, ok := ivs[l.Name]
			if !ok {
				continue
			}
			l.Percentiles = append([]budget.Percentile(nil), l.Percentiles...)
			for j := range l.Percentiles {
				l.Percentiles[j].CILowMs, l.Percentiles[j].CIHighMs = iv[j][0], iv[j][1]
			}
			r.Lines[i] = l
		}
	}
	set(base, intervals)
	set(next, intervals)
	set(next, newIntervals)
	return Compare(base, next, 0.1, DefaultConfidence)
}

func TestCompareGolden(t *testing.T) {
	var b bytes.Buffer
	if err := CompareText(&b, compareSample()); err != nil {
		t.Fatal(err)
	}
	golden(t, "compare.txt", b.Bytes())
	b.Reset()
	if err := CompareMarkdown(&b, compareSample()); err != nil {
		t.Fatal(err)
	}
	golden(t, "compare.md", b.Bytes())
}

func TestRead(t *testing.T) {
	var b bytes.Buffer
	JSON(&b, judged())
	r, err := Read(&b)
	if err != nil || r.Scenario != "llm-chat" || len(r.Lines) != 6 || *r.Lines[1].Percentiles[1].ObservedMs != 131.2 {
		t.Fatalf("round trip: %v %+v", err, r)
	}
	for doc, want := range map[string]error{
		`{"schema": "tailgate.report/v2", "lines": []}`: ErrSchema,
		`{"lines": []}`: ErrSchema,
	} {
		if _, err := Read(strings.NewReader(doc)); !errors.Is(err, want) {
			t.Errorf("Read(%s) = %v, want %v", doc, err, want)
		}
	}
	if _, err := Read(strings.NewReader(`{"schema": `)); err == nil {
		t.Error("truncated JSON read without error")
	}
	// Fields a later v1 build adds are ignored.
	if _, err := Read(strings.NewReader(`{"schema": "tailgate.report/v1", "plan": {"segments": []}}`)); err != nil {
		t.Errorf("an added field: %v", err)
	}
}
