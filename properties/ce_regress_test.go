package properties

import (
	"context"
	"math"
	"strings"
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

// TestInfWithinToleranceOfOverflowFP64 is TestInfWithinToleranceOfOverflow in fp64, where the
// boundary max + ½ulp(max) is no float64 (it rounds to +Inf, a tie to even), so that the
// distance to it must be formed without it. Found by ULPCHECK_LONG=300 (ce/fusedprob/fp64):
// a row at 709.78 with a one-hot target and a row of ±max and 0 with uniform targets, summed;
// the loss ≈ max within 0.15 ulp, the bound about 2066 ulp, and the kernel on the reversed
// columns rounds its sum to +Inf. That is within the tolerance and must pass; +Inf for a loss
// of log 2 must still fail.
func TestInfWithinToleranceOfOverflowFP64(t *testing.T) {
	const n = 1024
	mx := math.MaxFloat64
	per := []float64{mx, -mx, -mx, 0, -mx, mx, math.Nextafter(mx, 0)}
	x, p := make([]float64, 2*n), make([]float64, 2*n)
	for i := range n {
		x[i] = 0x1.62e42fefa39ebp+09
		x[n+i] = per[i%len(per)]
		p[n+i] = 0x1p-10
	}
	p[0] = 1
	sum := generators.CEOptions{IgnoreIndex: -100, Reduction: generators.ReduceSum}
	c := generators.Case{Format: fp.FP64, Class: "test/overflow-boundary", Rows: 2, Cols: n, X: x, Probs: p, CE: sum, RowClasses: make([]generators.Class, 2)}
	k := mustLookup(t, "ce/fusedprob/fp64")
	a := argsOf(c)
	b := reversedArgs(&a)
	if got, err := k.Call(context.Background(), b); err != nil || !math.IsInf(got[0], 1) {
		t.Fatalf("the kernel on the reversed columns gives %v, %v; the test needs +Inf", got, err)
	}
	if v := Evaluate(context.Background(), k, c); !v.OK() {
		t.Fatalf("false alarm:\n%s", v.Report())
	}
	inf := kernels.CrossEntropyProbBatch("always-inf", func(dst, _, _ []float64, _, _ int, _ kernels.CEOptions) error {
		for i := range dst {
			dst[i] = math.Inf(1)
		}
		return nil
	})
	c2 := generators.Case{Format: fp.FP64, Class: "test", Rows: 1, Cols: 2, X: []float64{0, 0}, Probs: []float64{1, 0}, CE: generators.DefaultCEOptions(), RowClasses: []generators.Class{"test"}}
	if v := Evaluate(context.Background(), inf, c2); v.OK() || !hasClass(v, ClassOverflow) {
		t.Fatalf("+Inf for a loss of log 2 passed (classes %v):\n%s", v.Classes(), v.Report())
	}
}

// TestOverflowBoundaryBand replays a false alarm of the 100,000-case run (ce/fusedprob/fp32,
// rapid seed 87493): the exact loss max·Σp + log 7 + log 3 ≈ max + 0.75 ulp lies just past fp32's
// overflow boundary max + ½ulp, so it rounds to +Inf, while the kernel, within its tolerance,
// returns max. Both max and +Inf are within the tolerance there: the mirror of +Inf accepted for
// an exact value just below the boundary. A kernel that clamps a loss far beyond the boundary to
// max (2·max here) still fails.
func TestOverflowBoundaryBand(t *testing.T) {
	mx := fp.FP32.MaxFinite()
	p := float64(float32(1.0 / 7)) // 0x3e124925: seven of them sum to 1 + 4.5e−8
	sum := generators.CEOptions{IgnoreIndex: -100, Reduction: generators.ReduceSum}
	near := generators.Case{Format: fp.FP32, Class: "test/regression", Rows: 2, Cols: 7,
		X:     []float64{0, 0, 0, 0, 0, 0, 0, mx, mx, mx, -mx, -mx, -mx, 0},
		Probs: []float64{1, 0, 0, 0, 0, 0, 0, p, p, p, p, p, p, p}, CE: sum, RowClasses: make([]generators.Class, 2)}
	v := Evaluate(context.Background(), mustLookup(t, "ce/fusedprob/fp32"), near)
	if !math.IsInf(v.Want[0], 1) {
		t.Fatalf("the exact loss should round to +Inf in fp32, oracle gives %s", hexf(v.Want[0]))
	}
	if !v.OK() {
		t.Fatalf("a kernel within its tolerance of a loss just past the overflow boundary fails:\n%s", v.Report())
	}
	if v.Ulp[0] > 1 || v.Ulp[0] < 0.5 {
		t.Errorf("ulp error %v of %s against max + 0.75ulp, want in [½, 1]", v.Ulp[0], hexf(v.Got[0]))
	}

	// The same in fp64 (rapid seed 900983433837639777): 22 probabilities 1/22 sum to just
	// above 1, and the loss of a row at ±max lands 0.52 ulp past the boundary.
	m64 := math.MaxFloat64
	x64 := []float64{m64, m64, m64, m64, m64, m64}
	for range 9 {
		x64 = append(x64, -m64)
	}
	x64 = append(x64, math.Nextafter(m64, 0), math.Float64frombits(0x7feffffffffffffd), math.Float64frombits(0x7feffffffffffffc), 0, 0, 0, 0)
	p64 := make([]float64, 22)
	for i := range p64 {
		p64[i] = 1.0 / 22
	}
	mean := generators.CEOptions{IgnoreIndex: -100, Reduction: generators.ReduceMean}
	near64 := generators.Case{Format: fp.FP64, Class: "test/regression", Rows: 1, Cols: 22, X: x64, Probs: p64, CE: mean, RowClasses: make([]generators.Class, 1)}
	if v := Evaluate(context.Background(), mustLookup(t, "ce/fusedprob/fp64"), near64); !math.IsInf(v.Want[0], 1) || v.Got[0] != m64 || !v.OK() {
		t.Fatalf("fp64 loss just past the overflow boundary (want +Inf from the oracle, max from the kernel, a pass):\n%s", v.Report())
	}

	// Under Strict(½) the same output fails: 0.75 ulp is outside ½ ulp, and so is max.
	if v := Evaluate(context.Background(), mustLookup(t, "ce/fusedprob/fp32"), near, WithTolerance(Strict(0.5))); v.OK() {
		t.Fatalf("max for max + 0.75ulp passes Strict(½):\n%s", v.Report())
	}

	// The mutant: the bundled kernel with +Inf clamped to max, without declaring saturation,
	// on a loss of 2·max. The condition-aware bound of a row with spread d = 2·max is vacuous
	// (d·loss·u ≫ max), so the mutant is judged under Strict(1), where only +Inf is right.
	k := *mustLookup(t, "ce/fused/fp32")
	k.Name += "/clamped"
	fn := k.Fn
	k.Fn = func(ctx context.Context, a *kernels.Args) ([]float64, error) {
		y, err := fn(ctx, a)
		for i := range y {
			if math.IsInf(y[i], 1) {
				y[i] = mx
			}
		}
		return y, err
	}
	far := generators.Case{Format: fp.FP32, Class: "test/regression", Rows: 1, Cols: 2,
		X: []float64{mx, -mx}, Targets: []int{1}, CE: sum, RowClasses: make([]generators.Class, 1)}
	v = Evaluate(context.Background(), &k, far, WithTolerance(Strict(1)))
	if v.OK() || v.Failures[0].Class != ClassPrecision || !strings.Contains(v.Failures[0].Message, "overflows the format") {
		t.Fatalf("max for an exact loss of 2·max passes or is misclassified:\n%s", v.Report())
	}
	if v := Evaluate(context.Background(), mustLookup(t, "ce/fused/fp32"), far, WithTolerance(Strict(1))); !v.OK() || !math.IsInf(v.Got[0], 1) {
		t.Fatalf("the bundled kernel on a loss of 2·max:\n%s", v.Report())
	}
}
