// This file implements the properties of the gradient-norm operations (get_total_norm,
// clip_grad_norm_, clip_grad_value_; docs/gradnorm.md): accuracy against the exact norm within
// the condition-aware bound below, error_if_nonfinite, and for clipping the clipped norm, the
// direction, no amplification and the order with the loss scaler.

package properties

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/ulpcheck/ulpcheck/generators"
	"github.com/ulpcheck/ulpcheck/kernels"
	"github.com/ulpcheck/ulpcheck/oracle"
)

// The gradient-norm properties.
const (
	PropNormNonfinite = "norm-nonfinite" // error_if_nonfinite raised exactly when the exact total norm is NaN or ±Inf
	PropClipNorm      = "clip-norm"      // the clipped gradients' norm ≤ max_norm·(1 + bound)
	PropClipDirection = "clip-direction" // every clipped element is the same multiple of its gradient, within the bound
	PropNoAmplify     = "no-amplify"     // |clipped g| ≤ |g| for every element
	PropClipOrder     = "clip-order"     // gradients whose norm is within max_norm are returned unchanged (clipping scaled gradients breaks it)
)

// normRelBound returns the first-order relative error bound B/u of a total p-norm of n elements
// accumulated with unit roundoff u (gradient norm tolerance, README):
//
//	p = 2 (and any finite p ≠ 1):  ((n + 6)/p + 1)
//	p = 1:                         n
//	p = ∞:                         0 (the maximum is exact)
//
// For p = 2: each square carries u, recursive summation of n terms (n − 1)u, combining the
// scaled accumulators of Blue's algorithm at most 6u (two products by the scale, a root, a
// quotient, its square and a sum, each u), so the sum of squares has relative error
// ≤ (n + 6)u; the root halves it and adds u. Scaling by powers of two is exact. A plain sum of
// squares (no scaling) meets the same bound wherever no square overflows or underflows; where
// one does, its error is unbounded, which is the failure the property is for.
func normRelBound(p float64, n int) float64 {
	switch {
	case math.IsInf(p, 1):
		return 0
	case p == 1:
		return float64(n)
	}
	return (float64(n)+6)/p + 1
}

// tensorsOf splits the rows of x into tensors.
func tensorsOf(x []float64, rows, cols int) [][]float64 {
	t := make([][]float64, rows)
	for r := range t {
		t[r] = x[r*cols : (r+1)*cols]
	}
	return t
}

// exactGradNorm is Exact for the gradient-norm operations.
func exactGradNorm(k *kernels.Kernel, a *kernels.Args) ([]oracle.Value, error) {
	f, t, o := k.OutFormat(), tensorsOf(a.X, a.Rows, a.Cols), a.Norm
	switch k.Op {
	case kernels.OpGradNorm:
		v, err := oracle.GradNorm(f, t, o.Order())
		return []oracle.Value{v}, err
	case kernels.OpClipGradNorm:
		c, _, err := oracle.ClipGradNorm(f, t, o.Order(), o.MaxNorm)
		return flatten(c), err
	case kernels.OpClipGradValue:
		c, err := oracle.ClipGradValue(f, t, o.ClipValue)
		return flatten(c), err
	}
	return nil, fmt.Errorf("properties: unknown gradient-norm operation %v", k.Op)
}

func flatten(vs [][]oracle.Value) []oracle.Value {
	var out []oracle.Value
	for _, r := range vs {
		out = append(out, r...)
	}
	return out
}

// gradNormRel is the relative bound (safety included) of the norm, and of a clipped element
// (the norm's, plus the coefficient's sum, quotient and clamp and the product, 4u).
func gradNormRel(t Tolerance, k *kernels.Kernel, a *kernels.Args) (norm, clip float64) {
	u := k.AccFormat().UnitRoundoff()
	b := normRelBound(a.Norm.Order(), len(a.X))
	return t.safety * b * u, t.safety * (b + 4) * u
}

