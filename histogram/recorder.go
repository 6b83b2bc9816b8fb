// Package histogram owns tailgate's measurements: one HDR histogram per
// measured source (microseconds, 3 significant digits) and a run's counts.
package histogram

import (
	"maps"
	"math/bits"
	"slices"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram bounds. Values are microseconds: 1µs is the smallest step a
// latency budget cares about, an hour is longer than any request timeout.
const (
	LowestUS  = 1
	HighestUS = int64(time.Hour / time.Microsecond)
	SigFigs   = 3
)

// Sources recorded beside the budget sources: the total of requests that
// opened a connection (cold) and of those that reused one (warm), for
// handshake amplification.
const (
	SourceTotalCold = "total:cold"
	SourceTotalWarm = "total:warm"
)

// NewHistogram returns an empty histogram with tailgate's bounds.
func NewHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(LowestUS, HighestUS, SigFigs)
}

// Recorder holds a run's histograms, one per source ("total", "connect",
// "server-timing:db", …), and its counts. It is not safe for concurrent
// use: one goroutine records, which keeps the hot path free of locks.
type Recorder struct {
	hists  map[string]*hdrhistogram.Histogram
	Counts Counts
	// Tail keeps the slowest requests with their phases.
	Tail *Tail

	// interval holds this interval's samples per source when intervals are
	// kept (KeepIntervals), for interval logs and latency over time.
	interval map[string]*hdrhistogram.Histogram
}

// Counts are what a run did with its requests.
type Counts struct {
	Sent           int64            // requests the generator sent
	OK             int64            // 2xx and 3xx responses
	Errors         int64            // everything else
	ByClass        map[string]int64 // errors by class ("http 5xx", "timeout", "refused", …)
	NewConnections int64            // requests that opened a connection
	Clamped        int64            // samples above HighestUS, recorded as HighestUS
	DroppedMetrics int64            // Server-Timing samples of names beyond the bound on distinct names
	// Responses counts requests that got an HTTP response, whatever its
	// status: zero responses (every request refused, DNS, TLS verification,
	// connect timeout) is an unreachable target; any response is judged.
	Responses int64
	// FirstError holds, per error class, the first message seen
	// ("404 Not Found on GET /serch", "dial tcp 127.0.0.1:1: connect: connection refused").
	FirstError map[string]string
	// Redirects counts 3xx responses; FirstLocation is the first one's
	// Location header. Redirects are not followed.
	Redirects     int64
	FirstLocation string
}

// Clone returns a copy of c that shares no map with it.
func (c Counts) Clone() Counts {
	c.ByClass = maps.Clone(c.ByClass)
	c.FirstError = maps.Clone(c.FirstError)
	return c
}

// NewRecorder returns an empty recorder that keeps the tailSize slowest
// requests (see TailSize).
func NewRecorder(tailSize int) *Recorder {
	return &Recorder{hists: map[string]*hdrhistogram.Histogram{}, Counts: Counts{ByClass: map[string]int64{}}, Tail: NewTail(tailSize)}
}

// Record adds one sample of source, rounded to the nearest microsecond.
// Negative durations (clock noise) count as zero.
func (r *Recorder) Record(source string, d time.Duration) {
	h := r.hists[source]
	if h == nil {
		h = NewHistogram()
		r.hists[source] = h
	}
	us := int64((max(d, 0) + time.Microsecond/2) / time.Microsecond)
	if us > HighestUS {
		us = HighestUS
		r.Counts.Clamped++
	}
	// The value is within bounds, so RecordValue cannot fail.
	_ = h.RecordValue(us)
	if r.interval != nil {
		ih := r.interval[source]
		if ih == nil {
			ih = NewHistogram()
			r.interval[source] = ih
		}
		_ = ih.RecordValue(us)
	}
}

// KeepIntervals makes the recorder also keep each interval's samples apart,
// until TakeInterval hands them over.
func (r *Recorder) KeepIntervals() {
	if r.interval == nil {
		r.interval = map[string]*hdrhistogram.Histogram{}
	}
}

