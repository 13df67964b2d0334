// This file implements the exact cases of NUMERICS §6: rational results computed with big.Rat
// and rounded once, with ties to even decided by an exact comparison with the midpoint.

package oracle

import (
	"math"
	"math/big"
	"math/bits"

	"github.com/ulpcheck/ulpcheck/fp"
)

// ratValue returns the Value of the exact rational q rounded once into f.
//
// Method: q is truncated (toward zero) to P = p + 64 bits. If that is exact, q is dyadic and is
// rounded directly. Otherwise q lies strictly between the truncation z and its successor at P
// bits; so does z' = z + sign·2^(exp_P(z)−1) (a P+1-bit value, the "sticky" bit). No value of f
// and no midpoint between two values of f (they have at most p+1 significant bits, all of
// them multiples of the P-bit quantum) lies strictly inside that interval, so RN(q) = RN(z'),
// ties included: q is a midpoint only if it is dyadic, and then it was rounded exactly.
func ratValue(f fp.Format, q *big.Rat) Value {
	P := uint(f.Precision()) + 64
	z := new(big.Float).SetPrec(P).SetMode(big.ToZero).SetRat(q)
	if z.Acc() == big.Exact {
		return bigValue(f, z)
	}
	r := new(big.Float).SetPrec(P + 1).Set(z)
	e := z.MantExp(nil) // |z| in [2^(e−1), 2^e): its P-bit quantum is 2^(e−P)
	half := new(big.Float).SetMantExp(big.NewFloat(float64(z.Sign())), e-int(P)-1)
	r.Add(r, half)
	rv, flag := f.Round(r)
	// The approximation carried is z', within 2^−P relative of q; Float64 is q's own nearest
	// float64 (big.Rat.Float64 rounds correctly, subnormals included).
	r64, _ := q.Float64()
	return Value{Format: f, Rounded: rv, Flag: flag, kind: kindBig, approx: r, has64: true, r64: r64}
}

// ratOf returns x as an exact rational (x finite): big.Rat.SetFloat64's value, without the gcd
// its normalisation computes. x = ±m·2^e with m odd is already in lowest terms, so m and 2^±e
// are written into the numerator and denominator (Num and Denom are references to them).
func ratOf(x float64) *big.Rat {
	q := new(big.Rat)
	if x == 0 {
		return q
	}
	q.SetInt64(1) // so that Denom is a reference to q's denominator
	if sh := dyadicInto(q.Num(), x); sh > 0 {
		q.Denom().Lsh(q.Denom(), sh)
	}
	return q
}

// dyadicInto sets m to the integer x·2^e for the least e ≥ 0 that makes it one, and returns e
// (x finite).
func dyadicInto(m *big.Int, x float64) uint {
	if x == 0 {
		m.SetInt64(0)
		return 0
	}
	fr, e := math.Frexp(math.Abs(x))
	u := uint64(fr * (1 << 53)) // |x| = u·2^(e−53)
	e -= 53
	tz := bits.TrailingZeros64(u)
	u >>= tz
	e += tz
	m.SetUint64(u)
	var sh uint
	if e > 0 {
		m.Lsh(m, uint(e))
	} else {
		sh = uint(-e)
	}
	if x < 0 {
		m.Neg(m)
	}
	return sh
}

// zeroValue returns the Value of an exact +0.
func zeroValue(f fp.Format) Value {
	return Value{Format: f, Rounded: 0, Flag: fp.Exact, kind: kindF64, a64: 0}
}
