package load

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tailgate-dev/tailgate/scenario"
)

// sseServer answers like a streaming LLM API with known delays: database
// time reported in Server-Timing, a wait before the first event, then
// events at a fixed spacing.
func sseServer(db, ttft, itl time.Duration, events int) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(db)
		w.Header().Set("Server-Timing", fmt.Sprintf(`db;dur=%.3f;desc="lookup", cache;desc=miss`, float64(db)/1e6))
		w.Header().Set("Content-Type", "text/event-stream")
		time.Sleep(ttft)
		f := w.(http.Flusher)
		for i := range events {
			if i > 0 {
				time.Sleep(itl)
			}
			fmt.Fprintf(w, "data: {\"token\":%d}\n\n", i)
			f.Flush()
		}
	}))
}

func ssePlan(t *testing.T, url string, rate string, d time.Duration) *scenario.Scenario {
	t.Helper()
	y := "target: {url: \"" + url + "\", stream: sse, timeout: 5s}\n" +
		"traffic: [{constant: {rate: " + rate + ", duration: " + d.String() + "}}]\n" +
		"budget: {ttft: {p99: 1s}}\n"
	sc, err := scenario.Parse("sse.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func within(t *testing.T, what string, got, want, slack time.Duration) {
	t.Helper()
	if got < want-want/1000 || got > want+slack {
		t.Errorf("%s = %v, want %v (+%v)", what, got, want, slack)
	}
}

// TestPhasesOfAStream checks every phase against the server's known delays.
// A measurement is never below the delay injected (a lower bound holds on
// any machine); how far above it may go depends on how busy the machine is,
// so upper bounds are held on the quietest of three attempts.
func TestPhasesOfAStream(t *testing.T) {
	const db, ttft, itl = 20 * time.Millisecond, 30 * time.Millisecond, 10 * time.Millisecond
	srv := sseServer(db, ttft, itl, 6)
	defer srv.Close()
	const attempts = 3
	for attempt := 1; ; attempt++ {
		late := phasesOfAStream(t, srv.URL, db, ttft, itl)
		if len(late) == 0 {
			return
		}
		if attempt == attempts {
			for _, l := range late {
				t.Error(l)
			}
			return
		}
		t.Logf("attempt %d: over an upper bound on a busy machine, trying again: %s", attempt, strings.Join(late, "; "))
	}
}

// phasesOfAStream runs one attempt of TestPhasesOfAStream. It fails the test
// on what no machine excuses and returns the upper bounds it exceeded.
func phasesOfAStream(t *testing.T, url string, db, ttft, itl time.Duration) (late []string) {
	t.Helper()
	out, err := Run(context.Background(), ssePlan(t, url, "20/s", time.Second), Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec := out.Rec
	if rec.Counts.OK != 20 {
		t.Fatalf("counts %+v", rec.Counts)
	}
	p50 := func(src string) time.Duration {
		v, _, ok := rec.Percentile(src, 50)
		if !ok {
			t.Fatalf("no %s samples (have %v)", src, rec.Sources())
		}
		return v
	}
	near := func(what string, got, want, slack time.Duration) {
		t.Helper()
		switch {
		case got < want-want/1000:
			t.Errorf("%s = %v, below the %v injected", what, got, want)
		case got > want+slack:
			late = append(late, fmt.Sprintf("%s = %v, want %v (+%v)", what, got, want, slack))
		}
	}
	near("server-timing:db p50", p50("server-timing:db"), db, time.Millisecond)
	near("ttft p50", p50(scenario.SourceTTFT), db+ttft, 8*time.Millisecond)
	near("itl p50", p50(scenario.SourceITL), itl, 5*time.Millisecond)
	near("total p50", p50(scenario.SourceTotal), db+ttft+5*itl, 10*time.Millisecond)
	if n := rec.Histogram(scenario.SourceITL).TotalCount(); n != 20*5 {
		t.Errorf("%d inter-token gaps, want 100", n)
	}
	if h := rec.Histogram("server-timing:cache"); h != nil {
		t.Errorf("a metric without dur was recorded")
	}
	// Loopback, plain HTTP: new connections record connect but no TLS.
	if n := rec.Histogram(scenario.SourceConnect).TotalCount(); n != rec.Counts.NewConnections || n == 0 {
		t.Errorf("connect samples %d, new connections %d", n, rec.Counts.NewConnections)
	}
	if rec.Histogram(scenario.SourceTLS) != nil {
		t.Error("tls recorded on plain HTTP")
	}

	// The slowest request's time splits into phases that add up to its total.
	slow := rec.Tail.Slowest()[0]
	var sum time.Duration
	parts := map[string]time.Duration{}
	for _, p := range slow.Parts {
		sum += p.D
		parts[p.Name] = p.D
	}
	if d := sum - slow.Total; d < -time.Microsecond || d > time.Microsecond {
		t.Errorf("parts add to %v, total %v: %v", sum, slow.Total, slow.Parts)
	}
	near("tail database part", parts["server-timing:db"], db, time.Millisecond)
	near("tail streaming part", parts[PartStreaming], 5*itl, 10*time.Millisecond)
	near("tail ttft part", parts[scenario.SourceTTFT], ttft, 10*time.Millisecond)
	return late
}

// TestMalformedStreams: a 2xx event stream that carries no event, or one the
// parser rejects, is a failed request of class protocol.
func TestMalformedStreams(t *testing.T) {
	cases := map[string]http.HandlerFunc{
		"no events": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			w.Write([]byte(": just a comment\n\n"))
		},
		"event too large": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			w.Write([]byte("data: " + strings.Repeat("x", maxEventSize+10) + "\n\n"))
		},
	}
	for name, h := range cases {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(h)
			defer srv.Close()
			out, err := Run(context.Background(), ssePlan(t, srv.URL, "20/s", 250*time.Millisecond), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if c := out.Rec.Counts; c.ByClass[string(ClassProtocol)] != 5 {
				t.Errorf("counts %+v, want 5 protocol errors", c)
			}
		})
	}
}

// TestStreamClosedEarly: a stream cut mid-event is a reset, and the events
// before it are not recorded as a success.
func TestStreamClosedEarly(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Content-Length", "100000")
		w.Write([]byte("data: one\n\ndata: tw"))
		w.(http.Flusher).Flush()
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close()
	}))
	defer srv.Close()
	out, err := Run(context.Background(), ssePlan(t, srv.URL, "20/s", 250*time.Millisecond), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c := out.Rec.Counts; c.ByClass[string(ClassReset)] != 5 || c.OK != 0 {
		t.Errorf("counts %+v, want 5 resets", c)
	}
}
