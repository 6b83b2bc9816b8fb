package load

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tailgate-dev/tailgate/scenario"
)

// The machine running tests is shared and noisy: lower bounds are tight (the
// emulation may never be early), upper bounds allow slack for scheduling.
const (
	emulRTT   = 40 * time.Millisecond
	emulSlack = 25 * time.Millisecond
	// The WroteRequest hook runs just after the request is queued, so an
	// exchange timed from it may look up to this much shorter than the RTT.
	emulWroteSlack = 2 * time.Millisecond
)

func emulFixed(d time.Duration) *scenario.Delay {
	v := scenario.Duration(d)
	return &scenario.Delay{Fixed: &v}
}

func emulLognormal(p50, p99 time.Duration) *scenario.Delay {
	a, b := scenario.Duration(p50), scenario.Duration(p99)
	return &scenario.Delay{P50: &a, P99: &b}
}

func emulMedian(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// emulMeasure runs measure until its upper bounds hold, five times at
// most. Lower bounds are checked on every run and fail at once: the
// emulation may never be early. A busy machine only ever adds time, so one
// run within the upper bounds shows the emulation adds no more than it should.
func emulMeasure(t *testing.T, measure func(b *emulBounds)) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		b := &emulBounds{t: t}
		measure(b)
		if len(b.over) == 0 || t.Failed() {
			return
		}
		if attempt == 5 {
			for _, msg := range b.over {
				t.Error(msg)
			}
			return
		}
		t.Logf("run %d over an upper bound, measuring again: %s", attempt, strings.Join(b.over, "; "))
	}
}

// emulBounds collects the upper-bound failures of one run of emulMeasure.
type emulBounds struct {
	t    *testing.T
	over []string
}

// check requires every sample to be at least lo, now, and their median to be
// under hi, on some run.
func (b *emulBounds) check(what string, ds []time.Duration, lo, hi time.Duration) {
	b.t.Helper()
	for _, d := range ds {
		if d < lo {
			b.t.Errorf("%s = %v, below %v (samples %v)", what, d, lo, ds)
		}
	}
	b.spread(what, ds, 0, hi)
}

// spread requires the median of the samples to be within [lo, hi) on some
// run: for measures that scheduling noise can move either way.
func (b *emulBounds) spread(what string, ds []time.Duration, lo, hi time.Duration) {
	b.t.Helper()
	if len(ds) == 0 {
		b.t.Fatalf("%s: no samples", what)
	}
	if m := emulMedian(ds); m < lo || m >= hi {
		b.over = append(b.over, fmt.Sprintf("%s median = %v, want in [%v, %v) (samples %v)", what, m, lo, hi, ds))
	}
}

// emulTimings is what httptrace saw of one request. Hooks run on transport
// goroutines, hence the lock.
type emulTimings struct {
	mu                                     sync.Mutex
	connStart, connDone, tlsStart, tlsDone time.Time
	wrote, first                           time.Time
	reused                                 bool
}

func (tm *emulTimings) set(at *time.Time) {
	now := time.Now()
	tm.mu.Lock()
	*at = now
	tm.mu.Unlock()
}

func (tm *emulTimings) trace(ctx context.Context) context.Context {
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		ConnectStart:         func(string, string) { tm.set(&tm.connStart) },
		ConnectDone:          func(string, string, error) { tm.set(&tm.connDone) },
		TLSHandshakeStart:    func() { tm.set(&tm.tlsStart) },
		TLSHandshakeDone:     func(tls.ConnectionState, error) { tm.set(&tm.tlsDone) },
		WroteRequest:         func(httptrace.WroteRequestInfo) { tm.set(&tm.wrote) },
		GotFirstResponseByte: func() { tm.set(&tm.first) },
		GotConn: func(i httptrace.GotConnInfo) {
			tm.mu.Lock()
			tm.reused = i.Reused
			tm.mu.Unlock()
		},
	})
}

// get fetches url, reads the body whole and returns what the trace saw.
func emulGet(t *testing.T, client *http.Client, url string) (*emulTimings, *http.Response) {
	t.Helper()
	tm := &emulTimings{}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(tm.trace(ctx), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, res.Body); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return tm, res
}

