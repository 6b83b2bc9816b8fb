package load

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// h1Client sends HTTP/1.1 requests on connections it pools itself: a worker
// takes one for a request, writes the request and reads the response on it
// itself, and puts it back, so no goroutine stands in between. net/http's transport would hand every request
// to a connection's writer goroutine and every response back from its reader
// goroutine: four goroutine switches a request, half the CPU an open-loop run
// spends per request at high rates. The wire format is net/http's own: the
// request head is rendered once by http.Request.Write and responses are
// parsed by http.ReadResponse (chunked bodies, 1xx, HEAD, Connection: close).
// Phases are reported through the same httptrace hooks as the transport's:
// the dialer calls dns and connect, h1 calls the rest.
type h1Client struct {
	dial func(ctx context.Context, network, addr string) (net.Conn, error)
	tls  *tls.Config // nil for http://
	addr string      // host:port
	req  *http.Request
	head []byte // the request up to its last header line, without the sequence number
	body []byte
	// replayable requests may be sent again when a kept-alive connection
	// turns out dead (net/http's rule: no body, and an idempotent method or
	// an idempotency key).
	replayable bool

	mu   sync.Mutex
	idle []*h1Conn // kept-alive connections, the most recently used last
}

// idleTimeout closes a connection left idle this long, as net/http's
// transport does (its IdleConnTimeout in newTransport).
const idleTimeout = 90 * time.Second

// get returns a connection for one request: the most recently used idle
// one (so a steady rate keeps reusing the few it needs and the rest age
// out), or a new one that dials on first use.
func (cl *h1Client) get() *h1Conn {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if n := len(cl.idle); n > 0 {
		c := cl.idle[n-1]
		cl.idle[n-1] = nil
		cl.idle = cl.idle[:n-1]
		return c
	}
	return &h1Conn{cl: cl}
}

// put keeps c for the next request if it can serve one, and closes the
// connection idle the longest if that has been longer than idleTimeout.
func (cl *h1Client) put(c *h1Conn, now time.Time) {
	if c.conn == nil {
		return
	}
	c.idleAt = now
	cl.mu.Lock()
	cl.idle = append(cl.idle, c)
	var stale *h1Conn
	if old := cl.idle[0]; now.Sub(old.idleAt) > idleTimeout {
		stale = old
		cl.idle = append(cl.idle[:0], cl.idle[1:]...)
	}
	cl.mu.Unlock()
	if stale != nil {
		stale.close()
	}
}

// closeIdle closes every idle connection.
func (cl *h1Client) closeIdle() {
	cl.mu.Lock()
	idle := cl.idle
	cl.idle = nil
	cl.mu.Unlock()
	for _, c := range idle {
		c.close()
	}
}

// newH1Client renders tm's request for HTTP/1.1 connections of the
// workers' own, made with dial and, for https, cfg. It returns nil when the
// request must go through net/http instead: proxy (nil for none) names a
// proxy for it, or the scheme is not http or https.
func newH1Client(tm *template, dial func(ctx context.Context, network, addr string) (net.Conn, error), cfg *tls.Config, proxy func(*http.Request) (*url.URL, error)) (*h1Client, error) {
	u := tm.req.URL
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, nil
	}
	if proxy != nil {
		if p, err := proxy(tm.req); err != nil || p != nil {
			return nil, nil
		}
	}
	r := tm.req.Clone(context.Background())
	if len(tm.body) > 0 {
		r.Body = io.NopCloser(bytes.NewReader(tm.body))
	}
	var buf bytes.Buffer
	if err := r.Write(&buf); err != nil {
		return nil, err
	}
	wire := buf.Bytes()
	end := bytes.Index(wire, []byte("\r\n\r\n"))
	if end < 0 {
		return nil, errors.New("http: rendered request has no end of head")
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	c := &h1Client{dial: dial, addr: net.JoinHostPort(u.Hostname(), port), req: tm.req,
		head: wire[:end+2], body: wire[end+4:]}
	switch tm.req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		c.replayable = len(tm.body) == 0
	default:
		_, key := tm.req.Header["Idempotency-Key"]
		_, xkey := tm.req.Header["X-Idempotency-Key"]
		c.replayable = len(tm.body) == 0 && (key || xkey)
	}
	if u.Scheme == "https" {
		c.tls = cfg.Clone()
		if c.tls.ServerName == "" {
			c.tls.ServerName = u.Hostname()
		}
	}
	return c, nil
}

// h1Conn is one connection, used by one worker at a time; conn is nil
// until the first request dials, and again after a failure.
type h1Conn struct {
	cl     *h1Client
	buf    []byte    // the request being written
	idleAt time.Time // when it was last put back

	// mu guards conn and gen against interrupt, called by the watchdog.
	mu          sync.Mutex
	conn        net.Conn
	br          *bufio.Reader
	gen         uint64 // the request in flight: interrupt ends only that one
	interrupted bool   // conn's deadline has passed: it cannot serve again
}

