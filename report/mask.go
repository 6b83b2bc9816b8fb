package report

import (
	"bytes"
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
)

// masked stands wherever a secret would have been shown.
const masked = "***"

// Masker hides secrets (values that came from ${VAR}) in everything that
// leaves tailgate: stdout, stderr and every artifact pass through it. A
// target can reflect a secret back in a Server-Timing name, a header, an
// error message or a Location, and renderers escape it their own way, so
// each secret is hidden in every encoding it may take: as is, percent-
// encoded (query, path, every byte; either hex case), JSON, HTML, XML, Go
// quoted, and as an interval-log tag. It is safe for concurrent use.
type Masker struct {
	mu       sync.Mutex
	forms    []string // every encoding of every secret, longest first
	replacer *strings.Replacer
}

// Add makes m hide secrets from now on.
func (m *Masker) Add(secrets []string) {
	if m == nil || len(secrets) == 0 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range secrets {
		for _, f := range Encodings(s) {
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
func (m *Masker) String(s string) string {
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
func (m *Masker) pending(b []byte) int {
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

// Encodings lists the forms s may take in tailgate's outputs.
func Encodings(s string) []string {
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

// MaskWriter passes writes to w with every secret of m hidden. A secret
// split over two writes is still hidden: bytes that could begin one wait
// for the next write (or Flush); all others go out at once, so progress and
// prompts are not held back.
type MaskWriter struct {
	mu   sync.Mutex // a signal's note and a command's output may meet
	m    *Masker
	w    io.Writer
	held []byte
}

// Writer returns w behind m: every write is masked on its way.
func (m *Masker) Writer(w io.Writer) *MaskWriter { return &MaskWriter{m: m, w: w} }

// Underlying is the writer the masked bytes go to (a terminal, a file).
func (mw *MaskWriter) Underlying() io.Writer { return mw.w }

// Write reports len(p) written once the bytes are masked and either sent on
// or held; an error of the underlying writer is returned as is.
func (mw *MaskWriter) Write(p []byte) (int, error) {
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
func (mw *MaskWriter) Flush() error {
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