func emulOK(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }

func TestEmulatorDialPaysRTT(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	e := NewEmulator(emulFixed(emulRTT), 1)
	pipeDial := func(context.Context, string, string) (net.Conn, error) {
		a, b := net.Pipe()
		b.Close()
		return a, nil
	}
	for name, dial := range map[string]func(context.Context, string, string) (net.Conn, error){
		"net.Dialer":           (&net.Dialer{}).DialContext,
		"dial without tracing": pipeDial,
	} {
		t.Run(name, func(t *testing.T) {
			emulMeasure(t, func(b *emulBounds) {
				var took []time.Duration
				for range 5 {
					start := time.Now()
					c, err := e.Dialer(dial)(context.Background(), "tcp", ln.Addr().String())
					if err != nil {
						t.Fatal(err)
					}
					took = append(took, time.Since(start))
					c.Close()
				}
				b.check("dial", took, emulRTT, emulRTT+emulSlack)
				t.Logf("RTT %v: dial median %v", emulRTT, emulMedian(took))
			})
		})
	}
	t.Run("refused", func(t *testing.T) {
		dead, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := dead.Addr().String()
		dead.Close()
		start := time.Now()
		if _, err := e.Dialer((&net.Dialer{}).DialContext)(context.Background(), "tcp", addr); err == nil {
			t.Fatal("dial to a closed port succeeded")
		}
		// A refused SYN costs a round trip too.
		if took := time.Since(start); took < emulRTT {
			t.Errorf("refused dial took %v, want at least %v", took, emulRTT)
		}
	})
}

// TestEmulatorDialAbort checks that a dial waiting out a 10s RTT fails as
// soon as its context ends, whichever way the dial is made.
func TestEmulatorDialAbort(t *testing.T) {
	base := runtime.NumGoroutine()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()
	e := NewEmulator(emulFixed(10*time.Second), 1)
	pipeDial := func(context.Context, string, string) (net.Conn, error) {
		a, b := net.Pipe()
		b.Close()
		return a, nil
	}
	for name, dial := range map[string]func(context.Context, string, string) (net.Conn, error){
		"net.Dialer":           (&net.Dialer{}).DialContext,
		"dial without tracing": pipeDial,
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		start := time.Now()
		c, err := e.Dialer(dial)(ctx, "tcp", ln.Addr().String())
		took := time.Since(start)
		cancel()
		if err == nil {
			c.Close()
			t.Fatalf("%s: dial succeeded through a 10s RTT in %v", name, took)
		}
		if !errors.Is(err, context.DeadlineExceeded) || Classify(err) != ClassTimeout {
			t.Errorf("%s: err = %v (class %q), want the context's deadline (timeout)", name, err, Classify(err))
		}
		if took > time.Second {
			t.Errorf("%s: dial took %v to notice its context ended", name, took)
		}
	}
	ln.Close()
	for c := range accepted {
		c.Close()
	}
	emulWaitGoroutines(t, base)
}

// TestEmulatorHTTPExchange: on a fresh connection, connect and the
// request/response exchange each cost one RTT; on the reused connection the
// exchange costs one RTT and there is no connect.
func TestEmulatorHTTPExchange(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(emulOK))
	defer srv.Close()
	e := NewEmulator(emulFixed(emulRTT), 7)
	emulMeasure(t, func(b *emulBounds) {
		var connect, cold, warm []time.Duration
		for range 5 {
			tr := &http.Transport{DialContext: e.Dialer((&net.Dialer{}).DialContext)}
			client := &http.Client{Transport: tr}
			first, _ := emulGet(t, client, srv.URL)
			second, _ := emulGet(t, client, srv.URL)
			tr.CloseIdleConnections()
			if first.reused || first.connStart.IsZero() || first.connDone.IsZero() {
				t.Fatalf("first request: reused %v, connect %v…%v; want a new connection", first.reused, first.connStart, first.connDone)
			}
			if !second.reused || !second.connStart.IsZero() {
				t.Fatalf("second request: reused %v, connect start %v; want the warm connection", second.reused, second.connStart)
			}
			connect = append(connect, first.connDone.Sub(first.connStart))
			cold = append(cold, first.first.Sub(first.wrote))
			warm = append(warm, second.first.Sub(second.wrote))
		}
		b.check("connect", connect, emulRTT, emulRTT+emulSlack)
		b.check("exchange on a new connection", cold, emulRTT-emulWroteSlack, emulRTT+emulSlack)
		b.check("exchange on a reused connection", warm, emulRTT-emulWroteSlack, emulRTT+emulSlack)
		t.Logf("RTT %v: connect median %v, exchange median %v on a new connection, %v reused",
			emulRTT, emulMedian(connect), emulMedian(cold), emulMedian(warm))
	})
}

