// Package sim predicts a scenario's budget table without a target: a seeded
// discrete-event model of the network, the service's workers and queue, and its delays.
//
// It models what `run` measures against `url: embedded`, request by request:
//
//   - arrivals are the scenario's schedule (the same Schedule and Cursor a
//     run paces its workers with), and each request is sent when intended: a
//     simulator never falls behind, so there is no coordinated omission to
//     correct, and total is timed from the intended send like a run's;
//   - with probability 1 − network.reuse the request opens a connection:
//     connect costs one RTT and a TLS handshake network.tls.HandshakeRTTs()
//     more (DNS is not modelled); every request then pays one RTT for its
//     exchange. RTTs are drawn from network.rtt, each independently; without
//     a model they are zero;
//   - the whole of that RTT is spent before the server sees the request, and
//     the answer reaches the client at once. That is how network.emulate
//     spends it (the generator delays its own outbound bytes; reads are
//     direct), and it decides the order in which requests reach the
//     service's FIFO queue, so simulate and run see the same queue;
//   - the service is the embedded one (target.Service): a FIFO wait for one
//     of service.workers, shed with 503 when service.queue are already
//     waiting; then the database delay; an injected error (service.errors) is
//     answered 500 after it; otherwise ttft and service.tokens gaps of itl,
//     the worker held until the last byte. Delays are drawn exactly as the
//     embedded service draws them, from PCG(seed, request number) in the
//     order error decision, database, ttft, each itl, so a simulation and a
//     run of one scenario see the same delays for the same request;
//   - a request the client has waited target.timeout for fails as a timeout,
//     leaving the queue or freeing its worker then, as the embedded service
//     does when its client hangs up.
//
// The simulation is event-driven, not time-stepped: requests in flight to
// the server wait in a heap ordered by arrival, busy workers in a heap of
// the times they become free, waiting requests in a heap of the times they
// leave the queue. Each is bounded (by the requests on the wire, workers and
// queue), and results go straight into histograms, so memory stays flat
// however many requests are simulated.
package sim

import (
	"context"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/tailgate-dev/tailgate/budget"
	"github.com/tailgate-dev/tailgate/histogram"
	"github.com/tailgate-dev/tailgate/scenario"
	"github.com/tailgate-dev/tailgate/schedule"
	"gonum.org/v1/gonum/stat/distuv"
)

// Mode names simulations in results ("run" names measured runs).
const Mode = "simulate"

// Outcome is what a simulation measured, shaped like a run's.
type Outcome struct {
	Rec *histogram.Recorder
	// Planned is the number of requests the schedule sends; all are sent.
	Planned int64
	// PlannedDuration is how long the schedule lasts.
	PlannedDuration time.Duration
	// SendSpan is from the start to the (intended, so actual) send of the last request.
	SendSpan time.Duration
	// Elapsed is simulated time from the start to the last response.
	Elapsed time.Duration
	// Schedule is the plan that was simulated.
	Schedule *schedule.Schedule
}

// Judge judges a simulation against the scenario's budget, like a run but
// with no generator to fall behind.
func Judge(sc *scenario.Scenario, out *Outcome) *budget.Result {
	return budget.Judge(sc, budget.Measurement{
		Mode:            Mode,
		Rec:             out.Rec,
		Planned:         out.Planned,
		PlannedDuration: out.PlannedDuration,
		SendSpan:        out.SendSpan,
		Elapsed:         out.Elapsed,
		LagSource:       "",
		Schedule:        out.Schedule,
	})
}

// Error classes a simulation produces: the names a run gives the same failures.
const (
	ClassHTTP5xx = "http 5xx" // shed with 503, or an injected 500
	ClassTimeout = "timeout"
)

// Names of tail phases beside the sources, as a run names them.
const partStreaming = "streaming"

// Server-Timing metrics of the embedded service, as the sources a run files them under.
const (
	sourceDB    = scenario.ServerTimingPrefix + "db"
	sourceQueue = scenario.ServerTimingPrefix + "queue"
)

// netSalt separates the network's random streams from the service's: both
// are keyed by request number, and must not draw the same numbers.
const netSalt = 0x6e6574776f726b // "network"

