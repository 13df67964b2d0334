package oracle

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/ulpcheck/ulpcheck/fp"
)

// same reports whether a and b are the same float64 (NaN equal to NaN, −0 differs from +0).
func same(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return a == b && math.Signbit(a) == math.Signbit(b)
}

// TestGradNormExactCases checks norms whose correctly rounded value is derived by hand.
func TestGradNormExactCases(t *testing.T) {
	s := math.Ldexp
	cases := []struct {
		name    string
		f       fp.Format
		tensors [][]float64
		p       float64
		want    float64
		flag    fp.Flag
	}{
		{"3-4-5 fp16", fp.FP16, [][]float64{{3, 4}}, 2, 5, fp.Exact},
		{"3-4-5 bf16", fp.BF16, [][]float64{{3, -4}}, 2, 5, fp.Exact},
		{"3-4-5 fp32", fp.FP32, [][]float64{{-3, 4}}, 2, 5, fp.Exact},
		{"3-4-5 fp64", fp.FP64, [][]float64{{3, 4}}, 2, 5, fp.Exact},
		{"3-4-5 e4m3", fp.E4M3, [][]float64{{3, 4}}, 2, 5, fp.Exact},
		{"3-4-5 e5m2", fp.E5M2, [][]float64{{3, 4}}, 2, 5, fp.Exact},
		{"3-4-5 split over tensors", fp.FP16, [][]float64{{3}, {}, {-4}}, 2, 5, fp.Exact},
		// 5 and 12 are the per-tensor norms: the norm of the norms is 13.
		{"norm of per-tensor norms", fp.FP16, [][]float64{{3, 4}, {12}}, 2, 13, fp.Exact},
		// 768² and 1024² overflow fp16 (65504); the norm 1280 is a value of fp16.
		{"fp16 squares overflow, norm exact", fp.FP16, [][]float64{{768, 1024}}, 2, 1280, fp.Exact},
		// 256² + 300² = 155536; 394.375² = 155531.640625 < 155536 < 394.5² = 155630.25, and
		// 394.375 is the midpoint between the fp16 neighbours 394.25 and 394.5.
		{"fp16 256 and 300", fp.FP16, [][]float64{{256}, {300}}, 2, 394.5, fp.Inexact},
		// 256·√2: 362.125² = 131134.515625 > 131072 = 2·256², midpoint of 362 and 362.25.
		{"fp16 256 and 256", fp.FP16, [][]float64{{256, -256}}, 2, 362, fp.Inexact},
		// 65504·√2 ≈ 92637 > 65520 (the fp16 overflow threshold).
		{"fp16 norm overflows", fp.FP16, [][]float64{{65504, 65504}}, 2, inf, fp.Overflow},
		{"e4m3 norm overflows to NaN", fp.E4M3, [][]float64{{448, 448}}, 2, math.NaN(), fp.Overflow},
		{"fp16 subnormal 3-4-5", fp.FP16, [][]float64{{s(3, -24), s(4, -24)}}, 2, s(5, -24), fp.Exact},
		{"fp32 subnormal 3-4-5", fp.FP32, [][]float64{{s(3, -149)}, {s(-4, -149)}}, 2, s(5, -149), fp.Exact},
		{"fp64 subnormal 3-4-5", fp.FP64, [][]float64{{s(3, -1074), s(4, -1074)}}, 2, s(5, -1074), fp.Exact},
		{"bf16 subnormal 3-4-5", fp.BF16, [][]float64{{s(3, -133), s(4, -133)}}, 2, s(5, -133), fp.Exact},
		// √2·2^−24 ≈ 1.414·2^−24 rounds to 2^−24 (below the midpoint 1.5·2^−24).
		{"fp16 subnormal sqrt2", fp.FP16, [][]float64{{s(1, -24), s(1, -24)}}, 2, s(1, -24), fp.Underflow},
		{"NaN", fp.FP16, [][]float64{{1, 2}, {math.NaN()}}, 2, math.NaN(), fp.Exact},
		{"NaN with Inf", fp.FP32, [][]float64{{inf}, {math.NaN()}}, 2, math.NaN(), fp.Exact},
		{"NaN inf-norm", fp.FP32, [][]float64{{1, math.NaN(), 3}}, inf, math.NaN(), fp.Exact},
		{"NaN p=1", fp.BF16, [][]float64{{math.NaN()}}, 1, math.NaN(), fp.Exact},
		{"+Inf", fp.FP16, [][]float64{{1}, {inf}}, 2, inf, fp.Exact},
		{"-Inf", fp.FP16, [][]float64{{-inf, 3}}, 2, inf, fp.Exact},
		{"-Inf inf-norm", fp.BF16, [][]float64{{-inf, 3}}, inf, inf, fp.Exact},
		{"empty list", fp.FP16, nil, 2, 0, fp.Exact},
		{"empty tensors", fp.FP32, [][]float64{{}, {}}, 2, 0, fp.Exact},
		{"zeros", fp.FP32, [][]float64{{0, math.Copysign(0, -1)}}, 2, 0, fp.Exact},
		{"negative zero alone", fp.FP32, [][]float64{{math.Copysign(0, -1)}}, inf, 0, fp.Exact},
		{"one element", fp.FP32, [][]float64{{0, -0.1875}}, 0.75, 0.1875, fp.Exact},
		{"inf-norm", fp.FP16, [][]float64{{-7, 3}, {5}}, inf, 7, fp.Exact},
		{"inf-norm max", fp.FP16, [][]float64{{65504, -65504}}, inf, 65504, fp.Exact},
		{"p=1", fp.FP16, [][]float64{{1, -2}, {3.5}}, 1, 6.5, fp.Exact},
		// 2049 is the midpoint of 2048 and 2050: ties to even.
		{"p=1 tie", fp.FP16, [][]float64{{2048, 1}}, 1, 2048, fp.Inexact},
		{"p=1 overflow", fp.FP16, [][]float64{{65504, 32}}, 1, inf, fp.Overflow},
		{"p=3 3-4-5-6", fp.FP32, [][]float64{{3, -4, 5}}, 3, 6, fp.Exact},
		{"p=3 1-6-8-9", fp.FP16, [][]float64{{1}, {6, 8}}, 3, 9, fp.Exact},
		// p = 1/2: (√1 + √4)² = 9, and (√4+√4+√1)²=25.
		{"p=1/2", fp.FP64, [][]float64{{1, 4}}, 0.5, 9, fp.Exact},
		{"p=1/2 three", fp.BF16, [][]float64{{4, 4, 1}}, 0.5, 25, fp.Exact},
		// p = 64: 4·(1 + (3/4)^64)^(1/64) = 4·(1 + 1.6e−10…): rounds to 4 in fp32.
		{"p=64", fp.FP32, [][]float64{{3, 4}}, 64, 4, fp.Inexact},
	}
	for _, c := range cases {
		v, err := GradNorm(c.f, c.tensors, c.p)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if !same(v.Rounded, c.want) || v.Flag != c.flag {
			t.Errorf("%s: GradNorm(%v, %v, %v) = %v (%v), want %v (%v)", c.name, c.f, c.tensors, c.p, v.Rounded, v.Flag, c.want, c.flag)
		}
	}
}

