package oracle

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/ulpcheck/ulpcheck/fp"
)

// naiveExp returns e^x at precision prec by the textbook method, independent of the oracle's
// Exp: x/2^K with |x/2^K| < 2^−20, a Taylor series summed until the term is below 2^−(w+8) of
// the sum, then K squarings, all at w = prec + K + 64 bits (each squaring at most doubles the
// relative error, so the result is good to about prec bits).
func naiveExp(x *big.Float, prec uint) *big.Float {
	if x.Sign() == 0 {
		return new(big.Float).SetPrec(prec).SetInt64(1)
	}
	K := max(0, x.MantExp(nil)+20)
	w := prec + uint(K) + 64
	r := new(big.Float).SetPrec(w).SetMantExp(x, -K)
	sum := new(big.Float).SetPrec(w).SetInt64(1)
	term := new(big.Float).SetPrec(w).SetInt64(1)
	for n := int64(1); ; n++ {
		term.Mul(term, r)
		term.Quo(term, new(big.Float).SetInt64(n))
		sum.Add(sum, term)
		if term.Sign() == 0 || term.MantExp(nil) < sum.MantExp(nil)-int(w)-8 {
			break
		}
	}
	for range K {
		sum.Mul(sum, sum)
	}
	return sum
}

// naiveSoftmax returns y = softmax(x) (finite x) at precision prec by the textbook formula.
func naiveSoftmax(x []float64, prec uint) []*big.Float {
	m := math.Inf(-1)
	for _, v := range x {
		m = max(m, v)
	}
	t := make([]*big.Float, len(x))
	S := new(big.Float).SetPrec(prec)
	for j, v := range x {
		d := new(big.Float).SetPrec(2200).Sub(big.NewFloat(v), big.NewFloat(m))
		t[j] = naiveExp(d, prec)
		S.Add(S, t[j])
	}
	for j := range t {
		t[j] = new(big.Float).SetPrec(prec).Quo(t[j], S)
	}
	return t
}

// naiveBackward returns dx_i = y_i·(dy_i − Σ_j dy_j·y_j) at precision prec.
func naiveBackward(x, dy []float64, prec uint) []*big.Float {
	y := naiveSoftmax(x, prec)
	c := new(big.Float).SetPrec(prec)
	for j := range y {
		c.Add(c, new(big.Float).SetPrec(prec).Mul(y[j], big.NewFloat(dy[j])))
	}
	dx := make([]*big.Float, len(x))
	for i := range y {
		d := new(big.Float).SetPrec(prec).Sub(big.NewFloat(dy[i]), c)
		dx[i] = d.Mul(d, y[i])
	}
	return dx
}

// naiveRound rounds the naive value v, whose absolute error is at most errAbs, into f: it
// returns the rounding of every real within errAbs of v, or false when the ends v ± errAbs round
// differently (v is too close to a value, a midpoint or zero for the naive evaluation to decide).
func naiveRound(f fp.Format, v, errAbs *big.Float) (float64, bool) {
	w := v.Prec() + 64
	lo := new(big.Float).SetPrec(w).SetMode(big.ToNegativeInf).Sub(v, errAbs)
	hi := new(big.Float).SetPrec(w).SetMode(big.ToPositiveInf).Add(v, errAbs)
	if lo.Sign() != hi.Sign() || lo.Sign() == 0 {
		return 0, false
	}
	r1, f1 := f.Round(lo)
	r2, f2 := f.Round(hi)
	if math.Float64bits(r1) != math.Float64bits(r2) || f1 != f2 {
		return 0, false
	}
	return r1, true
}

