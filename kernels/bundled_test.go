package kernels

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ulpcheck/ulpcheck/fp"
)

func call(t *testing.T, name string, a *Args) []float64 {
	t.Helper()
	k, ok := Lookup(name)
	if !ok {
		t.Fatalf("no bundled kernel %q", name)
	}
	out, err := k.Call(context.Background(), a)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return out
}

func same(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }

func TestBundledSpecialCases(t *testing.T) {
	inf, nan := math.Inf(1), math.NaN()
	row := func(x ...float64) *Args { return &Args{Rows: 1, Cols: len(x), X: x} }
	tests := []struct {
		kernel string
		args   *Args
		want   []float64
		reason string
	}{
		{"softmax/shifted/fp32", row(3, 3, 3, 3), []float64{0.25, 0.25, 0.25, 0.25}, "equal logits give 1/n exactly (NUMERICS §6)"},
		{"softmax/shifted/fp16", row(0, -inf), []float64{1, 0}, "a masked entry gets exactly 0 weight"},
		{"softmax/shifted/fp32", row(-inf, -inf), []float64{nan, nan}, "fully masked row, policy NaN"},
		{"softmax/online/fp32", row(-inf, -inf), []float64{0, 0}, "fully masked row, policy Zero (FlashAttention)"},
		{"softmax/online/bf16", row(-inf, 1, 1), []float64{0, 0.5, 0.5}, "a row that starts with −Inf is not NaN thanks to the guard"},
		{"softmax/shifted/fp64", row(1, nan), []float64{nan, nan}, "NaN propagates to the whole row"},
		{"softmax/online/fp64", row(1, inf), []float64{nan, nan}, "+Inf gives NaN (NUMERICS §5)"},
		{"softmax/naive/fp32", row(89), []float64{nan}, "exp(89) overflows float32: Inf/Inf (the bug the naive kernel exists to show)"},
		{"softmax/shifted/fp32", row(89), []float64{1}, "the shift removes the overflow"},
		{"logsoftmax/shifted/fp32", row(5), []float64{0}, "one finite entry: log-softmax 0 exactly"},
		{"logsoftmax/shifted/bf16", row(2, -inf), []float64{0, -inf}, "masked entry: −Inf"},
		{"logsoftmax/shifted/fp64", row(2, inf), []float64{nan, nan}, "+Inf: NaN everywhere (NUMERICS §5)"},
		{"lse/shifted/fp32", row(-7.5), []float64{-7.5}, "one entry: LSE = x exactly"},
		{"lse/shifted/fp16", row(), []float64{-inf}, "empty row: −Inf"},
		{"lse/shifted/fp64", row(-inf, -inf), []float64{-inf}, "fully masked: −Inf"},
		{"lse/shifted/bf16", row(1, inf), []float64{inf}, "+Inf: +Inf"},
		{"softmaxbwd/fp32", &Args{Rows: 1, Cols: 2, X: []float64{1, 1}, DY: []float64{3, 3}}, []float64{0, 0}, "y = ½ exactly, dy constant: dx = 0 exactly"},
		{"softmaxbwd/fp16", &Args{Rows: 1, Cols: 2, X: []float64{1, 1}, DY: []float64{1, 0}}, []float64{0.25, -0.25}, "y = ½, c = ½: dx = ±¼ exactly"},
		{"cegrad/fp32", &Args{Rows: 1, Cols: 4, X: []float64{0, 0, 0, 0}, Targets: []int{0}, CE: CEOptions{IgnoreIndex: -100}}, []float64{-0.75, 0.25, 0.25, 0.25}, "p = ¼: p − onehot exactly"},
		{"cegrad/bf16", &Args{Rows: 2, Cols: 2, X: []float64{0, 0, 5, 1}, Targets: []int{1, -100}, CE: CEOptions{IgnoreIndex: -100}}, []float64{0.5, -0.5, 0, 0}, "the ignored row gets 0 and the mean divides by 1"},
		{"ce/fused/fp32", &Args{Rows: 2, Cols: 2, X: []float64{0, 0, 0, 0}, Targets: []int{-100, -100}, CE: CEOptions{IgnoreIndex: -100}}, []float64{nan}, "every row ignored: mean is 0/0 = NaN as in PyTorch"},
		{"ce/fused/fp64", &Args{Rows: 1, Cols: 2, X: []float64{0, -inf}, Targets: []int{1}, CE: CEOptions{IgnoreIndex: -100, Reduction: ReduceNone}}, []float64{inf}, "the target's logit is −Inf: +Inf loss"},
		{"ce/fused/fp32", &Args{Rows: 1, Cols: 2, X: []float64{0, -inf}, Targets: []int{0}, CE: CEOptions{IgnoreIndex: -100, Reduction: ReduceSum}}, []float64{0}, "a −Inf non-target logit contributes exactly 0"},
		{"ce/fused/bf16", &Args{Rows: 1, Cols: 2, X: []float64{fp.BF16.MaxFinite(), 0}, Targets: []int{1}, CE: CEOptions{Weights: []float64{2, 2}, IgnoreIndex: -100}}, []float64{fp.BF16.MaxFinite()}, "w·l = 2·max overflows float32, but the mean w·l/w = max does not"},
		{"ce/fusedprob/bf16", &Args{Rows: 1, Cols: 2, X: []float64{0, -inf}, Probs: []float64{1, 0}, CE: CEOptions{Reduction: ReduceNone}}, []float64{0}, "zero mass on a −Inf logit contributes 0 (xlogy), not 0·Inf = NaN"},
		{"ce/fusedprob/fp64", &Args{Rows: 2, Cols: 2, X: []float64{0, 0, 0, 0}, Probs: []float64{0.5, 0.5, 1, 0}, CE: CEOptions{Reduction: ReduceMean}}, []float64{math.Ln2}, "equal logits: −log ½ per row, mean over rows"},
		{"cegrad/prob/fp16", &Args{Rows: 1, Cols: 2, X: []float64{0, 0}, Probs: []float64{1, 0}, CE: CEOptions{Reduction: ReduceMean}}, []float64{-0.5, 0.5}, "p − t' = (½ − 1, ½ − 0) exactly"},
	}
	for _, tt := range tests {
		got := call(t, tt.kernel, tt.args)
		for i := range tt.want {
			if !same(got[i], tt.want[i]) {
				t.Errorf("%s%v: output %d = %g (%#x), want %g (%s)", tt.kernel, tt.args.X, i, got[i], math.Float64bits(got[i]), tt.want[i], tt.reason)
			}
		}
	}
}

