package load

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/tailgate-dev/tailgate/scenario"
)

// engineBenchRate is the planned rate of BenchmarkEngine, per second: well
// inside what either engine sustains here, so that the run is the engine at
// work on time (no backlog, no pool grown for it) and lasts about a second
// at the default -benchtime.
const engineBenchRate = 5_000

// BenchmarkEngine is what each engine allocates per request in a whole
// run, one op = one request: load.Run of a constant plan of b.N requests,
// pacing, hand-off, tracing, the HTTP exchange and recording included. The
// run's own setup (histograms, pools: a few hundred allocations, about a
// megabyte and a half) is spread over its requests, under 0.1 allocation
// and a few hundred bytes each at the default -benchtime. ns/op is the
// plan's interval, not a cost (BenchmarkRun measures that); req/s below the
// rate means the run fell behind and grew its pool, which allocates more.
// The target is an in-process server, whose allocations count too, or
// TAILGATE_BENCH_URL (bench/throughput.sh sets it to its nginx) to count the
// engine's alone:
//
//	go test ./load -run '^$' -bench BenchmarkEngine -benchmem
func BenchmarkEngine(b *testing.B) {
	url := benchTarget(b)
	for _, engine := range engines {
		b.Run(string(engine), func(b *testing.B) {
			// A whole number of intervals, so that the plan holds exactly b.N.
			out := benchRun(b, url, engine, engineBenchRate, time.Duration(b.N)*(time.Second/engineBenchRate))
			// One op is one request only if the plan held b.N of them.
			if c := out.Rec.Counts; c.Sent != int64(b.N) {
				b.Fatalf("sent %d requests, want b.N = %d", c.Sent, b.N)
			}
		})
	}
}

// benchTarget is TAILGATE_BENCH_URL, or an in-process server answering "ok".
func benchTarget(b *testing.B) string {
	if url := os.Getenv("TAILGATE_BENCH_URL"); url != "" {
		return url
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) }))
	b.Cleanup(srv.Close)
	return srv.URL
}

// benchRun times one run of a constant plan at rate for d against url with
// engine, fails on any error, and reports the requests sent per second.
func benchRun(b *testing.B, url string, engine scenario.Engine, rate scenario.Rate, d time.Duration) *Outcome {
	sc := &scenario.Scenario{
		Name:   "bench",
		Engine: engine,
		Target: scenario.Target{URL: url, Method: "GET", Timeout: scenario.Duration(10 * time.Second)},
	}
	sc.Traffic = []scenario.Segment{{Constant: &scenario.Constant{Rate: rate, Duration: scenario.Duration(d)}}}
	b.ReportAllocs()
	b.ResetTimer()
	out, err := Run(context.Background(), sc, Options{})
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	c := out.Rec.Counts
	if c.Errors > 0 {
		b.Fatalf("%d errors of %d: %v", c.Errors, c.Sent, c.ByClass)
	}
	b.ReportMetric(float64(c.Sent)/out.Elapsed.Seconds(), "req/s")
	return out
}
