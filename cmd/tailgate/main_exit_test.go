package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"

	"github.com/tailgate-dev/tailgate/scenario"
)

// TestExitCode: only errors known to mean something decide 1, 2 or 3; any
// other is said to be an internal error, never passed off silently as an
// unreachable target.
func TestExitCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code int
		says string
	}{
		{nil, exitPass, ""},
		{errGateFailed, exitFail, ""},
		{errNoVerdict, exitNoTrust, ""},
		{fmt.Errorf("%w by SIGINT", errInterrupted), exitNoTrust, "tailgate: interrupted by SIGINT"},
		{usagef("--format %q: use text, json or markdown", "yaml"), exitInvalid, "tailgate: --format"},
		{&scenario.Error{}, exitInvalid, ""},
		{&fs.PathError{Op: "open", Path: "x.hlog", Err: fs.ErrNotExist}, exitInvalid, "tailgate: open x.hlog: file does not exist"},
		{writeError{verdict: exitPass, failed: 1}, exitInvalid, ""},
		{writeError{verdict: exitFail, failed: 2}, exitFail, ""},
		{writeError{verdict: exitNoTrust, failed: 1}, exitNoTrust, ""},
		{errors.New("the unexpected"), exitNoTrust, "tailgate: internal error (no verdict; please report it): the unexpected"},
	} {
		var stderr bytes.Buffer
		if got := exitCode(tc.err, &stderr); got != tc.code || !strings.Contains(stderr.String(), tc.says) {
			t.Errorf("%v: exit %d saying %q; want %d saying %q", tc.err, got, stderr.String(), tc.code, tc.says)
		}
	}
}
