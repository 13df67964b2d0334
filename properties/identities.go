// This file implements the identities and the metamorphic relations.

package properties

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/ulpcheck/ulpcheck/fp"
	"github.com/ulpcheck/ulpcheck/kernels"
	"github.com/ulpcheck/ulpcheck/oracle"
)

// identities checks the output-only identities: softmax in [0, 1] and Σ softmax = 1 within the
// sum of the element tolerances; log-softmax ≤ 0 and exp(log-softmax) consistent with the exact
// softmax (expLogConsistent); x_max ≤ LSE ≤ x_max + log n + the tolerance
// (rows of equal entries reach the upper end); cross-entropy ≥ 0 when the weights are. The
// one-sided limits 0, 1, x_max are exact: a kernel whose rounding is monotone cannot cross them.
func identities(v *Verdict, k *kernels.Kernel, a *kernels.Args, got []float64, ex []oracle.Value, tol []float64, ranges []rowStats, cfg *config) {
	out := k.OutFormat()
	bad := func(prop string, i int, msg string) {
		if cfg.skip[prop] {
			return
		}
		f := Failure{Property: prop, Class: ClassIdentity, Index: i, Got: math.NaN(), Want: math.NaN(), Exact: math.NaN(), Bound: math.NaN(), UlpError: math.NaN(), Message: msg}
		if i >= 0 {
			f.Got, f.Want, f.Exact = got[i], ex[i].Rounded, ex[i].Float64()
		}
		v.fail(f)
	}
	rows, cols := a.Rows, a.Cols
	switch k.Op {
	case kernels.OpSoftmax:
		for r := 0; r < rows; r++ {
			st := ranges[r] // finite is all it reads
			sum, bound := 0.0, 0.0
			for j := r * cols; j < (r+1)*cols; j++ {
				if y := got[j]; y < 0 || y > 1 {
					bad(PropRange, j, "softmax output outside [0, 1]")
					return
				}
				sum += got[j]
				bound += tol[j]
			}
			if st.finite {
				bound += float64(cols) * 0x1p-52 // the float64 summation above
				if d := math.Abs(sum - 1); !(d <= bound) {
					bad(PropSumToOne, -1, fmt.Sprintf("row %d: Σ softmax = %.17g, |Σ − 1| = %.3g > %.3g (Σ of the element tolerances)", r, sum, d, bound))
					return
				}
			}
		}
	case kernels.OpLogSoftmax:
		for i, y := range got {
			if y > 0 {
				bad(PropRange, i, "log-softmax output above 0")
				return
			}
		}
		if cfg.skip[PropExpLog] {
			return
		}
		for i, y := range got {
			if msg := expLogConsistent(k.OutFormat(), y, ex[i], tol[i]); msg != "" {
				bad(PropExpLog, i, msg)
				return
			}
		}
	case kernels.OpLSE:
		for r := 0; r < rows; r++ {
			st := statsOf(a.X[r*cols : (r+1)*cols])
			if !st.finite || math.IsNaN(got[r]) {
				continue
			}
			// The upper end is reached by rows of equal entries, so a kernel may exceed it by its
			// error: the limit is x_max + log n plus the element's tolerance.
			lo, _ := out.RoundFloat64(st.xmax)
			hi := st.xmax + math.Log(float64(st.n))
			if got[r] < lo || got[r] > hi+tol[r] {
				bad(PropRange, r, fmt.Sprintf("LSE outside [x_max, x_max + log n + tolerance] = [%g, %g + %g]", st.xmax, hi, tol[r]))
				return
			}
		}
	case kernels.OpCrossEntropy:
		for _, w := range a.CE.Weights {
			if w < 0 {
				return
			}
		}
		for i, y := range got {
			if y < 0 {
				bad(PropRange, i, "cross-entropy below 0")
				return
			}
		}
	}
}

