package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tailgate-dev/tailgate/budget"
	"github.com/tailgate-dev/tailgate/embedded"
	"github.com/tailgate-dev/tailgate/histogram"
	"github.com/tailgate-dev/tailgate/load"
	"github.com/tailgate-dev/tailgate/scenario"
	"github.com/tailgate-dev/tailgate/schedule"
)

func TestParseShard(t *testing.T) {
	for _, tc := range []struct {
		in   string
		i, n int
		err  string
	}{
		{"0/1", 0, 1, ""},
		{"2/3", 2, 3, ""},
		{"15/16", 15, 16, ""},
		{"3/3", 0, 0, "i must be from 0 to N−1 = 2"},
		{"-1/3", 0, 0, "i must be from 0 to N−1 = 2"},
		{"0/0", 0, 0, "N must be at least 1"},
		{"1", 0, 0, "want i/N"},
		{"a/3", 0, 0, "whole numbers"},
		{"1/2/3", 0, 0, "whole numbers"},
		{" 1/2", 0, 0, "whole numbers"},
	} {
		i, n, err := parseShard(tc.in)
		switch {
		case tc.err == "" && (err != nil || i != tc.i || n != tc.n):
			t.Errorf("parseShard(%q) = %d, %d, %v; want %d, %d", tc.in, i, n, err, tc.i, tc.n)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("parseShard(%q) error %v, want one saying %q", tc.in, err, tc.err)
		}
	}
}

func TestShardIndex(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == jobIndexEnv {
				return v
			}
			return ""
		}
	}
	for _, tc := range []struct {
		name string
		f    shardFlags
		i, n int
		err  string
	}{
		{"unsplit", shardFlags{}, 0, 1, ""},
		{"--shard", shardFlags{shard: "1/4"}, 1, 4, ""},
		{"--shards from the Job", shardFlags{shards: 4, getenv: env("3")}, 3, 4, ""},
		{"no index", shardFlags{shards: 4, getenv: env("")}, 0, 0, "$JOB_COMPLETION_INDEX is not set"},
		{"index out of range", shardFlags{shards: 4, getenv: env("4")}, 0, 0, `$JOB_COMPLETION_INDEX="4": want a whole number from 0 to 3`},
		{"index not a number", shardFlags{shards: 4, getenv: env("x")}, 0, 0, "want a whole number"},
		{"both", shardFlags{shard: "0/2", shards: 2, getenv: env("0")}, 0, 0, "give one"},
		{"negative", shardFlags{shards: -2}, 0, 0, "at least 1"},
		{"bad --shard", shardFlags{shard: "2/2"}, 0, 0, "--shard 2/2: i must be"},
	} {
		i, n, err := tc.f.index()
		if tc.err == "" {
			if err != nil || i != tc.i || n != tc.n {
				t.Errorf("%s: index() = %d, %d, %v; want %d, %d", tc.name, i, n, err, tc.i, tc.n)
			}
			continue
		}
		var ue usageError
		if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.As(err, &ue) {
			t.Errorf("%s: index() error %v, want a usage error saying %q", tc.name, err, tc.err)
		}
	}
}

func TestStartAt(t *testing.T) {
	now := time.Date(2030, 1, 2, 15, 4, 5, 0, time.UTC)
	clock := func() time.Time { return now }
	for _, tc := range []struct {
		in   string
		want time.Time
		err  string
	}{
		{"", time.Time{}, ""},
		{"2030-01-02T15:05:00Z", now.Add(55 * time.Second), ""},
		{"2030-01-02T17:05:00+02:00", now.Add(55 * time.Second), ""},
		{"2030-01-02T15:04:05.5Z", now.Add(500 * time.Millisecond), ""},
		{"2030-01-02T15:03:10Z", now.Add(-55 * time.Second), ""}, // late, within a minute
		{"2030-01-02T15:03:00Z", time.Time{}, "is 1m5s in the past (at most 1m0s)"},
		{"15:05", time.Time{}, "want an RFC 3339 time"},
		{"2030-01-02 15:05:00", time.Time{}, "want an RFC 3339 time"},
	} {
		f := shardFlags{startAt: tc.in, now: clock}
		got, err := f.start()
		switch {
		case tc.err == "" && (err != nil || !got.Equal(tc.want)):
			t.Errorf("--start-at %q = %v, %v; want %v", tc.in, got, err, tc.want)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("--start-at %q: error %v, want one saying %q", tc.in, err, tc.err)
		}
	}
}

