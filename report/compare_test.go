package report

import (
	"bytes"
	"errors"
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
		{"no data on one side", twoLines(f(100), nil, 0, 10000), twoLines(nil, f(200), 0, 10000), 0.1, Missing, Missing, Unchanged},
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

// TestCompareMissingLines: lines and percentiles in one report only are
// listed and never fail.
func TestCompareMissingLines(t *testing.T) {
	base := twoLines(f(100), f(200), 0, 1000)
	base.Lines = append(base.Lines, budget.Line{Name: "tls", Source: "tls", Percentiles: []budget.Percentile{{P: 99, ObservedMs: f(30)}}})
	next := twoLines(f(100), f(900), 0, 1000)
	next.Lines[0].Percentiles = next.Lines[0].Percentiles[:1] // total p99 gone
	next.Lines[0].Percentiles = append(next.Lines[0].Percentiles, budget.Percentile{P: 99.9, ObservedMs: f(5000)})
	next.Lines = append(next.Lines, budget.Line{Name: "ttft", Source: "ttft", Percentiles: []budget.Percentile{{P: 99, ObservedMs: f(900)}}})
	next.Scenario = "api-v2"

	c := Compare(base, next, 0.1)
	if c.Regressions() != 0 {
		t.Errorf("%d regressions; lines in one report only must not fail", c.Regressions())
	}
	if strings.Join(c.OnlyBase, ",") != "total p99,tls" || strings.Join(c.OnlyNew, ",") != "total p99.9,ttft" {
		t.Errorf("only base %q, only new %q", c.OnlyBase, c.OnlyNew)
	}
	var b bytes.Buffer
	CompareText(&b, c)
	for _, want := range []string{"only in base (not compared): total p99, tls", "only in new (not compared): total p99.9, ttft", `note: comparing different scenarios: "api" and "api-v2"`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, b.String())
		}
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
