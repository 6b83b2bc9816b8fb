package report

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"

	"github.com/tailgate-dev/tailgate/budget"
)

// Figure is one plot for the HTML page: a title and an SVG document.
type Figure struct {
	Title string
	SVG   []byte
}

// HTML writes report.html: one self-contained page (inline CSS and SVG, no
// script, nothing fetched) with the verdict table, tail attribution,
// connections, errors by class and the plots — what a person opens from a
// CI artifact. generated is shown in the footer; the zero time leaves it out.
// The figures' SVG is trusted: it comes from tailgate's own plotting, which
// escapes every label.
func HTML(w io.Writer, r *budget.Result, figs []Figure, generated time.Time) error {
	page := newHTMLPage(r, figs, generated)
	var b bytes.Buffer
	if err := htmlPage.Execute(&b, page); err != nil {
		return fmt.Errorf("rendering report.html: %w", err)
	}
	_, err := w.Write(b.Bytes())
	return err
}

type htmlView struct {
	Title, Scenario, Description string
	Verdict, VerdictClass        string
	Summary                      string
	Reasons                      []string
	Facts                        []string
	Columns                      []string
	Rows                         []htmlRow
	Tail                         []htmlPhase
	TailRequests                 string
	Connections                  []htmlFact
	Errors                       []htmlError
	Redirects                    string
	Generator                    string
	Saturated                    bool
	Warnings                     []string
	Figures                      []htmlFigure
	Schema, Generated            string
}

type htmlRow struct {
	Name, Source string
	Samples      string
	Cells        []htmlCell
	Verdict      string
	Class        string // ok | over | nodata
}

type htmlCell struct{ Text, Class string }

type htmlPhase struct {
	Name, Source, Share string
	Width               string // CSS width of the bar, percent
}

type htmlFact struct{ Label, Value, Note string }

type htmlError struct{ Label, Value, Note, First string }

type htmlFigure struct {
	Title string
	SVG   template.HTML
}

func newHTMLPage(r *budget.Result, figs []Figure, generated time.Time) htmlView {
	v := htmlView{
		Title:        fmt.Sprintf("tailgate: %s — %s", r.Scenario, verdictWord(r.Verdict)),
		Scenario:     r.Scenario,
		Description:  r.Description,
		Verdict:      verdictWord(r.Verdict),
		VerdictClass: string(r.Verdict),
		Summary:      Summary(r),
		Facts:        facts(r),
		Generator:    generatorLine(r),
		Saturated:    r.Saturation.Saturated,
		Warnings:     r.Warnings,
		Schema:       r.Schema,
	}
	if r.Verdict == budget.Invalid && len(r.Reasons) > 0 {
		// The reasons get a list of their own rather than one long line.
		v.Summary = "INVALID: no trustworthy verdict"
		v.Reasons = r.Reasons
	}
	if !generated.IsZero() {
		v.Generated = generated.UTC().Format("2006-01-02 15:04:05 UTC")
	}
	ps := Percentiles(r)
	for _, p := range ps {
		v.Columns = append(v.Columns, ColumnHead(r, p))
	}
	for _, l := range r.Lines {
		row := htmlRow{Name: l.Label(), Source: sourceLabel(l.Source), Samples: thousands(l.Count), Verdict: LineVerdict(l), Class: lineClass(l.Verdict)}
		over := overCells(l, ps)
		for i, c := range Cells(l, ps) {
			cls := ""
			switch {
			case over[i]:
				cls = "over"
			case strings.HasPrefix(c, "no data"):
				cls = "nodata"
			}
			row.Cells = append(row.Cells, htmlCell{Text: c, Class: cls})
		}
		v.Rows = append(v.Rows, row)
	}
	for _, p := range r.Tail.Phases {
		v.Tail = append(v.Tail, htmlPhase{
			Name: p.Name, Source: p.Source, Share: percent(p.Share),
			Width: fmt.Sprintf("%.1f%%", 100*min(max(p.Share, 0), 1)),
		})
	}
	v.TailRequests = slowest(r.Tail.Requests)
	c := r.Connections
	v.Connections = append(v.Connections, htmlFact{"new connections", thousands(c.New), percent(c.NewShare) + " of requests"})
	group := func(n int64, what string) string {
		s := fmt.Sprintf("%s %s", thousands(n), what)
		if n < budget.MinCompare {
			s += fmt.Sprintf("; too few to compare (under %d, a p99 is the slowest)", budget.MinCompare)
		}
		return s
	}
	if c.ColdP99Ms != nil {
		v.Connections = append(v.Connections, htmlFact{"total p99, cold", Millis(*c.ColdP99Ms), group(c.ColdCount, "requests that opened a connection")})
	}
	if c.WarmP99Ms != nil {
		v.Connections = append(v.Connections, htmlFact{"total p99, warm", Millis(*c.WarmP99Ms), group(c.WarmCount, "requests on a reused connection")})
	}
	for _, e := range r.Errors {
		v.Errors = append(v.Errors, htmlError{e.Class, thousands(e.Count), Share(e.Count, r.Requests.Sent) + " of sent", e.First})
	}
	v.Redirects = redirects(r)
	for _, f := range figs {
		v.Figures = append(v.Figures, htmlFigure{Title: f.Title, SVG: template.HTML(inlineSVG(f.SVG))})
	}
	return v
}

func lineClass(v budget.LineVerdict) string {
	switch v {
	case budget.OK:
		return "ok"
	case budget.Over:
		return "over"
	}
	return "nodata"
}

