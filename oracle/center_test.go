package oracle

import (
	"math"
	"testing"

	"github.com/ulpcheck/ulpcheck/fp"
)

// TestTinyPerturbations covers values within e^(−30000) of a format value or midpoint, which
// no precision below MaxPrecision separates from it (decided by decideCenter): the direction
// of rounding follows the sign of the perturbation.
func TestTinyPerturbations(t *testing.T) {
	f := fp.FP16
	// LSE(60000, 30000) = 60000 + log1p(e^−30000): 60000 is an fp16 value, the LSE rounds to it.
	v, err := LSE(f, []float64{60000, 30000})
	if err != nil {
		t.Fatal(err)
	}
	checkValue(t, "LSE near a value", v, 60000, fp.Inexact)
	// LSE(60016, 30000): 60016 is the midpoint of 60000 and 60032 (spacing 32), whose even
	// neighbour is 60000; the exact value lies just above it and rounds up.
	v, err = LSE(f, []float64{60016, 30000})
	if err != nil {
		t.Fatal(err)
	}
	checkValue(t, "LSE just above a midpoint", v, 60032, fp.Inexact)
	// Log-softmax of the small entry: −30024 − log1p(e^−30024), just below −30024, the midpoint
	// of −30016 and −30032 (spacing 16), whose even neighbour is −30016: it rounds to −30032.
	// At the maximum, −log1p(e^−30024) is a tiny negative number: −0.
	l, err := LogSoftmax(f, []float64{30024, 0}, fp.MaskNaN)
	if err != nil {
		t.Fatal(err)
	}
	checkValue(t, "log-softmax just below a midpoint", l[1], -30032, fp.Inexact)
	checkValue(t, "log-softmax of the maximum", l[0], math.Copysign(0, -1), fp.Underflow)
	// Softmax: 1 − e^−30000 rounds to 1, e^−30000 to +0.
	s, err := Softmax(f, []float64{30000, 0}, fp.MaskNaN)
	if err != nil {
		t.Fatal(err)
	}
	checkValue(t, "softmax of the maximum", s[0], 1, fp.Inexact)
	checkValue(t, "softmax far below", s[1], 0, fp.Underflow)
	// Cross-entropy gradient of a row with three equal maxima and one entry 40000 below: at a
	// maximum off the target, p − 0 = 1/3 − (tiny) rounds as 1/3; below the maximum, p is a
	// tiny positive number: +0.
	opt := DefaultCEOptions()
	opt.Reduction = ReduceSum
	g, err := CrossEntropyGrad(f, []float64{40000, 40000, 40000, 0}, 1, 4, []int{1}, opt)
	if err != nil {
		t.Fatal(err)
	}
	third, _ := f.RoundFloat64(1.0 / 3)
	checkValue(t, "CE gradient off target at a maximum", g[0], third, fp.Inexact)
	checkValue(t, "CE gradient below the maximum", g[3], 0, fp.Underflow)
	// Three maxima, target weight 3: at the target the gradient is 3·p − 3 = −2 − 3·(1/3 − p),
	// just below −2 (a value of fp16); at the other maxima 3·p = 1 − (tiny). The rational part is
	// dyadic although k = 3 is not a power of two.
	opt.Weights = []float64{1, 3, 1, 1}
	g, err = CrossEntropyGrad(f, []float64{40000, 40000, 40000, 0}, 1, 4, []int{1}, opt)
	if err != nil {
		t.Fatal(err)
	}
	checkValue(t, "CE gradient at the target", g[1], -2, fp.Inexact)
	checkValue(t, "CE gradient at another maximum", g[0], 1, fp.Inexact)
}
