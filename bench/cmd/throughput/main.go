// Command throughput measures, in one run on one machine, the highest rate
// each load generator sustains against one local target, and how tailgate
// and the vegeta CLI behave when offered twice their capacity. It writes
// the figures as the "Throughput" section of bench/RESULTS.md (replacing
// that section only). bench/throughput.sh installs the tools, starts nginx
// and runs it; see there.
//
// Open-loop generators (tailgate run, vegeta attack) are bisected on their
// planned rate: a rate is sustained when the generator sent at least 99% of
// the plan on time, with schedule lag p99 under 10 ms and no more than 0.1%
// errors, in one of two trials. The two searches take turns, trial by
// trial, so that both meet the same conditions on a machine shared with
// other work. Closed-loop tools (hey, wrk, a bare net/http loop) have no plan to
// keep; their figure is the best throughput over a few concurrencies.
package main

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Criteria of a sustained open-loop rate, the same as tailgate's saturation
// thresholds but stricter on the achieved share.
const (
	minAchieved = 0.99
	maxLagP99   = 10 * time.Millisecond
	maxErrors   = 0.001
)

type config struct {
	tailgate, vegeta, bareloop, hey, wrk string
	url                                  string
	trial                                time.Duration
	start                                float64
	resolution                           float64
	concurrency                          []int
	results                              string
	work                                 string
	niceness                             int
	gobench                              bool
}

func main() {
	var c config
	var conc string
	flag.StringVar(&c.tailgate, "tailgate", "tailgate", "tailgate binary")
	flag.StringVar(&c.vegeta, "vegeta", "vegeta", "vegeta CLI binary (v12.13.0)")
	flag.StringVar(&c.bareloop, "bareloop", "bareloop", "bareloop binary (bench/cmd/bareloop)")
	flag.StringVar(&c.hey, "hey", "hey", "hey binary")
	flag.StringVar(&c.wrk, "wrk", "wrk", "wrk binary")
	flag.StringVar(&c.url, "url", "http://127.0.0.1:18081/", "target URL (a tiny fixed response)")
	flag.DurationVar(&c.trial, "trial", 8*time.Second, "length of each trial")
	flag.Float64Var(&c.start, "start", 4000, "first open-loop rate tried, per second; doubled until it fails, then bisected")
	flag.Float64Var(&c.resolution, "resolution", 0.04, "bisect until the bracket is this narrow, relative")
	flag.StringVar(&conc, "concurrency", "8,32,128", "concurrencies tried for closed-loop tools")
	flag.StringVar(&c.results, "results", "bench/RESULTS.md", "file whose Throughput section is replaced")
	flag.BoolVar(&c.gobench, "gobench", true, "also run the hot-path Go benchmarks (go test -bench, from the module root)")
	flag.IntVar(&c.niceness, "niceness", 0, "the niceness the tools run at (for the record; bench/throughput.sh sets it)")
	flag.Parse()
	for _, s := range strings.Split(conc, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			fail(fmt.Errorf("-concurrency %q: want numbers like 8,32,128", conc))
		}
		c.concurrency = append(c.concurrency, n)
	}
	work, err := os.MkdirTemp("", "tailgate-throughput-")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(work)
	c.work = work

	machine := describeMachine(c)
	loadBefore := loadavg()
	began := time.Now()

	var r results
	logf("tailgate run and vegeta attack (open loop), taking turns")
	tb := newBisector("tailgate", c.start, c.resolution)
	vb := newBisector("vegeta  ", c.start, c.resolution)
	bisect(map[*bisector]func(float64) trial{tb: c.tailgateTrial, vb: c.vegetaTrial}, tb, vb)
	r.tailgate, r.tailgateTrials = tb.best(), tb.trials
	r.vegeta, r.vegetaTrials = vb.best(), vb.trials
	for _, tool := range []struct {
		name string
		run  func(int) (float64, string, error)
		best *closed
	}{
		{"bare net/http loop", c.bareTrial, &r.bare},
		{"wrk", c.wrkTrial, &r.wrk},
		{"hey", c.heyTrial, &r.hey},
	} {
		logf("%s (closed loop)", tool.name)
		for _, n := range c.concurrency {
			rate, note, err := tool.run(n)
			if err != nil {
				logf("  c=%d: %v", n, err)
				tool.best.notes = append(tool.best.notes, fmt.Sprintf("c=%d failed: %v", n, err))
				continue
			}
			logf("  c=%d: %.0f/s %s", n, rate, note)
			tool.best.all = append(tool.best.all, fmt.Sprintf("c=%d %s/s", n, thousands(rate)))
			if rate > tool.best.rate {
				tool.best.rate, tool.best.c = rate, n
			}
			if note != "" {
				tool.best.notes = append(tool.best.notes, fmt.Sprintf("c=%d: %s", n, note))
			}
		}
	}
	if r.tailgate > 0 {
		logf("tailgate run at 2× its capacity")
		r.tailgateOver = c.tailgateTrial(2 * r.tailgate)
	}
	if r.vegeta > 0 {
		logf("vegeta attack at 2× its capacity")
		r.vegetaOver = c.vegetaTrial(2 * r.vegeta)
	}
	if c.gobench {
		logf("hot-path benchmarks (go test -bench)")
		r.hot, r.hotErr = hotPath()
	}
	r.elapsed = time.Since(began)
	r.loadBefore, r.loadAfter = loadBefore, loadavg()

	section := r.markdown(c, machine)
	fmt.Print(section)
	if c.results != "" {
		if err := replaceSection(c.results, "Throughput", section); err != nil {
			fail(err)
		}
		logf("wrote the Throughput section of %s", c.results)
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "throughput: "+format+"\n", args...)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "throughput:", err)
	os.Exit(1)
}

