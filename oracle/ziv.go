// This file implements the rounding test and Ziv's strategy: an enclosure [lo, hi] of the exact
// value decides the correctly rounded result when both ends round to the same value of the
// format with the same flag, lie in the same binade and are within 2^−21 ulp of each other;
// otherwise the working precision rises (+64 bits, then ×1.5) up to MaxPrecision.

package oracle

import (
	"fmt"
	"math"
	"math/big"

	"github.com/ulpcheck/ulpcheck/fp"
)

// MaxPrecision is the working precision, in bits, at which the Ziv loop gives up and returns an
// error wrapping ErrPrecisionCap. Every non-exact result of this package is decided far below it
// except for inputs built to be exact (NUMERICS §6) in ways the oracle does not detect; see the
// package documentation.
const MaxPrecision = 4096

// startPrecision returns the first working precision of the Ziv loop for f.
func startPrecision(f fp.Format) uint { return uint(f.Precision()) + 40 }

// nextPrecision returns the working precision after w (MPFR's schedule: +64 bits, then ×1.5).
func nextPrecision(w uint) uint {
	if w < 256 {
		return w + 64
	}
	return w + w/2
}

// capError returns the error for a Ziv loop that reached MaxPrecision.
func capError(op string, i int) error {
	return fmt.Errorf("oracle: %s: element %d undecided at %d bits: %w", op, i, MaxPrecision, ErrPrecisionCap)
}

// fmtInfo caches what the fast rounding test needs to know about a format.
type fmtInfo struct {
	f         fp.Format
	p, emin   int
	maxf      float64
	minNormal float64
	minSub    float64
	is32      bool // float32 conversion is RN into the format
	hasInf    bool
	fast      bool      // the float64 fast path can decide this format (p ≤ 24)
	s64       big.Float // float64Of's scratch: a fmtInfo serves one oracle call, on one goroutine
}

// float64Of returns x.Float64()'s value without the mantissa copy Float64 makes (fp.Float64Of,
// in fi's scratch).
func (fi *fmtInfo) float64Of(x *big.Float) float64 { return fp.Float64Of(x, &fi.s64) }

func newFmtInfo(f fp.Format) (*fmtInfo, error) {
	fi := new(fmtInfo)
	if err := fi.init(f); err != nil {
		return nil, err
	}
	return fi, nil
}

// init sets fi's fields for f, but the scratch.
func (fi *fmtInfo) init(f fp.Format) error {
	if !f.Valid() {
		return fmt.Errorf("oracle: invalid format %v", f)
	}
	fi.f, fi.p, fi.emin, fi.maxf, fi.minNormal = f, f.Precision(), f.EMin(), f.MaxFinite(), f.MinNormal()
	fi.minSub, fi.is32, fi.hasInf, fi.fast = f.MinSubnormal(), f == fp.FP32, f.HasInf(), f.Precision() <= 24 && !noFast
	return nil
}

// rn rounds the normal float64 x to nearest even into the format with unbounded exponent range
// above (gradual underflow below), then returns ±Inf when that is beyond the largest finite
// value: the overflow status of IEEE 754 (and of E4M3, whose overflow is reported as ±Inf here).
func (fi *fmtInfo) rn(x float64) float64 {
	if fi.is32 {
		return float64(float32(x)) // IEEE conversion: RNE, gradual underflow, overflow to ±Inf
	}
	e := int(math.Float64bits(x)>>52&0x7ff) - 1023
	q := max(e, fi.emin) - fi.p + 1
	// x·2^−q and r·2^q are exact power-of-two scalings inside float64's normal range (|q| ≤ 1016
	// for every format but FP64, which never comes here).
	r := math.RoundToEven(x*math.Float64frombits(uint64(1023-q)<<52)) * math.Float64frombits(uint64(1023+q)<<52)
	if math.Abs(r) > fi.maxf {
		return math.Copysign(math.Inf(1), x)
	}
	return r
}

