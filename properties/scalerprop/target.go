// This file implements Target, the description of a scaler under test, and the generator of
// scaler configurations.

package scalerprop

import (
	"math"

	"pgregory.net/rapid"

	"github.com/ulpcheck/ulpcheck/fp"
	"github.com/ulpcheck/ulpcheck/kernels/lossscale"
)

// DefaultMaxSteps bounds the iterations of one state-machine run.
const DefaultMaxSteps = 5000

// Target is a scaler under test.
type Target struct {
	// Name names the scaler in failure messages.
	Name string
	// New returns a fresh scaler configured with o. An adapter for a scaler without some
	// feature (floor, cap, hysteresis) restricts Options accordingly rather than ignoring it.
	New func(o lossscale.Options) (lossscale.Scaler, error)
	// Options draws the configurations to test; nil means OptionsGen(true).
	Options *rapid.Generator[lossscale.Options]
	// Formats are the gradient formats the scaler accepts; nil means fp16, bf16 and fp32.
	Formats []fp.Format
	// MaxSteps bounds the iterations of one run; 0 means DefaultMaxSteps.
	MaxSteps int
}

// Bundled returns the Target of the bundled lossscale.Dynamic.
func Bundled() Target {
	return Target{
		Name: "lossscale.Dynamic",
		New: func(o lossscale.Options) (lossscale.Scaler, error) {
			d, err := lossscale.New(o)
			if err != nil {
				return nil, err
			}
			return d, nil
		},
	}
}

func (tg Target) formats() []fp.Format {
	if len(tg.Formats) > 0 {
		return tg.Formats
	}
	return []fp.Format{fp.FP16, fp.BF16, fp.FP32}
}

func (tg Target) maxSteps() int {
	if tg.MaxSteps > 0 {
		return tg.MaxSteps
	}
	return DefaultMaxSteps
}

func (tg Target) options() *rapid.Generator[lossscale.Options] {
	if tg.Options != nil {
		return tg.Options
	}
	return OptionsGen(true)
}

// pow2 returns 2^e as an fp32 value.
func pow2(e int) float32 { return float32(math.Ldexp(1, e)) }

// OptionsGen draws scaler configurations, PyTorch's defaults first (rapid shrinks toward them):
// growth intervals of 1 to 8 and 9 to 100 beside the default 2000, so that growth happens within
// a short run; initial scales from 2^-126 to 2^127, so that both the floor and the top of fp32's
// range are reached; floors of 2^-127 to 2^8 and caps of 2^8 to 2^120 or none; growth factors 2,
// 4, 1.5, 3, 1.25 and backoff factors 0.5, 0.25, 0.75, 0.9 (products with 0.9 round twice, in
// float64 then fp32, as PyTorch's kernel does; the others are exact in float64). With hysteresis false the hysteresis is always 1.
func OptionsGen(hysteresis bool) *rapid.Generator[lossscale.Options] {
	return rapid.Custom(func(t *rapid.T) lossscale.Options {
		o := lossscale.DefaultOptions()
		o.Interval = rapid.OneOf(rapid.Just(2000), rapid.IntRange(1, 8), rapid.IntRange(9, 100)).Draw(t, "interval")
		o.Growth = rapid.SampledFrom([]float64{2, 4, 1.5, 3, 1.25}).Draw(t, "growth")
		o.Backoff = rapid.SampledFrom([]float64{0.5, 0.25, 0.75, 0.9}).Draw(t, "backoff")
		o.Floor = rapid.OneOf(rapid.Just(pow2(-126)),
			rapid.Map(rapid.IntRange(-127, 4), pow2),
			rapid.Map(rapid.IntRange(-4, 8), pow2)).Draw(t, "floor")
		o.Cap = float32(math.Inf(1))
		if rapid.IntRange(0, 3).Draw(t, "cap kind") == 3 { // one in four configurations has a cap
			o.Cap = pow2(rapid.IntRange(8, 120).Draw(t, "cap exponent"))
		}
		if o.Cap < o.Floor {
			o.Cap = o.Floor
		}
		o.Init = rapid.OneOf(rapid.Just(pow2(16)),
			rapid.Map(rapid.IntRange(-126, 127), pow2),
			rapid.Map(rapid.IntRange(112, 127), pow2),   // a few growths from Inf
			rapid.Map(rapid.IntRange(-127, -112), pow2), // a few backoffs from the default floor
			rapid.Float32Range(math.SmallestNonzeroFloat32, math.MaxFloat32)).Draw(t, "init")
		o.Init = min(max(o.Init, o.Floor), o.Cap)
		if hysteresis {
			o.Hysteresis = rapid.OneOf(rapid.Just(1), rapid.IntRange(2, 4)).Draw(t, "hysteresis")
		}
		return o
	})
}

// isPow2 reports whether x is a positive power of two (or +Inf, standing for "no cap").
func isPow2(x float64) bool {
	if math.IsInf(x, 1) {
		return true
	}
	fr, _ := math.Frexp(x)
	return x > 0 && fr == 0.5
}

// powersOfTwo reports whether every scale o can produce is a power of two.
func powersOfTwo(o lossscale.Options) bool {
	return isPow2(float64(o.Init)) && isPow2(o.Growth) && isPow2(o.Backoff) &&
		isPow2(float64(o.Floor)) && isPow2(float64(o.Cap))
}
