// This file implements the demonstration's gradient norm and clip_grad_norm_: the total 2-norm of
// the weight gradients computed in the gradients' own format with power-of-two scaled
// accumulation, and the clip coefficient min(1, max_norm/(N + 1e-6)) applied in that format.

package training

import (
	"fmt"
	"math"

	"github.com/ulpcheck/ulpcheck/fp"
)

// ClipEps is the ε of clip_grad_norm_'s coefficient max_norm/(total_norm + ε) (PyTorch's 1e-6).
const ClipEps = 1e-6

// Norm2 returns the 2-norm of xs, which must be values of f, computed in f's arithmetic (every
// operation rounded to nearest in f) without overflow of the sum of squares:
//
//	m   = max |x_i|, s = 2^e the power of two with m < s ≤ 2m
//	ssq = Σ RN((x_i/s)²), summed left to right in f (x_i/s exact: a power-of-two scaling)
//	N   = s·RN(√ssq)
//
// This is the scaling of LAPACK's dnrm2 and Blue's algorithm reduced to one power-of-two scale
// (two passes): the squares lie in [0, 1) and the sum in [1/4, n), so nothing overflows where
// the norm does not, while the naive RN(Σ RN(x_i²)) in fp16 is +Inf as soon as one |x_i| ≥ 256.
//
// Accuracy: n squares and n − 1 additions give ŝsq = ssq·(1 + θ), |θ| ≤ γ_n = nu/(1 − nu)
// (u = 2^−p, recursive summation of nonnegative terms, Higham, Accuracy and Stability of
// Numerical Algorithms, §4.2), the square root adds one rounding, the final scaling is exact;
// so |N̂ − N| ≤ (n/2 + 1)·u·N + O(u²), that is at most n/2 + 1 ulps of f (ulp(N) > u·N), plus
// the absolute error of elements whose scaled square falls below f's subnormal range (each
// below 2^(e_min − p)·s², relative to ssq ≥ 1/4).
//
// Special cases are:
//
//	any NaN: NaN
//	any ±Inf, no NaN: +Inf
//	no element, or all ±0: +0
//	the scaled result beyond f's maximum: +Inf
//
// It returns an error for an invalid format or an element that is not a value of f.
func Norm2(f fp.Format, xs []float64) (float64, error) {
	if !f.Valid() {
		return 0, fmt.Errorf("training: Norm2: invalid format %v", f)
	}
	m, inf := 0.0, false
	for i, x := range xs {
		if !f.Contains(x) {
			return 0, fmt.Errorf("training: Norm2: element %d (%v) is not a value of %v", i, x, f)
		}
		switch {
		case math.IsNaN(x):
			return math.NaN(), nil
		case math.IsInf(x, 0):
			inf = true
		default:
			m = max(m, math.Abs(x))
		}
	}
	if inf {
		return math.Inf(1), nil
	}
	if m == 0 {
		return 0, nil
	}
	_, e := math.Frexp(m) // m = fr·2^e, fr ∈ [1/2, 1): m < 2^e ≤ 2m
	rn := func(v float64) float64 { r, _ := f.RoundFloat64(v); return r }
	var ssq float64
	for _, x := range xs {
		t := rn(math.Ldexp(x, -e))
		ssq = rn(ssq + rn(t*t))
	}
	return rn(math.Ldexp(rn(math.Sqrt(ssq)), e)), nil
}

// NaiveNorm2 returns RN(√(Σ RN(x_i²))) summed left to right in f: the norm a plain
// sum-of-squares loop computes, +Inf in fp16 once one |x_i| ≥ 256 (256² > 65504). The
// demonstration logs it next to Norm2 to show what an unscaled norm would have reported.
func NaiveNorm2(f fp.Format, xs []float64) float64 {
	rn := func(v float64) float64 { r, _ := f.RoundFloat64(v); return r }
	var ssq float64
	for _, x := range xs {
		ssq = rn(ssq + rn(x*x))
	}
	return rn(math.Sqrt(ssq))
}

// ClipCoef returns clip_grad_norm_'s coefficient min(1, maxNorm/(norm + 1e-6)) in f's
// arithmetic (PyTorch computes it in the dtype of the total norm, each operation rounded once):
// RN(maxNorm/RN(norm + ε)), clamped to 1. Special cases are: norm NaN: NaN; norm +Inf: +0 (maxNorm finite).
func ClipCoef(f fp.Format, norm, maxNorm float64) float64 {
	rn := func(v float64) float64 { r, _ := f.RoundFloat64(v); return r }
	c := rn(maxNorm / rn(norm+ClipEps))
	if math.IsNaN(c) {
		return c
	}
	return min(1, c)
}