// ulpExp64 returns the exponent of ulp(x) in the format for a normal float64 x.
func (fi *fmtInfo) ulpExp64(x float64) int {
	e := int(math.Float64bits(x)>>52&0x7ff) - 1023
	return max(e, fi.emin) - fi.p + 1
}

// isNormal64 reports whether x is a nonzero, finite, normal float64.
func isNormal64(x float64) bool {
	e := math.Float64bits(x) >> 52 & 0x7ff
	return e != 0 && e != 0x7ff
}

// decide64 is the rounding test on a float64 enclosure lo ≤ exact ≤ hi: it succeeds when lo and
// hi are normal float64s of one sign and one binade of the format, within 2^−21 ulp of each
// other, round to the same value and are on the same side of the smallest normal.
func (fi *fmtInfo) decide64(lo, hi float64) (float64, fp.Flag, bool) {
	if !isNormal64(lo) || !isNormal64(hi) || (lo < 0) != (hi < 0) {
		return 0, 0, false
	}
	ue := fi.ulpExp64(lo)
	if ue != fi.ulpExp64(hi) || hi-lo > math.Float64frombits(uint64(1023+ue-21)<<52) { // 2^(ue−21), normal for p ≤ 24
		return 0, 0, false
	}
	r := fi.rn(lo)
	if r != fi.rn(hi) {
		return 0, 0, false
	}
	alo, ahi := math.Abs(lo), math.Abs(hi)
	if alo > ahi {
		alo, ahi = ahi, alo
	}
	switch {
	case math.IsInf(r, 0):
		if !fi.hasInf {
			r = fi.f.NaN()
		}
		return r, fp.Overflow, true
	case ahi < fi.minNormal:
		return r, fp.Underflow, true
	case alo >= fi.minNormal:
		return r, fp.Inexact, true
	}
	return 0, 0, false
}

// accept64 returns the Value for the fast-path approximation v with abs error bound e (both
// finite; e computed with rounding that the caller has already made safe), or false when the
// rounding test fails. The enclosure is widened by 2^−52|v| to cover the rounding of v ± e.
func (fi *fmtInfo) accept64(v, e float64) (Value, bool) {
	e = e + math.Abs(v)*0x1p-52
	r, flag, ok := fi.decide64(v-e, v+e)
	if !ok {
		return Value{}, false
	}
	return Value{Format: fi.f, Rounded: r, Flag: flag, kind: kindF64, a64: v}, true
}

// decideBig is the rounding test on a big enclosure: as decide64, with the ends rounded by
// fp.Format.Round. An enclosure [0, hi] of a value known to be positive (iv.pos) is decided as
// +0 with Underflow when hi rounds to +0.
func (fi *fmtInfo) decideBig(iv ival) (Value, bool) {
	lo, hi := iv.lo, iv.hi
	if sg := iv.sign(); sg != 0 && (lo.Sign() == 0 || hi.Sign() == 0) {
		// A value of known sign whose enclosure touches 0: decided as ±0 (Underflow) when the
		// far end rounds to ±0.
		far := hi
		if sg < 0 {
			far = lo
		}
		r, flag := fi.f.Round(far)
		if r != 0 || flag != fp.Underflow {
			return Value{}, false
		}
		m, _ := iv.mid()
		return Value{Format: fi.f, Rounded: math.Copysign(0, float64(sg)), Flag: fp.Underflow, kind: kindBig, approx: m}, true
	}
	if lo.Sign() == 0 || hi.Sign() == 0 || lo.Sign() != hi.Sign() {
		return Value{}, false
	}
	ue := fi.f.UlpExp(lo)
	if ue != fi.f.UlpExp(hi) {
		return Value{}, false
	}
	width := fl(64, up).Sub(hi, lo)
	if width.Sign() > 0 && width.MantExp(nil) > ue-21 {
		return Value{}, false
	}
	r1, f1 := fi.f.Round(lo)
	r2, f2 := fi.f.Round(hi)
	if f1 != f2 || f1 == fp.Exact || math.Float64bits(r1) != math.Float64bits(r2) && !(math.IsNaN(r1) && math.IsNaN(r2)) {
		return Value{}, false
	}
	m, _ := iv.mid()
	v := Value{Format: fi.f, Rounded: r1, Flag: f1, kind: kindBig, approx: m}
	l64, h64 := fi.float64Of(lo), fi.float64Of(hi)
	if l64 == h64 {
		v.has64, v.r64 = true, l64 // the enclosure decides the float64 rounding too
	}
	return v, true
}

