// Package budget judges measurements against a scenario's budget and holds
// the one result model that every report renders.
package budget

import "time"

// Schema versions the JSON form of Result. Fields may be added; none are
// renamed or removed within a version.
const Schema = "tailgate.report/v1"

// Result is the verdict of one run or simulation: the single model that
// text, JSON, Markdown and JUnit reports render.
type Result struct {
	Schema      string      `json:"schema"`
	Scenario    string      `json:"scenario"`
	Description string      `json:"description,omitempty"`
	Mode        string      `json:"mode"`                 // run | simulate
	Engine      string      `json:"engine,omitempty"`     // vegeta | native: who sent the requests (absent for simulate)
	StartedAt   *time.Time  `json:"started_at,omitempty"` // when the run began (absent for simulate)
	Plan        Plan        `json:"plan"`
	Verdict     Verdict     `json:"verdict"` // pass | fail | invalid
	Partial     bool        `json:"partial"`
	Reasons     []string    `json:"reasons,omitempty"` // why the verdict is invalid
	Requests    Requests    `json:"requests"`
	Lines       []Line      `json:"lines"`
	Errors      []Count     `json:"errors_by_class"`
	Saturation  Saturation  `json:"saturation"`
	Connections Connections `json:"connections"`
	Tail        Tail        `json:"tail"`
	Warnings    []string    `json:"warnings,omitempty"`
	// Confidence is budget.confidence when the budget judges by intervals
	// (0.95 for 95%); absent otherwise.
	Confidence float64 `json:"confidence,omitempty"`
}

// Verdict of a whole result.
type Verdict string

// Verdicts and the exit codes they map to.
const (
	Pass    Verdict = "pass"    // exit 0
	Fail    Verdict = "fail"    // exit 1
	Invalid Verdict = "invalid" // exit 3: no trustworthy verdict
)

// Requests counts what was planned and what happened.
type Requests struct {
	Planned        int64   `json:"planned"`
	Sent           int64   `json:"sent"`
	OK             int64   `json:"ok"`
	Errors         int64   `json:"errors"`
	PlannedRate    float64 `json:"planned_rate"`  // per second, over the plan
	AchievedRate   float64 `json:"achieved_rate"` // per second
	NewConnections int64   `json:"new_connections"`
	// Responses counts requests that got an HTTP response, any status.
	Responses int64 `json:"responses"`
	// Redirects counts 3xx responses (not followed); FirstLocation is the
	// first one's Location.
	Redirects     int64   `json:"redirects,omitempty"`
	FirstLocation string  `json:"first_location,omitempty"`
	DurationS     float64 `json:"duration_s"` // planned duration, seconds
	ElapsedS      float64 `json:"elapsed_s"`  // wall time of the run, seconds
}

// Line is the verdict of one budget line.
type Line struct {
	Name string `json:"name"`
	// Default marks the errors line judged because the budget gave none.
	Default     bool         `json:"default,omitempty"`
	Source      string       `json:"source"`
	Verdict     LineVerdict  `json:"verdict"`
	Count       int64        `json:"count"`
	Percentiles []Percentile `json:"percentiles,omitempty"`
	// The errors line judges a share, not a latency.
	ObservedRatio *float64 `json:"observed_ratio,omitempty"`
	BudgetRatio   *float64 `json:"budget_ratio,omitempty"`
}

// LineVerdict is the verdict of a line or of one of its percentiles.
type LineVerdict string

// Line verdicts. A line with no samples fails: a gate never passes on what
// it did not measure.
const (
	OK     LineVerdict = "ok"
	Over   LineVerdict = "over"
	NoData LineVerdict = "no data"
	// Inconclusive is a percentile whose confidence interval straddles its
	// limit, judged with budget.confidence: the sample cannot tell (exit 3).
	Inconclusive LineVerdict = "inconclusive"
)

