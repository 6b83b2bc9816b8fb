// Package load drives a target on the scenario's schedule and records
// every request into histograms, timed from its intended send.
package load

import (
	"context"
	"crypto/tls"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/tailgate-dev/tailgate/histogram"
	"github.com/tailgate-dev/tailgate/scenario"
	"github.com/tailgate-dev/tailgate/schedule"
)

// Options tune a run beyond what the scenario says.
type Options struct {
	// URL replaces target.url; the embedded service's address goes here.
	URL string
	// TLSConfig, when set, is the client's TLS configuration (the embedded
	// service passes one trusting its own certificate).
	TLSConfig *tls.Config
	// MaxWorkers bounds concurrent requests (and so connections and file
	// descriptors); 0 means DefaultMaxWorkers.
	MaxWorkers int
	// Drain bounds how long an interrupted run waits for requests in
	// flight before abandoning them; 0 means DefaultDrain.
	Drain time.Duration
	// Schedule, when set, replaces the scenario's plan: a shard of it
	// (schedule.Schedule.Shard) in a distributed run. Planned counts and the
	// planned rate are then the shard's.
	Schedule *schedule.Schedule
	// OnTick, when set, is called about once a second, and once more at the
	// end, from one goroutine, with a snapshot of the run. Sending goes on
	// while it runs.
	OnTick func(Tick)
}

// Tick is the state of a run at one moment, for progress and interval logs.
// It is a snapshot taken under the recorder's lock and handed over: a
// consumer that blocks (a stalled terminal, a slow disk) delays only the
// next tick, never a request.
type Tick struct {
	Elapsed     time.Duration
	PlannedRate float64 // per second, at Elapsed
	// Counts are the run's so far; the tick owns its copy.
	Counts histogram.Counts
	// Interval holds the samples recorded since the previous tick, per
	// source with samples; the tick owns them.
	Interval map[string]*hdrhistogram.Histogram
	// Slowest, on the final tick, are the run's slowest requests with their
	// phases, slowest first.
	Slowest  []histogram.Slow
	InFlight int64 // requests sent whose result has not arrived
	Final    bool  // the run is over: nothing more will be recorded
}

// DefaultDrain is how long an interrupted run waits for requests in flight.
const DefaultDrain = 5 * time.Second

// DefaultMaxWorkers bounds in-flight requests when Options does not: enough
// for tens of thousands of requests a second at sub-second latency, well
// inside a default file descriptor limit of one process.
const DefaultMaxWorkers = 4096

// Outcome is what a run measured.
type Outcome struct {
	Rec *histogram.Recorder
	// Planned is the number of requests the schedule sends.
	Planned int64
	// PlannedDuration is how long the schedule lasts.
	PlannedDuration time.Duration
	// SendSpan is from the start to the actual send of the last request.
	SendSpan time.Duration
	// Elapsed is the wall time of the whole run, draining included.
	Elapsed time.Duration
	// Interrupted is set when ctx ended before the schedule did.
	Interrupted bool
	// Engine is the engine that sent the requests.
	Engine scenario.Engine

	// leftInFlight counts the watchdog's entries left when the run ended:
	// zero, or a request's entry outlived it.
	leftInFlight int
}

// Source names recorded by a run beyond the budget sources.
const (
	// SourceLag is actual − intended send time: how far the generator fell behind.
	SourceLag = "lag"
)