// TestBackwardMaxDefect covers softmax-backward entries at a row maximum whose value is a
// dyadic a/k² (a value or a midpoint of the format) plus a defect ε beyond every affordable
// precision. Each expected value is derived by hand in the comments.
func TestBackwardMaxDefect(t *testing.T) {
	// e5m2, x = [3072, 3072, 0], dy = [5.5, 0, 0], t = e^−3072, y_0 = y_1 = 1/(2+t),
	// y_2 = t/(2+t), c = Σ dy·y = 5.5/(2+t):
	//   dx_0 = y_0·(5.5 − c) = 5.5(1+t)/(2+t)² = 1.375·(4+4t)/(4+4t+t²), just below 1.375, the
	//          midpoint of 1.25 and 1.5 (even: 1.5): rounds to 1.25. The first-order term
	//          cancels exactly, ε = −1.375·t²/(2+t)² ≈ −e^−6144, below 2^−8800;
	//   dx_1 = −y_1·c = −1.375·4/(2+t)², just above −1.375: rounds to −1.25;
	//   dx_2 = −y_2·c < 0, about −e^−3072: −0 (underflow).
	v, err := SoftmaxBackward(fp.E5M2, []float64{3072, 3072, 0}, []float64{5.5, 0, 0}, 1, 3, fp.MaskNaN)
	if err != nil {
		t.Fatal(err)
	}
	checkValue(t, "second-order defect at the maximum", v[0], 1.25, fp.Inexact)
	checkValue(t, "first-order defect at the maximum", v[1], -1.25, fp.Inexact)
	checkValue(t, "far below the maximum", v[2], math.Copysign(0, -1), fp.Underflow)

	// The same row with a gap of 1024 in fp16 and dy = [2.75, 0, 0]: 2.75/4 = 0.6875 is an fp16
	// value, and dx_0 = 0.6875·(4+4t)/(4+4t+t²) rounds to it. The naive formula at 3500 bits
	// sees ε ≈ −e^−2048 (about 2^−2955) and must agree.
	x, dy := []float64{1024, 1024, 0}, []float64{2.75, 0, 0}
	v, err = SoftmaxBackward(fp.FP16, x, dy, 1, 3, fp.MaskNaN)
	if err != nil {
		t.Fatal(err)
	}
	checkValue(t, "fp16 second-order defect", v[0], 0.6875, fp.Inexact)
	if n := checkNaive(t, fp.FP16, x, dy, v, 3500); n != len(x) {
		t.Errorf("naive 3500-bit check decisive for %d of %d elements", n, len(x))
	}

	// A merged exponent that cancels: e5m2, x = [0, 0, −3000, −6000], dy = [5.5, 0, 0, −1.375].
	// With k = 2, a = 5.5, N = k²S²ε = Σ_g b_g·e^(d_g) − a·Σ_{g,h} n_g·n_h·e^(d_g+d_h) has
	// b_{−3000} = 4·5.5 − 4·5.5 = 0, and at e^−6000 the coefficient b_{−6000} − a = 4·6.875 −
	// 4·5.5 − 5.5 = 0; the leading term is −2a·e^−9000 < 0, so dx_0 lies just below 1.375, the
	// midpoint of 1.25 and 1.5: 1.25. The naive formula at 13500 bits resolves e^−9000 (2^−12984).
	x, dy = []float64{0, 0, -3000, -6000}, []float64{5.5, 0, 0, -1.375}
	v, err = SoftmaxBackward(fp.E5M2, x, dy, 1, 4, fp.MaskNaN)
	if err != nil {
		t.Fatal(err)
	}
	checkValue(t, "cancelling merged exponent", v[0], 1.25, fp.Inexact)
	if n := checkNaive(t, fp.E5M2, x, dy, v, 13500); n != len(x) {
		t.Errorf("naive 13500-bit check decisive for %d of %d elements", n, len(x))
	}

	// Terms too close for the gap test, so the scaled sum is evaluated: x = [0, 0, −3000, −3001],
	// dy = [D, 0, 0, 0]. Both lower groups have b_g = 4·D − 4·D = 0, so N = −D·(e^−3000 +
	// e^−3001)² < 0: its leading term −D·e^−6000 is followed by −2D·e^−6001, only e^−1 apart.
	// dx_0 = D/4 + ε lies just below D/4. fp32, D/4 = 1 + 3·2^−24, the midpoint of 1 + 2^−23
	// and 1 + 2^−22 (even): 1 + 2^−23. e5m2, D/4 = 1.375: 1.25. The naive formula at 9000 bits
	// resolves e^−6000 (2^−8656).
	x = []float64{0, 0, -3000, -3001}
	for _, c := range []struct {
		f    fp.Format
		q    float64 // D/4
		want float64
	}{
		{fp.FP32, 1 + 0x3p-24, 1 + 0x1p-23},
		{fp.E5M2, 1.375, 1.25},
	} {
		dy = []float64{4 * c.q, 0, 0, 0}
		v, err = SoftmaxBackward(c.f, x, dy, 1, 4, fp.MaskNaN)
		if err != nil {
			t.Fatal(err)
		}
		checkValue(t, "closely spaced terms", v[0], c.want, fp.Inexact)
		if n := checkNaive(t, c.f, x, dy, v, 9000); n != len(x) {
			t.Errorf("naive 9000-bit check decisive for %d of %d elements", n, len(x))
		}
	}

	// The properties-test row (bf16, 65 columns): 8192 at 13, 27, 41, 55, 0 elsewhere; dy is 87
	// at indices ≡ 2 (mod 3), 86.5 elsewhere. The mean of dy over the maxima is
	// (3·86.5 + 87)/4 = 86.625, so at a maximum dx_i = (dy_i − 86.625)/4 + ε with |ε| ≈ e^−8192:
	// −0.125/4 = −2^−5 for dy = 86.5, 0.375/4 = 0.09375 for dy = 87 (index 41), both bf16
	// values. Elsewhere dx_j ≈ e^−8192·(dy_j − 86.625)/4 rounds to ±0 with the sign of dy_j −
	// 86.625.
	x, dy = make([]float64, 65), make([]float64, 65)
	for i := range x {
		if i == 13 || i == 27 || i == 41 || i == 55 {
			x[i] = 8192
		}
		dy[i] = 86.5
		if i%3 == 2 {
			dy[i] = 87
		}
	}
	v, err = SoftmaxBackward(fp.BF16, x, dy, 1, 65, fp.MaskNaN)
	if err != nil {
		t.Fatal(err)
	}
	for i := range v {
		want, fl := math.Copysign(0, dy[i]-86.625), fp.Underflow
		if x[i] == 8192 {
			want, fl = (dy[i]-86.625)/4, fp.Inexact
		}
		checkValue(t, fmt.Sprintf("65-column row, element %d", i), v[i], want, fl)
	}

	// Golden case softmax_backward line 2005, row 0 (e5m2): 57344 three times (indices 2, 5, 8),
	// every other logit at least 8192 below. dy over the maxima: −0.0546875, −1, 0.75 (mean
	// −0.1015625), so dx_2 = (−0.0546875 + 0.1015625)/3 + ε = 2^−6 + ε, an e5m2 value.
	// The other two are not dyadic: dx_5 = (−1 + 0.1015625)/3 = −0.2994…, beyond −0.28125 (the
	// midpoint of −0.25 and −0.3125): −0.3125; dx_8 = (0.75 + 0.1015625)/3 = 0.2838…, above the
	// midpoint 0.28125: 0.3125.
	x = []float64{8192, 49152, 57344, -40960, 7168, 57344, -16384, 12288, 57344, 20480, 28672, 12288, 7168}
	dy = []float64{-1.25, -0.3125, -0.0546875, -0.5, 1.25, -1, 0.1875, 0.125, 0.75, -0.875, -1.25, -0.875, -0.75}
	v, err = SoftmaxBackward(fp.E5M2, x, dy, 1, len(x), fp.MaskNaN)
	if err != nil {
		t.Fatal(err)
	}
	checkValue(t, "golden 2005, element 2", v[2], 0x1p-6, fp.Inexact)
	checkValue(t, "golden 2005, element 5", v[5], -0.3125, fp.Inexact)
	checkValue(t, "golden 2005, element 8", v[8], 0.3125, fp.Inexact)

	// Cross-entropy gradient, three maxima 40000 above the fourth logit, target 0 (a maximum):
	// p_0 − 1 = −2/3 − (1/3 − p_0), not dyadic, rounds as −2/3 (fp16: −0.66650390625, the
	// nearer of −0.6665 and −0.6670 to −0.666…); the other maxima give p ≈ 1/3.
	g, err := CrossEntropyGrad(fp.FP16, []float64{40000, 40000, 40000, 0}, 1, 4, []int{0}, DefaultCEOptions())
	if err != nil {
		t.Fatal(err)
	}
	twoThirds, _ := fp.FP16.RoundFloat64(-2.0 / 3)
	third, _ := fp.FP16.RoundFloat64(1.0 / 3)
	checkValue(t, "CE gradient at the target among three maxima", g[0], twoThirds, fp.Inexact)
	checkValue(t, "CE gradient at another maximum", g[1], third, fp.Inexact)
}

