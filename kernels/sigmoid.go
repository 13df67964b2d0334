// This file implements the two-class operations (docs/sigmoid.md): softplus, log-sigmoid, the
// sigmoid and its derivative, binary cross-entropy with logits and its gradient: their
// adapters, their accurate and naive algorithms, and the bundled kernels.

package kernels

import (
	"context"
	"fmt"
	"math"

	"github.com/x448/float16"

	"github.com/ulpcheck/ulpcheck/fp"
)

// sigmoidOps are the elementwise two-class operations, in the order of the Op constants.
var sigmoidOps = []Op{OpSoftplus, OpLogSigmoid, OpSigmoid, OpSigmoidGrad, OpBCEWithLogits, OpBCEWithLogitsGrad}

func init() {
	for o, n := range map[Op]string{OpSoftplus: "softplus", OpLogSigmoid: "logsigmoid", OpSigmoid: "sigmoid",
		OpSigmoidGrad: "sigmoidgrad", OpBCEWithLogits: "bce", OpBCEWithLogitsGrad: "bcegrad"} {
		opNames[o] = n
	}
	registerSigmoidFamily[float32, float32]()
	registerSigmoidFamily[float64, float64]()
	registerSigmoidFamily[float16.Float16, float32]()
	registerSigmoidFamily[uint16, float32]()
}

// IsElementwise reports whether o is one of the elementwise two-class operations (softplus,
// log-sigmoid, sigmoid, its derivative, BCE with logits and its gradient).
func IsElementwise(o Op) bool { return o >= OpSoftplus && o <= OpBCEWithLogitsGrad }

// SoftplusThreshold is F.softplus's default threshold (beta = 1): x itself above it.
const SoftplusThreshold = 20

// BCEOptions are F.binary_cross_entropy_with_logits' options as a kernel receives them.
type BCEOptions struct {
	PosWeight []float64 // per column (len cols), nil = all 1 (Args.CE.Weights)
	Reduction Reduction // Args.CE.Reduction
}

// elementwise adapts fn, which writes f(x_i) into dst for every element (len(dst) == len(x)),
// for the operation op. batch declares a native batch kernel (rows×cols at once).
func elementwise[E Elem](name string, op Op, fn func(dst, x []E) error, opts []Option) *Kernel {
	k := newKernel[E](name, op, true, opts)
	k.Fn = func(_ context.Context, a *Args) ([]float64, error) {
		return run(k, a.Dst, a.Rows*a.Cols, [][]float64{a.X}, func(dst []E, in [][]E) error { return fn(dst, in[0]) })
	}
	return k
}

func scalarMap[E Elem](fn func(E) E) func(dst, x []E) error {
	return func(dst, x []E) error {
		for i, v := range x {
			dst[i] = fn(v)
		}
		return nil
	}
}

// Softplus adapts fn, which writes softplus(x_i) (beta 1, threshold 20) into dst for every
// element of a rows×cols batch (len(dst) == len(x)).
func Softplus[E Elem](name string, fn func(dst, x []E), opts ...Option) *Kernel {
	return elementwise(name, OpSoftplus, noErr2(fn), opts)
}

// SoftplusScalar adapts a scalar softplus.
func SoftplusScalar[E Elem](name string, fn func(x E) E, opts ...Option) *Kernel {
	return elementwise(name, OpSoftplus, scalarMap(fn), opts)
}

// LogSigmoid adapts fn, which writes log σ(x_i) into dst for every element.
func LogSigmoid[E Elem](name string, fn func(dst, x []E), opts ...Option) *Kernel {
	return elementwise(name, OpLogSigmoid, noErr2(fn), opts)
}

// LogSigmoidScalar adapts a scalar log-sigmoid.
func LogSigmoidScalar[E Elem](name string, fn func(x E) E, opts ...Option) *Kernel {
	return elementwise(name, OpLogSigmoid, scalarMap(fn), opts)
}

// Sigmoid adapts fn, which writes σ(x_i) into dst for every element.
func Sigmoid[E Elem](name string, fn func(dst, x []E), opts ...Option) *Kernel {
	return elementwise(name, OpSigmoid, noErr2(fn), opts)
}

