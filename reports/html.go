// This file implements the self-contained HTML writer.

package reports

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

const htmlStyle = `body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:1em auto;max-width:1150px;color:#222;padding:0 1em}
h1{font-size:20px;margin:.3em 0}.verdict{font-size:18px;font-weight:600;padding:.5em .8em;border-radius:4px;margin:.4em 0}
.verdict.pass{background:#e6f4ea;border-left:6px solid #2ca02c}.verdict.fail{background:#fde8e8;border-left:6px solid #d62728}
table{border-collapse:collapse;margin:.6em 0;font-size:13px}th,td{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.n{text-align:right;font-variant-numeric:tabular-nums}
code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}pre{background:#f7f7f7;padding:.6em;overflow-x:auto;white-space:pre-wrap;word-break:break-all}
td code{word-break:break-all}figure{margin:.5em 0;display:inline-block;vertical-align:top;max-width:100%}figure svg{max-width:100%;height:auto}figcaption{font-size:12px;color:#555}
.finding{border-left:4px solid #d62728;padding-left:1em;margin:1.2em 0}.finding.expected{border-left-color:#e8a33d}.muted{color:#777}
.m td{text-align:center;font-size:12px;padding:2px 4px}.m td.k{text-align:left}.m .pass{background:#e6f4ea}.m .fail{background:#f8b4b4}.m .xfail{background:#fde2b8}.m .na{background:#fff;color:#bbb}
.scroll{overflow-x:auto;max-width:100%}details{margin:.3em 0}summary{cursor:pointer}#js-errors:empty{display:none}#js-errors{color:#b00}
.svgf8{font:8px "Liberation Serif",serif}.svgf9{font:9px "Liberation Serif",serif}.svgf10{font:10px "Liberation Serif",serif}.svgf11{font:11px "Liberation Serif",serif}.svgf12{font:12px "Liberation Serif",serif}.svgf14{font:14px "Liberation Serif",serif}
.svgtk{fill:none;stroke:#000;stroke-width:.5}.svgbar{fill:#1F77B4}`

// htmlScript filters and sorts the kernel × property matrix, and writes any script error, and a
// page wider than the window, into #js-errors, where a browser test reads it.
const htmlScript = `window.onerror=function(m){document.getElementById("js-errors").textContent+="error: "+m+"\n"};
window.addEventListener("load",function(){var d=document.documentElement;if(d.scrollWidth>d.clientWidth+1)document.getElementById("js-errors").textContent+="layout: page wider than the window ("+d.scrollWidth+" > "+d.clientWidth+")\n"});
function mfilter(){var q=document.getElementById("mq").value.toLowerCase(),f=document.getElementById("mf").checked;
document.querySelectorAll("#matrix tbody tr").forEach(function(r){var t=r.cells[0].textContent.toLowerCase();
r.style.display=(t.indexOf(q)>=0&&(!f||r.dataset.fail==="1"))?"":"none"})}
function msort(c){var b=document.querySelector("#matrix tbody"),rs=Array.prototype.slice.call(b.rows);
function v(td){return td.dataset.v||{pass:"0",na:"-1"}[td.className]||td.textContent}
rs.sort(function(x,y){var a=v(x.cells[c]),d=v(y.cells[c]);
var na=parseFloat(a),nd=parseFloat(d);return(!isNaN(na)&&!isNaN(nd))?nd-na:a.localeCompare(d)});rs.forEach(function(r){b.appendChild(r)})}`

