// Package embedded owns the embedded simulated service that `url: embedded` and
// `tailgate serve` run: workers, a FIFO queue, shedding, and seeded delays.
package embedded

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/tailgate-dev/tailgate/scenario"
)

// SeqHeader carries the load generator's request sequence number (tailgate
// sets it, under vegeta's name). The service derives each request's randomness from it, so the
// same seed and the same sequence number always give the same delays.
const SeqHeader = "X-Vegeta-Seq"

// maxBody bounds how much of a request body is read and thrown away.
const maxBody = 1 << 20

// Service is the embedded simulated service, configured from a scenario.
//
// Every request, whatever its method and path, waits for one of
// service.workers (in a FIFO queue of at most service.queue, shed with 503
// beyond it), then sleeps the database delay, the ttft delay, and
// service.tokens gaps of itl, answering as target.stream says. The measured
// queue and database times go back in a Server-Timing header.
type Service struct {
	seed     uint64
	sse      bool
	tokens   int
	errors   float64
	database *scenario.Delay
	ttft     *scenario.Delay
	itl      *scenario.Delay
	gate     *gate

	// nextSeq numbers requests that carry no usable SeqHeader.
	nextSeq atomic.Uint64

	served, shed, injected, canceled atomic.Uint64
}

// Stats counts what the service did with the requests it received.
type Stats struct {
	Served   uint64 // answered 200 in full
	Shed     uint64 // answered 503 because every worker was busy and the queue was full
	Injected uint64 // answered 500 by service.errors
	Canceled uint64 // abandoned because the client left or the server closed
	MaxQueue int    // the most requests that waited for a worker at once
}

// New builds the service from sc.Service, sc.Target.Stream and sc.SeedValue().
// sc is expected to be validated; the values are copied, so later changes
// to sc do not affect the service.
func New(sc *scenario.Scenario) *Service {
	svc := sc.Service
	// Validation rejects workers < 1 and queue < 0; clamp anyway so that an
	// unvalidated scenario sheds or serves instead of hanging every request.
	workers := max(svc.WorkersValue(), 1)
	queue := max(svc.QueueValue(), 0)
	return &Service{
		seed:     sc.SeedValue(),
		sse:      sc.Target.Stream == scenario.StreamSSE,
		tokens:   max(svc.Tokens, 0),
		errors:   float64(svc.Errors),
		database: svc.Database,
		ttft:     svc.TTFT,
		itl:      svc.ITL,
		gate:     newGate(workers, queue),
	}
}

// Stats returns the counters so far. It is safe to call at any time.
func (s *Service) Stats() Stats {
	return Stats{
		Served:   s.served.Load(),
		Shed:     s.shed.Load(),
		Injected: s.injected.Load(),
		Canceled: s.canceled.Load(),
		MaxQueue: int(s.gate.maxQueue.Load()),
	}
}

// ServeHTTP answers one request as the scenario's service would.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	seq := s.seq(r)
	// The body is part of what the client already sent; reading it before
	// admission keeps worker time pure service time.
	_, _ = io.CopyN(io.Discard, r.Body, maxBody)

	arrived := time.Now()
	if err := s.gate.acquire(ctx); err != nil {
		if errors.Is(err, errFull) {
			s.shed.Add(1)
			plain(w, http.StatusServiceUnavailable, "overloaded\n")
			return
		}
		s.canceled.Add(1)
		return
	}
	defer s.gate.release()
	queued := time.Since(arrived)

	// One source per request, from the seed and the sequence number, so a
	// request's delays do not depend on what other requests drew before it.
	// Draw order is fixed: error decision, database, ttft, then each itl.
	rng := rand.New(rand.NewPCG(s.seed, seq))
	fail := rng.Float64() < s.errors

	var p pause
	defer p.stop()
	start := time.Now()
	err := p.sleep(ctx, s.database.Sample(rng))
	// Report what was actually slept, not the sample: that is what a real
	// server's Server-Timing would say, timer overshoot included.
	db := time.Since(start)
	if err != nil {
		s.canceled.Add(1)
		return
	}
	w.Header().Set("Server-Timing", serverTiming(db, queued))
	if fail {
		s.injected.Add(1)
		plain(w, http.StatusInternalServerError, "injected error\n")
		return
	}
	if err := p.sleep(ctx, s.ttft.Sample(rng)); err != nil {
		s.canceled.Add(1)
		return
	}
	if s.sse {
		err = s.stream(ctx, w, rng, &p)
	} else {
		err = s.whole(ctx, w, rng, &p)
	}
	if err != nil {
		s.canceled.Add(1)
		return
	}
	s.served.Add(1)
}

