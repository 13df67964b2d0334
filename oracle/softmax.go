// This file implements the correctly rounded softmax of a row.

package oracle

import (
	"math"
	"math/big"
	"slices"

	"github.com/ulpcheck/ulpcheck/fp"
)

// Softmax returns softmax(x)_i = e^(x_i) / Σ_j e^(x_j) for every i, each correctly rounded into f
// (round to nearest, ties to even, once) and carrying the exact value to within 2^−21 ulp. The
// inputs are taken as exact reals; they need not be values of f.
//
// Special cases are (NUMERICS §5, §6):
//
//	any NaN in x: every output NaN
//	any +Inf in x: every output NaN
//	every entry −Inf (fully masked): NaN everywhere (pol = fp.MaskNaN) or +0 (pol = fp.MaskZero)
//	−Inf entries of a row with finite entries: exactly +0
//	all finite entries equal (k of them): exactly 1/k, rounded once (a rational, possibly a midpoint)
//	len(x) = 0: an empty result
//
// Method: a float64 evaluation with a proven error bound (fast.go) decides most fp16, bf16, fp32
// and fp8 outputs; a double-double one with a proven bound near 2^−84 relative (dd.go,
// ddsoftmax.go) decides almost all of the rest; the others, and every fp64 output, are decided
// by Ziv's loop on interval
// enclosures sharing one sum per precision. The error is returned only for an invalid format or
// when the loop reaches MaxPrecision (never expected: a non-constant row's softmax is
// transcendental).
func Softmax(f fp.Format, x []float64, pol fp.MaskPolicy) ([]Value, error) {
	fi, err := newFmtInfo(f)
	if err != nil {
		return nil, err
	}
	out := make([]Value, len(x))
	return out, softmaxRow(fi, x, pol, out)
}

// AppendSoftmax appends Softmax(f, x, pol) to dst and returns the extended slice, reusing dst's
// capacity: a caller answering row after row (the oracle command) allocates no result per row.
// On an error dst is returned as it was.
func AppendSoftmax(dst []Value, f fp.Format, x []float64, pol fp.MaskPolicy) ([]Value, error) {
	return appendRow(dst, f, x, pol, softmaxRow)
}

// appendRow appends row's len(x) results to dst (see AppendSoftmax).
func appendRow(dst []Value, f fp.Format, x []float64, pol fp.MaskPolicy,
	row func(*fmtInfo, []float64, fp.MaskPolicy, []Value) error) ([]Value, error) {
	fi, err := newFmtInfo(f)
	if err != nil {
		return dst, err
	}
	n := len(dst)
	out := slices.Grow(dst, len(x))[:n+len(x)]
	clear(out[n:]) // the row functions start from zero Values, as make gives them
	if err := row(fi, x, pol, out[n:]); err != nil {
		return dst, err
	}
	return out, nil
}