func TestWaitUntilStart(t *testing.T) {
	// The clock says it is 150ms before the start: wait sleeps that long.
	at := time.Date(2030, 1, 2, 15, 4, 5, 0, time.UTC)
	offset := at.Add(-150 * time.Millisecond).Sub(time.Now())
	f := shardFlags{startAt: "2030-01-02T15:04:05Z", now: func() time.Time { return time.Now().Add(offset) }}
	var stderr bytes.Buffer
	began := time.Now()
	if err := f.wait(context.Background(), false, &stderr); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(began); waited < 140*time.Millisecond {
		t.Errorf("waited %v, want about 150ms", waited)
	}
	if !strings.Contains(stderr.String(), "waiting 150ms until 2030-01-02T15:04:05Z") {
		t.Errorf("stderr %q does not say how long it waits", stderr.String())
	}

	// Interrupted while waiting: an error, and nothing is sent.
	offset = at.Add(-time.Hour).Sub(time.Now())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := f.wait(ctx, true, io.Discard); err == nil || !strings.Contains(err.Error(), "interrupted while waiting") {
		t.Errorf("interrupted wait: %v, want an error", err)
	}

	// Late by less than the limit: start at once, saying so.
	offset = at.Add(2 * time.Second).Sub(time.Now())
	stderr.Reset()
	began = time.Now()
	if err := f.wait(context.Background(), false, &stderr); err != nil || time.Since(began) > 50*time.Millisecond {
		t.Errorf("late start: %v after %v, want at once", err, time.Since(began))
	}
	if !strings.Contains(stderr.String(), "warning: starting 2s after --start-at") {
		t.Errorf("stderr %q does not say how late the start is", stderr.String())
	}
}

