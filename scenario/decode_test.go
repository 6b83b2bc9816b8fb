package scenario

import (
	"fmt"
	"os"
	"testing"
)

func TestExplore(t *testing.T) {
	os.Setenv("API_TOKEN", "tok")
	sc, err := Load("testdata/design.yaml")
	fmt.Printf("%+v\n%v\n", sc, err)
	base := "target: {url: embedded}\ntraffic:\n  - constant: {rate: 20/s, duration: 1s}\nbudget:\n  total: {p99: 1s}\n"
	cases := []string{
		base + "foo: 1\n",
		"target: {url: embedded, foo: 1}\ntraffic:\n  - constant: {rate: 20/s, duration: 1s}\nbudget:\n  total: {p99: 1s}\n",
		base + "network:\n  foo: 1\n",
		base + "service:\n  foo: 1\n",
		base + "service:\n  workers: abc\n",
		base + "service:\n  workers: 1.5\n",
		base + "service:\n  workers: [1]\n",
		base + "service:\n  database: {}\n",
		base + "service:\n  database: 5ms\n",
		base + "service:\n  database: {p50: 5ms, p99: 2ms}\n",
		base + "service:\n  database: {p50: 5ms, fixed: 2ms}\n",
		base + "service:\n  errors: abc\n",
		"target: [1]\ntraffic:\n  - constant: {rate: 20/s, duration: 1s}\nbudget:\n  total: {p99: 1s}\n",
		"target: {url: {a: 1}}\ntraffic:\n  - constant: {rate: 20/s, duration: 1s}\nbudget:\n  total: {p99: 1s}\n",
		"target: {url: embedded}\ntraffic: 5\nbudget:\n  total: {p99: 1s}\n",
		"target: {url: embedded}\ntraffic:\n  - 5\nbudget:\n  total: {p99: 1s}\n",
		"target: {url: embedded}\ntraffic:\n  - constant: {rate: 20/s, duration: 1s, foo: 2}\nbudget:\n  total: {p99: 1s}\n",
		"target: {url: embedded}\ntraffic:\n  - constant: {rate: 20/s, duration: 1s}\n    foo: 2\nbudget:\n  total: {p99: 1s}\n",
		"target: {url: embedded}\ntraffic:\n  - constant: {rate: 20, duration: 1s}\nbudget:\n  total: {p99: 1s}\n",
		"target: {url: embedded}\ntraffic:\n  - constant: {rate: 20/s, duration: 0s}\nbudget:\n  total: {p99: 1s}\n",
		"target: {url: embedded}\ntraffic:\n  - constant: {rate: 20/s, duration: -1s}\nbudget:\n  total: {p99: 1s}\n",
		"target: {url: embedded}\ntraffic:\n  - constant: {rate: 20/s, duration: 1s}\n  - burst: {rate: 40/s, peak: 40/s, every: 1s, lasting: 2s, duration: 4s}\nbudget:\n  total: {p99: 1s}\n",
		"target: {url: embedded}\ntraffic:\n  - constant: {rate: 20/s, duration: 1s}\nbudget:\n  total: {p99x: 1s}\n",
		"target: {url: embedded}\ntraffic:\n  - constant: {rate: 20/s, duration: 1s}\nbudget:\n  total: {p99: 1s}\n  total: {p99: 2s}\n",
		"target: {url: embedded}\ntraffic:\n  - constant: {rate: 20/s, duration: 1s}\nbudget:\n  total: {p99: 1s, source: foo}\n",
		"target: {url: embedded}\ntraffic:\n  - constant: {rate: 20/s, duration: 1s}\nbudget:\n  foo: {p99: 1s}\n",
		"traffic:\n  - constant: {rate: 20/s, duration: 1s}\nbudget:\n  total: {p99: 1s}\n",
		"target: {method: GET}\ntraffic:\n  - constant: {rate: 20/s, duration: 1s}\nbudget:\n  total: {p99: 1s}\n",
		"target: {url: 'ftp://x'}\ntraffic:\n  - constant: {rate: 20/s, duration: 1s}\nbudget:\n  total: {p99: 1s}\n",
		"target: {url: 'http://'}\ntraffic:\n  - constant: {rate: 20/s, duration: 1s}\nbudget:\n  total: {p99: 1s}\n",
		"target:\n  url: embedded\n  headers:\n    A: ${NOPE_NOT_SET}\ntraffic:\n  - constant: {rate: 20/s, duration: 1s}\nbudget:\n  total: {p99: 1s}\n",
		"a: &x 1\nb: *x\n",
		"<<: {a: 1}\n",
		"a: 1\n---\nb: 2\n",
		"",
		"- 1\n",
		"a: [1\n",
		"a: b: c\n",
		"\t- x",
		"network: {tls: 1.1}\n" + base,
		"network: {reuse: 1.5}\n" + base,
		"network: {emulate: true}\n" + base,
		"target: {url: embedded}\ntraffic: []\nbudget:\n  total: {p99: 1s}\n",
		"target: {url: embedded}\ntraffic:\n  - constant: {rate: 20/s, duration: 1s}\n    pause: {duration: 1s}\nbudget:\n  total: {p99: 1s}\n",
		"target: {url: embedded}\ntraffic:\n  - gamma: {rate: 20/s, duration: 1s, burstiness: 0}\nbudget:\n  total: {p99: 1s}\n",
		"target: {url: embedded}\ntraffic:\n  - step: {from: 1/s, to: 20/s, duration: 1s, steps: 1}\nbudget:\n  total: {p99: 1s}\n",
		"target: {url: embedded}\ntraffic:\n  - sine: {mean: 1/s, amplitude: 20/s, duration: 1s, period: 1s}\nbudget:\n  total: {p99: 1s}\n",
		"target: {url: embedded}\ntraffic:\n  - constant: {rate: 20/s, duration: 1s}\nbudget:\n  total: {p100: 1s}\n",
		"target: {url: embedded}\ntraffic:\n  - constant: {rate: 20/s, duration: 1s}\nbudget:\n  total: {p0: 1s}\n",
		"target: {url: embedded}\ntraffic:\n  - constant: {rate: 20/s, duration: 1s}\nbudget:\n  total: {pabc: 1s}\n",
		"target: {url: embedded, body: a, body_file: b}\ntraffic:\n  - constant: {rate: 20/s, duration: 1s}\nbudget:\n  total: {p99: 1s}\n",
		"target: {url: embedded, body_file: nope.json}\ntraffic:\n  - constant: {rate: 20/s, duration: 1s}\nbudget:\n  total: {p99: 1s}\n",
		"target: {url: embedded, body: 'x ${A'}\ntraffic:\n  - constant: {rate: 20/s, duration: 1s}\nbudget:\n  total: {p99: 1s}\n",
		"target: {url: embedded}\ntraffic:\n  - constant: {rate: 20/s, duration: 1s}\nbudget:\n  total: {p99: 1s}\nservice:\n  workers: 0\n  queue: -1\n  tokens: -2\n",
		"target: embedded\n",
		"name: [1]\n",
		"seed: -1\n",
		"seed: abc\n",
		"target: {url: embedded, headers: [1]}\n",
		"target: {url: embedded, headers: {a: [1]}}\n",
		"target: {url: embedded, http2: maybe}\n",
		"target: {url: embedded}\ntraffic:\n  - constant: {rate: 20/s, duration: 1s}\nbudget: [1]\n",
		"target: {url: embedded}\ntraffic:\n  - constant: {rate: 20/s, duration: 1s}\nbudget:\n  total: 1s\n",
		"target: {url: embedded}\ntraffic:\n  - constant: {rate: 20/s, duration: 1s}\nbudget:\n  total: {}\n",
		"target: {url: embedded}\ntraffic:\n  - constant: {rate: 20/s, duration: 1s}\nbudget:\n  errors: 2\n",
		"target: {url: embedded}\ntraffic:\n  - constant: {rate: 20/s, duration: 1s}\nbudget:\n",
		"target: {url: embedded}\ntraffic:\n  - constant:\nbudget:\n  total: {p99: 1s}\n",
		"target: {url: embedded}\ntraffic:\n  - constant: {rate: abc/s, duration: 1s}\n  - constant: {rate: -5/s, duration: 1s}\n  - constant: {rate: 20/x, duration: 1s}\nbudget:\n  total: {p99: 1s}\n",
		"target:\ntraffic:\n",
		"null\n",
		"~\n",
		"# only a comment\n",
		"'str'\n",
		"!!binary abc: 1\n",
		"target: !!str {url: x}\n",
		"target: {url: embedded, timeout: 5}\n",
		"target: {url: embedded, method: 'G T'}\n",
	}
	for _, c := range cases {
		_, err := Parse("s.yaml", []byte(c))
		fmt.Printf("----\n%s\n=> %v\n", c, err)
	}
}