func TestFP16AccStallsOnFlatRows(t *testing.T) {
	// Σ of 4096 ones in fp16 stalls at 2048: the output is 1/2048, twice the exact 1/4096.
	x := make([]float64, 4096)
	got := call(t, "softmax/fp16acc/fp16", &Args{Rows: 1, Cols: len(x), X: x})
	if got[0] != 1.0/2048 {
		t.Fatalf("fp16acc flat row: %g, want 1/2048 (the documented failure)", got[0])
	}
	if good := call(t, "softmax/shifted/fp16", &Args{Rows: 1, Cols: len(x), X: x}); good[0] != 1.0/4096 {
		t.Fatalf("shifted fp16 flat row: %g, want 1/4096", good[0])
	}
}

// TestMixedPrecisionWithinOneUlp checks the fp16 and bf16 storage kernels (fp32 accumulation)
// against float64 references computed without a shift: on rows of at most 32 logits in [−8, 8]
// the fp32 error bound (NUMERICS §3) is below 2^−16 relative, far below ½ulp of fp16 and bf16, so
// each output is within one ulp of the float64 reference rounded to the storage format.
func TestMixedPrecisionWithinOneUlp(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cases := 2000
	if testing.Short() {
		cases = 200
	}
	for _, f := range []fp.Format{fp.FP16, fp.BF16} {
		for c := 0; c < cases; c++ {
			n := 1 + rng.IntN(32)
			x := make([]float64, n)
			for i := range x {
				x[i], _ = f.RoundFloat64(rng.Float64()*16 - 8)
			}
			var z, zs float64
			m := math.Inf(-1)
			for _, v := range x {
				z += math.Exp(v)
				m = math.Max(m, v)
			}
			for _, v := range x {
				zs += math.Exp(v - m)
			}
			ls := math.Log(zs) // softmax: unshifted; log-softmax, LSE, CE: shifted, where cancellation would hide an exact 0
			tgt := rng.IntN(n)
			ref := map[string][]float64{
				"softmax/shifted/":    make([]float64, n),
				"softmax/online/":     make([]float64, n),
				"logsoftmax/shifted/": make([]float64, n),
				"lse/shifted/":        {m + ls},
				"ce/fused/":           {(m - x[tgt]) + ls},
			}
			for i, v := range x {
				ref["softmax/shifted/"][i] = math.Exp(v) / z
				ref["softmax/online/"][i] = math.Exp(v) / z
				ref["logsoftmax/shifted/"][i] = (v - m) - ls
			}
			a := &Args{Rows: 1, Cols: n, X: x, Targets: []int{tgt}, CE: CEOptions{IgnoreIndex: -100, Reduction: ReduceNone}}
			for prefix, want := range ref {
				got := call(t, prefix+f.String(), a)
				for i := range want {
					w, _ := f.RoundFloat64(want[i])
					if d := f.UlpDistance(got[i], w); d > 1 {
						t.Fatalf("%s%s x=%v: output %d = %g (%#x), float64 reference %g rounds to %g: %d ulps apart",
							prefix, f, x, i, got[i], math.Float64bits(got[i]), want[i], w, d)
					}
				}
			}
		}
	}
}

