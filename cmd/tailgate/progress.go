package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/tailgate-dev/tailgate/histogram"
	"github.com/tailgate-dev/tailgate/load"
	"github.com/tailgate-dev/tailgate/report"
	"github.com/tailgate-dev/tailgate/scenario"
	"github.com/tailgate-dev/tailgate/schedule"
)

// plainEvery is how often progress prints a line where it cannot redraw one
// (a CI log): often enough to show a run is alive, rarely enough to read.
const plainEvery = 5 * time.Second

// newProgress returns what reports a run's progress on w (stderr, so stdout
// stays the report): on a terminal, one status line redrawn in place every
// tick and cleared at the end; elsewhere, a plain line every plainEvery.
func newProgress(w io.Writer, sc *scenario.Scenario, sched *schedule.Schedule) func(load.Tick) {
	return newProgressFor(w, sc, sched).tick
}

// newProgressFor reports the run of sched (a shard's plan in a distributed
// run; nil means sc's own).
func newProgressFor(w io.Writer, sc *scenario.Scenario, sched *schedule.Schedule) *progress {
	if sched == nil {
		sched = schedule.Of(sc)
	}
	// Only a terminal (safety.go's test: a character device, not /dev/null)
	// can redraw a line.
	live := false
	if mw, ok := w.(*report.MaskWriter); ok {
		w := mw.Underlying()
		f, ok := w.(*os.File)
		live = ok && isTerminal(f)
	} else if f, ok := w.(*os.File); ok {
		live = isTerminal(f)
	}
	return &progress{w: w, live: live, sched: sched, cur: sched.Cursor(), total: sched.Duration(), every: plainEvery}
}

// progress turns ticks into status lines. Ticks come from one goroutine, so
// it needs no locks; times come from the ticks, so tests need no clock.
type progress struct {
	w     io.Writer
	live  bool
	sched *schedule.Schedule
	cur   *schedule.Cursor
	total time.Duration
	every time.Duration

	next     time.Duration           // plain: when the next line is due
	width    int                     // live: length of the line on screen
	lastAt   time.Duration           // when the previous tick was
	lastSent int64                   // requests issued by the previous tick
	planned  int64                   // requests planned before the previous tick
	totals   *hdrhistogram.Histogram // the run's totals so far, from the ticks' intervals
}

func (p *progress) tick(t load.Tick) {
	if t.Final {
		if p.live && p.width > 0 {
			fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", p.width))
			p.width = 0
		}
		return
	}
	line := p.status(t)
	if p.live {
		// Spaces over what is left of a longer previous line.
		n := utf8.RuneCountInString(line)
		fmt.Fprintf(p.w, "\r%s%s", line, strings.Repeat(" ", max(p.width-n, 0)))
		p.width = n
		return
	}
	if p.next == 0 {
		p.next = p.every
	}
	if t.Elapsed >= p.next {
		fmt.Fprintln(p.w, line)
		for p.next <= t.Elapsed {
			p.next += p.every
		}
	}
}

// status is one line: "12s/60s  80.2/s (planned 80/s)  in flight 12  errors 3 (0.1%)  p99 total 1.32s".
func (p *progress) status(t load.Tick) string {
	sent, errs := t.Counts.Sent, t.Counts.Errors
	if h := t.Interval[scenario.SourceTotal]; h != nil {
		if p.totals == nil {
			p.totals = histogram.NewHistogram()
		}
		p.totals.Merge(h)
	}
	p99 := "-"
	if p.totals != nil && p.totals.TotalCount() > 0 {
		p99 = report.Millis(float64(histogram.ValueAt(p.totals, 99)) / float64(time.Millisecond))
	}
	// Requests issued (finished or still in flight) against requests
	// planned, both over the last interval: what the generator is doing
	// now, and what the plan asked of it in the same window.
	issued := sent + t.InFlight
	planned := p.plannedBefore(t.Elapsed)
	rate, plannedRate := 0.0, 0.0
	if dt := t.Elapsed - p.lastAt; dt > 0 {
		rate = float64(issued-p.lastSent) / dt.Seconds()
		plannedRate = float64(planned-p.planned) / dt.Seconds()
	}
	p.lastAt, p.lastSent, p.planned = t.Elapsed, issued, planned
	return fmt.Sprintf("%s/%s  %s/s (planned %s/s)  in flight %d  errors %d (%s)  p99 total %s",
		report.Seconds(t.Elapsed.Seconds()), report.Seconds(p.total.Seconds()),
		report.Rate(rate), report.Rate(plannedRate), t.InFlight, errs, report.Share(errs, sent), p99)
}

// plannedBefore counts the requests the plan sends before d.
func (p *progress) plannedBefore(d time.Duration) int64 {
	n := p.sched.Requests()
	// Intended times only grow: search from where the last window ended.
	lo := p.planned
	return lo + int64(sort.Search(int(n-lo), func(i int) bool { return p.cur.At(lo+int64(i)) >= d }))
}
