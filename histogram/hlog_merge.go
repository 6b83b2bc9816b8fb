package histogram

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
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
	// Header is the merged log's: which shards of which plan it holds.
	Header LogHeader
	// Warnings say what could not be checked (logs that do not record
	// their plan).
	Warnings []string
}

// MergeLogs merges interval logs of one plan (the shards of a distributed
// run) into one log written to w. The merge is exact: per source, the sum
// of the merged log's intervals is the HDR merge of every input interval,
// as one recorder would have filled it. Intervals are aligned by their
// start rounded to the second from the earliest log's start, so latency
// over time still reads per second; their counts, request counts, slowest
// requests and plans add up (the plan's duration and the elapsed time are
// the longest).
//
// Logs that are not disjoint parts of one plan are refused (checkParts):
// a shard given twice would count its requests twice and look like more
// of the plan than was run. The merged log records the shards it holds, so
// that it can be merged again with the rest, and judged incomplete until
// it is whole.
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
		logs[i] = m
	}
	h, warnings, err := checkParts(logs)
	if err != nil {
		return nil, err
	}

	start := logs[0].lr.Meta().Start
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
		if s := meta.Header.Start; s != nil && (h.Start == nil || s.Before(*h.Start)) {
			h.Start = s
		}
	}
	for _, m := range logs {
		m.offset = m.lr.Meta().Start.Sub(start).Seconds()
	}

	sum := &MergeSummary{Logs: len(inputs), Scenario: h.Scenario, Samples: map[string]int64{}, Counts: Counts{ByClass: map[string]int64{}}, Header: h, Warnings: warnings}
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

// checkParts refuses logs that are not disjoint parts of one plan: of
// different scenarios, plans (identity) or seeds, split into different
// numbers of shards, holding one shard twice (a whole run is shard 0/1), or
// one run twice. It returns the merged log's header: the common plan and
// the shards it holds. Logs that do not record their plan are merged on
// their scenario's name alone, with a warning; they are not merged with
// logs that do.
func checkParts(logs []*mergeInput) (LogHeader, []string, error) {
	first := logs[0]
	fh := first.lr.Meta().Header
	h := LogHeader{Scenario: fh.Scenario, Mode: fh.Mode, Engine: fh.Engine}
	var unknown, known []string
	for _, m := range logs {
		if _, _, ok := m.header().Part(); ok {
			known = append(known, m.name)
		} else {
			unknown = append(unknown, m.name)
		}
	}
	for _, m := range logs[1:] {
		if mh := m.header(); mh.Scenario != fh.Scenario {
			return h, nil, fmt.Errorf("%s is of scenario %q, %s of %q: merge shards of one scenario", m.name, mh.Scenario, first.name, fh.Scenario)
		}
	}
	if len(known) > 0 && len(unknown) > 0 {
		return h, nil, fmt.Errorf("%s does not record its plan (written by an earlier tailgate) and %s does: there is no telling whether they are shards of one plan; merge logs of one tailgate", unknown[0], known[0])
	}
	if len(known) == 0 {
		return h, []string{fmt.Sprintf("%s do not record their plan (written by an earlier tailgate): merged on their scenario's name alone, without checking that they are distinct shards of one plan", strings.Join(unknown, ", "))}, nil
	}

	for i, a := range logs {
		for _, b := range logs[i+1:] {
			if id := a.header().RunID; id != "" && id == b.header().RunID {
				return h, nil, fmt.Errorf("%s and %s are one run (run id %s): the same log given twice, or a copy of it", a.name, b.name, id)
			}
		}
	}
	_, n, _ := fh.Part()
	holder := make(map[int]*mergeInput)
	for _, m := range logs {
		mh := m.header()
		switch {
		case seedOf(mh) != seedOf(fh):
			return h, nil, fmt.Errorf("%s was run with seed %s and %s with seed %s: the shards of a run share the scenario and its seed", m.name, seedOf(mh), first.name, seedOf(fh))
		case mh.Identity != fh.Identity:
			return h, nil, fmt.Errorf("%s is of plan %s and %s of plan %s: the shards of a run share the scenario file and its --set, --rate-scale and --duration", m.name, mh.Identity, first.name, fh.Identity)
		}
		shards, mn, _ := mh.Part()
		if mn != n {
			if mn == 1 || n == 1 {
				return h, nil, fmt.Errorf("%s is %s and %s is %s: merge the shards of one distributed run (tailgate run --shard i/N), not whole runs", m.name, partName(mh), first.name, partName(fh))
			}
			return h, nil, fmt.Errorf("%s is %s and %s is %s: the shards of a run split its plan alike (one N in --shard i/N)", m.name, partName(mh), first.name, partName(fh))
		}
		for _, i := range shards {
			if o := holder[i]; o != nil {
				if n == 1 {
					return h, nil, fmt.Errorf("%s and %s are both whole runs of the plan: merge the shards of one distributed run (tailgate run --shard i/N), each once", o.name, m.name)
				}
				return h, nil, fmt.Errorf("%s and %s both hold shard %d/%d: merge each shard once", o.name, m.name, i, n)
			}
			holder[i] = m
		}
	}
	h.Identity, h.Seed = fh.Identity, fh.Seed
	if n == 1 {
		// One whole run, merged alone: still that run.
		h.RunID = fh.RunID
		return h, nil, nil
	}
	h.Shards = slices.Sorted(maps.Keys(holder))
	h.ShardCount = n
	return h, nil, nil
}

// partName says what of its plan a log holds: "a whole run", "shard 1/3",
// "shards 0/3 and 2/3".
func partName(h *LogHeader) string {
	shards, n, _ := h.Part()
	switch {
	case n == 1:
		return "a whole run"
	case len(shards) == 1:
		return "shard " + ShardList(shards, n)
	}
	return "shards " + ShardList(shards, n)
}

// seedOf is a log's seed as text, "none" when it does not say.
func seedOf(h *LogHeader) string {
	if h.Seed == nil {
		return "none"
	}
	return strconv.FormatUint(*h.Seed, 10)
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
	next    *LogInterval // nil at the end
	offset  float64      // seconds from the merged log's start to this log's
	counted int          // interval counts already merged
}

func (m *mergeInput) header() *LogHeader { return m.lr.Meta().Header }

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
