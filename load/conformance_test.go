package load

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tailgate-dev/tailgate/scenario"
	"github.com/tailgate-dev/tailgate/schedule"
)

// conformCase is one way a server can behave, and what a client must make
// of it: every request's class ("ok" for a success), and for successes how
// long one takes at least.
type conformCase struct {
	name string
	// serve starts a server for one client and returns its URL, and the
	// TLS configuration that trusts it (nil: the system's roots).
	serve   func(t *testing.T) (string, *tls.Config)
	method  string            // GET when empty
	body    int               // request body size, in bytes
	header  map[string]string // request headers
	rate    string            // requests per second
	n       int               // requests sent, rate apart
	timeout time.Duration     // target.timeout; 2s when zero
	want    map[string]int64  // requests by class
	slow    time.Duration     // a success takes at least this long
	// heap cases run alone, and the heap may not grow by more than
	// maxHeapGrowth while they do.
	heap bool
}

// maxHeapGrowth bounds the heap during a run against a server sending an
// endless header line: without a limit on response heads, a client grows
// by hundreds of megabytes a second.
const maxHeapGrowth = 64 << 20

// conformClients are the clients each case is run through: tailgate's two
// engines, driven by load.Run, and net/http as its users call it, the
// reference.
var conformClients = []string{"native", "net/http", "vegeta"}

