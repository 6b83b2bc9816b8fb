package embedded

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// TestGateFIFO queues waiters in a known order and checks they get the
// worker in that order.
func TestGateFIFO(t *testing.T) {
	const n = 20
	g := newGate(1, n)
	if err := g.acquire(t.Context()); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var order []int
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if err := g.acquire(t.Context()); err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
			g.release()
		})
		waitFor(t, "a waiter to queue", func() bool { return g.waiting() == i+1 })
	}
	if err := g.acquire(t.Context()); !errors.Is(err, errFull) {
		t.Errorf("acquire on a full queue: %v, want errFull", err)
	}
	g.release()
	wg.Wait()
	for i, got := range order {
		if got != i {
			t.Fatalf("order %v, want 0..%d", order, n-1)
		}
	}
	if g.busy() != 0 || g.maxQueue.Load() != n {
		t.Errorf("busy %d, max queue %d; want 0 and %d", g.busy(), g.maxQueue.Load(), n)
	}
}

// TestGateNoQueue checks that queue 0 sheds as soon as every worker is busy.
func TestGateNoQueue(t *testing.T) {
	g := newGate(2, 0)
	for range 2 {
		if err := g.acquire(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if err := g.acquire(t.Context()); !errors.Is(err, errFull) {
		t.Errorf("third acquire: %v, want errFull", err)
	}
	g.release()
	if err := g.acquire(t.Context()); err != nil {
		t.Errorf("acquire after release: %v", err)
	}
}

// TestGateCancelKeepsWorkers races cancellation against hand-over: however
// they interleave, no worker may be lost or duplicated.
func TestGateCancelKeepsWorkers(t *testing.T) {
	const workers = 3
	g := newGate(workers, 1000)
	var held, most int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range 400 {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(t.Context(), time.Duration(i%7)*100*time.Microsecond)
			defer cancel()
			if err := g.acquire(ctx); err != nil {
				return
			}
			mu.Lock()
			held++
			most = max(most, held)
			mu.Unlock()
			time.Sleep(50 * time.Microsecond)
			mu.Lock()
			held--
			mu.Unlock()
			g.release()
		})
	}
	wg.Wait()
	if most > workers {
		t.Errorf("%d held a worker at once, want ≤ %d", most, workers)
	}
	if g.busy() != 0 || g.waiting() != 0 {
		t.Errorf("busy %d, waiting %d after all left; want 0 and 0", g.busy(), g.waiting())
	}
}