func softmaxRow(fi *fmtInfo, x []float64, pol fp.MaskPolicy, out []Value) error {
	f := fi.f
	ri := analyze(x)
	switch {
	case ri.nan || ri.posInf || (ri.nFinite == 0 && pol == fp.MaskNaN):
		for i := range out {
			out[i] = nanValue(f)
		}
		return nil
	case ri.nFinite == 0:
		for i := range out {
			out[i] = zeroValue(f)
		}
		return nil
	case ri.allEqual:
		v := ratValue(f, big.NewRat(1, int64(ri.nFinite)))
		for i, xi := range x {
			if math.IsInf(xi, -1) {
				out[i] = zeroValue(f)
			} else {
				out[i] = v
			}
		}
		return nil
	}
	var pending []int
	var fr fastRow
	fastOK := false
	if fi.fast {
		// t_i is kept in out[i].a64 until out[i] is decided.
		tp, t := getF64(len(x))
		defer putF64(tp)
		var ok bool
		fr, ok = fastSum(x, ri, t)
		fastOK = ok
		S := 1 + fr.s
		// |S − Ŝ| ≤ e_s + u·Ŝ; y = t/S has relative error ≤ epsT + |S−Ŝ|/Ŝ + u (the division).
		rel := (epsT + (fr.e+u53*S)/S + u53) * grow
		for i, ti := range t {
			switch {
			case ti == 0:
				o := &out[i]
				o.Format, o.Flag, o.kind = f, fp.Exact, kindF64 // +0, exactly
				continue
			case ti < 0 && x[i]-ri.m < farBelow:
				// y_i = e^(x_i−m)/S < e^−746 with S ≥ 1: far below half the smallest subnormal
				// of any format the fast path serves, and below 2^−1076, so its float64 is +0.
				o := &out[i]
				o.Format, o.Flag, o.kind, o.has64 = f, fp.Underflow, kindExp2, true
				o.a64, o.e2 = farBelowApprox(x[i], ri.m, S)
				continue
			case ti < 0 && ok:
				// Dropped from the sum: fl(x_i − m) < −600, so x_i − m < −600 and
				// y_i < e^−600 < 2^−865, far below half the smallest subnormal (2^−150 or more) of
				// every format the fast path serves: +0 there too, with the underflow flag. Its
				// float64 is not +0, so r64 is not set.
				o := &out[i]
				o.Format, o.Flag, o.kind = f, fp.Underflow, kindExp2
				o.a64, o.e2 = farBelowApprox(x[i], ri.m, S)
				continue
			case ti < 0 || !ok:
				pending = append(pending, i)
				continue
			}
			// As accept64, written field by field: out is fresh, and leaving its pointer field
			// untouched keeps the GC write barrier out of the loop.
			y := ti / S
			e := y*rel + y*0x1p-52
			if r, flag, ok := fi.decide64(y-e, y+e); ok {
				o := &out[i]
				o.Format, o.Rounded, o.Flag, o.kind, o.a64 = f, r, flag, kindF64, y
			} else {
				pending = append(pending, i)
			}
		}
	} else {
		for i, xi := range x {
			if math.IsInf(xi, -1) {
				out[i] = zeroValue(f)
			} else {
				pending = append(pending, i)
			}
		}
	}
	if fi.fast && fastOK && len(pending) > 0 && pending[len(pending)-1] >= ri.argmax {
		pending = nearOne(fi, x, ri, fr.s, fr.e, out, pending)
	}
	if fi.fast && len(pending) > 0 && !noDD {
		pending = ddSoftmax(fi, x, ri, out, pending)
	}
	if len(pending) == 0 || fi.fast && tiedMaxima(fi, x, ri, out, pending) {
		return nil
	}
	br := newBigRow(x, ri.m)
	return zivShared(fi, "Softmax", out, pending, func(i int) (uint64, bool) { return math.Float64bits(x[i]), true },
		func(w uint) error { br.prepare(w); return nil },
		func(w uint, i int) (ival, error) { return br.y(i), nil },
		func(i int) *center {
			// An entry equal to the maximum has softmax 1/k − s/(k·S); 1/k is dyadic when k is a power of two.
			if x[i] != ri.m || br.k&(br.k-1) != 0 {
				return nil
			}
			return &center{A: new(big.Float).SetMantExp(big.NewFloat(1), -bitsLen(br.k)+1), eps: ivNeg(br.yDefect()), sign: -1}
		})
}

// nearOne decides the maximum's output y = 1/(1 + s) = 1 − δ of a row with one maximum whose
// other exponentials sum to s < 2^−(p+1) (the fast path's ŝ + e_s bounds s): y lies strictly
// between the midpoint 1 − 2^−(p+1) and 1, so it rounds to 1, inexact (δ > 0: the row has
// another finite entry). The fast path cannot decide it, its enclosure straddling the binade
// boundary at 1, and it is common (a dominant logit); the exact path would evaluate every
// exponential of the row in big arithmetic. The approximation is 1 − δ̂, δ̂ = ŝ − ŝ² (within
// 2^−48 relative of δ, a positive stand-in when every exponential was dropped), rounded toward
// zero to 64 bits: below 1, in y's binade, within 2^−40 ulp of y (the Value carries δ̂ and
// builds it when asked, kindOneMinus). It returns pending without the maximum when it decides it.
func nearOne(fi *fmtInfo, x []float64, ri rowInfo, s, e float64, out []Value, pending []int) []int {
	j := -1
	for k, i := range pending {
		if i == ri.argmax {
			j = k
			break
		}
	}
	if j < 0 || ri.nFinite < 2 || !(s+e < math.Ldexp(1, -(fi.p+1))) {
		return pending
	}
	for i, xi := range x {
		if xi == ri.m && i != ri.argmax {
			return pending // another maximum: y = 1/(k + s′)
		}
	}
	d := s - s*s
	if !(d > 0) {
		d = 0x1p-1074
	}
	v := Value{Format: fi.f, Rounded: 1, Flag: fp.Inexact, kind: kindOneMinus, a64: d} // approximation oneMinus(d)
	// y's float64, where the enclosure 1 − δ̂(1 ± 2^−44) decides it (RN is monotone; the two
	// subtractions round the ends, the widening by 2^−44 covers δ̂'s error and the rounding of
	// the ends themselves). With the stand-in δ̂ = 2^−1074, δ ≤ n·2^−860 and both ends give 1,
	// which is RN(1 − δ).
	if w := d*0x1p-44 + 0x1p-1074; 1-(d+w) == 1-(d-w) {
		v.has64, v.r64 = true, 1-(d+w)
	}
	out[ri.argmax] = v
	return append(pending[:j], pending[j+1:]...)
}