// expLogConsistent checks one log-softmax output ℓ̂ against the exact softmax p = e^ℓ (ℓ the
// exact log-softmax, e its oracle value, tol its absolute tolerance): exp(ℓ̂) must lie within
// the error that the log-softmax tolerance allows in the probability domain. It returns "" when
// the output is consistent, and the reason otherwise.
//
// The allowed error follows from the tolerance, not from softmax's own bound: with
// |ℓ̂ − ℓ| ≤ τ, |e^ℓ̂ − e^ℓ| = e^ℓ·|e^(ℓ̂−ℓ) − 1| ≤ e^ℓ·expm1(τ), to first order e^ℓ·τ. For the
// condition-aware tolerance τ ≈ S·(3 + n + d)·|ℓ|·u, so the allowed relative error of exp(ℓ̂) is
// about |ℓ|·S·(3 + n + d)·u, larger than softmax's S·(n + 2 + 2d)·u by the condition number
// |ℓ| of exp at ℓ: softmax's own tolerance would flag correct log-softmax kernels on entries far
// below the maximum. The check is
//
//	|exp(ℓ̂) − exp(ℓ₆₄)| ≤ exp(ℓ₆₄ + τ′)·(−expm1(−τ′))·(1 + (|ℓ₆₄| + 4)·2^−52)
//	                      + 2^−51·(exp(ℓ̂) + exp(ℓ₆₄)) + 2^−1073
//
// with exp the float64 math.Exp (within 1 ulp, so each evaluation is within 2^−52 relative plus
// half the smallest subnormal), ℓ₆₄ = e.Float64() (within 2^−21·ulp_out(ℓ) of ℓ) and
// τ′ = τ + 2^−17·ulp_out(ℓ), which covers that and the 2^−18-ulp measurement slack with which
// the accuracy property judges ℓ̂. The first term is e^ℓ₆₄·expm1(τ′) written so that it stays
// finite when e^ℓ₆₄ underflows and τ′ is large; its factor covers the rounding of ℓ₆₄ + τ′. A kernel that passes the accuracy property therefore passes
// this one; its value is the probability-domain view (and it still holds when accuracy is
// skipped or judged with another model): a log-softmax off by a constant shift c scales every
// exp(ℓ̂) by e^c and fails as soon as |c| exceeds τ.
//
// Special cases are:
//
//	ℓ̂ or ℓ NaN or ±Inf: not checked (masking and propagation judge those outputs)
//	τ NaN or +Inf (no finite bound): not checked
func expLogConsistent(out fp.Format, got float64, e oracle.Value, tol float64) string {
	l := e.Float64()
	if math.IsNaN(got) || math.IsInf(got, 0) || math.IsNaN(l) || math.IsInf(l, 0) || math.IsNaN(tol) || math.IsInf(tol, 0) {
		return ""
	}
	tau := tol + 0x1p-17*out.Ulp(l)
	q, p := math.Exp(got), math.Exp(l)
	// e^ℓ·expm1(τ) = e^(ℓ+τ)·(1 − e^−τ): finite when τ is large and e^ℓ underflows.
	allowed := math.Exp(l+tau)*-math.Expm1(-tau)*(1+(math.Abs(l)+4)*0x1p-52) + 0x1p-51*(q+p) + 0x1p-1073
	if d := math.Abs(q - p); !(d <= allowed) {
		return fmt.Sprintf("exp(log-softmax) = %s, exact softmax = %s: |Δ| = %.3g > %.3g (e^ℓ·expm1(τ), τ = %.3g the log-softmax tolerance)",
			hexf(q), hexf(p), d, allowed, tau)
	}
	return ""
}

// variant calls the kernel on b and judges its outputs against ex with tolerances tol; the first
// failure, if any, is recorded under prop with its class and msg()'s message. With rev > 0 output
// i is judged against element j of ex and tol, j its mirror in its run of rev elements (b's rows
// reversed, ex and tol in a's order); with rev = 0, against element i.
//
// same, when not nil, says where a's own judgement holds each output of b's exact value (see
// sameAs); an output that matches it there in every input of the judge is not judged again.
func variant(ctx context.Context, v *Verdict, k *kernels.Kernel, b *kernels.Args, ex []oracle.Value, tol []float64, rev int, same *sameAs, prop string, msg func() string, sc *scratch, cfg *config) {
	b.Dst = sc.variantOut(k, b)
	t0 := time.Now()
	got, err := k.Call(ctx, b)
	v.KernelTime += time.Since(t0)
	if err != nil {
		if errors.Is(err, kernels.ErrUnsupported) || ctx.Err() != nil {
			return
		}
		v.fail(Failure{Property: PropContract, Class: ClassContract, Index: -1, Message: msg() + ": " + err.Error()})
		return
	}
	tmp := Verdict{}
	masked := rowFlagsInto(sc.vflags[:0], k, b, got)
	sc.vflags = masked
	vm := anyMasked(masked)
	for i := range got {
		j := mirror(i, rev)
		if same.holds(k, b, masked, vm, i, got[i], tol[j]) {
			if cfg.reused != nil {
				*cfg.reused++
			}
			continue
		}
		judge(&tmp, k, b, masked, i, got[i], ex[j], tol[j], cfg)
		if len(tmp.Failures) > 0 {
			f := tmp.Failures[0]
			f.Message = msg() + ": " + f.Message
			f.Property = prop
			v.fail(f)
			return
		}
	}
}

