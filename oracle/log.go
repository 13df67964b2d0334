// This file implements the natural logarithm on big.Float with a proven error bound: reduction
// to a mantissa in [1/√2, √2), the series 2·atanh((m−1)/(m+1)) with directed rounding and a
// bounded tail, plus e·ln 2 from the cached enclosure (NUMERICS §7).

package oracle

import (
	"errors"
	"math/big"
)

// sqrtHalf is a 64-bit value just above 1/√2; any split point near 1/√2 keeps |s| ≤ 0.1716.
var sqrtHalf = big.NewFloat(0.7071067811865476)

// logDir returns a lower (upward false) or upper (upward true) bound of log(x) with about w
// correct bits, for finite x > 0.
func logDir(x *big.Float, w uint, upward bool) *big.Float {
	mode := down
	if upward {
		mode = up
	}
	m := new(big.Float)
	e := x.MantExp(m) // x = m·2^e, m in [1/2, 1)
	if m.Cmp(sqrtHalf) < 0 {
		m.SetMantExp(m, 1)
		e--
	}
	if e == 0 && m.Cmp(big.NewFloat(1)) == 0 {
		return new(big.Float)
	}
	ebits := uint(0)
	for v := e; v != 0; v /= 2 {
		ebits++
	}
	wi := w + 16 + ebits
	// s = (m−1)/(m+1), the subtraction and addition exact, the quotient directed (s is
	// increasing in m and atanh is increasing, so the direction carries through).
	one := big.NewFloat(1)
	num := new(big.Float).SetPrec(m.Prec()+2).Sub(m, one)
	den := new(big.Float).SetPrec(m.Prec()+2).Add(m, one)
	s := fl(wi, mode).Quo(num, den)
	var a *big.Float
	if s.Sign() >= 0 {
		a = atanhSeries(s, wi, upward)
	} else {
		a = atanhSeries(new(big.Float).Neg(s), wi, !upward)
		a.Neg(a)
	}
	a.SetMantExp(a, 1) // log m = 2·atanh(s), exact scaling
	if e == 0 {
		return a
	}
	L := ln2Ival(wi + 8)
	ef := new(big.Float).SetInt64(int64(e))
	var el *big.Float
	switch {
	case (e > 0) == !upward:
		el = fl(wi+8, mode).Mul(ef, L.lo)
	default:
		el = fl(wi+8, mode).Mul(ef, L.hi)
	}
	return fl(wi, mode).Add(el, a)
}

// atanhSeries returns a directed bound of atanh(s) = Σ s^(2k+1)/(2k+1) for 0 ≤ s ≤ 0.18: every
// term is positive, so rounding each operation in one direction bounds the partial sum; the
// upper bound adds 2·s^(2K+3), which exceeds the tail s^(2K+3)/(1−s²).
func atanhSeries(s *big.Float, w uint, upward bool) *big.Float {
	mode := down
	if upward {
		mode = up
	}
	s2 := fl(w, mode).Mul(s, s)
	pw := fl(w, mode).Set(s)
	sum := fl(w, mode).Set(s)
	term := fl(w, mode)
	var kf big.Float
	for k := int64(1); ; k++ {
		pw.Mul(pw, s2)
		if pw.Sign() == 0 || pw.MantExp(nil) < -int(w)-4 {
			break
		}
		term.Quo(pw, kf.SetInt64(2*k+1))
		addNear(sum, sum, term)
	}
	if upward {
		pw.SetMantExp(pw, 1)
		addNear(sum, sum, pw) // pw may lie a million bits below sum (s ≈ 2^−1000001)
	}
	return sum
}

// logIval returns an enclosure of log over the interval a (a.lo > 0).
func logIval(a ival, w uint) ival {
	return ival{lo: logDir(a.lo, w, false), hi: logDir(a.hi, w, true)}
}

// log1pIval returns an enclosure of log(1 + s) over the interval s ≥ 0 that keeps its relative
// accuracy for tiny s: log1p(s) = 2·atanh(s/(2+s)), increasing in s, for s ≤ 1/4 (then
// s/(2+s) ≤ 1/9, inside atanhSeries' range); log(1 + s) otherwise.
func log1pIval(s ival, w uint) ival {
	if s.hi.Cmp(big.NewFloat(0.25)) > 0 {
		one := point(1)
		return logIval(ivAdd(one, s, w+8), w)
	}
	two := big.NewFloat(2)
	dir := func(x *big.Float, upward bool) *big.Float {
		if x.Sign() == 0 {
			return new(big.Float)
		}
		mode, other := down, up
		if upward {
			mode, other = up, down
		}
		v := fl(w+8, mode).Quo(x, addNear(fl(w+8, other), two, x))
		a := atanhSeries(v, w+8, upward)
		return a.SetMantExp(a, 1)
	}
	return ival{lo: dir(s.lo, false), hi: dir(s.hi, true), pos: s.pos || s.lo.Sign() > 0}
}

// errLogNegative is returned by Log for a negative argument.
var errLogNegative = errors.New("oracle: Log of a negative number")

// Log sets z to log(x), the natural logarithm, rounded to nearest at precision prec (z may be nil:
// a new Float is allocated) and returns z and an upper bound on the absolute error
// |z − log(x)|, as a 64-bit Float; the bound is 0 only when the result is exact. The method is
// NUMERICS §7: x = m·2^e with m in [1/√2, √2), log x = e·ln 2 + 2·atanh((m−1)/(m+1)), evaluated
// as an interval with directed rounding at precision prec+32 or more, so the bound is proven; it
// is normally below 2^−prec·max(|log x|, 2^−prec).
//
// Special cases are:
//
//	Log(+Inf) = +Inf (exact)
//	Log(±0) = −Inf (exact)
//	Log(1) = 0 (exact)
//	Log(x < 0) = error (z is returned unchanged)
func Log(z, x *big.Float, prec uint) (*big.Float, *big.Float, error) {
	if z == nil {
		z = new(big.Float)
	}
	if x.Sign() < 0 {
		return z, nil, errLogNegative
	}
	if prec == 0 {
		prec = 64
	}
	z.SetPrec(prec).SetMode(big.ToNearestEven)
	switch {
	case x.IsInf():
		return z.SetInf(false), new(big.Float), nil
	case x.Sign() == 0:
		return z.SetInf(true), new(big.Float), nil
	}
	iv := logIval(pointF(x), prec+32)
	z, b := roundIval(z, iv)
	return z, b, nil
}
