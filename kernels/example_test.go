package kernels_test

import (
	"context"
	"fmt"
	"math"

	"github.com/ulpcheck/ulpcheck/fp"
	"github.com/ulpcheck/ulpcheck/kernels"
)

// Softmax adapts a plain Go function; the element type sets the formats, options declare the rest.
func ExampleSoftmax() {
	k := kernels.Softmax("mylib.Softmax", func(dst, src []float32) {
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
	}, kernels.WithAlgorithm(kernels.AlgShifted), kernels.WithMask(fp.MaskNaN))
	out, err := k.Call(context.Background(), &kernels.Args{Rows: 1, Cols: 2, X: []float64{0, 0}})
	fmt.Println(k, out, err)
	// Output:
	// mylib.Softmax (softmax, fp32→fp32, acc fp32, shifted, mask nan) [0.5 0.5] <nil>
}

// Call reports a broken contract as a *ContractError.
func ExampleKernel_Call() {
	k := kernels.Softmax("oob", func(dst, src []float32) {
		dst = dst[:len(dst)+1] // writes one past its output
		dst[len(dst)-1] = 1
	})
	_, err := k.Call(context.Background(), &kernels.Args{Rows: 1, Cols: 2, X: []float64{0, 0}})
	fmt.Println(err)
	// Output:
	// kernels: oob wrote outside its output at element 2: row 0: guard cell 2 (relative to the row's output) was written
}

// Lookup returns a bundled kernel by name; Broken marks the ones that must fail.
func ExampleLookup() {
	k, _ := kernels.Lookup("softmax/naive/fp32")
	fmt.Println(k.Op, k.Algorithm, k.Broken != "")
	// Output:
	// softmax unshifted true
}
