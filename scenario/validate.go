package scenario

import (
	"fmt"
	"maps"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// pathProblem is a validation finding before it is located in the file.
type pathProblem struct {
	path  string
	msg   string
	atKey bool // the problem is the key itself (a header name), not its value
}

// Limits that keep a scenario within what one run can mean.
const (
	maxRunDuration = 7 * 24 * time.Hour
	maxTimeout     = time.Hour
	maxWorkers     = 1_000_000
	maxTokens      = 1_000_000
	maxDelay       = time.Hour
)

type checker struct {
	probs []pathProblem
}

func (c *checker) add(path, format string, args ...any) {
	c.probs = append(c.probs, pathProblem{path: path, msg: fmt.Sprintf(format, args...)})
}

// addKey reports a problem with the key at path rather than its value.
func (c *checker) addKey(path, format string, args ...any) {
	c.probs = append(c.probs, pathProblem{path: path, msg: fmt.Sprintf(format, args...), atKey: true})
}

// validate checks what decoding cannot and fills defaults. dir anchors body_file.
func validate(sc *Scenario, dir string) []pathProblem {
	c := &checker{}
	if e, err := ParseEngine(string(sc.Engine)); err != nil {
		c.add("engine", "%s", err)
	} else {
		sc.Engine = e
	}
	c.target(sc, dir)
	c.network(&sc.Network)
	c.traffic(sc.Traffic)
	c.service(&sc.Service)
	c.budget(&sc.Budget)
	return c.probs
}

func (c *checker) target(sc *Scenario, dir string) {
	t := &sc.Target
	if t.URL == "" {
		c.add("target.url", "missing: say which service to test, e.g. url: embedded or url: https://api.example.com/v1/chat")
	} else if exp, secrets, err := expand(t.URL); err != nil {
		c.add("target.url", "%s", err)
	} else if exp == EmbeddedURL {
		t.URL = exp
	} else {
		// Problems quote the URL as written: its expansion may hold a secret.
		shown := t.URL
		u, err := url.Parse(exp)
		switch {
		case err != nil:
			c.add("target.url", "%q is not a URL", shown)
		case u.Scheme != "http" && u.Scheme != "https":
			c.add("target.url", "%q must start with http:// or https:// (or be embedded)", shown)
		case u.Host == "" || u.Hostname() == "":
			c.add("target.url", "%q has no host", shown)
		default:
			t.URL = exp
			sc.addSecrets(secrets)
		}
	}
	if t.Method == "" {
		t.Method = "GET"
		if t.Body != "" || t.BodyFile != "" {
			t.Method = "POST"
		}
	} else if !isToken(t.Method) {
		c.add("target.method", "%q is not an HTTP method", t.Method)
	} else {
		t.Method = strings.ToUpper(t.Method)
	}
	switch t.Stream {
	case "":
		t.Stream = StreamNone
	case StreamNone, StreamSSE:
	default:
		c.add("target.stream", "%q is not a stream mode: use none or sse", t.Stream)
	}
	switch {
	case t.Timeout == 0:
		t.Timeout = Duration(DefaultTimeout)
	case t.Timeout < 0:
		c.add("target.timeout", "must be above zero")
	case t.Timeout.D() > maxTimeout:
		c.add("target.timeout", "%s is longer than the limit of %s", t.Timeout, Duration(maxTimeout))
	}
	// Sorted, so that problems come out in the same order every time.
	for _, k := range slices.Sorted(maps.Keys(t.Headers)) {
		v := t.Headers[k]
		path := "target.headers." + quoteKey(k)
		if !isToken(k) {
			c.addKey(path, "%q is not a valid header name", k)
			continue
		}
		exp, secrets, err := expand(v)
		if err != nil {
			c.add(path, "%s", err)
			continue
		}
		if strings.ContainsAny(exp, "\r\n") {
			c.add(path, "header value must be one line")
			continue
		}
		t.Headers[k] = exp
		sc.addSecrets(secrets)
	}
	if t.Body != "" && t.BodyFile != "" {
		c.add("target.body_file", "give body or body_file, not both")
		return
	}
	if t.BodyFile != "" {
		p := t.BodyFile
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		data, err := ReadFile(p, "body file")
		if err != nil {
			c.add("target.body_file", "%s", err)
			return
		}
		t.Body = string(data)
		if !IsText(data) {
			// Binary (an image, protobuf): sent byte for byte. A "${" in it
			// is data, not a variable.
			return
		}
	}
	exp, secrets, err := expand(t.Body)
	if err != nil {
		if t.BodyFile != "" {
			c.add("target.body_file", "%s: %s", t.BodyFile, err)
		} else {
			c.add("target.body", "%s", err)
		}
		return
	}
	t.Body = exp
	sc.addSecrets(secrets)
}

// addSecrets remembers values that came from the environment, once each.
func (s *Scenario) addSecrets(values []string) {
	for _, v := range values {
		if !slices.Contains(s.Secrets, v) {
			s.Secrets = append(s.Secrets, v)
		}
	}
}

func unwrapPathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

func quoteKey(k string) string {
	if strings.ContainsAny(k, ".[]") {
		return `"` + k + `"`
	}
	return k
}

// isToken reports whether s is an RFC 7230 token (header names, methods).
func isToken(s string) bool { return validMetricName(s) }

func (c *checker) network(n *Network) {
	if n.RTT != nil {
		c.delay("network.rtt", n.RTT)
	}
	if n.Reuse != nil && (*n.Reuse < 0 || *n.Reuse > 1 || math.IsNaN(*n.Reuse)) {
		c.add("network.reuse", "%v must be between 0 and 1", *n.Reuse)
	}
	if n.Emulate && n.RTT == nil {
		c.add("network.emulate", "emulation needs a round-trip model: add network.rtt, e.g. {p50: 62ms, p99: 85ms}")
	}
}

// delay checks a latency model.
func (c *checker) delay(path string, d *Delay) {
	forms := 0
	if d.P50 != nil || d.P99 != nil {
		forms++
	}
	if d.Fixed != nil {
		forms++
	}
	if d.Mean != nil {
		forms++
	}
	switch {
	case forms == 0:
		c.add(path, "empty delay model: give {p50: X, p99: Y}, {fixed: X} or {mean: X}")
		return
	case forms > 1:
		c.add(path, "give one form of delay: {p50, p99}, {fixed} or {mean}, not several")
		return
	}
	check := func(key string, v *Duration, allowZero bool) bool {
		switch {
		case v == nil:
			return true
		case *v < 0 && allowZero:
			c.add(path+"."+key, "%s must not be negative", v)
			return false
		case *v <= 0 && !allowZero:
			c.add(path+"."+key, "%s must be above zero", v)
			return false
		case v.D() > maxDelay:
			c.add(path+"."+key, "%s is longer than the limit of %s", v, Duration(maxDelay))
			return false
		}
		return true
	}
	switch {
	case d.Fixed != nil:
		check("fixed", d.Fixed, true)
	case d.Mean != nil:
		check("mean", d.Mean, false)
	default:
		if d.P50 == nil {
			c.add(path, "p50 is missing: a lognormal model needs both p50 and p99")
			return
		}
		if d.P99 == nil {
			c.add(path, "p99 is missing: a lognormal model needs both p50 and p99")
			return
		}
		if check("p50", d.P50, false) && check("p99", d.P99, false) && *d.P99 < *d.P50 {
			c.add(path+".p99", "%s is below p50 (%s): a p99 cannot be faster than the median", d.P99, d.P50)
		}
	}
}

func (c *checker) service(s *Service) {
	if s.Workers != nil && (*s.Workers < 1 || *s.Workers > maxWorkers) {
		c.add("service.workers", "%d must be between 1 and %d", *s.Workers, maxWorkers)
	}
	if s.Queue != nil && (*s.Queue < 0 || *s.Queue > maxWorkers) {
		c.add("service.queue", "%d must be between 0 and %d", *s.Queue, maxWorkers)
	}
	if s.Tokens < 0 || s.Tokens > maxTokens {
		c.add("service.tokens", "%d must be between 0 and %d", s.Tokens, maxTokens)
	}
	for _, d := range []struct {
		path string
		d    *Delay
	}{{"service.database", s.Database}, {"service.ttft", s.TTFT}, {"service.itl", s.ITL}} {
		if d.d != nil {
			c.delay(d.path, d.d)
		}
	}
}

func (c *checker) budget(b *Budget) {
	if len(b.Lines) == 0 && b.Errors == nil {
		c.add("budget", "missing: a gate needs at least one line, e.g. total: {p99: 2s}")
	}
}
