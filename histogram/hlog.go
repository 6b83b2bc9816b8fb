package histogram

// Interval logs (run.hlog): the HdrHistogram log format 1.3 that
// HdrHistogram's HistogramLogWriter writes in Java, Go and JavaScript, so
// any HDR tool can read a run, plus comment lines that only tailgate reads.
//
//	#[tailgate interval log: values in microseconds, Interval_Max in milliseconds, one tag per source]
//	#[Histogram log format version 1.3]
//	#[StartTime: 1700000000.123 (seconds since epoch), 2023-11-14T22:13:20.123Z]
//	#[BaseTime: 1700000000.123 (seconds since epoch)]
//	#tailgate header {"format":"tailgate.hlog/v1","scenario":"llm-chat","mode":"run","planned":1600,"planned_duration_s":60,"identity":"plan1-330aa3696f8670ac","seed":7,"shard":"0/3","start":"2023-11-14T22:13:20Z","run_id":"9b1f…"}
//	"StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"
//	Tag=total,0.000,1.001,412.671,HISTFAAAAEV42pNpmSzMwMDAxAAB…
//	Tag=server-timing:db,0.000,1.001,61.055,HISTFAAAAD…
//	#tailgate interval {"start_s":0,"end_s":1.001,"planned":80,"sent":79,"errors":0}
//	…
//	#tailgate counts {"sent":4800,"ok":4781,"errors":19,"by_class":{"http 5xx":19},…}
//	#tailgate slow {"total_ns":2203117000,"parts":[{"name":"ttft","ns":1502000000},…]}
//	#tailgate run {"planned":4800,"planned_duration_s":60,"send_span_s":60,"elapsed_s":60.4,"interrupted":false}
//
// Interval timestamps are seconds from BaseTime (= StartTime, the run's
// start). A tag is the source's name with every byte outside printable
// ASCII, and ',' and '%', written as %XX: "server-timing:db" stays as it is.
// Other HDR tools skip every line that starts with '#'.

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// LogFormat names the version of tailgate's own records in an interval log.
const LogFormat = "tailgate.hlog/v1"

// logPrefix starts every line that only tailgate reads.
const logPrefix = "#tailgate "

// Record kinds after logPrefix.
const (
	recHeader   = "header"
	recInterval = "interval"
	recCounts   = "counts"
	recSlow     = "slow"
	recRun      = "run"
)

// LogHeader is what a log says about its run before the first interval.
type LogHeader struct {
	Format           string  `json:"format"`
	Scenario         string  `json:"scenario"`
	Mode             string  `json:"mode,omitempty"`   // run | simulate
	Engine           string  `json:"engine,omitempty"` // vegeta | native: who sent a run's requests
	Planned          int64   `json:"planned"`          // requests the plan sends
	PlannedDurationS float64 `json:"planned_duration_s"`
	// Merged counts the logs `tailgate merge` combined into this one; 0 for
	// a log one run wrote.
	Merged int `json:"merged,omitempty"`

	// Identity names the plan the log is of (scenario.Scenario.Identity):
	// the logs of one distributed run share it. "" in a log written before
	// logs recorded it.
	Identity string `json:"identity,omitempty"`
	// Seed is the scenario's seed, which every shard of a plan shares.
	Seed *uint64 `json:"seed,omitempty"`
	// Shard is "i/N" in the log of one shard of a distributed run (tailgate
	// run --shard i/N); "" for a whole run and for a merged log.
	Shard string `json:"shard,omitempty"`
	// Shards lists, in order, the shards of ShardCount a merged log holds.
	Shards     []int `json:"shards,omitempty"`
	ShardCount int   `json:"shard_count,omitempty"`
	// Start is when the plan began: --start-at when the run was given one,
	// else the run's start.
	Start *time.Time `json:"start,omitempty"`
	// RunID is random per run: two logs with one RunID are one run (a log
	// given twice, or a copy). A merged log of shards has none.
	RunID string `json:"run_id,omitempty"`
}

