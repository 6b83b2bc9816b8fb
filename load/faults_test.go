package load

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tailgate-dev/tailgate/budget"
	"github.com/tailgate-dev/tailgate/scenario"
	"go.uber.org/goleak"
)

// faultPlan is a scenario against url: rate for d, with the given stream
// mode, request timeout and budget.
func faultPlan(t *testing.T, url, stream, rate string, d, timeout time.Duration, budgetYAML string) *scenario.Scenario {
	t.Helper()
	y := fmt.Sprintf("target: {url: %q, stream: %s, timeout: %s}\n", url, stream, timeout) +
		fmt.Sprintf("traffic: [{constant: {rate: %s, duration: %s}}]\n", rate, d) +
		"budget: " + budgetYAML + "\n"
	sc, err := scenario.Parse("faults.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// judge judges a real run without the saturation check: these tests are
// about what faults do to the verdict, not about how busy the machine is.
func judge(sc *scenario.Scenario, out *Outcome) *budget.Result {
	return budget.Judge(sc, budget.Measurement{Mode: "run", Rec: out.Rec, Planned: out.Planned,
		PlannedDuration: out.PlannedDuration, SendSpan: out.SendSpan, Elapsed: out.Elapsed, Interrupted: out.Interrupted})
}

// serverTimingSources lists the recorded server-timing:NAME sources.
func serverTimingSources(out *Outcome) []string {
	var st []string
	for _, s := range out.Rec.Sources() {
		if strings.HasPrefix(s, scenario.ServerTimingPrefix) {
			st = append(st, s)
		}
	}
	return st
}

// TestMalformedServerTiming: a Server-Timing header the parser cannot use
// neither fails the request nor invents a source; a header of thousands of
// metrics keeps a bounded number.
func TestMalformedServerTiming(t *testing.T) {
	var many strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&many, "m%d;dur=%d, ", i, i%50)
	}
	cases := []struct {
		name    string
		values  []string
		sources []string // server-timing sources expected, sorted
	}{
		{"garbage", []string{";;==,,;dur", `"";dur=1`, "@@@;dur=1, ;dur=5, db;dur=, app;dur=1e400x, x;dur=-3, y;dur=NaN, z;dur=0x10"}, nil},
		{"unterminated quote", []string{`db;desc="never closed;dur=5, cache;dur=1`}, nil},
		{"huge", []string{"db;desc=\"" + strings.Repeat("x", 200<<10) + "\";dur=7"}, []string{"server-timing:db"}},
		// A 100 KB name is a valid token, and kept as a source; whether it
		// should be is for the recorder to decide: only db is checked.
		{"huge name", []string{strings.Repeat("n", 100<<10) + ";dur=1, db;dur=2"}, nil},
		{"thousands of metrics", []string{many.String()}, nil},
		{"many headers", strings.Split(strings.Repeat("db;dur=1\n", 500), "\n"), []string{"server-timing:db"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for _, v := range tc.values {
					w.Header().Add("Server-Timing", v)
				}
				w.Write([]byte("ok"))
			}))
			defer srv.Close()
			sc := faultPlan(t, srv.URL, "none", "20/s", 500*time.Millisecond, 5*time.Second, "{total: {p99: 5s}}")
			out, err := Run(context.Background(), sc, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if c := out.Rec.Counts; c.OK != 10 || c.Errors != 0 {
				t.Fatalf("counts %+v: a bad Server-Timing header failed requests", c)
			}
			got := serverTimingSources(out)
			switch tc.name {
			case "thousands of metrics":
				if len(got) != maxMetrics {
					t.Errorf("%d sources from one header of 5000 metrics, want %d", len(got), maxMetrics)
				}
				return
			case "huge name":
				if _, n, _ := out.Rec.Percentile("server-timing:db", 50); n != 10 {
					t.Errorf("db: %d samples after a huge metric name, want 10", n)
				}
				return
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.sources) {
				t.Errorf("sources %v, want %v", got, tc.sources)
			}
		})
	}
}

// TestServerTimingControlCharacters: control characters in a header break
// HTTP itself (net/http refuses the response): each such request is one
// counted failure, and the run goes on.
func TestServerTimingControlCharacters(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if seq, _ := strconv.Atoi(r.Header.Get(seqHeader)); seq%2 == 0 {
			w.Header().Set("Server-Timing", "db;dur=1\x01\x02")
		}
	}))
	defer srv.Close()
	sc := faultPlan(t, srv.URL, "none", "20/s", 500*time.Millisecond, 5*time.Second, "{total: {p99: 5s}}")
	out, err := Run(context.Background(), sc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c := out.Rec.Counts; c.Sent != 10 || c.OK != 5 || c.Errors != 5 {
		t.Errorf("counts %+v, want 5 ok and 5 failed", c)
	}
	if st := serverTimingSources(out); len(st) != 0 {
		t.Errorf("sources %v from refused responses", st)
	}
}

