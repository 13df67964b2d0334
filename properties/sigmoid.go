// This file implements the properties of the elementwise two-class operations (softplus,
// log-sigmoid, sigmoid, σ', BCE with logits and its gradient): their oracle, their
// condition-aware tolerance, their identities and range checks (docs/sigmoid.md).

package properties

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"pgregory.net/rapid"

	"github.com/ulpcheck/ulpcheck/generators"
	"github.com/ulpcheck/ulpcheck/kernels"
	"github.com/ulpcheck/ulpcheck/oracle"
)

// PropSymmetry is the reflection identities: softplus(x) − softplus(−x) = x, σ(x) + σ(−x) = 1,
// log σ(x) − log σ(−x) = x, σ'(x) = σ'(−x), each within the sum of the two tolerances.
const PropSymmetry = "symmetry"

// exactElementwise is Exact for the elementwise operations.
func exactElementwise(k *kernels.Kernel, a *kernels.Args) ([]oracle.Value, error) {
	f := k.OutFormat()
	o := oracle.BCEOptions{PosWeight: a.CE.Weights, Reduction: a.CE.Reduction}
	switch k.Op {
	case kernels.OpSoftplus:
		return oracle.Softplus(f, a.X, oracle.SoftplusThreshold)
	case kernels.OpLogSigmoid:
		return oracle.LogSigmoid(f, a.X)
	case kernels.OpSigmoid:
		return oracle.Sigmoid(f, a.X)
	case kernels.OpSigmoidGrad:
		return oracle.SigmoidGrad(f, a.X)
	case kernels.OpBCEWithLogits:
		return oracle.BCEWithLogits(f, a.X, a.Probs, a.Rows, a.Cols, o)
	case kernels.OpBCEWithLogitsGrad:
		return oracle.BCEWithLogitsGrad(f, a.X, a.Probs, a.Rows, a.Cols, o)
	}
	return nil, fmt.Errorf("properties: unknown elementwise operation %v", k.Op)
}

func isBCE(o kernels.Op) bool {
	return o == kernels.OpBCEWithLogits || o == kernels.OpBCEWithLogitsGrad
}

// elementwiseGen is CaseGen for the elementwise operations.
func elementwiseGen(k *kernels.Kernel, g []generators.Option) *rapid.Generator[generators.Case] {
	if isBCE(k.Op) {
		return generators.BCE(k.In, g...)
	}
	return generators.Logits(k.In, g...)
}

