package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tailgate-dev/tailgate/scenario"
	"github.com/tailgate-dev/tailgate/schedule"
)

// remote is a scenario against another host peaking at 200/s.
func safetyScenario(t *testing.T, url string, insecure bool) *scenario.Scenario {
	t.Helper()
	y := "target: {url: \"" + url + "\", insecure: " + map[bool]string{true: "true", false: "false"}[insecure] + "}\n" +
		"traffic:\n  - constant: {rate: 20/s, duration: 1s}\n  - constant: {rate: 200/s, duration: 1s}\n" +
		"budget: {total: {p99: 1s}}\n"
	sc, err := scenario.Parse("safety.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func TestConfirmation(t *testing.T) {
	cases := []struct {
		name        string
		url         string
		yes         bool
		maxRate     rateFlag
		interactive bool
		answer      string
		wantAsk     bool
		wantErr     bool
		wantNote    bool
	}{
		{name: "yes answered", url: "https://api.example.com/v1", interactive: true, answer: "y\n", wantAsk: true},
		{name: "YES answered", url: "https://api.example.com/v1", interactive: true, answer: " YES \n", wantAsk: true},
		{name: "no answered", url: "https://api.example.com/v1", interactive: true, answer: "n\n", wantAsk: true, wantErr: true},
		{name: "enter is no", url: "https://api.example.com/v1", interactive: true, answer: "\n", wantAsk: true, wantErr: true},
		{name: "end of input is no", url: "https://api.example.com/v1", interactive: true, answer: "", wantAsk: true, wantErr: true},
		{name: "--yes does not ask", url: "https://api.example.com/v1", yes: true, interactive: true},
		{name: "under the rate", url: "https://api.example.com/v1", maxRate: 500, interactive: true},
		{name: "not a terminal proceeds", url: "https://api.example.com/v1", interactive: false, wantNote: true},
		{name: "loopback IPv4", url: "http://127.0.0.1:8080/", interactive: true},
		{name: "loopback IPv6", url: "http://[::1]:8080/", interactive: true},
		{name: "localhost", url: "http://localhost:8080/", interactive: true},
		{name: "private address asks", url: "http://10.0.0.7:8080/", interactive: true, answer: "y\n", wantAsk: true},
		{name: "embedded", url: "embedded", interactive: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := safetyFlags{yes: tc.yes, maxRate: DefaultMaxUnconfirmedRate, in: strings.NewReader(tc.answer), interactive: func() bool { return tc.interactive }}
			if tc.maxRate != 0 {
				f.maxRate = tc.maxRate
			}
			var stderr bytes.Buffer
			err := checkSafety(context.Background(), f, safetyScenario(t, tc.url, false), false, &stderr)
			asked := strings.Contains(stderr.String(), "? [y/N]")
			if asked != tc.wantAsk {
				t.Errorf("asked %v, want %v; stderr %q", asked, tc.wantAsk, stderr.String())
			}
			if asked && !strings.Contains(stderr.String(), "send up to 200/s to ") {
				t.Errorf("question %q does not say the rate and host", stderr.String())
			}
			var ue usageError
			if (err != nil) != tc.wantErr || (err != nil && !errors.As(err, &ue)) {
				t.Errorf("err = %v, want a usage error: %v", err, tc.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), "--yes") {
				t.Errorf("refusal %q does not say how to skip the question", err)
			}
			if note := strings.Contains(stderr.String(), "stdin is not a terminal"); note != tc.wantNote {
				t.Errorf("note %v, want %v: %q", note, tc.wantNote, stderr.String())
			}
		})
	}
}

// An interrupt while the question waits is a no, and returns at once.
func TestConfirmationInterrupted(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	defer r.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f := safetyFlags{maxRate: DefaultMaxUnconfirmedRate, in: r, interactive: func() bool { return true }}
	if err := checkSafety(ctx, f, safetyScenario(t, "https://api.example.com/", false), false, &bytes.Buffer{}); err == nil {
		t.Fatal("an interrupted question counted as yes")
	}
}

