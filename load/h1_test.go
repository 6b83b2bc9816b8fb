package load

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// rawServer accepts connections on loopback and hands each to serve.
func rawServer(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				serve(c)
			})
		}
	})
	return "http://" + ln.Addr().String()
}

// readRequest reads one request head and body from br, returning its bytes.
func readRequest(br *bufio.Reader) ([]byte, error) {
	var raw bytes.Buffer
	req, err := http.ReadRequest(bufio.NewReader(io.TeeReader(br, &raw)))
	if err != nil {
		return nil, err
	}
	io.Copy(io.Discard, req.Body)
	return raw.Bytes(), nil
}

// The bytes on the wire are net/http's: a worker's own connection sends
// exactly what the transport would, sequence number included.
func TestH1SendsWhatNetHTTPSends(t *testing.T) {
	got := make(chan []byte, 4)
	url := rawServer(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			raw, err := readRequest(br)
			if err != nil {
				return
			}
			got <- raw
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	for _, tc := range []struct{ method, body string }{{"GET", ""}, {"POST", `{"q":"a b"}`}, {"POST", ""}} {
		header := http.Header{"Authorization": {"Bearer x"}, "Content-Type": {"application/json"}}
		tm, err := newTemplate(tc.method, url+"/v1/x?y=1", header, []byte(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		base := &http.Transport{DisableCompression: true}
		tr := &transport{base: base, watch: newWatchdog(time.Minute), now: time.Now}
		viaNet := tr.send(tm, job{seq: 42}, nil, nil)
		base.CloseIdleConnections()
		if viaNet.Err != nil {
			t.Fatal(viaNet.Err)
		}
		want := <-got
		cl, err := newH1Client(tm, (&net.Dialer{}).DialContext, nil, nil)
		if err != nil || cl == nil {
			t.Fatalf("newH1Client: %v, %v", cl, err)
		}
		c := cl.get()
		viaH1 := tr.send(tm, job{seq: 42}, c, nil)
		c.close()
		if viaH1.Err != nil || viaH1.Code != 200 {
			t.Fatalf("%s: %v, code %d", tc.method, viaH1.Err, viaH1.Code)
		}
		if h1 := <-got; !bytes.Equal(h1, want) {
			t.Errorf("%s %q: own connection sent\n%q\nnet/http sent\n%q", tc.method, tc.body, h1, want)
		}
	}
}

// Responses in every framing HTTP/1.1 allows are read whole, and the
// connection is kept only when it can serve again.
func TestH1Framing(t *testing.T) {
	responses := map[string]string{
		"length":   "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"chunked":  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhe\r\n3\r\nllo\r\n0\r\n\r\n",
		"1xx":      "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"close":    "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello",
		"http1.0":  "HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"to-eof":   "HTTP/1.1 200 OK\r\n\r\nhello",
		"timing":   "HTTP/1.1 200 OK\r\nServer-Timing: db;dur=2.5\r\nContent-Length: 5\r\n\r\nhello",
		"no-body":  "HTTP/1.1 204 No Content\r\n\r\n",
		"5xx":      "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy",
		"redirect": "HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n",
	}
	keeps := map[string]bool{"length": true, "chunked": true, "1xx": true, "timing": true, "no-body": true, "5xx": true, "redirect": true}
	for name, resp := range responses {
		t.Run(name, func(t *testing.T) {
			var conns sync.WaitGroup
			accepted := make(chan struct{}, 10)
			url := rawServer(t, func(c net.Conn) {
				conns.Add(1)
				defer conns.Done()
				accepted <- struct{}{}
				br := bufio.NewReader(c)
				for {
					if _, err := readRequest(br); err != nil {
						return
					}
					io.WriteString(c, resp)
					if !keeps[name] {
						return
					}
				}
			})
			tm, _ := newTemplate("GET", url, http.Header{}, nil)
			cl, _ := newH1Client(tm, (&net.Dialer{}).DialContext, nil, nil)
			c := cl.get()
			defer c.close()
			tr := &transport{watch: newWatchdog(time.Minute), now: time.Now}
			for i := range 2 {
				got := tr.send(tm, job{seq: uint64(i)}, c, nil)
				if got.Err != nil {
					t.Fatalf("request %d: %v", i, got.Err)
				}
				if got.End.IsZero() || got.First.IsZero() && got.Code != 204 && got.Code != 302 {
					t.Errorf("request %d: body not timed: %+v", i, got)
				}
				if name == "timing" && (len(got.Metrics) != 1 || got.Metrics[0].Dur != 2500*time.Microsecond) {
					t.Errorf("Server-Timing %v, want db 2.5ms", got.Metrics)
				}
				if want := i == 0 || !keeps[name]; got.NewConn != want {
					t.Errorf("request %d: new connection %v, want %v", i, got.NewConn, want)
				}
			}
			if want := map[bool]int{true: 1, false: 2}[keeps[name]]; len(accepted) != want {
				t.Errorf("%d connections for 2 requests, want %d", len(accepted), want)
			}
		})
	}
}

// hiddenSocket hides its connection's socket, as a connection type h1 does
// not know would: usable falls back to a read with a deadline.
type hiddenSocket struct{ net.Conn }

func hideSocket(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return hiddenSocket{c}, nil
	}
}

// An idle connection is checked before it serves again: one the server
// closed, reset or wrote to while it was idle is closed and the request
// goes on a new one, so even a POST, which is never sent twice, does not
// fail; a connection the server keeps is reused. Either when h1 can look at
// the socket, or when a goroutine must read the idle connection.
func TestH1IdleConnectionChecked(t *testing.T) {
	answer := "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	idle := map[string]func(c net.Conn){
		"closed": func(c net.Conn) {},
		"reset":  func(c net.Conn) { c.(*net.TCPConn).SetLinger(0) },
		"408": func(c net.Conn) {
			io.WriteString(c, "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
			drain(c)
		},
		"unsolicited": func(c net.Conn) {
			io.WriteString(c, answer)
			drain(c)
		},
		"kept": nil, // answers every request
	}
	dialers := map[string]func(ctx context.Context, network, addr string) (net.Conn, error){
		"socket":   (&net.Dialer{}).DialContext,
		"deadline": hideSocket((&net.Dialer{}).DialContext),
	}
	for name, then := range idle {
		for dname, dial := range dialers {
			t.Run(name+"/"+dname, func(t *testing.T) {
				url := rawServer(t, func(c net.Conn) {
					br := bufio.NewReader(c)
					for {
						if _, err := readRequest(br); err != nil {
							return
						}
						io.WriteString(c, answer)
						if then != nil {
							time.Sleep(5 * time.Millisecond) // after the client has read the answer
							then(c)
							return
						}
					}
				})
				tm, _ := newTemplate("POST", url, http.Header{}, []byte(`{"q":1}`))
				cl, _ := newH1Client(tm, dial, nil, nil)
				defer cl.closeIdle()
				tr := &transport{watch: newWatchdog(time.Minute), now: time.Now}
				for i := range 3 {
					c := cl.get()
					got := tr.send(tm, job{seq: uint64(i)}, c, nil)
					if want := i == 0 || then != nil; got.Err != nil || got.Code != 200 || got.NewConn != want {
						t.Fatalf("request %d: err %v, code %d, new connection %v; want 200, new connection %v", i, got.Err, got.Code, got.NewConn, want)
					}
					cl.put(c, got.End)
					time.Sleep(30 * time.Millisecond) // idle: the server's close or bytes arrive
				}
			})
		}
	}
}

// A request is sent again on a new connection by net/http's rule: when the
// kept-alive connection took none of it, whatever the request; when it
// took the request and closed without a byte of answer, only if the
// request is replayable (an idempotent method, or an idempotency key),
// bodies included; never when the answer had begun.
func TestH1Retry(t *testing.T) {
	answer := "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	// unanswered answers the first request on a connection and closes it
	// on reading the second.
	unanswered := func(c net.Conn) {
		br := bufio.NewReader(c)
		if _, err := readRequest(br); err != nil {
			return
		}
		io.WriteString(c, answer)
		readRequest(br)
	}
	// cut answers the second request on a connection in part.
	cut := func(c net.Conn) {
		br := bufio.NewReader(c)
		for i := 0; ; i++ {
			if _, err := readRequest(br); err != nil {
				return
			}
			if i == 1 {
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n")
				return
			}
			io.WriteString(c, answer)
		}
	}
	keeps := func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			if _, err := readRequest(br); err != nil {
				return
			}
			io.WriteString(c, answer)
		}
	}
	body := []byte(`{"q":1}`)
	for _, tc := range []struct {
		name   string
		method string
		header http.Header
		serve  func(net.Conn)
		// unwritable: the second request's write fails before any byte.
		unwritable bool
		want       Class // of the second request on a connection
	}{
		{"GET unanswered", "GET", nil, unanswered, false, ""},
		{"GET with a body unanswered", "GET", nil, unanswered, false, ""},
		{"POST unanswered", "POST", nil, unanswered, false, ClassReset},
		{"PUT unanswered", "PUT", nil, unanswered, false, ClassReset},
		{"POST with Idempotency-Key unanswered", "POST", http.Header{"Idempotency-Key": {"k"}}, unanswered, false, ""},
		{"POST with X-Idempotency-Key unanswered", "POST", http.Header{"X-Idempotency-Key": {"k"}}, unanswered, false, ""},
		{"POST unwritten", "POST", nil, keeps, true, ""},
		{"GET answered in part", "GET", nil, cut, false, ClassReset},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := rawServer(t, tc.serve)
			var b []byte
			if tc.method != "GET" || strings.Contains(tc.name, "body") {
				b = body
			}
			header := tc.header
			if header == nil {
				header = http.Header{}
			}
			tm, _ := newTemplate(tc.method, url, header, b)
			dial := (&net.Dialer{}).DialContext
			if tc.unwritable {
				dial = failSecondWrite(dial)
			}
			cl, _ := newH1Client(tm, dial, nil, nil)
			c := cl.get()
			defer c.close()
			tr := &transport{watch: newWatchdog(time.Minute), now: time.Now}
			if first := tr.send(tm, job{}, c, nil); first.Err != nil {
				t.Fatal(first.Err)
			}
			second := tr.send(tm, job{seq: 1}, c, nil)
			if second.Class != tc.want {
				t.Errorf("second request: class %q (%v), want %q", second.Class, second.Err, tc.want)
			}
			if tc.want == "" && !second.NewConn {
				t.Error("second request: answered without a new connection")
			}
		})
	}
}

