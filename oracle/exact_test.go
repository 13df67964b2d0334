package oracle

import (
	"errors"
	"math"
	"math/big"
	"testing"

	"github.com/ulpcheck/ulpcheck/fp"
)

// refRound rounds the rational q into f with math/big's own conversion (SetRat at precision p,
// ties to even, exact), an implementation independent of ratValue; valid in f's normal range.
func refRound(f fp.Format, q *big.Rat) float64 {
	z := new(big.Float).SetPrec(uint(f.Precision())).SetMode(big.ToNearestEven).SetRat(q)
	v, _ := z.Float64()
	return v
}

// bitsOf returns the encoding of x in f, or the float64 bits when x is not a value of f.
func bitsOf(f fp.Format, x float64) uint64 {
	if b, err := f.EncodeChecked(x); err == nil {
		return b
	}
	return math.Float64bits(x)
}

// checkValue fails unless v is the value want with flag fl in its format (NaN matches NaN;
// the sign of zero matters).
func checkValue(t *testing.T, what string, v Value, want float64, fl fp.Flag) {
	t.Helper()
	f := v.Format
	same := math.Float64bits(v.Rounded) == math.Float64bits(want) || math.IsNaN(v.Rounded) && math.IsNaN(want)
	if !same || v.Flag != fl || v.IsNaN() != math.IsNaN(want) && fl != fp.Overflow {
		t.Errorf("%s (%v): got %v (%#x) %v, want %v (%#x) %v", what, f, v.Rounded, bitsOf(f, v.Rounded), v.Flag, want, bitsOf(f, want), fl)
	}
}

func TestFP16MidpointCEGrad(t *testing.T) {
	// NUMERICS §6: 4096 equal logits, class target: the gradient at the target is
	// 1/4096 − 1 = −(1 − 2^−12), halfway between −(1 − 2^−11) and −1 in fp16; ties to even give −1.
	const n = 4096
	x := make([]float64, n)
	for i := range x {
		x[i] = 0.75
	}
	for _, red := range []Reduction{ReduceSum, ReduceNone, ReduceMean} {
		opt := DefaultCEOptions()
		opt.Reduction = red
		g, err := CrossEntropyGrad(fp.FP16, x, 1, n, []int{17}, opt)
		if err != nil {
			t.Fatal(err)
		}
		checkValue(t, "grad at target", g[17], -1, fp.Inexact)
		want := new(big.Float).SetFloat64(-(1 - 0x1p-12))
		if g[17].Exact().Cmp(want) != 0 {
			t.Errorf("%v: exact gradient %s, want −(1 − 2^−12)", red, g[17].Exact().Text('p', 0))
		}
		if e := g[17].UlpError(-1); e != 0.5 {
			t.Errorf("%v: UlpError(−1) = %v, want 0.5 exactly (a midpoint)", red, e)
		}
		checkValue(t, "grad off target", g[0], 0x1p-12, fp.Exact)
	}
	// The same row's softmax is 2^−12 exactly and its loss log 4096 = 12·ln 2.
	s, err := Softmax(fp.FP16, x, fp.MaskNaN)
	if err != nil {
		t.Fatal(err)
	}
	checkValue(t, "softmax", s[5], 0x1p-12, fp.Exact)
}

func TestSoftmaxAllEqual(t *testing.T) {
	for _, f := range fp.Formats() {
		for _, n := range []int{1, 2, 3, 5, 7, 10, 1000, 1024} {
			x := make([]float64, n+1)
			for i := range n {
				x[i] = -3.5
			}
			x[n] = math.Inf(-1)
			v, err := Softmax(f, x, fp.MaskNaN)
			if err != nil {
				t.Fatal(err)
			}
			q := big.NewRat(1, int64(n))
			want := refRound(f, q)
			fl := fp.Inexact
			if n&(n-1) == 0 {
				fl = fp.Exact
			}
			if want < f.MinNormal() {
				// 1/1000 and 1/1024 are subnormal in E4M3 (min normal 2^−6): check the value by
				// the definition instead (p' = p − (e_min − e) bits).
				r, rfl := f.Round(new(big.Float).SetPrec(200).SetRat(q))
				want, fl = r, rfl
			}
			checkValue(t, "softmax 1/n", v[0], want, fl)
			checkValue(t, "softmax at −Inf", v[n], 0, fp.Exact)
			if n&(n-1) == 0 {
				if v[0].Exact().Cmp(new(big.Float).SetRat(q)) != 0 {
					t.Errorf("%v n=%d: Exact() = %v, want 1/n exactly", f, n, v[0].Exact())
				}
			}
		}
	}
}