// WriteHTML writes r as one self-contained HTML5 document (no external resources), verdict
// first: the verdict line; the findings (unexpected ones first), each with its minimal
// counterexample, the kernel's output beside the correctly rounded one, its replay command and
// the plot of its kernel; a kernel × property matrix (pass, failures, worst ulp error; filterable
// and sortable); then, collapsed, each kernel's declaration, cells and plots.
func WriteHTML(w io.Writer, r *Report) error {
	c := *r
	c.Kernels, c.Cells = slices.Clone(r.Kernels), slices.Clone(r.Cells)
	normalize(&c)
	r = &c
	b := bufio.NewWriter(w)
	e := html.EscapeString
	v := r.Verdict()
	fmt.Fprintf(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width\">\n<title>ulpcheck: %s</title>\n<style>%s</style>\n<script>%s</script>\n</head>\n<body>\n<div id=\"js-errors\"></div>\n",
		e(v.Line()), htmlStyle, htmlScript)
	cls := "pass"
	if !v.OK() {
		cls = "fail"
	}
	fmt.Fprintf(b, "<h1>ulpcheck report</h1>\n<p id=\"verdict\" class=\"verdict %s\">%s</p>\n", cls, e(v.Line()))
	fmt.Fprintf(b, "<p class=\"muted\">Harness <code>%s</code>, %s", e(r.Version), e(shardText(r.Shard)))
	if r.Timing != nil {
		fmt.Fprintf(b, ", run from %s to %s", r.Timing.Started.UTC().Format("2006-01-02 15:04:05Z"),
			r.Timing.Finished.UTC().Format("2006-01-02 15:04:05Z"))
	}
	b.WriteString(". Errors are in ulps of the exact value, judged against each case's tolerance (the kernel's error bound). <a href=\"#matrix\">Matrix</a> · <a href=\"#kernels\">kernels</a>.</p>\n")

	plots, err := kernelPlots(r)
	if err != nil {
		return err
	}
	findings := r.Findings()
	plotted := map[string]bool{}
	shown := map[string]*Finding{}
	if len(findings) == 0 {
		b.WriteString("<h2 id=\"findings\">Findings</h2>\n<p>No failures.</p>\n")
	}
	for i := range findings {
		f := &findings[i]
		if i == 0 || f.Unexpected != findings[i-1].Unexpected {
			if f.Unexpected {
				fmt.Fprintf(b, "<h2 id=\"findings\">Unexpected failures (%d)</h2>\n", countFindings(findings, true))
			} else {
				fmt.Fprintf(b, "<h2 id=\"expected\">Failures of kernels declared broken (%d)</h2>\n", countFindings(findings, false))
			}
		}
		// A case that an earlier finding of the kernel showed is shown once: its table and Go
		// test (which checks every property) are referred to.
		same := ""
		if f.Example.Input != "" {
			k := f.Cell.Kernel + "\x00" + f.Example.Input
			if shown[k] == nil {
				shown[k] = f
			} else if g := shown[k]; slices.Equal(g.Example.Output, f.Example.Output) && slices.Equal(g.Example.Oracle, f.Example.Oracle) {
				same = anchor(g.Cell, g.Example)
			}
		}
		writeExampleHTML(b, f.Cell, f.Example, f.Unexpected, same)
		if !plotted[f.Cell.Kernel] {
			plotted[f.Cell.Kernel] = true
			b.WriteString(plots[f.Cell.Kernel])
		} else {
			fmt.Fprintf(b, "<p class=\"muted\">Plots: see the first finding of %s above.</p>\n", e(f.Cell.Kernel))
		}
		b.WriteString("</div>\n")
	}
	writeMatrix(b, r)
	b.WriteString("<h2 id=\"kernels\">Kernels</h2>\n<p class=\"muted\">Each kernel's declaration and cells (p50 and p99 are upper bounds from a histogram with 1/16-octave buckets), with its plots unless a finding above shows them.</p>\n")
	for _, k := range r.Kernels {
		writeKernelDetails(b, r, k, plots[k.Name], plotted[k.Name])
	}
	b.WriteString("</body>\n</html>\n")
	return b.Flush()
}

func countFindings(fs []Finding, unexpected bool) int {
	n := 0
	for _, f := range fs {
		if f.Unexpected == unexpected {
			n++
		}
	}
	return n
}

