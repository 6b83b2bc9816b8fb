package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"html"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/tailgate-dev/tailgate/histogram"
	"github.com/tailgate-dev/tailgate/scenario"
)

// masked stands wherever a secret would have been shown.
const masked = "***"

// masker hides secrets (values that came from ${VAR}) in everything that
// leaves tailgate: stdout, stderr and every artifact pass through it. A
// target can reflect a secret back in a Server-Timing name, a header, an
// error message or a Location, and renderers escape it their own way, so
// each secret is hidden in every encoding it may take: as is, percent-
// encoded (query, path, every byte; either hex case), JSON, HTML, XML, Go
// quoted, and as an interval-log tag. It is safe for concurrent use.
type masker struct {
	mu       sync.Mutex
	forms    []string // every encoding of every secret, longest first
	replacer *strings.Replacer
}

// add makes m hide secrets from now on.
func (m *masker) add(secrets []string) {
	if m == nil || len(secrets) == 0 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range secrets {
		for _, f := range encodings(s) {
			if f != "" && !slices.Contains(m.forms, f) {
				m.forms = append(m.forms, f)
			}
		}
	}
	// Longest first, so that no part of a longer form is left showing
	// after a shorter one inside it is replaced.
	slices.SortStableFunc(m.forms, func(a, b string) int { return len(b) - len(a) })
	pairs := make([]string, 0, 2*len(m.forms))
	for _, f := range m.forms {
		pairs = append(pairs, f, masked)
	}
	m.replacer = strings.NewReplacer(pairs...)
}

// String returns s with every secret hidden.
func (m *masker) String(s string) string {
	if m == nil {
		return s
	}
	m.mu.Lock()
	r := m.replacer
	m.mu.Unlock()
	if r == nil {
		return s
	}
	return r.Replace(s)
}

// pending is the length of the longest suffix of b that begins one of the
// secrets' forms: those bytes must wait for what follows them.
func (m *masker) pending(b []byte) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	best := 0
	for _, f := range m.forms {
		for k := min(len(f)-1, len(b)); k > best; k-- {
			if bytes.HasPrefix([]byte(f), b[len(b)-k:]) {
				best = k
				break
			}
		}
	}
	return best
}

// encodings lists the forms s may take in tailgate's outputs.
func encodings(s string) []string {
	forms := []string{
		s,
		url.QueryEscape(s),
		url.PathEscape(s),
		percentEach(s, "%%%02X"),
		percentEach(s, "%%%02x"),
		html.EscapeString(s),
		histogram.Tag(s),
	}
	if q := strconv.Quote(s); len(q) >= 2 {
		forms = append(forms, q[1:len(q)-1])
	}
	var x strings.Builder
	if xml.EscapeText(&x, []byte(s)) == nil {
		forms = append(forms, x.String())
	}
	for _, escapeHTML := range []bool{true, false} {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(escapeHTML)
		if enc.Encode(s) == nil {
			j := strings.TrimSuffix(b.String(), "\n")
			if len(j) >= 2 {
				j = j[1 : len(j)-1]
				// Interval-log records escape '#' too.
				forms = append(forms, j, strings.ReplaceAll(j, "#", `\u0023`))
			}
		}
	}
	return forms
}

// percentEach percent-encodes every byte of s with format.
func percentEach(s, format string) string {
	var b strings.Builder
	for i := range len(s) {
		fmt.Fprintf(&b, format, s[i])
	}
	return b.String()
}

// maskWriter passes writes to w with every secret of m hidden. A secret
// split over two writes is still hidden: bytes that could begin one wait
// for the next write (or Flush); all others go out at once, so progress and
// prompts are not held back.
type maskWriter struct {
	mu   sync.Mutex // a signal's note and a command's output may meet
	m    *masker
	w    io.Writer
	held []byte
}

func (m *masker) writer(w io.Writer) *maskWriter { return &maskWriter{m: m, w: w} }

// Write reports len(p) written once the bytes are masked and either sent on
// or held; an error of the underlying writer is returned as is.
func (mw *maskWriter) Write(p []byte) (int, error) {
	if mw.m == nil {
		return mw.w.Write(p)
	}
	mw.mu.Lock()
	defer mw.mu.Unlock()
	buf := append(mw.held, p...)
	out := []byte(mw.m.String(string(buf)))
	k := mw.m.pending(out)
	mw.held = append(mw.held[:0:0], out[len(out)-k:]...)
	if len(out) == k {
		return len(p), nil
	}
	if _, err := mw.w.Write(out[:len(out)-k]); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush sends what is held: the end of the output cannot begin a secret.
func (mw *maskWriter) Flush() error {
	mw.mu.Lock()
	defer mw.mu.Unlock()
	if len(mw.held) == 0 {
		return nil
	}
	b := mw.held
	mw.held = nil
	_, err := mw.w.Write(b)
	return err
}

type maskerKey struct{}

// withMasker carries m in ctx to the commands, which add the secrets of
// the scenarios they load.
func withMasker(ctx context.Context, m *masker) context.Context {
	return context.WithValue(ctx, maskerKey{}, m)
}

// maskerOf returns the masker ctx carries, nil when none (a nil masker
// hides nothing).
func maskerOf(ctx context.Context) *masker {
	m, _ := ctx.Value(maskerKey{}).(*masker)
	return m
}

// maskerFor returns a masker hiding sc's secrets; sc may be nil.
func maskerFor(sc *scenario.Scenario) *masker {
	mk := &masker{}
	if sc != nil {
		mk.add(sc.Secrets)
	}
	return mk
}
