//go:build unix

package scenario

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestReadFileRefusesWhatIsNotAFile: a named pipe no one writes to, a
// device that never ends and a socket are refused at once, never read.
func TestReadFileRefusesWhatIsNotAFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	sock := filepath.Join(dir, "sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cases := []struct{ path, msg string }{
		{fifo, fifo + " is a named pipe (FIFO), not a regular file"},
		{sock, sock + " is a socket, not a regular file"},
	}
	if _, err := os.Stat("/dev/zero"); err == nil {
		cases = append(cases, struct{ path, msg string }{"/dev/zero", "/dev/zero is a character device, not a regular file"})
	}
	for _, c := range cases {
		done := make(chan error, 1)
		go func() {
			_, err := ReadFile(c.path, "data file")
			done <- err
		}()
		select {
		case err := <-done:
			if !errors.Is(err, ErrNotRegular) || err.Error() != c.msg {
				t.Errorf("ReadFile(%s) = %v, want %q", c.path, err, c.msg)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("ReadFile(%s) still reading after 10s", c.path)
		}
	}

	// As the scenario itself, and as its body_file, positioned.
	_, err = Load(fifo)
	if err == nil || err.Error() != fifo+": is a named pipe (FIFO), not a regular file" {
		t.Errorf("Load(fifo) = %v", err)
	}
	_, err = Parse(filepath.Join(dir, "s.yaml"), []byte("target: {url: embedded, body_file: fifo}\n"+okRest))
	wantProblem(t, err, 1, 36, "target.body_file", fifo+" is a named pipe (FIFO), not a regular file")
	if _, err := os.Stat("/dev/zero"); err == nil {
		_, err = Parse("s.yaml", []byte("target:\n  url: embedded\n  body_file: /dev/zero\n"+okRest))
		wantProblem(t, err, 3, 14, "target.body_file", "/dev/zero is a character device, not a regular file")
		if err != nil && strings.Count(err.Error(), "/dev/zero") != 2 { // the message and the quoted line
			t.Errorf("%q", err)
		}
	}
}
