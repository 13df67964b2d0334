// This file implements the named scaler properties, their failure classes, and Failure.

package scalerprop

import (
	"fmt"
	"math"

	"github.com/ulpcheck/ulpcheck/fp"
	"github.com/ulpcheck/ulpcheck/kernels/lossscale"
)

// The names of the properties (NUMERICS §9: invariants 1–8, then the underflow rescue).
const (
	ScaleValid        = "ScaleValid"        // inv 1
	OverflowDetected  = "OverflowDetected"  // inv 2
	SkipOnOverflow    = "SkipOnOverflow"    // inv 2
	BackoffOnOverflow = "BackoffOnOverflow" // inv 2
	GrowthCadence     = "GrowthCadence"     // inv 3
	UnscaleExact      = "UnscaleExact"      // inv 4
	Monotone          = "Monotone"          // inv 5
	SkipReported      = "SkipReported"      // inv 6
	StateRoundTrip    = "StateRoundTrip"    // inv 7
	HysteresisSkips   = "HysteresisSkips"   // inv 8
	UnderflowRescue   = "UnderflowRescue"   // §9, last paragraph
)

// Class classifies a scaler failure (NUMERICS §10, the "scaler" class made precise).
type Class string

// The failure classes.
const (
	ClassScaleNonFinite  Class = "scaler/scale-non-finite"    // the scale became ±Inf or NaN
	ClassScaleZero       Class = "scaler/scale-zero"          // the scale became 0 or negative
	ClassScaleBounds     Class = "scaler/scale-out-of-bounds" // below the floor or above the cap, or the tracker out of range
	ClassOverflowMissed  Class = "scaler/overflow-missed"     // a NaN or ±Inf gradient was not reported (non-finite lost)
	ClassFalseOverflow   Class = "scaler/false-overflow"      // a finite gradient (max, subnormal, −0) was taken for overflow
	ClassStepOnOverflow  Class = "scaler/step-on-overflow"    // the optimizer step ran on overflowed gradients
	ClassStepSkipped     Class = "scaler/clean-step-skipped"  // a clean iteration's step did not run
	ClassBackoff         Class = "scaler/backoff"             // wrong scale after an overflow
	ClassCadence         Class = "scaler/cadence"             // growth too early, too late, by the wrong factor, or not capped
	ClassDirection       Class = "scaler/direction"           // grew on overflow or shrank on a clean step
	ClassSkipNotReported Class = "scaler/skip-not-reported"   // the reported skip disagrees with what happened
	ClassUnscale         Class = "scaler/unscale"             // an unscaled gradient is not fp32(g·fp32(1/scale))
	ClassNotPowerOfTwo   Class = "scaler/not-power-of-two"    // power-of-two factors gave a scale that is not one
	ClassState           Class = "scaler/state"               // state did not round-trip, or the restored scaler diverged
	ClassUnderflow       Class = "underflow"                  // a gradient rescued by scaling did not come back exactly
	ClassContract        Class = "contract"                   // the adapter returned an error
)

// Property describes one named property.
type Property struct {
	Name      string
	Invariant int // NUMERICS §9 invariant number; 0 for UnderflowRescue
	Doc       string
}

var properties = []Property{
	{ScaleValid, 1, "after every iteration the scale is a positive, finite fp32 value in [Floor, Cap]; the tracker (when the adapter exposes it) is in [0, Interval)"},
	{OverflowDetected, 2, "Unscale reports found exactly when a tensor holds a NaN or ±Inf; finite extremes (±max, subnormals, −0) are not overflow"},
	{SkipOnOverflow, 2, "on an overflowed iteration the optimizer step does not run (parameters and optimizer state stay bit-identical)"},
	{BackoffOnOverflow, 2, "after an overflowed iteration the scale is the model's: max(Floor, fp32(scale·Backoff)), or unchanged while hysteresis absorbs it"},
	{GrowthCadence, 3, "a clean iteration's step runs, and the scale is the model's: ×Growth exactly every Interval consecutive clean iterations, capped, never to Inf"},
	{UnscaleExact, 4, "every finite unscaled gradient is bitwise fp32(g·inv) with inv = fp32(1/fp64(scale)); with power-of-two factors the scale stays a power of two"},
	{Monotone, 5, "the scale never grows on an overflowed iteration and never shrinks on a clean one"},
	{SkipReported, 6, "Step reports skipped exactly when the step did not run, and it did not run exactly when the iteration overflowed"},
	{StateRoundTrip, 7, "State then Restore into a fresh scaler gives the same bytes, and the two scalers then behave identically"},
	{HysteresisSkips, 8, "with hysteresis, every overflowed iteration is skipped, and the scale is kept until the h-th overflow"},
	{UnderflowRescue, 0, "an fp16 gradient that flushes to 0 unscaled, stored as g·2^k, unscales in fp32 to exactly g"},
}

// Properties returns the properties in the order they are checked.
func Properties() []Property { return append([]Property(nil), properties...) }

// propSet is a set of property indices.
type propSet uint32

func (p propSet) has(name string) bool { return p&bit(name) != 0 }

func bit(name string) propSet {
	for i, q := range properties {
		if q.Name == name {
			return 1 << i
		}
	}
	panic("scalerprop: unknown property " + name)
}

func lookup(name string) (Property, bool) {
	for _, q := range properties {
		if q.Name == name {
			return q, true
		}
	}
	return Property{}, false
}

// Failure is one violated property.
type Failure struct {
	Target    string
	Property  string
	Class     Class
	Iteration int // 1-based; 0 before the first iteration
	Format    fp.Format
	Options   lossscale.Options
	Detail    string
}

func (f *Failure) Error() string {
	p, _ := lookup(f.Property)
	inv := "§9"
	if p.Invariant > 0 {
		inv = fmt.Sprintf("§9 invariant %d", p.Invariant)
	}
	return fmt.Sprintf("scalerprop: %s fails %s (NUMERICS %s) [%s] at iteration %d, %v gradients, %s: %s",
		f.Target, f.Property, inv, f.Class, f.Iteration, f.Format, optString(f.Options), f.Detail)
}

// optString prints options with the scales' bits.
func optString(o lossscale.Options) string {
	return fmt.Sprintf("options{init %s, growth %g, backoff %g, interval %d, floor %s, cap %s, hysteresis %d}",
		h32(o.Init), o.Growth, o.Backoff, o.Interval, h32(o.Floor), h32(o.Cap), o.Hysteresis)
}

// h32 prints an fp32 value with its bits.
func h32(x float32) string { return fmt.Sprintf("%g (%#08x)", x, math.Float32bits(x)) }

// hf prints a member of f with its bits in f's encoding.
func hf(f fp.Format, x float64) string { return fmt.Sprintf("%g (%#x)", x, f.Encode(x)) }

// hfs prints a tensor of members of f.
func hfs(f fp.Format, xs []float64) string {
	s := "["
	for i, x := range xs {
		if i > 0 {
			s += ", "
		}
		s += hf(f, x)
	}
	return s + "]"
}

// hts prints the tensors of one iteration.
func hts(f fp.Format, ts [][]float64) string {
	s := "["
	for i, x := range ts {
		if i > 0 {
			s += ", "
		}
		s += hfs(f, x)
	}
	return s + "]"
}
