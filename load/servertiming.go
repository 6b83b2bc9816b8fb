package load

import (
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
// cannot grow memory.
const maxMetrics = 32

// ParseServerTiming appends to dst the metrics with a `dur` found in the
// values of Server-Timing headers (W3C Server Timing):
//
//	Server-Timing: db;dur=53.2, cache;desc="hit";dur=0.3, miss
//
// Names and parameters are separated by `;`, metrics by `,`, and quoted
// strings may hold either. Metrics without a valid dur, and malformed
// entries, are skipped: a bad header never fails a request. Durations are
// milliseconds; negative or non-finite ones are dropped. Names are slices of
// the header value, so parsing does not allocate beyond dst.
func ParseServerTiming(dst []Metric, values []string) []Metric {
	for _, v := range values {
		for v != "" && len(dst) < maxMetrics {
			var metric string
			metric, v = cutUnquoted(v, ',')
			if m, ok := parseMetric(metric); ok {
				dst = append(dst, m)
			}
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
		if err != nil || ms < 0 || ms > float64(time.Hour/time.Millisecond) || ms != ms {
			return Metric{}, false
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