// failSecondWrite dials connections whose second write fails before
// writing anything, as on a socket the server has reset.
func failSecondWrite(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &writeFails{Conn: c, at: 2}, nil
	}
}

type writeFails struct {
	net.Conn
	at, writes int
}

func (c *writeFails) Write(p []byte) (int, error) {
	if c.writes++; c.writes == c.at {
		return 0, syscall.EPIPE
	}
	return c.Conn.Write(p)
}

// A response head is read up to maxResponseHeaderBytes, status line, 1xx
// responses and headers together, as net/http's transport does; beyond it
// the request fails as a protocol error and the connection is closed.
func TestH1ResponseHeadLimit(t *testing.T) {
	header := func(n int) string { return "X-Pad: " + strings.Repeat("a", n) + "\r\n" }
	for _, tc := range []struct {
		name, head string
		want       Class
	}{
		{"within", "HTTP/1.1 200 OK\r\n" + header(maxResponseHeaderBytes-8<<10), ""},
		{"one line beyond", "HTTP/1.1 200 OK\r\n" + header(maxResponseHeaderBytes), ClassProtocol},
		{"many lines beyond", "HTTP/1.1 200 OK\r\n" + strings.Repeat(header(1000), maxResponseHeaderBytes/1000+1), ClassProtocol},
		{"1xx beyond", strings.Repeat("HTTP/1.1 103 Early Hints\r\n"+header(1<<10)+"\r\n", maxResponseHeaderBytes>>10) + "HTTP/1.1 200 OK\r\n", ClassProtocol},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := rawServer(t, func(c net.Conn) {
				if _, err := readRequest(bufio.NewReader(c)); err != nil {
					return
				}
				io.WriteString(c, tc.head+"Content-Length: 2\r\n\r\nok")
				drain(c)
			})
			tm, _ := newTemplate("GET", url, http.Header{}, nil)
			cl, _ := newH1Client(tm, (&net.Dialer{}).DialContext, nil, nil)
			c := cl.get()
			defer c.close()
			tr := &transport{watch: newWatchdog(time.Minute), now: time.Now}
			got := tr.send(tm, job{}, c, nil)
			if got.Class != tc.want {
				t.Errorf("class %q (%v), want %q", got.Class, got.Err, tc.want)
			}
			if tc.want != "" && c.conn != nil {
				t.Error("the connection was kept after its response head went past the limit")
			}
		})
	}
}

