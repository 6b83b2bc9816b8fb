package load

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"sync"
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
//
// Wherever a server could make the two differ, h1 answers as net/http does
// (conformance_test.go holds it to that): it does not reuse a connection
// the server closed or wrote to while it was idle, sends a request again
// only when net/http would, bounds the response head, and reads a response
// that comes before the request's body has been written.
type h1Client struct {
	dial func(ctx context.Context, network, addr string) (net.Conn, error)
	tls  *tls.Config // nil for http://
	addr string      // host:port
	req  *http.Request
	head []byte // the request up to its last header line, without the sequence number
	// body is written by every connection from here, never copied per
	// connection: a large body times thousands of connections would be
	// memory the target never asked for.
	body []byte
	// replayable requests may be sent again after they were written on a
	// kept-alive connection that then closed without answering: net/http's
	// isReplayable (an idempotent method, or an idempotency key; a body is
	// no obstacle, since ours can always be written again, like a request
	// with GetBody).
	replayable bool

	mu   sync.Mutex
	idle []*h1Conn // kept-alive connections, the most recently used last
}

// idleTimeout closes a connection left idle this long, as net/http's
// transport does (its IdleConnTimeout in newTransport).
const idleTimeout = 90 * time.Second

// maxResponseHeaderBytes bounds a response's head (status line, headers and
// any 1xx responses before it), for h1 and for net/http's transport
// (MaxResponseHeaderBytes): a server sending an endless header line must
// not grow the generator's memory.
const maxResponseHeaderBytes = 1 << 20

// errHeadersTooLarge fails a request whose response head went past
// maxResponseHeaderBytes.
type errHeadersTooLarge struct{ limit int64 }

func (e errHeadersTooLarge) Error() string {
	return "response headers exceeded " + strconv.FormatInt(e.limit, 10) + " bytes"
}

// coalesceMax is the largest request written from one buffer, head and body
// together, like net/http's 4 KiB write buffer: one write, so one TLS record
// and one segment. A larger body is written from h1Client.body after its head.
const coalesceMax = 4 << 10

// asyncBodyMin is the body size from which the body is written while the
// response is read, as net/http always does: a server may answer before it
// has read the body (an early 413 or 401) and then stop reading, so a
// body larger than the socket buffers would block its writer forever, its
// answer unread. Smaller bodies fit in the buffers and are written before
// reading, on the worker's goroutine alone.
const asyncBodyMin = 64 << 10

// writeWait is how long a response that came before its request was
// written whole waits for the write to finish before its connection is
// given up: net/http's maxWriteWaitBeforeConnReuse.
const writeWait = 50 * time.Millisecond

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
	if !c.sock.sees() {
		c.watch() // before another worker can take c
	}
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
		c.replayable = true
	default:
		_, key := tm.req.Header["Idempotency-Key"]
		_, xkey := tm.req.Header["X-Idempotency-Key"]
		c.replayable = key || xkey
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
	head   []byte      // the request's head with its sequence number, and a small body
	bufs   [2][]byte   // head and the client's body, for wv
	wv     net.Buffers // bufs, consumed as they are written (one writev on TCP)
	idleAt time.Time   // when it was last put back

	// mu guards conn and gen against interrupt, called by the watchdog.
	mu          sync.Mutex
	conn        net.Conn
	br          *bufio.Reader // reads rd
	rd          limitedConn
	sock        socketPeek // looks at conn's socket while the connection is idle
	gen         uint64     // the request in flight: interrupt ends only that one
	interrupted bool       // conn's deadline has passed: it cannot serve again

	// A large body is written by a goroutine of its own while the response
	// is read (see asyncBodyMin); writing says one is, and wrote carries
	// its result.
	writing bool
	wrote   chan writeResult
	// unwritten is set when the response came although the request could
	// not be written whole: the connection cannot serve again.
	unwritten bool

	// Where the socket cannot be looked at, a goroutine reads the idle
	// connection (see watch); watching says one does, and watched
	// carries the result of its read.
	watching bool
	watched  chan error
}

type writeResult struct {
	n   int64
	err error
}

// limitedConn reads a connection, failing once left bytes have been read:
// h1 sets left while it reads a response head, as net/http's persistConn
// sets its readLimit.
type limitedConn struct {
	conn net.Conn
	left int64
}

// errReadLimit ends a read of a response head that went on too long.
var errReadLimit = errors.New("read limit exhausted")

