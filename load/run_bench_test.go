package load

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/tailgate-dev/tailgate/histogram"
	"github.com/tailgate-dev/tailgate/scenario"
)

// BenchmarkRun is the whole hot path of a native run, one request per op: pacing,
// the hand-off to a worker, the tracing transport, the HTTP exchange and the
// recording of the result. The plan asks for more than the machine can send
// (a million a second), so ns/op is what one request costs end to end and
// req/s the most a run sends here. The target is an in-process server, or
// TAILGATE_BENCH_URL (bench/throughput.sh starts nginx) to keep the server's
// CPU out of the profile:
//
//	go test ./load -run '^$' -bench BenchmarkRun -benchmem -cpuprofile cpu.out
func BenchmarkRun(b *testing.B) {
	const rate = 1e6 // per second
	d := time.Duration(float64(b.N) / rate * float64(time.Second))
	benchRun(b, benchTarget(b), scenario.EngineNative, rate, max(d, time.Microsecond))
}

// The recording of one result is on the hot path: it allocates nothing,
// whether the request opened a connection or reused one, with or without
// Server-Timing metrics and SSE gaps, and when it enters the tail.
func TestRecordAllocatesNothing(t *testing.T) {
	rec := histogram.NewRecorder(100)
	r := newRecorder(rec, true)
	now := time.Now()
	cold := &Trace{Start: now, NewConn: true, DNS: time.Millisecond, Connect: 2 * time.Millisecond, TLS: 3 * time.Millisecond,
		TTFB: 2 * time.Millisecond, First: now.Add(8 * time.Millisecond), End: now.Add(20 * time.Millisecond),
		Gaps:    []time.Duration{time.Millisecond, 2 * time.Millisecond},
		Metrics: []Metric{{"db", 1500 * time.Microsecond}, {"queue", 100 * time.Microsecond}}}
	warm := &Trace{Start: now, TTFB: time.Millisecond, First: now.Add(time.Millisecond), End: now.Add(2 * time.Millisecond)}
	cold.Code, warm.Code = 200, 200
	// Failures: a status (its message kept once), a redirect, and a
	// timeout, which is a total sample.
	failed := &Trace{Start: now, Code: 503, End: now.Add(time.Millisecond), req: &http.Request{Method: "GET", URL: &url.URL{Path: "/"}}}
	redirect := &Trace{Start: now, Code: 302, Location: "/login", End: now.Add(time.Millisecond)}
	timedOut := &Trace{Start: now, Err: errTimeout, Class: ClassTimeout, End: now.Add(time.Second), req: failed.req}
	// Fill the histograms, name maps and the tail first: the first sample of
	// a source makes its histogram, and the first k of the tail their copies
	// of the parts, once a run.
	i := 0
	for ; i < 200; i++ {
		cold.End, warm.End = now.Add(time.Duration(i)*time.Microsecond), now.Add(time.Duration(i)*time.Microsecond)
		r.record(cold, now)
		r.record(warm, now)
		r.record(failed, now)
		r.record(redirect, now)
		r.record(timedOut, now)
	}
	for name, tr := range map[string]*Trace{"cold": cold, "warm": warm, "failed": failed, "redirect": redirect, "timed out": timedOut} {
		if a := testing.AllocsPerRun(1000, func() {
			i++
			// Ever slower, so every request enters the tail.
			tr.End = now.Add(time.Duration(i) * time.Microsecond)
			r.record(tr, now)
		}); a != 0 {
			t.Errorf("recording a %s request allocates %v times, want 0", name, a)
		}
	}
}

// BenchmarkTracedReused is BenchmarkInstrumentation/traced as a run over
// HTTP/1.1 does it: on tailgate's own pooled connection, each trace
// released after its result, so steady keep-alive traffic reuses traces,
// hooks, connections and body wrappers. What allocations are left are the
// request's cancelable context and watchdog deadline, its sequence number,
// and net/http's parse of the response.
func BenchmarkTracedReused(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server-Timing", "db;dur=1.5, queue;dur=0.1")
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	tmpl, err := newTemplate("GET", srv.URL, http.Header{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	cl, err := newH1Client(tmpl, (&net.Dialer{}).DialContext, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer cl.closeIdle()
	tr := &transport{h1: cl, watch: newWatchdog(time.Minute), now: time.Now}
	b.ReportAllocs()
	for i := uint64(0); b.Loop(); i++ {
		c := cl.get()
		t := tr.send(tmpl, job{seq: i}, c, nil)
		if t.Err != nil {
			b.Fatal(t.Err)
		}
		cl.put(c, t.End)
		tr.release(t)
	}
}
