package embedded

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tailgate-dev/tailgate/scenario"
)

func fixed(d time.Duration) *scenario.Delay {
	v := scenario.Duration(d)
	return &scenario.Delay{Fixed: &v}
}

func intp(n int) *int { return &n }

func newScenario(stream scenario.Stream, svc scenario.Service) *scenario.Scenario {
	seed := uint64(7)
	return &scenario.Scenario{
		Seed:    &seed,
		Target:  scenario.Target{URL: scenario.EmbeddedURL, Stream: stream},
		Service: svc,
	}
}

// startServer starts sc's service on an ephemeral port for the test's life.
func startServer(t *testing.T, sc *scenario.Scenario) *Server {
	t.Helper()
	s, err := Start(t.Context(), sc, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// serverTimings parses "db;dur=20.104, queue;dur=0.012".
func serverTimings(t *testing.T, h string) map[string]time.Duration {
	t.Helper()
	out := map[string]time.Duration{}
	for metric := range strings.SplitSeq(h, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(metric), ";")
		v, ok := strings.CutPrefix(params, "dur=")
		if !ok {
			t.Fatalf("Server-Timing %q: metric %q has no dur", h, metric)
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			t.Fatalf("Server-Timing %q: %v", h, err)
		}
		out[name] = time.Duration(f * float64(time.Millisecond))
	}
	return out
}

// waitFor polls cond until it holds, failing the test after a few seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestDelays checks that each phase takes at least its delay, that the
// reported database time is what was slept, and the wire format of both
// stream modes. Only lower bounds are strict; the one ceiling (dbSlack) is
// generous and checks the header is the measured sleep, not an inflated one.
func TestDelays(t *testing.T) {
	const dbSlack = 250 * time.Millisecond // generous: only the lower bound is exact; busy CI machines overshoot timers
	tests := []struct {
		name       string
		stream     scenario.Stream
		svc        scenario.Service
		wantEvents []string      // sse: data of each event, in order
		wantBody   string        // none: the whole body
		minFirst   time.Duration // request start → first event (sse) or body (none)
		minGap     time.Duration // between consecutive events
	}{
		{
			name:   "sse",
			stream: scenario.StreamSSE,
			svc: scenario.Service{
				Database: fixed(20 * time.Millisecond), TTFT: fixed(30 * time.Millisecond),
				Tokens: 3, ITL: fixed(10 * time.Millisecond),
			},
			wantEvents: []string{`{"token":0}`, `{"token":1}`, `{"token":2}`, `[DONE]`},
			minFirst:   50 * time.Millisecond,
			minGap:     10 * time.Millisecond,
		},
		{
			name:   "sse without tokens",
			stream: scenario.StreamSSE,
			svc: scenario.Service{
				Database: fixed(20 * time.Millisecond), TTFT: fixed(30 * time.Millisecond),
				ITL: fixed(time.Minute),
			},
			wantEvents: []string{`[DONE]`},
			minFirst:   50 * time.Millisecond,
		},
		{
			name:   "none",
			stream: scenario.StreamNone,
			svc: scenario.Service{
				Database: fixed(20 * time.Millisecond), TTFT: fixed(30 * time.Millisecond),
				Tokens: 3, ITL: fixed(10 * time.Millisecond),
			},
			wantBody: `{"tokens":3}` + "\n",
			minFirst: 80 * time.Millisecond, // db + ttft + 3 × itl
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startServer(t, newScenario(tt.stream, tt.svc))
			// Any method and path is served alike.
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL()+"v1/chat",
				strings.NewReader(`{"stream":true}`))
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d, want 200", resp.StatusCode)
			}
			st := serverTimings(t, resp.Header.Get("Server-Timing"))
			if db := st["db"]; db < 20*time.Millisecond || db > 20*time.Millisecond+dbSlack {
				t.Errorf("Server-Timing db = %v, want 20ms..%v", db, 20*time.Millisecond+dbSlack)
			}
			if _, ok := st["queue"]; !ok {
				t.Errorf("Server-Timing %q has no queue metric", resp.Header.Get("Server-Timing"))
			}

			if tt.stream == scenario.StreamNone {
				body, err := io.ReadAll(resp.Body)
				if err != nil {
					t.Fatal(err)
				}
				if got := time.Since(start); got < tt.minFirst {
					t.Errorf("body after %v, want ≥ %v", got, tt.minFirst)
				}
				if string(body) != tt.wantBody {
					t.Errorf("body %q, want %q", body, tt.wantBody)
				}
				if resp.ContentLength != int64(len(tt.wantBody)) {
					t.Errorf("Content-Length %d, want %d", resp.ContentLength, len(tt.wantBody))
				}
				return
			}

			if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
				t.Errorf("Content-Type %q, want text/event-stream", ct)
			}
			var events []string
			var at []time.Time
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
					at = append(at, time.Now())
					events = append(events, data)
				}
			}
			if err := sc.Err(); err != nil {
				t.Fatal(err)
			}
			if strings.Join(events, "|") != strings.Join(tt.wantEvents, "|") {
				t.Fatalf("events %q, want %q", events, tt.wantEvents)
			}
			if first := at[0].Sub(start); first < tt.minFirst {
				t.Errorf("first event after %v, want ≥ %v", first, tt.minFirst)
			}
			// Events are laid on a schedule from the first one, which the
			// server sends no earlier than minFirst: event i comes no earlier
			// than minFirst + i gaps after the request (a late timer shortens
			// the next gap rather than pushing every later event back). Timed
			// from the request, not from when this client read the first
			// event: a busy machine can delay that read, and later events
			// then seem to come early.
			for i := 1; i < len(at); i++ {
				if since := at[i].Sub(start); since < tt.minFirst+time.Duration(i)*tt.minGap-time.Millisecond {
					t.Errorf("event %d came %v after the request, want ≥ %v + %d × %v", i, since, tt.minFirst, i, tt.minGap)
				}
			}
		})
	}
}