// mirror returns i's mirror in its run of rev elements, or i when rev is 0.
func mirror(i, rev int) int {
	if rev > 0 {
		return i - i%rev + rev - 1 - i%rev
	}
	return i
}

// A judged is the case's own judgement, when it found no failure: its arguments, outputs,
// tolerances and row flags.
type judged struct {
	a         *kernels.Args
	got       []float64
	tol       []float64
	flags     []rowFlag
	anyMasked bool // a row of flags is fully masked
}

// sameAs says where the case's judgement holds a variant's exact values: the exact value the
// variant judges its output i against is the case's exact value of element off + mirror(i, rev).
type sameAs struct {
	o        *judged
	off, rev int
}

// holds reports whether judge, on output i of the variant b (got, tolerance tol, row flags
// flags), is known to find no failure: the case's own judge passed element j = off + mirror(i,
// rev), whose exact value is the same, and every other input judge reads is the same too. Those
// are the kernel and the configuration (shared), the output and the tolerance (the same bits),
// whether the output's row is fully masked, and for softmax and log-softmax whether the logit is
// −Inf (the same). judge's row index and the row's allZero flag only enter the classification
// of a failure. The variant then records nothing for it, and judging it again would too.
//
// anyMasked says whether a row of flags is fully masked: where neither the variant nor the case
// has one, maskedAt is false on both sides and is not evaluated.
func (s *sameAs) holds(k *kernels.Kernel, b *kernels.Args, flags []rowFlag, anyMasked bool, i int, got, tol float64) bool {
	if s == nil || s.o == nil {
		return false
	}
	o := s.o
	j := s.off + mirror(i, s.rev)
	if j < 0 || j >= len(o.got) || j >= len(o.tol) ||
		math.Float64bits(got) != math.Float64bits(o.got[j]) || math.Float64bits(tol) != math.Float64bits(o.tol[j]) ||
		(anyMasked || o.anyMasked) && maskedAt(k, b, flags, i) != maskedAt(k, o.a, o.flags, j) {
		return false
	}
	if k.Op == kernels.OpSoftmax || k.Op == kernels.OpLogSoftmax {
		return i < len(b.X) && j < len(o.a.X) && math.IsInf(b.X[i], -1) == math.IsInf(o.a.X[j], -1)
	}
	return true
}

// cloneArgs returns a copy of a for a variant of k's case: in the scratch's variant buffers
// when k declares Returns (its call cannot outlive Call, so nothing reads them after the
// variant), else in storage of its own, as cloneArgs.
func (sc *scratch) cloneArgs(k *kernels.Kernel, a *kernels.Args) *kernels.Args {
	if !k.Returns {
		return cloneArgs(a)
	}
	return sc.vargs.of(a)
}

// An argsCopy holds a copy of a kernel call's arguments and the storage of its slices, which
// the next copy into it reuses.
type argsCopy struct {
	a                 kernels.Args
	x, dy, probs, wts []float64
	targets           []int
}

