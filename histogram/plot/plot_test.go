package plot

import (
	"bytes"
	"encoding/xml"
	"image"
	_ "image/png"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/tailgate-dev/tailgate/histogram"
)

// lognormal fills a histogram (µs) with n samples whose median is p50 and
// whose p99 is p99.
func lognormal(seed uint64, n int, p50, p99 time.Duration) *hdrhistogram.Histogram {
	rng := rand.New(rand.NewPCG(seed, 2))
	h := hdrhistogram.New(1, 3_600_000_000, 3)
	mu := math.Log(float64(p50 / time.Microsecond))
	sigma := (math.Log(float64(p99/time.Microsecond)) - mu) / 2.326
	for range n {
		_ = h.RecordValue(int64(math.Exp(mu + sigma*rng.NormFloat64())))
	}
	return h
}

// checkFigure writes f as PNG and SVG and checks both decode: a PNG image
// of the figure's size, an SVG document that parses. With
// TAILGATE_PLOT_DIR set, the files are kept there to be looked at.
func checkFigure(t *testing.T, f *Figure, name string) {
	t.Helper()
	dir := os.Getenv("TAILGATE_PLOT_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	var png, svg bytes.Buffer
	if err := f.WritePNG(&png); err != nil {
		t.Fatal(err)
	}
	if err := f.WriteSVG(&svg); err != nil {
		t.Fatal(err)
	}
	img, format, err := image.Decode(bytes.NewReader(png.Bytes()))
	if err != nil || format != "png" {
		t.Fatalf("%s.png: %v (%s)", name, err, format)
	}
	if b := img.Bounds(); b.Dx() < 800 || b.Dy() < 500 {
		t.Errorf("%s.png is %dx%d, want a readable size", name, b.Dx(), b.Dy())
	}
	dec := xml.NewDecoder(bytes.NewReader(svg.Bytes()))
	root := ""
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s.svg: %v", name, err)
		}
		if se, ok := tok.(xml.StartElement); ok && root == "" {
			root = se.Name.Local
		}
	}
	if root != "svg" {
		t.Errorf("%s.svg: root element %q", name, root)
	}
	if !strings.Contains(svg.String(), f.Title) {
		t.Errorf("%s.svg does not show its title %q", name, f.Title)
	}
	for ext, b := range map[string][]byte{".png": png.Bytes(), ".svg": svg.Bytes()} {
		if err := os.WriteFile(filepath.Join(dir, name+ext), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDistribution(t *testing.T) {
	f, err := Distribution("llm-chat: latency by percentile", []Curve{
		{Name: "rtt (connect)", Hist: lognormal(1, 300, 41*time.Millisecond, 48*time.Millisecond), Limits: []Limit{{95, 70 * time.Millisecond}, {99, 90 * time.Millisecond}}},
		{Name: "database (server-timing:db)", Hist: lognormal(2, 5000, 8*time.Millisecond, 110*time.Millisecond), Limits: []Limit{{95, 40 * time.Millisecond}, {99, 80 * time.Millisecond}}},
		{Name: "ttft", Hist: lognormal(3, 5000, 300*time.Millisecond, 1200*time.Millisecond), Limits: []Limit{{95, 700 * time.Millisecond}, {99, 1100 * time.Millisecond}}},
		{Name: "total", Hist: lognormal(4, 5000, 900*time.Millisecond, 2100*time.Millisecond), Limits: []Limit{{95, 1600 * time.Millisecond}, {99, 2400 * time.Millisecond}}},
		{Name: "tls (no data)", Hist: nil},
	})
	if err != nil {
		t.Fatal(err)
	}
	checkFigure(t, f, "latency-distribution")

	if _, err := Distribution("empty", []Curve{{Name: "x"}}); err == nil {
		t.Error("a distribution of nothing: want an error")
	}
}

func TestPercentileTicks(t *testing.T) {
	var labels []string
	for _, tk := range (percentileTicks{}).Ticks(1, 1e5) {
		if tk.Label != "" {
			labels = append(labels, tk.Label)
		}
	}
	if got := strings.Join(labels, " "); got != "0% 50% 90% 99% 99.9% 99.99% 99.999%" {
		t.Errorf("labels %q", got)
	}
	if inverse(99) != 100 || inverse(50) != 2 {
		t.Errorf("inverse(99) = %g", inverse(99))
	}
}

func TestOverTime(t *testing.T) {
	var tl Timeline
	tl.Source = "total"
	tl.Percentiles = []float64{50, 95, 99}
	tl.Limits = []Limit{{95, 1600 * time.Millisecond}, {99, 2400 * time.Millisecond}}
	for s := range 60 {
		start, end := time.Duration(s)*time.Second, time.Duration(s+1)*time.Second
		planned := 40.0
		if s%10 < 2 {
			planned = 200 // bursts
		}
		load := planned / 40
		h := lognormal(uint64(s), 200, time.Duration(load*500)*time.Millisecond, time.Duration(load*1400)*time.Millisecond)
		tl.Latency = append(tl.Latency, TimePoint{Start: start, End: end, Values: []time.Duration{
			histogram.ValueAt(h, 50),
			histogram.ValueAt(h, 95),
			histogram.ValueAt(h, 99),
		}})
		tl.Rate = append(tl.Rate, RatePoint{Start: start, End: end, Planned: planned, Achieved: planned * (0.9 + 0.1*math.Sin(float64(s)))})
	}
	f, err := OverTime("llm-chat: total latency and request rate over time", tl)
	if err != nil {
		t.Fatal(err)
	}
	checkFigure(t, f, "latency-over-time")
}

func TestBudget(t *testing.T) {
	f, err := Budget("llm-chat: observed against budget", []Bar{
		{Line: "rtt", P: 95, Observed: 41200 * time.Microsecond, HasData: true, Limit: 70 * time.Millisecond},
		{Line: "rtt", P: 99, Observed: 44 * time.Millisecond, HasData: true, Limit: 90 * time.Millisecond},
		{Line: "tls", P: 95, Limit: 80 * time.Millisecond},
		{Line: "tls", P: 99, Limit: 110 * time.Millisecond},
		{Line: "database", P: 95, Observed: 38 * time.Millisecond, HasData: true, Limit: 40 * time.Millisecond},
		{Line: "database", P: 99, Observed: 131 * time.Millisecond, HasData: true, Limit: 80 * time.Millisecond, Over: true},
		{Line: "ttft", P: 95, Observed: 512 * time.Millisecond, HasData: true, Limit: 700 * time.Millisecond},
		{Line: "ttft", P: 99, Observed: 1320 * time.Millisecond, HasData: true, Limit: 1100 * time.Millisecond, Over: true},
		{Line: "total", P: 95, Observed: 1410 * time.Millisecond, HasData: true, Limit: 1600 * time.Millisecond},
		{Line: "total", P: 99, Observed: 2200 * time.Millisecond, HasData: true, Limit: 2400 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	checkFigure(t, f, "budget-vs-observed")
}

func TestDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		41200 * time.Microsecond:  "41.2ms",
		131 * time.Millisecond:    "131ms",
		2200 * time.Millisecond:   "2.20s",
		1500 * time.Microsecond:   "1.50ms",
		800 * time.Microsecond:    "800µs",
		15 * time.Second:          "15.0s",
		999700 * time.Microsecond: "1.00s", // as the verdict table says it, not 1000ms
	} {
		if got := Duration(d); got != want {
			t.Errorf("Duration(%v) = %q, want %q", d, got, want)
		}
	}
}
