package report

import (
	"bytes"
	"encoding/xml"
	"io"
	"testing"
	"time"

	"github.com/tailgate-dev/tailgate/budget"
)

// TestJUnitWellFormedForAnyName: control characters, bytes that are not
// UTF-8 and CDATA's own terminator in a scenario name, a line name or a
// reason still make a file every XML parser reads.
func TestJUnitWellFormedForAnyName(t *testing.T) {
	r := &budget.Result{Scenario: "a\x01b]]>c\x00<&\"'\xff\ufffe", Verdict: budget.Fail, Lines: []budget.Line{{Name: "x\x02]]>", Verdict: budget.NoData}}, Reasons: []string{"\x1b[31m"}}
	var b bytes.Buffer
	if err := JUnit(&b, r, time.Now()); err != nil {
		t.Fatal(err)
	}
	d := xml.NewDecoder(&b)
	for {
		_, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err, b.String())
		}
	}
}