// A final 101 (the connection speaks another protocol from then on) and a
// status outside 100–599 are protocol errors, and no request follows them
// on their connection.
func TestH1UnusableStatusClosesConnection(t *testing.T) {
	for _, head := range []string{
		"HTTP/1.1 101 Switching Protocols\r\nUpgrade: tailgate-test\r\nConnection: Upgrade\r\n\r\n",
		"HTTP/1.1 999 Nine\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 099 Early\r\nContent-Length: 2\r\n\r\nok",
	} {
		url := rawServer(t, func(c net.Conn) {
			br := bufio.NewReader(c)
			for {
				if _, err := readRequest(br); err != nil {
					return
				}
				io.WriteString(c, head)
			}
		})
		tm, _ := newTemplate("GET", url, http.Header{}, nil)
		cl, _ := newH1Client(tm, (&net.Dialer{}).DialContext, nil, nil)
		c := cl.get()
		tr := &transport{watch: newWatchdog(time.Minute), now: time.Now}
		for i := range 2 {
			got := tr.send(tm, job{seq: uint64(i)}, c, nil)
			if got.failure() != ClassProtocol || !got.NewConn {
				t.Errorf("%q, request %d: class %q (%v), new connection %v; want protocol on a new connection", head[:12], i, got.failure(), got.Err, got.NewConn)
			}
		}
		c.close()
	}
}

