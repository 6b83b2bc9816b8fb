package histogram

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// NamedReader is one interval log to merge and the name errors give it.
type NamedReader struct {
	Name string
	R    io.Reader
}

// MergeSummary says what MergeLogs wrote.
type MergeSummary struct {
	Logs      int
	Scenario  string
	Intervals int              // merged intervals (seconds with samples or counts)
	Samples   map[string]int64 // per source
	Counts    Counts
}

// MergeLogs merges interval logs of one scenario (the shards of a
// distributed run) into one log written to w. The merge is exact: per
// source, the sum of the merged log's intervals is the HDR merge of every
// input interval, as one recorder would have filled it. Intervals are
// aligned by their start rounded to the second from the earliest log's
// start, so latency over time still reads per second; their counts,
// request counts, slowest requests and plans add up (the plan's duration
// and the elapsed time are the longest).
//
// The merged log holds only intervals: a cumulative histogram beside them
// would count every sample twice for tools that add a tag's intervals.
// Inputs are read once, in step, so memory holds one second of histograms.
func MergeLogs(w io.Writer, inputs []NamedReader) (*MergeSummary, error) {
	if len(inputs) == 0 {
		return nil, errors.New("no logs to merge")
	}
	logs := make([]*mergeInput, len(inputs))
	for i, in := range inputs {
		m := &mergeInput{name: in.Name, lr: NewLogReader(in.R, in.Name)}
		if err := m.advance(); err != nil {
			return nil, err
		}
		meta := m.lr.Meta()
		if meta.Header == nil || meta.Start.IsZero() {
			return nil, fmt.Errorf("%s: not a tailgate interval log (no #tailgate header or StartTime)", in.Name)
		}
		if i > 0 && meta.Header.Scenario != logs[0].lr.Meta().Header.Scenario {
			return nil, fmt.Errorf("%s is of scenario %q, %s of %q: merge shards of one scenario", in.Name, meta.Header.Scenario, logs[0].name, logs[0].lr.Meta().Header.Scenario)
		}
		logs[i] = m
	}

	start := logs[0].lr.Meta().Start
	h := LogHeader{Scenario: logs[0].lr.Meta().Header.Scenario, Mode: logs[0].lr.Meta().Header.Mode, Engine: logs[0].lr.Meta().Header.Engine}
	for _, m := range logs {
		meta := m.lr.Meta()
		if meta.Header.Engine != h.Engine {
			h.Engine = "mixed" // shards sent by different engines
		}
		if meta.Start.Before(start) {
			start = meta.Start
		}
		h.Planned += meta.Header.Planned
		h.PlannedDurationS = max(h.PlannedDurationS, meta.Header.PlannedDurationS)
		h.Merged += max(meta.Header.Merged, 1)
	}
	for _, m := range logs {
		m.offset = m.lr.Meta().Start.Sub(start).Seconds()
	}

	sum := &MergeSummary{Logs: len(inputs), Scenario: h.Scenario, Samples: map[string]int64{}, Counts: Counts{ByClass: map[string]int64{}}}
	lw := NewLogWriter(w, start, h)
	for {
		// The next second is the earliest any log has left, in histograms or
		// in counts.
		k, ok := int64(math.MaxInt64), false
		for _, m := range logs {
			if b, has := m.nextBucket(); has && b < k {
				k, ok = b, true
			}
		}
		if !ok {
			break
		}
		acc := map[string]*hdrhistogram.Histogram{}
		var length float64
		for _, m := range logs {
			for m.next != nil && m.bucket(m.next.Start) <= k {
				a := acc[m.next.Source]
				if a == nil {
					a = NewHistogram()
					acc[m.next.Source] = a
				}
				if dropped := a.Merge(m.next.Hist); dropped > 0 {
					return nil, fmt.Errorf("%s: %d values of %s are outside tailgate's range (1µs–1h)", m.name, dropped, m.next.Source)
				}
				sum.Samples[m.next.Source] += m.next.Hist.TotalCount()
				length = max(length, (m.next.End - m.next.Start).Seconds())
				if err := m.advance(); err != nil {
					return nil, err
				}
			}
		}
		// Every log is now past second k, so its counts of k have been read.
		c := IntervalCounts{StartS: float64(k)}
		counted := false
		for _, m := range logs {
			ivs := m.lr.Meta().Intervals
			for ; m.counted < len(ivs) && m.bucket(seconds(ivs[m.counted].StartS)) <= k; m.counted++ {
				iv := ivs[m.counted]
				c.Planned += iv.Planned
				c.Sent += iv.Sent
				c.Errors += iv.Errors
				length = max(length, iv.EndS-iv.StartS)
				counted = true
			}
		}
		c.EndS = float64(k) + length
		if err := lw.Interval(time.Duration(k)*time.Second, seconds(c.EndS), acc); err != nil {
			return nil, err
		}
		if counted {
			if err := lw.Counts(c); err != nil {
				return nil, err
			}
		}
		sum.Intervals++
	}

	run := LogRun{}
	tail := NewTail(TailSize(h.Planned))
	for _, m := range logs {
		meta := m.lr.Meta()
		c := meta.Counts
		if c == nil {
			// A shard that did not end: its intervals' counts.
			c = &Counts{ByClass: map[string]int64{}}
			for _, iv := range meta.Intervals {
				c.Sent += iv.Sent
				c.Errors += iv.Errors
			}
			c.OK = c.Sent - c.Errors
			c.Responses = c.OK
		}
		sum.Counts.add(*c)
		for _, s := range meta.Slow {
			tail.Offer(s.Total, s.Parts)
		}
		run.Planned += meta.Planned()
		run.PlannedDurationS = max(run.PlannedDurationS, meta.PlannedDuration().Seconds())
		run.SendSpanS = max(run.SendSpanS, m.offset+meta.SendSpan().Seconds())
		run.ElapsedS = max(run.ElapsedS, m.offset+meta.Elapsed().Seconds())
		run.Interrupted = run.Interrupted || meta.Interrupted()
		if r := meta.Run; r != nil && r.Started != nil && (run.Started == nil || r.Started.Before(*run.Started)) {
			run.Started = r.Started
		}
	}
	if err := lw.End(sum.Counts, tail.Slowest()); err != nil {
		return nil, err
	}
	if err := lw.Run(run); err != nil {
		return nil, err
	}
	return sum, lw.Flush()
}

