package report

import (
	"bytes"
	"encoding/xml"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tailgate-dev/tailgate/budget"
)

var junitTime = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func TestJUnitGolden(t *testing.T) {
	for name, r := range map[string]*budget.Result{"fail.junit.xml": judged(), "invalid.junit.xml": invalidSample()} {
		var b bytes.Buffer
		if err := JUnit(&b, r, junitTime); err != nil {
			t.Fatal(err)
		}
		golden(t, name, b.Bytes())
	}
}

// The structure of Jenkins' junit-10.xsd (the schema Ant, Surefire and CI
// reporters share): every attribute and child it allows, and a catch-all
// for anything it does not, which the test rejects.
type (
	xsdSuites struct {
		XMLName  xml.Name   `xml:"testsuites"`
		Name     *string    `xml:"name,attr"`
		Time     *string    `xml:"time,attr"`
		Tests    *string    `xml:"tests,attr"`
		Failures *string    `xml:"failures,attr"`
		Errors   *string    `xml:"errors,attr"`
		Suites   []xsdSuite `xml:"testsuite"`
		Unknown  []xml.Attr `xml:",any,attr"`
		Other    []xsdAny   `xml:",any"`
	}
	xsdSuite struct {
		Name       *string       `xml:"name,attr"`     // required
		Tests      *string       `xml:"tests,attr"`    // required
		Failures   *string       `xml:"failures,attr"` // required
		Errors     *string       `xml:"errors,attr"`   // required
		Time       *string       `xml:"time,attr"`
		Skipped    *string       `xml:"skipped,attr"`
		Timestamp  *string       `xml:"timestamp,attr"`
		Hostname   *string       `xml:"hostname,attr"`
		Properties []xsdProperty `xml:"properties>property"`
		Cases      []xsdCase     `xml:"testcase"`
		SystemOut  []string      `xml:"system-out"`
		SystemErr  []string      `xml:"system-err"`
		Unknown    []xml.Attr    `xml:",any,attr"`
		Other      []xsdAny      `xml:",any"`
	}
	xsdProperty struct {
		Name  *string `xml:"name,attr"`  // required
		Value *string `xml:"value,attr"` // required
	}
	xsdCase struct {
		Name      *string      `xml:"name,attr"` // required
		Classname *string      `xml:"classname,attr"`
		Time      *string      `xml:"time,attr"`
		Skipped   []xsdText    `xml:"skipped"`
		Errors    []xsdMessage `xml:"error"`
		Failures  []xsdMessage `xml:"failure"`
		SystemOut []string     `xml:"system-out"`
		SystemErr []string     `xml:"system-err"`
		Unknown   []xml.Attr   `xml:",any,attr"`
		Other     []xsdAny     `xml:",any"`
	}
	xsdMessage struct {
		Message *string    `xml:"message,attr"`
		Type    *string    `xml:"type,attr"`
		Text    string     `xml:",chardata"`
		Unknown []xml.Attr `xml:",any,attr"`
	}
	// junit-4.xsd's <skipped> is text only.
	xsdText struct {
		Text    string     `xml:",chardata"`
		Unknown []xml.Attr `xml:",any,attr"`
	}
	xsdAny struct {
		XMLName xml.Name
	}
)

