// This file implements the tolerance models and the condition-aware bounds of NUMERICS §3.

package properties

import (
	"fmt"
	"math"
	"slices"

	"github.com/ulpcheck/ulpcheck/fp"
	"github.com/ulpcheck/ulpcheck/kernels"
)

// DefaultSafety is the condition-aware tolerance's safety factor: the bounds of NUMERICS §3 are
// first order and assume exp and log within u, while Go's math.Exp and math.Log1p (and most
// libraries') are within 1 ulp, that is 2u.
const DefaultSafety = 2

// A Tolerance is a model of the acceptable error of each output element.
type Tolerance struct {
	kind       tolKind
	safety     float64
	k          float64
	rtol, atol float64
	defaults   bool
}

type tolKind uint8

const (
	tolCondition tolKind = iota
	tolStrict
	tolAssertClose
)

// Condition returns the condition-aware tolerance with safety factor s (s ≤ 0: DefaultSafety):
// |ŷ − y| ≤ s·B + ½ulp_out(y) + floor, B the first-order bound of NUMERICS §3 for the kernel's
// operation and algorithm class in its accumulation format (see the package documentation).
func Condition(s float64) Tolerance {
	if s <= 0 {
		s = DefaultSafety
	}
	return Tolerance{kind: tolCondition, safety: s}
}

// Strict returns the tolerance |ŷ − y| ≤ k·ulp_out(y) against the exact value y. k = 0.5 accepts
// only correctly rounded outputs; k = 1 faithful ones.
func Strict(k float64) Tolerance { return Tolerance{kind: tolStrict, k: k} }

// AssertClose returns torch.testing.assert_close's model, |ŷ − y| ≤ atol + rtol·|y|, against the
// exact value y.
func AssertClose(rtol, atol float64) Tolerance {
	return Tolerance{kind: tolAssertClose, rtol: rtol, atol: atol}
}

// FormatDefaults is AssertClose with the output format's assert_close defaults
// (fp.Format.AssertCloseTolerance: fp16 rtol 1e-3 atol 1e-5, bf16 1.6e-2 and 1e-5, fp32 1.3e-6
// and 1e-5).
func FormatDefaults() Tolerance { return Tolerance{kind: tolAssertClose, defaults: true} }

// String writes the model with its formula.
func (t Tolerance) String() string {
	switch t.kind {
	case tolStrict:
		return fmt.Sprintf("strict: |ŷ−y| ≤ %g ulp(y)", t.k)
	case tolAssertClose:
		if t.defaults {
			return "assert_close: |ŷ−y| ≤ atol + rtol·|y| (format defaults)"
		}
		return fmt.Sprintf("assert_close: |ŷ−y| ≤ %g + %g·|y|", t.atol, t.rtol)
	}
	return fmt.Sprintf("condition-aware: |ŷ−y| ≤ %g·B + ½ulp(y) + floor", t.safety)
}

// rowStats are the quantities the bounds of NUMERICS §3 depend on, for one row.
type rowStats struct {
	n          int     // entries that are not −Inf
	xmax, xmin float64 // over finite entries
	s          float64 // Σ_{i≠k} exp(x_i − xmax) over finite entries (float64; magnitudes only)
	updates    int     // running-max updates in row order (online softmax)
	finite     bool    // every entry finite or −Inf, at least one finite
}

func statsOf(x []float64) rowStats {
	st := rangeOf(x)
	if st.n == 0 {
		return st
	}
	skipped := false
	for _, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		if v == st.xmax && !skipped {
			skipped = true
			continue
		}
		st.s += math.Exp(v - st.xmax)
	}
	return st
}

