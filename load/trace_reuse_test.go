package load

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/tailgate-dev/tailgate/scenario"
)

// roundTrip sends request seq, a GET of url, through tr and returns its trace.
func roundTrip(t *testing.T, tr *transport, url string, seq uint64) *Trace {
	t.Helper()
	tmpl, err := newTemplate("GET", url, http.Header{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tr.send(tmpl, job{seq: seq}, nil, nil)
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
	tr := &transport{base: base, watch: newWatchdog(time.Minute), now: time.Now}

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