// surefireTime is junit-10.xsd's SUREFIRE_TIME; antTimestamp is Ant's
// ISO 8601 without a zone.
var (
	surefireTime = regexp.MustCompile(`^(([0-9]{0,3},)*[0-9]{3}|[0-9]{0,3})*(\.[0-9]*)?$`)
	antTimestamp = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}$`)
)

func parseJUnit(t *testing.T, r *budget.Result) xsdSuites {
	t.Helper()
	var b bytes.Buffer
	if err := JUnit(&b, r, junitTime); err != nil {
		t.Fatal(err)
	}
	checkJUnitOrder(t, b.Bytes())
	var doc xsdSuites
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("junit.xml is not well-formed: %v\n%s", err, b.String())
	}
	if len(doc.Unknown) > 0 || len(doc.Other) > 0 {
		t.Errorf("testsuites has what the schema does not allow: %v %v", doc.Unknown, doc.Other)
	}
	if len(doc.Suites) != 1 {
		t.Fatalf("%d testsuites, want 1", len(doc.Suites))
	}
	s := doc.Suites[0]
	for name, v := range map[string]*string{"name": s.Name, "tests": s.Tests, "failures": s.Failures, "errors": s.Errors, "skipped": s.Skipped, "time": s.Time, "timestamp": s.Timestamp} {
		if v == nil {
			t.Errorf("testsuite has no %s attribute", name)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	if !surefireTime.MatchString(*s.Time) || !surefireTime.MatchString(*doc.Time) {
		t.Errorf("time %q / %q does not match the schema's pattern", *s.Time, *doc.Time)
	}
	if !antTimestamp.MatchString(*s.Timestamp) || *s.Timestamp != "2026-03-04T05:06:07" {
		t.Errorf("timestamp %q", *s.Timestamp)
	}
	if len(s.Unknown) > 0 || len(s.Other) > 0 {
		t.Errorf("testsuite has what the schema does not allow: %v %v", s.Unknown, s.Other)
	}
	if len(s.Properties) == 0 {
		t.Error("properties is empty: junit-4.xsd wants at least one property")
	}
	for _, p := range s.Properties {
		if p.Name == nil || p.Value == nil {
			t.Errorf("property without name or value: %+v", p)
		}
	}
	var failures, errors, skipped int
	for _, c := range s.Cases {
		if c.Name == nil || *c.Name == "" {
			t.Errorf("testcase without a name: %+v", c)
			continue
		}
		if c.Classname == nil || *c.Classname != r.Scenario {
			t.Errorf("testcase %s: classname %v, want the scenario %q", *c.Name, c.Classname, r.Scenario)
		}
		if len(c.Unknown) > 0 || len(c.Other) > 0 {
			t.Errorf("testcase %s has what the schema does not allow: %v %v", *c.Name, c.Unknown, c.Other)
		}
		for _, sk := range c.Skipped {
			if sk.Text == "" || len(sk.Unknown) > 0 {
				t.Errorf("testcase %s: <skipped> must say why, in text only: %+v", *c.Name, sk)
			}
		}
		for _, m := range append(append([]xsdMessage{}, c.Errors...), c.Failures...) {
			if m.Message == nil || *m.Message == "" || len(m.Unknown) > 0 {
				t.Errorf("testcase %s: a result without a message or with unknown attributes: %+v", *c.Name, m)
			}
		}
		failures += len(c.Failures)
		errors += len(c.Errors)
		skipped += len(c.Skipped)
	}
	counts := map[string][2]string{
		"tests":    {*s.Tests, strconv.Itoa(len(s.Cases))},
		"failures": {*s.Failures, strconv.Itoa(failures)},
		"errors":   {*s.Errors, strconv.Itoa(errors)},
		"skipped":  {*s.Skipped, strconv.Itoa(skipped)},
	}
	for name, c := range counts {
		if c[0] != c[1] {
			t.Errorf("testsuite %s=%s, but it holds %s", name, c[0], c[1])
		}
	}
	if *doc.Tests != *s.Tests || *doc.Failures != *s.Failures || *doc.Errors != *s.Errors {
		t.Errorf("testsuites totals %s/%s/%s differ from the suite's", *doc.Tests, *doc.Failures, *doc.Errors)
	}
	return doc
}

// checkJUnitOrder holds the stricter junit-4.xsd's sequences: properties
// before testcases before system-out in a suite; skipped, error, failure,
// system-out in that order in a case.
func checkJUnitOrder(t *testing.T, doc []byte) {
	t.Helper()
	rank := map[string]map[string]int{
		"testsuite": {"properties": 0, "testcase": 1, "system-out": 2, "system-err": 3},
		"testcase":  {"skipped": 0, "error": 1, "failure": 2, "system-out": 3, "system-err": 4},
	}
	dec := xml.NewDecoder(bytes.NewReader(doc))
	var stack []string
	last := map[int]int{}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			if len(stack) > 0 {
				parent := stack[len(stack)-1]
				if order, ok := rank[parent]; ok {
					r, known := order[e.Name.Local]
					if known && r < last[len(stack)] {
						t.Errorf("<%s> comes after a later element in <%s>", e.Name.Local, parent)
					}
					last[len(stack)] = r
				}
			}
			stack = append(stack, e.Name.Local)
			last[len(stack)] = 0
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		}
	}
}

func TestJUnitSchema(t *testing.T) {
	doc := parseJUnit(t, judged())
	s := doc.Suites[0]
	if *s.Name != "llm-chat" || *s.Tests != "6" || *s.Failures != "3" || *s.Errors != "0" || *s.Skipped != "0" || *s.Time != "60.400" {
		t.Errorf("suite %s tests=%s failures=%s errors=%s skipped=%s time=%s", *s.Name, *s.Tests, *s.Failures, *s.Errors, *s.Skipped, *s.Time)
	}
	byName := map[string]xsdCase{}
	for _, c := range s.Cases {
		byName[*c.Name] = c
	}
	db := byName["database"]
	if len(db.Failures) != 1 || !strings.Contains(*db.Failures[0].Message, "OVER p99 +51.2ms") ||
		!strings.Contains(*db.Failures[0].Message, "p99 131ms (120–140ms) / 80ms") || !strings.Contains(db.Failures[0].Text, "p99 observed 131ms, budget 80ms, over by 51.2ms") {
		t.Errorf("database failure does not carry its numbers: %+v", db.Failures)
	}
	cache := byName["cache"]
	if len(cache.Failures) != 1 || *cache.Failures[0].Type != "no data" || !strings.Contains(*cache.Failures[0].Message, "no data") {
		t.Errorf("a line without data must fail: %+v", cache)
	}
	if rtt := byName["rtt"]; len(rtt.Failures)+len(rtt.Errors)+len(rtt.Skipped) != 0 || !strings.Contains(rtt.SystemOut[0], "p99 observed 44.0ms") {
		t.Errorf("rtt passes with its numbers in system-out: %+v", rtt)
	}
	if _, ok := byName["verdict"]; ok {
		t.Error("a judged run has no synthetic verdict testcase")
	}
	if len(s.SystemOut) != 1 || !strings.Contains(s.SystemOut[0], "FAIL: 2 of 6 lines over budget") {
		t.Errorf("suite system-out is not the verdict table: %q", s.SystemOut)
	}

	pass := sample()
	pass.Verdict, pass.Lines = budget.Pass, pass.Lines[4:]
	if s := parseJUnit(t, pass).Suites[0]; *s.Tests != "2" || *s.Failures != "0" {
		t.Errorf("pass: tests=%s failures=%s", *s.Tests, *s.Failures)
	}
}

// TestJUnitInvalid: no trustworthy verdict is an error, which CI shows as a
// broken test, and no line fails on numbers that mean nothing.
func TestJUnitInvalid(t *testing.T) {
	s := parseJUnit(t, invalidSample()).Suites[0]
	if *s.Tests != "7" || *s.Errors != "1" || *s.Failures != "0" || *s.Skipped != "6" {
		t.Errorf("tests=%s errors=%s failures=%s skipped=%s", *s.Tests, *s.Errors, *s.Failures, *s.Skipped)
	}
	v := s.Cases[len(s.Cases)-1]
	if *v.Name != "verdict" || len(v.Errors) != 1 || !strings.Contains(*v.Errors[0].Message, "INVALID: no trustworthy verdict: interrupted after 812") {
		t.Errorf("verdict testcase %+v", v)
	}
}