// rangeOf returns the statistics of x but s: one pass, no exponentials (enough for spread).
func rangeOf(x []float64) rowStats {
	st := rowStats{xmax: math.Inf(-1), xmin: math.Inf(1), finite: true}
	m := math.Inf(-1)
	for _, v := range x {
		switch {
		case math.IsNaN(v) || math.IsInf(v, 1):
			st.finite = false
			continue
		case math.IsInf(v, -1):
			continue
		}
		st.n++
		if v > m {
			if !math.IsInf(m, -1) {
				st.updates++
			}
			m = v
		}
		// math.Max and math.Min without their NaN and infinity cases (v is finite, the running
		// values are finite or their ±Inf start): +0 is above −0 for both, as there.
		if v > st.xmax || v == 0 && st.xmax == 0 && !math.Signbit(v) {
			st.xmax = v
		}
		if v < st.xmin || v == 0 && st.xmin == 0 && math.Signbit(v) {
			st.xmin = v
		}
	}
	if st.n == 0 {
		st.finite = false
	}
	return st
}

func (st rowStats) spread() float64 {
	if st.n == 0 {
		return 0
	}
	return st.xmax - st.xmin
}

func (st rowStats) lse() float64 { return st.xmax + math.Log1p(st.s) }

// lseMinus returns LSE − x = (x_max − x) + log1p(s) without forming LSE, which absorbs
// log1p(s) when |x_max| is large (x_max = MaxFinite: LSE − x_max would be 0, not log n).
func (st rowStats) lseMinus(x float64) float64 { return (st.xmax - x) + math.Log1p(st.s) }

// scaled returns c·|y|, and 0 for y = 0 even when c is infinite (a relative bound allows no error
// on an exact zero; an infinite c, from x_max − x_min overflowing float64, makes the bound vacuous
// for the other outputs, as the condition number is).
func scaled(c, y float64) float64 {
	if y == 0 {
		return 0
	}
	return c * math.Abs(y)
}

// softmaxCoef is the relative bound of softmax, as a multiple of u, for the algorithm class.
func softmaxCoef(a kernels.Algorithm, st rowStats) float64 {
	n, d := float64(st.n), st.spread()
	switch a {
	case kernels.AlgUnshifted:
		return n + 3 // Thm 3.3
	case kernels.AlgExpLSE:
		// Thm 4.4: 1 + max_j |x_j − y| + |y + n − x_min|, y = LSE, each difference formed
		// without y (lseMinus), so that a large x_max does not absorb log1p(s).
		return 1 + math.Max(st.lseMinus(st.xmax), st.lseMinus(st.xmin)) + st.lseMinus(st.xmin) + n
	case kernels.AlgOnline:
		return n + 2*float64(st.updates) + 2 + d // NUMERICS §4, plus the division
	}
	return n + 2 + 2*d // Thm 4.3
}

// logSoftmaxCoef is the relative bound of log-softmax (NUMERICS §3, derived: (3 + n + d)u),
// widened by 2r for the online class and by n for the unshifted one.
func logSoftmaxCoef(a kernels.Algorithm, st rowStats) float64 {
	c := 3 + float64(st.n) + st.spread()
	switch a {
	case kernels.AlgOnline:
		c += 2 * float64(st.updates)
	case kernels.AlgUnshifted, kernels.AlgExpLSE:
		c += float64(st.n) + math.Abs(st.xmax)
	}
	return c
}

// lseAbs is the absolute bound of LSE over u: eq. (4.8) plus the final addition,
// |y| + log1p(s) + s/(1+s)(n + d); the unshifted class uses Thm 3.2, |y| + n + 1.
func lseAbs(a kernels.Algorithm, st rowStats) float64 {
	y := st.lse()
	n := float64(st.n)
	switch a {
	case kernels.AlgUnshifted:
		return math.Abs(y) + n + 1
	case kernels.AlgOnline:
		n += 2 * float64(st.updates)
	}
	return math.Abs(y) + math.Log1p(st.s) + scaled(n+st.spread(), st.s/(1+st.s))
}

// softmax64 is a float64 shifted softmax, used only for the magnitudes inside bounds.
func softmax64(x []float64) []float64 {
	st := statsOf(x)
	y := make([]float64, len(x))
	if st.n == 0 {
		return y
	}
	t := 1 + st.s
	for i, v := range x {
		if !math.IsInf(v, 0) && !math.IsNaN(v) {
			y[i] = math.Exp(v-st.xmax) / t
		}
	}
	return y
}