// SigmoidScalar adapts a scalar sigmoid.
func SigmoidScalar[E Elem](name string, fn func(x E) E, opts ...Option) *Kernel {
	return elementwise(name, OpSigmoid, scalarMap(fn), opts)
}

// SigmoidGrad adapts fn, which writes σ'(x_i) = σ(x_i)σ(−x_i) into dst for every element.
func SigmoidGrad[E Elem](name string, fn func(dst, x []E), opts ...Option) *Kernel {
	return elementwise(name, OpSigmoidGrad, noErr2(fn), opts)
}

// SigmoidGradScalar adapts a scalar σ'.
func SigmoidGradScalar[E Elem](name string, fn func(x E) E, opts ...Option) *Kernel {
	return elementwise(name, OpSigmoidGrad, scalarMap(fn), opts)
}

func bceKernel[E Elem](name string, op Op, fn func(dst, x, t []E, rows, cols int, opt BCEOptions) error, opts []Option) *Kernel {
	k := newKernel[E](name, op, true, opts)
	k.Fn = func(_ context.Context, a *Args) ([]float64, error) {
		if len(a.Probs) != len(a.X) {
			return nil, fmt.Errorf("%w: BCE needs one target per logit (%d for %d)", ErrUnsupported, len(a.Probs), len(a.X))
		}
		o := BCEOptions{PosWeight: a.CE.Weights, Reduction: a.CE.Reduction}
		return run(k, a.Dst, k.OutLen(a), [][]float64{a.X, a.Probs}, func(dst []E, in [][]E) error {
			return fn(dst, in[0], in[1], a.Rows, a.Cols, o)
		})
	}
	return k
}

// BCEWithLogits adapts fn, which writes F.binary_cross_entropy_with_logits(x, t, pos_weight,
// reduction) of a rows×cols batch into dst (rows·cols values for ReduceNone, else one); t has
// the shape of x, opt.PosWeight one value per column or nil.
func BCEWithLogits[E Elem](name string, fn func(dst, x, t []E, rows, cols int, opt BCEOptions) error, opts ...Option) *Kernel {
	return bceKernel(name, OpBCEWithLogits, fn, opts)
}

// BCEWithLogitsGrad adapts fn, which writes ∂BCE/∂x (rows×cols) into dst.
func BCEWithLogitsGrad[E Elem](name string, fn func(dst, x, t []E, rows, cols int, opt BCEOptions) error, opts ...Option) *Kernel {
	return bceKernel(name, OpBCEWithLogitsGrad, fn, opts)
}

// logF is log in F: math.Log rounded once to F.
func logF[F accum](x F) F { return F(math.Log(float64(x))) }

// softplusPure is max(x, 0) + log1p(exp(−|x|)) in F: every step is stable (exp of a nonpositive
// number cannot overflow; log1p keeps e^−|x| where 1 + e^−|x| rounds to 1). With u the unit
// roundoff of F, |error| ≤ u·(|y| + 2L) + O(u²), L = log1p(e^−|x|) (docs/sigmoid.md).
func softplusPure[F accum](x F) F {
	if x != x {
		return x
	}
	return max(x, 0) + log1pF(expF(-abs(x)))
}

// softplusAcc is F.softplus: x above the threshold, else softplusPure.
func softplusAcc[F accum](x F) F {
	if x > SoftplusThreshold {
		return x
	}
	return softplusPure(x)
}

// softplusNaive is the literal log(1 + exp(x)) in F, without the threshold: exp overflows above
// the exp threshold (88.72 in float32), and 1 + e^x rounds to 1 below −17 (float32) and loses
// e^x. Broken on purpose.
func softplusNaive[F accum](x F) F { return logF(1 + expF(x)) }

// logSigmoidAcc is −softplus(−x) (no threshold).
func logSigmoidAcc[F accum](x F) F { return -softplusPure(-x) }

// logSigmoidNaive is log(1/(1 + exp(−x))): exp(−x) overflows for x < −88.72 (float32), giving
// log 0 = −Inf. Broken on purpose.
func logSigmoidNaive[F accum](x F) F { return logF(1 / (1 + expF(-x))) }

