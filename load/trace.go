package load

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Trace is what the tracing transport learned about one request. A worker
// fills it before it hands it to the recorder, so the recorder sees a
// complete trace.
type Trace struct {
	Seq      uint64        // the request's number in the schedule
	Intended time.Duration // when the schedule meant to send it, from the run's start
	Start    time.Time     // the request's actual send
	Code     int           // HTTP status, 0 when no response came

	DNS, Connect, TLS time.Duration // zero unless this request opened a connection
	NewConn           bool          // the request opened a connection (else it reused one)
	TTFB              time.Duration // request written → first response byte
	End               time.Time     // last byte read or failure

	// First is when the first SSE event with data (stream: sse) or the
	// first body byte (stream: none) arrived; zero when none did.
	First   time.Time
	Events  int             // SSE events with data read
	Gaps    []time.Duration // between consecutive SSE events with data (inter-token latency)
	Metrics []Metric        // Server-Timing metrics with a duration

	// Location is a 3xx response's Location header, "" otherwise.
	Location string

	Err   error // transport, body or protocol error, nil on success
	Class Class // error class when Err is set

	// req is the request as sent, whose method and URL name it in messages
	// (the template's, or the one vegeta made); contentType is the
	// response's, kept for the message of a response that is not an event
	// stream.
	req         *http.Request
	contentType string

	dnsStart, connStart, tlsStart, wrote time.Time

	// idle is set when the connection came straight from the idle pool, so
	// no dial was started on this request's behalf; written when the request
	// was written in full. Only such a trace can be reused (transport.release):
	// a dial started for a request can outlive it and call its hooks later.
	idle    bool
	written atomic.Bool
	// mu orders the hooks that run on other goroutines than the request's:
	// dials (dns, connect, tls) and the connection's write and read loops.
	// connected closes the window in which a dial may write its phases.
	mu        sync.Mutex
	connected bool

	mem traceMem
}

// traceMem is what a Trace keeps when it is reused for another request: the
// hooks (one closure set per Trace, not per request), the run's context
// carrying them, the request's header map and body reader, and the
// response body wrappers.
type traceMem struct {
	hooks   httptrace.ClientTrace
	ctx     context.Context // nil until the transport first uses the Trace
	header  http.Header     // the template's headers and the sequence number
	seq     []string        // header[seqHeader]
	reqBody reqBody
	b       body
	sb      sseBody
}

// reset clears the measurements for the next request, keeping the memory
// that serves again: hooks, context, body wrappers and the slices' arrays.
func (tr *Trace) reset() {
	*tr = Trace{Gaps: tr.Gaps[:0], Metrics: tr.Metrics[:0], mem: tr.mem}
}

// Class is the kind of failure of a request.
type Class string

// Error classes, in the order a report lists them.
const (
	ClassTimeout  Class = "timeout"
	ClassRefused  Class = "refused"
	ClassReset    Class = "reset"
	ClassHTTP4xx  Class = "http 4xx"
	ClassHTTP5xx  Class = "http 5xx"
	ClassTLS      Class = "tls"
	ClassDNS      Class = "dns"
	ClassProtocol Class = "protocol"
	ClassOther    Class = "other"
	// ClassAbandoned is a request still in flight when an interrupted run
	// stopped waiting for it.
	ClassAbandoned Class = "abandoned"
)

// Classify names the kind of a transport error by its type, not its text
// (save one error that net/http gives no type).
func Classify(err error) Class {
	var dnsErr *net.DNSError
	var tlsErr *tls.CertificateVerificationError
	var recErr tls.RecordHeaderError
	var netErr net.Error
	var malformed errMalformed
	var tooLarge errHeadersTooLarge
	switch {
	case err == nil:
		return ""
	case errors.Is(err, errNoData), errors.Is(err, errNotEventStream), errors.Is(err, errRedirected),
		errors.As(err, &malformed), errors.As(err, &tooLarge):
		return ClassProtocol
	// net/http exports no type for response headers over its limit, only this text.
	case strings.Contains(err.Error(), "net/http: server response headers exceeded "):
		return ClassProtocol
	case errors.Is(err, errAbandoned):
		return ClassAbandoned
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, errTimeout):
		return ClassTimeout
	case errors.Is(err, syscall.ECONNREFUSED):
		return ClassRefused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return ClassReset
	case errors.As(err, &dnsErr):
		return ClassDNS
	case errors.As(err, &tlsErr), errors.As(err, &recErr):
		return ClassTLS
	case errors.As(err, &netErr) && netErr.Timeout():
		return ClassTimeout
	}
	return ClassOther
}

