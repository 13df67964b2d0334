// This file implements the registry of bundled kernels and their storage wrappers.

package kernels

import (
	"fmt"
	"sort"
	"sync"

	"github.com/x448/float16"

	"github.com/ulpcheck/ulpcheck/fp"
)

// toAcc converts storage values to the accumulation type (exactly: every E value is an F value).
func toAcc[E Elem, F accum](x []E) []F { return toAccInto(make([]F, len(x)), x) }

// toAccInto is toAcc into d, which has x's length.
func toAccInto[E Elem, F accum](d []F, x []E) []F {
	switch t := any(d).(type) { // one type switch per slice where the conversion is plain
	case []float64:
		fromNativeInto(t, x)
		return d
	case []float32:
		if x32, ok := any(x).([]float32); ok {
			copy(t, x32)
			return d
		}
	}
	for i, v := range x {
		d[i] = F(FromNative(v))
	}
	return d
}

// fromAcc rounds each accumulated value once, to nearest even, into E's format.
func fromAcc[E Elem, F accum](dst []E, y []F) {
	f := FormatOf[E]()
	if d32, ok := any(dst).([]float32); ok { // one type switch per slice, not per element
		for i, v := range y {
			if v == v { // Go's conversion to float32 is fp32's rounding to nearest even, overflow included
				d32[i] = float32(v)
				continue
			}
			r, _ := f.RoundFloat64(float64(v))
			d32[i] = float32(r)
		}
		return
	}
	for i, v := range y {
		r, _ := f.RoundFloat64(float64(v))
		dst[i] = ToNative[E](r)
	}
}

func mapRow[E Elem, F accum](alg func(dst, x []F)) func(dst, x []E) {
	var bufs sync.Pool // *[]F: the accumulator's output and input, reused from call to call
	return func(dst, x []E) {
		n := len(dst)
		bp, _ := bufs.Get().(*[]F)
		if bp == nil {
			bp = new([]F)
		}
		if cap(*bp) < n+len(x) {
			*bp = make([]F, n+len(x))
		}
		buf := (*bp)[:n+len(x)]
		y := buf[:n:n] // each capped at its length
		clear(y)       // an algorithm that leaves an output unwritten leaves 0, as in a fresh slice
		alg(y, toAccInto(buf[n:], x))
		fromAcc(dst, y)
		bufs.Put(bp)
	}
}

var registry = map[string]func() *Kernel{}

func register(name string, mk func() *Kernel) {
	if _, dup := registry[name]; dup {
		panic("kernels: duplicate bundled kernel " + name)
	}
	registry[name] = func() *Kernel {
		k := mk()
		k.Returns = true // every bundled kernel's loops are bounded by its input
		return k
	}
}

// Bundled returns a fresh copy of every bundled kernel, sorted by name.
func Bundled() []*Kernel {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	ks := make([]*Kernel, len(names))
	for i, n := range names {
		ks[i] = registry[n]()
	}
	return ks
}

// Lookup returns a fresh copy of the bundled kernel with the given name.
func Lookup(name string) (*Kernel, bool) {
	mk, ok := registry[name]
	if !ok {
		return nil, false
	}
	return mk(), true
}

func init() {
	registerFamily[float32, float32]()
	registerFamily[float64, float64]()
	registerFamily[float16.Float16, float32]()
	registerFamily[uint16, float32]()
	register("softmax/fp16acc/fp16", func() *Kernel {
		r := func(v float32) float32 { return float16.Fromfloat32(v).Float32() }
		return Softmax("softmax/fp16acc/fp16", func(dst, x []float16.Float16) {
			y := make([]float32, len(dst))
			fp16AccSoftmax(y, toAcc[float16.Float16, float32](x), r)
			fromAcc(dst, y)
		}, Broken("accumulates the sum in fp16: a flat row of more than 2048 entries stalls at 2048"),
			WithDoc("Shifted softmax whose exp terms and running sum are rounded to fp16 (fp16 accumulation). It declares the usual fp16-storage contract (fp32 accumulation, the default Acc) and breaks it: with u = 2^−11 the first-order bound n·u exceeds 1 at n = 2048, and Σ of n ones stalls at 2048."))
	})
}