// Part is what of its plan a log holds: shards Shards (in order) of N, or
// shard 0 of 1 for a whole run. known is false for a log that does not say
// (written before logs recorded their identity).
func (h *LogHeader) Part() (shards []int, n int, known bool) {
	switch {
	case h.Identity == "":
		return nil, 0, false
	case len(h.Shards) > 0:
		return h.Shards, h.ShardCount, true
	case h.Shard != "":
		i, n, err := ParseShard(h.Shard)
		if err != nil {
			return nil, 0, false // checked when the header was read
		}
		return []int{i}, n, true
	}
	return []int{0}, 1, true
}

// Missing lists the shards of its plan a log lacks, of n; none when it
// holds the whole plan or does not say what it holds.
func (h *LogHeader) Missing() (missing []int, n int) {
	shards, n, known := h.Part()
	if !known {
		return nil, 0
	}
	for i := range n {
		if !slices.Contains(shards, i) {
			missing = append(missing, i)
		}
	}
	return missing, n
}

// Incomplete says which shards of its plan a log lacks ("shards 1/3 and
// 2/3 are missing"); "" when it holds the whole plan, or does not say.
func (h *LogHeader) Incomplete() string {
	missing, n := h.Missing()
	switch len(missing) {
	case 0:
		return ""
	case 1:
		return fmt.Sprintf("shard %d/%d is missing", missing[0], n)
	}
	return "shards " + ShardList(missing, n) + " are missing"
}

