package load

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/tailgate-dev/tailgate/embedded"
	"github.com/tailgate-dev/tailgate/scenario"
)

// TestBreakdownAgainstEmbedded is the breakdown's measured acceptance: the
// embedded service with fixed delays (database 20ms, ttft 150ms, itl 10ms)
// behind an emulated 40ms RTT, over TLS 1.3 and 1.2. Observed medians must
// sit within 2% or 1ms of what was injected (connect = 1 RTT; database as
// Server-Timing; ttft = RTT + database + ttft on a warm connection; itl),
// and a full handshake must cost 1 RTT on 1.3 and 2 on 1.2 more than the
// same handshake without emulation (its own CPU time: signatures and chain
// verification, several milliseconds under the race detector).
//
// Timing upper bounds only mean something on a machine that keeps time: an
// attempt whose schedule lag says the machine was starved is retried, and
// after three the test skips (TAILGATE_STRICT_TIMING=1 makes that a failure).
func TestBreakdownAgainstEmbedded(t *testing.T) {
	if testing.Short() {
		t.Skip("timing acceptance runs take seconds")
	}
	if raceEnabled {
		t.Skip("timing is judged without the race detector (.ci/run runs it in its own pass)")
	}
	for _, tc := range []struct {
		tls  string
		rtts int
	}{{"1.3", 1}, {"1.2", 2}} {
		t.Run("tls "+tc.tls, func(t *testing.T) {
			sc := func(rtt string) *scenario.Scenario {
				y := fmt.Sprintf(`target: {url: embedded, stream: sse, timeout: 10s}
network: {rtt: {fixed: %s}, tls: %q, emulate: true}
traffic: [{constant: {rate: 20/s, duration: 3s}}]
service: {workers: 64, database: {fixed: 20ms}, ttft: {fixed: 150ms}, tokens: 10, itl: {fixed: 10ms}}
budget: {total: {p99: 1s}}
`, rtt, tc.tls)
				sc, err := scenario.Parse("acceptance.yaml", []byte(y))
				if err != nil {
					t.Fatal(err)
				}
				return sc
			}
			var busy string
			for range 3 {
				base, b := acceptanceRun(t, sc("0s"))
				got, g := acceptanceRun(t, sc("40ms"))
				if busy = b + g; busy == "" {
					judgeAcceptance(t, base, got, tc.rtts)
					return
				}
				t.Logf("machine too busy to judge timing (%s); trying again", busy)
			}
			if os.Getenv("TAILGATE_STRICT_TIMING") != "" {
				t.Fatalf("no quiet attempt: %s", busy)
			}
			t.Skipf("no quiet attempt in three: %s", busy)
		})
	}
}

// acceptanceRun runs once and returns the p50 of each source, and why the
// machine was too busy to judge timing ("" when it was quiet).
func acceptanceRun(t *testing.T, sc *scenario.Scenario) (map[string]time.Duration, string) {
	t.Helper()
	srv, err := embedded.Start(context.Background(), sc, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	out, err := Run(context.Background(), sc, Options{URL: srv.URL(), TLSConfig: srv.ClientTLS()})
	if err != nil {
		t.Fatal(err)
	}
	rec := out.Rec
	// Counts hold however busy the machine is.
	if c := rec.Counts; c.OK != 60 || c.Errors != 0 {
		t.Fatalf("counts %+v, want 60 ok", c)
	}
	if n := rec.Histogram(scenario.SourceITL).TotalCount(); n != 60*10 {
		t.Errorf("%d gaps, want 600", n)
	}
	p50 := map[string]time.Duration{}
	for _, src := range []string{scenario.SourceConnect, scenario.SourceTLS, scenario.SourceTTFT, scenario.SourceITL, "server-timing:db"} {
		v, _, ok := rec.Percentile(src, 50)
		if !ok {
			t.Fatalf("no %s samples", src)
		}
		p50[src] = v
	}
	if lag, _, _ := rec.Percentile(SourceLag, 99); lag > 10*time.Millisecond {
		return p50, fmt.Sprintf("schedule lag p99 %v; ", lag)
	}
	return p50, ""
}

// judgeAcceptance compares the 40ms-RTT run with the injected delays, and
// its TLS handshake with the one of the run without emulation.
func judgeAcceptance(t *testing.T, base, got map[string]time.Duration, rtts int) {
	t.Helper()
	const rtt, db, ttft, itl = 40 * time.Millisecond, 20 * time.Millisecond, 150 * time.Millisecond, 10 * time.Millisecond
	tol := func(d time.Duration) time.Duration { return max(d/50, time.Millisecond) }
	check := func(what string, got, want time.Duration) {
		t.Logf("%-16s p50 %v (injected %v)", what, got, want)
		if got < want-tol(want) || got > want+tol(want) {
			t.Errorf("%s p50 %v, want %v ± %v", what, got, want, tol(want))
		}
	}
	// Emulation adds one RTT to the real connect (tens of microseconds on
	// loopback, measured by the run without emulation).
	check("connect − real", got[scenario.SourceConnect]-base[scenario.SourceConnect], rtt)
	check("server-timing:db", got["server-timing:db"], db)
	check("ttft", got[scenario.SourceTTFT], rtt+db+ttft)
	check("itl", got[scenario.SourceITL], itl)
	hs := got[scenario.SourceTLS] - base[scenario.SourceTLS]
	t.Logf("tls handshake p50 %v, %v without emulation: %v for %d RTT", got[scenario.SourceTLS], base[scenario.SourceTLS], hs, rtts)
	// The handshake's CPU time varies between runs too (a lot under the
	// race detector), so the tolerance grows with it.
	slack := 2*time.Millisecond + base[scenario.SourceTLS]/2
	if want := time.Duration(rtts) * rtt; hs < want-slack || hs > want+slack {
		t.Errorf("handshake spends %v on the network, want %d RTT = %v ± %v", hs, rtts, want, slack)
	}
}
