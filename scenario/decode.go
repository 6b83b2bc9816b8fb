package scenario

import (
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/lexer"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// maxFileSize bounds a scenario file; real ones are a few kilobytes.
const maxFileSize = 1 << 20

// maxNesting bounds [ ] and { } nesting: real scenarios use two or three
// levels, and go-yaml's parser takes quadratic time in the depth.
const maxNesting = 64

// maxProblems bounds the problems reported for one file; a user fixes the
// first ones and runs again.
const maxProblems = 50

// Error is everything wrong with one scenario file, each problem located by
// line and column. Commands exit 2 on it.
type Error struct {
	File     string
	Problems []Problem
}

// Problem is one thing wrong with a scenario, at a place in its file.
type Problem struct {
	Line, Col int    // 1-based; 0 when the problem has no position (the file is unreadable)
	Path      string // the key, as traffic[2].burst.peak; "" for syntax errors
	Msg       string
	Source    string // the offending line of the file, for context
}

// Error renders one line per problem, `file:line:col: path: message`, each
// followed by the line of the file it points at:
//
//	s.yaml:4:31: traffic[1].burst.peak: 40/s must be above rate (40/s)
//	     4 |   - burst: {rate: 40/s, peak: 40/s, every: 1s, lasting: 2s, duration: 4s}
//	       |                               ^
func (e *Error) Error() string {
	file := e.File
	if file == "" {
		file = "scenario"
	}
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(file)
		if p.Line > 0 {
			fmt.Fprintf(&b, ":%d:%d", p.Line, p.Col)
		}
		b.WriteString(": ")
		if p.Path != "" {
			b.WriteString(p.Path + ": ")
		}
		b.WriteString(p.Msg)
		if p.Source != "" {
			fmt.Fprintf(&b, "\n  %4d | %s\n       | %s^", p.Line, p.Source, caretIndent(p.Source, p.Col))
		}
	}
	return b.String()
}

// caretIndent is the blank space that puts a caret under column col of src,
// keeping its tabs so the caret lines up however tabs are shown.
func caretIndent(src string, col int) string {
	var b strings.Builder
	for i, r := range []rune(src) {
		if i >= col-1 {
			break
		}
		if r == '\t' {
			b.WriteByte('\t')
		} else {
			b.WriteByte(' ')
		}
	}
	return b.String()
}

// Load reads, decodes and validates the scenario at path. Any problem is an
// *Error naming path:line:col. The file must be a regular file of at most
// 1 MiB: a named pipe, a device or a directory is refused without reading.
func Load(path string) (*Scenario, error) {
	data, err := readLimited(path)
	if err != nil {
		return nil, &Error{File: path, Problems: []Problem{{Msg: err.Error()}}}
	}
	return Parse(path, data)
}

// readLimited reads a scenario file. Its error says what is wrong without
// the path, which the *Error it goes into names.
func readLimited(path string) ([]byte, error) {
	data, err := readFile(path, "scenario file", maxFileSize)
	if fe := (*FileError)(nil); errors.As(err, &fe) {
		return nil, reasonOnly{fe}
	}
	return data, err
}

// reasonOnly is a *FileError said without its path.
type reasonOnly struct{ fe *FileError }

func (r reasonOnly) Error() string { return r.fe.Reason() }
func (r reasonOnly) Unwrap() error { return r.fe }

// Parse decodes and validates a scenario held in data; file names it in errors
// and anchors body_file paths.
func Parse(file string, data []byte) (*Scenario, error) {
	d := &decoder{file: file, lines: strings.Split(string(data), "\n")}
	sc, err := d.decode(data)
	if err != nil {
		return nil, err
	}
	sc.File = file
	if sc.Name == "" && file != "" {
		sc.Name = strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	}
	return sc, nil
}

type decoder struct {
	file      string
	lines     []string
	ast       *ast.File
	root      ast.Node
	probs     []Problem
	truncated bool // problems beyond maxProblems were dropped
}

func (d *decoder) decode(data []byte) (*Scenario, error) {
	if len(data) > maxFileSize {
		return nil, d.fail(d.problem(1, 1, "", fmt.Sprintf("scenario is %d bytes; at most %d", len(data), maxFileSize)))
	}
	if p, bad := d.tooDeep(data); bad {
		return nil, d.fail(p)
	}
	// Duplicate keys are found below, where their key path is known.
	f, err := parser.ParseBytes(data, 0, parser.AllowDuplicateMapKey())
	if err != nil {
		return nil, d.yamlError(err)
	}
	d.ast = f
	body, err := d.document(f)
	if err != nil {
		return nil, err
	}
	return d.decodeTree(body)
}

