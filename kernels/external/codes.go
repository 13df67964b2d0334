// This file implements the wire codes of operations, formats, algorithms, masking policies and
// reductions. The codes are the protocol's own, fixed by docs/protocol.md, and do not follow the
// numbering of the Go types they map to.

package external

import (
	"fmt"

	"github.com/ulpcheck/ulpcheck/fp"
	"github.com/ulpcheck/ulpcheck/kernels"
)

var opCodes = []struct {
	code uint8
	op   kernels.Op
}{
	{1, kernels.OpSoftmax},
	{2, kernels.OpLogSoftmax},
	{3, kernels.OpLSE},
	{4, kernels.OpCrossEntropy},
	{5, kernels.OpSoftmaxBackward},
	{6, kernels.OpCrossEntropyGrad},
	// The two-class operations (docs/sigmoid.md), from 16.
	{16, kernels.OpSoftplus},
	{17, kernels.OpLogSigmoid},
	{18, kernels.OpSigmoid},
	{19, kernels.OpSigmoidGrad},
	{20, kernels.OpBCEWithLogits},
	{21, kernels.OpBCEWithLogitsGrad},
}

var formatCodes = []struct {
	code uint8
	f    fp.Format
}{
	{1, fp.FP16},
	{2, fp.BF16},
	{3, fp.FP32},
	{4, fp.FP64},
	{5, fp.E4M3},
	{6, fp.E5M2},
}

var algCodes = []struct {
	code uint8
	a    kernels.Algorithm
}{
	{0, kernels.AlgShifted},
	{1, kernels.AlgUnshifted},
	{2, kernels.AlgExpLSE},
	{3, kernels.AlgOnline},
}

var maskCodes = []struct {
	code uint8
	m    fp.MaskPolicy
}{
	{0, fp.MaskNaN},
	{1, fp.MaskZero},
}

var reductionCodes = []struct {
	code uint8
	r    kernels.Reduction
}{
	{0, kernels.ReduceMean},
	{1, kernels.ReduceSum},
	{2, kernels.ReduceNone},
}

func opFromCode(c uint8) (kernels.Op, error) {
	for _, e := range opCodes {
		if e.code == c {
			return e.op, nil
		}
	}
	return 0, fmt.Errorf("unknown operation code %d", c)
}

func opCode(op kernels.Op) (uint8, error) {
	for _, e := range opCodes {
		if e.op == op {
			return e.code, nil
		}
	}
	return 0, fmt.Errorf("operation %v has no wire code", op)
}

// formatFromCode maps a format code; 0 gives the zero Format (meaning "default" where allowed).
func formatFromCode(c uint8) (fp.Format, error) {
	if c == 0 {
		return fp.Format{}, nil
	}
	for _, e := range formatCodes {
		if e.code == c {
			return e.f, nil
		}
	}
	return fp.Format{}, fmt.Errorf("unknown format code %d", c)
}

// formatCode maps a format; the zero Format gives 0.
func formatCode(f fp.Format) (uint8, error) {
	if !f.Valid() {
		return 0, nil
	}
	for _, e := range formatCodes {
		if e.f == f {
			return e.code, nil
		}
	}
	return 0, fmt.Errorf("format %v has no wire code", f)
}

func algFromCode(c uint8) (kernels.Algorithm, error) {
	for _, e := range algCodes {
		if e.code == c {
			return e.a, nil
		}
	}
	return 0, fmt.Errorf("unknown algorithm code %d", c)
}

func algCode(a kernels.Algorithm) (uint8, error) {
	for _, e := range algCodes {
		if e.a == a {
			return e.code, nil
		}
	}
	return 0, fmt.Errorf("algorithm %v has no wire code", a)
}

func maskFromCode(c uint8) (fp.MaskPolicy, error) {
	for _, e := range maskCodes {
		if e.code == c {
			return e.m, nil
		}
	}
	return 0, fmt.Errorf("unknown mask policy code %d", c)
}

func maskCode(m fp.MaskPolicy) (uint8, error) {
	for _, e := range maskCodes {
		if e.m == m {
			return e.code, nil
		}
	}
	return 0, fmt.Errorf("mask policy %v has no wire code", m)
}

func reductionFromCode(c uint8) (kernels.Reduction, error) {
	for _, e := range reductionCodes {
		if e.code == c {
			return e.r, nil
		}
	}
	return 0, fmt.Errorf("unknown reduction code %d", c)
}

func reductionCode(r kernels.Reduction) (uint8, error) {
	for _, e := range reductionCodes {
		if e.r == r {
			return e.code, nil
		}
	}
	return 0, fmt.Errorf("reduction %v has no wire code", r)
}

// byteWidth is the number of bytes of one element of f on the wire.
func byteWidth(f fp.Format) int { return int(f.Width() / 8) }
