package properties

import (
	"context"
	"math"
	"testing"

	"github.com/ulpcheck/ulpcheck/fp"
	"github.com/ulpcheck/ulpcheck/generators"
	"github.com/ulpcheck/ulpcheck/kernels"
)

// TestCrossEntropyRegressions replays the cross-entropy cases on which the oracle and the
// bundled kernels once disagreed, now that rapid reaches them (generators.CrossEntropy used to
// panic before drawing its zero-weight class). Each expected value is derived by hand from
// PyTorch's semantics (NUMERICS §8), not copied from the oracle; the verdict must pass and the
// kernel's output must be that value.
func TestCrossEntropyRegressions(t *testing.T) {
	ninf := math.Inf(-1)
	mx := fp.FP32.MaxFinite()
	nan := math.NaN()
	ce := func(rows, cols int, x []float64, targets []int, probs []float64, o generators.CEOptions) generators.Case {
		return generators.Case{Format: fp.FP32, Class: "test/regression", Rows: rows, Cols: cols, X: x, Targets: targets, Probs: probs, CE: o, RowClasses: make([]generators.Class, rows)}
	}
	def := generators.DefaultCEOptions()
	zeroSum := generators.CEOptions{Weights: []float64{0}, IgnoreIndex: -100, Reduction: generators.ReduceSum}
	for _, tc := range []struct {
		kernel string
		c      generators.Case
		want   []float64
		why    string
	}{
		{"cegrad/fp32", ce(1, 2, []float64{0, ninf}, []int{1}, nil, def), []float64{1, -1},
			"target on the −Inf logit: the loss is +Inf but the gradient p − onehot = [1, 0] − [0, 1] is finite (PyTorch's log_softmax backward agrees)"},
		{"cegrad/prob/fp32", ce(1, 2, []float64{0, ninf}, nil, []float64{0.5, 0.5}, def), []float64{0.5, -0.5},
			"target mass ½ on the −Inf logit: the gradient p·Σt − t = [1 − ½, 0 − ½] does not drop the −Inf class"},
		{"ce/fused/fp32", ce(1, 1, []float64{ninf}, []int{0}, nil, zeroSum), []float64{nan},
			"a fully masked row with target weight 0: −0·log(NaN) is NaN in PyTorch's nll_loss, not a skipped row"},
		{"cegrad/fp32", ce(1, 1, []float64{ninf}, []int{0}, nil, zeroSum), []float64{nan},
			"its gradient: 0·(NaN − 1) is NaN"},
		{"ce/fused/fp32", ce(2, 2, []float64{0, ninf, -mx, mx}, []int{0, 0}, nil, def), []float64{mx},
			"row losses 0 and LSE − x_0 = 2·max (above fp32's range), mean = max + e^(−2max)/2 ≈ max, finite: an fp32 row loss must not overflow first"},
	} {
		t.Run(tc.kernel, func(t *testing.T) {
			v := Evaluate(context.Background(), mustLookup(t, tc.kernel), tc.c)
			if !v.OK() || v.Skipped != "" {
				t.Fatalf("%s (skipped %q):\n%s", tc.why, v.Skipped, v.Report())
			}
			for i, w := range tc.want {
				g := v.Got[i]
				if !(g == w || math.IsNaN(g) && math.IsNaN(w)) {
					t.Errorf("%s: output %d = %s, want %s", tc.why, i, hexf(g), hexf(w))
				}
			}
		})
	}
}

