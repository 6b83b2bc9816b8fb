package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
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

// started is a tailgate process running a scenario.
type started struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	done           chan struct{}
	err            error
	exited         time.Time
}

func start(t *testing.T, dir, scenarioYAML string, args ...string) *started {
	t.Helper()
	bin := tailgateBinary(t)
	path := filepath.Join(dir, "scenario.yaml")
	if err := os.WriteFile(path, []byte(scenarioYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &started{done: make(chan struct{})}
	p.cmd = exec.Command(bin, append(append([]string{"run"}, args...), path)...)
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
	if bytes.Contains(p.stdout.Bytes(), []byte("errors by class")) {
		t.Errorf("requests failed because of the interruption:\n%s", p.stdout.String())
	}
	if !bytes.Contains(p.stderr.Bytes(), []byte("tailgate: interrupt: stopping")) {
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
	if !interrupted.MatchString(p.stdout.String()) || !regexp.MustCompile(`errors by class: \d+ abandoned`).MatchString(p.stdout.String()) {
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
	if !bytes.Contains(p.stderr.Bytes(), []byte("tailgate: interrupt again: quitting at once")) {
		t.Errorf("stderr %q", p.stderr.String())
	}
}