// float64 evaluations used only for the size of the bounds (never as a reference value).
func softplus64(x float64) float64 { return math.Max(x, 0) + math.Log1p(math.Exp(-math.Abs(x))) }
func log1pe64(x float64) float64   { return math.Log1p(math.Exp(-math.Abs(x))) }
func sigmoid64(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// elementwiseCoef returns, for every output, the coefficient B of the first-order bound
// |ŷ − y| ≤ B·u of the stable algorithm (docs/sigmoid.md), NaN where none applies.
func elementwiseCoef(k *kernels.Kernel, a *kernels.Args, want []float64) (b, under []float64) {
	b = make([]float64, len(want))
	// under: for BCE, the factor by which an exponential or product that underflows in the
	// accumulation format (absolute error ½·MinSubnormal_acc) is multiplied on its way to the
	// output: the coefficients |1 − t| + |pw|·max(|t|, 1), summed (÷n for the mean).
	under = make([]float64, len(want))
	pw := func(i int) float64 {
		if a.CE.Weights == nil || a.Cols == 0 {
			return 1
		}
		return a.CE.Weights[i%a.Cols]
	}
	n := float64(len(a.X))
	switch k.Op {
	case kernels.OpSoftplus, kernels.OpLogSigmoid:
		// max(±x, 0) + L̂: L̂ = log1p(ê) has error ≤ 2u·L (e/(1+e) ≤ log1p(e)), the sum u|y|.
		for i, x := range a.X {
			b[i] = math.Abs(want[i]) + 2*log1pe64(x)
		}
	case kernels.OpSigmoid:
		for i := range a.X {
			b[i] = 4 * math.Abs(want[i]) // exp, add, divide: 3u relative
		}
	case kernels.OpSigmoidGrad:
		for i := range a.X {
			b[i] = 6 * math.Abs(want[i]) // exp, add, square, divide: 5u relative (4u + u)
		}
	case kernels.OpBCEWithLogits:
		var sb, sl float64
		for i, x := range a.X {
			t, p := a.Probs[i], pw(i)
			l := coefTimes64(1-t, softplus64(x)) + coefTimes64(p*t, softplus64(-x))
			// Each softplus as above, the two coefficients and products (2u each), the sum (u).
			bi := coefTimes64(math.Abs(1-t), softplus64(x)+2*log1pe64(x)) + coefTimes64(math.Abs(p*t), softplus64(-x)+2*log1pe64(x)) + 3*math.Abs(l)
			sb += bi
			sl += math.Abs(l)
			ui := math.Abs(1-t) + math.Abs(p)*math.Max(math.Abs(t), 1)
			if a.CE.Reduction == kernels.ReduceNone {
				b[i], under[i] = bi, ui
			} else {
				under[0] += ui
			}
		}
		if a.CE.Reduction != kernels.ReduceNone {
			// Recursive summation: (n − 1)u·Σ|l_i| more; the mean's division u|y|.
			b[0] = sb + n*sl
			if a.CE.Reduction == kernels.ReduceMean && n > 0 {
				b[0] = b[0]/n + math.Abs(want[0])
				under[0] /= n
			}
		}
	case kernels.OpBCEWithLogitsGrad:
		for i, x := range a.X {
			t, p := a.Probs[i], pw(i)
			// Each sigmoid 3u relative, each product with a rounded coefficient 2u, the
			// subtraction u|g|, the mean's division u|g|. Where the two terms cancel this
			// absolute bound is many ulps of g: the cancellation is the algorithm's.
			b[i] = 5 * (math.Abs(1-t)*sigmoid64(x) + math.Abs(p*t)*sigmoid64(-x))
			under[i] = math.Abs(1-t) + math.Abs(p)*math.Max(math.Abs(t), 1)
			if a.CE.Reduction == kernels.ReduceMean && n > 0 {
				b[i] /= n
				under[i] /= n
			}
			b[i] += 2 * math.Abs(want[i])
		}
	}
	return b, under
}

func coefTimes64(c, v float64) float64 {
	if c == 0 {
		return 0
	}
	return c * v
}

// elementwiseTolerances returns the absolute tolerance of every output: the models of tolerances
// for Strict and AssertClose; for Condition(s), s·B·u_acc + ½ulp_out(y) + a floor for the
// underflow of intermediate exponentials (a few subnormals of the output and accumulation).
func elementwiseTolerances(t Tolerance, k *kernels.Kernel, a *kernels.Args, want []float64) []float64 {
	if t.kind != tolCondition {
		return tolerances(t, k, a, want)
	}
	out, acc := k.OutFormat(), k.AccFormat()
	u := acc.UnitRoundoff()
	b, under := elementwiseCoef(k, a, want)
	tol := make([]float64, len(want))
	for i, y := range want {
		if math.IsNaN(b[i]) || math.IsInf(b[i], 0) {
			b[i] = math.Inf(1)
		}
		tol[i] = t.safety*b[i]*u + 0.5*out.Ulp(y) + 2*out.MinSubnormal() + t.safety*(8+under[i])*acc.MinSubnormal()
	}
	return tol
}

// evaluateElementwise is evaluate for the elementwise operations.
func evaluateElementwise(ctx context.Context, k *kernels.Kernel, c generators.Case, cfg *config) Verdict {
	v := Verdict{Kernel: k.Name, Case: c}
	switch {
	case c.Format != k.In:
		v.Skipped = fmt.Sprintf("case format %v, kernel input %v", c.Format, k.In)
		return v
	case isBCE(k.Op) && len(c.Probs) != len(c.X):
		v.Skipped = "no BCE targets"
		return v
	case isBCE(k.Op) && !k.Supports(c.CE.Reduction):
		v.Skipped = "reduction"
		return v
	}
	a := ArgsOf(c)
	for _, x := range a.X {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			v.Spread = math.Max(v.Spread, math.Abs(x))
		}
	}
	t0 := time.Now()
	got, err := k.Call(ctx, a)
	v.KernelTime += time.Since(t0)
	if err != nil {
		switch {
		case errors.Is(err, kernels.ErrUnsupported):
			v.Skipped = err.Error()
		case ctx.Err() != nil:
			v.Skipped = ctx.Err().Error()
		default:
			v.fail(Failure{Property: PropContract, Class: ClassContract, Index: -1, Message: err.Error()})
		}
		return v
	}
	t0 = time.Now()
	ex, err := exactElementwise(k, a)
	v.OracleTime += time.Since(t0)
	if err != nil {
		v.fail(Failure{Property: PropOracle, Class: ClassHarness, Index: -1, Message: err.Error()})
		return v
	}
	approx := v.setResults(got, ex)
	tol := elementwiseTolerances(cfg.tol, k, a, approx)
	grad := k.Op == kernels.OpSigmoidGrad || k.Op == kernels.OpBCEWithLogitsGrad
	for i := range got {
		nf := len(v.Failures)
		v.Ulp[i], v.Bound[i] = judge(&v, k, a, nil, i, got[i], ex[i], tol[i], cfg)
		if !math.IsInf(v.Ulp[i], 0) && !math.IsNaN(v.Ulp[i]) {
			v.MaxUlp = math.Max(v.MaxUlp, v.Ulp[i])
		}
		for j := nf; grad && j < len(v.Failures); j++ {
			if cl := v.Failures[j].Class; cl == ClassNaN || cl == ClassOverflow {
				v.Failures[j].Property = PropGradFinite // the gradient is not finite where the loss is
			}
		}
	}
	elementwiseRange(&v, k, a, got, ex, cfg)
	if !cfg.noMetamorf {
		symmetry(ctx, &v, k, a, got, ex, tol, cfg)
	}
	return v
}

