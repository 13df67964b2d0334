// This file implements the correctly rounded softmax of a row.

package oracle

import (
	"math"
	"math/big"

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
	if fi.fast {
		// t_i is kept in out[i].a64 until out[i] is decided.
		tp, t := getF64(len(x))
		defer putF64(tp)
		fr, ok := fastSum(x, ri, t)
		S := 1 + fr.s
		// |S − Ŝ| ≤ e_s + u·Ŝ; y = t/S has relative error ≤ epsT + |S−Ŝ|/Ŝ + u (the division).
		rel := (epsT + (fr.e+u53*S)/S + u53) * grow
		for i, ti := range t {
			switch {
			case ti == 0:
				o := &out[i]
				o.Format, o.Flag, o.kind = f, fp.Exact, kindF64 // +0, exactly
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
	if fi.fast && len(pending) > 0 && !noDD {
		pending = ddSoftmax(fi, x, ri, out, pending)
	}
	if len(pending) == 0 {
		return nil
	}
	br := newBigRow(x, ri.m)
	return ziv(fi, "Softmax", out, pending,
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
