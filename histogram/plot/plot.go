// Package plot draws tailgate's figures, in PNG and SVG with gonum/plot:
// latency percentile distributions, latency and request rate over time, and
// budget against observed. It takes plain values and knows no scenario.
package plot

import (
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/tailgate-dev/tailgate/histogram"
	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Figure is a drawn figure of one or more panels stacked top to bottom,
// ready to write as PNG or SVG. A panel's legend is drawn inside it, or
// beside it when the panel has a side legend.
type Figure struct {
	Title  string
	panels []*gplot.Plot
	side   []*gplot.Legend // per panel; nil entries keep the legend inside
	w, h   vg.Length
}

// Figure sizes: wide enough for a report page, tall enough for a legend.
const (
	width     = 8.5 * vg.Inch
	height    = 6 * vg.Inch
	pngDPI    = 110
	panelPadY = 0.15 * vg.Inch
	sidePad   = 0.2 * vg.Inch
)

// sideWidth is the width of the column of side legends, 0 when none.
func (f *Figure) sideWidth() vg.Length {
	var w vg.Length
	for _, l := range f.side {
		if l != nil {
			r := l.Rectangle(draw.Canvas{})
			w = max(w, r.Max.X-r.Min.X+2*sidePad)
		}
	}
	return w
}

// Size is the figure's width and height: its panels' width and any side
// legends beside them.
func (f *Figure) Size() (w, h vg.Length) { return f.w + f.sideWidth(), f.h }

// WritePNG writes the figure as a PNG image.
func (f *Figure) WritePNG(w io.Writer) error {
	fw, fh := f.Size()
	c := vgimg.NewWith(vgimg.UseWH(fw, fh), vgimg.UseDPI(pngDPI), vgimg.UseBackgroundColor(color.White))
	f.draw(draw.New(c))
	_, err := vgimg.PngCanvas{Canvas: c}.WriteTo(w)
	return err
}

// WriteSVG writes the figure as a standalone SVG document.
func (f *Figure) WriteSVG(w io.Writer) error {
	c := vgsvg.New(f.Size())
	f.draw(draw.New(c))
	_, err := c.WriteTo(w)
	return err
}

func (f *Figure) draw(dc draw.Canvas) {
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
	// Side legends take a column on the right, as wide as the widest.
	area := draw.Crop(dc, 0, -f.sideWidth(), 0, 0)
	var tiles []draw.Canvas
	if len(f.panels) == 1 {
		tiles = []draw.Canvas{area}
	} else {
		rows := make([][]*gplot.Plot, len(f.panels))
		for i, p := range f.panels {
			rows[i] = []*gplot.Plot{p}
		}
		for _, row := range gplot.Align(rows, draw.Tiles{Rows: len(f.panels), Cols: 1, PadY: panelPadY}, area) {
			tiles = append(tiles, row[0])
		}
	}
	for i, p := range f.panels {
		p.Draw(tiles[i])
		if i < len(f.side) && f.side[i] != nil {
			data := p.DataCanvas(tiles[i])
			c := dc
			c.Rectangle = vg.Rectangle{Min: vg.Point{X: area.Max.X + sidePad, Y: data.Min.Y}, Max: vg.Point{X: dc.Max.X, Y: data.Max.Y}}
			f.side[i].Draw(c)
		}
	}
}

// sideLegend is a legend drawn beside its panel, where no data can be.
func sideLegend() *gplot.Legend {
	l := gplot.NewLegend()
	l.TextStyle.Font = font.From(sans, 11)
	l.Top, l.Left = true, true
	l.ThumbnailWidth = 0.35 * vg.Inch
	l.Padding = vg.Points(3)
	return &l
}

// Limit is one budget limit: percentile P (0–100) at most D.
type Limit struct {
	P float64
	D time.Duration
}

// Label is the limit's percentile as a scenario writes it: "p99", "p99.9".
func (l Limit) Label() string { return pLabel(l.P) }

func pLabel(p float64) string { return "p" + strconv.FormatFloat(p, 'f', -1, 64) }

// Colours: the Okabe–Ito palette, told apart with any colour vision.
var palette = []color.Color{
	rgb(0x00, 0x72, 0xB2), // blue
	rgb(0xD5, 0x5E, 0x00), // vermillion
	rgb(0x00, 0x9E, 0x73), // green
	rgb(0xCC, 0x79, 0xA7), // purple
	rgb(0xE6, 0x9F, 0x00), // orange
	rgb(0x56, 0xB4, 0xE9), // sky blue
	rgb(0x00, 0x00, 0x00), // black
}

var (
	colOK     = rgb(0x00, 0x9E, 0x73)
	colOver   = rgb(0xD5, 0x5E, 0x00)
	colNoData = rgb(0x99, 0x99, 0x99)
	colGrid   = rgb(0xD4, 0xD4, 0xD4)
	colBudget = rgb(0xC0, 0x00, 0x00)
)

func rgb(r, g, b uint8) color.Color { return color.RGBA{R: r, G: g, B: b, A: 0xFF} }

func colorAt(i int) color.Color { return palette[i%len(palette)] }

var sans = font.Font{Typeface: "Liberation", Variant: "Sans"}

// newPlot is a plot in tailgate's style: sans-serif text sized to read on
// a report page, a light grid, the legend at the top left.
func newPlot(title, xLabel, yLabel string) *gplot.Plot {
	p := gplot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font = font.From(sans, 15)
	p.Title.Padding = 0.12 * vg.Inch
	p.X.Label.Text, p.Y.Label.Text = xLabel, yLabel
	for _, a := range []*gplot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = font.From(sans, 12)
		a.Tick.Label.Font = font.From(sans, 11)
		a.Padding = 0
	}
	p.Legend.TextStyle.Font = font.From(sans, 11)
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.XOffs, p.Legend.YOffs = 0.15*vg.Inch, -0.1*vg.Inch
	p.Legend.ThumbnailWidth = 0.35 * vg.Inch
	return p
}

