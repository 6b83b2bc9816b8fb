package report

import (
	"bytes"
	"strings"
	"testing"
)

// TestMaskerHidesEveryEncoding: a secret reflected by a target comes back
// escaped by whatever carried it; each form is hidden.
func TestMaskerHidesEveryEncoding(t *testing.T) {
	const s = `k3y/with spaces+&<"quotes">#é`
	mk := &Masker{}
	mk.Add([]string{s, ""})
	for _, form := range Encodings(s) {
		in := "before " + form + " after"
		if got := mk.String(in); got != "before *** after" {
			t.Errorf("%q → %q", in, got)
		}
	}
	// The forms tailgate's own outputs produce, spelled out.
	for _, in := range []string{
		s,
		"k3y%2Fwith+spaces%2B%26%3C%22quotes%22%3E%23%C3%A9",                                         // a query
		"k3y%2Fwith%20spaces+&%3C%22quotes%22%3E%23%C3%A9",                                           // a path
		`k3y/with spaces+\u0026\u003c\"quotes\"\u003e#é`,                                             // JSON
		`k3y/with spaces+\u0026\u003c\"quotes\"\u003e\u0023é`,                                        // an interval-log record
		"k3y/with spaces+&amp;&lt;&#34;quotes&#34;&gt;#é",                                            // HTML
		"k3y/with%20spaces+&<\"quotes\">#%C3%A9",                                                     // a log tag
		"%6b%33%79%2f%77%69%74%68%20%73%70%61%63%65%73%2b%26%3c%22%71%75%6f%74%65%73%22%3e%23%c3%a9", // every byte
	} {
		if got := mk.String("[" + in + "]"); got != "[***]" {
			t.Errorf("%q → %q", in, got)
		}
	}
	if got := (*Masker)(nil).String(s); got != s {
		t.Errorf("a nil masker changed %q to %q", s, got)
	}
}

// TestMaskWriterAcrossWrites: a secret split between writes is still
// hidden, and text that cannot begin a secret is not held back.
func TestMaskWriterAcrossWrites(t *testing.T) {
	const s = "tg-s3cret-Qx7vZ2pL9w"
	mk := &Masker{}
	mk.Add([]string{s})
	text := "token " + s + " and " + s + "\nend tg-s3"
	for split := 1; split < len(text); split++ {
		var out bytes.Buffer
		w := mk.Writer(&out)
		for _, part := range []string{text[:split], text[split:]} {
			if n, err := w.Write([]byte(part)); n != len(part) || err != nil {
				t.Fatalf("Write = %d, %v", n, err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if want := "token *** and ***\nend tg-s3"; out.String() != want {
			t.Fatalf("split at %d: %q, want %q", split, out.String(), want)
		}
	}
	var out bytes.Buffer
	w := mk.Writer(&out)
	w.Write([]byte("progress 12/60s\r"))
	if out.String() != "progress 12/60s\r" {
		t.Errorf("held back %q", strings.TrimPrefix("progress 12/60s\r", out.String()))
	}
}