// checkNaive compares the oracle's values with the naive textbook formula evaluated at prec
// bits (independent exp, no enclosures), where that evaluation is decisive: its absolute error
// is taken as 2^(64−prec)·(1 + Σ|dy|), far above the textbook bound of a few roundings per
// operation. It returns the number of elements compared.
func checkNaive(t *testing.T, f fp.Format, x, dy []float64, got []Value, prec uint) int {
	t.Helper()
	ref := naiveBackward(x, dy, prec)
	return compareNaive(t, f, "SoftmaxBackward", x, dy, ref, got, prec)
}

func compareNaive(t *testing.T, f fp.Format, op string, x, dy []float64, ref []*big.Float, got []Value, prec uint) int {
	t.Helper()
	scale := 1.0
	for _, d := range dy {
		scale += math.Abs(d)
	}
	errAbs := new(big.Float).SetMantExp(big.NewFloat(scale), 64-int(prec))
	n := 0
	for i := range ref {
		want, ok := naiveRound(f, ref[i], errAbs)
		if !ok {
			continue
		}
		n++
		if math.Float64bits(got[i].Rounded) != math.Float64bits(want) {
			t.Errorf("%s %v x=%v dy=%v element %d: oracle %v (%#x), naive %d-bit formula %v (%#x) (%s)",
				op, f, x, dy, i, got[i].Rounded, bitsOf(f, got[i].Rounded), prec, want, bitsOf(f, want), ref[i].Text('g', 20))
		}
	}
	return n
}