// TestConformance holds tailgate's own HTTP/1.1 client (the native engine)
// to net/http's behaviour against servers that misbehave in every way one
// can: for each case, the native engine, a plain net/http client and the
// vegeta engine must see each request the same way (its class), and
// successes take the same time within a tolerance.
func TestConformance(t *testing.T) {
	ok := func(n int64) map[string]int64 { return map[string]int64{"ok": n} }
	failed := func(c Class, n int64) map[string]int64 { return map[string]int64{string(c): n} }
	const postBody = 64
	cases := []conformCase{
		{name: "keep-alive POST, 30ms answers", serve: handler(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			time.Sleep(30 * time.Millisecond)
			w.Write([]byte("ok"))
		}), method: "POST", body: postBody, rate: "20/s", n: 4, want: ok(4), slow: 30 * time.Millisecond},

		// A stock server closes a connection idle longer than its
		// keep-alive timeout: the next POST must not find it dead.
		{name: "idle timeout 50ms, POSTs 125ms apart", serve: idleTimeoutServer(false),
			method: "POST", body: postBody, rate: "8/s", n: 5, want: ok(5)},
		{name: "idle timeout 50ms over TLS, POSTs 125ms apart", serve: idleTimeoutServer(true),
			method: "POST", body: postBody, rate: "8/s", n: 5, want: ok(5)},
		{name: "closes after each response without saying so", serve: rawHandler(func(i int, c net.Conn) bool {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			return false
		}), method: "POST", body: postBody, rate: "10/s", n: 4, want: ok(4)},
		{name: "closes after each response over TLS", serve: func(t *testing.T) (string, *tls.Config) {
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c, _, err := w.(http.Hijacker).Hijack()
				if err != nil {
					return
				}
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
				c.Close() // close_notify, then the TCP close
			}))
			srv.StartTLS()
			t.Cleanup(srv.Close)
			return srv.URL, srv.Client().Transport.(*http.Transport).TLSClientConfig
		}, method: "POST", body: postBody, rate: "10/s", n: 4, want: ok(4)},
		// A 408 on an idle connection means the server is closing it
		// (net/http's is408Message); this one leaves the socket open.
		{name: "408 on an idle connection", serve: rawHandler(func(i int, c net.Conn) bool {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			time.Sleep(20 * time.Millisecond)
			io.WriteString(c, "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
			drain(c)
			return false
		}), method: "POST", body: postBody, rate: "10/s", n: 4, want: ok(4)},
		// A response nobody asked for must not answer the next request.
		{name: "unsolicited second response", serve: rawHandler(func(i int, c net.Conn) bool {
			time.Sleep(150 * time.Millisecond)
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			time.Sleep(20 * time.Millisecond)
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nextra")
			return true
		}), rate: "4/s", n: 4, want: ok(4), slow: 150 * time.Millisecond},
		// The connection dies as the second request on it goes out: sent
		// again when it is replayable, failed when the server may have
		// acted on it (net/http's shouldRetryRequest).
		// 250ms apart, so that each request finds the previous one's
		// connection idle even on a busy machine (a request sent while the
		// last is in flight opens a connection of its own, and the count of
		// resets changes with it).
		{name: "second GET on a connection unanswered", serve: closesOnSecond(),
			rate: "4/s", n: 5, want: ok(5)},
		{name: "second POST on a connection unanswered", serve: closesOnSecond(),
			method: "POST", body: postBody, rate: "4/s", n: 5, want: map[string]int64{"ok": 3, string(ClassReset): 2}},
		{name: "second POST with Idempotency-Key unanswered", serve: closesOnSecond(),
			method: "POST", body: postBody, header: map[string]string{"Idempotency-Key": "k"}, rate: "4/s", n: 5, want: ok(5)},
		{name: "endless header line", serve: rawHandler(func(i int, c net.Conn) bool {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nX-Endless: ")
			line := bytes.Repeat([]byte("a"), 64<<10)
			for {
				if _, err := c.Write(line); err != nil {
					return false
				}
			}
		}), rate: "10/s", n: 3, want: failed(ClassProtocol, 3), heap: true},
		// The server answers before reading the body, and stops reading:
		// the answer is the result, not a write blocked until a reset.
		{name: "413 before an 8 MiB body is read", serve: rawServerFunc(func(c net.Conn) {
			if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
				return
			}
			io.WriteString(c, "HTTP/1.1 413 Content Too Large\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
			// The close (a reset: the body is unread) must come well after
			// the answer: net/http returns whichever it sees first, and a
			// busy machine (the race detector, every package at once) once
			// took more than 300ms to read the answer.
			time.Sleep(time.Second)
		}), method: "POST", body: 8 << 20, rate: "10/s", n: 3, want: failed(ClassHTTP4xx, 3)},
		{name: "101 to a request that asked for no upgrade", serve: rawHandler(func(i int, c net.Conn) bool {
			io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: tailgate-test\r\nConnection: Upgrade\r\n\r\n")
			return false
		}), rate: "20/s", n: 4, want: failed(ClassProtocol, 4)},
		{name: "status 999", serve: rawHandler(func(i int, c net.Conn) bool {
			io.WriteString(c, "HTTP/1.1 999 Nine\r\nContent-Length: 2\r\n\r\nok")
			return true
		}), rate: "20/s", n: 4, want: failed(ClassProtocol, 4)},
		{name: "Host header names the host", serve: handler(func(w http.ResponseWriter, r *http.Request) {
			if r.Host != "tailgate.test" {
				w.WriteHeader(http.StatusMisdirectedRequest)
			}
		}), header: map[string]string{"Host": "tailgate.test"}, rate: "20/s", n: 4, want: ok(4)},
		{name: "Connection: close", serve: rawHandler(func(i int, c net.Conn) bool {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok")
			return false
		}), rate: "20/s", n: 4, want: ok(4)},
		{name: "HTTP/1.0 body ended by close", serve: rawHandler(func(i int, c net.Conn) bool {
			io.WriteString(c, "HTTP/1.0 200 OK\r\n\r\nhello")
			return false
		}), rate: "20/s", n: 4, want: ok(4)},
		{name: "reset mid-body", serve: rawHandler(func(i int, c net.Conn) bool {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nok")
			time.Sleep(10 * time.Millisecond)
			c.(*net.TCPConn).SetLinger(0)
			return false
		}), rate: "20/s", n: 4, want: failed(ClassReset, 4)},
		{name: "closed mid-body", serve: rawHandler(func(i int, c net.Conn) bool {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nok")
			return false
		}), rate: "20/s", n: 4, want: failed(ClassReset, 4)},
		{name: "chunked body cut", serve: rawHandler(func(i int, c net.Conn) bool {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n")
			return false
		}), rate: "20/s", n: 4, want: failed(ClassReset, 4)},
		{name: "reset before answering", serve: rawHandler(func(i int, c net.Conn) bool {
			c.(*net.TCPConn).SetLinger(0)
			return false
		}), rate: "20/s", n: 4, want: failed(ClassReset, 4)},
		{name: "500", serve: status(http.StatusInternalServerError), rate: "20/s", n: 4, want: failed(ClassHTTP5xx, 4)},
		{name: "503", serve: status(http.StatusServiceUnavailable), rate: "20/s", n: 4, want: failed(ClassHTTP5xx, 4)},
		{name: "404", serve: status(http.StatusNotFound), rate: "20/s", n: 4, want: failed(ClassHTTP4xx, 4)},
		{name: "hangs past the timeout", serve: handler(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(3 * time.Second):
			}
		}), rate: "20/s", n: 4, timeout: 300 * time.Millisecond, want: failed(ClassTimeout, 4)},
		{name: "body stalls past the timeout", serve: handler(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "10")
			w.Write([]byte("ok"))
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
			case <-time.After(3 * time.Second):
			}
		}), rate: "20/s", n: 4, timeout: 300 * time.Millisecond, want: failed(ClassTimeout, 4)},
		{name: "untrusted certificate", serve: func(t *testing.T) (string, *tls.Config) {
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
			srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake errors are the point
			srv.StartTLS()
			t.Cleanup(srv.Close)
			return srv.URL, nil
		}, rate: "20/s", n: 4, want: failed(ClassTLS, 4)},
		{name: "refused", serve: func(t *testing.T) (string, *tls.Config) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			ln.Close()
			return "http://" + ln.Addr().String(), nil
		}, rate: "20/s", n: 4, want: failed(ClassRefused, 4)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !tc.heap {
				t.Parallel()
			}
			got := make(map[string]clientResult, len(conformClients))
			run := func() {
				var mu sync.Mutex
				var wg sync.WaitGroup
				for _, client := range conformClients {
					url, cfg := tc.serve(t)
					sc := conformScenario(t, client, url, tc)
					wg.Go(func() {
						r := runClient(t, client, sc, cfg)
						mu.Lock()
						got[client] = r
						mu.Unlock()
					})
				}
				wg.Wait()
			}
			if tc.heap {
				grew := heapGrowth(run)
				t.Logf("the heap grew by %.1f MiB at most", float64(grew)/(1<<20))
				if grew > maxHeapGrowth {
					t.Errorf("the heap grew by %d MiB, want under %d", grew>>20, maxHeapGrowth>>20)
				}
			} else {
				run()
			}
			ref := got["net/http"]
			for _, client := range conformClients {
				r := got[client]
				t.Logf("%s: %v, median success %v", client, r.classes, r.service)
				if !maps.Equal(r.classes, tc.want) {
					t.Errorf("%s: requests by class %v, want %v", client, r.classes, tc.want)
				}
				if tc.want["ok"] == 0 || r.classes["ok"] == 0 {
					continue
				}
				if r.service < tc.slow {
					t.Errorf("%s: a success took %v (median), less than the server's %v", client, r.service, tc.slow)
				}
				if d := r.service - ref.service; d > timingTolerance(ref.service) || -d > timingTolerance(ref.service) {
					t.Errorf("%s: a success took %v (median), net/http %v", client, r.service, ref.service)
				}
			}
		})
	}
}

