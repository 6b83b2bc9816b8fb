package scenario

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadFile: a regular file within the limit is read whole; anything
// else is a *FileError that names the file, says why in words and matches
// its reason with errors.Is.
func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	ok := filepath.Join(dir, "ok.bin")
	if err := os.WriteFile(ok, []byte("\x00\xff${"), 0o644); err != nil {
		t.Fatal(err)
	}
	data, err := ReadFile(ok, "body file")
	if err != nil || string(data) != "\x00\xff${" {
		t.Fatalf("ReadFile(%s) = %q, %v", ok, data, err)
	}

	// Sparse: the size is there without writing 64 MiB.
	huge := filepath.Join(dir, "huge.bin")
	if err := os.WriteFile(huge, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(huge, MaxInputSize+1); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		is   error
		msg  string
	}{
		{dir, ErrNotRegular, dir + " is a directory, not a body file"},
		{huge, ErrTooLarge, huge + " is more than 64 MiB; a body file may be at most 64 MiB"},
		{filepath.Join(dir, "missing.bin"), fs.ErrNotExist, "cannot read " + filepath.Join(dir, "missing.bin") + ": no such file or directory"},
	} {
		data, err := ReadFile(c.path, "body file")
		var fe *FileError
		if !errors.As(err, &fe) || !errors.Is(err, c.is) || data != nil {
			t.Errorf("ReadFile(%s) = %d bytes, %v; want a *FileError matching %v", c.path, len(data), err, c.is)
			continue
		}
		if err.Error() != c.msg {
			t.Errorf("ReadFile(%s): %q, want %q", c.path, err, c.msg)
		}
		if fe.Path != c.path || strings.Contains(fe.Reason(), c.path) {
			t.Errorf("ReadFile(%s): path %q, reason %q", c.path, fe.Path, fe.Reason())
		}
	}
}

// TestOpenFile: a stream sets its own limit, so a large regular file opens;
// what is not a file does not.
func TestOpenFile(t *testing.T) {
	dir := t.TempDir()
	huge := filepath.Join(dir, "run.hlog")
	if err := os.WriteFile(huge, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(huge, 2*MaxInputSize); err != nil {
		t.Fatal(err)
	}
	f, err := OpenFile(huge, "interval log")
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := OpenFile(dir, "interval log"); !errors.Is(err, ErrNotRegular) || err.Error() != dir+" is a directory, not an interval log" {
		t.Errorf("OpenFile(dir) = %v", err)
	}
}

// TestReadFileLimit: the limit is a size, not a guess: a file of exactly
// the limit reads, one byte more does not.
func TestReadFileLimit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	for _, c := range []struct {
		size int
		ok   bool
	}{{0, true}, {10, true}, {11, false}} {
		if err := os.WriteFile(path, []byte(strings.Repeat("x", c.size)), 0o644); err != nil {
			t.Fatal(err)
		}
		data, err := readFile(path, "data file", 10)
		if c.ok && (err != nil || len(data) != c.size) {
			t.Errorf("%d bytes, limit 10: %d bytes, %v", c.size, len(data), err)
		}
		if !c.ok && !errors.Is(err, ErrTooLarge) {
			t.Errorf("%d bytes, limit 10: %v, want ErrTooLarge", c.size, err)
		}
	}
}