// conditionBounds returns B_i·u (absolute, in units of the value) for every output, the
// first-order part of the condition-aware tolerance, or NaN where no bound applies (special
// values are judged exactly).
//
// The second result scales the underflow floor of each output: 1, except where an intermediate
// that may underflow (a softmax weight y_j, with absolute error up to the accumulation format's
// min subnormal) is multiplied by a large factor afterwards: softmax backward multiplies y_i by
// dy_i − c and c sums dy_j·y_j, so its floor scales with 1 + |dy_i − c| + Σ_j |dy_j|; the
// cross-entropy gradient scales p_j by Σ_c |w_c t'_c|/|D|. The other operations return a nil
// second result, which means 1 everywhere.
//
// b is dst when dst has len(want) elements (its contents are overwritten). ranges, when not nil,
// holds rangeOf of each row of a.
func conditionBounds(k *kernels.Kernel, a *kernels.Args, want, dst []float64, ranges []rowStats) (b, fl []float64) {
	b = dst
	if len(b) != len(want) {
		b = make([]float64, len(want))
	}
	rows, cols := a.Rows, a.Cols
	for i := range b {
		b[i] = math.NaN()
	}
	if k.Op == kernels.OpSoftmaxBackward || k.Op == kernels.OpCrossEntropyGrad {
		fl = make([]float64, len(want))
		for i := range fl {
			fl[i] = 1
		}
	}
	u := k.AccFormat().UnitRoundoff()
	switch k.Op {
	case kernels.OpSoftmax, kernels.OpLogSoftmax:
		// Only the exp-LSE class's softmax bound reads s; the others need no exponential.
		withS := k.Op == kernels.OpSoftmax && k.Algorithm == kernels.AlgExpLSE
		for r := 0; r < rows; r++ {
			var st rowStats
			switch x := a.X[r*cols : (r+1)*cols]; {
			case withS:
				st = statsOf(x)
			case ranges != nil:
				st = ranges[r]
			default:
				st = rangeOf(x)
			}
			c := softmaxCoef(k.Algorithm, st)
			if k.Op == kernels.OpLogSoftmax {
				c = logSoftmaxCoef(k.Algorithm, st)
			}
			for j := r * cols; j < (r+1)*cols; j++ {
				b[j] = scaled(c, want[j]) * u
			}
		}
	case kernels.OpLSE:
		for r := 0; r < rows; r++ {
			b[r] = lseAbs(k.Algorithm, statsOf(a.X[r*cols:(r+1)*cols])) * u
		}
	case kernels.OpSoftmaxBackward:
		for r := 0; r < rows; r++ {
			x, dy := a.X[r*cols:(r+1)*cols], a.DY[r*cols:(r+1)*cols]
			st := statsOf(x)
			ey := softmaxCoef(k.Algorithm, st)
			y := softmax64(x)
			var c, m, sdy float64
			for j := range y {
				c += dy[j] * y[j]
				m += math.Abs(dy[j]) * y[j]
				sdy += math.Abs(dy[j])
			}
			// u inside the products: with fp64 dy near max, (e_y + n)·Σ|dy_j|y_j alone
			// overflows float64, and an infinite bound would accept anything.
			for j := range y {
				b[r*cols+j] = scaled((ey+float64(st.n))*(m*u)+(ey+2)*mulDiff(u, dy[j], c), y[j])
				fl[r*cols+j] = math.Min(1+math.Abs(dy[j]-c)+sdy, math.MaxFloat64) // a floor, not a bound: capped
			}
		}
	case kernels.OpCrossEntropy:
		ceBounds(k, a, want, b)
	case kernels.OpCrossEntropyGrad:
		ceGradBounds(k, a, want, b, fl)
	}
	return b, fl
}

func weight(o kernels.CEOptions, c int) float64 {
	if o.Weights == nil {
		return 1
	}
	return o.Weights[c]
}