// errTimeout is the cause of a request's context when target.timeout passes
// (the watchdog ends it).
var errTimeout = errors.New("request timed out")

// errAbandoned is the cause of a request's context when an interrupted run
// stops waiting for it.
var errAbandoned = errors.New("abandoned: the run was interrupted")

// errNotEventStream fails a 2xx response to a stream: sse request whose
// Content-Type is not text/event-stream (a login page, a JSON error).
var errNotEventStream = errors.New("response is not an event stream")

// errRedirected fails a 3xx response to a stream: sse request: redirects
// are not followed, and a redirect is no event stream.
var errRedirected = errors.New("redirect where an event stream was expected")

// transport times each request's phases with net/http/httptrace, enforces
// the request timeout across the whole body read (with its watchdog), and
// reads the response to its end, filling a Trace.
type transport struct {
	base  http.RoundTripper
	h1    *h1Client // when set, workers send on connections of their own
	watch *watchdog
	sse   bool // time SSE events (stream: sse)
	now   func() time.Time
	// keep names the Server-Timing metrics budget lines judge: kept
	// beyond the bound on metrics per response.
	keep []string

	// pool holds traces of finished requests for reuse (see release), so a
	// request costs no Trace, hooks, header map or body wrapper allocations.
	pool sync.Pool
}

// seqHeader carries each request's number in the schedule, under the name
// vegeta gives it, so a target (the embedded service) can key on it.
const seqHeader = "X-Vegeta-Seq"

// send sends j's request and reads the response to its end: req when it is
// given (the vegeta engine builds its own requests), else one made from tm,
// on c, the sending worker's own connection, or through net/http when c is
// nil. The request is filed with the watchdog while it is in flight. The
// returned trace holds every phase, the status code, and the error class of
// a failure.
func (t *transport) send(tm *template, j job, c *h1Conn, req *http.Request) *Trace {
	tr := t.get()
	tr.Seq, tr.Intended = j.seq, j.intended
	tr.req = req
	if req == nil {
		tr.req = tm.req
	}
	tr.Start = t.now()
	// The hooks ride on a context made once per Trace; only the cancelable
	// context that the watchdog ends is made per request.
	if tr.mem.ctx == nil {
		tr.mem.ctx = httptrace.WithClientTrace(context.Background(), &tr.mem.hooks)
	}
	ctx, cancel, d := t.watch.begin(tr.mem.ctx, tr.Start, c)
	defer t.watch.end(d)
	var res *http.Response
	var err error
	switch {
	case c != nil:
		res, err = c.roundTrip(ctx, tr)
	case req != nil:
		res, err = t.base.RoundTrip(req.WithContext(ctx))
	default:
		res, err = t.base.RoundTrip(tm.request(ctx, tr))
	}
	if err != nil {
		tr.fail(t.now(), cause(ctx, err)) // before cancel, which would become the cause
		cancel(nil)
		return tr
	}
	tr.Code = res.StatusCode
	if res.ProtoMajor != 1 {
		// HTTP/2 shares dials between requests: keep such traces out of reuse.
		tr.idle = false
	}
	redirect := res.StatusCode >= 300 && res.StatusCode < 400
	if redirect {
		tr.Location = res.Header.Get("Location")
	}
	tr.Metrics = ParseServerTiming(tr.Metrics, res.Header.Values("Server-Timing"), t.keep)
	b := &tr.mem.b
	*b = body{rc: res.Body, tr: tr, ctx: ctx, cancel: cancel, now: t.now}
	var rc io.ReadCloser = b
	if t.sse {
		// What is not an event stream fails before its body is read (to the
		// end, so the connection serves again): its bytes are no tokens.
		switch ok := res.StatusCode >= 200 && res.StatusCode < 300; {
		case ok && !isEventStream(res.Header.Get("Content-Type")):
			tr.contentType = res.Header.Get("Content-Type")
			tr.fail(t.now(), errNotEventStream)
		case ok:
			tr.mem.sb = sseBody{body: b}
			rc = &tr.mem.sb
		case redirect:
			tr.fail(t.now(), errRedirected)
		}
	}
	_, err = io.Copy(io.Discard, rc) // errors are filed in tr by the body
	if c != nil {
		// Before Close: a body left unread (a malformed event stream) is
		// drained by Close unless its connection is closed first.
		c.done(res, err)
	}
	rc.Close()
	return tr
}

