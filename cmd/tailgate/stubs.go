package main

// Placeholders for parts other files will own. Each is replaced, not
// extended, by the file that implements it.

import (
	"errors"
	"io"

	"github.com/tailgate-dev/tailgate/budget"
	"github.com/tailgate-dev/tailgate/load"
	"github.com/tailgate-dev/tailgate/scenario"
)

// writeArtifacts writes every artifact of m into dir (artifacts.go).
func writeArtifacts(dir string, m measured) error { return errors.New("artifacts are not written yet") }

// openIntervalLog starts dir/run.hlog; the tick function writes one interval
// per call (hlog.go).
func openIntervalLog(dir string, sc *scenario.Scenario) (func(load.Tick), func() error, error) {
	return nil, func() error { return nil }, nil
}

// newProgress returns a progress reporter writing to w, or nil (progress.go).
func newProgress(w io.Writer, sc *scenario.Scenario) func(load.Tick) { return nil }

// renderMarkdown renders the result as Markdown (report package).
func renderMarkdown(w io.Writer, res *budget.Result) error { return errors.New("markdown is not rendered yet") }
