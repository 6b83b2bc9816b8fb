package histogram

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Sources with every kind of name a tag must carry: plain, with a colon,
// and one that needs escaping.
var testSources = []string{"total", "server-timing:db", "connect", "server-timing:a,b %c"}

// fakeRun records n samples per second for secs seconds into rec, writing
// one interval per second to lw. Latencies are lognormal-ish, seeded.
func fakeRun(t *testing.T, rec *Recorder, lw *LogWriter, seed uint64, secs, n int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	rec.KeepIntervals()
	var sent int64
	for s := range secs {
		for range n {
			rec.Counts.Sent++
			if rng.IntN(50) == 0 {
				rec.Error("http 5xx")
				continue
			}
			rec.Counts.OK++
			for i, src := range testSources {
				if i == 2 && rng.IntN(10) != 0 {
					continue // connect: new connections only
				}
				d := time.Duration(float64(time.Millisecond) * (1 + rng.ExpFloat64()*float64(10*(i+1))))
				rec.Record(src, d)
			}
			total := time.Duration(rng.IntN(2000)) * time.Millisecond
			rec.Tail.Offer(total, []Part{{Name: "ttft", D: total / 2}, {Name: "server-timing:db", D: total / 2}})
		}
		start, end := time.Duration(s)*time.Second, time.Duration(s+1)*time.Second+time.Millisecond
		if err := lw.Interval(start, end, rec.TakeInterval()); err != nil {
			t.Fatal(err)
		}
		if err := lw.Counts(IntervalCounts{StartS: start.Seconds(), EndS: end.Seconds(), Planned: int64(n), Sent: rec.Counts.Sent - sent, Errors: 0}); err != nil {
			t.Fatal(err)
		}
		sent = rec.Counts.Sent
	}
}

func writeTestLog(t *testing.T, seed uint64, start time.Time, secs, n int) (*Recorder, []byte) {
	t.Helper()
	var buf bytes.Buffer
	rec := NewRecorder(20)
	lw := NewLogWriter(&buf, start, LogHeader{Scenario: "test #[BaseTime: 7", Mode: "run", Planned: int64(secs * n), PlannedDurationS: float64(secs)})
	fakeRun(t, rec, lw, seed, secs, n)
	if err := lw.End(rec.Counts, rec.Tail.Slowest()); err != nil {
		t.Fatal(err)
	}
	if err := lw.Run(LogRun{Planned: int64(secs * n), PlannedDurationS: float64(secs), SendSpanS: float64(secs) + 0.25, ElapsedS: float64(secs) + 0.5}); err != nil {
		t.Fatal(err)
	}
	if err := lw.Flush(); err != nil {
		t.Fatal(err)
	}
	return rec, buf.Bytes()
}

// equalRecorders fails unless got holds exactly want's histograms.
func equalRecorders(t *testing.T, got, want *Recorder) {
	t.Helper()
	if !slices.Equal(got.Sources(), want.Sources()) {
		t.Fatalf("sources %q, want %q", got.Sources(), want.Sources())
	}
	for _, src := range want.Sources() {
		g, w := got.Histogram(src), want.Histogram(src)
		if !g.Equals(w) {
			t.Errorf("%s: histogram differs: count %d vs %d, max %d vs %d", src, g.TotalCount(), w.TotalCount(), g.Max(), w.Max())
		}
		for _, p := range []float64{50, 90, 95, 99, 99.9, 100} {
			if a, b := ValueAt(g, p), ValueAt(w, p); a != b {
				t.Errorf("%s p%g = %v, want %v", src, p, a, b)
			}
		}
	}
}

