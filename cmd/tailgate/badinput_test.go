package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tailgate-dev/tailgate/scenario"
)

// badInputs is what a person must read for each hostile or malformed
// scenario in testdata/bad: a phrase of the message that says what is wrong.
// Every file there has an entry, and every entry a file.
var badInputs = map[string]string{
	// YAML that does not parse, or is not a scenario.
	"syntax-unclosed-flow.yaml":  "invalid YAML: ',' or ']' must be specified",
	"syntax-unclosed-quote.yaml": "could not find end character of double-quoted text",
	"syntax-bad-indent.yaml":     "invalid YAML: value is not allowed in this context",
	"syntax-tabs.yaml":           "tabs are not allowed for indentation, use spaces",
	"syntax-value-in-value.yaml": "mapping value is not allowed in this context",
	"syntax-two-documents.yaml":  "a scenario file holds one YAML document; found 2",
	"empty.yaml":                 "scenario is empty: it needs at least target, traffic and budget",
	"only-comments.yaml":         "scenario is empty",
	"not-a-mapping.yaml":         "a scenario is a mapping",
	"plain-text.yaml":            `a scenario is a mapping (with keys name, description, seed, engine, target`,
	"binary-garbage.yaml":        "invalid YAML",
	// Encodings: a byte order mark, Windows line endings.
	"bom.yaml":  `unknown key "\ufefftarget"`,
	"crlf.yaml": `traffic[0].constant.duration: "soon" is not a duration (want e.g. 250ms, 10s, 2m)`,
	// Values of the wrong kind.
	"type-traffic-mapping.yaml":  "traffic: want a list of segments",
	"type-rate-bare-number.yaml": `"20" is not a rate: write N/s, N/m or N/h`,
	"type-duration-bool.yaml":    `"yes" is not a duration`,
	"type-workers-text.yaml":     `service.workers: want a whole number, got "many"`,
	"type-workers-fraction.yaml": "service.workers: want a whole number, got 1.5",
	"type-headers-list.yaml":     "target.headers: want a mapping of names to text",
	"type-http2-text.yaml":       `target.http2: want true or false, got "yes please"`,
	"type-seed-negative.yaml":    "seed: want a whole number, 0 or more, got -7",
	"type-budget-list.yaml":      "budget: want a mapping of budget lines",
	"type-tag-binary.yaml":       "tags (!!binary) are not supported in scenarios",
	// Numbers too large to mean anything.
	"huge-rate.yaml":     "rate 1e308/s is above the limit of 10000000/s",
	"huge-duration.yaml": `"99999999999h" is not a duration`,
	"huge-workers.yaml":  "service.workers: want a whole number",
	"huge-seed.yaml":     "seed: want a whole number, 0 or more",
	"huge-tokens.yaml":   "service.tokens: 1000000000 must be between 0 and 1000000",
	"huge-plan.yaml":     "plan sends 1.21e+13 requests; the limit is 1e+09",
	"huge-timeout.yaml":  "target.timeout: 1000000h0m0s is longer than the limit of 1h0m0s",
	// Negative and absurd values.
	"negative-duration.yaml":      "traffic[0].constant.duration: must be above zero",
	"negative-timeout.yaml":       "target.timeout: must be above zero",
	"negative-rate.yaml":          "rate -20/s is negative",
	"absurd-rate-unit.yaml":       `unit "fortnight" must be s, m or h`,
	"absurd-rate-nan.yaml":        `"NaN" is not a number`,
	"absurd-rate-zero.yaml":       "must be above zero (a segment with no traffic is a pause)",
	"absurd-burst-peak.yaml":      "traffic[0].burst.peak: 30/s must be above rate (40/s)",
	"absurd-burst-lasting.yaml":   "traffic[0].burst.lasting: 5s must be shorter than every (1s)",
	"absurd-errors-ratio.yaml":    `service.errors: "150%" must be between 0% and 100%`,
	"absurd-reuse.yaml":           "network.reuse: 2 must be between 0 and 1",
	"absurd-p99-below-p50.yaml":   "a p99 cannot be faster than the median",
	"absurd-delay-two-forms.yaml": "give one form of delay",
	"absurd-distance.yaml":        "distance -4000km is negative",
	"absurd-tls-version.yaml":     `TLS version "1.1" is not supported: use "1.2" or "1.3"`,
	"absurd-emulate-no-rtt.yaml":  "emulation needs a round-trip model",
	"absurd-budget-p100.yaml":     "p100 is out of range",
	// Nesting deep enough to hurt a parser.
	"deep-flow-nesting.yaml":  "more than 64 levels of [ ] and { }",
	"deep-block-nesting.yaml": `service.level0: unknown key "level0"`,
	// Anchors and aliases, including the billion laughs.
	"billion-laughs.yaml":  "anchors and aliases (&name, *name) are not supported in scenarios",
	"alias-traffic.yaml":   "anchors and aliases (&name, *name) are not supported in scenarios",
	"alias-merge-key.yaml": "merge keys (<<) are not supported in scenarios",
	"alias-undefined.yaml": "anchors and aliases (&name, *name) are not supported in scenarios",
	// Unknown keys at every level.
	"unknown-top.yaml":           `budgets: unknown key "budgets"; did you mean budget?`,
	"unknown-target.yaml":        `target.methd: unknown key "methd"; did you mean method?`,
	"unknown-network.yaml":       `network.latency: unknown key "latency"; network takes distance, rtt`,
	"unknown-segment-kind.yaml":  `unknown key "linear"; a traffic segment is one of constant, ramp`,
	"unknown-segment-param.yaml": `traffic[0].constant.jitter: unknown key "jitter"`,
	"unknown-service.yaml":       `service.wrokers: unknown key "wrokers"; did you mean workers?`,
	"unknown-delay.yaml":         `service.database.p90: unknown key "p90"`,
	"unknown-budget-param.yaml":  `budget.total.sauce: unknown key "sauce"`,
	"unknown-budget-source.yaml": `unknown source "bogus": use one of`,
	"unknown-stream.yaml":        `"websocket" is not a stream mode: use none or sse`,
	"duplicate-key.yaml":         `"target" is given twice (first on line 1)`,
	// URLs.
	"url-missing.yaml":      "target.url: missing: say which service to test",
	"url-ftp.yaml":          "must start with http:// or https:// (or be embedded)",
	"url-no-host.yaml":      `"http://" has no host`,
	"url-bad-ipv6.yaml":     `"http://[::1:8080/" is not a URL`,
	"url-spaces.yaml":       `"http://exa mple.com/" is not a URL`,
	"url-relative.yaml":     `"/v1/chat" must start with http:// or https://`,
	"url-control-char.yaml": "is not a URL",
	// ${VAR}s that are unset or not variables.
	"env-unset-header.yaml": "environment variable TAILGATE_BADINPUT_UNSET is not set",
	"env-unset-url.yaml":    "target.url: environment variable TAILGATE_BADINPUT_UNSET is not set",
	"env-unset-body.yaml":   "target.body: environment variable TAILGATE_BADINPUT_UNSET is not set",
	"env-bad-name.yaml":     "${1NOT-A-NAME} is not a variable name",
	"env-unclosed.yaml":     "unclosed ${",
	// Requests that cannot be sent.
	"header-bad-name.yaml":     `"Bad Header" is not a valid header name`,
	"header-newline.yaml":      "header value must be one line",
	"method-bad.yaml":          `"GET /admin" is not an HTTP method`,
	"body-file-missing.yaml":   "target.body_file: cannot read testdata/bad/bodies/no-such-body.json: no such file or directory",
	"body-file-directory.yaml": "target.body_file: testdata/bad is a directory, not a body file",
	"body-file-dev-zero.yaml":  "target.body_file: /dev/zero is a character device, not a regular file",
	"body-and-body-file.yaml":  "give body or body_file, not both",
	// A plan or a gate that is missing.
	"budget-missing.yaml": "budget: missing: a gate needs at least one line",
	"budget-empty.yaml":   "budget: missing: a gate needs at least one line",
	"traffic-empty.yaml":  "traffic: missing: give at least one segment",
	"segment-empty.yaml":  "missing value: constant takes rate, duration",
	"long-line.yaml":      `budget.total.p99: "fast" is not a duration`,
}

