package properties

import (
	"context"
	"math"
	"testing"

	"github.com/ulpcheck/ulpcheck/fp"
	"github.com/ulpcheck/ulpcheck/generators"
	"github.com/ulpcheck/ulpcheck/kernels"
)

// shiftedLogSoftmax is a test-only mutant: a correct float64 log-softmax plus a constant c, the
// signature of a kernel that adds the wrong log-normaliser (log n, a stale running sum, …).
func shiftedLogSoftmax(c float64) func(dst, x []float64) {
	return func(dst, x []float64) {
		plainLogSoftmax(dst, x)
		for i := range dst {
			dst[i] -= c
		}
	}
}

// Only the exp-log-softmax identity is left on: the other properties would see the shift too.
var onlyExpLog = Skip(PropAccuracy, PropShift, PropPermute, PropBatch, PropRange, PropMasking,
	PropNoNaN, PropNoInf, PropPropagate)

// A log-softmax off by a constant shift c scales exp(ℓ̂) by e^−c: the identity must see it,
// on a fixed row and under rapid, for a shift of 2^−10 (about 8 fp16 ulps of −1, 2^13 fp32 ulps).
func TestExpLogSoftmaxCatchesShift(t *testing.T) {
	const c = 0x1p-10
	x := []float64{1.5, -2, 0.25, 3}
	for _, k := range []*kernels.Kernel{
		kernels.LogSoftmax("shifted/logsoftmax/fp32", roundedRow[float32](shiftedLogSoftmax(c)), kernels.WithAcc(fp.FP64)),
		kernels.LogSoftmax("shifted/logsoftmax/fp64", roundedRow[float64](shiftedLogSoftmax(c)), kernels.WithAcc(fp.FP64)),
	} {
		t.Run(k.Name, func(t *testing.T) {
			cs := generators.Case{Format: k.In, Class: "test/fixed", Rows: 1, Cols: len(x), X: x, RowClasses: []generators.Class{"test/fixed"}}
			v := Evaluate(context.Background(), k, cs, onlyExpLog)
			if v.OK() || v.Failures[0].Property != PropExpLog || v.Failures[0].Class != ClassIdentity {
				t.Fatalf("row %v shifted by %g: want an %s identity failure, got:\n%s", x, c, PropExpLog, v.Report())
			}
			t.Logf("fixed row: %s", v.Failures[0])
			v, ok := find(t, k, onlyExpLog)
			if !ok || !hasClass(v, ClassIdentity) {
				t.Fatalf("rapid did not find the shift through %s (found %v, classes %v)", PropExpLog, ok, v.Classes())
			}
			t.Logf("minimal counterexample:\n%s", v.Report())
		})
	}
}

// The identity allows exactly what the log-softmax tolerance allows: outputs moved by the whole
// tolerance τ (rounded inward into the format) pass, the same outputs moved by 4τ fail.
func TestExpLogSoftmaxMargin(t *testing.T) {
	k := mustLookup(t, "logsoftmax/shifted/fp32")
	out := k.OutFormat()
	x := []float64{1.5, -2, 0.25, 3, -7.5, 0}
	a := &kernels.Args{Rows: 1, Cols: len(x), X: x}
	ex, err := Exact(k, a)
	if err != nil {
		t.Fatal(err)
	}
	tol := tolerances(Condition(0), k, a, approxOf(ex))
	for i, e := range ex {
		l := e.Float64()
		for _, dir := range []float64{-1, 1} {
			// The farthest format value within τ of ℓ on this side: inside the tolerance.
			in := e.Rounded
			for {
				nx := out.Next(in)
				if dir < 0 {
					nx = out.Prev(in)
				}
				if math.Abs(nx-l) > tol[i] || nx > 0 {
					break
				}
				in = nx
			}
			if msg := expLogConsistent(out, in, e, tol[i]); msg != "" {
				t.Errorf("output %d: ℓ̂ = %s within τ = %g of ℓ = %s, yet: %s", i, hexf(in), tol[i], hexf(l), msg)
			}
			far, _ := out.RoundFloat64(l + dir*4*tol[i])
			if far > 0 {
				continue
			}
			if msg := expLogConsistent(out, far, e, tol[i]); msg == "" {
				t.Errorf("output %d: ℓ̂ = %s is 4τ = %g from ℓ = %s and passed", i, hexf(far), 4*tol[i], hexf(l))
			}
		}
	}
}