// trial is one open-loop run at a planned rate.
type trial struct {
	Planned  float64 // per second
	Achieved float64 // per second
	Sent     int64
	Errors   int64
	LagP99   time.Duration
	Exit     int
	MaxFDs   int // open descriptors of the generator, sampled
	Verdict  string
	Err      error
}

func (t trial) pass() bool {
	return t.Err == nil && t.Achieved >= minAchieved*t.Planned && t.LagP99 < maxLagP99 &&
		float64(t.Errors) <= maxErrors*float64(max(t.Sent, 1))
}

func (t trial) String() string {
	if t.Err != nil {
		return fmt.Sprintf("%s/s: %v", thousands(t.Planned), t.Err)
	}
	verdict := "fail"
	if t.pass() {
		verdict = "pass"
	}
	return fmt.Sprintf("%s/s planned: achieved %s/s (%.1f%%), lag p99 %.2fms, errors %d of %d, max fds %d, exit %d → %s",
		thousands(t.Planned), thousands(t.Achieved), 100*t.Achieved/t.Planned, ms(t.LagP99), t.Errors, t.Sent, t.MaxFDs, t.Exit, verdict)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// bisector finds the highest planned rate that passes: doubling from the
// start rate until a trial fails, then halving the bracket. A failed trial
// is run once more: on a machine shared with other work one stall can push
// a single trial's lag p99 over the line. It is driven one trial at a time
// (rate, then record), so that two generators' searches can take turns and
// meet the same conditions.
type bisector struct {
	name       string
	resolution float64
	lo, hi     float64 // highest pass, lowest fail; 0 = none yet
	cur        float64 // the rate to try next
	retried    bool    // cur failed once already
	done       bool
	trials     []trial
}

func newBisector(name string, start, resolution float64) *bisector {
	return &bisector{name: name, resolution: resolution, cur: start}
}

// rate is the planned rate of the next trial.
func (b *bisector) rate() float64 { return math.Round(b.cur) }

// record takes the outcome of a trial at rate() and picks the next rate.
func (b *bisector) record(t trial) {
	b.trials = append(b.trials, t)
	logf("  %s %s", b.name, t)
	pass := t.pass()
	if !pass && t.Err == nil && !b.retried {
		b.retried = true
		return
	}
	b.retried = false
	if pass {
		b.lo = b.cur
	} else {
		b.hi = b.cur
	}
	switch {
	case b.hi == 0: // every rate so far passed: double
		b.cur *= 2
		b.done = b.cur > 2e6
	case b.lo == 0: // not even the lowest tried passed: halve
		b.cur /= 2
		b.done = b.cur < 100
	case (b.hi-b.lo)/b.lo <= b.resolution:
		b.done = true
	default:
		b.cur = (b.lo + b.hi) / 2
	}
}

// best is the highest rate that passed, 0 if none did.
func (b *bisector) best() float64 { return math.Round(b.lo) }

// bisect runs the searches of several generators, taking turns trial by
// trial, until each has bracketed its highest sustained rate.
func bisect(searches map[*bisector]func(rate float64) trial, order ...*bisector) {
	for {
		busy := false
		for _, b := range order {
			if b.done {
				continue
			}
			busy = true
			b.record(searches[b](b.rate()))
		}
		if !busy {
			return
		}
	}
}

// runSampled runs cmd, sampling its open file descriptors every 50ms, and
// returns stdout, the exit code and the most descriptors seen.
func runSampled(cmd *exec.Cmd) ([]byte, int, int, error) {
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		return nil, -1, 0, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	fdDir := fmt.Sprintf("/proc/%d/fd", cmd.Process.Pid)
	maxFDs := 0
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			code := cmd.ProcessState.ExitCode()
			var exitErr *exec.ExitError
			if err != nil && !errors.As(err, &exitErr) {
				return nil, code, maxFDs, err
			}
			if code == 2 || code < 0 {
				return nil, code, maxFDs, fmt.Errorf("exit %d: %s", code, strings.TrimSpace(stderr.String()))
			}
			return stdout.Bytes(), code, maxFDs, nil
		case <-tick.C:
			if ents, err := os.ReadDir(fdDir); err == nil {
				maxFDs = max(maxFDs, len(ents))
			}
		}
	}
}