// emulTLSServer starts an HTTPS server pinned to version and returns a client
// TLS configuration that trusts it, pinned to the same version.
func emulTLSServer(t *testing.T, version uint16, h2 bool, h http.Handler) (*httptest.Server, *tls.Config) {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.EnableHTTP2 = h2
	srv.TLS = &tls.Config{MinVersion: version, MaxVersion: version, SessionTicketsDisabled: true}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	cfg := srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	cfg.MinVersion, cfg.MaxVersion = version, version
	// X25519 alone: the default hybrid post-quantum key share costs the
	// race detector milliseconds of noise per handshake, and no round trip.
	cfg.CurvePreferences = []tls.CurveID{tls.X25519}
	return srv, cfg
}

// TestEmulatorTLSHandshake: the handshake's own round trips make TLS 1.3
// cost one RTT and TLS 1.2 two. The handshake's computation (slow under the
// race detector) is measured with RTT 0 on the same server and allowed on
// top of the upper bound.
func TestEmulatorTLSHandshake(t *testing.T) {
	for _, tc := range []struct {
		name    string
		version uint16
		rtts    time.Duration
	}{
		{"1.3", tls.VersionTLS13, 1},
		{"1.2", tls.VersionTLS12, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, cfg := emulTLSServer(t, tc.version, false, http.HandlerFunc(emulOK))
			handshakes := func(rtt time.Duration) (connect, handshake, exchange []time.Duration) {
				e := NewEmulator(emulFixed(rtt), 11)
				tr := &http.Transport{
					DialContext:       e.Dialer((&net.Dialer{}).DialContext),
					TLSClientConfig:   cfg,
					DisableKeepAlives: true, // every request a new connection and handshake
				}
				defer tr.CloseIdleConnections()
				client := &http.Client{Transport: tr}
				for range 5 {
					tm, res := emulGet(t, client, srv.URL)
					if res.TLS == nil || res.TLS.Version != tc.version || res.TLS.DidResume {
						t.Fatalf("connection state %+v, want a full TLS %s handshake", res.TLS, tc.name)
					}
					connect = append(connect, tm.connDone.Sub(tm.connStart))
					handshake = append(handshake, tm.tlsDone.Sub(tm.tlsStart))
					exchange = append(exchange, tm.first.Sub(tm.wrote))
				}
				return connect, handshake, exchange
			}
			emulMeasure(t, func(b *emulBounds) {
				_, cpu, _ := handshakes(0)
				connect, handshake, exchange := handshakes(emulRTT)
				want := tc.rtts * emulRTT
				b.check("connect", connect, emulRTT, emulRTT+emulSlack)
				b.check("TLS "+tc.name+" handshake", handshake, want, want+emulMedian(cpu)+emulSlack)
				b.check("exchange", exchange, emulRTT-emulWroteSlack, emulRTT+emulSlack)
				t.Logf("TLS %s, RTT %v: handshake median %v (%d RTT; %v with RTT 0), connect %v, exchange %v",
					tc.name, emulRTT, emulMedian(handshake), tc.rtts, emulMedian(cpu), emulMedian(connect), emulMedian(exchange))
			})
		})
	}
}

