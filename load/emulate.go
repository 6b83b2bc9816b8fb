package load

import (
	"context"
	"math/rand/v2"
	"net"
	"net/http/httptrace"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tailgate-dev/tailgate/scenario"
)

// Network emulation (network.emulate) happens in the load generator's own
// dialer because tc netem is not available: the whole round trip is spent on
// the client's outbound side. Connecting waits one RTT; bytes written reach
// the peer one RTT late; reads are direct. Seen from the client, then:
//
//   - a request/response exchange costs exactly one RTT (the request arrives
//     RTT late, the answer is read at once);
//   - a streamed response keeps its spacing, since reads are not delayed;
//   - protocol flights count as on a real path: a TLS 1.3 handshake costs one
//     RTT (the ClientHello; the client's Finished leaves without a reply), a
//     TLS 1.2 handshake two (two client flights each wait for the server).
//
// Simplifications, each a choice for a client-side model of distance rather
// than a network simulator: there is no bandwidth limit, loss or reordering;
// the server sees the request late but its answer is not delayed again, so
// server-initiated exchanges (an HTTP/2 PING from the server) cost nothing.

// emulQueueMax bounds the bytes a connection holds between Write and delivery.
// Beyond it Write blocks, as on a full TCP send buffer, so a large upload
// cannot grow memory without limit.
const emulQueueMax = 4 << 20

// A queue buffer bigger than emulQueueKeep (left by an upload) is given back
// to the GC when the connection writes again after emulQueueIdle without
// writing; it is kept while writes keep coming, so a busy connection does not
// reallocate it at every drain.
const (
	emulQueueKeep = 64 << 10
	emulQueueIdle = time.Second
)

// Emulator adds a round-trip-time model to connections it dials, so a local
// server can be tested as if it were far away. It works against any target:
// nothing runs on the server side.
//
//	em := load.NewEmulator(sc.Network.RTT, sc.SeedValue())
//	tr := &http.Transport{DialContext: em.Dialer((&net.Dialer{}).DialContext)}
//
// An Emulator is safe for concurrent use.
type Emulator struct {
	model *scenario.Delay
	seed  uint64
	conns atomic.Uint64 // connections dialed so far: the stream of each one's RTTs
}

// NewEmulator returns an emulator drawing RTTs from model with a source
// seeded by seed. Connection n (in dial order) draws from PCG(seed, n), so a
// run is repeatable and connections share no locked source. A nil model adds
// nothing.
func NewEmulator(model *scenario.Delay, seed uint64) *Emulator {
	return &Emulator{model: model, seed: seed}
}

// connRand returns the RTT source of the next connection.
func (e *Emulator) connRand() *rand.Rand {
	return rand.New(rand.NewPCG(e.seed, e.conns.Add(1)))
}

// Dialer wraps dial: a connection it opens pays one sampled RTT to connect
// (the SYN/SYN-ACK exchange; the wait ends early, failing the dial, when ctx
// ends) and its writes reach the peer one sampled RTT late.
//
// The RTT is spent between the ConnectStart and ConnectDone events of
// net/http/httptrace when dial reports them (net.Dialer does), so a tracing
// transport's connect phase includes it; otherwise it is spent after dial
// returns. A failed connect pays it too, as a refused SYN does. A nil
// Emulator returns dial unchanged.
func (e *Emulator) Dialer(dial func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	if e == nil {
		return dial
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		rng := e.connRand()
		rtt := sampleRTT(e.model, rng)
		// paid makes the dial pay one RTT however many addresses it tries
		// (net.Dialer may try several, some in parallel).
		var paid atomic.Bool
		// Hooks given here run before those already on ctx, so the wait sits
		// inside the caller's ConnectStart…ConnectDone.
		traced := httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
			ConnectDone: func(string, string, error) {
				if paid.CompareAndSwap(false, true) {
					sleepCtx(ctx, rtt) // an early end is seen through ctx below
				}
			},
		})
		c, err := dial(traced, network, addr)
		if paid.CompareAndSwap(false, true) {
			sleepCtx(ctx, rtt)
		}
		if err != nil {
			return nil, err
		}
		if cerr := ctx.Err(); cerr != nil {
			c.Close()
			return nil, &net.OpError{Op: "dial", Net: network, Addr: c.RemoteAddr(), Err: cerr}
		}
		return e.wrap(c, network, rng), nil
	}
}

// sampleRTT draws one RTT; a model never makes time run backwards.
func sampleRTT(model *scenario.Delay, rng *rand.Rand) time.Duration {
	return max(model.Sample(rng), 0)
}

// timerLead is how late a timer typically fires on this machine (a few
// hundred microseconds on a VM), measured once: emulated waits start their
// timers that much early, so an emulated RTT costs the RTT, not the RTT
// plus the scheduler's lateness. Capped: a machine busy while measuring
// must not make every wait short.
var timerLead = sync.OnceValue(func() time.Duration {
	const n = 9
	var late [n]time.Duration
	for i := range late {
		start := time.Now()
		t := time.NewTimer(time.Millisecond)
		<-t.C
		late[i] = time.Since(start) - time.Millisecond
	}
	slices.Sort(late[:])
	return min(max(late[n/2], 0), time.Millisecond)
})

