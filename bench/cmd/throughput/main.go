// Command throughput measures, in one run on one machine, the highest rate
// each load generator sustains against one local target, how the open-loop
// ones behave when offered twice their capacity, and how precisely
// tailgate's engines keep to a plan well inside it. It writes the figures,
// and how they stand against tailgate's goals, as the "Throughput" section
// of bench/RESULTS.md (replacing that section only). bench/throughput.sh
// installs the tools, starts nginx and runs it; see there.
//
// Open-loop generators (the vegeta CLI, tailgate run --engine vegeta and
// --engine native) are bisected on their planned rate: a rate is sustained
// when the generator sent at least 99% of the plan on time, with schedule
// lag p99 under 10 ms and no more than 0.1% errors, in one of two trials.
// The three searches take turns, trial by trial, so that all meet the same
// conditions on a machine shared with other work. Closed-loop tools (hey,
// wrk, a bare net/http loop) have no plan to keep; their figure is the best
// throughput over a few concurrencies.
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

// Goals, each judged from the one run's figures.
const (
	goalNativeOverCLI     = 2.0 // native engine ÷ vegeta CLI
	goalNativeOverBare    = 0.9 // native engine ÷ bare net/http loop
	goalVegetaOverCLI     = 0.9 // vegeta engine, every request traced ÷ vegeta CLI
	goalOverloadSent      = 0.9 // share of capacity sent when offered twice it
	goalPrecisionRate     = 2000
	goalPrecisionLagP50   = 50 * time.Microsecond
	goalPrecisionLagP99   = 300 * time.Microsecond
	precisionRatesDefault = "500,2000,10000"
)

// engines are tailgate's engines, as --engine names them.
var engines = []string{"vegeta", "native"}

type config struct {
	tailgate, vegeta, bareloop, hey, wrk string
	url                                  string
	trial                                time.Duration
	start                                float64
	resolution                           float64
	concurrency                          []int
	precisionRates                       []float64
	results                              string
	work                                 string
	niceness                             int
	gobench                              bool
	command                              string
}