func TestLogRoundTrip(t *testing.T) {
	start := time.Date(2025, 3, 1, 12, 0, 0, 123_000_000, time.UTC)
	rec, log := writeTestLog(t, 7, start, 5, 400)
	l, err := ReadLog(bytes.NewReader(log), "run.hlog", []float64{50, 99})
	if err != nil {
		t.Fatal(err)
	}
	equalRecorders(t, l.Rec, rec)
	if !l.Start.Equal(start) {
		t.Errorf("start %v, want %v", l.Start, start)
	}
	if l.Header == nil || l.Header.Scenario != "test #[BaseTime: 7" || l.Header.Format != LogFormat {
		t.Errorf("header %+v", l.Header)
	}
	if c := l.Rec.Counts; c.Sent != rec.Counts.Sent || c.OK != rec.Counts.OK || c.Errors != rec.Counts.Errors || c.ByClass["http 5xx"] != rec.Counts.ByClass["http 5xx"] {
		t.Errorf("counts %+v, want %+v", c, rec.Counts)
	}
	if got, want := l.Rec.Tail.Slowest(), rec.Tail.Slowest(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("tail differs:\n%v\n%v", got, want)
	}
	if len(l.Intervals) != 5 || l.Intervals[4].StartS != 4 || l.Intervals[4].EndS != 5.001 || l.Intervals[0].Planned != 400 {
		t.Errorf("interval counts %+v", l.Intervals)
	}
	if l.Planned() != 2000 || l.PlannedDuration() != 5*time.Second || l.SendSpan() != 5250*time.Millisecond || l.Elapsed() != 5500*time.Millisecond || l.Interrupted() {
		t.Errorf("run: planned %d over %v, span %v, elapsed %v, interrupted %v", l.Planned(), l.PlannedDuration(), l.SendSpan(), l.Elapsed(), l.Interrupted())
	}
	// The timeline has one entry per interval and source with samples.
	var totals []IntervalStat
	for _, st := range l.Timeline {
		if st.Source == "total" {
			totals = append(totals, st)
		}
	}
	if len(totals) != 5 || totals[2].Start != 2*time.Second || totals[2].End != 3001*time.Millisecond || len(totals[2].Percentiles) != 2 || totals[2].Percentiles[0] > totals[2].Percentiles[1] {
		t.Errorf("timeline of total: %+v", totals)
	}
}

// Another implementation's reader (hdrhistogram-go's HistogramLogReader)
// decodes every interval with its tag and time, and their merge per tag is
// the run's histogram.
func TestLogReadByHdrHistogramGo(t *testing.T) {
	start := time.Date(2025, 3, 1, 12, 0, 0, 500_000_000, time.UTC)
	rec, log := writeTestLog(t, 3, start, 4, 300)
	r := hdrhistogram.NewHistogramLogReader(bytes.NewReader(log))
	merged := map[string]*hdrhistogram.Histogram{}
	n := 0
	for {
		h, err := r.NextIntervalHistogram()
		if err != nil {
			t.Fatal(err)
		}
		if h == nil {
			break
		}
		if h.Tag() == "total" && h.StartTimeMs() != start.UnixMilli()+int64(n/len(testSources))*1000 && n == 0 {
			t.Errorf("first interval starts at %d ms, want %d", h.StartTimeMs(), start.UnixMilli())
		}
		n++
		if merged[h.Tag()] == nil {
			merged[h.Tag()] = NewHistogram()
		}
		merged[h.Tag()].Merge(h)
	}
	if n == 0 {
		t.Fatal("no interval read")
	}
	for _, src := range rec.Sources() {
		h := merged[Tag(src)]
		if h == nil || !h.Equals(rec.Histogram(src)) {
			t.Errorf("tag %s: hdrhistogram-go's reader gives a different histogram", Tag(src))
		}
	}
}