// TestEmulatorHTTP2 checks that HTTP/2 works over the emulated connection and
// that a request written into a busy connection, while an earlier request is
// still on its way, pays a whole RTT too.
func TestEmulatorHTTP2(t *testing.T) {
	srv, cfg := emulTLSServer(t, tls.VersionTLS13, true, http.HandlerFunc(emulOK))
	e := NewEmulator(emulFixed(emulRTT), 13)
	tr := &http.Transport{
		DialContext:       e.Dialer((&net.Dialer{}).DialContext),
		TLSClientConfig:   cfg,
		ForceAttemptHTTP2: true,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	if _, res := emulGet(t, client, srv.URL); res.ProtoMajor != 2 {
		t.Fatalf("protocol %s, want HTTP/2", res.Proto)
	}
	// Staggered by 5ms, each request after the first is written while
	// earlier ones are in flight.
	emulMeasure(t, func(b *emulBounds) {
		const n = 6
		exchange := make([]time.Duration, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				time.Sleep(time.Duration(i) * 5 * time.Millisecond)
				tm, res := emulGet(t, client, srv.URL)
				if res.ProtoMajor != 2 || !tm.reused {
					t.Errorf("request %d: %s, reused %v; want HTTP/2 on the warm connection", i, res.Proto, tm.reused)
				}
				exchange[i] = tm.first.Sub(tm.wrote)
			})
		}
		wg.Wait()
		b.check("HTTP/2 exchange", exchange, emulRTT-emulWroteSlack, emulRTT+emulSlack)
		t.Logf("HTTP/2, RTT %v, requests 5ms apart: exchanges %v", emulRTT, exchange)
	})
}

// TestEmulatorStreamSpacing: reads are not delayed, so the gaps between
// streamed events are the server's, and only the first event waits for the
// request's RTT.
func TestEmulatorStreamSpacing(t *testing.T) {
	const gap = 20 * time.Millisecond
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		f := w.(http.Flusher)
		for i := range 5 {
			if i > 0 {
				time.Sleep(gap)
			}
			fmt.Fprintf(w, "data: %d\n\n", i)
			f.Flush()
		}
	}))
	defer srv.Close()
	e := NewEmulator(emulFixed(emulRTT), 17)
	tr := &http.Transport{DialContext: e.Dialer((&net.Dialer{}).DialContext)}
	defer tr.CloseIdleConnections()
	emulMeasure(t, func(b *emulBounds) {
		tm := &emulTimings{}
		req, err := http.NewRequestWithContext(tm.trace(context.Background()), http.MethodGet, srv.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var events []time.Time
		r := bufio.NewReader(res.Body)
		for {
			line, err := r.ReadString('\n')
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(line, "data:") {
				events = append(events, time.Now())
			}
		}
		if len(events) != 5 {
			t.Fatalf("%d events, want 5", len(events))
		}
		tm.mu.Lock()
		first := events[0].Sub(tm.wrote)
		tm.mu.Unlock()
		b.check("first event after the request was written", []time.Duration{first}, emulRTT-emulWroteSlack, emulRTT+emulSlack)
		var gaps []time.Duration
		for i := 1; i < len(events); i++ {
			gaps = append(gaps, events[i].Sub(events[i-1]))
		}
		// An emulation delaying reads would stretch the gaps towards the
		// RTT; one batching them would shrink them.
		b.spread("gap between events", gaps, gap-2*time.Millisecond, gap+10*time.Millisecond)
		t.Logf("RTT %v: first event after %v, gaps %v", emulRTT, first, gaps)
	})
}

