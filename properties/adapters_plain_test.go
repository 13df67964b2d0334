package properties

import (
	"context"
	"math"
	"strconv"
	"testing"

	"github.com/x448/float16"

	"github.com/ulpcheck/ulpcheck/fp"
	"github.com/ulpcheck/ulpcheck/generators"
	"github.com/ulpcheck/ulpcheck/kernels"
)

// Plain float64 kernels for every adapter signature that TestPlainFloat64KernelsPass does not
// already cover: batch forms, forms that return an error, and the backward, cross-entropy and
// cross-entropy-gradient adapters. Each computes in float64 with math.Exp and math.Log1p and
// rounds each output once to its storage format, the kind of kernel a user writes first; the
// harness must raise no false alarm on any of them.

// plainCE is (x_max − x_t) + log1p(Σ_{j≠k} e^(x_j − x_max)), the fused shifted loss.
func plainCE(x []float64, t int) float64 {
	m, k := plainMax(x)
	if math.IsNaN(m) || math.IsInf(m, 0) {
		return math.NaN()
	}
	s := 0.0
	for i, v := range x {
		if i != k {
			s += math.Exp(v - m)
		}
	}
	return (m - x[t]) + math.Log1p(s)
}

// plainCEGrad is softmax(x) − onehot(t).
func plainCEGrad(dx, x []float64, t int) {
	plainSoftmax(dx, x)
	dx[t]--
}

// plainBackward is y·dy − y·c with y = softmax(x), c = Σ dy·y.
func plainBackward(dx, x, dy []float64) {
	plainSoftmax(dx, x)
	c := 0.0
	for i := range dx {
		c += dy[i] * dx[i]
	}
	for i := range dx {
		dx[i] = dx[i]*dy[i] - dx[i]*c
	}
}

// natives converts a storage slice to float64.
func natives[E kernels.Elem](x []E) []float64 {
	xs := make([]float64, len(x))
	for i, v := range x {
		xs[i] = kernels.FromNative(v)
	}
	return xs
}

// roundInto rounds each float64 of y once into storage dst.
func roundInto[E kernels.Elem](dst []E, y []float64) {
	f := kernels.FormatOf[E]()
	for i, v := range y {
		r, _ := f.RoundFloat64(v)
		dst[i] = kernels.ToNative[E](r)
	}
}

// byRows applies a row function to each row of a rows×cols batch.
func byRows[E kernels.Elem](fn func(dst, x []E), dst, x []E, rows, cols int) {
	for r := range rows {
		fn(dst[r*cols:(r+1)*cols], x[r*cols:(r+1)*cols])
	}
}

func roundedCE[E kernels.Elem](x []E, t int) E {
	r, _ := kernels.FormatOf[E]().RoundFloat64(plainCE(natives(x), t))
	return kernels.ToNative[E](r)
}

func roundedCEGrad[E kernels.Elem](dx, x []E, t int) {
	y := make([]float64, len(dx))
	plainCEGrad(y, natives(x), t)
	roundInto(dx, y)
}

func roundedBackward[E kernels.Elem](dx, x, dy []E) {
	y := make([]float64, len(dx))
	plainBackward(y, natives(x), natives(dy))
	roundInto(dx, y)
}

func adapterPlainKernels() []*kernels.Kernel {
	acc := kernels.WithAcc(fp.FP64)
	sm32 := roundedRow[float32](plainSoftmax)
	ls16 := roundedRow[float16.Float16](plainLogSoftmax)
	lse32 := roundedLSE[float32]()
	return []*kernels.Kernel{
		kernels.SoftmaxErr("plain/softmax-err/fp32", func(dst, x []float32) error { sm32(dst, x); return nil }, acc),
		kernels.SoftmaxBatch("plain/softmax-batch/fp32", func(dst, x []float32, r, c int) { byRows(sm32, dst, x, r, c) }, acc),
		kernels.SoftmaxBatchErr("plain/softmax-batch-err/bf16", func(dst, x []uint16, r, c int) error {
			byRows(roundedRow[uint16](plainSoftmax), dst, x, r, c)
			return nil
		}, acc),
		kernels.LogSoftmaxErr("plain/logsoftmax-err/fp16", func(dst, x []float16.Float16) error { ls16(dst, x); return nil }, acc),
		kernels.LogSoftmaxBatch("plain/logsoftmax-batch/fp16", func(dst, x []float16.Float16, r, c int) { byRows(ls16, dst, x, r, c) }, acc),
		kernels.LogSoftmaxBatchErr("plain/logsoftmax-batch-err/fp32", func(dst, x []float32, r, c int) error {
			byRows(roundedRow[float32](plainLogSoftmax), dst, x, r, c)
			return nil
		}, acc),
		kernels.LSEErr("plain/lse-err/fp32", func(x []float32) (float32, error) { return lse32(x), nil }, acc),
		kernels.LSEBatch("plain/lse-batch/fp32", func(dst, x []float32, r, c int) {
			for i := range r {
				dst[i] = lse32(x[i*c : (i+1)*c])
			}
		}, acc),
		kernels.LSEBatchErr("plain/lse-batch-err/fp16", func(dst, x []float16.Float16, r, c int) error {
			for i := range r {
				dst[i] = roundedLSE[float16.Float16]()(x[i*c : (i+1)*c])
			}
			return nil
		}, acc),
		kernels.SoftmaxBackward("plain/softmaxbwd/fp32", roundedBackward[float32], acc),
		kernels.SoftmaxBackwardErr("plain/softmaxbwd-err/bf16", func(dx, x, dy []uint16) error { roundedBackward(dx, x, dy); return nil }, acc),
		kernels.SoftmaxBackwardBatch("plain/softmaxbwd-batch/fp32", func(dx, x, dy []float32, r, c int) {
			for i := range r {
				roundedBackward(dx[i*c:(i+1)*c], x[i*c:(i+1)*c], dy[i*c:(i+1)*c])
			}
		}, acc),
		kernels.CrossEntropy("plain/ce/fp32", roundedCE[float32], acc),
		kernels.CrossEntropy("plain/ce/fp64", plainCE, acc),
		kernels.CrossEntropyErr("plain/ce-err/fp16", func(x []float16.Float16, t int) (float16.Float16, error) { return roundedCE(x, t), nil }, acc),
		kernels.CrossEntropyGrad("plain/cegrad/fp32", roundedCEGrad[float32], acc),
		kernels.CrossEntropyGradErr("plain/cegrad-err/bf16", func(dx, x []uint16, t int) error { roundedCEGrad(dx, x, t); return nil }, acc),
	}
}