// sigmoidAcc is 1/(1 + e^−x) for x ≥ 0 and e^x/(1 + e^x) below: no overflow, relative error
// ≤ 3u + O(u²).
func sigmoidAcc[F accum](x F) F {
	if x >= 0 {
		return 1 / (1 + expF(-x))
	}
	e := expF(x)
	return e / (1 + e)
}

// sigmoidGradAcc is e/(1 + e)² with e = e^−|x| (σ' is even): relative error ≤ 5u + O(u²).
// Next to x = 0 the rounding can exceed ¼ = max σ' by an ulp; the result is clamped to ¼,
// which only moves it toward the exact value.
func sigmoidGradAcc[F accum](x F) F {
	e := expF(-abs(x))
	d := 1 + e
	return min(e/(d*d), 0.25)
}

// coefTimes returns c·v, and exactly 0 when c = 0 (the limit of a vanishing coefficient on a
// term that is +Inf at x = ±Inf, as xlogy).
func coefTimes[F accum](c, v F) F {
	if c == 0 {
		return 0
	}
	return c * v
}

func posWeight[F accum](o BCEOptions, i, cols int) F {
	if o.PosWeight == nil {
		return 1
	}
	return F(o.PosWeight[i%cols])
}

// bceAcc is the stable per-element loss (1 − t)·softplus(x) + pw·t·softplus(−x), divided by d
// (n for the mean, else 1) before pw multiplies: t·softplus(−x) ≤ softplus(−x) cannot overflow
// and is not rounded through a subnormal pw·t, and the mean of losses near the maximum does not
// overflow.
func bceAcc[F accum](x, t, pw, d F) F {
	if x != x {
		return x
	}
	return coefTimes(1-t, softplusPure(x))/d + coefTimes(pw, coefTimes(t, softplusPure(-x))/d)
}

// bceNaive is −[pw·t·log σ(x) + (1 − t)·log(1 − σ(x))] through σ: once σ(x) rounds to 1
// (x > 17 in float32) log(1 − σ) = −Inf, giving +Inf, or NaN = 0·(−Inf) at t = 1. Broken on
// purpose.
func bceNaive[F accum](x, t, pw, d F) F {
	p := 1 / (1 + expF(-x))
	return -(pw*t*logF(p) + (1-t)*logF(1-p)) / d
}

// bceGradAcc is (1 − t)·σ(x) − pw·t·σ(−x), both sigmoids stable.
func bceGradAcc[F accum](x, t, pw F) F {
	if x != x {
		return x
	}
	return coefTimes(1-t, sigmoidAcc(x)) - coefTimes(pw*t, sigmoidAcc(-x))
}

// bceBatch applies the per-element loss and reduces in F (left to right; the mean as Σ l_i/n),
// rounding once into E.
func bceBatch[E Elem, F accum](elem func(x, t, pw, d F) F) func(dst, x, t []E, rows, cols int, o BCEOptions) error {
	return func(dst, x, t []E, rows, cols int, o BCEOptions) error {
		f := FormatOf[E]()
		d := F(1)
		if o.Reduction == ReduceMean {
			d = F(len(x))
		}
		var s F
		for i := range x {
			l := elem(F(FromNative(x[i])), F(FromNative(t[i])), posWeight[F](o, i, cols), d)
			if o.Reduction == ReduceNone {
				r, _ := f.RoundFloat64(float64(l))
				dst[i] = ToNative[E](r)
				continue
			}
			s += l
		}
		if o.Reduction == ReduceNone {
			return nil
		}
		r, _ := f.RoundFloat64(float64(s))
		dst[0] = ToNative[E](r)
		return nil
	}
}

// bceGradBatch is the gradient, divided by rows·cols for the mean.
func bceGradBatch[E Elem, F accum](dst, x, t []E, rows, cols int, o BCEOptions) error {
	f := FormatOf[E]()
	for i := range x {
		g := bceGradAcc(F(FromNative(x[i])), F(FromNative(t[i])), posWeight[F](o, i, cols))
		if o.Reduction == ReduceMean {
			g /= F(len(x))
		}
		r, _ := f.RoundFloat64(float64(g))
		dst[i] = ToNative[E](r)
	}
	return nil
}

