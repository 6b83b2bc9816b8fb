package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/tailgate-dev/tailgate/report"
)

// Artifact file names in --out.
const (
	fileReportJSON = "report.json"
	fileReportMD   = "report.md"
	fileJUnit      = "junit.xml"
	fileReportHTML = "report.html"
	fileRunHlog    = "run.hlog"
)

// envStepSummary names the file GitHub Actions renders as the job's summary.
const envStepSummary = "GITHUB_STEP_SUMMARY"

// writeArtifacts writes every artifact of m into dir, creating it, each
// through one masking step for the scenario's secrets. An artifact that
// fails does not stop the others: CI keeps whatever could be written, and
// the errors name everything that could not. A figure with nothing to
// draw is left out, not failed.
func writeArtifacts(dir string, m measured) []error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return []error{err}
	}
	mk := maskerFor(m.sc)
	res := m.res
	// The run began its elapsed time ago; JUnit and HTML say when.
	started := time.Now().Add(-time.Duration(res.Requests.ElapsedS * float64(time.Second)))

	var errs []error
	try := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	write := func(name string, render func(io.Writer) error) {
		try(writeMasked(dir, name, mk, render))
	}
	write(fileReportJSON, func(w io.Writer) error { return report.JSON(w, res) })
	var md bytes.Buffer
	try(report.Markdown(&md, res))
	write(fileReportMD, func(w io.Writer) error { _, err := w.Write(md.Bytes()); return err })
	try(appendStepSummary(os.Getenv(envStepSummary), []byte(mk.String(md.String()))))
	write(fileJUnit, func(w io.Writer) error { return report.JUnit(w, res, started) })
	try(writeHistograms(dir, m))

	hlog := filepath.Join(dir, fileRunHlog)
	if _, err := os.Stat(hlog); err != nil {
		hlog = "" // simulate and re-judged reports have no interval log here
	}
	figs, err := plotFigures(dir, m, hlog, mk)
	try(err)
	write(fileReportHTML, func(w io.Writer) error { return report.HTML(w, res, htmlFigures(figs), started) })
	return errs
}

// writeFile writes name in dir through render, replacing any earlier file.
func writeFile(dir, name string, render func(io.Writer) error) error {
	return writeMasked(dir, name, nil, render)
}

// writeMasked writes name in dir through render and mk, replacing any
// earlier file. A failure names the file.
func writeMasked(dir, name string, mk *report.Masker, render func(io.Writer) error) error {
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := mk.Writer(f)
	err = render(w)
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// appendStepSummary appends the Markdown report to path, the job summary
// of GitHub Actions; several runs in one step each add theirs.
func appendStepSummary(path string, md []byte) error {
	if path == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("$%s: %w", envStepSummary, err)
	}
	// A blank line first, so this report never runs into what is already there.
	if fi, err := f.Stat(); err == nil && fi.Size() > 0 {
		md = append([]byte("\n"), md...)
	}
	if _, err := f.Write(md); err != nil {
		f.Close()
		return fmt.Errorf("$%s: %w", envStepSummary, err)
	}
	return f.Close()
}

func htmlFigures(figs []figure) []report.Figure {
	out := make([]report.Figure, 0, len(figs))
	for _, f := range figs {
		if len(f.SVG) > 0 {
			out = append(out, report.Figure{Title: f.Title, SVG: f.SVG})
		}
	}
	return out
}
