package load

import (
	"syscall"
	"testing"
	"time"
)

// pendingKicks is how many waiters the kicker holds: none once every wait
// has returned.
func pendingKicks() int {
	k := kicks()
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.pending)
}

// processUsage is the CPU time the process has used, user and system, and
// how many times its threads have been switched out (slept or preempted).
func processUsage() (cpu time.Duration, switches int64, ok bool) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0, 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), ru.Nvcsw + ru.Nivcsw, true
}

// TestWaitKicked: a wait far from the one before it is registered with the
// kicker while it waits, and withdrawn when it is stopped.
func TestWaitKicked(t *testing.T) {
	if kicks().f == nil {
		t.Fatal("no timerfd: waits fall back to the runtime's millisecond timers")
	}
	// The wait before, as far as the kicker knows, was due now; this one
	// is an hour after it, whatever other tests waited for.
	lastDue.Store(time.Now().UnixNano())
	done := make(chan struct{})
	returned := make(chan bool, 1)
	go func() { returned <- waitUntil(time.Now().Add(time.Hour), done) }()
	for guard := time.Now().Add(time.Minute); pendingKicks() == 0; {
		if time.Now().After(guard) { // a hang guard, not a speed goal
			t.Fatal("a wait an hour away never registered with the kicker")
		}
		time.Sleep(100 * time.Microsecond)
	}
	close(done)
	if <-returned {
		t.Error("waitUntil(now+1h) = true after done closed")
	}
	if n := pendingKicks(); n != 0 {
		t.Errorf("%d waiters still pending after the wait was stopped", n)
	}
}
