package scenario

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"
)

// tokenError is a decoding problem at a token of the YAML source; Parse turns
// it into a positioned Problem. path, when set, is the key path of the token
// below the node that was being decoded ("total.p99" inside budget).
type tokenError struct {
	tok  *token.Token
	path string
	msg  string
}

func (e *tokenError) Error() string { return e.msg }

// tokenErrors is every problem one unmarshaler found, in file order.
type tokenErrors []*tokenError

func (e tokenErrors) Error() string {
	msgs := make([]string, len(e))
	for i, te := range e {
		msgs[i] = te.msg
	}
	return strings.Join(msgs, "; ")
}

func errAt(n ast.Node, format string, args ...any) error {
	return &tokenError{tok: startToken(n), msg: fmt.Sprintf(format, args...)}
}

// scalar returns the text of a scalar node, or an error naming what was
// expected when the node is a mapping, a sequence or null.
func scalar(n ast.Node, want string) (string, error) {
	switch n := n.(type) {
	case *ast.StringNode:
		return n.Value, nil
	case *ast.LiteralNode:
		if n.Value == nil {
			return "", nil
		}
		return strings.TrimSpace(n.Value.Value), nil
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		return strings.TrimSpace(n.GetToken().Value), nil
	case *ast.TagNode:
		return scalar(n.Value, want)
	case *ast.AnchorNode:
		return scalar(n.Value, want)
	case *ast.AliasNode:
		return "", errAt(n, "aliases are not allowed here; write %s", want)
	case nil:
		return "", &tokenError{msg: "missing value: want " + want}
	case *ast.NullNode:
		return "", errAt(n, "missing value: want %s", want)
	default:
		return "", errAt(n, "want %s, got %s", want, describe(n))
	}
}

// Duration is a Go duration written as text ("250ms", "1.5s", "2m").
type Duration time.Duration

// D returns the duration as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats the duration the way a user would write it.
func (d Duration) String() string { return time.Duration(d).String() }

// UnmarshalYAML decodes a Go duration string.
func (d *Duration) UnmarshalYAML(n ast.Node) error {
	s, err := scalar(n, "a duration like 250ms or 10s")
	if err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		if _, nerr := strconv.ParseFloat(s, 64); nerr == nil {
			return errAt(n, "%q has no unit: write a duration like %sms or %ss", s, s, s)
		}
		return errAt(n, "%q is not a duration (want e.g. 250ms, 10s, 2m)", s)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration as text.
func (d Duration) MarshalYAML() ([]byte, error) { return []byte(d.String()), nil }

// Rate is a request rate, written N/s, N/m or N/h, held in requests per second.
type Rate float64

// PerSecond returns the rate in requests per second.
func (r Rate) PerSecond() float64 { return float64(r) }

// String formats the rate as N/s.
func (r Rate) String() string { return strconv.FormatFloat(float64(r), 'f', -1, 64) + "/s" }

// maxRate bounds any rate: far beyond what one process can send, low enough
// that schedule arithmetic stays exact in float64.
const maxRate = 10_000_000

// ParseRate parses "20/s", "600/m" or "3600/h".
func ParseRate(s string) (Rate, error) {
	num, unit, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return 0, fmt.Errorf("%q is not a rate: write N/s, N/m or N/h (e.g. 20/s)", s)
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%q is not a rate: %q is not a number", s, num)
	}
	var per float64
	switch strings.TrimSpace(unit) {
	case "s":
		per = 1
	case "m":
		per = 60
	case "h":
		per = 3600
	default:
		return 0, fmt.Errorf("%q is not a rate: unit %q must be s, m or h", s, unit)
	}
	r := v / per
	if r < 0 {
		return 0, fmt.Errorf("rate %s is negative", s)
	}
	if r > maxRate {
		return 0, fmt.Errorf("rate %s is above the limit of %d/s", s, maxRate)
	}
	return Rate(r), nil
}

// UnmarshalYAML decodes N/s, N/m or N/h.
func (r *Rate) UnmarshalYAML(n ast.Node) error {
	s, err := scalar(n, "a rate like 20/s")
	if err != nil {
		return err
	}
	v, err := ParseRate(s)
	if err != nil {
		return errAt(n, "%s", err)
	}
	*r = v
	return nil
}

