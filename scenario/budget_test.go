package scenario

import (
	"strings"
	"testing"
)

const budgetHead = `target: {url: embedded}
traffic:
  - constant: {rate: 10/s, duration: 1s}
budget:
  total: {p95: 100ms, p99: 200ms}
`

// TestErrorsLine: without an errors line the default is judged; errors: off
// opts out; a share is a share.
func TestErrorsLine(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		limit      Ratio
		isDefault  bool
		judged     bool
	}{
		{"absent", "", DefaultErrors, true, true},
		{"given", "  errors: 2%\n", 0.02, false, true},
		{"zero", "  errors: 0\n", 0, false, true},
		{"off", "  errors: off\n", 0, false, false},
		{"off quoted", "  errors: \"off\"\n", 0, false, false},
		{"false", "  errors: false\n", 0, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc, err := Parse("s.yaml", []byte(budgetHead+tc.line))
			if err != nil {
				t.Fatal(err)
			}
			limit, isDefault, judged := sc.Budget.ErrorLimit()
			if limit != tc.limit || isDefault != tc.isDefault || judged != tc.judged {
				t.Errorf("ErrorLimit() = %v, %v, %v; want %v, %v, %v", limit, isDefault, judged, tc.limit, tc.isDefault, tc.judged)
			}
		})
	}
}

// TestBudgetErrors: limits that fall as p rises, and a share written as a
// bare percentage, are errors at their position.
func TestBudgetErrors(t *testing.T) {
	for _, tc := range []struct{ name, budget, want string }{
		{"p99 below p95", "  ttft: {p95: 300ms, p99: 200ms}\n",
			"s.yaml:6:27: budget.ttft.p99: p99 limit 200ms is below p95's 300ms: limits must rise with the percentile"},
		{"p99 below p50, out of order", "  ttft: {p99: 20ms, p50: 30ms}\n",
			"s.yaml:6:15: budget.ttft.p99: p99 limit 20ms is below p50's 30ms"},
		{"p99.9 below p99", "  ttft:\n    p99: 1s\n    p99.9: 900ms\n",
			`s.yaml:8:12: budget.ttft."p99.9": p99.9 limit 900ms is below p99's 1s`},
		{"bare percentage", "  errors: 5\n", `s.yaml:6:11: budget.errors: "5" must be between 0 and 1 as a fraction: did you mean 5%?`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("s.yaml", []byte(budgetHead+tc.budget))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want …%s…", err, tc.want)
			}
		})
	}
	// Equal limits are allowed: a flat tail is a tail.
	if _, err := Parse("s.yaml", []byte(budgetHead+"  ttft: {p95: 300ms, p99: 300ms}\n")); err != nil {
		t.Errorf("equal limits: %v", err)
	}
}

// TestConfidence: budget.confidence is a level between 50% and 100%.
func TestConfidence(t *testing.T) {
	sc, err := Parse("s.yaml", []byte(budgetHead+"  confidence: 95%\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c := sc.Budget.Confidence; c == nil || *c != 0.95 {
		t.Errorf("confidence %v, want 95%%", c)
	}
	if len(sc.Budget.Lines) != 1 {
		t.Errorf("confidence was taken for a line: %+v", sc.Budget.Lines)
	}
	for _, bad := range []string{"100%", "30%", "1", "high"} {
		if _, err := Parse("s.yaml", []byte(budgetHead+"  confidence: "+bad+"\n")); err == nil || !strings.Contains(err.Error(), "budget.confidence") {
			t.Errorf("confidence %s: error %v", bad, err)
		}
	}
}
