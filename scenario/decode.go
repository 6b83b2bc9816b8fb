package scenario

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// maxFileSize bounds a scenario file; real ones are a few kilobytes.
const maxFileSize = 1 << 20

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

func (e *Error) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.File)
		if p.Line > 0 {
			fmt.Fprintf(&b, ":%d:%d", p.Line, p.Col)
		}
		b.WriteString(": ")
		if p.Path != "" {
			b.WriteString(p.Path + ": ")
		}
		b.WriteString(p.Msg)
		if p.Source != "" {
			fmt.Fprintf(&b, "\n  %4d | %s\n       | %s^", p.Line, p.Source, strings.Repeat(" ", max(p.Col-1, 0)))
		}
	}
	return b.String()
}

// Load reads, decodes and validates the scenario at path. Any problem is an
// *Error naming path:line:col.
func Load(path string) (*Scenario, error) {
	data, err := readLimited(path)
	if err != nil {
		return nil, &Error{File: path, Problems: []Problem{{Msg: err.Error()}}}
	}
	return Parse(path, data)
}

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, errors.Unwrap(err) // the *PathError repeats the path
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if info.IsDir() {
		return nil, errors.New("is a directory, not a scenario file")
	}
	if info.Size() > maxFileSize {
		return nil, fmt.Errorf("file is %d bytes; a scenario may be at most %d", info.Size(), maxFileSize)
	}
	return os.ReadFile(path)
}

// Parse decodes and validates a scenario held in data; file names it in errors
// and anchors body_file paths.
func Parse(file string, data []byte) (*Scenario, error) {
	d := &decoder{file: file, lines: strings.Split(string(data), "\n")}
	sc, err := d.decode(data)
	if err != nil {
		return nil, err
	}
	sc.File = file
	if sc.Name == "" {
		sc.Name = strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	}
	return sc, nil
}

type decoder struct {
	file  string
	lines []string
	ast   *ast.File
}

func (d *decoder) decode(data []byte) (*Scenario, error) {
	if len(data) > maxFileSize {
		return nil, d.fail(Problem{Msg: fmt.Sprintf("scenario is %d bytes; at most %d", len(data), maxFileSize)})
	}
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, d.yamlError(err)
	}
	d.ast = f
	if len(f.Docs) == 0 || f.Docs[0].Body == nil {
		return nil, d.fail(Problem{Line: 1, Col: 1, Msg: "scenario is empty: it needs at least target, traffic and budget"})
	}
	if len(f.Docs) > 1 {
		return nil, d.fail(d.at(f.Docs[1].Body, "", "a scenario file holds one YAML document; found more"))
	}
	body := f.Docs[0].Body
	if p, bad := d.rejectAliases(body); bad {
		return nil, d.fail(p)
	}
	if _, ok := body.(*ast.MappingNode); !ok {
		return nil, d.fail(d.at(body, "", "a scenario is a mapping with keys name, target, network, traffic, service, budget"))
	}
	var sc Scenario
	if err := yaml.NodeToValue(body, &sc, yaml.Strict()); err != nil {
		return nil, d.yamlError(err)
	}
	probs := validate(&sc, filepath.Dir(d.file))
	if len(probs) > 0 {
		out := make([]Problem, 0, len(probs))
		for _, p := range probs {
			out = append(out, d.locate(p))
		}
		return nil, d.fail(out...)
	}
	return &sc, nil
}

func (d *decoder) fail(p ...Problem) error { return &Error{File: d.file, Problems: p} }

// rejectAliases refuses aliases and merge keys: scenarios do not need them and
// they let a small file expand into a huge one.
func (d *decoder) rejectAliases(root ast.Node) (Problem, bool) {
	var found ast.Node
	ast.Walk(visitor(func(n ast.Node) bool {
		if found != nil {
			return false
		}
		switch n := n.(type) {
		case *ast.AliasNode:
			found = n
		case *ast.MappingValueNode:
			if n.Key != nil && n.Key.IsMergeKey() {
				found = n.Key
			}
		}
		return found == nil
	}), root)
	if found == nil {
		return Problem{}, false
	}
	return d.at(found, pathOf(found), "aliases and merge keys (*name, <<) are not supported in scenarios: write the value out"), true
}

