package lossscale_test

import (
	"fmt"
	"math"

	"github.com/x448/float16"

	"github.com/ulpcheck/ulpcheck/kernels/lossscale"
)

// One clean and one overflowed iteration with PyTorch's defaults.
func ExampleDynamic() {
	s, err := lossscale.New(lossscale.DefaultOptions())
	if err != nil {
		panic(err)
	}
	fmt.Println("scaled loss:", s.ScaleLoss(0.75)) // backward runs on 0.75·2^16

	// The fp16 gradients of the scaled loss: 2^-10 is the true gradient 2^-26, which fp16
	// alone would flush to zero.
	grads := []float16.Float16{float16.Fromfloat32(0x1p-10), float16.Fromfloat32(-3)}
	master := make([]float32, len(grads))
	found := s.UnscaleFloat16(master, grads)
	skipped := s.Step(func() { /* optimizer.step() on master */ })
	s.Update()
	fmt.Println(found, skipped, master[0] == 0x1p-26, master[1] == -3*0x1p-16, s.Scale())

	grads[1] = float16.Inf(1) // an overflowed backward pass
	found = s.UnscaleFloat16(master, grads)
	skipped = s.Step(func() { panic("not reached") })
	s.Update()
	fmt.Println(found, skipped, s.Scale(), math.Log2(float64(s.Scale())))
	// Output:
	// scaled loss: 49152
	// false false true true 65536
	// true true 32768 15
}
