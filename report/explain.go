package report

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/tailgate-dev/tailgate/budget"
)

// Explanation prints the budget explained under a heading, each line after
// indent: network, handshake amplification, and how the p99s compose.
func Explanation(w io.Writer, e budget.Explanation, indent string) error {
	var b strings.Builder
	b.WriteString(indent + "the budget explained\n")
	for _, r := range ExplanationRows(e, true) {
		fmt.Fprintf(&b, "%s  %-10s %s\n", indent, r.Label, r.Text)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Row is one labelled line of the budget explained.
type Row struct{ Label, Text string }

// ExplanationRows are the lines of the budget explained. withFloor false
// leaves the RTT floor out of the network line, for a view (validate) that
// has already printed it.
func ExplanationRows(e budget.Explanation, withFloor bool) []Row {
	var rows []Row
	row := func(label, text string) {
		if text != "" {
			rows = append(rows, Row{label, text})
		}
	}
	if withFloor {
		row("network", network(e))
	} else {
		row("network", modelVsFloor(e))
	}
	row("handshake", handshake(e))
	for i, l := range composition(e) {
		label := ""
		if i == 0 {
			label = "p99s"
		}
		row(label, l)
	}
	return rows
}

// network compares the rtt model with the speed-of-light floor; "" when the
// scenario gives neither a distance nor a model.
func network(e budget.Explanation) string {
	switch {
	case e.Floor > 0 && e.RTTP50 > 0:
		return fmt.Sprintf("%s: RTT floor %s (light in fibre, 200 km/ms); %s", e.Distance, dur(e.Floor), modelVsFloor(e))
	case e.Floor > 0:
		return fmt.Sprintf("%s: RTT floor %s (light in fibre, 200 km/ms); no rtt model, so round trips are priced at the floor", e.Distance, dur(e.Floor))
	case e.RTTP50 > 0:
		return fmt.Sprintf("rtt model p50 %s, p99 %s; no distance, so no floor to hold it against", dur(e.RTTP50), dur(e.RTTP99))
	}
	return ""
}

// modelVsFloor says how far the rtt model sits above the floor: what the
// path adds to light (routing, queues, last mile); "" without both.
func modelVsFloor(e budget.Explanation) string {
	switch {
	case e.Floor <= 0 || e.RTTP50 <= 0:
		return ""
	case e.RTTP50 < e.Floor:
		return fmt.Sprintf("the rtt model's median %s is %s below the floor: faster than light in fibre allows", dur(e.RTTP50), dur(e.Floor-e.RTTP50))
	}
	return fmt.Sprintf("the rtt model sits %s above the floor at p50 (%s, %.2f× the floor) and %s at p99 (%s)",
		dur(e.RTTP50-e.Floor), dur(e.RTTP50), float64(e.RTTP50)/float64(e.Floor), dur(e.RTTP99-e.Floor), dur(e.RTTP99))
}

// handshake is handshake amplification: what a request on a new connection
// pays over one on a reused connection, in round trips and milliseconds.
// "" for plain HTTP with no RTT to price (a new connection costs nothing then).
func handshake(e budget.Explanation) string {
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
			dur(e.RTT*time.Duration(e.ColdRTTs-e.WarmRTTs)), percent(e.NewShare), reuse)
	case e.TLS != "":
		return fmt.Sprintf("%s: a request on a new connection pays %d RTT (%s), a reused one %d; no rtt model or distance to price them", hs, e.ColdRTTs, how, e.WarmRTTs)
	}
	return ""
}

// composition says how the parts' p99s add up and what they compose to.
func composition(e budget.Explanation) []string {
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
func holder(ts []budget.Term) string {
	for _, t := range ts {
		if t.Name == "ttft" || t.Name == "ttfb" {
			return t.Name
		}
	}
	return "another line"
}

func terms(ts []budget.Term) string {
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = t.Name + " " + dur(t.D)
		if t.Times > 1 {
			parts[i] += fmt.Sprintf(" × %d", t.Times)
		}
	}
	return strings.Join(parts, " + ")
}

// dur formats a duration like every other figure tailgate prints: three
// significant digits (850µs, 44.0ms, 2.20s).
func dur(d time.Duration) string { return Millis(float64(d) / float64(time.Millisecond)) }
