package budget

import (
	"strings"
	"time"

	"github.com/tailgate-dev/tailgate/histogram"
	"github.com/tailgate-dev/tailgate/scenario"
)

// Explanation is the budget explained: what physics allows over the
// scenario's distance, what a new connection costs over a reused one, and
// how the parts of a request compose — p99s do not add, so a budget built
// by adding component p99s holds slack.
type Explanation struct {
	Distance scenario.Distance
	Floor    time.Duration // RTT floor over Distance in fibre; 0 without a distance
	// RTTP50 and RTTP99 are the rtt model's; zero without one.
	RTTP50, RTTP99 time.Duration

	TLS scenario.TLSVersion
	// ColdRTTs is what a request on a new connection pays in round trips
	// (connect 1 + handshake + request 1); WarmRTTs a reused one's (1).
	ColdRTTs, WarmRTTs int
	// RTT prices one round trip: the model's median, else the floor.
	RTT      time.Duration
	NewShare float64 // share of requests that open a connection, 1 − network.reuse

	// Components are the budget lines whose p99s add up to the time of a
	// request, one term each (itl counts once per token); Within names
	// lines left out because another component already holds their time.
	Components []Term
	Within     []string
	BudgetSum  time.Duration
	// Parts are the model's phases at their own p99 over all requests.
	Parts    []Term
	PartsSum time.Duration
	// Composed is the total p99 the model predicts (from a simulation);
	// zero when none was given.
	Composed time.Duration
	// TotalBudget is the total line's p99 limit; zero when there is none.
	TotalBudget time.Duration
}

// Term is one addend of a sum: D, Times times (itl once per token).
type Term struct {
	Name  string
	D     time.Duration
	Times int
}

// Sum is D × Times.
func (t Term) Sum() time.Duration { return t.D * time.Duration(max(t.Times, 1)) }

// Explain explains the scenario's budget. sim, when not nil, is a
// simulation of it: the composed p99 and the queue's p99 come from there.
func Explain(sc *scenario.Scenario, sim *histogram.Recorder) Explanation {
	n := sc.Network
	e := Explanation{
		Distance: n.Distance,
		Floor:    n.Distance.RTTFloor(),
		TLS:      n.TLS,
		ColdRTTs: 2 + n.TLS.HandshakeRTTs(),
		WarmRTTs: 1,
		NewShare: 1 - n.ReuseValue(),
	}
	if n.RTT != nil {
		e.RTTP50, e.RTTP99 = n.RTT.Quantile(0.5), n.RTT.Quantile(0.99)
		e.RTT = e.RTTP50
	} else {
		e.RTT = e.Floor
	}
	e.components(sc)
	e.parts(sc, sim)
	if sim != nil {
		if v, _, ok := sim.Percentile(scenario.SourceTotal, 99); ok {
			e.Composed = v
		}
	}
	for _, l := range sc.Budget.Lines {
		if l.Source == scenario.SourceTotal {
			if p, ok := p99(l); ok {
				e.TotalBudget = p
			}
			break
		}
	}
	return e
}

func p99(l scenario.Line) (time.Duration, bool) {
	for _, p := range l.Percentiles {
		if p.P == 99 {
			return p.Limit.D(), true
		}
	}
	return 0, false
}

// within reports whether the time measured by source a is part of what
// source b measures: ttft runs from the request's start, so it holds the
// connection, the handshake and the server's time; ttfb holds the server's.
func within(a, b string) bool {
	serverTiming := strings.HasPrefix(a, scenario.ServerTimingPrefix)
	switch b {
	case scenario.SourceTTFT:
		return serverTiming || a == scenario.SourceConnect || a == scenario.SourceDNS || a == scenario.SourceTLS || a == scenario.SourceTTFB
	case scenario.SourceTTFB:
		return serverTiming
	}
	return false
}

// components picks the budget lines whose p99s a person would add up to a
// request's time: every line but total and service, less those held within
// another, with itl counted once per token of a stream.
func (e *Explanation) components(sc *scenario.Scenario) {
	var cand []scenario.Line
	for _, l := range sc.Budget.Lines {
		if l.Source == scenario.SourceTotal || l.Source == scenario.SourceService {
			continue
		}
		cand = append(cand, l)
	}
	seen := map[string]bool{}
	for _, l := range cand {
		held := ""
		for _, m := range cand {
			if within(l.Source, m.Source) {
				held = m.Name
				break
			}
		}
		if held != "" || seen[l.Source] {
			e.Within = append(e.Within, l.Name)
			continue
		}
		seen[l.Source] = true
		p, ok := p99(l)
		if !ok {
			continue
		}
		t := Term{Name: l.Name, D: p, Times: 1}
		if l.Source == scenario.SourceITL {
			if sc.Target.Stream != scenario.StreamSSE || sc.Service.Tokens == 0 {
				continue
			}
			t.Times = sc.Service.Tokens
		}
		e.Components = append(e.Components, t)
		e.BudgetSum += t.Sum()
	}
}

// parts lists the model's phases, each at its own p99 over all requests: a
// phase only some requests have (a new connection's) is zero for the rest.
func (e *Explanation) parts(sc *scenario.Scenario, sim *histogram.Recorder) {
	add := func(name string, d time.Duration, times int) {
		if d > 0 && times > 0 {
			t := Term{Name: name, D: d, Times: times}
			e.Parts = append(e.Parts, t)
			e.PartsSum += t.Sum()
		}
	}
	n := sc.Network
	if n.RTT != nil {
		// Over all requests, the connect phase is an RTT for the share
		// that opens a connection and nothing for the rest: its p99 is
		// the RTT's quantile at 1 − 1%/share, and nothing below a 1% share.
		if share := e.NewShare; share > 0.01 {
			cold := n.RTT.Quantile(1 - 0.01/share)
			add("connect", cold, 1)
			add("tls", cold*time.Duration(n.TLS.HandshakeRTTs()), 1)
		}
		add("request RTT", e.RTTP99, 1)
	}
	if sim != nil {
		if q, _, ok := sim.Percentile(scenario.ServerTimingPrefix+"queue", 99); ok {
			add("queue", q, 1)
		}
	}
	s := sc.Service
	add("database", s.Database.Quantile(0.99), 1)
	add("ttft", s.TTFT.Quantile(0.99), 1)
	add("itl", s.ITL.Quantile(0.99), s.Tokens)
}
