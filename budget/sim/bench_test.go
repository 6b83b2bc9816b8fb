package sim

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/tailgate-dev/tailgate/schedule"
)

// cpuTime is the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchScenarios are the shapes of the examples in scenarios/: a JSON API
// (one delay per request), a burst into a small pool (queueing, shedding),
// and a streaming chat over TLS (20 tokens: 24 draws and 30 samples per request).
var benchScenarios = []struct{ name, yaml string }{
	{"api", `target: {url: embedded}
traffic: [{constant: {rate: 1000/s, duration: 1000s}}]
service: {workers: 32, database: {p50: 6ms, p99: 40ms}, errors: 0.1%}
budget: {total: {p99: 80ms}}
`},
	{"burst", `target: {url: embedded}
traffic: [{burst: {rate: 400/s, peak: 4000/s, every: 4s, lasting: 1s, duration: 1000s}}]
service: {workers: 80, queue: 640, database: {p50: 20ms, p99: 80ms}}
budget: {total: {p99: 250ms}}
`},
	{"llm-chat", `target: {url: embedded, stream: sse}
network: {distance: 4000km, rtt: {p50: 62ms, p99: 85ms}, tls: "1.3"}
traffic: [{poisson: {rate: 1000/s, duration: 1000s}}]
service: {workers: 2000, database: {p50: 8ms, p99: 60ms}, ttft: {p50: 250ms, p99: 700ms}, tokens: 20, itl: {p50: 15ms, p99: 40ms}, errors: 0.2%}
budget: {total: {p99: 2.4s}}
`},
}

// BenchmarkSimulate reports simulated requests per second of one core
// (requests/s) for a million-request plan of each shape. Memory per
// request is flat: allocations per op do not grow with the plan.
func BenchmarkSimulate(b *testing.B) {
	for _, bs := range benchScenarios {
		b.Run(bs.name, func(b *testing.B) {
			sc := parse(b, bs.yaml)
			n := schedule.Of(sc).Requests()
			b.ReportAllocs()
			b.ResetTimer()
			start, cpu0 := time.Now(), cpuTime()
			for range b.N {
				if _, err := Run(context.Background(), sc); err != nil {
					b.Fatal(err)
				}
			}
			reqs := float64(n) * float64(b.N)
			b.ReportMetric(reqs/time.Since(start).Seconds(), "requests/s")
			// Per second of CPU: the figure a shared machine does not blur.
			b.ReportMetric(reqs/(cpuTime()-cpu0).Seconds(), "requests/cpu-s")
		})
	}
}
