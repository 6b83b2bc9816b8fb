package budget

import (
	"strings"
	"testing"
	"time"

	"github.com/tailgate-dev/tailgate/histogram"
	"github.com/tailgate-dev/tailgate/scenario"
)

func scenarioWith(t *testing.T, budget string) *scenario.Scenario {
	t.Helper()
	y := "name: judged\ntarget: {url: embedded}\ntraffic: [{constant: {rate: 10/s, duration: 10s}}]\nbudget:\n" + budget
	sc, err := scenario.Parse("judged.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// recorder fills "total" with 1..n milliseconds (so pNN ≈ NN% of n ms) and
// the given counts.
func recorder(n int, errs int64) *histogram.Recorder {
	rec := histogram.NewRecorder(100)
	for i := 1; i <= n; i++ {
		rec.Record(scenario.SourceTotal, time.Duration(i)*time.Millisecond)
		rec.Record("lag", 100*time.Microsecond)
	}
	rec.Counts.Sent = int64(n) + errs
	rec.Counts.OK = int64(n)
	rec.Counts.Responses = int64(n) + errs // 5xx responses
	for range errs {
		rec.Error("http 5xx")
	}
	return rec
}

func measurement(rec *histogram.Recorder) Measurement {
	return Measurement{Mode: "run", Rec: rec, Planned: rec.Counts.Sent, PlannedDuration: 10 * time.Second,
		SendSpan: 9900 * time.Millisecond, Elapsed: 10 * time.Second, LagSource: "lag"}
}

func TestJudgeLines(t *testing.T) {
	cases := []struct {
		name    string
		budget  string
		errs    int64
		verdict Verdict
		lines   []LineVerdict
	}{
		{"within", "  total: {p95: 960ms, p99: 1s}\n  errors: 1%\n", 0, Pass, []LineVerdict{OK, OK}},
		// 1000 samples of 1..1000ms: p99 is 990ms; a 989ms limit is over.
		// Without an errors line, the default one (1%) is judged last.
		{"p99 over", "  total: {p95: 960ms, p99: 989ms}\n", 0, Fail, []LineVerdict{Over, OK}},
		{"p99 exactly at budget passes", "  total: {p99: 990ms}\n", 0, Pass, []LineVerdict{OK, OK}},
		{"no data fails", "  total: {p99: 1s}\n  ttft: {p99: 1s}\n", 0, Fail, []LineVerdict{OK, NoData, OK}},
		{"default errors line fails", "  total: {p99: 1s}\n", 20, Fail, []LineVerdict{OK, Over}},
		{"errors off", "  total: {p99: 1s}\n  errors: off\n", 20, Pass, []LineVerdict{OK}},
		{"errors over", "  total: {p99: 1s}\n  errors: 1%\n", 20, Fail, []LineVerdict{OK, Over}},
		{"errors at budget pass", "  errors: 2%\n", 20, Pass, []LineVerdict{OK}}, // 20/1020 < 2%
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := Judge(scenarioWith(t, tc.budget), measurement(recorder(1000, tc.errs)))
			if r.Verdict != tc.verdict {
				t.Errorf("verdict %s, want %s (reasons %v)", r.Verdict, tc.verdict, r.Reasons)
			}
			if len(r.Lines) != len(tc.lines) {
				t.Fatalf("%d lines, want %d", len(r.Lines), len(tc.lines))
			}
			for i, l := range r.Lines {
				if l.Verdict != tc.lines[i] {
					t.Errorf("line %s: %s, want %s", l.Name, l.Verdict, tc.lines[i])
				}
			}
		})
	}
}

func TestJudgeNumbers(t *testing.T) {
	r := Judge(scenarioWith(t, "  total: {p50: 400ms, p99: 1s}\n  errors: 5%\n"), measurement(recorder(1000, 10)))
	total := r.Lines[0]
	if total.Count != 1000 || total.Source != "total" {
		t.Fatalf("line %+v", total)
	}
	p50, p99 := total.Percentiles[0], total.Percentiles[1]
	// HDR (3 significant digits) reports the top of the sample's bucket.
	if *p50.ObservedMs < 500 || *p50.ObservedMs > 500.5 || p50.Verdict != Over || *p50.MarginMs > -99 {
		t.Errorf("p50 %+v (observed %v)", p50, *p50.ObservedMs)
	}
	if *p99.ObservedMs < 990 || *p99.ObservedMs > 991 || p99.Verdict != OK || p99.BudgetMs != 1000 {
		t.Errorf("p99 %+v", p99)
	}
	errs := r.Lines[1]
	if got := *errs.ObservedRatio; got < 0.0099 || got > 0.0100 || *errs.BudgetRatio != 0.05 || errs.Verdict != OK {
		t.Errorf("errors %+v", errs)
	}
	if r.Requests.PlannedRate != 101 || r.Requests.AchievedRate != 101 {
		t.Errorf("rates %+v", r.Requests)
	}
	if len(r.Errors) != 1 || r.Errors[0] != (Count{Class: "http 5xx", Count: 10}) {
		t.Errorf("classes %+v", r.Errors)
	}
}