// TestEmulatorOrder writes tagged records from many goroutines through one
// connection (a lock around each Write, as a framer has) to a sink: every
// byte must arrive in the order written, and due times never go backwards,
// with RTTs drawn from a lognormal model. A few large records exceed the
// queue bound, so writers also block and resume.
func TestEmulatorOrder(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	const writers, records = 16, 100
	rng := rand.New(rand.NewPCG(1, 2))
	recs := make([][][]byte, writers)
	total := 0
	for w := range recs {
		for i := range records {
			size := rng.IntN(2000)
			if w < 2 && i == records/2 {
				size = 3 << 20
			}
			rec := append([]byte(fmt.Sprintf("[%02d:%04d]", w, i)), bytes.Repeat([]byte{byte('a' + w)}, size)...)
			recs[w] = append(recs[w], rec)
			total += len(rec)
		}
	}
	got := make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- nil
			return
		}
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(20 * time.Second))
		b := make([]byte, total)
		n, _ := io.ReadFull(c, b)
		got <- b[:n]
	}()

	e := NewEmulator(emulLognormal(2*time.Millisecond, 10*time.Millisecond), 5)
	nc, err := e.Dialer((&net.Dialer{}).DialContext)(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	c := nc.(*emulConn)

	var (
		framer  sync.Mutex
		want    []byte
		lastDue time.Time
		flights = map[time.Duration]bool{}
	)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			pause := rand.New(rand.NewPCG(uint64(w), 3))
			for i, rec := range recs[w] {
				if i%10 == 9 {
					// Idle moments end flights, so many RTTs get drawn.
					time.Sleep(time.Duration(pause.IntN(3000)) * time.Microsecond)
				}
				framer.Lock()
				if _, err := c.Write(rec); err != nil {
					t.Error(err)
				}
				want = append(want, rec...)
				c.mu.Lock()
				due, rtt := c.lastDue, c.flightRTT
				c.mu.Unlock()
				if due.Before(lastDue) {
					t.Errorf("due time went backwards: %v after %v", due, lastDue)
				}
				lastDue = due
				flights[rtt] = true
				framer.Unlock()
			}
		})
	}
	wg.Wait()
	select {
	case b := <-got:
		if len(b) != total || !bytes.Equal(b, want) {
			i := 0
			for i < min(len(b), len(want)) && b[i] == want[i] {
				i++
			}
			t.Fatalf("sink got %d bytes of %d, first difference at byte %d", len(b), total, i)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("sink did not receive everything")
	}
	if len(flights) < 5 {
		t.Errorf("%d distinct flight RTTs, want a fresh sample for each flight", len(flights))
	}
}

// TestEmulatorFlights steps the flight rules with an injected clock.
func TestEmulatorFlights(t *testing.T) {
	e := NewEmulator(emulLognormal(40*time.Millisecond, 80*time.Millisecond), 3)
	c := &emulConn{model: e.model, rng: e.connRand()}
	t0 := time.Now()
	at := func(d time.Duration) time.Time { return t0.Add(d) }

	d1 := c.due(at(0))
	rtt := d1.Sub(t0)
	if rtt <= 0 {
		t.Fatalf("first RTT %v", rtt)
	}
	// Joining the flight: same RTT, counted from the write.
	if d2 := c.due(at(rtt / 2)); !d2.Equal(at(rtt/2 + rtt)) {
		t.Errorf("write during the flight due %v after t0, want %v (same RTT)", d2.Sub(t0), rtt/2+rtt)
	}
	// After the flight's first bytes are due: a new flight, a new sample,
	// never due before the bytes already queued.
	d3 := c.due(at(rtt))
	if d3.Before(at(rtt/2 + rtt)) {
		t.Errorf("new flight due %v after t0, before the earlier write's %v", d3.Sub(t0), rtt/2+rtt)
	}
	if c.flightRTT == rtt {
		t.Errorf("new flight reused the RTT sample %v", rtt)
	}

	// Random write times: due times never go backwards, and a write is
	// never due sooner than its flight's RTT after it was issued.
	now := at(time.Second)
	last := time.Time{}
	r := rand.New(rand.NewPCG(9, 9))
	for range 10000 {
		now = now.Add(time.Duration(r.ExpFloat64() * float64(10*time.Millisecond)))
		d := c.due(now)
		if d.Before(last) {
			t.Fatalf("due %v before previous %v", d, last)
		}
		if d.Sub(now) < c.flightRTT {
			t.Fatalf("due %v after the write, under the flight RTT %v", d.Sub(now), c.flightRTT)
		}
		last = d
	}
}

