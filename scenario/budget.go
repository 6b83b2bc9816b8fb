package scenario

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"
)

// Budget is what each part of a request may spend, line by line, in the
// order the file gives them, plus the share of requests allowed to fail.
type Budget struct {
	Lines  []Line
	Errors *Ratio
}

// Line is one budget line: a measured source and a limit per percentile.
type Line struct {
	Name        string
	Source      string
	Percentiles []Percentile
}

// Percentile is one limit of a line: p99 ≤ 90ms is {P: 99, Limit: 90ms}.
type Percentile struct {
	P     float64 // 0–100, as HDR's ValueAtQuantile takes it
	Limit Duration
}

// Label is the percentile as written: "p99", "p99.9".
func (p Percentile) Label() string {
	return "p" + strconv.FormatFloat(p.P, 'f', -1, 64)
}

// Sources a budget line can measure. server-timing:NAME takes any metric of
// the W3C Server-Timing header.
const (
	SourceDNS     = "dns"
	SourceConnect = "connect"
	SourceTLS     = "tls"
	SourceTTFB    = "ttfb"
	SourceTTFT    = "ttft"
	SourceITL     = "itl"
	SourceTotal   = "total"
	SourceService = "service"

	ServerTimingPrefix = "server-timing:"
)

// Sources lists the fixed sources, in the order a report shows them.
var Sources = []string{SourceDNS, SourceConnect, SourceTLS, SourceTTFB, SourceTTFT, SourceITL, SourceTotal, SourceService}

// defaultSources maps well-known line names to what they measure.
var defaultSources = map[string]string{
	"rtt":      SourceConnect,
	"network":  SourceConnect,
	"database": ServerTimingPrefix + "db",
	"db":       ServerTimingPrefix + "db",
}

// DefaultSource is the source a line measures when it gives no `source:`:
// rtt → connect, database → server-timing:db, and a line named after a
// source (tls, ttft, total, …) measures that source.
func DefaultSource(name string) (string, bool) {
	if s, ok := defaultSources[name]; ok {
		return s, true
	}
	if ValidSource(name) {
		return name, true
	}
	return "", false
}

// ValidSource reports whether s names something tailgate measures.
func ValidSource(s string) bool {
	if name, ok := strings.CutPrefix(s, ServerTimingPrefix); ok {
		return validMetricName(name)
	}
	for _, k := range Sources {
		if s == k {
			return true
		}
	}
	return false
}

// validMetricName accepts an RFC 7230 token, the syntax of a Server-Timing name.
func validMetricName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.ContainsRune("!#$%&'*+-.^_`|~", c):
		default:
			return false
		}
	}
	return true
}

// UnmarshalYAML decodes the budget mapping, keeping the order of its lines.
func (b *Budget) UnmarshalYAML(n ast.Node) error {
	m, ok := n.(*ast.MappingNode)
	if !ok {
		if _, null := n.(*ast.NullNode); null {
			return nil
		}
		return errAt(n, "budget must be a mapping of lines, e.g. total: {p99: 2s}")
	}
	seen := map[string]bool{}
	for _, kv := range m.Values {
		name, err := scalar(kv.Key, "a line name")
		if err != nil {
			return err
		}
		if seen[name] {
			return errAt(kv.Key, "budget line %q is given twice", name)
		}
		seen[name] = true
		if name == "errors" {
			var r Ratio
			if err := r.UnmarshalYAML(kv.Value); err != nil {
				return err
			}
			b.Errors = &r
			continue
		}
		line, err := decodeLine(name, kv.Value)
		if err != nil {
			return err
		}
		b.Lines = append(b.Lines, line)
	}
	return nil
}

func decodeLine(name string, n ast.Node) (Line, error) {
	line := Line{Name: name}
	m, ok := n.(*ast.MappingNode)
	if !ok {
		return line, errAt(n, "budget line %q must be a mapping like {p95: 70ms, p99: 90ms}", name)
	}
	for _, kv := range m.Values {
		key, err := scalar(kv.Key, "a percentile like p99 or source")
		if err != nil {
			return line, err
		}
		if key == "source" {
			s, err := scalar(kv.Value, "a source")
			if err != nil {
				return line, err
			}
			if !ValidSource(s) {
				return line, errAt(kv.Value, "unknown source %q: use one of %s or server-timing:NAME", s, strings.Join(Sources, ", "))
			}
			line.Source = s
			continue
		}
		p, err := parsePercentile(key)
		if err != nil {
			return line, errAt(kv.Key, "%s", err)
		}
		for _, q := range line.Percentiles {
			if q.P == p {
				return line, errAt(kv.Key, "%s is given twice", key)
			}
		}
		var d Duration
		if err := d.UnmarshalYAML(kv.Value); err != nil {
			return line, err
		}
		if d <= 0 {
			return line, errAt(kv.Value, "%s limit must be above zero", key)
		}
		line.Percentiles = append(line.Percentiles, Percentile{P: p, Limit: d})
	}
	if line.Source == "" {
		src, ok := DefaultSource(name)
		if !ok {
			return line, errAt(n, "budget line %q has no default source: add source: (one of %s or server-timing:NAME)", name, strings.Join(Sources, ", "))
		}
		line.Source = src
	}
	if len(line.Percentiles) == 0 {
		return line, errAt(n, "budget line %q gives no percentile: add e.g. p99: 100ms", name)
	}
	return line, nil
}

// parsePercentile reads "p99" or "p99.9" as 99 or 99.9.
func parsePercentile(key string) (float64, error) {
	num, ok := strings.CutPrefix(key, "p")
	if !ok {
		return 0, fmt.Errorf("unknown key %q: a budget line takes percentiles (p50, p95, p99, p99.9) and source", key)
	}
	p, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(p) || strings.ContainsAny(num, "eE+-") {
		return 0, fmt.Errorf("%q is not a percentile (want e.g. p95, p99.9)", key)
	}
	if p <= 0 || p >= 100 {
		return 0, fmt.Errorf("percentile %s must be above p0 and below p100", key)
	}
	return p, nil
}
