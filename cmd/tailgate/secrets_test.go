package main

import (
	"bytes"
	"errors"
	"io/fs"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tailgate-dev/tailgate/report"
)

// secret is the value of TAILGATE_SECRET in these tests: unlike anything
// tailgate prints, so finding it anywhere is a leak.
const secret = "tg-s3cret-Qx7vZ2pL9w"

// secret2 (TAILGATE_SECRET2) holds characters every format escapes its own
// way: a leak of any of its encodings is a leak.
const secret2 = "p@ss/w0rd+x<y>&z"

// secretScenarios use ${TAILGATE_SECRET} in a header, the body and (for
// the unreachable target) the URL.
var secretScenarios = map[string]string{
	"chat.yaml": `name: chat
target:
  url: embedded
  stream: sse
  headers:
    Authorization: Bearer ${TAILGATE_SECRET}
    X-Api-Key: ${TAILGATE_SECRET}
  body: '{"token": "${TAILGATE_SECRET}", "messages": [{"role": "user", "content": "hi"}]}'
traffic:
  - constant: {rate: 20/s, duration: 1s}
service:
  database: {fixed: 2ms}
  ttft: {fixed: 5ms}
  tokens: 3
  itl: {fixed: 1ms}
budget:
  database: {p99: 1s}
  ttft: {p99: 2s}
  total: {p99: 3s}
  errors: 1%
`,
	"unreachable.yaml": `name: unreachable
target:
  url: "http://127.0.0.1:1/v1/chat?key=${TAILGATE_SECRET}"
  headers:
    Authorization: Bearer ${TAILGATE_SECRET}
  body: '{"token": "${TAILGATE_SECRET}"}'
traffic:
  - constant: {rate: 10/s, duration: 500ms}
budget:
  total: {p99: 1s}
`,
	// Invalid for another reason: the error quotes the file, not the value.
	"invalid.yaml": `target:
  url: embedded
  headers:
    Authorization: Bearer ${TAILGATE_SECRET}
traffic:
  - constant: {rate: 10/s, duration: -1s}
budget:
  total: {p99: 1s}
`,
}

