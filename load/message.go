package load

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// maxMessage bounds a first error message or Location, in bytes: a target
// may put a whole page in a reason phrase or a redirect.
const maxMessage = 200

// message says, for a person, why tr failed: an HTTP status with the
// request that got it ("404 Not Found on GET /serch?q=1"), what came
// instead of an event stream ("302 Found to /login where an event stream
// was expected"), how long a request that timed out was given, or a
// transport error's own message ("dial tcp 127.0.0.1:1: connect:
// connection refused"). timeout is target.timeout. The message may hold
// what the target reflected (a token in a URL): it is bounded and
// printable here, and masked wherever it is shown.
func (tr *Trace) message(timeout time.Duration) string {
	status := statusLine(tr.Code)
	var s string
	switch err := tr.Err; {
	case errors.Is(err, errNotEventStream):
		if mt, _, _ := strings.Cut(tr.contentType, ";"); strings.TrimSpace(mt) != "" {
			s = status + " with Content-Type " + strings.TrimSpace(mt) + ", not an event stream"
		} else {
			s = status + " without a Content-Type, not an event stream"
		}
	case errors.Is(err, errRedirected):
		if tr.Location != "" {
			s = status + " to " + tr.Location + " where an event stream was expected"
		} else {
			s = status + " without a Location where an event stream was expected"
		}
	case errors.Is(err, errNoData):
		s = status + " event stream ended without a data event"
	case errors.Is(err, errTimeout):
		s = "no complete response within target.timeout (" + timeout.String() + ") on " + tr.request()
	case err != nil:
		s = err.Error()
	default:
		s = status + " on " + tr.request()
	}
	return printable(s)
}

// statusLine is a status code with its standard text: "404 Not Found".
func statusLine(code int) string {
	if text := http.StatusText(code); text != "" {
		return strconv.Itoa(code) + " " + text
	}
	return strconv.Itoa(code)
}

// request names tr's request as a log line would: "GET /serch?q=1".
func (tr *Trace) request() string {
	if tr.req == nil {
		return "the request"
	}
	method := tr.req.Method
	if method == "" {
		method = http.MethodGet
	}
	return method + " " + tr.req.URL.RequestURI()
}

// printable returns s clipped to about maxMessage bytes (an ellipsis marks
// the cut), valid UTF-8, its control and other unprintable characters
// quoted as Go would (`\n`, `\x1b`, `\u202e`) and invalid bytes as `\xff`:
// safe to print on any terminal and in any report.
func printable(s string) string {
	if len(s) <= maxMessage && isPrintable(s) {
		return s
	}
	const hex = "0123456789abcdef"
	b := make([]byte, 0, min(len(s), maxMessage)+8)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		start := len(b)
		switch {
		case r == utf8.RuneError && n == 1:
			b = append(b, '\\', 'x', hex[s[i]>>4], hex[s[i]&15])
		case !strconv.IsPrint(r):
			q := strconv.QuoteRune(r)
			b = append(b, q[1:len(q)-1]...)
		default:
			b = append(b, s[i:i+n]...)
		}
		if len(b) > maxMessage {
			b = append(b[:start], "…"...)
			break
		}
		i += n
	}
	return string(b)
}

// isPrintable says whether s is valid UTF-8 of printable characters only.
func isPrintable(s string) bool {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || !strconv.IsPrint(r) {
			return false
		}
		i += n
	}
	return true
}