// inlineSVG drops what precedes <svg> in an SVG file (the XML declaration
// and comments), which has no place inside an HTML document.
func inlineSVG(svg []byte) string {
	s := string(svg)
	if i := strings.Index(s, "<svg"); i > 0 {
		s = s[i:]
	}
	return s
}

var htmlPage = template.Must(template.New("report.html").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
:root { --ok: #1a7f37; --over: #cf222e; --invalid: #9a6700; --muted: #57606a; --line: #d0d7de; --bg-over: #ffebe9; --bg-nodata: #fff8c5; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1f2328; margin: 2rem auto; max-width: 1100px; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin: 0 0 .3rem; }
h2 { font-size: 1.15rem; margin: 2rem 0 .6rem; border-bottom: 1px solid var(--line); padding-bottom: .3rem; }
.badge { display: inline-block; padding: .1rem .6rem; border-radius: 1rem; color: #fff; font-weight: 600; font-size: .95rem; vertical-align: middle; }
.badge.pass { background: var(--ok); } .badge.fail { background: var(--over); } .badge.invalid { background: var(--invalid); }
.summary { font-size: 1.05rem; font-weight: 600; margin: .6rem 0; }
.summary.pass { color: var(--ok); } .summary.fail { color: var(--over); } .summary.invalid { color: var(--invalid); }
.facts, .muted { color: var(--muted); }
.facts span + span::before { content: " · "; }
table { border-collapse: collapse; margin: .4rem 0; }
th, td { border: 1px solid var(--line); padding: .35rem .7rem; text-align: left; }
th { background: #f6f8fa; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.over { background: var(--bg-over); color: var(--over); font-weight: 600; }
td.nodata { background: var(--bg-nodata); }
tr.over td.verdict { color: var(--over); font-weight: 700; }
tr.nodata td.verdict { color: var(--invalid); font-weight: 700; }
tr.ok td.verdict { color: var(--ok); }
.bar { background: #f6f8fa; width: 240px; height: .8rem; border-radius: .2rem; overflow: hidden; }
.bar div { background: #0969da; height: 100%; }
ul.reasons { color: var(--invalid); font-weight: 600; }
.warning { border-left: 4px solid var(--invalid); background: var(--bg-nodata); padding: .4rem .8rem; margin: .4rem 0; }
figure { margin: 1rem 0 2rem; }
figure svg { width: 100%; max-width: 900px; height: auto; display: block; }
figcaption { font-weight: 600; margin-bottom: .3rem; }
footer { margin-top: 3rem; font-size: .85rem; color: var(--muted); }
</style>
</head>
<body>
<header>
<h1>tailgate: {{.Scenario}} <span class="badge {{.VerdictClass}}" id="verdict">{{.Verdict}}</span></h1>
{{with .Description}}<p>{{.}}</p>{{end}}
<p class="summary {{.VerdictClass}}">{{.Summary}}</p>
{{with .Reasons}}<ul class="reasons">{{range .}}<li>{{.}}</li>{{end}}</ul>{{end}}
<p class="facts">{{range .Facts}}<span>{{.}}</span>{{end}}</p>
</header>

<h2>Budget</h2>
<table id="budget">
<thead><tr><th>line</th><th>source</th><th>samples</th>{{range .Columns}}<th>{{.}}</th>{{end}}<th>verdict</th></tr></thead>
<tbody>
{{range .Rows}}<tr class="line {{.Class}}"><td>{{.Name}}</td><td>{{.Source}}</td><td class="num">{{.Samples}}</td>{{range .Cells}}<td class="num{{with .Class}} {{.}}{{end}}">{{.Text}}</td>{{end}}<td class="verdict">{{.Verdict}}</td></tr>
{{end}}</tbody>
</table>
{{with .Generator}}<p class="muted">Load generator {{.}}</p>{{end}}
{{range .Warnings}}<p class="warning">warning: {{.}}</p>
{{end}}
<h2>Tail attribution</h2>
{{if .Tail}}<p class="muted">The time of {{.TailRequests}}, by phase.</p>
<table id="tail">
<thead><tr><th>phase</th><th>measured as</th><th>share</th><th></th></tr></thead>
<tbody>
{{range .Tail}}<tr><td>{{.Name}}</td><td>{{.Source}}</td><td class="num">{{.Share}}</td><td><div class="bar"><div style="width: {{.Width}}"></div></div></td></tr>
{{end}}</tbody>
</table>
{{else}}<p class="muted">No request was slow enough to attribute.</p>{{end}}

<h2>Connections</h2>
<table id="connections">
<tbody>
{{range .Connections}}<tr><th>{{.Label}}</th><td class="num">{{.Value}}</td><td class="muted">{{.Note}}</td></tr>
{{end}}</tbody>
</table>

<h2>Errors by class</h2>
{{if .Errors}}<table id="errors">
<thead><tr><th>class</th><th>requests</th><th>share</th><th>first seen</th></tr></thead>
<tbody>
{{range .Errors}}<tr><td>{{.Label}}</td><td class="num">{{.Value}}</td><td class="num">{{.Note}}</td><td>{{.First}}</td></tr>
{{end}}</tbody>
</table>
{{else}}<p class="muted">No request failed.</p>{{end}}
{{with .Redirects}}<p class="muted">{{.}}</p>{{end}}

{{if .Figures}}<h2>Plots</h2>
{{range .Figures}}<figure>
<figcaption>{{.Title}}</figcaption>
{{.SVG}}
</figure>
{{end}}{{end}}
<footer>{{.Schema}}{{with .Generated}} · generated {{.}}{{end}} · the same result is in report.json</footer>
</body>
</html>
`))
