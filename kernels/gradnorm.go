// This file implements the gradient-norm operations (docs/gradnorm.md): the total norm of a list
// of tensors (get_total_norm), clip_grad_norm_ and clip_grad_value_: their adapters, an
// overflow-safe norm (Blue's scaled accumulation, as LAPACK's nrm2), fp32-accumulating norms of
// fp16 and bf16 gradients, a naive fp16 sum of squares broken on purpose, and the bundled kernels.
//
// A call's tensors are the rows of Args.X (Rows tensors of Cols elements each); its options are
// Args.Norm.

package kernels

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/x448/float16"

	"github.com/ulpcheck/ulpcheck/fp"
	"github.com/ulpcheck/ulpcheck/loss"
)

// NormOptions are the gradient-norm options (defined once in package loss).
type NormOptions = loss.NormOptions

// gradnormOps are the gradient-norm operations, in the order of the Op constants.
var gradnormOps = []Op{OpGradNorm, OpClipGradNorm, OpClipGradValue}

func init() {
	opNames[OpGradNorm], opNames[OpClipGradNorm], opNames[OpClipGradValue] = "gradnorm", "clipnorm", "clipvalue"
	registerGradNorm[float32, float32]()
	registerGradNorm[float64, float64]()
	registerGradNorm[float16.Float16, float32]()
	registerGradNorm[uint16, float32]()
	register("gradnorm/naive/fp16", func() *Kernel {
		return GradNormErr("gradnorm/naive/fp16", only2(naiveNormFP16), WithAcc(fp.FP16),
			Broken("Σx² in fp16 arithmetic: a square overflows to +Inf once |x| ≥ 256 (256² > 65,504) although the norm is finite, and squares below 2^−12 underflow to 0"),
			WithDoc("Naive fp16 norm: sqrt(Σ x²) with every square, sum and the root rounded to fp16."))
	})
	register("clipnorm/scaled/fp16", func() *Kernel {
		return ClipGradNormErr("clipnorm/scaled/fp16", only2(clipScaledFirst), WithAcc(fp.FP32),
			Broken("clips the loss-scaled gradients S·g (S = 2^16) against max_norm and unscales afterwards: the coefficient is S times too small whenever S·N > max_norm, so gradients within max_norm are clipped"),
			WithDoc("clip_grad_norm_ in the wrong order with the scaler: G = S·g, clip G, then G/S (fp32 arithmetic)."))
	})
}

// IsGradNorm reports whether o is one of the gradient-norm operations.
func IsGradNorm(o Op) bool { return o >= OpGradNorm && o <= OpClipGradValue }

// ErrNonfinite is wrapped by the error a norm or clip kernel returns, when error_if_nonfinite is
// set, for a total norm that is NaN or ±Inf (PyTorch raises a RuntimeError).
var ErrNonfinite = errors.New("kernels: the total norm of the gradients is non-finite")

// ScalerScale is the loss scale of the broken clip-before-unscale kernel (GradScaler's initial
// scale).
const ScalerScale = 65536

// tensorsOf returns the rows of s as tensors (capacity-limited subslices).
func tensorsOf[E Elem](s []E, rows, cols int) [][]E {
	t := make([][]E, rows)
	for r := range t {
		t[r] = row(s, r, cols)
	}
	return t
}

func checkNormOptions(a *Args, clip bool) error {
	o := a.Norm
	if p := o.Order(); math.IsNaN(p) || p <= 0 {
		return fmt.Errorf("%w: norm order %v (want > 0 or +Inf)", ErrUnsupported, o.P)
	}
	if clip && (math.IsNaN(o.MaxNorm) || o.MaxNorm < 0) {
		return fmt.Errorf("%w: max_norm %v (want ≥ 0)", ErrUnsupported, o.MaxNorm)
	}
	return nil
}

