package main

import (
	"bytes"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestBrokenTargetsFail: a target that is there but broken fails the gate
// (exit 1), whatever way it breaks; only one no request reached has no
// verdict (exit 3), said with the first error and a hint. Nothing exits 0.
func TestBrokenTargetsFail(t *testing.T) {
	hung, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hung.Close()
	go func() { // takes connections, never answers
		for {
			c, err := hung.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	notFound := httptest.NewServer(http.NotFoundHandler())
	defer notFound.Close()
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Vegeta-Seq") != "0" {
			http.Error(w, "down", http.StatusInternalServerError)
		}
	}))
	defer flaky.Close()
	untrusted := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	untrusted.Config.ErrorLog = log.New(io.Discard, "", 0) // every handshake fails, on purpose
	untrusted.StartTLS()
	defer untrusted.Close()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + closed.Addr().String()
	closed.Close()

	dir := t.TempDir()
	for _, tc := range []struct {
		name, url string
		code      int
		says      string // a line of stdout, as a regular expression
	}{
		{"hung", "http://" + hung.Addr().String(), exitFail, `^  10   timeout   first: no complete response within target.timeout \(300ms\) on GET /serch$`},
		{"not found", notFound.URL, exitFail, `^  10   http 4xx   first: 404 Not Found on GET /serch$`},
		{"nearly always 500", flaky.URL, exitFail, `^errors \(default\) +10 +90% / 1% +OVER`},
		{"untrusted certificate", untrusted.URL, exitNoTrust, `target unreachable: .*10 tls \(first: .*x509.*\): .*set target.insecure: true`},
		{"refused", refused, exitNoTrust, `target unreachable: .*10 refused \(first: .*connection refused\): is the target running`},
	} {
		for _, engine := range []string{"vegeta", "native"} {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".yaml")
			y := "target: {url: \"" + tc.url + "/serch\", timeout: 300ms}\ntraffic:\n  - constant: {rate: 20/s, duration: 500ms}\nbudget:\n  total: {p99: 10s}\n"
			if err := os.WriteFile(path, []byte(y), 0o644); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			start := time.Now()
			code := run([]string{"run", "--quiet", "--engine", engine, path}, &stdout, &stderr)
			if code != tc.code {
				t.Errorf("%s (%s): exit %d, want %d\n%s%s", tc.name, engine, code, tc.code, stdout.String(), stderr.String())
				continue
			}
			if !regexp.MustCompile("(?m)" + tc.says).MatchString(stdout.String()) {
				t.Errorf("%s (%s): stdout does not say %s:\n%s", tc.name, engine, tc.says, stdout.String())
			}
			t.Logf("%s (%s): exit %d in %v", tc.name, engine, code, time.Since(start).Round(time.Millisecond))
		}
	}
}

// TestTLSToAPlainPort: https:// to a port that speaks plain HTTP reaches
// nothing (the handshake fails before any connection is made): no verdict,
// and the hint says to use http://.
func TestTLSToAPlainPort(t *testing.T) {
	plain := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer plain.Close()
	path := filepath.Join(t.TempDir(), "s.yaml")
	y := "target: {url: \"" + strings.Replace(plain.URL, "http://", "https://", 1) + "\"}\ntraffic:\n  - constant: {rate: 20/s, duration: 300ms}\nbudget:\n  total: {p99: 1s}\n"
	if err := os.WriteFile(path, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"run", "--quiet", path}, &stdout, &stderr); code != exitNoTrust {
		t.Fatalf("exit %d, want 3\n%s%s", code, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "the target does not speak TLS on that port: use http://") {
		t.Errorf("no hint to use http://:\n%s", stdout.String())
	}
}
