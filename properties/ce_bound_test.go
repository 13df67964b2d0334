package properties

import (
	"context"
	"math"
	"testing"

	"github.com/ulpcheck/ulpcheck/fp"
	"github.com/ulpcheck/ulpcheck/generators"
	"github.com/ulpcheck/ulpcheck/kernels"
)

// TestCrossEntropyBoundOnWideRows: the cross-entropy bound charges the spread to s/(1+s), not to
// the loss, so on the two-class rows [30, −30] and [100, −100] with target 1 (losses 60 and 200,
// s ≈ e^−60 and e^−200) it allows a few ulps where the old (5 + n + d)·nll·u allowed about 126
// and 329, and a kernel 30 ulps off fails there.
func TestCrossEntropyBoundOnWideRows(t *testing.T) {
	k := mustLookup(t, "ce/fused/fp32")
	for _, tc := range []struct {
		x        []float64
		maxBound float64
	}{
		{[]float64{30, -30}, 5},
		{[]float64{100, -100}, 5},
	} {
		c := generators.Case{Format: fp.FP32, Class: "test/wide", Rows: 1, Cols: 2, X: tc.x, Targets: []int{1},
			CE: generators.DefaultCEOptions(), RowClasses: make([]generators.Class, 1)}
		v := Evaluate(context.Background(), k, c)
		if !v.OK() {
			t.Fatalf("%v: the bundled kernel fails:\n%s", tc.x, v.Report())
		}
		if b := v.Bound[0]; !(b <= tc.maxBound) {
			t.Errorf("%v target 1: bound %.4g ulp, want ≤ %v", tc.x, b, tc.maxBound)
		}
		t.Logf("%v target 1: bound %.4g ulp", tc.x, v.Bound[0])
		// The same loss 30 ulps up must fail as precision loss.
		off := kernels.CrossEntropyBatch("ce/30-ulps-off", func(dst, x []float32, rows, cols int, tg []int, o kernels.CEOptions) {
			v := float64(x[1-tg[0]]) - float64(x[tg[0]]) // the exact loss, to far below an ulp, on these rows
			for range 30 {
				v = fp.FP32.Next(v)
			}
			dst[0] = float32(v)
		}, kernels.WithCEModes(kernels.ReduceMean)) // accumulates in fp32, as ce/fused/fp32
		w := Evaluate(context.Background(), off, c)
		if w.OK() {
			t.Errorf("%v: a kernel 30 ulps off passes (bound %.4g ulp)", tc.x, w.Bound[0])
			continue
		}
		if f := w.Failures[0]; f.Property != PropAccuracy || f.Class != ClassPrecision {
			t.Errorf("%v: the kernel 30 ulps off fails %s [%s], want accuracy [precision loss]:\n%s", tc.x, f.Property, f.Class, w.Report())
		}
	}
}

// TestBoundsNearMaxAreNotVacuous: bounds are formed with u inside each product, so an fp64
// output near MaxFinite keeps a bound of a few ulps. Before, (e_y + n)·Σ|dy_j|y_j and the
// cross-entropy's (5 + n + d)·nll overflowed float64 to an infinite tolerance there (anything
// passed), or dropped the term and left ½ulp.
func TestBoundsNearMaxAreNotVacuous(t *testing.T) {
	mx := fp.FP64.MaxFinite()
	ninf := math.Inf(-1)
	for _, tc := range []struct {
		kernel string
		c      generators.Case
	}{
		{"softmaxbwd/fp64", generators.Case{Format: fp.FP64, Rows: 1, Cols: 2, X: []float64{0, 0}, DY: []float64{mx, -mx}}},
		{"ce/fusedprob/fp64", generators.Case{Format: fp.FP64, Rows: 3, Cols: 2, X: []float64{-mx, mx, 0, 0, 0, 0},
			Probs: []float64{1, 0, 0.5, 0.5, 0.5, 0.5}, CE: generators.DefaultCEOptions()}},
		{"ce/fused/fp64", generators.Case{Format: fp.FP64, Rows: 2, Cols: 2, X: []float64{-mx, mx / 2, 0, ninf},
			Targets: []int{0, 0}, CE: generators.DefaultCEOptions()}},
	} {
		tc.c.Class = "test/near-max"
		tc.c.RowClasses = make([]generators.Class, tc.c.Rows)
		k := mustLookup(t, tc.kernel)
		v := Evaluate(context.Background(), k, tc.c)
		if !v.OK() {
			t.Errorf("%s: the bundled kernel fails:\n%s", tc.kernel, v.Report())
			continue
		}
		for i, b := range v.Bound {
			if math.Abs(v.Want[i]) > mx/4 && !(b < 32) {
				t.Errorf("%s: output %d = %s has bound %.4g ulp, want a finite few", tc.kernel, i, hexf(v.Want[i]), b)
			}
		}
		t.Logf("%s: bounds %v ulp", tc.kernel, v.Bound)
	}
}
