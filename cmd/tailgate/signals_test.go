package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// syncBuffer is a buffer the signal goroutine and the test may share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestFirstSignalCancelsSecondExits(t *testing.T) {
	sigs := make(chan os.Signal, 2)
	exited := make(chan int, 1)
	var stderr syncBuffer
	ctx, stop := watchSignals(context.Background(), sigs, &stderr, func(code int) { exited <- code })
	defer stop()

	sigs <- syscall.SIGTERM
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the first signal did not end the context")
	}
	if !errors.Is(context.Cause(ctx), errInterrupted) {
		t.Errorf("cause %v", context.Cause(ctx))
	}
	select {
	case code := <-exited:
		t.Fatalf("exited with %d on the first signal", code)
	default:
	}

	sigs <- os.Interrupt
	select {
	case code := <-exited:
		if code != exitNoTrust {
			t.Errorf("exit code %d, want %d", code, exitNoTrust)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the second signal did not exit")
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "terminated: stopping") || !strings.Contains(lines[1], "interrupt again: quitting at once") {
		t.Errorf("stderr %q", stderr.String())
	}
}

// stop ends the watch whether or not a signal came.
func TestStopWithoutSignal(t *testing.T) {
	sigs := make(chan os.Signal, 2)
	ctx, stop := watchSignals(context.Background(), sigs, &syncBuffer{}, func(int) { t.Error("exited") })
	stop()
	if ctx.Err() == nil {
		t.Error("context still live after stop")
	}
	if errors.Is(context.Cause(ctx), errInterrupted) {
		t.Error("stop counted as an interruption")
	}
	sigs <- os.Interrupt // nobody listens any more: no exit
	time.Sleep(10 * time.Millisecond)
}
