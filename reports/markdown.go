// This file implements the Markdown writer.

package reports

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// WriteMarkdown writes r for review: a header, the kernels' declarations, one summary table row
// per (kernel, operation, format, property) with cases, failures, max/p50/p99 ulp error and the
// first counterexample in short form, then one findings section per counterexample with its
// inputs (decimal and exact hex), outputs, replay command and Go test.
func WriteMarkdown(w io.Writer, r *Report) error {
	b := bufio.NewWriter(w)
	c := *r
	c.Kernels, c.Cells = slices.Clone(r.Kernels), slices.Clone(r.Cells)
	normalize(&c)
	r = &c
	fmt.Fprintf(b, "# ulpcheck report\n\n")
	fmt.Fprintf(b, "Schema `%s`, harness `%s`, seed %d, %s, %d cases.\n\n", r.Schema, r.Version, r.Seed,
		shardText(r.Shard), r.Cases)
	if r.Timing != nil {
		fmt.Fprintf(b, "Run from %s to %s.\n\n", r.Timing.Started.UTC().Format("2006-01-02 15:04:05Z"),
			r.Timing.Finished.UTC().Format("2006-01-02 15:04:05Z"))
	}
	if len(r.Kernels) > 0 {
		fmt.Fprintf(b, "## Kernels\n\n| kernel | op | in → out (acc) | algorithm | masked rows | flags |\n|---|---|---|---|---|---|\n")
		for _, k := range r.Kernels {
			acc := ""
			if k.Acc != "" {
				acc = " (" + k.Acc + ")"
			}
			fmt.Fprintf(b, "| %s | %s | %s → %s%s | %s | %s | %s |\n", mdCell(k.Name), mdCell(k.Op), k.In, k.Out, acc,
				mdCell(k.Algorithm), mdCell(k.MaskPolicy), kernelFlags(k))
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(b, "## Summary\n\nUlp errors against the exact value; p50 and p99 are upper bounds from a histogram with 1/16-octave buckets.\n\n")
	fmt.Fprintf(b, "| kernel | op | format | property | cases | failures | max ulp | p50 ulp | p99 ulp | first counterexample |\n")
	fmt.Fprintf(b, "|---|---|---|---|--:|--:|--:|--:|--:|---|\n")
	for i := range r.Cells {
		cl := &r.Cells[i]
		first := ""
		if f := cl.First(); f != nil {
			first = shortExample(f)
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %d | %s | %s | %s | %s | %s |\n", mdCell(cl.Kernel), mdCell(cl.Op),
			mdCell(cl.Format), mdCell(cl.Property), cl.Cases, failureText(cl), ulpText(cl.MaxULP),
			ulpText(cl.P50), ulpText(cl.P99), mdCell(first))
	}
	b.WriteString("\n")
	n := r.eachExample(func(first bool, cl *Cell, ex *Counterexample) {
		if first {
			b.WriteString("## Findings\n\n")
		}
		writeExampleMD(b, cl, ex)
	})
	if n == 0 {
		b.WriteString("No failures.\n")
	}
	return b.Flush()
}

func shardText(s Shard) string {
	if s.N <= 1 {
		return "unsharded"
	}
	parts := make([]string, len(s.I))
	for i, x := range s.I {
		parts[i] = strconv.Itoa(x)
	}
	return fmt.Sprintf("shards %s of %d", strings.Join(parts, ","), s.N)
}

func kernelFlags(k KernelInfo) string {
	var f []string
	if k.Saturating {
		f = append(f, "saturating")
	}
	if k.FlushToZero {
		f = append(f, "flush-to-zero")
	}
	if k.ExpectFail {
		f = append(f, "expected to fail")
	}
	return strings.Join(f, ", ")
}

func failureText(c *Cell) string {
	s := strconv.FormatInt(c.Failures, 10)
	if c.Failures > 0 {
		classes := make([]string, 0, len(c.ByClass))
		for k := range c.ByClass {
			classes = append(classes, k)
		}
		slices.Sort(classes)
		for i, k := range classes {
			classes[i] = fmt.Sprintf("%s %d", k, c.ByClass[k])
		}
		s += " (" + strings.Join(classes, ", ") + ")"
	}
	if c.HarnessErrors > 0 {
		s += fmt.Sprintf(" +%d harness errors", c.HarnessErrors)
	}
	return s
}

// ulpText writes an ulp error with four significant digits ("—" for NaN: nothing measured).
func ulpText(f Float) string {
	x := float64(f)
	switch {
	case math.IsNaN(x):
		return "—"
	case math.IsInf(x, 1):
		return "Inf"
	}
	return strconv.FormatFloat(x, 'g', 4, 64)
}

// shortExample is the one-line form of a counterexample: class, case, inputs (at most four),
// and the worst output against the oracle.
func shortExample(e *Counterexample) string {
	s := fmt.Sprintf("%s #%d: %s %dx%d %s", e.Class, e.Case, e.Format, e.Rows, e.Cols, numList(e.X, 4))
	if e.Index >= 0 && e.Index < len(e.Output) && e.Index < len(e.Oracle) {
		s += fmt.Sprintf(" → [%d] %s, exact %s", e.Index, e.Output[e.Index].Dec, e.Oracle[e.Index].Dec)
	}
	return s
}

func numList(ns []Num, max int) string {
	parts := []string{}
	for i, n := range ns {
		if i == max {
			parts = append(parts, fmt.Sprintf("… (%d)", len(ns)))
			break
		}
		parts = append(parts, n.Dec)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// mdCell escapes text for a Markdown table cell.
func mdCell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}

func writeExampleMD(b *bufio.Writer, cl *Cell, e *Counterexample) {
	fmt.Fprintf(b, "### %s: %s (case %d)\n\n", cl.Key, e.Title(), e.Case)
	if e.Message != "" {
		fmt.Fprintf(b, "%s\n\n", e.Message)
	}
	fmt.Fprintf(b, "- input: %s, %d×%d", e.Format, e.Rows, e.Cols)
	if e.Original != "" {
		fmt.Fprintf(b, " (shrunk in %d calls from `%s`)", e.ShrinkCalls, truncate(e.Original, 120))
	}
	b.WriteString("\n")
	if e.Index >= 0 {
		fmt.Fprintf(b, "- worst output element %d: ulp error %s, tolerance %s\n", e.Index, ulpText(e.ULP), ulpText(e.Bound))
	}
	b.WriteString("\n| | values (decimal) | exact (hex) | bits |\n|---|---|---|---|\n")
	row := func(name string, ns []Num) {
		if len(ns) == 0 {
			return
		}
		dec, hex, bits := make([]string, len(ns)), make([]string, len(ns)), make([]string, len(ns))
		for i, n := range ns {
			dec[i], hex[i], bits[i] = n.Dec, n.Hex, n.Bits
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s |\n", name, truncate(strings.Join(dec, " "), 400),
			truncate(strings.Join(hex, " "), 400), truncate(strings.Join(bits, " "), 400))
	}
	row("x", e.X)
	row("dy", e.DY)
	row("probs", e.Probs)
	row("weights", e.Weights)
	row("output ("+e.OutFormat+")", e.Output)
	row("oracle ("+e.OutFormat+")", e.Oracle)
	if len(e.Targets) > 0 {
		fmt.Fprintf(b, "| targets | %s | | |\n", strings.Trim(fmt.Sprint(e.Targets), "[]"))
	}
	b.WriteString("\n")
	if e.Replay != "" {
		fmt.Fprintf(b, "Replay:\n\n```sh\n%s\n```\n\n", e.Replay)
	}
	if e.GoTest != "" {
		fmt.Fprintf(b, "Go test:\n\n```go\n%s```\n\n", e.GoTest)
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