type visitor func(ast.Node) bool

func (v visitor) Visit(n ast.Node) ast.Visitor {
	if n == nil || !v(n) {
		return nil
	}
	return v
}

// yamlError turns a decoding error of go-yaml, or one of our unmarshalers,
// into a positioned problem.
func (d *decoder) yamlError(err error) error {
	var te *tokenError
	if errors.As(err, &te) {
		return d.fail(d.atToken(te.tok, te.msg))
	}
	var ye yaml.Error
	if errors.As(err, &ye) {
		msg := ye.GetMessage()
		var ufe *yaml.UnknownFieldError
		if errors.As(err, &ufe) {
			msg = fmt.Sprintf("unknown key %s", strings.TrimPrefix(msg, "unknown field "))
		}
		var tye *yaml.TypeError
		if errors.As(err, &tye) {
			msg = typeMessage(tye)
		}
		return d.fail(d.atToken(ye.GetToken(), msg))
	}
	return d.fail(Problem{Line: 1, Col: 1, Msg: err.Error()})
}

// typeMessage says what kind of value was expected, in YAML words rather than Go's.
func typeMessage(e *yaml.TypeError) string {
	want := "a value of another type"
	if e.DstType != nil {
		switch e.DstType.Kind().String() {
		case "int", "int64", "uint64", "int32":
			want = "a whole number"
		case "float64", "float32":
			want = "a number"
		case "bool":
			want = "true or false"
		case "string":
			want = "text"
		case "slice":
			want = "a list"
		case "struct", "map", "ptr":
			want = "a mapping"
		}
	}
	got := "something else"
	if e.Token != nil {
		got = fmt.Sprintf("%q", e.Token.Value)
	}
	return fmt.Sprintf("want %s, got %s", want, got)
}

// atToken locates a message at a token, naming the key path of the node the
// token belongs to.
func (d *decoder) atToken(tok *token.Token, msg string) Problem {
	if tok == nil {
		return Problem{Line: 1, Col: 1, Msg: msg}
	}
	path := ""
	if d.ast != nil {
		path = d.pathOfToken(tok)
	}
	return d.problem(tok.Position.Line, tok.Position.Column, path, msg)
}

func (d *decoder) at(n ast.Node, path, msg string) Problem {
	tok := n.GetToken()
	if tok == nil {
		return Problem{Line: 1, Col: 1, Path: path, Msg: msg}
	}
	return d.problem(tok.Position.Line, tok.Position.Column, path, msg)
}

func (d *decoder) problem(line, col int, path, msg string) Problem {
	p := Problem{Line: line, Col: col, Path: path, Msg: msg}
	if line >= 1 && line <= len(d.lines) {
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

// locate finds the position of a validation problem's path in the file,
// walking up to the nearest key that exists when the key itself is missing.
func (d *decoder) locate(p pathProblem) Problem {
	path := p.path
	for try := path; ; {
		if n := d.lookup(try); n != nil {
			return d.at(n, path, p.msg)
		}
		i := strings.LastIndexAny(try, ".[")
		if i <= 0 {
			break
		}
		try = try[:i]
	}
	return d.problem(1, 1, path, p.msg)
}

func (d *decoder) lookup(path string) ast.Node {
	var expr strings.Builder
	expr.WriteString("$")
	for _, part := range splitPath(path) {
		if strings.HasPrefix(part, "[") {
			expr.WriteString(part)
			continue
		}
		expr.WriteString(".")
		if strings.ContainsAny(part, ".[]'\" ") {
			expr.WriteString("'" + part + "'")
		} else {
			expr.WriteString(part)
		}
	}
	yp, err := yaml.PathString(expr.String())
	if err != nil {
		return nil
	}
	n, err := yp.FilterFile(d.ast)
	if err != nil || n == nil {
		return nil
	}
	return n
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