func main() {
	var c config
	var conc, precision string
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
	flag.StringVar(&precision, "precision", precisionRatesDefault, "rates, per second, at which tailgate's engines' send precision is measured (one trial each)")
	flag.StringVar(&c.results, "results", "bench/RESULTS.md", "file whose Throughput section is replaced")
	flag.BoolVar(&c.gobench, "gobench", true, "also run the hot-path Go benchmarks (go test -bench, from the module root)")
	flag.IntVar(&c.niceness, "niceness", 0, "the niceness the tools run at (for the record; bench/throughput.sh sets it)")
	flag.StringVar(&c.command, "command", "bench/throughput.sh", "the command that ran this, for the record (bench/throughput.sh sets it)")
	flag.Parse()
	for _, s := range strings.Split(conc, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			fail(fmt.Errorf("-concurrency %q: want numbers like 8,32,128", conc))
		}
		c.concurrency = append(c.concurrency, n)
	}
	for _, s := range strings.Split(precision, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		rate, err := strconv.ParseFloat(s, 64)
		if err != nil || rate <= 0 {
			fail(fmt.Errorf("-precision %q: want rates like %s", precision, precisionRatesDefault))
		}
		c.precisionRates = append(c.precisionRates, rate)
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

	r := results{
		cli: &generator{name: "vegeta CLI", about: "vegeta attack, CLI v12.13.0 (results to a file)",
			search: newBisector("vegeta CLI", c.start, c.resolution, c.vegetaTrial)},
		vegeta: &generator{name: "tailgate --engine vegeta", about: "**tailgate run --engine vegeta** (vegeta's attacker, tailgate's tracing RoundTripper over net/http)",
			search: newBisector("tailgate vegeta", c.start, c.resolution, c.engineTrial("vegeta"))},
		native: &generator{name: "tailgate --engine native", about: "**tailgate run --engine native** (own pacing, worker pool and HTTP/1.1 client)",
			search: newBisector("tailgate native", c.start, c.resolution, c.engineTrial("native"))},
	}
	logf("vegeta attack and tailgate run --engine vegeta and native (open loop), taking turns")
	var searches []*bisector
	for _, g := range r.open() {
		searches = append(searches, g.search)
	}
	bisect(searches...)
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
	for _, g := range r.open() {
		if capacity := g.search.best(); capacity > 0 {
			logf("%s at 2× its capacity", g.name)
			g.over = g.search.run(2 * capacity)
			logf("  %s", g.over)
		}
	}
	logf("send precision of tailgate's engines, taking turns")
	r.precision = c.precision()
	if c.gobench {
		logf("hot-path benchmarks (go test -bench)")
		r.hot, r.hotErr = hotPath(c.url)
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
	Engine    string  // tailgate's engine, as its report names it; "" for the vegeta CLI
	Planned   float64 // per second
	Achieved  float64 // per second
	Sent      int64
	Errors    int64
	LagP50    time.Duration // tailgate only: vegeta's own results do not say when it started
	LagP99    time.Duration
	Exit      int
	MaxFDs    int           // open descriptors of the generator, sampled
	CPU       time.Duration // the generator's user + system time
	Wall      time.Duration // from its start to its exit
	Verdict   string
	Saturated bool     // tailgate's report says it fell behind its plan
	Reasons   []string // why tailgate's verdict is invalid
	Err       error
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
	return fmt.Sprintf("%s/s planned: achieved %s/s (%.1f%%), lag p99 %.2fms, errors %d of %d, max fds %d, cpu %.0f%% of a core, exit %d → %s",
		thousands(t.Planned), thousands(t.Achieved), 100*t.Achieved/t.Planned, ms(t.LagP99), t.Errors, t.Sent, t.MaxFDs, t.cpuShare(), t.Exit, verdict)
}

// cpuShare is the generator's CPU time over its wall time, in % of one core.
func (t trial) cpuShare() float64 {
	if t.Wall <= 0 {
		return 0
	}
	return 100 * float64(t.CPU) / float64(t.Wall)
}

// lateForLag says whether tailgate judged the trial invalid because it fell
// behind its schedule (lag p99 over the saturation limit), the verdict it
// owes its user when offered more than it can send.
func (t trial) lateForLag() bool {
	return t.Err == nil && t.Verdict == "invalid" && t.Saturated && t.LagP99 >= maxLagP99
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// lag formats a schedule lag in µs below a millisecond, where send
// precision is judged, and in ms above.
func lag(d time.Duration) string {
	if d < time.Millisecond {
		return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
	}
	return fmt.Sprintf("%.1f ms", ms(d))
}

// bisector finds the highest planned rate that passes: doubling from the
// start rate until a trial fails, then halving the bracket. A failed trial
// is run once more: on a machine shared with other work one stall can push
// a single trial's lag p99 over the line. It is driven one trial at a time
// (rate, then record), so that several generators' searches can take turns
// and meet the same conditions.
type bisector struct {
	name       string
	run        func(rate float64) trial
	resolution float64
	lo, hi     float64 // highest pass, lowest fail; 0 = none yet
	cur        float64 // the rate to try next
	retried    bool    // cur failed once already
	done       bool
	trials     []trial
}

func newBisector(name string, start, resolution float64, run func(rate float64) trial) *bisector {
	return &bisector{name: name, run: run, resolution: resolution, cur: start}
}

// rate is the planned rate of the next trial.
func (b *bisector) rate() float64 { return math.Round(b.cur) }

// record takes the outcome of a trial at rate() and picks the next rate.
func (b *bisector) record(t trial) {
	b.trials = append(b.trials, t)
	logf("  %-15s %s", b.name, t)
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
func bisect(searches ...*bisector) {
	for {
		busy := false
		for _, b := range searches {
			if b.done {
				continue
			}
			busy = true
			b.record(b.run(b.rate()))
		}
		if !busy {
			return
		}
	}
}

// process is what runSampled saw of a generator's process.
type process struct {
	stdout []byte
	exit   int
	maxFDs int           // open descriptors, the most seen
	cpu    time.Duration // user + system time, from its rusage
	wall   time.Duration
}

// record copies what the process cost into t.
func (p process) record(t *trial) {
	t.Exit, t.MaxFDs, t.CPU, t.Wall = p.exit, p.maxFDs, p.cpu, p.wall
}

// runSampled runs cmd, sampling its open file descriptors every 50ms, and
// returns its stdout, exit code, the most descriptors seen and the CPU time
// it took. A usage error (exit 2) or a signal is an error.
func runSampled(cmd *exec.Cmd) (process, error) {
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	began := time.Now()
	if err := cmd.Start(); err != nil {
		return process{exit: -1}, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	fdDir := fmt.Sprintf("/proc/%d/fd", cmd.Process.Pid)
	var p process
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			p.wall = time.Since(began)
			st := cmd.ProcessState
			p.exit, p.cpu = st.ExitCode(), st.UserTime()+st.SystemTime()
			var exitErr *exec.ExitError
			if err != nil && !errors.As(err, &exitErr) {
				return p, err
			}
			if p.exit == 2 || p.exit < 0 {
				return p, fmt.Errorf("exit %d: %s", p.exit, strings.TrimSpace(stderr.String()))
			}
			p.stdout = stdout.Bytes()
			return p, nil
		case <-tick.C:
			if ents, err := os.ReadDir(fdDir); err == nil {
				p.maxFDs = max(p.maxFDs, len(ents))
			}
		}
	}
}

// engineTrial is a trial of tailgate run with engine, for a bisector.
func (c config) engineTrial(engine string) func(rate float64) trial {
	return func(rate float64) trial { return c.tailgateTrial(engine, rate) }
}

// tailgateTrial runs tailgate with engine at rate for one trial and reads
// its figures from report.json, as a user's CI would.
func (c config) tailgateTrial(engine string, rate float64) trial {
	t := trial{Engine: engine, Planned: rate}
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
	p, err := runSampled(exec.Command(c.tailgate, "run", scen, "--engine", engine, "--format", "json"))
	p.record(&t)
	if err != nil {
		t.Err = err
		return t
	}
	var rep struct {
		Engine   string
		Verdict  string
		Reasons  []string
		Requests struct {
			Planned, Sent, Errors int64
			PlannedRate           float64 `json:"planned_rate"`
			AchievedRate          float64 `json:"achieved_rate"`
		}
		Saturation struct {
			Saturated bool
			LagP50Ms  float64 `json:"lag_p50_ms"`
			LagP99Ms  float64 `json:"lag_p99_ms"`
		}
	}
	if err := json.Unmarshal(p.stdout, &rep); err != nil {
		t.Err = fmt.Errorf("tailgate's JSON: %v", err)
		return t
	}
	// A figure is only this engine's if the report says it sent the requests.
	if rep.Engine != engine {
		t.Err = fmt.Errorf("asked for --engine %s, the report names %q", engine, rep.Engine)
		return t
	}
	t.Planned = rep.Requests.PlannedRate
	t.Achieved = rep.Requests.AchievedRate
	t.Sent, t.Errors = rep.Requests.Sent, rep.Requests.Errors
	t.LagP50 = time.Duration(rep.Saturation.LagP50Ms * float64(time.Millisecond))
	t.LagP99 = time.Duration(rep.Saturation.LagP99Ms * float64(time.Millisecond))
	t.Verdict, t.Saturated, t.Reasons = rep.Verdict, rep.Saturation.Saturated, rep.Reasons
	return t
}

// precision runs each of tailgate's engines once at each precision rate,
// well inside their capacity, taking turns: how late requests go out when
// the generator is not the bottleneck, and what sending costs in CPU.
func (c config) precision() []trial {
	var out []trial
	for _, rate := range c.precisionRates {
		for _, engine := range engines {
			t := c.tailgateTrial(engine, rate)
			logf("  %-6s lag p50 %s; %s", engine, lag(t.LagP50), t)
			out = append(out, t)
		}
	}
	return out
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
	p, err := runSampled(exec.Command(c.vegeta, "attack", fmt.Sprintf("-rate=%.0f/1s", rate),
		"-duration="+c.trial.String(), "-targets="+targets, "-output="+bin))
	p.record(&t)
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

// generator is one open-loop load generator: its search for the highest
// rate it sustains, and its trial when offered twice that.
type generator struct {
	name   string // short, for goals and logs
	about  string // what it is, for the table of rates
	search *bisector
	over   trial // offered 2× capacity; zero when no rate passed
}

// capacity is the highest rate the generator sustained, 0 if none did.
func (g *generator) capacity() float64 { return g.search.best() }

type results struct {
	cli, vegeta, native   *generator // the vegeta CLI and tailgate's two engines
	bare, wrk, hey        closed
	precision             []trial
	elapsed               time.Duration
	loadBefore, loadAfter string
	hot                   []goBench
	hotErr                error
}

// open is the open-loop generators, in the order their trials take turns.
func (r results) open() []*generator { return []*generator{r.cli, r.vegeta, r.native} }

// goal is one of tailgate's goals, judged from this run's figures.
type goal struct {
	what     string
	measured string
	met      bool
}

// goals judges every goal from the one run, so that each ratio compares
// generators that met the same conditions.
func (r results) goals() []goal {
	ratio := func(what string, a, b, want float64) goal {
		if a == 0 || b == 0 {
			return goal{what: what, measured: "no figure"}
		}
		return goal{what: what, measured: fmt.Sprintf("%.2f×", a/b), met: a/b >= want}
	}
	out := []goal{
		ratio(fmt.Sprintf("tailgate --engine native ≥ %.1f× the vegeta CLI", goalNativeOverCLI), r.native.capacity(), r.cli.capacity(), goalNativeOverCLI),
		ratio(fmt.Sprintf("tailgate --engine native ≥ %.1f× the bare net/http loop", goalNativeOverBare), r.native.capacity(), r.bare.rate, goalNativeOverBare),
		ratio(fmt.Sprintf("tailgate --engine vegeta, every request traced, ≥ %.1f× the vegeta CLI", goalVegetaOverCLI), r.vegeta.capacity(), r.cli.capacity(), goalVegetaOverCLI),
	}
	for _, g := range []*generator{r.vegeta, r.native} {
		what := fmt.Sprintf("%s offered 2× its capacity sends ≥ %.0f%% of capacity, verdict invalid for its lag", g.name, 100*goalOverloadSent)
		t, capacity := g.over, g.capacity()
		switch {
		case capacity == 0:
			out = append(out, goal{what: what, measured: "no capacity found"})
		case t.Err != nil:
			out = append(out, goal{what: what, measured: t.Err.Error()})
		default:
			out = append(out, goal{what: what,
				measured: fmt.Sprintf("%.0f%% sent, %s, lag p99 %s", 100*t.Achieved/capacity, t.Verdict, lag(t.LagP99)),
				met:      t.Achieved >= goalOverloadSent*capacity && t.lateForLag()})
		}
	}
	for _, engine := range engines {
		what := fmt.Sprintf("tailgate --engine %s at %s/s: lag p50 ≤ %s, p99 ≤ %s (idle machine)",
			engine, thousands(goalPrecisionRate), lag(goalPrecisionLagP50), lag(goalPrecisionLagP99))
		g := goal{what: what, measured: "not measured"}
		for _, t := range r.precision {
			// Planned is the report's rate over the plan: the asked rate, to float noise.
			if t.Engine != engine || math.Round(t.Planned) != goalPrecisionRate {
				continue
			}
			if t.Err != nil {
				g.measured = t.Err.Error()
				break
			}
			g.measured = fmt.Sprintf("p50 %s, p99 %s", lag(t.LagP50), lag(t.LagP99))
			g.met = t.LagP50 <= goalPrecisionLagP50 && t.LagP99 <= goalPrecisionLagP99
		}
		out = append(out, g)
	}
	return out
}

func (r results) markdown(c config, machine []string) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("## Throughput\n\n")
	p("Measured by `%s` on %s (%s in all). Target: nginx on 127.0.0.1 answering `ok\\n` (3 bytes), keep-alive, one worker process, on the same machine as the generator.\n\n",
		c.command, time.Now().UTC().Format("2006-01-02 15:04 MST"), r.elapsed.Round(time.Second))
	p("Machine:\n\n")
	for _, m := range machine {
		p("- %s\n", m)
	}
	p("- load average (1, 5, 15 min) before: %s; after: %s — other work on the machine shares its CPUs and lowers every figure\n", r.loadBefore, r.loadAfter)
	if c.niceness != 0 {
		p("- nginx and every generator ran at niceness %d, alike, so that other work on the machine skews the trials less\n", c.niceness)
	}
	p("\n")
	r.rates(&b, c)
	r.goalTable(&b)
	r.overload(&b)
	r.precisionTable(&b, c)
	r.hotPathTable(&b)
	r.everyTrial(&b)
	return b.String()
}

// rates is the table of every generator's highest sustained rate.
func (r results) rates(b *strings.Builder, c config) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("Highest sustained rate, %s trials. Open loop: the highest planned rate sent at ≥ %.0f%% of plan with schedule lag p99 < %s and ≤ %.1f%% errors (a failed trial is run once more; the three searches take turns, trial by trial), bisected to %.0f%%. Closed loop: best throughput over concurrencies %v (no schedule, so no lag to keep). Both tailgate engines trace every request (httptrace phases), record coordinated-omission-corrected histograms and keep the slowest requests' phases.\n\n",
		c.trial, 100*minAchieved, maxLagP99, 100*maxErrors, 100*c.resolution, c.concurrency)
	p("| generator | model | max rate (req/s) | native ÷ it |\n|---|---|---:|---:|\n")
	native := r.native.capacity()
	row := func(name, model string, rate float64) {
		ratio := "—"
		if rate > 0 && native > 0 {
			ratio = fmt.Sprintf("%.2f×", native/rate)
		}
		p("| %s | %s | %s | %s |\n", name, model, thousands(rate), ratio)
	}
	for _, g := range []*generator{r.native, r.vegeta, r.cli} {
		row(g.about, "open loop", g.capacity())
	}
	row(fmt.Sprintf("bare Go net/http loop (`bench/cmd/bareloop`, c=%d)", r.bare.c), "closed loop", r.bare.rate)
	row(fmt.Sprintf("wrk (c=%d)", r.wrk.c), "closed loop", r.wrk.rate)
	row(fmt.Sprintf("hey (c=%d)", r.hey.c), "closed loop", r.hey.rate)
	p("\n")
}

// goalTable is each goal against this run's figures.
func (r results) goalTable(b *strings.Builder) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("### Goals\n\n| goal | this run | |\n|---|---|---|\n")
	for _, g := range r.goals() {
		met := "met"
		if !g.met {
			met = "**not met**"
		}
		p("| %s | %s | %s |\n", g.what, g.measured, met)
	}
	p("\n")
}