// ceBounds bounds the fused loss the way kernels.ceFused and ceFusedProb compute it (NUMERICS
// §3, §8; derived). Each class term is a·nll_c with nll_c = (x_max − x_c) + log1p(s) and a its
// coefficient (w_t(1−ε)/D, w_c·ε/(C·D) or w_c·t'_c/D). To first order, in units of u of the
// accumulation format:
//
//	x_max − x_c rounded:                        |x_max − x_c|
//	ŝ = s(1 + δ), |δ| ≤ (n + d)u (n − 1 adds, one exp, x_i − x_max rounded: d = x_max − x_min):
//	    log1p(ŝ) − log1p(s)                      (n + d)·s/(1+s)
//	log1p rounded:                              log1p(s)
//	(x_max − x_c) + log1p(s) rounded:           nll_c
//	the coefficient and the products:           k·nll_c   (k = 0 when a's factors and their
//	                                                        products are powers of two, else 4;
//	                                                        6 for probability targets)
//
// so |err_c| ≤ |a|·(|x_max − x_c| + log1p(s) + (n + d)·s/(1+s) + (1 + k)·nll_c), absolute: the
// spread d multiplies s/(1+s) ≤ 1, not the loss. A row sums its terms (C·Σ|a·nll_c| more with
// label smoothing or probability targets), the reduction sums the rows ((rows − 1)·Σ|ℓ_n|) and
// the mean's denominator Σ w_t carries (rows − 1)u relative. The old bound, (5 + n + d)·nll·u,
// multiplied the spread by the loss: 126 ulp on fp32 [30, −30] with target 1 where this one
// gives 4.
func ceBounds(k *kernels.Kernel, a *kernels.Args, want, b []float64) {
	rows, cols := a.Rows, a.Cols
	o := a.CE
	eps := o.LabelSmoothing
	u := k.AccFormat().UnitRoundoff()
	den := 1.0
	if o.Reduction == kernels.ReduceMean {
		if a.Probs != nil {
			den = float64(rows)
		} else {
			den = 0
			for _, t := range a.Targets {
				if t != o.IgnoreIndex {
					den += weight(o, t)
				}
			}
		}
	}
	exactScale := isPow2(den) && (eps == 0 || isPow2(1-eps) && isPow2(eps/float64(cols)))
	per := make([]float64, rows)
	total := 0.0 // Σ_n |ℓ_n|·u
	for r := 0; r < rows; r++ {
		x := a.X[r*cols : (r+1)*cols]
		st := statsOf(x)
		ls := math.Log1p(st.s)
		// The error of ŝ to first order, Σ_{i≠k} e^(x_i − x_max)(n + x_max − x_i)/(1 + s) ≤
		// (n + d)·s/(1+s), summed per entry so that an entry whose x_max − x_i overflows float64
		// (and whose term is 0) does not make it 0·Inf.
		q := 0.0
		if st.finite {
			am := st.argmax(x)
			for i, v := range x {
				if i == am || math.IsInf(v, -1) {
					continue
				}
				if e := math.Exp(v - st.xmax); e != 0 {
					q += e * (float64(st.n) + (st.xmax - v))
				}
			}
			q /= 1 + st.s
		}
		// term returns the bound of a·nll_c and |a·nll_c|, both times u, keeping u inside each
		// product so that neither overflows where the loss is finite (fp64 [−max, max]: nll = 2max).
		term := func(coef float64, c int, kmul float64) (float64, float64) {
			if coef == 0 || math.IsInf(x[c], -1) || !st.finite {
				return 0, 0 // exactly 0, or a non-finite loss judged exactly
			}
			au := math.Abs(coef) * u
			d := mulDiff(au, st.xmax, x[c])
			nll := d + au*ls
			return d + au*ls + au*q + (1+kmul)*nll, nll
		}
		var e, mag float64
		add := func(v, m float64) { e += v; mag += m }
		if a.Probs != nil {
			for j := range x {
				t := a.Probs[r*cols+j]*(1-eps) + eps/float64(cols)
				add(term(weight(o, j)*t/den, j, 6))
			}
			e += float64(cols) * mag
		} else {
			t := a.Targets[r]
			if t == o.IgnoreIndex {
				continue
			}
			kmul := 4.0
			if exactScale && isPow2(weight(o, t)) {
				kmul = 0
			}
			add(term(weight(o, t)*(1-eps)/den, t, kmul))
			if eps != 0 {
				for j := range x {
					add(term(weight(o, j)*eps/(float64(cols)*den), j, 4))
				}
				e += float64(cols) * mag
			}
		}
		per[r] = e
		total += mag
	}
	if o.Reduction == kernels.ReduceNone {
		copy(b, per)
		return
	}
	sum := 0.0
	for _, p := range per {
		sum += p
	}
	b[0] = sum + float64(rows-1)*total
	if o.Reduction == kernels.ReduceMean && a.Probs == nil {
		b[0] += float64(rows-1) * math.Abs(want[0]) * u
	}
}