// TestSSEFormat checks the exact bytes of a stream.
func TestSSEFormat(t *testing.T) {
	svc := New(newScenario(scenario.StreamSSE, scenario.Service{Tokens: 2}))
	rec := httptest.NewRecorder()
	svc.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	want := "data: {\"token\":0}\n\ndata: {\"token\":1}\n\ndata: [DONE]\n\n"
	if got := rec.Body.String(); got != want {
		t.Errorf("body %q, want %q", got, want)
	}
	if !rec.Flushed {
		t.Error("stream was never flushed")
	}
}

// TestShedding fires more requests than workers + queue can hold: the extra
// ones are shed at once and the queued one waits for a worker.
func TestShedding(t *testing.T) {
	const db = 200 * time.Millisecond
	srv := startServer(t, newScenario(scenario.StreamNone, scenario.Service{
		Workers: intp(2), Queue: intp(1), Database: fixed(db),
	}))
	type result struct {
		code    int
		body    string
		elapsed time.Duration
		queue   time.Duration
	}
	results := make([]result, 5)
	var wg sync.WaitGroup
	ready := make(chan struct{})
	for i := range results {
		wg.Go(func() {
			<-ready
			start := time.Now()
			resp, err := http.Get(srv.URL())
			if err != nil {
				t.Error(err)
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			r := result{code: resp.StatusCode, body: string(body), elapsed: time.Since(start)}
			if h := resp.Header.Get("Server-Timing"); h != "" {
				r.queue = serverTimings(t, h)["queue"]
			}
			results[i] = r
		})
	}
	close(ready)
	wg.Wait()

	var shed, ok int
	var maxQueue time.Duration
	for _, r := range results {
		switch r.code {
		case http.StatusServiceUnavailable:
			shed++
			if strings.TrimSpace(r.body) != "overloaded" {
				t.Errorf("503 body %q, want overloaded", r.body)
			}
			// Under the database delay means it did not wait for a worker.
			if r.elapsed >= db {
				t.Errorf("shed after %v, want < %v", r.elapsed, db)
			}
		case http.StatusOK:
			ok++
			maxQueue = max(maxQueue, r.queue)
		default:
			t.Errorf("status %d", r.code)
		}
	}
	if shed != 2 || ok != 3 {
		t.Errorf("%d shed and %d ok, want 2 and 3", shed, ok)
	}
	// The queued request waited for a worker to finish its 200ms; 150ms
	// leaves 50ms for the requests to arrive at different times.
	if maxQueue < 150*time.Millisecond {
		t.Errorf("longest queue time %v, want ≥ 150ms", maxQueue)
	}
	want := Stats{Served: 3, Shed: 2, MaxQueue: 1}
	if got := srv.Stats(); got != want {
		t.Errorf("Stats() = %+v, want %+v", got, want)
	}
}

// get sends one request with the given sequence number and reports its
// status, or -1 if it failed.
func get(ctx context.Context, url string, seq int) int {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return -1
	}
	req.Header.Set(SeqHeader, strconv.Itoa(seq))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return -1
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestFIFO queues requests behind one worker in a known order (each is sent
// only once the one before is waiting) and checks they finish in that order.
func TestFIFO(t *testing.T) {
	const n = 6
	srv := startServer(t, newScenario(scenario.StreamNone, scenario.Service{
		Workers: intp(1), Queue: intp(10), Database: fixed(250 * time.Millisecond),
	}))
	g := srv.svc.gate
	finished := make(chan int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if code := get(t.Context(), srv.URL(), i); code != http.StatusOK {
				t.Errorf("request %d: status %d", i, code)
			}
			finished <- i
		})
		if i == 0 {
			waitFor(t, "the first request to hold the worker", func() bool { return g.busy() == 1 })
		} else {
			waitFor(t, "request "+strconv.Itoa(i)+" to queue", func() bool { return g.waiting() == i })
		}
	}
	wg.Wait()
	close(finished)
	var order []int
	for i := range finished {
		order = append(order, i)
	}
	for i, got := range order {
		if got != i {
			t.Fatalf("finished in order %v, want 0..%d", order, n-1)
		}
	}
	if got := srv.Stats().MaxQueue; got != n-1 {
		t.Errorf("MaxQueue %d, want %d", got, n-1)
	}
}

