package oracle

import (
	"math"
	"testing"

	"github.com/ulpcheck/ulpcheck/fp"
)

// TestExactZeroSign checks the sign of every exact zero the oracle's exact and single-entry paths
// return. An exact zero of these functions is a real 0 reached as log 1 or as p − p; IEEE 754 gives
// log(1) = +0 and x − x = +0 under round to nearest, and PyTorch agrees (logsumexp([−0]) = +0), so
// each must be +0, whatever the sign of the zero logits that produced it.
func TestExactZeroSign(t *testing.T) {
	nz := math.Copysign(0, -1)
	inf := math.Inf(1)
	type op struct {
		name string
		run  func(f fp.Format, x []float64) ([]Value, error)
	}
	onehot := func(n int) []float64 { p := make([]float64, n); p[0] = 1; return p }
	ops := []op{
		{"lse", func(f fp.Format, x []float64) ([]Value, error) { v, err := LSE(f, x); return []Value{v}, err }},
		{"logsoftmax", func(f fp.Format, x []float64) ([]Value, error) { return LogSoftmax(f, x, fp.MaskNaN) }},
		{"ce", func(f fp.Format, x []float64) ([]Value, error) {
			return CrossEntropy(f, x, 1, len(x), []int{0}, DefaultCEOptions())
		}},
		{"ceprob", func(f fp.Format, x []float64) ([]Value, error) {
			return CrossEntropyProb(f, x, onehot(len(x)), 1, len(x), DefaultCEOptions())
		}},
		{"cegrad", func(f fp.Format, x []float64) ([]Value, error) {
			return CrossEntropyGrad(f, x, 1, len(x), []int{0}, DefaultCEOptions())
		}},
		{"cegradprob", func(f fp.Format, x []float64) ([]Value, error) {
			return CrossEntropyProbGrad(f, x, onehot(len(x)), 1, len(x), DefaultCEOptions())
		}},
		{"softmaxbwd", func(f fp.Format, x []float64) ([]Value, error) {
			return SoftmaxBackward(f, x, onehot(len(x)), 1, len(x), fp.MaskNaN)
		}},
	}
	rows := []struct {
		x      []float64
		reason string
	}{
		{[]float64{nz}, "the one-element row [−0]: LSE = log e^−0 = log 1 = +0"},
		{[]float64{0}, "the one-element row [+0]"},
		{[]float64{nz, -inf}, "−0 beside a masked entry: still the only finite entry"},
		{[]float64{-inf, nz}, "the masked entry first"},
		{[]float64{3}, "a nonzero single entry: log-softmax, loss and gradients are exact zeros"},
	}
	for _, f := range []fp.Format{fp.FP16, fp.BF16, fp.FP32, fp.FP64} {
		for _, o := range ops {
			for _, r := range rows {
				vs, err := o.run(f, r.x)
				if err != nil {
					t.Fatalf("%s %s %v: %v", o.name, f, r.x, err)
				}
				for i, v := range vs {
					if v.Rounded == 0 && math.Signbit(v.Rounded) {
						t.Errorf("%s %s x=%v (%s): output %d is −0 (bits %#x), want +0",
							o.name, f, r.x, r.reason, i, math.Float64bits(v.Rounded))
					}
				}
			}
		}
	}
	// The one nonzero case of the table: LSE of [−0] is exactly +0, not merely a zero.
	if v, _ := LSE(fp.FP32, []float64{nz}); v.Rounded != 0 || math.Signbit(v.Rounded) || v.Flag != fp.Exact {
		t.Errorf("LSE([−0]) = %v (bits %#x, flag %v), want exact +0", v.Rounded, math.Float64bits(v.Rounded), v.Flag)
	}
}