// Run sends the scenario's traffic to its target and records what happened.
// It returns when every request sent has finished (or timed out). When ctx
// ends, it stops sending, waits for requests in flight and returns what was
// measured, with Interrupted set.
func Run(ctx context.Context, sc *scenario.Scenario, opt Options) (*Outcome, error) {
	url := sc.Target.URL
	if opt.URL != "" {
		url = opt.URL
	}
	maxWorkers := opt.MaxWorkers
	if maxWorkers <= 0 {
		maxWorkers = DefaultMaxWorkers
	}
	// However many are asked for, stay inside the open-file limit (raised
	// to the hard limit first): running out of descriptors mid-run fails
	// requests for the generator's sake, not the target's.
	if c := workerCap(fileLimit()); c > 0 {
		maxWorkers = min(maxWorkers, c)
	}
	drain := opt.Drain
	if drain <= 0 {
		drain = DefaultDrain
	}
	sched := opt.Schedule
	if sched == nil {
		sched = schedule.Of(sc)
	}
	base := newTransport(sc, url, opt.TLSConfig, maxWorkers)
	defer base.CloseIdleConnections()
	// The watchdog ends requests past target.timeout, and abandons those
	// still in flight when an interrupted run has drained long enough.
	watch := newWatchdog(sc.Target.Timeout.D())
	budgeted := budgetedMetrics(sc.Budget.Lines)
	tracing := &transport{base: base, watch: watch, sse: sc.Target.Stream == scenario.StreamSSE, now: time.Now, keep: budgeted}

	engine := sc.Engine
	if engine == "" {
		engine = scenario.EngineVegeta
	}
	header := http.Header{}
	for k, v := range sc.Target.Headers {
		header.Set(k, v)
	}
	tmpl, err := newTemplate(sc.Target.Method, url, header, []byte(sc.Target.Body))
	if err != nil {
		return nil, err
	}
	if engine == scenario.EngineNative && !sc.Target.HTTP2 {
		if tracing.h1, err = newH1Client(tmpl, base.DialContext, base.TLSClientConfig, base.Proxy); err != nil {
			return nil, err
		}
		if tracing.h1 != nil {
			defer tracing.h1.closeIdle()
		}
	}
	rec := histogram.NewRecorder(histogram.TailSize(sched.Requests()))
	out := &Outcome{Rec: rec, Planned: sched.Requests(), PlannedDuration: sched.Duration(), Engine: engine}
	rr := newRecorder(rec, sc.Target.Stream == scenario.StreamSSE)
	rr.timeout = sc.Target.Timeout.D()
	rr.keepMetrics(budgeted)
	var eng interface {
		attack(done <-chan struct{}, sched *schedule.Schedule, began time.Time)
		inFlight() int64
	}
	switch engine {
	case scenario.EngineNative:
		eng = newAttacker(tracing, tmpl, rr, maxWorkers)
	default:
		eng = newVegetaEngine(tracing, tmpl, rr, maxWorkers)
	}

	// When ctx ends, the engine stops sending; requests in flight get the
	// drain time to finish, then are abandoned.
	stopped := make(chan struct{})
	defer close(stopped)
	go watch.run(stopped)
	go func() {
		select {
		case <-ctx.Done():
		case <-stopped:
			return
		}
		select {
		case <-time.After(drain):
			watch.abandon()
		case <-stopped:
		}
	}()
	if opt.OnTick != nil {
		rec.KeepIntervals()
	}

	began := time.Now()
	attacked := make(chan struct{})
	go func() {
		defer close(attacked)
		eng.attack(ctx.Done(), sched, began)
	}()
	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()
	var spare map[string]*hdrhistogram.Histogram
	tick := func(final bool) {
		if opt.OnTick == nil {
			return
		}
		el := time.Since(began)
		// Only copies and a swap under the lock: the consumer runs after.
		rr.mu.Lock()
		t := Tick{Elapsed: el, PlannedRate: sched.Rate(el), Counts: rec.Counts.Clone(),
			Interval: rec.SwapInterval(spare), InFlight: eng.inFlight(), Final: final}
		if final {
			t.Slowest = rec.Tail.Slowest()
		}
		rr.mu.Unlock()
		// Empty histograms for the next interval's sources, made here
		// rather than under the lock.
		spare = make(map[string]*hdrhistogram.Histogram, len(t.Interval))
		for src := range t.Interval {
			spare[src] = histogram.NewHistogram()
		}
		histogram.WithSamples(t.Interval)
		opt.OnTick(t)
	}
	for done := false; !done; {
		select {
		case <-attacked:
			done = true
		case <-ticker.C:
			tick(false)
		}
	}
	rr.mu.Lock()
	if !rr.lastSend.IsZero() {
		out.SendSpan = rr.lastSend.Sub(began)
	}
	rr.mu.Unlock()
	out.Elapsed = time.Since(began)
	out.Interrupted = ctx.Err() != nil && rec.Counts.Sent < out.Planned
	out.leftInFlight = watch.len()
	tick(true)
	return out, nil
}

