package scenario

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

// expandCases run with TG_TOKEN=s3cret, TG_EMPTY="" and TG_UNSET unset.
var expandCases = []struct {
	in      string
	want    string
	secrets []string
	err     string
}{
	{"plain", "plain", nil, ""},
	{"Bearer ${TG_TOKEN}", "Bearer s3cret", []string{"s3cret"}, ""},
	{"${TG_TOKEN}${TG_TOKEN}", "s3crets3cret", []string{"s3cret", "s3cret"}, ""},
	{"a${TG_EMPTY}b", "ab", nil, ""},
	{"$${TG_TOKEN}", "${TG_TOKEN}", nil, ""},
	{"x $${TG_UNSET} y", "x ${TG_UNSET} y", nil, ""},
	{"$TG_TOKEN and $HOME", "$TG_TOKEN and $HOME", nil, ""},
	{"costs $5 {braces}", "costs $5 {braces}", nil, ""},
	{`{"a":"${TG_TOKEN}"}`, `{"a":"s3cret"}`, []string{"s3cret"}, ""},
	{"${TG_UNSET}", "", nil, "environment variable TG_UNSET is not set (used as ${TG_UNSET})"},
	{"ok ${TG_TOKEN} then ${TG_UNSET}", "", nil, "environment variable TG_UNSET is not set"},
	{"${TG_TOKEN", "", nil, `unclosed ${ at "${TG_TOKEN"`},
	{"${}", "", nil, "${} is not a variable name"},
	{"${1ABC}", "", nil, "${1ABC} is not a variable name (letters, digits and _)"},
	{"${A-B}", "", nil, "${A-B} is not a variable name"},
}

func TestExpand(t *testing.T) {
	t.Setenv("TG_TOKEN", "s3cret")
	t.Setenv("TG_EMPTY", "")
	t.Setenv("HOME", "/root")
	if err := unsetenv(t, "TG_UNSET"); err != nil {
		t.Fatal(err)
	}
	for _, c := range expandCases {
		got, secrets, err := expand(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("expand(%q) error = %v, want …%q…", c.in, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want || !reflect.DeepEqual(secrets, c.secrets) {
			t.Errorf("expand(%q) = %q, %q, %v; want %q, %q", c.in, got, secrets, err, c.want, c.secrets)
		}
	}
}

// TestExpandInScenario: ${VAR} expands in headers, body, body_file contents
// and url; every value is collected once in Secrets for masking.
func TestExpandInScenario(t *testing.T) {
	t.Setenv("TG_TOKEN", "s3cret")
	t.Setenv("TG_HOST", "api.example.com")
	t.Setenv("BODY_TOKEN", "from-file")
	y := `target:
  url: https://${TG_HOST}/v1
  headers:
    Authorization: Bearer ${TG_TOKEN}
    X-Literal: $${TG_TOKEN}
    X-Shell: $HOME
  body: '{"key":"${TG_TOKEN}","price":"$5"}'
` + okRest
	sc, err := Parse("testdata/inline.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"Authorization": "Bearer s3cret", "X-Literal": "${TG_TOKEN}", "X-Shell": "$HOME"}
	if !reflect.DeepEqual(sc.Target.Headers, want) {
		t.Errorf("headers = %q, want %q", sc.Target.Headers, want)
	}
	if sc.Target.Body != `{"key":"s3cret","price":"$5"}` {
		t.Errorf("body = %q", sc.Target.Body)
	}
	if sc.Target.URL != "https://api.example.com/v1" {
		t.Errorf("url = %q", sc.Target.URL)
	}
	if want := []string{"api.example.com", "s3cret"}; !reflect.DeepEqual(sc.Secrets, want) {
		t.Errorf("Secrets = %q, want %q (each once)", sc.Secrets, want)
	}

	// body_file contents expand too; the file's own $${X} and $HOME stay.
	y = "target:\n  url: embedded\n  body_file: bodies/chat.json\n" + okRest
	sc, err = Parse("testdata/inline.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"token":"from-file","literal":"${KEEP}","home":"$HOME"}` + "\n"; sc.Target.Body != want {
		t.Errorf("body from file = %q, want %q", sc.Target.Body, want)
	}
	if !reflect.DeepEqual(sc.Secrets, []string{"from-file"}) {
		t.Errorf("Secrets = %q", sc.Secrets)
	}
}

func TestExpandErrorsInScenario(t *testing.T) {
	t.Setenv("TG_TOKEN", "s3cret")
	if err := unsetenv(t, "BODY_TOKEN"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, yaml string
		line, col  int
		path, msg  string
	}{
		{"header", "target:\n  url: embedded\n  headers: {X-Key: '${TG_MISSING_KEY}'}\n" + okRest, 3, 20, "target.headers.X-Key", "environment variable TG_MISSING_KEY is not set"},
		{"body", "target: {url: embedded, body: '${TG_MISSING_BODY}'}\n" + okRest, 1, 31, "target.body", "environment variable TG_MISSING_BODY is not set"},
		{"body_file", "target: {url: embedded, body_file: bodies/chat.json}\n" + okRest, 1, 36, "target.body_file", "bodies/chat.json: environment variable BODY_TOKEN is not set"},
		{"url", "target: {url: 'https://${TG_MISSING_HOST}/'}\n" + okRest, 1, 15, "target.url", "environment variable TG_MISSING_HOST is not set"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("testdata/inline.yaml", []byte(c.yaml))
			wantProblem(t, err, c.line, c.col, c.path, c.msg)
			if err != nil && strings.Contains(err.Error(), "s3cret") {
				t.Errorf("the error shows a secret: %v", err)
			}
		})
	}

	// A URL that is wrong once expanded is quoted as written, not expanded.
	t.Setenv("TG_URL", "ftp://user:s3cret@host/")
	_, err := Parse("x.yaml", []byte("target: {url: '${TG_URL}'}\n"+okRest))
	wantProblem(t, err, 1, 15, "target.url", `"${TG_URL}" must start with http:// or https://`)
	if err != nil && strings.Contains(err.Error(), "s3cret") {
		t.Errorf("the error shows a secret: %v", err)
	}
}

// unsetenv removes key for the rest of the test and restores it after.
func unsetenv(t *testing.T, key string) error {
	t.Setenv(key, "")
	return os.Unsetenv(key)
}
