package load

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// The watchdog ends a request only past its deadline, with errTimeout; a
// request that ended is never cancelled by a late look at its slot.
func TestWatchdogTimeout(t *testing.T) {
	w := newWatchdog(50 * time.Millisecond)
	s1, s2 := w.slot(), w.slot()
	start := time.Now()
	late, _ := w.begin(s1, context.Background(), start, nil)
	fresh, cancelFresh := w.begin(s2, context.Background(), start.Add(time.Hour), nil)
	defer cancelFresh(nil)

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

	// The slot's next request is not touched by the deadline of the last.
	s1.end()
	next, cancelNext := w.begin(s1, context.Background(), start.Add(time.Hour), nil)
	defer cancelNext(nil)
	w.cancel(start.Add(time.Second).UnixNano(), errTimeout)
	if next.Err() != nil {
		t.Error("the slot's next request was cancelled by the last one's deadline")
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
	ctx, cancel := w.begin(w.slot(), context.Background(), start, nil)
	defer cancel(nil)
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
		ctx, cancel := w.begin(w.slot(), context.Background(), time.Now(), nil)
		defer cancel(nil)
		ctxs = append(ctxs, ctx)
	}
	w.abandon()
	after, cancel := w.begin(w.slot(), context.Background(), time.Now(), nil)
	defer cancel(nil)
	for i, ctx := range append(ctxs, after) {
		if c := context.Cause(ctx); !errors.Is(c, errAbandoned) || Classify(c) != ClassAbandoned {
			t.Errorf("request %d: cause %v, want abandoned", i, c)
		}
	}
}
