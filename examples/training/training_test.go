package training

import (
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/ulpcheck/ulpcheck/fp"
	"github.com/ulpcheck/ulpcheck/oracle"
)

func TestOutcomes(t *testing.T) {
	for i, cfg := range Runs(0) {
		t.Run(RunNames[i], func(t *testing.T) {
			r, err := Run(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := Check(i, r); err != nil {
				k, g := r.Growth()
				t.Fatalf("%v\nresult: first NaN %d, first non-finite %d, max logit %g (at NaN %g), skipped %d, nonzero grads %d/%d, accuracy %g, loss %g → %g (minimum %g), scale %g, norm growth ×%g over %d steps",
					err, r.FirstNaN, r.FirstNonFinite, r.MaxLogit, r.MaxLogitAtNaN, r.Skipped, r.NonzeroGrads, r.ExactNonzero, r.Accuracy,
					r.Losses[0], r.Losses[len(r.Losses)-1], r.MinLoss, r.FinalScale, g, k)
			}
		})
	}
}

func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("TestOutcomes covers seed 0")
	}
	if err := Demo(os.Stdout, 1); err != nil {
		t.Fatal(err)
	}
}

// norm2Bound is Norm2's error bound in ulps for n elements (its doc comment: n/2 + 1, first
// order), with 1/2 ulp for the second-order terms, the subnormal squares and UlpError's 1/1000.
func norm2Bound(n int) float64 { return float64(n)/2 + 1.5 }