// TakeInterval returns the samples recorded since the last call, per source
// (only sources with samples), and starts a new interval. Nil unless
// KeepIntervals was called.
func (r *Recorder) TakeInterval() map[string]*hdrhistogram.Histogram {
	if r.interval == nil {
		return nil
	}
	return WithSamples(r.SwapInterval(map[string]*hdrhistogram.Histogram{}))
}

// SwapInterval starts a new interval with next (empty histograms made
// beforehand, so that whoever holds a lock around the recorder does not
// allocate under it; a source missing from next gets one when first
// recorded) and returns the last interval's, sources without samples
// included. Nil unless KeepIntervals was called.
func (r *Recorder) SwapInterval(next map[string]*hdrhistogram.Histogram) map[string]*hdrhistogram.Histogram {
	if r.interval == nil {
		return nil
	}
	if next == nil {
		next = map[string]*hdrhistogram.Histogram{}
	}
	last := r.interval
	r.interval = next
	return last
}

// WithSamples removes, in place, the sources of hists without samples and
// returns hists.
func WithSamples(hists map[string]*hdrhistogram.Histogram) map[string]*hdrhistogram.Histogram {
	maps.DeleteFunc(hists, func(_ string, h *hdrhistogram.Histogram) bool { return h.TotalCount() == 0 })
	return hists
}

// Error counts one failed request of class.
func (r *Recorder) Error(class string) {
	r.Counts.Errors++
	r.Counts.ByClass[class]++
}

// NoteError keeps message as class's first message unless one is kept
// already. message is called only then, so the hot path builds no string.
func (r *Recorder) NoteError(class string, message func() string) {
	if _, ok := r.Counts.FirstError[class]; ok {
		return
	}
	if r.Counts.FirstError == nil {
		r.Counts.FirstError = map[string]string{}
	}
	r.Counts.FirstError[class] = message()
}

// Histogram returns the histogram of source, nil when nothing was recorded.
func (r *Recorder) Histogram(source string) *hdrhistogram.Histogram { return r.hists[source] }

// Sources lists the recorded sources, sorted.
func (r *Recorder) Sources() []string { return slices.Sorted(maps.Keys(r.hists)) }

// Percentile returns the nearest-rank value of source at percentile p
// (0–100, see ValueAt) and the sample count; ok is false when source has no
// samples.
func (r *Recorder) Percentile(source string, p float64) (d time.Duration, count int64, ok bool) {
	h := r.hists[source]
	if h == nil || h.TotalCount() == 0 {
		return 0, 0, false
	}
	return ValueAt(h, p), h.TotalCount(), true
}

// Merge adds other's histograms and counts to r. HDR merging is exact: the
// merged histogram is the one a single recorder would have filled.
func (r *Recorder) Merge(other *Recorder) {
	for src, h := range other.hists {
		mine := r.hists[src]
		if mine == nil {
			mine = NewHistogram()
			r.hists[src] = mine
		}
		mine.Merge(h)
	}
	r.Counts.add(other.Counts)
	r.Tail.Merge(other.Tail)
}

// LowestEquivalent is the smallest duration that HDR precision cannot tell
// from d: the bottom of d's bucket. A percentile is over a limit only when
// this is: the gate does not fail on the histogram's own rounding.
func LowestEquivalent(d time.Duration) time.Duration {
	us := min(max(int64(d/time.Microsecond), 0), HighestUS)
	return time.Duration(lowestEquivalentUS(us)) * time.Microsecond
}

// lowestEquivalentUS mirrors HdrHistogram's bucket layout for 3 significant
// digits from 1µs: values below 2048 are exact; above, a bucket spans
// 2^(⌊log2 v⌋−10) values.
func lowestEquivalentUS(v int64) int64 {
	if v < 2048 {
		return v
	}
	width := int64(1) << (bits.Len64(uint64(v)) - 1 - 10)
	return v &^ (width - 1)
}
