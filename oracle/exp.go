// This file implements the exponential on big.Float with a proven error bound: argument
// reduction by a cached enclosure of ln 2, a Taylor series with a bounded tail evaluated with
// directed rounding, and repeated squaring (NUMERICS §7; MPFR's doc/algorithms.tex).

package oracle

import (
	"math"
	"math/big"
	"sync"
)

// ln2Cache holds enclosures of ln 2 by precision (a multiple of 64 bits).
var ln2Cache struct {
	sync.Mutex
	m map[uint]ival
}

// ln2Ival returns an interval of precision at least w that contains ln 2, from
// ln 2 = 2·atanh(1/3) = Σ_{k≥0} 2/((2k+1)·3^(2k+1)): the partial sum rounded down is a lower
// bound (every term is positive), the partial sum rounded up plus the last term (which exceeds
// the tail: each term is less than 1/9 of the previous one) an upper bound.
func ln2Ival(w uint) ival {
	w = (w + 63) &^ 63
	ln2Cache.Lock()
	defer ln2Cache.Unlock()
	if v, ok := ln2Cache.m[w]; ok {
		return v
	}
	wp := w + 16
	lo, hi := fl(wp, down), fl(wp, up)
	pow := big.NewInt(3)
	nine := big.NewInt(9)
	var den big.Int
	var termLo, termHi, df big.Float
	two := big.NewFloat(2)
	for k := int64(0); ; k++ {
		den.Mul(pow, big.NewInt(2*k+1))
		df.SetPrec(uint(den.BitLen()) + 1).SetInt(&den)
		termLo.SetPrec(wp).SetMode(down).Quo(two, &df)
		termHi.SetPrec(wp).SetMode(up).Quo(two, &df)
		lo.Add(lo, &termLo)
		hi.Add(hi, &termHi)
		if termHi.MantExp(nil) < -int(wp)-2 {
			hi.Add(hi, &termHi)
			break
		}
		pow.Mul(pow, nine)
	}
	v := ival{lo: lo, hi: hi}
	if ln2Cache.m == nil {
		ln2Cache.m = make(map[uint]ival)
	}
	ln2Cache.m[w] = v
	return v
}

// expThreshold: below −expThreshold, exp(x) < 2^−1000000 and is carried as the enclosure
// [0, 2^−1000000], far below every format's smallest subnormal.
const expThreshold = 1e6

// expDir returns a lower (upward false) or upper (upward true) bound of exp(x) with about w
// correct bits, for finite x with x ≤ expThreshold·1000.
func expDir(x *big.Float, w uint, upward bool) *big.Float {
	if x.Sign() == 0 {
		return big.NewFloat(1)
	}
	xf, _ := x.Float64()
	if xf < -expThreshold {
		if upward {
			return new(big.Float).SetMantExp(big.NewFloat(1), -1000000)
		}
		return new(big.Float)
	}
	mode := down
	if upward {
		mode = up
	}
	// K squarings amplify the relative error by 2^K; the series at argument ≤ 2^-K converges in
	// about w/K terms (MPFR's choice K ≈ √(w/2)).
	K := max(int(math.Sqrt(float64(w)/2)), 2)
	k := math.Round(xf / math.Ln2)
	kbits := uint(0)
	if k != 0 {
		_, e := math.Frexp(math.Abs(k))
		kbits = uint(e)
	}
	wi := w + uint(K) + 16
	// r = x − k·ln2, enclosed: kl = [k·ln2]_lo/hi.
	L := ln2Ival(wi + kbits + 8)
	wr := wi + kbits + 8
	kf := new(big.Float).SetFloat64(k)
	var klLo, klHi *big.Float
	if k >= 0 {
		klLo = fl(wr, down).Mul(kf, L.lo)
		klHi = fl(wr, up).Mul(kf, L.hi)
	} else {
		klLo = fl(wr, down).Mul(kf, L.hi)
		klHi = fl(wr, up).Mul(kf, L.lo)
	}
	var r *big.Float
	if upward {
		r = fl(wr, up).Sub(x, klLo)
	} else {
		r = fl(wr, down).Sub(x, klHi)
	}
	var e *big.Float
	if r.Sign() >= 0 {
		e = expTaylor(r, wi, K, upward)
	} else {
		// exp(r) = 1/exp(−r): a lower bound of exp(r) is 1 over an upper bound of exp(−r).
		d := expTaylor(new(big.Float).Neg(r), wi, K, !upward)
		e = fl(wi, mode).Quo(big.NewFloat(1), d)
	}
	return e.SetMantExp(e, int(k))
}