// TestLeaveQueue checks that a client that gives up while waiting frees its
// place: the next request queues instead of being shed.
func TestLeaveQueue(t *testing.T) {
	srv := startServer(t, newScenario(scenario.StreamNone, scenario.Service{
		Workers: intp(1), Queue: intp(1), Database: fixed(time.Minute),
	}))
	g := srv.svc.gate
	go get(t.Context(), srv.URL(), 0)
	waitFor(t, "the worker to be held", func() bool { return g.busy() == 1 })

	ctx, cancel := context.WithCancel(t.Context())
	gaveUp := make(chan int)
	go func() { gaveUp <- get(ctx, srv.URL(), 1) }()
	waitFor(t, "a request to queue", func() bool { return g.waiting() == 1 })
	cancel()
	<-gaveUp
	waitFor(t, "the request to leave the queue", func() bool { return g.waiting() == 0 })

	go get(t.Context(), srv.URL(), 2)
	waitFor(t, "the next request to queue", func() bool { return g.waiting() == 1 })
	if st := srv.Stats(); st.Shed != 0 || st.Canceled != 1 {
		t.Errorf("Stats() = %+v, want 0 shed and 1 canceled", st)
	}
}

// answer answers one request through ServeHTTP with the given sequence number.
func answer(svc *Service, seq int) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	if seq >= 0 {
		req.Header.Set(SeqHeader, strconv.Itoa(seq))
	}
	rec := httptest.NewRecorder()
	svc.ServeHTTP(rec, req)
	return rec
}

