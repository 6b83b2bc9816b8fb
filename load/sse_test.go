package load

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"
)

// byteClock is a stream read a byte at a time whose clock reads how many
// bytes were read, in milliseconds: an event's time is where it ends.
type byteClock struct {
	s   string
	pos int
}

func (c *byteClock) Read(p []byte) (int, error) {
	if c.pos == len(c.s) {
		return 0, io.EOF
	}
	p[0] = c.s[c.pos]
	c.pos++
	return 1, nil
}

func (c *byteClock) now() time.Time {
	return time.Unix(0, 0).Add(time.Duration(c.pos) * time.Millisecond)
}

// TestSSETokensAreDataEvents: only events carrying data are tokens. ttft
// runs to the end of the first of them, whatever comes before (comments,
// pings, id: and retry: fields, empty data), and the gaps run between them.
func TestSSETokensAreDataEvents(t *testing.T) {
	cases := []struct {
		name string
		// stream's events; those marked with a leading "*" carry a token.
		events []string
		err    error
	}{
		{"data only", []string{"*data: a\n\n", "*data: b\n\n"}, nil},
		{"ping first", []string{"event: ping\n\n", "*data: a\n\n", "*data: b\n\n"}, nil},
		{"comments first", []string{": keep-alive\n\n", ":\n\n", "*data: a\n\n"}, nil},
		{"retry and id only", []string{"retry: 100\n\n", "id: 1\n\n", "*id: 2\ndata: a\n\n", "id: 3\n\n", "*data: b\n\n"}, nil},
		{"empty data", []string{"data:\n\n", "data\n\n", "*data: a\n\n", "event: x\ndata:\n\n", "*data: b\n\n"}, nil},
		{"named event with data", []string{"*event: delta\ndata: a\n\n"}, nil},
		{"crlf", []string{": c\r\n\r\n", "*data: a\r\n\r\n"}, nil},
		{"no data", []string{"event: ping\n\n", ": c\n\n", "id: 1\n\n", "data:\n\n"}, errNoData},
		{"nothing", nil, errNoData},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var s strings.Builder
			var tokens []time.Duration // where each token's event ends
			for _, e := range tc.events {
				e, token := strings.CutPrefix(e, "*")
				s.WriteString(e)
				if token {
					end := s.Len()
					if strings.HasSuffix(e, "\r\n") {
						end-- // a lone \r ends a line: the \n after it is not waited for
					}
					tokens = append(tokens, time.Duration(end)*time.Millisecond)
				}
			}
			c := &byteClock{s: s.String()}
			tr := &Trace{Start: c.now()}
			ctx, cancel := context.WithCancelCause(context.Background())
			sb := &sseBody{body: &body{rc: io.NopCloser(c), tr: tr, ctx: ctx, cancel: cancel, now: c.now}}
			io.Copy(io.Discard, sb)
			sb.Close()
			if tr.Err != tc.err {
				t.Fatalf("error %v, want %v", tr.Err, tc.err)
			}
			if tr.Events != len(tokens) {
				t.Fatalf("%d events with data, want %d", tr.Events, len(tokens))
			}
			if len(tokens) == 0 {
				if !tr.First.IsZero() || len(tr.Gaps) != 0 {
					t.Errorf("first token at %v, gaps %v, in a stream without tokens", tr.First, tr.Gaps)
				}
				return
			}
			if got := tr.First.Sub(tr.Start); got != tokens[0] {
				t.Errorf("ttft %v, want %v (where the first data event ends)", got, tokens[0])
			}
			if len(tr.Gaps) != len(tokens)-1 {
				t.Fatalf("gaps %v, want %d", tr.Gaps, len(tokens)-1)
			}
			for i, g := range tr.Gaps {
				if want := tokens[i+1] - tokens[i]; g != want {
					t.Errorf("gap %d: %v, want %v", i, g, want)
				}
			}
		})
	}
}

func TestIsEventStream(t *testing.T) {
	for ct, want := range map[string]bool{
		"text/event-stream":                true,
		"Text/Event-Stream; charset=utf-8": true,
		" text/event-stream ;":             true,
		"text/html":                        false,
		"":                                 false,
		"application/json":                 false,
		"text/event-streams":               false,
	} {
		if got := isEventStream(ct); got != want {
			t.Errorf("isEventStream(%q) = %v, want %v", ct, got, want)
		}
	}
}
