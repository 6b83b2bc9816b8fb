package scenario

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// Override is one what-if change to a scenario, `--set path=value`: the key
// by its YAML path and the value as YAML, so that
//
//	network.distance=800km
//	service.workers=32
//	traffic[0].constant.rate=50/s
//	budget.total.p99=2s
//	network.rtt={p50: 20ms, p99: 35ms}
//
// each change what the same key in the file would.
type Override struct {
	Path  string
	Value string
}

// String is the override as it was written: path=value.
func (o Override) String() string { return o.Path + "=" + o.Value }

// ParseOverride reads "path=value". The path is checked for syntax here; that
// it names a real key is checked when it is applied, like a key in the file.
func ParseOverride(s string) (Override, error) {
	path, value, ok := strings.Cut(s, "=")
	path = strings.TrimSpace(path)
	if !ok || path == "" {
		return Override{}, fmt.Errorf("%q: want path=value, e.g. service.workers=32", s)
	}
	o := Override{Path: path, Value: value}
	if _, err := o.parts(); err != nil {
		return Override{}, fmt.Errorf("%q: %v", s, err)
	}
	return o, nil
}

// parts splits the path into keys and [i] indexes.
func (o Override) parts() ([]string, error) {
	if strings.Count(o.Path, `"`)%2 != 0 {
		return nil, errors.New("unbalanced quote in the path")
	}
	if strings.Contains(o.Path, "..") || strings.HasPrefix(o.Path, ".") || strings.HasSuffix(o.Path, ".") {
		return nil, errors.New("empty key in the path")
	}
	parts := splitPath(o.Path)
	if len(parts) == 0 {
		return nil, errors.New("empty path")
	}
	for i, p := range parts {
		if !strings.HasPrefix(p, "[") {
			if p == "" {
				return nil, errors.New("empty key in the path")
			}
			continue
		}
		if i == 0 {
			return nil, fmt.Errorf("the path starts with an index %s: a scenario is a mapping", p)
		}
		if n, err := strconv.Atoi(strings.Trim(p, "[]")); err != nil || n < 0 || !strings.HasSuffix(p, "]") {
			return nil, fmt.Errorf("%s is not an index: write [0], [1], …", p)
		}
	}
	return parts, nil
}

// OverrideError is everything wrong with a scenario that only the overrides
// made wrong, each problem named after the flag that caused it:
//
//	--set service.workers=-1: service.workers: -1 must be between 1 and 1000000
//
// Commands exit 2 on it, as on a bad file.
type OverrideError struct {
	Problems []OverrideProblem
}

// OverrideProblem is one problem and the override it is blamed on ("" when
// it cannot be told which: then it is blamed on the overrides together).
type OverrideProblem struct {
	Flag string // "--set service.workers=-1"
	Path string
	Msg  string
}

func (e *OverrideError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		var b strings.Builder
		b.WriteString(p.Flag)
		b.WriteString(": ")
		if p.Path != "" {
			b.WriteString(p.Path + ": ")
		}
		b.WriteString(p.Msg)
		lines[i] = b.String()
	}
	return strings.Join(lines, "\n")
}

// LoadWith reads the scenario at path and applies the overrides before it is
// decoded, so they are validated exactly as the file is. Problems of the file
// itself are an *Error, as from Load; problems the overrides introduce are an
// *OverrideError naming the flag.
func LoadWith(path string, overrides []Override) (*Scenario, error) {
	data, err := readLimited(path)
	if err != nil {
		return nil, &Error{File: path, Problems: []Problem{{Msg: err.Error()}}}
	}
	return ParseWith(path, data, overrides)
}