// groupedRow draws a row of G groups of equal logits (sizes 1..4) of format f, the groups
// separated by gaps drawn from [50, maxGap] (a third of the time from 64, 128, 192, 256, so that
// exponents of the defect coincide; otherwise a quarter of the time with the lower groups about 2950
// below the maximum and 1 to 3 apart, so that the defect is beyond every affordable precision and
// its terms are not separated by large gaps), shuffled; dy is drawn from a small set so that
// exact cancellations (dy constant over a group, first-order terms that vanish) are frequent,
// half of the time one that puts the limit value of entries at the maximum on a midpoint.
func groupedRow(rng *rand.Rand, f fp.Format, maxGap float64) (x, dy []float64, spread float64) {
	G := 2 + rng.IntN(3)
	lattice := rng.IntN(3) == 0 // gaps of 64·(1..4): sums of two gaps meet single gaps
	cluster := rng.IntN(4) == 0 // about 2950 below the maximum (beyond 4096 bits), 1..3 apart
	top, _ := f.RoundFloat64(rng.Float64()*2000 - 1000)
	cur := top
	for g := range G {
		v := cur
		if g > 0 {
			gap := 50 + rng.Float64()*(maxGap-50)
			switch {
			case lattice:
				gap = float64(64 * (1 + rng.IntN(4)))
			case cluster && g == 1:
				gap = 2900 + 100*rng.Float64()
			case cluster:
				gap = float64(1 + rng.IntN(3))
			}
			v, _ = f.RoundFloat64(cur - gap)
			if math.IsInf(v, 0) || math.IsNaN(v) || v >= cur || math.Abs(v) > f.MaxFinite() {
				break
			}
		}
		cur = v
		for range 1 + rng.IntN(4) {
			x = append(x, v)
		}
	}
	rng.Shuffle(len(x), func(i, j int) { x[i], x[j] = x[j], x[i] })
	set := []float64{-2, -1, -0.5, 0, 0.5, 1, 1.5, 2, 3, 0.75}
	if rng.IntN(2) == 0 {
		// D = 4^j·(a midpoint of f near 1): with two (j = 1) or four (j = 2) maxima whose dy
		// differ by D, the limit a/k² of some entries at the maximum is that midpoint, and the
		// rounding follows the sign of a defect far below every affordable precision.
		v, _ := f.RoundFloat64(math.Ldexp(1+rng.Float64(), rng.IntN(8)-4))
		mid := v + f.Ulp(v)/2
		D := mid * math.Pow(4, float64(1+rng.IntN(2)))
		set = []float64{0, D, -D, 2 * D, 0, D}
	}
	dy = make([]float64, len(x))
	for i := range dy {
		dy[i] = set[rng.IntN(len(set))]
	}
	return x, dy, top - cur
}

