// This file implements the generators of the elementwise two-class operations (softplus,
// log-sigmoid, sigmoid, BCE with logits): logits at and around each format's thresholds, and
// BCE targets and pos_weight.

package generators

import (
	"math"

	"pgregory.net/rapid"

	"github.com/ulpcheck/ulpcheck/fp"
)

// The classes of logits.
const (
	LogitSmall     Class = "logit/small"     // |x| ≤ 8, 0 and tiny values included
	LogitExpOver   Class = "logit/exp-over"  // ±(log MaxFinite of the accumulation) ± a few ulps: where e^x overflows
	LogitLog1p     Class = "logit/log1p"     // |x| ≈ (p+1)·log 2: where 1 + e^−|x| rounds to 1 and σ to 1
	LogitUnderflow Class = "logit/underflow" // x ≈ log MinSubnormal: where σ(x) = e^x/(1+e^x) underflows
	LogitThreshold Class = "logit/threshold" // x ≈ 20: softplus's linear branch
	LogitExtreme   Class = "logit/extreme"   // ±MaxFinite, ±Inf, NaN
	LogitWide      Class = "logit/wide"      // any magnitude up to MaxFinite
	LogitMixed     Class = "logit/mixed"     // elements of different classes
)

// accOf is the accumulation format of a format's bundled kernels (fp32 below fp32).
func accOf(f fp.Format) fp.Format {
	if f.Precision() < fp.FP32.Precision() {
		return fp.FP32
	}
	return f
}

// nearUlps returns the value of f nearest to c moved by k of its ulps.
func nearUlps(f fp.Format, c float64, k int) float64 {
	r, _ := f.RoundFloat64(c)
	r, _ = f.RoundFloat64(r + float64(k)*f.Ulp(r))
	return r
}

func drawLogit(t *rapid.T, f fp.Format, cl Class) float64 {
	sign := float64(rapid.SampledFrom([]float64{1, -1}).Draw(t, "sign"))
	k := rapid.IntRange(-4, 4).Draw(t, "ulps")
	switch cl {
	case LogitSmall:
		switch rapid.IntRange(0, 3).Draw(t, "small") {
		case 0:
			return 0
		case 1:
			r, _ := f.RoundFloat64(sign * math.Ldexp(1, rapid.IntRange(-40, -1).Draw(t, "exp")))
			return r
		}
		r, _ := f.RoundFloat64(rapid.Float64Range(-8, 8).Draw(t, "x"))
		return r
	case LogitExpOver:
		// Both the storage format's and the accumulation format's exp thresholds.
		g := rapid.SampledFrom([]fp.Format{f, accOf(f)}).Draw(t, "of")
		return nearUlps(f, sign*math.Log(g.MaxFinite()), k)
	case LogitLog1p:
		g := rapid.SampledFrom([]fp.Format{f, accOf(f)}).Draw(t, "of")
		return nearUlps(f, sign*float64(g.Precision()+rapid.IntRange(-1, 2).Draw(t, "dp"))*math.Ln2, k)
	case LogitUnderflow:
		g := rapid.SampledFrom([]fp.Format{f, accOf(f)}).Draw(t, "of")
		return nearUlps(f, math.Log(g.MinSubnormal())+float64(rapid.IntRange(-2, 2).Draw(t, "d")), k)
	case LogitThreshold:
		return nearUlps(f, 20, k)
	case LogitExtreme:
		return rapid.SampledFrom([]float64{f.MaxFinite(), -f.MaxFinite(), math.Inf(1), math.Inf(-1), math.NaN()}).Draw(t, "x")
	}
	// Wide: a random exponent up to the format's largest.
	_, e := math.Frexp(f.MaxFinite())
	r, _ := f.RoundFloat64(sign * rapid.Float64Range(0.5, 1).Draw(t, "m") * math.Ldexp(1, rapid.IntRange(-10, e-1).Draw(t, "e")))
	return r
}

var logitClasses = []Class{LogitSmall, LogitExpOver, LogitLog1p, LogitUnderflow, LogitThreshold, LogitExtreme, LogitWide}