func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{
		0:                "0 B",
		58:               "58 B",
		1023:             "1023 B",
		1024:             "1 KiB",
		1229:             "1.2 KiB",
		150 << 10:        "150 KiB",
		MaxInputSize:     "64 MiB",
		MaxInputSize + 1: "64 MiB",
		3 << 29:          "1.5 GiB",
	} {
		if got := FormatSize(n); got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestIsText(t *testing.T) {
	for s, want := range map[string]bool{
		"":                     true,
		`{"a":"${X}"}`:         true,
		"naïve — ✓\n":          true,
		"\x1b[1m bold":         true, // control characters are still text
		"a\x00b":               false,
		"\xff\xfe":             false,
		"\x89PNG\r\n\x1a\n":    false,
		"ok until \xc3":        false, // cut in the middle of a character
		strings.Repeat("é", 3): true,
	} {
		if got := IsText([]byte(s)); got != want {
			t.Errorf("IsText(%q) = %v", s, got)
		}
		if got := isText(s); got != want {
			t.Errorf("isText(%q) = %v", s, got)
		}
	}
}

// TestBinaryBodyFile: a body_file that is not text is the body byte for
// byte: a "${" in it is data, not a variable, and nothing is a secret.
func TestBinaryBodyFile(t *testing.T) {
	if err := unsetenv(t, "TG_BINARY_UNSET"); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	body := "\x89PNG\r\n\x1a\n\x00${TG_BINARY_UNSET}\xff${"
	if err := os.WriteFile(filepath.Join(dir, "b.bin"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "s.yaml")
	if err := os.WriteFile(path, []byte("target: {url: embedded, body_file: b.bin}\n"+okRest), 0o644); err != nil {
		t.Fatal(err)
	}
	sc, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if sc.Target.Body != body {
		t.Errorf("body %q, want %q", sc.Target.Body, body)
	}
	if len(sc.Secrets) != 0 || sc.Target.Method != "POST" {
		t.Errorf("secrets %q, method %s", sc.Secrets, sc.Target.Method)
	}
	if got := sc.Target.DescribeBody(); got != "binary, 30 B" {
		t.Errorf("DescribeBody() = %q", got)
	}

	// The same bytes as text, less the NUL and the 0xff: expanded, and an
	// unset variable is an error that quotes the text, not raw bytes.
	text := "\x1b${TG_BINARY_UNSET}"
	if err := os.WriteFile(filepath.Join(dir, "b.bin"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Load(path)
	wantProblem(t, err, 1, 36, "target.body_file", "b.bin: environment variable TG_BINARY_UNSET is not set")
	if err := os.WriteFile(filepath.Join(dir, "b.bin"), []byte("\x1b\x07 ${unclosed"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Load(path)
	wantProblem(t, err, 1, 36, "target.body_file", `unclosed ${ at "${unclosed"`)
	if err != nil && strings.ContainsAny(err.Error(), "\x1b\x07") {
		t.Errorf("the error prints raw bytes of the file: %q", err)
	}
}

func TestDescribeBody(t *testing.T) {
	for body, want := range map[string]string{
		"":                                  "",
		`{"q":1}`:                           "text, 7 B",
		strings.Repeat("\x00", 1229):        "binary, 1.2 KiB",
		strings.Repeat("x", 2<<20) + "\xff": "binary, 2 MiB",
	} {
		if got := (Target{Body: body}).DescribeBody(); got != want {
			t.Errorf("DescribeBody of %d bytes = %q, want %q", len(body), got, want)
		}
	}
}

// TestClipKeepsCharacters: a clipped quote never ends in half a character.
func TestClipKeepsCharacters(t *testing.T) {
	s := strings.Repeat("a", 19) + "é and more"
	if got := clip(s); got != strings.Repeat("a", 19)+"…" {
		t.Errorf("clip(%q) = %q", s, got)
	}
}

// TestExpandShowsNoRawBytes: a name that is not a variable is shown with
// what a terminal would act on escaped.
func TestExpandShowsNoRawBytes(t *testing.T) {
	for in, want := range map[string]string{
		"${1NOT-A-NAME}":   "${1NOT-A-NAME} is not a variable name",
		"${\x1b[2J}":       `${\x1b[2J} is not a variable name`,
		"${a\nb}":          `${a\nb} is not a variable name`,
		`${"quoted"}`:      `${"quoted"} is not a variable name`,
		"${naïve}":         "${naïve} is not a variable name",
		"${\xff}":          `${\xff} is not a variable name`,
		"${\x07" + "bell}": `${\abell} is not a variable name`,
	} {
		_, _, err := expand(in)
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("expand(%q) = %v, want %q", in, err, want)
		}
	}
}
