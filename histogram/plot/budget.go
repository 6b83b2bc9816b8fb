package plot

import (
	"image/color"
	"time"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Bar is one budgeted percentile of one line, observed against its limit.
type Bar struct {
	Line     string
	P        float64
	Observed time.Duration
	HasData  bool
	Limit    time.Duration
	Over     bool // as judged: beyond the limit by more than HDR precision
}

// Budget draws each bar as observed / budget in percent, green within the
// budget and red over it, labelled with both values; 100% is the budget.
func Budget(title string, bars []Bar) (*Figure, error) {
	if len(bars) == 0 {
		return nil, errorf("%s: no budget lines to draw", title)
	}
	p := newPlot(title, "", "observed / budget (%)")
	p.Y.Tick.Marker = linearTicks{unit: "%"}
	p.Y.Min = 0
	names := make([]string, len(bars))
	top := 100.0
	for i, b := range bars {
		names[i] = b.Line + "\n" + pLabel(b.P)
		if b.HasData && b.Limit > 0 {
			top = max(top, ratio(b))
		}
	}
	p.NominalX(names...)
	p.X.Tick.Label.Font.Size = vg.Points(11)
	p.Add(grid{noX: true})
	p.Add(budgetBars(bars))
	p.X.Min, p.X.Max = -0.6, float64(len(bars))-0.4
	p.Y.Max = top * 1.22
	line, err := plotter.NewLine(plotter.XYs{{X: p.X.Min, Y: 100}, {X: p.X.Max, Y: 100}})
	if err != nil {
		return nil, errorf("%s: %v", title, err)
	}
	line.Color, line.Width, line.Dashes = colBudget, vg.Points(1.5), []vg.Length{vg.Points(6), vg.Points(4)}
	p.Add(line)
	p.Legend.Add("within budget", swatch{colOK})
	p.Legend.Add("over budget", swatch{colOver})
	p.Legend.Add("budget (100%)", line)
	p.Legend.Top, p.Legend.Left = true, false
	p.Legend.XOffs = -0.1 * vg.Inch
	return &Figure{Title: title, panels: []*gplot.Plot{p}, w: width + 1.5*vg.Inch, h: height}, nil
}

func ratio(b Bar) float64 { return 100 * float64(b.Observed) / float64(b.Limit) }

// budgetBars draws one bar per budgeted percentile, coloured by verdict.
type budgetBars []Bar

func (bb budgetBars) Plot(c draw.Canvas, p *gplot.Plot) {
	trX, trY := p.Transforms(&c)
	sty := p.Legend.TextStyle
	sty.Font.Size = vg.Points(10)
	if len(bb) > 12 {
		sty.Font.Size = vg.Points(8) // narrower bars
	}
	sty.XAlign, sty.YAlign = draw.XCenter, draw.YBottom
	half := (trX(1) - trX(0)) * 0.3
	for i, b := range bb {
		x := trX(float64(i))
		if !b.HasData {
			sty.Color = colNoData
			c.FillText(sty, vg.Point{X: x, Y: trY(0) + vg.Points(4)}, "no data")
			continue
		}
		col := colOK
		if b.Over {
			col = colOver
		}
		y0, y1 := trY(0), trY(ratio(b))
		c.FillPolygon(col, []vg.Point{{X: x - half, Y: y0}, {X: x + half, Y: y0}, {X: x + half, Y: y1}, {X: x - half, Y: y1}})
		sty.Color = color.Black
		c.FillText(sty, vg.Point{X: x, Y: y1 + vg.Points(3)}, Duration(b.Observed)+" / "+b.Limit.String())
	}
}

// swatch is a legend entry of a filled colour.
type swatch struct{ c color.Color }

func (s swatch) Thumbnail(c *draw.Canvas) {
	r := c.Rectangle
	h := r.Max.Y - r.Min.Y
	c.FillPolygon(s.c, []vg.Point{{X: r.Min.X, Y: r.Min.Y + h*0.1}, {X: r.Max.X, Y: r.Min.Y + h*0.1}, {X: r.Max.X, Y: r.Max.Y - h*0.1}, {X: r.Min.X, Y: r.Max.Y - h*0.1}})
}