func TestSingleFinite(t *testing.T) {
	inf := math.Inf(-1)
	x := []float64{inf, 0.1, inf}
	for _, f := range fp.Formats() {
		lse, err := LSE(f, x)
		if err != nil {
			t.Fatal(err)
		}
		want, wfl := f.RoundFloat64(0.1)
		checkValue(t, "LSE single", lse, want, wfl)
		if lse.Exact().Cmp(big.NewFloat(0.1)) != 0 {
			t.Errorf("%v: LSE exact %v, want the float64 0.1", f, lse.Exact())
		}
		ls, _ := LogSoftmax(f, x, fp.MaskNaN)
		checkValue(t, "log-softmax at finite", ls[1], 0, fp.Exact)
		// E4M3 has no −Inf: rounding it gives NaN with Overflow.
		r, fl := f.RoundFloat64(inf)
		checkValue(t, "log-softmax at −Inf", ls[0], r, fl)
		s, _ := Softmax(f, x, fp.MaskNaN)
		checkValue(t, "softmax at finite", s[1], 1, fp.Exact)
		ce, err := CrossEntropy(f, x, 1, 3, []int{1}, DefaultCEOptions())
		if err != nil {
			t.Fatal(err)
		}
		checkValue(t, "CE single finite at target", ce[0], 0, fp.Exact)
		ce, _ = CrossEntropy(f, x, 1, 3, []int{0}, DefaultCEOptions())
		r, fl = f.RoundFloat64(math.Inf(1))
		checkValue(t, "CE target at −Inf", ce[0], r, fl)
	}
}

func TestExactBackward(t *testing.T) {
	// All-equal logits: y = 1/3, dy = (1, 2, 4), c = 7/3, dx = (dy − 7/3)/3 = (−4/9, −1/9, 5/9).
	x := []float64{2, 2, 2}
	dy := []float64{1, 2, 4}
	for _, f := range []fp.Format{fp.FP16, fp.BF16, fp.FP32, fp.FP64} {
		v, err := SoftmaxBackward(f, x, dy, 1, 3, fp.MaskNaN)
		if err != nil {
			t.Fatal(err)
		}
		for i, q := range []*big.Rat{big.NewRat(-4, 9), big.NewRat(-1, 9), big.NewRat(5, 9)} {
			checkValue(t, "backward 1/3", v[i], refRound(f, q), fp.Inexact)
		}
	}
	// Groups of equal logits with equal dy means: x = (1, 1, 2), dy = (0, 2, 1): both groups have
	// mean 1, so c = 1 and dx_2 = y_2·(1 − 1) = 0 exactly; dx_0 = −y_0, dx_1 = y_0.
	x = []float64{1, 1, 2}
	dy = []float64{0, 2, 1}
	for _, f := range []fp.Format{fp.FP16, fp.FP32, fp.FP64} {
		v, err := SoftmaxBackward(f, x, dy, 1, 3, fp.MaskNaN)
		if err != nil {
			t.Fatal(err)
		}
		y, _ := Softmax(f, x, fp.MaskNaN)
		checkValue(t, "backward exact zero", v[2], 0, fp.Exact)
		checkValue(t, "backward −y_0", v[0], -y[0].Rounded, y[0].Flag)
		checkValue(t, "backward y_0", v[1], y[0].Rounded, y[0].Flag)
	}
	// dy constant: dx = 0 everywhere, exactly.
	v, err := SoftmaxBackward(fp.FP32, []float64{0.5, -3, 7, math.Inf(-1)}, []float64{3, 3, 3, 3}, 1, 4, fp.MaskNaN)
	if err != nil {
		t.Fatal(err)
	}
	for i := range v {
		checkValue(t, "backward constant dy", v[i], 0, fp.Exact)
	}
	// From y (a polynomial): y = (1/2, 1/2), dy = (4 + 2^−9, 0): c = 2 + 2^−10,
	// dx = ±(1 + 2^−11), an fp16 midpoint that rounds to ±1 (ties to even); 1 + 3·2^−11 rounds up.
	v, err = SoftmaxBackwardFromY(fp.FP16, []float64{0.5, 0.5, 0.5, 0.5}, []float64{4 + 0x1p-9, 0, 4 + 3*0x1p-9, 0}, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	checkValue(t, "from-y midpoint", v[0], 1, fp.Inexact)
	checkValue(t, "from-y midpoint", v[1], -1, fp.Inexact)
	checkValue(t, "from-y midpoint up", v[2], 1+0x1p-9, fp.Inexact)
	checkValue(t, "from-y midpoint up", v[3], -1-0x1p-9, fp.Inexact)
}

// TestPrecisionCap: with a negative weight, 2·log 2 − log 4 = 0 exactly, a cancellation between
// rows the oracle does not detect; the Ziv loop must stop with ErrPrecisionCap, not guess.
func TestPrecisionCap(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the Ziv loop to its cap")
	}
	x := []float64{0, 0, math.Inf(-1), math.Inf(-1), 1, 1, 1, 1}
	opt := DefaultCEOptions()
	opt.Weights = []float64{2, -1, 1, 1}
	opt.Reduction = ReduceSum
	// Row 0: target 0 (weight 2), loss 2·log 2; row 1: target 1 (weight −1), loss −log 4.
	_, err := CrossEntropy(fp.FP32, x, 2, 4, []int{0, 1}, opt)
	if !errors.Is(err, ErrPrecisionCap) {
		t.Fatalf("got %v, want an error wrapping ErrPrecisionCap", err)
	}
}