// overload is each open-loop generator offered twice its capacity.
func (r results) overload(b *strings.Builder) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("### Overload: offered 2× capacity\n\n")
	p("| generator | offered (req/s) | achieved (req/s) | of capacity | lag p99 | errors | max open fds | CPU, %% of a core | exit | verdict |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	var reasons []string
	for _, g := range r.open() {
		t, capacity := g.over, g.capacity()
		switch {
		case capacity == 0:
			p("| %s | no capacity found | | | | | | | | |\n", g.name)
		case t.Err != nil:
			p("| %s | %s | %v | | | | | | | |\n", g.name, thousands(t.Planned), t.Err)
		default:
			verdict := t.Verdict
			if verdict == "" {
				verdict = "— (none)"
			}
			p("| %s | %s | %s | %.0f%% | %s | %d | %d | %.0f%% | %d | %s |\n", g.name, thousands(t.Planned), thousands(t.Achieved),
				100*t.Achieved/capacity, lag(t.LagP99), t.Errors, t.MaxFDs, t.cpuShare(), t.Exit, verdict)
			for _, why := range t.Reasons {
				reasons = append(reasons, fmt.Sprintf("- %s, %s: %s\n", g.name, t.Verdict, why))
			}
		}
	}
	p("\nCapacity is the sustained rate above; achieved is what the generator sent per second over the whole run. A saturated generator can send more than it can send on time, so over 100%% is possible: it is throughput, late. The vegeta CLI gives no verdict; tailgate's says why it is invalid:\n\n")
	for _, why := range reasons {
		p("%s", why)
	}
	p("\n")
}

