package main

import (
	"bytes"
	"errors"
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

// writeArtifacts writes every artifact of m into dir, creating it. An
// artifact that fails does not stop the others: CI keeps whatever could be
// written, and the error names everything that could not.
func writeArtifacts(dir string, m measured) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	res := m.res
	// The run began its elapsed time ago; JUnit and HTML say when.
	started := time.Now().Add(-time.Duration(res.Requests.ElapsedS * float64(time.Second)))

	var errs []error
	try := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	try(writeFile(dir, fileReportJSON, func(w io.Writer) error { return report.JSON(w, res) }))
	var md bytes.Buffer
	try(report.Markdown(&md, res))
	try(writeFile(dir, fileReportMD, func(w io.Writer) error { _, err := w.Write(md.Bytes()); return err }))
	try(appendStepSummary(os.Getenv(envStepSummary), md.Bytes()))
	try(writeFile(dir, fileJUnit, func(w io.Writer) error { return report.JUnit(w, res, started) }))
	try(writeHistograms(dir, m))

	hlog := filepath.Join(dir, fileRunHlog)
	if _, err := os.Stat(hlog); err != nil {
		hlog = "" // simulate and re-judged reports have no interval log here
	}
	figs, err := plotFigures(dir, m, hlog)
	try(err)
	try(writeFile(dir, fileReportHTML, func(w io.Writer) error { return report.HTML(w, res, htmlFigures(figs), started) }))
	return errors.Join(errs...)
}

// writeFile writes name in dir through render, replacing any earlier file.
func writeFile(dir, name string, render func(io.Writer) error) error {
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := render(f); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
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
