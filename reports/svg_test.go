package reports

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestInlineSVGDrawsTheSame compares gonum's SVG of each plot of the synthetic report with what
// inlineSVG makes of it, read independently with regular expressions: every circle glyph is a
// dot of its colour and diameter at its centre, every text is at its place on the page (vgsvg
// flips the y axis), and every other subpath is still drawn; the result is much smaller.
func TestInlineSVGDrawsTheSame(t *testing.T) {
	r, err := synthRun(3, 600, 0, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	var docs [][]byte
	for _, c := range r.Cells {
		if c.Hist.Total() == 0 {
			continue
		}
		h, err := HistogramSVG("h "+c.Kernel, c.Hist)
		if err != nil {
			t.Fatal(err)
		}
		s, err := ScatterSVG("s "+c.Kernel, c.Points, c.BoundCurve)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, h, s)
	}
	if len(docs) != 4 {
		t.Fatalf("%d plots, want 4", len(docs))
	}
	circle := regexp.MustCompile(`<path d="M(-?[0-9.]+),(-?[0-9.]+)A([0-9.]+),[0-9.]+ 0 1 1 [^"]*Z" style="fill:(#[0-9A-F]{6})" />`)
	text := regexp.MustCompile(`<text x="(-?[0-9.]+)" y="(-?[0-9.]+)" transform="scale\(1, -1\)"\s+style="[^"]*font-size:([0-9]+)px">([^<]*)</text>`)
	path := regexp.MustCompile(`<path d="([^"]*)"`)
	num := func(s string) float64 {
		x, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	for i, doc := range docs {
		in := string(doc)
		out := inlineSVG(doc)
		if strings.Contains(out, "<?xml") || !strings.HasPrefix(out, "<svg") {
			t.Fatalf("plot %d: not rewritten: %.300s", i, out)
		}
		if len(out) > len(in)/2 {
			t.Errorf("plot %d: %d bytes from %d, want less than half", i, len(out), len(in))
		}
		// Dots: "Mx yh0" in a path of the glyph's colour and diameter.
		dots := map[string]bool{}
		for _, m := range regexp.MustCompile(`<path d="([^"]*)" stroke="(#[0-9A-F]{6})" stroke-width="([0-9.]+)"`).FindAllStringSubmatch(out, -1) {
			for _, d := range regexp.MustCompile(`M(-?[0-9.]+) (-?[0-9.]+)h0`).FindAllStringSubmatch(m[1], -1) {
				dots[m[2]+" "+m[3]+" "+strconv.FormatFloat(num(d[1]), 'f', 1, 64)+" "+strconv.FormatFloat(num(d[2]), 'f', 1, 64)] = true
			}
		}
		circles := circle.FindAllStringSubmatch(in, -1)
		for _, c := range circles {
			x, y, r := num(c[1]), num(c[2]), num(c[3])
			found := false
			for _, dx := range []float64{-0.1, 0, 0.1} { // rounding of the centre to 0.1
				for _, dy := range []float64{-0.1, 0, 0.1} {
					k := c[4] + " " + strconv.FormatFloat(2*r, 'f', -1, 64) + " " + strconv.FormatFloat(math.Round((x-r+dx)*10)/10, 'f', 1, 64) +
						" " + strconv.FormatFloat(math.Round((y+dy)*10)/10, 'f', 1, 64)
					found = found || dots[k]
				}
			}
			if !found {
				t.Errorf("plot %d: circle at (%v, %v) r %v %s not drawn", i, x-r, y, r, c[4])
			}
		}
		// Texts: at (x, H + y) in the unflipped page (the rotated axis label excepted).
		const H = 244.8
		for _, m := range text.FindAllStringSubmatch(in, -1) {
			x, y := num(m[1]), num(m[2])
			if y > 0 { // inside the rotate(90) group: kept with its own flip
				if !strings.Contains(out, ">"+m[4]+"</text>") {
					t.Errorf("plot %d: rotated text %q lost", i, m[4])
				}
				continue
			}
			want := regexp.MustCompile(`<text x="(-?[0-9.]+)" y="(-?[0-9.]+)">` + regexp.QuoteMeta(m[4]) + `</text>`)
			group := regexp.MustCompile(`<g class="svgf` + m[3] + `">(.*)</g>`).FindStringSubmatch(out)
			found := false
			if group != nil {
				for _, g := range want.FindAllStringSubmatch(group[1], -1) {
					found = found || math.Abs(num(g[1])-x) <= 0.051 && math.Abs(num(g[2])-(H+y)) <= 0.051
				}
			}
			if !found {
				t.Errorf("plot %d: text %q (%spx) not at (%v, %v)", i, m[4], m[3], x, H+y)
			}
		}
		// Other marks: as many subpaths as gonum drew besides the circles.
		subpaths := func(s string, skipDots bool) int {
			n := 0
			for _, m := range path.FindAllStringSubmatch(s, -1) {
				if !skipDots || !strings.Contains(m[0], "h0") {
					n += strings.Count(m[1], "M")
				}
			}
			return n
		}
		if got, want := subpaths(out, true), subpaths(in, false)-len(circles); got != want {
			t.Errorf("plot %d: %d subpaths besides the dots, want %d", i, got, want)
		}
	}
}