// of copies a into c and returns the copy; its slices are nil where a's are nil or empty.
func (c *argsCopy) of(a *kernels.Args) *kernels.Args {
	c.a = *a
	c.a.X = copyInto(&c.x, a.X)
	if a.DY != nil {
		c.a.DY = copyInto(&c.dy, a.DY)
	}
	if a.Probs != nil {
		c.a.Probs = copyInto(&c.probs, a.Probs)
	}
	if a.Targets != nil {
		c.a.Targets = copyInto(&c.targets, a.Targets)
	}
	if a.CE.Weights != nil {
		c.a.CE.Weights = copyInto(&c.wts, a.CE.Weights)
	}
	return &c.a
}

// copyInto copies s into *buf's storage and returns the copy, nil for an empty s (as
// append([]T(nil), s...) gives).
func copyInto[T any](buf *[]T, s []T) []T {
	if len(s) == 0 {
		return nil
	}
	*buf = append((*buf)[:0], s...)
	return *buf
}

// variantOut returns the output buffer of a variant's call (Args.Dst) when k declares Returns,
// else nil.
func (sc *scratch) variantOut(k *kernels.Kernel, b *kernels.Args) []float64 {
	if !k.Returns {
		return nil
	}
	n := k.OutLen(b)
	sc.vout = slices.Grow(sc.vout[:0], n)
	return sc.vout[:0:n]
}

// cloneArgs returns a copy of a in storage of its own.
func cloneArgs(a *kernels.Args) *kernels.Args { return new(argsCopy).of(a) }

// variantTol returns a variant's tolerances in the scratch's variant buffers (a variant's
// tolerances live until the next variant's are made).
func (sc *scratch) variantTol(t Tolerance, k *kernels.Kernel, b *kernels.Args, ex []oracle.Value) []float64 {
	sc.vap = slices.Grow(sc.vap[:0], len(ex))[:len(ex)]
	for i, e := range ex {
		sc.vap[i] = e.Float64()
	}
	sc.vtol = tolerancesInto(sc.vtol[:0], t, k, b, sc.vap, nil)
	return sc.vtol
}

func approxOf(ex []oracle.Value) []float64 {
	y := make([]float64, len(ex))
	for i, e := range ex {
		y[i] = e.Float64()
	}
	return y
}

// exactSum reports whether s = fl(a + b) is the exact sum, by Knuth's TwoSum (the rounding error
// of the float64 addition is zero). The test y − b == a is not enough: it can round back to a.
func exactSum(a, b, s float64) bool {
	bb := s - a
	return (a-(s-bb))+(b-bb) == 0
}

// shiftConstant returns a constant c ≠ 0 such that x + c is exact in the input format and
// finite for every finite x of a, trying −x_max, the power of two at or below |x_max|, 1 and −1.
func shiftConstant(k *kernels.Kernel, a *kernels.Args) (float64, bool) {
	xmax := math.Inf(-1)
	for _, x := range a.X {
		if !math.IsInf(x, 0) && !math.IsNaN(x) {
			xmax = math.Max(xmax, x)
		}
	}
	if math.IsInf(xmax, -1) {
		return 0, false
	}
	cands := [4]float64{-xmax, 1, -1}
	nc := 3
	if xmax != 0 {
		_, e := math.Frexp(math.Abs(xmax))
		cands[3], nc = math.Ldexp(1, e-1), 4
	}
	in := k.In
	maxf, is32 := in.MaxFinite(), in == fp.FP32
	for _, c := range cands[:nc] {
		if c == 0 || !in.Contains(c) {
			continue
		}
		ok := true
		for _, x := range a.X {
			if x-x != 0 { // ±Inf or NaN
				continue
			}
			// y is finite, not above the largest finite value, and a value of the format
			// (Contains inlined for fp32); ±Inf fails the comparison with maxf.
			y := x + c
			if !exactSum(x, c, y) || !(math.Abs(y) <= maxf) || !(is32 && float64(float32(y)) == y || !is32 && in.Contains(y)) {
				ok = false
				break
			}
		}
		if ok {
			return c, true
		}
	}
	return 0, false
}

// shiftedArgs returns a copy of a with c added to every finite logit.
func shiftedArgs(a *kernels.Args, c float64) *kernels.Args { return shift(cloneArgs(a), c) }

// shift adds c to every finite logit of b and returns b.
func shift(b *kernels.Args, c float64) *kernels.Args {
	for i, x := range b.X {
		if !math.IsInf(x, 0) && !math.IsNaN(x) {
			b.X[i] = x + c
		}
	}
	return b
}

