// This file implements double-double (double-word) arithmetic with proven error bounds: the
// middle tier between the float64 fast path and big.Float. A double-double is an unevaluated
// sum hi + lo of two float64s with |lo| ≤ ½ulp(hi).
//
// Error model (u = 2^−53; every bound is a published theorem or derived here and stated where
// it is used; all quantities stay in float64's normal range, which the callers ensure):
//   - twoSum, fastTwoSum (|a| ≥ |b|) and twoProd (with math.FMA) are error-free: s + e = a + b,
//     p + e = a·b exactly.
//   - ddAdd is Joldes, Muller & Popescu's accurate DWPlusDW (Algorithm 6 of "Tight and rigorous
//     error bounds for basic building blocks of double-word arithmetic", ACM TOMS 44(2), 2017):
//     relative error ≤ 3u² + 13u³ < 2^−103.4 (their Theorem 2.3).
//   - ddMul is their DWTimesDW with FMA (Algorithm 12): relative error ≤ 5u² < 2^−103.6 (their
//     Theorem 5.3; 4u² was proven later, 5u² is what we use).
// Every bound below is rounded up generously: the tier needs only about 2^−60 relative to decide
// what the fast path (2^−50) could not, and it carries 2^−84.

package oracle

import (
	"math"
)

// dd is the double-double hi + lo.
type dd struct{ hi, lo float64 }

// fastTwoSum returns s + e = a + b exactly with s = fl(a + b), for |a| ≥ |b| (Dekker).
func fastTwoSum(a, b float64) (s, e float64) {
	s = a + b
	e = b - (s - a)
	return
}

// twoProd returns p + e = a·b exactly with p = fl(a·b) (FMA; no underflow in the callers).
func twoProd(a, b float64) (p, e float64) {
	p = a * b
	e = math.FMA(a, b, -p)
	return
}

// ddAdd returns x + y with relative error < 2^−103.4 (DWPlusDW, accurate).
func ddAdd(x, y dd) dd {
	sh, sl := twoSum(x.hi, y.hi)
	th, tl := twoSum(x.lo, y.lo)
	c := sl + th
	vh, vl := fastTwoSum(sh, c)
	w := tl + vl
	zh, zl := fastTwoSum(vh, w)
	return dd{zh, zl}
}

// ddMul returns x·y with relative error < 2^−103.6 (DWTimesDW with FMA).
func ddMul(x, y dd) dd {
	ch, cl1 := twoProd(x.hi, y.hi)
	tl0 := x.lo * y.lo
	tl1 := math.FMA(x.hi, y.lo, tl0)
	cl2 := math.FMA(x.lo, y.hi, tl1)
	cl3 := cl1 + cl2
	zh, zl := fastTwoSum(ch, cl3)
	return dd{zh, zl}
}

// ln2 split as L1 + L2 + L3: L1 has at most 42 significant bits (so k·L1 is exact for
// |k| < 2^11), L2 = RN(ln2 − L1), L3 = RN(ln2 − L1 − L2); |ln2 − (L1+L2+L3)| < 2^−150.
// expCoef[j] = 1/j! as a double-double, hi = RN(1/j!), lo = RN(1/j! − hi): relative error
// ≤ 2^−106. Written out, so that a process using the oracle does no big arithmetic at start
// (TestDDConstants derives them again, ln 2 from ln2Ival and 1/j! from big.Rat, and compares);
// variables, not constants, so that no expression with them is evaluated in exact arithmetic.
var (
	ddL1 = 0x1.62e42fefa38p-01
	ddL2 = 0x1.ef35793c7673p-45
	ddL3 = 0x1.f97b57a079a19p-103
)

var expCoef = [ddExpDegree + 1]dd{
	{1, 0},
	{1, 0},
	{0x1p-01, 0},
	{0x1.5555555555555p-03, 0x1.5555555555555p-57},
	{0x1.5555555555555p-05, 0x1.5555555555555p-59},
	{0x1.1111111111111p-07, 0x1.1111111111111p-63},
	{0x1.6c16c16c16c17p-10, -0x1.f49f49f49f49fp-65},
	{0x1.a01a01a01a01ap-13, 0x1.a01a01a01a01ap-73},
	{0x1.a01a01a01a01ap-16, 0x1.a01a01a01a01ap-76},
	{0x1.71de3a556c734p-19, -0x1.c154f8ddc6cp-73},
}

// ddExpDegree and ddExpK: e^r = (e^(r/2^K))^(2^K), the inner exponential a Taylor polynomial of
// degree ddExpDegree at |r/2^K| ≤ 0.35/256 < 2^−9.5, whose tail is below
// (2^−9.5)^10/10! < 2^−116.
const (
	ddExpDegree = 9
	ddExpK      = 8
)

// epsExpDD bounds the relative error of ddExp: 2^−89.9 from the polynomial and the squarings,
// 2^−103 from the reduced argument (an absolute error δ in r is a relative error ≈ δ in e^r),
// rounded up to 2^−86.
const epsExpDD = 0x1p-86

// ddExp returns e^(dh+dl) as a double-double with relative error < epsExpDD, for
// −600 ≤ dh ≤ 0 and |dl| ≤ ½ulp(dh) (the exact difference x − m as twoSum gives it).
//
// Method and bound (derived): k = round(dh/ln2) (|k| ≤ 866), r = d − k·ln2 formed as
// twoSum(dh, −k·L1) (exact: k·L1 is exact) plus the exact twoProd(−k, L2), dl and −k·L3 by three
// ddAdd: |r| < 0.35, each addition's error < 2^−103.4·0.4, fl(k·L3) off by < 2^−147 and
// |k|·|ln2 − L| < 2^−139, so |δr| < 2^−103. The polynomial P = Σ_{j≤9} r'^j/j! at r' = r/2^8
// (exact scaling) by Horner with ddMul and ddAdd: nine steps, each adding < 2^−103.4 + 2^−103.6
// relative on values below 1.002, the earlier errors shrunk by |r'| < 2^−9.5 at every step, the
// coefficients' 2^−106 and the tail 2^−116: ε₀ < 2^−98.9. Eight squarings by ddMul:
// ε_{i+1} ≤ 2ε_i + ε_i² + 2^−103.6(1 + ε_i), so ε₈ < 2^8·ε₀ + 2^8·2^−103.6 < 2^−90.8 + 2^−95.6 <
// 2^−90.5. Finally ×2^k is exact: e^dh ≥ e^−600 > 2^−866 and lo ≥ 2^−920 stay normal.
func ddExp(dh, dl float64) dd {
	k := math.RoundToEven(dh * (1 / math.Ln2))
	ah, al := twoSum(dh, -k*ddL1)
	ph, pl := twoProd(-k, ddL2)
	r := ddAdd(dd{ah, al}, dd{ph, pl})
	r = ddAdd(r, dd{dl, 0})
	r = ddAdd(r, dd{-k * ddL3, 0})
	r = dd{r.hi * 0x1p-8, r.lo * 0x1p-8}
	p := expCoef[ddExpDegree]
	for j := ddExpDegree - 1; j >= 0; j-- {
		p = ddAdd(ddMul(p, r), expCoef[j])
	}
	for range ddExpK {
		p = ddMul(p, p)
	}
	s := math.Float64frombits(uint64(1023+int(k)) << 52) // 2^k, normal for |k| ≤ 866
	return dd{p.hi * s, p.lo * s}
}