// pollWork is how much simulating (requests plus the tokens streamed) is
// done between two looks at the context: a few milliseconds of work, so an
// interruption is seen at once and looking costs nothing measurable.
const pollWork = 1 << 16

// Run simulates the scenario's whole schedule. It stops when ctx ends,
// returning context.Cause(ctx) and no outcome: a simulation of part of a
// plan judges a different plan.
func Run(ctx context.Context, sc *scenario.Scenario) (*Outcome, error) {
	return RunSchedule(ctx, sc, schedule.Of(sc))
}

// RunSchedule is Run with sc's schedule already built, for a caller that
// holds it.
func RunSchedule(ctx context.Context, sc *scenario.Scenario, sched *schedule.Schedule) (*Outcome, error) {
	if ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	s := newSimulator(sc)
	n := sched.Requests()
	s.rec = histogram.NewRecorder(histogram.TailSize(n))
	cur := sched.Cursor()
	var last time.Duration
	for i := range n {
		at := cur.At(i)
		s.send(i, at)
		last = at
		if s.work >= pollWork {
			if s.work = 0; ctx.Err() != nil {
				return nil, context.Cause(ctx)
			}
		}
	}
	for len(s.wire) > 0 {
		s.serve(s.wire.pop())
		if s.work >= pollWork {
			if s.work = 0; ctx.Err() != nil {
				return nil, context.Cause(ctx)
			}
		}
	}
	return &Outcome{
		Rec:             s.rec,
		Planned:         n,
		PlannedDuration: sched.Duration(),
		SendSpan:        last,
		Elapsed:         max(s.end, sched.Duration()),
		Schedule:        sched,
	}, nil
}

// simulator holds the model and its state. Nothing in it grows with the
// number of requests.
type simulator struct {
	seed    uint64
	sse     bool
	tokens  int
	errRate float64
	db      delay
	ttft    delay
	itl     delay
	rtt     delay
	hsRTTs  int
	tls     bool
	cold    float64 // probability of a new connection
	workers int
	queue   int
	timeout time.Duration
	request string // "GET /v1/chat": how a run names the request in first messages

	// One source each, reseeded per request so that request i always draws
	// the same numbers whatever came before it.
	svcPCG, netPCG *rand.PCG
	svc, net       *rand.Rand

	wire    flightHeap // requests on their way to the server, by arrival
	busy    timeHeap   // when each busy worker becomes free
	waiting timeHeap   // when each waiting request leaves the queue
	gaps    []time.Duration

	rec   *histogram.Recorder
	h     hists
	parts []histogram.Part
	end   time.Duration
	work  int // done since the context was last looked at: see pollWork
}

// hists caches the recorder's histograms, so recording skips its map.
type hists struct {
	total, service, cold, warm, connect, tls, ttfb, ttft, itl, db, queue *hdrhistogram.Histogram
}

func newSimulator(sc *scenario.Scenario) *simulator {
	s := &simulator{
		seed:    sc.SeedValue(),
		sse:     sc.Target.Stream == scenario.StreamSSE,
		tokens:  max(sc.Service.Tokens, 0),
		errRate: float64(sc.Service.Errors),
		db:      newDelay(sc.Service.Database),
		ttft:    newDelay(sc.Service.TTFT),
		itl:     newDelay(sc.Service.ITL),
		rtt:     newDelay(sc.Network.RTT),
		hsRTTs:  sc.Network.TLS.HandshakeRTTs(),
		tls:     sc.Network.TLS != "",
		cold:    1 - sc.Network.ReuseValue(),
		workers: max(sc.Service.WorkersValue(), 1),
		queue:   max(sc.Service.QueueValue(), 0),
		timeout: sc.Target.Timeout.D(),
		svcPCG:  rand.NewPCG(0, 0),
		netPCG:  rand.NewPCG(0, 0),
	}
	if s.timeout <= 0 {
		s.timeout = scenario.DefaultTimeout
	}
	s.request = requestLine(sc.Target)
	s.svc = rand.New(s.svcPCG)
	s.net = rand.New(s.netPCG)
	s.gaps = make([]time.Duration, 0, min(s.tokens, 1<<16))
	return s
}

