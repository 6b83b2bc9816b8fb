package load

import (
	"errors"
	"io"
	"time"

	sse "github.com/tmaxmax/go-sse"
)

// maxEventSize bounds one SSE event: far above a token's, low enough that a
// stream without event boundaries cannot take the generator's memory, nor,
// dribbled a byte at a time, its CPU (the parser rescans an unfinished event
// on every read: quadratic in the event's size).
const maxEventSize = 64 << 10

// maxGaps bounds the inter-event gaps kept per request.
const maxGaps = 1 << 16

// errNoEvents is a 2xx SSE response that ended without a single event.
var errNoEvents = errors.New("event stream ended without an event")

// errMalformed is an event stream the SSE parser rejected.
type errMalformed struct{ err error }

func (e errMalformed) Error() string { return "malformed event stream: " + e.err.Error() }
func (e errMalformed) Unwrap() error { return e.err }

// sseBody reads an event stream as it arrives, timing each event: the first
// is the request's time to first token, the gaps between them its
// inter-token latency. The worker reads the body only to discard it, so
// the whole stream is consumed on its first Read.
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
	for _, err := range sse.Read(src, &sse.ReadConfig{MaxEventSize: maxEventSize}) {
		if err != nil {
			s.done = true
			if src.err != nil {
				tr.fail(s.now(), cause(s.ctx, src.err))
			} else {
				tr.fail(s.now(), errMalformed{err})
			}
			return 0, err
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
		tr.fail(tr.End, errNoEvents)
		return 0, errNoEvents
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
