package load

import (
	"context"
	"io"
	"os/exec"
	"testing"
	"time"
)

// startScript starts script, a test server written in another language,
// with interpreter (python3, node) and args, and returns its stdout and
// what it wrote to stderr so far. The test skips when the interpreter is
// not installed. At cleanup the server's stdin closes, on which it exits
// (killed after 5 s if it does not), and its stderr is logged if the test
// failed.
func startScript(t *testing.T, interpreter, script string, args ...string) (io.Reader, *indStderr) {
	t.Helper()
	bin, err := exec.LookPath(interpreter)
	if err != nil {
		t.Skipf("%s not on PATH: skipping the check against %s, a server not written in Go", interpreter, script)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, append([]string{script}, args...)...)
	cmd.WaitDelay = 5 * time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	stderr := &indStderr{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close() // EOF: the server exits by itself
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Logf("%s did not exit on stdin EOF; killing it", script)
			cancel()
			<-done
		}
		cancel()
		if s := stderr.String(); t.Failed() && s != "" {
			t.Logf("%s stderr:\n%s", script, s)
		}
	})
	return stdout, stderr
}