// farBelowApprox returns the approximation of y = e^(x−m)/S for an output decided as far below
// (x − m < −600, S ≥ 1 the fast path's sum) as mant·2^e with mant in [1, 2): 2^t with
// t = (x − m − log S)·log₂e, within a relative 2^−30 of y, which is within 2^−21 ulp of y in every
// format (y is far below the subnormal spacing) and good to 9 significant digits when printed.
// Below e^−10^6 it is 2^−1000001, as the exact path carries such exponentials (expThreshold).
// The Value holds the pair (kindExp2) and builds the big.Float only when asked for it.
func farBelowApprox(x, m, S float64) (mant float64, e int32) {
	dh, dl := twoSum(x, -m)
	L := dh + (dl - math.Log(S))
	if !(L >= -expThreshold) {
		return 1, -1000001
	}
	t := L * math.Log2E
	fe := math.Floor(t)
	return math.Exp2(t - fe), int32(fe)
}

// noTied disables tiedMaxima (tests compare both).
var noTied bool

// tiedMaxima decides the entries of pending, which must all equal the maximum, of a row whose
// maximum appears k times (k ≥ 2 a power of two, 1/k above the format's smallest normal) and whose
// other exponentials are negligible: y = 1/(k + s), just below 1/k. Its fast paths cannot decide
// it (the enclosure straddles 1/k, a value of the format and a binade boundary), and Ziv's loop
// would evaluate every exponential of the row in big arithmetic, only to decide it by the center
// 1/k (decideCenter). It gives the Value Ziv's loop gives, and returns false when it cannot
// prove that it does.
//
// Proof. With the float64 bound B ≥ s of the other entries' sum (each e^(x_j − m) ≤
// e^(fl(x_j − m))·(1 + 2^−40) for fl(x_j − m) ≥ −701, and ≤ 2^−1000 below, e^−700 < 2^−1009;
// then doubled, which covers the enclosures' own widening, far below a factor 2), Ziv's first
// precision w₀ and its internal precision iw (bigRow.iw) and B < 2^(j − iw − 2), k = 2^j:
// the enclosure S.lo = RD(k + s.lo) at iw bits is k, since s.lo ≤ B is below half k's quantum;
// so the enclosure's upper end RU(t.hi/S.lo), t.hi ≥ 1 = e^0, is at least 1/k, while the exact
// y is below 1/k: the two ends lie in different binades of the format (the binade below 1/k is
// normal), and decideBig fails. decideCenter then gets A = 1/k and ε = −s/(k·S) with
// |ε| ≤ RU(s.hi/k²) ≤ B/k², and its result depends on |ε| only through its two comparisons with
// 2^(e−P−1) and 2^(e−78), e = 1 − j; with B/k² below both, they pass for the enclosure's |ε| too,
// so decideCenter called with the stand-in ε = −B/k² returns the same Value.
func tiedMaxima(fi *fmtInfo, x []float64, ri rowInfo, out []Value, pending []int) bool {
	if noTied || ri.allEqual {
		return false // (a row of equal logits is rational, decided by softmaxRow)
	}
	m := ri.m
	for _, i := range pending {
		if x[i] != m {
			return false
		}
	}
	k := 0
	B := 0.0
	for _, xj := range x {
		switch d := xj - m; {
		case xj == m:
			k++
		case math.IsInf(xj, -1):
		case d >= -701:
			B += math.Exp(d) * (1 + 0x1p-40)
		default:
			B += 0x1p-1000
		}
	}
	B *= 2
	j := bitsLen(k) - 1
	if k < 2 || k&(k-1) != 0 || !(math.Ldexp(1, -j) > fi.minNormal) {
		return false
	}
	iw := int(internalPrecision(startPrecision(fi.f), len(x)))
	if !(B < math.Ldexp(1, j-iw-2)) || !(B < math.Ldexp(1, j-78)) {
		return false
	}
	eps := new(big.Float).SetFloat64(-math.Ldexp(B, -2*j))
	A := new(big.Float).SetMantExp(big.NewFloat(1), -j)
	v, ok := fi.decideCenter(&center{A: A, eps: ival{lo: eps, hi: eps}, sign: -1})
	if !ok {
		return false
	}
	for _, i := range pending {
		out[i] = v
	}
	return true
}