// TestEmulatorSeed: the same seed gives every connection the same RTTs;
// connections differ from one another.
func TestEmulatorSeed(t *testing.T) {
	model := emulLognormal(40*time.Millisecond, 80*time.Millisecond)
	draw := func(e *Emulator) []time.Duration {
		var out []time.Duration
		for range 3 {
			rng := e.connRand()
			out = append(out, sampleRTT(model, rng), sampleRTT(model, rng))
		}
		return out
	}
	a, b := draw(NewEmulator(model, 42)), draw(NewEmulator(model, 42))
	if !slices.Equal(a, b) {
		t.Errorf("same seed, different RTTs: %v and %v", a, b)
	}
	if a[0] == a[2] || a[2] == a[4] {
		t.Errorf("connections share RTTs: %v", a)
	}
	if c := draw(NewEmulator(model, 43)); slices.Equal(a, c) {
		t.Errorf("seeds 42 and 43 gave the same RTTs %v", a)
	}
}

// TestEmulatorClose: Close returns at once with data queued behind a 10s RTT
// (dropping it) or with a writer blocked on a full queue, and leaves no
// goroutine behind.
func TestEmulatorClose(t *testing.T) {
	base := runtime.NumGoroutine()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	received := make(chan int, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			received <- -1
			return
		}
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, _ := io.Copy(io.Discard, c)
		received <- int(n)
	}()
	e := NewEmulator(emulFixed(10*time.Second), 1)
	real, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c := e.wrap(real, "tcp", e.connRand())
	if n, err := c.Write(make([]byte, 64<<10)); n != 64<<10 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	start := time.Now()
	if err := c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("Close took %v with data queued", took)
	}
	if n := <-received; n != 0 {
		t.Errorf("peer received %d bytes; undelivered data should be dropped", n)
	}
	if _, err := c.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write after Close: %v, want net.ErrClosed", err)
	}
	if err := c.Close(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("second Close: %v, want net.ErrClosed", err)
	}
	ln.Close()

	// A writer blocked on a full queue (the peer never reads) returns when
	// the connection is closed.
	a, b := net.Pipe()
	defer b.Close()
	e = NewEmulator(emulFixed(0), 1)
	c = e.wrap(a, "pipe", e.connRand())
	blocked := make(chan error, 1)
	go func() {
		_, err := c.Write(make([]byte, emulQueueMax+1))
		blocked <- err
	}()
	time.Sleep(50 * time.Millisecond)
	start = time.Now()
	c.Close()
	select {
	case err := <-blocked:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("blocked Write: %v, want net.ErrClosed", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("a blocked Write outlived Close by two seconds")
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Close took %v with a blocked writer", took)
	}
	b.Close()
	emulWaitGoroutines(t, base)
}

// emulWaitGoroutines fails unless the goroutine count falls back to base within
// two seconds.
func emulWaitGoroutines(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines, %d before the test:\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestEmulatorBackpressure: with the peer not reading, Write queues exactly
// emulQueueMax bytes and then waits, until its write deadline ends the wait.
func TestEmulatorBackpressure(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	e := NewEmulator(emulFixed(0), 1)
	c := e.wrap(a, "pipe", e.connRand())
	defer c.Close()
	c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	start := time.Now()
	n, err := c.Write(make([]byte, 6<<20))
	took := time.Since(start)
	if n != emulQueueMax || !errors.Is(err, os.ErrDeadlineExceeded) || Classify(err) != ClassTimeout {
		t.Errorf("Write = %d, %v; want %d queued and a deadline error", n, err, emulQueueMax)
	}
	// Without the deadline it would wait for ever: the upper bound only
	// leaves room for a loaded machine.
	if took < 100*time.Millisecond || took > 2*time.Second {
		t.Errorf("Write returned after %v, want at its 100ms deadline", took)
	}
	// The failed delivery is kept: later writes report it. The delivery's
	// own write fails on the pipe's deadline, which fires on a timer of its
	// own: wait for it before clearing the deadline, or the clearing could
	// come first and leave the delivery (and the next Write) blocked.
	for wait := time.Now(); ; time.Sleep(time.Millisecond) {
		c.mu.Lock()
		failed := c.err != nil
		c.mu.Unlock()
		if failed {
			break
		}
		if time.Since(wait) > 5*time.Second {
			t.Fatal("the delivery did not fail at the pipe's deadline")
		}
	}
	c.SetWriteDeadline(time.Time{})
	if _, err := c.Write([]byte("x")); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("Write after a failed delivery: %v, want the deadline error", err)
	}
}

