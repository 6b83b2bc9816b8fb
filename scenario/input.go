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
	f, info, err := open(path, what, limit)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// Read one byte past the limit, so that a file that grew since the Stat
	// is caught rather than cut short.
	buf := bytes.NewBuffer(make([]byte, 0, min(info.Size(), limit)+bytes.MinRead))
	if _, err := buf.ReadFrom(io.LimitReader(f, limit+1)); err != nil {
		return nil, sysError(path, what, err)
	}
	if int64(buf.Len()) > limit {
		return nil, &FileError{Path: path, What: what, Err: ErrTooLarge,
			reason: fmt.Sprintf("grew past %s while being read; %s may be at most that", FormatSize(limit), withArticle(what))}
	}
	return buf.Bytes(), nil
}

// OpenFile opens the input file at path, which must be a regular file,
// for a caller that reads it as a stream (an interval log) and so sets its
// own limit, if any. Like ReadFile, it never opens a named pipe or a device.
func OpenFile(path, what string) (*os.File, error) {
	f, _, err := open(path, what, -1)
	return f, err
}

// open opens a regular file of at most limit bytes (no limit when
// negative), or says why not in a *FileError.
func open(path, what string, limit int64) (*os.File, fs.FileInfo, error) {
	check := func(info fs.FileInfo) error {
		if reason := regular(info, what, limit); reason != "" {
			return &FileError{Path: path, What: what, Err: errorFor(info), reason: reason}
		}
		return nil
	}
	info, err := os.Stat(path)
	if err != nil {
		return nil, nil, sysError(path, what, err)
	}
	if err := check(info); err != nil {
		return nil, nil, err
	}
	// Non-blocking, in case the path became a FIFO since the Stat: opening
	// one for reading would wait for a writer. Checked again once open.
	f, err := os.OpenFile(path, openFlags, 0)
	if err != nil {
		return nil, nil, sysError(path, what, err)
	}
	if info, err = f.Stat(); err == nil {
		err = check(info)
	}
	if err != nil {
		f.Close()
		if _, ok := err.(*FileError); !ok {
			err = sysError(path, what, err)
		}
		return nil, nil, err
	}
	return f, info, nil
}

// sysError is what the system said about an input, in a *FileError.
func sysError(path, what string, err error) error {
	err = unwrapPathError(err) // the *PathError repeats the path
	return &FileError{Path: path, What: what, Err: err, reason: err.Error()}
}

// regular says what is wrong with a file of this kind and size as an input,
// "" when nothing is.
func regular(info fs.FileInfo, what string, limit int64) string {
	m := info.Mode()
	switch {
	case m.IsDir():
		return "is a directory, not " + withArticle(what)
	case !m.IsRegular():
		return "is " + kindOf(m) + ", not a regular file"
	case limit >= 0 && info.Size() > limit:
		size, most := FormatSize(info.Size()), FormatSize(limit)
		if size == most {
			size = "more than " + most // not "is 64 MiB; at most 64 MiB"
		}
		return fmt.Sprintf("is %s; %s may be at most %s", size, withArticle(what), most)
	}
	return ""
}

func errorFor(info fs.FileInfo) error {
	if info.Mode().IsRegular() {
		return ErrTooLarge
	}
	return ErrNotRegular
}

// withArticle puts "a" or "an" before a file's role: "an interval log".
func withArticle(what string) string {
	if what != "" && strings.ContainsRune("aeiou", rune(what[0])) {
		return "an " + what
	}
	return "a " + what
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