// ParseWith is Parse with overrides applied to the YAML tree before it is
// decoded (see LoadWith).
func ParseWith(file string, data []byte, overrides []Override) (*Scenario, error) {
	base, baseErr := Parse(file, data)
	if len(overrides) == 0 {
		return base, baseErr
	}
	var fileErr *Error
	if baseErr != nil && !errors.As(baseErr, &fileErr) {
		return nil, baseErr
	}
	// The overrides change the tree the file parses to; a file that does not
	// parse to a mapping has its own problems to fix first.
	f, err := parser.ParseBytes(data, 0, parser.AllowDuplicateMapKey())
	if err != nil {
		return nil, baseErr
	}
	var root *ast.MappingNode
	for _, doc := range f.Docs {
		if doc != nil && doc.Body != nil {
			if m, ok := doc.Body.(*ast.MappingNode); ok && root == nil {
				root = m
				continue
			}
			return nil, baseErr
		}
	}
	if root == nil {
		return nil, baseErr
	}
	var bad []OverrideProblem
	for _, o := range overrides {
		if err := apply(root, o); err != nil {
			bad = append(bad, OverrideProblem{Flag: o.flag(), Path: o.Path, Msg: err.Error()})
		}
	}
	if len(bad) > 0 {
		return nil, &OverrideError{Problems: bad}
	}
	sc, err := decodeTree(file, data, f, root)
	if err == nil {
		sc.File = file
		if sc.Name == "" && file != "" {
			sc.Name = strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
		}
		return sc, nil
	}
	var after *Error
	if !errors.As(err, &after) {
		return nil, err
	}
	// A problem the file had without the overrides is the file's, reported
	// where it is in the file; a new one is the overrides'.
	var own []Problem
	for _, p := range after.Problems {
		if fileErr != nil {
			if i := indexProblem(fileErr.Problems, p); i >= 0 {
				own = append(own, fileErr.Problems[i])
				continue
			}
		}
		bad = append(bad, OverrideProblem{Flag: blame(overrides, p.Path), Path: p.Path, Msg: p.Msg})
	}
	if len(own) > 0 {
		return nil, &Error{File: file, Problems: own}
	}
	return nil, &OverrideError{Problems: bad}
}

func (o Override) flag() string { return "--set " + o.String() }

func indexProblem(ps []Problem, p Problem) int {
	for i, q := range ps {
		if q.Path == p.Path && q.Msg == p.Msg {
			return i
		}
	}
	return -1
}

// blame names the override whose path shares the longest leading part with a
// problem's path (traffic[0].burst.rate for a problem at
// traffic[0].burst.peak), or all of them when none shares any.
func blame(overrides []Override, path string) string {
	pp := splitPath(path)
	best, bestN := -1, 0
	for i, o := range overrides {
		op := splitPath(o.Path)
		n := 0
		for n < len(op) && n < len(pp) && op[n] == pp[n] {
			n++
		}
		if n > bestN {
			best, bestN = i, n
		}
	}
	if best >= 0 {
		return overrides[best].flag()
	}
	flags := make([]string, len(overrides))
	for i, o := range overrides {
		flags[i] = o.flag()
	}
	return "with " + strings.Join(flags, " ")
}

// decodeTree decodes and validates a parsed (and overridden) tree the way
// Parse decodes a file's: the same checks, the same messages.
func decodeTree(file string, data []byte, f *ast.File, root ast.Node) (*Scenario, error) {
	d := &decoder{file: file, lines: strings.Split(string(data), "\n"), ast: f}
	return d.decodeTree(root)
}