// TestPlainAdapterKernelsPass: no false alarm through any adapter. It caught the row
// cross-entropy adapters skipping rows of class weight 0 (a NaN row's loss and gradient came out
// 0 where the oracle and PyTorch give NaN) and scaling the zero gradient of ignored rows by
// 0/0 when every row is ignored under mean.
func TestPlainAdapterKernelsPass(t *testing.T) {
	n := longChecks()
	if n > 0 {
		setFlag(t, "rapid.checks", strconv.Itoa(n))
	}
	for _, k := range adapterPlainKernels() {
		t.Run(k.Name, func(t *testing.T) {
			if n > 0 {
				t.Parallel()
			}
			Check(t, k)
		})
	}
}

// TestRowCEAdapterWeights replays the cases of the false alarm on the row adapters, with the
// textbook loss −x_t + max + log Σ e^(x_j − max) in float64 that first showed it. Each expected
// value follows from PyTorch's semantics (NUMERICS §8), not from the oracle: a class weight of 0
// multiplies a NaN row loss into NaN (−0·NaN in nll_loss), an ignored row contributes nothing,
// and the gradient of a mean over only ignored rows is 0 (nll_loss's backward writes no ignored
// row).
func TestRowCEAdapterWeights(t *testing.T) {
	textbook := func(x []float64, t int) float64 {
		m := math.Inf(-1)
		for _, v := range x {
			m = math.Max(m, v)
		}
		s := 0.0
		for _, v := range x {
			s += math.Exp(v - m)
		}
		return -x[t] + m + math.Log(s)
	}
	textbookGrad := func(dx, x []float64, t int) { plainSoftmax(dx, x); dx[t]-- }
	acc := kernels.WithAcc(fp.FP64)
	loss := kernels.CrossEntropy("textbook/ce", textbook, acc)
	grad := kernels.CrossEntropyGrad("textbook/cegrad", textbookGrad, acc)
	nan, inf := math.NaN(), math.Inf(1)
	zeroW := generators.CEOptions{Weights: []float64{0}, IgnoreIndex: -100, Reduction: generators.ReduceMean}
	zeroWSum := zeroW
	zeroWSum.Reduction = generators.ReduceSum
	mean := generators.DefaultCEOptions()
	c := func(x []float64, t int, o generators.CEOptions) generators.Case {
		return generators.Case{Format: fp.FP64, Class: "test/regression", Rows: 1, Cols: len(x), X: x, Targets: []int{t}, CE: o, RowClasses: make([]generators.Class, 1)}
	}
	for _, tc := range []struct {
		k    *kernels.Kernel
		c    generators.Case
		want float64
		why  string
	}{
		{loss, c([]float64{-inf}, 0, zeroWSum), nan, "[−Inf], target weight 0: −0·NaN = NaN, not a skipped row"},
		{loss, c([]float64{inf}, 0, zeroWSum), nan, "[+Inf], target weight 0: Inf − Inf is NaN at any weight"},
		{loss, c([]float64{-inf}, 0, zeroW), nan, "mean of one zero-weight NaN row: NaN"},
		{grad, c([]float64{-inf}, 0, zeroWSum), nan, "the gradient of [−Inf] at weight 0: 0·NaN"},
		{grad, c([]float64{0}, -100, mean), 0, "mean over ignored rows only: the loss is 0/0 but no row has a gradient"},
		{loss, c([]float64{0}, -100, mean), nan, "mean over ignored rows only: 0/0 = NaN, as PyTorch"},
	} {
		v := Evaluate(context.Background(), tc.k, tc.c)
		if !v.OK() || v.Skipped != "" {
			t.Errorf("%s: %s (skipped %q):\n%s", tc.k.Name, tc.why, v.Skipped, v.Report())
			continue
		}
		if g := v.Got[0]; !(g == tc.want || math.IsNaN(g) && math.IsNaN(tc.want)) {
			t.Errorf("%s: %s: output = %s, want %s", tc.k.Name, tc.why, hexf(g), hexf(tc.want))
		}
	}
}
