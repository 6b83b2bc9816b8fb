package load

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tailgate-dev/tailgate/histogram"
	"github.com/tailgate-dev/tailgate/scenario"
)

// hostileN is the number of requests each hostile case sends.
const hostileN = 5

// hostileDelay is how long a hostile server makes the first token wait
// after something that is not one.
const hostileDelay = 150 * time.Millisecond

// hostileCase is a server that misleads a client, and what tailgate must
// make of it. Every request of a case meets the same server, so every
// count is 0 or hostileN.
type hostileCase struct {
	name    string
	handler http.HandlerFunc
	// url, when set, is the target instead of a server running handler
	// (a port nothing listens on).
	url     func(t *testing.T) string
	path    string // appended to the server's URL
	stream  string // none (default) or sse
	timeout time.Duration
	budget  string // default {total: {p99: 5s}}

	ok      bool   // every request succeeds
	class   Class  // else every request fails with this class
	message string // and this first message; {addr} is the target's host:port
	// responses: every request got an HTTP response.
	responses bool
	location  string // every response is a redirect here ("" none)
	// ttft, itl: samples per request; ttftMin bounds ttft from below.
	ttft, itl int
	ttftMin   time.Duration
	// total: every request has a total sample, at least totalMin.
	total    bool
	totalMin time.Duration
	// metric, when set, is a source each request records once, at metricAt.
	metric   string
	metricAt time.Duration
	clamped  bool // each request's metric was clamped
}

// sseWrite writes a stream's pieces, flushing after each: the client sees
// each as it comes.
func sseWrite(w http.ResponseWriter, pieces ...string) {
	for _, p := range pieces {
		io.WriteString(w, p)
		w.(http.Flusher).Flush()
	}
}

// stream answers with an event stream: first, then after hostileDelay the
// rest.
func stream(first string, rest ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		sseWrite(w, first)
		time.Sleep(hostileDelay)
		sseWrite(w, rest...)
	}
}

// page answers with code and an HTML body, at Location loc when set.
func page(code int, loc string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if loc != "" {
			w.Header().Set("Location", loc)
		}
		w.WriteHeader(code)
		io.WriteString(w, "<html><body>"+strings.Repeat("page ", 200)+"</body></html>")
	}
}