// TestGradNormIrrational checks irrational norms against float64 formulas and exact
// rational bounds on the rounding interval.
func TestGradNormIrrational(t *testing.T) {
	// (1 + √2)² = 3 + 2√2, the p = 1/2 norm of {1, 2}.
	v, err := GradNorm(fp.FP64, [][]float64{{1, 2}}, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	if ref := 3 + 2*math.Sqrt2; math.Abs(v.Rounded-ref) > 2e-16*ref {
		t.Errorf("p=1/2 {1,2} = %v, want ≈ %v", v.Rounded, ref)
	}
	// 2^(1/3): 1.259765625 = 1290·2^−10 is the fp16 value, 2^(1/3) ≈ 1.259921.
	v, err = GradNorm(fp.FP16, [][]float64{{1, 1}}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if v.Rounded != 1.259765625 || v.Flag != fp.Inexact {
		t.Errorf("p=3 {1,1} fp16 = %v (%v), want 1.259765625", v.Rounded, v.Flag)
	}
}

// checkRounding verifies that r = RN(S^(1/p)) in f by comparing S with the p-th powers of the
// midpoints around r (exact rationals; ties are not decided here, only the interval).
func checkRounding(t *testing.T, f fp.Format, S *big.Rat, p int, r float64, what string) {
	t.Helper()
	pow := func(x *big.Rat) *big.Rat {
		y := big.NewRat(1, 1)
		for range p {
			y.Mul(y, x)
		}
		return y
	}
	if math.IsInf(r, 1) {
		m := f.MaxFinite()
		thr := new(big.Rat).Add(ratOf(m), new(big.Rat).Mul(ratOf(m-f.Prev(m)), big.NewRat(1, 2)))
		if pow(thr).Cmp(S) > 0 {
			t.Errorf("%s: +Inf but the exact norm is below the overflow threshold", what)
		}
		return
	}
	rr := ratOf(r)
	half := big.NewRat(1, 2)
	if r > 0 {
		lo := new(big.Rat).Mul(new(big.Rat).Add(rr, ratOf(f.Prev(r))), half)
		if pow(lo).Cmp(S) > 0 {
			t.Errorf("%s: %v is above RN: the midpoint below it has a p-th power above S", what, r)
		}
	}
	next := f.Next(r)
	if !math.IsInf(next, 1) && !math.IsNaN(next) {
		hi := new(big.Rat).Mul(new(big.Rat).Add(rr, ratOf(next)), half)
		if pow(hi).Cmp(S) < 0 {
			t.Errorf("%s: %v is below RN: the midpoint above it has a p-th power below S", what, r)
		}
	}
}

// TestGradNormRandomRounding checks random fp16/bf16/fp32 norms for p = 2 and 3 against the
// exact sum of p-th powers and, for concatenation, the same elements in one tensor.
func TestGradNormRandomRounding(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 1))
	n := 300
	if testing.Short() {
		n = 60
	}
	for _, f := range []fp.Format{fp.FP16, fp.BF16, fp.FP32} {
		for range n {
			k := 1 + rng.IntN(6)
			var flat []float64
			var tensors [][]float64
			var cur []float64
			e0 := rng.IntN(24) - 14 // |x| < 2^13: finite in fp16
			for range k {
				x, _ := f.RoundFloat64(math.Ldexp(rng.Float64()*2-1, e0+rng.IntN(4)))
				flat = append(flat, x)
				cur = append(cur, x)
				if rng.IntN(3) == 0 {
					tensors = append(tensors, cur)
					cur = nil
				}
			}
			tensors = append(tensors, cur)
			for _, p := range []int{2, 3} {
				v, err := GradNorm(f, tensors, float64(p))
				if err != nil {
					t.Fatal(err)
				}
				w, err := GradNorm(f, [][]float64{flat}, float64(p))
				if err != nil {
					t.Fatal(err)
				}
				if !same(v.Rounded, w.Rounded) || v.Flag != w.Flag {
					t.Errorf("%v p=%d: tensors %v give %v, concatenation gives %v", f, p, tensors, v.Rounded, w.Rounded)
				}
				S := new(big.Rat)
				for _, x := range flat {
					y := big.NewRat(1, 1)
					for range p {
						y.Mul(y, ratOf(math.Abs(x)))
					}
					S.Add(S, y)
				}
				checkRounding(t, f, S, p, v.Rounded, f.String())
			}
		}
	}
}