// registerFamily registers every operation for storage E computed in F.
func registerFamily[E Elem, F accum]() {
	f := FormatOf[E]()
	acc := fp.FP32
	if f == fp.FP64 {
		acc = fp.FP64
	}
	how := fmt.Sprintf("in %s, %s storage", acc, f)
	if f == acc {
		how = "in " + f.String()
	}
	name := func(op, alg string) string {
		if alg == "" {
			return op + "/" + f.String()
		}
		return op + "/" + alg + "/" + f.String()
	}
	common := []Option{WithAcc(acc)}
	opt := func(extra ...Option) []Option { return append(append([]Option(nil), common...), extra...) }

	n := name("softmax", "naive")
	register(n, func() *Kernel {
		return Softmax(n, mapRow[E](naiveSoftmax[F]), opt(WithAlgorithm(AlgUnshifted),
			Broken("the seed article's exp/sum/divide: exp overflows for large logits (Inf/Inf = NaN)"),
			WithDoc("Naive softmax "+how+": y_i = exp(x_i)/Σ exp(x_j), no shift. Bound (Thm 3.3): (n+3)u relative while nothing overflows; overflows above the exp threshold."))...)
	})
	s := name("softmax", "shifted")
	register(s, func() *Kernel {
		return Softmax(s, mapRow[E](shiftedSoftmax[F]), opt(WithAlgorithm(AlgShifted),
			WithDoc("Shifted two-pass softmax "+how+" (Blanchard–Higham–Higham Alg. 4.1): w_i = exp(x_i − max x), y_i = w_i/Σ w_j. Bound (Thm 4.3): (n + 2 + 2(x_max − x_min))u relative per component. Fully masked rows: NaN."))...)
	})
	o := name("softmax", "online")
	register(o, func() *Kernel {
		return Softmax(o, mapRow[E](onlineSoftmax[F]), opt(WithAlgorithm(AlgOnline), WithMask(fp.MaskZero),
			WithDoc("Online single-pass softmax "+how+" (Milakov–Gimelshein) with FlashAttention's −Inf guard. Bound: (n + 2r + 2 + x_max − x_min)u relative, r = number of running-max updates. Fully masked rows: 0."))...)
	})
	ls := name("logsoftmax", "shifted")
	register(ls, func() *Kernel {
		return LogSoftmax(ls, mapRow[E](logSoftmaxShifted[F]), opt(WithAlgorithm(AlgShifted),
			WithDoc("Shifted log-softmax "+how+": (x_j − m) − log1p(Σ_{i≠k} exp(x_i − m)). Bound: (3 + n + x_max − x_min)u relative. Fully masked rows: NaN."))...)
	})
	l := name("lse", "shifted")
	register(l, func() *Kernel {
		return LSE(l, func(x []E) E {
			y := []F{lseShifted(toAcc[E, F](x))}
			d := make([]E, 1)
			fromAcc(d, y)
			return d[0]
		}, opt(WithAlgorithm(AlgShifted),
			WithDoc("Shifted log-sum-exp "+how+" (Alg. 4.1): m + log1p(Σ_{i≠k} exp(x_i − m)). Bound (eq. 4.8): (|y| + log1p(s) + s/(1+s)(n + x_max − x_min))u absolute."))...)
	})
	c := name("ce", "fused")
	register(c, func() *Kernel {
		return CrossEntropyBatch(c, func(dst, x []E, rows, cols int, t []int, o CEOptions) {
			y := make([]F, len(dst))
			ceFused(y, toAcc[E, F](x), rows, cols, t, o)
			fromAcc(dst, y)
		}, opt(WithAlgorithm(AlgShifted),
			WithDoc("Fused cross-entropy "+how+" with PyTorch semantics (weights, ignore_index, label smoothing, mean/sum/none): per row (m − x_t) + log1p(s). Bound: (3 + n + x_max − x_min)u relative per row, plus (C + rows + 3)u for the sums."))...)
	})
	cp := name("ce", "fusedprob")
	register(cp, func() *Kernel {
		return CrossEntropyProbBatch(cp, func(dst, x, t []E, rows, cols int, o CEOptions) error {
			y := make([]F, len(dst))
			ceFusedProb(y, toAcc[E, F](x), toAcc[E, F](t), rows, cols, o)
			fromAcc(dst, y)
			return nil
		}, opt(WithAlgorithm(AlgShifted),
			WithDoc("Fused cross-entropy with probability targets "+how+" (PyTorch semantics: weights, label smoothing, mean over rows): per row Σ_c w_c t'_c((m − x_c) + log1p(s)), zero mass contributing exactly 0. Bound: (3 + n + x_max − x_min + C)u relative per row of nonnegative terms, plus (rows + 3)u for the sums."))...)
	})
	gp := name("cegrad", "prob")
	register(gp, func() *Kernel {
		return CrossEntropyProbGradBatch(gp, func(dx, x, t []E, rows, cols int, o CEOptions) error {
			y := make([]F, len(dx))
			ceGradProb(y, toAcc[E, F](x), toAcc[E, F](t), rows, cols, o)
			fromAcc(dx, y)
			return nil
		}, opt(WithAlgorithm(AlgShifted),
			WithDoc("Cross-entropy gradient with probability targets "+how+": [(Σ_c w_c t'_c)p_j − w_j t'_j]/D, D = rows (mean) or 1. Bound: absolute, as cegrad."))...)
	})
	b := name("softmaxbwd", "")
	register(b, func() *Kernel {
		return SoftmaxBackward(b, func(dx, x, dy []E) {
			y := make([]F, len(dx))
			softmaxBackward(y, toAcc[E, F](x), toAcc[E, F](dy))
			fromAcc(dx, y)
		}, opt(WithAlgorithm(AlgShifted),
			WithDoc("Softmax backward "+how+": y = shifted softmax(x), c = Σ dy_j y_j, dx_i = y_i(dy_i − c). Bound: absolute, y_i[(e_y + nu)Σ|dy_j|y_j + (e_y + 2u)|dy_i − c|], e_y the softmax bound."))...)
	})
	g := name("cegrad", "")
	register(g, func() *Kernel {
		return CrossEntropyGradBatch(g, func(dx, x []E, rows, cols int, t []int, o CEOptions) {
			y := make([]F, len(dx))
			ceGrad(y, toAcc[E, F](x), rows, cols, t, o)
			fromAcc(dx, y)
		}, opt(WithAlgorithm(AlgShifted),
			WithDoc("Cross-entropy gradient "+how+": w_t(p_j − δ_jt)/D, with label smoothing [(Σ_c w_c t'_c)p_j − w_j t'_j]/D. Bound: absolute, softmax bound × the coefficients plus the cancellation's u."))...)
	})
}
