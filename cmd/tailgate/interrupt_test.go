package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tailgate-dev/tailgate/load"
)

// tailgateBinary builds the command into a temporary directory, for the
// tests that signal a real process.
func tailgateBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := filepath.Join(t.TempDir(), "tailgate")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// started is a tailgate process running a command.
type started struct {
	cmd            *exec.Cmd
	stdout, stderr syncBuffer // read while the process writes
	done           chan struct{}
	err            error
	exited         time.Time
}

// start runs `tailgate run ARGS… scenario.yaml` in dir.
func start(t *testing.T, dir, scenarioYAML string, args ...string) *started {
	t.Helper()
	path := filepath.Join(dir, "scenario.yaml")
	if err := os.WriteFile(path, []byte(scenarioYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	return startArgs(t, dir, append(append([]string{"run"}, args...), path)...)
}

// startArgs runs `tailgate ARGS…` in dir.
func startArgs(t *testing.T, dir string, args ...string) *started {
	t.Helper()
	bin := tailgateBinary(t)
	p := &started{done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Dir = dir
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		p.exited = time.Now()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// wait returns the exit code, failing the test if the process outlives limit.
func (p *started) wait(t *testing.T, limit time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(limit):
		t.Fatalf("still running %v later\nstdout: %s\nstderr: %s", limit, p.stdout.String(), p.stderr.String())
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	if p.err != nil {
		t.Fatal(p.err)
	}
	return 0
}

// interrupted reads "interrupted after N of M planned requests" from the report.
var interrupted = regexp.MustCompile(`INVALID: no trustworthy verdict: interrupted after (\d+) of (\d+) planned requests`)

// slowScenario is a target whose every request takes 30s to answer.
const slowScenario = `target: {url: embedded, timeout: 60s}
traffic:
  - constant: {rate: 5/s, duration: 60s}
service:
  database: {fixed: 30s}
budget:
  total: {p99: 1s}
`

// TestInterruptReportsWhatWasMeasured: SIGINT stops a long run; what was
// sent is judged, marked partial, saved, and the exit code is 3.
func TestInterruptReportsWhatWasMeasured(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	p := start(t, dir, `name: long
target: {url: embedded}
traffic:
  - constant: {rate: 20/s, duration: 60s}
service:
  database: {fixed: 5ms}
budget:
  total: {p99: 1s}
  errors: 1%
`, "--out", out)
	time.Sleep(1500 * time.Millisecond)
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	signalled := time.Now()
	code := p.wait(t, load.DefaultDrain+10*time.Second)
	if code != exitNoTrust {
		t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, exitNoTrust, p.stdout.String(), p.stderr.String())
	}
	// The target answers in 5ms: nothing is left to drain.
	if took := p.exited.Sub(signalled); took > load.DefaultDrain {
		t.Errorf("took %v to stop after the signal, beyond the drain bound of %v", took, load.DefaultDrain)
	}
	m := interrupted.FindStringSubmatch(p.stdout.String())
	if m == nil {
		t.Fatalf("the report does not say it was interrupted:\n%s", p.stdout.String())
	}
	sent, _ := strconv.Atoi(m[1])
	if sent == 0 || m[2] != "1200" {
		t.Errorf("interrupted after %s of %s planned requests", m[1], m[2])
	}
	// Requests in flight finish: the embedded service outlives the signal.
	if strings.Contains(p.stdout.String(), "errors by class") {
		t.Errorf("requests failed because of the interruption:\n%s", p.stdout.String())
	}
	if !strings.Contains(p.stderr.String(), "tailgate: interrupt: stopping") {
		t.Errorf("stderr does not say it is stopping: %q", p.stderr.String())
	}

	// The artifacts hold what the text said.
	data, err := os.ReadFile(filepath.Join(out, "report.json"))
	if err != nil {
		t.Fatalf("no report.json after an interrupted run: %v", err)
	}
	var rep struct {
		Verdict  string `json:"verdict"`
		Partial  bool   `json:"partial"`
		Requests struct {
			Planned, Sent int
		} `json:"requests"`
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	if !rep.Partial || rep.Verdict != "invalid" || rep.Requests.Sent != sent || rep.Requests.Planned != 1200 {
		t.Errorf("report.json: partial %v, verdict %s, requests %+v; the text said %d sent", rep.Partial, rep.Verdict, rep.Requests, sent)
	}
	for _, name := range []string{"report.md", "junit.xml"} {
		if fi, err := os.Stat(filepath.Join(out, name)); err != nil || fi.Size() == 0 {
			t.Errorf("%s after an interrupted run: %v", name, err)
		}
	}
}

// TestInterruptDrainIsBounded: when requests in flight do not finish, an
// interrupted run waits the drain bound for them, then abandons them and
// still reports.
func TestInterruptDrainIsBounded(t *testing.T) {
	p := start(t, t.TempDir(), slowScenario)
	time.Sleep(time.Second)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	signalled := time.Now()
	code := p.wait(t, load.DefaultDrain+10*time.Second)
	took := p.exited.Sub(signalled)
	if code != exitNoTrust {
		t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, exitNoTrust, p.stdout.String(), p.stderr.String())
	}
	if took < load.DefaultDrain-500*time.Millisecond {
		t.Errorf("stopped %v after the signal: it did not wait for requests in flight", took)
	}
	if !interrupted.MatchString(p.stdout.String()) || !regexp.MustCompile(`errors by class:\s+\d+\s+abandoned`).MatchString(p.stdout.String()) {
		t.Errorf("report:\n%s", p.stdout.String())
	}
}

// TestSecondInterruptQuitsAtOnce: a second SIGINT does not wait for the
// drain: the process exits 3 right away, saying so.
func TestSecondInterruptQuitsAtOnce(t *testing.T) {
	p := start(t, t.TempDir(), slowScenario)
	time.Sleep(time.Second)
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	signalled := time.Now()
	code := p.wait(t, load.DefaultDrain+10*time.Second)
	if code != exitNoTrust {
		t.Fatalf("exit %d, want %d\nstderr: %s", code, exitNoTrust, p.stderr.String())
	}
	// Far below the 5s drain the first signal started.
	if took := p.exited.Sub(signalled); took > 2*time.Second {
		t.Errorf("took %v to quit after the second signal", took)
	}
	if !strings.Contains(p.stderr.String(), "tailgate: interrupt again: quitting at once") {
		t.Errorf("stderr %q", p.stderr.String())
	}
}

// longSimulation takes minutes to simulate (2,000,000 requests of 10,000
// tokens), yet is small enough for validate to simulate for its composed
// p99 rather than skip.
const longSimulation = `name: long-simulation
target: {url: embedded, stream: sse, timeout: 1m}
traffic:
  - constant: {rate: 20000/s, duration: 100s}
service:
  workers: 1000000
  tokens: 10000
  itl: {p50: 1ms, p99: 2ms}
budget:
  total: {p99: 30s}
`

// TestInterruptStopsSimulate: the first SIGINT stops a long simulation
// where it is, exit 3; a part of a plan would judge another plan, so
// nothing is printed but why.
func TestInterruptStopsSimulate(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "long.yaml"), []byte(longSimulation), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startArgs(t, dir, "simulate", "long.yaml")
	time.Sleep(time.Second)
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 10*time.Second); code != exitNoTrust {
		t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, exitNoTrust, p.stdout.String(), p.stderr.String())
	}
	if p.stdout.String() != "" {
		t.Errorf("an interrupted simulation printed:\n%s", p.stdout.String())
	}
	for _, want := range []string{"tailgate: interrupt: stopping", "tailgate: interrupted by interrupt: the simulation did not reach the end of the plan; nothing to report"} {
		if !strings.Contains(p.stderr.String(), want) {
			t.Errorf("stderr does not say %q:\n%s", want, p.stderr.String())
		}
	}
}

