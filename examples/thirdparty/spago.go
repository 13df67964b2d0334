package thirdparty

import (
	"fmt"

	"github.com/nlpodyssey/spago/ag"
	"github.com/nlpodyssey/spago/mat"
	"github.com/nlpodyssey/spago/mat/float"
	"github.com/ulpcheck/ulpcheck/kernels"
)

// spagoVector builds a spago column vector holding a copy of x.
func spagoVector[T float.DType](x []T) *mat.Dense[T] {
	c := make([]T, len(x))
	copy(c, x)
	return mat.NewDense[T](mat.WithShape(len(c)), mat.WithBacking(c))
}

// SpagoSoftmax adapts (*mat.Dense[T]).Softmax of github.com/nlpodyssey/spago v1.1.0.
//
// The library shifts by the maximum (a ">" scan starting at x[0]), computes e^(x_i − max) with
// matfuncs.Exp32/Exp64 (on amd64 with AVX2, float32 uses an 8-lane SIMD polynomial for each full
// block of 8 and math-based code for the tail), sums with matfuncs.Sum, and multiplies by the
// reciprocal 1/sum. Shifted class; a fully masked row gives NaN (−Inf − −Inf).
func SpagoSoftmax[T float32 | float64]() *kernels.Kernel {
	name := fmt.Sprintf("spago/mat.Dense.Softmax/%s", kernels.FormatOf[T]())
	return kernels.Softmax[T](name, func(dst, x []T) {
		if len(x) == 0 {
			return
		}
		copy(dst, mat.Data[T](spagoVector(x).Softmax()))
	}, kernels.WithAlgorithm(kernels.AlgShifted), kernels.WithDoc(
		"spago v1.1.0 mat.Dense.Softmax: m = max; w = Exp(x − m) (SIMD exp for fp32 blocks of 8 on AVX2); y = w · (1/Σw)."))
}

// SpagoLogSoftmax adapts ag.LogSoftmax of github.com/nlpodyssey/spago v1.1.0, which the library
// defines as Log(Softmax(x)): the logarithm of the rounded softmax. It therefore returns −Inf for
// every entry whose softmax underflows, although log-softmax is then a finite number
// (x_i − LSE(x)). Declared shifted: the library does shift, its defect is the order of operations.
func SpagoLogSoftmax[T float32 | float64]() *kernels.Kernel {
	name := fmt.Sprintf("spago/ag.LogSoftmax/%s", kernels.FormatOf[T]())
	return kernels.LogSoftmax[T](name, func(dst, x []T) {
		if len(x) == 0 {
			return
		}
		y := ag.LogSoftmax(spagoVector(x))
		copy(dst, mat.Data[T](y.Value()))
	}, kernels.WithAlgorithm(kernels.AlgShifted), kernels.WithDoc(
		"spago v1.1.0 ag.LogSoftmax = Log(Softmax(x)) with the shifted softmax above."))
}

// SpagoLSE adapts ag.LogSumExp of github.com/nlpodyssey/spago v1.1.0 for one vector:
// max + Log(ReduceSum(Exp(x − max))). Shifted class with log instead of log1p.
func SpagoLSE[T float32 | float64]() *kernels.Kernel {
	name := fmt.Sprintf("spago/ag.LogSumExp/%s", kernels.FormatOf[T]())
	return kernels.LSEErr[T](name, func(x []T) (T, error) {
		if len(x) == 0 {
			return 0, fmt.Errorf("spago ag.LogSumExp needs a non-empty vector: %w", kernels.ErrUnsupported)
		}
		y := ag.LogSumExp(spagoVector(x))
		return mat.Data[T](y.Value())[0], nil
	}, kernels.WithAlgorithm(kernels.AlgShifted), kernels.WithDoc(
		"spago v1.1.0 ag.LogSumExp(x): max + Log(Σ Exp(x − max))."))
}