// apply sets the key at o.Path in the tree to o.Value, creating the mappings
// on the way that the file leaves out.
func apply(root *ast.MappingNode, o Override) error {
	parts, err := o.parts()
	if err != nil {
		return err
	}
	value, err := overrideValue(o.Value, literalText(parts))
	if err != nil {
		return err
	}
	// set replaces the node being walked in its parent.
	var node ast.Node = root
	var set func(ast.Node)
	for i, part := range parts {
		last := i == len(parts)-1
		where := strings.Join(parts[:i], ".")
		where = strings.ReplaceAll(where, ".[", "[")
		if _, null := node.(*ast.NullNode); null && set != nil {
			// `service:` with nothing under it: the override fills it in.
			node = emptyMapping()
			if strings.HasPrefix(part, "[") {
				node = emptySequence()
			}
			set(node)
		}
		if strings.HasPrefix(part, "[") {
			seq, ok := node.(*ast.SequenceNode)
			if !ok {
				return fmt.Errorf("%s is %s, not a list: it has no %s", where, describe(node), part)
			}
			idx, _ := strconv.Atoi(strings.Trim(part, "[]"))
			switch {
			case idx < len(seq.Values):
			case idx == len(seq.Values):
				seq.Values = append(seq.Values, emptyMapping())
			default:
				return fmt.Errorf("%s has %d items: %s is beyond the end (use [%d] to add one)", where, len(seq.Values), part, len(seq.Values))
			}
			if last {
				seq.Values[idx] = value
				return nil
			}
			node = seq.Values[idx]
			set = func(n ast.Node) { seq.Values[idx] = n }
			continue
		}
		m, ok := node.(*ast.MappingNode)
		if !ok {
			if where == "" {
				where = "the scenario"
			}
			if _, isSeq := node.(*ast.SequenceNode); isSeq {
				return fmt.Errorf("%s is a list: index it, e.g. %s[0].%s", where, where, part)
			}
			return fmt.Errorf("%s is %s, not a mapping: it has no key %q", where, describe(node), part)
		}
		var kv *ast.MappingValueNode
		for _, e := range m.Values {
			if k, err := scalar(e.Key, ""); err == nil && k == part {
				kv = e
				break
			}
		}
		if kv == nil {
			kv, err = newEntry(part)
			if err != nil {
				return err
			}
			m.Values = append(m.Values, kv)
			if !last {
				kv.Value = emptyMapping()
				if strings.HasPrefix(parts[i+1], "[") {
					kv.Value = emptySequence()
				}
			}
		}
		if last {
			kv.Value = value
			return nil
		}
		node = kv.Value
		set = func(n ast.Node) { kv.Value = n }
	}
	return nil
}

// literalText reports whether the key at parts holds plain text (a header, the
// body, the name), whose value is taken as written rather than as YAML: a JSON
// body would otherwise read as a mapping.
func literalText(parts []string) bool {
	t := reflect.TypeFor[Scenario]()
	for _, p := range parts {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		switch {
		case t.Kind() == reflect.Slice && strings.HasPrefix(p, "["):
			t = t.Elem()
		case t.Kind() == reflect.Map && !strings.HasPrefix(p, "["):
			t = t.Elem()
		case t.Kind() == reflect.Struct && !reflect.PointerTo(t).Implements(nodeUnmarshalerType):
			ft, ok := fieldType(t, p)
			if !ok {
				return false
			}
			t = ft
		default:
			return false
		}
	}
	return t.Kind() == reflect.String && !reflect.PointerTo(t).Implements(nodeUnmarshalerType)
}

