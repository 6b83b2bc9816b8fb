package scenario

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

func dur(s string) *Duration {
	d, err := time.ParseDuration(s)
	if err != nil {
		panic(err)
	}
	v := Duration(d)
	return &v
}

func lognormal(p50, p99 string) *Delay { return &Delay{P50: dur(p50), P99: dur(p99)} }

// TestLoadDesign decodes the example scenario of DESIGN.md, field by field.
func TestLoadDesign(t *testing.T) {
	t.Setenv("API_TOKEN", "s3cret-token")
	sc, err := Load("testdata/design.yaml")
	if err != nil {
		t.Fatal(err)
	}

	if sc.Name != "llm-chat" || sc.Description != "Streaming chat for users ~4,000 km from the region." {
		t.Errorf("name, description = %q, %q", sc.Name, sc.Description)
	}
	if sc.Seed == nil || *sc.Seed != 7 || sc.SeedValue() != 7 {
		t.Errorf("seed = %v, want 7", sc.Seed)
	}
	if sc.File != "testdata/design.yaml" {
		t.Errorf("File = %q", sc.File)
	}

	wantTarget := Target{
		URL:    "embedded",
		Method: "POST",
		Headers: map[string]string{
			"Content-Type":  "application/json",
			"Authorization": "Bearer s3cret-token",
		},
		Body:    `{"stream":true,"messages":[{"role":"user","content":"hi"}]}`,
		Stream:  StreamSSE,
		Timeout: Duration(30 * time.Second),
	}
	if !reflect.DeepEqual(sc.Target, wantTarget) {
		t.Errorf("target =\n%+v\nwant\n%+v", sc.Target, wantTarget)
	}
	if !sc.Target.Embedded() {
		t.Error("Embedded() = false for url: embedded")
	}
	if !reflect.DeepEqual(sc.Secrets, []string{"s3cret-token"}) {
		t.Errorf("Secrets = %q, want the token only", sc.Secrets)
	}

	n := sc.Network
	if n.Distance.Km() != 4000 || n.Distance.RTTFloor() != 40*time.Millisecond {
		t.Errorf("distance = %v (floor %v), want 4000km (40ms)", n.Distance, n.Distance.RTTFloor())
	}
	if !reflect.DeepEqual(n.RTT, lognormal("62ms", "85ms")) {
		t.Errorf("rtt = %v", n.RTT)
	}
	if n.TLS != "1.3" || n.TLS.HandshakeRTTs() != 1 {
		t.Errorf("tls = %q", n.TLS)
	}
	if n.Reuse == nil || *n.Reuse != 0.9 || n.Emulate {
		t.Errorf("reuse, emulate = %v, %v", n.Reuse, n.Emulate)
	}

	wantTraffic := []Segment{
		{Constant: &Constant{Rate: 20, Duration: *dur("10s")}},
		{Ramp: &Ramp{From: 20, To: 80, Duration: *dur("20s")}},
		{Step: &Step{From: 20, To: 100, Steps: 4, Duration: *dur("20s")}},
		{Burst: &Burst{Rate: 40, Peak: 300, Every: *dur("5s"), Lasting: *dur("500ms"), Duration: *dur("20s")}},
		{Sine: &Sine{Mean: 50, Amplitude: 30, Period: *dur("10s"), Duration: *dur("20s")}},
		{OnOff: &OnOff{Rate: 200, On: *dur("1s"), Off: *dur("4s"), Duration: *dur("20s")}},
		{Poisson: &Poisson{Rate: 50, Duration: *dur("20s")}},
		{Gamma: &Gamma{Rate: 50, Burstiness: 0.3, Duration: *dur("20s")}},
		{Pause: &Pause{Duration: *dur("5s")}},
	}
	if len(sc.Traffic) != len(wantTraffic) {
		t.Fatalf("%d segments, want %d", len(sc.Traffic), len(wantTraffic))
	}
	for i := range wantTraffic {
		if !reflect.DeepEqual(sc.Traffic[i], wantTraffic[i]) {
			t.Errorf("traffic[%d] = %s, want %s", i, segString(sc.Traffic[i]), segString(wantTraffic[i]))
		}
	}

	s := sc.Service
	if s.WorkersValue() != 16 || s.QueueValue() != 256 || s.Tokens != 40 {
		t.Errorf("workers, queue, tokens = %d, %d, %d", s.WorkersValue(), s.QueueValue(), s.Tokens)
	}
	for _, c := range []struct {
		name      string
		got, want *Delay
	}{
		{"database", s.Database, lognormal("8ms", "60ms")},
		{"ttft", s.TTFT, lognormal("250ms", "700ms")},
		{"itl", s.ITL, lognormal("15ms", "40ms")},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("service.%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if s.Errors != 0.002 {
		t.Errorf("service.errors = %v, want 0.002", float64(s.Errors))
	}

	pct := func(p float64, d string) Percentile { return Percentile{P: p, Limit: *dur(d)} }
	wantLines := []Line{
		{Name: "rtt", Source: "connect", Percentiles: []Percentile{pct(95, "70ms"), pct(99, "90ms")}},
		{Name: "tls", Source: "tls", Percentiles: []Percentile{pct(95, "80ms"), pct(99, "110ms")}},
		{Name: "database", Source: "server-timing:db", Percentiles: []Percentile{pct(95, "40ms"), pct(99, "80ms")}},
		{Name: "ttft", Source: "ttft", Percentiles: []Percentile{pct(95, "700ms"), pct(99, "1.1s")}},
		{Name: "total", Source: "total", Percentiles: []Percentile{pct(95, "1.6s"), pct(99, "2.4s")}},
		{Name: "cache", Source: "server-timing:cache", Percentiles: []Percentile{pct(99, "5ms")}},
	}
	if !reflect.DeepEqual(sc.Budget.Lines, wantLines) {
		t.Errorf("budget lines =\n%+v\nwant\n%+v", sc.Budget.Lines, wantLines)
	}
	if sc.Budget.Errors == nil || *sc.Budget.Errors != 0.01 {
		t.Errorf("budget.errors = %v, want 1%%", sc.Budget.Errors)
	}
	if got := sc.Budget.Lines[4].Percentiles[1].Label(); got != "p99" {
		t.Errorf("Label = %q", got)
	}

	// The plan: 200 + 1000 + 1200 + 4×(4.5s×40 + 0.5s×300) + 1000 + 4×200 =
	// 5,520 deterministic requests, then Poisson and gamma about 1,000 each.
	var lasts time.Duration
	var expect float64
	for _, s := range sc.Traffic {
		lasts += s.Duration()
		expect += s.ExpectedRequests()
	}
	if lasts != 155*time.Second {
		t.Errorf("plan lasts %v, want 155s", lasts)
	}
	if expect < 7519.99 || expect > 7520.01 {
		t.Errorf("plan expects %v requests, want 7,520", expect)
	}
}

func segString(s Segment) string {
	v := reflect.ValueOf(s)
	for i := range v.NumField() {
		if f := v.Field(i); !f.IsNil() {
			return fmt.Sprintf("%s %+v", v.Type().Field(i).Name, f.Elem().Interface())
		}
	}
	return "empty"
}

// TestLoadDesignOtherUnits writes the example's rates per minute and per hour:
// the decoded scenario is the same.
func TestLoadDesignOtherUnits(t *testing.T) {
	t.Setenv("API_TOKEN", "x")
	data, err := os.ReadFile("testdata/design.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want, err := Parse("design.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(data), "constant: {rate: 20/s,", "constant: {rate: 1200/m,", 1)
	text = strings.Replace(text, "ramp:     {from: 20/s, to: 80/s,", "ramp:     {from: 72000/h, to: 4800 / m,", 1)
	text = strings.Replace(text, "poisson:  {rate: 50/s,", "poisson:  {rate: 3000/m,", 1)
	if text == string(data) {
		t.Fatal("the example no longer has the rates this test rewrites")
	}
	got, err := Parse("design.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Traffic, want.Traffic) {
		t.Errorf("N/m and N/h rates decode to\n%s\nwant\n%s", segString(got.Traffic[1]), segString(want.Traffic[1]))
	}
}

func TestDefaults(t *testing.T) {
	sc, err := Load("testdata/minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if sc.Name != "minimal" {
		t.Errorf("name = %q, want the file name", sc.Name)
	}
	if sc.Target.Method != "GET" || sc.Target.Stream != StreamNone || sc.Target.Timeout.D() != DefaultTimeout {
		t.Errorf("method, stream, timeout = %q, %q, %v", sc.Target.Method, sc.Target.Stream, sc.Target.Timeout)
	}
	if sc.SeedValue() != 1 || sc.Network.ReuseValue() != 0.9 || sc.Service.WorkersValue() != DefaultWorkers || sc.Service.QueueValue() != DefaultQueue {
		t.Errorf("seed, reuse, workers, queue defaults = %d, %v, %d, %d", sc.SeedValue(), sc.Network.ReuseValue(), sc.Service.WorkersValue(), sc.Service.QueueValue())
	}
	if sc.Network.RTT != nil || sc.Network.TLS != "" || sc.Service.Database != nil || sc.Budget.Errors != nil {
		t.Errorf("unset models are not nil: %+v %+v", sc.Network, sc.Service)
	}
	if sc.Traffic[0].Constant.Rate != 10 {
		t.Errorf("600/m = %v, want 10/s", sc.Traffic[0].Constant.Rate)
	}

	for _, c := range []struct{ name, yaml, method string }{
		{"body means POST", "target: {url: embedded, body: '{}'}\n", "POST"},
		{"method is upper-cased", "target: {url: embedded, method: put}\n", "PUT"},
		{"explicit GET with body", "target: {url: embedded, method: GET, body: x}\n", "GET"},
	} {
		t.Run(c.name, func(t *testing.T) {
			sc, err := Parse("x.yaml", []byte(c.yaml+okTraffic+okBudget))
			if err != nil {
				t.Fatal(err)
			}
			if sc.Target.Method != c.method {
				t.Errorf("method = %q, want %q", sc.Target.Method, c.method)
			}
		})
	}

	sc, err = Parse("", []byte(okTarget+okTraffic+okBudget))
	if err != nil {
		t.Fatal(err)
	}
	if sc.Name != "" {
		t.Errorf("Parse without a file name named the scenario %q", sc.Name)
	}
}

// TestDocumentMarkers: a scenario may open with --- and end with --- or
// ...; only a second document with content is refused.
func TestDocumentMarkers(t *testing.T) {
	for _, y := range []string{
		"---\n" + okTarget + okRest,
		okTarget + okRest + "---\n",
		okTarget + okRest + "...\n",
		"---\n" + okTarget + okRest + "---\n# nothing more\n",
	} {
		if _, err := Parse("doc.yaml", []byte(y)); err != nil {
			t.Errorf("Parse(%q): %v", y, err)
		}
	}
}

func TestBodyFileIsRelativeToTheScenario(t *testing.T) {
	t.Setenv("BODY_TOKEN", "tok-123")
	t.Setenv("HOME", "/home/nobody")
	sc, err := Load("testdata/body_file.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := `{"token":"tok-123","literal":"${KEEP}","home":"$HOME"}` + "\n"
	if sc.Target.Body != want {
		t.Errorf("body = %q, want %q", sc.Target.Body, want)
	}
	if sc.Target.Method != "POST" {
		t.Errorf("method = %q, want POST for a body_file", sc.Target.Method)
	}
	if !reflect.DeepEqual(sc.Secrets, []string{"tok-123"}) {
		t.Errorf("Secrets = %q", sc.Secrets)
	}

	// The same file read from elsewhere: body_file still resolves beside it.
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "bodies"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bodies", "chat.json"), []byte("elsewhere"), 0o644); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile("testdata/body_file.yaml")
	path := filepath.Join(dir, "s.yaml")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	sc, err = Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if sc.Target.Body != "elsewhere" {
		t.Errorf("body = %q: body_file was not read beside the scenario", sc.Target.Body)
	}

	// Missing beside the scenario: the message names the path that was tried.
	if err := os.Remove(filepath.Join(dir, "bodies", "chat.json")); err != nil {
		t.Fatal(err)
	}
	_, err = Load(path)
	wantProblem(t, err, 5, 14, "target.body_file", "cannot read "+filepath.Join(dir, "bodies", "chat.json"))
}

func TestLoadFileErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ path, msg string }{
		{filepath.Join(dir, "missing.yaml"), "missing.yaml: no such file or directory"},
		{dir, ": is a directory, not a scenario file"},
	} {
		_, err := Load(c.path)
		var se *Error
		if !errors.As(err, &se) {
			t.Fatalf("Load(%s) = %v, want *Error", c.path, err)
		}
		if !strings.Contains(err.Error(), c.msg) || strings.Count(err.Error(), c.path) != 1 {
			t.Errorf("Load(%s) = %q, want it to name the path once and say %q", c.path, err, c.msg)
		}
	}
}