// TestInterruptStopsValidate: validate stops within the simulation it runs
// for the budget explained: the files described before stand, the one it
// was on is not half described, exit 3.
func TestInterruptStopsValidate(t *testing.T) {
	dir := t.TempDir()
	for name, y := range map[string]string{
		"quick.yaml": "target: {url: embedded}\ntraffic: [{constant: {rate: 10/s, duration: 1s}}]\nbudget: {total: {p99: 1s}}\n",
		"long.yaml":  longSimulation,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(y), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p := startArgs(t, dir, "validate", "quick.yaml", "long.yaml")
	time.Sleep(time.Second)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 10*time.Second); code != exitNoTrust {
		t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, exitNoTrust, p.stdout.String(), p.stderr.String())
	}
	out := p.stdout.String()
	if !strings.Contains(out, "quick.yaml: ok") || strings.Contains(out, "long.yaml") {
		t.Errorf("stdout:\n%s", out)
	}
	if !strings.Contains(p.stderr.String(), "tailgate: terminated: stopping") {
		t.Errorf("stderr %q", p.stderr.String())
	}
}

// TestInterruptStopsServe: serve runs until the first SIGINT, then stops
// serving at once, exit 3 like every interrupted command.
func TestInterruptStopsServe(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "s.yaml"), []byte("target: {url: embedded}\ntraffic: [{constant: {rate: 10/s, duration: 1s}}]\nbudget: {total: {p99: 1s}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startArgs(t, dir, "serve", "--addr", "127.0.0.1:0", "s.yaml")
	serving := regexp.MustCompile(`on (http://127\.0\.0\.1:\d+/)`)
	var m []string
	for deadline := time.Now().Add(10 * time.Second); m == nil; {
		if time.Now().After(deadline) {
			t.Fatalf("not serving 10s later\nstdout: %s\nstderr: %s", p.stdout.String(), p.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
		m = serving.FindStringSubmatch(p.stdout.String())
	}
	res, err := http.Get(m[1])
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 10*time.Second); code != exitNoTrust {
		t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, exitNoTrust, p.stdout.String(), p.stderr.String())
	}
	if _, err := http.Get(m[1]); err == nil {
		t.Error("still serving after it exited")
	}
}