// timingTolerance is how far a median of successes may be from net/http's
// ref: a scheduler's hiccup on a busy machine, or half of ref.
func timingTolerance(ref time.Duration) time.Duration { return 40*time.Millisecond + ref/2 }

// clientResult is what one client made of a case.
type clientResult struct {
	classes map[string]int64 // requests by class, "ok" for successes
	service time.Duration    // the median success, from send to last byte
}

// conformScenario is tc's scenario against url, for client.
func conformScenario(t *testing.T, client, url string, tc conformCase) *scenario.Scenario {
	t.Helper()
	engine := client
	if client == "net/http" {
		engine = "native" // only the target and the plan are used
	}
	timeout := tc.timeout
	if timeout == 0 {
		timeout = 2 * time.Second
	}
	var header []string
	for _, k := range slices.Sorted(maps.Keys(tc.header)) {
		header = append(header, fmt.Sprintf("%q: %q", k, tc.header[k]))
	}
	rate, err := scenario.ParseRate(tc.rate)
	if err != nil {
		t.Fatal(err)
	}
	d := time.Duration(float64(tc.n) / float64(rate) * float64(time.Second))
	y := fmt.Sprintf("engine: %s\n", engine) +
		fmt.Sprintf("target: {url: %q, method: %s, timeout: %s, headers: {%s}}\n", url, cmp.Or(tc.method, "GET"), timeout, strings.Join(header, ", ")) +
		fmt.Sprintf("traffic: [{constant: {rate: %s, duration: %s}}]\n", tc.rate, d) +
		"budget: {total: {p99: 10s}}\n"
	sc, err := scenario.Parse("conformance.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	// Set after parsing: a body of megabytes need not go through YAML.
	sc.Target.Body = strings.Repeat("x", tc.body)
	if n := schedule.Of(sc).Requests(); n != int64(tc.n) {
		t.Fatalf("the plan sends %d requests, want %d", n, tc.n)
	}
	return sc
}

// runClient runs sc through client.
func runClient(t *testing.T, client string, sc *scenario.Scenario, cfg *tls.Config) clientResult {
	if client == "net/http" {
		return runNetHTTP(sc, cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := Run(ctx, sc, Options{TLSConfig: cfg})
	if err != nil {
		t.Errorf("%s: %v", client, err)
		return clientResult{}
	}
	if out.Engine != scenario.Engine(client) {
		t.Errorf("%s: the run used engine %q", client, out.Engine)
	}
	c := out.Rec.Counts
	r := clientResult{classes: maps.Clone(c.ByClass)}
	if c.OK > 0 {
		r.classes["ok"] = c.OK
		r.service, _, _ = out.Rec.Percentile(scenario.SourceService, 50)
	}
	return r
}

// runNetHTTP sends sc's plan with net/http as its users call it: a client
// with a transport like the default one (compression off, as tailgate's,
// and the same limit on response heads), redirects not followed, the
// request's Host taken from a Host header. Each request is classed by
// Classify and the run's status rule.
func runNetHTTP(sc *scenario.Scenario, cfg *tls.Config) clientResult {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.DisableCompression = true
	tr.MaxResponseHeaderBytes = maxResponseHeaderBytes
	tr.TLSClientConfig = cfg
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: sc.Target.Timeout.D(),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	sched := schedule.Of(sc)
	cur := sched.Cursor()
	n := int(sched.Requests())
	classes := make([]Class, n)
	took := make([]time.Duration, n)
	began := time.Now()
	var wg sync.WaitGroup
	for i := range n {
		time.Sleep(time.Until(began.Add(cur.At(int64(i)))))
		wg.Go(func() {
			var body io.Reader
			if sc.Target.Body != "" {
				body = strings.NewReader(sc.Target.Body)
			}
			req, err := http.NewRequest(sc.Target.Method, sc.Target.URL, body)
			if err != nil {
				classes[i] = ClassOther
				return
			}
			for k, v := range sc.Target.Headers {
				req.Header.Set(k, v)
			}
			if h := req.Header.Get("Host"); h != "" {
				req.Host = h
			}
			req.Header.Set(seqHeader, strconv.Itoa(i))
			start := time.Now()
			res, err := client.Do(req)
			tr := &Trace{}
			if err == nil {
				tr.Code = res.StatusCode
				_, err = io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
			if err != nil {
				tr.Err, tr.Class = err, Classify(err)
			}
			classes[i], took[i] = tr.failure(), time.Since(start)
		})
	}
	wg.Wait()
	r := clientResult{classes: map[string]int64{}}
	var oks []time.Duration
	for i, c := range classes {
		if c == "" {
			r.classes["ok"]++
			oks = append(oks, took[i])
			continue
		}
		r.classes[string(c)]++
	}
	if len(oks) > 0 {
		slices.Sort(oks)
		r.service = oks[(len(oks)-1)/2]
	}
	return r
}

// heapGrowth runs run and returns by how much the heap grew above where it
// started, at its highest (sampled every millisecond).
func heapGrowth(run func()) uint64 {
	runtime.GC()
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	base := s[0].Value.Uint64()
	peak := base
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(s)
			peak = max(peak, s[0].Value.Uint64())
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	run()
	close(stop)
	<-stopped
	return peak - base
}

// handler serves h over HTTP.
func handler(h http.HandlerFunc) func(t *testing.T) (string, *tls.Config) {
	return func(t *testing.T) (string, *tls.Config) {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return srv.URL, nil
	}
}

// status answers every request with code.
func status(code int) func(t *testing.T) (string, *tls.Config) {
	return handler(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(code) })
}

// idleTimeoutServer is a stock server that closes connections idle for
// 50ms, over TLS when asked.
func idleTimeoutServer(overTLS bool) func(t *testing.T) (string, *tls.Config) {
	return func(t *testing.T) (string, *tls.Config) {
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.Write([]byte("ok"))
		}))
		srv.Config.IdleTimeout = 50 * time.Millisecond
		var cfg *tls.Config
		if overTLS {
			srv.StartTLS()
			cfg = srv.Client().Transport.(*http.Transport).TLSClientConfig
		} else {
			srv.Start()
		}
		t.Cleanup(srv.Close)
		return srv.URL, cfg
	}
}