func TestInsecureWarning(t *testing.T) {
	for _, quiet := range []bool{false, true} {
		var stderr bytes.Buffer
		f := safetyFlags{yes: true}
		if err := checkSafety(context.Background(), f, safetyScenario(t, "https://127.0.0.1:8443/", true), quiet, &stderr); err != nil {
			t.Fatal(err)
		}
		warned := strings.Contains(stderr.String(), "warning: target.insecure is true: TLS certificates are not verified")
		if warned == quiet {
			t.Errorf("quiet %v: stderr %q", quiet, stderr.String())
		}
	}
	var stderr bytes.Buffer
	f := safetyFlags{yes: true}
	if err := checkSafety(context.Background(), f, safetyScenario(t, "https://127.0.0.1:8443/", false), false, &stderr); err != nil || stderr.Len() > 0 {
		t.Errorf("verified TLS: err %v, stderr %q", err, stderr.String())
	}
}

// A host given by ${VAR} is shown masked in the question.
func TestConfirmationMasksSecrets(t *testing.T) {
	t.Setenv("TAILGATE_SAFETY_HOST", "secret-host.internal")
	var stderr bytes.Buffer
	f := safetyFlags{maxRate: DefaultMaxUnconfirmedRate, in: strings.NewReader("n\n"), interactive: func() bool { return true }}
	err := checkSafety(context.Background(), f, safetyScenario(t, "https://${TAILGATE_SAFETY_HOST}/v1", false), false, &stderr)
	if err == nil || strings.Contains(stderr.String()+err.Error(), "secret-host") {
		t.Errorf("err %v, stderr %q: the host from the environment is shown", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "to ***?") {
		t.Errorf("stderr %q", stderr.String())
	}
}

func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"127.0.0.1": true, "127.1.2.3": true, "::1": true, "localhost": true, "LOCALHOST.": true,
		"api.localhost": true, "0.0.0.0": true, "::ffff:127.0.0.1": true,
		"10.0.0.1": false, "192.168.1.1": false, "example.com": false, "localhost.example.com": false, "": false,
	} {
		if got := isLoopback(host); got != want {
			t.Errorf("isLoopback(%q) = %v", host, got)
		}
	}
}

func TestIsTerminal(t *testing.T) {
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	file, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	for name, f := range map[string]*os.File{"/dev/null": null, "a file": file, "a pipe": r} {
		if isTerminal(f) {
			t.Errorf("%s is taken for a terminal", name)
		}
	}
}

func TestRateFlag(t *testing.T) {
	var r rateFlag
	if err := r.Set("600/m"); err != nil || r != 10 || r.String() != "10/s" {
		t.Errorf("600/m: %v, %v", float64(r), err)
	}
	for _, bad := range []string{"lots", "50", "-1/s", "1e308/s"} {
		if err := r.Set(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestMaskSecrets(t *testing.T) {
	cases := []struct {
		in      string
		secrets []string
		want    string
	}{
		{"https://api/v1?key=abc123&user=abc", []string{"abc", "abc123"}, "https://api/v1?key=***&user=***"},
		{"https://api/v1", nil, "https://api/v1"},
		{"https://api/v1", []string{""}, "https://api/v1"},
	}
	for _, tc := range cases {
		if got := maskSecrets(tc.in, tc.secrets); got != tc.want {
			t.Errorf("maskSecrets(%q, %q) = %q, want %q", tc.in, tc.secrets, got, tc.want)
		}
	}
}

// checkSafety checks sc with its plan's peak, as run does.
func checkSafety(ctx context.Context, f safetyFlags, sc *scenario.Scenario, quiet bool, stderr io.Writer) error {
	return f.check(ctx, sc, schedule.Of(sc).PeakRate(), quiet, stderr)
}