// reversedArgs returns a copy of a with each row's columns reversed: logits, upstream gradient,
// target probabilities, class targets and class weights.
func reversedArgs(a *kernels.Args) *kernels.Args { return reverse(cloneArgs(a)) }

// reverse reverses each row's columns of b (as reversedArgs) and returns b.
func reverse(b *kernels.Args) *kernels.Args {
	rows, cols := b.Rows, b.Cols
	rev := func(s []float64) {
		for r := 0; r < rows; r++ {
			slices.Reverse(s[r*cols : (r+1)*cols])
		}
	}
	rev(b.X)
	if b.DY != nil {
		rev(b.DY)
	}
	if b.Probs != nil {
		rev(b.Probs)
	}
	for r, t := range b.Targets {
		if t >= 0 && t < cols {
			b.Targets[r] = cols - 1 - t
		}
	}
	slices.Reverse(b.CE.Weights)
	return b
}

// outputsPerColumn reports whether k's outputs are one per input element, so that reversing the
// columns reverses them: all but LSE's and cross-entropy's (one per row, or one in all).
func outputsPerColumn(k *kernels.Kernel) bool {
	return k.Op != kernels.OpLSE && k.Op != kernels.OpCrossEntropy
}

// reversedOutputs returns the exact values and tolerances of a's outputs in the order of
// reversedArgs(a)'s: each row reversed, except for LSE and cross-entropy, whose outputs are one
// per row (or one in all).
func reversedOutputs(k *kernels.Kernel, a *kernels.Args, ex []oracle.Value, tol []float64) ([]oracle.Value, []float64) {
	if !outputsPerColumn(k) {
		return ex, tol
	}
	rows, cols := a.Rows, a.Cols
	exb, tolb := make([]oracle.Value, len(ex)), make([]float64, len(tol))
	for r := 0; r < rows; r++ {
		for j := 0; j < cols; j++ {
			exb[r*cols+j] = ex[r*cols+cols-1-j]
			tolb[r*cols+j] = tol[r*cols+cols-1-j]
		}
	}
	return exb, tolb
}

// shiftKeepsTol reports whether the tolerances of the shift variant (x + c, c chosen by
// shiftConstant so that every x + c is exact) are the case's own, so that metamorphic need not
// compute them again. Strict and assert_close depend on the exact values alone, which the shift
// keeps for every operation but LSE. The condition-aware bounds of softmax, log-softmax, the
// softmax backward and the cross-entropy gradient depend on the row through n, x_max − x_min,
// the running-max updates, x_max − x_i and exp(x_i − x_max) in float64 (with the upstream
// gradient, targets and weights, which the shift leaves alone): each difference of two shifted
// entries is the same real, rounded alike, and the comparisons are the same, so those are bit
// for bit the case's. The exception is |x_max|, in the log-softmax bounds of the unshifted and
// exp-LSE classes. (The cross-entropy loss's bound is recomputed: its mulDiff falls back to
// |x_max| + |x_c| when x_max − x_c overflows float64.) TestVariantTolerances holds every bundled
// kernel, as each algorithm class, to this.
func shiftKeepsTol(t Tolerance, k *kernels.Kernel) bool {
	if t.kind != tolCondition {
		return k.Op != kernels.OpLSE
	}
	switch k.Op {
	case kernels.OpSoftmax, kernels.OpSoftmaxBackward, kernels.OpCrossEntropyGrad:
		return true
	case kernels.OpLogSoftmax:
		return k.Algorithm != kernels.AlgUnshifted && k.Algorithm != kernels.AlgExpLSE
	}
	return false
}

// permuteKeepsTol reports whether the tolerances of the permutation variant (each row's columns
// reversed) are the case's own, reversed as its exact values are (unchanged for LSE and
// cross-entropy, whose outputs are per row). Strict and assert_close depend on the exact values
// alone. Of the condition-aware bounds, those of softmax's shifted and unshifted classes and of
// log-softmax's every class but the online one depend on the row through n, x_max, x_min and
// x_max − x_min, which the order does not change; the running-max updates (online) and the
// float64 sum Σ exp(x_i − x_max) (softmax's exp-LSE class) do change with it. TestVariantTolerances
// holds every bundled kernel to this.
func permuteKeepsTol(t Tolerance, k *kernels.Kernel) bool {
	if t.kind != tolCondition {
		return true
	}
	switch k.Op {
	case kernels.OpSoftmax:
		return k.Algorithm == kernels.AlgShifted || k.Algorithm == kernels.AlgUnshifted
	case kernels.OpLogSoftmax:
		return k.Algorithm != kernels.AlgOnline
	}
	return false
}