// ShardList names shards of n for a person: "1/3", "1/3 and 2/3",
// "0/4, 1/4 and 3/4"; past a dozen, the first ones and how many more.
func ShardList(shards []int, n int) string {
	const most = 12
	names := make([]string, 0, min(len(shards), most))
	for _, i := range shards[:min(len(shards), most)] {
		names = append(names, fmt.Sprintf("%d/%d", i, n))
	}
	switch {
	case len(shards) > most:
		return strings.Join(names, ", ") + fmt.Sprintf(" and %d more", len(shards)-most)
	case len(names) == 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// MaxShards bounds N in a shard i/N: far beyond any run, and small
// enough that listing a plan's shards costs nothing.
const MaxShards = 100_000

// ParseShard reads a shard as "i/N", with 0 ≤ i < N ≤ MaxShards.
func ParseShard(s string) (i, n int, err error) {
	a, b, ok := strings.Cut(s, "/")
	if !ok {
		return 0, 0, errors.New("want i/N, like 0/4")
	}
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	switch {
	case err1 != nil || err2 != nil:
		return 0, 0, errors.New("want i/N with whole numbers, like 0/4")
	case n < 1:
		return 0, 0, errors.New("N must be at least 1")
	case n > MaxShards:
		return 0, 0, fmt.Errorf("N must be at most %d", MaxShards)
	case i < 0 || i >= n:
		return 0, 0, fmt.Errorf("i must be from 0 to N−1 = %d", n-1)
	}
	return i, n, nil
}

// checkPart refuses a header whose shards do not make sense, so that no
// reader has to.
func (h *LogHeader) checkPart() error {
	if h.Shard != "" {
		if len(h.Shards) > 0 {
			return errors.New("tailgate header: both shard and shards")
		}
		if _, _, err := ParseShard(h.Shard); err != nil {
			return fmt.Errorf("tailgate header: shard %q: %w", h.Shard, err)
		}
	}
	if len(h.Shards) == 0 {
		return nil
	}
	if h.ShardCount < 1 || h.ShardCount > MaxShards {
		return fmt.Errorf("tailgate header: shards of %d: want a shard_count from 1 to %d", h.ShardCount, MaxShards)
	}
	for k, i := range h.Shards {
		if i < 0 || i >= h.ShardCount || (k > 0 && i <= h.Shards[k-1]) {
			return fmt.Errorf("tailgate header: shards %v of %d: want shards from 0 to %d, in order, each once", h.Shards, h.ShardCount, h.ShardCount-1)
		}
	}
	return nil
}

// IntervalCounts is what happened to requests in one interval, beside the
// interval's histograms.
type IntervalCounts struct {
	StartS  float64 `json:"start_s"` // seconds from the log's start
	EndS    float64 `json:"end_s"`
	Planned int64   `json:"planned"` // requests the schedule meant to send in the interval
	Sent    int64   `json:"sent"`    // results recorded in the interval
	Errors  int64   `json:"errors"`  // of which failed
}

// Length is the interval's length.
func (c IntervalCounts) Length() time.Duration { return seconds(c.EndS - c.StartS) }

// LogRun is the rest of a run's measurement beyond its histograms and
// counts: what judging it again needs.
type LogRun struct {
	Planned          int64   `json:"planned"`
	PlannedDurationS float64 `json:"planned_duration_s"`
	// SendSpanS is the span the achieved rate is measured over: from the
	// start to the actual send of the last request.
	SendSpanS   float64 `json:"send_span_s"`
	ElapsedS    float64 `json:"elapsed_s"`
	Interrupted bool    `json:"interrupted"`
	// Started is when the run began, as its report said; nil for a
	// simulation.
	Started *time.Time `json:"started,omitempty"`
	// Plan is the traffic plan as the run's report gave it (a shard's own,
	// in a distributed run), kept as written; absent from a merged log,
	// whose plan is the scenario's.
	Plan json.RawMessage `json:"plan,omitempty"`
}

// countsRecord is Counts as a log writes it.
type countsRecord struct {
	Sent           int64             `json:"sent"`
	OK             int64             `json:"ok"`
	Errors         int64             `json:"errors"`
	ByClass        map[string]int64  `json:"by_class,omitempty"`
	NewConnections int64             `json:"new_connections"`
	Clamped        int64             `json:"clamped,omitempty"`
	DroppedMetrics int64             `json:"dropped_metrics,omitempty"`
	Responses      int64             `json:"responses"`
	FirstError     map[string]string `json:"first_error,omitempty"`
	Redirects      int64             `json:"redirects,omitempty"`
	FirstLocation  string            `json:"first_location,omitempty"`
}

func (c countsRecord) counts() Counts {
	// Every success is a response; a log written before responses were
	// counted has at least those.
	c.Responses = max(c.Responses, c.OK)
	by := maps.Clone(c.ByClass)
	if by == nil {
		by = map[string]int64{}
	}
	return Counts{Sent: c.Sent, OK: c.OK, Errors: c.Errors, ByClass: by, NewConnections: c.NewConnections, Clamped: c.Clamped, DroppedMetrics: c.DroppedMetrics,
		Responses: c.Responses, FirstError: maps.Clone(c.FirstError), Redirects: c.Redirects, FirstLocation: c.FirstLocation}
}

func recordOf(c Counts) countsRecord {
	return countsRecord{Sent: c.Sent, OK: c.OK, Errors: c.Errors, ByClass: c.ByClass, NewConnections: c.NewConnections, Clamped: c.Clamped, DroppedMetrics: c.DroppedMetrics,
		Responses: c.Responses, FirstError: c.FirstError, Redirects: c.Redirects, FirstLocation: c.FirstLocation}
}

// slowRecord is one of the slowest requests, in nanoseconds so that reading
// it back is exact.
type slowRecord struct {
	TotalNs int64        `json:"total_ns"`
	Parts   []partRecord `json:"parts"`
}

type partRecord struct {
	Name string `json:"name"`
	Ns   int64  `json:"ns"`
}

// LogWriter writes an interval log. Nothing of an interval is kept once it
// is written, so memory stays flat however long the run. It is not safe for
// concurrent use.
type LogWriter struct {
	w   *bufio.Writer
	err error
}

// NewLogWriter writes the log's header: start is when the run began, and
// every interval is timed from it.
func NewLogWriter(w io.Writer, start time.Time, h LogHeader) *LogWriter {
	lw := &LogWriter{w: bufio.NewWriter(w)}
	h.Format = LogFormat
	start = start.Truncate(time.Millisecond)
	epoch := float64(start.UnixMilli()) / 1e3
	lw.printf("#[tailgate interval log: values in microseconds, Interval_Max in milliseconds, one tag per source]\n")
	lw.printf("#[Histogram log format version %s]\n", hdrhistogram.HISTOGRAM_LOG_FORMAT_VERSION)
	lw.printf("#[StartTime: %.3f (seconds since epoch), %s]\n", epoch, start.UTC().Format("2006-01-02T15:04:05.000Z07:00"))
	lw.printf("#[BaseTime: %.3f (seconds since epoch)]\n", epoch)
	lw.record(recHeader, h)
	lw.printf("\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n")
	return lw
}

// Interval writes one interval's histograms, [start, end) from the log's
// start, sorted by source; empty histograms are left out.
func (lw *LogWriter) Interval(start, end time.Duration, hists map[string]*hdrhistogram.Histogram) error {
	s, e := round3(start.Seconds()), round3(end.Seconds())
	for _, src := range slices.Sorted(maps.Keys(hists)) {
		h := hists[src]
		if h == nil || h.TotalCount() == 0 {
			continue
		}
		payload, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
		if err != nil {
			lw.fail(fmt.Errorf("encoding %s: %w", src, err))
			break
		}
		lw.printf("Tag=%s,%.3f,%.3f,%.3f,%s\n", Tag(src), s, e-s, float64(h.Max())/1e3, payload)
	}
	return lw.err
}

// Counts writes what happened to requests in one interval; it goes after
// the interval's histograms.
func (lw *LogWriter) Counts(c IntervalCounts) error {
	c.StartS, c.EndS = round3(c.StartS), round3(c.EndS)
	lw.record(recInterval, c)
	return lw.err
}

// End writes the run's counts and its slowest requests (Tail.Slowest).
func (lw *LogWriter) End(c Counts, slowest []Slow) error {
	lw.record(recCounts, recordOf(c))
	for _, s := range slowest {
		r := slowRecord{TotalNs: int64(s.Total), Parts: make([]partRecord, len(s.Parts))}
		for i, p := range s.Parts {
			r.Parts[i] = partRecord{Name: p.Name, Ns: int64(p.D)}
		}
		lw.record(recSlow, r)
	}
	return lw.err
}

// Run writes the rest of the run's measurement, once it is judged.
func (lw *LogWriter) Run(r LogRun) error {
	lw.record(recRun, r)
	return lw.err
}

// Flush writes out what is buffered, so that a log read while the run goes
// on (or after it crashed) holds every interval so far.
func (lw *LogWriter) Flush() error {
	if lw.err == nil {
		lw.fail(lw.w.Flush())
	}
	return lw.err
}

// round3 rounds seconds to the millisecond, the resolution of a log.
func round3(s float64) float64 { return math.Round(s*1e3) / 1e3 }

func (lw *LogWriter) printf(format string, args ...any) {
	if lw.err == nil {
		_, err := fmt.Fprintf(lw.w, format, args...)
		lw.fail(err)
	}
}

func (lw *LogWriter) fail(err error) {
	if lw.err == nil && err != nil {
		lw.err = err
	}
}

// record writes one tailgate record: a comment line to every other reader.
func (lw *LogWriter) record(kind string, v any) {
	b, err := marshalRecord(v)
	if err != nil {
		lw.fail(err)
		return
	}
	lw.printf("%s%s %s\n", logPrefix, kind, b)
}

// marshalRecord is JSON with '#' escaped, so that no name inside a record
// (a scenario called "#[BaseTime: 0") can look like a directive to HDR
// readers that search a whole line for one.
func marshalRecord(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return bytes.ReplaceAll(b, []byte("#"), []byte(`\u0023`)), nil
}

// Tag is source as an interval log tag, which may not hold commas, spaces or
// line breaks: bytes outside printable ASCII, ',' and '%' become %XX.
// "server-timing:db" is its own tag.
func Tag(source string) string {
	clean := true
	for i := range len(source) {
		if escapeInTag(source[i]) {
			clean = false
			break
		}
	}
	if clean {
		return source
	}
	var b strings.Builder
	for i := range len(source) {
		c := source[i]
		if escapeInTag(c) {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

func escapeInTag(c byte) bool { return c <= ' ' || c >= 0x7f || c == ',' || c == '%' }

// SourceOfTag reverses Tag.
func SourceOfTag(tag string) (string, error) {
	if !strings.Contains(tag, "%") {
		return tag, nil
	}
	var b strings.Builder
	for i := 0; i < len(tag); i++ {
		if tag[i] != '%' {
			b.WriteByte(tag[i])
			continue
		}
		if i+2 >= len(tag) {
			return "", fmt.Errorf("tag %q: %% must be followed by two hex digits", tag)
		}
		v, err := strconv.ParseUint(tag[i+1:i+3], 16, 8)
		if err != nil {
			return "", fmt.Errorf("tag %q: %% must be followed by two hex digits", tag)
		}
		b.WriteByte(byte(v))
		i += 2
	}
	return b.String(), nil
}

// LogInterval is one interval histogram read from a log.
type LogInterval struct {
	Source     string
	Start, End time.Duration // from the log's start
	Hist       *hdrhistogram.Histogram
}

// LogReader reads an interval log one interval at a time; what the log says
// about its run (Meta) fills in as it goes and is whole at io.EOF.
type LogReader struct {
	r    *bufio.Reader
	name string
	line int
	meta LogMeta

	// Times in seconds since the epoch, as HdrHistogram's readers take them.
	start, base, origin       float64
	hasStart, hasBase, hasOrg bool
	// metaOnly skips interval lines: ReadLogMeta.
	metaOnly bool
}

// LogMeta is everything in a log but its histograms.
type LogMeta struct {
	Start     time.Time        // #[StartTime]; zero when the log gives none
	Header    *LogHeader       // nil in a log another tool wrote
	Intervals []IntervalCounts // in the order written
	Counts    *Counts          // nil when the run did not end (or another tool wrote the log)
	Slow      []Slow
	Run       *LogRun // nil until the run is judged
	Lines     int     // lines read
}

// NewLogReader reads the log from r; name is for errors ("run.hlog:12: …").
func NewLogReader(r io.Reader, name string) *LogReader {
	return &LogReader{r: bufio.NewReaderSize(r, 64<<10), name: name}
}

// Meta is what the log has said about its run so far.
func (lr *LogReader) Meta() *LogMeta { return &lr.meta }

// maxLine bounds one line: an encoded histogram of tailgate's range is a few
// kilobytes, so a longer line is not an interval log.
const maxLine = 4 << 20

// Next returns the next interval histogram, or io.EOF after the last.
func (lr *LogReader) Next() (*LogInterval, error) {
	for {
		line, err := lr.readLine()
		if err != nil {
			return nil, err
		}
		iv, err := lr.parse(line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", lr.name, lr.line, err)
		}
		if iv != nil {
			return iv, nil
		}
	}
}

func (lr *LogReader) readLine() (string, error) {
	var buf []byte
	for {
		chunk, isPrefix, err := lr.r.ReadLine()
		if err != nil {
			if err == io.EOF && len(buf) > 0 {
				break
			}
			return "", err
		}
		buf = append(buf, chunk...)
		if len(buf) > maxLine {
			return "", fmt.Errorf("%s:%d: line longer than %d bytes: not an interval log", lr.name, lr.line+1, maxLine)
		}
		if !isPrefix {
			break
		}
	}
	lr.line++
	lr.meta.Lines = lr.line
	return strings.TrimRight(string(buf), "\r"), nil
}

func (lr *LogReader) parse(line string) (*LogInterval, error) {
	m := &lr.meta
	switch {
	case line == "" || strings.HasPrefix(line, `"StartTimestamp"`):
		return nil, nil
	case strings.HasPrefix(line, "#[StartTime: "):
		v, err := leadingSeconds(line[len("#[StartTime: "):])
		if err != nil {
			return nil, fmt.Errorf("StartTime: %w", err)
		}
		m.Start = time.UnixMilli(int64(math.Round(v * 1e3)))
		lr.start, lr.hasStart = v, true
		return nil, nil
	case strings.HasPrefix(line, "#[BaseTime: "):
		v, err := leadingSeconds(line[len("#[BaseTime: "):])
		if err != nil {
			return nil, fmt.Errorf("BaseTime: %w", err)
		}
		lr.base, lr.hasBase = v, true
		return nil, nil
	case strings.HasPrefix(line, logPrefix):
		return nil, lr.parseRecord(line[len(logPrefix):])
	case strings.HasPrefix(line, "#"), lr.metaOnly:
		return nil, nil
	}
	return lr.parseInterval(line)
}

// leadingSeconds reads the number that starts s ("1700000000.123 (seconds…").
func leadingSeconds(s string) (float64, error) {
	num, _, _ := strings.Cut(s, " ")
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v < 0 || math.IsInf(v, 0) || v > 1e12 {
		return 0, fmt.Errorf("%q is not a time in seconds since the epoch", num)
	}
	return v, nil
}

func (lr *LogReader) parseRecord(s string) error {
	kind, body, _ := strings.Cut(s, " ")
	m := &lr.meta
	dec := func(v any) error {
		if err := json.Unmarshal([]byte(body), v); err != nil {
			return fmt.Errorf("tailgate %s record: %w", kind, err)
		}
		return nil
	}
	switch kind {
	case recHeader:
		var h LogHeader
		if err := dec(&h); err != nil {
			return err
		}
		if h.Format != LogFormat {
			return fmt.Errorf("tailgate header: format %q, this tailgate reads %q", h.Format, LogFormat)
		}
		if err := h.checkPart(); err != nil {
			return err
		}
		m.Header = &h
	case recInterval:
		var c IntervalCounts
		if err := dec(&c); err != nil {
			return err
		}
		if c.EndS < c.StartS || c.Planned < 0 || c.Sent < 0 || c.Errors < 0 {
			return fmt.Errorf("tailgate interval record: negative length or count")
		}
		m.Intervals = append(m.Intervals, c)
	case recCounts:
		var c countsRecord
		if err := dec(&c); err != nil {
			return err
		}
		cc := c.counts()
		m.Counts = &cc
	case recSlow:
		var r slowRecord
		if err := dec(&r); err != nil {
			return err
		}
		s := Slow{Total: time.Duration(r.TotalNs), Parts: make([]Part, len(r.Parts))}
		for i, p := range r.Parts {
			s.Parts[i] = Part{Name: p.Name, D: time.Duration(p.Ns)}
		}
		m.Slow = append(m.Slow, s)
	case recRun:
		var r LogRun
		if err := dec(&r); err != nil {
			return err
		}
		m.Run = &r
	}
	// Kinds a later tailgate adds are skipped, as other readers skip them all.
	return nil
}

func (lr *LogReader) parseInterval(line string) (*LogInterval, error) {
	tag := ""
	if rest, ok := strings.CutPrefix(line, "Tag="); ok {
		t, after, ok := strings.Cut(rest, ",")
		if !ok {
			return nil, errors.New("interval: Tag= without the interval after it")
		}
		tag, line = t, after
	}
	fields := strings.SplitN(line, ",", 4)
	if len(fields) != 4 {
		return nil, fmt.Errorf("%q is not an interval line ([Tag=SOURCE,]start,length,max,histogram): is this an interval log?", clip(line, 40))
	}
	start, err1 := strconv.ParseFloat(fields[0], 64)
	length, err2 := strconv.ParseFloat(fields[1], 64)
	if err1 != nil || err2 != nil || !(start >= 0 && length >= 0) || start > 1e12 || length > 1e12 {
		return nil, fmt.Errorf("interval: start %q and length %q must be seconds", fields[0], fields[1])
	}
	src, err := SourceOfTag(tag)
	if err != nil {
		return nil, err
	}
	h, err := decodeHistogram(fields[3])
	if err != nil {
		return nil, fmt.Errorf("interval %sat %ss: %w", strings.TrimPrefix(tag+" ", " "), fields[0], err)
	}
	// As HdrHistogram's readers do: timestamps are from BaseTime; without
	// one, from StartTime when they are more than a year before it (so
	// relative), else from the epoch.
	base := 0.0
	switch {
	case lr.hasBase:
		base = lr.base
	case lr.hasStart && start < lr.start-365*24*3600:
		base = lr.start
	}
	abs := start + base
	// Intervals are timed from StartTime, or from the first interval when
	// the log gives none.
	if !lr.hasOrg {
		lr.origin, lr.hasOrg = abs, true
		if lr.hasStart {
			lr.origin = lr.start
		}
	}
	rel := abs - lr.origin
	return &LogInterval{Source: src, Start: seconds(rel), End: seconds(rel + length), Hist: h}, nil
}

// clip shortens s for an error message.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// seconds converts seconds as a log writes them to a duration, to the nanosecond.
func seconds(s float64) time.Duration { return time.Duration(math.Round(s * 1e9)) }

// maxCounts bounds the counts array a logged histogram may ask for (8 bytes
// each): a header claiming 1…2⁶³ at 5 digits would take gigabytes.
// Tailgate's own need 23,552; nanoseconds up to an hour at 3 digits, 32,768.
const maxCounts = 1 << 20

// decodeHistogram decodes a V2 compressed histogram after checking that its
// header asks for a reasonable counts array.
func decodeHistogram(payload string) (*hdrhistogram.Histogram, error) {
	raw, err := base64.StdEncoding.DecodeString(payload)
	if err != nil {
		return nil, fmt.Errorf("histogram is not base64: %w", err)
	}
	if len(raw) < 8 {
		return nil, errors.New("histogram too short")
	}
	z, err := zlib.NewReader(bytes.NewReader(raw[8:]))
	if err != nil {
		return nil, fmt.Errorf("histogram: %w", err)
	}
	var hdr [40]byte
	_, err = io.ReadFull(z, hdr[:])
	z.Close()
	if err != nil {
		return nil, fmt.Errorf("histogram header: %w", err)
	}
	sig := int32(binary.BigEndian.Uint32(hdr[12:]))
	lowest := int64(binary.BigEndian.Uint64(hdr[16:]))
	highest := int64(binary.BigEndian.Uint64(hdr[24:]))
	if n := countsLen(lowest, highest, sig); n < 0 || n > maxCounts {
		return nil, fmt.Errorf("histogram range %d…%d at %d digits is beyond what tailgate reads", lowest, highest, sig)
	}
	h, err := hdrhistogram.Decode([]byte(payload))
	if err != nil {
		return nil, fmt.Errorf("histogram: %w", err)
	}
	return h, nil
}

// countsLen is the counts array length of an HDR histogram's geometry, or
// -1 when the geometry is invalid or too wide to compute.
func countsLen(lowest, highest int64, sig int32) int64 {
	if sig < 0 || sig > 5 || lowest < 1 || highest < 2*lowest {
		return -1
	}
	largest := 2 * int64(math.Pow10(int(sig)))
	subBucketCountMag := int64(bits.Len64(uint64(largest - 1)))
	subBucketCount := int64(1) << subBucketCountMag
	unitMag := int64(bits.Len64(uint64(lowest)) - 1)
	if subBucketCountMag+unitMag > 62 {
		return -1
	}
	smallestUntrackable := subBucketCount << unitMag
	buckets := int64(1)
	for smallestUntrackable <= highest {
		if smallestUntrackable > math.MaxInt64/2 {
			buckets++
			break
		}
		smallestUntrackable <<= 1
		buckets++
	}
	return (buckets + 1) * (subBucketCount / 2)
}

// ReadLogMeta reads what a log says about its run, skipping its histograms.
func ReadLogMeta(r io.Reader, name string) (*LogMeta, error) {
	lr := NewLogReader(r, name)
	lr.metaOnly = true
	if _, err := lr.Next(); err != io.EOF {
		return nil, err
	}
	return lr.Meta(), nil
}

// AppendRun appends the run record to a log written before.
func AppendRun(w io.Writer, r LogRun) error {
	lw := &LogWriter{w: bufio.NewWriter(w)}
	lw.Run(r)
	return lw.Flush()
}

// WriteLog writes the recorder as an interval log of one interval, from
// start for elapsed: the log of a run that kept no intervals (a simulation).
func (r *Recorder) WriteLog(w io.Writer, start time.Time, elapsed time.Duration, h LogHeader, run LogRun) error {
	lw := NewLogWriter(w, start, h)
	lw.Interval(0, elapsed, r.hists)
	lw.Counts(IntervalCounts{EndS: elapsed.Seconds(), Planned: run.Planned, Sent: r.Counts.Sent, Errors: r.Counts.Errors})
	lw.End(r.Counts, r.Tail.Slowest())
	lw.Run(run)
	return lw.Flush()
}

// Log is an interval log read whole: the run's recorder, rebuilt exactly (a
// source's histogram is the merge of all its intervals), and what the log
// says about the run.
type Log struct {
	LogMeta
	Rec *Recorder
	// Timeline holds, per interval and source, the percentiles asked of
	// ReadLog: latency over time without keeping interval histograms.
	Timeline []IntervalStat
}

// IntervalStat is one source's latency in one interval.
type IntervalStat struct {
	Source      string
	Start, End  time.Duration
	Count       int64
	Percentiles []time.Duration // at the percentiles ReadLog was given, in order
	Max         time.Duration
}

// ReadLog reads a whole interval log into a recorder. percentiles (0–100)
// are kept per interval and source in Timeline.
func ReadLog(r io.Reader, name string, percentiles []float64) (*Log, error) {
	lr := NewLogReader(r, name)
	rec := NewRecorder(1)
	l := &Log{Rec: rec}
	for {
		iv, err := lr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if dropped := rec.add(iv.Source, iv.Hist); dropped > 0 {
			return nil, fmt.Errorf("%s:%d: %d values of %s are outside tailgate's range (1µs–1h): is this a log of microseconds?", name, lr.line, dropped, iv.Source)
		}
		// One scan for the percentiles and the maximum (p100): a histogram's
		// own Max walks every bucket again.
		vs := ValuesAt(iv.Hist, append(percentiles[:len(percentiles):len(percentiles)], 100)...)
		st := IntervalStat{Source: iv.Source, Start: iv.Start, End: iv.End, Count: iv.Hist.TotalCount(), Max: vs[len(vs)-1]}
		if len(percentiles) > 0 {
			st.Percentiles = vs[:len(percentiles):len(percentiles)]
		}
		l.Timeline = append(l.Timeline, st)
	}
	l.LogMeta = *lr.Meta()
	if l.Counts != nil {
		rec.Counts = *l.Counts
		rec.Counts.ByClass = maps.Clone(l.Counts.ByClass)
	} else {
		// The run did not end: what the intervals say, which has no classes.
		for _, c := range l.Intervals {
			rec.Counts.Sent += c.Sent
			rec.Counts.Errors += c.Errors
		}
		rec.Counts.OK = rec.Counts.Sent - rec.Counts.Errors
	}
	rec.Tail = NewTail(TailSize(l.Planned()))
	for _, s := range l.Slow {
		rec.Tail.Offer(s.Total, s.Parts)
	}
	return l, nil
}

func us(v int64) time.Duration { return time.Duration(v) * time.Microsecond }

// Planned is the number of requests the run planned.
func (m *LogMeta) Planned() int64 {
	switch {
	case m.Run != nil:
		return m.Run.Planned
	case m.Header != nil:
		return m.Header.Planned
	}
	return 0
}

// PlannedDuration is how long the run's plan lasts.
func (m *LogMeta) PlannedDuration() time.Duration {
	switch {
	case m.Run != nil:
		return seconds(m.Run.PlannedDurationS)
	case m.Header != nil:
		return seconds(m.Header.PlannedDurationS)
	}
	return 0
}

// Elapsed is the wall time of the run: as the run said when it was judged,
// else the end of its last interval.
func (m *LogMeta) Elapsed() time.Duration {
	if m.Run != nil {
		return seconds(m.Run.ElapsedS)
	}
	if n := len(m.Intervals); n > 0 {
		return seconds(m.Intervals[n-1].EndS)
	}
	return 0
}

// SendSpan is from the start to the last send, as the run said when it was
// judged; 0 (the plan's duration counts) when it did not say.
func (m *LogMeta) SendSpan() time.Duration {
	if m.Run != nil {
		return seconds(m.Run.SendSpanS)
	}
	return 0
}

// Interrupted reports whether the run stopped before its plan did: as it
// said, else when it never wrote its counts or sent fewer than planned.
func (m *LogMeta) Interrupted() bool {
	if m.Run != nil {
		return m.Run.Interrupted
	}
	return m.Counts == nil || m.Counts.Sent < m.Planned()
}

// add merges h into source's histogram and returns how many values fell
// outside the recorder's range.
func (r *Recorder) add(source string, h *hdrhistogram.Histogram) int64 {
	mine := r.hists[source]
	if mine == nil {
		mine = NewHistogram()
		r.hists[source] = mine
	}
	return mine.Merge(h)
}
