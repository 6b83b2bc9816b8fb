package histogram

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

var partStart = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// shardHeader is the header of shard i of n (n = 1: a whole run) of plan
// "plan1-aa", seed 7, with a run id of its own.
func shardHeader(i, n int) LogHeader {
	seed := uint64(7)
	start := partStart.Add(time.Duration(i) * time.Millisecond)
	h := LogHeader{Scenario: "api", Mode: "run", Planned: 100, PlannedDurationS: 2, Identity: "plan1-aa", Seed: &seed, Start: &start, RunID: fmt.Sprintf("run-%d-of-%d", i, n)}
	if n > 1 {
		h.Shard = fmt.Sprintf("%d/%d", i, n)
	}
	return h
}

// partLog writes a log of two seconds with header h.
func partLog(t *testing.T, h LogHeader, seed uint64) []byte {
	t.Helper()
	var buf bytes.Buffer
	rec := NewRecorder(5)
	lw := NewLogWriter(&buf, partStart, h)
	fakeRun(t, rec, lw, seed, 2, 50)
	if err := lw.End(rec.Counts, rec.Tail.Slowest()); err != nil {
		t.Fatal(err)
	}
	if err := lw.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// merge merges named logs and reads the merged log back.
func merge(t *testing.T, logs map[string][]byte, names ...string) (*MergeSummary, *Log, error) {
	t.Helper()
	var in []NamedReader
	for _, n := range names {
		in = append(in, NamedReader{Name: n, R: bytes.NewReader(logs[n])})
	}
	var out bytes.Buffer
	sum, err := MergeLogs(&out, in)
	if err != nil {
		return nil, nil, err
	}
	l, err := ReadLog(bytes.NewReader(out.Bytes()), "merged.hlog", nil)
	if err != nil {
		t.Fatal(err)
	}
	logs["merged"] = out.Bytes()
	return sum, l, nil
}

// The shards of one plan merge into a log that says which it holds: all of
// them, or some, to be merged again with the rest.
func TestMergeRecordsShards(t *testing.T) {
	logs := map[string][]byte{}
	for i := range 3 {
		logs[fmt.Sprintf("s%d.hlog", i)] = partLog(t, shardHeader(i, 3), uint64(i))
	}
	_, l, err := merge(t, logs, "s2.hlog", "s0.hlog", "s1.hlog")
	if err != nil {
		t.Fatal(err)
	}
	h := l.Header
	if fmt.Sprint(h.Shards) != "[0 1 2]" || h.ShardCount != 3 || h.Shard != "" || h.Identity != "plan1-aa" || h.Seed == nil || *h.Seed != 7 || h.RunID != "" {
		t.Errorf("merged header %+v", h)
	}
	if h.Start == nil || !h.Start.Equal(partStart) {
		t.Errorf("merged start %v, want the earliest, %v", h.Start, partStart)
	}
	if inc := h.Incomplete(); inc != "" {
		t.Errorf("every shard merged, yet %q", inc)
	}

	// Two of three, then the third: a merged log merges again.
	sum, l, err := merge(t, logs, "s0.hlog", "s2.hlog")
	if err != nil {
		t.Fatal(err)
	}
	if inc := l.Header.Incomplete(); inc != "shard 1/3 is missing" || sum.Header.Incomplete() != inc {
		t.Errorf("shards 0 and 2 of 3: %q", inc)
	}
	logs["two.hlog"] = logs["merged"]
	if _, _, err := merge(t, logs, "two.hlog", "s2.hlog"); err == nil || err.Error() != "two.hlog and s2.hlog both hold shard 2/3: merge each shard once" {
		t.Errorf("shard 2 merged in twice: %v", err)
	}
	_, l, err = merge(t, logs, "two.hlog", "s1.hlog")
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(l.Header.Shards) != "[0 1 2]" || l.Header.Incomplete() != "" || l.Rec.Counts.Sent != 300 {
		t.Errorf("merged again: header %+v, %d sent", l.Header, l.Rec.Counts.Sent)
	}
}

// Logs that are not distinct shards of one plan are refused, each problem
// named with the files it is about.
func TestMergeRefuses(t *testing.T) {
	other := func(i, n int, edit func(*LogHeader)) LogHeader {
		h := shardHeader(i, n)
		edit(&h)
		return h
	}
	logs := map[string][]byte{
		"s0.hlog":     partLog(t, shardHeader(0, 3), 1),
		"s1.hlog":     partLog(t, shardHeader(1, 3), 2),
		"copy.hlog":   partLog(t, shardHeader(1, 3), 2), // the same run id as s1
		"again.hlog":  partLog(t, other(1, 3, func(h *LogHeader) { h.RunID = "another run" }), 3),
		"plan.hlog":   partLog(t, other(2, 3, func(h *LogHeader) { h.Identity = "plan1-bb" }), 4),
		"seed.hlog":   partLog(t, other(2, 3, func(h *LogHeader) { s := uint64(8); h.Seed, h.Identity = &s, "plan1-cc" }), 5),
		"n4.hlog":     partLog(t, shardHeader(2, 4), 6),
		"whole.hlog":  partLog(t, shardHeader(0, 1), 7),
		"whole2.hlog": partLog(t, other(0, 1, func(h *LogHeader) { h.RunID = "second" }), 8),
		"old.hlog":    partLog(t, LogHeader{Scenario: "api", Mode: "run", Planned: 100, PlannedDurationS: 2}, 9),
		"name.hlog":   partLog(t, other(2, 3, func(h *LogHeader) { h.Scenario = "web" }), 10),
	}
	for _, tc := range []struct {
		names []string
		want  string
	}{
		{[]string{"s1.hlog", "copy.hlog"}, "s1.hlog and copy.hlog are one run (run id run-1-of-3): the same log given twice, or a copy of it"},
		{[]string{"s0.hlog", "s1.hlog", "again.hlog"}, "s1.hlog and again.hlog both hold shard 1/3: merge each shard once"},
		{[]string{"s0.hlog", "plan.hlog"}, "plan.hlog is of plan plan1-bb and s0.hlog of plan plan1-aa: the shards of a run share the scenario file and its --set, --rate-scale and --duration"},
		{[]string{"s0.hlog", "seed.hlog"}, "seed.hlog was run with seed 8 and s0.hlog with seed 7: the shards of a run share the scenario and its seed"},
		{[]string{"s0.hlog", "n4.hlog"}, "n4.hlog is shard 2/4 and s0.hlog is shard 0/3: the shards of a run split its plan alike (one N in --shard i/N)"},
		{[]string{"s0.hlog", "whole.hlog"}, "whole.hlog is a whole run and s0.hlog is shard 0/3: merge the shards of one distributed run (tailgate run --shard i/N), not whole runs"},
		{[]string{"whole.hlog", "whole2.hlog"}, "whole.hlog and whole2.hlog are both whole runs of the plan: merge the shards of one distributed run (tailgate run --shard i/N), each once"},
		{[]string{"s0.hlog", "old.hlog"}, "old.hlog does not record its plan (written by an earlier tailgate) and s0.hlog does: there is no telling whether they are shards of one plan; merge logs of one tailgate"},
		{[]string{"s0.hlog", "name.hlog"}, `name.hlog is of scenario "web", s0.hlog of "api": merge shards of one scenario`},
	} {
		var out bytes.Buffer
		var in []NamedReader
		for _, n := range tc.names {
			in = append(in, NamedReader{Name: n, R: bytes.NewReader(logs[n])})
		}
		_, err := MergeLogs(&out, in)
		if err == nil || err.Error() != tc.want {
			t.Errorf("merge %s: %v\nwant %s", strings.Join(tc.names, " "), err, tc.want)
		}
		if out.Len() != 0 {
			t.Errorf("merge %s wrote %d bytes before refusing", strings.Join(tc.names, " "), out.Len())
		}
	}

	// A whole run merged alone is still that run, with its run id: merged
	// with itself later, it is refused as one run.
	_, l, err := merge(t, logs, "whole.hlog")
	if err != nil {
		t.Fatal(err)
	}
	if l.Header.RunID != "run-0-of-1" || len(l.Header.Shards) != 0 || l.Header.Incomplete() != "" {
		t.Errorf("a whole run merged alone: %+v", l.Header)
	}
}

// Logs written before logs recorded their plan merge as before, on their
// scenario's name, with a warning that nothing more was checked.
func TestMergeOldLogs(t *testing.T) {
	old := LogHeader{Scenario: "api", Mode: "run", Planned: 100, PlannedDurationS: 2}
	logs := map[string][]byte{"a.hlog": partLog(t, old, 1), "b.hlog": partLog(t, old, 2)}
	sum, l, err := merge(t, logs, "a.hlog", "b.hlog")
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Warnings) != 1 || !strings.HasPrefix(sum.Warnings[0], "a.hlog, b.hlog do not record their plan") {
		t.Errorf("warnings %q", sum.Warnings)
	}
	if l.Header.Identity != "" || l.Header.Incomplete() != "" || l.Rec.Counts.Sent != 200 {
		t.Errorf("merged old logs: %+v, %d sent", l.Header, l.Rec.Counts.Sent)
	}
}

