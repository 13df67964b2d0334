// This file implements the reference for the squared-error runs: the least-squares minimum of
// their loss, in float64.

package training

import (
	"fmt"
	"math"
)

// MinSquaredLoss returns min over W of the mean of ½‖W·x − onehot(y)‖² over the training set of
// seed (the loss of Config.Squared with exact arithmetic at its minimiser), in float64: the
// normal equations (XᵀX)·w_c = Xᵀt_c for each class, solved by Gaussian elimination with
// partial pivoting. It is a reference a run's loss is compared with (the fp16 forward pass and
// SGD's steps cannot go below it by more than rounding), not a correctly rounded value.
func MinSquaredLoss(seed uint64) (float64, error) {
	x, y := data(seed)
	var a [Features][Features + Classes]float64 // [XᵀX | XᵀT]
	for n, row := range x {
		for i := range Features {
			for j := range Features {
				a[i][j] += row[i] * row[j]
			}
			a[i][Features+y[n]] += row[i]
		}
	}
	for k := range Features {
		p := k
		for i := k + 1; i < Features; i++ {
			if math.Abs(a[i][k]) > math.Abs(a[p][k]) {
				p = i
			}
		}
		if a[p][k] == 0 {
			return 0, fmt.Errorf("training: MinSquaredLoss: XᵀX is singular for seed %d", seed)
		}
		a[k], a[p] = a[p], a[k]
		for i := range Features {
			if i == k {
				continue
			}
			f := a[i][k] / a[k][k]
			for j := k; j < Features+Classes; j++ {
				a[i][j] -= f * a[k][j]
			}
		}
	}
	var loss float64
	for n, row := range x {
		for c := range Classes {
			var z float64
			for j := range Features {
				z += a[j][Features+c] / a[j][j] * row[j]
			}
			if c == y[n] {
				z--
			}
			loss += 0.5 * z * z
		}
	}
	return loss / float64(len(x)), nil
}

// MaxCurvature returns the largest eigenvalue λ of XᵀX/n, the Hessian of the squared-error loss
// of Config.Squared for each class's weights, for the training set of seed, in float64 by power
// iteration (200 iterations from a fixed start: the eigenvalues here are about
// 1 + 128·π_c for the class frequencies π_c, and 1, so the iteration converges quickly).
// Gradient descent on this loss is stable exactly when the learning rate is below 2/λ; above it
// the error along the top eigenvector is multiplied by 1 − rate·λ < −1 every step.
func MaxCurvature(seed uint64) float64 {
	x, _ := data(seed)
	v := make([]float64, Features)
	for i := range v {
		v[i] = 1 + float64(i)/Features
	}
	var lambda float64
	for range 200 {
		w := make([]float64, Features)
		for _, row := range x {
			var d float64
			for j := range row {
				d += row[j] * v[j]
			}
			for j := range row {
				w[j] += row[j] * d / float64(len(x))
			}
		}
		var n float64
		for _, e := range w {
			n += e * e
		}
		lambda = math.Sqrt(n)
		for j := range w {
			v[j] = w[j] / lambda
		}
	}
	return lambda
}