// nonfinite returns the error_if_nonfinite error for a norm n, or nil.
func nonfinite(o NormOptions, n float64) error {
	if o.ErrorIfNonfinite && (math.IsNaN(n) || math.IsInf(n, 0)) {
		return fmt.Errorf("%w: total norm %v", ErrNonfinite, n)
	}
	return nil
}

// GradNorm adapts fn, which returns the total p-norm of the tensors (get_total_norm with
// norm_type p). The adapter raises ErrNonfinite for error_if_nonfinite, as PyTorch does after
// computing the norm.
func GradNorm[E Elem](name string, fn func(tensors [][]E, p float64) E, opts ...Option) *Kernel {
	return GradNormErr(name, func(t [][]E, o NormOptions) (E, error) {
		n := fn(t, o.Order())
		return n, nonfinite(o, FromNative(n))
	}, opts...)
}

// GradNormErr adapts fn, which returns the total norm of the tensors under the options o (p =
// o.Order()) or an error: for error_if_nonfinite an error wrapping ErrNonfinite, for a p or an
// option it does not implement one wrapping ErrUnsupported.
func GradNormErr[E Elem](name string, fn func(tensors [][]E, o NormOptions) (E, error), opts ...Option) *Kernel {
	k := newKernel[E](name, OpGradNorm, true, opts)
	k.Fn = func(_ context.Context, a *Args) ([]float64, error) {
		if err := checkNormOptions(a, false); err != nil {
			return nil, err
		}
		return run(k, a.Dst, 1, [][]float64{a.X}, func(dst []E, in [][]E) error {
			n, err := fn(tensorsOf(in[0], a.Rows, a.Cols), a.Norm)
			dst[0] = n
			return err
		})
	}
	return k
}

// inPlace runs fn on a copy of the tensors held in the guarded output, as the in-place PyTorch
// functions modify the gradients.
func inPlace[E Elem](k *Kernel, a *Args, fn func(t [][]E) error) ([]float64, error) {
	n := a.Rows * a.Cols
	return run(k, a.Dst, n, [][]float64{a.X}, func(dst []E, in [][]E) error {
		copy(dst, in[0])
		return fn(tensorsOf(dst, a.Rows, a.Cols))
	})
}

// ClipGradNorm adapts fn, which clips the tensors in place to total p-norm max_norm
// (clip_grad_norm_) and returns the norm before clipping; the clipped tensors are the kernel's
// outputs. The adapter raises ErrNonfinite for error_if_nonfinite from the returned norm.
func ClipGradNorm[E Elem](name string, fn func(tensors [][]E, maxNorm, p float64) E, opts ...Option) *Kernel {
	return ClipGradNormErr(name, func(t [][]E, o NormOptions) (E, error) {
		n := fn(t, o.MaxNorm, o.Order())
		return n, nonfinite(o, FromNative(n))
	}, opts...)
}

// ClipGradNormErr adapts fn, which clips the tensors in place under the options o and returns
// the norm before clipping or an error (ErrNonfinite for error_if_nonfinite, ErrUnsupported).
func ClipGradNormErr[E Elem](name string, fn func(tensors [][]E, o NormOptions) (E, error), opts ...Option) *Kernel {
	k := newKernel[E](name, OpClipGradNorm, true, opts)
	k.Fn = func(_ context.Context, a *Args) ([]float64, error) {
		if err := checkNormOptions(a, true); err != nil {
			return nil, err
		}
		return inPlace(k, a, func(t [][]E) error {
			_, err := fn(t, a.Norm)
			return err
		})
	}
	return k
}

// ClipGradValue adapts fn, which clamps every element of the tensors in place to
// [−clip, clip] (clip_grad_value_).
func ClipGradValue[E Elem](name string, fn func(tensors [][]E, clip float64), opts ...Option) *Kernel {
	return ClipGradValueErr(name, func(t [][]E, clip float64) error { fn(t, clip); return nil }, opts...)
}

