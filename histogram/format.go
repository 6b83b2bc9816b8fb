package histogram

import (
	"math"
	"strconv"
)

// Millis formats milliseconds with three significant digits and a unit a
// person reads at a glance: 850µs, 44.0ms, 131ms, 2.20s. It is the one
// duration formatter: judging's messages, every report and the plots'
// labels use it.
func Millis(v float64) string {
	// Round to three significant digits first, so 999.7ms becomes 1.00s, not 1000ms.
	if v != 0 {
		mag := math.Pow(10, math.Floor(math.Log10(math.Abs(v)))-2)
		v = math.Round(v/mag) * mag
	}
	switch a := math.Abs(v); {
	case a == 0:
		return "0.00ms"
	case a < 1:
		return sig3(v*1000) + "µs"
	case a < 1000:
		return sig3(v) + "ms"
	}
	return sig3(v/1000) + "s"
}

func sig3(v float64) string {
	a := math.Abs(v)
	prec := 0
	switch {
	case a < 9.995:
		prec = 2
	case a < 99.95:
		prec = 1
	}
	return strconv.FormatFloat(v, 'f', prec, 64)
}
