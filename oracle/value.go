// This file implements Value, one correctly rounded output element together with an
// approximation of the exact real that is good to 2^−20 ulp.

package oracle

import (
	"errors"
	"math"
	"math/big"
	"sync"

	"github.com/ulpcheck/ulpcheck/fp"
)

// ErrPrecisionCap is wrapped by the error returned when the Ziv loop reaches its precision cap
// (MaxPrecision bits) without deciding a rounding. It means an exact or midpoint case that the
// oracle did not detect (NUMERICS §6): a harness error, never a guess.
var ErrPrecisionCap = errors.New("oracle: precision cap reached (undetected exact case?)")

// kinds of the approximation a Value carries.
const (
	kindNaN      = iota // the exact value is NaN (the zero Value)
	kindF64             // a64 holds the approximation
	kindBig             // approx holds the approximation
	kindExp2            // the approximation is a64·2^e2, far below float64's range: Exact builds it
	kindOneMinus        // the approximation is 1 − a64 rounded toward zero to 64 bits: Exact builds it
)

// Value is one output element: its correctly rounded value in the output format and enough of
// the exact real to measure a kernel's ulp error to within 1/1000 ulp.
//
// The approximation it carries (Exact) is within 2^−21·ulp(exact) of the exact value, which is a
// relative error of at most 2^−(p+20) for results in the normal range, and it lies in the same
// binade as the exact value; it is the exact value itself when that is a dyadic rational (and
// within 2^−(p+64) relative otherwise for rational results). Values of magnitude below 2^−1000000
// (softmax entries whose logit lies more than 10^6 below the maximum) are carried as an
// approximation within 2^−1000000 of them. The zero Value is a NaN of the invalid format.
//
// (The fields are ordered so that a Value takes 40 bytes, not 48: the one-byte fields share a
// word. Long rows allocate one Value per entry, and that slice must be cleared.)
type Value struct {
	Rounded float64 // RN(exact) in Format: NaN, ±Inf, ±0 included (E4M3 overflow = NaN)

	a64    float64
	r64    float64 // set where the value's construction decided it (rationals, tight enclosures)
	approx *big.Float

	Format fp.Format
	Flag   fp.Flag // from rounding the exact value
	kind   uint8
	has64  bool  // r64 is the correctly rounded float64 of the exact value
	e2     int32 // kindExp2: the binary exponent of the approximation
}

// Exact returns the approximation of the exact value (see Value), or nil when the exact value is
// NaN. Callers must not modify it.
func (v Value) Exact() *big.Float {
	switch v.kind {
	case kindF64:
		return new(big.Float).SetFloat64(v.a64)
	case kindBig:
		return v.approx
	case kindExp2:
		return new(big.Float).SetMantExp(new(big.Float).SetFloat64(v.a64), int(v.e2))
	case kindOneMinus:
		return oneMinus(v.a64)
	}
	return nil
}

// oneMinus returns 1 − d rounded toward zero to 64 bits.
func oneMinus(d float64) *big.Float {
	var s oneMinusFloats
	return new(big.Float).Copy(s.set(d))
}

// IsNaN reports whether the exact value is NaN.
func (v Value) IsNaN() bool { return v.kind == kindNaN }

// UlpError returns |got − exact| / ulp(exact) in Format, to within 1/1000 ulp (the approximation
// is within 2^−21 ulp of the exact value and in the same binade, so the ulp is the same). It is
// fp.Format.UlpError applied to the approximation, with the same special cases: NaN against NaN
// is 0, NaN against a number or a number against NaN is +Inf, ±0 are equal.
func (v Value) UlpError(got float64) float64 {
	if v.kind == kindOneMinus { // the approximation in pooled storage, not built anew per call
		s := oneMinusPool.Get().(*oneMinusFloats)
		defer oneMinusPool.Put(s)
		return v.Format.UlpError(got, s.set(v.a64))
	}
	return v.Format.UlpError(got, v.Exact())
}

// oneMinusPool holds the big.Floats of UlpError on a kindOneMinus Value between calls.
var oneMinusPool = sync.Pool{New: func() any { return new(oneMinusFloats) }}

type oneMinusFloats struct{ one, d, a big.Float }

