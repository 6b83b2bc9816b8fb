package scenario

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxInputSize bounds every file a scenario makes tailgate read (a
// body_file, a request's data file): 64 MiB. A scenario file itself is
// held to a tighter bound, maxFileSize.
const MaxInputSize = 64 << 20

// Reasons a file is refused as an input, for errors.Is on a *FileError.
var (
	// ErrNotRegular: the path is a directory, a named pipe, a socket or a
	// device. Reading one could block for ever (a FIFO no one writes to) or
	// never end (/dev/zero), so tailgate does not open it to find out.
	ErrNotRegular = errors.New("not a regular file")
	// ErrTooLarge: the file is over the limit; it was not read.
	ErrTooLarge = errors.New("file too large")
)

// FileError is an input file tailgate could not or would not read.
type FileError struct {
	Path string
	// What names the file's role: "scenario file", "body file", "data file".
	What string
	// Err is ErrNotRegular, ErrTooLarge or what the system said
	// (fs.ErrNotExist, fs.ErrPermission match it).
	Err error
	// reason says it in words, without the path.
	reason string
}

// Error names the file and says what is wrong with it:
//
//	cannot read bodies/chat.json: no such file or directory
//	/dev/zero is a character device, not a regular file
func (e *FileError) Error() string {
	if errors.Is(e.Err, ErrNotRegular) || errors.Is(e.Err, ErrTooLarge) {
		return e.Path + " " + e.reason
	}
	return "cannot read " + e.Path + ": " + e.reason
}

// Reason says what is wrong without naming the file, for a message that
// already starts with its path.
func (e *FileError) Reason() string { return e.reason }

func (e *FileError) Unwrap() error { return e.Err }

// ReadFile reads the input file at path, which must be a regular file of at
// most MaxInputSize bytes. what names its role in errors ("body file").
// Anything else is a *FileError, found without reading the file: a named
// pipe or a device is never opened, and an oversize file never read.
func ReadFile(path, what string) ([]byte, error) {
	return readFile(path, what, MaxInputSize)
}

func readFile(path, what string, limit int64) ([]byte, error) {
	fail := func(err error, reason string) error {
		return &FileError{Path: path, What: what, Err: err, reason: reason}
	}
	sysErr := func(err error) error {
		err = unwrapPathError(err) // the *PathError repeats the path
		return fail(err, err.Error())
	}
	info, err := os.Stat(path)
	if err != nil {
		return nil, sysErr(err)
	}
	if err := regular(info, what, limit); err != "" {
		return nil, fail(errorFor(info), err)
	}
	// Non-blocking, in case the path became a FIFO since the Stat: opening
	// one for reading would wait for a writer. Checked again once open.
	f, err := os.OpenFile(path, openFlags, 0)
	if err != nil {
		return nil, sysErr(err)
	}
	defer f.Close()
	if info, err = f.Stat(); err != nil {
		return nil, sysErr(err)
	}
	if err := regular(info, what, limit); err != "" {
		return nil, fail(errorFor(info), err)
	}
	// Read one byte past the limit, so that a file that grew since the Stat
	// is caught rather than cut short.
	buf := bytes.NewBuffer(make([]byte, 0, min(info.Size(), limit)+bytes.MinRead))
	if _, err := buf.ReadFrom(io.LimitReader(f, limit+1)); err != nil {
		return nil, sysErr(err)
	}
	if int64(buf.Len()) > limit {
		return nil, fail(ErrTooLarge, fmt.Sprintf("grew past %s while being read; a %s may be at most that", FormatSize(limit), what))
	}
	return buf.Bytes(), nil
}

// regular says what is wrong with a file of this kind and size as an input,
// "" when nothing is.
func regular(info fs.FileInfo, what string, limit int64) string {
	m := info.Mode()
	switch {
	case m.IsDir():
		return "is a directory, not a " + what
	case !m.IsRegular():
		return "is " + kindOf(m) + ", not a regular file"
	case info.Size() > limit:
		return fmt.Sprintf("is %s; a %s may be at most %s", FormatSize(info.Size()), what, FormatSize(limit))
	}
	return ""
}

func errorFor(info fs.FileInfo) error {
	if info.Mode().IsRegular() {
		return ErrTooLarge
	}
	return ErrNotRegular
}

// kindOf names a file that is not regular, with its article.
func kindOf(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	}
	return "not a file tailgate can read"
}

// FormatSize says a number of bytes as a person reads it: 58 B, 1.2 KiB,
// 64 MiB.
func FormatSize(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + " B"
	}
	v, i := float64(n), -1
	for v >= unit && i < 3 {
		v /= unit
		i++
	}
	s := strconv.FormatFloat(v, 'f', 1, 64)
	if v >= 100 || s[len(s)-2:] == ".0" {
		s = strconv.FormatFloat(v, 'f', 0, 64)
	}
	return s + " " + []string{"KiB", "MiB", "GiB", "TiB"}[i]
}

// IsText reports whether a file's contents are text: valid UTF-8 holding no
// NUL. Only text is expanded (${VAR}) or quoted in messages; anything else
// is sent byte for byte and described by its size.
func IsText(b []byte) bool { return bytes.IndexByte(b, 0) < 0 && utf8.Valid(b) }

func isText(s string) bool { return strings.IndexByte(s, 0) < 0 && utf8.ValidString(s) }

// DescribeBody says what the request's body is without showing its bytes:
// "text, 58 B" or "binary, 1.2 KiB"; "" when there is none.
func (t Target) DescribeBody() string {
	switch {
	case t.Body == "":
		return ""
	case isText(t.Body):
		return "text, " + FormatSize(int64(len(t.Body)))
	}
	return "binary, " + FormatSize(int64(len(t.Body)))
}
