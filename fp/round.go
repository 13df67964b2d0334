// This file implements rounding of exact values into a format: round to nearest, ties to even,
// with gradual underflow, done once and straight into the target format.

package fp

import (
	"math"
	"math/big"

	"github.com/x448/float16"
)

// A Flag says how a rounded value relates to the exact one, as IEEE 754's exceptions do.
type Flag uint8

const (
	Exact     Flag = iota // the result equals the exact value
	Inexact               // rounded, in the normal range
	Underflow             // rounded, and the exact value is below the smallest normal in magnitude (tiny before rounding)
	Overflow              // the exact value rounds beyond the largest finite value: ±Inf, NaN (E4M3) or ±max (saturating)
)

func (fl Flag) String() string {
	switch fl {
	case Exact:
		return "exact"
	case Inexact:
		return "inexact"
	case Underflow:
		return "underflow"
	case Overflow:
		return "overflow"
	}
	return "Flag(?)"
}

// Round returns x rounded to nearest, ties to even, into f, with the flag of the operation.
//
// Special cases are:
//
//	Round(±0) = ±0, Exact
//	Round(±Inf) = ±Inf, Exact (E4M3: NaN, Overflow)
//	Round(x) = ±Inf for |x| ≥ max + ½ulp(max), Overflow (E4M3: NaN for |x| > 464)
//	Round(x) = ±0 for |x| ≤ ½·MinSubnormal, Underflow
//
// The result is correctly rounded for every finite x (it is the format value nearest to x); x is
// rounded once, never through an intermediate format.
func (f Format) Round(x *big.Float) (float64, Flag) {
	return f.round(x, false)
}

// RoundSaturating is Round, except that a finite x that overflows gives ±MaxFinite (flag Overflow),
// as the OCP FP8 saturating conversion does; ±Inf still gives ±Inf (E4M3: ±MaxFinite).
func (f Format) RoundSaturating(x *big.Float) (float64, Flag) {
	return f.round(x, true)
}

func (f Format) round(x *big.Float, sat bool) (float64, Flag) {
	if x.IsInf() {
		if f.HasInf() {
			return math.Inf(x.Sign()), Exact
		}
		if sat {
			return math.Copysign(f.MaxFinite(), float64(x.Sign())), Overflow
		}
		return f.nan(x.Signbit()), Overflow
	}
	if isFloat64(x) {
		v, _ := x.Float64()
		return f.roundFloat64(v, sat)
	}
	s := f.s()
	neg := x.Signbit()
	e := x.MantExp(nil) - 1 // 2^e ≤ |x| < 2^(e+1)
	q := max(e, s.emin) - s.p + 1
	var r float64
	switch prec := e - q + 1; {
	case prec >= 1:
		var z big.Float
		z.SetPrec(uint(prec)).SetMode(big.ToNearestEven).Set(x)
		// z is an integer multiple of 2^q of at most p ≤ 53 bits, q ≥ −1074: the integer and
		// its scaling back are exact (Ldexp gives ±Inf past float64's range, as Float64 would),
		// without the mantissa copy Float64 makes.
		z.SetMantExp(&z, -q)
		i, _ := z.Int64()
		r = math.Ldexp(math.Abs(float64(i)), q)
	case prec == 0:
		// 2^(q−1) ≤ |x| < 2^q: the tie 2^(q−1) goes to even (0), anything above it up.
		if x.MinPrec() > 1 {
			r = math.Ldexp(1, q)
		}
	default:
		r = 0 // |x| < 2^(q−1), half the smallest subnormal
	}
	return f.finish(r, neg, e < s.emin, sat)
}

// isFloat64 reports whether x is exactly a float64 (x.Float64() would be Exact) without
// converting it: zero, ±Inf, or finite below 2^1024 with at most 53 significant bits, the lowest
// at 2^−1074 or above.
func isFloat64(x *big.Float) bool {
	if x.Sign() == 0 || x.IsInf() {
		return true
	}
	e, p := x.MantExp(nil), int(x.MinPrec()) // 2^(e−1) ≤ |x| < 2^e; the lowest set bit is 2^(e − p)
	return e <= 1024 && p <= 53 && e-p >= -1074
}

