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