// sleepCtx waits d or until ctx ends, whichever comes first. Its timer
// starts timerLead early; when it fires on time after all, the rest (under
// a millisecond) is waited out yielding, so a dial never pays less than its
// RTT.
func sleepCtx(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	until := time.Now().Add(d)
	t := time.NewTimer(max(d-timerLead(), 0))
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return
	}
	for time.Now().Before(until) && ctx.Err() == nil {
		runtime.Gosched()
	}
}

// wrap starts emulating on c, drawing write RTTs from rng.
func (e *Emulator) wrap(c net.Conn, network string, rng *rand.Rand) *emulConn {
	ec := &emulConn{
		Conn:    c,
		network: network,
		model:   e.model,
		rng:     rng,
		kick:    make(chan struct{}, 1),
		done:    make(chan struct{}),
		exited:  make(chan struct{}),
	}
	go ec.deliver()
	return ec
}

// emulConn is a connection whose writes reach the peer one RTT late. Write
// copies the bytes into an ordered queue with a due time and returns at once,
// so a writer is never held for the RTT (a TLS Finished and the request after
// it leave together, as one flight); one goroutine per connection delivers
// the queue in order, each write at its due time. Reads, and everything else,
// go straight to the real connection.
//
// Flights: a write on an idle connection starts a flight with a fresh RTT
// sample. A write issued before that flight's first bytes are due joins it:
// it takes the same RTT (no new sample), so one flight is never split across
// two samples, and it is due one RTT after it was issued, so a request
// written into a busy HTTP/2 connection still pays a whole RTT. Due times
// never go backwards: bytes never overtake earlier bytes, as on TCP.
//
// Simplifications: Close drops bytes not yet delivered (a real network would
// see a reset, not a flush). An error of the real connection's Write is kept
// and returned by every later Write and by Close; bytes queued behind it are
// dropped. Deadlines are passed to the real connection: a write deadline
// also bounds how long Write waits for room in the queue, and one that passes
// before queued bytes are delivered fails their delivery, which later Writes
// report (wrapping os.ErrDeadlineExceeded). CloseWrite and other methods of
// the concrete connection type are not offered.
type emulConn struct {
	net.Conn
	network string
	model   *scenario.Delay
	kick    chan struct{} // capacity 1: the queue was empty and is not any more
	done    chan struct{} // closed by Close
	exited  chan struct{} // closed when deliver returns

	mu        sync.Mutex
	rng       *rand.Rand
	flightRTT time.Duration
	flightEnd time.Time // the current flight's first bytes are due then
	lastDue   time.Time
	buf       []byte        // the queued bytes are buf[head:]
	head      int           // only deliver moves it, and moves bytes within buf
	writes    []queuedWrite // the queued writes are writes[next:]
	next      int
	wdl       time.Time     // write deadline
	waitc     chan struct{} // closed when a blocked Write should look again; nil when none waits
	err       error         // the real connection's Write failed
	closed    bool
}

// queuedWrite is one write in the queue: buf[previous end:end], due at due.
type queuedWrite struct {
	due time.Time
	end int
}

var _ net.Conn = (*emulConn)(nil)

// due returns when bytes written at now reach the peer, and moves the flight
// state on. c.mu is held.
func (c *emulConn) due(now time.Time) time.Time {
	if !now.Before(c.flightEnd) {
		c.flightRTT = sampleRTT(c.model, c.rng)
		c.flightEnd = now.Add(c.flightRTT)
	}
	due := now.Add(c.flightRTT)
	if due.Before(c.lastDue) {
		due = c.lastDue // behind a slower earlier flight, as TCP delivers in order
	}
	c.lastDue = due
	return due
}

// Write queues p for delivery one RTT from now and returns without waiting
// for it; it blocks only while the queue is full.
func (c *emulConn) Write(p []byte) (int, error) {
	n := 0
	for {
		c.mu.Lock()
		now := time.Now()
		if err := c.writable(now); err != nil {
			c.mu.Unlock()
			return n, err
		}
		if room := emulQueueMax - (len(c.buf) - c.head); room > 0 && n < len(p) {
			k := min(room, len(p)-n)
			c.enqueue(now, p[n:n+k])
			n += k
		}
		if n == len(p) {
			c.mu.Unlock()
			return n, nil
		}
		if c.waitc == nil {
			c.waitc = make(chan struct{})
		}
		waitc, deadline := c.waitc, c.wdl
		c.mu.Unlock()
		c.await(waitc, deadline)
	}
}

// writable says why a write cannot be queued now, if it cannot. c.mu is held.
func (c *emulConn) writable(now time.Time) error {
	switch {
	case c.closed:
		return c.opError(net.ErrClosed)
	case c.err != nil:
		return c.err
	case !c.wdl.IsZero() && !now.Before(c.wdl):
		return c.opError(os.ErrDeadlineExceeded)
	}
	return nil
}

