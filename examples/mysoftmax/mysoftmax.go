// Package mysoftmax stands in for a third-party library whose kernels a user wants to test with
// ulpcheck: plain Go functions over float32 and fp16 slices, knowing nothing of the harness.
package mysoftmax

import (
	"math"

	"github.com/x448/float16"
)

// Softmax writes softmax(src) into dst with the max-shifted two-pass algorithm in float32
// (Blanchard, Higham & Higham 2021, Algorithm 4.1): relative error ≤ (n + 2 + 2(x_max − x_min))u.
// len(dst) must equal len(src).
func Softmax(dst, src []float32) {
	m := float32(math.Inf(-1))
	for _, x := range src {
		if x > m || x != x {
			m = x
		}
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

// SoftmaxHalf is Softmax for fp16 storage: it converts to float32, computes in float32 and rounds
// each output once to fp16 (x448/float16 rounds to nearest even).
func SoftmaxHalf(dst, src []float16.Float16) {
	x := make([]float32, len(src))
	for i, v := range src {
		x[i] = v.Float32()
	}
	y := make([]float32, len(dst))
	Softmax(y, x)
	for i, v := range y {
		dst[i] = float16.Fromfloat32(v)
	}
}

// NaiveSoftmax is the textbook exp/sum/divide without a shift: it overflows for logits above
// 88.72 (Inf/Inf = NaN). Kept to show what a failure report looks like.
func NaiveSoftmax(dst, src []float32) {
	var s float32
	for i, x := range src {
		dst[i] = float32(math.Exp(float64(x)))
		s += dst[i]
	}
	for i := range dst {
		dst[i] /= s
	}
}