func TestTagEscapes(t *testing.T) {
	for src, tag := range map[string]string{
		"total":               "total",
		"server-timing:db":    "server-timing:db",
		"server-timing:a,b":   "server-timing:a%2Cb",
		"a b\nc":              "a%20b%0Ac",
		"100%":                "100%25",
		"server-timing:café":  "server-timing:caf%C3%A9",
		"server-timing:x=y#z": "server-timing:x=y#z",
	} {
		if got := Tag(src); got != tag {
			t.Errorf("Tag(%q) = %q, want %q", src, got, tag)
		}
		if back, err := SourceOfTag(tag); err != nil || back != src {
			t.Errorf("SourceOfTag(%q) = %q, %v; want %q", tag, back, err, src)
		}
	}
	for _, bad := range []string{"a%", "a%2", "a%zz"} {
		if _, err := SourceOfTag(bad); err == nil {
			t.Errorf("SourceOfTag(%q): want an error", bad)
		}
	}
}

// Two shards, started 300ms apart, merge into exactly the histograms of all
// their samples, with intervals aligned per second and counts summed.
func TestMergeLogsIsExact(t *testing.T) {
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	recA, logA := writeTestLog(t, 1, t0.Add(100*time.Millisecond), 4, 250)
	recB, logB := writeTestLog(t, 2, t0.Add(400*time.Millisecond), 3, 350)
	var out bytes.Buffer
	sum, err := MergeLogs(&out, []NamedReader{{"a.hlog", bytes.NewReader(logA)}, {"b.hlog", bytes.NewReader(logB)}})
	if err != nil {
		t.Fatal(err)
	}
	all := NewRecorder(20)
	all.Merge(recA)
	all.Merge(recB)
	merged := slices.Clone(out.Bytes())
	l, err := ReadLog(&out, "merged.hlog", nil)
	if err != nil {
		t.Fatal(err)
	}
	equalRecorders(t, l.Rec, all)
	if c := l.Rec.Counts; c.Sent != all.Counts.Sent || c.Errors != all.Counts.Errors || c.ByClass["http 5xx"] != all.Counts.ByClass["http 5xx"] {
		t.Errorf("counts %+v, want %+v", c, all.Counts)
	}
	if sum.Intervals != 4 || sum.Counts.Sent != all.Counts.Sent || sum.Samples["total"] != all.Histogram("total").TotalCount() {
		t.Errorf("summary %+v", sum)
	}
	if !l.Start.Equal(t0.Add(100 * time.Millisecond)) {
		t.Errorf("merged start %v", l.Start)
	}
	// Seconds 0–2 hold both shards, second 3 only A.
	if len(l.Intervals) != 4 || l.Intervals[1].Planned != 600 || l.Intervals[3].Planned != 250 || l.Intervals[1].StartS != 1 {
		t.Errorf("merged interval counts %+v", l.Intervals)
	}
	if l.Header.Merged != 2 || l.Planned() != 1000+1050 || l.PlannedDuration() != 4*time.Second {
		t.Errorf("merged header %+v, planned %d over %v", l.Header, l.Planned(), l.PlannedDuration())
	}
	// B started 0.3s later and ran 3.5s: the merge ran from A's start to B's end.
	if got := l.Elapsed(); got != 4500*time.Millisecond {
		t.Errorf("merged elapsed %v, want 4.5s (A's)", got)
	}
	if l.Rec.Tail.Len() != TailSize(2050) || l.Rec.Tail.Slowest()[0].Total != max(recA.Tail.Slowest()[0].Total, recB.Tail.Slowest()[0].Total) {
		t.Errorf("merged tail: %d kept", l.Rec.Tail.Len())
	}

	// A merged log merges again: N shards in steps give the same as at once.
	var twice bytes.Buffer
	if _, err := MergeLogs(&twice, []NamedReader{{"m", bytes.NewReader(merged)}}); err != nil {
		t.Fatal(err)
	}
	l2, err := ReadLog(&twice, "twice", nil)
	if err != nil {
		t.Fatal(err)
	}
	equalRecorders(t, l2.Rec, all)
}