func (c *emulConn) opError(err error) error {
	return &net.OpError{Op: "write", Net: c.network, Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}

// enqueue appends a copy of b, due from now. c.mu is held.
func (c *emulConn) enqueue(now time.Time, b []byte) {
	wasEmpty := c.next == len(c.writes)
	// An empty queue means no delivery is in progress: buf is free to drop.
	if wasEmpty && cap(c.buf) > emulQueueKeep && now.Sub(c.lastDue) > emulQueueIdle {
		c.buf = nil
	}
	c.buf = append(c.buf, b...)
	c.writes = append(c.writes, queuedWrite{due: c.due(now), end: len(c.buf)})
	if wasEmpty {
		select {
		case c.kick <- struct{}{}:
		default:
		}
	}
}

// await blocks until waitc is closed, the connection is closed or deadline
// passes; the caller then looks again.
func (c *emulConn) await(waitc chan struct{}, deadline time.Time) {
	var expired <-chan time.Time
	if !deadline.IsZero() {
		t := time.NewTimer(time.Until(deadline))
		defer t.Stop()
		expired = t.C
	}
	select {
	case <-waitc:
	case <-c.done:
	case <-expired:
	}
}

// wake lets blocked writers look again. c.mu is held.
func (c *emulConn) wake() {
	if c.waitc != nil {
		close(c.waitc)
		c.waitc = nil
	}
}

// deliver writes the queue to the real connection in order, each write at its
// due time, until Close or a write error.
func (c *emulConn) deliver() {
	defer close(c.exited)
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		c.mu.Lock()
		if c.closed || c.err != nil {
			c.mu.Unlock()
			return
		}
		if c.next == len(c.writes) {
			c.mu.Unlock()
			select {
			case <-c.kick:
				continue
			case <-c.done:
				return
			}
		}
		now := time.Now()
		if wait := c.writes[c.next].due.Sub(now) - timerLead(); wait > 0 {
			c.mu.Unlock()
			if timer == nil {
				timer = time.NewTimer(wait)
			} else {
				timer.Reset(wait)
			}
			select {
			case <-timer.C:
				continue
			case <-c.done:
				return
			}
		}
		// Everything due goes in one write: fewer syscalls, same bytes.
		now = now.Add(timerLead())
		last := c.next
		for last+1 < len(c.writes) && !c.writes[last+1].due.After(now) {
			last++
		}
		end := c.writes[last].end
		// Writers only append past len(buf), and only this goroutine moves
		// bytes, so b stays intact without the lock.
		b := c.buf[c.head:end]
		c.mu.Unlock()
		_, err := c.Conn.Write(b)
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return
		}
		c.head, c.next = end, last+1
		c.compact()
		if err != nil {
			c.err = err
		}
		c.wake()
		c.mu.Unlock()
	}
}

// compact reclaims delivered space: all of it when the queue is empty, else
// by moving the rest down once at least half of buf is delivered, so each byte
// is moved O(1) times. c.mu is held and no delivery is in progress.
func (c *emulConn) compact() {
	switch {
	case c.next == len(c.writes):
		c.buf, c.writes, c.head, c.next = c.buf[:0], c.writes[:0], 0, 0
	case c.head >= len(c.buf)-c.head:
		c.buf = c.buf[:copy(c.buf, c.buf[c.head:])]
		c.writes = c.writes[:copy(c.writes, c.writes[c.next:])]
		for i := range c.writes {
			c.writes[i].end -= c.head
		}
		c.head, c.next = 0, 0
	}
}

// Close stops delivery at once and closes the real connection: bytes not yet
// delivered are dropped, as a reset would drop them. It returns the error of
// an earlier failed delivery, if any, else the real Close's. The delivery
// goroutine has returned when Close does.
func (c *emulConn) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		<-c.exited
		return c.Conn.Close() // reports net.ErrClosed, as a second Close should
	}
	c.closed = true
	err := c.err
	c.buf, c.writes, c.head, c.next = nil, nil, 0, 0
	c.wake()
	c.mu.Unlock()
	close(c.done)
	cerr := c.Conn.Close() // unblocks a delivery in progress
	<-c.exited
	if err != nil {
		return err
	}
	return cerr
}

// SetDeadline sets the real connection's deadlines; the write deadline also
// bounds Write's wait for room in the queue.
func (c *emulConn) SetDeadline(t time.Time) error {
	c.setWriteDeadline(t)
	return c.Conn.SetDeadline(t)
}

// SetWriteDeadline sets the real connection's write deadline; it also bounds
// Write's wait for room in the queue.
func (c *emulConn) SetWriteDeadline(t time.Time) error {
	c.setWriteDeadline(t)
	return c.Conn.SetWriteDeadline(t)
}

func (c *emulConn) setWriteDeadline(t time.Time) {
	c.mu.Lock()
	c.wdl = t
	c.wake()
	c.mu.Unlock()
}
