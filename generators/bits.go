// This file implements draws in a format's own bit space.

package generators

import (
	"math"
	"math/big"

	"github.com/ulpcheck/ulpcheck/fp"
	"pgregory.net/rapid"
)

// mantBits returns the number of stored significand bits, p − 1.
func mantBits(f fp.Format) uint { return uint(f.Precision() - 1) }

// signBit returns the encoding's sign bit.
func signBit(f fp.Format) uint64 { return 1 << (f.Width() - 1) }

// rn rounds x to nearest even into f.
func rn(f fp.Format, x float64) float64 {
	y, _ := f.RoundFloat64(x)
	return y
}

// rnSat rounds x into f, saturating to ±MaxFinite in a format without infinities (E4M3,
// where plain rounding of a large x gives NaN), and to ±Inf otherwise.
func rnSat(f fp.Format, x *big.Float) float64 {
	if f.HasInf() {
		y, _ := f.Round(x)
		return y
	}
	y, _ := f.RoundSaturating(x)
	return y
}

// withSign draws a sign, + first, and applies it to the magnitude m.
func withSign(t *rapid.T, m float64) float64 {
	if bitGen.Draw(t, "neg") {
		return math.Copysign(m, -1)
	}
	return m
}

// normal draws a positive normal value of f with exponent in [eLo, eHi] (clamped to f's
// range): an exponent e, then an offset from 2^e in the ordered values of f up to the top of
// binade eHi. Both draws shrink toward 0 and the value grows with each, so the value shrinks
// toward 2^eLo; a failure that is monotone in the value shrinks to its exact boundary, or to
// the power of two just above it when the shrinker cannot lower the exponent without raising
// the offset (use between for exact boundaries). Offsets are small more often than not
// (significands near 1), and uniform about one draw in five: the exponent spreads the values
// over the binades.
func normal(t *rapid.T, f fp.Format, eLo, eHi int) float64 {
	eLo, eHi = max(eLo, f.EMin()), min(eHi, f.EMax())
	if eLo > eHi { // the range lies outside f's normals: its nearest binade
		b := min(max(eLo, eHi), f.EMax())
		eLo, eHi = b, b
	}
	e := eLo + int(uint64In(t, 0, uint64(eHi-eLo)))
	top := f.MaxFinite()
	if eHi < f.EMax() {
		top = f.Prev(math.Ldexp(1, eHi+1))
	}
	return between(t, f, math.Ldexp(1, e), top)
}

// subnormal draws a positive subnormal of f, shrinking toward the smallest.
func subnormal(t *rapid.T, f fp.Format) float64 {
	m := mantBits(f)
	k := uint64In(t, 1, 1<<m-1)
	return float64(k) * f.MinSubnormal()
}

// step moves x by k values of f (up for k > 0), stopping at ±Inf (E4M3: ±MaxFinite).
func step(f fp.Format, x float64, k int) float64 {
	for ; k > 0; k-- {
		y := f.Next(x)
		if math.IsNaN(y) {
			return x
		}
		x = y
	}
	for ; k < 0; k++ {
		y := f.Prev(x)
		if math.IsNaN(y) {
			return x
		}
		x = y
	}
	return x
}

// near draws a value of f within k values of RN(x), either side, shrinking toward RN(x).
func near(t *rapid.T, f fp.Format, x float64, k int) float64 {
	return step(f, rn(f, x), intIn(t, -k, k))
}

// uniformBits draws an encoding of f uniformly from all 2^Width and decodes it.
func uniformBits(t *rapid.T, f fp.Format) float64 {
	return f.Decode(drawBits(t, int(f.Width())))
}

// nan draws a NaN of f: sign first +, payload first the canonical quiet NaN.
func nan(t *rapid.T, f fp.Format) float64 {
	if !f.HasInf() { // E4M3: S.1111.111 only
		return withSign(t, f.NaN())
	}
	m := mantBits(f)
	expMask := (uint64(1)<<(f.Width()-1) - 1) &^ (1<<m - 1)
	quiet := uint64(1) << (m - 1)
	k := uint64In(t, 0, 1<<m-2)
	mant := quiet + k
	if mant >= 1<<m {
		mant -= 1<<m - 1 // wrap to the signalling payloads 1 .. quiet−1
	}
	b := expMask | mant
	if bitGen.Draw(t, "neg") {
		b |= signBit(f)
	}
	return f.Decode(b)
}

// smallInt draws an integer in [−k, k] rounded into f, shrinking toward 0.
func smallInt(t *rapid.T, f fp.Format, k int) float64 {
	return rn(f, float64(intIn(t, -k, k)))
}

// logit draws k + j/256 with |k| ≤ kmax and j in [0, 256), rounded into f: the values a model's
// last layer emits. It shrinks toward 0.
func logit(t *rapid.T, f fp.Format, kmax int) float64 {
	k := intIn(t, -kmax, kmax)
	j := intIn(t, 0, 255)
	return rn(f, float64(k)+float64(j)/256)
}

// thresholds returns the exp thresholds of f as a list, the overflow side first.
func thresholds(f fp.Format) []float64 {
	e := f.Exp()
	return []float64{e.Overflow, e.LargestFinite, e.SubnormalBelow, e.ZeroAtOrBelow}
}

// expThreshold draws a value within 4 values of one of f's exp thresholds.
func expThreshold(t *rapid.T, f fp.Format) float64 {
	return near(t, f, sampled(t, thresholds(f)), 4)
}

// huge draws a value whose magnitude lies between four values below the exp overflow
// threshold and MaxFinite, as one offset in the ordered values of f from the low end, so that
// it shrinks toward the smallest such value that still fails (the boundary of whatever
// overflowed). rapid's bias makes values near the threshold common, the whole range uniform
// about one draw in five, and MaxFinite itself about one in forty. The sign shrinks toward +.
func huge(t *rapid.T, f fp.Format) float64 {
	return withSign(t, between(t, f, step(f, rn(f, f.Exp().Overflow), -4), f.MaxFinite()))
}

// between draws a value of f in [a, b] (finite members, a ≤ b) as one offset from a in the
// ordered values of f: it shrinks toward a by binary search, so a failure that is monotone in
// the value shrinks to its exact boundary. Uniform offsets are uniform over binades (the
// ordered values are log-spaced), and rapid's bias makes values near a common.
func between(t *rapid.T, f fp.Format, a, b float64) float64 {
	lo, hi := ord(f, a), ord(f, b)
	return fromOrd(f, lo+int64(uint64In(t, 0, uint64(hi-lo))))
}

// exponent returns e with 2^e ≤ |x| < 2^(e+1) for finite nonzero x.
func exponent(x float64) int {
	_, e := math.Frexp(x)
	return e - 1
}

// ord returns the position of x in the ordered values of f: +0 is 0, the smallest subnormal 1,
// and −x is −ord(x) (−0 is 0). x must be finite.
func ord(f fp.Format, x float64) int64 {
	if math.Signbit(x) {
		return -int64(f.Encode(-x))
	}
	return int64(f.Encode(x))
}

// fromOrd inverts ord, clamping to ±MaxFinite.
func fromOrd(f fp.Format, k int64) float64 {
	top := int64(f.Encode(f.MaxFinite()))
	k = max(-top, min(top, k))
	if k < 0 {
		return f.Decode(uint64(-k) | signBit(f))
	}
	return f.Decode(uint64(k))
}
