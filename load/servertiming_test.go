package load

import (
	"reflect"
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
		{[]string{"db;dur=abc, x;dur=-1, y;dur=NaN, z;dur=1e99, ok;dur=1"}, []Metric{{"ok", ms(1)}}},
		{[]string{"bad name;dur=1, ;dur=2, @;dur=3"}, nil},
		{[]string{""}, nil},
		{nil, nil},
		{[]string{`unterminated;desc="oops, db;dur=1`}, nil},
	}
	for _, tc := range cases {
		got := ParseServerTiming(nil, tc.in)
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
	if got := ParseServerTiming(nil, []string{v}); len(got) != maxMetrics {
		t.Errorf("kept %d metrics, want %d", len(got), maxMetrics)
	}
}

func TestParseServerTimingDoesNotAllocate(t *testing.T) {
	dst := make([]Metric, 0, maxMetrics)
	h := []string{`db;dur=53.2, cache;desc="hit";dur=0.3, queue;dur=1`}
	if n := testing.AllocsPerRun(100, func() { dst = ParseServerTiming(dst[:0], h) }); n != 0 {
		t.Errorf("%v allocations per parse", n)
	}
}

func FuzzParseServerTiming(f *testing.F) {
	for _, s := range []string{"db;dur=53.2", `cache;desc="hit, fast";dur=0.3, app;dur=1`, `a;desc="\"`, ";;,,==", "x;dur=1e308"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, m := range ParseServerTiming(nil, []string{s}) {
			if m.Name == "" || !isToken(m.Name) || m.Dur < 0 || m.Dur > time.Hour {
				t.Fatalf("%q gave metric %+v", s, m)
			}
		}
	})
}
