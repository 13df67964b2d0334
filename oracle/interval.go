// This file implements closed intervals of big.Float values with outward (directed) rounding: the
// enclosures that every slow-path result is computed as, so that an error bound is never an
// estimate but a proven containment.

package oracle

import "math/big"

const (
	down = big.ToNegativeInf
	up   = big.ToPositiveInf
)

// ival is the closed interval [lo, hi] that contains an exact real. Both ends are finite. pos
// (neg) records that the exact value is known to be strictly positive (negative) even when lo
// (hi) is 0: a softmax value far below every format's range, for instance. Intervals are
// immutable: every operation returns new Floats, so ends may be shared.
type ival struct {
	lo, hi   *big.Float
	pos, neg bool
}

// sign returns the strict sign of the exact value when it is known, else 0.
func (a ival) sign() int {
	switch {
	case a.pos || a.lo.Sign() > 0:
		return 1
	case a.neg || a.hi.Sign() < 0:
		return -1
	}
	return 0
}

// withSign returns a with its pos/neg flags set from the strict sign s (±1 or 0).
func withSign(a ival, s int) ival {
	a.pos, a.neg = s > 0, s < 0
	return a
}

// fl returns a new Float with precision w and rounding mode m.
func fl(w uint, m big.RoundingMode) *big.Float {
	return new(big.Float).SetPrec(w).SetMode(m)
}

// point returns the degenerate interval [x, x]; x must be finite.
func point(x float64) ival {
	z := new(big.Float).SetFloat64(x)
	return ival{lo: z, hi: z}
}

// pointF returns [x, x] for a finite big.Float that the caller will not modify.
func pointF(x *big.Float) ival { return ival{lo: x, hi: x} }

// sumSign returns the strict sign of a + b when both signs are known and equal (or one is 0 and
// exact), else 0.
func sumSign(a, b ival) int {
	sa, sb := a.sign(), b.sign()
	if sa == sb {
		return sa
	}
	return 0
}

// ratIval returns an interval of precision w around the rational q (degenerate when q is dyadic
// and fits in w bits).
func ratIval(q *big.Rat, w uint) ival {
	lo := fl(w, down).SetRat(q)
	if lo.Acc() == big.Exact {
		return ival{lo: lo, hi: lo}
	}
	return ival{lo: lo, hi: fl(w, up).SetRat(q)}
}

func ivAdd(a, b ival, w uint) ival {
	return withSign(ival{lo: addDir(a.lo, b.lo, w, down), hi: addDir(a.hi, b.hi, w, up)}, sumSign(a, b))
}

func ivSub(a, b ival, w uint) ival {
	s := 0 // the strict sign of a − b: sumSign(a, ivNeg(b)) without negating b's ends
	if sa := a.sign(); sa == -b.sign() {
		s = sa
	}
	return withSign(ival{lo: subDir(a.lo, b.hi, w, down), hi: subDir(a.hi, b.lo, w, up)}, s)
}

// addDir returns x + y rounded to w bits in direction mode. big.Float aligns its operands by
// shifting to the smaller exponent, which for x ≈ 1 and y ≈ 2^−1000000 builds a million-bit
// integer; when the exponents are more than w+4 apart the smaller operand is below 1/8 of an ulp
// of the larger at w bits, and the result is the larger rounded in direction mode, moved one ulp
// in that direction when the smaller pushes that way (which covers it).
func addDir(x, y *big.Float, w uint, mode big.RoundingMode) *big.Float {
	z := fl(w, mode)
	if x.Sign() == 0 || y.Sign() == 0 || x.IsInf() || y.IsInf() {
		return z.Add(x, y)
	}
	ex, ey := x.MantExp(nil), y.MantExp(nil)
	if ex < ey {
		x, y, ex, ey = y, x, ey, ex
	}
	if int64(ex)-int64(ey) <= int64(w)+4 {
		return z.Add(x, y)
	}
	z.Set(x)
	if (mode == up) == (y.Sign() > 0) {
		ulp := new(big.Float).SetMantExp(big.NewFloat(float64(y.Sign())), z.MantExp(nil)-int(w))
		z.Add(z, ulp)
	}
	return z
}

// subDir returns addDir(x, −y, w, mode), the same Float value, without the copy of y that the
// negation makes where the operands are near (a plain sum, which big.Float's Sub computes as Add
// computes x + (−y)). A zero x goes through the copy: big.Float's Sub(±0, y) is Neg(y), which
// rounds y before it negates it, in the opposite direction under the directed modes (±0 − 7 to
// 2 bits toward −Inf gives −6, accuracy Below) where Add(±0, −y) rounds −y. So does the far
// case, which addDir handles by its exponents.
func subDir(x, y *big.Float, w uint, mode big.RoundingMode) *big.Float {
	if x.Sign() != 0 && y.Sign() != 0 && !x.IsInf() && !y.IsInf() {
		if d := int64(x.MantExp(nil)) - int64(y.MantExp(nil)); -(int64(w)+4) <= d && d <= int64(w)+4 {
			return fl(w, mode).Sub(x, y)
		}
	}
	return addDir(x, new(big.Float).Neg(y), w, mode)
}

