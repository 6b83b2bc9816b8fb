package load

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tailgate-dev/tailgate/scenario"
	"github.com/tailgate-dev/tailgate/schedule"
)

// concurrency counts requests in the handler at once, and the most seen.
type concurrency struct {
	now, peak atomic.Int64
}

func (c *concurrency) enter() {
	n := c.now.Add(1)
	for {
		p := c.peak.Load()
		if n <= p || c.peak.CompareAndSwap(p, n) {
			return
		}
	}
}

func (c *concurrency) leave() { c.now.Add(-1) }

// A slow target needs many requests in flight at once: the pool grows ahead
// of the schedule (a worker in reserve), so requests still go out on time
// and the run stays open-loop. 200/s against 250ms answers is ~50 at once.
func TestSlowTargetKeepsTheSchedule(t *testing.T) {
	var c concurrency
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.enter()
		defer c.leave()
		time.Sleep(250 * time.Millisecond)
	}))
	defer srv.Close()
	out, err := Run(context.Background(), plan(t, srv.URL, "200/s", 2*time.Second, 5*time.Second), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := out.Rec.Counts.OK; got != 400 {
		t.Fatalf("%d ok of 400 (%v)", got, out.Rec.Counts.ByClass)
	}
	if p := c.peak.Load(); p < 40 {
		t.Errorf("at most %d requests at once at the target, want ~50: the generator waited for answers", p)
	}
	// One worker at a time would make the 400 requests take 100 s; a pool
	// that grew only when requests were already late would show lags of
	// hundreds of milliseconds. Allow a busy machine its stalls.
	if lag, _, _ := out.Rec.Percentile(SourceLag, 50); lag > 20*time.Millisecond {
		t.Errorf("lag p50 %v: requests waited for a worker", lag)
	}
	if out.SendSpan > 2500*time.Millisecond {
		t.Errorf("the last request went out %v after the start, planned before 2s", out.SendSpan)
	}
}

// MaxWorkers bounds the requests in flight, and so connections: past it the
// generator is saturated, and lag shows it.
func TestMaxWorkersBoundsConcurrency(t *testing.T) {
	var c concurrency
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.enter()
		defer c.leave()
		time.Sleep(50 * time.Millisecond)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	// 400/s of 50ms requests needs ~20 at once; 5 workers send 100/s.
	out, err := Run(context.Background(), plan(t, srv.URL, "400/s", time.Second, 5*time.Second), Options{MaxWorkers: 5})
	if err != nil {
		t.Fatal(err)
	}
	if got := out.Rec.Counts.OK; got != 400 {
		t.Fatalf("%d ok of 400 (%v)", got, out.Rec.Counts.ByClass)
	}
	if p := c.peak.Load(); p > 5 {
		t.Errorf("%d requests at once at the target, want at most 5", p)
	}
	if n := conns.Load(); n > 5 {
		t.Errorf("%d connections opened, want at most 5", n)
	}
	// The last request, planned just before 1s, goes out after ~4s.
	if lag, _, _ := out.Rec.Percentile(SourceLag, 99); lag < 2*time.Second {
		t.Errorf("lag p99 %v: saturation not seen", lag)
	}
}

// Each request carries its own number, sent once, and goes out no earlier
// than planned: the order of claims is the plan's.
func TestEveryRequestOnceNeverEarly(t *testing.T) {
	var mu sync.Mutex
	seen := map[int]time.Time{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(r.Header.Get(seqHeader))
		mu.Lock()
		defer mu.Unlock()
		if _, dup := seen[n]; dup || err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		seen[n] = time.Now()
	}))
	defer srv.Close()
	sc := plan(t, srv.URL, "1000/s", time.Second, 5*time.Second)
	sc.Traffic = []scenario.Segment{{Poisson: &scenario.Poisson{Rate: 1000, Duration: scenario.Duration(time.Second)}}}
	began := time.Now()
	out, err := Run(context.Background(), sc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	sched := schedule.Of(sc)
	if c := out.Rec.Counts; c.OK != sched.Requests() || int64(len(seen)) != sched.Requests() {
		t.Fatalf("%d ok, %d distinct numbers seen, %d planned (%v)", c.OK, len(seen), sched.Requests(), c.ByClass)
	}
	cur := sched.Cursor()
	for n, at := range seen {
		// began is taken just before the run's own start: arrival at the
		// server can be no earlier than the plan says.
		if early := began.Add(cur.At(int64(n))).Sub(at); early > 0 {
			t.Fatalf("request %d reached the target %v before its planned time", n, early)
		}
	}
}

// claimer is an attacker that only claims, over one segment of traffic.
func claimer(seg scenario.Segment) *attacker {
	s := schedule.New([]scenario.Segment{seg}, 1)
	return &attacker{done: make(chan struct{}), cur: s.Cursor(), n: uint64(s.Requests())}
}

// claimSegments are the shapes whose claims the tests and benchmarks walk.
var claimSegments = map[string]scenario.Segment{
	"constant": {Constant: &scenario.Constant{Rate: 1000, Duration: scenario.Duration(time.Minute)}},
	"poisson":  {Poisson: &scenario.Poisson{Rate: 1000, Duration: scenario.Duration(time.Minute)}},
}

// claimNext claims the next request, from the first again at the end.
func (a *attacker) claimNext() {
	if _, ok := a.claim(); !ok {
		a.next = 0
	}
}

// Claiming the next request and its intended time is a worker's pacing:
// it allocates nothing.
func TestClaimAllocatesNothing(t *testing.T) {
	for name, seg := range claimSegments {
		a := claimer(seg)
		if n := testing.AllocsPerRun(10000, a.claimNext); n != 0 {
			t.Errorf("%s: a claim allocates %v times, want 0", name, n)
		}
	}
}

func BenchmarkClaim(b *testing.B) {
	for name, seg := range claimSegments {
		b.Run(name, func(b *testing.B) {
			a := claimer(seg)
			b.ReportAllocs()
			for b.Loop() {
				a.claimNext()
			}
		})
	}
}
