// This file implements the float64 fast path of a row: the shifted exponentials, their sum and
// its log1p, each with a rigorous running error bound, so that most fp16, bf16, fp32 and fp8
// results are decided without big arithmetic (NUMERICS §7).
//
// Error model (u = 2^−53, every bound below is proven from it and stated where it is used):
//   - +, −, ×, / are IEEE 754 binary64 operations, correctly rounded: relative error ≤ u on
//     normal results. The fast path only accepts results that are normal float64s, and drops
//     only exponentials below e^−600 (≈ 2^−866), so underflow never enters a kept quantity.
//   - math.Exp and math.Log1p are not correctly rounded. Go documents both as "less than 1 ulp";
//     we assume 2 ulps, i.e. a relative error ≤ 2^−51, a factor 2 of margin over the documented
//     bound (about 1 in 7 random math.Exp results is 1 ulp off, NUMERICS §7).
//   - x_i − m is not exact in float64 for wide-range rows: TwoSum gives it exactly as dh + dl,
//     and e^(dh+dl) = e^dh·(1 + dl + θ) with |θ| ≤ dl² ≤ 2^−80 for |dh| ≤ 600.

package oracle

import "math"

const (
	u53 = 0x1p-53
	// epsT bounds the relative error of t = e + e·dl against e^(x−m): 2^−51 (math.Exp) + u (the
	// product, relative to t) + u (the sum) + 2^−80 (θ) ≤ 2^−50.
	epsT = 0x1p-50
	// epsSum is Neumaier's compensated summation bound 2u + 4n·u² for n ≤ 2^32 terms of one sign
	// (Higham, Accuracy and Stability of Numerical Algorithms, 2nd ed., §4.3), rounded up.
	epsSum = 0x1p-52 + 0x1p-70
	// dropBelow: exponentials e^d with d < dropBelow are left out of the float64 sum; each is below
	// 2^−865, and their total is accounted as the absolute error n·2^−860.
	dropBelow = -600
	// farBelow: an exponential e^d with fl(d) < farBelow is below e^−746.9 < 2^−1077, so a
	// softmax output t/S ≤ e^d (S ≥ 1) rounds to +0 in float64 and in every format of at most 24
	// significant bits (their smallest subnormal is at least 2^−149), with the underflow flag.
	farBelow = -747
	// grow covers the rounding of the error-bound arithmetic itself (a few operations, each with
	// relative error ≤ u) and the second-order terms of the bounds.
	grow = 1 + 0x1p-40
)

// twoSum returns s + e = a + b exactly with s = fl(a + b) (Knuth), for finite a, b whose sum
// does not overflow.
func twoSum(a, b float64) (s, e float64) {
	s = a + b
	bb := s - a
	e = (a - (s - bb)) + (b - bb)
	return
}

// fastRow is the float64 evaluation of a row with finite entries (no NaN, no +Inf).
type fastRow struct {
	m     float64
	s, e  float64 // s = Σ_{i≠argmax} t_i and its absolute error bound
	L, eL float64 // log1p(s) and its absolute error bound
}

// fastSum sets t_i = e^(x_i − m) for every entry (1 at the first maximum, 0 at −Inf entries,
// −1 at entries dropped from the sum, which the caller must decide on the slow path) and returns
// s = Σ_{i≠argmax} t_i and log1p(s) with their error bounds; ok is false when s is not finite.
func fastSum(x []float64, ri rowInfo, t []float64) (fr fastRow, ok bool) {
	m := ri.m
	var sum, comp float64
	n := 0
	for i, xi := range x {
		if i == ri.argmax {
			t[i] = 1
			continue
		}
		if xi < -math.MaxFloat64 { // −Inf: weight 0
			t[i] = 0
			continue
		}
		dh, dl := twoSum(xi, -m)
		if !(dh >= dropBelow) { // also catches dh = −Inf from an overflowing difference
			t[i] = -1
			n++
			continue
		}
		e := math.Exp(dh)
		ti := e + e*dl
		t[i] = ti
		// Neumaier's summation.
		s := sum + ti
		if math.Abs(sum) >= math.Abs(ti) {
			comp += (sum - s) + ti
		} else {
			comp += (ti - s) + sum
		}
		sum = s
		n++
	}
	s := sum + comp
	fr.m = m
	fr.s = s
	// |s − Σ exact| ≤ (epsT + epsSum)·s (every kept term has relative error ≤ epsT and they are
	// positive) + n·2^−860 (the dropped terms).
	fr.e = (s*(epsT+epsSum) + float64(n)*0x1p-860) * grow
	fr.L = math.Log1p(s)
	// |log1p(ŝ) − log1p(s)| ≤ |ŝ − s|/(1 + min(s, ŝ)), plus 2^−51 relative for math.Log1p.
	fr.eL = (fr.L*0x1p-51 + fr.e/(1+s-fr.e)) * grow
	return fr, !math.IsInf(s, 0)
}
