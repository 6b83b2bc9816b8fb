// Command soak drives the embedded service for a long time at a moderate
// rate, with injected faults, or a target of its own (-url) at a high one,
// and samples the process's resident memory and goroutines every interval:
// both must stay flat however long the run. It is not run in CI; see run.sh
// and bench/RESULTS.md.
//
//	go run ./bench/soak -duration 10m -rate 100/s -every 10s
//	go run ./bench/soak -duration 10m -rate 5000/s -url http://127.0.0.1:8080/
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tailgate-dev/tailgate/budget"
	"github.com/tailgate-dev/tailgate/embedded"
	"github.com/tailgate-dev/tailgate/load"
	"github.com/tailgate-dev/tailgate/scenario"
)

func main() {
	duration := flag.Duration("duration", 10*time.Minute, "how long to send")
	rate := flag.String("rate", "100/s", "constant arrival rate")
	errs := flag.String("errors", "5%", "share of requests the embedded service fails with 500")
	every := flag.Duration("every", 10*time.Second, "sampling interval")
	url := flag.String("url", "", "send plain GETs to this target instead of the embedded service")
	flag.Parse()
	if err := soak(*duration, *rate, *errs, *url, *every); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

// scenarioYAML streams tokens over SSE, so every phase of the measurement
// runs: connect, Server-Timing, ttft, inter-token gaps, and error classes.
const scenarioYAML = `name: soak
seed: 7
target: {url: embedded, stream: sse, timeout: 5s}
traffic:
  - poisson: {rate: %s, duration: %s}
service:
  workers: 64
  queue: 256
  database: {p50: 5ms, p99: 40ms}
  ttft: {p50: 20ms, p99: 80ms}
  tokens: 20
  itl: {p50: 2ms, p99: 10ms}
  errors: %s
budget:
  database: {p99: 100ms}
  ttft: {p99: 500ms}
  itl: {p99: 50ms}
  total: {p95: 1s, p99: 2s}
  errors: 10%%
`

// urlYAML sends plain GETs to a target of the caller's: no service runs in
// this process, so its memory is the generator's alone.
const urlYAML = `name: soak
seed: 7
target: {url: %q, timeout: 5s}
traffic:
  - poisson: {rate: %s, duration: %s}
budget:
  total: {p99: 1s}
  errors: 1%%
`

// sample is one row of the table.
type sample struct {
	at                   time.Duration
	sent, ok, errs, infl int64
	goroutines           int
	rssKiB, heapKiB      int64
}

func soak(duration time.Duration, rate, errs, url string, every time.Duration) error {
	yaml := fmt.Sprintf(scenarioYAML, rate, duration, errs)
	if url != "" {
		yaml = fmt.Sprintf(urlYAML, url, rate, duration)
	}
	sc, err := scenario.Parse("soak.yaml", []byte(yaml))
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	baseGoroutines := runtime.NumGoroutine()
	baseRSS := rssKiB()
	// Ticks publish counts.
	var sent, ok, failed, inflight atomic.Int64
	opt := load.Options{OnTick: func(t load.Tick) {
		c := t.Counts
		sent.Store(c.Sent)
		ok.Store(c.OK)
		failed.Store(c.Errors)
		inflight.Store(t.InFlight)
	}}

	var srv *embedded.Server
	if url == "" {
		if srv, err = embedded.Start(ctx, sc, "127.0.0.1:0"); err != nil {
			return err
		}
		opt.URL, opt.TLSConfig = srv.URL(), srv.ClientTLS()
		fmt.Printf("soak: %s of %s poisson to the embedded service (sse, 20 tokens, errors %s), sampling every %s\n", duration, rate, errs, every)
	} else {
		fmt.Printf("soak: %s of %s poisson GETs to %s, sampling every %s\n", duration, rate, url, every)
	}
	fmt.Printf("before: %d goroutines, RSS %.1f MiB\n\n", baseGoroutines, float64(baseRSS)/1024)
	const row = "%8s %8v %8v %7v %9v %10v %8v %8v\n"
	fmt.Printf(row, "elapsed", "sent", "ok", "errors", "in flight", "goroutines", "RSS MiB", "heap MiB")
	var rows []sample
	take := func(at time.Duration) {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		s := sample{at: at, sent: sent.Load(), ok: ok.Load(), errs: failed.Load(), infl: inflight.Load(),
			goroutines: runtime.NumGoroutine(), rssKiB: rssKiB(), heapKiB: int64(ms.HeapInuse / 1024)}
		rows = append(rows, s)
		fmt.Printf(row, s.at.Round(time.Second), s.sent, s.ok, s.errs, s.infl, s.goroutines,
			strconv.FormatFloat(float64(s.rssKiB)/1024, 'f', 1, 64), strconv.FormatFloat(float64(s.heapKiB)/1024, 'f', 1, 64))
	}

	type result struct {
		out *load.Outcome
		err error
	}
	done := make(chan result, 1)
	began := time.Now()
	go func() {
		out, err := load.Run(ctx, sc, opt)
		done <- result{out, err}
	}()
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	var res result
wait:
	for {
		select {
		case <-ticker.C:
			take(time.Since(began))
		case res = <-done:
			break wait
		}
	}
	if res.err != nil {
		return res.err
	}
	take(time.Since(began))
	if srv != nil {
		if err := srv.Close(); err != nil {
			return err
		}
	}
	out := res.out
	j := budget.Judge(sc, budget.Measurement{Mode: "run", Rec: out.Rec, Planned: out.Planned, PlannedDuration: out.PlannedDuration,
		SendSpan: out.SendSpan, Elapsed: out.Elapsed, Interrupted: out.Interrupted, LagSource: load.SourceLag})

	// Goroutines of the run and the service must be gone once both return.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > baseGoroutines && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	runtime.GC()
	fmt.Printf("\nafter: %d goroutines (before %d), RSS %.1f MiB\n", runtime.NumGoroutine(), baseGoroutines, float64(rssKiB())/1024)
	fmt.Printf("reasons: %v\n", j.Reasons)
	fmt.Printf("verdict %s: %d sent, %d ok, %d errors %v, achieved %.1f/s of %.1f/s planned\n",
		j.Verdict, j.Requests.Sent, j.Requests.OK, j.Requests.Errors, j.Errors, j.Requests.AchievedRate, j.Requests.PlannedRate)
	summarize(rows)
	return nil
}

// summarize compares the first and last thirds of the run once it has warmed
// up: flat means the later samples are not above the earlier ones by more
// than noise.
func summarize(rows []sample) {
	if len(rows) < 6 {
		return
	}
	steady := rows[1 : len(rows)-1] // skip the warm-up and the drained end
	third := len(steady) / 3
	early, late := steady[:third], steady[len(steady)-third:]
	maxOf := func(s []sample, f func(sample) int64) int64 {
		m := int64(0)
		for _, r := range s {
			m = max(m, f(r))
		}
		return m
	}
	rss := func(s sample) int64 { return s.rssKiB }
	gor := func(s sample) int64 { return int64(s.goroutines) }
	heap := func(s sample) int64 { return s.heapKiB }
	fmt.Printf("steady state, max of first third → last third: RSS %.1f → %.1f MiB, heap %.1f → %.1f MiB, goroutines %d → %d\n",
		float64(maxOf(early, rss))/1024, float64(maxOf(late, rss))/1024,
		float64(maxOf(early, heap))/1024, float64(maxOf(late, heap))/1024,
		maxOf(early, gor), maxOf(late, gor))
}

// rssKiB reads the resident set size from /proc/self/status (Linux); 0 elsewhere.
func rssKiB() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}