// mapElem computes fn in F on every element and rounds once into E.
func mapElem[E Elem, F accum](fn func(F) F) func(dst, x []E) {
	return func(dst, x []E) {
		f := FormatOf[E]()
		for i, v := range x {
			r, _ := f.RoundFloat64(float64(fn(F(FromNative(v)))))
			dst[i] = ToNative[E](r)
		}
	}
}

func registerSigmoidFamily[E Elem, F accum]() {
	f := FormatOf[E]()
	acc := fp.FP32
	if f == fp.FP64 {
		acc = fp.FP64
	}
	how := fmt.Sprintf("in %s, %s storage", acc, f)
	if f == acc {
		how = "in " + f.String()
	}
	name := func(op, alg string) string { return op + "/" + alg + "/" + f.String() }
	opt := func(extra ...Option) []Option { return append([]Option{WithAcc(acc)}, extra...) }
	reg := func(n string, mk func(n string) *Kernel) { register(n, func() *Kernel { return mk(n) }) }

	reg(name("softplus", "stable"), func(n string) *Kernel {
		return Softplus(n, mapElem[E](softplusAcc[F]), opt(WithDoc("Stable softplus "+how+": x for x > 20, else max(x,0) + log1p(exp(−|x|)). Bound: u·(|y| + 2·log1p(e^−|x|))."))...)
	})
	reg(name("softplus", "naive"), func(n string) *Kernel {
		return Softplus(n, mapElem[E](softplusNaive[F]), opt(Broken("log(1 + exp(x)): exp overflows for x > 88.7 (fp32 arithmetic), and 1 + e^x rounds to 1 for negative x"),
			WithDoc("Naive softplus "+how+": log(1 + exp(x)), no threshold."))...)
	})
	reg(name("logsigmoid", "stable"), func(n string) *Kernel {
		return LogSigmoid(n, mapElem[E](logSigmoidAcc[F]), opt(WithDoc("Stable log-sigmoid "+how+": −(max(−x,0) + log1p(exp(−|x|))). Bound: u·(|y| + 2·log1p(e^−|x|))."))...)
	})
	reg(name("logsigmoid", "naive"), func(n string) *Kernel {
		return LogSigmoid(n, mapElem[E](logSigmoidNaive[F]), opt(Broken("log(1/(1 + exp(−x))): exp(−x) overflows for very negative x, giving log 0 = −Inf (overflow), and underflows for large x, giving 0 where log σ(x) ≈ −e^−x is representable (underflow)"),
			WithDoc("Naive log-sigmoid "+how+": log(1/(1 + exp(−x)))."))...)
	})
	reg(name("sigmoid", "stable"), func(n string) *Kernel {
		return Sigmoid(n, mapElem[E](sigmoidAcc[F]), opt(WithDoc("Stable sigmoid "+how+": 1/(1 + e^−x) for x ≥ 0, e^x/(1 + e^x) below. Bound: 3u relative."))...)
	})
	reg(name("sigmoidgrad", "stable"), func(n string) *Kernel {
		return SigmoidGrad(n, mapElem[E](sigmoidGradAcc[F]), opt(WithDoc("σ'(x) "+how+" as e/(1 + e)², e = e^−|x|. Bound: 5u relative."))...)
	})
	reg(name("bce", "stable"), func(n string) *Kernel {
		return BCEWithLogits(n, bceBatch[E, F](bceAcc[F]), opt(WithDoc("BCE with logits "+how+": (1−t)·softplus(x) + pw·t·softplus(−x), both stable, summed left to right."))...)
	})
	reg(name("bce", "naive"), func(n string) *Kernel {
		return BCEWithLogits(n, bceBatch[E, F](bceNaive[F]), opt(Broken("BCE through σ then log: log(1 − σ(x)) = −Inf once σ(x) rounds to 1, NaN = 0·(−Inf) at t = 1"),
			WithDoc("Naive BCE "+how+": −[pw·t·log σ(x) + (1−t)·log(1 − σ(x))]."))...)
	})
	reg(name("bcegrad", "stable"), func(n string) *Kernel {
		return BCEWithLogitsGrad(n, bceGradBatch[E, F], opt(WithDoc("∂BCE/∂x "+how+": (1−t)·σ(x) − pw·t·σ(−x), both sigmoids stable."))...)
	})
}
