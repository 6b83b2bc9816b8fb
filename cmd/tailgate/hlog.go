package main

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/tailgate-dev/tailgate/histogram"
	"github.com/tailgate-dev/tailgate/load"
	"github.com/tailgate-dev/tailgate/report"
	"github.com/tailgate-dev/tailgate/scenario"
	"github.com/tailgate-dev/tailgate/schedule"
)

// openIntervalLog starts dir/run.hlog; the tick function writes one interval
// per call: each source's samples since the last tick, and what happened to
// requests in it. The final tick adds the run's counts and slowest requests.
func openIntervalLog(dir string, sc *scenario.Scenario) (func(load.Tick), func() error, error) {
	return openIntervalLogOf(dir, sc, schedule.Of(sc), time.Time{})
}

// openIntervalLogOf is openIntervalLog for the plan the run sends: a
// shard's, in a distributed run, so that planned counts are the shard's,
// and the log says which shard it is. planStart is when the plan began
// (--start-at, which every shard shares); zero for the run's own start.
func openIntervalLogOf(dir string, sc *scenario.Scenario, sched *schedule.Schedule, planStart time.Time) (func(load.Tick), func() error, error) {
	path := filepath.Join(dir, fileRunHlog)
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, fmt.Errorf("creating the interval log: %w", err)
	}
	h := logHeader(sc, "run", sched.Requests(), sched.Duration())
	h.Engine = string(sc.Engine)
	if i, n := sched.ShardOf(); n > 1 {
		h.Shard = fmt.Sprintf("%d/%d", i, n)
	}
	il := &intervalLog{
		sched:     sched,
		cur:       sched.Cursor(),
		header:    h,
		planStart: planStart,
		f:         f,
		w:         maskerFor(sc).Writer(f),
		pending:   make(chan logItem, 4),
		written:   make(chan struct{}),
	}
	go il.write()
	return il.tick, il.close, nil
}

// intervalLog writes run.hlog as a run goes. A tick brings the interval's
// histograms (the run starts new ones) and hands them to a goroutine that
// encodes and writes them, then forgets them, so a slow disk holds up
// neither the ticks nor the requests. Memory stays flat however long the run.
type intervalLog struct {
	header    histogram.LogHeader
	planStart time.Time // --start-at; zero when not given
	sched     *schedule.Schedule
	cur       *schedule.Cursor

	// Owned by the ticking goroutine.
	started bool
	last    time.Duration // end of the last interval
	planned int64         // requests planned before last
	sent    int64         // counts at last
	errs    int64
	done    bool

	// Owned by the writing goroutine until written is closed.
	f *os.File
	// w is f through the scenario's masker: a target can reflect a secret
	// into what the log keeps (an error message, a Server-Timing name).
	w       *report.MaskWriter
	lw      *histogram.LogWriter
	err     error // the first write error; the log stops there
	pending chan logItem
	written chan struct{}
}

// logItem is one interval on its way to the file.
type logItem struct {
	start     time.Time // when the run began; set on the first item only
	from, to  time.Duration
	hists     map[string]*hdrhistogram.Histogram
	counts    histogram.IntervalCounts
	final     bool
	runCounts histogram.Counts // the run's, with the final interval
	slow      []histogram.Slow
}

func (l *intervalLog) tick(t load.Tick) {
	if l.done {
		return
	}
	it := logItem{from: l.last, to: t.Elapsed, hists: t.Interval, final: t.Final}
	if !l.started {
		// Ticks time the run from its start, which is now less the elapsed time.
		it.start, l.started = time.Now().Add(-t.Elapsed), true
	}
	c := t.Counts
	planned := l.plannedBefore(t.Elapsed)
	it.counts = histogram.IntervalCounts{
		StartS:  l.last.Seconds(),
		EndS:    t.Elapsed.Seconds(),
		Planned: planned - l.planned,
		Sent:    c.Sent - l.sent,
		Errors:  c.Errors - l.errs,
	}
	if t.Final {
		it.runCounts = c
		it.slow = t.Slowest
		l.done = true
	}
	l.last, l.planned, l.sent, l.errs = t.Elapsed, planned, c.Sent, c.Errors
	l.pending <- it
}