func TestMergeLogsRefusesOtherScenarios(t *testing.T) {
	_, a := writeTestLog(t, 1, time.Unix(1e9, 0), 1, 10)
	b := bytes.Replace(a, []byte(`"scenario":"test`), []byte(`"scenario":"other`), 1)
	_, err := MergeLogs(io.Discard, []NamedReader{{"a.hlog", bytes.NewReader(a)}, {"b.hlog", bytes.NewReader(b)}})
	if err == nil || !strings.Contains(err.Error(), `b.hlog is of scenario "other`) {
		t.Fatalf("err = %v", err)
	}
	_, err = MergeLogs(io.Discard, []NamedReader{{"x.hlog", strings.NewReader("0.000,1.000,0.0,HISTFAAAAB\n")}})
	if err == nil {
		t.Fatal("merging a log with a broken histogram: want an error")
	}
}

// A log cut short (the process died) still reads: what its intervals say,
// marked interrupted.
func TestReadLogCutShort(t *testing.T) {
	_, log := writeTestLog(t, 5, time.Unix(1.7e9, 0), 3, 100)
	cut := log[:bytes.Index(log, []byte("#tailgate counts"))]
	l, err := ReadLog(bytes.NewReader(cut), "cut.hlog", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !l.Interrupted() || l.Rec.Counts.Sent != 300 || l.Rec.Counts.OK+l.Rec.Counts.Errors != 300 || l.Elapsed() != 3001*time.Millisecond {
		t.Errorf("cut log: interrupted %v, counts %+v, elapsed %v", l.Interrupted(), l.Rec.Counts, l.Elapsed())
	}
}

func TestReadLogErrorsSayWhere(t *testing.T) {
	for _, tc := range []struct{ log, want string }{
		{"#[StartTime: x (seconds since epoch)]\n", "run.hlog:1: StartTime"},
		{"#tailgate header {\"format\":\"tailgate.hlog/v9\"}\n", "run.hlog:1: tailgate header: format"},
		{"#c\nTag=total,0.0,1.0,2.0,!!!\n", "run.hlog:2: interval total at 0.0s: histogram is not base64"},
		{"Tag=total,0.0,1.0\n", `run.hlog:1: "0.0,1.0" is not an interval line`},
		{"name: steady\n", `run.hlog:1: "name: steady" is not an interval line ([Tag=SOURCE,]start,length,max,histogram): is this an interval log?`},
		{"Tag=total\n", "run.hlog:1: interval: Tag= without"},
		{"#tailgate counts {\"sent\":\"x\"}\n", "run.hlog:1: tailgate counts record"},
	} {
		_, err := ReadLog(strings.NewReader(tc.log), "run.hlog", nil)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("ReadLog(%q) = %v, want %q…", tc.log, err, tc.want)
		}
	}
}

// A histogram whose header asks for a huge counts array is refused before
// it is allocated.
func TestReadLogRefusesHugeGeometry(t *testing.T) {
	h := hdrhistogram.New(1, 1<<62, 5)
	_ = h.RecordValue(10)
	payload, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		t.Fatal(err)
	}
	_, err = ReadLog(strings.NewReader("Tag=x,0,1,0,"+string(payload)+"\n"), "big.hlog", nil)
	if err == nil || !strings.Contains(err.Error(), "beyond what tailgate reads") {
		t.Fatalf("err = %v", err)
	}
	if n := countsLen(LowestUS, HighestUS, SigFigs); n != int64(len(NewHistogram().Export().Counts)) {
		t.Errorf("countsLen of tailgate's geometry = %d, want %d", n, len(NewHistogram().Export().Counts))
	}
}

