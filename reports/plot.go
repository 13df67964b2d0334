// This file implements the plots of the HTML report with gonum.org/v1/plot, rendered to SVG.

package reports

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Plot sizes.
const (
	plotW = 6.4 * vg.Inch
	plotH = 3.4 * vg.Inch
)

var (
	colPass  = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
	colFail  = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
	colBound = color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}
	colGrey  = color.RGBA{R: 0x99, G: 0x99, B: 0x99, A: 0xff}
)

// ulpFloor is the smallest ulp error drawn on a log axis: the oracle resolves errors to 1/1000 ulp.
const ulpFloor = 1e-3

// HistogramSVG renders h as a histogram of log10(ulp error) with half-octave bars, plus a bar
// for exact zeros at the left and one for infinite errors at the right. It returns an SVG
// document.
func HistogramSVG(title string, h Histogram) ([]byte, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "ulp error (log scale)"
	p.Y.Label.Text = "cases"
	type bar struct{ lo, hi, n float64 }
	var bars []bar
	const group = HistSub / 2 // half octaves
	agg := map[int]int64{}
	for b, n := range h.Buckets {
		agg[b/group] += n
	}
	keys := make([]int, 0, len(agg))
	for k := range agg {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		lo, _ := BucketBounds(k * group)
		_, hi := BucketBounds(k*group + group - 1)
		bars = append(bars, bar{math.Log10(lo), math.Log10(hi), float64(agg[k])})
	}
	minX, maxX := math.Log10(ulpFloor), 1.0
	for _, b := range bars {
		minX, maxX = math.Min(minX, b.lo), math.Max(maxX, b.hi)
	}
	var ticks []plot.Tick
	for e := math.Ceil(minX); e <= maxX; e++ {
		ticks = append(ticks, plot.Tick{Value: e, Label: tenPow(e)})
	}
	if h.Below > 0 { // (0, 2^HistMinExp): drawn just left of the decades, unlabelled
		bars = append(bars, bar{minX - 0.5, minX, float64(h.Below)})
		minX -= 0.5
	}
	if h.Zero > 0 {
		bars = append(bars, bar{minX - 1, minX - 0.5, float64(h.Zero)})
		ticks = append(ticks, plot.Tick{Value: minX - 0.75, Label: "0"})
		minX -= 1
	}
	if h.Above+h.Inf > 0 {
		bars = append(bars, bar{maxX + 0.5, maxX + 1, float64(h.Above + h.Inf)})
		ticks = append(ticks, plot.Tick{Value: maxX + 0.75, Label: "huge/Inf"})
		maxX += 1.5
	}
	hist := &plotter.Histogram{FillColor: colPass, LineStyle: draw.LineStyle{Width: 0}} // no outline: half the SVG
	for _, b := range bars {
		hist.Bins = append(hist.Bins, plotter.HistogramBin{Min: b.lo, Max: b.hi, Weight: b.n})
	}
	if len(hist.Bins) == 0 {
		hist.Bins = []plotter.HistogramBin{{Min: 0, Max: 0.01, Weight: 0}}
	}
	p.Add(hist)
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	p.X.Min, p.X.Max = minX, maxX
	// The 0.5-ulp line (correct rounding) and the 1-ulp line (faithful rounding).
	for _, ref := range []float64{0.5, 1} {
		l, err := plotter.NewLine(plotter.XYs{{X: math.Log10(ref), Y: 0}, {X: math.Log10(ref), Y: maxBar(hist.Bins)}})
		if err != nil {
			return nil, err
		}
		l.Color, l.Dashes = colGrey, []vg.Length{vg.Points(3), vg.Points(3)}
		p.Add(l)
	}
	return renderSVG(p)
}

func maxBar(bins []plotter.HistogramBin) float64 {
	m := 1.0
	for _, b := range bins {
		m = math.Max(m, b.Weight)
	}
	return m
}

func tenPow(e float64) string {
	switch {
	case e >= -3 && e <= 3:
		return strconv.FormatFloat(math.Pow(10, e), 'f', -1, 64)
	default:
		return "1e" + strconv.Itoa(int(e))
	}
}