// TestBackwardGroupedRows draws rows made of a few groups of equal logits separated by gaps of
// 50 to 20000 (fp32, bf16, fp16, e5m2) and checks that SoftmaxBackward and CrossEntropyGrad
// never reach the precision cap, and, when the whole row spans at most 3100 (so that every term
// of the defect, down to e^(−2·spread), is within reach of about 9300 bits), that they agree
// with the naive formula at 2.9·spread + 300 bits wherever that evaluation is decisive.
// -short draws 300 rows and checks those that span at most 2000, the full test 3000.
func TestBackwardGroupedRows(t *testing.T) {
	n, naiveSpread := 3000, 3100.0
	if testing.Short() {
		n, naiveSpread = 300, 2000
	}
	formats := []fp.Format{fp.FP32, fp.BF16, fp.FP16, fp.E5M2}
	rng := rand.New(rand.NewPCG(7, 11))
	compared, checked := 0, 0
	for c := range n {
		f := formats[c%len(formats)]
		maxGap := 20000.0
		if c%2 == 0 {
			maxGap = 700
		}
		x, dy, spread := groupedRow(rng, f, maxGap)
		v, err := SoftmaxBackward(f, x, dy, 1, len(x), fp.MaskNaN)
		if err != nil {
			if errors.Is(err, ErrPrecisionCap) {
				t.Errorf("SoftmaxBackward %v x=%v dy=%v: %v", f, x, dy, err)
			} else {
				t.Fatal(err)
			}
			continue
		}
		target := rng.IntN(len(x))
		g, err := CrossEntropyGrad(f, x, 1, len(x), []int{target}, DefaultCEOptions())
		if err != nil {
			t.Errorf("CrossEntropyGrad %v x=%v target %d: %v", f, x, target, err)
			continue
		}
		if spread > naiveSpread {
			continue
		}
		checked++
		prec := uint(2.9*spread) + 300
		compared += checkNaive(t, f, x, dy, v, prec)
		p := naiveSoftmax(x, prec)
		p[target].Sub(p[target], big.NewFloat(1))
		compared += compareNaive(t, f, "CrossEntropyGrad", x, nil, p, g, prec)
	}
	t.Logf("%d rows; %d checked against the naive formula, %d elements compared", n, checked, compared)
	if checked > 0 && compared < checked {
		t.Errorf("only %d elements decisive in %d naive checks", compared, checked)
	}
}

