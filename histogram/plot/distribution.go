package plot

import (
	"cmp"
	"fmt"
	"image/color"
	"math"
	"slices"
	"strconv"
	"strings"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/tailgate-dev/tailgate/histogram"
	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Curve is one latency distribution: a histogram of microseconds (as
// tailgate records them) and the budget limits it is held to.
type Curve struct {
	Name   string // legend text: the budget line, "database (server-timing:db)"
	Hist   *hdrhistogram.Histogram
	Limits []Limit
}

// curvePoints is how many percentiles a curve is drawn through.
const curvePoints = 400

// Distribution draws each curve's latency against percentile on HdrHistogram's
// x axis, 1/(1−p) on a log scale (50%, 90%, 99%, 99.9% evenly spaced), with
// the budget limits marked: a limit above its curve is met, one below is not.
func Distribution(title string, curves []Curve) (*Figure, error) {
	// The unit is in every tick label: gonum sizes a centred label on a log
	// axis as if it sat at the axis's arithmetic middle, which pushes the
	// whole plot down.
	p := newPlot(title, "percentile", "")
	p.X.Scale, p.Y.Scale = gplot.LogScale{}, gplot.LogScale{}
	p.Y.Tick.Marker = msTicks{}
	legend := sideLegend()

	// The x axis reaches the decade of the largest sample count: beyond
	// 1/(1−p) = count every percentile is the maximum.
	var most int64
	for _, c := range curves {
		if c.Hist != nil {
			most = max(most, c.Hist.TotalCount())
		}
	}
	if most == 0 {
		return nil, fmt.Errorf("%s: %w", title, ErrNothingToDraw)
	}
	xMax := math.Pow(10, math.Ceil(math.Log10(float64(most))))
	xMax = min(max(xMax, 100), 1e6)
	for _, c := range curves {
		for _, l := range c.Limits {
			xMax = max(xMax, min(inverse(l.P)*1.5, 1e6))
		}
	}
	xMax = math.Pow(10, math.Ceil(math.Log10(xMax)))
	p.X.Min, p.X.Max = 1, xMax
	p.X.Tick.Marker = percentileTicks{}

	yMin, yMax := math.Inf(1), math.Inf(-1)
	fit := func(v float64) { yMin, yMax = min(yMin, v), max(yMax, v) }
	p.Add(grid{})
	var marks []budgetMark
	drawn := 0
	for i, c := range curves {
		if c.Hist == nil || c.Hist.TotalCount() == 0 {
			legend.Add(c.Name + ": no data")
			continue
		}
		col := colorAt(i)
		pts := make(plotter.XYs, 0, curvePoints)
		for k := range curvePoints {
			x := math.Pow(xMax, float64(k)/float64(curvePoints-1))
			q := 100 * (1 - 1/x)
			v := max(ms(histogram.ValueAt(c.Hist, q)), 0.001)
			pts = append(pts, plotter.XY{X: x, Y: v})
			// The axis starts at the lowest decile, not the minimum: one
			// near-zero sample (a gap between two tokens read at once) would
			// spend half the height on values nobody budgets. Below, the
			// curve is cut off.
			if q >= 10 {
				fit(v)
			}
		}
		line, err := plotter.NewLine(pts)
		if err != nil {
			return nil, errorf("%s: %v", c.Name, err)
		}
		line.Color, line.Width = col, vg.Points(2)
		line.StepStyle = plotter.PostStep
		p.Add(line)
		legend.Add(fmt.Sprintf("%s, %d samples", c.Name, c.Hist.TotalCount()), line)
		drawn++
		for _, l := range c.Limits {
			v := ms(l.D)
			fit(v)
			marks = append(marks, budgetMark{x: inverse(l.P), y: v, color: col, label: l.Label() + " ≤ " + l.D.String()})
		}
	}
	if drawn == 0 {
		return nil, fmt.Errorf("%s: %w", title, ErrNothingToDraw)
	}
	if len(marks) > 0 {
		p.Add(budgetMarks(marks))
		legend.Add("budget limit", budgetThumb{})
	}
	p.Y.Min, p.Y.Max = yMin/1.6, yMax*1.6
	return &Figure{Title: title, panels: []*gplot.Plot{p}, side: []*gplot.Legend{legend}, w: width, h: height}, nil
}

// inverse is HdrHistogram's x for percentile p: 1/(1−p), so p50 is 2, p99 100.
func inverse(p float64) float64 { return 100 / (100 - p) }

// percentileTicks label 1/(1−p) at 0%, 50%, 90%, 99%, 99.9%, …
type percentileTicks struct{}

func (percentileTicks) Ticks(lo, hi float64) []gplot.Tick {
	labels := map[float64]string{1: "0%", 2: "50%"}
	for e := 1; e <= 7; e++ {
		x := math.Pow10(e)
		p := strconv.FormatFloat(100*(1-1/x), 'f', e, 64)
		labels[x] = strings.TrimSuffix(strings.TrimRight(p, "0"), ".") + "%"
	}
	var out []gplot.Tick
	for e := 0; e <= 7; e++ {
		for d := 1; d <= 9; d++ {
			x := float64(d) * math.Pow10(e)
			if x >= lo*0.999 && x <= hi*1.001 {
				out = append(out, gplot.Tick{Value: x, Label: labels[x]})
			}
		}
	}
	return out
}

// budgetMark is a budget limit drawn on a distribution: a cross in the
// curve's colour, labelled.
type budgetMark struct {
	x, y  float64
	color color.Color
	label string
}

type budgetMarks []budgetMark

func (bm budgetMarks) Plot(c draw.Canvas, p *gplot.Plot) {
	trX, trY := p.Transforms(&c)
	sty := p.Legend.TextStyle
	sty.Font.Size = vg.Points(10)
	sty.XAlign, sty.YAlign = draw.XLeft, draw.YCenter
	gap := sty.Height("p99") * 1.1
	// Labels of limits at one percentile go top to bottom, at least a line
	// apart, so that close limits stay readable.
	order := slices.Clone(bm)
	slices.SortStableFunc(order, func(a, b budgetMark) int {
		return cmp.Or(cmp.Compare(a.x, b.x), cmp.Compare(b.y, a.y))
	})
	var prevX float64
	var prevY vg.Length
	for i, m := range order {
		pt := vg.Point{X: trX(m.x), Y: trY(m.y)}
		c.DrawGlyph(draw.GlyphStyle{Color: m.color, Radius: vg.Points(6), Shape: draw.CrossGlyph{}}, pt)
		c.DrawGlyph(draw.GlyphStyle{Color: m.color, Radius: vg.Points(7), Shape: draw.RingGlyph{}}, pt)
		ly := pt.Y
		if i > 0 && m.x == prevX && ly > prevY-gap {
			ly = prevY - gap
		}
		prevX, prevY = m.x, ly
		sty.Color = m.color
		at := vg.Point{X: pt.X + vg.Points(10), Y: ly}
		// A translucent white box keeps the label readable over a curve.
		r := sty.Rectangle(m.label).Add(at)
		pad := vg.Points(1.5)
		c.FillPolygon(color.NRGBA{R: 0xFF, G: 0xFF, B: 0xFF, A: 0xB0}, []vg.Point{
			{X: r.Min.X - pad, Y: r.Min.Y - pad}, {X: r.Max.X + pad, Y: r.Min.Y - pad},
			{X: r.Max.X + pad, Y: r.Max.Y + pad}, {X: r.Min.X - pad, Y: r.Max.Y + pad},
		})
		c.FillText(sty, at, m.label)
	}
}

// budgetThumb is the legend's picture of a budget limit.
type budgetThumb struct{}

func (budgetThumb) Thumbnail(c *draw.Canvas) {
	pt := c.Center()
	black := rgb(0x33, 0x33, 0x33)
	c.DrawGlyph(draw.GlyphStyle{Color: black, Radius: vg.Points(5), Shape: draw.CrossGlyph{}}, pt)
	c.DrawGlyph(draw.GlyphStyle{Color: black, Radius: vg.Points(6), Shape: draw.RingGlyph{}}, pt)
}