func FuzzReadIntervalLog(f *testing.F) {
	_, log := writeTestLog(&testing.T{}, 9, time.Unix(1.7e9, 0), 2, 20)
	f.Add(log)
	f.Add([]byte("#[StartTime: 1 (seconds since epoch)]\n#[BaseTime: 0]\nTag=a,0,1,0,HISTFAAAACx42pNpmSzMwMDAyAABzFCaEUoz2X+AsQE1/wMn\n"))
	f.Add([]byte("#tailgate interval {\"start_s\":1,\"end_s\":0}\n"))
	f.Add([]byte("Tag=%zz,0,1,0,x\n"))
	f.Add([]byte(`#tailgate header {"format":"tailgate.hlog/v1","scenario":"a","planned":1,"planned_duration_s":1,"identity":"plan1-aa","shard":"1/3"}` + "\n"))
	f.Add([]byte(`#tailgate header {"format":"tailgate.hlog/v1","scenario":"a","planned":1,"planned_duration_s":1,"identity":"plan1-aa","shards":[0,2],"shard_count":4}` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		// Every interval line decodes a histogram of 23,552 counts: long
		// inputs of repeated lines only slow the search (and minimizing
		// what it finds) down.
		if len(data) > 8<<10 {
			return
		}
		l, err := ReadLog(bytes.NewReader(data), "fuzz.hlog", []float64{50, 99})
		if err != nil {
			return
		}
		// Whatever reads must be sane: counts never negative, histograms
		// within tailgate's range.
		for _, src := range l.Rec.Sources() {
			if h := l.Rec.Histogram(src); h.TotalCount() < 0 || h.Max() > NewHistogram().HighestTrackableValue()*2 {
				t.Fatalf("%s: count %d max %d", src, h.TotalCount(), h.Max())
			}
		}
		_ = l.Elapsed()
		_ = l.Interrupted()
		// What a header says of its shards is checked when read: listing the
		// missing ones is bounded.
		if l.Header != nil {
			if missing, n := l.Header.Missing(); len(missing) > n || n > MaxShards {
				t.Fatalf("missing %d of %d shards", len(missing), n)
			}
			_ = l.Header.Incomplete()
		}
	})
}

// benchLog is a log of secs one-second intervals of 8 sources, 500
// samples each.
func benchLog(b *testing.B, secs int) []byte {
	b.Helper()
	var buf bytes.Buffer
	rng := rand.New(rand.NewPCG(1, 1))
	lw := NewLogWriter(&buf, time.Unix(1.7e9, 0), LogHeader{Scenario: "bench"})
	for s := range secs {
		hists := map[string]*hdrhistogram.Histogram{}
		for i := range 8 {
			h := NewHistogram()
			for range 500 {
				_ = h.RecordValue(int64(1000 + rng.ExpFloat64()*float64(5000*(i+1))))
			}
			hists[fmt.Sprintf("source-%d", i)] = h
		}
		lw.Interval(time.Duration(s)*time.Second, time.Duration(s+1)*time.Second, hists)
		lw.Counts(IntervalCounts{StartS: float64(s), EndS: float64(s + 1), Planned: 500, Sent: 500})
	}
	if err := lw.Flush(); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// What a run's tick costs the recording goroutine: encoding one second of
// 8 sources.
func BenchmarkLogWriterTick(b *testing.B) {
	hists := map[string]*hdrhistogram.Histogram{}
	rng := rand.New(rand.NewPCG(1, 1))
	for i := range 8 {
		h := NewHistogram()
		for range 500 {
			_ = h.RecordValue(int64(1000 + rng.ExpFloat64()*5000))
		}
		hists[fmt.Sprintf("source-%d", i)] = h
	}
	lw := NewLogWriter(io.Discard, time.Unix(1.7e9, 0), LogHeader{Scenario: "bench"})
	b.ReportAllocs()
	for b.Loop() {
		lw.Interval(0, time.Second, hists)
		lw.Counts(IntervalCounts{EndS: 1, Planned: 500, Sent: 500})
		lw.Flush()
	}
}

// What `tailgate report` costs per second of a run of 8 sources.
func BenchmarkReadLog(b *testing.B) {
	log := benchLog(b, 60)
	b.SetBytes(int64(len(log)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ReadLog(bytes.NewReader(log), "bench", []float64{50, 99}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/60, "ns/run-second")
}
