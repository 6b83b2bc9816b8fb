package load

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseServerTiming(t *testing.T) {
	ms := func(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }
	cases := []struct {
		in   []string
		want []Metric
	}{
		{[]string{"db;dur=53.2"}, []Metric{{"db", ms(53.2)}}},
		{[]string{"db;dur=53, app;dur=47.2"}, []Metric{{"db", ms(53)}, {"app", ms(47.2)}}},
		{[]string{"db;dur=1", "queue;dur=2.5"}, []Metric{{"db", ms(1)}, {"queue", ms(2.5)}}},
		{[]string{`cache;desc="hit, fast; really";dur=0.3`}, []Metric{{"cache", ms(0.3)}}},
		{[]string{`cache;desc="a \" quote, here";dur=4`}, []Metric{{"cache", ms(4)}}},
		{[]string{" db ; dur = 12 "}, []Metric{{"db", ms(12)}}},
		{[]string{`db;dur="7"`}, []Metric{{"db", ms(7)}}},
		{[]string{"DB;DUR=3"}, []Metric{{"DB", ms(3)}}},
		{[]string{"db;dur=5;dur=9"}, []Metric{{"db", ms(5)}}}, // the first dur wins
		{[]string{"miss, db;dur=2"}, []Metric{{"db", ms(2)}}}, // no dur: no sample
		{[]string{"db;dur=abc, x;dur=-1, y;dur=NaN, w;dur=Inf, v;dur=-1e400, ok;dur=1"}, []Metric{{"ok", ms(1)}}},
		// Above the range, a number is clamped, never dropped: the recorder
		// records it at the top of the range and counts it clamped.
		{[]string{"z;dur=1e99, y;dur=1e400, x;dur=1e12, w;dur=3600001"},
			[]Metric{{"z", maxMetricDur}, {"y", maxMetricDur}, {"x", maxMetricDur}, {"w", ms(3600001)}}},
		{[]string{"bad name;dur=1, ;dur=2, @;dur=3"}, nil},
		{[]string{""}, nil},
		{nil, nil},
		{[]string{`unterminated;desc="oops, db;dur=1`}, nil},
	}
	for _, tc := range cases {
		got := ParseServerTiming(nil, tc.in, nil)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q: got %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestParseServerTimingBounded(t *testing.T) {
	v := ""
	for range 1000 {
		v += "m;dur=1,"
	}
	if got := ParseServerTiming(nil, []string{v}, nil); len(got) != maxMetrics {
		t.Errorf("kept %d metrics, want %d", len(got), maxMetrics)
	}
}

// A metric a budget line judges is kept wherever it comes in the header,
// once, however many metrics come before it; others stop at the bound.
func TestParseServerTimingKeepsBudgeted(t *testing.T) {
	var v strings.Builder
	for i := range 39 {
		fmt.Fprintf(&v, "m%d;dur=1, ", i)
	}
	v.WriteString("db;dur=5, db;dur=6, queue;dur=2")
	got := ParseServerTiming(nil, []string{v.String(), "db;dur=7, queue;dur=3"}, []string{"db", "queue"})
	if len(got) != maxMetrics+2 {
		t.Fatalf("kept %d metrics, want %d and the two budgeted: %v", len(got), maxMetrics, got)
	}
	want := []Metric{{"db", 5 * time.Millisecond}, {"queue", 2 * time.Millisecond}}
	if tail := got[maxMetrics:]; !reflect.DeepEqual(tail, want) {
		t.Errorf("beyond the bound: %v, want %v", tail, want)
	}
	if got := ParseServerTiming(nil, []string{v.String()}, nil); slices.ContainsFunc(got, func(m Metric) bool { return m.Name == "db" }) {
		t.Errorf("db kept beyond the bound although no budget line names it")
	}
}

func TestParseServerTimingDoesNotAllocate(t *testing.T) {
	dst := make([]Metric, 0, maxMetrics)
	h := []string{`db;dur=53.2, cache;desc="hit";dur=0.3, queue;dur=1`}
	if n := testing.AllocsPerRun(100, func() { dst = ParseServerTiming(dst[:0], h, []string{"queue"}) }); n != 0 {
		t.Errorf("%v allocations per parse", n)
	}
}

func FuzzParseServerTiming(f *testing.F) {
	for _, s := range []string{"db;dur=53.2", `cache;desc="hit, fast";dur=0.3, app;dur=1`, `a;desc="\"`, ";;,,==", "x;dur=1e308"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, m := range ParseServerTiming(nil, []string{s}, []string{"db"}) {
			if m.Name == "" || !isToken(m.Name) || m.Dur < 0 || m.Dur > maxMetricDur {
				t.Fatalf("%q gave metric %+v", s, m)
			}
		}
	})
}