// RoundFloat64 returns the float64 x rounded into f exactly as Round would round it.
func (f Format) RoundFloat64(x float64) (float64, Flag) {
	return f.roundFloat64(x, false)
}

func (f Format) roundFloat64(x float64, sat bool) (float64, Flag) {
	switch {
	case math.IsNaN(x):
		return f.Decode(f.Encode(x)), Exact
	case math.IsInf(x, 0):
		var b big.Float
		return f.round(b.SetInf(x < 0), sat)
	case x == 0:
		return x, Exact
	case f == FP32 && float64(float32(x)) == x:
		// A float32 value (the conversion rounds, so it is exact exactly for members): the
		// common case of a kernel's float32 output, decided without the scaling below.
		return x, Exact
	}
	s := f.s()
	a := math.Abs(x)
	e := binade(a)
	q := max(e, s.emin) - s.p + 1
	// a / 2^q is exact (a power-of-two scaling that stays in float64's normal range for every
	// format but FP64, where q ≥ −1074 makes it an integer), and so is rounding it to an integer.
	r := scale2(math.RoundToEven(scale2(a, -q)), q)
	if r == a && a <= s.maxFin { // a p-bit value beyond e_max is not a member: it overflows
		return x, Exact
	}
	return f.finish(r, x < 0, e < s.emin, sat)
}

// binade returns e with 2^e ≤ |x| < 2^(e+1), for a finite nonzero x: the exponent field for a
// normal x, math.Frexp for a subnormal one.
func binade(x float64) int {
	if e := int(math.Float64bits(x)>>52&0x7ff) - 1023; e != -1023 {
		return e
	}
	_, e := math.Frexp(x)
	return e - 1
}

// scale2 returns a·2^k. It multiplies by the power of two when that power is a normal float64,
// which is exact whenever a·2^k is (every use here), and leaves the other k to math.Ldexp.
func scale2(a float64, k int) float64 {
	if k >= -1022 && k <= 1023 {
		return a * math.Float64frombits(uint64(k+1023)<<52)
	}
	return math.Ldexp(a, k)
}

// finish applies overflow and the sign to r, the magnitude of x rounded to p bits with unbounded
// exponent range (and gradual underflow), and decides the flag; the value was inexact.
func (f Format) finish(r float64, neg, tiny, sat bool) (float64, Flag) {
	mx := f.s().maxFin
	fl := Inexact
	switch {
	case r > mx:
		fl = Overflow
		switch {
		case sat:
			r = mx
		case f.HasInf():
			r = math.Inf(1)
		default:
			return f.nan(neg), Overflow
		}
	case tiny:
		fl = Underflow
	}
	if neg {
		r = -r
	}
	return r, fl
}

// Contains reports whether x is a value of f: NaN, a finite member, or ±Inf where f has them.
func (f Format) Contains(x float64) bool {
	if math.IsNaN(x) {
		return true
	}
	if math.IsInf(x, 0) {
		return f.HasInf()
	}
	switch f {
	case FP32: // the float32 conversion is exact exactly for members
		return float64(float32(x)) == x
	case FP16: // members are float32 values that float16's conversion keeps
		x32 := float32(x)
		return float64(x32) == x && float16.Fromfloat32(x32).Float32() == x32
	case FP64:
		return true
	}
	r, fl := f.RoundFloat64(x)
	return fl == Exact && r == x
}

func (f Format) nan(neg bool) float64 {
	b := f.s().nanBits
	if neg {
		b |= 1 << (f.s().width - 1)
	}
	return f.Decode(b)
}

// NaN returns the format's canonical quiet NaN as a float64.
func (f Format) NaN() float64 { return f.nan(false) }