// TestServerTimingNamesAreBounded: a server that names a metric after each
// request (a request ID, a cache key) must not grow one histogram per name:
// each costs ~190 KB, so a long run would run out of memory.
func TestServerTimingNamesAreBounded(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server-Timing", "req-"+r.Header.Get(seqHeader)+";dur=1, db;dur=2")
	}))
	defer srv.Close()
	sc := faultPlan(t, srv.URL, "none", "200/s", time.Second, 5*time.Second, "{database: {p99: 1s}}")
	out, err := Run(context.Background(), sc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(serverTimingSources(out)); n > 64 {
		t.Errorf("%d server-timing sources after 200 requests", n)
	}
	if _, n, _ := out.Rec.Percentile("server-timing:db", 50); n != 200 {
		t.Errorf("db: %d samples, want 200 (a budgeted metric is always kept)", n)
	}
}

// TestStreamCutMidEvent: a 200 whose event stream stops in the middle of an
// event is a failed request, whether the connection is dropped or the
// response ends cleanly, and none of its events are recorded as timings.
func TestStreamCutMidEvent(t *testing.T) {
	start := func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		w.Write([]byte("data: {\"token\":0}\n\ndata: {\"tok"))
		w.(http.Flusher).Flush()
	}
	cases := map[string]http.HandlerFunc{
		// Chunked encoding cut without its last chunk: unexpected EOF.
		"connection dropped": func(w http.ResponseWriter, r *http.Request) {
			start(w)
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
		},
		// The handler returns: the response ends cleanly, mid-line.
		"response ended": func(w http.ResponseWriter, r *http.Request) { start(w) },
	}
	for name, h := range cases {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(h)
			defer srv.Close()
			sc := faultPlan(t, srv.URL, "sse", "20/s", 250*time.Millisecond, 5*time.Second, "{ttft: {p99: 1s}}")
			out, err := Run(context.Background(), sc, Options{})
			if err != nil {
				t.Fatal(err)
			}
			c := out.Rec.Counts
			if c.Sent != 5 || c.OK != 0 || c.ByClass[string(ClassReset)] != 5 {
				t.Errorf("counts %+v, want 5 resets", c)
			}
			for _, src := range []string{scenario.SourceTTFT, scenario.SourceITL, scenario.SourceTotal} {
				if h := out.Rec.Histogram(src); h != nil && h.TotalCount() > 0 {
					t.Errorf("%s recorded for failed streams", src)
				}
			}
			// Nothing succeeded, but the target answered every request: it
			// broke, and the gate fails (exit 1), not "could not judge".
			if c.Responses != 5 {
				t.Errorf("%d responses, want the 5 streams that began", c.Responses)
			}
			if res := judge(sc, out); res.Verdict != budget.Fail {
				t.Errorf("verdict %s (%v), want fail", res.Verdict, res.Reasons)
			}
		})
	}
}

// faultServer answers streaming requests in one of six ways, chosen by the
// request's sequence number: a good stream with a malformed Server-Timing
// header, a 500, a connection reset, a hang past the timeout, a malformed
// stream (no event), and a stream closed mid-event.
func faultServer() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seq, _ := strconv.Atoi(r.Header.Get(seqHeader))
		switch seq % 6 {
		case 0:
			w.Header().Set("Server-Timing", `db;dur=3, ;;garbage"=, cache;dur=NaN`)
			w.Header().Set("Content-Type", "text/event-stream")
			w.Write([]byte("data: a\n\ndata: b\n\n"))
		case 1:
			w.WriteHeader(http.StatusInternalServerError)
		case 2:
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.(*net.TCPConn).SetLinger(0)
				conn.Close()
			}
		case 3:
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		case 4:
			w.Header().Set("Content-Type", "text/event-stream")
			w.Write([]byte(": only a comment\n\n"))
		case 5:
			w.Header().Set("Content-Type", "text/event-stream")
			w.Write([]byte("data: a\n\nda"))
			w.(http.Flusher).Flush()
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
		}
	}))
}

