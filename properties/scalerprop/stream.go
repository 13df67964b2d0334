// This file implements the generators of scaled-gradient batches that drive the state machine:
// one batch is the gradients of one iteration, a few small tensors in the scaler's format.

package scalerprop

import (
	"math"

	"pgregory.net/rapid"

	"github.com/ulpcheck/ulpcheck/fp"
)

// The classes of one iteration's gradients, in the order rapid shrinks toward (simplest first).
const (
	stepClean     = "step/clean"      // finite values of every magnitude of the format
	stepExtremes  = "step/extremes"   // ±0, ±min subnormal, largest subnormal, min normal, ±max: finite, not overflow
	stepPhysical  = "step/physical"   // true gradients times the current scale, rounded: overflow and underflow happen naturally
	stepInf       = "step/inf"        // one ±Inf among finite values
	stepNaN       = "step/nan"        // one NaN (any sign and payload) among finite values
	stepOverflowN = "step/overflow-n" // a run of overflowed iterations (drives the scale to the floor)
	stepCleanN    = "step/clean-n"    // a run of clean iterations (drives growth)
	stepGrowth    = "step/growth-k"   // exactly the clean iterations that make the model grow k times
)

// The call sequences other than Unscale each tensor once, Step, Update (the package
// documentation, "Call sequences"); each draws its gradients like step/clean, step/extremes or with one ±Inf or NaN.
const (
	seqAccumulate = "seq/accumulate"     // micro-batch gradients summed in the format (their sum may overflow), then unscaled once
	seqRepeat     = "seq/unscale-repeat" // Unscale calls in any order, a tensor twice or not at all
	seqNoUnscale  = "seq/no-unscale"     // Step and Update with no Unscale call: a clean iteration
	seqNoStep     = "seq/update-only"    // Unscale calls and Update without Step
	seqStateMid   = "seq/state-mid"      // State/Restore into a fresh scaler between any two calls of an iteration
)

// anyGrads draws the tensors of one iteration: finite values, finite extremes, or either with
// one ±Inf or NaN.
func anyGrads(t *rapid.T, f fp.Format) [][]float64 {
	finite := finiteGen(f)
	ts := shape(t, rapid.OneOf(finite, rapid.SampledFrom(extremes(f))))
	switch rapid.IntRange(0, 2).Draw(t, "poison") {
	case 1:
		poison(t, ts, rapid.SampledFrom([]float64{math.Inf(1), math.Inf(-1)}).Draw(t, "inf"))
	case 2:
		poison(t, ts, nanGen(f).Draw(t, "nan"))
	}
	return ts
}

// accumulated draws 2 to 4 micro-batches of gradients of the same shape (large finite values
// half the time, so that their sum overflows) and returns their sum, each addition rounded to f,
// as a training loop that accumulates scaled gradients before one unscale holds it.
func accumulated(t *rapid.T, f fp.Format) [][]float64 {
	large := rapid.Custom(func(t *rapid.T) float64 {
		x := f.MaxFinite() / float64(rapid.IntRange(1, 4).Draw(t, "max/k"))
		r, _ := f.RoundFloat64(x)
		if rapid.Bool().Draw(t, "neg") {
			r = -r
		}
		return r
	})
	elem := rapid.OneOf(finiteGen(f), large)
	sum := shape(t, elem)
	for range rapid.IntRange(1, 3).Draw(t, "more micro-batches") {
		for i := range sum {
			for j := range sum[i] {
				sum[i][j], _ = f.RoundFloat64(sum[i][j] + elem.Draw(t, "micro-batch gradient"))
			}
		}
	}
	return sum
}

// encoding describes the bit layout of an IEEE-style format with Inf and NaN (fp16, bf16, fp32).
func encoding(f fp.Format) (width, mant uint) {
	return f.Width(), uint(f.Precision() - 1)
}

// finiteGen draws a finite value of f as its bit pattern: sign, a biased exponent below the
// all-ones one, and a significand. It shrinks toward +0.
func finiteGen(f fp.Format) *rapid.Generator[float64] {
	w, m := encoding(f)
	maxExp := uint64(1)<<(w-1-m) - 2
	return rapid.Custom(func(t *rapid.T) float64 {
		neg := rapid.Bool().Draw(t, "neg")
		e := rapid.Uint64Range(0, maxExp).Draw(t, "exp")
		s := rapid.Uint64Range(0, 1<<m-1).Draw(t, "sig")
		b := e<<m | s
		if neg {
			b |= 1 << (w - 1)
		}
		return f.Decode(b)
	})
}

// nanGen draws a NaN of f with any sign and payload, as its bit pattern.
func nanGen(f fp.Format) *rapid.Generator[float64] {
	w, m := encoding(f)
	ones := uint64(1)<<(w-1-m) - 1
	return rapid.Custom(func(t *rapid.T) float64 {
		b := ones<<m | rapid.Uint64Range(1, 1<<m-1).Draw(t, "payload")
		if rapid.Bool().Draw(t, "neg") {
			b |= 1 << (w - 1)
		}
		return f.Decode(b)
	})
}

// extremes returns the finite extremes of f that a scaler must not take for overflow.
func extremes(f fp.Format) []float64 {
	sub, nrm, mx := f.MinSubnormal(), f.MinNormal(), f.MaxFinite()
	return []float64{math.Copysign(0, -1), 0, sub, -sub, nrm - sub, nrm, mx, -mx, f.Prev(mx)}
}

// shape draws the tensors of one iteration: 1 to 3 tensors of 1 to 4 elements, each element
// from elem.
func shape(t *rapid.T, elem *rapid.Generator[float64]) [][]float64 {
	n := rapid.IntRange(1, 3).Draw(t, "tensors")
	ts := make([][]float64, n)
	for i := range ts {
		ts[i] = rapid.SliceOfN(elem, 1, 4).Draw(t, "tensor")
	}
	return ts
}

// poison replaces one element of ts, chosen by t, with x.
func poison(t *rapid.T, ts [][]float64, x float64) {
	i := rapid.IntRange(0, len(ts)-1).Draw(t, "poisoned tensor")
	j := rapid.IntRange(0, len(ts[i])-1).Draw(t, "poisoned element")
	ts[i][j] = x
}

// physical draws true gradients (11-bit significands, binary exponents in [−60, 20]) and
// returns them multiplied by scale and rounded once to f, as a backward pass of the scaled loss
// would store them: too large overflows to ±Inf, too small flushes toward 0.
func physical(t *rapid.T, f fp.Format, scale float32) [][]float64 {
	elem := rapid.Custom(func(t *rapid.T) float64 {
		m := rapid.IntRange(1<<10, 1<<11-1).Draw(t, "true sig")
		e := rapid.IntRange(-60, 20).Draw(t, "true exp")
		g := math.Ldexp(float64(m), e-10)
		if rapid.Bool().Draw(t, "true neg") {
			g = -g
		}
		r, _ := f.RoundFloat64(g * float64(scale)) // exact product: 11 + 24 bits
		return r
	})
	return shape(t, elem)
}