// goInternals matches what only a Go program, never a scenario author,
// writes: a stack trace, a source position in Go code, a Go type.
var goInternals = regexp.MustCompile(`goroutine|panic|runtime\.|\.go:\d|scenario\.[A-Z]|\*int|\b(u?int(8|16|32|64)?|float(32|64)|reflect|struct|interface)\b|Go (value|struct)|ast\.|yaml\.[A-Z]|\[\][a-z*]|0x[0-9a-f]{6}`)

// snippet matches the lines of an error that quote the file and point into it.
var snippet = regexp.MustCompile(`^ +(\d+ )?\| `)

// userText matches a quoted value: the user's own text, which may say anything.
var userText = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)

type badInput struct {
	path, want string
	positioned bool // the problem has a line and column
}

// TestBadInput runs every malformed or hostile scenario through `run` and
// `validate` as a user would: each exits 2, names the file with line and
// column, says what is wrong in words, and shows nothing of Go.
func TestBadInput(t *testing.T) {
	os.Unsetenv("TAILGATE_BADINPUT_UNSET")
	dir := filepath.Join("testdata", "bad")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var inputs []badInput
	var onDisk []string
	for _, e := range entries {
		if e.IsDir() {
			continue // bodies/ holds files the scenarios refer to
		}
		onDisk = append(onDisk, e.Name())
		want, ok := badInputs[e.Name()]
		if !ok {
			t.Errorf("%s has no expected message in badInputs", e.Name())
			continue
		}
		inputs = append(inputs, badInput{path: filepath.Join(dir, e.Name()), want: want, positioned: true})
	}
	for name := range badInputs {
		if !slices.Contains(onDisk, name) {
			t.Errorf("badInputs names %s, which is not in %s", name, dir)
		}
	}
	if len(inputs) < 40 {
		t.Fatalf("only %d bad inputs", len(inputs))
	}

	// Inputs that cannot be files in a repository, made here.
	inputs = append(inputs, unfileable(t)...)
	for _, in := range inputs {
		t.Run(filepath.Base(in.path), func(t *testing.T) {
			for _, cmd := range []string{"run", "validate", "simulate"} {
				code, stdout, msg := runBounded(t, cmd, in.path)
				if code != exitInvalid {
					t.Fatalf("%s: exit %d, want %d\nstdout: %s\nstderr: %s", cmd, code, exitInvalid, stdout, msg)
				}
				if stdout != "" {
					t.Errorf("%s: printed on stdout: %q", cmd, stdout)
				}
				prefix := in.path + ": "
				if in.positioned {
					prefix = regexp.QuoteMeta(in.path) + `:\d+:\d+: `
				} else {
					prefix = regexp.QuoteMeta(prefix)
				}
				if !regexp.MustCompile(`^` + prefix).MatchString(msg) {
					t.Errorf("%s: message does not start with %s:\n%s", cmd, prefix, msg)
				}
				if !strings.Contains(msg, in.want) {
					t.Errorf("%s: message does not say %q:\n%s", cmd, in.want, msg)
				}
				for _, line := range strings.Split(msg, "\n") {
					if snippet.MatchString(line) {
						continue
					}
					if m := goInternals.FindString(userText.ReplaceAllString(line, `""`)); m != "" {
						t.Errorf("%s: message shows Go internals (%q):\n%s", cmd, m, msg)
					}
				}
			}
		})
	}
}