// The valid parts a malformed scenario below borrows when it breaks another.
const (
	okTarget  = "target: {url: embedded}\n"
	okTraffic = "traffic:\n  - constant: {rate: 20/s, duration: 1s}\n"
	okBudget  = "budget:\n  total: {p99: 1s}\n"
	okRest    = okTraffic + okBudget
)

// malformed is every way of getting a scenario wrong that the tests know,
// with where the (first) problem must be reported. FuzzParse starts from them.
var malformed = []struct {
	name      string
	yaml      string
	line, col int
	path      string
	msg       string
	problems  int // how many problems; 0 means 1
}{
	// Unknown keys, at every level.
	{"unknown top-level key", "foo: 1\n" + okTarget + okRest, 1, 1, "foo", `unknown key "foo"; a scenario takes name, description, seed, engine, target`, 0},
	{"unknown engine", "engine: turbo\n" + okTarget + okRest, 1, 9, "engine", `"turbo" is not an engine: use vegeta or native`, 0},
	{"engine as a list", "engine: [native]\n" + okTarget + okRest, 1, 9, "engine", `want`, 0},
	{"misspelled top-level key", okTarget + okTraffic + "bugdet:\n  total: {p99: 1s}\n", 4, 1, "bugdet", `unknown key "bugdet"; did you mean budget?`, 0},
	{"unknown target key", "target: {url: embedded, foo: 1}\n" + okRest, 1, 25, "target.foo", `unknown key "foo"; target takes url, method, headers`, 0},
	{"unknown network key", "network:\n  distanse: 40km\n" + okTarget + okRest, 2, 3, "network.distanse", `did you mean distance?`, 0},
	{"unknown service key", okTarget + okRest + "service:\n  worker: 4\n", 7, 3, "service.worker", `did you mean workers?`, 0},
	{"unknown key in a traffic item", okTarget + "traffic:\n  - constant: {rate: 20/s, duration: 1s}\n    foo: 2\n" + okBudget, 4, 5, "traffic[0].foo", `unknown key "foo"; a traffic segment is one of constant, ramp, step`, 0},
	{"unknown shape", okTarget + "traffic:\n  - steady: {rate: 20/s}\n" + okBudget, 3, 5, "traffic[0].steady", `a traffic segment is one of`, 0},
	{"unknown key inside a shape", okTarget + "traffic:\n  - burst: {rate: 1/s, peak: 5/s, every: 2s, lasting: 1s, duration: 4s, jitter: 1s}\n" + okBudget, 3, 73, "traffic[0].burst.jitter", `unknown key "jitter"; traffic[0].burst takes rate, peak, every, lasting, duration`, 0},
	{"unknown key in a delay model", okTarget + okRest + "service:\n  database: {p50: 1ms, p95: 2ms}\n", 7, 24, "service.database.p95", `unknown key "p95"; did you mean p99?`, 0},
	{"unknown budget line key", okTarget + okTraffic + "budget:\n  total: {p99x: 1s}\n", 5, 11, "budget.total.p99x", `"p99x" is not a percentile (want e.g. p95, p99.9)`, 0},
	{"budget line key that is no percentile", okTarget + okTraffic + "budget:\n  total: {limit: 1s}\n", 5, 11, "budget.total.limit", `unknown key "limit": a budget line takes percentiles (p50, p95, p99, p99.9) and source`, 0},
	{"key given twice", okTarget + okRest + "target: {url: embedded}\n", 6, 1, "target", `"target" is given twice (first on line 1)`, 0},
	{"header given twice", "target:\n  url: embedded\n  headers:\n    A: x\n    A: y\n" + okRest, 5, 5, "target.headers.A", `"A" is given twice (first on line 4)`, 0},

	// Values of the wrong kind.
	{"workers as text", okTarget + okRest + "service:\n  workers: many\n", 7, 12, "service.workers", `want a whole number, got "many"`, 0},
	{"workers as a fraction", okTarget + okRest + "service:\n  workers: 1.5\n", 7, 12, "service.workers", `want a whole number, got 1.5`, 0},
	{"target as a list", "target: [embedded]\n" + okRest, 1, 9, "target", `want a mapping (with keys url, method, headers, body, body_file, stream, timeout, http2, insecure), got a list`, 0},
	{"target as text", "target: embedded\n" + okRest, 1, 9, "target", `want a mapping (with keys url,`, 0},
	{"url as a mapping", "target:\n  url: {host: example.com}\n" + okRest, 2, 8, "target.url", `want text, got a mapping`, 0},
	{"traffic as a number", okTarget + "traffic: 5\n" + okBudget, 2, 10, "traffic", `want a list of segments (- constant: {rate: 20/s, duration: 10s}), got 5`, 0},
	{"traffic item as text", okTarget + "traffic:\n  - constant\n" + okBudget, 3, 5, "traffic[0]", `want a segment (constant: {rate: 20/s, duration: 10s}), got "constant"`, 0},
	{"http2 as text", "target: {url: embedded, http2: maybe}\n" + okRest, 1, 32, "target.http2", `want true or false, got "maybe"`, 0},
	{"headers as a list", "target: {url: embedded, headers: [a]}\n" + okRest, 1, 34, "target.headers", `want a mapping of names to text (Content-Type: application/json), got a list`, 0},
	{"negative seed", "seed: -1\n" + okTarget + okRest, 1, 7, "seed", `want a whole number, 0 or more, got -1`, 0},
	{"delay as a duration", okTarget + okRest + "service:\n  database: 5ms\n", 7, 13, "service.database", `want a delay model ({p50: X, p99: Y}, {fixed: X} or {mean: X}), got "5ms"`, 0},
	{"reuse as a list", "network: {reuse: [1]}\n" + okTarget + okRest, 1, 18, "network.reuse", `want a number, got a list`, 0},
	{"reuse infinite", "network: {reuse: .inf}\n" + okTarget + okRest, 1, 18, "network.reuse", `want a number, got .inf`, 0},

	// Rates.
	{"rate without unit", okTarget + "traffic:\n  - constant: {rate: 20, duration: 1s}\n" + okBudget, 3, 22, "traffic[0].constant.rate", `"20" is not a rate: write N/s, N/m or N/h (e.g. 20/s)`, 0},
	{"rate with unknown unit", okTarget + "traffic:\n  - constant: {rate: 20/x, duration: 1s}\n" + okBudget, 3, 22, "traffic[0].constant.rate", `unit "x" must be s, m or h`, 0},
	{"negative rate", okTarget + "traffic:\n  - constant: {rate: -5/s, duration: 1s}\n" + okBudget, 3, 22, "traffic[0].constant.rate", `rate -5/s is negative`, 0},
	{"rate that is no number", okTarget + "traffic:\n  - constant: {rate: abc/s, duration: 1s}\n" + okBudget, 3, 22, "traffic[0].constant.rate", `"abc/s" is not a rate: "abc" is not a number`, 0},
	{"zero rate", okTarget + "traffic:\n  - poisson: {rate: 0/s, duration: 1s}\n" + okBudget, 3, 21, "traffic[0].poisson.rate", `must be above zero`, 0},

	// Durations.
	{"zero duration", okTarget + "traffic:\n  - constant: {rate: 20/s, duration: 0s}\n" + okBudget, 3, 38, "traffic[0].constant.duration", `must be above zero`, 0},
	{"negative duration", okTarget + "traffic:\n  - constant: {rate: 20/s, duration: -1s}\n" + okBudget, 3, 38, "traffic[0].constant.duration", `must be above zero`, 0},
	{"duration without unit", okTarget + "traffic:\n  - pause: {duration: 10}\n" + okBudget, 3, 23, "traffic[0].pause.duration", `"10" has no unit: write a duration like 10ms or 10s`, 0},
	{"duration that is no duration", "target: {url: embedded, timeout: soon}\n" + okRest, 1, 34, "target.timeout", `"soon" is not a duration (want e.g. 250ms, 10s, 2m)`, 0},
	{"negative timeout", "target: {url: embedded, timeout: -1s}\n" + okRest, 1, 34, "target.timeout", `must be above zero`, 0},
	{"missing duration value", okTarget + "traffic:\n  - pause: {duration: }\n" + okBudget, 3, 13, "traffic[0].pause.duration", `missing value: want a duration like 250ms or 10s`, 0},

	// Shapes.
	{"peak not above rate", okTarget + "traffic:\n  - burst: {rate: 40/s, peak: 40/s, every: 5s, lasting: 1s, duration: 10s}\n" + okBudget, 3, 31, "traffic[0].burst.peak", `40/s must be above rate (40/s)`, 0},
	{"lasting not below every", okTarget + "traffic:\n  - burst: {rate: 40/s, peak: 80/s, every: 1s, lasting: 1s, duration: 10s}\n" + okBudget, 3, 57, "traffic[0].burst.lasting", `1s must be shorter than every (1s)`, 0},
	{"amplitude above mean", okTarget + "traffic:\n  - sine: {mean: 10/s, amplitude: 20/s, period: 1s, duration: 1s}\n" + okBudget, 3, 35, "traffic[0].sine.amplitude", `20/s is above mean (10/s): the rate would go negative`, 0},
	{"one step", okTarget + "traffic:\n  - step: {from: 1/s, to: 20/s, steps: 1, duration: 1s}\n" + okBudget, 3, 40, "traffic[0].step.steps", `1: a step needs at least 2 stairs`, 0},
	{"gamma burstiness 0", okTarget + "traffic:\n  - gamma: {rate: 20/s, burstiness: 0, duration: 1s}\n" + okBudget, 3, 37, "traffic[0].gamma.burstiness", `missing or 0: give the gamma shape k, above 0`, 0},
	{"gamma burstiness too small", okTarget + "traffic:\n  - gamma: {rate: 20/s, burstiness: 0.001, duration: 1s}\n" + okBudget, 3, 37, "traffic[0].gamma.burstiness", `0.001 must be between 0.01 and 1e+06`, 0},
	{"empty traffic", okTarget + "traffic: []\n" + okBudget, 2, 10, "traffic", `missing: give at least one segment`, 0},
	{"no traffic", okTarget + okBudget, 1, 1, "traffic", `missing: give at least one segment`, 0},
	{"two shapes in one item", okTarget + "traffic:\n  - constant: {rate: 20/s, duration: 1s}\n    pause: {duration: 1s}\n" + okBudget, 3, 5, "traffic[0]", `one shape per segment, found [constant pause]: make each its own list item`, 0},
	{"shape without parameters", okTarget + "traffic:\n  - constant:\n" + okBudget, 3, 5, "traffic[0].constant", `missing value: constant takes rate, duration`, 0},
	{"empty item", okTarget + "traffic:\n  - {}\n" + okBudget, 3, 5, "traffic[0]", `empty segment: give one of constant, ramp`, 0},
	{"plan sends nothing", okTarget + "traffic:\n  - constant: {rate: 1/h, duration: 1s}\n" + okBudget, 2, 1, "traffic", `plan sends no request`, 0},
	{"plan too long", okTarget + "traffic:\n  - constant: {rate: 1/s, duration: 200h}\n" + okBudget, 2, 1, "traffic", `plan lasts 200h0m0s; the limit is 168h0m0s`, 0},

	// Delay models.
	{"p99 below p50", okTarget + okRest + "service:\n  database: {p50: 5ms, p99: 2ms}\n", 7, 29, "service.database.p99", `2ms is below p50 (5ms): a p99 cannot be faster than the median`, 0},
	{"empty delay model", okTarget + okRest + "service:\n  ttft: {}\n", 7, 9, "service.ttft", `empty delay model: give {p50: X, p99: Y}, {fixed: X} or {mean: X}`, 0},
	{"two delay forms", okTarget + okRest + "service:\n  itl: {mean: 5ms, fixed: 2ms}\n", 7, 8, "service.itl", `give one form of delay: {p50, p99}, {fixed} or {mean}, not several`, 0},
	{"p50 without p99", "network:\n  rtt: {p50: 5ms}\n" + okTarget + okRest, 2, 8, "network.rtt", `p99 is missing: a lognormal model needs both p50 and p99`, 0},
	{"zero mean", okTarget + okRest + "service:\n  itl: {mean: 0s}\n", 7, 15, "service.itl.mean", `0s must be above zero`, 0},
	{"negative fixed", okTarget + okRest + "service:\n  itl: {fixed: -1ms}\n", 7, 16, "service.itl.fixed", `-1ms must not be negative`, 0},

	// Budget.
	{"unknown budget source", okTarget + okTraffic + "budget:\n  total: {p99: 1s, source: wire}\n", 5, 28, "budget.total.source", `unknown source "wire": use one of dns, connect, tls, ttfb, ttft, itl, total, service or server-timing:NAME`, 0},
	{"duplicate budget line", okTarget + okTraffic + "budget:\n  total: {p99: 1s}\n  total: {p95: 1s}\n", 6, 3, "budget.total", `budget line "total" is given twice (first on line 5)`, 0},
	{"duplicate percentile", okTarget + okTraffic + "budget:\n  total: {p99: 1s, p99.0: 2s}\n", 5, 20, `budget.total."p99.0"`, `p99.0 is given twice (as p99 before)`, 0},
	{"p100", okTarget + okTraffic + "budget:\n  total: {p100: 1s}\n", 5, 11, "budget.total.p100", `p100 is out of range: a percentile is above p0 and below p100 (e.g. p50, p99.9)`, 0},
	{"p0", okTarget + okTraffic + "budget:\n  total: {p0: 1s}\n", 5, 11, "budget.total.p0", `p0 is out of range: a percentile is above p0 and below p100`, 0},
	{"pabc", okTarget + okTraffic + "budget:\n  total: {pabc: 1s}\n", 5, 11, "budget.total.pabc", `"pabc" is not a percentile`, 0},
	{"hex percentile", okTarget + okTraffic + "budget:\n  total: {p0x1p4: 1s}\n", 5, 11, "budget.total.p0x1p4", `"p0x1p4" is not a percentile`, 0},
	{"line without default source", okTarget + okTraffic + "budget:\n  queue: {p99: 1s}\n", 5, 3, "budget.queue", `budget line "queue" has no default source: add source:`, 0},
	{"line without percentiles", okTarget + okTraffic + "budget:\n  total: {source: ttfb}\n", 5, 3, "budget.total", `budget line "total" gives no percentile: add e.g. p99: 100ms`, 0},
	{"zero limit", okTarget + okTraffic + "budget:\n  total: {p99: 0ms}\n", 5, 16, "budget.total.p99", `p99 limit must be above zero`, 0},
	{"percentile without value", okTarget + okTraffic + "budget:\n  total: {p99: }\n", 5, 11, "budget.total.p99", `missing value: want a duration like 250ms or 10s`, 0},
	{"empty budget line", okTarget + okTraffic + "budget:\n  total:\n", 5, 3, "budget.total", `budget line "total" is empty: give limits like {p95: 70ms, p99: 90ms}`, 0},
	{"errors above 100%", okTarget + okTraffic + "budget:\n  errors: 150%\n", 5, 11, "budget.errors", `"150%" must be between 0% and 100%`, 0},
	{"empty budget", okTarget + okTraffic + "budget:\n", 4, 1, "budget", `missing: a gate needs at least one line`, 0},
	{"no budget", okTarget + okTraffic, 1, 1, "budget", `missing: a gate needs at least one line`, 0},
	{"budget as a list", okTarget + okTraffic + "budget: [total]\n", 4, 9, "budget", `want a mapping of budget lines (total: {p99: 2s}), got a list`, 0},

	// Target.
	{"missing target", okRest, 1, 1, "target.url", `missing: say which service to test`, 0},
	{"missing url", "target:\n  method: GET\n" + okRest, 1, 1, "target.url", `missing: say which service to test, e.g. url: embedded`, 0},
	{"bad url scheme", "target: {url: 'ftp://example.com/x'}\n" + okRest, 1, 15, "target.url", `"ftp://example.com/x" must start with http:// or https:// (or be embedded)`, 0},
	{"url without host", "target: {url: 'https:///v1/chat'}\n" + okRest, 1, 15, "target.url", `"https:///v1/chat" has no host`, 0},
	{"unset variable", "target:\n  url: embedded\n  headers:\n    Authorization: Bearer ${TAILGATE_TEST_UNSET}\n" + okRest, 4, 20, "target.headers.Authorization", `environment variable TAILGATE_TEST_UNSET is not set (used as ${TAILGATE_TEST_UNSET})`, 0},
	{"unclosed variable", "target: {url: embedded, body: 'x ${A'}\n" + okRest, 1, 31, "target.body", `unclosed ${ at "${A"`, 0},
	{"body and body_file", "target: {url: embedded, body: a, body_file: b.json}\n" + okRest, 1, 45, "target.body_file", `give body or body_file, not both`, 0},
	{"unreadable body_file", "target: {url: embedded, body_file: no-such-body.json}\n" + okRest, 1, 36, "target.body_file", `cannot read no-such-body.json: no such file or directory`, 0},
	{"bad method", "target: {url: embedded, method: 'GE T'}\n" + okRest, 1, 33, "target.method", `"GE T" is not an HTTP method`, 0},
	{"bad stream", "target: {url: embedded, stream: websocket}\n" + okRest, 1, 33, "target.stream", `"websocket" is not a stream mode: use none or sse`, 0},
	{"bad header name", "target:\n  url: embedded\n  headers: {'X Y': z}\n" + okRest, 3, 13, "target.headers.X Y", `"X Y" is not a valid header name`, 0},

	// Network and service.
	{"tls 1.1", "network: {tls: 1.1}\n" + okTarget + okRest, 1, 16, "network.tls", `TLS version "1.1" is not supported: use "1.2" or "1.3"`, 0},
	{"reuse above 1", "network: {reuse: 1.5}\n" + okTarget + okRest, 1, 18, "network.reuse", `1.5 must be between 0 and 1`, 0},
	{"emulate without rtt", "network: {emulate: true}\n" + okTarget + okRest, 1, 20, "network.emulate", `emulation needs a round-trip model: add network.rtt`, 0},
	{"distance in parsecs", "network: {distance: 3 parsecs}\n" + okTarget + okRest, 1, 21, "network.distance", `unit "parsecs" must be km, m or mi`, 0},
	{"zero workers", okTarget + okRest + "service:\n  workers: 0\n", 7, 12, "service.workers", `0 must be between 1 and 1000000`, 0},
	{"negative tokens", okTarget + okRest + "service:\n  tokens: -1\n", 7, 11, "service.tokens", `-1 must be between 0 and 1000000`, 0},
	{"error share as text", okTarget + okRest + "service:\n  errors: some\n", 7, 11, "service.errors", `"some" is not a share (want e.g. 1% or 0.01)`, 0},

	// YAML itself.
	{"alias", "x: &a 1\n" + okTarget + okRest, 1, 4, "x", `anchors and aliases (&name, *name) are not supported in scenarios`, 0},
	{"alias use", okTarget + "traffic:\n  - constant: {rate: 20/s, duration: 1s}\n  - constant: *seg\n" + okBudget, 4, 15, "traffic[1].constant", `anchors and aliases (&name, *name) are not supported`, 0},
	{"merge key", "target:\n  <<: {url: embedded}\n" + okRest, 2, 3, "target.<<", `merge keys (<<) are not supported in scenarios: write the keys out`, 0},
	{"tag", "name: !!str 7\n" + okTarget + okRest, 1, 7, "name", `tags (!!str) are not supported in scenarios`, 0},
	{"explicit key", "? name\n: x\n" + okTarget + okRest, 1, 1, "name", `explicit keys (? key) are not supported`, 0},
	{"two documents", okTarget + okRest + "---\n" + okTarget, 6, 1, "", `a scenario file holds one YAML document; found 2`, 0},
	{"empty file", "", 1, 1, "", `scenario is empty: it needs at least target, traffic and budget`, 0},
	{"only comments", "# nothing yet\n", 1, 1, "", `scenario is empty`, 0},
	{"a list", "- target: {url: embedded}\n", 1, 1, "", `a scenario is a mapping (with keys name, description, seed, engine, target, network, traffic, service, budget), got a list`, 0},
	{"a scalar", "hello\n", 1, 1, "", `a scenario is a mapping (with keys name, description, seed, engine, target, network, traffic, service, budget), got "hello"`, 0},
	{"null document", "~\n", 1, 1, "", `got nothing`, 0},
	{"unclosed list", "traffic: [1\n", 1, 10, "", `invalid YAML: sequence end token ']' not found`, 0},
	{"mapping in a plain value", "name: a: b\n", 1, 7, "", `invalid YAML: mapping value is not allowed in this context`, 0},
	{"tab indentation", "target:\n\turl: embedded\n", 2, 1, "", `invalid YAML: tabs are not allowed for indentation, use spaces`, 0},
	{"deep nesting", "name: " + strings.Repeat("[", 100) + strings.Repeat("]", 100) + "\n", 1, 71, "", `more than 64 levels of [ ] and { }`, 0},

	// Several problems: all reported, in file order.
	{"problems in every section", "target: {url: embedded, method: 'A B'}\ntraffic:\n  - constant: {rate: 0/s, duration: 1s}\n" + okBudget + "network: {reuse: 2}\n", 1, 33, "target.method", `"A B" is not an HTTP method`, 3},
	{"decode problems across sections", "target: {url: [x], foo: 1}\ntraffic:\n  - constant: {rate: 20, duration: 1s}\n  - pause: {duration: 1}\nbudget:\n  total: {p0: 1s, p99: x}\n", 1, 15, "target.url", `want text, got a list`, 6},
}