// metamorphic checks shift invariance, permutation equivariance and batch independence.
//
// o, when not nil, is the case's own judgement, which found no failure: a variant output equal
// to the case's, against the same exact value and tolerance, passes as the case's did.
func metamorphic(ctx context.Context, v *Verdict, k *kernels.Kernel, a *kernels.Args, ex []oracle.Value, tol []float64, o *judged, sc *scratch, cfg *config) {
	rows, cols := a.Rows, a.Cols
	if !cfg.skip[PropShift] && rows*cols > 0 {
		if c, ok := shiftConstant(k, a); ok {
			b := shift(sc.cloneArgs(k, a), c)
			exb, same := ex, &sameAs{o: o}
			if k.Op == kernels.OpLSE {
				same = nil
				t0 := time.Now()
				var err error
				exb, err = Exact(k, b)
				v.OracleTime += time.Since(t0)
				if err != nil {
					v.fail(Failure{Property: PropOracle, Class: ClassHarness, Index: -1, Message: err.Error()})
					return
				}
			}
			tolb := tol
			if !shiftKeepsTol(cfg.tol, k) {
				tolb = sc.variantTol(cfg.tol, k, b, exb)
			}
			variant(ctx, v, k, b, exb, tolb, 0, same, PropShift, func() string { return fmt.Sprintf("x + c with c = %g", c) }, sc, cfg)
		}
	}
	// An ignore_index inside [0, cols) is a class too: reversing the classes would move targets
	// onto it, so such cases are not permuted.
	ignoreInside := a.Targets != nil && a.CE.IgnoreIndex >= 0 && a.CE.IgnoreIndex < cols
	if !cfg.skip[PropPermute] && cols >= 2 && !ignoreInside {
		b := reverse(sc.cloneArgs(k, a))
		// Where the case's tolerances are the variant's, ex and tol are read in mirror order
		// rather than copied reversed.
		exb, tolb, rev := ex, tol, 0
		if outputsPerColumn(k) {
			rev = cols
		}
		same := &sameAs{o: o, rev: rev} // the variant's output i has the exact value of a's mirror(i, rev)
		if !permuteKeepsTol(cfg.tol, k) {
			exb, _ = reversedOutputs(k, a, ex, tol)
			tolb, rev = sc.variantTol(cfg.tol, k, b, exb), 0
		}
		variant(ctx, v, k, b, exb, tolb, rev, same, PropPermute, func() string { return "columns reversed" }, sc, cfg)
	}
	rowwise := k.Op != kernels.OpCrossEntropy && k.Op != kernels.OpCrossEntropyGrad ||
		a.CE.Reduction == kernels.ReduceNone || (k.Op == kernels.OpCrossEntropyGrad && a.CE.Reduction == kernels.ReduceSum)
	if !cfg.skip[PropBatch] && k.Batch && rows > 1 && rowwise {
		per := len(ex) / rows
		for r := 0; r < rows && r < 4; r++ {
			b := sc.cloneArgs(k, a)
			b.Rows = 1
			b.X = b.X[r*cols : (r+1)*cols]
			if b.DY != nil {
				b.DY = b.DY[r*cols : (r+1)*cols]
			}
			if b.Probs != nil {
				b.Probs = b.Probs[r*cols : (r+1)*cols]
			}
			if b.Targets != nil {
				b.Targets = b.Targets[r : r+1]
			}
			exb := ex[r*per : (r+1)*per]
			variant(ctx, v, k, b, exb, sc.variantTol(cfg.tol, k, b, exb), 0, &sameAs{o: o, off: r * per}, PropBatch, func() string { return fmt.Sprintf("row %d computed alone", r) }, sc, cfg)
		}
	}
}