// aLongTimeAgo is a deadline that has passed: setting it ends blocked I/O.
var aLongTimeAgo = time.Unix(1, 0)

// interrupt ends request gen's I/O, if it is still the one in flight.
func (c *h1Conn) interrupt(gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen == gen && c.conn != nil {
		c.conn.SetDeadline(aLongTimeAgo)
		c.interrupted = true
	}
}

// begin starts request gen: the next interrupt is for it.
func (c *h1Conn) begin() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	return c.gen
}

func (c *h1Conn) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn != nil {
		c.conn.Close()
		c.conn, c.br = nil, nil
	}
	c.interrupted = false
}

// roundTrip writes tr's request and reads the response head; the body is
// left to the caller, who calls done after reading it. ctx ends the dial and
// the TLS handshake; the watchdog ends the rest through interrupt.
func (c *h1Conn) roundTrip(ctx context.Context, tr *Trace) (*http.Response, error) {
	hooks := &tr.mem.hooks
	hooks.GetConn(c.cl.addr)
	reused := c.conn != nil
	if !reused {
		if err := c.connect(ctx, hooks); err != nil {
			return nil, err
		}
	}
	hooks.GotConn(httptrace.GotConnInfo{Conn: c.conn, Reused: reused, WasIdle: reused})
	res, unanswered, err := c.exchange(tr, hooks)
	if err != nil && unanswered && reused && c.cl.replayable && ctx.Err() == nil {
		// The server closed the connection while it was idle, before this
		// request reached it: net/http sends such a request again on a new
		// connection, and so does h1.
		c.close()
		hooks.GetConn(c.cl.addr)
		if err := c.connect(ctx, hooks); err != nil {
			return nil, err
		}
		hooks.GotConn(httptrace.GotConnInfo{Conn: c.conn})
		res, _, err = c.exchange(tr, hooks)
	}
	if err != nil {
		c.close()
		return nil, err
	}
	return res, nil
}

// done ends the exchange of res, whose body was read to err: the
// connection is kept for the next request only if the body ended cleanly
// and neither side asked to close.
func (c *h1Conn) done(res *http.Response, err error) {
	c.mu.Lock()
	c.gen++ // a late interrupt of this request must not end the next one
	interrupted := c.interrupted
	c.mu.Unlock()
	if err != nil && err != io.EOF || res.Close || interrupted || c.br == nil || c.br.Buffered() > 0 {
		c.close()
	}
}

func (c *h1Conn) connect(ctx context.Context, hooks *httptrace.ClientTrace) error {
	conn, err := c.cl.dial(ctx, "tcp", c.cl.addr)
	if err != nil {
		return err
	}
	if c.cl.tls != nil {
		tc := tls.Client(conn, c.cl.tls)
		hooks.TLSHandshakeStart()
		err := tc.HandshakeContext(ctx)
		hooks.TLSHandshakeDone(tc.ConnectionState(), err)
		if err != nil {
			conn.Close()
			return err
		}
		conn = tc
	}
	c.mu.Lock()
	c.conn, c.br = conn, bufio.NewReaderSize(conn, 4<<10)
	c.mu.Unlock()
	return nil
}

// exchange writes tr's request and reads the response head. unanswered
// reports a failure that left the request without any byte of an answer
// because the connection was gone (the write failed, or the read met EOF or
// a reset): on a kept-alive connection, the server closed it while idle.
func (c *h1Conn) exchange(tr *Trace, hooks *httptrace.ClientTrace) (res *http.Response, unanswered bool, err error) {
	cl := c.cl
	b := append(c.buf[:0], cl.head...)
	b = append(b, seqHeader+": "...)
	b = strconv.AppendUint(b, tr.Seq, 10)
	b = append(b, "\r\n\r\n"...)
	b = append(b, cl.body...)
	c.buf = b
	if _, err := c.conn.Write(b); err != nil {
		return nil, true, err
	}
	hooks.WroteRequest(httptrace.WroteRequestInfo{})
	if _, err := c.br.Peek(1); err != nil {
		gone := errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
		return nil, gone, err
	}
	hooks.GotFirstResponseByte()
	for {
		res, err := http.ReadResponse(c.br, cl.req)
		if err != nil {
			return nil, false, err
		}
		// 1xx answers precede the response (101 would switch protocols).
		if res.StatusCode >= 100 && res.StatusCode < 200 && res.StatusCode != http.StatusSwitchingProtocols {
			continue
		}
		return res, false, nil
	}
}
