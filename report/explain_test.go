package report

import (
	"strings"
	"testing"
	"time"

	"github.com/tailgate-dev/tailgate/budget"
	"github.com/tailgate-dev/tailgate/histogram"
	"github.com/tailgate-dev/tailgate/scenario"
)

func explained(t *testing.T, y string, rec *histogram.Recorder) budget.Explanation {
	t.Helper()
	sc, err := scenario.Parse("explain.yaml", []byte("target: {url: embedded, stream: sse}\ntraffic: [{constant: {rate: 10/s, duration: 10s}}]\n"+y))
	if err != nil {
		t.Fatal(err)
	}
	return budget.Explain(sc, rec)
}

func TestExplanationNetwork(t *testing.T) {
	cases := []struct {
		name, network string
		network1      string // in the network row
		handshake     string // in the handshake row; "" means none
	}{
		{"tls 1.3 at 4000km", `{distance: 4000km, rtt: {p50: 62ms, p99: 85ms}, tls: "1.3"}`,
			"4000km: RTT floor 40.0ms (light in fibre, 200 km/ms); the rtt model sits 22.0ms above the floor at p50 (62.0ms, 1.55× the floor) and 45.0ms at p99 (85.0ms)",
			"TLS 1.3: a request on a new connection pays 3 RTT (connect 1 + handshake 1 + request 1) ≈ 186ms, a reused one 1 RTT ≈ 62.0ms: +124ms per new connection; 10% of requests open one (reuse 0.9)"},
		{"tls 1.2", `{distance: 800km, rtt: {fixed: 10ms}, tls: "1.2", reuse: 0.75}`,
			"800km: RTT floor 8.00ms", "TLS 1.2: a request on a new connection pays 4 RTT (connect 1 + handshake 2 + request 1) ≈ 40.0ms, a reused one 1 RTT ≈ 10.0ms: +30.0ms per new connection; 25% of requests open one (reuse 0.75)"},
		{"plain, priced at the floor", `{distance: 1000km}`,
			"no rtt model, so round trips are priced at the floor", "plain HTTP: a request on a new connection pays 2 RTT (connect 1 + request 1) ≈ 20.0ms"},
		{"model without distance", `{rtt: {p50: 20ms, p99: 30ms}}`, "no distance, so no floor", "≈ 40.0ms, a reused one 1 RTT ≈ 20.0ms"},
		{"tls with nothing to price it", `{tls: "1.3"}`, "", "no rtt model or distance to price them"},
		{"no network", `{}`, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := explained(t, "network: "+c.network+"\nbudget: {total: {p99: 2s}}\n", nil)
			if got := network(e); c.network1 == "" && got != "" || !strings.Contains(got, c.network1) {
				t.Errorf("network = %q, want it to hold %q", got, c.network1)
			}
			if got := handshake(e); c.handshake == "" && got != "" || !strings.Contains(got, c.handshake) {
				t.Errorf("handshake = %q, want it to hold %q", got, c.handshake)
			}
		})
	}
}

func TestExplanationTerms(t *testing.T) {
	cases := map[string]string{
		"service: {tokens: 20}\nbudget: {rtt: {p99: 120ms}, tls: {p99: 120ms}, database: {p99: 80ms}, ttft: {p99: 1.3s}, itl: {p99: 60ms}, total: {p99: 2.4s}}\n": "ttft 1.30s + itl 60.0ms × 20",
		"budget: {rtt: {p99: 100ms}, tls: {p95: 80ms, p99: 110ms}, database: {p99: 80ms}, total: {p99: 1s}}\n":                                                    "rtt 100ms + tls 110ms + database 80.0ms",
		"budget: {ttfb: {p99: 300ms}, database: {p99: 80ms}, cache: {p99: 5ms, source: server-timing:cache}}\n":                                                   "ttfb 300ms",
		"budget: {database: {p95: 40ms}, ttft: {p99: 1s}, total: {p99: 2s}}\n":                                                                                    "ttft 1.00s",
		"budget: {total: {p99: 2s}}\n": "",
	}
	for y, want := range cases {
		if got := terms(explained(t, y, nil).Components); got != want {
			t.Errorf("components %q, want %q", got, want)
		}
	}
}

func TestExplanationComposition(t *testing.T) {
	rec := histogram.NewRecorder(10)
	for i := 1; i <= 100; i++ {
		rec.Record(scenario.SourceTotal, time.Duration(100+i)*time.Millisecond)
	}
	e := explained(t, `network: {rtt: {fixed: 10ms}, tls: "1.3", reuse: 0.9}
service: {database: {fixed: 5ms}, ttft: {fixed: 50ms}, tokens: 4, itl: {fixed: 10ms}}
budget: {database: {p99: 80ms}, ttft: {p99: 1s}, itl: {p99: 30ms}, total: {p99: 2s}}
`, rec)
	if got := terms(e.Parts); got != "connect 10.0ms + tls 10.0ms + request RTT 10.0ms + database 5.00ms + ttft 50.0ms + itl 10.0ms × 4" {
		t.Errorf("parts %q", got)
	}
	got := strings.Join(composition(e), "\n")
	for _, want := range []string{
		"component budgets ttft 1.00s + itl 30.0ms × 4 = 1.12s (database within ttft)",
		"composed, the model's total p99 is 199ms: 921ms below the component budgets' sum — slack, since percentiles do not add; total budget p99 2.00s",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("composition:\n%s\nwant it to hold:\n%s", got, want)
		}
	}
	var b strings.Builder
	if err := Explanation(&b, e, ""); err != nil || !strings.HasPrefix(b.String(), "the budget explained\n  network    rtt model p50 10.0ms") {
		t.Errorf("Explanation: %v\n%s", err, b.String())
	}
}
