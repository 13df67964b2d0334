// This file implements the bit encodings of the formats and the neighbours of a value.

package fp

import (
	"fmt"
	"math"

	"github.com/x448/float16"
)

// Decode returns the value whose encoding in f is the low Width bits of b, as a float64.
// NaN encodings give a float64 NaN that carries the sign and the payload (the significand bits
// below the format's quiet bit keep their position from the top), so that Encode(Decode(b)) == b
// for every b. FP16 goes through github.com/x448/float16.
func (f Format) Decode(b uint64) float64 {
	s := f.s()
	b &= 1<<s.width - 1
	switch f.id {
	case idFP64:
		return math.Float64frombits(b)
	case idFP32:
		if v := math.Float32frombits(uint32(b)); v == v {
			return float64(v)
		}
	case idFP16:
		if h := float16.Frombits(uint16(b)); !h.IsNaN() {
			return float64(h.Float32())
		}
	default:
		if !f.isNaNBits(b) {
			return f.decodeGeneric(b)
		}
	}
	return f.nanFromBits(b)
}

// Encode returns the encoding of x in f. x must be a value of f (Contains); other values panic,
// since encoding them would need a rounding the caller did not ask for: round first with Round
// or RoundFloat64. EncodeChecked is the variant that returns an error.
func (f Format) Encode(x float64) uint64 {
	b, err := f.EncodeChecked(x)
	if err != nil {
		panic(err)
	}
	return b
}

// EncodeChecked returns the encoding of x in f, or an error naming x when it is not a value of f.
func (f Format) EncodeChecked(x float64) (uint64, error) {
	s := f.s()
	if math.IsNaN(x) {
		return f.nanToBits(x), nil
	}
	if !f.Contains(x) {
		return 0, fmt.Errorf("fp: %v (%x) is not a value of %s", x, x, f)
	}
	switch f.id {
	case idFP64:
		return math.Float64bits(x), nil
	case idFP32:
		return uint64(math.Float32bits(float32(x))), nil
	case idFP16:
		return uint64(float16.Fromfloat32(float32(x)).Bits()), nil
	}
	// Generic IEEE-style packing for BF16, E4M3, E5M2.
	var sign uint64
	if math.Signbit(x) {
		sign = 1 << (s.width - 1)
	}
	a := math.Abs(x)
	m := uint(s.p - 1)
	switch {
	case math.IsInf(a, 0):
		return sign | uint64(1<<(s.width-1-m)-1)<<m, nil
	case a == 0:
		return sign, nil
	}
	e := binade(a)
	if e < s.emin { // subnormal: a = k·2^(emin−m)
		return sign | uint64(math.Ldexp(a, -(s.emin-int(m)))), nil
	}
	frac := uint64(math.Ldexp(a, int(m)-e)) - 1<<m
	return sign | uint64(e+s.bias)<<m | frac, nil
}

func (f Format) decodeGeneric(b uint64) float64 {
	s := f.s()
	m := uint(s.p - 1)
	ew := s.width - 1 - m
	sign := 1.0
	if b>>(s.width-1)&1 == 1 {
		sign = -1
	}
	exp := int(b >> m & (1<<ew - 1))
	frac := b & (1<<m - 1)
	if s.hasInf && exp == 1<<ew-1 {
		return sign * math.Inf(1) // frac == 0 here: NaNs were handled by the caller
	}
	if exp == 0 {
		return sign * math.Ldexp(float64(frac), s.emin-int(m))
	}
	return sign * math.Ldexp(float64(frac|1<<m), exp-s.bias-int(m))
}

func (f Format) isNaNBits(b uint64) bool {
	s := f.s()
	m := uint(s.p - 1)
	ew := s.width - 1 - m
	exp := b >> m & (1<<ew - 1)
	frac := b & (1<<m - 1)
	if s.hasInf {
		return exp == 1<<ew-1 && frac != 0
	}
	return exp == 1<<ew-1 && frac == 1<<m-1 // E4M3: only S.1111.111
}

// nanFromBits and nanToBits carry a NaN's sign and significand between f and float64, keeping the
// significand's bits in place from the top (as hardware conversions do, without quieting).
func (f Format) nanFromBits(b uint64) float64 {
	s := f.s()
	if f.id == idFP64 {
		return math.Float64frombits(b)
	}
	m := uint(s.p - 1)
	sign := b >> (s.width - 1) & 1
	frac := b & (1<<m - 1)
	return math.Float64frombits(sign<<63 | 0x7ff<<52 | frac<<(52-m))
}

func (f Format) nanToBits(x float64) uint64 {
	s := f.s()
	xb := math.Float64bits(x)
	if f.id == idFP64 {
		return xb
	}
	m := uint(s.p - 1)
	sign := xb >> 63
	frac := xb & (1<<52 - 1) >> (52 - m)
	if !s.hasInf {
		frac = 1<<m - 1 // E4M3 has one NaN per sign
	} else if frac == 0 {
		frac = 1 << (m - 1) // the payload did not fit: quiet NaN
	}
	return sign<<(s.width-1) | uint64(1<<(s.width-1-m)-1)<<m | frac
}

// order maps a non-NaN value of f to an integer that counts format values: order(0) = 0, and
// consecutive values differ by 1 (±0 both map to 0).
func (f Format) order(x float64) int64 {
	b := f.Encode(x)
	mag := int64(b & (1<<(f.s().width-1) - 1))
	if math.Signbit(x) {
		return -mag
	}
	return mag
}

func (f Format) fromOrder(o int64) float64 {
	if o < 0 {
		return f.Decode(uint64(-o) | 1<<(f.s().width-1))
	}
	return f.Decode(uint64(o))
}

// Next returns the smallest value of f greater than x, a value of f.
//
// Special cases are:
//
//	Next(±0) = MinSubnormal
//	Next(MaxFinite) = +Inf (E4M3: NaN)
//	Next(+Inf) = +Inf
//	Next(−Inf) = −MaxFinite
//	Next(NaN) = NaN
func (f Format) Next(x float64) float64 {
	switch {
	case math.IsNaN(x) || math.IsInf(x, 1):
		return x
	case x == f.MaxFinite():
		if f.HasInf() {
			return math.Inf(1)
		}
		return f.NaN()
	case math.IsInf(x, -1):
		return -f.MaxFinite()
	}
	return f.fromOrder(f.order(x) + 1)
}

// Prev returns the largest value of f less than x, a value of f; it mirrors Next:
// Prev(x) = −Next(−x).
func (f Format) Prev(x float64) float64 {
	return -f.Next(-x)
}