// TestDecideRat checks the rounding of Q + ε for a rational Q and a bound on |ε|: decided as
// RN(Q) when no value, midpoint or binade boundary lies within the bound, refused otherwise.
func TestDecideRat(t *testing.T) {
	fi, err := newFmtInfo(fp.FP16)
	if err != nil {
		t.Fatal(err)
	}
	pm := func(e int) ival {
		b := new(big.Float).SetMantExp(big.NewFloat(1), e)
		return ival{lo: new(big.Float).Neg(b), hi: b}
	}
	// 1/3 = 0x1.555…p−2; fp16 keeps 10 fraction bits, 0x1.554p−2, and the rest is 1/3 of an
	// ulp (2^−12): 1/3 lies 2^−12/6 below the midpoint 0x1.556p−2, far more than 2^−100, and
	// rounds down.
	v, ok := fi.decideRat(big.NewRat(1, 3), pm(-100))
	if !ok {
		t.Fatal("1/3 ± 2^−100 undecided")
	}
	checkValue(t, "1/3 ± 2^−100", v, 0x1.554p-2, fp.Inexact)
	// Q = 1 + 2^−11 + 1/(3·2^40): just above the midpoint of 1 and 1 + 2^−10, by 2^−41.6.
	q := new(big.Rat).Add(big.NewRat(2049, 2048), big.NewRat(1, 3<<40))
	if v, ok = fi.decideRat(q, pm(-60)); !ok {
		t.Fatal("midpoint + 2^−41.6 ± 2^−60 undecided")
	}
	checkValue(t, "just above a midpoint", v, 1+0x1p-10, fp.Inexact)
	// The same Q with |ε| ≤ 2^−40: the interval contains the midpoint, so it must be refused.
	if v, ok = fi.decideRat(q, pm(-40)); ok {
		t.Errorf("midpoint within the bound decided as %v", v.Rounded)
	}
	// A bound that reaches over a power of two (a binade boundary) is refused too.
	if v, ok = fi.decideRat(new(big.Rat).Sub(big.NewRat(1, 1), big.NewRat(1, 3<<30)), pm(-20)); ok {
		t.Errorf("interval across 1 decided as %v", v.Rounded)
	}
}

// TestBackwardNegligibleEntries: entries so far below the maximum that their gradient is below
// any subnormal, while its sign needs about a million bits (the cancellation in dy_i − c is
// itself of order e^(x_j − m)). They round to zero; before, the Ziv loop hit its cap.
func TestBackwardNegligibleEntries(t *testing.T) {
	tests := []struct {
		f      fp.Format
		x, dy  []float64
		reason string
	}{
		{fp.BF16, []float64{0, 0, 0, 0, -0x1p33, 720896}, []float64{86.5, 86.5, 86.5, -86.5, 87, 86.5},
			"entries 720896 below a single maximum; dy_i − c ≈ 173·e^−720896"},
		{fp.FP32, []float64{0, 0, 0, 0, 0, 0, 0, 0, 786432, -0x1p33},
			[]float64{88.7228, 88.7228, 88.7228, 88.7228, 88.7228, 88.7228, 88.7228, -88.7228, 88.7228, float64(math.Float32frombits(0x42b17215))},
			"entries 786432 below a single maximum"},
	}
	for _, tt := range tests {
		x, dy := make([]float64, len(tt.x)), make([]float64, len(tt.dy))
		for i := range tt.x {
			x[i], _ = tt.f.RoundFloat64(tt.x[i])
			dy[i], _ = tt.f.RoundFloat64(tt.dy[i])
		}
		got, err := SoftmaxBackward(tt.f, x, dy, 1, len(x), fp.MaskNaN)
		if err != nil {
			t.Errorf("%v %s: %v", tt.f, tt.reason, err)
			continue
		}
		for i := range x {
			if x[i] < 1000 && got[i].Rounded != 0 {
				t.Errorf("%v %s: dx[%d] = %v, want ±0 (|dx| < 2^-700000)", tt.f, tt.reason, i, got[i].Rounded)
			}
		}
	}
}