// overrideValue parses an override's value as YAML. Where plain text belongs, a
// value that is not a YAML scalar is taken as the text it is.
func overrideValue(value string, text bool) (ast.Node, error) {
	// The file's own bounds: its size, and nesting the parser takes
	// quadratic time over.
	if len(value) > maxFileSize {
		return nil, fmt.Errorf("value is %d bytes; at most %d", len(value), maxFileSize)
	}
	if !text {
		if p, deep := (&decoder{}).tooDeep([]byte(value)); deep {
			return nil, errors.New(p.Msg)
		}
	}
	src := value
	if strings.TrimSpace(src) == "" {
		src = "null"
		if text {
			src = `""`
		}
	}
	f, err := parser.ParseBytes([]byte(src), 0)
	var body ast.Node
	if err == nil {
		for _, doc := range f.Docs {
			if doc != nil && doc.Body != nil {
				if body != nil {
					err = errors.New("the value holds more than one YAML document")
					break
				}
				body = doc.Body
			}
		}
	}
	if text {
		switch body.(type) {
		case *ast.StringNode, *ast.NullNode:
			if err == nil {
				return body, nil
			}
		}
		return quotedString(value)
	}
	if err != nil {
		return nil, fmt.Errorf("value %q is not valid YAML: %v", value, firstLine(err.Error()))
	}
	if body == nil {
		return parseOne("null")
	}
	return body, nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// quotedString is a YAML string node holding s exactly.
func quotedString(s string) (ast.Node, error) {
	return parseOne(strconv.Quote(s))
}

func parseOne(src string) (ast.Node, error) {
	f, err := parser.ParseBytes([]byte(src), 0)
	if err != nil {
		return nil, err
	}
	for _, doc := range f.Docs {
		if doc != nil && doc.Body != nil {
			return doc.Body, nil
		}
	}
	return nil, fmt.Errorf("%q parses to nothing", src)
}

// newEntry is a mapping entry `key: null` whose value the caller sets.
func newEntry(key string) (*ast.MappingValueNode, error) {
	n, err := parseOne(strconv.Quote(key) + ": null")
	if err != nil {
		return nil, err
	}
	switch m := n.(type) {
	case *ast.MappingNode:
		return m.Values[0], nil
	case *ast.MappingValueNode:
		return m, nil
	}
	return nil, fmt.Errorf("cannot make a key %q", key)
}

func emptyMapping() ast.Node {
	n, _ := parseOne("{}")
	return n
}

func emptySequence() ast.Node {
	n, _ := parseOne("[]")
	return n
}

// ScaleRates returns a copy of the scenario whose traffic has every rate
// multiplied by f: the same shape (when the bursts come, how long they last)
// carrying f times the requests. The copy is checked like a file's traffic;
// problems name their keys (traffic[1].burst.peak: …).
func (s *Scenario) ScaleRates(f float64) (*Scenario, error) {
	if !(f > 0) || math.IsInf(f, 0) {
		return nil, fmt.Errorf("scale %v must be a number above 0", f)
	}
	out := *s
	out.Traffic = make([]Segment, len(s.Traffic))
	for i, g := range s.Traffic {
		g = g.clone()
		for _, r := range g.rates() {
			*r = Rate(float64(*r) * f)
		}
		out.Traffic[i] = g
	}
	if err := checkTraffic(out.Traffic); err != nil {
		return nil, err
	}
	return &out, nil
}

// ScaleDuration returns a copy of the scenario whose traffic lasts d in all,
// each segment keeping its share of the time and its rates. Periods (a
// burst's every and lasting, on/off, a sine's period) stay as written, so a
// shortened plan sees fewer bursts, not shorter ones.
func (s *Scenario) ScaleDuration(d time.Duration) (*Scenario, error) {
	var total time.Duration
	for _, g := range s.Traffic {
		total += g.Duration()
	}
	if d <= 0 || total <= 0 {
		return nil, fmt.Errorf("%s must be above zero", d)
	}
	f := float64(d) / float64(total)
	out := *s
	out.Traffic = make([]Segment, len(s.Traffic))
	var sum time.Duration
	for i, g := range s.Traffic {
		// The last segment takes the rounding remainder, so the plan lasts d.
		nd := time.Duration(math.Round(float64(g.Duration()) * f))
		if i == len(s.Traffic)-1 {
			nd = d - sum
		}
		sum += nd
		g = g.clone()
		*g.durationField() = Duration(nd)
		out.Traffic[i] = g
	}
	if err := checkTraffic(out.Traffic); err != nil {
		return nil, err
	}
	return &out, nil
}

// checkTraffic validates scaled segments as the file's are validated, plus
// the rate limit that decoding enforces on each written rate.
func checkTraffic(segs []Segment) error {
	c := &checker{}
	c.traffic(segs)
	for i, g := range segs {
		if peak := g.PeakRate(); peak > maxRate {
			c.add(fmt.Sprintf("traffic[%d].%s", i, g.Kind()), "peak rate %s is above the limit of %d/s", Rate(peak), maxRate)
		}
	}
	if len(c.probs) == 0 {
		return nil
	}
	msgs := make([]string, len(c.probs))
	for i, p := range c.probs {
		msgs[i] = p.path + ": " + p.msg
	}
	return errors.New(strings.Join(msgs, "; "))
}
