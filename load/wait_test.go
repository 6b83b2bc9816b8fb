package load

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestWaitNeverEarly: a wait returns true, and not before its instant, for
// instants past, present, inside the spin, and either side of the
// millisecond a plain timer rounds to.
func TestWaitNeverEarly(t *testing.T) {
	offsets := []time.Duration{
		-time.Millisecond, 0, time.Microsecond, waitSpinMax / 2, waitSpinMax, waitSpinMax + time.Microsecond,
		100 * time.Microsecond, 999 * time.Microsecond, time.Millisecond, 1500 * time.Microsecond, 3 * time.Millisecond,
	}
	for range 5 {
		for _, off := range offsets {
			at := time.Now().Add(off)
			if !waitUntil(at, nil) {
				t.Errorf("waitUntil(now%+v, nil) = false with no done channel", off)
			}
			if now := time.Now(); now.Before(at) {
				t.Errorf("waitUntil(now%+v) returned %v before its instant", off, at.Sub(now))
			}
		}
	}
	if n := pendingKicks(); n != 0 {
		t.Errorf("%d waiters still pending after every wait returned", n)
	}
}

// TestWaitConcurrent: hundreds of goroutines wait on consecutive instants,
// as the native engine's idle workers do, 10µs apart (too close for kicks)
// and 300µs apart (each kicked); a third of them may be stopped halfway
// through. Nobody returns early, a stopped wait returns false only once
// its done has closed, and no waiter is left pending.
func TestWaitConcurrent(t *testing.T) {
	for _, c := range []struct {
		goroutines, each int
		step             time.Duration
	}{{200, 10, 10 * time.Microsecond}, {50, 4, 300 * time.Microsecond}} {
		t.Run(c.step.String(), func(t *testing.T) {
			start := time.Now().Add(time.Millisecond)
			stop := make(chan struct{})
			stopAt := start.Add(time.Duration(c.goroutines*c.each) * c.step / 2)
			stopper := time.AfterFunc(time.Until(stopAt), func() { close(stop) })
			defer stopper.Stop()

			var next atomic.Int64
			var early, falseEarly, stopped atomic.Int64
			var wg sync.WaitGroup
			for g := range c.goroutines {
				var done <-chan struct{}
				if g%3 == 0 {
					done = stop
				}
				wg.Go(func() {
					for range c.each {
						at := start.Add(time.Duration(next.Add(1)-1) * c.step)
						ok := waitUntil(at, done)
						now := time.Now()
						switch {
						case ok && now.Before(at):
							early.Add(1)
						case !ok && now.Before(stopAt):
							falseEarly.Add(1)
						case !ok:
							stopped.Add(1)
						}
					}
				})
			}
			wg.Wait()
			if n := early.Load(); n > 0 {
				t.Errorf("%d waits returned true before their instant", n)
			}
			if n := falseEarly.Load(); n > 0 {
				t.Errorf("%d waits returned false before their done closed", n)
			}
			if n := pendingKicks(); n != 0 {
				t.Errorf("%d waiters still pending after every wait returned", n)
			}
			t.Logf("%d of %d waits stopped", stopped.Load(), c.goroutines*c.each)
		})
	}
}

// TestWaitDone: a wait for an instant an hour away returns false when done
// closes, and a wait whose done is already closed returns false at once
// unless its instant has passed.
func TestWaitDone(t *testing.T) {
	done := make(chan struct{})
	returned := make(chan bool, 1)
	go func() { returned <- waitUntil(time.Now().Add(time.Hour), done) }()
	time.Sleep(10 * time.Millisecond)
	close(done)
	select {
	case ok := <-returned:
		if ok {
			t.Error("waitUntil(now+1h) = true after done closed")
		}
	case <-time.After(time.Minute): // a hang guard, not a speed goal
		t.Fatal("waitUntil(now+1h) still waiting a minute after done closed")
	}
	if waitUntil(time.Now().Add(time.Hour), done) {
		t.Error("waitUntil(now+1h) = true with done already closed")
	}
	if !waitUntil(time.Now().Add(-time.Second), done) {
		t.Error("waitUntil(a second ago) = false with done closed; an instant past has come")
	}
	if n := pendingKicks(); n != 0 {
		t.Errorf("%d waiters still pending after every wait returned", n)
	}
}

// TestWaitAllocs: a wait allocates nothing, whether it runs to its instant
// (close behind the one before, or far enough to be kicked) or is stopped.
func TestWaitAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop what is put back")
	}
	open, closed := make(chan struct{}), make(chan struct{})
	close(closed)
	for _, c := range []struct {
		name string
		in   time.Duration
		done chan struct{}
	}{
		{"close behind the one before", 50 * time.Microsecond, open},
		{"kicked", 400 * time.Microsecond, open},
		{"stopped", time.Hour, closed},
	} {
		allocs := testing.AllocsPerRun(100, func() {
			waitUntil(time.Now().Add(c.in), c.done)
		})
		if allocs != 0 {
			t.Errorf("a wait %s allocates %v times", c.name, allocs)
		}
	}
}

// BenchmarkWait: eight goroutines wait on consecutive instants spaced for
// 2,000/s and 10,000/s, as the native engine's idle workers do, with a
// plain time.Timer (the engine's former wait) and with waitUntil. Reports
// lateness (lag-p50-µs, lag-p99-µs) and the process's CPU time per wait
// (cpu-µs/wait) and as a share of one core (cpu-%core), and how often its
// threads were switched out (switches/wait, mostly going to sleep, so about
// the thread wake-ups a wait costs): what waiting costs, the goroutines
// doing nothing else. For waitUntil also the stretch it has learnt to spend
// yielding (spin-µs, the median wake-up latency).
func BenchmarkWait(b *testing.B) {
	timerWait := func() func(time.Time) {
		t := time.NewTimer(time.Hour)
		t.Stop()
		return func(at time.Time) {
			if wait := time.Until(at); wait > 0 {
				t.Reset(wait)
				<-t.C
			}
		}
	}
	preciseWait := func() func(time.Time) {
		return func(at time.Time) { waitUntil(at, nil) }
	}
	for _, rate := range []int{2000, 10000} {
		b.Run(fmt.Sprintf("timer/%d", rate), func(b *testing.B) { benchWait(b, rate, timerWait) })
		b.Run(fmt.Sprintf("waitUntil/%d", rate), func(b *testing.B) {
			benchWait(b, rate, preciseWait)
			b.ReportMetric(float64(wakeLate.Load())/float64(time.Microsecond), "spin-µs")
		})
	}
}

func benchWait(b *testing.B, perSecond int, newWait func() func(time.Time)) {
	const goroutines = 8
	interval := time.Second / time.Duration(perSecond)
	late := make([]time.Duration, b.N)
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now().Add(time.Millisecond)
	cpu0, sw0, usageOK := processUsage()
	b.ResetTimer()
	for range goroutines {
		wait := newWait()
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				at := start.Add(time.Duration(i) * interval)
				wait(at)
				late[i] = time.Since(at)
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	wall := time.Since(start)
	cpu1, sw1, _ := processUsage()
	slices.Sort(late)
	µs := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	b.ReportMetric(µs(late[len(late)/2]), "lag-p50-µs")
	b.ReportMetric(µs(late[len(late)*99/100]), "lag-p99-µs")
	if usageOK {
		b.ReportMetric(µs(cpu1-cpu0)/float64(b.N), "cpu-µs/wait")
		b.ReportMetric(100*float64(cpu1-cpu0)/float64(wall), "cpu-%core")
		b.ReportMetric(float64(sw1-sw0)/float64(b.N), "switches/wait")
	}
}