// plannedBefore counts the requests the plan sends before d.
func (l *intervalLog) plannedBefore(d time.Duration) int64 {
	n := l.sched.Requests()
	// Intended times only grow: search from where the last interval ended.
	lo := l.planned
	return lo + int64(sort.Search(int(n-lo), func(i int) bool { return l.cur.At(lo+int64(i)) >= d }))
}

// write encodes and writes intervals until close.
func (l *intervalLog) write() {
	defer close(l.written)
	for it := range l.pending {
		if l.err != nil {
			continue
		}
		if l.lw == nil {
			start := it.start
			if !l.planStart.IsZero() {
				start = l.planStart
			}
			l.header.Start = &start
			l.lw = histogram.NewLogWriter(l.w, it.start, l.header)
		}
		err := l.lw.Interval(it.from, it.to, it.hists)
		if err == nil {
			err = l.lw.Counts(it.counts)
		}
		if err == nil && it.final {
			err = l.lw.End(it.runCounts, it.slow)
		}
		if err == nil {
			err = l.lw.Flush()
		}
		l.err = err
	}
}

// close waits for the intervals on their way, then closes the file.
func (l *intervalLog) close() error {
	close(l.pending)
	<-l.written
	if l.lw == nil && l.err == nil {
		// The run never ticked (it failed to start): a log with no interval.
		l.lw = histogram.NewLogWriter(l.w, time.Now(), l.header)
		l.err = l.lw.Flush()
	}
	if err := l.w.Flush(); l.err == nil {
		l.err = err
	}
	if err := l.f.Close(); l.err == nil {
		l.err = err
	}
	return l.err
}

// writeHistograms writes <line>.hgrm for every budget line with samples,
// and total.hgrm and service.hgrm, in HdrHistogram's percentile
// distribution format (values in ms). It completes dir/run.hlog with the
// judged run's measurement, or writes it whole when the run kept no
// intervals (a simulation).
func writeHistograms(dir string, m measured) error {
	var errs []error
	for _, h := range hgrmFiles(m) {
		errs = append(errs, writeFile(dir, h.file, func(w io.Writer) error { return histogram.WriteHgrm(w, h.hist) }))
	}
	errs = append(errs, finishIntervalLog(filepath.Join(dir, fileRunHlog), m))
	return errors.Join(errs...)
}

type hgrmFile struct {
	file string
	hist *hdrhistogram.Histogram
}

// hgrmFiles names a .hgrm per budget line (after the line) and for total
// and service (after the source), skipping what has no samples.
func hgrmFiles(m measured) []hgrmFile {
	var out []hgrmFile
	seen := map[string]bool{}
	add := func(name, source string) {
		file := fileName(name) + ".hgrm"
		h := m.rec.Histogram(source)
		if seen[file] || h == nil || h.TotalCount() == 0 {
			return
		}
		seen[file] = true
		out = append(out, hgrmFile{file: file, hist: h})
	}
	if m.sc != nil {
		for _, l := range m.sc.Budget.Lines {
			add(l.Name, l.Source)
		}
	}
	add(scenario.SourceTotal, scenario.SourceTotal)
	add(scenario.SourceService, scenario.SourceService)
	return out
}

// fileName makes a budget line's name safe as a file name: letters,
// digits, '.', '-' and '_' stay, anything else becomes '_'.
func fileName(name string) string {
	b := []byte(name)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.' && i > 0:
		default:
			b[i] = '_'
		}
	}
	if len(b) == 0 {
		return "line"
	}
	return string(b)
}