// flight is one request between its send and its arrival at the server.
type flight struct {
	arrive  time.Duration // the server reads the request
	seq     int64
	send    time.Duration // intended send, which a simulator keeps
	connect time.Duration // zero on a reused connection
	tls     time.Duration
	newConn bool
}

// send puts request seq, sent at `at`, on the wire, and serves every request
// that reaches the server before any later one can: later requests are sent
// no earlier than `at`, and nothing arrives before it is sent.
func (s *simulator) send(seq int64, at time.Duration) {
	s.netPCG.Seed(s.seed^netSalt, uint64(seq))
	f := flight{seq: seq, send: at}
	// Always drawn, so the RTT draws do not depend on reuse.
	if s.net.Float64() < s.cold {
		f.newConn = true
		f.connect = s.rtt.sample(s.net)
		for range s.hsRTTs {
			f.tls += s.rtt.sample(s.net)
		}
	}
	f.arrive = at + f.connect + f.tls + s.rtt.sample(s.net)
	s.wire.push(f)
	for len(s.wire) > 0 && s.wire[0].arrive <= at {
		s.serve(s.wire.pop())
	}
}

// serve follows one request from its arrival at the server to its last byte.
// Requests are served in order of arrival, which is the order they take a
// worker (FIFO): each takes the earliest worker to become free.
func (s *simulator) serve(f flight) {
	s.work += 1 + s.tokens
	rec := s.rec
	rec.Counts.Sent++
	if f.newConn {
		rec.Counts.NewConnections++
	}
	a := f.arrive
	for len(s.busy) > 0 && s.busy[0] <= a {
		s.busy.pop()
	}
	for len(s.waiting) > 0 && s.waiting[0] <= a {
		s.waiting.pop()
	}
	deadline := f.send + s.timeout
	start := a
	if len(s.busy) >= s.workers {
		if len(s.waiting) >= s.queue {
			// Shed: every worker busy and the queue full; 503 at once.
			s.answered(http.StatusServiceUnavailable, a)
			return
		}
		start = s.busy[0]
		if start >= deadline {
			// The client hangs up while the request waits; it leaves the queue.
			s.waiting.push(deadline)
			s.timedOut(f, deadline)
			return
		}
		s.busy.pop()
		s.waiting.push(start)
	}

	// The embedded service's draws, in its order.
	s.svcPCG.Seed(s.seed, uint64(f.seq))
	injected := s.svc.Float64() < s.errRate
	db := s.db.sample(s.svc)
	first := start + db
	finish := first
	var streamed time.Duration
	if !injected {
		first += s.ttft.sample(s.svc)
		streamed = s.stream()
		finish = first + streamed
		if !s.sse {
			// The whole body is written once every token is made.
			first = finish
		}
	}
	if finish > deadline {
		s.busy.push(deadline)
		s.timedOut(f, deadline)
		return
	}
	s.busy.push(finish)
	s.end = max(s.end, finish)
	if injected {
		s.answered(http.StatusInternalServerError, finish)
		return
	}
	s.record(f, start, db, first, finish)
}

// stream draws the itl gaps of one response into s.gaps (at most its
// capacity, as a run keeps at most that many) and returns their sum. It is
// the simulator's hot loop: a lognormal model is drawn inline.
func (s *simulator) stream() time.Duration {
	var sum time.Duration
	gaps := s.gaps[:0]
	n := s.tokens
	if d := s.itl; d.kind == delayLognormal {
		mu, sigma, r := d.mu, d.sigma, s.svc
		for range n {
			g := time.Duration(math.Exp(mu + sigma*r.NormFloat64()))
			sum += g
			if len(gaps) < cap(gaps) {
				gaps = append(gaps, g)
			}
		}
	} else {
		for range n {
			g := s.itl.sample(s.svc)
			sum += g
			if len(gaps) < cap(gaps) {
				gaps = append(gaps, g)
			}
		}
	}
	s.gaps = gaps
	return sum
}

