package main

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"image"
	_ "image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tailgate-dev/tailgate/histogram"
	"github.com/tailgate-dev/tailgate/load"
	"github.com/tailgate-dev/tailgate/scenario"
	"github.com/tailgate-dev/tailgate/schedule"
)

func parseScenario(t *testing.T, yaml string) *scenario.Scenario {
	t.Helper()
	sc, err := scenario.Parse("s.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// snapshot is the tick a run makes of rec at elapsed.
func snapshot(rec *histogram.Recorder, elapsed time.Duration, final bool) load.Tick {
	t := load.Tick{Elapsed: elapsed, Counts: rec.Counts.Clone(), Interval: rec.TakeInterval(), Final: final}
	if final {
		t.Slowest = rec.Tail.Slowest()
	}
	return t
}

// The interval log a run's ticks write holds every sample once, per
// interval, with the plan's and the run's counts per interval.
func TestIntervalLogTicks(t *testing.T) {
	sc := parseScenario(t, `name: ticks
target: {url: embedded}
traffic:
  - constant: {rate: 10/s, duration: 2s}
  - constant: {rate: 30/s, duration: 1s}
budget: {total: {p99: 1s}}
`)
	dir := t.TempDir()
	tick, closeLog, err := openIntervalLog(dir, sc)
	if err != nil {
		t.Fatal(err)
	}
	rec := histogram.NewRecorder(5)
	rec.KeepIntervals()
	began := time.Now()
	send := func(n int, d time.Duration) {
		for range n {
			rec.Counts.Sent++
			rec.Counts.OK++
			rec.Record(scenario.SourceTotal, d)
			rec.Tail.Offer(d, []histogram.Part{{Name: "ttfb", D: d}})
		}
	}
	send(10, 5*time.Millisecond)
	tick(snapshot(rec, time.Second, false))
	send(10, 7*time.Millisecond)
	rec.Error("timeout")
	rec.Counts.Sent++
	tick(snapshot(rec, 2*time.Second, false))
	send(29, 9*time.Millisecond)
	tick(snapshot(rec, 3050*time.Millisecond, true))
	if err := closeLog(); err != nil {
		t.Fatal(err)
	}

	f, err := os.Open(filepath.Join(dir, fileRunHlog))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	l, err := histogram.ReadLog(f, "run.hlog", []float64{50})
	if err != nil {
		t.Fatal(err)
	}
	if !l.Rec.Histogram(scenario.SourceTotal).Equals(rec.Histogram(scenario.SourceTotal)) {
		t.Error("the log's total differs from the recorder's")
	}
	if c := l.Rec.Counts; c.Sent != 50 || c.Errors != 1 || c.ByClass["timeout"] != 1 {
		t.Errorf("counts %+v", c)
	}
	var planned, sent []int64
	for _, c := range l.Intervals {
		planned, sent = append(planned, c.Planned), append(sent, c.Sent)
	}
	if fmt.Sprint(planned) != "[10 10 30]" {
		t.Errorf("planned per interval %v, want [10 10 30]", planned)
	}
	if fmt.Sprint(sent) != "[10 11 29]" {
		t.Errorf("sent per interval %v, want [10 11 29]", sent)
	}
	if l.Header.Planned != 50 || l.Header.PlannedDurationS != 3 || l.Header.Scenario != "ticks" {
		t.Errorf("header %+v", l.Header)
	}
	// The log starts when the run began: the first tick, at once, said a
	// second had passed.
	if d := l.Start.Sub(began.Add(-time.Second)); d < -10*time.Millisecond || d > 50*time.Millisecond {
		t.Errorf("log starts %v after the run began", d)
	}
	if len(l.Timeline) != 3 || l.Timeline[2].Start != 2*time.Second || l.Timeline[2].End != 3050*time.Millisecond || histogram.LowestEquivalent(l.Timeline[2].Percentiles[0]) != 9*time.Millisecond {
		t.Errorf("timeline %+v", l.Timeline)
	}
	if len(l.Slow) != 5 || l.Slow[0].Total != 9*time.Millisecond {
		t.Errorf("slowest %+v", l.Slow)
	}
}

// A run's log says which shard of which plan it is, from when, and has a
// run id of its own; a whole run's log names no shard.
func TestIntervalLogHeader(t *testing.T) {
	sc := parseScenario(t, `name: header
seed: 9
target: {url: embedded}
traffic: [{constant: {rate: 10/s, duration: 1s}}]
budget: {total: {p99: 1s}}
`)
	at := time.Date(2030, 1, 2, 15, 4, 5, 0, time.UTC)
	header := func(sched *schedule.Schedule, planStart time.Time) *histogram.LogHeader {
		t.Helper()
		dir := t.TempDir()
		tick, closeLog, err := openIntervalLogOf(dir, sc, sched, planStart)
		if err != nil {
			t.Fatal(err)
		}
		rec := histogram.NewRecorder(1)
		rec.KeepIntervals()
		tick(snapshot(rec, time.Second, true))
		if err := closeLog(); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(filepath.Join(dir, fileRunHlog))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		meta, err := histogram.ReadLogMeta(f, "run.hlog")
		if err != nil {
			t.Fatal(err)
		}
		return meta.Header
	}
	shard := header(schedule.Of(sc).Shard(1, 3), at)
	if shard.Shard != "1/3" || shard.Identity != sc.Identity() || shard.Seed == nil || *shard.Seed != 9 || shard.Start == nil || !shard.Start.Equal(at) || shard.RunID == "" {
		t.Errorf("shard 1/3 started at %v: header %+v", at, shard)
	}
	if inc := shard.Incomplete(); inc != "shards 0/3 and 2/3 are missing" {
		t.Errorf("shard 1/3 alone: %q", inc)
	}
	began := time.Now()
	whole := header(schedule.Of(sc), time.Time{})
	if whole.Shard != "" || whole.Identity != sc.Identity() || whole.Start == nil || whole.Start.Sub(began).Abs() > 5*time.Second || whole.RunID == shard.RunID {
		t.Errorf("whole run: header %+v", whole)
	}
	if whole.Incomplete() != "" {
		t.Errorf("a whole run is incomplete: %q", whole.Incomplete())
	}
}

// report on a run's log gives the run's verdict, exit code and report.json
// byte for byte; judged against another budget, the same samples can fail.
func TestReportRejudgesRun(t *testing.T) {
	scenarios := map[string]string{
		"pass": `name: pass
target: {url: embedded}
traffic: [{constant: {rate: 40/s, duration: 1s}}]
service: {database: {p50: 2ms, p99: 20ms}}
budget: {total: {p95: 1s, p99: 2s}, database: {p99: 1s}, errors: 5%}
`,
		"fail": `name: fail
target: {url: embedded}
traffic: [{constant: {rate: 20/s, duration: 1s}}]
service: {database: {fixed: 30ms}}
budget: {total: {p99: 10ms}}
`,
	}
	for name, yaml := range scenarios {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "s.yaml")
			if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(dir, "out")
			var runOut, repOut, stderr bytes.Buffer
			runCode := run([]string{"run", "--quiet", "--out", out, path}, &runOut, &stderr)
			repCode := run([]string{"report", "--format", "json", filepath.Join(out, fileRunHlog), "--scenario", path}, &repOut, &stderr)
			if runCode != repCode {
				t.Errorf("run exit %d, report exit %d; stderr: %s", runCode, repCode, stderr.String())
			}
			saved, err := os.ReadFile(filepath.Join(out, fileReportJSON))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(saved, repOut.Bytes()) {
				t.Errorf("report differs from the run's report.json:\n%s\n---\n%s", saved, repOut.String())
			}
			if name == "pass" && runCode == exitPass {
				strict := filepath.Join(dir, "strict.yaml")
				os.WriteFile(strict, []byte(strings.Replace(yaml, "{p95: 1s, p99: 2s}", "{p95: 1ms, p99: 1ms}", 1)), 0o644)
				if code := run([]string{"report", "--quiet", filepath.Join(out, fileRunHlog), "--scenario", strict}, io.Discard, io.Discard); code != exitFail {
					t.Errorf("against a 1ms budget: exit %d, want %d", code, exitFail)
				}
			}
		})
	}
}

