package mysoftmax_test

import (
	"context"
	"fmt"
	"math"

	"github.com/ulpcheck/ulpcheck/examples/mysoftmax"
	"github.com/ulpcheck/ulpcheck/fp"
	"github.com/ulpcheck/ulpcheck/generators"
	"github.com/ulpcheck/ulpcheck/kernels"
	"github.com/ulpcheck/ulpcheck/properties"
)

// Evaluate judges one case and says why it failed: the naive softmax overflows on a logit of 100
// (exp(100) is +Inf in float32, Inf/Inf is NaN) where the exact value is 1, and returns 1/Inf = 0
// for the other output, whose exact value e^−100 ≈ 3.7e−44 is a float32 subnormal (underflow);
// the row's sum is NaN (identity).
func Example_readingAFailure() {
	k := kernels.Softmax("mysoftmax.NaiveSoftmax", mysoftmax.NaiveSoftmax, kernels.WithAlgorithm(kernels.AlgUnshifted))
	c := generators.Case{Format: fp.FP32, Rows: 1, Cols: 2, X: []float64{100, 0}, RowClasses: []generators.Class{"example"}}
	v := properties.Evaluate(context.Background(), k, c)
	fmt.Println("ok:", v.OK())
	fmt.Println("classes:", v.Classes())
	f := v.Failures[0]
	fmt.Printf("%s at output %d: got %v, want %v\n", f.Property, f.Index, f.Got, f.Want)
	// Output:
	// ok: false
	// classes: [nan underflow identity]
	// no-nan at output 0: got NaN, want 1
}

// The shifted kernel passes the same case, and the verdict carries the error statistics.
func Example_passing() {
	k := kernels.Softmax("mysoftmax.Softmax", mysoftmax.Softmax)
	c := generators.Case{Format: fp.FP32, Rows: 1, Cols: 2, X: []float64{100, 0}, RowClasses: []generators.Class{"example"}}
	v := properties.Evaluate(context.Background(), k, c)
	fmt.Println("ok:", v.OK(), "max ulp error ≤ 0.5:", v.MaxUlp <= 0.5, "spread:", v.Spread)
	fmt.Println("output 1 is e^-100 in float32:", v.Got[1] == float64(float32(math.Exp(-100))))
	// Output:
	// ok: true max ulp error ≤ 0.5: true spread: 100
	// output 1 is e^-100 in float32: true
}
