package scenario

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// valueNode parses `v: text` and returns the node of text, as the decoder
// hands it to an UnmarshalYAML.
func valueNode(t testing.TB, text string) ast.Node {
	t.Helper()
	f, err := parser.ParseBytes([]byte("v: "+text+"\n"), 0)
	if err != nil {
		t.Fatalf("parse %q: %v", text, err)
	}
	return f.Docs[0].Body.(*ast.MappingNode).Values[0].Value
}

// unitCases decode one value of each unit type. want is in requests per
// second, seconds, kilometres, a fraction, or the TLS version as a number.
var unitCases = []struct {
	kind string
	text string
	want float64
	err  string // a fragment of the message; "" when valid
}{
	{"rate", "20/s", 20, ""},
	{"rate", "600/m", 10, ""},
	{"rate", "3600/h", 1, ""},
	{"rate", "90/m", 1.5, ""},
	{"rate", "1.5/s", 1.5, ""},
	{"rate", "20 / s", 20, ""},
	{"rate", "0/s", 0, ""},
	{"rate", "1e3/s", 1000, ""},
	{"rate", "20", 0, `"20" is not a rate: write N/s, N/m or N/h (e.g. 20/s)`},
	{"rate", "20/x", 0, `"20/x" is not a rate: unit "x" must be s, m or h`},
	{"rate", "20/sec", 0, `unit "sec" must be s, m or h`},
	{"rate", "-5/s", 0, `rate -5/s is negative`},
	{"rate", "abc/s", 0, `"abc/s" is not a rate: "abc" is not a number`},
	{"rate", "/s", 0, `"" is not a number`},
	{"rate", "inf/s", 0, `"inf" is not a number`},
	{"rate", "1e8/s", 0, `rate 1e8/s is above the limit of 10000000/s`},
	{"rate", "[20/s]", 0, `want a rate like 20/s, got a list`},
	{"rate", "~", 0, `missing value: want a rate like 20/s`},

	{"duration", "250ms", 0.25, ""},
	{"duration", "1.5s", 1.5, ""},
	{"duration", "2m", 120, ""},
	{"duration", "1h30m", 5400, ""},
	{"duration", "|\n  5s", 5, ""},
	{"duration", "5", 0, `"5" has no unit: write a duration like 5ms or 5s`},
	{"duration", "0.5", 0, `"0.5" has no unit`},
	{"duration", "ten", 0, `"ten" is not a duration (want e.g. 250ms, 10s, 2m)`},
	{"duration", "{s: 1}", 0, `want a duration like 250ms or 10s, got a mapping`},
	{"duration", "~", 0, `missing value: want a duration`},

	{"distance", "4000km", 4000, ""},
	{"distance", "800 km", 800, ""},
	{"distance", "500m", 0.5, ""},
	{"distance", "10mi", 16.09344, ""},
	{"distance", "0km", 0, ""},
	{"distance", "4000", 0, `"4000" has no unit: write a distance like 4000km`},
	{"distance", "3 parsecs", 0, `"3 parsecs": unit "parsecs" must be km, m or mi`},
	{"distance", "4000KM", 0, `unit "KM" must be km, m or mi`},
	{"distance", "km", 0, `"km" is not a distance`},
	{"distance", "-1km", 0, `distance -1km is negative`},
	{"distance", "30000km", 0, `more than half the Earth's circumference`},

	{"ratio", `"0.2%"`, 0.002, ""},
	{"ratio", "0.2%", 0.002, ""},
	{"ratio", "1%", 0.01, ""},
	{"ratio", "0.002", 0.002, ""},
	{"ratio", "0.01", 0.01, ""},
	{"ratio", "100%", 1, ""},
	{"ratio", "0", 0, ""},
	{"ratio", "1", 1, ""},
	{"ratio", "150%", 0, `"150%" must be between 0% and 100%`},
	{"ratio", "-1%", 0, `must be between 0% and 100%`},
	{"ratio", "2", 0, `"2" must be between 0 and 1 as a fraction: did you mean 2%?`},
	{"ratio", "5", 0, `did you mean 5%?`},
	{"ratio", "150", 0, `"150" must be between 0% and 100%`},
	{"ratio", "some", 0, `"some" is not a share (want e.g. 1% or 0.01)`},
	{"ratio", "1%%", 0, `is not a share`},

	{"tls", `"1.3"`, 1.3, ""},
	{"tls", "1.3", 1.3, ""},
	{"tls", "1.30", 1.3, ""},
	{"tls", `"1.2"`, 1.2, ""},
	{"tls", "1.2", 1.2, ""},
	{"tls", "1.1", 0, `TLS version "1.1" is not supported: use "1.2" or "1.3"`},
	{"tls", `"1.0"`, 0, `TLS version "1.0" is not supported`},
	{"tls", "TLS1.3", 0, `TLS version "TLS1.3" is not supported`},
	{"tls", "1", 0, `TLS version "1" is not supported`},
	{"tls", "~", 0, `missing value: want a TLS version`},
}

