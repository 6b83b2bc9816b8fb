package load

import (
	"bytes"
	"context"
	"io"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// chunks delivers data in pieces of the given sizes (cycled), as a network
// would: event boundaries fall anywhere, "\r" and "\n" of one line end may
// arrive apart.
type chunks struct {
	data  []byte
	sizes []byte
	i     int
}

func (c *chunks) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := len(c.data)
	if len(c.sizes) > 0 {
		n = int(c.sizes[c.i%len(c.sizes)]) + 1
		c.i++
	}
	n = min(n, len(p), len(c.data))
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

// tick is a clock that moves 1ms at every reading, so every gap is positive.
func tick() func() time.Time {
	t := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return func() time.Time {
		t = t.Add(time.Millisecond)
		return t
	}
}

// readStream reads r as the transport reads a 2xx event stream: everything
// is copied to nowhere, then the body is closed.
func readStream(r io.Reader) (*Trace, error) {
	now := tick()
	tr := &Trace{Start: now()}
	ctx, cancel := context.WithCancelCause(context.Background())
	s := &sseBody{body: &body{rc: io.NopCloser(r), tr: tr, ctx: ctx, cancel: cancel, now: now}}
	_, err := io.Copy(io.Discard, s)
	s.Close()
	return tr, err
}

// checkTrace asserts what must hold of any stream's trace.
func checkTrace(t *testing.T, tr *Trace, err error) {
	t.Helper()
	if tr.Events < 0 || len(tr.Gaps) != max(min(tr.Events-1, maxGaps), 0) {
		t.Fatalf("%d events, %d gaps", tr.Events, len(tr.Gaps))
	}
	if (tr.Events > 0) != !tr.First.IsZero() {
		t.Fatalf("%d events, first event at %v", tr.Events, tr.First)
	}
	for _, g := range tr.Gaps {
		if g <= 0 {
			t.Fatalf("gap %v", g)
		}
	}
	if tr.End.IsZero() || (!tr.First.IsZero() && tr.End.Before(tr.First)) {
		t.Fatalf("first %v, end %v", tr.First, tr.End)
	}
	if (err == nil) != (tr.Err == nil) {
		t.Fatalf("read error %v, trace error %v", err, tr.Err)
	}
	if tr.Err == nil && tr.Events == 0 {
		t.Fatal("a stream without events succeeded")
	}
	if tr.Err != nil && tr.Class != Classify(tr.Err) {
		t.Fatalf("class %q for %v", tr.Class, tr.Err)
	}
}

// maxDribble bounds the inputs FuzzSSEReader reads in small pieces.
const maxDribble = 4 << 10

// FuzzSSEReader feeds arbitrary bytes, cut into arbitrary pieces, to the
// SSE timing reader: it must not panic, its counts must agree with each
// other, and how the bytes were cut must not change what was counted.
func FuzzSSEReader(f *testing.F) {
	for _, s := range []string{
		"data: {\"token\":0}\n\ndata: {\"token\":1}\n\n",
		"data: one\r\n\r\ndata: two\r\rdata: three\n\n",
		": comment\n\nevent: ping\ndata:\n\n",
		"data: cut mid-ev",
		"id: 7\nretry: 100\ndata: x\n\n",
		"id: \x00\ndata: nul\n\n",
		"data",
		"\n\n\n",
		"",
		"\xff\xfe data: \x00\x01\n\n",
		"data: a\ndata: b\ndata: c\n\n",
		"\ufeffdata: bom\n\n",
	} {
		f.Add([]byte(s), []byte{0})
		f.Add([]byte(s), []byte{2, 0, 7})
	}
	f.Fuzz(func(t *testing.T, data, sizes []byte) {
		whole, werr := readStream(bytes.NewReader(data))
		checkTrace(t, whole, werr)
		// The reader never fails: a stream is rejected (protocol) or ends
		// mid-line, like a connection closed early (reset).
		if whole.Err != nil && whole.Class != ClassProtocol && whole.Class != ClassReset {
			t.Fatalf("stream of %q: class %q, want protocol or reset", data, whole.Class)
		}
		// An event takes at least one line; a line ends at \n or \r, or the stream.
		if lines := bytes.Count(data, []byte("\n")) + bytes.Count(data, []byte("\r")) + 1; whole.Events > lines {
			t.Fatalf("%d events from %d lines", whole.Events, lines)
		}
		if len(data) > maxDribble {
			return // see BenchmarkSSEDribble: tiny pieces of a long input take quadratic time
		}
		cut, cerr := readStream(&chunks{data: bytes.Clone(data), sizes: sizes})
		checkTrace(t, cut, cerr)
		if cut.Events != whole.Events || (cut.Err == nil) != (whole.Err == nil) {
			t.Fatalf("stream %q read whole: %d events, err %v; cut by %v: %d events, err %v",
				data, whole.Events, whole.Err, sizes, cut.Events, cut.Err)
		}
	})
}

// endless is a stream that never ends an event: "data: xxxx…" for n bytes.
type endless struct{ n int }

func (e *endless) Read(p []byte) (int, error) {
	if e.n <= 0 {
		return 0, io.EOF
	}
	k := min(len(p), e.n)
	for i := range k {
		p[i] = 'x'
	}
	copy(p, "data: ")
	e.n -= k
	return k, nil
}

// TestSSEMemoryBounded: a hostile stream cannot take the generator's memory,
// whether it never ends an event or sends more events than a trace keeps.
func TestSSEMemoryBounded(t *testing.T) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	tr, err := readStream(&endless{n: 64 << 20})
	runtime.ReadMemStats(&after)
	checkTrace(t, tr, err)
	if tr.Class != ClassProtocol || tr.Events != 0 {
		t.Errorf("64 MiB without an event boundary: class %q, %d events", tr.Class, tr.Events)
	}
	// The parser's buffer grows to maxEventSize and no further.
	if n := after.TotalAlloc - before.TotalAlloc; n > 8*maxEventSize {
		t.Errorf("64 MiB without an event boundary allocated %d MiB", n>>20)
	}

	events := strings.Repeat("data: t\n\n", maxGaps*3)
	runtime.GC()
	runtime.ReadMemStats(&before)
	tr, err = readStream(strings.NewReader(events))
	runtime.GC()
	runtime.ReadMemStats(&after)
	checkTrace(t, tr, err)
	if tr.Err != nil || tr.Events != maxGaps*3 || len(tr.Gaps) != maxGaps {
		t.Errorf("%d events: err %v, counted %d, kept %d gaps", maxGaps*3, tr.Err, tr.Events, len(tr.Gaps))
	}
	// What a trace keeps is its gaps (8 bytes each, up to twice that for
	// append's headroom); nothing per event beyond maxGaps.
	if kept := int64(after.HeapAlloc) - int64(before.HeapAlloc); kept > 2*8*maxGaps+64<<10 {
		t.Errorf("a trace of %d events keeps %d KiB", maxGaps*3, kept>>10)
	}
	runtime.KeepAlive(tr)
}

// BenchmarkSSEDribble reads one event that arrives a byte at a time, as
// from a server that flushes every byte. The SSE parser (go-sse's split
// function) scans its buffer from the start on every read, so the cost
// grows with the square of the event's size, up to maxEventSize: about 3s
// of CPU for 64 KiB here, and minutes for 1 MiB.
func BenchmarkSSEDribble(b *testing.B) {
	for _, n := range []int{1 << 10, 4 << 10, 16 << 10} {
		data := append([]byte("data: "), bytes.Repeat([]byte("x"), n)...)
		data = append(data, "\n\n"...)
		b.Run(strconv.Itoa(n>>10)+"KiB", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if tr, _ := readStream(&chunks{data: data, sizes: []byte{0}}); tr.Events != 1 {
					b.Fatalf("%d events", tr.Events)
				}
			}
		})
	}
}
