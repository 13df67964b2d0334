// This file implements the two-class case of log-sum-exp: softplus, log-sigmoid, the sigmoid and
// its derivative, and PyTorch's binary_cross_entropy_with_logits and its gradient, each correctly
// rounded (docs/sigmoid.md).
//
// Every one of them is an existing row operation on the two-entry row [0, x], whose oracle is
// already correctly rounded, so no new transcendental code is needed:
//
//	softplus(x)  = LSE(0, x)                      log σ(x) = −LSE(0, −x)
//	σ(x)         = softmax(0, x)_1                σ'(x)    = σ(x)σ(−x) = softmax backward of
//	                                                          [0, x] with dy = [0, 1], entry 1
//	BCE(x, t)    = (1−t)·softplus(x) + pw·t·softplus(−x)
//	             = cross-entropy of [0, x] with coefficients a = [1−t, pw·t]
//	∂BCE/∂x      = (1−t)σ(x) − pw·t·σ(−x) = entry 1 of the cross-entropy gradient of that row
//
// The coefficients are exact rationals (big.Rat), so 1 − t is never rounded.

package oracle

import (
	"fmt"
	"math"
	"math/big"

	"github.com/ulpcheck/ulpcheck/fp"
)

// SoftplusThreshold is PyTorch's default threshold of F.softplus (with beta = 1): for x > 20
// the function is defined as x itself.
const SoftplusThreshold = 20

// negValue returns the Value of −(the exact value of v): rounding to nearest is symmetric, so
// RN(−y) = −RN(y) with the same flag.
func negValue(v Value) Value {
	if v.kind == kindOneMinus { // its a64 is not the approximation's float64
		v.kind, v.approx, v.a64 = kindBig, v.Exact(), 0
	}
	w := v
	w.Rounded = -v.Rounded
	w.a64 = -v.a64
	w.r64 = -v.r64
	if v.approx != nil {
		w.approx = new(big.Float).Neg(v.approx)
	}
	if v.kind == kindF64 && v.a64 == 0 || v.kind == kindBig && v.approx != nil && v.approx.Sign() == 0 {
		return zeroValue(v.Format) // exact zeros are +0
	}
	return w
}

// Softplus returns PyTorch's F.softplus(x, beta=1, threshold) of every element, correctly
// rounded into f: x where x > threshold (the linear branch is part of the definition), else
// log(1 + e^x). threshold = +Inf gives the mathematical softplus.
//
// Special cases: NaN gives NaN; +Inf gives +Inf; −Inf gives +0; x = 0 gives log 2 (rounded).
func Softplus(f fp.Format, x []float64, threshold float64) ([]Value, error) {
	fi, err := newFmtInfo(f)
	if err != nil {
		return nil, err
	}
	out := make([]Value, len(x))
	for i, xi := range x {
		switch {
		case math.IsNaN(xi):
			out[i] = nanValue(f)
		case xi > threshold || math.IsInf(xi, 1):
			out[i] = floatValue(f, xi)
		case math.IsInf(xi, -1):
			out[i] = zeroValue(f)
		default:
			if err := lseRow(fi, []float64{0, xi}, out[i:i+1], nil); err != nil {
				return nil, fmt.Errorf("oracle: Softplus: element %d: %w", i, err)
			}
		}
	}
	return out, nil
}

// LogSigmoid returns F.logsigmoid(x) = log σ(x) = −log(1 + e^(−x)) of every element, correctly
// rounded into f. Special cases: NaN gives NaN; +Inf gives +0; −Inf gives −Inf.
func LogSigmoid(f fp.Format, x []float64) ([]Value, error) {
	fi, err := newFmtInfo(f)
	if err != nil {
		return nil, err
	}
	out := make([]Value, len(x))
	for i, xi := range x {
		switch {
		case math.IsNaN(xi):
			out[i] = nanValue(f)
		case math.IsInf(xi, 1):
			out[i] = zeroValue(f)
		case math.IsInf(xi, -1):
			out[i] = floatValue(f, xi)
		default:
			var v [1]Value
			if err := lseRow(fi, []float64{0, -xi}, v[:], nil); err != nil {
				return nil, fmt.Errorf("oracle: LogSigmoid: element %d: %w", i, err)
			}
			out[i] = negValue(v[0])
		}
	}
	return out, nil
}

// Sigmoid returns torch.sigmoid(x) = 1/(1 + e^(−x)) of every element, correctly rounded into f.
// Special cases: NaN gives NaN; +Inf gives 1; −Inf gives +0; x = 0 gives ½ exactly. Values that
// round to 1 (x above about (p+1)·log 2) are decided like any other.
func Sigmoid(f fp.Format, x []float64) ([]Value, error) {
	fi, err := newFmtInfo(f)
	if err != nil {
		return nil, err
	}
	out := make([]Value, len(x))
	for i, xi := range x {
		switch {
		case math.IsNaN(xi):
			out[i] = nanValue(f)
		case math.IsInf(xi, 1):
			out[i] = ratValue(f, big.NewRat(1, 1))
		case math.IsInf(xi, -1):
			out[i] = zeroValue(f)
		default:
			var v [2]Value
			if err := softmaxRow(fi, []float64{0, xi}, fp.MaskNaN, v[:]); err != nil {
				return nil, fmt.Errorf("oracle: Sigmoid: element %d: %w", i, err)
			}
			out[i] = v[1]
		}
	}
	return out, nil
}