// TestErrors checks the share of injected errors and that the decision is a
// function of seed and sequence number alone.
func TestErrors(t *testing.T) {
	const n = 2000
	tests := []struct {
		errors   scenario.Ratio
		min, max float64 // bounds on the share of 500s
	}{
		{errors: 0, min: 0, max: 0},
		{errors: 1, min: 1, max: 1},
		// The share has standard deviation √(0.3·0.7/2000) ≈ 1%; ±4% is
		// about 4σ, and the seed is fixed, so this never flakes.
		{errors: 0.3, min: 0.26, max: 0.34},
	}
	for _, tt := range tests {
		t.Run(tt.errors.String(), func(t *testing.T) {
			sc := newScenario(scenario.StreamSSE, scenario.Service{Errors: tt.errors, Tokens: 1})
			svc := New(sc)
			failed := make([]bool, n)
			for seq := range n {
				rec := answer(svc, seq)
				switch rec.Code {
				case http.StatusInternalServerError:
					failed[seq] = true
					if strings.TrimSpace(rec.Body.String()) != "injected error" {
						t.Fatalf("500 body %q", rec.Body.String())
					}
					if rec.Header().Get("Server-Timing") == "" {
						t.Fatal("500 without Server-Timing")
					}
				case http.StatusOK:
				default:
					t.Fatalf("seq %d: status %d", seq, rec.Code)
				}
			}
			var count int
			for _, f := range failed {
				if f {
					count++
				}
			}
			if share := float64(count) / n; share < tt.min || share > tt.max {
				t.Errorf("share of 500s %.4f, want %.2f..%.2f", share, tt.min, tt.max)
			}
			if got := svc.Stats().Injected; got != uint64(count) {
				t.Errorf("Stats().Injected = %d, want %d", got, count)
			}

			// Same seed, same seq: same decision, on a fresh service too.
			again := New(sc)
			for seq := range 200 {
				if got := answer(again, seq).Code == http.StatusInternalServerError; got != failed[seq] {
					t.Fatalf("seq %d: failed %v, then %v", seq, failed[seq], got)
				}
			}
			// Without the header the service numbers requests itself, from 0.
			counted := New(sc)
			for seq := range 200 {
				if got := answer(counted, -1).Code == http.StatusInternalServerError; got != failed[seq] {
					t.Fatalf("request %d without %s: failed %v, want %v", seq, SeqHeader, got, failed[seq])
				}
			}
		})
	}
}

// TestClose checks that Close, or the Start context ending, does not wait
// out a long simulated delay, and that the client sees a failure, not a 200.
func TestClose(t *testing.T) {
	tests := []struct {
		name string
		stop func(s *Server, cancel context.CancelFunc)
	}{
		{"Close", func(s *Server, _ context.CancelFunc) { _ = s.Close() }},
		{"context", func(_ *Server, cancel context.CancelFunc) { cancel() }},
	}
	for _, tt := range tests {
		for _, stream := range []scenario.Stream{scenario.StreamNone, scenario.StreamSSE} {
			t.Run(tt.name+"/"+string(stream), func(t *testing.T) {
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				srv, err := Start(ctx, newScenario(stream, scenario.Service{
					TTFT: fixed(time.Minute), Tokens: 2,
				}), "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				status := make(chan int, 1)
				go func() { status <- get(t.Context(), srv.URL(), 0) }()
				waitFor(t, "the worker to be held", func() bool { return srv.svc.gate.busy() == 1 })

				start := time.Now()
				tt.stop(srv, cancel)
				select {
				case <-srv.Done():
				case <-time.After(10 * time.Second):
					t.Fatal("server did not stop")
				}
				// Generous: the delay being cut short is a minute.
				if took := time.Since(start); took > time.Second {
					t.Errorf("stopping took %v, want < 1s", took)
				}
				if code := <-status; code != -1 {
					t.Errorf("in-flight request got status %d, want a failed request", code)
				}
				if err := srv.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
				if st := srv.Stats(); st.Canceled != 1 || st.Served != 0 {
					t.Errorf("Stats() = %+v, want 1 canceled", st)
				}
				if code := get(t.Context(), srv.URL(), 1); code != -1 {
					t.Errorf("after Close: status %d, want no answer", code)
				}
			})
		}
	}
}

// TestURL checks that a server listening on all interfaces names a dialable
// address.
func TestURL(t *testing.T) {
	s, err := Start(t.Context(), newScenario(scenario.StreamNone, scenario.Service{}), ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !strings.HasPrefix(s.URL(), "http://127.0.0.1:") || !strings.HasSuffix(s.URL(), "/") {
		t.Errorf("URL() = %q, want http://127.0.0.1:PORT/", s.URL())
	}
	if code := get(t.Context(), s.URL(), 0); code != http.StatusOK {
		t.Errorf("status %d, want 200", code)
	}
}