// get returns a trace to fill: a released one, or a new one with its hooks.
func (t *transport) get() *Trace {
	if tr, ok := t.pool.Get().(*Trace); ok {
		return tr
	}
	tr := &Trace{}
	tr.mem.hooks = t.hooks(tr)
	return tr
}

// release offers tr, whose result has been recorded, for reuse. Only a
// request that ended cleanly on a connection from the idle pool qualifies:
// after a failure, or when a dial was started for the request (a dial
// outlives the request that asked for it), a hook may still fire later and
// must not write into another request's trace; those traces are left to
// the garbage collector.
func (t *transport) release(tr *Trace) {
	if tr == nil || tr.mem.ctx == nil || tr.Err != nil || !tr.idle || !tr.written.Load() || !tr.mem.b.done {
		return
	}
	tr.reset()
	t.pool.Put(tr)
}

// cause prefers the context's cause (our timeout) over the error it produced.
func cause(ctx context.Context, err error) error {
	if c := context.Cause(ctx); c != nil {
		return c
	}
	return err
}

func (tr *Trace) fail(at time.Time, err error) {
	if tr.Err == nil {
		tr.Err, tr.Class = err, Classify(err)
	}
	tr.End = at
}

// hooks are tr's httptrace hooks, made once per Trace: they fill whatever
// request tr is serving.
func (t *transport) hooks(tr *Trace) httptrace.ClientTrace {
	now := t.now
	return httptrace.ClientTrace{
		// A dial runs on its own goroutine and can outlive the request that
		// started it (the request took a connection another one freed), so
		// the dial's phases are written under tr.mu, and only until the
		// request has its connection.
		GetConn: func(string) {
			tr.mu.Lock()
			tr.connected = false
			tr.mu.Unlock()
		},
		DNSStart: func(httptrace.DNSStartInfo) {
			tr.mu.Lock()
			if !tr.connected {
				tr.dnsStart = now()
			}
			tr.mu.Unlock()
		},
		DNSDone: func(httptrace.DNSDoneInfo) {
			tr.mu.Lock()
			if !tr.connected && !tr.dnsStart.IsZero() {
				tr.DNS = now().Sub(tr.dnsStart)
			}
			tr.mu.Unlock()
		},
		ConnectStart: func(string, string) {
			tr.mu.Lock()
			if !tr.connected {
				tr.connStart = now()
			}
			tr.mu.Unlock()
		},
		ConnectDone: func(_, _ string, err error) {
			tr.mu.Lock()
			if !tr.connected && err == nil && !tr.connStart.IsZero() {
				tr.Connect = now().Sub(tr.connStart)
			}
			tr.mu.Unlock()
		},
		TLSHandshakeStart: func() {
			tr.mu.Lock()
			if !tr.connected {
				tr.tlsStart = now()
			}
			tr.mu.Unlock()
		},
		TLSHandshakeDone: func(_ tls.ConnectionState, err error) {
			tr.mu.Lock()
			if !tr.connected && err == nil && !tr.tlsStart.IsZero() {
				tr.TLS = now().Sub(tr.tlsStart)
			}
			tr.mu.Unlock()
		},
		GotConn: func(i httptrace.GotConnInfo) {
			tr.mu.Lock()
			tr.connected = true
			tr.mu.Unlock()
			tr.NewConn = !i.Reused
			tr.idle = i.Reused && i.WasIdle
		},
		// The request is written on the connection's write goroutine and its
		// response read on the read goroutine: the two meet under tr.mu.
		WroteRequest: func(httptrace.WroteRequestInfo) {
			tr.mu.Lock()
			tr.wrote = now()
			tr.mu.Unlock()
			tr.written.Store(true)
		},
		GotFirstResponseByte: func() {
			tr.mu.Lock()
			if !tr.wrote.IsZero() {
				tr.TTFB = now().Sub(tr.wrote)
			}
			tr.mu.Unlock()
		},
	}
}

// body times the response body and ends the request's context when the
// worker closes it.
type body struct {
	rc     io.ReadCloser
	tr     *Trace
	ctx    context.Context
	cancel context.CancelCauseFunc
	now    func() time.Time
	done   bool
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if n > 0 && b.tr.First.IsZero() {
		b.tr.First = b.now()
	}
	if err != nil && !b.done {
		b.done = true
		if err == io.EOF {
			b.tr.End = b.now()
		} else {
			b.tr.fail(b.now(), cause(b.ctx, err))
		}
	}
	return n, err
}

func (b *body) Close() error {
	if !b.done {
		b.done = true
		b.tr.End = b.now()
	}
	err := b.rc.Close()
	b.cancel(nil)
	return err
}
