package load

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// waitUntil returns at the instant at, as soon after it as the machine
// allows, and never before; it returns false, at once, if done closes
// first. An instant already past returns true whatever done says: the
// caller asked for a moment that has come. Safe from any number of
// goroutines at once; allocates nothing; holds no OS thread while it waits.
//
// A plain time.Timer wakes up to a millisecond late on an idle process:
// with no goroutine to run, the runtime sleeps in epoll_wait, whose timeout
// is in whole milliseconds (rounded up below 1ms, truncated above, Go 1.26
// runtime/netpoll_epoll.go), so a request due 100µs from now goes out
// about 1ms from now. waitUntil parks the goroutine on such a timer, and on
// Linux also sets a timerfd, watched by the runtime's network poller, for
// the earliest instant a waiter's timer is due (wait_linux.go): its expiry
// ends the poller's sleep, and the runtime runs the timer, which is due.
// Waiters due less than kickGap after the one before (above 4,000/s) get
// no such kick: the process is still awake with the request before. The
// last stretch, about a thread's wake-up latency (wakeLate, at most half
// the gap between instants), is spent yielding (runtime.Gosched).
//
// Measured on a 2-vCPU Firecracker VM (go test -bench Wait ./load: eight
// goroutines wait on consecutive instants, as the native engine's idle
// workers do, and nothing else runs), lag p50 / p99, CPU a wait:
//
//	            2,000/s                         10,000/s
//	time.Timer  552–556µs / 1.13–1.14ms, 31–34µs  507–508µs / 1.11–1.12ms,  9µs
//	waitUntil    13–14µs  /  129–133µs,  66–69µs  438–444µs / 1.16–1.20ms, 16–17µs
//
// so 13–14% of a core at 2,000/s where the timer takes 6–7%: three thread
// switches a wait instead of one and a half (the timer wakes once a
// millisecond for two), and such a VM charges 20–30µs for each; on bare
// metal a few. At 10,000/s with nothing else to run there are no kicks and
// the process sleeps between instants: no better than the timer. Sending
// requests it stays awake: tailgate run --engine native against a loopback
// server on the same VM, three 10s runs each, lag p50 / p99 and the
// process's CPU (artifacts included), before → after:
//
//	   500/s  553–568µs / 1.11–1.13ms → 9–11µs / 117–161µs, CPU 19–23% → 16–19%
//	 2,000/s  450–467µs / 1.17–1.24ms → 13–16µs / 132–658µs, CPU 29–40% → 38–43%
//	10,000/s  115–202µs / 1.24–1.27ms → 31–48µs / 1.14–1.22ms, CPU 42–52% → 54–62%
//	30,000/s   36–43µs  / 2.0–3.8ms   → 22–36µs / 2.5–4.4ms,   CPU 76–77% → 81–83%
//
// Rejected, measured like the benchmark at 2,000/s: sleeping the last
// 1.2ms in nanosleep (37µs / 120µs with the thread's timer slack at 1ns,
// but 160µs of CPU a wait: a thread in a syscall holds its P until sysmon
// takes it back, and the runtime starts threads to replace it); spinning
// the last 1.2ms (134% of a core); a goroutine reading the timerfd and
// waking waiters by channel (80–90µs / 300µs, 100µs of CPU a wait: one
// more hand-off); a timerfd for each waiter, read directly (no fewer
// thread switches, and a file descriptor per waiter); kicks at every rate
// (at 30,000/s a settime per request took a fifth of a core and the run
// fell behind: lag p50 200µs).
func waitUntil(at time.Time, done <-chan struct{}) bool {
	if sleep := time.Until(at) - min(time.Duration(wakeLate.Load()), spinCap()); sleep > 0 {
		w := waiters.Get().(*waiter)
		defer waiters.Put(w)
		w.t.Reset(sleep)
		// The kick's instant is taken after Reset, so the timer is due
		// when the kick wakes the poller.
		w.due = time.Now().Add(sleep)
		kickAt(w)
		select {
		case <-w.t.C:
			learnWakeLate(time.Since(w.due))
			kickDone(w)
		case <-done:
			w.t.Stop()
			kickDone(w)
			return false
		}
	}
	for time.Now().Before(at) {
		runtime.Gosched()
	}
	return true
}

// wakeLate is a running median of how late a waiting goroutine runs after
// its timer's instant, in nanoseconds, at most waitSpinMax: waits set their
// timers that much early and spend the rest yielding, so the median wait
// ends on time and the spinning costs about half the spread of wake-up
// latency, whatever the machine's (40–70µs on the VM measured above).
var wakeLate atomic.Int64

// learnWakeLate moves wakeLate a microsecond toward late: a median, so a few
// wake-ups delayed by a busy machine move it little. Concurrent updates may
// lose a step, which does no harm.
func learnWakeLate(late time.Duration) {
	est := wakeLate.Load()
	if int64(late) > est {
		est += int64(time.Microsecond)
	} else {
		est -= int64(time.Microsecond)
	}
	wakeLate.Store(min(max(est, 0), int64(waitSpinMax)))
}

// waiter is one goroutine's wait in progress, pooled so a wait allocates
// nothing.
type waiter struct {
	t      *time.Timer
	due    time.Time // when t is due, at the latest: the instant to kick at
	kicked bool      // registered with the kicker; the waiting goroutine's own
	i      int       // index in the kicker's heap, under its lock
}

var waiters = sync.Pool{New: func() any {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &waiter{t: t}
}}
