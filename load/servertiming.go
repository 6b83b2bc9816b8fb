package load

import (
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Metric is one Server-Timing metric with a duration: `db;dur=12.5`.
type Metric struct {
	Name string
	Dur  time.Duration
}

// maxMetrics bounds the metrics kept per response, so a hostile header
// cannot grow memory; metrics a budget line judges are kept beyond it.
const maxMetrics = 32

// maxMetricDur bounds a metric's duration: far above the histograms' range
// (an hour), where the recorder clamps it and counts it clamped, and low
// enough that the durations of one response add up without overflow.
const maxMetricDur = 1000 * time.Hour

// ParseServerTiming appends to dst the metrics with a `dur` found in the
// values of Server-Timing headers (W3C Server Timing):
//
//	Server-Timing: db;dur=53.2, cache;desc="hit";dur=0.3, miss
//
// Names and parameters are separated by `;`, metrics by `,`, and quoted
// strings may hold either. Metrics without a valid dur, and malformed
// entries, are skipped: a bad header never fails a request. Durations are
// milliseconds; negative ones and words (NaN, Inf) are dropped, numbers
// above maxMetricDur are clamped to it. At most maxMetrics are kept, save
// that the first metric of each name in keep (the names budget lines
// judge) is kept wherever it comes in the header. Names are slices of the
// header value, so parsing does not allocate beyond dst.
func ParseServerTiming(dst []Metric, values []string, keep []string) []Metric {
	n := len(dst)
	for _, v := range values {
		for v != "" {
			full := len(dst)-n >= maxMetrics
			if full && len(keep) == 0 {
				return dst
			}
			var metric string
			metric, v = cutUnquoted(v, ',')
			m, ok := parseMetric(metric)
			if !ok || full && (!slices.Contains(keep, m.Name) || slices.ContainsFunc(dst[n:], func(k Metric) bool { return k.Name == m.Name })) {
				continue
			}
			dst = append(dst, m)
		}
	}
	return dst
}

// parseMetric reads `name;param=value;…`; the first dur wins, as the spec says.
func parseMetric(s string) (Metric, bool) {
	name, rest := cutUnquoted(s, ';')
	name = strings.TrimSpace(name)
	if name == "" || !isToken(name) {
		return Metric{}, false
	}
	for rest != "" {
		var param string
		param, rest = cutUnquoted(rest, ';')
		k, val, ok := strings.Cut(param, "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "dur") {
			continue
		}
		val = strings.TrimSpace(val)
		if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
			val = val[1 : len(val)-1]
		}
		ms, err := strconv.ParseFloat(val, 64)
		switch {
		// A number too large for a float64 ("1e400") is still a number:
		// clamped below, like any other beyond the range. Words are not.
		case err != nil && !errors.Is(err, strconv.ErrRange), ms != ms, ms < 0, math.IsInf(ms, 1) && err == nil:
			return Metric{}, false
		case ms >= float64(maxMetricDur/time.Millisecond):
			return Metric{Name: name, Dur: maxMetricDur}, true
		}
		return Metric{Name: name, Dur: time.Duration(ms * float64(time.Millisecond))}, true
	}
	return Metric{}, false
}

// cutUnquoted splits s at the first sep outside a quoted string.
func cutUnquoted(s string, sep byte) (before, after string) {
	quoted := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && quoted:
			i++
		case c == '"':
			quoted = !quoted
		case c == sep && !quoted:
			return s[:i], s[i+1:]
		}
	}
	return s, ""
}

// isToken reports whether s is an RFC 7230 token.
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
