package histogram

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestTailKeepsTheSlowest(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	tail := NewTail(50)
	var all []time.Duration
	for range 10_000 {
		d := time.Duration(r.Int64N(int64(time.Second)))
		all = append(all, d)
		tail.Offer(d, []Part{{"a", d / 4}, {"b", d - d/4}})
	}
	slices.Sort(all)
	slowest := tail.Slowest()
	if len(slowest) != 50 {
		t.Fatalf("kept %d", len(slowest))
	}
	for i, s := range slowest {
		if want := all[len(all)-1-i]; s.Total != want {
			t.Fatalf("slowest[%d] = %v, want %v", i, s.Total, want)
		}
	}
	shares := tail.Attribution()
	if len(shares) != 2 || shares[0].Name != "b" || math.Abs(shares[0].Fraction-0.75) > 0.001 || math.Abs(shares[1].Fraction-0.25) > 0.001 {
		t.Errorf("shares %+v, want b 75%%, a 25%%", shares)
	}
}

func TestTailCopiesParts(t *testing.T) {
	tail := NewTail(2)
	parts := []Part{{"x", time.Second}}
	tail.Offer(time.Second, parts)
	parts[0] = Part{"y", time.Hour}
	if got := tail.Slowest()[0].Parts[0].Name; got != "x" {
		t.Errorf("kept part %q: the caller's slice was aliased", got)
	}
}

func TestTailSize(t *testing.T) {
	for planned, want := range map[int64]int{0: 1, 1: 1, 100: 1, 101: 2, 4800: 48, 1e9: 10_000} {
		if got := TailSize(planned); got != want {
			t.Errorf("TailSize(%d) = %d, want %d", planned, got, want)
		}
	}
}