// Names of the phases the tail is attributed to, beside server-timing:NAME.
const (
	PartLag       = "lag"       // intended → actual send: the generator fell behind
	PartStreaming = "streaming" // first event or body byte → last byte
)

// sender is the step both engines share from a request's planned time to
// its record: it sends the request through the tracing transport (on a
// worker's own connection, or as vegeta built it), records the result, and
// counts the request in flight meanwhile.
type sender struct {
	t       *transport
	tmpl    *template
	rr      *recorder
	began   time.Time    // set before the first request
	sending atomic.Int64 // requests sent and not yet recorded
}

// inFlight is the number of requests sent and not yet recorded.
func (s *sender) inFlight() int64 { return s.sending.Load() }

// send sends j's request, on c when the worker has its own connection (put
// back after), or as req when given, and records it. The caller releases
// the trace when done with it.
func (s *sender) send(j job, c *h1Conn, req *http.Request) *Trace {
	s.sending.Add(1)
	defer s.sending.Add(-1)
	tr := s.t.send(s.tmpl, j, c, req)
	if c != nil {
		s.t.h1.put(c, tr.End)
	}
	s.rr.mu.Lock()
	s.rr.record(tr, s.began)
	s.rr.mu.Unlock()
	return tr
}

// recorder files results into histograms. Workers record under mu, which
// also guards the recorder for whoever reads it during the run.
type recorder struct {
	mu       sync.Mutex
	lastSend time.Time // the latest actual send recorded
	rec      *histogram.Recorder
	sse      bool
	names    map[string]string // Server-Timing name → source, so recording does not allocate
	budgeted int               // names reserved for budget lines
	parts    []histogram.Part  // scratch for tail attribution
	timeout  time.Duration     // target.timeout, for the message of a request that timed out
}

func newRecorder(rec *histogram.Recorder, sse bool) *recorder {
	return &recorder{rec: rec, sse: sse, names: map[string]string{}}
}

// maxMetricNames bounds the distinct Server-Timing names given their own
// histogram (~190 KB each): a server that puts request IDs in names must not
// grow memory without bound. Names a budget line measures are always kept.
const maxMetricNames = 32

// metricSource names the source of a Server-Timing metric, "" when the
// metric is one name too many to keep.
func (r *recorder) metricSource(name string) string {
	src, ok := r.names[name]
	if !ok {
		if len(r.names) >= maxMetricNames+r.budgeted {
			r.rec.Counts.DroppedMetrics++
			return ""
		}
		src = scenario.ServerTimingPrefix + name
		r.names[name] = src
	}
	return src
}