// The body is written from the client's one copy: connections do not each
// copy it, whether it is written after the head (writev) or while the
// response is read.
func TestH1BodyNotCopiedPerConnection(t *testing.T) {
	url := rawServer(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			io.Copy(io.Discard, req.Body)
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	for _, size := range []int{asyncBodyMin - 1<<10, asyncBodyMin * 4} {
		tm, _ := newTemplate("POST", url, http.Header{}, bytes.Repeat([]byte("x"), size))
		cl, _ := newH1Client(tm, (&net.Dialer{}).DialContext, nil, nil)
		tr := &transport{watch: newWatchdog(time.Minute), now: time.Now}
		const conns = 8
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for i := range conns {
			c := cl.get() // a new connection each time: none is put back
			if got := tr.send(tm, job{seq: uint64(i)}, c, nil); got.Err != nil || got.Code != 200 {
				t.Fatalf("%d bytes: err %v, code %d", size, got.Err, got.Code)
			}
			defer c.close()
		}
		runtime.ReadMemStats(&after)
		// A copy each would be conns × size; a connection's own buffers
		// (client and server) come to about 15 KiB.
		if grew := after.TotalAlloc - before.TotalAlloc; grew > conns*uint64(size)/2 {
			t.Errorf("%d connections sending a %d KiB body allocated %d KiB", conns, size>>10, grew>>10)
		}
	}
}

// An answer that comes before a large body is written (the server refuses
// it early and stops reading) is the request's result, as with net/http,
// not a write blocked until the server gives up on the connection; and the
// connection is not used again.
func TestH1EarlyAnswer(t *testing.T) {
	release := make(chan struct{})
	url := rawServer(t, func(c net.Conn) {
		if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 401 Unauthorized\r\nContent-Length: 2\r\n\r\nno")
		<-release // not reading until the test is over
	})
	t.Cleanup(func() { close(release) }) // before the server's cleanup waits for it
	tm, _ := newTemplate("POST", url, http.Header{}, bytes.Repeat([]byte("x"), 16<<20))
	cl, _ := newH1Client(tm, (&net.Dialer{}).DialContext, nil, nil)
	c := cl.get()
	defer c.close()
	w := newWatchdog(5 * time.Second)
	stop := make(chan struct{})
	go w.run(stop)
	defer close(stop)
	tr := &transport{watch: w, now: time.Now}
	// Waiting on the write would end in the watchdog's timeout.
	if got := tr.send(tm, job{}, c, nil); got.Err != nil || got.Code != 401 {
		t.Errorf("err %v (class %q), code %d; want the early 401", got.Err, got.Class, got.Code)
	}
	if c.conn != nil || c.writing {
		t.Error("the connection whose request was not written whole was kept")
	}
}

// The watchdog's interrupt of a request that has ended does not reach the
// next one on the same connection.
func TestH1LateInterrupt(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.Header.Get(seqHeader), "9") {
			time.Sleep(300 * time.Millisecond)
		}
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	tm, _ := newTemplate("GET", srv.URL, http.Header{}, nil)
	cl, _ := newH1Client(tm, (&net.Dialer{}).DialContext, nil, nil)
	c := cl.get()
	defer c.close()
	w := newWatchdog(100 * time.Millisecond)
	tr := &transport{watch: w, now: time.Now}
	first := tr.send(tm, job{seq: 1}, c, nil)
	if first.Err != nil {
		t.Fatal(first.Err)
	}
	// What a watchdog that looked at the first request holds: its number.
	c.interrupt(c.gen - 1)
	if second := tr.send(tm, job{seq: 2}, c, nil); second.Err != nil || second.NewConn {
		t.Errorf("after a stale interrupt: err %v, new connection %v; want the kept connection to serve", second.Err, second.NewConn)
	}
	// A request past its timeout is ended: the watchdog reaches a read
	// blocked on the worker's own connection.
	stop := make(chan struct{})
	go w.run(stop)
	defer close(stop)
	if slow := tr.send(tm, job{seq: 9}, c, nil); slow.Class != ClassTimeout {
		t.Errorf("a 300ms answer with a 100ms timeout: class %q (%v), want timeout", slow.Class, slow.Err)
	}
	if next := tr.send(tm, job{seq: 10}, c, nil); next.Err != nil || !next.NewConn {
		t.Errorf("after a timeout: err %v, new connection %v; want a new connection", next.Err, next.NewConn)
	}
}