// precisionTable is how late tailgate's engines send, and at what CPU cost,
// at rates well inside their capacity.
func (r results) precisionTable(b *strings.Builder, c config) {
	if len(r.precision) == 0 {
		return
	}
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("### Send precision\n\n")
	p("Each tailgate engine for %s at each rate against the same nginx, taking turns. Lag is how late a request went out against its intended time (report.json `saturation.lag_p50_ms`, `lag_p99_ms`); CPU is the tailgate process's user + system time (its rusage) over its wall time, start to exit, in %% of one core.\n\n", c.trial)
	p("| engine | planned (req/s) | achieved (req/s) | lag p50 | lag p99 | CPU, %% of a core | verdict |\n|---|---:|---:|---:|---:|---:|---|\n")
	for _, t := range r.precision {
		if t.Err != nil {
			p("| %s | %s | %v | | | | |\n", t.Engine, thousands(t.Planned), t.Err)
			continue
		}
		p("| %s | %s | %s | %s | %s | %.0f%% | %s |\n", t.Engine, thousands(t.Planned), thousands(t.Achieved),
			lag(t.LagP50), lag(t.LagP99), t.cpuShare(), t.Verdict)
	}
	p("\n")
}

// hotPathTable is the Go benchmarks' table, with what each engine
// allocates per request drawn out of it.
func (r results) hotPathTable(b *strings.Builder) {
	if len(r.hot) == 0 && r.hotErr == nil {
		return
	}
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("### Hot path\n\n")
	byName := map[string]goBench{}
	for _, g := range r.hot {
		byName[g.name] = g
	}
	allocs := func(name string) (string, bool) {
		g, ok := byName[name]
		return g.allocs, ok
	}
	p("`go test -bench -benchmem`: what a run, recording a result, pacing and tracing cost per request.")
	vegeta, okVegeta := byName["load.BenchmarkEngine/vegeta"]
	native, okNative := byName["load.BenchmarkEngine/native"]
	if okVegeta && okNative {
		p(" A whole run (`load.BenchmarkEngine`: load.Run at 5,000/s against the nginx above, so no server's allocations are counted; the run's setup spread over its requests) allocates **%s times (%s B) per request on the vegeta engine and %s times (%s B) on the native engine**.",
			vegeta.allocs, vegeta.bytes, native.allocs, native.bytes)
	}
	p(" Recording and pacing allocate nothing: a worker's pacing is `load.BenchmarkClaim` (the next request and its intended time, under the claims' lock); `scenario.BenchmarkPace` is the same walk through the schedule as vegeta's `Pacer` interface.")
	bare, okBare := allocs("load.BenchmarkInstrumentation/bare")
	traced, okTraced := allocs("load.BenchmarkInstrumentation/traced")
	reused, okReused := allocs("load.BenchmarkTracedReused")
	if okBare && okTraced && okReused {
		p(" Against a bare `net/http` round trip (%s allocations, the in-process server's included), a traced request through net/http's transport with a new trace each time (`traced`) makes %s, and one as the native engine sends it (`BenchmarkTracedReused`: on tailgate's own connection, the trace released after its result and reused) makes %s.", bare, traced, reused)
	}
	p("\n\n")
	if r.hotErr != nil {
		p("Could not run them all: %v\n\n", r.hotErr)
	}
	p("| benchmark | ns/op | B/op | allocs/op |\n|---|---:|---:|---:|\n")
	for _, g := range r.hot {
		p("| `%s` | %s | %s | %s |\n", g.name, g.ns, g.bytes, g.allocs)
	}
	p("\n")
}

