package budget

import (
	"fmt"
	"io"
	"math"
	"strconv"
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

// Write prints the explanation under a heading, each line after indent.
func (e Explanation) Write(w io.Writer, indent string) error {
	var b strings.Builder
	b.WriteString(indent + "the budget explained\n")
	row := func(label, text string) {
		if text != "" {
			fmt.Fprintf(&b, "%s  %-10s %s\n", indent, label, text)
		}
	}
	row("network", e.Network())
	row("handshake", e.Handshake())
	for i, l := range e.Composition() {
		if i == 0 {
			row("p99s", l)
		} else {
			row("", l)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Network compares the rtt model with the speed-of-light floor; "" when the
// scenario gives neither a distance nor a model.
func (e Explanation) Network() string {
	switch {
	case e.Floor > 0 && e.RTTP50 > 0:
		return fmt.Sprintf("%s: RTT floor %s (light in fibre, 200 km/ms); %s", e.Distance, dur(e.Floor), e.ModelVsFloor())
	case e.Floor > 0:
		return fmt.Sprintf("%s: RTT floor %s (light in fibre, 200 km/ms); no rtt model, so round trips are priced at the floor", e.Distance, dur(e.Floor))
	case e.RTTP50 > 0:
		return fmt.Sprintf("rtt model p50 %s, p99 %s; no distance, so no floor to hold it against", dur(e.RTTP50), dur(e.RTTP99))
	}
	return ""
}

// ModelVsFloor says how far the rtt model sits above the floor: what the
// path adds to light (routing, queues, last mile); "" without both.
func (e Explanation) ModelVsFloor() string {
	switch {
	case e.Floor <= 0 || e.RTTP50 <= 0:
		return ""
	case e.RTTP50 < e.Floor:
		return fmt.Sprintf("the rtt model's median %s is %s below the floor: faster than light in fibre allows", dur(e.RTTP50), dur(e.Floor-e.RTTP50))
	}
	return fmt.Sprintf("the rtt model sits %s above the floor at p50 (%s, %.2f× the floor) and %s at p99 (%s)",
		dur(e.RTTP50-e.Floor), dur(e.RTTP50), float64(e.RTTP50)/float64(e.Floor), dur(e.RTTP99-e.Floor), dur(e.RTTP99))
}

// Handshake is handshake amplification: what a request on a new connection
// pays over one on a reused connection, in round trips and milliseconds.
// "" for plain HTTP with no RTT to price (a new connection costs nothing then).
func (e Explanation) Handshake() string {
	hs := "plain HTTP"
	how := "connect 1 + request 1"
	if e.TLS != "" {
		hs = "TLS " + string(e.TLS)
		how = fmt.Sprintf("connect 1 + handshake %d + request 1", e.TLS.HandshakeRTTs())
	}
	reuse := strconv.FormatFloat(1-e.NewShare, 'f', -1, 64)
	switch {
	case e.RTT > 0:
		return fmt.Sprintf("%s: a request on a new connection pays %d RTT (%s) ≈ %s, a reused one %d RTT ≈ %s: +%s per new connection; %s of requests open one (reuse %s)",
			hs, e.ColdRTTs, how, dur(e.RTT*time.Duration(e.ColdRTTs)), e.WarmRTTs, dur(e.RTT*time.Duration(e.WarmRTTs)),
			dur(e.RTT*time.Duration(e.ColdRTTs-e.WarmRTTs)), share(e.NewShare), reuse)
	case e.TLS != "":
		return fmt.Sprintf("%s: a request on a new connection pays %d RTT (%s), a reused one %d; no rtt model or distance to price them", hs, e.ColdRTTs, how, e.WarmRTTs)
	}
	return ""
}

// Composition says how the parts' p99s add up and what they compose to.
func (e Explanation) Composition() []string {
	var out []string
	if len(e.Components) > 0 {
		s := fmt.Sprintf("component budgets %s", terms(e.Components))
		if len(e.Components) > 1 || e.Components[0].Times > 1 {
			s += " = " + dur(e.BudgetSum)
		}
		if len(e.Within) > 0 {
			s += fmt.Sprintf(" (%s within %s)", strings.Join(e.Within, ", "), holder(e.Components))
		}
		out = append(out, s)
	}
	if len(e.Parts) > 0 {
		s := fmt.Sprintf("the model's parts at their own p99s: %s", terms(e.Parts))
		if len(e.Parts) > 1 || e.Parts[0].Times > 1 {
			s += " = " + dur(e.PartsSum)
		}
		out = append(out, s)
	}
	if e.Composed > 0 {
		s := fmt.Sprintf("composed, the model's total p99 is %s", dur(e.Composed))
		sum, of := e.BudgetSum, "the component budgets' sum"
		if sum == 0 {
			sum, of = e.PartsSum, "the parts' sum"
		}
		switch {
		case sum > 0 && math.Abs(float64(sum-e.Composed)) <= 0.05*float64(sum):
			s += fmt.Sprintf(", about %s: one part makes the tail", of)
		case sum > e.Composed:
			s += fmt.Sprintf(": %s below %s — slack, since percentiles do not add", dur(sum-e.Composed), of)
		case sum > 0:
			s += fmt.Sprintf(": %s above %s — waiting (queue, new connections) adds what no part's p99 holds", dur(e.Composed-sum), of)
		}
		if e.TotalBudget > 0 {
			s += fmt.Sprintf("; total budget p99 %s", dur(e.TotalBudget))
		}
		out = append(out, s)
	}
	return out
}

// holder names the component that holds the others' time (ttft, usually).
func holder(ts []Term) string {
	for _, t := range ts {
		if t.Name == "ttft" || t.Name == "ttfb" {
			return t.Name
		}
	}
	return "another line"
}

func terms(ts []Term) string {
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = t.Name + " " + dur(t.D)
		if t.Times > 1 {
			parts[i] += fmt.Sprintf(" × %d", t.Times)
		}
	}
	return strings.Join(parts, " + ")
}

func share(r float64) string {
	return strings.TrimSuffix(strconv.FormatFloat(100*r, 'f', 1, 64), ".0") + "%"
}

// dur formats a duration with three significant digits: 850µs, 44.0ms, 131ms, 2.20s.
func dur(d time.Duration) string {
	v := float64(d) / float64(time.Millisecond)
	if v != 0 {
		mag := math.Pow(10, math.Floor(math.Log10(math.Abs(v)))-2)
		v = math.Round(v/mag) * mag
	}
	sig := func(v float64) string {
		prec := 0
		switch a := math.Abs(v); {
		case a < 9.995:
			prec = 2
		case a < 99.95:
			prec = 1
		}
		return strconv.FormatFloat(v, 'f', prec, 64)
	}
	switch a := math.Abs(v); {
	case a == 0:
		return "0ms"
	case a < 1:
		return sig(v*1000) + "µs"
	case a < 1000:
		return sig(v) + "ms"
	}
	return sig(v/1000) + "s"
}