// argmax returns the index of the first entry equal to x_max (the one s leaves out).
func (st rowStats) argmax(x []float64) int {
	for i, v := range x {
		if v == st.xmax {
			return i
		}
	}
	return -1
}

// mulDiff returns a·|x − y| (a ≥ 0) where x − y overflows float64 but the product does not: x
// and y then have opposite signs, so a·|x| + a·|y| is the same value.
func mulDiff(a, x, y float64) float64 {
	if d := math.Abs(x - y); !math.IsInf(d, 0) {
		return a * d
	}
	return a*math.Abs(x) + a*math.Abs(y)
}

// isPow2 reports whether |x| is a power of two (so that a product with it is exact, barring
// overflow and underflow).
func isPow2(x float64) bool {
	if x == 0 || math.IsInf(x, 0) || math.IsNaN(x) {
		return false
	}
	m, _ := math.Frexp(math.Abs(x))
	return m == 0.5
}

// ceGradBounds: g_j = [a·p_j − w_j t'_j]/D; bound (|a|·p_j·(e_p + C + 3) + 2|w_j t'_j|)/|D| +
// (rows + 2)|g_j|, e_p the softmax coefficient (NUMERICS §3: the cancellation p_t − 1 needs an
// absolute bound).
func ceGradBounds(k *kernels.Kernel, a *kernels.Args, want, b, fl []float64) {
	u := k.AccFormat().UnitRoundoff()
	rows, cols := a.Rows, a.Cols
	o := a.CE
	eps := o.LabelSmoothing
	den := 1.0
	if o.Reduction == kernels.ReduceMean {
		if a.Probs != nil {
			den = float64(rows)
		} else {
			den = 0
			for _, t := range a.Targets {
				if t != o.IgnoreIndex {
					den += weight(o, t)
				}
			}
		}
	}
	for r := 0; r < rows; r++ {
		x := a.X[r*cols : (r+1)*cols]
		st := statsOf(x)
		ep := softmaxCoef(kernels.AlgShifted, st)
		p := softmax64(x)
		tp := make([]float64, cols)
		if a.Probs != nil {
			for j := range tp {
				tp[j] = a.Probs[r*cols+j]*(1-eps) + eps/float64(cols)
			}
		} else {
			t := a.Targets[r]
			if t == o.IgnoreIndex {
				for j := 0; j < cols; j++ {
					b[r*cols+j] = 0
				}
				continue
			}
			for j := range tp {
				tp[j] = eps / float64(cols)
			}
			tp[t] += 1 - eps
		}
		am := 0.0
		for j := range tp {
			am += math.Abs(weight(o, j) * tp[j])
		}
		for j := range p {
			fl[r*cols+j] = 1 + am/math.Abs(den)
			b[r*cols+j] = (scaled(ep+float64(cols)+3, am*u*p[j])+2*math.Abs(weight(o, j)*tp[j])*u)/math.Abs(den) + float64(rows+2)*math.Abs(want[r*cols+j])*u
		}
	}
}

// tolerances returns the absolute tolerance of every output element under t, given the exact
// values' float64 approximations want (NaN where no bound applies).
func tolerances(t Tolerance, k *kernels.Kernel, a *kernels.Args, want []float64) []float64 {
	return tolerancesInto(nil, t, k, a, want, nil)
}