// unfileable makes the bad inputs that cannot be files in a repository:
// what is not a regular file (a directory, a named pipe, a device), what is
// too large (sparse, so nothing is written), what cannot be read; as the
// scenario and as its body_file.
func unfileable(t *testing.T) []badInput {
	tmp := t.TempDir()
	write := func(name, content string) string {
		t.Helper()
		path := filepath.Join(tmp, name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	sparse := func(name string, size int64) string {
		t.Helper()
		path := write(name, "")
		if err := os.Truncate(path, size); err != nil {
			t.Fatal(err)
		}
		return path
	}
	withBody := func(name, bodyFile string) string {
		return write(name, "target: {url: embedded, body_file: "+bodyFile+"}\ntraffic: [{constant: {rate: 1/s, duration: 1s}}]\nbudget: {total: {p99: 1s}}\n")
	}
	asDir := filepath.Join(tmp, "dir.yaml")
	if err := os.Mkdir(asDir, 0o755); err != nil {
		t.Fatal(err)
	}
	hugeBody := sparse("huge.bin", scenario.MaxInputSize+1)
	inputs := []badInput{
		{path: sparse("huge.yaml", 2<<20), want: "is 2 MiB; a scenario file may be at most 1 MiB"},
		{path: asDir, want: "is a directory, not a scenario file"},
		{path: filepath.Join(tmp, "missing.yaml"), want: "no such file or directory"},
		{path: withBody("huge-body.yaml", "huge.bin"), want: "target.body_file: " + hugeBody + " is more than 64 MiB; a body file may be at most 64 MiB", positioned: true},
	}
	if os.Geteuid() != 0 { // root reads anything
		locked := filepath.Join(tmp, "locked.yaml")
		if err := os.WriteFile(locked, []byte("target: {url: embedded}\n"), 0o000); err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, badInput{path: locked, want: "permission denied"})
	}
	if fi, err := os.Stat("/dev/zero"); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
		inputs = append(inputs, badInput{path: "/dev/zero", want: "is a character device, not a regular file"})
	}
	// A named pipe no one writes to: opening it to read would wait for ever.
	fifo := filepath.Join(tmp, "fifo.yaml")
	if out, err := exec.Command("mkfifo", fifo).CombinedOutput(); err == nil {
		inputs = append(inputs,
			badInput{path: fifo, want: "is a named pipe (FIFO), not a regular file"},
			badInput{path: withBody("fifo-body.yaml", "fifo.yaml"), want: "target.body_file: " + fifo + " is a named pipe (FIFO), not a regular file", positioned: true},
		)
	} else {
		t.Logf("no named pipe: %v %s", err, out)
	}
	return inputs
}

