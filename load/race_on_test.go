//go:build race

package load

// raceEnabled: the race detector slows CPU-bound work (TLS handshakes 4×) and
// so distorts timing; the timing acceptance tests run in a pass without it.
const raceEnabled = true