// wantProblem checks that err is an *Error whose first problem is at
// line:col, names path and says msg.
func wantProblem(t *testing.T, err error, line, col int, path, msg string) *Error {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %d:%d: %s: %s", line, col, path, msg)
	}
	var se *Error
	if !errors.As(err, &se) {
		t.Fatalf("error %T %q is not a *scenario.Error", err, err)
	}
	if len(se.Problems) == 0 {
		t.Fatalf("*Error without problems: %q", err)
	}
	p := se.Problems[0]
	if p.Line != line || p.Col != col || p.Path != path || !strings.Contains(p.Msg, msg) {
		t.Errorf("first problem %d:%d: %q: %q\nwant        %d:%d: %q: …%q…\n%s", p.Line, p.Col, p.Path, p.Msg, line, col, path, msg, err)
	}
	head := fmt.Sprintf("%s:%d:%d: ", se.File, line, col)
	if path != "" {
		head += path + ": "
	}
	if text := err.Error(); !strings.HasPrefix(text, head) || !strings.Contains(strings.SplitN(text, "\n", 2)[0], msg) {
		t.Errorf("Error() = %q, want it to start %q and say %q", text, head, msg)
	}
	return se
}

// goLeak matches what only a Go program, never a scenario author, would
// write: a stack trace, a Go type.
var goLeak = regexp.MustCompile(`goroutine|panic|scenario\.[A-Z]|\*int|\b(u?int(8|16|32|64)?|float(32|64)|reflect|struct)\b|Go (value|struct)|ast\.|\[\]`)