// stream sends the tokens as server-sent events. Headers go out with the
// first event, not before, because clients time ttft to the first event and
// a 200 with no event yet must not look like progress. Each of the tokens
// events and the final [DONE] after them is one itl gap from the one before,
// so a stream spends tokens × itl after ttft, the same as stream: none.
func (s *Service) stream(ctx context.Context, w http.ResponseWriter, rng *rand.Rand, p *pause) error {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	rc := http.NewResponseController(w)
	buf := make([]byte, 0, 64)
	for i := 0; i <= s.tokens; i++ {
		if i > 0 {
			if err := p.sleep(ctx, s.itl.Sample(rng)); err != nil {
				return err
			}
		}
		buf = buf[:0]
		if i < s.tokens {
			buf = append(buf, `data: {"token":`...)
			buf = strconv.AppendInt(buf, int64(i), 10)
			buf = append(buf, "}\n\n"...)
		} else {
			buf = append(buf, "data: [DONE]\n\n"...)
		}
		if _, err := w.Write(buf); err != nil {
			return err
		}
		if err := rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return err
		}
	}
	return nil
}

// whole answers with one JSON body once every token has been produced.
func (s *Service) whole(ctx context.Context, w http.ResponseWriter, rng *rand.Rand, p *pause) error {
	for range s.tokens {
		if err := p.sleep(ctx, s.itl.Sample(rng)); err != nil {
			return err
		}
	}
	body := strconv.AppendInt([]byte(`{"tokens":`), int64(s.tokens), 10)
	body = append(body, "}\n"...)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(body)
	return err
}

// seq returns the request's sequence number: SeqHeader when it holds a
// decimal uint64, otherwise the next number of the service's own count.
func (s *Service) seq(r *http.Request) uint64 {
	if v := r.Header.Get(SeqHeader); v != "" {
		if n, err := strconv.ParseUint(v, 10, 64); err == nil {
			return n
		}
	}
	return s.nextSeq.Add(1) - 1
}

// serverTiming formats the W3C Server-Timing value, durations in
// milliseconds: "db;dur=20.104, queue;dur=0.012".
func serverTiming(db, queued time.Duration) string {
	b := make([]byte, 0, 48)
	b = append(b, "db;dur="...)
	b = strconv.AppendFloat(b, ms(db), 'f', 3, 64)
	b = append(b, ", queue;dur="...)
	b = strconv.AppendFloat(b, ms(queued), 'f', 3, 64)
	return string(b)
}

// ms converts d to fractional milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// plain answers with a short text body and the given status.
func plain(w http.ResponseWriter, code int, body string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	_, _ = io.WriteString(w, body)
}

// pause sleeps on one reusable timer that also wakes when the request's
// context ends, so a client leaving or the server closing never waits out a
// long simulated delay. Waits are laid end to end on a schedule: each ends
// at the previous one's planned end plus its own length, so a timer that
// fires late shortens the next wait instead of delaying every later event
// (inter-token gaps keep the model's values, not the model plus overshoot).
type pause struct {
	t  *time.Timer
	at time.Time // planned end of the last wait
}

// sleep waits d after the previous wait's planned end, or until ctx ends,
// whichever is first; it returns ctx.Err() if ctx ended.
func (p *pause) sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := time.Now()
	if p.at.IsZero() {
		p.at = now
	}
	p.at = p.at.Add(max(d, 0))
	d = p.at.Sub(now)
	if d <= 0 {
		return nil
	}
	if p.t == nil {
		p.t = time.NewTimer(d)
	} else {
		// Since Go 1.23 Reset on a fired or stopped timer leaves no stale
		// tick in t.C, so the timer can be reused without draining.
		p.t.Reset(d)
	}
	select {
	case <-p.t.C:
		return nil
	case <-ctx.Done():
		p.t.Stop()
		return ctx.Err()
	}
}

// stop releases the timer.
func (p *pause) stop() {
	if p.t != nil {
		p.t.Stop()
	}
}