// ClipGradValueErr adapts fn, which clamps in place or returns an error.
func ClipGradValueErr[E Elem](name string, fn func(tensors [][]E, clip float64) error, opts ...Option) *Kernel {
	k := newKernel[E](name, OpClipGradValue, true, opts)
	k.Fn = func(_ context.Context, a *Args) ([]float64, error) {
		if c := a.Norm.ClipValue; math.IsNaN(c) || c < 0 {
			return nil, fmt.Errorf("%w: clip_value %v (want ≥ 0)", ErrUnsupported, c)
		}
		return inPlace(k, a, func(t [][]E) error { return fn(t, a.Norm.ClipValue) })
	}
	return k
}

// blueConsts are the thresholds and scales of Blue's algorithm for F (LAPACK 3.10's
// la_constants with radix 2, t digits, Fortran exponents emin = −125/−1021, emax = 128/1024):
// tsml = 2^⌈(emin−1)/2⌉, tbig = 2^⌊(emax−t+1)/2⌋, ssml = 2^−⌊(emin−t)/2⌋, sbig = 2^−⌈(emax+t−1)/2⌉.
// |x| < tsml have squares that may underflow and are scaled up by ssml, |x| > tbig have squares
// that may overflow and are scaled down by sbig; every scaling is an exact power of two.
func blueConsts[F accum]() (tsml, tbig, ssml, sbig F) {
	var z F
	if any(z) == any(float32(0)) {
		return F(0x1p-63), F(0x1p52), F(0x1p75), F(0x1p-76)
	}
	return F(math.Ldexp(1, -511)), F(math.Ldexp(1, 486)), F(math.Ldexp(1, 537)), F(math.Ldexp(1, -538))
}

// blueNorm returns the 2-norm of the elements of every tensor as r·2^k (r in F, k an integer
// exponent kept apart so that a norm beyond F's range is still usable), by Blue's algorithm
// (Blue 1978; Anderson, "Algorithm 978: Safe scaling in the Level 1 BLAS", 2017): three
// accumulators of squares for small, medium and big magnitudes, each scaled exactly, combined at
// the end. NaN anywhere gives NaN, else ±Inf gives +Inf.
//
// Bound (first order, n elements, u the unit roundoff of F): each square carries u, recursive
// summation (n − 1)u, the combination of two accumulators at most 6u more, so the sum of
// squares has relative error ≤ (n + 5)u and the norm ≤ ((n + 5)/2 + 1)u.
func blueNorm[E Elem, F accum](tensors [][]E) (r F, k int) {
	tsml, tbig, ssml, sbig := blueConsts[F]()
	var asml, amed, abig F
	notbig := true
	for _, t := range tensors {
		for _, v := range t {
			ax := abs(F(FromNative(v)))
			switch {
			case ax > tbig:
				y := ax * sbig
				abig += y * y
				notbig = false
			case ax < tsml:
				if notbig {
					y := ax * ssml
					asml += y * y
				}
			default:
				amed += ax * ax // also NaN
			}
		}
	}
	_, ksb := math.Frexp(float64(sbig))
	_, kss := math.Frexp(float64(ssml))
	switch {
	case abig > 0 || abig != abig:
		if amed > 0 || amed != amed {
			abig += (amed * sbig) * sbig
		}
		return sqrtF(abig), -(ksb - 1)
	case asml > 0:
		if amed > 0 || amed != amed {
			ym := sqrtF(amed)
			ys := sqrtF(asml) / ssml
			ymin, ymax := min(ym, ys), max(ym, ys)
			if ym != ym {
				return ym, 0
			}
			q := ymin / ymax
			return ymax * sqrtF(1+q*q), 0
		}
		return sqrtF(asml), -(kss - 1)
	}
	return sqrtF(amed), 0
}

func sqrtF[F accum](x F) F { return F(math.Sqrt(float64(x))) }

