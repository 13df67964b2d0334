// This file implements Case, the inputs of one kernel call, and its replayable printing.

package generators

import (
	"fmt"
	"math"
	"strings"

	"github.com/ulpcheck/ulpcheck/fp"
	"github.com/ulpcheck/ulpcheck/loss"
)

// A Case is the input of one call of a kernel: a batch of rows of logits, and for backward and
// cross-entropy kernels the upstream gradient, targets and options, all members of Format.
type Case struct {
	Format fp.Format
	// Class is the class of the case: for Row the row's class; for Batch and Backward the class
	// shared by every row, or BatchMixed; for CrossEntropy the target class ("ce/…").
	Class      Class
	Rows, Cols int
	X          []float64        // Rows×Cols, row-major; members of Format (NaN and ±Inf included)
	RowClasses []Class          // the class of each row (len Rows)
	DY         []float64        // Backward: the upstream gradient, Rows×Cols, members of Format; else nil
	DYClass    Class            // Backward: the class of DY; else ""
	Targets    []int            // CrossEntropy with class targets: len Rows, in [0, Cols) or == CE.IgnoreIndex; else nil
	Probs      []float64        // CrossEntropy with probability targets: Rows×Cols, ≥ 0, members of Format; else nil
	CE         CEOptions        // CrossEntropy: the options; else the zero value
	Norm       loss.NormOptions // gradient norms: the options; the tensors are the rows of X
}

// Row returns row i of X (a subslice, not a copy).
func (c Case) Row(i int) []float64 { return c.X[i*c.Cols : (i+1)*c.Cols] }

// Clone returns a deep copy of c, for checking that a kernel left its inputs unmodified.
func (c Case) Clone() Case {
	d := c
	d.X = cloneF(c.X)
	d.RowClasses = append([]Class(nil), c.RowClasses...)
	d.DY = cloneF(c.DY)
	d.Probs = cloneF(c.Probs)
	d.CE.Weights = cloneF(c.CE.Weights)
	if c.Targets != nil {
		d.Targets = append([]int{}, c.Targets...)
	}
	return d
}

// cloneF copies x, keeping nil as nil.
func cloneF(x []float64) []float64 {
	if x == nil {
		return nil
	}
	return append([]float64{}, x...)
}

// Reduction is the reduction of a loss over a batch (defined once in package loss).
type Reduction = loss.Reduction

// The reductions; PyTorch's default is the mean.
const (
	ReduceMean = loss.ReduceMean
	ReduceSum  = loss.ReduceSum
	ReduceNone = loss.ReduceNone
)

// CEOptions are PyTorch F.cross_entropy's options (NUMERICS §8; defined once in package loss).
type CEOptions = loss.CEOptions

// DefaultCEOptions returns PyTorch's defaults: ignore index −100, mean, no weights, no smoothing.
func DefaultCEOptions() CEOptions { return loss.DefaultCEOptions() }

// String returns the case with every value as a hex float, a decimal and its encoding in
// Format, one row per line; a run of k equal encodings prints once followed by "×k". It holds
// everything needed to rebuild the case.
func (c Case) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Case{format=%s class=%s rows=%d cols=%d}\n", c.Format, c.Class, c.Rows, c.Cols)
	for i := range c.Rows {
		cl := Class("")
		if i < len(c.RowClasses) {
			cl = c.RowClasses[i]
		}
		fmt.Fprintf(&b, "x[%d] %s: %s\n", i, cl, fmtRow(c.Format, c.Row(i)))
	}
	if c.DY != nil {
		for i := range c.Rows {
			fmt.Fprintf(&b, "dy[%d] %s: %s\n", i, c.DYClass, fmtRow(c.Format, c.DY[i*c.Cols:(i+1)*c.Cols]))
		}
	}
	if c.Targets != nil {
		fmt.Fprintf(&b, "targets: %v\n", c.Targets)
	}
	if c.Probs != nil {
		for i := range c.Rows {
			fmt.Fprintf(&b, "probs[%d]: %s\n", i, fmtRow(c.Format, c.Probs[i*c.Cols:(i+1)*c.Cols]))
		}
	}
	if c.Class.Family() == "grad" || c.Norm != (loss.NormOptions{}) {
		fmt.Fprintf(&b, "norm: p=%v max_norm=%v clip_value=%v error_if_nonfinite=%v\n", c.Norm.Order(), c.Norm.MaxNorm, c.Norm.ClipValue, c.Norm.ErrorIfNonfinite)
	}
	if c.Class.Family() == "ce" {
		w := "nil"
		if c.CE.Weights != nil {
			w = fmtRow(c.Format, c.CE.Weights)
		}
		fmt.Fprintf(&b, "ce: ignore_index=%d label_smoothing=%v reduction=%s weights=%s\n",
			c.CE.IgnoreIndex, c.CE.LabelSmoothing, c.CE.Reduction, w)
	}
	return b.String()
}

// GoString returns String, so that rapid's log of a failing draw is replayable.
func (c Case) GoString() string { return c.String() }

// fmtRow prints the values of a row, run-length encoded by encoding.
func fmtRow(f fp.Format, x []float64) string {
	var parts []string
	for i := 0; i < len(x); {
		j := i + 1
		for j < len(x) && sameBits(f, x[i], x[j]) {
			j++
		}
		s := fmtValue(f, x[i])
		if j-i > 1 {
			s += fmt.Sprintf(" ×%d", j-i)
		}
		parts = append(parts, s)
		i = j
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func sameBits(f fp.Format, a, b float64) bool {
	return math.Float64bits(a) == math.Float64bits(b) && f.Contains(a)
}

// fmtValue prints x as a hex float, a decimal and its encoding in f, such as
// "0x1.ffcp+15 (65504) [0x7bff]". A value that is not a member of f prints as such.
func fmtValue(f fp.Format, x float64) string {
	bits, err := f.EncodeChecked(x)
	if err != nil {
		return fmt.Sprintf("%x (%g) [not %s]", x, x, f)
	}
	w := int(f.Width()+3) / 4
	if math.IsNaN(x) {
		return fmt.Sprintf("NaN [0x%0*x]", w, bits)
	}
	return fmt.Sprintf("%x (%g) [0x%0*x]", x, x, w, bits)
}