// interruptOn is a writer that interrupts a command's context once the
// command has written want: a point in its work, not a moment in time.
type interruptOn struct {
	syncBuffer
	want   string
	cancel context.CancelCauseFunc
}

func (w *interruptOn) Write(p []byte) (int, error) {
	n, err := w.syncBuffer.Write(p)
	if strings.Contains(w.String(), w.want) {
		w.cancel(fmt.Errorf("%w by interrupt", errInterrupted))
	}
	return n, err
}

// TestInterruptedSweep: simulate's verdict is printed before the sweep
// starts; interrupted then, the sweep prints nothing and the command says
// it was interrupted (exit 3), the verdict above notwithstanding.
func TestInterruptedSweep(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pool.yaml")
	if err := os.WriteFile(path, []byte(`target: {url: embedded}
traffic: [{constant: {rate: 100/s, duration: 10s}}]
service: {workers: 4, queue: 100000, database: {fixed: 10ms}}
budget: {total: {p99: 50ms}}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	stdout := &interruptOn{want: "PASS", cancel: cancel}
	c := &simulateCmd{sweep: true, output: outputFlags{format: "text"}, scen: scenarioFlags{rateScale: 1}}
	err := c.Run(ctx, path, stdout, io.Discard)
	if !errors.Is(err, errInterrupted) || exitCode(err, io.Discard) != exitNoTrust {
		t.Errorf("Run = %v, want the interruption (exit 3)", err)
	}
	if out := stdout.String(); !strings.Contains(out, "PASS") || strings.Contains(out, "sweep:") {
		t.Errorf("stdout:\n%s", out)
	}
}

// TestInterruptedPlot: plot stops before it reads or draws.
func TestInterruptedPlot(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "run.hlog")
	if err := os.WriteFile(log, []byte("#tailgate header {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(fmt.Errorf("%w by interrupt", errInterrupted))
	c := &plotCmd{out: filepath.Join(dir, "plots")}
	if err := c.Run(ctx, log, io.Discard); !errors.Is(err, errInterrupted) {
		t.Errorf("Run = %v, want the interruption", err)
	}
	if _, err := os.Stat(c.out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("an interrupted plot made %s: %v", c.out, err)
	}
}
