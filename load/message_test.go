package load

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// Every first message says what happened to which request, in words a
// person reads; a message is printable and bounded whatever the target sent.
func TestMessage(t *testing.T) {
	get := &http.Request{Method: "GET", URL: &url.URL{Path: "/serch", RawQuery: "q=1"}}
	post := &http.Request{Method: "POST", URL: &url.URL{Path: "/v1/chat"}}
	cases := []struct {
		tr   *Trace
		want string
	}{
		{&Trace{Code: 404, req: get}, "404 Not Found on GET /serch?q=1"},
		{&Trace{Code: 503, req: post}, "503 Service Unavailable on POST /v1/chat"},
		{&Trace{Code: 599, req: post}, "599 on POST /v1/chat"},
		{&Trace{Code: 101, req: get}, "101 Switching Protocols on GET /serch?q=1"},
		{&Trace{Code: 200, Err: errNotEventStream, contentType: "text/html; charset=utf-8"}, "200 OK with Content-Type text/html, not an event stream"},
		{&Trace{Code: 204, Err: errNotEventStream}, "204 No Content without a Content-Type, not an event stream"},
		{&Trace{Code: 302, Err: errRedirected, Location: "/login"}, "302 Found to /login where an event stream was expected"},
		{&Trace{Code: 304, Err: errRedirected}, "304 Not Modified without a Location where an event stream was expected"},
		{&Trace{Code: 200, Err: errNoData}, "200 OK event stream ended without a data event"},
		{&Trace{Err: errTimeout, req: post}, "no complete response within target.timeout (1.5s) on POST /v1/chat"},
		{&Trace{Err: errAbandoned, req: post}, "abandoned: the run was interrupted"},
		{&Trace{Err: errors.New("dial tcp 127.0.0.1:1: connect: connection refused")}, "dial tcp 127.0.0.1:1: connect: connection refused"},
		// A Location reflecting what the target was sent, control characters and all.
		{&Trace{Code: 302, Err: errRedirected, Location: "/login?t=\x1b[31msecret\n"}, `302 Found to /login?t=\x1b[31msecret\n where an event stream was expected`},
	}
	for _, tc := range cases {
		if got := tc.tr.message(1500 * time.Millisecond); got != tc.want {
			t.Errorf("%d %v: message %q, want %q", tc.tr.Code, tc.tr.Err, got, tc.want)
		}
	}
}

func TestPrintable(t *testing.T) {
	cases := []struct{ in, want string }{
		{"dial tcp: connection refused", "dial tcp: connection refused"},
		{"tab\there, bell\a, nul\x00", `tab\there, bell\a, nul\x00`},
		{"bad \xff\xfe utf-8", `bad \xff\xfe utf-8`},
		{"right-to-left \u202e override", `right-to-left \u202e override`},
		{"héllo, 世界", "héllo, 世界"},
	}
	for _, tc := range cases {
		if got := printable(tc.in); got != tc.want {
			t.Errorf("printable(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, long := range []string{strings.Repeat("x", 10000), strings.Repeat("界", 1000), strings.Repeat("\x01", 1000)} {
		got := printable(long)
		if len(got) > maxMessage+len("…") || !strings.HasSuffix(got, "…") || !utf8.ValidString(got) {
			t.Errorf("printable of %d bytes: %d bytes %q", len(long), len(got), got)
		}
	}
}

func FuzzPrintable(f *testing.F) {
	for _, s := range []string{"", "ok", "\x00\xff\u202e", strings.Repeat("界\n", 300)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := printable(s)
		if !isPrintable(strings.TrimSuffix(got, "…")) || len(got) > maxMessage+len("…") {
			t.Fatalf("printable(%q) = %q", s, got)
		}
		if len(s) <= maxMessage && isPrintable(s) && got != s {
			t.Fatalf("printable(%q) changed it to %q", s, got)
		}
	})
}