// writeMatrix writes one row per kernel and one column per property: "pass", the failure count,
// or "—" where the property does not apply; the accuracy column also gives the worst ulp error.
func writeMatrix(b *bufio.Writer, r *Report) {
	e := html.EscapeString
	var props []string
	cells := map[[2]string]*Cell{}
	var kernelsSeen []string
	for i := range r.Cells {
		cl := &r.Cells[i]
		if !slices.Contains(props, cl.Property) {
			props = append(props, cl.Property)
		}
		if !slices.Contains(kernelsSeen, cl.Kernel) {
			kernelsSeen = append(kernelsSeen, cl.Kernel)
		}
		cells[[2]string{cl.Kernel, cl.Property}] = cl
	}
	slices.SortStableFunc(props, func(a, c string) int { // accuracy first, then by name
		return cmpBool(c == "accuracy", a == "accuracy")*2 + strings.Compare(a, c)
	})
	expect := map[string]bool{}
	for _, k := range r.Kernels {
		expect[k.Name] = k.ExpectFail
	}
	b.WriteString("<h2 id=\"matrix\">Kernel × property</h2>\n<p class=\"muted\">Each cell: <strong>pass</strong>, or the number of failing cases (orange for kernels declared broken); the accuracy column adds the largest ulp error measured. Click a column heading to sort.\n")
	b.WriteString("<label>Filter kernels <input id=\"mq\" oninput=\"mfilter()\" size=\"16\"></label> <label><input type=\"checkbox\" id=\"mf\" onchange=\"mfilter()\"> only failing</label></p>\n")
	b.WriteString("<div class=\"scroll\"><table class=\"m\" id=\"matrix\"><thead><tr><th onclick=\"msort(0)\">kernel</th>")
	for i, p := range props {
		fmt.Fprintf(b, "<th onclick=\"msort(%d)\">%s</th>", i+1, e(p))
	}
	b.WriteString("</tr></thead><tbody>\n")
	for _, k := range kernelsSeen {
		fail := false
		var row strings.Builder
		// The case count, on the kernel's cell; a passing cell with another count has its own.
		var rowCases int64 = -1
		for _, p := range props {
			if cl := cells[[2]string{k, p}]; cl != nil && rowCases < 0 {
				rowCases = cl.Cases
			}
		}
		for _, p := range props {
			cl := cells[[2]string{k, p}]
			switch {
			case cl == nil:
				row.WriteString("<td class=\"na\">—</td>")
			case cl.Failures > 0:
				fail = true
				c := "fail"
				if expect[k] {
					c = "xfail"
				}
				txt := strconv.FormatInt(cl.Failures, 10)
				if p == "accuracy" {
					txt += " · " + ulpText(cl.MaxULP)
				}
				fmt.Fprintf(&row, "<td class=\"%s\" data-v=\"%d\" title=\"%s\">%s</td>", c, cl.Failures, e(failureText(cl)+" of "+strconv.FormatInt(cl.Cases, 10)), e(txt))
			default:
				txt := "pass"
				if p == "accuracy" && !math.IsNaN(float64(cl.MaxULP)) {
					txt += " · " + ulpText(cl.MaxULP)
				}
				if cl.Cases == rowCases {
					fmt.Fprintf(&row, "<td class=\"pass\">%s</td>", e(txt))
				} else {
					fmt.Fprintf(&row, "<td class=\"pass\" title=\"%d cases\">%s</td>", cl.Cases, e(txt))
				}
			}
		}
		f := "0"
		if fail {
			f = "1"
		}
		fmt.Fprintf(b, "<tr data-fail=\"%s\"><td class=\"k\" title=\"%d cases\"><a href=\"#k-%s\">%s</a></td>%s</tr>\n", f, rowCases, ident(k), e(k), row.String())
	}
	b.WriteString("</tbody></table></div>\n")
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// writeKernelDetails writes a kernel's declaration, cells and (when no finding showed them) plots,
// collapsed.
func writeKernelDetails(b *bufio.Writer, r *Report, k KernelInfo, plots string, plotted bool) {
	e := html.EscapeString
	acc := ""
	if k.Acc != "" {
		acc = ", accumulating in " + k.Acc
	}
	fmt.Fprintf(b, "<details id=\"k-%s\"><summary><code>%s</code> — %s, %s → %s%s</summary>\n", ident(k.Name), e(k.Name), e(k.Op), e(k.In), e(k.Out), e(acc))
	fmt.Fprintf(b, "<p>Algorithm %s; fully masked rows: %s", e(k.Algorithm), e(k.MaskPolicy))
	if f := kernelFlags(k); f != "" {
		fmt.Fprintf(b, "; %s", e(f))
	}
	if k.Source != "" {
		fmt.Fprintf(b, "; source %s", e(k.Source))
	}
	if k.Notes != "" {
		fmt.Fprintf(b, ". %s", e(k.Notes))
	}
	b.WriteString(".</p>\n<table><tr><th>property</th><th>cases</th><th>failures</th><th>max ulp</th><th>p50 ulp</th><th>p99 ulp</th><th>first counterexample</th></tr>\n")
	// Cells that passed without measuring an error say nothing but their case count: one row
	// lists them per case count.
	quiet := map[int64][]string{}
	var counts []int64
	for i := range r.Cells {
		cl := &r.Cells[i]
		if cl.Kernel != k.Name {
			continue
		}
		name := cl.Property
		if cl.Op != k.Op || cl.Format != k.In {
			name = cl.Op + " · " + cl.Format + " · " + cl.Property
		}
		if cl.Failures == 0 && cl.HarnessErrors == 0 && math.IsNaN(float64(cl.MaxULP)) && len(cl.Examples) == 0 {
			if quiet[cl.Cases] == nil {
				counts = append(counts, cl.Cases)
			}
			quiet[cl.Cases] = append(quiet[cl.Cases], name)
			continue
		}
		first := ""
		if f := cl.First(); f != nil {
			first = fmt.Sprintf("<a href=\"#%s\">%s</a>", anchor(cl, f), e(shortExample(f)))
		}
		fmt.Fprintf(b, "<tr><td>%s</td><td class=\"n\">%d</td><td class=\"n\">%s</td><td class=\"n\">%s</td><td class=\"n\">%s</td><td class=\"n\">%s</td><td>%s</td></tr>\n",
			e(name), cl.Cases, e(failureText(cl)), e(ulpText(cl.MaxULP)), e(ulpText(cl.P50)), e(ulpText(cl.P99)), first)
	}
	for _, n := range counts {
		fmt.Fprintf(b, "<tr><td>%s</td><td class=\"n\">%d each</td><td class=\"n\">0</td><td colspan=\"4\" class=\"muted\">passed (no ulp error measured)</td></tr>\n",
			e(strings.Join(quiet[n], ", ")), n)
	}
	b.WriteString("</table>\n")
	if plotted {
		b.WriteString("<p class=\"muted\">The plots are with this kernel's first finding.</p>\n")
	} else {
		b.WriteString(plots)
	}
	b.WriteString("</details>\n")
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

// kernelPlots renders, per kernel, the ulp-error histogram and the scatter of error against
// x_max − x_min of each (op, format) group of cells with identical data, as HTML figures.
func kernelPlots(r *Report) (map[string]string, error) {
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
	out := map[string]string{}
	for _, g := range hists {
		title := g.cell.Kernel + " · " + g.cell.Op + " · " + g.cell.Format
		svg, err := HistogramSVG(title, g.cell.Hist)
		if err != nil {
			return nil, err
		}
		out[g.cell.Kernel] += fmt.Sprintf("<figure class=\"hist\">%s<figcaption>Cases per ulp error (%d cases; %s). Dashed: 0.5 ulp (correctly rounded), 1 ulp (faithful).</figcaption></figure>\n",
			inlineSVG(svg), g.cell.Hist.Total(), html.EscapeString(strings.Join(g.props, ", ")))
	}
	for _, g := range scatters {
		title := g.cell.Kernel + " · " + g.cell.Op + " · " + g.cell.Format
		svg, err := ScatterSVG(title, g.cell.Points, g.cell.BoundCurve)
		if err != nil {
			return nil, err
		}
		out[g.cell.Kernel] += fmt.Sprintf("<figure class=\"scatter\">%s<figcaption>A dot per case: its ulp error against its row's spread x<sub>max</sub> − x<sub>min</sub> (%d sampled: uniformly, plus the %d worst). Red: beyond its tolerance (grey); green: the bound at n = 32.</figcaption></figure>\n",
			inlineSVG(svg), len(g.cell.Points), SampleLargestULP)
	}
	return out, nil
}

func sameFloat(a, b Float) bool {
	return a == b || (a != a && b != b)
}

// htmlMaxGoTest is the longest Go test the HTML shows; a longer one (a row of thousands of values)
// is left to report.md and report.json.
const htmlMaxGoTest = 4096

// writeExampleHTML writes a finding; same is the anchor of an earlier finding with the same
// input, output and oracle, whose table and Go test this one refers to ("" for none).
func writeExampleHTML(b *bufio.Writer, cl *Cell, ex *Counterexample, unexpected bool, same string) {
	e := html.EscapeString
	cls := "finding"
	if !unexpected {
		cls += " expected"
	}
	fmt.Fprintf(b, "<div class=\"%s\" id=\"%s\">\n<h3>%s: %s (case %d; %d of %d cases fail)</h3>\n", cls, anchor(cl, ex), e(cl.Key.String()), e(ex.Title()), ex.Case, cl.Failures, cl.Cases)
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
	if same != "" {
		fmt.Fprintf(b, "; the same input, output and correctly rounded output as <a href=\"#%s\">the finding above</a>, whose Go test (it checks every property) reproduces this one too.</p>\n", same)
		if ex.Replay != "" {
			fmt.Fprintf(b, "<p>Replay:</p>\n<pre>%s</pre>\n", e(ex.Replay))
		}
		return
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
			e(truncate(strings.Join(dec, " "), 300)), e(truncate(strings.Join(hex, " "), 300)), e(truncate(strings.Join(bits, " "), 300)))
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
	switch {
	case len(ex.GoTest) > htmlMaxGoTest:
		fmt.Fprintf(b, "<p class=\"muted\">The Go test that reproduces it (%d KB) is in report.md and report.json.</p>\n", (len(ex.GoTest)+1023)/1024)
	case ex.GoTest != "":
		fmt.Fprintf(b, "<details><summary>Go test</summary>\n<pre>%s</pre>\n</details>\n", e(ex.GoTest))
	}
}