// Bad shard flags are invalid input: exit 2 before anything is sent.
func TestShardFlagsExitCodes(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s.yaml")
	if err := os.WriteFile(path, []byte(shardScenario("embedded", 100, 2)), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(jobIndexEnv, "")
	for _, args := range [][]string{
		{"--shard", "3/3"},
		{"--shard", "x"},
		{"--shards", "3"},
		{"--start-at", "2001-01-01T00:00:00Z"},
		{"--start-at", "tomorrow"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(append([]string{"run", path}, args...), &stdout, &stderr)
		if code != exitInvalid || !strings.HasPrefix(stderr.String(), "tailgate: --s") {
			t.Errorf("run %s: exit %d, stderr %q; want exit 2 naming the flag", strings.Join(args, " "), code, stderr.String())
		}
	}
}

// A shard's report counts its own requests: of 40, shard 1/3 sends 13
// (requests 1, 4, … 37), whether the index comes from --shard or from
// $JOB_COMPLETION_INDEX with --shards.
func TestShardRunCounts(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s.yaml")
	y := "name: steady\ntarget: {url: embedded}\ntraffic: [{constant: {rate: 20/s, duration: 2s}}]\n" +
		"service: {database: {fixed: 5ms}}\nbudget: {total: {p99: 1s}, errors: 1%}\n"
	if err := os.WriteFile(path, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		env  string
	}{
		{[]string{"--shard", "1/3"}, ""},
		{[]string{"--shards", "3"}, "2"},
	} {
		t.Setenv(jobIndexEnv, tc.env)
		var stdout, stderr bytes.Buffer
		// Any verdict will do (a stalled CPU could make it 3): the counts are the point.
		code := run(append([]string{"run", path, "--format", "json"}, tc.args...), &stdout, &stderr)
		if code == exitInvalid {
			t.Fatalf("%v: exit 2: %s", tc.args, stderr.String())
		}
		r := decodeReport(t, fmt.Sprint(tc.args), stdout.Bytes())
		if r.Requests.Planned != 13 || r.Requests.Sent != 13 {
			t.Errorf("%v: planned %d, sent %d; want 13 of the plan's 40", tc.args, r.Requests.Planned, r.Requests.Sent)
		}
		if !strings.Contains(stderr.String(), "of the plan's 40 requests") || !strings.Contains(stderr.String(), "url: embedded starts a service in each shard") {
			t.Errorf("%v: stderr %q does not say which shard runs, or warn about embedded", tc.args, stderr.String())
		}
	}
}

// shardScenario is a Poisson plan against url at rate for d seconds, with a
// database delay that spreads the percentiles, though not so far that a few
// samples decide p99.
func shardScenario(url string, rate, d int) string {
	return fmt.Sprintf(`name: shards
seed: 3
target: {url: %q, method: GET, timeout: 5s}
traffic:
  - poisson: {rate: %d/s, duration: %ds}
service:
  workers: 512
  queue: 1024
  database: {p50: 20ms, p99: 40ms}
budget:
  total: {p50: 1s, p90: 2s, p99: 3s}
  errors: 1%%
`, url, rate, d)
}

// Tolerances of a sharded run's percentiles against a single process's.
// Both runs draw the same service delays for the same sequence numbers, but
// each shard numbers its own requests from 0, so the shards' delays are the
// first third of the single run's three times over: the comparison is of
// two samples of one distribution, plus timer noise. A CPU stall on a busy
// machine (tests of other packages run beside these) moves the p99 of a few
// hundred samples, so a comparison that misses is measured once more.
var shardTolerance = map[float64]float64{50: 0.10, 90: 0.20, 99: 0.40}

// compareTotals compares the total percentiles of a sharded and a single
// run; it returns what is out of tolerance.
func compareTotals(t *testing.T, sharded, single func(p float64) time.Duration) []string {
	t.Helper()
	var bad []string
	for _, p := range []float64{50, 90, 99} {
		a, b := sharded(p), single(p)
		rel := math.Abs(float64(a-b)) / float64(b)
		t.Logf("total p%v: shards %v, one process %v (%.1f%% apart, tolerance %.0f%%)", p, a, b, 100*rel, 100*shardTolerance[p])
		if rel > shardTolerance[p] {
			bad = append(bad, fmt.Sprintf("total p%v: shards merged %v, one process %v: %.0f%% apart, over %.0f%%", p, a, b, 100*rel, 100*shardTolerance[p]))
		}
	}
	return bad
}

// twice runs attempt, and once more if its comparison missed or a
// generator saturated. A saturated generator (schedule lag p99 over 10ms)
// is what tailgate itself calls no trustworthy verdict: if both attempts
// saturate, the machine is too busy to compare percentiles, and the test
// skips that comparison (counts and the merge were checked regardless).
func twice(t *testing.T, attempt func() (bad []string, saturated string)) {
	t.Helper()
	bad, saturated := attempt()
	if len(bad) == 0 && saturated == "" {
		return
	}
	t.Logf("measuring again: %s", strings.Join(append(bad, saturated), "; "))
	bad, saturated = attempt()
	if saturated != "" {
		t.Skipf("%s in both attempts: this machine is too busy to compare percentiles", saturated)
	}
	for _, b := range bad {
		t.Error(b)
	}
}

// Three shards run at once against one service add up to the plan, and
// their merged histograms match a single process's run of the same plan.
// This is the distributed run in one process: the process-level test below
// does the same through the command line.
func TestShardsAddUpToOneRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 8s of traffic")
	}
	sc, err := scenario.Parse("shards.yaml", []byte(shardScenario("embedded", 200, 4)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	srv, err := embedded.Start(ctx, sc, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	full := schedule.Of(sc)

	twice(t, func() ([]string, string) {
		const n = 3
		merged := histogram.NewRecorder(histogram.TailSize(full.Requests()))
		var planned int64
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				out, err := load.Run(ctx, sc, load.Options{URL: srv.URL(), Schedule: full.Shard(i, n)})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				merged.Merge(out.Rec)
				planned += out.Planned
			})
		}
		wg.Wait()
		if planned != full.Requests() || merged.Counts.Sent != full.Requests() {
			t.Fatalf("shards planned %d and sent %d, the plan has %d", planned, merged.Counts.Sent, full.Requests())
		}
		if merged.Counts.Errors != 0 {
			t.Fatalf("shards: %d errors %v", merged.Counts.Errors, merged.Counts.ByClass)
		}
		single, err := load.Run(ctx, sc, load.Options{URL: srv.URL()})
		if err != nil {
			t.Fatal(err)
		}
		if single.Rec.Counts.Sent != full.Requests() {
			t.Fatalf("one process sent %d of %d", single.Rec.Counts.Sent, full.Requests())
		}
		total := func(rec *histogram.Recorder) func(float64) time.Duration {
			return func(p float64) time.Duration {
				d, _, _ := rec.Percentile(scenario.SourceTotal, p)
				return d
			}
		}
		saturated := ""
		for what, rec := range map[string]*histogram.Recorder{"the shards": merged, "one process": single.Rec} {
			if lag, _, _ := rec.Percentile(load.SourceLag, 99); lag > budget.MaxLagP99 {
				saturated = fmt.Sprintf("%s fell behind the schedule (lag p99 %v)", what, lag)
			}
		}
		return compareTotals(t, total(merged), total(single.Rec)), saturated
	})
}

