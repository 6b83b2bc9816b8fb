package histogram

import "testing"

// TestMillis: three significant digits, rounded before the unit is chosen,
// so 999.7ms is 1.00s in every view.
func TestMillis(t *testing.T) {
	for v, want := range map[float64]string{
		0: "0.00ms", 0.85: "850µs", 0.0004: "0.40µs", 44: "44.0ms", 131.2: "131ms",
		999.7: "1.00s", 999.4: "999ms", 2200: "2.20s", 9.996: "10.0ms", -51.2: "-51.2ms",
	} {
		if got := Millis(v); got != want {
			t.Errorf("Millis(%v) = %q, want %q", v, got, want)
		}
	}
}