// TestExplodingGradients runs (d) with and without clipping and checks, at every step, the
// logged norm against the exact norm (oracle.GradNorm) and the clip against the exact clip
// coefficient and the exactly clipped norm; then the outcomes of Check and what the log shows.
func TestExplodingGradients(t *testing.T) {
	cfgs := Runs(0)[3:]
	var res [2]Result
	for i, cfg := range cfgs {
		checked := 0
		cfg.Observe = func(step int, f fp.Format, g []float64, norm float64) {
			want, err := oracle.GradNorm(f, [][]float64{g}, 2)
			if err != nil {
				t.Fatalf("step %d: %v", step, err)
			}
			if e := want.UlpError(norm); !(e <= norm2Bound(len(g))) && !(want.IsNaN() && math.IsNaN(norm)) {
				t.Errorf("%s step %d: Norm2 = %g (%#x), exact %g: %.3g ulp > %g", RunNames[3+i], step, norm, f.Encode(norm), want.Exact(), e, norm2Bound(len(g)))
			}
			if math.IsNaN(norm) || math.IsInf(norm, 0) || cfg.ClipNorm == 0 {
				return
			}
			checked++
			c := ClipCoef(f, norm, cfg.ClipNorm)
			wantC, err := oracle.ClipCoef(f, [][]float64{g}, 2, cfg.ClipNorm)
			if err != nil {
				t.Fatal(err)
			}
			if e := wantC.UlpError(c); !(e <= norm2Bound(len(g))+2) || c > 1 {
				t.Errorf("step %d: clip coefficient %g, exact %g (%.3g ulp)", step, c, wantC.Exact(), e)
			}
			clipped := make([]float64, len(g))
			for j, v := range g {
				clipped[j], _ = f.RoundFloat64(v * c)
			}
			got, err := oracle.GradNorm(f, [][]float64{clipped}, 2)
			if err != nil {
				t.Fatal(err)
			}
			// ‖RN(g·c)‖ ≤ c·N·(1+u) and c ≤ M/N̂·(1+u)² with N̂ ≥ N(1 − (n/2+1)u).
			limit := cfg.ClipNorm * (1 + (float64(len(g))/2+4)*f.UnitRoundoff())
			if nc, _ := got.Exact().Float64(); nc > limit {
				t.Errorf("step %d: clipped norm %g > max_norm·(1 + bound) = %g", step, nc, limit)
			}
		}
		r, err := Run(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := Check(3+i, r); err != nil {
			t.Errorf("%s: %v", RunNames[3+i], err)
		}
		if cfg.ClipNorm > 0 && checked != Steps {
			t.Errorf("clip checked on %d steps, want %d", checked, Steps)
		}
		res[i] = r
	}
	// The unclipped log: the overflow-safe norm is finite on steps where the naive fp16 sum of
	// squares already reports +Inf (|g| ≥ 256 somewhere), so the log shows the growth that the
	// naive one hides.
	k, g := res[0].Growth()
	hidden := 0
	for s := range k {
		if math.IsInf(res[0].NaiveNorms[s], 1) {
			hidden++
		}
	}
	if hidden == 0 {
		t.Errorf("the naive fp16 norm was finite on every one of the %d steps before the failure", k)
	}
	t.Logf("unclipped: norm %g → %g (×%.4g) over steps 0–%d, the naive norm +Inf on %d of them; first non-finite loss or weights at step %d, first NaN loss at %d",
		res[0].GradNorms[0], res[0].GradNorms[k-1], g, k-1, hidden, res[0].FirstNonFinite, res[0].FirstNaN)
	t.Logf("clipped: loss %g → %g (least-squares minimum %g), accuracy %g", res[1].Losses[0], res[1].Losses[Steps], res[1].MinLoss, res[1].Accuracy)
	// The unclipped run clipped its nothing: coefficient 1 at every step.
	for s, c := range res[0].ClipCoefs {
		if c != 1 {
			t.Fatalf("unclipped run: coefficient %g at step %d", c, s)
		}
	}
}

// TestExplodingGradientsWithScaler runs (d) with the dynamic loss scaler: the norm is then taken
// in fp32 of the unscaled gradients (unscale, clip, step, update). Unclipped, the scaler skips
// the overflowing steps, which keeps the master weights finite but not the loss; clipped, it
// trains as without the scaler.
func TestExplodingGradientsWithScaler(t *testing.T) {
	for _, clip := range []float64{0, ClipMaxNorm} {
		var formats []fp.Format
		cfg := Config{Squared: true, LearningRate: ExplodeRate, ClipNorm: clip, Scaling: true,
			Observe: func(_ int, f fp.Format, _ []float64, _ float64) { formats = append(formats, f) }}
		r, err := Run(cfg)
		if err != nil {
			t.Fatal(err)
		}
		for s, f := range formats {
			if f != fp.FP32 {
				t.Fatalf("step %d: the norm was taken in %v, not fp32 after unscaling", s, f)
			}
		}
		last := r.Losses[Steps]
		if clip == 0 {
			if r.FirstNonFinite < 0 || !math.IsInf(last, 0) && !math.IsNaN(last) || !r.WeightsAllFine || r.Skipped == 0 {
				t.Errorf("unclipped with scaler: first non-finite %d, final loss %g, weights finite %v, skipped %d", r.FirstNonFinite, last, r.WeightsAllFine, r.Skipped)
			}
			continue
		}
		if r.FirstNonFinite >= 0 || !(last <= 2*r.MinLoss) || r.Accuracy < 0.95 {
			t.Errorf("clipped with scaler: first non-finite %d, loss %g (minimum %g), accuracy %g", r.FirstNonFinite, last, r.MinLoss, r.Accuracy)
		}
		for s, c := range r.ClipCoefs {
			if !(c >= 0 && c <= 1) {
				t.Errorf("step %d: coefficient %g", s, c)
			}
		}
	}
}

func TestNorm2(t *testing.T) {
	neg0 := math.Copysign(0, -1)
	sub := fp.FP16.MinSubnormal()
	tests := []struct {
		reason string
		f      fp.Format
		xs     []float64
		want   float64
	}{
		{"3-4-5", fp.FP16, []float64{3, -4}, 5},
		{"3-4-5 in bf16", fp.BF16, []float64{3, 4}, 5},
		{"3-4-5 in fp32", fp.FP32, []float64{-3, 4}, 5},
		{"both squares overflow fp16", fp.FP16, []float64{768, 1024}, 1280},
		{"subnormal squares underflow every format", fp.FP16, []float64{3 * sub, 4 * sub}, 5 * sub},
		{"exact norm beyond fp16's maximum", fp.FP16, []float64{65504, 65504}, math.Inf(1)},
		{"one element", fp.FP16, []float64{-65504}, 65504},
		{"empty", fp.FP16, nil, 0},
		{"all zeros", fp.FP16, []float64{0, neg0}, 0},
		{"Inf", fp.FP16, []float64{1, math.Inf(-1)}, math.Inf(1)},
		{"NaN beats Inf", fp.FP16, []float64{math.Inf(1), math.NaN()}, math.NaN()},
	}
	for _, tc := range tests {
		got, err := Norm2(tc.f, tc.xs)
		if err != nil {
			t.Errorf("%s: %v", tc.reason, err)
			continue
		}
		if got != tc.want && !(math.IsNaN(got) && math.IsNaN(tc.want)) || math.Signbit(got) {
			t.Errorf("%s: Norm2(%v, %v) = %g (%#x), want %g", tc.reason, tc.f, tc.xs, got, tc.f.Encode(got), tc.want)
		}
	}
	if got := NaiveNorm2(fp.FP16, []float64{256, 0}); !math.IsInf(got, 1) {
		t.Errorf("naive fp16 norm of {256, 0} = %g, want +Inf (256² > 65504)", got)
	}
	if _, err := Norm2(fp.FP16, []float64{0.1}); err == nil {
		t.Error("Norm2 accepted 0.1, not an fp16 value")
	}
	if _, err := Norm2(fp.Format{}, []float64{1}); err == nil {
		t.Error("Norm2 accepted an invalid format")
	}
}

// TestNorm2Random compares Norm2 with the exact norm on random vectors of random fp16 and fp32
// bit patterns (every binade, subnormals included) and of moderately sized values.
func TestNorm2Random(t *testing.T) {
	r := rand.New(rand.NewPCG(12, 2))
	cases := 3000
	if testing.Short() {
		cases = 500
	}
	for _, f := range []fp.Format{fp.FP16, fp.FP32} {
		for c := range cases {
			n := 1 + r.IntN(40)
			xs := make([]float64, n)
			for i := range xs {
				for {
					var v float64
					if c%2 == 0 {
						v = f.Decode(r.Uint64() & (1<<f.Width() - 1))
					} else {
						v, _ = f.RoundFloat64(r.NormFloat64() * 300)
					}
					if !math.IsNaN(v) && !math.IsInf(v, 0) {
						xs[i] = v
						break
					}
				}
			}
			got, err := Norm2(f, xs)
			if err != nil {
				t.Fatal(err)
			}
			want, err := oracle.GradNorm(f, [][]float64{xs}, 2)
			if err != nil {
				t.Fatal(err)
			}
			if e := want.UlpError(got); !(e <= norm2Bound(n)) {
				t.Fatalf("%v %v: Norm2 = %g (%#x), exact %g (RN %g): %.3g ulp > %g", f, xs, got, f.Encode(got), want.Exact(), want.Rounded, e, norm2Bound(n))
			}
		}
	}
}

func TestRunRejectsBadConfig(t *testing.T) {
	for _, cfg := range []Config{
		{ClipNorm: math.NaN()}, {ClipNorm: -1}, {ClipNorm: math.Inf(1)},
		{LearningRate: -0.1}, {LearningRate: math.NaN()},
	} {
		if _, err := Run(cfg); err == nil {
			t.Errorf("Run accepted ClipNorm %v, LearningRate %v", cfg.ClipNorm, cfg.LearningRate)
		}
	}
}