// runReport is the part of report.json this test reads.
type runReport struct {
	Requests struct {
		Planned, Sent, OK int64
	}
	Saturation struct {
		Saturated bool
		LagP99Ms  float64 `json:"lag_p99_ms"`
	}
	Lines []struct {
		Name        string
		Count       int64
		Percentiles []struct {
			P          float64
			ObservedMs *float64 `json:"observed_ms"`
		}
	}
}

func (r runReport) percentile(t *testing.T, line string, p float64) time.Duration {
	t.Helper()
	for _, l := range r.Lines {
		if l.Name != line {
			continue
		}
		for _, q := range l.Percentiles {
			if q.P == p && q.ObservedMs != nil {
				return time.Duration(math.Round(*q.ObservedMs * float64(time.Millisecond)))
			}
		}
	}
	t.Fatalf("the report has no %s p%v", line, p)
	return 0
}

// tailgate runs the built binary; it returns stdout and the exit code.
func tailgate(t *testing.T, bin string, args ...string) ([]byte, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	code := cmd.ProcessState.ExitCode()
	if err != nil && code < 0 {
		t.Fatalf("tailgate %s: %v", strings.Join(args, " "), err)
	}
	if code == exitInvalid {
		t.Fatalf("tailgate %s: exit 2: %s", strings.Join(args, " "), stderr.String())
	}
	return out, code
}

func decodeReport(t *testing.T, what string, data []byte) runReport {
	t.Helper()
	var r runReport
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatalf("%s: %v in %s", what, err, data)
	}
	return r
}

// The distributed run as a user makes it: `tailgate serve` as the one
// target, three `tailgate run --shard i/3 --start-at T` processes, then
// `tailgate merge` and `tailgate report` on their run.hlog files. The
// merged report counts the whole plan, its percentiles are exactly those of
// the shards' histograms added up, and they match a single process's run.
func TestShardProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds tailgate and runs 8s of traffic")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "tailgate")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	// One target for every shard: tailgate serve on a free port.
	serveFile := filepath.Join(dir, "serve.yaml")
	if err := os.WriteFile(serveFile, []byte(shardScenario("embedded", 200, 4)), 0o644); err != nil {
		t.Fatal(err)
	}
	serve := exec.Command(bin, "serve", serveFile, "--addr", "127.0.0.1:0")
	stdout, err := serve.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		serve.Process.Signal(os.Interrupt)
		serve.Wait()
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("tailgate serve printed %q: %v", line, err)
	}
	url := ""
	for _, f := range strings.Fields(line) {
		if strings.HasPrefix(f, "http://") {
			url = strings.TrimSuffix(f, ";")
		}
	}
	if url == "" {
		t.Fatalf("no URL in %q", line)
	}
	file := filepath.Join(dir, "shards.yaml")
	if err := os.WriteFile(file, []byte(shardScenario(url, 200, 4)), 0o644); err != nil {
		t.Fatal(err)
	}
	sc, err := scenario.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	planned := schedule.Of(sc).Requests()

	attempt := 0
	twice(t, func() ([]string, string) {
		attempt++
		run := filepath.Join(dir, fmt.Sprint(attempt))
		merged, single, saturated := runShards(t, bin, run, file, planned)
		return compareTotals(t, merged, single), saturated
	})
}