// answered counts a request the service failed with code (a 503 when
// shed, an injected 500) at `at`: a response, of class http 5xx, named as
// a run names it.
func (s *simulator) answered(code int, at time.Duration) {
	s.rec.Counts.Responses++
	s.rec.Error(ClassHTTP5xx)
	s.rec.NoteError(ClassHTTP5xx, func() string {
		return strconv.Itoa(code) + " " + http.StatusText(code) + " on " + s.request
	})
	s.end = max(s.end, at)
}

// timedOut counts f, given up at `at` (its deadline) with no complete
// response. Like a run, it records the time it was given (a lower bound
// of what it would have taken) in total, so that a hang shows in the tail.
func (s *simulator) timedOut(f flight, at time.Duration) {
	s.rec.Error(ClassTimeout)
	s.rec.NoteError(ClassTimeout, func() string {
		return "no complete response within target.timeout (" + s.timeout.String() + ") on " + s.request
	})
	s.put(&s.h.total, scenario.SourceTotal, at-f.send)
	s.put(&s.h.service, scenario.SourceService, at-f.send)
	s.end = max(s.end, at)
}

// requestLine names the scenario's request as a run's first messages do:
// method and request URI ("POST /v1/chat?stream=1"); the embedded service
// is served at "/".
func requestLine(t scenario.Target) string {
	method := t.Method
	if method == "" {
		method = http.MethodGet
	}
	uri := "/"
	if !t.Embedded() {
		if u, err := url.Parse(t.URL); err == nil {
			uri = u.RequestURI()
		}
	}
	return method + " " + uri
}

// record files a successful request the way a run files it.
func (s *simulator) record(f flight, start, db, first, finish time.Duration) {
	rec := s.rec
	rec.Counts.OK++
	rec.Counts.Responses++
	total := finish - f.send
	s.put(&s.h.total, scenario.SourceTotal, total)
	s.put(&s.h.service, scenario.SourceService, total)
	if f.newConn {
		s.put(&s.h.cold, histogram.SourceTotalCold, total)
		s.put(&s.h.connect, scenario.SourceConnect, f.connect)
		if s.tls {
			s.put(&s.h.tls, scenario.SourceTLS, f.tls)
		}
	} else {
		s.put(&s.h.warm, histogram.SourceTotalWarm, total)
	}
	written := f.send + f.connect + f.tls
	s.put(&s.h.ttfb, scenario.SourceTTFB, first-written)
	s.put(&s.h.ttft, scenario.SourceTTFT, first-f.send)
	if s.sse && len(s.gaps) > 0 {
		s.put(&s.h.itl, scenario.SourceITL, s.gaps[0])
		// The hot loop of a stream: straight into the histogram.
		h := s.h.itl
		for _, g := range s.gaps[1:] {
			_ = h.RecordValue(s.micros(g))
		}
	}
	queued := start - f.arrive
	s.put(&s.h.db, sourceDB, db)
	s.put(&s.h.queue, sourceQueue, queued)
	if total > rec.Tail.Floor() {
		rec.Tail.Offer(total, s.attribute(f, db, queued, first, finish))
	}
}

// attribute splits a total into the phases a run names: connect, tls, the
// Server-Timing metrics, the rest of the wait for the first event or byte
// (ttft or ttfb: the request's RTT and the model's ttft) and streaming.
func (s *simulator) attribute(f flight, db, queued, first, finish time.Duration) []histogram.Part {
	parts := s.parts[:0]
	add := func(name string, d time.Duration) {
		if d > 0 {
			parts = append(parts, histogram.Part{Name: name, D: d})
		}
	}
	add(scenario.SourceConnect, f.connect)
	add(scenario.SourceTLS, f.tls)
	add(sourceDB, db)
	add(sourceQueue, queued)
	wait := first - f.send - f.connect - f.tls
	firstPart := scenario.SourceTTFB
	if s.sse {
		firstPart = scenario.SourceTTFT
	}
	add(firstPart, wait-db-queued)
	add(partStreaming, finish-first)
	s.parts = parts
	return parts
}

// put records d in the histogram of src, as Recorder.Record does (rounded
// to the microsecond, clamped to the histogram's range), straight into the
// cached histogram once there is one.
func (s *simulator) put(h **hdrhistogram.Histogram, src string, d time.Duration) {
	if *h == nil {
		s.rec.Record(src, d)
		*h = s.rec.Histogram(src)
		return
	}
	_ = (*h).RecordValue(s.micros(d))
}

