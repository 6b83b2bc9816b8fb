package sim

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/tailgate-dev/tailgate/histogram"
	"github.com/tailgate-dev/tailgate/scenario"
)

func parse(t testing.TB, y string) *scenario.Scenario {
	t.Helper()
	sc, err := scenario.Parse("sim.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// simulate runs the whole plan.
func simulate(t testing.TB, sc *scenario.Scenario) *Outcome {
	t.Helper()
	out, err := Run(context.Background(), sc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func pct(t *testing.T, rec *histogram.Recorder, src string, p float64) time.Duration {
	t.Helper()
	v, _, ok := rec.Percentile(src, p)
	if !ok {
		t.Fatalf("no %s samples", src)
	}
	return v
}

func count(rec *histogram.Recorder, src string) int64 {
	if h := rec.Histogram(src); h != nil {
		return h.TotalCount()
	}
	return 0
}

// TestDelayMirrorsScenario: the simulator's prepared delays draw exactly
// what scenario.Delay.Sample draws from the same source, value for value —
// the agreement with the embedded service rests on it.
func TestDelayMirrorsScenario(t *testing.T) {
	for _, y := range []string{
		"{p50: 8ms, p99: 60ms}",
		"{p50: 8ms, p99: 8ms}",
		"{p50: 250ms, p99: 700ms}",
		"{fixed: 20ms}",
		"{fixed: 0s}",
		"{mean: 10ms}",
	} {
		sc := parse(t, "target: {url: embedded}\ntraffic: [{constant: {rate: 1/s, duration: 1s}}]\nservice: {database: "+y+"}\nbudget: {total: {p99: 1s}}\n")
		d := sc.Service.Database
		fast := newDelay(d)
		a := rand.New(rand.NewPCG(7, 1))
		b := rand.New(rand.NewPCG(7, 1))
		for i := range 10000 {
			if x, y := d.Sample(a), fast.sample(b); x != y {
				t.Fatalf("%s: draw %d: scenario %v, simulator %v", y, i, x, y)
			}
		}
	}
	var none delay = newDelay(nil)
	if got := none.sample(rand.New(rand.NewPCG(1, 1))); got != 0 {
		t.Errorf("no model drew %v", got)
	}
}

// TestKnownTimes: with fixed delays every phase is known exactly.
func TestKnownTimes(t *testing.T) {
	cases := []struct {
		name       string
		network    string
		stream     string
		cold, warm time.Duration // total of a cold and a warm request
		ttfbWarm   time.Duration
		ttftWarm   time.Duration
		tlsSamples bool
		gaps       int64 // itl samples per request
	}{
		// server time: database 5 + ttft 50 + 4 × itl 10 = 95ms.
		{"no network", "", "sse", 95 * time.Millisecond, 95 * time.Millisecond, 55 * time.Millisecond, 55 * time.Millisecond, false, 4},
		// TLS 1.3: cold = connect + handshake + request = 3 RTT, warm 1.
		{"tls 1.3", `{rtt: {fixed: 20ms}, tls: "1.3", reuse: 0.5}`, "sse", 155 * time.Millisecond, 115 * time.Millisecond, 75 * time.Millisecond, 75 * time.Millisecond, true, 4},
		// TLS 1.2: 4 RTT cold.
		{"tls 1.2", `{rtt: {fixed: 20ms}, tls: "1.2", reuse: 0.5}`, "sse", 175 * time.Millisecond, 115 * time.Millisecond, 75 * time.Millisecond, 75 * time.Millisecond, true, 4},
		// Plain HTTP: 2 RTT cold. stream: none sends the body after the
		// last token, so the first byte comes at the end.
		{"plain, whole body", `{rtt: {fixed: 20ms}, reuse: 0.5}`, "none", 135 * time.Millisecond, 115 * time.Millisecond, 115 * time.Millisecond, 115 * time.Millisecond, false, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			y := "target: {url: embedded, stream: " + c.stream + "}\n"
			if c.network != "" {
				y += "network: " + c.network + "\n"
			}
			y += `traffic: [{constant: {rate: 10/s, duration: 20s}}]
service: {database: {fixed: 5ms}, ttft: {fixed: 50ms}, tokens: 4, itl: {fixed: 10ms}}
budget: {total: {p99: 1s}}
`
			out := simulate(t, parse(t, y))
			rec := out.Rec
			if rec.Counts.Sent != 200 || rec.Counts.OK != 200 {
				t.Fatalf("counts %+v", rec.Counts)
			}
			if c.network == "" {
				// reuse defaults to 0.9: about 20 of 200 open a connection,
				// which costs nothing without an RTT model.
				if got := pct(t, rec, scenario.SourceTotal, 100); !same(got, c.cold) {
					t.Errorf("max total %v, want %v", got, c.cold)
				}
			} else {
				if got := pct(t, rec, histogram.SourceTotalCold, 50); !same(got, c.cold) {
					t.Errorf("cold total %v, want %v", got, c.cold)
				}
				if got := pct(t, rec, histogram.SourceTotalWarm, 50); !same(got, c.warm) {
					t.Errorf("warm total %v, want %v", got, c.warm)
				}
			}
			if got := pct(t, rec, scenario.SourceTTFB, 50); !same(got, c.ttfbWarm) {
				t.Errorf("ttfb %v, want %v", got, c.ttfbWarm)
			}
			if got := pct(t, rec, scenario.SourceTTFT, 0); !same(got, c.ttftWarm) {
				t.Errorf("min ttft %v, want %v (a warm request's)", got, c.ttftWarm)
			}
			if got := pct(t, rec, sourceDB, 99); !same(got, 5*time.Millisecond) {
				t.Errorf("database %v", got)
			}
			if got := count(rec, scenario.SourceITL); got != 200*c.gaps {
				t.Errorf("%d itl samples, want %d", got, 200*c.gaps)
			}
			if got := count(rec, scenario.SourceConnect); got != rec.Counts.NewConnections {
				t.Errorf("%d connect samples for %d new connections", got, rec.Counts.NewConnections)
			}
			tlsWant := int64(0)
			if c.tlsSamples {
				tlsWant = rec.Counts.NewConnections
			}
			if got := count(rec, scenario.SourceTLS); got != tlsWant {
				t.Errorf("%d tls samples, want %d", got, tlsWant)
			}
			if got := count(rec, scenario.SourceDNS); got != 0 {
				t.Errorf("dns is not modelled, yet %d samples", got)
			}
			// The tail's phases add up to each kept request's total.
			for _, s := range rec.Tail.Slowest() {
				var sum time.Duration
				for _, p := range s.Parts {
					sum += p.D
				}
				if sum != s.Total {
					t.Fatalf("tail parts %v sum to %v, total %v", s.Parts, sum, s.Total)
				}
			}
		})
	}
}

// TestNewConnectionShare: requests open connections with probability
// 1 − reuse. 20,000 requests at 1 − reuse = 0.3: the share's standard
// deviation is sqrt(0.3·0.7/20000) = 0.0032; allow 5 of them.
func TestNewConnectionShare(t *testing.T) {
	for _, reuse := range []float64{0, 0.7, 1} {
		sc := parse(t, `target: {url: embedded}
network: {rtt: {p50: 20ms, p99: 40ms}, reuse: `+formatFloat(reuse)+`}
traffic: [{constant: {rate: 1000/s, duration: 20s}}]
budget: {total: {p99: 1s}}
`)
		rec := simulate(t, sc).Rec
		share := float64(rec.Counts.NewConnections) / float64(rec.Counts.Sent)
		if want := 1 - reuse; math.Abs(share-want) > 5*math.Sqrt(want*(1-want)/20000) {
			t.Errorf("reuse %v: new connection share %.4f, want %.4f", reuse, share, want)
		}
	}
}

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// same reports whether two durations share an HDR bucket: percentiles come
// back as the top of their bucket, 3 significant digits.
func same(a, b time.Duration) bool {
	return histogram.LowestEquivalent(a) == histogram.LowestEquivalent(b)
}

// TestQueueAndShedding follows ten requests a millisecond apart into two
// workers with room for three to wait, each holding its worker 100ms.
func TestQueueAndShedding(t *testing.T) {
	sc := parse(t, `target: {url: embedded}
traffic: [{constant: {rate: 1000/s, duration: 10ms}}]
service: {workers: 2, queue: 3, database: {fixed: 100ms}}
budget: {total: {p99: 1s}}
`)
	out := simulate(t, sc)
	rec := out.Rec
	// 0 and 1 start at once; 2, 3 and 4 wait (the queue is full); 5–9 are shed.
	if c := rec.Counts; c.Sent != 10 || c.OK != 5 || c.Errors != 5 || c.ByClass[ClassHTTP5xx] != 5 {
		t.Fatalf("counts %+v, want 5 ok and 5 shed", c)
	}
	// A shed request was answered (a run gets the 503), named as a run names it.
	if c := rec.Counts; c.Responses != 10 || c.FirstError[ClassHTTP5xx] != "503 Service Unavailable on GET /" {
		t.Errorf("responses %d, first %q", c.Responses, c.FirstError)
	}
	// 2 and 3 wait for 0 and 1 (free at 100 and 101ms): 98ms each; 4 for 2 (free at 200ms): 196ms.
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{{0, 100 * time.Millisecond}, {40, 100 * time.Millisecond}, {80, 198 * time.Millisecond}, {100, 296 * time.Millisecond}} {
		if got := pct(t, rec, scenario.SourceTotal, tc.p); !same(got, tc.want) {
			t.Errorf("total p%v %v, want %v", tc.p, got, tc.want)
		}
	}
	if got := pct(t, rec, sourceQueue, 100); !same(got, 196*time.Millisecond) {
		t.Errorf("longest queue wait %v, want 196ms", got)
	}
	// The last response is 4's, at 300ms.
	if out.Elapsed != 300*time.Millisecond {
		t.Errorf("elapsed %v, want 300ms", out.Elapsed)
	}
}

// TestTimeouts: a client that gives up frees the worker (or its queue
// place) when it does, as the embedded service sees its client hang up.
func TestTimeouts(t *testing.T) {
	sc := parse(t, `target: {url: embedded, timeout: 1500ms}
traffic: [{constant: {rate: 100/s, duration: 30ms}}]
service: {workers: 1, queue: 10, database: {fixed: 1s}}
budget: {total: {p99: 5s}}
`)
	rec := simulate(t, sc).Rec
	// 0 is served by 1s; 1 starts at 1s and would end at 2s, past its
	// deadline of 1.51s; 2 gets the worker at 1.51s and times out too.
	if c := rec.Counts; c.OK != 1 || c.ByClass[ClassTimeout] != 2 || c.Responses != 1 {
		t.Fatalf("counts %+v, want 1 ok (the one response) and 2 timeouts", c)
	}
	if got, want := rec.Counts.FirstError[ClassTimeout], "no complete response within target.timeout (1.5s) on GET /"; got != want {
		t.Errorf("first timeout %q, want %q", got, want)
	}
	// As in a run, a request given up is in total at the time it was given:
	// 1s for the one served, then the two timeouts' 1.5s.
	if h := rec.Histogram(scenario.SourceTotal); h.TotalCount() != 3 {
		t.Errorf("%d totals, want 3", h.TotalCount())
	}
	if got := pct(t, rec, scenario.SourceTotal, 100); !same(got, 1500*time.Millisecond) {
		t.Errorf("total max %v, want 1.5s", got)
	}
}

// TestInjectedErrors: the requests that fail are the ones the embedded
// service fails — those whose first draw from PCG(seed, n) is below the
// error rate — and they fail after the database delay, holding a worker.
func TestInjectedErrors(t *testing.T) {
	sc := parse(t, `seed: 42
target: {url: embedded}
traffic: [{constant: {rate: 1000/s, duration: 5s}}]
service: {database: {p50: 2ms, p99: 10ms}, errors: 5%}
budget: {total: {p99: 1s}}
`)
	rec := simulate(t, sc).Rec
	var want int64
	for n := range uint64(5000) {
		if rand.New(rand.NewPCG(42, n)).Float64() < 0.05 {
			want++
		}
	}
	if c := rec.Counts; c.Errors != want || c.ByClass[ClassHTTP5xx] != want || c.OK != 5000-want {
		t.Errorf("counts %+v, want %d injected errors", c, want)
	}
	// Failed requests record no latency, like a run's.
	if got := count(rec, scenario.SourceTotal); got != 5000-want {
		t.Errorf("%d total samples, want %d", got, 5000-want)
	}
}

// TestDeterministic: the same scenario simulates to the same histograms.
func TestDeterministic(t *testing.T) {
	y := `seed: 5
target: {url: embedded, stream: sse}
network: {rtt: {p50: 30ms, p99: 60ms}, tls: "1.3", reuse: 0.8}
traffic: [{poisson: {rate: 300/s, duration: 5s}}]
service: {workers: 8, queue: 20, database: {p50: 8ms, p99: 60ms}, ttft: {p50: 20ms, p99: 50ms}, tokens: 3, itl: {mean: 2ms}, errors: 1%}
budget: {total: {p99: 1s}}
`
	a, b := simulate(t, parse(t, y)).Rec, simulate(t, parse(t, y)).Rec
	if a.Counts.Sent != b.Counts.Sent || a.Counts.Errors != b.Counts.Errors || a.Counts.NewConnections != b.Counts.NewConnections {
		t.Fatalf("counts differ: %+v vs %+v", a.Counts, b.Counts)
	}
	for _, src := range a.Sources() {
		if !a.Histogram(src).Equals(b.Histogram(src)) {
			t.Errorf("%s differs between two simulations", src)
		}
	}
	// And it sheds: 300/s at ~30ms service time needs ~9 workers of 8.
	if a.Counts.ByClass[ClassHTTP5xx] == 0 {
		t.Errorf("no request shed: %+v", a.Counts)
	}
}

// TestMemoryFlat: ten times the requests allocate about the same memory —
// histograms and bounded heaps, no per-request slices.
func TestMemoryFlat(t *testing.T) {
	alloc := func(seconds string) uint64 {
		sc := parse(t, `target: {url: embedded, stream: sse}
network: {rtt: {p50: 30ms, p99: 60ms}, tls: "1.3"}
traffic: [{poisson: {rate: 2000/s, duration: `+seconds+`}}]
service: {workers: 64, database: {p50: 8ms, p99: 60ms}, ttft: {p50: 20ms, p99: 50ms}, tokens: 5, itl: {mean: 2ms}}
budget: {total: {p99: 1s}}
`)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		simulate(t, sc)
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	small, large := alloc("5s"), alloc("50s")
	t.Logf("allocated %d bytes for 10k requests, %d for 100k", small, large)
	if large > 2*small {
		t.Errorf("100k requests allocate %d bytes, 10k %d: memory grows with requests", large, small)
	}
}

// TestRunInterrupted: a long simulation looks at its context as it goes,
// every pollWork requests and tokens, and stops there with its cause.
func TestRunInterrupted(t *testing.T) {
	// 100,000 requests of 10 tokens: 1.1M units of work, 16 looks.
	sc := parse(t, `target: {url: embedded, stream: sse}
traffic: [{constant: {rate: 1000/s, duration: 100s}}]
service: {workers: 1000, ttft: {fixed: 1ms}, tokens: 10, itl: {fixed: 1ms}}
budget: {total: {p99: 1s}}
`)
	for _, calls := range []int{0, 1, 5} {
		ctx := &endsAfter{calls: calls, Context: context.Background()}
		out, err := Run(ctx, sc)
		if !errors.Is(err, context.Canceled) || out != nil {
			t.Errorf("ended at look %d: %v, %v", calls+1, out, err)
		}
		// context.Cause asks once more.
		if ctx.asked > calls+2 {
			t.Errorf("ended at look %d: asked %d times", calls+1, ctx.asked)
		}
	}
	ctx := &endsAfter{calls: 1000, Context: context.Background()}
	out, err := Run(ctx, sc)
	if err != nil || out.Rec.Counts.Sent != 100_000 {
		t.Fatalf("not ended: %v", err)
	}
	if ctx.asked < 10 || ctx.asked > 20 {
		t.Errorf("looked at the context %d times for 1.1M units of work, want about %d", ctx.asked, 1_100_000/pollWork+1)
	}
}