// expTaylor returns a directed bound of exp(t) for 0 ≤ t ≤ 1: t' = t/2^K (rounded in the
// direction of the bound; exp is increasing), the Taylor series of exp(t') with every operation
// rounded in that direction (all terms are positive), for the upper bound plus the last term,
// which exceeds the tail since t' ≤ 1/2, then K squarings rounded in the same direction.
func expTaylor(t *big.Float, w uint, K int, upward bool) *big.Float {
	mode := down
	if upward {
		mode = up
	}
	tp := fl(w, mode).SetMantExp(t, -K)
	// big.Float allocates when the result aliases an operand; a, b (and c, d) alternate instead.
	a, b := fl(w, mode).SetInt64(1), fl(w, mode) // the sum
	c, d := fl(w, mode).SetInt64(1), fl(w, mode) // the term
	var jf big.Float
	for j := int64(1); ; j++ {
		d.Mul(c, tp)
		c.Quo(d, jf.SetInt64(j))
		addNear(b, a, c)
		a, b = b, a
		if c.Sign() == 0 || c.MantExp(nil) < -int(w)-2 {
			break
		}
	}
	if upward {
		b.Add(a, c)
		a, b = b, a
	}
	for range K {
		b.Mul(a, a)
		a, b = b, a
	}
	return a
}

// expIval returns an enclosure of exp over the interval a.
func expIval(a ival, w uint) ival {
	lo := expDir(a.lo, w, false)
	hi := expDir(a.hi, w, true)
	return ival{lo: lo, hi: hi, pos: true}
}

// Exp sets z to exp(x) rounded to nearest at precision prec (z may be nil: a new Float is
// allocated) and returns z and an upper bound on the absolute error |z − exp(x)|, as a 64-bit
// Float. The bound is 0 only when the result is exact. The method is NUMERICS §7: an argument
// reduction by an enclosure of ln 2, a Taylor series with directed rounding and a bounded tail,
// and √(prec/2) squarings, all evaluated as an interval at precision prec+32 or more, so that
// the bound is proven, not estimated; it is normally below 2^−prec·exp(x).
//
// Special cases are:
//
//	Exp(±0) = 1 (exact)
//	Exp(+Inf) = +Inf (exact)
//	Exp(−Inf) = 0 (exact)
//	Exp(x) = +Inf with bound +Inf for x > 10^9 (beyond big.Float's exponent range)
//	Exp(x) = 0 with bound 2^−1000000 for x < −10^6
func Exp(z, x *big.Float, prec uint) (*big.Float, *big.Float) {
	if z == nil {
		z = new(big.Float)
	}
	if prec == 0 {
		prec = 64
	}
	z.SetPrec(prec).SetMode(big.ToNearestEven)
	switch {
	case x.IsInf() && x.Sign() > 0:
		return z.SetInf(false), new(big.Float)
	case x.IsInf():
		return z.SetInt64(0), new(big.Float)
	case x.Sign() == 0:
		return z.SetInt64(1), new(big.Float)
	}
	if xf, _ := x.Float64(); xf > 1e9 {
		return z.SetInf(false), new(big.Float).SetInf(false)
	}
	iv := expIval(pointF(x), prec+32)
	return roundIval(z, iv)
}

// roundIval sets z (with its precision) to the midpoint of iv rounded to nearest and returns z
// and an upper bound on the distance from z to every point of iv.
func roundIval(z *big.Float, iv ival) (*big.Float, *big.Float) {
	m, rad := iv.mid()
	z.Set(m)
	d := fl(64, up).Sub(z, m)
	d.Abs(d)
	return z, d.Add(d, rad)
}