func (c config) tailgateTrial(rate float64) trial {
	t := trial{Planned: rate}
	scen := filepath.Join(c.work, "throughput.yaml")
	y := fmt.Sprintf(`name: throughput
seed: 1
target: {url: %q, method: GET, timeout: 10s}
traffic:
  - constant: {rate: %.0f/s, duration: %s}
budget:
  total: {p99: 1s}
  errors: 1%%
`, c.url, rate, c.trial)
	if err := os.WriteFile(scen, []byte(y), 0o644); err != nil {
		t.Err = err
		return t
	}
	out, code, fds, err := runSampled(exec.Command(c.tailgate, "run", scen, "--format", "json"))
	t.Exit, t.MaxFDs = code, fds
	if err != nil {
		t.Err = err
		return t
	}
	var rep struct {
		Verdict  string
		Requests struct {
			Planned, Sent, Errors int64
			PlannedRate           float64 `json:"planned_rate"`
			AchievedRate          float64 `json:"achieved_rate"`
		}
		Saturation struct {
			LagP99Ms float64 `json:"lag_p99_ms"`
		}
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Err = fmt.Errorf("tailgate's JSON: %v", err)
		return t
	}
	t.Planned = rep.Requests.PlannedRate
	t.Achieved = rep.Requests.AchievedRate
	t.Sent, t.Errors = rep.Requests.Sent, rep.Requests.Errors
	t.LagP99 = time.Duration(rep.Saturation.LagP99Ms * float64(time.Millisecond))
	t.Verdict = rep.Verdict
	return t
}