// grid draws major grid lines under the data, across the x and the y
// axis's labelled ticks.
type grid struct{ noX bool }

func (g grid) Plot(c draw.Canvas, p *gplot.Plot) {
	trX, trY := p.Transforms(&c)
	sty := draw.LineStyle{Color: colGrid, Width: vg.Points(0.8)}
	for _, t := range p.X.Tick.Marker.Ticks(p.X.Min, p.X.Max) {
		if g.noX || t.IsMinor() || t.Value < p.X.Min || t.Value > p.X.Max {
			continue
		}
		x := trX(t.Value)
		c.StrokeLine2(sty, x, c.Min.Y, x, c.Max.Y)
	}
	for _, t := range p.Y.Tick.Marker.Ticks(p.Y.Min, p.Y.Max) {
		if t.IsMinor() || t.Value < p.Y.Min || t.Value > p.Y.Max {
			continue
		}
		y := trY(t.Value)
		c.StrokeLine2(sty, c.Min.X, y, c.Max.X, y)
	}
}

// ms is d in milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Duration formats d the way the verdict table does (histogram.Millis):
// 41.2ms, 131ms, 2.20s, and 999.7ms as 1.00s.
func Duration(d time.Duration) string { return histogram.Millis(ms(d)) }

// msTicks labels a logarithmic millisecond axis, units in the labels at 1, 2, 5 × 10ⁿ (every
// digit when the range spans less than a decade) with minor ticks between.
type msTicks struct{}

func (msTicks) Ticks(lo, hi float64) []gplot.Tick {
	if lo <= 0 || hi <= lo {
		return nil
	}
	steps := []float64{1, 2, 5}
	if hi/lo < 12 {
		steps = []float64{1, 2, 3, 4, 5, 6, 7, 8, 9}
	}
	var ticks []gplot.Tick
	for e := math.Floor(math.Log10(lo)); math.Pow(10, e) <= hi; e++ {
		for d := 1.0; d <= 9; d++ {
			v := d * math.Pow(10, e)
			if v < lo || v > hi {
				continue
			}
			t := gplot.Tick{Value: v}
			for _, s := range steps {
				if s == d {
					t.Label = msLabel(v)
				}
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}

// msLabel writes a tick value given in ms with its unit: 500µs, 20ms, 2s.
func msLabel(v float64) string {
	switch {
	case v >= 1000:
		return strconv.FormatFloat(v/1000, 'g', 6, 64) + "s"
	case v >= 1:
		return strconv.FormatFloat(v, 'g', 6, 64) + "ms"
	}
	return strconv.FormatFloat(v*1000, 'g', 6, 64) + "µs"
}

// linearTicks label a linear axis at a round step giving about eight
// labels (1, 2 or 5 × 10ⁿ), with unit after each, and minor ticks between.
type linearTicks struct{ unit string }

func (t linearTicks) Ticks(lo, hi float64) []gplot.Tick {
	if !(hi > lo) {
		return nil
	}
	step := niceStep((hi - lo) / 8)
	minor := step / 5
	if m := step / math.Pow(10, math.Floor(math.Log10(step))); m == 2 {
		minor = step / 4
	}
	var ticks []gplot.Tick
	for i := math.Ceil(lo / minor); i*minor <= hi*(1+1e-9); i++ {
		v := i * minor
		tk := gplot.Tick{Value: v}
		if r := v / step; math.Abs(r-math.Round(r)) < 1e-6 {
			tk.Label = strconv.FormatFloat(math.Round(r)*step, 'g', 6, 64) + t.unit
		}
		ticks = append(ticks, tk)
	}
	return ticks
}

// niceStep rounds x up to 1, 2 or 5 × 10ⁿ.
func niceStep(x float64) float64 {
	e := math.Pow(10, math.Floor(math.Log10(x)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*e >= x {
			return m * e
		}
	}
	return 10 * e
}

// ErrNothingToDraw is returned for a figure whose data is empty (no
// samples): there is no plot, and nothing went wrong.
var ErrNothingToDraw = errors.New("plot: no samples to draw")

func errorf(format string, args ...any) error { return fmt.Errorf("plot: "+format, args...) }
