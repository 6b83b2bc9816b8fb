package plot

import (
	"image/color"
	"time"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Timeline is one source's latency per interval and the run's request rate
// per interval, as an interval log holds them.
type Timeline struct {
	Source      string
	Percentiles []float64 // observed percentiles (0–100) of each point, in order
	Latency     []TimePoint
	Rate        []RatePoint
	Limits      []Limit // the source's budget, drawn across the run
}

// TimePoint is the source's latency in one interval, at each of the
// timeline's percentiles.
type TimePoint struct {
	Start, End time.Duration // from the run's start
	Values     []time.Duration
}

// RatePoint is the request rate over one interval, per second.
type RatePoint struct {
	Start, End        time.Duration
	Planned, Achieved float64
}

// OverTime draws latency over the run (top) above the planned and achieved
// request rate (bottom), on one time axis, with the budget's limits drawn
// as dashed lines in the colour of the percentile they hold.
func OverTime(title string, tl Timeline) (*Figure, error) {
	if len(tl.Latency) == 0 && len(tl.Rate) == 0 {
		return nil, errorf("%s: no intervals to draw", title)
	}
	var end time.Duration
	for _, pt := range tl.Latency {
		end = max(end, pt.End)
	}
	for _, pt := range tl.Rate {
		end = max(end, pt.End)
	}
	xMax := max(end.Seconds(), 1)

	lat := newPlot(title, "", tl.Source+" latency (ms)")
	latLegend, rateLegend := sideLegend(), sideLegend()
	lat.Y.Tick.Marker = linearTicks{}
	lat.X.Tick.Marker = linearTicks{unit: "s"}
	lat.Add(grid{})
	lat.X.Min, lat.X.Max = 0, xMax
	lat.Y.Min = 0
	colors := percentileColors(tl.Percentiles)
	for i, p := range tl.Percentiles {
		pts := make(plotter.XYs, 0, len(tl.Latency))
		for _, pt := range tl.Latency {
			if i < len(pt.Values) {
				pts = append(pts, plotter.XY{X: mid(pt.Start, pt.End), Y: ms(pt.Values[i])})
			}
		}
		if len(pts) == 0 {
			continue
		}
		line, points, err := plotter.NewLinePoints(pts)
		if err != nil {
			return nil, errorf("%s: %v", title, err)
		}
		line.Color, line.Width = colors[i], vg.Points(1.8)
		points.Color, points.Radius, points.Shape = colors[i], vg.Points(1.8), draw.CircleGlyph{}
		lat.Add(line, points)
		latLegend.Add("observed "+pLabel(p)+" per interval", line, points)
	}
	for _, l := range tl.Limits {
		col := colBudget
		for i, p := range tl.Percentiles {
			if p == l.P {
				col = colors[i]
			}
		}
		line, err := plotter.NewLine(plotter.XYs{{X: 0, Y: ms(l.D)}, {X: xMax, Y: ms(l.D)}})
		if err != nil {
			return nil, errorf("%s: %v", title, err)
		}
		line.Color, line.Width, line.Dashes = col, vg.Points(1.5), []vg.Length{vg.Points(6), vg.Points(4)}
		lat.Add(line)
		latLegend.Add("budget "+l.Label()+" ≤ "+l.D.String(), line)
		lat.Y.Max = max(lat.Y.Max, ms(l.D))
	}
	lat.Y.Max *= 1.1

	rate := newPlot("", "time since start (s)", "requests per second")
	rate.Y.Tick.Marker = linearTicks{}
	rate.X.Tick.Marker = linearTicks{unit: "s"}
	rate.Add(grid{})
	rate.X.Min, rate.X.Max = 0, xMax
	rate.Y.Min = 0
	if len(tl.Rate) > 0 {
		planned := make(plotter.XYs, 0, 2*len(tl.Rate))
		achieved := make(plotter.XYs, 0, len(tl.Rate))
		for _, pt := range tl.Rate {
			// Planned rate is a step over each interval: the plan's own shape.
			planned = append(planned, plotter.XY{X: pt.Start.Seconds(), Y: pt.Planned}, plotter.XY{X: pt.End.Seconds(), Y: pt.Planned})
			achieved = append(achieved, plotter.XY{X: mid(pt.Start, pt.End), Y: pt.Achieved})
		}
		pl, err := plotter.NewLine(planned)
		if err != nil {
			return nil, errorf("%s: %v", title, err)
		}
		pl.Color, pl.Width, pl.Dashes = color.Black, vg.Points(1.5), []vg.Length{vg.Points(5), vg.Points(3)}
		al, ap, err := plotter.NewLinePoints(achieved)
		if err != nil {
			return nil, errorf("%s: %v", title, err)
		}
		al.Color, al.Width = palette[0], vg.Points(1.8)
		ap.Color, ap.Radius, ap.Shape = palette[0], vg.Points(1.8), draw.CircleGlyph{}
		rate.Add(pl, al, ap)
		rateLegend.Add("planned", pl)
		rateLegend.Add("achieved (responses/s)", al, ap)
		rate.Y.Max *= 1.1
	}
	return &Figure{Title: title, panels: []*gplot.Plot{lat, rate}, side: []*gplot.Legend{latLegend, rateLegend}, w: width, h: height * 1.25}, nil
}

func mid(a, b time.Duration) float64 { return (a + b).Seconds() / 2 }

// percentileColors gives the median a quiet grey and the tail percentiles
// the palette, so p99 reads the same colour in every figure it is in.
func percentileColors(ps []float64) []color.Color {
	out := make([]color.Color, len(ps))
	tail := []color.Color{palette[0], palette[4], palette[1], palette[3]}
	n := 0
	for i, p := range ps {
		switch {
		case p <= 50:
			out[i] = rgb(0x88, 0x88, 0x88)
		default:
			out[i] = tail[n%len(tail)]
			n++
		}
	}
	return out
}