func TestLogCommandsExitCodes(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.hlog")
	os.WriteFile(garbage, []byte("not a log\n"), 0o644)
	sc := filepath.Join(dir, "s.yaml")
	os.WriteFile(sc, []byte("target: {url: embedded}\ntraffic: [{constant: {rate: 1/s, duration: 1s}}]\nbudget: {total: {p99: 1s}}\n"), 0o644)
	for _, args := range [][]string{
		{"report", garbage},
		{"report", garbage, "--scenario", sc},
		{"report", filepath.Join(dir, "missing.hlog"), "--scenario", sc},
		{"report", garbage, "--scenario", filepath.Join(dir, "missing.yaml")},
		{"merge", garbage, "-o", filepath.Join(dir, "m.hlog")},
		{"merge", garbage},
		{"plot", garbage, "-o", dir},
		{"plot", garbage},
	} {
		var stderr bytes.Buffer
		if code := run(args, io.Discard, &stderr); code != exitInvalid {
			t.Errorf("tailgate %s: exit %d, want %d (%s)", strings.Join(args, " "), code, exitInvalid, stderr.String())
		}
	}
}

// Every figure of a run is a PNG that decodes and an SVG that parses, and
// plotFigures hands the SVGs to the HTML report.
func TestPlotFiguresAreValid(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s.yaml")
	os.WriteFile(path, []byte(`name: figs
target: {url: embedded}
traffic: [{ramp: {from: 10/s, to: 40/s, duration: 2s}}]
service: {database: {p50: 3ms, p99: 30ms}}
budget: {total: {p95: 100ms, p99: 200ms}, database: {p95: 10ms, p99: 40ms}, tls: {p99: 50ms}}
`), 0o644)
	out := filepath.Join(dir, "out")
	run([]string{"run", "--quiet", "--out", out, path}, io.Discard, io.Discard)
	sc, err := scenario.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	l, err := readLog(filepath.Join(out, fileRunHlog), nil)
	if err != nil {
		t.Fatal(err)
	}
	plots := filepath.Join(dir, "plots")
	os.Mkdir(plots, 0o755)
	figs, err := plotFigures(plots, measured{sc: sc, rec: l.Rec, res: judgeLog(sc, l)}, filepath.Join(out, fileRunHlog), nil)
	if err != nil {
		t.Fatal(err)
	}
	var titles []string
	for _, f := range figs {
		titles = append(titles, f.Title)
		if !bytes.HasPrefix(bytes.TrimSpace(f.SVG), []byte("<?xml")) && !bytes.Contains(f.SVG[:min(200, len(f.SVG))], []byte("<svg")) {
			t.Errorf("%s: SVG starts %q", f.Title, f.SVG[:min(60, len(f.SVG))])
		}
		stem := strings.TrimSuffix(f.File, ".png")
		for _, d := range []string{out, plots} {
			checkPNG(t, filepath.Join(d, stem+".png"))
			checkSVG(t, filepath.Join(d, stem+".svg"))
		}
	}
	want := "latency by percentile|total latency and request rate over time|observed against budget"
	if got := strings.Join(titles, "|"); got != want {
		t.Errorf("figures %q, want %q", got, want)
	}
}

func checkPNG(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, format, err := image.Decode(f)
	if err != nil || format != "png" {
		t.Fatalf("%s: %v (%s)", path, err, format)
	}
	if b := img.Bounds(); b.Dx() < 800 || b.Dy() < 500 {
		t.Errorf("%s: %dx%d", path, b.Dx(), b.Dy())
	}
}

func checkSVG(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(bytes.NewReader(data))
	texts := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "text" {
			texts++
		}
	}
	if texts < 5 {
		t.Errorf("%s: %d text elements: no title, axes or legend?", path, texts)
	}
}
