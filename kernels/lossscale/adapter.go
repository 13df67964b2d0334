// This file implements the interface through which any scaler is checked.

package lossscale

import "github.com/ulpcheck/ulpcheck/fp"

// Grads is one tensor of (scaled) gradients in the harness representation: float64 values that
// are exactly members of Format (FP16, BF16 or FP32), NaN and ±Inf included. An adapter converts
// them to its scaler's native type; every such value is exactly an fp32 value.
type Grads struct {
	Format fp.Format
	Values []float64
}

// Scaler is what the properties of ulpcheck/properties/scalerprop drive: one iteration is
// Unscale, Step, Update, in that order. It is deliberately small and language-neutral so that an
// adapter can put any scaler behind it, including one in another process.
//
// Adapters must not keep references to dst or g after a call returns.
type Scaler interface {
	// Scale returns the current loss scale (fp32).
	Scale() float32
	// Unscale writes the unscaled gradients into dst (len(dst) == len(g.Values)) and reports
	// whether any element of g was NaN or ±Inf. It may be called several times per iteration
	// (one per tensor); the iteration has overflowed if any call found a non-finite value.
	Unscale(dst []float32, g Grads) (found bool)
	// Step calls apply (the optimizer step) unless the iteration must be skipped, and reports
	// whether it skipped.
	Step(apply func()) (skipped bool)
	// Update ends the iteration: the scale and the scaler's counters move.
	Update()
	// State serializes the scaler's whole state (configuration included) between iterations.
	State() ([]byte, error)
	// Restore replaces the state with one State returned, exactly.
	Restore(state []byte) error
}

// Inspector is optionally implemented by a Scaler whose counters can be observed; the
// properties then also check the tracker's range (NUMERICS §9, invariant 1).
type Inspector interface {
	// Tracker returns the growth tracker: clean steps since the last growth or overflow.
	Tracker() int
}

var (
	_ Scaler    = (*Dynamic)(nil)
	_ Inspector = (*Dynamic)(nil)
)
