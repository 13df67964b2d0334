package properties_test

import (
	"context"
	"fmt"
	"math"
	"testing"

	"github.com/ulpcheck/ulpcheck/fp"
	"github.com/ulpcheck/ulpcheck/generators"
	"github.com/ulpcheck/ulpcheck/kernels"
	"github.com/ulpcheck/ulpcheck/properties"
)

func mySoftmax(dst, src []float32) {
	m := float32(math.Inf(-1))
	for _, x := range src {
		m = max(m, x)
	}
	var s float32
	for i, x := range src {
		dst[i] = float32(math.Exp(float64(x - m)))
		s += dst[i]
	}
	for i := range dst {
		dst[i] /= s
	}
}

// Check is the one line a kernel author writes in a _test.go file.
func ExampleCheck() {
	// func TestMySoftmax(t *testing.T) {
	var t *testing.T // (in a real test, the *testing.T of the test function)
	if t != nil {
		properties.Check(t, kernels.Softmax("mylib.Softmax", mySoftmax))
	}
	// }
}

// Fuzz hands the same properties to the native fuzzer (go test -fuzz FuzzMySoftmax).
func ExampleFuzz() {
	// func FuzzMySoftmax(f *testing.F) {
	var f *testing.F
	if f != nil {
		f.Fuzz(properties.Fuzz(kernels.Softmax("mylib.Softmax", mySoftmax)))
	}
	// }
}

// Evaluate is the programmatic entry point the campaign runner uses: one case, one verdict.
func ExampleEvaluate() {
	k, _ := kernels.Lookup("softmax/naive/fp32")
	c := generators.Case{Format: fp.FP32, Rows: 1, Cols: 1, X: []float64{89}, RowClasses: []generators.Class{"example"}}
	v := properties.Evaluate(context.Background(), k, c)
	for _, f := range v.Failures {
		fmt.Printf("%s [%s] got %v want %v\n", f.Property, f.Class, f.Got, f.Want)
	}
	// Output:
	// no-nan [nan] got NaN want 1
	// sum-to-one [identity] got NaN want NaN
}

// Strict judges against a fixed number of ulps of the exact value, for kernels that claim it;
// here the shifted fp16 softmax (fp32 accumulation) on a short row is within one ulp.
func ExampleStrict() {
	k, _ := kernels.Lookup("softmax/shifted/fp16")
	c := generators.Case{Format: fp.FP16, Rows: 1, Cols: 3, X: []float64{1, 2, 3}, RowClasses: []generators.Class{"example"}}
	v := properties.Evaluate(context.Background(), k, c, properties.WithTolerance(properties.Strict(1)))
	fmt.Println(v.OK(), v.MaxUlp <= 1)
	// Output:
	// true true
}