// decodeTree decodes and validates the scenario held in root, the body of
// d.ast's document (or a tree --set overrides have changed).
func (d *decoder) decodeTree(root ast.Node) (*Scenario, error) {
	d.root = root
	// An override's value may hold what a file may not (an anchor, a tag).
	d.unsupported(root)
	if len(d.probs) > 0 {
		return nil, d.fail(d.probs...)
	}
	if _, ok := root.(*ast.MappingNode); !ok {
		return nil, d.fail(d.at(root, "", "a scenario is a mapping (with keys "+strings.Join(keysOf(reflect.TypeFor[Scenario]()), ", ")+"), got "+describe(root)))
	}
	// check finds every decoding problem it can, with its key path; go-yaml
	// stops at the first.
	d.check(root, reflect.TypeFor[Scenario](), "")
	if len(d.probs) > 0 {
		return nil, d.fail(d.probs...)
	}
	var sc Scenario
	if err := yaml.NodeToValue(root, &sc, yaml.Strict()); err != nil {
		return nil, d.yamlError(err)
	}
	if probs := validate(&sc, filepath.Dir(d.file)); len(probs) > 0 {
		for _, p := range probs {
			d.probs = append(d.probs, d.locate(p))
		}
		return nil, d.fail(d.probs...)
	}
	return &sc, nil
}

// fail returns the problems, in file order, as an *Error.
func (d *decoder) fail(p ...Problem) error {
	p = slices.Clone(p)
	slices.SortStableFunc(p, func(a, b Problem) int {
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return a.Col - b.Col
	})
	if len(p) > maxProblems || d.truncated {
		p = p[:min(len(p), maxProblems)]
		p[len(p)-1].Msg += " (further problems not shown)"
	}
	return &Error{File: d.file, Problems: p}
}

// add records a decoding problem; the walks stop once there are too many.
func (d *decoder) add(p Problem) {
	if d.full() {
		d.truncated = true
		return
	}
	d.probs = append(d.probs, p)
}

func (d *decoder) full() bool { return len(d.probs) >= maxProblems }

// tooDeep refuses deeply nested flow collections before the parser sees
// them: go-yaml parses them in quadratic time.
func (d *decoder) tooDeep(data []byte) (Problem, bool) {
	depth := 0
	for _, tk := range lexer.Tokenize(string(data)) {
		switch tk.Type {
		case token.SequenceStartType, token.MappingStartType:
			depth++
			if depth > maxNesting {
				return d.problem(tk.Position.Line, tk.Position.Column, "", fmt.Sprintf("more than %d levels of [ ] and { }: a scenario does not nest that deep", maxNesting)), true
			}
		case token.SequenceEndType, token.MappingEndType:
			depth--
		}
	}
	return Problem{}, false
}

// document returns the body of the file's one YAML document. Empty documents
// (a stray --- at the end) are ignored.
func (d *decoder) document(f *ast.File) (ast.Node, error) {
	var docs []*ast.DocumentNode
	for _, doc := range f.Docs {
		if doc != nil && doc.Body != nil {
			docs = append(docs, doc)
		}
	}
	switch {
	case len(docs) == 0:
		return nil, d.fail(d.problem(1, 1, "", "scenario is empty: it needs at least target, traffic and budget"))
	case len(docs) > 1:
		second := docs[1]
		msg := fmt.Sprintf("a scenario file holds one YAML document; found %d (remove this --- and what follows, or split the file)", len(docs))
		if second.Start != nil {
			return nil, d.fail(d.problem(second.Start.Position.Line, second.Start.Position.Column, "", msg))
		}
		return nil, d.fail(d.at(second.Body, "", msg))
	}
	return docs[0].Body, nil
}

