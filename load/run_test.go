package load

import (
	"context"
	"errors"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tailgate-dev/tailgate/histogram"
	"github.com/tailgate-dev/tailgate/scenario"
)

// plan builds a validated scenario for url with one constant segment.
func plan(t *testing.T, url string, rate string, d time.Duration, timeout time.Duration) *scenario.Scenario {
	t.Helper()
	y := "target: {url: \"" + url + "\", timeout: " + timeout.String() + "}\n" +
		"traffic: [{constant: {rate: " + rate + ", duration: " + d.String() + "}}]\n" +
		"budget: {total: {p99: 1s}}\n"
	sc, err := scenario.Parse("test.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// TestKnownDelay checks the measurement against a server, written here, that
// answers every request after exactly 30ms: the observed percentiles may not
// be below it, and may exceed it only by loopback overhead and HDR precision.
func TestKnownDelay(t *testing.T) {
	const delay = 30 * time.Millisecond
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(delay)
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	out, err := Run(context.Background(), plan(t, srv.URL, "50/s", 2*time.Second, 5*time.Second), Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Rec.Counts
	if c.Sent != 100 || c.OK != 100 || c.Errors != 0 {
		t.Fatalf("counts %+v, want 100 sent and ok", c)
	}
	for _, src := range []string{scenario.SourceTotal, scenario.SourceService} {
		for _, p := range []float64{0, 50, 99} {
			got, n, ok := out.Rec.Percentile(src, p)
			if !ok || n != 100 {
				t.Fatalf("%s: %d samples", src, n)
			}
			// Nothing can be faster than the delay; HDR keeps 3 significant
			// digits, so 30ms is stored within 30µs.
			if got < delay-delay/1000 {
				t.Errorf("%s p%v = %v, below the server's 30ms", src, p, got)
			}
			// Only the median has a ceiling: a stall of this busy machine
			// may land in the tail, but not in half the requests.
			if p == 50 && got > delay+15*time.Millisecond {
				t.Errorf("%s p50 = %v, want 30ms (+ loopback overhead)", src, got)
			}
		}
	}
	if lag, _, _ := out.Rec.Percentile(SourceLag, 99); lag > 10*time.Millisecond {
		t.Logf("note: schedule lag p99 %v on this machine", lag)
	}
}

// TestCoordinatedOmission stalls one request for a second while the
// generator may only have one request in flight: the requests meant to be
// sent during the stall go late. Their total, timed from the intended send,
// must show the stall; the uncorrected service time must not.
func TestCoordinatedOmission(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 26 {
			time.Sleep(time.Second)
		}
	}))
	defer srv.Close()
	out, err := Run(context.Background(), plan(t, srv.URL, "50/s", 3*time.Second, 5*time.Second), Options{MaxWorkers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if out.Rec.Counts.OK != 150 {
		t.Fatalf("ok %d, want 150", out.Rec.Counts.OK)
	}
	// About 50 of 150 requests were meant to go during the stall, waiting
	// from ~1s down to ~0: the 90th percentile of total is ~0.7s.
	total90, _, _ := out.Rec.Percentile(scenario.SourceTotal, 90)
	service90, _, _ := out.Rec.Percentile(scenario.SourceService, 90)
	if total90 < 500*time.Millisecond {
		t.Errorf("total p90 %v: the stall is hidden (coordinated omission)", total90)
	}
	if service90 > 100*time.Millisecond {
		t.Errorf("service p90 %v: uncorrected time should show one slow request only", service90)
	}
	if lag, _, _ := out.Rec.Percentile(SourceLag, 99); lag < 500*time.Millisecond {
		t.Errorf("lag p99 %v: the late sends were not seen", lag)
	}
}

// TestFaultsAreClassified runs against targets that fail in known ways.
func TestFaultsAreClassified(t *testing.T) {
	status := func(code int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(code) }
	}
	reset := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		conn.(*net.TCPConn).SetLinger(0) // RST, not FIN
		conn.Close()
	})
	hang := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	midBody := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		w.Write([]byte("partial"))
		w.(http.Flusher).Flush()
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close()
	})
	slowBody := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("first"))
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	cases := []struct {
		name    string
		handler http.Handler
		want    Class
	}{
		{"500", status(500), ClassHTTP5xx},
		{"503", status(503), ClassHTTP5xx},
		{"404", status(404), ClassHTTP4xx},
		{"reset", reset, ClassReset},
		{"closed mid-body", midBody, ClassReset},
		{"hang past timeout", hang, ClassTimeout},
		{"body stalls past timeout", slowBody, ClassTimeout},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			out, err := Run(context.Background(), plan(t, srv.URL, "20/s", 250*time.Millisecond, 200*time.Millisecond), Options{})
			if err != nil {
				t.Fatal(err)
			}
			c := out.Rec.Counts
			if c.Sent != 5 || c.Errors != 5 || c.ByClass[string(tc.want)] != 5 {
				t.Errorf("counts %+v, want 5 errors of class %q", c, tc.want)
			}
			// A request given up at its timeout is a latency sample at the
			// time it was given up; any other failure is none.
			var n int64
			if h := out.Rec.Histogram(scenario.SourceTotal); h != nil {
				n = h.TotalCount()
			}
			if want := map[bool]int64{true: 5}[tc.want == ClassTimeout]; n != want {
				t.Errorf("%d total samples of 5 %s failures, want %d", n, tc.want, want)
			}
			if low, _, _ := out.Rec.Percentile(scenario.SourceTotal, 0); tc.want == ClassTimeout && low < 200*time.Millisecond {
				t.Errorf("total minimum %v of requests given up at their 200ms timeout", low)
			}
		})
	}
	t.Run("refused", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close() // nothing listens there now
		out, err := Run(context.Background(), plan(t, "http://"+addr+"/", "20/s", 250*time.Millisecond, time.Second), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got := out.Rec.Counts.ByClass[string(ClassRefused)]; got != 5 {
			t.Errorf("refused %d, want 5 (%+v)", got, out.Rec.Counts)
		}
	})
}