func TestParseErrors(t *testing.T) {
	if len(malformed) < 30 {
		t.Fatalf("only %d malformed scenarios", len(malformed))
	}
	for _, c := range malformed {
		t.Run(c.name, func(t *testing.T) {
			sc, err := Parse("bad.yaml", []byte(c.yaml))
			if sc != nil {
				t.Errorf("Parse returned a scenario with the error")
			}
			se := wantProblem(t, err, c.line, c.col, c.path, c.msg)
			if want := max(c.problems, 1); len(se.Problems) != want {
				t.Errorf("%d problems, want %d:\n%s", len(se.Problems), want, err)
			}
			for _, p := range se.Problems {
				if m := goLeak.FindString(p.Msg); m != "" {
					t.Errorf("message %q shows Go internals (%q)", p.Msg, m)
				}
				if p.Line < 1 || p.Col < 1 {
					t.Errorf("problem %q has no position", p.Msg)
				}
			}
			if m := goLeak.FindString(err.Error()); m != "" && !strings.Contains(c.yaml, m) {
				t.Errorf("Error() shows Go internals (%q):\n%s", m, err)
			}
		})
	}
}

func TestErrorsComeInFileOrder(t *testing.T) {
	_, err := Parse("bad.yaml", []byte(malformed[len(malformed)-1].yaml))
	var se *Error
	if !errors.As(err, &se) {
		t.Fatal(err)
	}
	var got []string
	for _, p := range se.Problems {
		got = append(got, fmt.Sprintf("%d:%d %s", p.Line, p.Col, p.Path))
	}
	want := []string{
		"1:15 target.url",
		"1:20 target.foo",
		"3:22 traffic[0].constant.rate",
		"4:23 traffic[1].pause.duration",
		"6:11 budget.total.p0",
		"6:24 budget.total.p99",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("problems at\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestErrorFormat(t *testing.T) {
	_, err := Parse("s.yaml", []byte(okTarget+"traffic:\n\t- constant: {rate: 2, duration: 1s}\n"+okBudget))
	want := "s.yaml:3:1: invalid YAML:"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("err = %v, want %q…", err, want)
	}

	_, err = Parse("s.yaml", []byte(okTarget+"traffic:\n  - constant: {rate: 2, duration: 1s}\n"+okBudget))
	want = `s.yaml:3:22: traffic[0].constant.rate: "2" is not a rate: write N/s, N/m or N/h (e.g. 20/s)
     3 |   - constant: {rate: 2, duration: 1s}
       |                      ^`
	if err == nil || err.Error() != want {
		t.Errorf("Error() =\n%v\nwant\n%s", err, want)
	}

	// The caret keeps the tabs of the line it points into.
	e := &Error{File: "t.yaml", Problems: []Problem{
		{Line: 2, Col: 4, Path: "a", Msg: "first", Source: "\tx: y"},
		{Line: 9, Col: 1, Msg: "second"},
	}}
	want = "t.yaml:2:4: a: first\n     2 | \tx: y\n       | \t  ^\nt.yaml:9:1: second"
	if e.Error() != want {
		t.Errorf("Error() =\n%q\nwant\n%q", e.Error(), want)
	}
}

func TestTooManyProblems(t *testing.T) {
	for _, bad := range []string{
		"  - constant: {rate: 1/x, duration: 1s}\n", // decoding
		"  - constant: {rate: 0/s, duration: 1s}\n", // validation
	} {
		y := okTarget + "traffic:\n" + strings.Repeat(bad, 80) + okBudget
		_, err := Parse("many.yaml", []byte(y))
		var se *Error
		if !errors.As(err, &se) {
			t.Fatal(err)
		}
		last := se.Problems[len(se.Problems)-1]
		if len(se.Problems) != maxProblems || !strings.HasSuffix(last.Msg, "(further problems not shown)") || last.Path != "traffic[49].constant.rate" {
			t.Errorf("%d problems, last %s: %q; want %d, the last saying there are more", len(se.Problems), last.Path, last.Msg, maxProblems)
		}
	}
}

// fuzzSeeds are the scenarios FuzzParse starts from: every table above,
// the testdata files and the repository's example scenarios.
func fuzzSeeds(t testing.TB) [][]byte {
	var seeds [][]byte
	for _, c := range malformed {
		seeds = append(seeds, []byte(c.yaml))
	}
	for _, c := range unitCases {
		var y string
		switch c.kind {
		case "rate":
			y = okTarget + "traffic:\n  - poisson: {rate: " + c.text + ", duration: 1s}\n" + okBudget
		case "duration":
			y = "target: {url: embedded, timeout: " + c.text + "}\n" + okRest
		case "distance":
			y = "network: {distance: " + c.text + "}\n" + okTarget + okRest
		case "ratio":
			y = okTarget + okTraffic + "budget: {errors: " + c.text + "}\n"
		case "tls":
			y = "network: {tls: " + c.text + "}\n" + okTarget + okRest
		}
		seeds = append(seeds, []byte(y))
	}
	for _, c := range expandCases {
		seeds = append(seeds, []byte("target: {url: embedded, body: '"+strings.ReplaceAll(c.in, "'", "''")+"'}\n"+okRest))
	}
	files, _ := filepath.Glob("testdata/*.yaml")
	more, _ := filepath.Glob("../scenarios/*.yaml")
	files = append(files, more...)
	if len(more) == 0 {
		t.Log("no ../scenarios/*.yaml to seed from")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, data)
	}
	return seeds
}