// addNear sets z to x + y rounded as z.Add(x, y) rounds it (z's precision, which must be set,
// and mode; the same value and accuracy) and returns z, without the exact sum big.Float forms
// first, whose length is the operands' exponent gap (a million bits for 2 + 2^−1000001).
//
// Proof: let 2^(e−1) ≤ |x| < 2^e be the larger operand. x is a multiple of 2^(e − Prec(x)), and
// every point where rounding to p = z.Prec() bits changes near x — the p-bit values and their
// midpoints in x's binade and in the binades on either side — is a multiple of 2^(e − p − 2).
// With g = min(e − Prec(x), e − p − 2), no such point lies strictly between x and x ± 2^g, so for
// 0 < |t| < 2^g the rounded value of x + t and its direction from the exact sum depend only on
// the sign of t. A smaller operand with |y| < 2^g is therefore replaced by sign(y)·2^(g−1).
func addNear(z, x, y *big.Float) *big.Float {
	if z.Prec() == 0 || x.Sign() == 0 || y.Sign() == 0 || x.IsInf() || y.IsInf() {
		return z.Add(x, y)
	}
	ex, ey := x.MantExp(nil), y.MantExp(nil)
	if ex < ey {
		x, y, ex, ey = y, x, ey, ex
	}
	g := min(int64(ex)-int64(x.Prec()), int64(ex)-int64(z.Prec())-2)
	if int64(ey) > g || g-1 < big.MinExp { // a plain sum, of bounded length (or no stand-in)
		return z.Add(x, y)
	}
	var t big.Float
	t.SetMantExp(t.SetInt64(int64(y.Sign())), int(g-1)) // |y| < 2^ey ≤ 2^g, |t| = 2^(g−1)
	return z.Add(x, &t)
}

func ivNeg(a ival) ival {
	return ival{lo: new(big.Float).Neg(a.hi), hi: new(big.Float).Neg(a.lo), pos: a.neg, neg: a.pos}
}

// ivMul returns an enclosure of a·b.
func ivMul(a, b ival, w uint) ival {
	if a.lo.Sign() >= 0 && b.lo.Sign() >= 0 {
		return withSign(ival{lo: fl(w, down).Mul(a.lo, b.lo), hi: fl(w, up).Mul(a.hi, b.hi)}, a.sign()*b.sign())
	}
	var lo, hi *big.Float
	for _, x := range [2]*big.Float{a.lo, a.hi} {
		for _, y := range [2]*big.Float{b.lo, b.hi} {
			l := fl(w, down).Mul(x, y)
			h := fl(w, up).Mul(x, y)
			if lo == nil || l.Cmp(lo) < 0 {
				lo = l
			}
			if hi == nil || h.Cmp(hi) > 0 {
				hi = h
			}
		}
	}
	return withSign(ival{lo: lo, hi: hi}, a.sign()*b.sign())
}

// mulByOne returns ivMul([1, 1], b, w) without multiplying, and true, where b's ends are
// w-bit Floats and b.lo ≥ 0: ivMul's first branch then rounds 1·b.lo down and 1·b.hi up to w
// bits, which are b's ends themselves (signed zeros included: 1·(−0) = −0), and sets the sign
// flags from 1·b.sign(). It returns false where that does not hold (the caller multiplies).
// The Floats differ only in their accuracy field, which no interval operation reads.
func mulByOne(b ival, w uint) (ival, bool) {
	if b.lo.Sign() < 0 || b.lo.Prec() != w || b.hi.Prec() != w {
		return ival{}, false
	}
	return withSign(ival{lo: b.lo, hi: b.hi}, b.sign()), true
}

// divByOne returns ivDiv(a, [1, 1], w) without dividing, and true, where a's ends are w-bit
// Floats: each quotient x/1 rounded to w bits is x itself (signed zeros included), so the first
// branch (a.lo ≥ 0) returns a's ends, and the general branch's first minimum and first maximum
// over a.lo/1, a.lo/1, a.hi/1, a.hi/1 (strict comparisons, as there) are picked here from the
// same values in the same order. The sign flags are ivDiv's: a.sign() in both branches.
func divByOne(a ival, w uint) (ival, bool) {
	if a.lo.Prec() != w || a.hi.Prec() != w {
		return ival{}, false
	}
	if a.lo.Sign() >= 0 {
		return withSign(ival{lo: a.lo, hi: a.hi}, a.sign()), true
	}
	lo, hi := a.lo, a.lo
	if a.hi.Cmp(lo) < 0 {
		lo = a.hi
	}
	if a.hi.Cmp(hi) > 0 {
		hi = a.hi
	}
	return withSign(ival{lo: lo, hi: hi}, a.sign()), true
}

// ivDiv returns an enclosure of a/b; b must not contain 0.
func ivDiv(a, b ival, w uint) ival {
	if a.lo.Sign() >= 0 && b.lo.Sign() > 0 {
		return withSign(ival{lo: fl(w, down).Quo(a.lo, b.hi), hi: fl(w, up).Quo(a.hi, b.lo)}, a.sign())
	}
	var lo, hi *big.Float
	for _, x := range [2]*big.Float{a.lo, a.hi} {
		for _, y := range [2]*big.Float{b.lo, b.hi} {
			l := fl(w, down).Quo(x, y)
			h := fl(w, up).Quo(x, y)
			if lo == nil || l.Cmp(lo) < 0 {
				lo = l
			}
			if hi == nil || h.Cmp(hi) > 0 {
				hi = h
			}
		}
	}
	return withSign(ival{lo: lo, hi: hi}, a.sign()*b.sign())
}

// mid returns the midpoint of a and an upper bound on its distance to any point of a.
func (a ival) mid() (m, rad *big.Float) {
	if a.lo == a.hi || a.lo.Cmp(a.hi) == 0 {
		return a.lo, new(big.Float)
	}
	w := max(a.lo.Prec(), a.hi.Prec()) + 2
	m = new(big.Float).SetPrec(w).Add(a.lo, a.hi)
	m.SetMantExp(m, -1)
	d1 := fl(64, up).Sub(a.hi, m)
	d2 := fl(64, up).Sub(m, a.lo)
	if d1.Cmp(d2) < 0 {
		d1 = d2
	}
	return m, d1
}