// Percentile is one percentile of a line, observed against its limit.
type Percentile struct {
	P          float64  `json:"p"`
	ObservedMs *float64 `json:"observed_ms"` // null when there is no data
	// CILowMs and CIHighMs are the distribution-free 95% confidence
	// interval of the observed percentile (order statistics of the line's
	// samples); null where the sample cannot bound that side.
	CILowMs  *float64 `json:"ci_low_ms"`
	CIHighMs *float64 `json:"ci_high_ms"`
	// Rank is the nearest rank of the observed value among the line's
	// samples (1-based): Count − Rank + 1 is its place from the slowest.
	Rank     int64       `json:"rank,omitempty"`
	BudgetMs float64     `json:"budget_ms"`
	MarginMs *float64    `json:"margin_ms,omitempty"` // budget − observed; negative when over
	Verdict  LineVerdict `json:"verdict"`
}

// Label is the line's name as a reader sees it: the default errors line
// is "errors (default)".
func (l Line) Label() string {
	if l.Default {
		return l.Name + " (default)"
	}
	return l.Name
}

// Count is one error class, how many requests failed with it, and the
// first failure's message ("404 Not Found on GET /serch").
type Count struct {
	Class string `json:"class"`
	Count int64  `json:"count"`
	First string `json:"first,omitempty"`
}

// Saturation says whether the load generator kept to the schedule. When it
// fell behind, the measurements describe the generator, not the target.
type Saturation struct {
	Saturated     bool    `json:"saturated"`
	LagP50Ms      float64 `json:"lag_p50_ms"` // the generator's precision: how late a typical request went out
	LagP99Ms      float64 `json:"lag_p99_ms"`
	AchievedRatio float64 `json:"achieved_ratio"` // achieved / planned rate
}

// Thresholds beyond which a run's load generator is saturated.
const (
	MaxLagP99       = 10 * time.Millisecond
	MinAchievedRate = 0.95
)

// Failed counts the lines that are over budget or have no data.
func (r *Result) Failed() int {
	n := 0
	for _, l := range r.Lines {
		if l.Verdict == Over || l.Verdict == NoData {
			n++
		}
	}
	return n
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func ptr[T any](v T) *T { return &v }

// Connections is handshake amplification: a request on a new connection
// pays connect and TLS round trips that a warm one does not.
type Connections struct {
	New       int64    `json:"new"`
	NewShare  float64  `json:"new_share"`
	ColdP99Ms *float64 `json:"cold_p99_ms"` // total p99 of requests that opened a connection
	WarmP99Ms *float64 `json:"warm_p99_ms"` // total p99 of requests on a reused connection
	// ColdCount and WarmCount are the groups' sizes: the samples behind
	// each p99.
	ColdCount int64 `json:"cold_count"`
	WarmCount int64 `json:"warm_count"`
}

// MinCompare is the smallest group whose p99 is not simply its slowest
// request: below it, cold and warm p99s compare maxima, not tails.
const MinCompare = 100

// Tail says where the slowest requests spent their time.
type Tail struct {
	Requests int     `json:"requests"` // how many of the slowest requests were attributed
	Phases   []Phase `json:"phases"`   // largest first
}

// Phase is one phase's share of the tail's time.
type Phase struct {
	Name   string  `json:"name"`   // the budget line measuring it, or a plain name ("network", "schedule lag")
	Source string  `json:"source"` // what was measured: connect, tls, server-timing:db, ttft, streaming, lag
	Share  float64 `json:"share"`  // 0–1
}

// Plan is the traffic the scenario asked for.
type Plan struct {
	Seed uint64 `json:"seed"`
	// Identity names the scenario's whole plan and requests
	// (scenario.Scenario.Identity), its budget aside: two reports with
	// different identities are of different experiments.
	Identity  string        `json:"identity,omitempty"`
	Requests  int64         `json:"requests"`
	DurationS float64       `json:"duration_s"`
	MeanRate  float64       `json:"mean_rate"` // per second
	PeakRate  float64       `json:"peak_rate"` // per second; a Poisson or gamma segment's mean
	Segments  []PlanSegment `json:"segments"`
}

// PlanSegment is one traffic segment as planned.
type PlanSegment struct {
	Kind      string  `json:"kind"`
	StartS    float64 `json:"start_s"`
	DurationS float64 `json:"duration_s"`
	Requests  int64   `json:"requests"`
	PeakRate  float64 `json:"peak_rate"`
}