// A center describes an exact value of the form A + ε, with A an exact dyadic, ε enclosed by eps
// and of the known strict sign sign (±1). It decides values such as LSE = m + log1p(s) with s
// below 2^−50000, whose enclosures at any affordable precision contain the format value m.
// When A is nil and Q is set, the value is Q + ε with Q an exact rational that need not be
// dyadic, ε enclosed by eps with any sign (decideRat).
type center struct {
	A    *big.Float
	Q    *big.Rat
	eps  ival
	sign int
}

// decideRat rounds Q + ε for an exact rational Q and |ε| ≤ E (E the larger magnitude of the
// ends of eps): it succeeds when the exact rationals Q − E and Q + E, rounded once each by
// ratValue (exact, ties included), give the same value with the same flag other than Exact,
// have one sign, and lie in one binade of the format, and E ≤ 2^−22·ulp. Rounding is monotone
// and the flag depends only on the rounded value and on which side of the underflow threshold
// the exact value lies, so every real in [Q − E, Q + E], the exact value included, rounds alike;
// the approximation carried is Q's (ratValue's, within 2^−(p+64) relative), within 2^−21 ulp of
// the exact value. It is meant for Q not dyadic, which is never a value or a midpoint of the
// format, so that it decides as soon as E is below Q's distance to the nearest of them.
func (fi *fmtInfo) decideRat(q *big.Rat, eps ival) (Value, bool) {
	if q == nil || eps.lo == nil || eps.lo.IsInf() || eps.hi.IsInf() {
		return Value{}, false
	}
	mag := new(big.Float).Abs(eps.lo)
	if h := new(big.Float).Abs(eps.hi); h.Cmp(mag) > 0 {
		mag = h
	}
	e := ratStandIn(q, mag)
	if e == nil {
		e, _ = mag.Rat(nil)
	}
	lo := new(big.Rat).Sub(q, e)
	hi := new(big.Rat).Add(q, e)
	if lo.Sign() == 0 || hi.Sign() == 0 || lo.Sign() != hi.Sign() {
		return Value{}, false
	}
	v1, v2 := ratValue(fi.f, lo), ratValue(fi.f, hi)
	if v1.Flag != v2.Flag || v1.Flag == fp.Exact || math.Float64bits(v1.Rounded) != math.Float64bits(v2.Rounded) && !(math.IsNaN(v1.Rounded) && math.IsNaN(v2.Rounded)) {
		return Value{}, false
	}
	// Truncation toward zero keeps a number in its binade (powers of two are representable).
	P := uint(fi.p) + 64
	tlo := new(big.Float).SetPrec(P).SetMode(big.ToZero).SetRat(lo)
	thi := new(big.Float).SetPrec(P).SetMode(big.ToZero).SetRat(hi)
	ue := fi.f.UlpExp(tlo)
	if ue != fi.f.UlpExp(thi) || mag.Sign() != 0 && mag.MantExp(nil) > ue-22 {
		return Value{}, false
	}
	v := Value{Format: fi.f, Rounded: v1.Rounded, Flag: v1.Flag, kind: kindBig, approx: ratValue(fi.f, q).Exact()}
	l64, _ := lo.Float64()
	h64, _ := hi.Float64()
	if l64 == h64 {
		v.has64, v.r64 = true, l64 // Q ± E round alike in float64 too (big.Rat.Float64 is exact RN)
	}
	return v, true
}

// noRatStandIn disables ratStandIn (tests compare decideRat with and without it).
var noRatStandIn bool

