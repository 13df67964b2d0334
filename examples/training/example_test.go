package training_test

import (
	"fmt"
	"math"

	"github.com/ulpcheck/ulpcheck/examples/training"
	"github.com/ulpcheck/ulpcheck/fp"
)

// The runs of the demonstration, reduced to the facts the package's tests assert.
func Example() {
	a, _ := training.Run(training.Config{Stable: false, Scaling: true})
	b, _ := training.Run(training.Config{Stable: true, Scaling: false})
	c, _ := training.Run(training.Config{Stable: true, Scaling: true})
	thr := fp.FP16.Exp().Overflow
	last := func(r training.Result) float64 { return r.Losses[len(r.Losses)-1] }

	fmt.Println("(a) naive softmax: loss NaN:", math.IsNaN(last(a)),
		"| logits beyond fp16's exp threshold when it broke:", a.MaxLogitAtNaN > thr,
		"| scaler skipped the NaN steps, weights finite:", a.Skipped > 0 && a.WeightsAllFine)
	fmt.Println("(b) no loss scaling: fp16 weight gradients all zero:", b.NonzeroGrads == 0 && b.ExactNonzero > 0,
		"| loss unchanged:", last(b) == b.Losses[0])
	fmt.Println("(c) stable + scaler: accuracy ≥ 95%:", c.Accuracy >= 0.95,
		"| loss fell tenfold:", last(c) < c.Losses[0]/10,
		"| logits beyond fp16's exp threshold:", c.MaxLogit > thr, "| NaN:", c.FirstNaN >= 0)

	runs := training.Runs(0)
	d, _ := training.Run(runs[3])
	e, _ := training.Run(runs[4])
	k, growth := d.Growth()
	coefOK := true
	for _, v := range e.ClipCoefs {
		coefOK = coefOK && v >= 0 && v <= 1
	}
	fmt.Println("(d) lr 0.1, squared error: loss non-finite:", d.FirstNonFinite >= 0,
		"| gradient norm grew ≥ 1000× over ≥ 3 steps before it:", k >= 3 && growth >= 1000)
	fmt.Println("(d) with clip_grad_norm_: finite throughout:", e.FirstNonFinite < 0 && e.WeightsAllFine,
		"| loss ≤ 2 × least-squares minimum:", last(e) <= 2*e.MinLoss, "| coefficient in [0, 1]:", coefOK)
	// Output:
	// (a) naive softmax: loss NaN: true | logits beyond fp16's exp threshold when it broke: true | scaler skipped the NaN steps, weights finite: true
	// (b) no loss scaling: fp16 weight gradients all zero: true | loss unchanged: true
	// (c) stable + scaler: accuracy ≥ 95%: true | loss fell tenfold: true | logits beyond fp16's exp threshold: true | NaN: false
	// (d) lr 0.1, squared error: loss non-finite: true | gradient norm grew ≥ 1000× over ≥ 3 steps before it: true
	// (d) with clip_grad_norm_: finite throughout: true | loss ≤ 2 × least-squares minimum: true | coefficient in [0, 1]: true
}