// TestInterrupt stops a run midway: sending stops, everything sent is
// accounted for, and the outcome says it was interrupted.
func TestInterrupt(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	out, err := Run(ctx, plan(t, srv.URL, "100/s", 10*time.Second, time.Second), Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Rec.Counts
	if !out.Interrupted || c.Sent == 0 || c.Sent >= out.Planned {
		t.Fatalf("interrupted %v, sent %d of %d", out.Interrupted, c.Sent, out.Planned)
	}
	if c.OK+c.Errors != c.Sent {
		t.Errorf("sent %d but ok %d + errors %d", c.Sent, c.OK, c.Errors)
	}
	if out.Elapsed > 3*time.Second {
		t.Errorf("took %v to stop", out.Elapsed)
	}
}

// TestSeqHeaderReachesTarget: the embedded service derives each request's
// delays from vegeta's sequence number, so it must arrive intact.
func TestSeqHeaderReachesTarget(t *testing.T) {
	var seen [10]atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n, err := strconv.Atoi(r.Header.Get(seqHeader)); err == nil && n < len(seen) {
			seen[n].Store(true)
		}
	}))
	defer srv.Close()
	if _, err := Run(context.Background(), plan(t, srv.URL, "50/s", 200*time.Millisecond, time.Second), Options{}); err != nil {
		t.Fatal(err)
	}
	for i := range seen {
		if !seen[i].Load() {
			t.Errorf("request %d arrived without its sequence number", i)
		}
	}
}

// TestRecordCounts: every request with an HTTP response is a response,
// whatever became of it; every 3xx a redirect, the first Location kept;
// each class keeps its first message; a timeout is a total sample at the
// time it was given up, timed from its intended send; other failures are
// not samples.
func TestRecordCounts(t *testing.T) {
	rec := histogram.NewRecorder(10)
	r := newRecorder(rec, false)
	r.timeout = time.Second
	began := time.Unix(1000, 0)
	get := func(path string) *http.Request { return &http.Request{Method: "GET", URL: &url.URL{Path: path}} }
	at := func(ms int) time.Time { return began.Add(time.Duration(ms) * time.Millisecond) }
	for _, tr := range []*Trace{
		{Code: 200, Start: at(0), End: at(5)},
		{Code: 304, Start: at(10), End: at(11)}, // no Location
		{Code: 302, Location: "/login", Start: at(20), End: at(21)},
		{Code: 301, Location: "/elsewhere", Start: at(30), End: at(31)},
		{Code: 404, req: get("/serch"), Start: at(40), End: at(41)},
		{Code: 404, req: get("/other"), Start: at(50), End: at(51)},
		{Code: 200, Err: errNoData, Class: ClassProtocol, Start: at(60), End: at(61)},
		{Err: errors.New("dial tcp 127.0.0.1:1: connect: connection refused"), Class: ClassRefused, Start: at(70), End: at(70)},
		// Meant for 100ms, sent 400ms late, given up a second later.
		{Intended: 100 * time.Millisecond, Err: errTimeout, Class: ClassTimeout, req: get("/slow"), Start: at(500), End: at(1500)},
	} {
		r.record(tr, began)
	}
	c := rec.Counts
	if c.Sent != 9 || c.OK != 4 || c.Responses != 7 || c.Redirects != 3 || c.FirstLocation != "/login" {
		t.Errorf("sent %d, ok %d, responses %d, redirects %d to %q; want 9, 4, 7, 3 to /login",
			c.Sent, c.OK, c.Responses, c.Redirects, c.FirstLocation)
	}
	want := map[string]string{
		string(ClassHTTP4xx):  "404 Not Found on GET /serch",
		string(ClassProtocol): "200 OK event stream ended without a data event",
		string(ClassRefused):  "dial tcp 127.0.0.1:1: connect: connection refused",
		string(ClassTimeout):  "no complete response within target.timeout (1s) on GET /slow",
	}
	if !maps.Equal(c.FirstError, want) {
		t.Errorf("first messages %q, want %q", c.FirstError, want)
	}
	// Four successes and the timeout; its total runs from 100ms to 1.5s.
	if longest, n, _ := rec.Percentile(scenario.SourceTotal, 100); n != 5 || histogram.LowestEquivalent(longest) != histogram.LowestEquivalent(1400*time.Millisecond) {
		t.Errorf("%d total samples, the longest %v; want 5, the timeout's 1.4s", n, longest)
	}
	if longest, _, _ := rec.Percentile(scenario.SourceService, 100); histogram.LowestEquivalent(longest) != histogram.LowestEquivalent(time.Second) {
		t.Errorf("longest service %v, want the timeout's 1s", longest)
	}
}
