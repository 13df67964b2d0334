// This file implements Value, one correctly rounded output element together with an
// approximation of the exact real that is good to 2^−20 ulp.

package oracle

import (
	"errors"
	"math"
	"math/big"

	"github.com/ulpcheck/ulpcheck/fp"
)

// ErrPrecisionCap is wrapped by the error returned when the Ziv loop reaches its precision cap
// (MaxPrecision bits) without deciding a rounding. It means an exact or midpoint case that the
// oracle did not detect (NUMERICS §6): a harness error, never a guess.
var ErrPrecisionCap = errors.New("oracle: precision cap reached (undetected exact case?)")

// kinds of the approximation a Value carries.
const (
	kindNaN = iota // the exact value is NaN (the zero Value)
	kindF64        // a64 holds the approximation
	kindBig        // approx holds the approximation
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
type Value struct {
	Format  fp.Format
	Rounded float64 // RN(exact) in Format: NaN, ±Inf, ±0 included (E4M3 overflow = NaN)
	Flag    fp.Flag // from rounding the exact value

	kind   uint8
	a64    float64
	approx *big.Float
}

// Exact returns the approximation of the exact value (see Value), or nil when the exact value is
// NaN. Callers must not modify it.
func (v Value) Exact() *big.Float {
	switch v.kind {
	case kindF64:
		return new(big.Float).SetFloat64(v.a64)
	case kindBig:
		return v.approx
	}
	return nil
}

// IsNaN reports whether the exact value is NaN.
func (v Value) IsNaN() bool { return v.kind == kindNaN }

// UlpError returns |got − exact| / ulp(exact) in Format, to within 1/1000 ulp (the approximation
// is within 2^−21 ulp of the exact value and in the same binade, so the ulp is the same). It is
// fp.Format.UlpError applied to the approximation, with the same special cases: NaN against NaN
// is 0, NaN against a number or a number against NaN is +Inf, ±0 are equal.
func (v Value) UlpError(got float64) float64 {
	return v.Format.UlpError(got, v.Exact())
}

// UlpDistance returns the number of values of Format between got and Rounded (0 when got is
// the correctly rounded value); got must be a value of Format. Special cases are those of
// fp.Format.UlpDistance.
func (v Value) UlpDistance(got float64) int64 {
	return v.Format.UlpDistance(got, v.Rounded)
}

// Float64 returns the float64 nearest to the approximation of the exact value (NaN and ±Inf as
// they are), for plots and reports; it is not a correctly rounded float64 of the exact value.
func (v Value) Float64() float64 {
	switch v.kind {
	case kindF64:
		return v.a64
	case kindBig:
		f, _ := v.approx.Float64()
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
	return Value{Format: f, Rounded: r, Flag: fl, kind: kindBig, approx: x}
}
