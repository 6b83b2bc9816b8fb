package load

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tailgate-dev/tailgate/budget"
	"github.com/tailgate-dev/tailgate/histogram"
	"github.com/tailgate-dev/tailgate/scenario"
)

// indStderr collects a child's stderr; exec copies into it from its own
// goroutine.
type indStderr struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *indStderr) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *indStderr) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// served is what the Python server's own clock saw for one response (its
// --report line): the ground truth tailgate's figures are held against.
type indServed struct {
	db    time.Duration   // slept for "database" (also sent in Server-Timing)
	first time.Duration   // request read → first byte written
	done  time.Duration   // request read → last byte written
	itl   []time.Duration // between the writes of consecutive events
}

// indServer is a running testdata/sse_server.py.
type indServer struct {
	url    string
	mu     sync.Mutex
	served []indServed
	bad    []string // stdout lines that did not parse
	more   chan struct{}
}

// wait returns the server's reports from the off-th on, once there are n of
// them or after a few seconds: a response's report follows its last byte, so
// it may trail the client's read of it.
func (p *indServer) wait(off, n int) ([]indServed, []string) {
	deadline := time.After(5 * time.Second)
	for {
		p.mu.Lock()
		got, bad := slices.Clone(p.served[min(off, len(p.served)):]), slices.Clone(p.bad)
		p.mu.Unlock()
		if len(got) >= n {
			return got, bad
		}
		select {
		case <-p.more:
		case <-deadline:
			return got, bad
		}
	}
}

// startIndServer runs testdata/sse_server.py with --report and args. The
// server exits when its stdin closes, which cleanup does first; it is killed
// if it has not gone within a few seconds.
func startIndServer(t *testing.T, args ...string) *indServer {
	t.Helper()
	stdout, stderr := startScript(t, "python3", "testdata/sse_server.py", append([]string{"--report"}, args...)...)

	p := &indServer{more: make(chan struct{}, 1)}
	portLine := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if !sc.Scan() {
			portLine <- ""
			return
		}
		portLine <- sc.Text()
		for sc.Scan() {
			s, ok := parseIndServed(sc.Text())
			p.mu.Lock()
			if ok {
				p.served = append(p.served, s)
			} else {
				p.bad = append(p.bad, sc.Text())
			}
			p.mu.Unlock()
			select {
			case p.more <- struct{}{}:
			default:
			}
		}
	}()
	select {
	case s := <-portLine:
		port, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || port <= 0 || port > 65535 {
			t.Fatalf("sse_server.py printed %q, want a port; stderr:\n%s", s, stderr.String())
		}
		p.url = "http://127.0.0.1:" + strconv.Itoa(port) + "/"
		return p
	case <-time.After(10 * time.Second):
		t.Fatalf("sse_server.py printed no port within 10s; stderr:\n%s", stderr.String())
	}
	return nil
}

// parseIndServed reads a --report line:
// "served db_ms=20.095 first_ms=170.112 done_ms=220.734 itl_ms=10.1,10.1".
func parseIndServed(line string) (indServed, bool) {
	var s indServed
	fields := strings.Fields(line)
	if len(fields) != 5 || fields[0] != "served" {
		return s, false
	}
	ms := func(v string) (time.Duration, bool) {
		f, err := strconv.ParseFloat(v, 64)
		return time.Duration(f * float64(time.Millisecond)), err == nil
	}
	for _, f := range fields[1:] {
		k, v, _ := strings.Cut(f, "=")
		var ok bool
		switch k {
		case "db_ms":
			s.db, ok = ms(v)
		case "first_ms":
			s.first, ok = ms(v)
		case "done_ms":
			s.done, ok = ms(v)
		case "itl_ms":
			ok = true // none with one event
			for g := range strings.SplitSeq(v, ",") {
				if g == "" {
					continue
				}
				var d time.Duration
				if d, ok = ms(g); !ok {
					break
				}
				s.itl = append(s.itl, d)
			}
		}
		if !ok {
			return s, false
		}
	}
	return s, true
}