// budgetedMetrics lists the Server-Timing names that budget lines measure
// (server-timing:NAME sources), once each.
func budgetedMetrics(lines []scenario.Line) []string {
	var names []string
	for _, l := range lines {
		if name, ok := strings.CutPrefix(l.Source, scenario.ServerTimingPrefix); ok && !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	return names
}

// keepMetrics reserves the Server-Timing names the budget measures, so the
// bound on names never drops one a line judges.
func (r *recorder) keepMetrics(names []string) {
	for _, name := range names {
		if _, seen := r.names[name]; !seen {
			r.names[name] = scenario.ServerTimingPrefix + name
			r.budgeted++
		}
	}
}

// record files one request's trace. The run began at began; the request
// was meant to go out tr.Intended later: total runs from there
// (coordinated-omission corrected), service from the actual send. Phases
// are recorded for successful requests only, like every latency line;
// failures are counted by class, with each class's first message. A
// request given up (timed out, or abandoned by an interrupted run) is the
// exception: its total and service run to when it was given up, a lower
// bound of what a user waited, so a hang shows in the tail instead of
// leaving it.
func (r *recorder) record(tr *Trace, began time.Time) {
	rec := r.rec
	rec.Counts.Sent++
	if tr.Start.After(r.lastSend) {
		r.lastSend = tr.Start
	}
	intended := began.Add(tr.Intended)
	lag := tr.Start.Sub(intended)
	rec.Record(SourceLag, lag)
	if tr.NewConn {
		rec.Counts.NewConnections++
	}
	if tr.Code != 0 {
		rec.Counts.Responses++
	}
	if tr.Code >= 300 && tr.Code < 400 {
		rec.Counts.Redirects++
		if rec.Counts.FirstLocation == "" && tr.Location != "" {
			rec.Counts.FirstLocation = printable(tr.Location)
		}
	}
	end := tr.End
	total := end.Sub(intended)
	if class := tr.failure(); class != "" {
		rec.Error(string(class))
		rec.NoteError(string(class), func() string { return tr.message(r.timeout) })
		if class == ClassTimeout || class == ClassAbandoned {
			rec.Record(scenario.SourceTotal, total)
			rec.Record(scenario.SourceService, end.Sub(tr.Start))
			if total > rec.Tail.Floor() {
				rec.Tail.Offer(total, r.attribute(tr, lag))
			}
		}
		return
	}
	rec.Counts.OK++
	rec.Record(scenario.SourceTotal, total)
	rec.Record(scenario.SourceService, end.Sub(tr.Start))
	if tr.NewConn {
		rec.Record(histogram.SourceTotalCold, total)
		if tr.DNS > 0 {
			rec.Record(scenario.SourceDNS, tr.DNS)
		}
		rec.Record(scenario.SourceConnect, tr.Connect)
		if tr.TLS > 0 {
			rec.Record(scenario.SourceTLS, tr.TLS)
		}
	} else {
		rec.Record(histogram.SourceTotalWarm, total)
	}
	if tr.TTFB > 0 {
		rec.Record(scenario.SourceTTFB, tr.TTFB)
	}
	if !tr.First.IsZero() {
		rec.Record(scenario.SourceTTFT, tr.First.Sub(tr.Start))
	}
	for _, g := range tr.Gaps {
		rec.Record(scenario.SourceITL, g)
	}
	for _, m := range tr.Metrics {
		if src := r.metricSource(m.Name); src != "" {
			rec.Record(src, m.Dur)
		}
	}
	if total > rec.Tail.Floor() {
		rec.Tail.Offer(total, r.attribute(tr, lag))
	}
}

// attribute splits a request's total into phases that add up to it: lag,
// connect, tls, each Server-Timing metric, the rest of the wait for the
// first event or byte (ttft or ttfb), and streaming.
func (r *recorder) attribute(tr *Trace, lag time.Duration) []histogram.Part {
	end := tr.End
	first := tr.First
	if first.IsZero() {
		first = end
	}
	parts := r.parts[:0]
	add := func(name string, d time.Duration) {
		if d > 0 {
			parts = append(parts, histogram.Part{Name: name, D: d})
		}
	}
	add(PartLag, lag)
	conn := tr.DNS + tr.Connect
	add(scenario.SourceConnect, conn)
	add(scenario.SourceTLS, tr.TLS)
	// Server time reported by the target is part of the wait for the first
	// byte; if it claims more than that wait, scale it down to fit.
	wait := max(first.Sub(tr.Start)-conn-tr.TLS, 0)
	var claimed time.Duration
	for _, m := range tr.Metrics {
		claimed += m.Dur
	}
	scale := 1.0
	if claimed > wait {
		scale = float64(wait) / float64(claimed)
	}
	var server time.Duration
	for _, m := range tr.Metrics {
		d := time.Duration(float64(m.Dur) * scale)
		// record has counted a name too many; only look it up here.
		if src := r.names[m.Name]; src != "" {
			add(src, d)
			server += d
		}
	}
	firstPart := scenario.SourceTTFB
	if r.sse {
		firstPart = scenario.SourceTTFT
	}
	add(firstPart, wait-server)
	add(PartStreaming, end.Sub(first))
	r.parts = parts
	return parts
}

// failure classifies a request; "" means success (2xx or 3xx, body read
// whole). Redirects are not followed: a 3xx is the response measured (on
// an event stream target, a protocol failure: see transport.send). A
// final 1xx (101 to a request that asked for no upgrade) and a status
// outside 100–599 are not HTTP a client can use: protocol.
func (tr *Trace) failure() Class {
	switch {
	case tr.Err != nil:
		return tr.Class
	case tr.Code >= 200 && tr.Code < 400:
		return ""
	case tr.Code >= 500 && tr.Code < 600:
		return ClassHTTP5xx
	case tr.Code >= 400 && tr.Code < 500:
		return ClassHTTP4xx
	case tr.Code != 0:
		return ClassProtocol
	}
	return ClassOther
}
