package load

import (
	"container/heap"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// waitSpinMax bounds the stretch a wait spends yielding, above a VM's
// typical wake-up latency: a loaded machine, whose threads wake late, must
// not turn waiting into spinning.
const waitSpinMax = 100 * time.Microsecond

// kickGap is the least gap between consecutive waiters' instants for which
// the later one gets a kick: below 4,000 requests/s. A kick costs a
// timerfd_settime (7µs on a VM, whose timer hardware is emulated) and a
// thread woken; a waiter due sooner after the one before finds the process
// still awake with the request before, whose scheduler runs timers on
// time, and a short spin does the rest. With kicks at every rate, a
// 30,000/s run spent a fifth of a core in timerfd_settime and fell behind.
const kickGap = 250 * time.Microsecond

// spinCap limits the spin to half the latest gap between consecutive
// waiters' instants, and to waitSpinMax; a dense schedule (gaps under
// kickGap) does not spin at all. There the process is awake with the
// requests before, and a spin of half the gap would hold a CPU half the
// time: at 20,000/s it cost vegeta's pacer goroutine half a core of the
// two it shared with its target, and the vegeta engine a tenth of its
// highest sustained rate (bench/RESULTS.md).
func spinCap() time.Duration {
	switch gap := lastGap.Load(); {
	case gap <= 0:
		return waitSpinMax
	case gap < int64(kickGap):
		return 0
	default:
		return min(waitSpinMax, time.Duration(gap)/2)
	}
}

// lastDue is the instant of the waiter registered last (Unix ns: a gap
// estimate survives a wall-clock step, once wrong); lastGap is the gap
// between it and the one before, in nanoseconds, at least 1; 0 until known.
var lastDue, lastGap atomic.Int64

// kicker keeps a timerfd set for the earliest instant a kicked waiter's
// timer is due. The fd is registered with the runtime's network poller
// (os.NewFile of a non-blocking fd) and never read: its expiry alone ends
// the poller's epoll_wait, which then runs the timers due, instead of
// sleeping to the next whole millisecond.
type kicker struct {
	mu      sync.Mutex
	f       *os.File  // owns the timerfd; nil when the system has none
	fd      uintptr   // f's, kept apart: f.Fd() would make it blocking
	armed   time.Time // the instant the timerfd is set for; zero when unset
	pending waitHeap  // kicked waiters not yet returned, earliest first
}

var kicks = sync.OnceValue(func() *kicker {
	k := &kicker{}
	const tfdNonblock, tfdCloexec = syscall.O_NONBLOCK, syscall.O_CLOEXEC
	fd, _, errno := syscall.RawSyscall(syscall.SYS_TIMERFD_CREATE, clockMonotonic, tfdNonblock|tfdCloexec, 0)
	if errno == 0 {
		// The file holds the fd for the life of the process.
		k.f, k.fd = os.NewFile(fd, "tailgate-kick"), fd
	}
	return k
})

// clockMonotonic is the clock of the runtime's timers (CLOCK_MONOTONIC), so
// a timerfd due at or after a timer finds it due.
const clockMonotonic = 1

// kickAt makes sure the poller wakes by w.due, unless w follows the waiter
// registered before it within kickGap.
func kickAt(w *waiter) {
	due := w.due.UnixNano()
	gap := due - lastDue.Swap(due)
	if gap < 0 {
		gap = -gap // registered out of order: still the spacing
	}
	lastGap.Store(max(gap, 1))
	k := kicks()
	if k.f == nil || gap < int64(kickGap) {
		return
	}
	w.kicked = true
	k.mu.Lock()
	heap.Push(&k.pending, w)
	if w.i == 0 {
		k.arm(w.due)
	}
	k.mu.Unlock()
}

// kickDone withdraws w, woken or abandoned, and sets the timerfd for the
// next kicked waiter; at once if it is due already, as the poller may have
// gone back to sleep, rounding its timeout up to a millisecond, before that
// waiter's timer was due.
func kickDone(w *waiter) {
	if !w.kicked {
		return
	}
	w.kicked = false
	k := kicks()
	k.mu.Lock()
	defer k.mu.Unlock()
	heap.Remove(&k.pending, w.i)
	switch {
	case len(k.pending) > 0:
		if next := k.pending[0].due; !next.Equal(k.armed) {
			k.arm(next)
		}
	case k.armed.After(time.Now()):
		k.arm(time.Time{}) // its waiter left early: no wake-up for nobody
	}
}

// arm sets the timerfd to expire at at, or unsets it for the zero time.
// Relative, as the runtime's timers are: the kernel adds the delay to a
// reading of the clock taken after the caller's, so the expiry is never
// before at.
func (k *kicker) arm(at time.Time) {
	var spec struct{ interval, value syscall.Timespec }
	if !at.IsZero() {
		spec.value = syscall.NsecToTimespec(max(int64(time.Until(at)), 1)) // 0 would unset it
	}
	const timerfdSettime = syscall.SYS_TIMERFD_SETTIME
	syscall.RawSyscall6(timerfdSettime, k.fd, 0, uintptr(unsafe.Pointer(&spec)), 0, 0, 0)
	k.armed = at
}

// waitHeap orders waiters by due instant, for container/heap.
type waitHeap []*waiter

func (h waitHeap) Len() int           { return len(h) }
func (h waitHeap) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h waitHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].i, h[j].i = i, j
}
func (h *waitHeap) Push(x any) {
	w := x.(*waiter)
	w.i = len(*h)
	*h = append(*h, w)
}
func (h *waitHeap) Pop() any {
	old := *h
	w := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	w.i = -1
	return w
}