// Distance is a one-way distance between client and server, in kilometres.
type Distance float64

// Km returns the distance in kilometres.
func (d Distance) Km() float64 { return float64(d) }

// String formats the distance in km.
func (d Distance) String() string { return strconv.FormatFloat(float64(d), 'f', -1, 64) + "km" }

// UnmarshalYAML decodes "4000km", "800 km" or "500m".
func (d *Distance) UnmarshalYAML(n ast.Node) error {
	s, err := scalar(n, "a distance like 4000km")
	if err != nil {
		return err
	}
	// The unit is the trailing letters: 4000km, 800 km, 500m, 10mi.
	t := strings.TrimSpace(s)
	num := strings.TrimRightFunc(t, unicode.IsLetter)
	unit := t[len(num):]
	var scale float64
	switch unit {
	case "km":
		scale = 1
	case "m":
		scale = 0.001
	case "mi":
		scale = 1.609344
	case "":
		return errAt(n, "%q has no unit: write a distance like 4000km", s)
	default:
		return errAt(n, "%q: unit %q must be km, m or mi (e.g. 4000km)", s, unit)
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return errAt(n, "%q is not a distance (want e.g. 4000km)", s)
	}
	if v < 0 {
		return errAt(n, "distance %s is negative", s)
	}
	km := v * scale
	if km > 40_075/2 {
		return errAt(n, "distance %s is more than half the Earth's circumference (20,037km)", s)
	}
	*d = Distance(km)
	return nil
}

// Ratio is a share between 0 and 1, written as a percentage ("0.2%") or a
// fraction (0.002).
type Ratio float64

// String formats the ratio as a percentage.
func (r Ratio) String() string {
	return strconv.FormatFloat(float64(r)*100, 'f', -1, 64) + "%"
}

// UnmarshalYAML decodes "1%", "0.2%" or a fraction like 0.01.
func (r *Ratio) UnmarshalYAML(n ast.Node) error {
	s, err := scalar(n, "a share like 1% or 0.01")
	if err != nil {
		return err
	}
	t := strings.TrimSpace(s)
	t, percent := strings.CutSuffix(t, "%")
	v, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return errAt(n, "%q is not a share (want e.g. 1%% or 0.01)", s)
	}
	if percent {
		v /= 100
	}
	if v > 1 && v <= 100 && !percent {
		return errAt(n, "%q must be between 0 and 1 as a fraction: did you mean %s%%?", s, t)
	}
	if v < 0 || v > 1 {
		return errAt(n, "%q must be between 0%% and 100%%", s)
	}
	*r = Ratio(v)
	return nil
}

// TLSVersion is the TLS version of the network path: "1.2", "1.3" or "" for
// plain HTTP.
type TLSVersion string

// UnmarshalYAML accepts 1.2 and 1.3, quoted or not.
func (v *TLSVersion) UnmarshalYAML(n ast.Node) error {
	s, err := scalar(n, `a TLS version, "1.2" or "1.3"`)
	if err != nil {
		return err
	}
	switch strings.TrimSpace(s) {
	case "1.2", "1.20":
		*v = "1.2"
	case "1.3", "1.30":
		*v = "1.3"
	default:
		return errAt(n, "TLS version %q is not supported: use \"1.2\" or \"1.3\"", s)
	}
	return nil
}

// HandshakeRTTs is the number of round trips a full handshake costs: 1 on TLS
// 1.3, 2 on TLS 1.2, 0 without TLS.
func (v TLSVersion) HandshakeRTTs() int {
	switch v {
	case "1.3":
		return 1
	case "1.2":
		return 2
	}
	return 0
}

// FiberSpeedKmPerMs is the speed of light in optical fibre, about two thirds
// of c: 200 km per millisecond.
const FiberSpeedKmPerMs = 200.0

// RTTFloor is the least round-trip time physics allows over the distance in
// fibre: 2 × distance / 200 km/ms. 4000km gives 40ms.
func (d Distance) RTTFloor() time.Duration {
	return time.Duration(2 * float64(d) / FiberSpeedKmPerMs * float64(time.Millisecond))
}