// infNorm is max |x| with NaN propagated (a max that skipped NaN would hide it).
func infNorm[E Elem, F accum](tensors [][]E) F {
	var m F
	for _, t := range tensors {
		for _, v := range t {
			x := abs(F(FromNative(v)))
			if x != x {
				return x
			}
			m = max(m, x)
		}
	}
	return m
}

// oneNorm is Σ|x| as r·2^k: every |x| scaled by the exact power of two 2^−e of the largest
// magnitude (so that the sum cannot overflow F), summed in F left to right: relative error
// ≤ (n − 1)u (scaled values below F's normal range lose less than 2^−126 of the sum).
func oneNorm[E Elem, F accum](tensors [][]E) (F, int) {
	m := infNorm[E, F](tensors)
	if m == 0 || m != m || math.IsInf(float64(m), 0) {
		return m, 0
	}
	_, e := math.Frexp(float64(m))
	var s F
	for _, t := range tensors {
		for _, v := range t {
			s += abs(F(math.Ldexp(FromNative(v), -e)))
		}
	}
	return s, e
}

// scaledNorm is r·2^k, the p-norm for p = 1, 2, ∞ with norm2 the 2-norm algorithm; other p are
// unsupported.
func scaledNorm[E Elem, F accum](tensors [][]E, p float64, norm2 func([][]E) (F, int)) (F, int, error) {
	switch p {
	case 2:
		r, k := norm2(tensors)
		return r, k, nil
	case 1:
		r, k := oneNorm[E, F](tensors)
		return r, k, nil
	case math.Inf(1):
		return infNorm[E, F](tensors), 0, nil
	}
	return 0, 0, fmt.Errorf("%w: norm order %v (this kernel computes p = 1, 2, ∞)", ErrUnsupported, p)
}

// roundScaled rounds r·2^k once into E (through float64, exact for F = float32; for float64 the
// scaling by 2^k of a normal r is exact unless it overflows or becomes subnormal).
func roundScaled[E Elem, F accum](r F, k int) E {
	v, _ := FormatOf[E]().RoundFloat64(math.Ldexp(float64(r), k))
	return ToNative[E](v)
}

// normKernel is a bundled norm: norm2 for p = 2 in F, rounded once into E.
func normKernel[E Elem, F accum](norm2 func([][]E) (F, int)) func([][]E, NormOptions) (E, error) {
	return func(t [][]E, o NormOptions) (E, error) {
		r, k, err := scaledNorm(t, o.Order(), norm2)
		if err != nil {
			return 0, err
		}
		n := roundScaled[E](r, k)
		return n, nonfinite(o, FromNative(n))
	}
}

// clipCoefF is c = min(1, M/(N + ε)) in F for N = r·2^k, returned as c_m·2^−K: with
// N = m·2^K (m ∈ [½, 1), K ≥ 0) it is M/(m + ε·2^−K), whose quotient stays in F's normal range
// even where c itself would be subnormal or beyond F (a norm past F's maximum); for N < ½ it is
// M/(N + ε) directly (K = 0). Relative error ≤ ε_N + 3u (ε_N that of the norm).
//
// Special cases are: N NaN: NaN; N = +Inf: 0 (M finite), NaN (M = +Inf); M = +Inf: 1.
func clipCoefF[F accum](r F, k int, maxNorm float64) (c F, kc int) {
	switch {
	case r != r:
		return r, 0
	case math.IsInf(float64(r), 1):
		if math.IsInf(maxNorm, 1) {
			return F(math.NaN()), 0
		}
		return 0, 0
	case math.IsInf(maxNorm, 1):
		return 1, 0
	}
	m, e := math.Frexp(float64(r))
	if K := k + e; K >= 0 && r != 0 {
		c = F(maxNorm) / (F(m) + F(math.Ldexp(ClipEps, -K)))
		if math.Ldexp(float64(c), -K) >= 1 {
			return 1, 0 // clamped: never amplify
		}
		return c, K
	}
	c = F(maxNorm) / (F(math.Ldexp(float64(r), k)) + F(ClipEps))
	if c > 1 {
		c = 1 // clamped: never amplify
	}
	return c, 0
}