// indP50 is the median the way HDR's ValueAtQuantile(50) ranks it: the
// round(n/2)-th smallest value, the lower middle of an even count.
func indP50(ds []time.Duration) time.Duration {
	ds = slices.Sorted(slices.Values(ds))
	return ds[(len(ds)+1)/2-1]
}

// Delays the Python server is started with in TestIndependentSSEServer.
const (
	indDB     = 20 * time.Millisecond
	indTTFT   = 150 * time.Millisecond
	indITL    = 10 * time.Millisecond
	indTokens = 5
)

// indOverheadAllowance bounds what tailgate's ttft (RoundTrip entered → first
// event parsed) adds to the Python server's own first-byte time (request read
// → first write): the client writing the request, Python accepting, starting
// a thread and parsing the request line and headers, then the send over
// loopback and Go's read and SSE parse. Measured on a 2-CPU Linux VM with
// Python 3.11, as the difference of the medians, on attempts tailgate would
// judge (lag p99 ≤ 10ms): 0.67–1.15ms without -race (17 attempts), 0.93–1.27ms
// with it (16). Python's own sleeps overshoot by ~0.1–0.2ms, inside its
// clock (its first byte goes out at 170.19–170.27ms), so the nominal ttft
// p50 was 170.9–171.5ms. 2ms covers that with room to spare and is still a
// fifth of one inter-token gap: a phase mis-timed by a single event fails.
// On busy attempts (lag p99 over 10ms) the overhead reached 2–150ms, which
// is why those are not judged.
const indOverheadAllowance = 2 * time.Millisecond

// indStrictTimingEnv makes a machine too busy to judge millisecond bounds a
// failure instead of a skip (for CI runners that are known to be quiet).
const indStrictTimingEnv = "TAILGATE_STRICT_TIMING"

// TestIndependentSSEServer checks the per-phase measurements against an SSE
// server tailgate did not write (Python's http.server, chunked HTTP/1.1,
// keep-alive), with known delays: 20ms of "database" reported in
// Server-Timing, the first byte and event 170ms after the request, then five
// token events and [DONE] 10ms apart. The server also reports, per
// response, what its own clock saw: the ground truth.
//
// Some checks hold however busy the machine: counts, the Server-Timing
// figure recorded exactly as sent, ttft never below the server's first byte
// (itself never below db+ttft), one gap per token, connect per new
// connection. Every attempt asserts them.
//
// Upper bounds at millisecond precision hold only when neither side was
// starved of CPU, so they are judged on an attempt that tailgate itself would
// judge (schedule lag p99 within budget.MaxLagP99, see DESIGN.md
// "Measurement") and on which the server kept its schedule by its own clock.
// A busy machine gets up to three attempts; if none was quiet the test skips,
// saying so (or fails, with TAILGATE_STRICT_TIMING set).
func TestIndependentSSEServer(t *testing.T) {
	if raceEnabled {
		t.Skip("timing is judged without the race detector (.ci/run runs it in its own pass)")
	}
	srv := startIndServer(t,
		"--db-ms", strconv.Itoa(int(indDB/time.Millisecond)),
		"--ttft-ms", strconv.Itoa(int(indTTFT/time.Millisecond)),
		"--itl-ms", strconv.Itoa(int(indITL/time.Millisecond)),
		"--tokens", strconv.Itoa(indTokens))
	off := 0
	for _, engine := range engines {
		t.Run(string(engine), func(t *testing.T) {
			const attempts = 3
			var busy []string
			for i := 1; i <= attempts; i++ {
				a := runIndAttempt(t, srv, off, engine)
				off += len(a.reports)
				why := a.busy()
				if why == "" {
					t.Logf("attempt %d: quiet, judging upper bounds", i)
					a.judge(t)
					return
				}
				t.Logf("attempt %d: upper bounds not judged: %s", i, why)
				busy = append(busy, why)
			}
			msg := fmt.Sprintf("machine too busy to judge millisecond upper bounds in %d attempts (%s); the checks that hold under load passed",
				attempts, strings.Join(busy, "; "))
			if os.Getenv(indStrictTimingEnv) != "" {
				t.Fatal(msg)
			}
			t.Skip(msg + "; set " + indStrictTimingEnv + "=1 to fail instead")
		})
	}
}

