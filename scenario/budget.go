package scenario

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"
)

// Budget is what each part of a request may spend, line by line, in the
// order the file gives them, plus the share of requests allowed to fail.
type Budget struct {
	Lines []Line
	// Errors is the share of requests that may fail; nil when the budget
	// gives no errors line, and DefaultErrors is judged instead (unless
	// ErrorsOff).
	Errors *Ratio
	// ErrorsOff is set by `errors: off`: the user opts out of judging
	// failures explicitly.
	ErrorsOff bool
	// Confidence, when set (`confidence: 95%`), judges each percentile by
	// its confidence interval at that level: over only when the interval's
	// low end is over the limit, within only when its high end is within,
	// inconclusive otherwise.
	Confidence *Ratio
}

// DefaultErrors is the errors line judged when a budget gives none:
// nothing unbudgeted passes, so a target failing most requests cannot
// pass on latency lines that only measure its successes.
const DefaultErrors Ratio = 0.01

// ErrorLimit returns the share of failures the budget allows, whether it
// is the default (no errors line), and ok false when errors are not judged
// (errors: off).
func (b *Budget) ErrorLimit() (limit Ratio, isDefault, ok bool) {
	switch {
	case b.ErrorsOff:
		return 0, false, false
	case b.Errors == nil:
		return DefaultErrors, true, true
	}
	return *b.Errors, false, true
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
// It reports every bad line, not only the first (as tokenErrors).
func (b *Budget) UnmarshalYAML(n ast.Node) error {
	m, ok := n.(*ast.MappingNode)
	if !ok {
		if _, null := n.(*ast.NullNode); null {
			return nil
		}
		return errAt(n, "want a mapping of budget lines (total: {p99: 2s}), got %s", describe(n))
	}
	var errs tokenErrors
	addErr := func(path string, err error) {
		var list tokenErrors
		var te *tokenError
		switch {
		case errors.As(err, &list):
			for _, e := range list {
				errs = append(errs, &tokenError{tok: e.tok, path: joinPath(path, e.path), msg: e.msg})
			}
		case errors.As(err, &te):
			errs = append(errs, &tokenError{tok: te.tok, path: joinPath(path, te.path), msg: te.msg})
		default:
			errs = append(errs, &tokenError{tok: startToken(n), path: path, msg: err.Error()})
		}
	}
	seen := map[string]int{}
	for _, kv := range m.Values {
		name, err := scalar(kv.Key, "a line name")
		if err != nil {
			addErr("", err)
			continue
		}
		if line, dup := seen[name]; dup {
			addErr(quoteKey(name), errAt(kv.Key, "budget line %q is given twice (first on line %d)", name, line))
			continue
		}
		seen[name] = kv.Key.GetToken().Position.Line
		if name == "confidence" {
			var r Ratio
			if err := r.UnmarshalYAML(kv.Value); err != nil {
				addErr(quoteKey(name), atKeyIfNull(kv, err))
				continue
			}
			if r < 0.5 || r >= 1 {
				addErr(quoteKey(name), errAt(kv.Value, "confidence %s must be at least 50%% and below 100%% (e.g. 95%%)", r))
				continue
			}
			b.Confidence = &r
			continue
		}
		if name == "errors" {
			if v, ok := kv.Value.(*ast.StringNode); ok && strings.EqualFold(strings.TrimSpace(v.Value), "off") {
				b.ErrorsOff = true
				continue
			}
			if v, ok := kv.Value.(*ast.BoolNode); ok && !v.Value {
				b.ErrorsOff = true
				continue
			}
			var r Ratio
			if err := r.UnmarshalYAML(kv.Value); err != nil {
				addErr(quoteKey(name), atKeyIfNull(kv, err))
				continue
			}
			b.Errors = &r
			continue
		}
		line, err := decodeLine(name, kv)
		if err != nil {
			addErr(quoteKey(name), err)
			continue
		}
		b.Lines = append(b.Lines, line)
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// decodeLine decodes one line, {p95: 70ms, p99: 90ms, source: connect}.
func decodeLine(name string, kv *ast.MappingValueNode) (Line, error) {
	line := Line{Name: name}
	n := kv.Value
	m, ok := n.(*ast.MappingNode)
	if !ok {
		if _, null := n.(*ast.NullNode); null {
			return line, errAt(kv.Key, "budget line %q is empty: give limits like {p95: 70ms, p99: 90ms}", name)
		}
		return line, errAt(n, "budget line %q must be a mapping like {p95: 70ms, p99: 90ms}; got %s", name, describe(n))
	}
	var errs tokenErrors
	var limitNodes []ast.Node // each percentile's value, for errors about their order
	addErr := func(key string, err error) {
		path := quoteKey(key)
		var te *tokenError
		if errors.As(err, &te) {
			errs = append(errs, &tokenError{tok: te.tok, path: path, msg: te.msg})
		} else {
			errs = append(errs, &tokenError{tok: startToken(n), path: path, msg: err.Error()})
		}
	}
	sourceGiven := false
	for _, kv := range m.Values {
		key, err := scalar(kv.Key, "a percentile like p99, or source")
		if err != nil {
			addErr("", err)
			continue
		}
		if key == "source" {
			if sourceGiven {
				addErr(key, errAt(kv.Key, "source is given twice"))
				continue
			}
			sourceGiven = true
			s, err := scalar(kv.Value, "a source")
			if err != nil {
				addErr(key, atKeyIfNull(kv, err))
				continue
			}
			if !ValidSource(s) {
				addErr(key, errAt(kv.Value, "unknown source %q: use one of %s or server-timing:NAME", s, strings.Join(Sources, ", ")))
				continue
			}
			line.Source = s
			continue
		}
		p, err := parsePercentile(key)
		if err != nil {
			addErr(key, errAt(kv.Key, "%s", err))
			continue
		}
		if i := slices.IndexFunc(line.Percentiles, func(q Percentile) bool { return q.P == p }); i >= 0 {
			if first := line.Percentiles[i].Label(); first != key {
				addErr(key, errAt(kv.Key, "%s is given twice (as %s before)", key, first))
			} else {
				addErr(key, errAt(kv.Key, "%s is given twice", key))
			}
			continue
		}
		var d Duration
		if err := d.UnmarshalYAML(kv.Value); err != nil {
			addErr(key, atKeyIfNull(kv, err))
			continue
		}
		if d <= 0 {
			addErr(key, errAt(kv.Value, "%s limit must be above zero", key))
			continue
		}
		line.Percentiles = append(line.Percentiles, Percentile{P: p, Limit: d})
		limitNodes = append(limitNodes, kv.Value)
	}
	// A higher percentile is never faster than a lower one: a limit that
	// falls as p rises can never be met as written.
	for j, hi := range line.Percentiles {
		for _, lo := range line.Percentiles {
			if lo.P < hi.P && lo.Limit > hi.Limit {
				addErr(hi.Label(), errAt(limitNodes[j], "%s limit %s is below %s's %s: limits must rise with the percentile (a p%g is never faster than a p%g)",
					hi.Label(), hi.Limit, lo.Label(), lo.Limit, hi.P, lo.P))
				break
			}
		}
	}
	if len(errs) > 0 {
		return line, errs
	}
	if line.Source == "" {
		src, ok := DefaultSource(name)
		if !ok {
			return line, errAt(kv.Key, "budget line %q has no default source: add source: (one of %s or server-timing:NAME)", name, strings.Join(Sources, ", "))
		}
		line.Source = src
	}
	if len(line.Percentiles) == 0 {
		return line, errAt(kv.Key, "budget line %q gives no percentile: add e.g. p99: 100ms", name)
	}
	return line, nil
}

// atKeyIfNull moves an error about a missing value to its key: the null
// has no place of its own in the file.
func atKeyIfNull(kv *ast.MappingValueNode, err error) error {
	var te *tokenError
	if _, null := kv.Value.(*ast.NullNode); null && errors.As(err, &te) {
		return &tokenError{tok: startToken(kv.Key), path: te.path, msg: te.msg}
	}
	return err
}

// parsePercentile reads "p99" or "p99.9" as 99 or 99.9.
func parsePercentile(key string) (float64, error) {
	num, ok := strings.CutPrefix(key, "p")
	if !ok {
		return 0, fmt.Errorf("unknown key %q: a budget line takes percentiles (p50, p95, p99, p99.9) and source", key)
	}
	if !isDecimal(num) {
		return 0, fmt.Errorf("%q is not a percentile (want e.g. p95, p99.9)", key)
	}
	p, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a percentile (want e.g. p95, p99.9)", key)
	}
	if p <= 0 || p >= 100 {
		return 0, fmt.Errorf("%s is out of range: a percentile is above p0 and below p100 (e.g. p50, p99.9)", key)
	}
	return p, nil
}

// isDecimal accepts digits with at most one decimal point inside: 99, 99.9.
func isDecimal(s string) bool {
	intPart, frac, hasDot := strings.Cut(s, ".")
	digits := func(s string) bool {
		return s != "" && strings.Trim(s, "0123456789") == ""
	}
	return digits(intPart) && (!hasDot || digits(frac))
}