// ScatterSVG renders the ulp error of each point against x_max − x_min on a log ulp axis, red
// where the error exceeds the point's own bound, with each point's bound as a grey dot and the
// theoretical bound curve as a green line. Errors below 1/1000 ulp are drawn at 1/1000; infinite
// errors at the top as triangles. The x axis turns logarithmic when x_max − x_min spans more
// than three decades.
func ScatterSVG(title string, pts []Point, curve []XY) ([]byte, error) {
	// A point without a finite x_max − x_min (a row spanning ±max of fp64) or without a measured
	// error has no place on these axes.
	pts = slices.DeleteFunc(slices.Clone(pts), func(q Point) bool {
		x, y := float64(q.XRange), float64(q.ULP)
		return math.IsNaN(x) || math.IsInf(x, 0) || math.IsNaN(y)
	})
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = "ulp error (log scale)"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = decadeTicks{}
	maxX, maxY := 0.0, 1.0
	for _, q := range pts {
		maxX = math.Max(maxX, float64(q.XRange))
		if y := float64(q.ULP); !math.IsInf(y, 0) {
			maxY = math.Max(maxY, y)
		}
		if b := float64(q.Bound); !math.IsNaN(b) && !math.IsInf(b, 0) {
			maxY = math.Max(maxY, b)
		}
	}
	for _, c := range curve {
		if x := float64(c.X); !math.IsInf(x, 0) && !math.IsNaN(x) {
			maxX = math.Max(maxX, x)
		}
	}
	// Errors and bounds of backward kernels against tiny exact values reach 1e300 ulps and more;
	// beyond 1e100 the axis would overflow, so such values are drawn at the top.
	maxY = math.Min(maxY, 1e100)
	top := maxY * 10
	logX := maxX > 1000
	xv := func(x float64) float64 {
		if logX {
			return math.Max(x, 1e-2)
		}
		return x
	}
	if logX {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = decadeTicks{}
		p.X.Label.Text = "x_max − x_min (log scale, values below 0.01 drawn at 0.01)"
	} else {
		p.X.Label.Text = "x_max − x_min"
	}
	yv := func(y float64) float64 { return math.Min(math.Max(y, ulpFloor), top) }
	var pass, fail, inf, bounds plotter.XYs
	for _, q := range pts {
		x, y, b := xv(float64(q.XRange)), float64(q.ULP), float64(q.Bound)
		switch {
		case math.IsInf(y, 0):
			inf = append(inf, plotter.XY{X: x, Y: top})
		case !math.IsNaN(b) && y > b:
			fail = append(fail, plotter.XY{X: x, Y: yv(y)})
		default:
			pass = append(pass, plotter.XY{X: x, Y: yv(y)})
		}
		if !math.IsNaN(b) && !math.IsInf(b, 0) {
			bounds = append(bounds, plotter.XY{X: x, Y: yv(b)})
		}
	}
	add := func(xy plotter.XYs, col color.Color, shape draw.GlyphDrawer, r vg.Length, name string) error {
		if len(xy) == 0 {
			return nil
		}
		s, err := plotter.NewScatter(xy)
		if err != nil {
			return err
		}
		s.GlyphStyle = draw.GlyphStyle{Color: col, Radius: r, Shape: shape}
		p.Add(s)
		p.Legend.Add(name, s)
		return nil
	}
	if err := add(bounds, colGrey, draw.CircleGlyph{}, vg.Points(1.2), "the case's tolerance"); err != nil {
		return nil, err
	}
	if err := add(pass, colPass, draw.CircleGlyph{}, vg.Points(2), "within tolerance"); err != nil {
		return nil, err
	}
	if err := add(fail, colFail, draw.CircleGlyph{}, vg.Points(2.5), "beyond tolerance"); err != nil {
		return nil, err
	}
	if err := add(inf, colFail, draw.TriangleGlyph{}, vg.Points(3), "infinite error"); err != nil {
		return nil, err
	}
	if len(curve) > 0 {
		c := slices.Clone(curve)
		slices.SortFunc(c, func(a, b XY) int { return cmpFloat(float64(a.X), float64(b.X)) })
		var xy plotter.XYs
		for _, q := range c {
			if !math.IsNaN(float64(q.Y)) && !math.IsInf(float64(q.Y), 0) {
				xy = append(xy, plotter.XY{X: xv(float64(q.X)), Y: yv(float64(q.Y))})
			}
		}
		if len(xy) > 1 {
			l, err := plotter.NewLine(xy)
			if err != nil {
				return nil, err
			}
			l.Color, l.Width = colBound, vg.Points(1.5)
			p.Add(l)
			p.Legend.Add("theoretical bound", l)
		}
	}
	if len(pts) == 0 && len(curve) == 0 {
		s, _ := plotter.NewScatter(plotter.XYs{{X: xv(1), Y: 1}})
		s.GlyphStyle.Radius = 0
		p.Add(s)
	}
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.TextStyle.Font.Size = vg.Points(8)
	p.Y.Max = top * 1e3 // headroom for the legend above the data
	return renderSVG(p)
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func renderSVG(p *plot.Plot) (out []byte, err error) {
	defer func() {
		if e := recover(); e != nil { // gonum plot panics on degenerate log ranges
			out, err = nil, fmt.Errorf("reports: plot: %v", e)
		}
	}()
	c := vgsvg.New(plotW, plotH)
	p.Draw(draw.New(c))
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// decadeTicks labels powers of ten on a log axis, at most about eight of them (every k-th decade
// when the axis spans more), so that an axis over 1e-2 … 1e38 stays readable.
type decadeTicks struct{}

func (decadeTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(lo > 0) || !(hi > lo) {
		return nil
	}
	a, b := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
	step := math.Max(1, math.Ceil((b-a)/8))
	var ts []plot.Tick
	for e := a; e <= b; e++ {
		v := math.Pow(10, e)
		if v < lo || v > hi {
			continue
		}
		t := plot.Tick{Value: v}
		if math.Mod(e-a, step) == 0 {
			t.Label = tenPow(e)
		} else if step > 2 {
			continue // an unlabelled tick per decade over a hundred decades is noise (and bytes)
		}
		ts = append(ts, t)
	}
	return ts
}
