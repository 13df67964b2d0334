// This file implements the correctly rounded log-sum-exp and log-softmax of a row.

package oracle

import (
	"math"
	"math/big"

	"github.com/ulpcheck/ulpcheck/fp"
)

// LSE returns log Σ_i e^(x_i), correctly rounded into f and carrying the exact value to within
// 2^−21 ulp. The inputs are taken as exact reals.
//
// Special cases are (NUMERICS §5, §6):
//
//	any NaN in x: NaN
//	any +Inf in x (and no NaN): +Inf
//	every entry −Inf, or len(x) = 0: −Inf
//	exactly one finite entry x_k: x_k rounded into f (exact: the only rational case); +0 for x_k = ±0
//
// Method: m + log1p(Σ_{i≠k} e^(x_i − m)) with m = x_k the maximum, in float64 with a proven
// bound (decides most outputs of formats up to fp32), else Ziv's loop on interval enclosures.
// The error is returned only for an invalid format or at the precision cap (never expected:
// the value is transcendental, and nonzero).
func LSE(f fp.Format, x []float64) (Value, error) {
	fi, err := newFmtInfo(f)
	if err != nil {
		return Value{}, err
	}
	var v [1]Value
	return v[0], lseRow(fi, x, v[:], nil)
}

// lseRow sets out[0] to LSE(x). t is scratch of len(x) or nil.
func lseRow(fi *fmtInfo, x []float64, out []Value, t []float64) error {
	f := fi.f
	ri := analyze(x)
	switch {
	case ri.nan:
		out[0] = nanValue(f)
		return nil
	case ri.posInf:
		out[0] = floatValue(f, math.Inf(1))
		return nil
	case ri.nFinite == 0:
		out[0] = floatValue(f, math.Inf(-1))
		return nil
	case ri.nFinite == 1:
		// log e^x_k = x_k exactly; for x_k = ±0 that is log 1 = +0 (IEEE 754 log(1) = +0, and
		// PyTorch's logsumexp of [−0] is +0), never −0.
		m := ri.m
		if m == 0 {
			m = 0
		}
		out[0] = floatValue(f, m)
		return nil
	}
	if fi.fast {
		if t == nil {
			var tp *[]float64
			tp, t = getF64(len(x))
			defer putF64(tp)
		}
		if fr, ok := fastSum(x, ri, t); ok {
			y := fr.m + fr.L
			if v, ok := fi.accept64(y, (fr.eL+u53*math.Abs(y))*grow); ok {
				out[0] = v
				return nil
			}
		}
	}
	br := newBigRow(x, ri.m)
	return ziv(fi, "LSE", out, []int{0},
		func(w uint) error { br.prepare(w); return nil },
		func(w uint, _ int) (ival, error) { return br.lse(), nil },
		func(int) *center { return &center{A: new(big.Float).SetFloat64(ri.m), eps: br.logS(), sign: 1} })
}

// LogSoftmax returns log softmax(x)_i = x_i − LSE(x) for every i, each correctly rounded into f
// and carrying the exact value to within 2^−21 ulp. The inputs are taken as exact reals.
//
// Special cases are (NUMERICS §5, §6):
//
//	any NaN or +Inf in x: every output NaN
//	every entry −Inf (fully masked): NaN everywhere (pol = fp.MaskNaN) or −Inf (pol = fp.MaskZero)
//	−Inf entries of a row with finite entries: −Inf
//	exactly one finite entry: +0 there (exact)
//	len(x) = 0: an empty result
//
// Method: (x_i − m) − log1p(s) in float64 with a proven bound, else Ziv's loop on interval
// enclosures; the error is returned only for an invalid format or at the precision cap.
func LogSoftmax(f fp.Format, x []float64, pol fp.MaskPolicy) ([]Value, error) {
	fi, err := newFmtInfo(f)
	if err != nil {
		return nil, err
	}
	out := make([]Value, len(x))
	return out, logSoftmaxRow(fi, x, pol, out)
}

// AppendLogSoftmax appends LogSoftmax(f, x, pol) to dst and returns the extended slice, reusing
// dst's capacity (see AppendSoftmax). On an error dst is returned as it was.
func AppendLogSoftmax(dst []Value, f fp.Format, x []float64, pol fp.MaskPolicy) ([]Value, error) {
	return appendRow(dst, f, x, pol, logSoftmaxRow)
}

func logSoftmaxRow(fi *fmtInfo, x []float64, pol fp.MaskPolicy, out []Value) error {
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
			out[i] = floatValue(f, math.Inf(-1))
		}
		return nil
	case ri.nFinite == 1:
		for i := range out {
			if i == ri.argmax {
				out[i] = zeroValue(f)
			} else {
				out[i] = floatValue(f, math.Inf(-1))
			}
		}
		return nil
	}
	var pending []int
	var fr fastRow
	ok := false
	if fi.fast {
		tp, t := getF64(len(x))
		fr, ok = fastSum(x, ri, t)
		putF64(tp)
	}
	for i, xi := range x {
		if math.IsInf(xi, -1) {
			out[i] = floatValue(f, xi)
			continue
		}
		if ok {
			dh, dl := twoSum(xi, -ri.m)
			z := (dh - fr.L) + dl
			// |ẑ − z| ≤ e_L + u|dh − L̂| + u|ẑ| ≤ e_L + 2^−51|ẑ| (|dl| ≤ u|dh|).
			if !math.IsInf(dh, 0) {
				if v, ok := fi.accept64(z, (fr.eL+0x1p-51*math.Abs(z))*grow); ok {
					out[i] = v
					continue
				}
			}
		}
		pending = append(pending, i)
	}
	if len(pending) == 0 {
		return nil
	}
	br := newBigRow(x, ri.m)
	return zivShared(fi, "LogSoftmax", out, pending, func(i int) (uint64, bool) { return math.Float64bits(x[i]), true },
		func(w uint) error { br.prepare(w); return nil },
		func(w uint, i int) (ival, error) { return br.logp(i), nil },
		func(i int) *center { return &center{A: br.exactDiff(i), eps: ivNeg(br.logS()), sign: -1} })
}
