package histogram

import (
	"io"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// HgrmTicksPerHalfDistance is how densely a .hgrm lists percentiles: 5 per
// halving of the distance to 100%, as HdrHistogram's tools print them.
const HgrmTicksPerHalfDistance = 5

// WriteHgrm writes h's percentile distribution in HdrHistogram's .hgrm text
// format, values in milliseconds: the file HdrHistogram's plotter
// (hdrhistogram.github.io/HdrHistogram/plotFiles.html) and other HDR tools read.
func WriteHgrm(w io.Writer, h *hdrhistogram.Histogram) error {
	// Values are microseconds: a scale of 1000 prints milliseconds.
	_, err := h.PercentilesPrint(w, HgrmTicksPerHalfDistance, 1000)
	return err
}
