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

func TestProgressLive(t *testing.T) {
	var b bytes.Buffer
	p := &progress{w: &b, live: true, total: 12 * time.Second, every: plainEvery}
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
	p := &progress{w: &b, live: false, total: 12 * time.Second, every: 5 * time.Second}
	ticks(p, 12)
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "5.0s/12s  ") || !strings.HasPrefix(lines[1], "10s/12s  ") {
		t.Errorf("want a line at 5s and at 10s, got %q", lines)
	}
	if strings.Contains(b.String(), "\r") {
		t.Error("plain progress redraws")
	}

	b.Reset()
	ticks(&progress{w: &b, every: 5 * time.Second}, 2)
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
	sc := &scenario.Scenario{}
	if newProgressFor(w, sc).live || newProgressFor(&bytes.Buffer{}, sc).live {
		t.Error("a pipe or a buffer is taken for a terminal")
	}
}
