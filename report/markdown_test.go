package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/tailgate-dev/tailgate/budget"
)

func TestMarkdownGolden(t *testing.T) {
	for name, r := range map[string]*budget.Result{"fail.md": judged(), "invalid.md": invalidSample()} {
		var b bytes.Buffer
		if err := Markdown(&b, r); err != nil {
			t.Fatal(err)
		}
		golden(t, name, b.Bytes())
	}
}

// TestMarkdownTable checks the table's shape: a header, an alignment row
// and one row per line, every row with as many cells, numbers as in text.
func TestMarkdownTable(t *testing.T) {
	var b bytes.Buffer
	r := judged()
	Markdown(&b, r)
	var rows []string
	for _, l := range strings.Split(b.String(), "\n") {
		if strings.HasPrefix(l, "| ") && !strings.HasPrefix(l, "| class") && len(rows) < 2+len(r.Lines) {
			rows = append(rows, l)
		}
	}
	if len(rows) != 2+len(r.Lines) {
		t.Fatalf("table has %d rows, want %d:\n%s", len(rows), 2+len(r.Lines), b.String())
	}
	cols := strings.Count(rows[0], " | ")
	for _, row := range rows {
		if strings.Count(row, " | ") != cols {
			t.Errorf("row %q has a different number of cells", row)
		}
	}
	if !strings.Contains(rows[3], "**131ms (120–140ms) / 80ms**") || !strings.Contains(rows[3], "**OVER p99 +51.2ms**") {
		t.Errorf("database row does not mark the p99 over budget: %q", rows[3])
	}
	if !strings.Contains(rows[2], "| 149 | 41.2ms (40.1–43.0ms) / 70ms | 44.0ms (2nd slowest of 149) / 90ms |  | ok |") {
		t.Errorf("rtt row %q", rows[2])
	}
}

func TestMarkdownEscapesUserText(t *testing.T) {
	r := sample()
	r.Scenario = "a|b <script>"
	r.Errors = []budget.Count{{Class: "weird|class", Count: 1}}
	var b bytes.Buffer
	Markdown(&b, r)
	if strings.Contains(b.String(), "a|b") || strings.Contains(b.String(), "<script>") || strings.Contains(b.String(), "weird|class") {
		t.Errorf("user text not escaped:\n%s", b.String())
	}
}

// judged is the shared sample as Judge leaves it, with the generator's
// numbers that the text table does not show.
func judged() *budget.Result {
	r := sample()
	r.Saturation = budget.Saturation{LagP99Ms: 0.42, AchievedRatio: 80.2 / 80}
	return r
}

func invalidSample() *budget.Result {
	r := judged()
	r.Verdict, r.Partial = budget.Invalid, true
	r.Reasons = []string{"interrupted after 812 of 4800 planned requests"}
	r.Saturation = budget.Saturation{LagP99Ms: 0.42, AchievedRatio: 0.17}
	r.Warnings = []string{"3 samples exceeded the histogram's range of 1h and were recorded as 1h"}
	return r
}
