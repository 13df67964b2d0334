// This file implements the underflow-rescue property (NUMERICS §9, last paragraph; Micikevicius
// et al., "Mixed Precision Training", ICLR 2018).

package scalerprop

import (
	"math"

	"pgregory.net/rapid"

	"github.com/ulpcheck/ulpcheck/fp"
	"github.com/ulpcheck/ulpcheck/kernels/lossscale"
)

// Rescue returns the underflow-rescue property: a true gradient g that flushes to zero in fp16
// (|g| ≤ 2^-25), stored in fp16 as g·2^k by a backward pass scaled by S = 2^k (so that g·S is an
// fp16 value), comes back bitwise equal to g after the scaler unscales it in fp32, whenever g is
// an fp32 value. It draws 1 to 8 such gradients, a nonzero fp16 value h for each and a common k,
// and configures the scaler with Init = 2^k (k in [1, 127]).
//
// Why it holds: inv = 2^-k exactly, h·2^-k = g exactly, and an fp32 multiplication of exact
// values whose product is an fp32 value is exact. The property fails for a scaler that unscales
// in fp16 (g flushes again), divides in a format with less range, or perturbs the scale.
func Rescue(tg Target) func(*rapid.T) {
	return func(t *rapid.T) {
		k := rapid.IntRange(1, 127).Draw(t, "k")
		n := rapid.IntRange(1, 8).Draw(t, "n")
		o := lossscale.DefaultOptions()
		o.Init = pow2(k)
		s, err := tg.New(o)
		if err != nil {
			t.Fatalf("scalerprop: %s: New(%s): %v", tg.Name, optString(o), err)
		}
		// fp16 bit patterns order magnitudes, so |h| ≤ 2^(k−25) is a range of bits.
		top := fp.FP16.Encode(min(math.Ldexp(1, k-25), fp.FP16.MaxFinite()))
		hs := make([]float64, n)
		gs := make([]float64, n)
		for i := range hs {
			// A nonzero fp16 value h with |h·2^-k| ≤ 2^-25 whose h·2^-k is an fp32 value.
			h := rapid.Custom(func(t *rapid.T) float64 {
				b := rapid.Uint64Range(1, top).Draw(t, "fp16 magnitude bits")
				if rapid.Bool().Draw(t, "neg") {
					b |= 0x8000
				}
				return fp.FP16.Decode(b)
			}).Filter(func(h float64) bool {
				g := math.Ldexp(h, -k)
				return fp.FP32.Contains(g) // false only for some k ≥ 126
			}).Draw(t, "h")
			hs[i], gs[i] = h, math.Ldexp(h, -k)
		}
		dst := make([]float32, n)
		found := s.Unscale(dst, lossscale.Grads{Format: fp.FP16, Values: hs})
		fail := func(class Class, format string, args ...any) {
			t.Helper()
			t.Fatal(&Failure{Target: tg.Name, Property: UnderflowRescue, Class: class, Format: fp.FP16, Options: o,
				Detail: sprintf(format, args...)})
		}
		if found {
			fail(ClassFalseOverflow, "Unscale(%s) of finite gradients reported overflow", hfs(fp.FP16, hs))
		}
		for i, g := range gs {
			if r, _ := fp.FP16.RoundFloat64(g); r != 0 {
				fail(ClassContract, "harness: g = %g is not flushed by fp16 (rounds to %g)", g, r)
			}
			if math.Float32bits(dst[i]) != math.Float32bits(float32(g)) {
				fail(ClassUnderflow, "scale 2^%d: fp16 %s unscaled to %s, want g = %s (fp16 alone flushes g to 0)",
					k, hf(fp.FP16, hs[i]), h32(dst[i]), h32(float32(g)))
			}
		}
	}
}
