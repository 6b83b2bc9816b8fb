package load

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tailgate-dev/tailgate/scenario"
)

func TestTracesHandOff(t *testing.T) {
	tr := newTraces()
	a, b := &Trace{Seq: 7}, &Trace{Seq: 7 + traceSlots} // same slot
	tr.put(a)
	tr.put(b) // the slot is taken: b spills
	if n := tr.len(); n != 2 {
		t.Errorf("len() = %d with two in flight, want 2", n)
	}
	if got := tr.take(7 + traceSlots); got != b {
		t.Errorf("take(%d) = %p, want the spilled trace %p", 7+traceSlots, got, b)
	}
	if got := tr.take(7); got != a {
		t.Errorf("take(7) = %p, want %p", got, a)
	}
	if got := tr.take(7); got != nil || tr.len() != 0 {
		t.Errorf("take(7) again = %v, len %d; want nil, 0", got, tr.len())
	}
	// A second trace of one number (a redirect) replaces the first.
	c, d := &Trace{Seq: 9}, &Trace{Seq: 9}
	tr.put(c)
	tr.put(d)
	if got := tr.take(9); got != d || tr.len() != 0 {
		t.Errorf("after a redirect take(9) = %p, len %d; want the second trace %p, 0", got, tr.len(), d)
	}

	// Many workers filing and one reader taking, in any order (for -race):
	// every trace comes back once, slot or spill.
	const workers, each = 8, 3000
	results := make(chan uint64, workers*each)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				// Numbers collide in slots across workers.
				seq := uint64(w)*traceSlots + uint64(i)
				tr.put(&Trace{Seq: seq})
				results <- seq
			}
		})
	}
	go func() { wg.Wait(); close(results) }()
	for seq := range results {
		if got := tr.take(seq); got == nil || got.Seq != seq {
			t.Fatalf("take(%d) = %v", seq, got)
		}
	}
	if n := tr.len(); n != 0 {
		t.Errorf("len() = %d after every trace was taken", n)
	}
}

// roundTrip sends one GET with vegeta's sequence header through tr, reads
// the body to the end and closes it, then takes its trace.
func roundTrip(t *testing.T, tr *transport, url string, seq uint64) *Trace {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set(seqHeader, strconv.FormatUint(seq, 10))
	res, err := tr.RoundTrip(req)
	if err == nil {
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	return tr.traces.take(seq)
}

// A trace is reused only after a clean request on a connection from the
// idle pool: not after a dial (a dial can outlive its request and call the
// hooks late), not after a failure.
func TestTraceReuse(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fail" {
			hj, _ := w.(http.Hijacker)
			c, _, _ := hj.Hijack()
			c.Close()
			return
		}
		w.Header().Set("Server-Timing", "db;dur=2")
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	base := &http.Transport{}
	defer base.CloseIdleConnections()
	tr := &transport{base: base, ctx: context.Background(), timeout: time.Minute, traces: newTraces(), now: time.Now}

	first := roundTrip(t, tr, srv.URL, 1)
	if !first.NewConn {
		t.Fatal("the first request did not open a connection")
	}
	tr.release(first)
	second := roundTrip(t, tr, srv.URL, 2)
	if second == first {
		t.Error("the trace of a request that dialed was reused")
	}
	if second.NewConn || len(second.Metrics) != 1 {
		t.Fatalf("second request: new connection %v, metrics %v; want a warm one with db", second.NewConn, second.Metrics)
	}
	tr.release(second)
	// sync.Pool may drop what it holds (a GC in between); try a few times.
	reused := false
	for seq := uint64(3); seq < 20 && !reused; seq++ {
		next := roundTrip(t, tr, srv.URL, seq)
		reused = next == second
		if next.Seq != seq || next.Err != nil || next.End.IsZero() || len(next.Metrics) != 1 || next.TTFB <= 0 {
			t.Fatalf("request %d: trace %+v, want a clean one of its own", seq, next)
		}
		second = next
		tr.release(next)
	}
	if !reused {
		t.Error("a clean warm request's trace was never reused")
	}

	failed := roundTrip(t, tr, srv.URL+"/fail", 100)
	if failed == nil || failed.Err == nil {
		t.Fatalf("the failing request's trace %+v has no error", failed)
	}
	tr.release(failed)
	for seq := uint64(101); seq < 110; seq++ {
		next := roundTrip(t, tr, srv.URL, seq)
		if next == failed {
			t.Fatal("the trace of a failed request was reused")
		}
		tr.release(next)
	}
}

// Reused traces start clean: a run whose target sends Server-Timing on even
// requests only records exactly that many database samples, and one phase
// sample of each kind per request.
func TestReusedTracesStartClean(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if seq, _ := strconv.Atoi(r.Header.Get(seqHeader)); seq%2 == 0 {
			w.Header().Set("Server-Timing", "db;dur=3")
		}
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	sc, err := scenario.Parse("reuse.yaml", []byte("target: {url: \""+srv.URL+"\"}\n"+
		"traffic: [{constant: {rate: 2000/s, duration: 1s}}]\nbudget: {total: {p99: 1s}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := Run(context.Background(), sc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Rec.Counts
	if c.OK != 2000 {
		t.Fatalf("%d OK of 2000 (%v)", c.OK, c.ByClass)
	}
	count := func(src string) int64 {
		if h := out.Rec.Histogram(src); h != nil {
			return h.TotalCount()
		}
		return 0
	}
	if got := count(scenario.ServerTimingPrefix + "db"); got != 1000 {
		t.Errorf("%d database samples, want 1000: one per even request", got)
	}
	if got := count(scenario.SourceTTFB); got != 2000 {
		t.Errorf("%d ttfb samples, want 2000", got)
	}
	if got, want := count(scenario.SourceConnect), c.NewConnections; got != want {
		t.Errorf("%d connect samples, %d new connections", got, want)
	}
}