func TestJudgeInvalid(t *testing.T) {
	sc := scenarioWith(t, "  total: {p99: 1s}\n")
	t.Run("interrupted", func(t *testing.T) {
		m := measurement(recorder(100, 0))
		m.Planned, m.Interrupted = 1000, true
		m.SendSpan, m.Elapsed = 1900*time.Millisecond, 2*time.Second
		r := Judge(sc, m)
		if r.Verdict != Invalid || !r.Partial || !strings.Contains(strings.Join(r.Reasons, ";"), "interrupted after 100 of 1000") {
			t.Errorf("%s %v %v", r.Verdict, r.Partial, r.Reasons)
		}
		// What it sent in the 2s it ran, not over the 10s it was to run.
		if r.Requests.AchievedRate != 50 {
			t.Errorf("achieved %v/s, want 50/s", r.Requests.AchievedRate)
		}
	})
	// No response at all: no verdict, with each class's first message and
	// a hint.
	t.Run("unreachable", func(t *testing.T) {
		rec := histogram.NewRecorder(100)
		rec.Counts.Sent = 7
		for range 5 {
			rec.Error("refused")
		}
		rec.NoteError("refused", func() string { return "dial tcp 127.0.0.1:1: connect: connection refused" })
		for range 2 {
			rec.Error("tls")
		}
		rec.NoteError("tls", func() string {
			return "tls: failed to verify certificate: x509: certificate signed by unknown authority"
		})
		r := Judge(sc, measurement(rec))
		want := "target unreachable: no connection was made and no response arrived: 5 refused (first: dial tcp 127.0.0.1:1: connect: connection refused): is the target running and listening on that port?; " +
			"2 tls (first: tls: failed to verify certificate: x509: certificate signed by unknown authority): the certificate was not accepted; for a test server with a self-signed certificate set target.insecure: true"
		if r.Verdict != Invalid || len(r.Reasons) != 1 || r.Reasons[0] != want {
			t.Errorf("%s %q\nwant %q", r.Verdict, r.Reasons, want)
		}
		if r.Errors[0].First != "dial tcp 127.0.0.1:1: connect: connection refused" {
			t.Errorf("first message %+v", r.Errors)
		}
	})
	// A target that takes connections and never answers (a hung service) is
	// broken, not unreachable: judged, it fails on its timeouts.
	t.Run("hung", func(t *testing.T) {
		rec := histogram.NewRecorder(100)
		rec.Counts.Sent, rec.Counts.NewConnections = 20, 20
		for range 20 {
			rec.Error("timeout")
			rec.Record(scenario.SourceTotal, 30*time.Second)
		}
		r := Judge(scenarioWith(t, "  total: {p99: 1s}\n"), measurement(rec))
		if r.Verdict != Fail || len(r.Reasons) != 0 || r.Lines[0].Verdict != Over || r.Lines[1].Verdict != Over {
			t.Errorf("%s %q %+v, want fail on total and errors", r.Verdict, r.Reasons, r.Lines)
		}
	})
	// A target that answers every request with a failure is broken, not
	// unreachable: it fails the gate (exit 1), errors line or not.
	t.Run("every request failed", func(t *testing.T) {
		for _, budget := range []string{"  total: {p99: 1s}\n", "  total: {p99: 1s}\n  errors: 5%\n", "  total: {p99: 1s}\n  errors: off\n"} {
			rec := histogram.NewRecorder(100)
			rec.Counts.Sent, rec.Counts.Responses = 160, 160
			for range 160 {
				rec.Error("http 4xx")
			}
			rec.NoteError("http 4xx", func() string { return "404 Not Found on GET /serch" })
			r := Judge(scenarioWith(t, budget), measurement(rec))
			if r.Verdict != Fail || len(r.Reasons) != 0 {
				t.Errorf("%q: %s %q, want fail", budget, r.Verdict, r.Reasons)
			}
		}
	})
	// Lag invalidates a verdict only where removing it could flip a line.
	// 1000 totals of 1..1000ms (p99 990ms), 50 of them 50ms late.
	// The slowest 50 of them went out 50ms late: their service time
	// (actual send → last byte, the lag-free measurement) is 50ms less,
	// so service p99 is 945ms where total p99 is 990ms.
	lagged := func() *histogram.Recorder {
		rec := recorder(1000, 0)
		for i := 1; i <= 1000; i++ {
			service := time.Duration(i) * time.Millisecond
			if i > 950 {
				rec.Record("lag", 50*time.Millisecond)
				service -= 50 * time.Millisecond
			}
			rec.Record(scenario.SourceService, service)
		}
		return rec
	}
	for _, tc := range []struct {
		name, budget string
		want         Verdict
		says         string // in the reason (invalid) or the warning (a verdict that stands)
	}{
		{"a pass stands", "  total: {p99: 1s}\n", Pass, "the load generator fell behind: this machine was busy, lag p99 50.0ms (over 10ms): totals are pessimistic by up to the lag, and the pass stands"},
		{"total over, within without the lag", "  total: {p99: 980ms}\n", Invalid,
			"the load generator fell behind: this machine was busy, lag p99 50.0ms (over 10ms); without it every line over budget would be within it"},
		{"total over even without the lag", "  total: {p99: 900ms}\n", Fail, "total p99 is over its budget even without the lag (service time p99 945ms): the fail stands"},
		{"a line lag does not enter", "  total: {p99: 980ms}\n  ttfb: {p99: 1ms}\n", Fail, "ttfb is no data, which lag does not enter"},
	} {
		t.Run("lag: "+tc.name, func(t *testing.T) {
			r := Judge(scenarioWith(t, tc.budget), measurement(lagged()))
			if !r.Saturation.Saturated || r.Saturation.LagP99Ms < 49 {
				t.Errorf("saturation %+v", r.Saturation)
			}
			said := strings.Join(append(r.Reasons, r.Warnings...), "; ")
			if r.Verdict != tc.want || !strings.Contains(said, tc.says) {
				t.Errorf("%s (%s); want %s saying %q", r.Verdict, said, tc.want, tc.says)
			}
		})
	}
	t.Run("lag on each engine", func(t *testing.T) {
		sc := scenarioWith(t, "  total: {p99: 980ms}\n")
		for engine, hint := range map[string]bool{"vegeta": true, "native": false} {
			m := measurement(lagged())
			m.Engine = engine
			r := Judge(sc, m)
			if r.Engine != engine || r.Verdict != Invalid || len(r.Reasons) != 1 {
				t.Fatalf("%s: engine %q, %s, reasons %q", engine, r.Engine, r.Verdict, r.Reasons)
			}
			if got := strings.Contains(r.Reasons[0], "try --engine native"); got != hint {
				t.Errorf("%s: reason %q; want the native engine suggested: %v", engine, r.Reasons[0], hint)
			}
			if s := r.Saturation; s.LagP50Ms <= 0 || s.LagP50Ms >= s.LagP99Ms {
				t.Errorf("%s: lag p50 %vms, p99 %vms: want the typical lag, below the tail's", engine, s.LagP50Ms, s.LagP99Ms)
			}
		}
	})
	// An under-delivered rate spared the target: it invalidates a pass,
	// and says only that; a fail stands.
	t.Run("achieved rate", func(t *testing.T) {
		m := measurement(recorder(1000, 0))
		m.SendSpan = 11 * time.Second // last request went out 1.1s late: 91% of the rate
		r := Judge(sc, m)
		if r.Verdict != Invalid || !r.Saturation.Saturated || r.Saturation.AchievedRatio > 0.92 {
			t.Errorf("%s %+v", r.Verdict, r.Saturation)
		}
		want := "the load generator sent 90.9% of the planned rate (under 95%): the target saw less load than planned, so the pass is not shown"
		if len(r.Reasons) != 1 || r.Reasons[0] != want {
			t.Errorf("reasons %q, want %q", r.Reasons, want)
		}
		r = Judge(scenarioWith(t, "  total: {p99: 500ms}\n"), m)
		if r.Verdict != Fail || !strings.Contains(strings.Join(r.Warnings, ";"), "failed all the same: the fail stands") {
			t.Errorf("%s %q %q, want a fail that stands", r.Verdict, r.Reasons, r.Warnings)
		}
	})
	t.Run("simulate has no generator to saturate", func(t *testing.T) {
		m := measurement(recorder(1000, 0))
		m.Mode, m.LagSource = "simulate", ""
		if r := Judge(sc, m); r.Verdict != Pass {
			t.Errorf("%s %v", r.Verdict, r.Reasons)
		}
	})
}

