package load

import (
	"context"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tailgate-dev/tailgate/histogram"
	"github.com/tailgate-dev/tailgate/scenario"
)

// engines are the engines every engine test runs on.
var engines = []scenario.Engine{scenario.EngineVegeta, scenario.EngineNative}

// on returns sc set to send with engine.
func on(sc *scenario.Scenario, engine scenario.Engine) *scenario.Scenario {
	sc.Engine = engine
	return sc
}

// A tick consumer that blocks (a stalled terminal, a full pipe, a slow
// disk) for 2 s holds up nothing: the tick is a snapshot taken under the
// recorder's lock and consumed after it. Before, the consumer ran under the
// lock, and every request finishing meanwhile waited to be recorded.
func TestBlockedTickDoesNotStallSending(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	defer srv.Close()
	for _, engine := range engines {
		t.Run(string(engine), func(t *testing.T) {
			// A quiet machine is needed to judge a 10 ms bound: take the best
			// of a few attempts, as the timing acceptance tests do.
			var best time.Duration
			for attempt := range 3 {
				blocked := 0
				sc := on(plan(t, srv.URL, "200/s", 3500*time.Millisecond, 5*time.Second), engine)
				// 64 workers are plenty for 200/s of fast answers, and far too
				// few if each request waited 2 s to be recorded.
				out, err := Run(context.Background(), sc, Options{MaxWorkers: 64, OnTick: func(tk Tick) {
					if !tk.Final && blocked == 0 {
						blocked++
						time.Sleep(2 * time.Second)
					}
				}})
				if err != nil {
					t.Fatal(err)
				}
				if blocked == 0 {
					t.Fatal("no tick was blocked")
				}
				if c := out.Rec.Counts; c.OK != out.Planned {
					t.Fatalf("%d ok of %d (%v)", c.OK, out.Planned, c.ByClass)
				}
				lag, _, _ := out.Rec.Percentile(SourceLag, 99)
				t.Logf("attempt %d: lag p99 %v", attempt+1, lag)
				if attempt == 0 || lag < best {
					best = lag
				}
				if best < 10*time.Millisecond {
					return
				}
			}
			t.Errorf("lag p99 %v with a tick blocked for 2s, want under 10ms", best)
		})
	}
}

// Watchdog entries live per request: after a bursty run, in which either
// engine grows its workers and retires them, nothing is left in the list,
// and every request was recorded once.
func TestNothingLeftInFlight(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(time.Duration(rand.IntN(40)) * time.Millisecond)
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	y := "target: {url: \"" + srv.URL + "\"}\n" +
		"traffic: [{burst: {rate: 20/s, peak: 600/s, every: 500ms, lasting: 100ms, duration: 2s}}]\n" +
		"budget: {total: {p99: 1s}}\n"
	for _, engine := range engines {
		t.Run(string(engine), func(t *testing.T) {
			sc, err := scenario.Parse("burst.yaml", []byte(y))
			if err != nil {
				t.Fatal(err)
			}
			out, err := Run(context.Background(), on(sc, engine), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if c := out.Rec.Counts; c.Sent != out.Planned || c.OK != out.Planned {
				t.Errorf("%d sent, %d ok of %d planned (%v)", c.Sent, c.OK, out.Planned, c.ByClass)
			}
			if out.leftInFlight != 0 {
				t.Errorf("%d watchdog entries left after the run", out.leftInFlight)
			}
			if out.Engine != engine {
				t.Errorf("outcome names engine %q, want %q", out.Engine, engine)
			}
		})
	}
}

// Both engines, the same known delay: a server that answers after exactly
// 30 ms is measured at or above 30 ms by each, and their medians agree
// within loopback noise.
func TestEnginesAgree(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(30 * time.Millisecond)
		w.Header().Set("Server-Timing", "db;dur=12.5")
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	p50 := map[scenario.Engine]time.Duration{}
	for _, engine := range engines {
		out, err := Run(context.Background(), on(plan(t, srv.URL, "50/s", 2*time.Second, 5*time.Second), engine), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if c := out.Rec.Counts; c.OK != out.Planned {
			t.Fatalf("%s: %d ok of %d (%v)", engine, c.OK, out.Planned, c.ByClass)
		}
		// Not ttfb: it starts when the write returned, which a busy machine
		// may note after the server has begun its 30 ms.
		for _, src := range []string{scenario.SourceTotal, scenario.SourceService} {
			if low, _, _ := out.Rec.Percentile(src, 0); low < 30*time.Millisecond {
				t.Errorf("%s: %s minimum %v, below the server's 30ms", engine, src, low)
			}
		}
		if db, _, _ := out.Rec.Percentile(scenario.ServerTimingPrefix+"db", 50); histogram.LowestEquivalent(db) != histogram.LowestEquivalent(12500*time.Microsecond) {
			t.Errorf("%s: server-timing:db p50 %v, want 12.5ms", engine, db)
		}
		p50[engine], _, _ = out.Rec.Percentile(scenario.SourceService, 50)
	}
	v, n := p50[scenario.EngineVegeta], p50[scenario.EngineNative]
	if d := v - n; d > 5*time.Millisecond || d < -5*time.Millisecond {
		t.Errorf("service p50: vegeta %v, native %v; want within 5ms of each other", v, n)
	}
}