func (r *limitedConn) Read(p []byte) (int, error) {
	if r.left <= 0 {
		return 0, errReadLimit
	}
	if int64(len(p)) > r.left {
		p = p[:r.left]
	}
	n, err := r.conn.Read(p)
	r.left -= int64(n)
	return n, err
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

// close closes the connection, and waits for a body still being written
// to give up, so nothing writes on behalf of a request that has ended.
func (c *h1Conn) close() {
	c.mu.Lock()
	if c.conn != nil {
		c.conn.Close()
		// rd keeps the closed connection: a body closed after this drains
		// through it, and fails at once.
		c.conn, c.br = nil, nil
		c.sock = socketPeek{}
	}
	c.interrupted = false
	c.mu.Unlock()
	c.unwritten = false
	if c.watching {
		<-c.watched
		c.watching = false
	}
	if c.writing {
		<-c.wrote
		c.writing = false
	}
}

// stopWrite ends the body being written by closing the connection, and
// returns how far the write got.
func (c *h1Conn) stopWrite() writeResult {
	c.writing = false
	c.close()
	return <-c.wrote
}

// usable says whether an idle connection can take another request: the
// server has not closed or reset it, and has sent nothing since the last
// response (a 408 sent before closing, a response nobody asked for, a TLS
// close_notify). net/http learns this as it happens, from a read it keeps
// blocked on every idle connection, and drops such a connection from its
// pool; h1, with no goroutine per connection, looks at the socket when it
// takes one, without waiting (where it cannot, watch's goroutine does the
// reading).
func (c *h1Conn) usable() bool {
	switch c.sock.peek() {
	case socketBusy:
		return false
	case socketUnknown:
		if !c.unwatch() {
			return false
		}
	}
	return c.br.Buffered() == 0
}

// watch starts a read of the idle connection on a goroutine of its own,
// as net/http keeps one on each of its connections, for usable to end when
// the connection is taken again: usable's way on connections whose socket
// h1 cannot look at (other systems, other connection types). It costs two
// goroutine switches a request, where a look at the socket costs a system
// call.
func (c *h1Conn) watch() {
	if c.watched == nil {
		c.watched = make(chan error, 1)
	}
	c.watching = true
	br := c.br
	go func() {
		_, err := br.Peek(1)
		c.watched <- err
	}()
}

// unwatch ends the read started by watch, with a deadline that has passed,
// and says whether the connection can serve: the read found nothing
// before its deadline.
func (c *h1Conn) unwatch() bool {
	if !c.watching {
		return true // not idle since its last request: nothing to go by
	}
	c.mu.Lock()
	c.conn.SetReadDeadline(aLongTimeAgo)
	c.mu.Unlock()
	err := <-c.watched
	c.watching = false
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.interrupted {
		return false
	}
	c.conn.SetReadDeadline(time.Time{})
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// socketState is what an idle connection's socket holds.
type socketState int

const (
	socketUnknown socketState = iota // not to be seen without reading
	socketQuiet                      // nothing: the connection can serve
	socketBusy                       // bytes, the end of the stream, or an error: it cannot
)

// sent is how far a failed exchange got, which decides whether its request
// may go again on a new connection.
type sent int

const (
	sentNothing    sent = iota // no byte of the request was written
	sentUnanswered             // the request was written, in part or whole; no byte of an answer came
	sentAnswered               // the answer had begun
)

// retry says whether a request that failed after getting as far as s on a
// kept-alive connection goes again on a new one: net/http's rule
// (shouldRetryRequest). Unwritten, always; written but unanswered, only if
// it is replayable, since the server may have acted on it before it closed
// the connection; answered, never.
func (cl *h1Client) retry(s sent) bool {
	return s == sentNothing || s == sentUnanswered && cl.replayable
}

// roundTrip writes tr's request and reads the response head; the body is
// left to the caller, who calls done after reading it. ctx ends the dial and
// the TLS handshake; the watchdog ends the rest through interrupt.
func (c *h1Conn) roundTrip(ctx context.Context, tr *Trace) (*http.Response, error) {
	hooks := &tr.mem.hooks
	hooks.GetConn(c.cl.addr)
	reused := c.conn != nil
	if reused && !c.usable() {
		c.close()
		reused = false
	}
	if !reused {
		if err := c.connect(ctx, hooks); err != nil {
			return nil, err
		}
	}
	hooks.GotConn(httptrace.GotConnInfo{Conn: c.conn, Reused: reused, WasIdle: reused})
	res, s, err := c.exchange(tr, hooks)
	if err != nil && reused && c.cl.retry(s) && ctx.Err() == nil {
		// The server closed the connection as this request went out (its
		// idle timeout, most often): net/http sends the request again on a
		// new connection when it may, and so does h1.
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
// connection is kept for the next request only if the body ended cleanly,
// neither side asked to close, nothing follows the response, and the
// request was written whole. A final 1xx (101) or a status outside 1xx–5xx
// leaves the connection in a state no request can follow.
func (c *h1Conn) done(res *http.Response, err error) {
	c.mu.Lock()
	c.gen++ // a late interrupt of this request must not end the next one
	interrupted := c.interrupted
	c.mu.Unlock()
	keep := (err == nil || err == io.EOF) && !res.Close && !interrupted && c.br != nil && c.br.Buffered() == 0 &&
		res.StatusCode >= 200 && res.StatusCode <= 599 && !c.unwritten
	if keep && c.writing {
		keep = c.finishWrite()
	}
	if !keep {
		c.close()
	}
}

// finishWrite waits for the body being written, up to writeWait after
// the response was read, and says whether it was written whole.
func (c *h1Conn) finishWrite() bool {
	var r writeResult
	select {
	case r = <-c.wrote:
	default:
		t := time.NewTimer(writeWait)
		select {
		case r = <-c.wrote:
			t.Stop()
		case <-t.C:
			return false // close will end the write and wait for it
		}
	}
	c.writing = false
	return r.err == nil
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
	c.conn = conn
	c.rd = limitedConn{conn: conn, left: math.MaxInt64}
	c.br = bufio.NewReaderSize(&c.rd, 4<<10)
	c.sock.init(socketOf(conn))
	c.mu.Unlock()
	return nil
}

// socketOf is the connection under conn's TLS and emulation layers: where
// the bytes of an idle connection arrive. (Emulation delays writes only.)
func socketOf(conn net.Conn) net.Conn {
	for {
		switch c := conn.(type) {
		case *tls.Conn:
			conn = c.NetConn()
		case *emulConn:
			conn = c.Conn
		default:
			return conn
		}
	}
}

// exchange writes tr's request and reads the response head. On failure, s
// says how far it got.
func (c *h1Conn) exchange(tr *Trace, hooks *httptrace.ClientTrace) (res *http.Response, s sent, err error) {
	cl := c.cl
	h := append(c.head[:0], cl.head...)
	h = append(h, seqHeader+": "...)
	h = strconv.AppendUint(h, tr.Seq, 10)
	h = append(h, "\r\n\r\n"...)
	// A small request goes out from one buffer; a larger one as its head
	// and the client's body (asyncBodyMin is above coalesceMax).
	small := len(h)+len(cl.body) <= coalesceMax
	if small {
		h = append(h, cl.body...)
	} else {
		c.bufs = [2][]byte{h, cl.body}
		c.wv = c.bufs[:]
	}
	c.head = h
	var werr error // the write failed after part of the request went out
	switch {
	case len(cl.body) >= asyncBodyMin:
		if c.wrote == nil {
			c.wrote = make(chan writeResult, 1)
		}
		c.writing = true
		go c.writeAsync(c.conn, hooks)
	default:
		var n int64
		if small {
			var k int
			k, werr = c.conn.Write(h)
			n = int64(k)
		} else {
			n, werr = c.wv.WriteTo(c.conn)
		}
		if werr != nil && n == 0 {
			return nil, sentNothing, werr
		}
		if werr == nil {
			hooks.WroteRequest(httptrace.WroteRequestInfo{})
		}
		// A failed write may still have been answered (the server answered
		// early, then closed): the answer is the result, as with net/http.
		// The read cannot wait long: the failed connection ends it.
	}
	c.rd.left = maxResponseHeaderBytes
	if _, err := c.br.Peek(1); err != nil {
		if c.writing {
			r := c.stopWrite()
			if r.n == 0 {
				return nil, sentNothing, firstErr(r.err, err)
			}
			werr = r.err
		}
		return nil, sentUnanswered, firstErr(werr, err)
	}
	hooks.GotFirstResponseByte()
	for {
		res, err := http.ReadResponse(c.br, cl.req)
		if err != nil {
			if c.rd.left <= 0 {
				err = errHeadersTooLarge{maxResponseHeaderBytes}
			}
			return nil, sentAnswered, err
		}
		// 1xx answers precede the response; 101 is final (and then the
		// connection is no longer HTTP). The limit covers them all, as
		// net/http's does when no hook looks at them.
		if res.StatusCode >= 100 && res.StatusCode < 200 && res.StatusCode != http.StatusSwitchingProtocols {
			continue
		}
		c.rd.left = math.MaxInt64
		c.unwritten = werr != nil
		return res, sentAnswered, nil
	}
}

// firstErr is a if it is set, else b.
func firstErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// writeAsync writes the request in c.wv to conn and reports the result on
// c.wrote.
func (c *h1Conn) writeAsync(conn net.Conn, hooks *httptrace.ClientTrace) {
	n, err := c.wv.WriteTo(conn)
	if err == nil {
		hooks.WroteRequest(httptrace.WroteRequestInfo{})
	}
	c.wrote <- writeResult{n, err}
}