// A scenario over plain HTTP/1.1 runs on workers' own connections; with a
// proxy configured, through net/http.
func TestH1Chosen(t *testing.T) {
	proxy := func(r *http.Request) (*url.URL, error) {
		if r.URL.Hostname() == "example.invalid" {
			return url.Parse("http://127.0.0.1:3128")
		}
		return nil, nil
	}
	for _, tc := range []struct {
		url   string
		proxy bool
		want  bool
	}{{"http://127.0.0.1:1/", false, true}, {"https://127.0.0.1:1/", false, true}, {"http://example.invalid/", true, false}} {
		tm, _ := newTemplate("GET", tc.url, http.Header{}, nil)
		cl, err := newH1Client(tm, (&net.Dialer{}).DialContext, &tls.Config{}, proxy)
		if err != nil || (cl != nil) != tc.want {
			t.Errorf("%s (proxy %v): client %v, %v; want one: %v", tc.url, tc.proxy, cl != nil, err, tc.want)
		}
	}
}

// A stream the parser gives up on (an event beyond maxEventSize) ends its
// request at once: the connection is closed rather than drained, though
// the server would go on sending until the timeout.
func TestH1AbandonedStreamIsNotDrained(t *testing.T) {
	url := rawServer(t, func(c net.Conn) {
		if _, err := readRequest(bufio.NewReader(c)); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
		chunk := "1000\r\n" + "data: " + strings.Repeat("x", 0x1000-6) + "\r\n"
		for range 5000 { // 20 MiB of one event, slowly
			if _, err := io.WriteString(c, chunk); err != nil {
				return
			}
			time.Sleep(time.Millisecond)
		}
	})
	tm, _ := newTemplate("GET", url, http.Header{}, nil)
	cl, _ := newH1Client(tm, (&net.Dialer{}).DialContext, nil, nil)
	c := cl.get()
	defer c.close()
	tr := &transport{watch: newWatchdog(10 * time.Second), sse: true, now: time.Now}
	start := time.Now()
	got := tr.send(tm, job{}, c, nil)
	if took := time.Since(start); got.Class != ClassProtocol || took > 2*time.Second {
		t.Errorf("oversized event: class %q (%v) after %v, want protocol at once", got.Class, got.Err, took)
	}
	if c.conn != nil {
		t.Error("the connection of an abandoned stream was kept")
	}
}

