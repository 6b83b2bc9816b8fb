package load

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
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

// A server that closes a kept-alive connection while it is idle does not
// fail the next request: it goes again on a new connection, as net/http
// does. A connection that fails mid-response fails its request.
func TestH1DeadIdleConnection(t *testing.T) {
	url := rawServer(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		if _, err := readRequest(br); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		// Keep-alive promised, then closed while idle.
	})
	tm, _ := newTemplate("GET", url, http.Header{}, nil)
	cl, _ := newH1Client(tm, (&net.Dialer{}).DialContext, nil, nil)
	c := cl.get()
	defer c.close()
	tr := &transport{watch: newWatchdog(time.Minute), now: time.Now}
	for i := range 3 {
		got := tr.send(tm, job{seq: uint64(i)}, c, nil)
		if got.Err != nil || got.Code != 200 || !got.NewConn {
			t.Fatalf("request %d: err %v, code %d, new connection %v; want 200 on a new connection", i, got.Err, got.Code, got.NewConn)
		}
		time.Sleep(20 * time.Millisecond) // let the close arrive
	}

	cut := rawServer(t, func(c net.Conn) {
		if _, err := readRequest(bufio.NewReader(c)); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nok")
	})
	tm, _ = newTemplate("GET", cut, http.Header{}, nil)
	cl, _ = newH1Client(tm, (&net.Dialer{}).DialContext, nil, nil)
	c2 := cl.get()
	defer c2.close()
	if got := tr.send(tm, job{}, c2, nil); got.Class != ClassReset {
		t.Errorf("body cut short: class %q (%v), want reset", got.Class, got.Err)
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
