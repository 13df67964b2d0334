// This file implements the error measures of NUMERICS §2: the ulp of a real, the ulp error of a
// computed value against an exact real, and the integer ulp distance between two format values.

package fp

import (
	"math"
	"math/big"
	"sync"
)

// UlpExp returns the exponent of Ulp(y): max(e, e_min) − p + 1 where 2^e ≤ |y| < 2^(e+1), and
// e_min − p + 1 for y = 0. y must be finite. Beyond the largest finite value the formula goes on
// as if the exponent range were unbounded.
func (f Format) UlpExp(y *big.Float) int {
	s := f.s()
	if y.Sign() == 0 {
		return s.emin - s.p + 1
	}
	e := y.MantExp(nil) - 1
	return max(e, s.emin) - s.p + 1
}

// Ulp returns ulp(y) in f (Goldberg's definition, extended to reals as in Muller et al.,
// Handbook of Floating-Point Arithmetic): 2^(max(e, e_min) − p + 1) where 2^e ≤ |y| < 2^(e+1).
//
// Special cases are:
//
//	Ulp(±0) = MinSubnormal
//	Ulp(±Inf) = +Inf
//	Ulp(NaN) = NaN
func (f Format) Ulp(y float64) float64 {
	switch {
	case math.IsNaN(y):
		return y
	case math.IsInf(y, 0):
		return math.Inf(1)
	}
	return scale2(1, f.ulpExp64(y))
}

// ulpExp64 is UlpExp for a finite float64, without big arithmetic.
func (f Format) ulpExp64(y float64) int {
	s := f.s()
	if y == 0 {
		return s.emin - s.p + 1
	}
	return max(binade(y), s.emin) - s.p + 1
}

// UlpError returns |got − exact| / Ulp(exact), with a relative error of at most 2^−52 in the
// result (the difference is rounded once to 64 bits, the quotient is exact, then it is rounded to
// float64). exact is the exact real; nil means NaN. A caller
// that holds exact only to within a relative error δ gets the error to within about δ·2^p ulps.
//
// Special cases are:
//
//	UlpError(NaN, nil) = 0 (any NaN matches any NaN)
//	UlpError(x, nil) = +Inf for x not NaN; UlpError(NaN, y) = +Inf for y not nil
//	UlpError(±Inf, y) = 0 if y is the same infinity or rounds to it in f, +Inf otherwise
//	UlpError(x, ±Inf) = +Inf for finite x
//	UlpError(±0, ∓0) = 0
//
// When the exact value is finite but overflows f, a finite got is measured with the ulp of the
// unbounded-exponent continuation of f, so a saturating kernel's ±max is a finite error.
func (f Format) UlpError(got float64, exact *big.Float) float64 {
	switch {
	case exact == nil:
		if math.IsNaN(got) {
			return 0
		}
		return math.Inf(1)
	case math.IsNaN(got):
		return math.Inf(1)
	case math.IsInf(got, 0):
		r, _ := f.Round(exact)
		if r == got {
			return 0
		}
		return math.Inf(1)
	case exact.IsInf():
		return math.Inf(1)
	}
	// big.Float's Sub is correctly rounded whatever the exponent gap, so 64 bits give the
	// difference to a relative 2^−64.
	s := ulpScratch.Get().(*ulpScratchFloats)
	defer ulpScratch.Put(s)
	g, d := &s.g, &s.d
	g.SetFloat64(got)
	d.SetPrec(64).SetMode(big.ToNearestEven).Sub(g, exact)
	d.Abs(d)
	d.SetMantExp(d, -f.UlpExp(exact))
	return Float64Of(d, &s.r)
}

// ulpScratch holds UlpError's big.Floats between calls, so that their mantissas are allocated
// once per goroutine's use rather than once per call.
var ulpScratch = sync.Pool{New: func() any { return new(ulpScratchFloats) }}

type ulpScratchFloats struct{ g, d, r big.Float }

// Float64Of returns x.Float64()'s value. Float64 rounds a new copy of x's mantissa; in float64's
// normal range Float64Of rounds x to 53 bits (to nearest even, as Float64 does) into scratch,
// whose storage a caller that keeps it reuses, and reads the 53-bit integer off it: both exact.
// Elsewhere it calls Float64. scratch must not be x; its value is overwritten.
func Float64Of(x, scratch *big.Float) float64 {
	if x.Sign() != 0 && !x.IsInf() {
		// 2^(e−1) ≤ |x| < 2^e; rounded, 2^−1022 ≤ |x| ≤ 2^1023, or 2^1024 (±Inf from Ldexp,
		// as from Float64).
		if e := x.MantExp(nil); -1021 <= e && e <= 1023 {
			scratch.SetPrec(53).SetMode(big.ToNearestEven).Set(x)
			es := scratch.MantExp(nil)
			i, _ := scratch.SetMantExp(scratch, 53-es).Int64()
			return math.Ldexp(float64(i), es-53)
		}
	}
	v, _ := x.Float64()
	return v
}

// UlpDistance returns the number of values of f between a and b, counting one end: 0 when a == b
// (±0 are equal), 1 for neighbours. a and b must be values of f.
//
// Special cases are:
//
//	UlpDistance(NaN, NaN) = 0
//	UlpDistance(NaN, x) = UlpDistance(x, NaN) = math.MaxInt64 for x not NaN
//	UlpDistance(+Inf, MaxFinite) = 1
func (f Format) UlpDistance(a, b float64) int64 {
	an, bn := math.IsNaN(a), math.IsNaN(b)
	switch {
	case an && bn:
		return 0
	case an || bn:
		return math.MaxInt64
	}
	d := f.order(a) - f.order(b)
	if d < 0 {
		d = -d
	}
	return d
}