// runBounded runs one command line in process, failing the test rather
// than waiting for ever on an input that never ends.
func runBounded(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	type result struct {
		code           int
		stdout, stderr string
	}
	done := make(chan result, 1)
	go func() {
		var o, e bytes.Buffer
		c := run(args, &o, &e)
		done <- result{c, o.String(), e.String()}
	}()
	select {
	case r := <-done:
		return r.code, r.stdout, r.stderr
	case <-time.After(30 * time.Second):
		t.Fatalf("tailgate %s: still running 30s later", strings.Join(args, " "))
	}
	return
}

// TestBinaryBodySentVerbatim: a body_file that is not text (a NUL, bytes
// that are not UTF-8) is sent byte for byte by both engines; a "${" in it
// is data, not a variable to expand, so an unset one is no error.
func TestBinaryBodySentVerbatim(t *testing.T) {
	os.Unsetenv("TAILGATE_BADINPUT_UNSET")
	body := []byte("\x89PNG\r\n\x1a\n\x00${TAILGATE_BADINPUT_UNSET}\xff\xfe${")
	var mu sync.Mutex
	var got [][]byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, b)
		mu.Unlock()
	}))
	defer srv.Close()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "b.bin"), body, 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "binary.yaml")
	y := "target: {url: " + srv.URL + ", body_file: b.bin}\ntraffic: [{constant: {rate: 10/s, duration: 300ms}}]\nbudget: {total: {p99: 5s}}\n"
	if err := os.WriteFile(path, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}

	code, stdout, stderr := runBounded(t, "validate", path)
	if want := fmt.Sprintf("  body_file b.bin (binary, %d B)\n", len(body)); code != exitPass || !strings.Contains(stdout, want) {
		t.Errorf("validate: exit %d, want the body described as %q\nstdout: %s\nstderr: %s", code, want, stdout, stderr)
	}
	if strings.Contains(stdout, "PNG") {
		t.Errorf("validate printed the body's bytes:\n%s", stdout)
	}
	for _, engine := range []string{"vegeta", "native"} {
		mu.Lock()
		got = nil
		mu.Unlock()
		code, stdout, stderr := runBounded(t, "run", "--quiet", "--engine", engine, path)
		if code != exitPass {
			t.Fatalf("%s: exit %d\nstdout: %s\nstderr: %s", engine, code, stdout, stderr)
		}
		mu.Lock()
		if len(got) == 0 {
			t.Errorf("%s: no request arrived", engine)
		}
		for i, b := range got {
			if !bytes.Equal(b, body) {
				t.Errorf("%s: request %d carried %q, want %q", engine, i, b, body)
			}
		}
		mu.Unlock()
	}
}