// TestCrossEntropyBoundAbsorption replays the false alarms of ULPCHECK_LONG=3000 caused by the
// cross-entropy bound forming LSE − x_c as float64(x_max + log1p(s)) − x_c: when |x_max| is large,
// x_max absorbs log1p(s), the loss magnitude in the bound came out 0 and the bound ½ulp + 3u.
// The bound now uses (x_max − x_c) + log1p(s) (rowStats.lseMinus); it must pass these cases with
// a bound that is not vacuous.
func TestCrossEntropyBoundAbsorption(t *testing.T) {
	const n = 1024
	rep := func(v float64) []float64 {
		x := make([]float64, n)
		for i := range x {
			x[i] = v
		}
		return x
	}
	tie := 709.7827128933835 // 0x1.62e42fefa39ebp+09, log of fp64's MaxFinite rounded down
	row1 := append([]float64{tie, 5}, make([]float64, 22)...)
	for range 7 {
		row1 = append(row1, -tie)
	}
	row0 := make([]float64, 22)
	for range 9 {
		row0 = append(row0, tie)
	}
	f32 := func(b uint32) float64 { return float64(math.Float32frombits(b)) }
	row2 := append(append([]float64{f32(0xc2b17214)}, make([]float64, 10)...), 7, f32(0x42b17214))
	mean := func(eps float64) generators.CEOptions {
		return generators.CEOptions{IgnoreIndex: -100, LabelSmoothing: eps, Reduction: generators.ReduceMean}
	}
	none := generators.CEOptions{IgnoreIndex: -100, Reduction: generators.ReduceNone}
	for _, tc := range []struct {
		kernel string
		c      generators.Case
		why    string
	}{
		{"ce/fusedprob/fp64", generators.Case{Format: fp.FP64, Rows: 1, Cols: n, X: rep(fp.FP64.MaxFinite()), Probs: rep(0x1p-10), CE: mean(0)},
			"x = MaxFinite ×1024, uniform targets: loss log 1024, a sum of 1024 terms 2^−10·log 1024 (89 ulps in the bundled kernel, within n·u)"},
		{"ce/fusedprob/fp32", generators.Case{Format: fp.FP32, Rows: 1, Cols: n, X: rep(fp.FP32.MaxFinite()), Probs: rep(0), CE: mean(0.1)},
			"x = MaxFinite ×1024, zero targets, ε = 0.1: loss 0.1·log 1024 (120 fp32 ulps, within n·u)"},
		{"ce/fused/fp64", generators.Case{Format: fp.FP64, Rows: 2, Cols: 31, X: append(row0, row1...), Targets: []int{0, 0}, CE: none},
			"row 1: target on x_max = 709.78…, loss log1p(s) ≈ e^−704.8 ≈ 9.5e−307, absorbed by x_max in float64 (3.9 ulps in the bundled kernel)"},
		{"ce/fused/fp32", generators.Case{Format: fp.FP32, Rows: 1, Cols: 13, X: row2, Targets: []int{12}, CE: none},
			"target on x_max = 88.72…, loss log1p(s) ≈ e^−81.7 ≈ 3.3e−36 (2.3 ulps in the bundled kernel, columns reversed)"},
	} {
		t.Run(tc.kernel, func(t *testing.T) {
			c := tc.c
			c.Class = "test/absorption"
			c.RowClasses = make([]generators.Class, c.Rows)
			v := Evaluate(context.Background(), mustLookup(t, tc.kernel), c)
			if !v.OK() {
				t.Fatalf("%s: false alarm:\n%s", tc.why, v.Report())
			}
			for i, b := range v.Bound {
				if !(b < 1<<20) {
					t.Errorf("%s: output %d: bound %g ulp is vacuous", tc.why, i, b)
				}
			}
			t.Logf("max error %.4g ulp, bounds %.4g ulp", v.MaxUlp, v.Bound)
		})
	}
}

// TestInfWithinToleranceOfOverflow: a loss whose exact value is MaxFinite + 6.5 (below the
// overflow boundary max + ½ulp(max) by far less than its tolerance) may round to +Inf. Found by
// ULPCHECK_LONG=3000: x = [max, −max, 0] repeated over 2048 columns, a one-hot target on a 0,
// ε = 0.05, mean; loss = 0.95·(LSE − 0) + 0.05·mean_c(LSE − x_c) ≈ max, and the fused fp32
// kernel's sum of 2048 terms rounds beyond the boundary. A value further than the tolerance
// from the boundary must still fail (no-inf).
func TestInfWithinToleranceOfOverflow(t *testing.T) {
	const n = 2048
	mx := fp.FP32.MaxFinite()
	x, p := make([]float64, n), make([]float64, n)
	for i := range x {
		x[i] = []float64{mx, -mx, 0}[i%3]
	}
	p[2] = 1
	c := generators.Case{Format: fp.FP32, Class: "test/overflow-boundary", Rows: 1, Cols: n, X: x, Probs: p,
		CE: generators.CEOptions{IgnoreIndex: -100, LabelSmoothing: 0.05, Reduction: generators.ReduceMean}, RowClasses: []generators.Class{"test"}}
	k := mustLookup(t, "ce/fusedprob/fp32")
	v := Evaluate(context.Background(), k, c)
	if !v.OK() {
		t.Fatalf("false alarm:\n%s", v.Report())
	}
	t.Logf("got %s, error %.4g ulp (judged at the boundary), bound %.4g ulp", hexf(v.Got[0]), v.Ulp[0], v.Bound[0])
	// A kernel returning +Inf for a loss of log 2 is still an overflow.
	inf := kernels.CrossEntropyProbBatch("always-inf", func(dst, _, _ []float32, _, _ int, _ kernels.CEOptions) error {
		for i := range dst {
			dst[i] = float32(math.Inf(1))
		}
		return nil
	})
	c2 := generators.Case{Format: fp.FP32, Class: "test", Rows: 1, Cols: 2, X: []float64{0, 0}, Probs: []float64{1, 0}, CE: generators.DefaultCEOptions(), RowClasses: []generators.Class{"test"}}
	if v := Evaluate(context.Background(), inf, c2); v.OK() || !hasClass(v, ClassOverflow) {
		t.Fatalf("+Inf for a loss of log 2 passed (classes %v):\n%s", v.Classes(), v.Report())
	}
}