// ClipEps is clip_grad_norm_'s ε, the Python float 1e-6.
const ClipEps = 1e-6

// clipTimes is x·c_m·2^−kc rounded once to F: with x = f·2^e (f ∈ [½, 1)) the product f·c_m
// (exact in float64 for float32 operands, one rounding for float64) cannot overflow or
// underflow, and the scaling by 2^(e−kc) rounds only where the result is subnormal.
func clipTimes[F accum](x, c F, kc int) F {
	f, e := math.Frexp(float64(x))
	return F(math.Ldexp(f*float64(c), e-kc))
}

// clipNormKernel is clip_grad_norm_ with the norm of norm2 and the coefficient in F: every
// element x·c computed in F and rounded once into E (an exact 1 leaves x unchanged).
func clipNormKernel[E Elem, F accum](norm2 func([][]E) (F, int)) func([][]E, NormOptions) (E, error) {
	return func(t [][]E, o NormOptions) (E, error) {
		r, k, err := scaledNorm(t, o.Order(), norm2)
		if err != nil {
			return 0, err
		}
		n := roundScaled[E](r, k)
		if err := nonfinite(o, FromNative(n)); err != nil {
			return n, err
		}
		c, kc := clipCoefF(r, k, o.MaxNorm)
		f := FormatOf[E]()
		for _, ts := range t {
			for i, v := range ts {
				y, _ := f.RoundFloat64(float64(clipTimes(F(FromNative(v)), c, kc)))
				ts[i] = ToNative[E](y)
			}
		}
		return n, nil
	}
}

// clipValueKernel clamps every element to [−clip, clip] rounded into E (NaN stays NaN).
func clipValueKernel[E Elem](t [][]E, clip float64) {
	f := FormatOf[E]()
	c, _ := f.RoundFloat64(clip)
	for _, ts := range t {
		for i, v := range ts {
			x := FromNative(v)
			if x > c {
				x = c
			} else if x < -c {
				x = -c
			}
			ts[i] = ToNative[E](x)
		}
	}
}

// sumSquaresF32 is sqrt(Σ x²) accumulated in float32 without scaling: for fp16 inputs every
// square (at most 22 significant bits, between 2^−48 and 65504² < 2^32) is exact in float32 and
// neither overflows nor underflows, so only the summation rounds: relative error ≤ (n − 1)u/2 + u.
func sumSquaresF32[E Elem](tensors [][]E) (float32, int) {
	var s float32
	for _, t := range tensors {
		for _, v := range t {
			x := float32(FromNative(v))
			s += x * x
		}
	}
	return sqrtF(s), 0
}

// twoPassF32 is the two-pass scaled norm in float32 for bf16 inputs (whose squares overflow and
// underflow float32): the largest magnitude m = f·2^e sets the exact scale 2^−e, then
// sqrt(Σ (x·2^−e)²)·2^e. Scaled values below 2^−126 lose relative accuracy but contribute less
// than 2^−252 of the scaled sum (≥ 1/4). Relative error ≤ (n − 1)u/2 + 2u.
func twoPassF32[E Elem](tensors [][]E) (float32, int) {
	m := infNorm[E, float32](tensors)
	if m == 0 || m != m || math.IsInf(float64(m), 0) {
		return m, 0
	}
	_, e := math.Frexp(float64(m))
	var s float32
	for _, t := range tensors {
		for _, v := range t {
			x := float32(math.Ldexp(FromNative(v), -e))
			s += x * x
		}
	}
	return sqrtF(s), e
}

