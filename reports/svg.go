// This file implements inlineSVG: gonum's SVG documents rewritten small for the HTML report.

package reports

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// inlineSVG returns the SVG document doc (as vgsvg writes it) as an <svg> element to embed in
// HTML, drawing the same picture in a fraction of the bytes:
//
//	coordinates                      rounded to 0.1 pt (a tenth of a point: invisible)
//	a circle glyph (two arcs)        a zero-length line with round caps of the circle's diameter
//	consecutive paths of one style   one path (for filled shapes: the union, as they do not overlap;
//	                                 a dot at the place of another of its colour and size once)
//	lines along an axis              H and V commands
//	text                             placed in the SVG's own coordinates instead of the flipped
//	                                 plot's (no per-text transform), in one group per font size
//	                                 styled by a class of the report's style sheet
//
// so that z-order is kept (only runs of consecutive elements are joined; text, which gonum draws
// above nothing it could hide, goes last). A document of another shape than vgsvg's is only
// stripped of its XML prolog.
func inlineSVG(doc []byte) string {
	if s, err := compactSVG(doc); err == nil {
		return s
	}
	s := string(doc)
	if i := strings.Index(s, "<svg"); i >= 0 {
		s = s[i:]
	}
	return s
}

var (
	// vgsvg's flip of the y axis: scale(1, -1) translate(0, −H).
	svgFlip = regexp.MustCompile(`^scale\(1, -1\) translate\(0, (-?[0-9.]+)\)$`)
	// M x,y A r,r 0 1 1 x−2r,y A r,r 0 1 1 x,y Z: gonum's CircleGlyph.
	svgCircle = regexp.MustCompile(`^M(-?[0-9.]+),(-?[0-9.]+)A([0-9.]+),([0-9.]+) 0 1 1 (-?[0-9.]+),(-?[0-9.]+)A[0-9.]+,[0-9.]+ 0 1 1 (-?[0-9.]+),(-?[0-9.]+)Z$`)
	svgFill   = regexp.MustCompile(`^fill:(#[0-9A-Fa-f]{6})$`)
	svgFont   = regexp.MustCompile(`^font-family:Liberation Serif;font-variant:normal;font-weight:normal;font-style:normal;font-size:(8|9|10|11|12|14)px$`)
)

// svgStyleClass maps vgsvg styles to classes of the report's style sheet (htmlStyle).
var svgStyleClass = map[string]string{
	"fill:none;stroke:#000000;stroke-width:0.5": "svgtk",
	"fill:#1F77B4": "svgbar",
}

// svgNum writes x rounded to 0.1 without a leading zero ("-.5", ".3", "12").
func svgNum(x float64) string {
	x = math.Round(x*10) / 10
	if x == 0 {
		return "0"
	}
	s := strconv.FormatFloat(x, 'f', -1, 64)
	if strings.HasPrefix(s, "0.") {
		return s[1:]
	}
	if strings.HasPrefix(s, "-0.") {
		return "-" + s[2:]
	}
	return s
}

func attrs(se xml.StartElement) map[string]string {
	m := map[string]string{}
	for _, a := range se.Attr {
		m[a.Name.Local] = a.Value
	}
	return m
}

// svgRun is the element being built from consecutive elements of one kind.
type svgRun struct {
	key  string // "dot|colour|width" or "path|style": elements of the same key join
	d    strings.Builder
	dots map[string]bool // the dots of the run: one drawn twice in a colour shows once
}