func (c config) vegetaTrial(rate float64) trial {
	t := trial{Planned: rate}
	targets := filepath.Join(c.work, "targets.txt")
	bin := filepath.Join(c.work, "vegeta.bin")
	defer os.Remove(bin)
	if err := os.WriteFile(targets, []byte("GET "+c.url+"\n"), 0o644); err != nil {
		t.Err = err
		return t
	}
	// The attack writes its results to a file and nothing else runs beside
	// it: vegeta's most favourable setting (a `| vegeta report` pipe would
	// take CPU from it).
	_, code, fds, err := runSampled(exec.Command(c.vegeta, "attack", fmt.Sprintf("-rate=%.0f/1s", rate),
		"-duration="+c.trial.String(), "-targets="+targets, "-output="+bin))
	t.Exit, t.MaxFDs = code, fds
	if err != nil {
		t.Err = err
		return t
	}
	out, err := exec.Command(c.vegeta, "report", "-type=json", bin).Output()
	if err != nil {
		t.Err = fmt.Errorf("vegeta report: %v", err)
		return t
	}
	var rep struct {
		Requests int64
		Rate     float64
		Success  float64
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Err = fmt.Errorf("vegeta report's JSON: %v", err)
		return t
	}
	t.Sent = rep.Requests
	t.Errors = rep.Requests - int64(math.Round(rep.Success*float64(rep.Requests)))
	// vegeta stops at -duration whatever it sent: what it achieved is what
	// it sent over the planned duration, like tailgate's figure.
	t.Achieved = float64(rep.Requests) / c.trial.Seconds()
	t.LagP99, err = vegetaLag(c.vegeta, bin, rate)
	if err != nil {
		t.Err = err
	}
	t.Verdict = "-"
	return t
}

// vegetaLag is the p99 of how late vegeta sent each request against its own
// plan (request seq at seq/rate from the start). vegeta does not say when it
// started, so the start is taken as the one that makes the least late
// request exactly on time: the figure errs in vegeta's favour.
func vegetaLag(vegeta, bin string, rate float64) (time.Duration, error) {
	cmd := exec.Command(vegeta, "encode", "--to", "csv", bin)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	r := csv.NewReader(bufio.NewReaderSize(out, 1<<20))
	r.ReuseRecord = true
	r.FieldsPerRecord = -1
	var offsets []int64 // actual − planned offset, ns
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			cmd.Wait()
			return 0, fmt.Errorf("vegeta encode: %v", err)
		}
		if len(rec) < 9 {
			continue
		}
		ts, err1 := strconv.ParseInt(rec[0], 10, 64)
		seq, err2 := strconv.ParseInt(rec[8], 10, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		offsets = append(offsets, ts-int64(float64(seq)/rate*1e9))
	}
	if err := cmd.Wait(); err != nil {
		return 0, fmt.Errorf("vegeta encode: %v", err)
	}
	if len(offsets) == 0 {
		return 0, errors.New("vegeta recorded no results")
	}
	slices.Sort(offsets)
	first := offsets[0]
	p99 := offsets[min(len(offsets)-1, int(math.Ceil(0.99*float64(len(offsets))))-1)]
	return time.Duration(p99 - first), nil
}

var reqPerSec = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)

func (c config) heyTrial(n int) (float64, string, error) {
	out, err := exec.Command(c.hey, "-z", c.trial.String(), "-c", strconv.Itoa(n), "-disable-compression", c.url).Output()
	if err != nil {
		return 0, "", fmt.Errorf("hey: %v", err)
	}
	m := reqPerSec.FindSubmatch(out)
	if m == nil {
		return 0, "", fmt.Errorf("hey printed no Requests/sec")
	}
	rate, _ := strconv.ParseFloat(string(m[1]), 64)
	note := ""
	if bytes.Contains(out, []byte("Error distribution")) {
		note = "errors reported"
	}
	return rate, note, nil
}

func (c config) wrkTrial(n int) (float64, string, error) {
	threads := min(runtime.NumCPU(), n)
	out, err := exec.Command(c.wrk, "-t"+strconv.Itoa(threads), "-c"+strconv.Itoa(n), "-d"+c.trial.String(), c.url).Output()
	if err != nil {
		return 0, "", fmt.Errorf("wrk: %v", err)
	}
	m := reqPerSec.FindSubmatch(out)
	if m == nil {
		return 0, "", fmt.Errorf("wrk printed no Requests/sec")
	}
	rate, _ := strconv.ParseFloat(string(m[1]), 64)
	note := ""
	if i := bytes.Index(out, []byte("Non-2xx")); i >= 0 {
		note = strings.TrimSpace(string(out[i:min(len(out), i+60)]))
	}
	return rate, note, nil
}

