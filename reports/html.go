// This file implements the self-contained HTML writer.

package reports

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"slices"
	"strings"
)

const htmlStyle = `body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;max-width:1150px;color:#222;padding:0 1em}
table{border-collapse:collapse;margin:1em 0;font-size:13px}th,td{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.n{text-align:right;font-variant-numeric:tabular-nums}tr.fail td{background:#fff0f0}tr.xfail td{background:#fff8e6}
code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}pre{background:#f7f7f7;padding:.6em;overflow-x:auto}
figure{margin:1em 0;display:inline-block;vertical-align:top}figure svg{max-width:100%;height:auto}figcaption{font-size:12px;color:#555}
.finding{border-left:4px solid #d62728;padding-left:1em;margin:1.5em 0}.muted{color:#777}`

// WriteHTML writes r as one self-contained HTML5 document (no external resources): the run's
// header, the kernels' declarations, the summary table, the plots as inline SVG (an ulp-error
// histogram per kernel, operation, format and measuring property; ulp error against
// x_max − x_min with the bound), and the findings with their counterexamples.
func WriteHTML(w io.Writer, r *Report) error {
	c := *r
	c.Kernels, c.Cells = slices.Clone(r.Kernels), slices.Clone(r.Cells)
	normalize(&c)
	r = &c
	b := bufio.NewWriter(w)
	e := html.EscapeString
	fmt.Fprintf(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>ulpcheck report (seed %d)</title>\n<style>%s</style>\n</head>\n<body>\n", r.Seed, htmlStyle)
	fmt.Fprintf(b, "<h1>ulpcheck report</h1>\n<p>Schema <code>%s</code>, harness <code>%s</code>, seed %d, %s, %d cases.",
		e(r.Schema), e(r.Version), r.Seed, e(shardText(r.Shard)), r.Cases)
	if r.Timing != nil {
		fmt.Fprintf(b, " Run from %s to %s.", r.Timing.Started.UTC().Format("2006-01-02 15:04:05Z"),
			r.Timing.Finished.UTC().Format("2006-01-02 15:04:05Z"))
	}
	b.WriteString("</p>\n")
	expectFail := map[string]bool{}
	if len(r.Kernels) > 0 {
		b.WriteString("<h2 id=\"kernels\">Kernels</h2>\n<table>\n<tr><th>kernel</th><th>op</th><th>in → out (acc)</th><th>algorithm</th><th>masked rows</th><th>flags</th><th>notes</th></tr>\n")
		for _, k := range r.Kernels {
			expectFail[k.Name] = k.ExpectFail
			acc := ""
			if k.Acc != "" {
				acc = " (" + k.Acc + ")"
			}
			fmt.Fprintf(b, "<tr><td>%s</td><td>%s</td><td>%s → %s%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n",
				e(k.Name), e(k.Op), e(k.In), e(k.Out), e(acc), e(k.Algorithm), e(k.MaskPolicy), e(kernelFlags(k)), e(k.Notes))
		}
		b.WriteString("</table>\n")
	}
	b.WriteString("<h2 id=\"summary\">Summary</h2>\n<p class=\"muted\">Ulp errors against the exact value; p50 and p99 are upper bounds from a histogram with 1/16-octave buckets.</p>\n<table>\n")
	b.WriteString("<tr><th>kernel</th><th>op</th><th>format</th><th>property</th><th>cases</th><th>failures</th><th>max ulp</th><th>p50 ulp</th><th>p99 ulp</th><th>first counterexample</th></tr>\n")
	for i := range r.Cells {
		cl := &r.Cells[i]
		class := ""
		if cl.Failures > 0 {
			class = " class=\"fail\""
			if expectFail[cl.Kernel] {
				class = " class=\"xfail\""
			}
		}
		first := ""
		if f := cl.First(); f != nil {
			first = fmt.Sprintf("<a href=\"#%s\">%s</a>", anchor(cl, f), e(shortExample(f)))
		}
		fmt.Fprintf(b, "<tr%s><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td class=\"n\">%d</td><td class=\"n\">%s</td><td class=\"n\">%s</td><td class=\"n\">%s</td><td class=\"n\">%s</td><td>%s</td></tr>\n",
			class, e(cl.Kernel), e(cl.Op), e(cl.Format), e(cl.Property), cl.Cases, e(failureText(cl)),
			e(ulpText(cl.MaxULP)), e(ulpText(cl.P50)), e(ulpText(cl.P99)), first)
	}
	b.WriteString("</table>\n")
	if err := writePlots(b, r); err != nil {
		return err
	}
	n := r.eachExample(func(first bool, cl *Cell, ex *Counterexample) {
		if first {
			b.WriteString("<h2 id=\"findings\">Findings</h2>\n")
		}
		writeExampleHTML(b, cl, ex)
	})
	if n == 0 {
		b.WriteString("<p>No failures.</p>\n")
	}
	b.WriteString("</body>\n</html>\n")
	return b.Flush()
}

func anchor(cl *Cell, ex *Counterexample) string {
	return "f-" + ident(cl.Kernel+"-"+cl.Op+"-"+cl.Format+"-"+cl.Property+"-"+ex.Title())
}

func ident(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < 128 && (r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// plotGroup is the cells of one (kernel, op, format) that share identical data and so one plot.
type plotGroup struct {
	cell  *Cell
	props []string
}

// groupCells groups the cells of each (kernel, op, format) whose data (as compared by same)
// are identical: properties measured on the same cases give the same errors, and one plot with
// all their names says so.
func groupCells(r *Report, has func(*Cell) bool, same func(a, b *Cell) bool) []plotGroup {
	var out []plotGroup
	for i := range r.Cells {
		cl := &r.Cells[i]
		if !has(cl) {
			continue
		}
		merged := false
		for j := range out {
			g := &out[j]
			if g.cell.Kernel == cl.Kernel && g.cell.Op == cl.Op && g.cell.Format == cl.Format && same(g.cell, cl) {
				g.props = append(g.props, cl.Property)
				merged = true
				break
			}
		}
		if !merged {
			out = append(out, plotGroup{cell: cl, props: []string{cl.Property}})
		}
	}
	return out
}

func writePlots(b *bufio.Writer, r *Report) error {
	hists := groupCells(r, func(c *Cell) bool { return c.Hist.Total() > 0 }, func(a, c *Cell) bool {
		ja, _ := a.Hist.MarshalJSON()
		jc, _ := c.Hist.MarshalJSON()
		return string(ja) == string(jc)
	})
	scatters := groupCells(r, func(c *Cell) bool { return len(c.Points) > 0 }, func(a, c *Cell) bool {
		return slices.EqualFunc(a.Points, c.Points, func(p, q Point) bool {
			return p.Case == q.Case && sameFloat(p.ULP, q.ULP) && sameFloat(p.Bound, q.Bound)
		}) &&
			slices.EqualFunc(a.BoundCurve, c.BoundCurve, func(p, q XY) bool { return sameFloat(p.X, q.X) && sameFloat(p.Y, q.Y) })
	})
	if len(hists)+len(scatters) == 0 {
		return nil
	}
	b.WriteString("<h2 id=\"plots\">Plots</h2>\n")
	if len(hists) > 0 {
		b.WriteString("<h3>Ulp-error histograms</h3>\n<p class=\"muted\">Dashed lines: 0.5 ulp (correctly rounded) and 1 ulp (faithful).</p>\n")
	}
	for _, g := range hists {
		title := g.cell.Kernel + " · " + g.cell.Op + " · " + g.cell.Format
		svg, err := HistogramSVG(title, g.cell.Hist)
		if err != nil {
			return err
		}
		fmt.Fprintf(b, "<figure class=\"hist\">%s<figcaption>%s — ulp-error histogram of %d cases (properties: %s)</figcaption></figure>\n",
			inlineSVG(svg), html.EscapeString(title), g.cell.Hist.Total(), html.EscapeString(strings.Join(g.props, ", ")))
	}
	if len(scatters) > 0 {
		b.WriteString("<h3>Error against x<sub>max</sub> − x<sub>min</sub></h3>\n<p class=\"muted\">A deterministic sample of cases (uniform by case index, plus the worst); the green line is the theoretical bound, grey dots each case's own tolerance.</p>\n")
	}
	for _, g := range scatters {
		title := g.cell.Kernel + " · " + g.cell.Op + " · " + g.cell.Format
		svg, err := ScatterSVG(title, g.cell.Points, g.cell.BoundCurve)
		if err != nil {
			return err
		}
		fmt.Fprintf(b, "<figure class=\"scatter\">%s<figcaption>%s — %d sampled cases (properties: %s)</figcaption></figure>\n",
			inlineSVG(svg), html.EscapeString(title), len(g.cell.Points), html.EscapeString(strings.Join(g.props, ", ")))
	}
	return nil
}

func sameFloat(a, b Float) bool {
	return a == b || (a != a && b != b)
}

func writeExampleHTML(b *bufio.Writer, cl *Cell, ex *Counterexample) {
	e := html.EscapeString
	fmt.Fprintf(b, "<div class=\"finding\" id=\"%s\">\n<h3>%s: %s (case %d)</h3>\n", anchor(cl, ex), e(cl.Key.String()), e(ex.Title()), ex.Case)
	if ex.Message != "" {
		fmt.Fprintf(b, "<p>%s</p>\n", e(ex.Message))
	}
	fmt.Fprintf(b, "<p>Input %s, %d×%d", e(ex.Format), ex.Rows, ex.Cols)
	if ex.Original != "" {
		fmt.Fprintf(b, ", shrunk in %d calls", ex.ShrinkCalls)
	}
	if ex.Index >= 0 {
		fmt.Fprintf(b, "; worst output element %d: ulp error %s, tolerance %s", ex.Index, e(ulpText(ex.ULP)), e(ulpText(ex.Bound)))
	}
	b.WriteString(".</p>\n<table>\n<tr><th></th><th>decimal</th><th>exact (hex)</th><th>bits</th></tr>\n")
	row := func(name string, ns []Num) {
		if len(ns) == 0 {
			return
		}
		dec, hex, bits := make([]string, len(ns)), make([]string, len(ns)), make([]string, len(ns))
		for i, n := range ns {
			dec[i], hex[i], bits[i] = n.Dec, n.Hex, n.Bits
		}
		fmt.Fprintf(b, "<tr><td>%s</td><td><code>%s</code></td><td><code>%s</code></td><td><code>%s</code></td></tr>\n", e(name),
			e(truncate(strings.Join(dec, " "), 600)), e(truncate(strings.Join(hex, " "), 600)), e(truncate(strings.Join(bits, " "), 600)))
	}
	row("x", ex.X)
	row("dy", ex.DY)
	row("probs", ex.Probs)
	row("weights", ex.Weights)
	row("output ("+ex.OutFormat+")", ex.Output)
	row("oracle ("+ex.OutFormat+")", ex.Oracle)
	if len(ex.Targets) > 0 {
		fmt.Fprintf(b, "<tr><td>targets</td><td colspan=\"3\"><code>%s</code></td></tr>\n", e(strings.Trim(fmt.Sprint(ex.Targets), "[]")))
	}
	b.WriteString("</table>\n")
	if ex.Replay != "" {
		fmt.Fprintf(b, "<p>Replay:</p>\n<pre>%s</pre>\n", e(ex.Replay))
	}
	if ex.GoTest != "" {
		fmt.Fprintf(b, "<details><summary>Go test</summary>\n<pre>%s</pre>\n</details>\n", e(ex.GoTest))
	}
	b.WriteString("</div>\n")
}