// tolerancesInto is tolerances in dst's storage when it has the room; ranges, when not nil, holds
// rangeOf of each row of a.
func tolerancesInto(dst []float64, t Tolerance, k *kernels.Kernel, a *kernels.Args, want []float64, ranges []rowStats) []float64 {
	out := k.OutFormat()
	tol := slices.Grow(dst[:0], len(want))[:len(want)]
	switch t.kind {
	case tolStrict:
		for i, y := range want {
			tol[i] = t.k * out.Ulp(y)
		}
	case tolAssertClose:
		rt, at := t.rtol, t.atol
		if t.defaults {
			rt, at = out.AssertCloseTolerance()
		}
		for i, y := range want {
			tol[i] = at + rt*math.Abs(y)
		}
	default:
		b, fl := conditionBounds(k, a, want, tol, ranges)
		tol = b // each bound becomes its element's tolerance in place
		n := float64(a.Cols + 2)
		outSub, accSub := out.MinSubnormal(), k.AccFormat().MinSubnormal()
		for i, y := range want {
			bi, fli := b[i], 1.0
			if math.IsNaN(bi) {
				bi = math.Inf(1) // no finite first-order bound (an overflowing x_max − x_min): vacuous
			}
			if fl != nil {
				fli = fl[i]
			}
			floor := 2*outSub + t.safety*n*(fli*accSub) // fl may be ~max
			tol[i] = t.safety*bi + 0.5*out.Ulp(y) + floor
		}
		if !k.Batch {
			for i, e := range rowAdapterRounding(k, a, want) {
				tol[i] += e
			}
		}
	}
	return tol
}

// rowAdapterRounding returns, per output, the rounding that a row cross-entropy adapter adds on
// top of the kernel (nil for other kernels). A row function returns its loss or gradient in the
// storage format, so each row value carries up to ½ulp_out of it before the adapter weights,
// reduces and rounds again in float64 (kernels.CrossEntropy, kernels.CrossEntropyGrad):
//
//	loss, ReduceNone:       |w_t|·½ulp(ℓ_n)                  (0 when w_t = 1: no second rounding)
//	loss, sum and mean:     Σ_n |w_{t_n}|·½ulp(ℓ_n) / |D|      (ℓ_n the row loss, D as the reduction)
//	gradient, scale s ≠ 1:  |s|·½ulp(g_j/s),  s = w_t/D
//
// These terms are exact consequences of the adapter's signature, not of the kernel's algorithm,
// so they carry no safety factor.
func rowAdapterRounding(k *kernels.Kernel, a *kernels.Args, want []float64) []float64 {
	if (k.Op != kernels.OpCrossEntropy && k.Op != kernels.OpCrossEntropyGrad) || a.Targets == nil {
		return nil
	}
	out := k.OutFormat()
	o := a.CE
	extra := make([]float64, len(want))
	den := 0.0
	for _, t := range a.Targets {
		if t != o.IgnoreIndex {
			den += weight(o, t)
		}
	}
	if k.Op == kernels.OpCrossEntropyGrad {
		if o.Reduction != kernels.ReduceMean {
			den = 1
		}
		for r, t := range a.Targets {
			if t == o.IgnoreIndex {
				continue
			}
			s := weight(o, t) / den
			if s == 1 || s == 0 || math.IsNaN(s) || math.IsInf(s, 0) {
				continue
			}
			for j := r * a.Cols; j < (r+1)*a.Cols; j++ {
				extra[j] = math.Abs(s) * 0.5 * out.Ulp(want[j]/s)
			}
		}
		return extra
	}
	sum := 0.0
	for r, t := range a.Targets {
		if t == o.IgnoreIndex {
			continue
		}
		w := weight(o, t)
		l := statsOf(a.X[r*a.Cols : (r+1)*a.Cols]).lseMinus(a.X[r*a.Cols+t])
		if w == 0 || math.IsNaN(l) || math.IsInf(l, 0) {
			continue // contributes exactly 0, or a non-finite loss judged exactly
		}
		e := math.Abs(w) * 0.5 * out.Ulp(l)
		if o.Reduction == kernels.ReduceNone {
			if w != 1 {
				extra[r] = e
			}
			continue
		}
		sum += e
	}
	if o.Reduction != kernels.ReduceNone {
		if o.Reduction == kernels.ReduceMean {
			sum /= math.Abs(den)
		}
		extra[0] = sum
	}
	return extra
}

var _ = fp.FP32
