// This file implements the double-double tier of Softmax: the entries that the float64 fast path
// left undecided (their values lie within about 2^−50 relative of a rounding boundary of the
// format) are recomputed in double-double with a relative error bound near 2^−84, which decides
// every one of them that is not within about 2^−52 of a boundary; the rest go on to Ziv's loop
// on big.Float.

package oracle

import (
	"math"
)

// noDD disables the double-double tier (tests compare with and without it).
var noDD bool

// ddSoftmax decides out[i] for the entries i of pending it can and returns the others. x is a
// row with finite entries (no NaN, no +Inf, not all −Inf, not all equal) classified by ri.
//
// Bound (derived): t_j = ddExp(x_j − m) has relative error < ε_t = 2^−86 (dd.go), exactly 1 at
// the first maximum; entries with x_j − m < −600 (each below 2^−865) are left out of S and
// accounted as an absolute error n·2^−860 against S ≥ 1. S = 1 + Σ t_j by ddAdd in index order:
// all terms positive, so each of the n additions adds < 2^−103.4 relative of the partial sum,
// which is ≤ S: ε_S < ε_t + n·2^−103.4 + n·2^−860 (first order). y = t_i/S by q₁ = fl(t_hi/S_hi)
// and the residual ρ = t − q₁S, formed from the exact t_hi − fl(q₁S_hi) (Sterbenz: q₁S_hi is
// within a factor 1 ± 2^−51 of t_hi), the exact low part of q₁S_hi, t_lo and fl(q₁S_lo), every
// one below 2u·t, added in float64 (three additions, error < 3·u·8u·t, and u·2u·t for the
// product), then c = fl(ρ/S_hi), off by < 3u·|ρ|/S < 6u²·y from ρ/S: y' = q₁ + c is within
// < 2^−100·y of t/S. Altogether |y' − y| < (2ε_t + n·2^−103 + n·2^−859 + 2^−100)·y, taken
// with the factor grow; for n ≤ 2^32 that is below 2^−70·y.
//
// The decision (decideDD): with y' = yh + yl normalised (fastTwoSum, so |yl| is at most half
// the float64 spacing on its side of yh) and e < ¼ulp(yh), the exact value lies strictly inside
// (a, b) with a = yh when yl − e > 0, else pred(yh), and b = yh when yl + e < 0, else succ(yh).
func ddSoftmax(fi *fmtInfo, x []float64, ri rowInfo, out []Value, pending []int) []int {
	m := ri.m
	S := dd{1, 0}
	n := 0
	var memo expMemo
	for j, xj := range x {
		if j == ri.argmax || xj < -math.MaxFloat64 {
			continue
		}
		dh, dl := twoSum(xj, -m)
		n++
		if !(dh >= dropBelow) {
			continue
		}
		S = ddAdd(S, memo.exp(xj, dh, dl))
	}
	eps := (2*epsExpDD + float64(n)*0x1p-103 + float64(n)*0x1p-859 + 0x1p-100) * grow
	rest := pending[:0]
	for _, i := range pending {
		dh, dl := twoSum(x[i], -m)
		if !(dh >= dropBelow) {
			rest = append(rest, i)
			continue
		}
		t := memo.exp(x[i], dh, dl)
		if i == ri.argmax {
			t = dd{1, 0}
		}
		q1 := t.hi / S.hi
		ph, pl := twoProd(q1, S.hi)
		rho := (((t.hi - ph) - pl) + t.lo) - q1*S.lo
		c := rho / S.hi
		yh, yl := fastTwoSum(q1, c)
		e := yh * eps
		if v, ok := fi.decideDD(yh, yl, e); ok {
			out[i] = v
		} else {
			rest = append(rest, i)
		}
	}
	return rest
}

// expMemo remembers ddExp(x − m) for the last logits x of one row (m fixed) in a small
// direct-mapped table: long rows repeat a few values (the generators build them from templates of
// at most 16), and the tier evaluates the exponential of every entry for the sum and again for
// each pending one. ddExp is a function of x's bits for a fixed m, so the results are those of
// calling it every time.
type expMemo struct {
	used uint32
	key  [32]uint64
	val  [32]dd
}

func (c *expMemo) exp(x, dh, dl float64) dd {
	b := math.Float64bits(x)
	h := (b * 0x9e3779b97f4a7c15) >> 59
	if c.used&(1<<h) != 0 && c.key[h] == b {
		return c.val[h]
	}
	v := ddExp(dh, dl)
	c.used |= 1 << h
	c.key[h], c.val[h] = b, v
	return v
}

// ulp64 returns ulp(x) in float64 for a finite float64 x ≥ 2^−960: 2^(e−52), 2^e ≤ x < 2^(e+1).
func ulp64(x float64) float64 {
	return math.Float64frombits((math.Float64bits(x)>>52&0x7ff - 52) << 52)
}

// decideDD is the rounding test on y = yh + yl ± e (yh + yl normalised, e > 0, yh > 0): it
// returns y's Value when the enclosure decides its rounding into the format.
//
// The exact value lies strictly inside (a, b) (see ddSoftmax; it needs e < ¼ulp(yh)), a and b
// one or two float64 steps apart. The values of the format and the midpoints between them (the
// "grid": at most 25 significant bits, all float64s) are the only points where rounding changes,
// the smallest normal and the overflow threshold among them. So every real in (a, b) rounds as
// a' = succ(a) when a is on the grid (else a') and as b' = pred(b) when b is on the grid (else b),
// and decide64(a', b') — which succeeds only when a' and b' round alike, in one binade, on one
// side of the smallest normal — decides y. The value is never a member of the format (a
// non-constant row's softmax is transcendental, NUMERICS §6), so the flag is never Exact.
func (fi *fmtInfo) decideDD(yh, yl, e float64) (Value, bool) {
	if !(yh >= 0x1p-960) || math.IsInf(yh, 0) || !(e < ulp64(yh)/4) {
		return Value{}, false
	}
	a, b := yh, yh
	if !(yl-e > 0) {
		a = math.Nextafter(yh, 0)
	}
	if !(yl+e < 0) {
		b = math.Nextafter(yh, math.Inf(1))
	}
	if fi.onGrid(a) {
		a = math.Nextafter(a, math.Inf(1))
	}
	if fi.onGrid(b) {
		b = math.Nextafter(b, 0)
	}
	if a > b {
		return Value{}, false
	}
	r, flag, ok := fi.decide64(a, b)
	if !ok {
		return Value{}, false
	}
	return Value{Format: fi.f, Rounded: r, Flag: flag, kind: kindF64, a64: yh}, true
}

// onGrid reports whether the positive normal float64 z is a value of the format or a midpoint
// between two of them (with unbounded exponent range above, so that the overflow threshold
// counts): z is a multiple of half its ulp in the format.
func (fi *fmtInfo) onGrid(z float64) bool {
	q := fi.ulpExp64(z) - 1
	w := z * math.Float64frombits(uint64(1023-q)<<52) // exact: z·2^−q, in float64's normal range
	return w == math.Floor(w)
}