// ratStandIn returns a small rational that decideRat can use in place of E = mag (as an exact
// rational) with the same result, or nil. E's rational has E's binary exponent in its
// denominator: 2^1000001 for the E of a row whose other exponentials lie below e^−10^6, and a
// million-bit Q ± E takes milliseconds per entry.
//
// Proof: every point where one of decideRat's tests on Q ± E changes — the sign (0), rounding
// into the format (its values, midpoints, the overflow threshold), the binade (powers of two)
// and rounding to float64 (its values and midpoints, subnormal ones included) — is a multiple of
// 2^K with K = min(e − 58, −1076), 2^(e−1) ≤ |Q| < 2^e (e from a 64-bit rounding of Q, so
// possibly one too high). With Q = n/d in lowest terms, Q·2^−K = n·2^−K/d, and n·2^−K is an
// integer (K < 0), so Q is a multiple of 2^K or lies at least 2^K/d from every multiple. Either
// way no such point lies strictly between Q and Q ± t for 0 < t < 2^K/d, so Q − t and Q + t pass
// or fail every test as Q − E and Q + E do when 0 < E < 2^K/d. The stand-in is 2^K/(2d); E
// below the bound is checked as 2^(me + bitlen(d)) ≤ 2^(K−1) with 2^(me−1) ≤ E < 2^me.
func ratStandIn(q *big.Rat, mag *big.Float) *big.Rat {
	if noRatStandIn || q.Sign() == 0 || mag.Sign() == 0 || mag.IsInf() {
		return nil
	}
	e := new(big.Float).SetPrec(64).SetRat(q).MantExp(nil)
	K := min(int64(e)-58, -1076)
	d := q.Denom()
	if int64(mag.MantExp(nil))+int64(d.BitLen()) > K-1 {
		return nil
	}
	den := new(big.Int).Lsh(d, uint(1-K)) // 2d·2^−K
	return new(big.Rat).SetFrac(big.NewInt(1), den)
}

// decideCenter rounds A + ε when |ε| is below half the quantum q = 2^(e−P) of the P-bit grid
// around A (P = max(bits of A, p + 24), |A| in [2^(e−1), 2^e)): A + ε and the stand-in
// A + sign·q/4 then lie strictly between the same two neighbours of A on that grid (spacing q,
// or q/2 just below a power of two), and no value of the format, no midpoint, no overflow
// threshold and no binade boundary lies strictly between grid neighbours, since they all have at
// most p+1 < P significant bits. So RN(A + ε) = RN(stand-in), with the same flag, and the stand-in
// is within q ≤ 2^−23 ulp of the exact value. For A = 0 the value ±|ε| ≤ 2^−22·MinSubnormal
// rounds to ±0 with Underflow.
func (fi *fmtInfo) decideCenter(c *center) (Value, bool) {
	if c != nil && c.A == nil && c.Q != nil {
		return fi.decideRat(c.Q, c.eps)
	}
	if c == nil || c.sign == 0 || c.A == nil {
		return Value{}, false
	}
	mag := new(big.Float).Abs(c.eps.lo)
	if h := new(big.Float).Abs(c.eps.hi); h.Cmp(mag) > 0 {
		mag = h
	}
	if c.A.Sign() == 0 {
		lim := new(big.Float).SetMantExp(big.NewFloat(fi.minSub), -22)
		if mag.Cmp(lim) > 0 {
			return Value{}, false
		}
		m, _ := c.eps.mid()
		return Value{Format: fi.f, Rounded: math.Copysign(0, float64(c.sign)), Flag: fp.Underflow, kind: kindBig, approx: m}, true
	}
	P := max(int(c.A.MinPrec()), fi.p+24)
	e := c.A.MantExp(nil)
	halfQ := new(big.Float).SetMantExp(big.NewFloat(1), e-P-1)
	if mag.Cmp(halfQ) >= 0 {
		return Value{}, false
	}
	// (SetMantExp gives its result the precision of its argument, so the sum is formed apart.)
	quarter := new(big.Float).SetMantExp(big.NewFloat(float64(c.sign)), e-P-2)
	stand := new(big.Float).SetPrec(uint(P)+4).Add(quarter, c.A)
	r, flag := fi.f.Round(stand)
	v := Value{Format: fi.f, Rounded: r, Flag: flag, kind: kindBig, approx: stand}
	// The same argument on float64's grid (p = 53) decides Value.Float64.
	P64 := max(int(c.A.MinPrec()), 53+24)
	if mag.Cmp(new(big.Float).SetMantExp(big.NewFloat(1), e-P64-1)) < 0 {
		q64 := new(big.Float).SetMantExp(big.NewFloat(float64(c.sign)), e-P64-2)
		v.r64, _ = new(big.Float).SetPrec(uint(P64)+4).Add(q64, c.A).Float64()
		v.has64 = true
	}
	return v, true
}

