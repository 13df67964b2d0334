package thirdparty

import (
	"fmt"

	"github.com/ulpcheck/ulpcheck/kernels"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// gorgoniaShape declares degenerate shapes unsupported: tensor.New panics on a zero dimension.
func gorgoniaShape(rows, cols int) error {
	if rows == 0 || cols == 0 {
		return fmt.Errorf("gorgonia tensors cannot have a zero dimension: %w", kernels.ErrUnsupported)
	}
	return nil
}

func gorgoniaBatch[T float32 | float64](log bool) func(dst, x []T, rows, cols int) error {
	return func(dst, x []T, rows, cols int) error {
		if err := gorgoniaShape(rows, cols); err != nil {
			return err
		}
		c := make([]T, len(x))
		copy(c, x)
		t := tensor.New(tensor.WithShape(rows, cols), tensor.WithBacking(c))
		var out tensor.Tensor
		var err error
		if log {
			out, err = tensor.LogSoftMax(t, 1)
		} else {
			out, err = tensor.SoftMax(t, 1)
		}
		if err != nil {
			return err
		}
		copy(dst, out.Data().([]T))
		return nil
	}
}

// GorgoniaSoftmax adapts gorgonia.org/tensor v0.9.24 tensor.SoftMax(x, 1) on a rows×cols Dense
// tensor (the same code gorgonia.SoftMax's graph op runs). Per row (one goroutine each) it
// computes max, e^(x − max), the reciprocal of the sum and a product: the shifted class. But
// softMaxLastDimF32/F64 seed the running maximum with xArr[0], the first element of the whole
// tensor, and scan the row from its second element: for every row but the first the "max" is
// max(x[0][0], x[r][1:]). Rows after the first therefore overflow or underflow.
func GorgoniaSoftmax[T float32 | float64]() *kernels.Kernel {
	name := fmt.Sprintf("gorgonia/tensor.SoftMax/%s", kernels.FormatOf[T]())
	return kernels.SoftmaxBatchErr[T](name, gorgoniaBatch[T](false), kernels.WithAlgorithm(kernels.AlgShifted),
		kernels.WithDoc("gorgonia tensor v0.9.24 SoftMax, last axis: per row m = max (seeded with the tensor's first element), w = exp(x − m), y = w·(1/Σw)."))
}

// GorgoniaLogSoftmax adapts gorgonia.org/tensor v0.9.24 tensor.LogSoftMax(x, 1):
// (x − m) − log Σ e^(x − m), with the same row-maximum seeding as GorgoniaSoftmax.
func GorgoniaLogSoftmax[T float32 | float64]() *kernels.Kernel {
	name := fmt.Sprintf("gorgonia/tensor.LogSoftMax/%s", kernels.FormatOf[T]())
	return kernels.LogSoftmaxBatchErr[T](name, gorgoniaBatch[T](true), kernels.WithAlgorithm(kernels.AlgShifted),
		kernels.WithDoc("gorgonia tensor v0.9.24 LogSoftMax, last axis: (x − m) − log Σ exp(x − m), m seeded with the tensor's first element."))
}

// GorgoniaLSE adapts gorgonia.org/gorgonia v0.9.18 LogSumExp(a, 0) on a vector, run on a tape
// machine. The library's graph is Sum(Log(Sum(Exp(a − max)) + max)): it adds the maximum
// inside the logarithm instead of after it, so the result is log(Σ e^(x_i − m) + m), which
// equals LSE only by accident (m = 0).
func GorgoniaLSE() *kernels.Kernel {
	return kernels.LSEErr[float64]("gorgonia/LogSumExp/fp64", func(x []float64) (float64, error) {
		if len(x) == 0 {
			return 0, gorgoniaShape(0, 0)
		}
		c := make([]float64, len(x))
		copy(c, x)
		g := G.NewGraph()
		a := G.NewVector(g, tensor.Float64, G.WithShape(len(c)), G.WithValue(tensor.New(tensor.WithShape(len(c)), tensor.WithBacking(c))))
		y, err := G.LogSumExp(a, 0)
		if err != nil {
			return 0, err
		}
		vm := G.NewTapeMachine(g)
		defer vm.Close()
		if err := vm.RunAll(); err != nil {
			return 0, err
		}
		switch v := y.Value().Data().(type) {
		case float64:
			return v, nil
		case []float64:
			return v[0], nil
		default:
			return 0, fmt.Errorf("gorgonia LogSumExp returned %T", v)
		}
	}, kernels.WithAlgorithm(kernels.AlgShifted),
		kernels.WithDoc("gorgonia v0.9.18 LogSumExp(a, axis) = Sum(Log(Sum(Exp(a − Max(a))) + Max(a))): the max is added inside the log."))
}
