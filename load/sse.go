package load

import (
	"errors"
	"io"
	"strings"
	"time"

	sse "github.com/tmaxmax/go-sse"
)

// maxEventSize bounds one SSE event: far above a token's, low enough that a
// stream without event boundaries cannot take the generator's memory, nor,
// dribbled a byte at a time, its CPU (the parser rescans an unfinished event
// on every read: quadratic in the event's size).
const maxEventSize = 64 << 10

// maxGaps bounds the gaps between data events kept per request.
const maxGaps = 1 << 16

// errNoData is a 2xx event stream that ended without an event carrying
// data: comments, keep-alive pings and id/retry-only events are no tokens.
var errNoData = errors.New("event stream ended without a data event")

// errMalformed is an event stream the SSE parser rejected.
type errMalformed struct{ err error }

func (e errMalformed) Error() string { return "malformed event stream: " + e.err.Error() }
func (e errMalformed) Unwrap() error { return e.err }

// sseBody reads an event stream as it arrives, timing each event that
// carries data: the first is the request's time to first token, the gaps
// between them its inter-token latency. A comment line (`: keep-alive`),
// an event of only event:, id: or retry: fields, and an event with empty
// data carry no token: a server that opens with `event: ping` must not pass
// for one that answered at once. (go-sse's Read skips comments and retry:
// fields itself, and yields event:- and id:-only events with empty Data.)
// The worker reads the body only to discard it, so the whole stream is
// consumed on its first Read.
type sseBody struct {
	*body
	drained bool
}

func (s *sseBody) Read(p []byte) (int, error) {
	if s.drained {
		return 0, io.EOF
	}
	s.drained = true
	tr := s.tr
	src := &ioTracker{r: s.rc}
	var prev time.Time
	for ev, err := range sse.Read(src, &sse.ReadConfig{MaxEventSize: maxEventSize}) {
		if err != nil {
			s.done = true
			if src.err != nil {
				tr.fail(s.now(), cause(s.ctx, src.err))
			} else {
				tr.fail(s.now(), errMalformed{err})
			}
			return 0, err
		}
		if ev.Data == "" {
			continue
		}
		at := s.now()
		if tr.Events == 0 {
			tr.First = at
		} else if len(tr.Gaps) < maxGaps {
			tr.Gaps = append(tr.Gaps, at.Sub(prev))
		}
		prev = at
		tr.Events++
	}
	s.done = true
	if src.err != nil && src.err != io.EOF {
		tr.fail(s.now(), cause(s.ctx, src.err))
		return 0, src.err
	}
	tr.End = s.now()
	if tr.Events == 0 {
		tr.fail(tr.End, errNoData)
		return 0, errNoData
	}
	return 0, io.EOF
}

// ioTracker remembers the reader's last error, to tell a broken connection
// (reset, timeout) from a stream the parser rejected.
type ioTracker struct {
	r   io.Reader
	err error
}

func (t *ioTracker) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil {
		t.err = err
	}
	return n, err
}

// isEventStream says whether a Content-Type value names an event stream,
// parameters (charset) aside.
func isEventStream(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	return strings.EqualFold(strings.TrimSpace(mt), "text/event-stream")
}