// only2 restricts a 2-norm function to p = 2 and applies error_if_nonfinite to its norm.
func only2(fn func([][]float16.Float16, NormOptions) float16.Float16) func([][]float16.Float16, NormOptions) (float16.Float16, error) {
	return func(t [][]float16.Float16, o NormOptions) (float16.Float16, error) {
		if o.Order() != 2 {
			return 0, fmt.Errorf("%w: norm order %v (this kernel computes p = 2)", ErrUnsupported, o.P)
		}
		n := fn(t, o)
		return n, nonfinite(o, FromNative(n))
	}
}

// naiveNormFP16 is sqrt(Σ x²) with every operation rounded to fp16. Broken on purpose.
func naiveNormFP16(tensors [][]float16.Float16, _ NormOptions) float16.Float16 {
	r := func(x float64) float64 { y, _ := fp.FP16.RoundFloat64(x); return y }
	var s float64
	for _, t := range tensors {
		for _, v := range t {
			x := float64(v.Float32())
			s = r(s + r(x*x))
		}
	}
	return float16.Fromfloat32(float32(r(math.Sqrt(s))))
}

// clipScaledFirst is clip_grad_norm_ applied before the scaler's unscale: the gradients are
// multiplied by S, clipped against max_norm, then divided by S, all in float32. Broken on
// purpose: it clips S·g instead of g.
func clipScaledFirst(t [][]float16.Float16, o NormOptions) float16.Float16 {
	maxNorm := o.MaxNorm
	g := make([][]float32, len(t))
	for i, ts := range t {
		g[i] = make([]float32, len(ts))
		for j, v := range ts {
			g[i][j] = v.Float32() * ScalerScale
		}
	}
	r, k := blueNorm[float32, float32](g)
	c, kc := clipCoefF(r, k, maxNorm)
	for i, ts := range t {
		for j := range ts {
			y, _ := fp.FP16.RoundFloat64(float64(clipTimes(g[i][j], c, kc) / ScalerScale))
			ts[j] = ToNative[float16.Float16](y)
		}
	}
	return float16.Fromfloat32(float32(math.Ldexp(float64(r), k) / ScalerScale))
}

func registerGradNorm[E Elem, F accum]() {
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
	reg := func(n string, mk func(n string) *Kernel) { register(n, func() *Kernel { return mk(n) }) }
	opt := []Option{WithAcc(acc)}
	const bound = " p = 2 bound: ((n + 5)/2 + 1)·u_acc relative, then one rounding; p = 1: (n − 1)u_acc; p = ∞ exact."

	reg(name("gradnorm", "blue"), func(n string) *Kernel {
		return GradNormErr(n, normKernel(blueNorm[E, F]), append(opt, WithDoc("Overflow-safe total norm (Blue's three scaled accumulators, LAPACK nrm2) "+how+"."+bound))...)
	})
	reg(name("clipnorm", "blue"), func(n string) *Kernel {
		return ClipGradNormErr(n, clipNormKernel(blueNorm[E, F]), append(opt, WithDoc("clip_grad_norm_ "+how+": Blue's norm, c = min(1, max_norm/(N + 1e-6)), x·c rounded once."))...)
	})
	reg(name("clipvalue", "clamp"), func(n string) *Kernel {
		return ClipGradValue(n, clipValueKernel[E], WithDoc("clip_grad_value_: clamp to ±RN(clip_value), exact."))
	})
	switch f {
	case fp.FP16:
		reg(name("gradnorm", "fp32acc"), func(n string) *Kernel {
			return GradNormErr(n, normKernel(sumSquaresF32[E]), append(opt, WithDoc("fp16 gradients, Σx² accumulated in fp32 without scaling (every square exact in fp32)."+bound))...)
		})
	case fp.BF16:
		reg(name("gradnorm", "fp32acc"), func(n string) *Kernel {
			return GradNormErr(n, normKernel(twoPassF32[E]), append(opt, WithDoc("bf16 gradients, two-pass norm in fp32 scaled by the power of two of the largest magnitude."+bound))...)
		})
	}
}