// quoted matches a Go-quoted string in a message: it holds the user's own
// text, which may say anything.
var quoted = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)

func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		t.Setenv("API_TOKEN", "fuzz-token")
		sc, err := Parse("fuzz.yaml", data)
		if err != nil {
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("error %T is not a *scenario.Error: %v", err, err)
			}
			if sc != nil {
				t.Fatal("a scenario and an error")
			}
			if len(se.Problems) == 0 || !strings.HasPrefix(err.Error(), "fuzz.yaml:") {
				t.Fatalf("Error() = %q", err)
			}
			for _, p := range se.Problems {
				if p.Msg == "" {
					t.Fatalf("empty message in %q", err)
				}
				if len(data) > 0 && (p.Line < 1 || p.Col < 1) {
					t.Fatalf("problem without position: %+v", p)
				}
				if m := goLeak.FindString(quoted.ReplaceAllString(p.Msg, `""`)); m != "" {
					t.Fatalf("message %q shows Go internals (%q)", p.Msg, m)
				}
			}
			return
		}
		if sc.Target.Method == "" || sc.Target.Timeout <= 0 || (sc.Target.Stream != StreamNone && sc.Target.Stream != StreamSSE) {
			t.Fatalf("defaults not filled: %+v", sc.Target)
		}
		if sc.Name == "" || len(sc.Traffic) == 0 || (len(sc.Budget.Lines) == 0 && sc.Budget.Errors == nil) {
			t.Fatalf("valid scenario without name, traffic or budget: %+v", sc)
		}
		var planned float64
		var lasts time.Duration
		for _, s := range sc.Traffic {
			planned += s.ExpectedRequests()
			lasts += s.Duration()
		}
		if planned < 1 || lasts <= 0 {
			t.Fatalf("valid scenario expects %v requests over %v", planned, lasts)
		}
	})
}

// The engine defaults to vegeta; native is chosen by name.
func TestEngine(t *testing.T) {
	for _, tc := range []struct {
		yaml string
		want Engine
	}{{"", EngineVegeta}, {"engine: vegeta\n", EngineVegeta}, {"engine: native\n", EngineNative}} {
		sc, err := Parse("e.yaml", []byte(tc.yaml+okTarget+okRest))
		if err != nil {
			t.Fatalf("%q: %v", tc.yaml, err)
		}
		if sc.Engine != tc.want {
			t.Errorf("%q: engine %q, want %q", tc.yaml, sc.Engine, tc.want)
		}
	}
}
