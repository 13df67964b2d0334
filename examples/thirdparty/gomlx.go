package thirdparty

import (
	"fmt"
	"sync"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/dtypes/bfloat16"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/ulpcheck/ulpcheck/fp"
	"github.com/ulpcheck/ulpcheck/kernels"
)

var gomlxBackend = sync.OnceValues(func() (backends.Backend, error) { return simplego.New("") })

// gomlxRun executes fn (Softmax or LogSoftmax over the last axis) on a rows×cols tensor with the
// pure-Go simplego backend. Exec objects are not shared across goroutines: one per call.
func gomlxRun[T float32 | float64 | bfloat16.BFloat16](fn func(*graph.Node, ...int) *graph.Node, x []T, rows, cols int) ([]T, error) {
	if rows == 0 || cols == 0 {
		return nil, fmt.Errorf("gomlx: zero dimension: %w", kernels.ErrUnsupported)
	}
	b, err := gomlxBackend()
	if err != nil {
		return nil, err
	}
	exec, err := graph.NewExec(b, func(x *graph.Node) *graph.Node { return fn(x) })
	if err != nil {
		return nil, err
	}
	defer exec.Finalize()
	c := make([]T, len(x))
	copy(c, x)
	outs, err := exec.Exec(tensors.FromFlatDataAndDimensions(c, rows, cols))
	if err != nil {
		return nil, err
	}
	defer outs[0].FinalizeAll()
	return tensors.CopyFlatData[T](outs[0])
}

func gomlxBatch[T float32 | float64](fn func(*graph.Node, ...int) *graph.Node) func(dst, x []T, rows, cols int) error {
	return func(dst, x []T, rows, cols int) error {
		y, err := gomlxRun(fn, x, rows, cols)
		if err != nil {
			return err
		}
		copy(dst, y)
		return nil
	}
}

// gomlxBatchBF16 converts between the harness's bfloat16 bits (uint16) and gomlx's
// bfloat16.BFloat16 (the same bits).
func gomlxBatchBF16(fn func(*graph.Node, ...int) *graph.Node) func(dst, x []uint16, rows, cols int) error {
	return func(dst, x []uint16, rows, cols int) error {
		in := make([]bfloat16.BFloat16, len(x))
		for i, v := range x {
			in[i] = bfloat16.BFloat16(v)
		}
		y, err := gomlxRun(fn, in, rows, cols)
		if err != nil {
			return err
		}
		for i, v := range y {
			dst[i] = uint16(v)
		}
		return nil
	}
}

const gomlxDoc = "gomlx v0.26.0 graph.%s on the simplego (pure Go) backend: m = ReduceMax, w = Exp(x − m), %s. " +
	"For bfloat16 every operation computes in float32 and converts back with bfloat16.FromFloat32, which truncates (round toward zero), " +
	"and ReduceSum accumulates in bfloat16."

// GomlxSoftmax adapts graph.Softmax of github.com/gomlx/gomlx v0.26.0 on the simplego backend:
// Exp(x − max)/ReduceSum(...). For fp32 and fp64 the arithmetic is the format's own. For
// bfloat16 the backend computes each element-wise op in float32 and truncates to bfloat16, and
// ReduceSum accumulates in bfloat16 (truncating each partial sum): declared Acc = BF16.
func GomlxSoftmax[T float32 | float64]() *kernels.Kernel {
	name := fmt.Sprintf("gomlx/graph.Softmax/simplego/%s", kernels.FormatOf[T]())
	return kernels.SoftmaxBatchErr[T](name, gomlxBatch[T](graph.Softmax), kernels.WithAlgorithm(kernels.AlgShifted),
		kernels.WithDoc(fmt.Sprintf(gomlxDoc, "Softmax", "y = w / Σw")))
}

// GomlxSoftmaxBF16 is GomlxSoftmax for bfloat16 storage (see GomlxSoftmax).
func GomlxSoftmaxBF16() *kernels.Kernel {
	return kernels.SoftmaxBatchErr[uint16]("gomlx/graph.Softmax/simplego/bf16", gomlxBatchBF16(graph.Softmax),
		kernels.WithAlgorithm(kernels.AlgShifted), kernels.WithAcc(fp.BF16),
		kernels.WithDoc(fmt.Sprintf(gomlxDoc, "Softmax", "y = w / Σw")))
}

// GomlxLogSoftmax adapts graph.LogSoftmax of github.com/gomlx/gomlx v0.26.0 on the simplego
// backend: (x − max) − Log(ReduceSum(Exp(x − max))).
func GomlxLogSoftmax[T float32 | float64]() *kernels.Kernel {
	name := fmt.Sprintf("gomlx/graph.LogSoftmax/simplego/%s", kernels.FormatOf[T]())
	return kernels.LogSoftmaxBatchErr[T](name, gomlxBatch[T](graph.LogSoftmax), kernels.WithAlgorithm(kernels.AlgShifted),
		kernels.WithDoc(fmt.Sprintf(gomlxDoc, "LogSoftmax", "y = (x − m) − Log(Σw)")))
}

// GomlxLogSoftmaxBF16 is GomlxLogSoftmax for bfloat16 storage (see GomlxSoftmaxBF16).
func GomlxLogSoftmaxBF16() *kernels.Kernel {
	return kernels.LogSoftmaxBatchErr[uint16]("gomlx/graph.LogSoftmax/simplego/bf16", gomlxBatchBF16(graph.LogSoftmax),
		kernels.WithAlgorithm(kernels.AlgShifted), kernels.WithAcc(fp.BF16),
		kernels.WithDoc(fmt.Sprintf(gomlxDoc, "LogSoftmax", "y = (x − m) − Log(Σw)")))
}

// All returns every adapter of this module, fresh: the softmax family, then AllSigmoid.
func All() []*kernels.Kernel {
	return append([]*kernels.Kernel{
		GonumLSE(),
		SpagoSoftmax[float32](), SpagoSoftmax[float64](),
		SpagoLogSoftmax[float32](), SpagoLogSoftmax[float64](),
		SpagoLSE[float32](), SpagoLSE[float64](),
		GorgoniaSoftmax[float32](), GorgoniaSoftmax[float64](),
		GorgoniaLogSoftmax[float32](), GorgoniaLogSoftmax[float64](),
		GorgoniaLSE(),
		GomlxSoftmax[float32](), GomlxSoftmax[float64](), GomlxSoftmaxBF16(),
		GomlxLogSoftmax[float32](), GomlxLogSoftmax[float64](), GomlxLogSoftmaxBF16(),
	}, AllSigmoid()...)
}