// set sets s.a to oneMinus(d) and returns it.
func (s *oneMinusFloats) set(d float64) *big.Float {
	return s.a.SetPrec(64).SetMode(big.ToZero).Sub(s.one.SetInt64(1), s.d.SetFloat64(d))
}

// UlpDistance returns the number of values of Format between got and Rounded (0 when got is
// the correctly rounded value); got must be a value of Format. Special cases are those of
// fp.Format.UlpDistance.
func (v Value) UlpDistance(got float64) int64 {
	return v.Format.UlpDistance(got, v.Rounded)
}

// Float64 returns the float64 nearest to the exact value (round to nearest even; NaN and ±Inf as
// they are) whenever that rounding is decided by what the Value carries, for plots and reports:
//
//	the exact value is a member of Format (Flag Exact), or Format is FP64: Rounded
//	the exact value is carried as a float64 (±Inf, ±0 and float64 inputs): that float64
//	a rational exact value (one finite logit, equal logits, A = 0): big.Rat.Float64 of it
//	a value whose final Ziv enclosure has both ends in one float64 rounding interval, or of the
//	form A + ε (A dyadic, |ε| below half of A's quantum at max(bits of A, 77) bits, as
//	log-softmax −16424 − e^−2054 in fp16): that float64
//	otherwise: the float64 nearest to the approximation, which is the correctly rounded float64
//	of the exact value when the approximation's error bound, 2^−21·ulp(exact) in Format, does not
//	straddle a float64 rounding boundary
//
// In the remaining cases (the Ziv loop stopped at a precision that decides the rounding into
// Format but not into float64: common for fp16, bf16 and fp32 transcendental outputs) the result
// is the float64 nearest to the approximation: within 2^−21·ulp(exact) (ulp in Format) + ½ulp_64
// of the exact value, and not necessarily its correctly rounded float64 (deciding it would need
// a float64-precision Ziv loop). Rounded and UlpError never depend on it.
func (v Value) Float64() float64 {
	switch v.kind {
	case kindF64:
		return v.a64
	case kindBig, kindExp2, kindOneMinus:
		switch {
		case v.Flag == fp.Exact || v.Format == fp.FP64:
			return v.Rounded
		case v.has64:
			return v.r64
		}
		a := v.Exact()
		f, _ := a.Float64()
		if a.IsInf() {
			return f
		}
		// The bound 2^−21·ulp(exact) in Format, with ulp(exact) = ulp(approx) (same binade).
		eb := v.Format.UlpExp(a) - 21
		if eb >= a.MantExp(nil)-54 {
			// The bound is at least half a float64 ulp of the value (it is below the format's
			// normal range): no float64 rounding can be proven, and forming approx ± bound
			// would shift the mantissa by the whole exponent gap.
			return f
		}
		b := new(big.Float).SetMantExp(big.NewFloat(1), eb)
		prec := a.Prec() + 64
		lo := new(big.Float).SetPrec(prec).Sub(a, b)
		hi := new(big.Float).SetPrec(prec).Add(a, b)
		fl, _ := lo.Float64()
		fh, _ := hi.Float64()
		if fl == fh {
			return fl
		}
		return f
	}
	return math.NaN()
}

// nanValue returns the Value of an exact NaN.
func nanValue(f fp.Format) Value {
	return Value{Format: f, Rounded: f.NaN(), Flag: fp.Exact}
}

// floatValue returns the Value of the exact real x (a float64, possibly ±Inf, not NaN), rounded
// once into f.
func floatValue(f fp.Format, x float64) Value {
	r, fl := f.RoundFloat64(x)
	return Value{Format: f, Rounded: r, Flag: fl, kind: kindF64, a64: x}
}

// bigValue returns the Value of the exact real x (finite or ±Inf), rounded once into f.
func bigValue(f fp.Format, x *big.Float) Value {
	if x.Sign() == 0 {
		return zeroValue(f) // an exact zero is +0, whatever the sign big.Float gave it
	}
	r, fl := f.Round(x)
	r64, _ := x.Float64()
	return Value{Format: f, Rounded: r, Flag: fl, kind: kindBig, approx: x, has64: true, r64: r64}
}
