package scenario

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// expand replaces ${VAR} with the variable's value from the environment and
// returns the values it inserted, so they can be masked wherever tailgate
// prints or saves the request. $${ is a literal ${. Only the braced form is
// expanded: bodies are full of dollar signs that are not variables.
func expand(s string) (string, []string, error) {
	if !strings.Contains(s, "${") {
		return s, nil, nil
	}
	var b strings.Builder
	var secrets []string
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), secrets, nil
		}
		if i > 0 && s[i-1] == '$' {
			b.WriteString(s[:i-1] + "${")
			s = s[i+2:]
			continue
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return "", nil, fmt.Errorf("unclosed ${ at %q", clip(s[i:]))
		}
		name := s[i+2 : i+end]
		if !validEnvName(name) {
			return "", nil, fmt.Errorf("${%s} is not a variable name (letters, digits and _)", escape(clip(name)))
		}
		v, ok := os.LookupEnv(name)
		if !ok {
			return "", nil, fmt.Errorf("environment variable %s is not set (used as ${%s})", name, name)
		}
		b.WriteString(s[:i])
		b.WriteString(v)
		if v != "" {
			secrets = append(secrets, v)
		}
		s = s[i+end+1:]
	}
}

func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		switch {
		case c == '_', c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// escape writes what a terminal would act on (an escape sequence, a
// newline) as Go escapes, so a message shows the text, never raw bytes.
func escape(s string) string {
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			q := strconv.Quote(s)
			return q[1 : len(q)-1]
		}
	}
	return s
}

// clip shortens s to 20 bytes for a message, on a character boundary.
func clip(s string) string {
	if len(s) <= 20 {
		return s
	}
	n := 20
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
