package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tailgate-dev/tailgate/histogram"
	"github.com/tailgate-dev/tailgate/scenario"
)

// ticks plays a run of n seconds at 100 requests a second, 5 in flight, one
// error in 100, totals of 10–109ms, then the final tick.
func ticks(p *progress, n int) {
	rec := histogram.NewRecorder(10)
	rec.KeepIntervals()
	for s := 1; s <= n; s++ {
		for i := range 100 {
			rec.Counts.Sent++
			if i == 0 {
				rec.Error("http 5xx")
			}
			rec.Record(scenario.SourceTotal, time.Duration(10+i)*time.Millisecond)
		}
		t := snapshot(rec, time.Duration(s)*time.Second, false)
		t.PlannedRate, t.InFlight = 100, 5
		p.tick(t)
	}
	p.tick(snapshot(rec, time.Duration(n)*time.Second+100*time.Millisecond, true))
}

// progressOf reports a 12s plan given by traffic on w.
func progressOf(t *testing.T, w *bytes.Buffer, live bool, every time.Duration, traffic string) *progress {
	t.Helper()
	sc, err := scenario.Parse("p.yaml", []byte("target: {url: embedded}\ntraffic:\n"+traffic+"budget: {total: {p99: 1s}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	p := newProgressFor(w, sc, nil)
	p.live, p.every = live, every
	return p
}

const steady = "  - constant: {rate: 100/s, duration: 12s}\n"

func TestProgressLive(t *testing.T) {
	var b bytes.Buffer
	p := progressOf(t, &b, true, plainEvery, steady)
	ticks(p, 3)
	out := b.String()
	frames := strings.Split(out, "\r")[1:]
	if len(frames) != 5 { // three status lines, then blanks and a return
		t.Fatalf("%d frames, want 5: %q", len(frames), out)
	}
	if strings.Contains(out, "\n") {
		t.Errorf("a live line never starts a new line: %q", out)
	}
	want := "3.0s/12s  100/s (planned 100/s)  in flight 5  errors 3 (1%)  p99 total 108ms"
	if got := strings.TrimRight(frames[2], " "); got != want {
		t.Errorf("status %q\nwant   %q", got, want)
	}
	if strings.TrimSpace(frames[3]) != "" || frames[4] != "" {
		t.Errorf("the final tick must clear the line: %q", frames[3:])
	}
}

func TestProgressPlain(t *testing.T) {
	var b bytes.Buffer
	p := progressOf(t, &b, false, 5*time.Second, steady)
	ticks(p, 12)
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "5.0s/12s  ") || !strings.HasPrefix(lines[1], "10s/12s  ") {
		t.Errorf("want a line at 5s and at 10s, got %q", lines)
	}
	if strings.Contains(b.String(), "\r") {
		t.Error("plain progress redraws")
	}

	b.Reset()
	ticks(progressOf(t, &b, false, 5*time.Second, steady), 2)
	if b.Len() != 0 {
		t.Errorf("a 2s run in CI prints no progress, got %q", b.String())
	}
}

// TestProgressNotTerminal: a pipe or a buffer is not a terminal, so CI
// logs get plain lines.
func TestProgressNotTerminal(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	sc, err := scenario.Parse("p.yaml", []byte("target: {url: embedded}\ntraffic:\n"+steady+"budget: {total: {p99: 1s}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if newProgressFor(w, sc, nil).live || newProgressFor(&bytes.Buffer{}, sc, nil).live {
		t.Error("a pipe or a buffer is taken for a terminal")
	}
}

// TestProgressPlannedOverTheSameWindow: the planned rate is the plan's
// over the window the achieved rate is measured on, not its rate at the
// tick: on a ramp from 0 to 120/s over 12s, the first second plans 5/s on
// average while the ramp's rate at 1s is 10/s.
func TestProgressPlannedOverTheSameWindow(t *testing.T) {
	var b bytes.Buffer
	p := progressOf(t, &b, true, plainEvery, "  - ramp: {from: 0/s, to: 120/s, duration: 12s}\n")
	rec := histogram.NewRecorder(10)
	rec.KeepIntervals()
	for s := 1; s <= 3; s++ {
		tk := snapshot(rec, time.Duration(s)*time.Second, false)
		line := p.status(tk)
		want := []string{"(planned 5/s)", "(planned 15/s)", "(planned 25/s)"}[s-1]
		if !strings.Contains(line, want) {
			t.Errorf("at %ds: %q, want %s", s, line, want)
		}
	}
}