// TestGroupCoefficients checks groupedBackward's coefficients, computed from per-group counts
// and dy sums, against the pass over the row that defines them, a_g(i) = Σ_{j∈g, dy_j≠dy_i}
// (dy_i − dy_j) summed from +0 (value and sign of zero), and maybeTiny against tinyBackward's
// condition on them: the largest logit of a group with a_g(i) ≠ 0 lies more than 10^6 below the
// maximum. The rows mix logits at the maximum, near it and far below, in groups of equal logits
// whose dy cancel for some i, with dy from subnormal to near MaxFloat64.
func TestGroupCoefficients(t *testing.T) {
	xs := []float64{0, 0, -5, -2e6, -2e6, -3e6, math.Inf(-1)}
	dys := []float64{-1, 0, 1, 2, 3, 0.5, math.Copysign(0, -1), 5e-324, 1.7e308, -1.7e308}
	r := rand.New(rand.NewPCG(1, 2))
	seen := map[bool]int{}
	for range 3000 {
		n := 1 + r.IntN(7)
		x, dy := make([]float64, n), make([]float64, n)
		for j := range x {
			x[j], dy[j] = xs[r.IntN(len(xs))], dys[r.IntN(len(dys))]
		}
		ri := analyze(x)
		if ri.nFinite == 0 {
			continue
		}
		gb := newGroupedBackward(x, dy, ri)
		for i := range x {
			want := make([]*big.Float, len(gb.gx))
			for g := range want {
				want[g] = new(big.Float).SetPrec(2300)
			}
			for j, xj := range x {
				if !math.IsInf(xj, -1) && dy[j] != dy[i] {
					d := new(big.Float).SetPrec(2200).Sub(new(big.Float).SetFloat64(dy[i]), new(big.Float).SetFloat64(dy[j]))
					g := gb.gidx[xj]
					want[g].Add(want[g], d)
				}
			}
			m2, found := 0.0, false
			for g, a := range gb.coefs(i) {
				if a.Cmp(want[g]) != 0 || a.Signbit() != want[g].Signbit() {
					t.Fatalf("x = %v, dy = %v, i = %d: a_%d = %v, the row pass gives %v", x, dy, i, g, a, want[g])
				}
				if a.Sign() != 0 && (!found || gb.gx[g] > m2) {
					m2, found = gb.gx[g], true
				}
			}
			tiny := found && m2-ri.m < -expThreshold
			if got := gb.maybeTiny(i); got != tiny {
				t.Fatalf("x = %v, dy = %v, i = %d: maybeTiny = %v, the coefficients say %v", x, dy, i, got, tiny)
			}
			seen[tiny]++
		}
	}
	if seen[true] == 0 || seen[false] == 0 {
		t.Fatalf("the rows never exercised both answers: %v", seen)
	}
}

// TestBackwardTinySign checks the sign of softmax backward entries whose every contribution
// lies more than 10^6 below the maximum: dx_1 = y_1·Σ_j (dy_1 − dy_j)·y_j = −2·y_1·y_2 < 0, far
// below any format's range, rounds to −0; dx_2 = 2·y_2·(y_0 + y_1) > 0 rounds to +0; both
// underflow. The sign of dx_1 comes from tinyBackward's rescaled sum (its enclosures at any
// precision straddle 0, relative to the row).
func TestBackwardTinySign(t *testing.T) {
	for _, f := range []fp.Format{fp.FP16, fp.BF16, fp.FP32, fp.FP64} {
		v, err := SoftmaxBackward(f, []float64{0, -2e6, -2e6}, []float64{1, 1, 3}, 1, 3, fp.MaskNaN)
		if err != nil {
			t.Fatal(err)
		}
		for i, neg := range map[int]bool{1: true, 2: false} {
			if got := v[i].Rounded; got != 0 || math.Signbit(got) != neg || v[i].Flag != fp.Underflow {
				t.Errorf("%s: dx_%d = %v (%v, sign bit %v), want a zero with sign bit %v and Underflow", f, i, got, v[i].Flag, math.Signbit(got), neg)
			}
		}
	}
}