// logitCase draws a rows×cols batch of logits of f, all of one class or (LogitMixed) of
// several.
func logitCase(t *rapid.T, f fp.Format, c *config) Case {
	cl := rapid.SampledFrom(append(append([]Class(nil), logitClasses...), LogitMixed)).Draw(t, "class")
	elem := rapid.Custom(func(t *rapid.T) float64 {
		ci := cl
		if cl == LogitMixed {
			ci = rapid.SampledFrom(logitClasses).Draw(t, "elem-class")
		}
		return drawLogit(t, f, ci)
	})
	// A slice, so that shrinking deletes elements (down to the one that fails); the rows are
	// the largest count up to the drawn one that divides its length.
	x := rapid.SliceOfN(elem, 1, max(1, min(c.maxLen, 32))*max(1, min(c.maxRows, 4))).Draw(t, "x")
	rows := rapid.IntRange(1, max(1, min(c.maxRows, 4))).Draw(t, "rows")
	for len(x)%rows != 0 {
		rows--
	}
	rc := make([]Class, rows)
	for i := range rc {
		rc[i] = cl
	}
	return Case{Format: f, Class: cl, Rows: rows, Cols: len(x) / rows, X: x, RowClasses: rc}
}

// Logits generates batches of logits of f for the elementwise operations (softplus,
// log-sigmoid, sigmoid, σ'), at and around the format's thresholds: where e^x overflows (in f
// and in its accumulation format), where 1 + e^−|x| rounds to 1 and σ(x) to 1, where σ(x)
// underflows, around softplus's threshold 20, and at ±MaxFinite, ±Inf and NaN.
func Logits(f fp.Format, opts ...Option) *rapid.Generator[Case] {
	c := newConfig(opts)
	return rapid.Custom(func(t *rapid.T) Case { return logitCase(t, f, c) })
}

// BCE generates cases of F.binary_cross_entropy_with_logits: logits as Logits, targets (Probs,
// the shape of X) 0, 1, ½, fractional, and next to 0 and 1; pos_weight (CE.Weights, one per
// column) absent, 1, tiny, huge or 0; and a reduction.
func BCE(f fp.Format, opts ...Option) *rapid.Generator[Case] {
	cfg := newConfig(opts)
	return rapid.Custom(func(t *rapid.T) Case {
		c := logitCase(t, f, cfg)
		c.Probs = make([]float64, len(c.X))
		tk := rapid.IntRange(0, 3).Draw(t, "target-kind") // 0, 1, fractional, mixed
		for i := range c.Probs {
			k := tk
			if k == 3 {
				k = rapid.IntRange(0, 2).Draw(t, "target-elem")
			}
			switch k {
			case 0:
				c.Probs[i] = 0
			case 1:
				c.Probs[i] = 1
			default:
				switch rapid.IntRange(0, 3).Draw(t, "frac") {
				case 0:
					c.Probs[i] = 0.5
				case 1:
					c.Probs[i] = nearUlps(f, 1, -rapid.IntRange(1, 2).Draw(t, "below1"))
				case 2:
					r, _ := f.RoundFloat64(math.Ldexp(1, -rapid.IntRange(1, 20).Draw(t, "tiny-t")))
					c.Probs[i] = r
				default:
					r, _ := f.RoundFloat64(rapid.Float64Range(0, 1).Draw(t, "t"))
					c.Probs[i] = r
				}
			}
		}
		switch rapid.IntRange(0, 4).Draw(t, "pos-weight") {
		case 1:
			c.CE.Weights = fill1(c.Cols, 1)
		case 2:
			r, _ := f.RoundFloat64(0x1p-10)
			c.CE.Weights = fill1(c.Cols, r)
		case 3:
			r, _ := f.RoundFloat64(1000)
			c.CE.Weights = fill1(c.Cols, r)
		case 4:
			c.CE.Weights = fill1(c.Cols, 0)
		}
		c.CE.Reduction = Reduction(rapid.IntRange(0, 2).Draw(t, "reduction"))
		c.Class = "bce/" + c.Class
		return c
	})
}

func fill1(n int, v float64) []float64 {
	w := make([]float64, n)
	for i := range w {
		w[i] = v
	}
	return w
}