// runShards runs file as 3 shard processes started together, merges and
// judges their logs, checks the merged counts and that the merge is exact,
// then runs file in one process. It returns both runs' total percentiles,
// and which run's generator saturated, if one did.
func runShards(t *testing.T, bin, dir, file string, planned int64) (merged, single func(float64) time.Duration, saturated string) {
	t.Helper()
	const n = 3
	start := time.Now().Add(2 * time.Second).UTC().Format(time.RFC3339Nano)
	outs := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			// Exit 1 and 3 are verdicts; the report is on stdout either way.
			cmd := exec.Command(bin, "run", file, "--shard", fmt.Sprintf("%d/%d", i, n), "--start-at", start,
				"--format", "json", "--out", filepath.Join(dir, fmt.Sprint(i)))
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			outs[i], errs[i] = cmd.Output()
			if code := cmd.ProcessState.ExitCode(); code == exitInvalid || code < 0 {
				errs[i] = fmt.Errorf("exit %d: %v: %s", code, errs[i], stderr.String())
			} else {
				errs[i] = nil
			}
		})
	}
	wg.Wait()
	var sum, sent int64
	var hlogs []string
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("shard %d: %v", i, errs[i])
		}
		r := decodeReport(t, fmt.Sprintf("shard %d", i), outs[i])
		sum += r.Requests.Planned
		sent += r.Requests.Sent
		if want := (planned - int64(i) + n - 1) / n; r.Requests.Planned != want {
			t.Errorf("shard %d/%d planned %d, want %d", i, n, r.Requests.Planned, want)
		}
		hlogs = append(hlogs, filepath.Join(dir, fmt.Sprint(i), "run.hlog"))
	}
	if sum != planned || sent != planned {
		t.Fatalf("shards planned %d and sent %d, the plan has %d", sum, sent, planned)
	}

	mergedLog := filepath.Join(dir, "merged.hlog")
	if _, code := tailgate(t, bin, append(append([]string{"merge"}, hlogs...), "-o", mergedLog)...); code != 0 {
		t.Fatalf("tailgate merge: exit %d", code)
	}
	// Each shard's log says which shard of the one plan it is, from the one
	// --start-at, with a run id of its own; the merged log holds them all.
	at, err := time.Parse(time.RFC3339Nano, start)
	if err != nil {
		t.Fatal(err)
	}
	headers := make([]*histogram.LogHeader, 0, n+1)
	for _, h := range append(hlogs, mergedLog) {
		f, err := os.Open(h)
		if err != nil {
			t.Fatal(err)
		}
		meta, err := histogram.ReadLogMeta(f, h)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		headers = append(headers, meta.Header)
	}
	runIDs := map[string]bool{}
	for i, h := range headers[:n] {
		if h.Shard != fmt.Sprintf("%d/%d", i, n) || h.Identity == "" || h.Identity != headers[0].Identity || h.Start == nil || !h.Start.Equal(at) || h.RunID == "" || runIDs[h.RunID] {
			t.Errorf("shard %d/%d started at %v: header %+v", i, n, at, h)
		}
		runIDs[h.RunID] = true
	}
	if h := headers[n]; fmt.Sprint(h.Shards) != "[0 1 2]" || h.ShardCount != n || h.Identity != headers[0].Identity || h.Incomplete() != "" || h.Start == nil || !h.Start.Equal(at) {
		t.Errorf("merged header %+v", h)
	}

	out, _ := tailgate(t, bin, "report", mergedLog, "--scenario", file, "--format", "json")
	m := decodeReport(t, "merged", out)
	if m.Requests.Planned != planned || m.Requests.Sent != planned {
		t.Errorf("merged report: %d planned, %d sent; the plan has %d", m.Requests.Planned, m.Requests.Sent, planned)
	}

	// The merge is exact: its percentiles are those of the shards'
	// histograms added up here.
	added := histogram.NewRecorder(1)
	for _, h := range hlogs {
		f, err := os.Open(h)
		if err != nil {
			t.Fatal(err)
		}
		l, err := histogram.ReadLog(f, h, nil)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		added.Merge(l.Rec)
	}
	for _, p := range []float64{50, 90, 99} {
		got := m.percentile(t, "total", p)
		want, _, _ := added.Percentile(scenario.SourceTotal, p)
		if d := got - want; d < -time.Microsecond || d > time.Microsecond {
			t.Errorf("total p%v: merged report %v, the shards' histograms added up %v", p, got, want)
		}
	}

	out, _ = tailgate(t, bin, "run", file, "--format", "json")
	one := decodeReport(t, "one process", out)
	for what, r := range map[string]runReport{"the shards": m, "one process": one} {
		if r.Saturation.Saturated {
			saturated = fmt.Sprintf("%s fell behind the schedule (lag p99 %.1fms)", what, r.Saturation.LagP99Ms)
		}
	}
	return func(p float64) time.Duration { return m.percentile(t, "total", p) },
		func(p float64) time.Duration { return one.percentile(t, "total", p) }, saturated
}
