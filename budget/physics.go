package budget

import (
	"fmt"
	"time"

	"github.com/tailgate-dev/tailgate/scenario"
)

// MinRTTs is how many network round trips a source spends at the least:
// a TCP connect one, a TLS handshake one (1.3) or two (1.2), and any
// request/response exchange one. Sources that are pure server time need none.
func MinRTTs(source string, tls scenario.TLSVersion) int {
	switch source {
	case scenario.SourceConnect, scenario.SourceTTFB, scenario.SourceTTFT, scenario.SourceTotal, scenario.SourceService:
		return 1
	case scenario.SourceTLS:
		return tls.HandshakeRTTs()
	}
	return 0
}

// PhysicsWarnings lists budget limits that the speed of light in fibre
// forbids over network.distance, and an RTT model faster than light.
func PhysicsWarnings(sc *scenario.Scenario) []string {
	floor := sc.Network.Distance.RTTFloor()
	if floor <= 0 {
		return nil
	}
	var w []string
	if rtt := sc.Network.RTT; rtt != nil {
		if q := rtt.Quantile(0.5); q < floor {
			w = append(w, fmt.Sprintf("network.rtt: median %s is below the speed-of-light floor of %s for %s", q.Round(time.Microsecond), floor, sc.Network.Distance))
		}
	}
	for _, l := range sc.Budget.Lines {
		n := MinRTTs(l.Source, sc.Network.TLS)
		if n == 0 {
			continue
		}
		min := time.Duration(n) * floor
		for _, p := range l.Percentiles {
			if p.Limit.D() < min {
				w = append(w, fmt.Sprintf("budget.%s.%s: %s is below the physical floor of %s (%d RTT × %s for %s in fibre): it cannot pass",
					l.Name, p.Label(), p.Limit, min, n, floor, sc.Network.Distance))
			}
		}
	}
	return w
}
