package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/tailgate-dev/tailgate/budget"
)

var update = flag.Bool("update", false, "rewrite golden files")

func f(v float64) *float64 { return &v }

// sample is a result with every kind of line: ok, over at one and at two
// percentiles, no data, and an errors line.
func sample() *budget.Result {
	return &budget.Result{
		Schema: budget.Schema, Scenario: "llm-chat", Mode: "run", Engine: "vegeta", Verdict: budget.Fail,
		Saturation: budget.Saturation{LagP50Ms: 0.041, LagP99Ms: 0.187, AchievedRatio: 1},
		Requests: budget.Requests{Planned: 4800, Sent: 4812, OK: 4793, Errors: 19, PlannedRate: 80, AchievedRate: 80.2,
			NewConnections: 149, Responses: 4808, Redirects: 3, FirstLocation: "/login?next=%2Fv1%2Fchat", DurationS: 60, ElapsedS: 60.4},
		Lines: []budget.Line{
			{Name: "rtt", Source: "connect", Verdict: budget.OK, Count: 149, Percentiles: []budget.Percentile{
				{P: 95, ObservedMs: f(41.2), CILowMs: f(40.1), CIHighMs: f(43.0), Rank: 142, BudgetMs: 70, MarginMs: f(28.8), Verdict: budget.OK},
				{P: 99, ObservedMs: f(44.03), CILowMs: f(42.9), Rank: 148, BudgetMs: 90, MarginMs: f(45.97), Verdict: budget.OK}}},
			{Name: "database", Source: "server-timing:db", Verdict: budget.Over, Count: 4793, Percentiles: []budget.Percentile{
				{P: 95, ObservedMs: f(38), CILowMs: f(36.9), CIHighMs: f(39.4), Rank: 4554, BudgetMs: 40, MarginMs: f(2), Verdict: budget.OK},
				{P: 99, ObservedMs: f(131.2), CILowMs: f(120), CIHighMs: f(140), Rank: 4746, BudgetMs: 80, MarginMs: f(-51.2), Verdict: budget.Over}}},
			{Name: "ttft", Source: "ttft", Verdict: budget.Over, Count: 4793, Percentiles: []budget.Percentile{
				{P: 95, ObservedMs: f(812), CILowMs: f(798), CIHighMs: f(829), Rank: 4554, BudgetMs: 700, MarginMs: f(-112), Verdict: budget.Over},
				{P: 99, ObservedMs: f(1320), CILowMs: f(1250), CIHighMs: f(1410), Rank: 4746, BudgetMs: 1100, MarginMs: f(-220), Verdict: budget.Over}}},
			{Name: "cache", Source: "server-timing:cache", Verdict: budget.NoData, Percentiles: []budget.Percentile{
				{P: 99.9, BudgetMs: 5, Verdict: budget.NoData}}},
			{Name: "total", Source: "total", Verdict: budget.OK, Count: 4793, Percentiles: []budget.Percentile{
				{P: 95, ObservedMs: f(1410), CILowMs: f(1380), CIHighMs: f(1440), Rank: 4554, BudgetMs: 1600, MarginMs: f(190), Verdict: budget.OK},
				{P: 99, ObservedMs: f(2200), CILowMs: f(2100), CIHighMs: f(2310), Rank: 4746, BudgetMs: 2400, MarginMs: f(200), Verdict: budget.OK}}},
			{Name: "errors", Source: "errors", Verdict: budget.OK, Count: 4812, ObservedRatio: f(19.0 / 4812), BudgetRatio: f(0.01)},
		},
		Errors: []budget.Count{{Class: "http 5xx", Count: 15, First: "503 Service Unavailable on POST /v1/chat"},
			{Class: "timeout", Count: 4, First: "no complete response within target.timeout (30s) on POST /v1/chat"}},
		Connections: budget.Connections{New: 149, NewShare: 149.0 / 4812, ColdP99Ms: f(2612), WarmP99Ms: f(2150), ColdCount: 149, WarmCount: 4644},
		Tail: budget.Tail{Requests: 48, Phases: []budget.Phase{
			{Name: "ttft", Source: "ttft", Share: 0.68}, {Name: "database", Source: "server-timing:db", Share: 0.21},
			{Name: "queue", Source: "server-timing:queue", Share: 0.06}, {Name: "rtt", Source: "connect", Share: 0.04},
			{Name: "schedule lag", Source: "lag", Share: 0.01}}},
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./report -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from golden file:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestTextGolden(t *testing.T) {
	var b bytes.Buffer
	if err := Text(&b, sample()); err != nil {
		t.Fatal(err)
	}
	golden(t, "fail.txt", b.Bytes())

	// A simulation that passes, judged by the default errors line, with
	// too few new connections to compare.
	pass := sample()
	pass.Mode, pass.Engine, pass.Verdict, pass.Lines = "simulate", "", budget.Pass, pass.Lines[4:]
	pass.Lines[1].Default = true
	pass.Errors = nil
	pass.Requests.Redirects = 0
	pass.Connections.ColdCount = 40
	b.Reset()
	Text(&b, pass)
	golden(t, "pass.txt", b.Bytes())

	invalid := sample()
	invalid.Verdict, invalid.Reasons = budget.Invalid, []string{"interrupted after 812 of 4800 planned requests"}
	b.Reset()
	Text(&b, invalid)
	golden(t, "invalid.txt", b.Bytes())
}

// TestJSONCore checks the fields DESIGN.md promises scripts, by name.
func TestJSONCore(t *testing.T) {
	var b bytes.Buffer
	if err := JSON(&b, sample()); err != nil {
		t.Fatal(err)
	}
	golden(t, "fail.json", b.Bytes())
	var doc struct {
		Schema   string `json:"schema"`
		Scenario string `json:"scenario"`
		Mode     string `json:"mode"`
		Verdict  string `json:"verdict"`
		Partial  *bool  `json:"partial"`
		Requests struct {
			Planned, Sent, OK, Errors, NewConnections *int64
			AchievedRate                              *float64 `json:"achieved_rate"`
		} `json:"requests"`
		Lines []struct {
			Name, Source, Verdict string
			Count                 int64
			Percentiles           []struct {
				P          float64  `json:"p"`
				ObservedMs *float64 `json:"observed_ms"`
				BudgetMs   float64  `json:"budget_ms"`
				Verdict    string   `json:"verdict"`
			} `json:"percentiles"`
			ObservedRatio *float64 `json:"observed_ratio"`
			BudgetRatio   *float64 `json:"budget_ratio"`
		} `json:"lines"`
	}
	dec := json.NewDecoder(&b)
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if doc.Schema != "tailgate.report/v1" || doc.Mode != "run" || doc.Verdict != "fail" || doc.Partial == nil {
		t.Errorf("header %+v", doc)
	}
	if doc.Requests.Planned == nil || *doc.Requests.Sent != 4812 || *doc.Requests.AchievedRate != 80.2 {
		t.Errorf("requests %+v", doc.Requests)
	}
	db := doc.Lines[1]
	if db.Name != "database" || db.Percentiles[1].P != 99 || *db.Percentiles[1].ObservedMs != 131.2 || db.Percentiles[1].BudgetMs != 80 || db.Percentiles[1].Verdict != "over" {
		t.Errorf("database line %+v", db)
	}
	if doc.Lines[3].Percentiles[0].ObservedMs != nil || doc.Lines[3].Verdict != "no data" {
		t.Errorf("no-data line must have observed_ms null: %+v", doc.Lines[3])
	}
	if e := doc.Lines[5]; e.Name != "errors" || *e.BudgetRatio != 0.01 || e.ObservedRatio == nil {
		t.Errorf("errors line %+v", e)
	}
}

func TestLimit(t *testing.T) {
	for v, want := range map[float64]string{70: "70ms", 1100: "1.1s", 0.5: "500µs", 2400: "2.4s", 12.5: "12.5ms"} {
		if got := Limit(v); got != want {
			t.Errorf("Limit(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestMillis(t *testing.T) {
	for v, want := range map[float64]string{
		0: "0.00ms", 0.85: "850µs", 0.0123: "12.3µs", 1: "1.00ms", 41.2: "41.2ms", 44.03: "44.0ms", 131.2: "131ms",
		1320: "1.32s", 2400: "2.40s", 60000: "60.0s", -51.2: "-51.2ms", 999.7: "1.00s",
	} {
		if got := Millis(v); got != want {
			t.Errorf("Millis(%v) = %q, want %q", v, got, want)
		}
	}
}