// rawServerFunc serves each connection with serve, on a raw TCP server.
func rawServerFunc(serve func(net.Conn)) func(t *testing.T) (string, *tls.Config) {
	return func(t *testing.T) (string, *tls.Config) { return rawServer(t, serve), nil }
}

// rawHandler reads each request on a connection and has answer write the
// response to the i-th (from 0); the connection is closed when answer
// returns false, or after two seconds without a request.
func rawHandler(answer func(i int, c net.Conn) bool) func(t *testing.T) (string, *tls.Config) {
	return rawServerFunc(func(c net.Conn) {
		br := bufio.NewReader(c)
		for i := 0; ; i++ {
			c.SetReadDeadline(time.Now().Add(2 * time.Second))
			if _, err := readRequest(br); err != nil {
				return
			}
			if !answer(i, c) {
				return
			}
		}
	})
}

// closesOnSecond answers the first request on each connection, and closes
// the connection when the second has been read, without answering it.
func closesOnSecond() func(t *testing.T) (string, *tls.Config) {
	return rawHandler(func(i int, c net.Conn) bool {
		if i > 0 {
			return false
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		return true
	})
}

// drain reads c until the client closes it, or for two seconds at most.
func drain(c net.Conn) {
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	io.Copy(io.Discard, c)
}