func compactSVG(doc []byte) (string, error) {
	dec := xml.NewDecoder(bytes.NewReader(doc))
	var out strings.Builder
	texts := map[string]*strings.Builder{} // by font class
	var fonts []string
	var run svgRun
	flush := func() {
		if run.key == "" {
			return
		}
		parts := strings.SplitN(run.key, "|", 3)
		switch parts[0] {
		case "dot":
			fmt.Fprintf(&out, `<path d="%s" stroke="%s" stroke-width="%s" stroke-linecap="round"/>`+"\n", run.d.String(), parts[1], parts[2])
		case "path":
			if c, ok := svgStyleClass[parts[1]]; ok {
				fmt.Fprintf(&out, `<path d="%s" class="%s"/>`+"\n", run.d.String(), c)
			} else {
				fmt.Fprintf(&out, `<path d="%s" style="%s"/>`+"\n", run.d.String(), parts[1])
			}
		}
		run = svgRun{}
	}
	add := func(key, d string) {
		if key != run.key {
			flush()
			run.key, run.dots = key, map[string]bool{}
		}
		if strings.HasPrefix(key, "dot|") {
			if run.dots[d] {
				return
			}
			run.dots[d] = true
		}
		run.d.WriteString(d)
	}
	height := 0.0
	depth := 0       // element depth below <svg>
	rotated := false // inside vgsvg's rotate(90) group (the y-axis label)
	sawSVG := false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			a := attrs(t)
			switch {
			case t.Name.Local == "svg" && !sawSVG:
				sawSVG = true
				fmt.Fprintf(&out, `<svg width="%s" height="%s" viewBox="%s">`+"\n", a["width"], a["height"], a["viewBox"])
			case t.Name.Local == "g" && depth == 1:
				m := svgFlip.FindStringSubmatch(a["transform"])
				if m == nil {
					return "", fmt.Errorf("svg: unexpected group %v", a)
				}
				h, err := strconv.ParseFloat(m[1], 64)
				if err != nil {
					return "", err
				}
				height = -h
				fmt.Fprintf(&out, `<g transform="matrix(1 0 0 -1 0 %s)">`+"\n", strconv.FormatFloat(height, 'f', -1, 64))
			case t.Name.Local == "g" && depth == 2 && a["transform"] == "rotate(90)":
				flush()
				rotated = true
				out.WriteString(`<g transform="rotate(90)">`)
			case t.Name.Local == "path" && depth == 2:
				if err := compactPath(a["d"], a["style"], add); err != nil {
					return "", err
				}
			case t.Name.Local == "text" && (depth == 2 || depth == 3 && rotated):
				if a["transform"] != "scale(1, -1)" {
					return "", fmt.Errorf("svg: unexpected text transform %q", a["transform"])
				}
				m := svgFont.FindStringSubmatch(a["style"])
				if m == nil {
					return "", fmt.Errorf("svg: unexpected text style %q", a["style"])
				}
				x, err1 := strconv.ParseFloat(a["x"], 64)
				y, err2 := strconv.ParseFloat(a["y"], 64)
				if err1 != nil || err2 != nil {
					return "", fmt.Errorf("svg: bad text position %q, %q", a["x"], a["y"])
				}
				var content strings.Builder
				for {
					tok, err := dec.Token()
					if err != nil {
						return "", err
					}
					if cd, ok := tok.(xml.CharData); ok {
						xml.EscapeText(&content, cd)
						continue
					}
					if _, ok := tok.(xml.EndElement); ok {
						break
					}
					return "", fmt.Errorf("svg: markup inside text")
				}
				if rotated {
					// Kept in place: in the rotated group, with its own flip.
					fmt.Fprintf(&out, `<text x="%s" y="%s" transform="scale(1,-1)" class="svgf%s">%s</text>`, svgNum(x), svgNum(y), m[1], content.String())
				} else {
					// In the flipped group, (x, y) under scale(1, −1) lands at (x, height + y).
					tb := texts[m[1]]
					if tb == nil {
						tb = &strings.Builder{}
						texts[m[1]] = tb
						fonts = append(fonts, m[1])
					}
					fmt.Fprintf(tb, `<text x="%s" y="%s">%s</text>`, svgNum(x), svgNum(height+y), content.String())
				}
				continue // the end element was consumed
			default:
				return "", fmt.Errorf("svg: unexpected <%s> at depth %d", t.Name.Local, depth)
			}
			depth++
		case xml.EndElement:
			depth--
			switch {
			case t.Name.Local == "g" && rotated && depth == 2:
				rotated = false
				out.WriteString("</g>\n")
			case t.Name.Local == "g" && depth == 1:
				flush()
				out.WriteString("</g>\n")
				for _, f := range fonts {
					fmt.Fprintf(&out, "<g class=\"svgf%s\">%s</g>\n", f, texts[f].String())
				}
			case t.Name.Local == "svg":
				out.WriteString("</svg>")
			}
		}
	}
	if !sawSVG || height == 0 || depth != 0 {
		return "", fmt.Errorf("svg: not a vgsvg document")
	}
	return out.String(), nil
}