func TestPhysicsWarnings(t *testing.T) {
	y := `target: {url: embedded}
network: {distance: 4000km, tls: "1.2", rtt: {p50: 30ms, p99: 50ms}}
traffic: [{constant: {rate: 1/s, duration: 1s}}]
budget:
  rtt: {p95: 35ms, p99: 45ms}
  tls: {p99: 70ms}
  database: {p99: 1ms}
`
	sc, err := scenario.Parse("phys.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	w := strings.Join(PhysicsWarnings(sc), "\n")
	for _, want := range []string{
		"network.rtt: median 30ms is below the speed-of-light floor of 40ms",
		"budget.rtt.p95: 35ms is below the physical floor of 40ms",
		"budget.tls.p99: 70ms is below the physical floor of 80ms (2 RTT",
	} {
		if !strings.Contains(w, want) {
			t.Errorf("missing %q in:\n%s", want, w)
		}
	}
	if strings.Contains(w, "rtt.p99") || strings.Contains(w, "database") {
		t.Errorf("false warning in:\n%s", w)
	}
}

// TestConfidenceJudging: every percentile carries its 95% interval; with
// budget.confidence a percentile is over only when the interval's low end
// is, within only when its high end is, and inconclusive (no verdict, with
// the requests that would decide it) otherwise.
func TestConfidenceJudging(t *testing.T) {
	// 1000 totals of 1..1000ms: p99 is the 990th, 990ms; its 95% interval
	// runs over a few ranks either side.
	for _, tc := range []struct {
		name, budget string
		want         Verdict
		line         LineVerdict
		says         string
	}{
		{"point estimate", "  total: {p99: 985ms}\n  errors: off\n", Fail, Over, ""},
		{"over beyond the interval", "  total: {p99: 900ms}\n  errors: off\n  confidence: 95%\n", Fail, Over, ""},
		{"within beyond the interval", "  total: {p99: 1s}\n  errors: off\n  confidence: 95%\n", Pass, OK, ""},
		{"straddling", "  total: {p99: 985ms}\n  errors: off\n  confidence: 95%\n", Invalid, Inconclusive,
			"inconclusive: total p99 990ms (95% interval 983ms–997ms) straddles its 985ms limit: about 2,175 samples would make it conclusive (1,000 measured)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Judge(scenarioWith(t, tc.budget), measurement(recorder(1000, 0)))
			l := r.Lines[0]
			if r.Verdict != tc.want || l.Verdict != tc.line {
				t.Fatalf("%s, line %s (%q); want %s, line %s", r.Verdict, l.Verdict, r.Reasons, tc.want, tc.line)
			}
			p := l.Percentiles[0]
			if p.CILowMs == nil || p.CIHighMs == nil || *p.CILowMs >= 990 || *p.CIHighMs <= 990 || p.Rank != 990 {
				t.Errorf("interval %v–%v, rank %d: want one around 990ms", p.CILowMs, p.CIHighMs, p.Rank)
			}
			if tc.says != "" && (len(r.Reasons) != 1 || r.Reasons[0] != tc.says) {
				t.Errorf("reasons %q\nwant %q", r.Reasons, tc.says)
			}
		})
	}
	// 24 samples cannot bound a p99 from above: the interval's high end is
	// null, and at 95% confidence a pass cannot be shown.
	rec := recorder(24, 0)
	r := Judge(scenarioWith(t, "  total: {p99: 1s}\n  errors: off\n"), measurement(rec))
	if p := r.Lines[0].Percentiles[0]; p.CIHighMs != nil || p.CILowMs == nil || p.Rank != 24 || r.Verdict != Pass {
		t.Errorf("p99 of 24: %s, interval %v–%v, rank %d", r.Verdict, p.CILowMs, p.CIHighMs, p.Rank)
	}
	r = Judge(scenarioWith(t, "  total: {p99: 1s}\n  errors: off\n  confidence: 95%\n"), measurement(rec))
	if r.Verdict != Invalid || len(r.Reasons) != 1 || !strings.Contains(r.Reasons[0], "inconclusive: total p99 24.0ms is within its 1.00s limit, but 24 samples cannot bound a p99 from above at 95%: at least 368 would") {
		t.Errorf("%s %q", r.Verdict, r.Reasons)
	}
}