// TestFaultServer: a run against a target failing in every way goes on to
// the end, counts each failure in its class, records timings only of the
// requests that succeeded (and the total of those given up at the
// timeout), and is judged over budget (exit 1), not invalid.
func TestFaultServer(t *testing.T) {
	srv := faultServer()
	defer srv.Close()
	sc := faultPlan(t, srv.URL, "sse", "60/s", time.Second, 300*time.Millisecond,
		"{database: {p99: 1s}, total: {p99: 2s}, errors: 1%}")
	out, err := Run(context.Background(), sc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Rec.Counts
	want := map[string]int64{
		string(ClassHTTP5xx):  10,
		string(ClassReset):    20, // reset, and closed mid-event
		string(ClassTimeout):  10,
		string(ClassProtocol): 10,
	}
	if c.Sent != 60 || c.OK != 10 || c.Errors != 50 || fmt.Sprint(c.ByClass) != fmt.Sprint(want) {
		t.Errorf("counts %+v, want 60 sent, 10 ok, errors %v", c, want)
	}
	// The hangs count at the 300ms timeout they were given up at.
	if _, n, _ := out.Rec.Percentile(scenario.SourceTotal, 50); n != 20 {
		t.Errorf("%d total samples, want the 10 successes and the 10 timeouts", n)
	}
	if _, n, _ := out.Rec.Percentile("server-timing:db", 50); n != 10 {
		t.Errorf("%d database samples, want 10", n)
	}
	if st := serverTimingSources(out); len(st) != 1 {
		t.Errorf("server-timing sources %v, want only db", st)
	}
	res := judge(sc, out)
	if res.Verdict != budget.Fail {
		t.Fatalf("verdict %s (%v), want fail", res.Verdict, res.Reasons)
	}
	classes := map[string]int64{}
	for _, e := range res.Errors {
		classes[e.Class] = e.Count
	}
	if fmt.Sprint(classes) != fmt.Sprint(want) {
		t.Errorf("report's errors by class %v, want %v", classes, want)
	}
}

// TestHalfFailing: a target that fails every other request is over an
// error budget of 1% (fail, exit 1) and within one of 60% (pass); one that
// answers every request with a failure fails too (exit 1: it broke); only
// one that never answers gives no verdict (invalid, exit 3).
func TestHalfFailing(t *testing.T) {
	half := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if seq, _ := strconv.Atoi(r.Header.Get(seqHeader)); seq%2 == 1 {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer half.Close()
	all := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer all.Close()
	cases := []struct {
		name, url, budget string
		want              budget.Verdict
	}{
		{"over the error budget", half.URL, "{total: {p99: 2s}, errors: 1%}", budget.Fail},
		{"within the error budget", half.URL, "{total: {p99: 2s}, errors: 60%}", budget.Pass},
		{"nothing succeeds", all.URL, "{total: {p99: 2s}, errors: 1%}", budget.Fail},
		{"nothing answers", refusedURL(t), "{total: {p99: 2s}, errors: 100%}", budget.Invalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sc := faultPlan(t, tc.url, "none", "40/s", time.Second, 5*time.Second, tc.budget)
			out, err := Run(context.Background(), sc, Options{})
			if err != nil {
				t.Fatal(err)
			}
			res := judge(sc, out)
			if res.Verdict != tc.want {
				t.Errorf("verdict %s (%v), want %s; requests %+v", res.Verdict, res.Reasons, tc.want, res.Requests)
			}
			if res.Requests.Sent != 40 {
				t.Errorf("sent %d of 40: the run stopped early", res.Requests.Sent)
			}
		})
	}
}

// refusedURL is the URL of a port on which nothing listens.
func refusedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + "/"
}

// TestNothingOutlivesAnInterruptedRun: requests abandoned by an interrupted
// run, against a target that never answers, leave no goroutine behind once
// Run has returned and the target is gone.
func TestNothingOutlivesAnInterruptedRun(t *testing.T) {
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	sc := faultPlan(t, hang.URL, "sse", "50/s", 10*time.Second, 30*time.Second, "{total: {p99: 1s}}")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	out, err := Run(ctx, sc, Options{Drain: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	hang.Close()
	c := out.Rec.Counts
	if !out.Interrupted || c.Sent == 0 || c.ByClass[string(ClassAbandoned)] != c.Sent {
		t.Errorf("interrupted %v, counts %+v: every request should be abandoned", out.Interrupted, c)
	}
	goleak.VerifyNone(t)
}