// TestEmulatorLargeWrite: a write larger than the queue goes through in
// pieces, in order, as the peer reads.
func TestEmulatorLargeWrite(t *testing.T) {
	a, b := net.Pipe()
	e := NewEmulator(emulFixed(5*time.Millisecond), 1)
	c := e.wrap(a, "pipe", e.connRand())
	defer c.Close()
	// A pattern of prime length: a lost, repeated or moved piece shows.
	want := make([]byte, 0, 10<<20)
	pattern := make([]byte, 251)
	for i := range pattern {
		pattern[i] = byte(i)
	}
	for len(want)+len(pattern) <= cap(want) {
		want = append(want, pattern...)
	}
	got := make(chan []byte, 1)
	go func() {
		buf := make([]byte, len(want))
		n, _ := io.ReadFull(b, buf)
		got <- buf[:n]
		b.Close()
	}()
	if n, err := c.Write(want); n != len(want) || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	select {
	case g := <-got:
		if !bytes.Equal(g, want) {
			t.Fatalf("peer got %d bytes, not the %d written in order", len(g), len(want))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("peer did not receive the write")
	}
}

// TestEmulatorWriteError: an error of the real connection is returned by the
// next Write and by Close.
func TestEmulatorWriteError(t *testing.T) {
	a, b := net.Pipe()
	b.Close()
	e := NewEmulator(emulFixed(time.Millisecond), 1)
	c := e.wrap(a, "pipe", e.connRand())
	if _, err := c.Write([]byte("lost")); err != nil {
		t.Fatalf("first Write: %v (it only queues)", err)
	}
	deadline := time.Now().Add(time.Second)
	for {
		_, err := c.Write([]byte("x"))
		if errors.Is(err, io.ErrClosedPipe) {
			break
		}
		if err != nil || time.Now().After(deadline) {
			t.Fatalf("Write: %v, want io.ErrClosedPipe from the failed delivery", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := c.Close(); !errors.Is(err, io.ErrClosedPipe) {
		t.Errorf("Close: %v, want the delivery error", err)
	}
}

// emulDiscard accepts every write at once: the wrapper's own cost.
type emulDiscard struct{ net.Conn }

func (emulDiscard) Write(p []byte) (int, error) { return len(p), nil }
func (emulDiscard) Close() error                { return nil }

// BenchmarkEmulatorWrite measures a 1 KiB Write through the emulation with
// RTT 0: on an idle connection, waiting for each delivery (Write plus the
// hand-off to the delivery goroutine); back to back; and back to back over
// loopback TCP.
func BenchmarkEmulatorWrite(b *testing.B) {
	e := NewEmulator(emulFixed(0), 1)
	p := make([]byte, 1024)
	run := func(b *testing.B, c *emulConn, idle bool) {
		defer c.Close()
		b.SetBytes(int64(len(p)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.Write(p); err != nil {
				b.Fatal(err)
			}
			for idle {
				c.mu.Lock()
				delivered := c.next == len(c.writes)
				c.mu.Unlock()
				if delivered {
					break
				}
				runtime.Gosched()
			}
		}
	}
	b.Run("idle", func(b *testing.B) {
		run(b, e.wrap(emulDiscard{}, "tcp", e.connRand()), true)
	})
	b.Run("back-to-back", func(b *testing.B) {
		run(b, e.wrap(emulDiscard{}, "tcp", e.connRand()), false)
	})
	b.Run("loopback", func(b *testing.B) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		defer ln.Close()
		go func() {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			io.Copy(io.Discard, c)
		}()
		real, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		run(b, e.wrap(real, "tcp", e.connRand()), false)
	})
}