// add sums o into c: the one place that knows every count, for Recorder.Merge
// and merged logs alike.
func (c *Counts) add(o Counts) {
	c.Sent += o.Sent
	c.OK += o.OK
	c.Errors += o.Errors
	c.NewConnections += o.NewConnections
	c.Clamped += o.Clamped
	c.DroppedMetrics += o.DroppedMetrics
	c.Responses += o.Responses
	c.Redirects += o.Redirects
	if c.FirstLocation == "" {
		c.FirstLocation = o.FirstLocation
	}
	for _, k := range slices.Sorted(maps.Keys(o.FirstError)) {
		if _, ok := c.FirstError[k]; !ok {
			if c.FirstError == nil {
				c.FirstError = map[string]string{}
			}
			c.FirstError[k] = o.FirstError[k]
		}
	}
	if c.ByClass == nil {
		c.ByClass = map[string]int64{}
	}
	for _, k := range slices.Sorted(maps.Keys(o.ByClass)) {
		c.ByClass[k] += o.ByClass[k]
	}
}

// mergeInput is one log being merged, with its next interval read ahead.
type mergeInput struct {
	name    string
	lr      *LogReader
	next    *Interval // nil at the end
	offset  float64   // seconds from the merged log's start to this log's
	counted int       // interval counts already merged
}

func (m *mergeInput) advance() error {
	iv, err := m.lr.Next()
	switch {
	case err == io.EOF:
		m.next = nil
		return nil
	case err != nil:
		return err
	}
	m.next = iv
	return nil
}

// bucket is the merged second an interval starting at t falls in.
func (m *mergeInput) bucket(t time.Duration) int64 {
	return int64(math.Round(m.offset + t.Seconds()))
}

// nextBucket is the earliest second this log has not merged yet.
func (m *mergeInput) nextBucket() (int64, bool) {
	k, ok := int64(math.MaxInt64), false
	if m.next != nil {
		k, ok = m.bucket(m.next.Start), true
	}
	if ivs := m.lr.Meta().Intervals; m.counted < len(ivs) {
		k, ok = min(k, m.bucket(seconds(ivs[m.counted].StartS))), true
	}
	return k, ok
}
