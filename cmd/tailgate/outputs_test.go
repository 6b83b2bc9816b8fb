package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const steadyScenario = `name: steady
target: {url: embedded}
traffic:
  - constant: {rate: 20/s, duration: 1s}
service:
  database: {fixed: 2ms}
budget:
  total: {p99: 1s}
  errors: 1%
`

const overScenario = `name: over
target: {url: embedded}
traffic:
  - constant: {rate: 20/s, duration: 1s}
service:
  database: {fixed: 20ms}
budget:
  total: {p99: 5ms}
`

// TestClosedStdoutStillWritesOut: with stdout a pipe nobody reads, the
// result cannot be printed; the artifacts are still written, the failure
// is said on stderr, and the exit code is the verdict's (2 for a pass,
// whose output is missing; 1 for a fail).
func TestClosedStdoutStillWritesOut(t *testing.T) {
	bin := tailgateBinary(t)
	dir := t.TempDir()
	for name, y := range map[string]string{"steady.yaml": steadyScenario, "over.yaml": overScenario} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(y), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		scenario string
		code     int
	}{{"steady.yaml", exitInvalid}, {"over.yaml", exitFail}} {
		for _, command := range []string{"simulate", "run"} {
			out := filepath.Join(dir, command+"-"+tc.scenario)
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			r.Close() // the reader is gone before anything is written
			var stderr bytes.Buffer
			cmd := exec.Command(bin, command, "--quiet", "--out", out, filepath.Join(dir, tc.scenario))
			cmd.Stdout, cmd.Stderr = w, &stderr
			err = cmd.Run()
			w.Close()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			name := command + " " + tc.scenario
			// A run may be judged invalid on a machine too busy to keep the
			// schedule; its code is then 3, never 0.
			if code != tc.code && !(command == "run" && code == exitNoTrust) {
				t.Errorf("%s: exit %d, want %d; stderr:\n%s", name, code, tc.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), "printing the result") || !strings.Contains(stderr.String(), "broken pipe") {
				t.Errorf("%s: stderr does not say the result could not be printed:\n%s", name, stderr.String())
			}
			for _, f := range []string{fileReportJSON, fileReportMD, fileJUnit, fileReportHTML, fileRunHlog} {
				if _, err := os.Stat(filepath.Join(out, f)); err != nil {
					t.Errorf("%s: %v", name, err)
				}
			}
		}
	}
}

// TestFullDiskKeepsTheVerdict: artifacts that cannot be written (here
// report.json and run.hlog lead to /dev/full, a disk that is always full)
// are reported, the others are written, and the exit code is the verdict's:
// an over-budget run stays 1; a pass with missing outputs is 2.
func TestFullDiskKeepsTheVerdict(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("needs /dev/full")
	}
	dir := t.TempDir()
	for name, y := range map[string]string{"steady.yaml": steadyScenario, "over.yaml": overScenario} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(y), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"simulate", "over.yaml"}, exitFail},
		{[]string{"simulate", "steady.yaml"}, exitInvalid},
		{[]string{"run", "over.yaml"}, exitFail},
		{[]string{"simulate", "--format", "json", "over.yaml"}, exitFail},
	} {
		name := strings.Join(tc.args, " ")
		out := filepath.Join(dir, strings.NewReplacer(" ", "-", ".", "-").Replace(name))
		if err := os.MkdirAll(out, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{fileReportJSON, fileRunHlog} {
			if err := os.Symlink("/dev/full", filepath.Join(out, f)); err != nil {
				t.Fatal(err)
			}
		}
		var stdout, stderr bytes.Buffer
		args := append([]string{tc.args[0], "--quiet", "--out", out}, tc.args[1:]...)
		args[len(args)-1] = filepath.Join(dir, args[len(args)-1])
		code := run(args, &stdout, &stderr)
		if code != tc.code && !(tc.args[0] == "run" && code == exitNoTrust) {
			t.Errorf("%s: exit %d, want %d; stderr:\n%s", name, code, tc.code, stderr.String())
		}
		if !strings.Contains(stderr.String(), "no space left on device") {
			t.Errorf("%s: the failed write is not reported:\n%s", name, stderr.String())
		}
		if !strings.Contains(stdout.String(), "FAIL") && !strings.Contains(stdout.String(), "PASS") && !strings.Contains(stdout.String(), `"verdict"`) {
			t.Errorf("%s: the verdict was not printed:\n%s", name, stdout.String())
		}
		for _, f := range []string{fileReportMD, fileJUnit, fileReportHTML, "total.hgrm"} {
			if _, err := os.Stat(filepath.Join(out, f)); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
	}
}

// TestOutMustBeWritable: --out where nothing can be written is invalid
// input (exit 2), found before the run starts.
func TestOutMustBeWritable(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "steady.yaml")
	if err := os.WriteFile(path, []byte(steadyScenario), 0o644); err != nil {
		t.Fatal(err)
	}
	places := []string{filepath.Join(path, "out"), "/proc/self/tailgate-out"}
	if os.Geteuid() != 0 { // root writes through permissions
		ro := filepath.Join(dir, "read-only")
		if err := os.Mkdir(ro, 0o555); err != nil {
			t.Fatal(err)
		}
		places = append(places, ro)
	}
	for _, out := range places {
		for _, command := range []string{"run", "simulate"} {
			var stdout, stderr bytes.Buffer
			if code := run([]string{command, "--quiet", "--out", out, path}, &stdout, &stderr); code != exitInvalid {
				t.Errorf("%s --out %s: exit %d, want 2; stderr:\n%s", command, out, code, stderr.String())
			}
			if !strings.Contains(stderr.String(), "--out "+out) || stdout.Len() != 0 {
				t.Errorf("%s --out %s: stdout %q, stderr %q", command, out, stdout.String(), stderr.String())
			}
		}
	}
}
