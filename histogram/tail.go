package histogram

import (
	"cmp"
	"container/heap"
	"slices"
	"time"
)

// Part is the time one phase took within a request: "connect", "tls",
// "server-timing:db", "ttft", "streaming", "lag" …
type Part struct {
	Name string
	D    time.Duration
}

// Slow is one of the slowest requests: its total and where it went.
type Slow struct {
	Total time.Duration
	Parts []Part
}

// Tail keeps the k slowest requests with their phases — a bounded set, so
// memory stays flat however long the run — to say where the tail's time went.
type Tail struct {
	k    int
	slow slowHeap
}

// NewTail keeps the k slowest requests (at least one).
func NewTail(k int) *Tail { return &Tail{k: max(k, 1)} }

// TailSize is how many requests stand for "the slowest 1%" of planned
// requests: 1%, at least 1, at most 10,000.
func TailSize(planned int64) int {
	return int(min(max((planned+99)/100, 1), 10_000))
}

// Offer considers one request. parts is copied only when the request is
// among the slowest, so callers may reuse it.
func (t *Tail) Offer(total time.Duration, parts []Part) {
	if len(t.slow) >= t.k {
		if total <= t.slow[0].Total {
			return
		}
		// Take the place of the fastest kept request, reusing its parts'
		// memory: when latency climbs (an overloaded target) every request
		// enters the tail, and this is then on the hot path.
		s := &t.slow[0]
		s.Total, s.Parts = total, append(s.Parts[:0], parts...)
		heap.Fix(&t.slow, 0)
		return
	}
	heap.Push(&t.slow, Slow{Total: total, Parts: slices.Clone(parts)})
}

// Len is the number of requests kept.
func (t *Tail) Len() int { return len(t.slow) }

// Merge offers every request other kept.
func (t *Tail) Merge(other *Tail) {
	for _, s := range other.slow {
		t.Offer(s.Total, s.Parts)
	}
}

// Share is the fraction of the tail's time one phase took.
type Share struct {
	Name     string
	Fraction float64
}

// Attribution sums the phases of the kept requests and returns each one's
// share of their total time, largest first.
func (t *Tail) Attribution() []Share {
	sums := map[string]time.Duration{}
	var total time.Duration
	for _, s := range t.slow {
		for _, p := range s.Parts {
			sums[p.Name] += p.D
			total += p.D
		}
	}
	if total <= 0 {
		return nil
	}
	out := make([]Share, 0, len(sums))
	for name, d := range sums {
		if d > 0 {
			out = append(out, Share{Name: name, Fraction: float64(d) / float64(total)})
		}
	}
	slices.SortFunc(out, func(a, b Share) int {
		return cmp.Or(cmp.Compare(b.Fraction, a.Fraction), cmp.Compare(a.Name, b.Name))
	})
	return out
}

// Slowest returns the kept requests, slowest first.
func (t *Tail) Slowest() []Slow {
	out := slices.Clone([]Slow(t.slow))
	slices.SortFunc(out, func(a, b Slow) int { return cmp.Compare(b.Total, a.Total) })
	return out
}

// slowHeap is a min-heap on Total: the root is the fastest of the slow,
// the first to leave when a slower request arrives.
type slowHeap []Slow

func (h slowHeap) Len() int           { return len(h) }
func (h slowHeap) Less(i, j int) bool { return h[i].Total < h[j].Total }
func (h slowHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *slowHeap) Push(x any)        { *h = append(*h, x.(Slow)) }
func (h *slowHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// Floor is the total a request must exceed to enter a full tail; -1
// while the tail has room. Callers check it before building parts.
func (t *Tail) Floor() time.Duration {
	if len(t.slow) < t.k {
		return -1
	}
	return t.slow[0].Total
}
