package load

import (
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/tailgate-dev/tailgate/schedule"
	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// vegetaEngine sends the schedule with vegeta's Attacker: one Attack for the
// whole plan, paced by the schedule, whose requests go through an
// http.Client whose RoundTripper is tailgate's tracing round trip. That
// round trip times every phase, reads and discards the body in tailgate's
// reader, and records the request in the same recorder as the native
// engine, so the two engines measure alike. vegeta's own results are
// drained and dropped: it times a request from when its worker started,
// while tailgate times it from the schedule.
type vegetaEngine struct {
	sender
	max int

	// mu guards cur, which gives a request's intended time by its number
	// (vegeta's X-Vegeta-Seq): requests finish on many goroutines.
	mu  sync.Mutex
	cur *schedule.Cursor
	n   uint64
}

func newVegetaEngine(t *transport, tmpl *template, rr *recorder, maxWorkers int) *vegetaEngine {
	return &vegetaEngine{sender: sender{t: t, tmpl: tmpl, rr: rr}, max: maxWorkers}
}

// attack sends sched from began until it ends or done closes, and returns
// when every request sent has been recorded.
func (v *vegetaEngine) attack(done <-chan struct{}, sched *schedule.Schedule, began time.Time) {
	v.began, v.cur, v.n = began, sched.Cursor(), uint64(sched.Requests())
	client := &http.Client{
		Transport: v,
		// tailgate measures the response it gets: a 3xx is not followed.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	atk := vegeta.NewAttacker(
		vegeta.Workers(uint64(min(initialWorkers, v.max))),
		vegeta.MaxWorkers(uint64(v.max)),
		vegeta.MaxBody(0),
		// Last: options that touch the transport would replace this client's.
		vegeta.Client(client),
	)
	tgt := vegeta.Target{Method: v.tmpl.req.Method, URL: v.tmpl.req.URL.String(), Body: v.tmpl.body, Header: v.tmpl.req.Header.Clone()}
	if v.tmpl.req.Host != "" && v.tmpl.req.Host != v.tmpl.req.URL.Host {
		tgt.Header.Set("Host", v.tmpl.req.Host)
	}
	pacer := &schedulePacer{sched: sched, cur: sched.Cursor(), n: v.n, began: began, done: done}
	results := atk.Attack(vegeta.NewStaticTargeter(tgt), pacer, 0, "")
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		select {
		case <-done:
			atk.Stop()
		case <-stop:
		}
	}()
	// vegeta's workers block on this channel: drain it at once.
	for range results {
	}
}

// errNoSeq fails a request vegeta sent without a number in the schedule.
var errNoSeq = errors.New("vegeta request without X-Vegeta-Seq")

// RoundTrip sends req, which vegeta made and numbered, through the tracing
// transport, reads its body to the end, records it, and hands vegeta an
// empty response with its status.
func (v *vegetaEngine) RoundTrip(req *http.Request) (*http.Response, error) {
	seq, err := strconv.ParseUint(req.Header.Get(seqHeader), 10, 64)
	if err != nil || seq >= v.n {
		return nil, errNoSeq
	}
	v.mu.Lock()
	intended := v.cur.At(int64(seq))
	v.mu.Unlock()
	tr := v.send(job{seq: seq, intended: intended}, nil, req)
	code, err := tr.Code, tr.Err
	v.t.release(tr)
	if err != nil {
		return nil, err
	}
	// vegeta reads only the status; the headers were read by tailgate.
	return &http.Response{StatusCode: code, Status: strconv.Itoa(code), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Body: http.NoBody, Request: req}, nil
}

// schedulePacer paces vegeta by the schedule: hit n is released at its
// intended time, waited for precisely here (vegeta then sleeps 0), and the
// attack stops after the last request or when done closes.
type schedulePacer struct {
	sched *schedule.Schedule
	cur   *schedule.Cursor
	n     uint64
	began time.Time
	done  <-chan struct{}
}

var _ vegeta.Pacer = (*schedulePacer)(nil)

// Pace waits until hit number hits is due; vegeta calls it from one goroutine.
func (p *schedulePacer) Pace(_ time.Duration, hits uint64) (time.Duration, bool) {
	if hits >= p.n {
		return 0, true
	}
	if !waitUntil(p.began.Add(p.cur.At(int64(hits))), p.done) {
		return 0, true
	}
	return 0, false
}

// Rate is the planned rate at elapsed, per second.
func (p *schedulePacer) Rate(elapsed time.Duration) float64 { return p.sched.Rate(elapsed) }