// elementwiseRange checks the ranges: softplus ≥ 0, log σ ≤ 0, σ ∈ [0, 1], σ' ∈ [0, ¼], BCE ≥ 0
// (targets in [0, 1] and pos_weight ≥ 0), wherever the exact value is not NaN.
func elementwiseRange(v *Verdict, k *kernels.Kernel, a *kernels.Args, got []float64, ex []oracle.Value, cfg *config) {
	if cfg.skip[PropRange] {
		return
	}
	lo, hi := math.Inf(-1), math.Inf(1)
	switch k.Op {
	case kernels.OpSoftplus:
		lo = 0
	case kernels.OpLogSigmoid:
		hi = 0
	case kernels.OpSigmoid:
		lo, hi = 0, 1
	case kernels.OpSigmoidGrad:
		lo, hi = 0, 0.25
	case kernels.OpBCEWithLogits:
		for i, t := range a.Probs {
			if !(t >= 0 && t <= 1) || a.CE.Weights != nil && a.CE.Weights[i%a.Cols] < 0 {
				return
			}
		}
		lo = 0
	default:
		return
	}
	for i, y := range got {
		if ex[i].IsNaN() || math.IsNaN(y) {
			continue
		}
		if y < lo || y > hi {
			v.fail(Failure{Property: PropRange, Class: ClassIdentity, Index: i, Got: y, Want: ex[i].Rounded, Exact: ex[i].Float64(), UlpError: math.NaN(), Bound: math.NaN(),
				Message: fmt.Sprintf("%s outside [%g, %g]", k.Op, lo, hi)})
		}
	}
}

// symmetry calls the kernel on −x and checks the reflection identity of its operation for every
// element with |x| ≤ 20 (softplus's linear branch breaks the identity above) whose two outputs
// are finite and within their tolerances, each identity within the sum of the two tolerances and
// the float64 rounding of the check itself.
func symmetry(ctx context.Context, v *Verdict, k *kernels.Kernel, a *kernels.Args, got []float64, ex []oracle.Value, tol []float64, cfg *config) {
	if cfg.skip[PropSymmetry] || isBCE(k.Op) || !v.OK() {
		return
	}
	b := cloneArgs(a)
	for i := range b.X {
		b.X[i] = -b.X[i]
	}
	gotN, err := k.Call(ctx, b)
	if err != nil {
		return // the case itself was fine: an error on −x is judged when −x is drawn
	}
	exN, err := exactElementwise(k, b)
	if err != nil {
		return
	}
	tolN := elementwiseTolerances(cfg.tol, k, b, approxOf(exN))
	for i, x := range a.X {
		y, yn := got[i], gotN[i]
		if !(math.Abs(x) <= 20) || math.IsInf(y, 0) || math.IsInf(yn, 0) || math.IsNaN(y) || math.IsNaN(yn) {
			continue
		}
		var lhs, rhs float64
		var what string
		switch k.Op {
		case kernels.OpSoftplus:
			lhs, rhs, what = y-yn, x, "softplus(x) − softplus(−x) = x"
		case kernels.OpLogSigmoid:
			lhs, rhs, what = y-yn, x, "log σ(x) − log σ(−x) = x"
		case kernels.OpSigmoid:
			lhs, rhs, what = y+yn, 1, "σ(x) + σ(−x) = 1"
		case kernels.OpSigmoidGrad:
			lhs, rhs, what = y-yn, 0, "σ'(x) = σ'(−x)"
		}
		slack := tol[i] + tolN[i] + 0x1p-52*math.Abs(lhs)
		if d := math.Abs(lhs - rhs); d > slack*(1+measureSlack) {
			v.fail(Failure{Property: PropSymmetry, Class: ClassIdentity, Index: i, Got: y, Want: ex[i].Rounded, Exact: ex[i].Float64(), UlpError: math.NaN(), Bound: math.NaN(),
				Message: fmt.Sprintf("%s: off by %g (allowed %g), kernel(−x) = %g", what, d, slack, yn)})
		}
	}
}
