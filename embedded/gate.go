package embedded

import (
	"container/list"
	"context"
	"errors"
	"sync"
	"sync/atomic"
)

// errFull means every worker was busy and the queue was full: the request is
// shed without waiting.
var errFull = errors.New("all workers busy and queue full")

// gate admits requests to a fixed number of workers, first come first served.
//
// A mutex and an explicit list of waiters is used rather than a buffered
// channel semaphore: the runtime does queue blocked senders in order, but
// that is not a documented guarantee, and a channel cannot say how many are
// waiting (needed to shed at the queue limit) or hand a worker straight to
// the oldest waiter. Here release passes the worker to the head of the list,
// so a newcomer can never overtake someone who is already waiting.
type gate struct {
	mu sync.Mutex
	// idle counts workers nobody holds; it is above zero only while no one
	// waits, because release hands a worker to a waiter before freeing it.
	idle    int
	workers int       // workers in all
	limit   int       // most requests allowed to wait
	queue   list.List // of *waiter, oldest first

	maxQueue atomic.Int64 // most requests that ever waited at once
}

// waiter is one request waiting for a worker.
type waiter struct {
	ready chan struct{} // closed when a worker is handed over
	elem  *list.Element // nil once handed over; guarded by gate.mu
}

// newGate returns a gate for workers workers and at most queue waiters.
func newGate(workers, queue int) *gate {
	return &gate{idle: workers, workers: workers, limit: queue}
}

// acquire takes a worker, waiting in line if all are busy. It returns errFull
// at once when the line is full, and ctx.Err() if ctx ends while waiting, in
// which case the request has left the line. On nil the caller must release.
func (g *gate) acquire(ctx context.Context) error {
	g.mu.Lock()
	if g.idle > 0 {
		g.idle--
		g.mu.Unlock()
		return nil
	}
	if g.queue.Len() >= g.limit {
		g.mu.Unlock()
		return errFull
	}
	w := &waiter{ready: make(chan struct{})}
	w.elem = g.queue.PushBack(w)
	if n := int64(g.queue.Len()); n > g.maxQueue.Load() {
		g.maxQueue.Store(n) // only ever written under mu, so Load+Store is safe
	}
	g.mu.Unlock()

	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
	}
	g.mu.Lock()
	handed := w.elem == nil
	if !handed {
		g.queue.Remove(w.elem)
	}
	g.mu.Unlock()
	if handed {
		// A worker arrived just as ctx ended; pass it on rather than lose it.
		g.release()
	}
	return ctx.Err()
}

// release gives a worker back: to the oldest waiter if there is one.
func (g *gate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	front := g.queue.Front()
	if front == nil {
		g.idle++
		return
	}
	w := g.queue.Remove(front).(*waiter)
	w.elem = nil
	close(w.ready)
}

// waiting returns how many requests are waiting now.
func (g *gate) waiting() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.queue.Len()
}

// busy returns how many workers are held now.
func (g *gate) busy() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.workers - g.idle
}
