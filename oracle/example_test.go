package oracle_test

import (
	"fmt"

	"github.com/ulpcheck/ulpcheck/fp"
	"github.com/ulpcheck/ulpcheck/oracle"
)

// A kernel's fp16 softmax output is judged against the correctly rounded value and the exact
// real behind it.
func ExampleSoftmax() {
	x := []float64{1, 2, 3}
	want, err := oracle.Softmax(fp.FP16, x, fp.MaskNaN)
	if err != nil {
		panic(err)
	}
	got := 0.66552734375 // a kernel's output for the last entry, one fp16 ulp above
	v := want[2]
	fmt.Printf("RN = %v (%v), kernel %.3f ulp away, %d ulp from RN\n", v.Rounded, v.Flag, v.UlpError(got), v.UlpDistance(got))
	// Output: RN = 0.6650390625 (inexact), kernel 0.587 ulp away, 1 ulp from RN
}

// The exact midpoint of NUMERICS §6: 4096 equal logits, the cross-entropy gradient at the
// target is −(1 − 2^−12), halfway between two fp16 values; ties to even give −1.
func ExampleCrossEntropyGrad() {
	x := make([]float64, 4096)
	opt := oracle.DefaultCEOptions()
	opt.Reduction = oracle.ReduceSum
	g, err := oracle.CrossEntropyGrad(fp.FP16, x, 1, 4096, []int{0}, opt)
	if err != nil {
		panic(err)
	}
	fmt.Println(g[0].Rounded, g[0].Exact().Text('g', 10), g[1].Rounded, g[1].Flag)
	// Output: -1 -0.9997558594 0.000244140625 exact
}