// SigmoidGrad returns σ'(x) = σ(x)·σ(−x) of every element, correctly rounded into f (the
// derivative of Sigmoid; the derivative of Softplus is Sigmoid, that of LogSigmoid is σ(−x)).
// Special cases: NaN gives NaN; ±Inf give +0; x = 0 gives ¼ exactly.
func SigmoidGrad(f fp.Format, x []float64) ([]Value, error) {
	fi, err := newFmtInfo(f)
	if err != nil {
		return nil, err
	}
	out := make([]Value, len(x))
	for i, xi := range x {
		switch {
		case math.IsNaN(xi):
			out[i] = nanValue(f)
		case math.IsInf(xi, 0):
			out[i] = zeroValue(f)
		default:
			var v [2]Value
			if err := backwardRow(fi, []float64{0, xi}, []float64{0, 1}, fp.MaskNaN, v[:]); err != nil {
				return nil, fmt.Errorf("oracle: SigmoidGrad: element %d: %w", i, err)
			}
			out[i] = v[1]
		}
	}
	return out, nil
}

// BCEOptions are F.binary_cross_entropy_with_logits' options.
type BCEOptions struct {
	PosWeight []float64 // per class (the last dimension, len = cols), nil = all 1; finite
	Reduction Reduction // mean (over every element), sum or none
}

// bceRows builds, for every element, the cross-entropy row [0, x] with coefficients
// [1 − t, pw·t] (or the equivalent row [−Inf, 0] for x = +Inf, the limit x → +Inf).
func bceRows(op string, x, t []float64, rows, cols int, opt *BCEOptions) ([]ceRow, *big.Rat, error) {
	if err := checkShape(op, len(x), rows, cols); err != nil {
		return nil, nil, err
	}
	if len(t) != len(x) {
		return nil, nil, fmt.Errorf("oracle: %s: %d targets for %d logits", op, len(t), len(x))
	}
	if opt.PosWeight != nil && len(opt.PosWeight) != cols {
		return nil, nil, fmt.Errorf("oracle: %s: %d pos_weight values for %d columns", op, len(opt.PosWeight), cols)
	}
	for c, w := range opt.PosWeight {
		if math.IsNaN(w) || math.IsInf(w, 0) {
			return nil, nil, fmt.Errorf("oracle: %s: pos_weight %d is %v", op, c, w)
		}
	}
	rs := make([]ceRow, len(x))
	one := big.NewRat(1, 1)
	for i, xi := range x {
		r := &rs[i]
		if math.IsInf(xi, 1) {
			r.x = []float64{math.Inf(-1), 0}
		} else {
			r.x = []float64{0, xi}
		}
		r.denom = one
		if ti := t[i]; math.IsNaN(ti) || math.IsInf(ti, 0) {
			r.a = []*big.Rat{nil, nil}
			r.finish()
			r.nan = true
			continue
		}
		tr := ratOf(t[i])
		pw := one
		if opt.PosWeight != nil {
			pw = ratOf(opt.PosWeight[i%cols])
		}
		r.a = []*big.Rat{new(big.Rat).Sub(one, tr), new(big.Rat).Mul(pw, tr)}
		r.finish()
	}
	return rs, big.NewRat(int64(len(x)), 1), nil
}

// BCEWithLogits returns PyTorch's F.binary_cross_entropy_with_logits(x, t, pos_weight,
// reduction) (weight = None), correctly rounded into f: rows×cols values for ReduceNone, else
// one. With pw the pos_weight of the element's column:
//
//	loss = (1 − t)·softplus(x) + pw·t·softplus(−x)   (= −[pw·t·log σ(x) + (1−t)·log(1−σ(x))])
//	sum = Σ loss;  mean = sum / (rows·cols)
//
// Special cases: a NaN logit or a non-finite target gives NaN; x = ±Inf gives the limit
// (+Inf when the coefficient of the diverging term is nonzero, else exactly 0: x = +Inf with
// t = 1, x = −Inf with t = 0); mean over no element: NaN; ±Inf of both signs in a sum (negative
// pos_weight or targets outside [0, 1]): NaN. Targets need not lie in [0, 1]. Rational results
// (no transcendental term) are exact.
func BCEWithLogits(f fp.Format, x, t []float64, rows, cols int, opt BCEOptions) ([]Value, error) {
	fi, err := newFmtInfo(f)
	if err != nil {
		return nil, err
	}
	rs, D, err := bceRows("BCEWithLogits", x, t, rows, cols, &opt)
	if err != nil {
		return nil, err
	}
	return ceLoss(fi, "BCEWithLogits", rs, D, opt.Reduction)
}

// BCEWithLogitsGrad returns the gradient of BCEWithLogits with respect to the logits, rows×cols,
// each element correctly rounded into f:
//
//	∂/∂x = ((1 − t)·σ(x) − pw·t·σ(−x)) / D,   D = rows·cols for ReduceMean, else 1
//
// Special cases: a NaN logit or a non-finite target gives NaN; x = +Inf gives (1 − t)/D and
// x = −Inf gives −pw·t/D, exactly (the limits); σ(0) = ½ makes x = 0 exact.
func BCEWithLogitsGrad(f fp.Format, x, t []float64, rows, cols int, opt BCEOptions) ([]Value, error) {
	fi, err := newFmtInfo(f)
	if err != nil {
		return nil, err
	}
	rs, D, err := bceRows("BCEWithLogitsGrad", x, t, rows, cols, &opt)
	if err != nil {
		return nil, err
	}
	if opt.Reduction != ReduceMean {
		D = big.NewRat(1, 1)
	}
	g, err := ceGrad(fi, "BCEWithLogitsGrad", rs, 2, D)
	if err != nil {
		return nil, err
	}
	out := make([]Value, len(x))
	for i := range out {
		out[i] = g[2*i+1]
	}
	return out, nil
}