// TestHostileServers runs each hostile server through both engines and
// checks what was measured and how it was classed: SSE events that carry
// no data are no tokens, a response that is no event stream (a page, a
// redirect) is a protocol failure with its reason, every status failure
// names its request, a hang is a latency sample at its timeout, a request
// without an answer is no response, and a Server-Timing metric too large
// or too far down its header is still recorded.
func TestHostileServers(t *testing.T) {
	var forty strings.Builder
	for i := range 39 {
		fmt.Fprintf(&forty, "m%d;dur=1, ", i)
	}
	forty.WriteString("db;dur=7")
	cases := []hostileCase{
		// A hostile server sent a ping at once and the first token 1.5 s
		// later: tailgate reported ttft 42 ms.
		{name: "event: ping, then data", stream: "sse",
			handler: stream("event: ping\n\n", "data: a\n\n", "data: b\n\n"),
			ok:      true, responses: true, ttft: 1, itl: 1, ttftMin: hostileDelay, total: true, totalMin: hostileDelay},
		{name: "comments only, then data", stream: "sse",
			handler: stream(": keep-alive\n\n:\n\n", "data: a\n\n"),
			ok:      true, responses: true, ttft: 1, ttftMin: hostileDelay, total: true},
		{name: "retry: and id: only events, then data", stream: "sse",
			handler: stream("retry: 1000\n\nid: 1\n\nid: 2\nretry: 5\n\n", "data: a\n\nid: 3\n\ndata: b\n\n"),
			ok:      true, responses: true, ttft: 1, itl: 1, ttftMin: hostileDelay, total: true},
		// Empty data is no token, at the start or between tokens: the one
		// gap runs from a to b.
		{name: "empty data events", stream: "sse",
			handler: stream("data:\n\ndata\n\n", "data: a\n\ndata:\n\nevent: x\ndata:\n\ndata: b\n\n"),
			ok:      true, responses: true, ttft: 1, itl: 1, ttftMin: hostileDelay, total: true},
		{name: "a stream without data", stream: "sse",
			handler: stream("event: ping\n\n: comment\n\n", "id: 1\n\ndata:\n\n"),
			class:   ClassProtocol, message: "200 OK event stream ended without a data event", responses: true},
		{name: "200 text/html on sse", stream: "sse", handler: page(http.StatusOK, ""),
			class: ClassProtocol, message: "200 OK with Content-Type text/html, not an event stream", responses: true},
		{name: "302 with a page on sse", stream: "sse", handler: page(http.StatusFound, "/login?next=%2Fchat"),
			class: ClassProtocol, message: "302 Found to /login?next=%2Fchat where an event stream was expected",
			responses: true, location: "/login?next=%2Fchat"},
		// Not followed, and a success as before, but counted. (On a target
		// that is no stream, ttft is the first body byte.)
		{name: "302 with a page", handler: page(http.StatusFound, "/login"),
			ok: true, responses: true, location: "/login", ttft: 1, total: true},
		{name: "404 on GET /serch", handler: page(http.StatusNotFound, ""), path: "/serch?q=tail%20latency",
			class: ClassHTTP4xx, message: "404 Not Found on GET /serch?q=tail%20latency", responses: true},
		{name: "404 on sse", stream: "sse", handler: page(http.StatusNotFound, ""), path: "/v1/chat",
			class: ClassHTTP4xx, message: "404 Not Found on GET /v1/chat", responses: true},
		{name: "500", handler: func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusInternalServerError) },
			class: ClassHTTP5xx, message: "500 Internal Server Error on GET /", responses: true},
		// Given up at the timeout: no response, a total of at least it.
		{name: "hang past timeout", timeout: 300 * time.Millisecond,
			handler: func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() },
			class:   ClassTimeout, message: "no complete response within target.timeout (300ms) on GET /",
			total: true, totalMin: 300 * time.Millisecond},
		// The stream began (a response) with a token, then hung: still no
		// ttft of a failed request, and a total at the timeout.
		{name: "stream hangs past timeout", stream: "sse", timeout: 300 * time.Millisecond,
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				sseWrite(w, "data: a\n\n")
				<-r.Context().Done()
			},
			class: ClassTimeout, message: "no complete response within target.timeout (300ms) on GET /",
			responses: true, total: true, totalMin: 300 * time.Millisecond},
		{name: "refused", url: refusedURL,
			class: ClassRefused, message: "dial tcp {addr}: connect: connection refused"},
		{name: "certificate not trusted", url: untrustedURL, class: ClassTLS,
			message: "tls: failed to verify certificate: x509: certificate signed by unknown authority"},
		{name: "reset before headers", handler: func(w http.ResponseWriter, r *http.Request) {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.(*net.TCPConn).SetLinger(0)
				conn.Close()
			}
		}, class: ClassReset},
		{name: "Server-Timing dur=1e12", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Server-Timing", "db;dur=1e12")
		}, ok: true, responses: true, total: true,
			metric: "server-timing:db", metricAt: time.Duration(histogram.HighestUS) * time.Microsecond, clamped: true},
		{name: "40 metrics, the budgeted one last", budget: "{database: {p99: 1s}}",
			handler: func(w http.ResponseWriter, r *http.Request) { w.Header().Set("Server-Timing", forty.String()) },
			ok:      true, responses: true, total: true, metric: "server-timing:db", metricAt: 7 * time.Millisecond},
	}
	for _, tc := range cases {
		for _, engine := range engines {
			t.Run(tc.name+"/"+string(engine), func(t *testing.T) {
				var url string
				if tc.url != nil {
					url = tc.url(t)
				} else {
					srv := httptest.NewServer(tc.handler)
					defer srv.Close()
					url = srv.URL + tc.path
				}
				out, err := Run(context.Background(), on(hostilePlan(t, url, tc), engine), Options{})
				if err != nil {
					t.Fatal(err)
				}
				checkHostile(t, tc, url, out)
			})
		}
	}
}

// untrustedURL is the URL of a TLS server whose certificate the client does
// not trust.
func untrustedURL(t *testing.T) string {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // its handshake errors are the point
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.URL
}

// hostilePlan sends hostileN requests to url, 50ms apart.
func hostilePlan(t *testing.T, url string, tc hostileCase) *scenario.Scenario {
	t.Helper()
	stream, timeout, budget := tc.stream, tc.timeout, tc.budget
	if stream == "" {
		stream = "none"
	}
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	if budget == "" {
		budget = "{total: {p99: 5s}}"
	}
	return faultPlan(t, url, stream, "20/s", hostileN*50*time.Millisecond, timeout, budget)
}