// idleConn returns a connection that has served a request and is idle in
// its client's pool, its server keeping it open.
func idleConn(tb testing.TB, dial func(ctx context.Context, network, addr string) (net.Conn, error)) (*h1Client, *h1Conn) {
	tb.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	tb.Cleanup(srv.Close)
	tm, _ := newTemplate("GET", srv.URL, http.Header{}, nil)
	cl, _ := newH1Client(tm, dial, nil, nil)
	tb.Cleanup(cl.closeIdle)
	c := cl.get()
	tr := &transport{watch: newWatchdog(time.Minute), now: time.Now}
	got := tr.send(tm, job{}, c, nil)
	if got.Err != nil {
		tb.Fatal(got.Err)
	}
	cl.put(c, got.End)
	return cl, c
}

// The look at an idle connection before it serves again is on every
// request's path: it allocates nothing.
func TestH1IdleCheckAllocatesNothing(t *testing.T) {
	cl, c := idleConn(t, (&net.Dialer{}).DialContext)
	now := time.Now()
	if a := testing.AllocsPerRun(1000, func() {
		if c = cl.get(); !c.usable() {
			t.Fatal("a connection its server keeps is not usable")
		}
		cl.put(c, now)
	}); a != 0 {
		t.Errorf("checking an idle connection allocates %v times, want 0", a)
	}
}

// BenchmarkH1IdleCheck is what the check of an idle connection costs, from
// its return to the pool to its reuse: one recv(MSG_PEEK) on its socket,
// or, where h1 cannot look at the socket, a goroutine that reads the
// connection while it is idle, and the deadline that ends the read.
func BenchmarkH1IdleCheck(b *testing.B) {
	for name, dial := range map[string]func(ctx context.Context, network, addr string) (net.Conn, error){
		"socket":    (&net.Dialer{}).DialContext,
		"goroutine": hideSocket((&net.Dialer{}).DialContext),
	} {
		b.Run(name, func(b *testing.B) {
			cl, c := idleConn(b, dial)
			now := time.Now()
			b.ReportAllocs()
			for b.Loop() {
				if c = cl.get(); !c.usable() {
					b.Fatal("a connection its server keeps is not usable")
				}
				cl.put(c, now)
			}
		})
	}
}
