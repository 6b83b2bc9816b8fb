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
// register with (a lock shared by every request); instead each worker files
// its request's deadline and cancel function in a slot of its own, and one
// goroutine looks over the slots a few times per timeout.
type watchdog struct {
	timeout   time.Duration
	abandoned atomic.Bool // set once: every request is cancelled at once

	mu    sync.Mutex
	slots []*slot
}

// slot holds the request a worker has in flight, if any.
type slot struct {
	cur atomic.Pointer[deadline]
}

// deadline is one request's: a new one each request, so a late look at a
// slot can only cancel a request that already ended (a no-op), never the
// worker's next one.
type deadline struct {
	at     int64 // Unix nanoseconds
	cancel context.CancelCauseFunc
	// conn, when the request is on a worker's own connection, has its I/O
	// ended too: a context does not reach a blocked read.
	conn *h1Conn
	gen  uint64
}

func newWatchdog(timeout time.Duration) *watchdog {
	return &watchdog{timeout: timeout}
}

// slot makes a slot for one worker.
func (w *watchdog) slot() *slot {
	s := &slot{}
	w.mu.Lock()
	w.slots = append(w.slots, s)
	w.mu.Unlock()
	return s
}

// begin files a request started at start, on conn when it has a worker's
// own connection (nil otherwise): ctx is its context, derived from one that
// is never done. end must follow when the request is over.
func (w *watchdog) begin(s *slot, ctx context.Context, start time.Time, conn *h1Conn) (context.Context, context.CancelCauseFunc) {
	ctx, cancel := context.WithCancelCause(ctx)
	d := &deadline{at: start.UnixNano() + int64(w.timeout), cancel: cancel}
	if conn != nil {
		d.conn, d.gen = conn, conn.begin()
	}
	s.cur.Store(d)
	// After the store: either abandon saw this request in its slot, or
	// this sees the flag.
	if w.abandoned.Load() {
		d.end(errAbandoned)
	}
	return ctx, cancel
}

// end ends the request with cause.
func (d *deadline) end(cause error) {
	d.cancel(cause)
	if d.conn != nil {
		d.conn.interrupt(d.gen)
	}
}

// end takes the request out of its slot.
func (s *slot) end() { s.cur.Store(nil) }

// period is how often run looks over the slots: a request is ended between
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
	slots := w.slots
	w.mu.Unlock()
	for _, s := range slots {
		if d := s.cur.Load(); d != nil && (now == 0 || now >= d.at) {
			d.end(cause)
		}
	}
}