// dyadic returns q as an exact big.Float when its denominator is a power of two, else nil.
func dyadic(q *big.Rat) *big.Float {
	d := q.Denom()
	if d.BitLen() != int(d.TrailingZeroBits())+1 {
		return nil
	}
	return new(big.Float).SetPrec(uint(max(q.Num().BitLen(), 64))).SetRat(q)
}

// ziv decides out[i] for every i in pending, calling eval(w, i) for the enclosure of element i at
// working precision w. prepare(w) is called once per precision before the elements (for shared
// work such as a row's sum). cen, when not nil, gives for an undecided element a center
// decomposition (or nil) tried with decideCenter. op names the operation in errors.
func ziv(fi *fmtInfo, op string, out []Value, pending []int, prepare func(w uint) error, eval func(w uint, i int) (ival, error), cen func(i int) *center) error {
	for w := startPrecision(fi.f); len(pending) > 0; w = nextPrecision(w) {
		if w > MaxPrecision {
			return capError(op, pending[0])
		}
		if prepare != nil {
			if err := prepare(w); err != nil {
				return err
			}
		}
		rest := pending[:0]
		for _, i := range pending {
			iv, err := eval(w, i)
			if err != nil {
				return err
			}
			if v, ok := fi.decideBig(iv); ok {
				out[i] = v
			} else if v, ok := fi.decideCenter(centerOf(cen, i)); ok {
				out[i] = v
			} else {
				rest = append(rest, i)
			}
		}
		pending = rest
	}
	return nil
}

// noShare makes zivShared decide every entry on its own (tests compare both).
var noShare bool

// noFast disables the float64 fast path (tests compare both paths).
var noFast bool

func centerOf(cen func(i int) *center, i int) *center {
	if cen == nil {
		return nil
	}
	return cen(i)
}

// zivShared is ziv for an operation whose value at entry i is a function of key(i) alone (a
// softmax output of its logit's bits: keys are bits, so that −0 and +0 stay apart where an
// operation might tell them apart): entries of one key have the same enclosures at every precision
// and the same center, so ziv decides each key once, at its first entry in pending, and the
// others get a copy of that entry's Value. Entries for which key reports false are decided on
// their own. The outcome is ziv's on all of pending, error included: entries of one key are
// decided at the same precision, so the first entry still pending at the cap is a key's first.
// Rows of repeated logits (a maximum repeated 512 times) are common among the generators' cases.
func zivShared[K comparable](fi *fmtInfo, op string, out []Value, pending []int, key func(i int) (K, bool), prepare func(w uint) error, eval func(w uint, i int) (ival, error), cen func(i int) *center) error {
	if len(pending) < 2 || noShare {
		return ziv(fi, op, out, pending, prepare, eval, cen)
	}
	first := make(map[K]int, len(pending))
	var reps, dups []int // dups: pairs (entry, its key's first entry)
	for _, i := range pending {
		k, ok := key(i)
		if !ok {
			reps = append(reps, i)
			continue
		}
		if j, seen := first[k]; seen {
			dups = append(dups, i, j)
			continue
		}
		first[k] = i
		reps = append(reps, i)
	}
	err := ziv(fi, op, out, reps, prepare, eval, cen)
	for n := 0; n < len(dups); n += 2 {
		out[dups[n]] = out[dups[n+1]]
	}
	return err
}