func TestRegistry(t *testing.T) {
	ks := Bundled()
	if len(ks) < 30 {
		t.Fatalf("%d bundled kernels, want every op × fp32, fp64, fp16, bf16", len(ks))
	}
	for _, k := range ks {
		if err := k.Validate(); err != nil {
			t.Error(err)
		}
		if k.Doc == "" {
			t.Errorf("%s: no documentation", k.Name)
		}
		if k2, ok := Lookup(k.Name); !ok || k2 == k {
			t.Errorf("%s: Lookup must return a fresh copy", k.Name)
		}
	}
	for _, n := range []string{"softmax/naive/fp32", "softmax/fp16acc/fp16"} {
		if k, _ := Lookup(n); k == nil || k.Broken == "" {
			t.Errorf("%s must be marked Broken", n)
		}
	}
}

// TestCrossEntropyEdgeCases checks the CE kernels where PyTorch's semantics (checked with float64
// torch 1.13: F.cross_entropy and loss.backward()) or exact arithmetic settle the result: rows
// whose loss is ±Inf but whose gradient is finite, zero weights on NaN or +Inf rows, coefficients
// that underflow, and intermediate values (m − x_c, Σ_c, Σ_n) that overflow where the loss does
// not. Every expected value is exact in the kernel's format and computed without rounding by the
// kernels' documented algorithms.
func TestCrossEntropyEdgeCases(t *testing.T) {
	inf, nan := math.Inf(1), math.NaN()
	tiny32, tiny64 := math.Ldexp(1, -149), math.Ldexp(1, -1074)
	ce := func(x []float64, tg []int, o CEOptions) *Args {
		o.IgnoreIndex = -100
		return &Args{Rows: len(tg), Cols: len(x) / len(tg), X: x, Targets: tg, CE: o}
	}
	prob := func(x, p []float64, rows int, o CEOptions) *Args {
		return &Args{Rows: rows, Cols: len(x) / rows, X: x, Probs: p, CE: o}
	}
	tests := []struct {
		kernel string
		args   *Args
		want   []float64
		reason string
	}{
		// Semantics (torch gives exactly these values).
		{"cegrad/fp64", ce([]float64{0, -inf}, []int{1}, CEOptions{}), []float64{1, -1},
			"target logit −Inf: the loss is +Inf but the gradient p − onehot = [1, −1] is finite (torch)"},
		{"cegrad/fp32", ce([]float64{0, -inf}, []int{0}, CEOptions{LabelSmoothing: 1}), []float64{0.5, -0.5},
			"ε = 1: p − t' = [1 − ½, 0 − ½] (torch)"},
		{"cegrad/fp32", ce([]float64{0, inf}, []int{1}, CEOptions{Weights: []float64{1, 0}, Reduction: ReduceSum}), []float64{nan, nan},
			"zero target weight on a +Inf row: 0·NaN = NaN (torch), not 0"},
		{"cegrad/fp64", ce([]float64{-inf, -inf}, []int{0}, CEOptions{Weights: []float64{0, 1}, Reduction: ReduceNone}), []float64{nan, nan},
			"zero target weight on a fully masked row: NaN (torch)"},
		{"ce/fused/fp32", ce([]float64{0, inf}, []int{1}, CEOptions{Weights: []float64{1, 0}, Reduction: ReduceSum}), []float64{nan},
			"zero target weight on a +Inf row: NaN (torch)"},
		{"ce/fused/fp16", ce([]float64{nan}, []int{0}, CEOptions{Weights: []float64{0}, Reduction: ReduceNone}), []float64{nan},
			"zero target weight on a NaN row: NaN (torch)"},
		{"ce/fused/fp64", ce([]float64{0, -inf}, []int{0}, CEOptions{LabelSmoothing: 1, Reduction: ReduceNone}), []float64{inf},
			"ε = 1: (1−ε)·nll_t = 0 and (ε/C)·nll_1 = +Inf: +Inf (torch), not 0·Inf = NaN"},
		{"ce/fused/bf16", ce([]float64{0, 0, -inf, 0}, []int{0, 0}, CEOptions{LabelSmoothing: 1, Reduction: ReduceNone}), []float64{math.Ln2, inf},
			"ε = 1 with the target at −Inf: +Inf (torch); the other row is log 2 (bf16 0.69140625 = RN(log 2))"},
		// Underflowing coefficients.
		{"ce/fused/fp64", ce([]float64{0, -inf}, []int{0}, CEOptions{Weights: []float64{0, tiny64}, LabelSmoothing: 1, Reduction: ReduceSum}), []float64{inf},
			"(ε/C)·w_1 = 2^−1075 underflows to 0 but is nonzero: +Inf (torch), not 0·Inf = NaN"},
		{"ce/fusedprob/fp64", prob([]float64{0, -inf}, []float64{1, tiny64}, 1, CEOptions{Weights: []float64{1, tiny64}, Reduction: ReduceNone}), []float64{inf},
			"w_1·t_1 = 2^−2148 underflows but is nonzero on a −Inf logit: +Inf (torch)"},
		{"cegrad/fp32", ce([]float64{0, 0, 0, 0}, []int{0, 1}, CEOptions{Weights: []float64{tiny32, tiny32}}), []float64{-0.25, 0.25, 0.25, -0.25},
			"w/D = ½ exactly; w·(p − δ) = 2^−149·½ would underflow to 0 (torch: ±0.25)"},
		// Overflowing intermediates, exact results.
		{"ce/fused/fp32", ce([]float64{0x1p127, -0x1p127}, []int{0}, CEOptions{LabelSmoothing: 0.5, Reduction: ReduceNone}), []float64{0x1p126},
			"m − x_1 = 2^128 overflows float32; loss = ½·nll_0 + ¼·(nll_0 + 2^128) = 2^126 + O(e^−2^128) (torch float64: 8.507059173023462e+37 = 2^126)"},
		{"ce/fused/fp32", ce([]float64{0x1p126, -0x1.8p127, 0, 0}, []int{1, 0}, CEOptions{}), []float64{0x1p127},
			"m − x_t = 2^128 overflows float32; mean = (2^128 + log 2)/2 rounds to 2^127"},
		{"ce/fused/fp64", ce([]float64{0x1p1022, -0x1p1022}, []int{0}, CEOptions{Weights: []float64{1, 4}, LabelSmoothing: 0.5, Reduction: ReduceNone}), []float64{0x1p1023},
			"(ε/C)·Σ_c w_c·nll_c = ¼·4·2^1023 = 2^1023, but Σ_c (w_c/C)·nll_c = 2^1024 overflows (torch float64 gives +Inf here)"},
		{"ce/fused/fp32", ce([]float64{0x1p104, -0x1.fffffep127}, []int{0}, CEOptions{Weights: []float64{0, tiny32}, LabelSmoothing: 0.5, Reduction: ReduceNone}), []float64{0x1p-23},
			"(ε/C)·w_1·nll_1 = ¼·2^−149·(2^128 + O(e^−2^128)) = 2^−23: m − x_1 = 2^128 overflows and (ε/C)·w_1 = 2^−151 underflows in float32 (the campaign's ce/fused/fp32 [3.04e31, −3.4e38] case: Inf, then 0)"},
		{"ce/fusedprob/fp64", prob([]float64{0x1p1023, -0x1p1023, 0, 0}, []float64{0, 1, 1, 0}, 2, CEOptions{}), []float64{0x1p1023},
			"nll = 2^1024 overflows float64, the mean (2^1024 + log 2)/2 rounds to 2^1023"},
	}
	for _, tt := range tests {
		got := call(t, tt.kernel, tt.args)
		if len(got) != len(tt.want) {
			t.Fatalf("%s: %d outputs, want %d (%s)", tt.kernel, len(got), len(tt.want), tt.reason)
		}
		for i := range got {
			want := tt.want[i]
			if k, ok := Lookup(tt.kernel); ok && !math.IsNaN(want) {
				want, _ = k.OutFormat().RoundFloat64(want) // only log 2 is not already a member
			}
			if !same(got[i], want) {
				t.Errorf("%s%v: output %d = %g (%#x), want %g (%#x) (%s)", tt.kernel, tt.args.X, i, got[i], math.Float64bits(got[i]), want, math.Float64bits(want), tt.reason)
			}
		}
	}
}
