// Package loss defines, once, the options of the losses ulpcheck judges (PyTorch's
// F.cross_entropy and F.binary_cross_entropy_with_logits, NUMERICS §8): the reduction over a
// batch and the cross-entropy options. The oracle, the generators and the kernels all use these
// types (each package re-exports them under its own name, as aliases), so that a case drawn by
// the generators, the call a kernel adapter makes and the exact value the oracle computes cannot
// disagree about what an option means. It depends on nothing but the standard library.
package loss

import (
	"fmt"
	"math"
	"strings"
)

// Reduction is the reduction of a loss over the rows (or elements) of a batch.
type Reduction uint8

// The reductions; PyTorch's default is the mean.
const (
	ReduceMean Reduction = iota // Σ_n loss_n / D (D depends on the target kind: NUMERICS §8)
	ReduceSum                   // Σ_n loss_n
	ReduceNone                  // one loss per row
)

// Reductions lists the reductions in their order.
var Reductions = []Reduction{ReduceMean, ReduceSum, ReduceNone}

// String returns "mean", "sum" or "none".
func (r Reduction) String() string {
	switch r {
	case ReduceMean:
		return "mean"
	case ReduceSum:
		return "sum"
	case ReduceNone:
		return "none"
	}
	return fmt.Sprintf("Reduction(%d)", uint8(r))
}

// Valid reports whether r is one of the three reductions.
func (r Reduction) Valid() bool { return r <= ReduceNone }

// ParseReduction parses "mean", "sum" or "none" (case-insensitively).
func ParseReduction(s string) (Reduction, error) {
	for _, r := range Reductions {
		if strings.EqualFold(s, r.String()) {
			return r, nil
		}
	}
	return 0, fmt.Errorf("unknown reduction %q (want mean, sum or none)", s)
}

// DefaultIgnoreIndex is PyTorch's ignore_index default.
const DefaultIgnoreIndex = -100

// CEOptions are PyTorch F.cross_entropy's options (NUMERICS §8).
type CEOptions struct {
	Weights        []float64 // per class (len = cols), nil = all 1; finite; members of the case's format where a case carries them
	IgnoreIndex    int       // rows whose class target equals it contribute nothing; DefaultCEOptions has −100
	LabelSmoothing float64   // ε in [0, 1]
	Reduction      Reduction
}

// DefaultCEOptions returns PyTorch's defaults: ignore index −100, mean, no weights, no smoothing.
func DefaultCEOptions() CEOptions { return CEOptions{IgnoreIndex: DefaultIgnoreIndex} }

// Check reports the first inconsistency of o for a batch of cols classes: a weight count other
// than cols, a non-finite weight, a smoothing outside [0, 1] or an invalid reduction.
func (o CEOptions) Check(cols int) error {
	if o.Weights != nil && len(o.Weights) != cols {
		return fmt.Errorf("%d weights for %d classes", len(o.Weights), cols)
	}
	for c, w := range o.Weights {
		if math.IsNaN(w) || math.IsInf(w, 0) {
			return fmt.Errorf("weight %d is %v", c, w)
		}
	}
	if !(o.LabelSmoothing >= 0 && o.LabelSmoothing <= 1) {
		return fmt.Errorf("label smoothing %v outside [0, 1]", o.LabelSmoothing)
	}
	if !o.Reduction.Valid() {
		return fmt.Errorf("invalid %v", o.Reduction)
	}
	return nil
}
