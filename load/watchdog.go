package load

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// watchdog ends requests that outlive target.timeout, and every request in
// flight when an interrupted run abandons them. A request's context is a
// plain cancelable one, without a timer and without a cancelable parent to
// register with; instead each request files its deadline and cancel
// function in the watchdog's list of requests in flight for as long as it
// runs, and one goroutine looks over the list a few times per timeout.
// Entries live exactly as long as their request, whoever sends it (a worker
// of the native engine, or vegeta's), so nothing is left behind by workers
// that come and go.
type watchdog struct {
	timeout   time.Duration
	abandoned atomic.Bool // set once: every request is cancelled at once

	mu       sync.Mutex
	inFlight deadline // sentinel of a circular list of the requests in flight
	n        int      // entries in the list
}

// deadline is one request's entry: a new one each request, so a late look
// can only cancel a request that already ended (a no-op), never the next.
type deadline struct {
	at     int64 // Unix nanoseconds
	cancel context.CancelCauseFunc
	// conn, when the request is on a worker's own connection, has its I/O
	// ended too: a context does not reach a blocked read.
	conn *h1Conn
	gen  uint64

	prev, next *deadline // in the watchdog's list while the request runs
}

func newWatchdog(timeout time.Duration) *watchdog {
	w := &watchdog{timeout: timeout}
	w.inFlight.prev, w.inFlight.next = &w.inFlight, &w.inFlight
	return w
}

// begin files a request started at start, on conn when it has a worker's
// own connection (nil otherwise): ctx is its context, derived from one that
// is never done. end(d) must follow when the request is over.
func (w *watchdog) begin(ctx context.Context, start time.Time, conn *h1Conn) (context.Context, context.CancelCauseFunc, *deadline) {
	ctx, cancel := context.WithCancelCause(ctx)
	d := &deadline{at: start.UnixNano() + int64(w.timeout), cancel: cancel}
	if conn != nil {
		d.conn, d.gen = conn, conn.begin()
	}
	w.mu.Lock()
	d.prev, d.next = w.inFlight.prev, &w.inFlight
	d.prev.next, w.inFlight.prev = d, d
	w.n++
	w.mu.Unlock()
	// After filing: either abandon saw this request in the list, or this
	// sees the flag.
	if w.abandoned.Load() {
		d.end(errAbandoned)
	}
	return ctx, cancel, d
}

// end takes d's request out of the list of requests in flight.
func (w *watchdog) end(d *deadline) {
	w.mu.Lock()
	if d.next != nil {
		d.prev.next, d.next.prev = d.next, d.prev
		d.prev, d.next = nil, nil
		w.n--
	}
	w.mu.Unlock()
}

// len is the number of requests in flight.
func (w *watchdog) len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}

// end ends the request with cause.
func (d *deadline) end(cause error) {
	d.cancel(cause)
	if d.conn != nil {
		d.conn.interrupt(d.gen)
	}
}

// period is how often run looks over the list: a request is ended between
// its timeout and one period later.
func (w *watchdog) period() time.Duration {
	return min(max(w.timeout/20, time.Millisecond), 10*time.Millisecond)
}

// run ends overdue requests until stop closes.
func (w *watchdog) run(stop <-chan struct{}) {
	t := time.NewTicker(w.period())
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			w.cancel(now.UnixNano(), errTimeout)
		}
	}
}

// abandon ends every request in flight now and any begun later.
func (w *watchdog) abandon() {
	w.abandoned.Store(true)
	w.cancel(0, errAbandoned)
}

// cancel ends, with cause, the requests in flight whose deadline is not
// after now; every one when now is 0.
func (w *watchdog) cancel(now int64, cause error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for d := w.inFlight.next; d != &w.inFlight; d = d.next {
		if now == 0 || now >= d.at {
			d.end(cause)
		}
	}
}