// checkHostile checks a hostile case's outcome.
func checkHostile(t *testing.T, tc hostileCase, url string, out *Outcome) {
	t.Helper()
	c := out.Rec.Counts
	all := func(b bool) int64 { return map[bool]int64{true: hostileN}[b] }
	if c.Sent != hostileN {
		t.Fatalf("sent %d, want %d", c.Sent, hostileN)
	}
	if tc.ok {
		if c.OK != hostileN || c.Errors != 0 {
			t.Errorf("ok %d, errors %v; want every request ok", c.OK, c.ByClass)
		}
	} else {
		if c.OK != 0 || c.ByClass[string(tc.class)] != hostileN || len(c.ByClass) != 1 {
			t.Errorf("ok %d, errors %v; want %d of class %q", c.OK, c.ByClass, hostileN, tc.class)
		}
		want := strings.ReplaceAll(tc.message, "{addr}", strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/"))
		if got := c.FirstError[string(tc.class)]; tc.message != "" && got != want {
			t.Errorf("first %s message %q, want %q", tc.class, got, want)
		}
		if got := c.FirstError[string(tc.class)]; got == "" {
			t.Errorf("no first message for %s", tc.class)
		}
	}
	if c.Responses != all(tc.responses) {
		t.Errorf("%d responses, want %d", c.Responses, all(tc.responses))
	}
	if c.Redirects != all(tc.location != "") || c.FirstLocation != tc.location {
		t.Errorf("%d redirects, first to %q; want %d to %q", c.Redirects, c.FirstLocation, all(tc.location != ""), tc.location)
	}
	samples := func(src string) int64 {
		if h := out.Rec.Histogram(src); h != nil {
			return h.TotalCount()
		}
		return 0
	}
	if n := samples(scenario.SourceTTFT); n != int64(tc.ttft)*hostileN {
		t.Errorf("%d ttft samples, want %d", n, tc.ttft*hostileN)
	}
	if n := samples(scenario.SourceITL); n != int64(tc.itl)*hostileN {
		t.Errorf("%d itl samples, want %d", n, tc.itl*hostileN)
	}
	if low, _, ok := out.Rec.Percentile(scenario.SourceTTFT, 0); ok && low < tc.ttftMin {
		t.Errorf("ttft minimum %v, below the %v the first token took", low, tc.ttftMin)
	}
	for _, src := range []string{scenario.SourceTotal, scenario.SourceService} {
		if n := samples(src); n != all(tc.total) {
			t.Errorf("%d %s samples, want %d", n, src, all(tc.total))
		}
	}
	if low, _, ok := out.Rec.Percentile(scenario.SourceTotal, 0); ok && low < tc.totalMin {
		t.Errorf("total minimum %v, want at least %v", low, tc.totalMin)
	}
	if tc.metric != "" {
		low, n, _ := out.Rec.Percentile(tc.metric, 0)
		high, _, _ := out.Rec.Percentile(tc.metric, 100)
		want := histogram.LowestEquivalent(tc.metricAt)
		if n != hostileN || histogram.LowestEquivalent(low) != want || histogram.LowestEquivalent(high) != want {
			t.Errorf("%s: %d samples from %v to %v, want %d at %v", tc.metric, n, low, high, hostileN, tc.metricAt)
		}
	}
	if c.Clamped != all(tc.clamped) {
		t.Errorf("%d samples clamped, want %d", c.Clamped, all(tc.clamped))
	}
}

// TestGivenUpFromIntendedSend: a request given up at its timeout is a total
// sample from its intended send, like any other. One worker at a time
// meets a target that never answers: each request waits for the previous
// one's 200ms timeout, so goes out later and later, and its total (from the
// intended send) grows by that lag, while its service time (from the
// actual send) stays at the timeout.
func TestGivenUpFromIntendedSend(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer srv.Close()
	const timeout = 200 * time.Millisecond
	for _, engine := range engines {
		t.Run(string(engine), func(t *testing.T) {
			sc := faultPlan(t, srv.URL, "none", "20/s", hostileN*50*time.Millisecond, timeout, "{total: {p99: 5s}}")
			out, err := Run(context.Background(), on(sc, engine), Options{MaxWorkers: 1})
			if err != nil {
				t.Fatal(err)
			}
			if got := out.Rec.Counts.ByClass[string(ClassTimeout)]; got != hostileN {
				t.Fatalf("%d timeouts, want %d (%+v)", got, hostileN, out.Rec.Counts)
			}
			// The last request, meant for 200ms, goes out after four
			// timeouts (800ms) and is given up at 1s: a total of 800ms.
			total, n, _ := out.Rec.Percentile(scenario.SourceTotal, 100)
			service, _, _ := out.Rec.Percentile(scenario.SourceService, 0)
			if n != hostileN || total < 4*timeout || service < timeout {
				t.Errorf("%d total samples, the longest %v; shortest service %v; want %d, at least %v and %v",
					n, total, service, hostileN, 4*timeout, timeout)
			}
		})
	}
}

// TestAbandonedAreSamples: requests still in flight when an interrupted run
// stops waiting are counted abandoned, with their first message, and are
// total samples at the time they were given up.
func TestAbandonedAreSamples(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer srv.Close()
	for _, engine := range engines {
		t.Run(string(engine), func(t *testing.T) {
			sc := faultPlan(t, srv.URL, "sse", "50/s", 10*time.Second, 30*time.Second, "{total: {p99: 1s}}")
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			out, err := Run(ctx, on(sc, engine), Options{Drain: 200 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			c := out.Rec.Counts
			if !out.Interrupted || c.Sent == 0 || c.ByClass[string(ClassAbandoned)] != c.Sent {
				t.Fatalf("interrupted %v, counts %+v: every request should be abandoned", out.Interrupted, c)
			}
			if got := c.FirstError[string(ClassAbandoned)]; got != errAbandoned.Error() {
				t.Errorf("first message %q, want %q", got, errAbandoned.Error())
			}
			// The first request went out at the start and was given up
			// after the 300ms run and the 200ms drain.
			longest, n, _ := out.Rec.Percentile(scenario.SourceTotal, 100)
			if n != c.Sent || longest < 400*time.Millisecond {
				t.Errorf("%d total samples of %d sent, the longest %v; want all, at least 400ms", n, c.Sent, longest)
			}
		})
	}
}