// micros rounds d to the microsecond and clamps it to the histogram's range,
// counting the clamped, as Recorder.Record does.
func (s *simulator) micros(d time.Duration) int64 {
	us := int64((max(d, 0) + time.Microsecond/2) / time.Microsecond)
	if us > histogram.HighestUS {
		us = histogram.HighestUS
		s.rec.Counts.Clamped++
	}
	return us
}

// delay is a scenario.Delay prepared for fast sampling: the lognormal's μ
// and σ are worked out once instead of at every draw. sample returns what
// Delay.Sample returns for the same source, draw for draw (a test holds it
// to that), so simulate and the embedded service agree request by request.
type delay struct {
	kind      int
	fixed     time.Duration
	mean      float64
	mu, sigma float64
}

const (
	delayNone = iota
	delayFixed
	delayMean
	delayLognormal
)

// z99 is the standard normal quantile at 0.99, as scenario.Delay uses it.
var z99 = distuv.UnitNormal.Quantile(0.99)

func newDelay(d *scenario.Delay) delay {
	switch {
	case d == nil:
		return delay{kind: delayNone}
	case d.Fixed != nil:
		return delay{kind: delayFixed, fixed: d.Fixed.D()}
	case d.Mean != nil:
		return delay{kind: delayMean, mean: float64(d.Mean.D())}
	case d.P50 != nil && d.P99 != nil:
		p50, p99 := float64(d.P50.D()), float64(d.P99.D())
		out := delay{kind: delayLognormal, mu: math.Log(p50)}
		if p99 > p50 {
			out.sigma = (math.Log(p99) - out.mu) / z99
		}
		return out
	}
	return delay{kind: delayNone}
}

func (d *delay) sample(r *rand.Rand) time.Duration {
	switch d.kind {
	case delayFixed:
		return d.fixed
	case delayMean:
		return time.Duration(r.ExpFloat64() * d.mean)
	case delayLognormal:
		return time.Duration(math.Exp(d.mu + d.sigma*r.NormFloat64()))
	}
	return 0
}

// timeHeap is a min-heap of times, written out rather than through
// container/heap so that pushing does not allocate, and 4-ary: a pool of
// thousands of busy workers is a shallow tree.
type timeHeap []time.Duration

func (h *timeHeap) push(t time.Duration) {
	*h = append(*h, t)
	a := *h
	i := len(a) - 1
	for i > 0 {
		p := (i - 1) / 4
		if a[p] <= t {
			break
		}
		a[i] = a[p]
		i = p
	}
	a[i] = t
}

func (h *timeHeap) pop() time.Duration {
	a := *h
	top := a[0]
	n := len(a) - 1
	t := a[n]
	a = a[:n]
	i := 0
	for {
		c := 4*i + 1
		if c >= n {
			break
		}
		m := c
		for k := c + 1; k < c+4 && k < n; k++ {
			if a[k] < a[m] {
				m = k
			}
		}
		if t <= a[m] {
			break
		}
		a[i] = a[m]
		i = m
	}
	if n > 0 {
		a[i] = t
	}
	*h = a
	return top
}

// flightHeap is a min-heap of requests by arrival, then request number.
type flightHeap []flight

func (f *flight) before(g *flight) bool {
	return f.arrive < g.arrive || f.arrive == g.arrive && f.seq < g.seq
}

func (h *flightHeap) push(f flight) {
	*h = append(*h, f)
	a := *h
	for i := len(a) - 1; i > 0; {
		p := (i - 1) / 2
		if !a[i].before(&a[p]) {
			break
		}
		a[p], a[i] = a[i], a[p]
		i = p
	}
}

func (h *flightHeap) pop() flight {
	a := *h
	top := a[0]
	n := len(a) - 1
	a[0] = a[n]
	a = a[:n]
	for i := 0; ; {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && a[r].before(&a[l]) {
			m = r
		}
		if !a[m].before(&a[i]) {
			break
		}
		a[i], a[m] = a[m], a[i]
		i = m
	}
	*h = a
	return top
}