// compactPath adds the path (d, style) to the current run: a circle glyph as a dot, any other
// path with its coordinates rounded and its axis-parallel lines as H and V.
func compactPath(d, style string, add func(key, d string)) error {
	if m := svgCircle.FindStringSubmatch(d); m != nil {
		if f := svgFill.FindStringSubmatch(style); f != nil {
			var v [8]float64
			for i := range v {
				x, err := strconv.ParseFloat(m[i+1], 64)
				if err != nil {
					return err
				}
				v[i] = x
			}
			x, y, r := v[0], v[1], v[2]
			// vgsvg prints five significant digits: the arcs' ends agree to that precision.
			same := func(a, b float64) bool { return math.Abs(a-b) <= 0.02 }
			if same(v[3], r) && same(v[4], x-2*r) && same(v[5], y) && same(v[6], x) && same(v[7], y) {
				add("dot|"+f[1]+"|"+strconv.FormatFloat(2*r, 'f', -1, 64), "M"+svgNum(x-r)+" "+svgNum(y)+"h0")
				return nil
			}
		}
	}
	var b strings.Builder
	toks := pathTokens(d)
	var cx, cy, sx, sy float64
	for i := 0; i < len(toks); {
		cmd := toks[i]
		i++
		args := func(n int) ([]float64, error) {
			if i+n > len(toks) {
				return nil, fmt.Errorf("svg: short path %q", d)
			}
			v := make([]float64, n)
			for j := range v {
				x, err := strconv.ParseFloat(toks[i+j], 64)
				if err != nil {
					return nil, fmt.Errorf("svg: path %q: %v", d, err)
				}
				v[j] = x
			}
			i += n
			return v, nil
		}
		switch cmd {
		case "M", "L":
			v, err := args(2)
			if err != nil {
				return err
			}
			x, y := v[0], v[1]
			switch {
			case cmd == "M":
				b.WriteString("M" + svgNum(x) + " " + svgNum(y))
				sx, sy = x, y
			case svgNum(x) == svgNum(cx):
				b.WriteString("V" + svgNum(y))
			case svgNum(y) == svgNum(cy):
				b.WriteString("H" + svgNum(x))
			default:
				b.WriteString("L" + svgNum(x) + " " + svgNum(y))
			}
			cx, cy = x, y
		case "A":
			v, err := args(7)
			if err != nil {
				return err
			}
			fmt.Fprintf(&b, "A%s %s %s %s %s %s %s", svgNum(v[0]), svgNum(v[1]), svgNum(v[2]),
				strconv.FormatFloat(v[3], 'f', -1, 64), strconv.FormatFloat(v[4], 'f', -1, 64), svgNum(v[5]), svgNum(v[6]))
			cx, cy = v[5], v[6]
		case "Z":
			b.WriteString("Z")
			cx, cy = sx, sy
		default:
			return fmt.Errorf("svg: path command %q in %q", cmd, d)
		}
	}
	add("path|"+style, b.String())
	return nil
}

// pathTokens splits path data into commands and numbers (vgsvg writes "M1,2L3,4A5,5 0 1 1 6,7Z").
func pathTokens(d string) []string {
	var toks []string
	cur := strings.Builder{}
	end := func() {
		if cur.Len() > 0 {
			toks = append(toks, cur.String())
			cur.Reset()
		}
	}
	for _, r := range d {
		switch {
		case r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' && r != 'e':
			end()
			toks = append(toks, string(r))
		case r == ',' || r == ' ' || r == '\t' || r == '\n':
			end()
		case r == '-' && cur.Len() > 0 && !strings.HasSuffix(cur.String(), "e"):
			end()
			cur.WriteRune(r)
		default:
			cur.WriteRune(r)
		}
	}
	end()
	return toks
}