// finishIntervalLog appends the judged measurement to the run's interval
// log, which the run wrote as it went; a log of another run (or none) is
// replaced by a one-interval log of m.
func finishIntervalLog(path string, m measured) error {
	run := logRun(m)
	if f, err := os.Open(path); err == nil {
		meta, err := histogram.ReadLogMeta(f, path)
		f.Close()
		if err == nil && sameRun(meta, m) {
			if meta.Run != nil {
				return nil // judged before: `tailgate report --out` on its own log
			}
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				return err
			}
			w := maskerFor(m.sc).Writer(f)
			err = histogram.AppendRun(w, run)
			if err == nil {
				err = w.Flush()
			}
			if err != nil {
				f.Close()
				return fmt.Errorf("%s: %w", path, err)
			}
			return f.Close()
		}
	}
	elapsed := time.Duration(m.res.Requests.ElapsedS * float64(time.Second))
	start := time.Now().Add(-elapsed)
	h := histogram.LogHeader{Scenario: m.res.Scenario, Mode: m.res.Mode, Planned: run.Planned, PlannedDurationS: run.PlannedDurationS}
	if m.sc != nil {
		h = logHeader(m.sc, m.res.Mode, run.Planned, time.Duration(run.PlannedDurationS*float64(time.Second)))
		h.Scenario = m.res.Scenario
	}
	h.Start = &start
	return writeMasked(filepath.Dir(path), filepath.Base(path), maskerFor(m.sc), func(w io.Writer) error {
		return m.rec.WriteLog(w, start, elapsed, h, run)
	})
}

// logHeader is the header of a log of sc's plan: which plan it is, with
// what seed, and a run id of its own.
func logHeader(sc *scenario.Scenario, mode string, planned int64, d time.Duration) histogram.LogHeader {
	seed := sc.SeedValue()
	return histogram.LogHeader{
		Scenario:         sc.Name,
		Mode:             mode,
		Planned:          planned,
		PlannedDurationS: d.Seconds(),
		Identity:         sc.Identity(),
		Seed:             &seed,
		RunID:            rand.Text(),
	}
}

// sameRun reports whether a log was written by the run m measured: same
// scenario and mode, and the counts it ended with are m's.
func sameRun(meta *histogram.LogMeta, m measured) bool {
	if meta.Header == nil || meta.Counts == nil || meta.Header.Scenario != m.res.Scenario || meta.Header.Mode != m.res.Mode {
		return false
	}
	a, b := meta.Counts, m.rec.Counts
	return a.Sent == b.Sent && a.OK == b.OK && a.Errors == b.Errors && a.NewConnections == b.NewConnections
}

// logRun is what judging m again needs beyond its histograms.
func logRun(m measured) histogram.LogRun {
	q := m.res.Requests
	run := histogram.LogRun{
		Planned:          q.Planned,
		PlannedDurationS: q.DurationS,
		ElapsedS:         q.ElapsedS,
		Interrupted:      m.res.Partial,
	}
	// The achieved rate is sent over the longer of the plan and the span to
	// the last send; that span is what judging again needs.
	if q.AchievedRate > 0 {
		run.SendSpanS = float64(q.Sent) / q.AchievedRate
	}
	run.Started = m.res.StartedAt
	if plan, err := json.Marshal(m.res.Plan); err == nil {
		run.Plan = plan
	}
	return run
}

// readLog reads an interval log file; any problem is invalid input.
func readLog(path string, percentiles []float64) (*histogram.Log, error) {
	f, err := scenario.OpenFile(path, "interval log")
	if err != nil {
		return nil, usagef("%v", err)
	}
	defer f.Close()
	l, err := histogram.ReadLog(f, path, percentiles)
	if err != nil {
		return nil, usagef("%v", err)
	}
	if l.Header == nil {
		return nil, usagef("%s: not a tailgate interval log (no #tailgate header line); tailgate reads the run.hlog it wrote, or a merge of them", path)
	}
	return l, nil
}
