package load

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Trace is what the tracing transport learned about one request. The
// transport fills it in the worker goroutine before vegeta hands the result
// over, so the reader of a result sees a complete trace.
type Trace struct {
	Seq   uint64
	Start time.Time // RoundTrip entered: the request's actual send

	DNS, Connect, TLS time.Duration // zero unless this request opened a connection
	NewConn           bool          // the request opened a connection (else it reused one)
	TTFB              time.Duration // request written → first response byte
	End               time.Time     // last byte read or failure

	// First is when the first SSE data event (stream: sse) or the first
	// body byte (stream: none) arrived; zero when none did.
	First   time.Time
	Events  int             // SSE events read
	Gaps    []time.Duration // between consecutive SSE events (inter-token latency)
	Metrics []Metric        // Server-Timing metrics with a duration

	Err   error // transport or body error, nil on success
	Class Class // error class when Err is set

	dnsStart, connStart, tlsStart, wrote time.Time
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

// Classify names the kind of a transport error by its type, not its text.
func Classify(err error) Class {
	var dnsErr *net.DNSError
	var tlsErr *tls.CertificateVerificationError
	var recErr tls.RecordHeaderError
	var netErr net.Error
	var malformed errMalformed
	switch {
	case err == nil:
		return ""
	case errors.Is(err, errNoEvents), errors.As(err, &malformed):
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

// errTimeout is the cause of a request's context when target.timeout passes.
var errTimeout = errors.New("request timed out")

// errAbandoned is the cause of a request's context when an interrupted run
// stops waiting for it.
var errAbandoned = errors.New("abandoned: the run was interrupted")

// traces holds the traces of requests in flight, keyed by vegeta's sequence
// number, until the result reader takes them. Sharded so that workers do not
// queue on one lock.
type traces struct {
	shards [64]struct {
		mu sync.Mutex
		m  map[uint64]*Trace
	}
}

// len counts the requests in flight: filed and not yet taken.
func (t *traces) len() int {
	n := 0
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}

func newTraces() *traces {
	t := &traces{}
	for i := range t.shards {
		t.shards[i].m = map[uint64]*Trace{}
	}
	return t
}

func (t *traces) put(tr *Trace) {
	s := &t.shards[tr.Seq%uint64(len(t.shards))]
	s.mu.Lock()
	s.m[tr.Seq] = tr
	s.mu.Unlock()
}

// take removes and returns the trace of seq, nil when the request never
// reached the transport.
func (t *traces) take(seq uint64) *Trace {
	s := &t.shards[seq%uint64(len(t.shards))]
	s.mu.Lock()
	tr := s.m[seq]
	delete(s.m, seq)
	s.mu.Unlock()
	return tr
}

// transport is the tracing http.RoundTripper given to vegeta: it times each
// phase with net/http/httptrace, enforces the request timeout across the
// whole body read, and files a Trace per request under vegeta's sequence
// number (header X-Vegeta-Seq).
type transport struct {
	base    http.RoundTripper
	ctx     context.Context // the run's: ending it abandons every request
	timeout time.Duration
	sse     bool // time SSE events (stream: sse)
	traces  *traces
	now     func() time.Time
}

const seqHeader = "X-Vegeta-Seq"

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	tr := &Trace{Start: t.now()}
	if s := req.Header.Get(seqHeader); s != "" {
		tr.Seq, _ = strconv.ParseUint(s, 10, 64)
		t.traces.put(tr)
	}
	// vegeta's requests carry no context of their own; the run's lets an
	// interrupted run abandon what is still in flight.
	parent := t.ctx
	if parent == nil {
		parent = req.Context()
	}
	ctx, cancel := context.WithTimeoutCause(parent, t.timeout, errTimeout)
	ctx = httptrace.WithClientTrace(ctx, t.clientTrace(tr))
	res, err := t.base.RoundTrip(req.WithContext(ctx))
	if err != nil {
		tr.fail(t.now(), cause(ctx, err)) // before cancel, which would become the cause
		cancel()
		return nil, err
	}
	tr.Metrics = ParseServerTiming(tr.Metrics, res.Header.Values("Server-Timing"))
	b := &body{rc: res.Body, tr: tr, ctx: ctx, cancel: cancel, now: t.now}
	if t.sse && res.StatusCode >= 200 && res.StatusCode < 300 {
		res.Body = &sseBody{body: b}
	} else {
		res.Body = b
	}
	return res, nil
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

func (t *transport) clientTrace(tr *Trace) *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		DNSStart: func(httptrace.DNSStartInfo) { tr.dnsStart = t.now() },
		DNSDone: func(httptrace.DNSDoneInfo) {
			if !tr.dnsStart.IsZero() {
				tr.DNS = t.now().Sub(tr.dnsStart)
			}
		},
		ConnectStart: func(string, string) { tr.connStart = t.now() },
		ConnectDone: func(_, _ string, err error) {
			if err == nil && !tr.connStart.IsZero() {
				tr.Connect = t.now().Sub(tr.connStart)
			}
		},
		TLSHandshakeStart: func() { tr.tlsStart = t.now() },
		TLSHandshakeDone: func(_ tls.ConnectionState, err error) {
			if err == nil && !tr.tlsStart.IsZero() {
				tr.TLS = t.now().Sub(tr.tlsStart)
			}
		},
		GotConn:              func(i httptrace.GotConnInfo) { tr.NewConn = !i.Reused },
		WroteRequest:         func(httptrace.WroteRequestInfo) { tr.wrote = t.now() },
		GotFirstResponseByte: func() { tr.TTFB = t.now().Sub(tr.wrote) },
	}
}

// body times the response body and ends the request's context when vegeta
// closes it.
type body struct {
	rc     io.ReadCloser
	tr     *Trace
	ctx    context.Context
	cancel context.CancelFunc
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
	b.cancel()
	return err
}
