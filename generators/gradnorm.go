// This file implements the generators of the gradient-norm operations (docs/gradnorm.md): lists
// of gradient tensors with one huge element, many moderate elements whose squares overflow the
// accumulator, subnormals only, exact zeros, one NaN or ±Inf in one tensor, or many tensors, and
// the options of get_total_norm, clip_grad_norm_ and clip_grad_value_.

package generators

import (
	"math"

	"pgregory.net/rapid"

	"github.com/ulpcheck/ulpcheck/fp"
	"github.com/ulpcheck/ulpcheck/loss"
)

// The classes of gradient lists.
const (
	GradModerate  Class = "grad/moderate"    // |g| ≤ 8, zeros and tiny values included
	GradZeros     Class = "grad/zeros"       // exact ±0 only, or ±0 with a few moderate values
	GradHugeOne   Class = "grad/huge-one"    // one element up to ±MaxFinite among moderate ones
	GradSqOverAcc Class = "grad/sq-overflow" // many elements whose squares overflow the format and its accumulator
	GradSubnormal Class = "grad/subnormal"   // subnormals of the format only
	GradNonFinite Class = "grad/nonfinite"   // one NaN or ±Inf in one tensor (E4M3: NaN)
	GradMany      Class = "grad/many"        // many short tensors
)

var gradClasses = []Class{GradModerate, GradZeros, GradHugeOne, GradSqOverAcc, GradSubnormal, GradNonFinite, GradMany}

// gradPicker picks the class with the configured weights: each class weighs 1 unless the
// configuration names classes of the family (WithWeights, Only), which then weigh as named and
// the others 0.
func gradPicker(c *config) picker {
	w, named := Weights{}, false
	for _, cl := range gradClasses {
		if v, ok := c.weights[cl]; ok {
			w[cl], named = v, true
		}
	}
	if !named {
		for _, cl := range gradClasses {
			w[cl] = 1
		}
	}
	return newPicker("grad", gradClasses, w, func(Class) bool { return true })
}

func roundTo(f fp.Format, x float64) float64 { r, _ := f.RoundFloat64(x); return r }

func drawModerate(t *rapid.T, f fp.Format) float64 {
	switch rapid.IntRange(0, 3).Draw(t, "moderate") {
	case 0:
		return 0
	case 1:
		return roundTo(f, math.Ldexp(1, rapid.IntRange(-12, 3).Draw(t, "exp")))
	}
	return roundTo(f, rapid.Float64Range(-8, 8).Draw(t, "g"))
}

// drawSqOver draws a magnitude whose square overflows f (|g| ≥ √MaxFinite(f)) or the
// accumulation format, signed.
func drawSqOver(t *rapid.T, f fp.Format) float64 {
	g := rapid.SampledFrom([]fp.Format{f, accOf(f)}).Draw(t, "of")
	lo := math.Sqrt(g.MaxFinite())
	x := lo * rapid.Float64Range(0.5, 4).Draw(t, "m")
	x = math.Min(x, f.MaxFinite())
	return roundTo(f, float64(rapid.SampledFrom([]float64{1, -1}).Draw(t, "sign"))*x)
}

func drawSubnormal(t *rapid.T, f fp.Format) float64 {
	n := math.Round(f.MinNormal() / f.MinSubnormal())
	k := rapid.Float64Range(1, n-1).Draw(t, "k")
	return float64(rapid.SampledFrom([]float64{1, -1}).Draw(t, "sign")) * math.Floor(k) * f.MinSubnormal()
}

func drawGrad(t *rapid.T, f fp.Format, cl Class) float64 {
	switch cl {
	case GradZeros:
		return rapid.SampledFrom([]float64{0, math.Copysign(0, -1)}).Draw(t, "zero")
	case GradSqOverAcc:
		return drawSqOver(t, f)
	case GradSubnormal:
		return drawSubnormal(t, f)
	}
	return drawModerate(t, f)
}

// gradCase draws a list of tensors (the rows of X) of one class and the norm options.
func gradCase(t *rapid.T, f fp.Format, c *config) Case {
	cl := gradPicker(c).draw(t)
	maxRows := max(1, min(c.maxRows, 4))
	n := max(1, min(c.maxLen, 32)) * maxRows
	if cl == GradMany {
		maxRows, n = 64, 256
	}
	x := rapid.SliceOfN(rapid.Custom(func(t *rapid.T) float64 { return drawGrad(t, f, cl) }), 1, n).Draw(t, "x")
	switch cl {
	case GradHugeOne:
		i := rapid.IntRange(0, len(x)-1).Draw(t, "at")
		_, e := math.Frexp(f.MaxFinite())
		x[i] = roundTo(f, float64(rapid.SampledFrom([]float64{1, -1}).Draw(t, "sign"))*
			math.Min(f.MaxFinite(), rapid.Float64Range(0.5, 1).Draw(t, "m")*math.Ldexp(1, rapid.IntRange(e/2, e).Draw(t, "e"))))
	case GradNonFinite:
		i := rapid.IntRange(0, len(x)-1).Draw(t, "at")
		v := rapid.SampledFrom([]float64{math.NaN(), math.Inf(1), math.Inf(-1)}).Draw(t, "special")
		if !f.Contains(v) {
			v = math.NaN()
		}
		x[i] = v
	}
	rows := rapid.IntRange(1, maxRows).Draw(t, "tensors")
	for len(x)%rows != 0 {
		rows--
	}
	rc := make([]Class, rows)
	for i := range rc {
		rc[i] = cl
	}
	o := loss.NormOptions{
		P:                rapid.SampledFrom([]float64{2, math.Inf(1), 1}).Draw(t, "p"),
		MaxNorm:          rapid.SampledFrom([]float64{1, 0.5, 5, 1000, 0, math.Inf(1), 1e-30}).Draw(t, "max_norm"),
		ClipValue:        rapid.SampledFrom([]float64{1, 0.5, 1000, 0, math.Inf(1), 1e-6}).Draw(t, "clip_value"),
		ErrorIfNonfinite: rapid.Bool().Draw(t, "error_if_nonfinite"),
	}
	return Case{Format: f, Class: cl, Rows: rows, Cols: len(x) / rows, X: x, RowClasses: rc, Norm: o}
}

// GradLists generates lists of gradient tensors of f (the rows of Case.X, all of one length)
// for the gradient-norm operations, with their options (Case.Norm): p = 2 first, then ∞ and 1;
// max_norm and clip_value among 1, ½, 5, 1000, 0, +Inf and a tiny value; error_if_nonfinite
// false or true.
func GradLists(f fp.Format, opts ...Option) *rapid.Generator[Case] {
	c := newConfig(opts)
	return rapid.Custom(func(t *rapid.T) Case { return gradCase(t, f, c) })
}
