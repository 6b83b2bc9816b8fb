package scenario

import (
	"strings"
	"testing"
	"time"
)

const identityBase = `name: api
description: the plan whose identity is tested
seed: 7
target:
  url: https://api.example.com/v1
  method: POST
  headers: {Authorization: "Bearer ${TG_ID_TOKEN}", Content-Type: application/json}
  body: '{"q":1}'
traffic:
  - constant: {rate: 20/s, duration: 2s}
  - poisson: {rate: 40/s, duration: 1s}
network: {distance: 800km}
service: {database: {p50: 8ms, p99: 60ms}}
budget:
  total: {p95: 500ms, p99: 1s}
  errors: 1%
`

func identityOf(t *testing.T, yaml string, sets ...string) string {
	t.Helper()
	sc, err := ParseWith("s.yaml", []byte(yaml), overrides(t, sets...))
	if err != nil {
		t.Fatal(err)
	}
	id := sc.Identity()
	if !strings.HasPrefix(id, identityVersion) || len(id) != len(identityVersion)+16 {
		t.Fatalf("identity %q: want %s and 16 hex digits", id, identityVersion)
	}
	return id
}

// The identity changes with what decides the plan or the requests, and
// with nothing else: the budget, the name, the description and the engine
// may differ between two logs of one plan.
func TestIdentity(t *testing.T) {
	t.Setenv("TG_ID_TOKEN", "s3cret-token-value")
	base := identityOf(t, identityBase)
	if again := identityOf(t, identityBase); again != base {
		t.Fatalf("identity not stable: %s, then %s", base, again)
	}
	for _, set := range []string{
		"budget.total.p99=2s",
		"budget.errors=5%",
		"budget.ttft={p99: 1s}",
		"name=other",
		"description=another text",
		"engine=native",
		// Defaults written out are the defaults.
		"service.workers=32",
		"service.queue=256",
		"network.reuse=0.9",
		"target.timeout=30s",
		"target.stream=none",
		"target.http2=false",
	} {
		if got := identityOf(t, identityBase, set); got != base {
			t.Errorf("--set %s changed the identity: %s, want %s", set, got, base)
		}
	}
	seen := map[string]string{base: "the base"}
	for _, set := range []string{
		"seed=8",
		"traffic[0].constant.rate=21/s",
		"traffic[1].poisson.duration=2s",
		"traffic[2]={pause: {duration: 1s}}",
		"target.url=https://api.example.com/v2",
		"target.method=PUT",
		`target.body={"q":2}`,
		"target.headers.X-Extra=1",
		"target.timeout=5s",
		"target.stream=sse",
		"network.distance=801km",
		"network.rtt.fixed=5ms",
		"service.workers=8",
		"service.database.p99=61ms",
	} {
		got := identityOf(t, identityBase, set)
		if prev, ok := seen[got]; ok {
			t.Errorf("--set %s: identity %s, the same as %s", set, got, prev)
		}
		seen[got] = "--set " + set
	}
}

// The seed left out is seed 1, as the plan draws it.
func TestIdentityDefaultSeed(t *testing.T) {
	t.Setenv("TG_ID_TOKEN", "x")
	without := strings.Replace(identityBase, "seed: 7\n", "", 1)
	if identityOf(t, without) != identityOf(t, identityBase, "seed=1") {
		t.Error("no seed and seed: 1 have different identities")
	}
}

// A secret from ${VAR} is not part of the plan (a rotated token sends the
// same requests) and is nowhere in the identity.
func TestIdentitySecrets(t *testing.T) {
	t.Setenv("TG_ID_TOKEN", "s3cret-token-value")
	a := identityOf(t, identityBase)
	t.Setenv("TG_ID_TOKEN", "another-token")
	b := identityOf(t, identityBase)
	if a != b {
		t.Error("two values of one ${VAR} give two identities")
	}
	if c := identityOf(t, strings.Replace(identityBase, "${TG_ID_TOKEN}", "another-token", 1)); c == b {
		t.Error("a value written in the file counts no more than a ${VAR}'s")
	}
	for _, id := range []string{a, b} {
		if strings.Contains(id, "s3cret") || strings.Contains(id, "another") {
			t.Errorf("identity %q holds the secret", id)
		}
	}
}

// Scaling the plan (--rate-scale, --duration) makes another plan.
func TestIdentityScaled(t *testing.T) {
	t.Setenv("TG_ID_TOKEN", "x")
	sc, err := Parse("s.yaml", []byte(identityBase))
	if err != nil {
		t.Fatal(err)
	}
	faster, err := sc.ScaleRates(2)
	if err != nil {
		t.Fatal(err)
	}
	shorter, err := sc.ScaleDuration(time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if a, b, c := sc.Identity(), faster.Identity(), shorter.Identity(); a == b || a == c || b == c {
		t.Errorf("identities %s, ×2 rate %s, 1s %s: want three", a, b, c)
	}
	if same, err := sc.ScaleRates(1); err == nil && same.Identity() != sc.Identity() {
		t.Error("a rate scale of 1 changed the identity")
	}
}

// The identity of a fixed scenario is fixed: logs written by one tailgate
// are checked by the next, so a change here is a change of identityVersion.
func TestIdentityGolden(t *testing.T) {
	t.Setenv("TG_ID_TOKEN", "x")
	const want = "plan1-ae45391d8ca1a2f1"
	got := identityOf(t, identityBase)
	if got != want {
		t.Errorf("identity %s, want %s", got, want)
	}
}

func TestIdentityComparable(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"plan1-00", "plan1-ff", true},
		{"plan1-00", "plan2-00", false},
		{"", "plan1-00", false},
		{"", "", false},
	} {
		if got := IdentityComparable(tc.a, tc.b); got != tc.want {
			t.Errorf("IdentityComparable(%q, %q) = %v", tc.a, tc.b, got)
		}
	}
}
