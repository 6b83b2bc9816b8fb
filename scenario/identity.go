package scenario

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"
)

// identityVersion starts every identity: a later way of computing it gets
// another, so that identities of two versions are told apart instead of
// compared.
const identityVersion = "plan1-"

// Identity names the plan a scenario makes and the requests it sends, as a
// short hash ("plan1-3f9c0a1d2b4e5f60"): the traffic, the seed, the target
// and its request (headers and body as sent), the network and the embedded
// service. Two scenarios with the same identity offer the same requests at
// the same times, so the shards of a distributed run, and the logs they
// write, are known to belong together.
//
// The budget is left out, as are the name, the description and the engine:
// judging the same samples against another budget, or sending the plan
// with another engine, is the same experiment. So are values that came
// from ${VAR}: a rotated token sends the same requests, and a baseline kept
// for compare must outlive it. They stand in the hashed document as a
// placeholder, so the identity neither depends on them nor can be used to
// test guesses of them.
//
// The identity is a function of the YAML keys a user types (which do not
// change) with unset and zero values left out, so that a key added to
// tailgate at its zero value keeps every earlier identity. It is "" only
// if a scenario type cannot be encoded, which TestIdentity rules out: a
// log then says nothing of its plan, and readers say they could not check.
func (s *Scenario) Identity() string {
	doc, err := identityDoc(s)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(doc)
	return identityVersion + hex.EncodeToString(sum[:8])
}

// IdentityComparable reports whether two identities were computed the same
// way, so that their difference means different plans; an empty identity
// (a log written before identities) compares with nothing.
func IdentityComparable(a, b string) bool {
	va, _, oka := strings.Cut(a, "-")
	vb, _, okb := strings.Cut(b, "-")
	return oka && okb && va == vb
}

// identityDoc is the canonical document the identity hashes: the scenario
// without what does not decide its plan or requests, as JSON with sorted
// keys and no zero values.
func identityDoc(s *Scenario) ([]byte, error) {
	c := *s
	c.Name, c.Description, c.Engine = "", "", ""
	c.Budget = Budget{}
	c.File, c.Secrets = "", nil
	seed := s.SeedValue()
	c.Seed = &seed
	// The body as sent is hashed, not the file it was read from.
	c.Target.BodyFile = ""
	c.Target.Headers = maps.Clone(s.Target.Headers)
	// Defaults stand for themselves: an unset key and its default written
	// out make the same plan.
	workers, queue, reuse := s.Service.WorkersValue(), s.Service.QueueValue(), s.Network.ReuseValue()
	c.Service.Workers, c.Service.Queue, c.Network.Reuse = &workers, &queue, &reuse

	y, err := yaml.Marshal(&c)
	if err != nil {
		return nil, err
	}
	var tree any
	if err := yaml.Unmarshal(y, &tree); err != nil {
		return nil, err
	}
	return json.Marshal(hideSecrets(pruneZero(tree), s.Secrets))
}

// hideSecrets replaces, in every string of a decoded document, each value
// that came from ${VAR} (longest first) with a placeholder.
func hideSecrets(v any, secrets []string) any {
	if len(secrets) == 0 {
		return v
	}
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			v[k] = hideSecrets(e, secrets)
		}
	case []any:
		for i, e := range v {
			v[i] = hideSecrets(e, secrets)
		}
	case string:
		byLength := slices.Clone(secrets)
		slices.SortFunc(byLength, func(a, b string) int { return len(b) - len(a) })
		for _, s := range byLength {
			if s != "" {
				v = strings.ReplaceAll(v, s, "${}")
			}
		}
		return v
	}
	return v
}

// pruneZero drops null, zero, false, empty strings and empty collections
// from a decoded document, recursively; nil when nothing is left.
func pruneZero(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range v {
			if e = pruneZero(e); e != nil {
				out[k] = e
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case []any:
		if len(v) == 0 {
			return nil
		}
		out := make([]any, len(v))
		for i, e := range v {
			// Positions count in a list (the order of traffic segments):
			// an empty element stays as one.
			out[i] = pruneZero(e)
		}
		return out
	case string:
		if v == "" {
			return nil
		}
	case bool:
		if !v {
			return nil
		}
	case nil:
		return nil
	default:
		if isZeroNumber(v) {
			return nil
		}
	}
	return v
}

func isZeroNumber(v any) bool {
	switch n := v.(type) {
	case int:
		return n == 0
	case int64:
		return n == 0
	case uint64:
		return n == 0
	case float64:
		return n == 0
	}
	return false
}