// gradNormTolerances returns the absolute tolerance of every output: under Condition(s)
//
//	norm:           s·B·u_acc·N + ½ulp_out(N) + 2·MinSubnormal_out
//	clipped x·c:    s·(B + 4)·u_acc·|x·c| + ½ulp_out + 2·MinSubnormal_out
//	clamped value:  ½ulp_out (the clamp is exact)
//
// and the models of tolerances for Strict and AssertClose.
func gradNormTolerances(t Tolerance, k *kernels.Kernel, a *kernels.Args, want []float64) []float64 {
	if t.kind != tolCondition {
		return tolerances(t, k, a, want)
	}
	out := k.OutFormat()
	rn, rc := gradNormRel(t, k, a)
	tol := make([]float64, len(want))
	for i, y := range want {
		switch k.Op {
		case kernels.OpGradNorm:
			tol[i] = rn*math.Abs(y) + 0.5*out.Ulp(y) + 2*out.MinSubnormal()
		case kernels.OpClipGradNorm:
			tol[i] = rc*math.Abs(y) + 0.5*out.Ulp(y) + 2*out.MinSubnormal()
		default:
			tol[i] = 0.5 * out.Ulp(y)
		}
	}
	return tol
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// evaluateGradNorm is evaluate for the gradient-norm operations.
func evaluateGradNorm(ctx context.Context, k *kernels.Kernel, c generators.Case, cfg *config) Verdict {
	v := Verdict{Kernel: k.Name, Case: c}
	if c.Format != k.In {
		v.Skipped = fmt.Sprintf("case format %v, kernel input %v", c.Format, k.In)
		return v
	}
	a := ArgsOf(c)
	for _, x := range a.X {
		if finite(x) {
			v.Spread = math.Max(v.Spread, math.Abs(x))
		}
	}
	o := a.Norm
	// The exact total norm decides error_if_nonfinite (NaN, +Inf, or rounding to +Inf).
	t0 := time.Now()
	norm, err := oracle.GradNorm(k.In, tensorsOf(a.X, a.Rows, a.Cols), o.Order())
	v.OracleTime += time.Since(t0)
	if err != nil {
		if errors.Is(err, oracle.ErrPrecisionCap) {
			v.Skipped = err.Error()
		} else {
			v.fail(Failure{Property: PropOracle, Class: ClassHarness, Index: -1, Message: err.Error()})
		}
		return v
	}
	nonfin := !finite(norm.Rounded)
	asks := o.ErrorIfNonfinite && k.Op != kernels.OpClipGradValue
	t0 = time.Now()
	got, err := k.Call(ctx, a)
	v.KernelTime += time.Since(t0)
	if err != nil {
		switch {
		case errors.Is(err, kernels.ErrUnsupported):
			v.Skipped = err.Error()
		case ctx.Err() != nil:
			v.Skipped = ctx.Err().Error()
		case asks && nonfin && !cfg.skip[PropNormNonfinite]:
			// Reported as asked: nothing more to judge.
		case errors.Is(err, kernels.ErrNonfinite):
			if !cfg.skip[PropNormNonfinite] {
				v.fail(Failure{Property: PropNormNonfinite, Class: ClassOverflow, Index: -1, Got: math.Inf(1), Want: norm.Rounded, Exact: norm.Float64(), UlpError: math.Inf(1), Bound: math.NaN(),
					Message: fmt.Sprintf("error_if_nonfinite raised for a finite total norm %g: %v", norm.Float64(), err)})
			}
		default:
			v.fail(Failure{Property: PropContract, Class: ClassContract, Index: -1, Message: err.Error()})
		}
		return v
	}
	if asks && nonfin && !cfg.skip[PropNormNonfinite] {
		v.fail(Failure{Property: PropNormNonfinite, Class: ClassNonFiniteLost, Index: -1, Want: norm.Rounded, Exact: norm.Float64(), UlpError: math.NaN(), Bound: math.NaN(),
			Message: fmt.Sprintf("error_if_nonfinite is set and the total norm is %g, but the call succeeded", norm.Rounded)})
	}
	t0 = time.Now()
	ex, err := exactGradNorm(k, a)
	v.OracleTime += time.Since(t0)
	if err != nil {
		v.fail(Failure{Property: PropOracle, Class: ClassHarness, Index: -1, Message: err.Error()})
		return v
	}
	approx := v.setResults(got, ex)
	tol := gradNormTolerances(cfg.tol, k, a, approx)
	for i := range got {
		v.Ulp[i], v.Bound[i] = judge(&v, k, a, nil, i, got[i], ex[i], tol[i], cfg)
		if finite(v.Ulp[i]) {
			v.MaxUlp = math.Max(v.MaxUlp, v.Ulp[i])
		}
	}
	if k.Op == kernels.OpClipGradNorm {
		clipChecks(&v, k, a, got, ex, norm, cfg)
	}
	return v
}

// clipChecks checks the clipping properties of clip_grad_norm_'s outputs got:
//
//	no-amplify:     |got_i| ≤ |x_i| for every finite x_i (exactly)
//	clip-norm:      ‖got‖_p ≤ max_norm·(1 + r), r = s·(B + 4)·u_acc + u_out, for a finite norm
//	clip-direction: the ratios got_i/x_i (elements with normal exact results) agree to 2r
//	clip-order:     max_norm ≥ (N + ε)·(1 + 2·s·B·u_acc) (N the exact norm): got = x exactly
func clipChecks(v *Verdict, k *kernels.Kernel, a *kernels.Args, got []float64, ex []oracle.Value, norm oracle.Value, cfg *config) {
	out := k.OutFormat()
	o := a.Norm
	rn, rc := gradNormRel(cfg.tol, k, a)
	r := rc + out.UnitRoundoff()
	fail := func(prop string, i int, msg string) {
		if cfg.skip[prop] {
			return
		}
		f := Failure{Property: prop, Class: ClassIdentity, Index: i, UlpError: math.NaN(), Bound: math.NaN(), Message: msg}
		if i >= 0 {
			f.Got, f.Want, f.Exact = got[i], ex[i].Rounded, ex[i].Float64()
		}
		v.fail(f)
	}
	for i, x := range a.X {
		if finite(x) && !ex[i].IsNaN() && !math.IsNaN(got[i]) && !(math.Abs(got[i]) <= math.Abs(x)) {
			fail(PropNoAmplify, i, fmt.Sprintf("clipping amplified %g to %g", x, got[i]))
			return
		}
	}
	n := norm.Float64()
	if !finite(n) {
		return
	}
	if !math.IsInf(o.MaxNorm, 1) {
		gn, err := oracle.GradNorm(out, tensorsOf(got, a.Rows, a.Cols), o.Order())
		if err == nil && finite(gn.Rounded) && gn.Float64() > o.MaxNorm*(1+r)*(1+measureSlack) {
			fail(PropClipNorm, -1, fmt.Sprintf("clipped norm %g exceeds max_norm %g·(1 + %.3g)", gn.Float64(), o.MaxNorm, r))
		}
	}
	rmin, rmax := math.Inf(1), math.Inf(-1)
	for i, x := range a.X {
		if x == 0 || !finite(got[i]) || math.Abs(ex[i].Float64()) < out.MinNormal() {
			continue
		}
		q := got[i] / x
		rmin, rmax = math.Min(rmin, q), math.Max(rmax, q)
	}
	if rmax > rmin && rmax-rmin > 2*r*rmax*(1+measureSlack) {
		fail(PropClipDirection, -1, fmt.Sprintf("clipped elements are multiples %g to %g of their gradients (allowed relative spread %.3g)", rmin, rmax, 2*r))
	}
	if o.MaxNorm >= (n+oracle.ClipEps)*(1+2*rn) {
		for i, x := range a.X {
			if got[i] != x && !(math.IsNaN(x) && math.IsNaN(got[i])) {
				fail(PropClipOrder, i, fmt.Sprintf("the total norm %g is within max_norm %g, yet element %d changed from %g to %g (clipped before the scaler's unscale?)", n, o.MaxNorm, i, x, got[i]))
				return
			}
		}
	}
}
