package load

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// The watchdog ends a request only past its deadline, with errTimeout; a
// request that ended is never cancelled by a late look.
func TestWatchdogTimeout(t *testing.T) {
	w := newWatchdog(50 * time.Millisecond)
	start := time.Now()
	late, _, dLate := w.begin(context.Background(), start, nil)
	fresh, cancelFresh, dFresh := w.begin(context.Background(), start.Add(time.Hour), nil)
	defer cancelFresh(nil)
	defer w.end(dFresh)

	w.cancel(start.Add(49*time.Millisecond).UnixNano(), errTimeout)
	if late.Err() != nil {
		t.Fatal("cancelled before its deadline")
	}
	w.cancel(start.Add(50*time.Millisecond).UnixNano(), errTimeout)
	if !errors.Is(context.Cause(late), errTimeout) || Classify(context.Cause(late)) != ClassTimeout {
		t.Errorf("at its deadline: cause %v, want the timeout", context.Cause(late))
	}
	if fresh.Err() != nil {
		t.Error("a request with an hour to go was cancelled")
	}

	// A request that ended is out of the list: a later look cannot reach it.
	w.end(dLate)
	w.end(dLate) // twice is harmless
	ended, cancelEnded, dEnded := w.begin(context.Background(), start, nil)
	defer cancelEnded(nil)
	w.end(dEnded)
	w.cancel(start.Add(time.Second).UnixNano(), errTimeout)
	if ended.Err() != nil {
		t.Error("a request that had ended was cancelled")
	}
	if n := w.len(); n != 1 {
		t.Errorf("%d requests in flight, want 1", n)
	}
}

// run ends an overdue request within a period or so of its deadline.
func TestWatchdogRun(t *testing.T) {
	w := newWatchdog(20 * time.Millisecond)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { w.run(stop) })
	defer func() { close(stop); wg.Wait() }()
	start := time.Now()
	ctx, cancel, d := w.begin(context.Background(), start, nil)
	defer cancel(nil)
	defer w.end(d)
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("an overdue request was not ended")
	}
	if took := time.Since(start); took < 20*time.Millisecond {
		t.Errorf("ended after %v, before its 20ms timeout", took)
	}
	if !errors.Is(context.Cause(ctx), errTimeout) {
		t.Errorf("cause %v, want the timeout", context.Cause(ctx))
	}
}

// abandon ends every request in flight, and any begun after it.
func TestWatchdogAbandon(t *testing.T) {
	w := newWatchdog(time.Hour)
	var ctxs []context.Context
	for range 3 {
		ctx, cancel, d := w.begin(context.Background(), time.Now(), nil)
		defer cancel(nil)
		defer w.end(d)
		ctxs = append(ctxs, ctx)
	}
	w.abandon()
	after, cancel, d := w.begin(context.Background(), time.Now(), nil)
	defer cancel(nil)
	defer w.end(d)
	for i, ctx := range append(ctxs, after) {
		if c := context.Cause(ctx); !errors.Is(c, errAbandoned) || Classify(c) != ClassAbandoned {
			t.Errorf("request %d: cause %v, want abandoned", i, c)
		}
	}
}

// Entries live per request: many requests from many goroutines, begun and
// ended concurrently, leave the list empty.
func TestWatchdogLeavesNothingBehind(t *testing.T) {
	w := newWatchdog(time.Hour)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for range 500 {
				_, cancel, d := w.begin(context.Background(), time.Now(), nil)
				w.end(d)
				cancel(nil)
			}
		})
	}
	wg.Go(func() {
		for range 200 {
			w.cancel(time.Now().UnixNano(), errTimeout)
		}
	})
	wg.Wait()
	if n := w.len(); n != 0 {
		t.Errorf("%d entries left after every request ended", n)
	}
}
