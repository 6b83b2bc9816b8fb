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
func twoLines(p95, p99 *float64, errRatio float64, sent int64) *budget.Result {
	return &budget.Result{
		Schema: budget.Schema, Scenario: "api", Mode: "run", Verdict: budget.Pass,
		Requests: budget.Requests{Sent: sent},
		Lines: []budget.Line{
			{Name: "total", Source: "total", Percentiles: []budget.Percentile{{P: 95, ObservedMs: p95, BudgetMs: 500}, {P: 99, ObservedMs: p99, BudgetMs: 1000}}},
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
			c := Compare(tc.base, tc.next, tc.allow)
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

	c := Compare(base, next, 0.1)
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
		c := Compare(tc.base, tc.next, 0.1)
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
			c := Compare(tc.base, tc.next, 0.1)
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

func compareSample() *Comparison {
	base := judged()
	next := judged()
	next.Lines = append([]budget.Line(nil), next.Lines...)
	next.Lines[4] = budget.Line{Name: "total", Source: "total", Verdict: budget.Over, Count: 4793, Percentiles: []budget.Percentile{
		{P: 95, ObservedMs: f(1250), BudgetMs: 1600, Verdict: budget.OK},
		{P: 99, ObservedMs: f(2750), BudgetMs: 2400, Verdict: budget.Over}}}
	next.Lines[5] = budget.Line{Name: "errors", Source: "errors", Count: 4812, ObservedRatio: f(0.0052), BudgetRatio: f(0.01)}
	return Compare(base, next, 0.1)
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