// everyTrial lists every trial of the run, folded.
func (r results) everyTrial(b *strings.Builder) {
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	p("<details><summary>Every trial</summary>\n\n")
	for _, g := range r.open() {
		p("%s:\n\n", g.name)
		for _, t := range g.search.trials {
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
}

// goBench is one line of `go test -bench -benchmem`.
type goBench struct{ name, ns, bytes, allocs string }

var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+([0-9.]+) ns/op(?:\s+.*?)?\s+(\d+) B/op\s+(\d+) allocs/op`)

// hotPath runs the benchmarks of recording, pacing and tracing, and of a
// whole run on each engine. The engines' run against url (nginx), so that
// their allocations per request are the engine's alone, not an in-process
// server's too.
func hotPath(url string) ([]goBench, error) {
	var out []goBench
	for _, run := range []struct{ pkg, bench string }{
		{"./histogram", "^BenchmarkRecord$"},
		{"./scenario", "^(BenchmarkPace|BenchmarkShardPace)$"},
		{"./load", "^(BenchmarkClaim|BenchmarkInstrumentation|BenchmarkTracedReused|BenchmarkEngine)$"},
	} {
		cmd := exec.Command("go", "test", "-run", "^$", "-bench", run.bench, "-benchmem", run.pkg)
		cmd.Env = append(os.Environ(), "TAILGATE_BENCH_URL="+url)
		text, err := cmd.CombinedOutput()
		if err != nil {
			return out, fmt.Errorf("go test %s: %v: %s", run.pkg, err, text)
		}
		out = append(out, parseBench(strings.TrimPrefix(run.pkg, "./"), string(text))...)
	}
	return out, nil
}

// parseBench reads the benchmark lines of pkg's `go test -bench -benchmem`
// output, whatever metrics a benchmark reports beside its own.
func parseBench(pkg, text string) []goBench {
	var out []goBench
	for l := range strings.Lines(text) {
		if m := benchLine.FindStringSubmatch(strings.TrimSpace(l)); m != nil {
			out = append(out, goBench{name: pkg + "." + m[1], ns: m[2], bytes: m[3], allocs: m[4]})
		}
	}
	return out
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
