package budget

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tailgate-dev/tailgate/histogram"
	"github.com/tailgate-dev/tailgate/scenario"
)

func explainScenario(t *testing.T, y string) *scenario.Scenario {
	t.Helper()
	sc, err := scenario.Parse("explain.yaml", []byte("target: {url: embedded, stream: sse}\ntraffic: [{constant: {rate: 10/s, duration: 10s}}]\n"+y))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func TestExplainNetwork(t *testing.T) {
	cases := []struct {
		name    string
		network string
		floor   time.Duration
		cold    int
	}{
		{"tls 1.3 at 4000km", `{distance: 4000km, rtt: {p50: 62ms, p99: 85ms}, tls: "1.3"}`, 40 * time.Millisecond, 3},
		{"tls 1.2", `{distance: 800km, rtt: {fixed: 10ms}, tls: "1.2", reuse: 0.75}`, 8 * time.Millisecond, 4},
		{"plain, priced at the floor", `{distance: 1000km}`, 10 * time.Millisecond, 2},
		{"model without distance", `{rtt: {p50: 20ms, p99: 30ms}}`, 0, 2},
		{"tls with nothing to price it", `{tls: "1.3"}`, 0, 3},
		{"no network", `{}`, 0, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := Explain(explainScenario(t, "network: "+c.network+"\nbudget: {total: {p99: 2s}}\n"), nil)
			if e.Floor != c.floor || e.ColdRTTs != c.cold || e.WarmRTTs != 1 {
				t.Errorf("floor %v, cold %d RTT, warm %d; want %v, %d, 1", e.Floor, e.ColdRTTs, e.WarmRTTs, c.floor, c.cold)
			}
		})
	}
}

// TestExplainComponents: which budget lines add up to a request, and which
// lie within another.
func TestExplainComponents(t *testing.T) {
	cases := []struct {
		name   string
		y      string
		terms  []string // component names, with how many times each counts
		within string
		sum    time.Duration
	}{
		{"ttft holds the network and the database; itl once per token",
			"service: {tokens: 20}\nbudget: {rtt: {p99: 120ms}, tls: {p99: 120ms}, database: {p99: 80ms}, ttft: {p99: 1.3s}, itl: {p99: 60ms}, total: {p99: 2.4s}}\n",
			[]string{"ttft", "itl×20"}, "rtt, tls, database", 2500 * time.Millisecond},
		{"without ttft the parts add",
			"budget: {rtt: {p99: 100ms}, tls: {p95: 80ms, p99: 110ms}, database: {p99: 80ms}, total: {p99: 1s}}\n",
			[]string{"rtt", "tls", "database"}, "", 290 * time.Millisecond},
		{"ttfb holds the server's metrics",
			"budget: {ttfb: {p99: 300ms}, database: {p99: 80ms}, cache: {p99: 5ms, source: server-timing:cache}}\n",
			[]string{"ttfb"}, "database, cache", 300 * time.Millisecond},
		{"a line without p99 is left out",
			"budget: {database: {p95: 40ms}, ttft: {p99: 1s}, total: {p99: 2s}}\n",
			[]string{"ttft"}, "database", time.Second},
		{"only total: nothing to add", "budget: {total: {p99: 2s}}\n", nil, "", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := Explain(explainScenario(t, c.y), nil)
			if got := names(e.Components); !slices.Equal(got, c.terms) {
				t.Errorf("components %q, want %q", got, c.terms)
			}
			if got := strings.Join(e.Within, ", "); got != c.within {
				t.Errorf("within %q, want %q", got, c.within)
			}
			if e.BudgetSum != c.sum {
				t.Errorf("sum %v, want %v", e.BudgetSum, c.sum)
			}
		})
	}
}

// TestExplainComposition: the model's parts at their p99s, and the composed
// p99 taken from a simulation's total.
func TestExplainComposition(t *testing.T) {
	sc := explainScenario(t, `network: {rtt: {fixed: 10ms}, tls: "1.3", reuse: 0.9}
service: {database: {fixed: 5ms}, ttft: {fixed: 50ms}, tokens: 4, itl: {fixed: 10ms}}
budget: {database: {p99: 80ms}, ttft: {p99: 1s}, itl: {p99: 30ms}, total: {p99: 2s}}
`)
	rec := histogram.NewRecorder(10)
	for i := 1; i <= 100; i++ {
		rec.Record(scenario.SourceTotal, time.Duration(100+i)*time.Millisecond)
	}
	e := Explain(sc, rec)
	// 10% of requests are cold: their connect (10ms) is within the p99.
	if got := names(e.Parts); !slices.Equal(got, []string{"connect", "tls", "request RTT", "database", "ttft", "itl×4"}) {
		t.Errorf("parts %q", got)
	}
	if e.PartsSum != 125*time.Millisecond {
		t.Errorf("parts sum %v, want 125ms", e.PartsSum)
	}
	// ttft 1s + itl 30ms × 4 = 1.12s against a composed p99 of 199ms.
	if histogram.LowestEquivalent(e.Composed) != histogram.LowestEquivalent(199*time.Millisecond) || e.BudgetSum != 1120*time.Millisecond || e.TotalBudget != 2*time.Second {
		t.Errorf("composed %v, budget sum %v, total budget %v", e.Composed, e.BudgetSum, e.TotalBudget)
	}
	// A connection share under 1% leaves connect and tls out of the p99s.
	sc.Network.Reuse = ptr(0.995)
	if got := names(Explain(sc, nil).Parts); slices.Contains(got, "connect") {
		t.Errorf("parts %q hold connect at 0.5%% new connections", got)
	}
}

// names lists terms as name, or name×n when a term counts n times.
func names(ts []Term) []string {
	var out []string
	for _, t := range ts {
		if t.Times > 1 {
			out = append(out, fmt.Sprintf("%s×%d", t.Name, t.Times))
		} else {
			out = append(out, t.Name)
		}
	}
	return out
}