func (c config) bareTrial(n int) (float64, string, error) {
	out, err := exec.Command(c.bareloop, "-url", c.url, "-c", strconv.Itoa(n), "-d", c.trial.String()).Output()
	if err != nil {
		return 0, "", fmt.Errorf("bareloop: %v", err)
	}
	var rep struct {
		Rate   float64
		Errors int64
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		return 0, "", fmt.Errorf("bareloop's JSON: %v", err)
	}
	note := ""
	if rep.Errors > 0 {
		note = fmt.Sprintf("%d errors", rep.Errors)
	}
	return rep.Rate, note, nil
}

// closed is the best of a closed-loop tool's runs.
type closed struct {
	rate  float64
	c     int
	all   []string
	notes []string
}

type results struct {
	tailgate, vegeta             float64
	tailgateTrials, vegetaTrials []trial
	bare, wrk, hey               closed
	tailgateOver, vegetaOver     trial
	elapsed                      time.Duration
	loadBefore, loadAfter        string
	hot                          []goBench
	hotErr                       error
}

func (r results) markdown(c config, machine []string) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("## Throughput\n\n")
	p("Measured by `bench/throughput.sh` on %s (%s in all). Target: nginx on 127.0.0.1 answering `ok\\n` (3 bytes), keep-alive, one worker process, on the same machine as the generator.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), r.elapsed.Round(time.Second))
	p("Machine:\n\n")
	for _, m := range machine {
		p("- %s\n", m)
	}
	p("- load average (1, 5, 15 min) before: %s; after: %s — other work on the machine shares its CPUs and lowers every figure\n", r.loadBefore, r.loadAfter)
	if c.niceness != 0 {
		p("- nginx and every generator ran at niceness %d, alike, so that other work on the machine skews the trials less\n", c.niceness)
	}
	p("\n")
	p("Highest sustained rate, %s trials. Open loop: the highest planned rate sent at ≥ %.0f%% of plan with schedule lag p99 < %s and ≤ %.1f%% errors (a failed trial is run once more, for both generators; the two searches take turns, trial by trial), bisected to %.0f%%. Closed loop: best throughput over concurrencies %v (no schedule, so no lag to keep).\n\n",
		c.trial, 100*minAchieved, maxLagP99, 100*maxErrors, 100*c.resolution, c.concurrency)
	p("| generator | model | max rate (req/s) | tailgate ÷ it |\n|---|---|---:|---:|\n")
	row := func(name, model string, rate float64) {
		ratio := "—"
		if rate > 0 && r.tailgate > 0 {
			ratio = fmt.Sprintf("%.2f×", r.tailgate/rate)
		}
		p("| %s | %s | %s | %s |\n", name, model, thousands(rate), ratio)
	}
	row("**tailgate run** (httptrace phases, CO-corrected histograms, tail)", "open loop", r.tailgate)
	row("vegeta attack, CLI v12.13.0 (results to a file)", "open loop", r.vegeta)
	row(fmt.Sprintf("bare Go net/http loop (`bench/cmd/bareloop`, c=%d)", r.bare.c), "closed loop", r.bare.rate)
	row(fmt.Sprintf("wrk (c=%d)", r.wrk.c), "closed loop", r.wrk.rate)
	row(fmt.Sprintf("hey (c=%d)", r.hey.c), "closed loop", r.hey.rate)
	p("\n")
	goal := func(name string, ratio, want float64) {
		met := "met"
		if ratio < want {
			met = "**not met**"
		}
		p("- tailgate ÷ %s = %.2f (goal ≥ %.1f: %s)\n", name, ratio, want, met)
	}
	if r.vegeta > 0 && r.tailgate > 0 {
		goal("vegeta CLI", r.tailgate/r.vegeta, 2)
	}
	if r.bare.rate > 0 && r.tailgate > 0 {
		goal("bare net/http loop", r.tailgate/r.bare.rate, 0.8)
	}
	p("\n### Overload: offered 2× capacity\n\n")
	p("| generator | offered (req/s) | achieved (req/s) | of capacity | lag p99 | errors | max open fds | exit | verdict |\n|---|---:|---:|---:|---:|---:|---:|---:|---|\n")
	over := func(name string, capacity float64, t trial) {
		if capacity == 0 {
			return
		}
		if t.Err != nil {
			p("| %s | %s | %v | | | | | | |\n", name, thousands(t.Planned), t.Err)
			return
		}
		p("| %s | %s | %s | %.0f%% | %.1f ms | %d | %d | %d | %s |\n", name, thousands(t.Planned), thousands(t.Achieved),
			100*t.Achieved/capacity, ms(t.LagP99), t.Errors, t.MaxFDs, t.Exit, t.Verdict)
	}
	over("tailgate run", r.tailgate, r.tailgateOver)
	over("vegeta attack", r.vegeta, r.vegetaOver)
	p("\nCapacity is the sustained rate above; achieved is what the generator sent per second over the whole run. A saturated generator can send more than it can send on time, so over 100%% is possible: it is throughput, late.\n")
	if r.tailgate > 0 {
		t := r.tailgateOver
		met := "met"
		if t.Err != nil || t.Achieved < 0.9*r.tailgate || t.Exit != 3 {
			met = "**not met**"
		}
		p("\nGoal: tailgate at 2× achieves ≥ 90%% of capacity and reports saturation (exit 3): %s.\n", met)
	}
	if len(r.hot) > 0 || r.hotErr != nil {
		p("\n### Hot path\n\n")
		allocs := map[string]int{}
		for _, b := range r.hot {
			allocs[b.name], _ = strconv.Atoi(b.allocs)
		}
		p("`go test -bench -benchmem`: what recording a result, pacing and tracing cost per request. Recording and pacing allocate nothing: a worker's pacing is `load.BenchmarkClaim` (the next request and its intended time, under the claims' lock); `scenario.BenchmarkPace` is the same walk through the schedule as vegeta's `Pacer` interface.")
		bare, okBare := allocs["load.BenchmarkInstrumentation/bare"]
		traced, okTraced := allocs["load.BenchmarkInstrumentation/traced"]
		reused, okReused := allocs["load.BenchmarkTracedReused"]
		if okBare && okTraced && okReused {
			p(" Against a bare `net/http` round trip (%d allocations, the in-process server's included), a traced request through net/http's transport with a new trace each time (`traced`) makes %d, and one as a run over HTTP/1.1 sends it (`BenchmarkTracedReused`: on tailgate's own connection, the trace released after its result and reused) makes %d.", bare, traced, reused)
		}
		p("\n\n")
		if r.hotErr != nil {
			p("Could not run them: %v\n", r.hotErr)
		}
		p("| benchmark | ns/op | B/op | allocs/op |\n|---|---:|---:|---:|\n")
		for _, b := range r.hot {
			p("| `%s` | %s | %s | %s |\n", b.name, b.ns, b.bytes, b.allocs)
		}
	}
	p("\n<details><summary>Every trial</summary>\n\n")
	for _, s := range []struct {
		name   string
		trials []trial
	}{{"tailgate run", r.tailgateTrials}, {"vegeta attack", r.vegetaTrials}} {
		p("%s:\n\n", s.name)
		for _, t := range s.trials {
			p("- %s\n", t)
		}
		p("\n")
	}
	for _, s := range []struct {
		name string
		cl   closed
	}{{"bare net/http loop", r.bare}, {"wrk", r.wrk}, {"hey", r.hey}} {
		p("%s: %s", s.name, strings.Join(s.cl.all, ", "))
		if len(s.cl.notes) > 0 {
			p(" (%s)", strings.Join(s.cl.notes, "; "))
		}
		p("\n\n")
	}
	p("</details>\n\n")
	return b.String()
}