func decodeUnit(kind string, n ast.Node) (float64, error) {
	switch kind {
	case "rate":
		var r Rate
		err := r.UnmarshalYAML(n)
		return r.PerSecond(), err
	case "duration":
		var d Duration
		err := d.UnmarshalYAML(n)
		return d.D().Seconds(), err
	case "distance":
		var d Distance
		err := d.UnmarshalYAML(n)
		return d.Km(), err
	case "ratio":
		var r Ratio
		err := r.UnmarshalYAML(n)
		return float64(r), err
	case "tls":
		var v TLSVersion
		if err := v.UnmarshalYAML(n); err != nil {
			return 0, err
		}
		return strconv.ParseFloat(string(v), 64)
	}
	panic("unknown kind " + kind)
}

func TestUnits(t *testing.T) {
	for _, c := range unitCases {
		t.Run(c.kind+"/"+c.text, func(t *testing.T) {
			got, err := decodeUnit(c.kind, valueNode(t, c.text))
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want …%q…", err, c.err)
				}
				te, ok := err.(*tokenError)
				if !ok || te.tok == nil || te.tok.Position.Line != 1 || te.tok.Position.Column != 4 {
					t.Errorf("error %#v is not located at the value (1:4)", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(got-c.want) > 1e-12*math.Max(1, math.Abs(c.want)) {
				t.Errorf("= %v, want %v", got, c.want)
			}
		})
	}
}

func TestParseRate(t *testing.T) {
	// ParseRate is the same parser the YAML uses; flags (--rate-scale) can reuse it.
	for in, want := range map[string]Rate{"20/s": 20, "1200/m": 20, "72000/h": 20, " 7/s ": 7} {
		if got, err := ParseRate(in); err != nil || got != want {
			t.Errorf("ParseRate(%q) = %v, %v, want %v", in, got, err, want)
		}
	}
	if _, err := ParseRate("20"); err == nil {
		t.Error("ParseRate(20) without a unit succeeded")
	}
}

func TestUnitStrings(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{Rate(20).String(), "20/s"},
		{Rate(1.5).String(), "1.5/s"},
		{Duration(1100 * time.Millisecond).String(), "1.1s"},
		{Distance(4000).String(), "4000km"},
		{Ratio(0.01).String(), "1%"},
		{Percentile{P: 99.9}.Label(), "p99.9"},
		{Percentile{P: 95}.Label(), "p95"},
	} {
		if c.got != c.want {
			t.Errorf("%q, want %q", c.got, c.want)
		}
	}
}

func TestRTTFloorAndHandshake(t *testing.T) {
	for _, c := range []struct {
		km   Distance
		want time.Duration
	}{{4000, 40 * time.Millisecond}, {100, time.Millisecond}, {0, 0}, {0.5, 5 * time.Microsecond}} {
		if got := c.km.RTTFloor(); got != c.want {
			t.Errorf("RTTFloor(%v) = %v, want %v", c.km, got, c.want)
		}
	}
	for v, want := range map[TLSVersion]int{"1.3": 1, "1.2": 2, "": 0} {
		if got := v.HandshakeRTTs(); got != want {
			t.Errorf("HandshakeRTTs(%q) = %d, want %d", v, got, want)
		}
	}
}

func TestParsePercentile(t *testing.T) {
	for _, c := range []struct {
		key  string
		want float64
		err  string
	}{
		{"p50", 50, ""},
		{"p95", 95, ""},
		{"p99", 99, ""},
		{"p99.9", 99.9, ""},
		{"p99.99", 99.99, ""},
		{"p1", 1, ""},
		{"p100", 0, "p100 is out of range"},
		{"p0", 0, "p0 is out of range"},
		{"p0.0", 0, "p0.0 is out of range"},
		{"pabc", 0, "is not a percentile"},
		{"p", 0, "is not a percentile"},
		{"p99.9.9", 0, "is not a percentile"},
		{"p-1", 0, "is not a percentile"},
		{"p1e1", 0, "is not a percentile"},
		{"p0x1p4", 0, "is not a percentile"},
		{"p99.", 0, "is not a percentile"},
		{"p.5", 0, "is not a percentile"},
		{"pinf", 0, "is not a percentile"},
		{"99", 0, `unknown key "99": a budget line takes percentiles`},
	} {
		got, err := parsePercentile(c.key)
		switch {
		case c.err == "" && (err != nil || got != c.want):
			t.Errorf("parsePercentile(%q) = %v, %v, want %v", c.key, got, err, c.want)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("parsePercentile(%q) = %v, %v, want an error …%q…", c.key, got, err, c.err)
		}
	}
}

func TestSources(t *testing.T) {
	for name, want := range map[string]string{
		"rtt": "connect", "network": "connect", "tls": "tls", "database": "server-timing:db", "db": "server-timing:db",
		"ttft": "ttft", "total": "total", "dns": "dns", "ttfb": "ttfb", "itl": "itl", "service": "service", "connect": "connect",
	} {
		if got, ok := DefaultSource(name); !ok || got != want {
			t.Errorf("DefaultSource(%q) = %q, %v, want %q", name, got, ok, want)
		}
	}
	for _, name := range []string{"queue", "cache", "server-timing", ""} {
		if got, ok := DefaultSource(name); ok {
			t.Errorf("DefaultSource(%q) = %q, want none", name, got)
		}
	}
	for s, want := range map[string]bool{
		"server-timing:cache": true, "server-timing:db": true, "server-timing:": false,
		"server-timing:a b": false, "total": true, "wire": false, "TOTAL": false,
	} {
		if got := ValidSource(s); got != want {
			t.Errorf("ValidSource(%q) = %v, want %v", s, got, want)
		}
	}
}