// TestClipCoef checks the coefficient min(1, M/(N + 1e-6)).
func TestClipCoef(t *testing.T) {
	eps := ratOf(1e-6)
	// The float64 just at or above 5 + ε (exact real), and the one below.
	five := new(big.Rat).Add(big.NewRat(5, 1), eps)
	up, _ := new(big.Float).SetPrec(53).SetMode(big.ToPositiveInf).SetRat(five).Float64()
	down := math.Nextafter(up, 0)
	if ratOf(up).Cmp(five) < 0 || ratOf(down).Cmp(five) >= 0 {
		t.Fatalf("bad bracket %v %v", up, down)
	}
	g := [][]float64{{3}, {4}}
	for _, f := range fp.Formats() {
		v, err := ClipCoef(f, g, 2, up)
		if err != nil {
			t.Fatal(err)
		}
		if v.Rounded != 1 || v.Flag != fp.Exact {
			t.Errorf("%v: ClipCoef(max_norm = 5+1e-6 rounded up) = %v (%v), want exactly 1", f, v.Rounded, v.Flag)
		}
		v, err = ClipCoef(f, g, 2, down)
		if err != nil {
			t.Fatal(err)
		}
		if v.Rounded > 1 || v.Flag == fp.Exact {
			t.Errorf("%v: ClipCoef(max_norm just below 5+1e-6) = %v (%v), want an inexact value ≤ 1", f, v.Rounded, v.Flag)
		}
	}
	cases := []struct {
		name    string
		f       fp.Format
		tensors [][]float64
		p, m    float64
		want    float64
		flag    fp.Flag
	}{
		{"large max_norm", fp.FP16, g, 2, 10, 1, fp.Exact},
		// 5/(5 + 1e−6) = 1 − 2e−7: fp16's spacing below 1 is 2^−11, so 1, inexact.
		{"max_norm = N fp16", fp.FP16, g, 2, 5, 1, fp.Inexact},
		// 1/(5+1e−6) = 0.2 − 4e−8; 0.2 in fp16 is 0.199951171875 (3277·2^−14 = 0.20001… is farther).
		{"max_norm 1 fp16", fp.FP16, g, 2, 1, 0.199951171875, fp.Inexact},
		{"NaN gradient", fp.FP32, [][]float64{{math.NaN()}}, 2, 1, math.NaN(), fp.Exact},
		{"Inf gradient", fp.FP32, [][]float64{{inf, 1}}, 2, 1, 0, fp.Exact},
		{"Inf gradient Inf max", fp.FP32, [][]float64{{inf, 1}}, 2, inf, math.NaN(), fp.Exact},
		{"Inf max", fp.FP32, g, 2, inf, 1, fp.Exact},
		{"zero max", fp.FP32, g, 2, 0, 0, fp.Exact},
		// N = 0: 1/(0 + 1e−6) = 10^6-ish ≥ 1, so 1; a max_norm below ε clips zeros (c < 1).
		{"zero gradients", fp.FP32, [][]float64{{0}}, 2, 1, 1, fp.Exact},
		// float64(5e−7) is float64(1e−6)/2 exactly (halving commutes with rounding): c = ½ exactly.
		{"zero gradients, tiny max", fp.FP64, [][]float64{{}}, 2, 5e-7, 0.5, fp.Exact},
		{"inf-norm", fp.FP16, [][]float64{{-8, 1}}, inf, 16, 1, fp.Exact},
	}
	for _, c := range cases {
		v, err := ClipCoef(c.f, c.tensors, c.p, c.m)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if !same(v.Rounded, c.want) || (c.flag == fp.Exact) != (v.Flag == fp.Exact) {
			t.Errorf("%s: ClipCoef = %v (%v), want %v (%v)", c.name, v.Rounded, v.Flag, c.want, c.flag)
		}
	}
	// fp64: 1/(5 + 1e−6) against the float64 formula, and an irrational N (√2).
	v, err := ClipCoef(fp.FP64, g, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	if ref := 1 / (5 + 1e-6); math.Abs(v.Rounded-ref) > 2.3e-16*ref {
		t.Errorf("fp64 1/(5+1e-6) = %v, want ≈ %v", v.Rounded, ref)
	}
	v, err = ClipCoef(fp.FP64, [][]float64{{1, 1}}, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	if ref := 1 / (math.Sqrt2 + 1e-6); math.Abs(v.Rounded-ref) > 3.4e-16*ref || v.Flag == fp.Exact {
		t.Errorf("fp64 1/(√2+1e-6) = %v (%v), want ≈ %v", v.Rounded, v.Flag, ref)
	}
}

// TestClipGradNorm checks clipped gradients and the returned norm.
func TestClipGradNorm(t *testing.T) {
	negz := math.Copysign(0, -1)
	cases := []struct {
		name    string
		f       fp.Format
		tensors [][]float64
		m       float64
		want    [][]float64
		norm    float64
	}{
		// 3/(5+1e−6) = 0.6 − 1.2e−7: fp16 0.60009765625 (1229·2^−11); 4/(5+1e−6) = 0.8 − 1.6e−7:
		// 0.7998046875 (1638·2^−11).
		{"clip 3-4 fp16", fp.FP16, [][]float64{{3}, {-4, 0}}, 1, [][]float64{{0.60009765625}, {-0.7998046875, 0}}, 5},
		{"no clip", fp.FP16, [][]float64{{3, negz}, {-4}}, 10, [][]float64{{3, 0}, {-4}}, 5},
		{"Inf gradient", fp.FP32, [][]float64{{inf, 1}, {-2}}, 1, [][]float64{{math.NaN(), 0}, {0}}, inf},
		{"NaN gradient", fp.FP32, [][]float64{{math.NaN(), 1}, {-2}}, 1, [][]float64{{math.NaN(), math.NaN()}, {math.NaN()}}, math.NaN()},
		// 768, 1024 in fp16: N = 1280, c = 640/(1280+1e−6), 768·c = 384 − 3e−7 → 384, 1024·c → 512.
		{"fp16 overflowing squares", fp.FP16, [][]float64{{768, -1024}}, 640, [][]float64{{384, -512}}, 1280},
		{"empty", fp.FP16, [][]float64{{}, nil}, 1, [][]float64{{}, {}}, 0},
	}
	for _, c := range cases {
		out, norm, err := ClipGradNorm(c.f, c.tensors, 2, c.m)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if !same(norm.Rounded, c.norm) {
			t.Errorf("%s: norm %v, want %v", c.name, norm.Rounded, c.norm)
		}
		if len(out) != len(c.want) {
			t.Errorf("%s: %d tensors, want %d", c.name, len(out), len(c.want))
			continue
		}
		for i := range out {
			if len(out[i]) != len(c.want[i]) {
				t.Errorf("%s: tensor %d has %d elements, want %d", c.name, i, len(out[i]), len(c.want[i]))
				continue
			}
			for j, v := range out[i] {
				if !same(v.Rounded, c.want[i][j]) {
					t.Errorf("%s: [%d][%d] = %v, want %v", c.name, i, j, v.Rounded, c.want[i][j])
				}
			}
		}
	}
	// fp64: against the float64 product with the float64 coefficient (within 2 ulps), and the
	// clipped norm is at most max_norm.
	out, _, err := ClipGradNorm(fp.FP64, [][]float64{{3, 4}}, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	c := 1 / (5 + 1e-6)
	for j, x := range []float64{3, 4} {
		if ref := x * c; math.Abs(out[0][j].Rounded-ref) > 4.5e-16*ref {
			t.Errorf("fp64 clipped %v = %v, want ≈ %v", x, out[0][j].Rounded, ref)
		}
	}
	if a, b := out[0][0].Rounded, out[0][1].Rounded; math.Hypot(a, b) > 1 {
		t.Errorf("fp64 clipped norm %v > 1", math.Hypot(a, b))
	}
	// Irrational coefficient in fp32: √2 norm, max 1: elements 1/(√2+1e−6) ≈ 0.70710607.
	out, _, err = ClipGradNorm(fp.FP32, [][]float64{{1}, {-1}}, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := fp.FP32.RoundFloat64(1 / (math.Sqrt2 + 1e-6))
	if out[0][0].Rounded != ref || out[1][0].Rounded != -ref {
		t.Errorf("fp32 clip of ±1 by √2: %v %v, want ±%v", out[0][0].Rounded, out[1][0].Rounded, ref)
	}
}

// TestClipGradValue checks clamping.
func TestClipGradValue(t *testing.T) {
	negz := math.Copysign(0, -1)
	out, err := ClipGradValue(fp.FP16, [][]float64{{-3, 0.5, inf}, {-inf, math.NaN(), negz}}, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]float64{{-1, 0.5, 1}, {-1, math.NaN(), 0}}
	for i := range want {
		for j := range want[i] {
			if !same(out[i][j].Rounded, want[i][j]) {
				t.Errorf("[%d][%d] = %v, want %v", i, j, out[i][j].Rounded, want[i][j])
			}
		}
	}
	// 0.1 in fp16 is 1638·2^−14 = 0.0999755859375.
	out, err = ClipGradValue(fp.FP16, [][]float64{{1, -1, 0.0625}}, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	for j, w := range []float64{0.0999755859375, -0.0999755859375, 0.0625} {
		if !same(out[0][j].Rounded, w) {
			t.Errorf("clip 0.1: [%d] = %v, want %v", j, out[0][j].Rounded, w)
		}
	}
	out, err = ClipGradValue(fp.BF16, [][]float64{{inf, -2}}, inf)
	if err != nil {
		t.Fatal(err)
	}
	if out[0][0].Rounded != inf || out[0][1].Rounded != -2 {
		t.Errorf("clip Inf: %v %v", out[0][0].Rounded, out[0][1].Rounded)
	}
}

// TestGradNormErrors checks that bad input gives an error, never a panic.
func TestGradNormErrors(t *testing.T) {
	g := [][]float64{{3, 4}}
	for _, p := range []float64{0, -1, math.NaN(), -inf, math.Copysign(0, -1)} {
		if _, err := GradNorm(fp.FP16, g, p); err == nil {
			t.Errorf("GradNorm p = %v: no error", p)
		}
		if _, err := ClipCoef(fp.FP16, g, p, 1); err == nil {
			t.Errorf("ClipCoef p = %v: no error", p)
		}
		if _, _, err := ClipGradNorm(fp.FP16, g, p, 1); err == nil {
			t.Errorf("ClipGradNorm p = %v: no error", p)
		}
	}
	for _, m := range []float64{math.NaN(), -1, -inf} {
		if _, err := ClipCoef(fp.FP16, g, 2, m); err == nil {
			t.Errorf("ClipCoef max_norm = %v: no error", m)
		}
		if _, _, err := ClipGradNorm(fp.FP16, g, 2, m); err == nil {
			t.Errorf("ClipGradNorm max_norm = %v: no error", m)
		}
		if _, err := ClipGradValue(fp.FP16, g, m); err == nil {
			t.Errorf("ClipGradValue clip = %v: no error", m)
		}
	}
	for _, c := range []struct {
		f fp.Format
		x float64
	}{{fp.FP16, 0.1}, {fp.FP16, 1e6}, {fp.BF16, 1 + 1.0/1024}, {fp.E4M3, inf}, {fp.FP32, 0.1}} {
		bad := [][]float64{{1}, {2, c.x}}
		if _, err := GradNorm(c.f, bad, 2); err == nil {
			t.Errorf("GradNorm %v with %v: no error", c.f, c.x)
		}
		if _, err := ClipCoef(c.f, bad, 2, 1); err == nil {
			t.Errorf("ClipCoef %v with %v: no error", c.f, c.x)
		}
		if _, _, err := ClipGradNorm(c.f, bad, 2, 1); err == nil {
			t.Errorf("ClipGradNorm %v with %v: no error", c.f, c.x)
		}
		if _, err := ClipGradValue(c.f, bad, 1); err == nil {
			t.Errorf("ClipGradValue %v with %v: no error", c.f, c.x)
		}
	}
	if _, err := GradNorm(fp.Format{}, g, 2); err == nil {
		t.Error("GradNorm invalid format: no error")
	}
	if _, err := ClipGradValue(fp.Format{}, g, 1); err == nil {
		t.Error("ClipGradValue invalid format: no error")
	}
}