// TestRatStandInMatches compares decideRat with and without its small stand-in for the bound
// (ratStandIn) on rationals of every kind — odd denominators, format values and midpoints,
// powers of two, float64 values and midpoints, float64-subnormal and near-overflow magnitudes,
// both signs — and bounds from 2^−3000 relative up to where the stand-in no longer applies, in
// every format: the same decision and the same Value, bit for bit.
func TestRatStandInMatches(t *testing.T) {
	defer func() { noRatStandIn = false }()
	r := rand.New(rand.NewPCG(21, 22))
	var qs []*big.Rat
	for range 120 {
		qs = append(qs, big.NewRat(r.Int64N(1<<40)+1, 2*r.Int64N(1<<30)+1))
	}
	for _, f := range fp.Formats() {
		for range 15 {
			v := min(float64(r.IntN(1<<10)+1)*math.Ldexp(1, r.IntN(40)-20), f.MaxFinite())
			rv, _ := f.RoundFloat64(v)
			q := new(big.Rat).SetFloat64(rv)
			mid := new(big.Rat).Add(q, new(big.Rat).SetFloat64(math.Ldexp(f.Ulp(rv), -1)))
			qs = append(qs, q, mid)
		}
		qs = append(qs, new(big.Rat).SetFloat64(f.MaxFinite()), new(big.Rat).SetFloat64(f.MinSubnormal()))
	}
	for range 40 {
		x := math.Float64frombits(r.Uint64() &^ (1 << 63))
		if math.IsNaN(x) || math.IsInf(x, 0) || x == 0 {
			continue
		}
		q := new(big.Rat).SetFloat64(x)
		qs = append(qs, q, new(big.Rat).Add(q, new(big.Rat).SetFloat64(math.Ldexp(math.Nextafter(x, math.Inf(1))-x, -1))))
	}
	qs = append(qs, big.NewRat(1, 1<<40), new(big.Rat).SetFrac(big.NewInt(1), new(big.Int).Lsh(big.NewInt(3), 1070)))
	// Magnitudes where float64's subnormal grid is the finest rounding grid, and below it:
	// subnormal values and midpoints, and rationals with odd denominators.
	for range 50 {
		k := r.Int64N(1<<20) + 1
		sh := uint(1040 + r.IntN(60))
		qs = append(qs, new(big.Rat).SetFrac(big.NewInt(k), new(big.Int).Lsh(big.NewInt(1), sh)),
			new(big.Rat).SetFrac(big.NewInt(2*k+1), new(big.Int).Lsh(big.NewInt(1), 1075)),
			new(big.Rat).SetFrac(big.NewInt(k), new(big.Int).Lsh(big.NewInt(2*r.Int64N(1000)+3), sh)))
	}
	stood, decided := 0, 0
	for i, q := range qs {
		if i%2 == 1 {
			q = new(big.Rat).Neg(q)
		}
		qe := new(big.Float).SetPrec(64).SetRat(q).MantExp(nil)
		for _, f := range fp.Formats() {
			fi, err := newFmtInfo(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, rel := range []int{-3000, -1200, -200, -120, -90, -70, -60, -50, -40, -30, -20} {
				e := qe + rel - r.IntN(8)
				b := new(big.Float).SetMantExp(big.NewFloat(0.5+r.Float64()/2), e)
				eps := ival{lo: new(big.Float).Neg(b), hi: new(big.Float).SetMantExp(big.NewFloat(0.5), e)}
				noRatStandIn = false
				mag := new(big.Float).Abs(eps.lo)
				if ratStandIn(q, mag) != nil {
					stood++
				}
				v1, ok1 := fi.decideRat(q, eps)
				noRatStandIn = true
				v2, ok2 := fi.decideRat(q, eps)
				if ok1 {
					decided++
				}
				same := ok1 == ok2 && math.Float64bits(v1.Rounded) == math.Float64bits(v2.Rounded) && v1.Flag == v2.Flag &&
					v1.has64 == v2.has64 && math.Float64bits(v1.r64) == math.Float64bits(v2.r64) &&
					(v1.approx == nil) == (v2.approx == nil) && (v1.approx == nil || v1.approx.Cmp(v2.approx) == 0)
				if !same {
					t.Fatalf("%v, Q = %s, |ε| ≤ 2^%d: with the stand-in %v %v %v (%v %x), without %v %v %v (%v %x)",
						f, q.FloatString(30), e, ok1, v1.Rounded, v1.Flag, v1.has64, v1.r64, ok2, v2.Rounded, v2.Flag, v2.has64, v2.r64)
				}
			}
		}
	}
	if stood < 3000 || decided < 10000 {
		t.Fatalf("stand-in used %d times, %d decisions: the comparison is not exercised", stood, decided)
	}
}