// unsupported refuses anchors, aliases, merge keys, tags and explicit keys:
// scenarios do not need them, aliases let a small file expand into a huge
// one, and each is a way to say one thing twice.
func (d *decoder) unsupported(root ast.Node) {
	ast.Walk(visitor(func(n ast.Node) bool {
		if d.full() {
			d.truncated = true
			return false
		}
		switch n := n.(type) {
		case *ast.AliasNode, *ast.AnchorNode:
			d.add(d.at(n, pathOf(n), "anchors and aliases (&name, *name) are not supported in scenarios: write the value out"))
			return false
		case *ast.TagNode:
			d.add(d.at(n, pathOf(n), fmt.Sprintf("tags (%s) are not supported in scenarios: write the plain value, quoted if it must be text", n.Start.Value)))
			return false
		case *ast.MappingKeyNode:
			d.add(d.at(n, pathOf(n), "explicit keys (? key) are not supported in scenarios: write key: value"))
			return false
		case *ast.MappingValueNode:
			if n.Key != nil && n.Key.IsMergeKey() {
				d.add(d.at(n.Key, pathOf(n.Key), "merge keys (<<) are not supported in scenarios: write the keys out"))
				return false
			}
		}
		return true
	}), root)
}

type visitor func(ast.Node) bool

func (v visitor) Visit(n ast.Node) ast.Visitor {
	if n == nil || !v(n) {
		return nil
	}
	return v
}

// nodeUnmarshaler is what our scalar and budget types implement.
type nodeUnmarshaler interface {
	UnmarshalYAML(ast.Node) error
}

var nodeUnmarshalerType = reflect.TypeFor[nodeUnmarshaler]()

// check walks the YAML tree beside the Go type it will decode into and
// records every problem it finds: unknown and duplicate keys, a list where a
// mapping belongs, 1.5 where a whole number belongs, and what our own
// unmarshalers reject. go-yaml would stop at the first and name Go types.
func (d *decoder) check(n ast.Node, t reflect.Type, path string) {
	if d.full() {
		d.truncated = true
		return
	}
	if reflect.PointerTo(t).Implements(nodeUnmarshalerType) {
		if err := reflect.New(t).Interface().(nodeUnmarshaler).UnmarshalYAML(n); err != nil {
			d.addError(err, path)
		}
		return
	}
	if _, null := n.(*ast.NullNode); null {
		return // the zero value: unset
	}
	switch t.Kind() {
	case reflect.Pointer:
		d.check(n, t.Elem(), path)
	case reflect.Struct:
		d.checkMapping(n, t, path, func(key string) (reflect.Type, bool) { return fieldType(t, key) })
	case reflect.Map:
		d.checkMapping(n, t, path, func(string) (reflect.Type, bool) { return t.Elem(), true })
	case reflect.Slice:
		seq, ok := n.(*ast.SequenceNode)
		if !ok {
			d.wrongKind(n, t, path)
			return
		}
		for i, v := range seq.Values {
			d.check(v, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
		}
	case reflect.String:
		switch n.(type) {
		case *ast.StringNode, *ast.LiteralNode, *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode:
		default:
			d.wrongKind(n, t, path)
		}
	case reflect.Bool:
		if _, ok := n.(*ast.BoolNode); !ok {
			d.wrongKind(n, t, path)
		}
	case reflect.Int, reflect.Int64, reflect.Uint64:
		d.checkInteger(n, t, path)
	case reflect.Float64:
		switch n.(type) {
		case *ast.IntegerNode, *ast.FloatNode:
		default:
			d.wrongKind(n, t, path)
		}
	}
}

// checkMapping checks a mapping's keys: each given once, each known (typeOf
// says what its value decodes into).
func (d *decoder) checkMapping(n ast.Node, t reflect.Type, path string, typeOf func(string) (reflect.Type, bool)) {
	m, ok := n.(*ast.MappingNode)
	if !ok {
		d.wrongKind(n, t, path)
		return
	}
	seen := map[string]int{}
	for _, kv := range m.Values {
		key, err := scalar(kv.Key, "a key")
		if err != nil {
			d.addError(err, path)
			continue
		}
		kp := joinPath(path, quoteKey(key))
		if line, dup := seen[key]; dup {
			d.add(d.at(kv.Key, kp, fmt.Sprintf("%q is given twice (first on line %d)", key, line)))
			continue
		}
		seen[key] = kv.Key.GetToken().Position.Line
		ft, ok := typeOf(key)
		if !ok {
			d.add(d.at(kv.Key, kp, unknownKey(key, t, path)))
			continue
		}
		_, null := kv.Value.(*ast.NullNode)
		if null && t == reflect.TypeFor[Segment]() {
			// `- constant:` with nothing after it would otherwise read as an
			// empty segment.
			d.add(d.at(kv.Key, kp, fmt.Sprintf("missing value: %s takes %s", key, strings.Join(keysOf(ft.Elem()), ", "))))
			continue
		}
		before := len(d.probs)
		d.check(kv.Value, ft, kp)
		if null {
			// A missing value has no place of its own: point at its key.
			for i := before; i < len(d.probs); i++ {
				d.probs[i] = d.at(kv.Key, d.probs[i].Path, d.probs[i].Msg)
			}
		}
	}
}

func (d *decoder) checkInteger(n ast.Node, t reflect.Type, path string) {
	in, ok := n.(*ast.IntegerNode)
	if !ok {
		d.wrongKind(n, t, path)
		return
	}
	switch v := in.Value.(type) {
	case int64:
		if t.Kind() == reflect.Uint64 {
			d.add(d.at(n, path, fmt.Sprintf("want a whole number, 0 or more, got %d", v)))
		}
	case uint64:
		if t.Kind() != reflect.Uint64 && v > uint64(1<<(t.Bits()-1)-1) {
			d.add(d.at(n, path, fmt.Sprintf("%d is too large", v)))
		}
	}
}

func (d *decoder) wrongKind(n ast.Node, t reflect.Type, path string) {
	d.add(d.at(n, path, fmt.Sprintf("want %s, got %s", want(t), describe(n))))
}

// addError records an error of one of our unmarshalers, located at its token.
func (d *decoder) addError(err error, path string) {
	var list tokenErrors
	if errors.As(err, &list) {
		for _, te := range list {
			d.add(d.atToken(te.tok, joinPath(path, te.path), te.msg))
		}
		return
	}
	var te *tokenError
	if errors.As(err, &te) {
		d.add(d.atToken(te.tok, joinPath(path, te.path), te.msg))
		return
	}
	d.add(d.problem(1, 1, path, err.Error()))
}

// joinPath appends a relative key path (total.p99, [2].burst) to path.
func joinPath(path, rel string) string {
	switch {
	case rel == "":
		return path
	case path == "" || strings.HasPrefix(rel, "["):
		return path + rel
	}
	return path + "." + rel
}

// fieldType is the type of t's field tagged yaml:"key".
func fieldType(t reflect.Type, key string) (reflect.Type, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		if name, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); name == key && name != "-" {
			return f.Type, true
		}
	}
	return nil, false
}