// goBench is one line of `go test -bench -benchmem`.
type goBench struct{ name, ns, bytes, allocs string }

var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+([0-9.]+) ns/op(?:\s+.*?)?\s+(\d+) B/op\s+(\d+) allocs/op`)

// hotPath runs the benchmarks of recording, pacing and tracing.
func hotPath() ([]goBench, error) {
	var out []goBench
	for _, run := range []struct{ pkg, bench string }{
		{"./histogram", "^BenchmarkRecord$"},
		{"./scenario", "^(BenchmarkPace|BenchmarkShardPace)$"},
		{"./load", "^(BenchmarkClaim|BenchmarkInstrumentation|BenchmarkTracedReused)$"},
	} {
		cmd := exec.Command("go", "test", "-run", "^$", "-bench", run.bench, "-benchmem", run.pkg)
		text, err := cmd.CombinedOutput()
		if err != nil {
			return out, fmt.Errorf("go test %s: %v: %s", run.pkg, err, text)
		}
		for l := range strings.Lines(string(text)) {
			if m := benchLine.FindStringSubmatch(strings.TrimSpace(l)); m != nil {
				out = append(out, goBench{name: strings.TrimPrefix(run.pkg, "./") + "." + m[1], ns: m[2], bytes: m[3], allocs: m[4]})
			}
		}
	}
	return out, nil
}

func describeMachine(c config) []string {
	var out []string
	cpu := "unknown CPU"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for l := range strings.Lines(string(data)) {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	out = append(out, fmt.Sprintf("%d CPUs: %s", runtime.NumCPU(), cpu))
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		if l, _, ok := strings.Cut(string(data), "\n"); ok {
			out = append(out, "memory: "+strings.Join(strings.Fields(strings.TrimPrefix(l, "MemTotal:")), " "))
		}
	}
	if v, err := exec.Command("uname", "-sr").Output(); err == nil {
		out = append(out, "kernel: "+strings.TrimSpace(string(v)))
	}
	out = append(out, "Go: "+runtime.Version())
	version := func(name string, args ...string) string {
		v, _ := exec.Command(name, args...).CombinedOutput()
		l, _, _ := strings.Cut(strings.TrimSpace(string(v)), "\n")
		return l
	}
	out = append(out, "nginx: "+version("nginx", "-v"), "wrk: "+version(c.wrk, "-v"), "hey: Debian package "+debVersion("hey"), "vegeta: v12.13.0, built from the Go module proxy")
	return out
}

func debVersion(pkg string) string {
	v, err := exec.Command("dpkg-query", "-W", "-f=${Version}", pkg).Output()
	if err != nil {
		return "(version unknown)"
	}
	return string(v)
}

func loadavg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], ", ")
}

// thousands formats a rate with thousands separators: 123,456.
func thousands(x float64) string {
	s := strconv.FormatInt(int64(math.Round(x)), 10)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// replaceSection replaces the "## title" section of the Markdown file at
// path (up to the next level-2 heading) with section, or appends it. The
// file is read just before it is written: other sections are someone
// else's, and stay as they are.
func replaceSection(path, title, section string) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		data = []byte("# Benchmarks\n\n")
	} else if err != nil {
		return err
	}
	lines := strings.SplitAfter(string(data), "\n")
	start, end := -1, len(lines)
	for i, l := range lines {
		h := strings.TrimRight(l, "\n")
		switch {
		case start < 0 && h == "## "+title:
			start = i
		case start >= 0 && strings.HasPrefix(h, "## "):
			end = i
		}
		if start >= 0 && end < len(lines) {
			break
		}
	}
	var out string
	if start < 0 {
		out = strings.TrimRight(string(data), "\n") + "\n\n" + section
	} else {
		out = strings.Join(lines[:start], "") + section + strings.Join(lines[end:], "")
	}
	return os.WriteFile(path, []byte(out), 0o644)
}