func TestIncomplete(t *testing.T) {
	for _, tc := range []struct {
		h    LogHeader
		want string
	}{
		{shardHeader(0, 1), ""},
		{shardHeader(1, 3), "shards 0/3 and 2/3 are missing"},
		{shardHeader(0, 2), "shard 1/2 is missing"},
		{LogHeader{Identity: "plan1-aa", Shards: []int{0, 2}, ShardCount: 5}, "shards 1/5, 3/5 and 4/5 are missing"},
		{LogHeader{Identity: "plan1-aa", Shards: []int{0, 1, 2}, ShardCount: 3}, ""},
		{LogHeader{Identity: "plan1-aa", Shards: []int{0}, ShardCount: 20}, "shards 1/20, 2/20, 3/20, 4/20, 5/20, 6/20, 7/20, 8/20, 9/20, 10/20, 11/20, 12/20 and 7 more are missing"},
		// A log that does not say what it holds is not called incomplete.
		{LogHeader{Merged: 2}, ""},
	} {
		if got := tc.h.Incomplete(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.h, got, tc.want)
		}
	}
}

// A header that says nonsense about its shards is refused when read.
func TestHeaderShardsChecked(t *testing.T) {
	for _, header := range []string{
		`{"format":"tailgate.hlog/v1","scenario":"a","planned":1,"planned_duration_s":1,"shard":"3/3"}`,
		`{"format":"tailgate.hlog/v1","scenario":"a","planned":1,"planned_duration_s":1,"shard":"x"}`,
		`{"format":"tailgate.hlog/v1","scenario":"a","planned":1,"planned_duration_s":1,"shards":[0,1]}`,
		`{"format":"tailgate.hlog/v1","scenario":"a","planned":1,"planned_duration_s":1,"shards":[1,0],"shard_count":2}`,
		`{"format":"tailgate.hlog/v1","scenario":"a","planned":1,"planned_duration_s":1,"shards":[0,3],"shard_count":3}`,
		`{"format":"tailgate.hlog/v1","scenario":"a","planned":1,"planned_duration_s":1,"shards":[0],"shard_count":2,"shard":"1/2"}`,
		`{"format":"tailgate.hlog/v1","scenario":"a","planned":1,"planned_duration_s":1,"shards":[0],"shard_count":1000000000}`,
		`{"format":"tailgate.hlog/v1","scenario":"a","planned":1,"planned_duration_s":1,"shard":"0/1000000000"}`,
	} {
		_, err := ReadLogMeta(strings.NewReader("#tailgate header "+header+"\n"), "x.hlog")
		if err == nil || !strings.HasPrefix(err.Error(), "x.hlog:1: tailgate header: ") {
			t.Errorf("%s: %v", header, err)
		}
	}
	meta, err := ReadLogMeta(strings.NewReader(`#tailgate header {"format":"tailgate.hlog/v1","scenario":"a","planned":1,"planned_duration_s":1,"identity":"plan1-aa","shard":"2/3"}`+"\n"), "x.hlog")
	if err != nil && err != io.EOF {
		t.Fatal(err)
	}
	if shards, n, ok := meta.Header.Part(); !ok || fmt.Sprint(shards) != "[2]" || n != 3 {
		t.Errorf("shard 2/3 read as %v of %d (%v)", shards, n, ok)
	}
}