// indAttempt is one run against the Python server and what both sides saw.
type indAttempt struct {
	reports []indServed

	lagP99                  time.Duration
	db, ttft, itl           time.Duration // tailgate's p50s
	srvDB, srvFirst, srvITL time.Duration // the server's own p50s
}

// runIndAttempt runs 10/s for 3s against srv with engine, logs every figure and
// asserts what holds however busy the machine; off is the number of server
// reports earlier attempts used.
func runIndAttempt(t *testing.T, srv *indServer, off int, engine scenario.Engine) *indAttempt {
	out, err := Run(context.Background(), on(ssePlan(t, srv.url, "10/s", 3*time.Second), engine), Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec := out.Rec
	c := rec.Counts
	t.Logf("counts: sent %d, ok %d, errors %d %v, new connections %d", c.Sent, c.OK, c.Errors, c.ByClass, c.NewConnections)
	for _, src := range []string{"server-timing:db", scenario.SourceConnect, scenario.SourceTTFB, scenario.SourceTTFT, scenario.SourceITL, scenario.SourceTotal, scenario.SourceService, SourceLag} {
		p50, n, _ := rec.Percentile(src, 50)
		p99, _, _ := rec.Percentile(src, 99)
		t.Logf("tailgate %-17s p50 %-10v p99 %-10v (%d samples)", src, p50, p99, n)
	}
	if c.Sent != 30 || c.OK != c.Sent || c.Errors != 0 {
		t.Fatalf("counts %+v, want 30 sent, all ok", c)
	}

	reports, bad := srv.wait(off, int(c.OK))
	if len(bad) > 0 || int64(len(reports)) != c.OK {
		t.Fatalf("the server reported %d responses for %d ok requests; unparsed lines %q", len(reports), c.OK, bad)
	}
	var srvDB, srvFirst, srvITL []time.Duration
	for _, r := range reports {
		srvDB, srvFirst = append(srvDB, r.db), append(srvFirst, r.first)
		srvITL = append(srvITL, r.itl...)
	}
	get := func(src string, p float64) time.Duration {
		t.Helper()
		v, _, ok := rec.Percentile(src, p)
		if !ok {
			t.Fatalf("no %s samples (have %v)", src, rec.Sources())
		}
		return v
	}
	a := &indAttempt{
		reports: reports,
		lagP99:  get(SourceLag, 99),
		db:      get("server-timing:db", 50), ttft: get(scenario.SourceTTFT, 50), itl: get(scenario.SourceITL, 50),
		srvDB: indP50(srvDB), srvFirst: indP50(srvFirst), srvITL: indP50(srvITL),
	}
	t.Logf("server's clock: db p50 %v, first byte p50 %v, itl p50 %v", a.srvDB, a.srvFirst, a.srvITL)
	t.Logf("ttft p50 − server's first byte p50 = %v; itl p50 − server's itl p50 = %v", a.ttft-a.srvFirst, a.itl-a.srvITL)

	// Server-Timing carries the server's own figure: tailgate records exactly
	// it, up to HDR's bucket (16µs at 20ms; the percentile is the bucket's
	// top) and rounding to the microsecond.
	indBetween(t, "server-timing:db p50 vs the server's report", a.db,
		a.srvDB-time.Microsecond, a.srvDB+(a.db-histogram.LowestEquivalent(a.db))+time.Microsecond)
	// The server writes nothing before db+ttft after reading the request, and
	// every request's ttft spans that and more, so each order statistic does
	// too.
	if a.srvFirst < indDB+indTTFT {
		t.Errorf("the server's first byte p50 %v is before db+ttft %v", a.srvFirst, indDB+indTTFT)
	}
	if a.ttft < a.srvFirst {
		t.Errorf("ttft p50 %v is below the server's own first byte p50 %v", a.ttft, a.srvFirst)
	}
	if a.db < indDB {
		t.Errorf("server-timing:db p50 %v is below the %v the server slept", a.db, indDB)
	}
	// Gaps between events, [DONE] included: one per token.
	if n := rec.Histogram(scenario.SourceITL).TotalCount(); n != c.OK*indTokens {
		t.Errorf("%d inter-token gaps, want %d (%d ok × %d tokens)", n, c.OK*indTokens, c.OK, indTokens)
	}
	// Keep-alive: some requests opened connections and each recorded its
	// connect; no TLS on plain HTTP.
	var connects int64
	if h := rec.Histogram(scenario.SourceConnect); h != nil {
		connects = h.TotalCount()
	}
	if c.NewConnections == 0 || connects != c.NewConnections {
		t.Errorf("connect samples %d, new connections %d", connects, c.NewConnections)
	}
	if c.NewConnections == c.Sent {
		t.Errorf("every request opened a connection: keep-alive did not work with the Python server")
	}
	if rec.Histogram(scenario.SourceTLS) != nil {
		t.Error("tls recorded on plain HTTP")
	}
	return a
}

// indTolerance is the "2% or 1ms, whichever is larger" of a delay.
func indTolerance(d time.Duration) time.Duration { return max(d/50, time.Millisecond) }

func indBetween(t *testing.T, what string, got, lo, hi time.Duration) {
	t.Helper()
	if got < lo || got > hi {
		t.Errorf("%s = %v, want within [%v, %v]", what, got, lo, hi)
	}
}

// busy says why the attempt cannot judge millisecond upper bounds, "" when
// it can.
func (a *indAttempt) busy() string {
	var why []string
	if a.lagP99 > budget.MaxLagP99 {
		why = append(why, fmt.Sprintf("generator lag p99 %v over %v, a run tailgate would not judge", a.lagP99, budget.MaxLagP99))
	}
	want := indDB + indTTFT
	if a.srvDB > indDB+indTolerance(indDB) || a.srvFirst > want+indTolerance(want) || a.srvITL > indITL+indTolerance(indITL) {
		why = append(why, fmt.Sprintf("the server missed its schedule by its own clock (db %v, first byte %v, itl %v)", a.srvDB, a.srvFirst, a.srvITL))
	}
	return strings.Join(why, ", ")
}

// judge asserts the upper bounds of a quiet attempt.
func (a *indAttempt) judge(t *testing.T) {
	t.Helper()
	// Against the server's own clock: ttft exceeds its first byte only by
	// the overhead outside it; a gap seen by the client is not one-sided
	// against the server's (a late read shortens the next gap), but the
	// medians agree.
	indBetween(t, "ttft p50 vs the server's first byte", a.ttft, a.srvFirst, a.srvFirst+indOverheadAllowance)
	indBetween(t, "itl p50 vs the server's gaps", a.itl, a.srvITL-indTolerance(indITL), a.srvITL+indTolerance(indITL))
	// Against the nominal delays, 2% or 1ms, whichever is larger. The server
	// reports what it slept, never less than asked; nothing is sent before
	// db+ttft.
	indBetween(t, "server-timing:db p50", a.db, indDB, indDB+indTolerance(indDB))
	want := indDB + indTTFT
	indBetween(t, "ttft p50", a.ttft, want, want+indTolerance(want)+indOverheadAllowance)
	indBetween(t, "itl p50", a.itl, indITL-indTolerance(indITL), indITL+indTolerance(indITL))
}
