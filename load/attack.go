package load

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tailgate-dev/tailgate/schedule"
)

// job is one request to send: its number in the schedule and when the
// schedule means it to go, from the start of the run.
type job struct {
	seq      uint64
	intended time.Duration
}

// attacker sends the schedule's requests from a pool of workers. A worker
// claims the next request of the schedule, sleeps until its intended time,
// sends it through the tracing transport, reads the response to its end,
// records it, and claims the next. Claims go in schedule order, so idle
// workers wait on consecutive requests and each goes out on time; no
// goroutine stands between the schedule and the send, or between the
// response and its recording.
//
// The pool keeps one worker in reserve: a worker about to send when no
// other is idle starts another (up to max), which claims the next request
// at once. So however slow the target, the next request has a worker
// waiting for it before it is due, and at a steady rate the pool settles at
// the concurrency the target needs. Behind schedule it grows only about a
// tenth every 100ms, and workers beyond twice those sending retire at that
// pace (see short and surplus). When max workers are busy the next
// request waits for one: the generator is saturated, requests go out late,
// and each one's lag (actual − intended send) says by how much. Latency is
// timed from the intended send whatever the lag, so a saturated run still
// measures what a user would have waited.
type attacker struct {
	sender
	done <-chan struct{} // the run's context: stop claiming, drop what is claimed
	max  int

	mu      sync.Mutex // guards the claims
	cur     *schedule.Cursor
	next, n uint64

	workers  atomic.Int64 // started and not retired
	ended    atomic.Bool  // every request of the schedule has been claimed
	idle     atomic.Int64 // workers claiming or waiting, not sending
	grewLate atomic.Int64 // when the pool last grew while behind, from began
	retired  atomic.Int64 // when the pool last shrank, from began
	wg       sync.WaitGroup
}

// initialWorkers start with the run; more start as sends need them.
const initialWorkers = 8

func newAttacker(t *transport, tmpl *template, rr *recorder, maxWorkers int) *attacker {
	return &attacker{sender: sender{t: t, tmpl: tmpl, rr: rr}, max: maxWorkers}
}

// attack sends sched from began until it ends or done closes, and returns
// when every request sent has been recorded.
func (a *attacker) attack(done <-chan struct{}, sched *schedule.Schedule, began time.Time) {
	a.began, a.done = began, done
	a.cur, a.n = sched.Cursor(), uint64(sched.Requests())
	for range min(initialWorkers, a.max) {
		a.grow()
	}
	a.wg.Wait()
}

// grow starts a worker unless max are running or nothing is left to claim.
func (a *attacker) grow() {
	for {
		n := a.workers.Load()
		if n >= int64(a.max) || a.ended.Load() {
			return
		}
		if a.workers.CompareAndSwap(n, n+1) {
			break
		}
	}
	a.idle.Add(1)
	a.wg.Add(1)
	go a.work()
}

// lateLag is how late a request may go out before the pool counts as
// behind: beyond the lateness of a timer on a busy machine.
const lateLag = 2 * time.Millisecond

// resizeEvery paces changes of the pool's size while it is behind, or has
// too many idle workers: one worker per resizeEvery ÷ (workers/10), so
// about a tenth of the pool each resizeEvery, whatever its size.
const resizeEvery = 100 * time.Millisecond

// short says whether the pool, with no worker left in reserve, should grow
// for a request sent lag after its intended time. On time, always: the
// reserve is what keeps the next request on time. Behind (requests piled
// up while the machine stalled, or the target slowed down), by about a
// tenth every 100ms: a backlog after a stall is caught up by the workers
// there are, not by a new worker and connection for each late request
// (which would load the stalled machine further and open connections by
// the thousand), and a target that slowed down still gets the workers it
// needs within a second or two.
func (a *attacker) short(lag time.Duration) bool {
	return lag < lateLag || a.paced(&a.grewLate)
}

// paced says whether the pool may change size now, the last change having
// been at *last (from began), and if so records now there.
func (a *attacker) paced(last *atomic.Int64) bool {
	every := resizeEvery / time.Duration(max(a.workers.Load()/10, 1))
	now := int64(time.Since(a.began))
	prev := last.Load()
	return now-prev >= int64(every) && last.CompareAndSwap(prev, now)
}

// claim takes the next request of the schedule; false when none is left or
// the run was stopped.
func (a *attacker) claim() (job, bool) {
	select {
	case <-a.done:
		return job{}, false
	default:
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.next >= a.n {
		a.ended.Store(true)
		return job{}, false
	}
	j := job{seq: a.next, intended: a.cur.At(int64(a.next))}
	a.next++
	return j, true
}

func (a *attacker) work() {
	defer a.wg.Done()
	for {
		j, ok := a.claim()
		if !ok {
			return
		}
		if !waitUntil(a.began.Add(j.intended), a.done) {
			return // claimed, not sent: an interrupted run drops it
		}
		if a.idle.Add(-1) == 0 && a.short(time.Since(a.began)-j.intended) {
			a.grow()
		}
		var c *h1Conn
		if a.t.h1 != nil {
			c = a.t.h1.get()
		}
		a.t.release(a.send(j, c, nil))
		if a.surplus() {
			return
		}
		a.idle.Add(1)
	}
}

// surplus retires the calling worker, which just finished a request, when
// the pool holds more idle workers than twice those sending (plus the
// initial few): a burst or a stall grew the pool, and the traffic no longer
// needs it. Paced like growth while behind, so the pool follows the recent
// peak of concurrency, not each dip.
func (a *attacker) surplus() bool {
	if a.idle.Load() <= 2*a.sending.Load()+initialWorkers {
		return false
	}
	if !a.paced(&a.retired) {
		return false
	}
	a.workers.Add(-1)
	return true
}

// template is the request every job sends, made once: a request per job is
// a shallow copy carrying its own context, headers and body reader.
type template struct {
	req  *http.Request
	body []byte
}

func newTemplate(method, url string, header http.Header, body []byte) (*template, error) {
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		return nil, err
	}
	// net/http sends Request.Host and ignores a Host header; a scenario's
	// Host header means the host to send, as it does to vegeta and curl.
	if host := header.Get("Host"); host != "" {
		header = header.Clone()
		header.Del("Host")
		req.Host = host
	}
	req.Header = header
	req.ContentLength = int64(len(body))
	if len(body) > 0 {
		// The body can be sent again: net/http's transport then retries a
		// request on a new connection when a reused one turns out dead, as it
		// does for a request made with a bytes.Reader (HTTP/2, proxies).
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	return &template{req: req, body: body}, nil
}

// request is the template's request for tr's job, on ctx: the copy shares
// the template's URL, and takes tr's header map (the template's plus the
// sequence number) and body reader, both reused with tr.
func (tm *template) request(ctx context.Context, tr *Trace) *http.Request {
	req := tm.req.WithContext(ctx)
	m := &tr.mem
	if m.header == nil {
		m.header = tm.req.Header.Clone()
		if m.header == nil {
			m.header = http.Header{}
		}
		m.seq = make([]string, 1)
		m.header[seqHeader] = m.seq
	}
	m.seq[0] = strconv.FormatUint(tr.Seq, 10)
	req.Header = m.header
	if len(tm.body) > 0 {
		m.reqBody.Reset(tm.body)
		req.Body = &m.reqBody
	}
	return req
}

// reqBody is a request body that can be read again after Reset.
type reqBody struct{ bytes.Reader }

func (*reqBody) Close() error { return nil }