// TestSecretsAreNeverShown runs every command that reads a scenario on
// scenarios holding a secret from the environment, and searches stdout,
// stderr, every artifact and the GitHub step summary for it.
func TestSecretsAreNeverShown(t *testing.T) {
	bin := tailgateBinary(t)
	dir := t.TempDir()
	scenarios := maps.Clone(secretScenarios)
	scenarios["reflect.yaml"] = reflectScenario(reflectingServer(t))
	for name, y := range scenarios {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(y), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	summary := filepath.Join(dir, "step-summary.md")
	env := append(os.Environ(), "TAILGATE_SECRET="+secret, "TAILGATE_SECRET2="+secret2, "GITHUB_STEP_SUMMARY="+summary)
	forms := append(report.Encodings(secret), report.Encodings(secret2)...)
	leaks := func(b []byte) string {
		for _, f := range forms {
			if bytes.Contains(b, []byte(f)) {
				return f
			}
		}
		return ""
	}

	cases := []struct {
		args []string
		code int
	}{
		{[]string{"run", "--out", "out-run", "chat.yaml"}, -1}, // 0, or 3 on a machine too busy to keep the schedule
		{[]string{"run", "--format", "json", "--out", "out-json", "chat.yaml"}, -1},
		{[]string{"run", "--format", "markdown", "chat.yaml"}, -1},
		{[]string{"run", "--out", "out-unreachable", "unreachable.yaml"}, exitNoTrust},
		{[]string{"run", "--format", "json", "unreachable.yaml"}, exitNoTrust},
		{[]string{"simulate", "--out", "out-simulate", "chat.yaml"}, -1},
		{[]string{"validate", "chat.yaml", "unreachable.yaml"}, exitPass},
		{[]string{"validate", "invalid.yaml"}, exitInvalid},
		{[]string{"run", "invalid.yaml"}, exitInvalid},
		// A target that reflects the secret everywhere it can.
		{[]string{"run", "--out", "out-reflect", "reflect.yaml"}, exitFail},
		{[]string{"run", "--format", "json", "reflect.yaml"}, exitFail},
		{[]string{"run", "--format", "markdown", "--engine", "native", "reflect.yaml"}, exitFail},
		{[]string{"report", "--out", "out-reflect-report", "--scenario", "reflect.yaml", "out-reflect/run.hlog"}, exitFail},
		{[]string{"plot", "-o", "out-reflect-plot", "out-reflect/run.hlog"}, exitPass},
	}
	for _, tc := range cases {
		name := strings.Join(tc.args, " ")
		var stdout, stderr bytes.Buffer
		cmd := exec.Command(bin, tc.args...)
		cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = dir, env, &stdout, &stderr
		code := 0
		if err := cmd.Run(); err != nil {
			var ee *exec.ExitError
			if !errors.As(err, &ee) {
				t.Fatalf("%s: %v", name, err)
			}
			code = ee.ExitCode()
		}
		if tc.code >= 0 && code != tc.code {
			t.Errorf("%s: exit %d, want %d\nstderr: %s", name, code, tc.code, stderr.String())
		}
		if code == exitInvalid && tc.code != exitInvalid {
			t.Errorf("%s: invalid input: %s", name, stderr.String())
		}
		for what, b := range map[string][]byte{"stdout": stdout.Bytes(), "stderr": stderr.Bytes()} {
			if f := leaks(b); f != "" {
				t.Errorf("%s: the secret (as %q) is in %s:\n%s", name, f, what, b)
			}
		}
	}

	// Every file the commands wrote: artifacts, plots, interval logs, the summary.
	files := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(path, ".yaml") {
			return err
		}
		files++
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if f := leaks(data); f != "" {
			t.Errorf("the secret (as %q) is in %s", f, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"out-run/report.json", "out-run/report.md", "out-run/junit.xml", "out-unreachable/report.json", "step-summary.md",
		"out-reflect/run.hlog", "out-reflect/report.html", "out-reflect/latency-distribution.svg", "out-reflect-report/report.json", "out-reflect-plot/latency-distribution.svg"} {
		if _, err := os.Stat(filepath.Join(dir, want)); err != nil {
			t.Errorf("%s was not written, so it was not searched: %v", want, err)
		}
	}
	t.Logf("searched stdout and stderr of %d commands and %d files", len(cases), files)
}

// reflectingServer answers with the request's secret everywhere a target
// can put it back: a Server-Timing metric named after it, a redirect whose
// Location carries it percent-encoded, a 404 for a path holding it, and a
// header echoing it. Requests alternate between the three answers.
func reflectingServer(t *testing.T) string {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		key := r.Header.Get("X-Key")
		w.Header().Set("X-Echo", token+" "+key)
		switch n.Add(1) % 3 {
		case 0:
			w.Header().Set("Server-Timing", token+";dur=3, db;dur=1")
			w.Write([]byte("ok " + token))
		case 1:
			w.Header().Set("Location", "/login?t="+url.QueryEscape(key)+"&u="+url.PathEscape(token))
			w.WriteHeader(http.StatusFound)
		default:
			http.Error(w, "no such thing: "+r.URL.String(), http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func reflectScenario(base string) string {
	return `name: reflect
target:
  url: "` + base + `/v1/${TAILGATE_SECRET}?key=${TAILGATE_SECRET}&pw=${TAILGATE_SECRET2}"
  headers:
    Authorization: Bearer ${TAILGATE_SECRET}
    X-Key: ${TAILGATE_SECRET2}
traffic:
  - constant: {rate: 30/s, duration: 500ms}
budget:
  total: {p99: 1s}
  db: {p99: 1s, source: "server-timing:db"}
`
}