// keysOf lists the YAML keys of struct t, in declaration order.
func keysOf(t reflect.Type) []string {
	var keys []string
	for i := range t.NumField() {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); name != "" && name != "-" {
			keys = append(keys, name)
		}
	}
	return keys
}

// unknownKey says what a mapping of type t at path takes instead of key,
// suggesting the closest known key when the user probably mistyped it.
func unknownKey(key string, t reflect.Type, path string) string {
	if t.Kind() != reflect.Struct {
		return fmt.Sprintf("unknown key %q", key)
	}
	known := keysOf(t)
	if s := closest(key, known); s != "" {
		return fmt.Sprintf("unknown key %q; did you mean %s?", key, s)
	}
	var what string
	switch t {
	case reflect.TypeFor[Scenario]():
		what = "a scenario takes"
	case reflect.TypeFor[Segment]():
		what = "a traffic segment is one of"
	case reflect.TypeFor[Delay]():
		what = "a delay model takes"
	default:
		what = path + " takes"
	}
	return fmt.Sprintf("unknown key %q; %s %s", key, what, strings.Join(known, ", "))
}

// closest returns the known key within two edits of key, "" when none is.
func closest(key string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if d := editDistance(strings.ToLower(key), k); d < bestD && d < len(k) {
			best, bestD = k, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// want says in YAML words what a value of type t looks like.
func want(t reflect.Type) string {
	switch t {
	case reflect.TypeFor[[]Segment]():
		return "a list of segments (- constant: {rate: 20/s, duration: 10s})"
	case reflect.TypeFor[Segment]():
		return "a segment (constant: {rate: 20/s, duration: 10s})"
	case reflect.TypeFor[Delay]():
		return "a delay model ({p50: X, p99: Y}, {fixed: X} or {mean: X})"
	case reflect.TypeFor[map[string]string]():
		return "a mapping of names to text (Content-Type: application/json)"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return want(t.Elem())
	case reflect.Struct:
		return "a mapping (with keys " + strings.Join(keysOf(t), ", ") + ")"
	case reflect.Map:
		return "a mapping"
	case reflect.Slice:
		return "a list"
	case reflect.String:
		return "text"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64:
		return "a whole number"
	case reflect.Uint64:
		return "a whole number, 0 or more"
	case reflect.Float64:
		return "a number"
	}
	return "another kind of value"
}

// describe names what a node is, in YAML words, for "want X, got Y".
func describe(n ast.Node) string {
	switch n := n.(type) {
	case nil, *ast.NullNode:
		return "nothing"
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case *ast.LiteralNode:
		return "a block of text"
	case *ast.StringNode:
		return strconv.Quote(clip(n.Value))
	case *ast.TagNode:
		return describe(n.Value)
	case *ast.AnchorNode:
		return describe(n.Value)
	case *ast.AliasNode:
		return "an alias"
	}
	if tok := n.GetToken(); tok != nil {
		return clip(tok.Value)
	}
	return "something else"
}

// yamlError turns an error of the go-yaml parser or decoder, or one of our
// unmarshalers, into a positioned problem, in YAML words rather than Go's.
func (d *decoder) yamlError(err error) error {
	var list tokenErrors
	var te *tokenError
	switch {
	case errors.As(err, &list):
		probs := make([]Problem, 0, len(list))
		for _, te := range list {
			probs = append(probs, d.atToken(te.tok, "", te.msg))
		}
		return d.fail(probs...)
	case errors.As(err, &te):
		return d.fail(d.atToken(te.tok, "", te.msg))
	}
	var ye yaml.Error
	if !errors.As(err, &ye) {
		return d.fail(d.problem(1, 1, "", err.Error()))
	}
	msg := ye.GetMessage()
	var (
		syn  *yaml.SyntaxError
		ufe  *yaml.UnknownFieldError
		tye  *yaml.TypeError
		ove  *yaml.OverflowError
		unt  *yaml.UnexpectedNodeTypeError
		dupe *yaml.DuplicateKeyError
	)
	switch {
	case errors.As(err, &syn):
		if strings.Contains(msg, "\t") || strings.Contains(msg, "tab character") {
			msg = "tabs are not allowed for indentation, use spaces"
		}
		msg = "invalid YAML: " + msg
	case errors.As(err, &ufe):
		msg = fmt.Sprintf("unknown key %s", strings.TrimPrefix(msg, "unknown field "))
	case errors.As(err, &tye):
		msg = typeMessage(tye)
	case errors.As(err, &ove):
		msg = fmt.Sprintf("%s is out of range", ove.SrcNum)
	case errors.As(err, &unt):
		msg = fmt.Sprintf("want %s, got %s", nodeTypeWords(unt.Expected), nodeTypeWords(unt.Actual))
	case errors.As(err, &dupe):
		msg = strings.Replace(msg, "duplicate key", "key given twice", 1)
	}
	return d.fail(d.atToken(ye.GetToken(), "", msg))
}

func nodeTypeWords(t ast.NodeType) string {
	switch t {
	case ast.MappingType, ast.MappingValueType:
		return "a mapping"
	case ast.SequenceType:
		return "a list"
	case ast.NullType:
		return "nothing"
	case ast.StringType, ast.LiteralType:
		return "text"
	case ast.IntegerType, ast.FloatType, ast.InfinityType, ast.NanType:
		return "a number"
	case ast.BoolType:
		return "true or false"
	}
	return "another kind of value"
}

// typeMessage says what kind of value was expected, in YAML words rather than Go's.
func typeMessage(e *yaml.TypeError) string {
	w := "a value of another type"
	if e.DstType != nil {
		w = want(e.DstType)
	}
	got := "something else"
	if e.Token != nil {
		got = strconv.Quote(clip(e.Token.Value))
	}
	return fmt.Sprintf("want %s, got %s", w, got)
}

// atToken locates a message at a token. An empty path is filled with the key
// path of the node the token belongs to.
func (d *decoder) atToken(tok *token.Token, path, msg string) Problem {
	if tok == nil {
		return d.problem(1, 1, path, msg)
	}
	if path == "" && d.ast != nil {
		path = d.pathOfToken(tok)
	}
	return d.problem(tok.Position.Line, tok.Position.Column, path, msg)
}

// at locates a message at the start of a node: for a block mapping, its
// first key rather than go-yaml's first colon.
func (d *decoder) at(n ast.Node, path, msg string) Problem {
	tok := startToken(n)
	if tok == nil {
		return d.problem(1, 1, path, msg)
	}
	return d.problem(tok.Position.Line, tok.Position.Column, path, msg)
}

func startToken(n ast.Node) *token.Token {
	switch v := n.(type) {
	case nil:
		return nil
	case *ast.MappingNode:
		if v == nil {
			return nil
		}
		if !v.IsFlowStyle && len(v.Values) > 0 {
			return startToken(v.Values[0])
		}
	case *ast.MappingValueNode:
		if v == nil {
			return nil
		}
		if v.Key != nil {
			return startToken(v.Key)
		}
	}
	return n.GetToken()
}

func (d *decoder) problem(line, col int, path, msg string) Problem {
	line, col = max(line, 1), max(col, 1)
	p := Problem{Line: line, Col: col, Path: path, Msg: msg}
	if line <= len(d.lines) {
		src := strings.TrimRight(d.lines[line-1], "\r")
		if len(src) <= 200 {
			p.Source = src
		}
	}
	return p
}

// pathOfToken finds the node holding tok and returns its key path.
func (d *decoder) pathOfToken(tok *token.Token) string {
	var path string
	for _, doc := range d.ast.Docs {
		ast.Walk(visitor(func(n ast.Node) bool {
			if path != "" {
				return false
			}
			if mv, ok := n.(*ast.MappingValueNode); ok && mv.Key != nil && mv.Key.GetToken() == tok {
				path = pathOf(mv.Key)
				return false
			}
			if n.GetToken() == tok {
				path = pathOf(n)
				return false
			}
			return true
		}), doc.Body)
	}
	return path
}

// pathOf renders go-yaml's "$.traffic[2].burst.peak" as traffic[2].burst.peak.
func pathOf(n ast.Node) string {
	p := strings.TrimPrefix(n.GetPath(), "$")
	return strings.TrimPrefix(p, ".")
}

// locate finds the position of a validation problem's path in the file: the
// value, or its key when the problem is about the key, the value is missing
// or spans lines (a block list or mapping). When the key itself is missing it
// points at the nearest enclosing key that exists (`target:` for a missing
// target.url).
func (d *decoder) locate(p pathProblem) Problem {
	for try := p.path; try != ""; {
		if kv, v, ok := d.lookup(try); ok {
			if kv != nil && (try != p.path || p.atKey || isBlock(v)) {
				return d.at(kv, p.path, p.msg)
			}
			return d.at(v, p.path, p.msg)
		}
		i := strings.LastIndexAny(try, ".[")
		if i <= 0 {
			break
		}
		try = try[:i]
	}
	return d.at(d.root, p.path, p.msg)
}

// isBlock reports whether n is null or a block-style list or mapping.
func isBlock(n ast.Node) bool {
	switch n := n.(type) {
	case *ast.NullNode:
		return true
	case *ast.MappingNode:
		return !n.IsFlowStyle
	case *ast.SequenceNode:
		return !n.IsFlowStyle
	}
	return false
}

// lookup finds the node at a key path like traffic[2].burst.peak, and the
// mapping entry that holds it (nil for a list item).
func (d *decoder) lookup(path string) (*ast.MappingValueNode, ast.Node, bool) {
	var kv *ast.MappingValueNode
	n := d.root
	for _, part := range splitPath(path) {
		kv = nil
		if strings.HasPrefix(part, "[") {
			i, err := strconv.Atoi(strings.Trim(part, "[]"))
			seq, ok := n.(*ast.SequenceNode)
			if err != nil || !ok || i < 0 || i >= len(seq.Values) {
				return nil, nil, false
			}
			n = seq.Values[i]
			continue
		}
		m, ok := n.(*ast.MappingNode)
		if !ok {
			return nil, nil, false
		}
		found := false
		for _, e := range m.Values {
			if k, err := scalar(e.Key, ""); err == nil && k == part {
				kv, n, found = e, e.Value, true
				break
			}
		}
		if !found {
			return nil, nil, false
		}
	}
	return kv, n, n != nil
}

// splitPath splits traffic[2].burst.peak into traffic, [2], burst, peak.
// Keys given in quotes (headers."X-Key") keep their dots.
func splitPath(path string) []string {
	var parts []string
	for path != "" {
		switch {
		case path[0] == '.':
			path = path[1:]
		case path[0] == '[':
			end := strings.IndexByte(path, ']')
			if end < 0 {
				return append(parts, path)
			}
			parts = append(parts, path[:end+1])
			path = path[end+1:]
		case path[0] == '"':
			end := strings.IndexByte(path[1:], '"')
			if end < 0 {
				return append(parts, path[1:])
			}
			parts = append(parts, path[1:end+1])
			path = path[end+2:]
		default:
			end := strings.IndexAny(path, ".[")
			if end < 0 {
				end = len(path)
			}
			parts = append(parts, path[:end])
			path = path[end:]
		}
	}
	return parts
}
