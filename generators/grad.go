// This file implements gradient steps and streams for dynamic loss scalers.

package generators

import (
	"fmt"
	"math"
	"math/big"
	"strings"

	"github.com/ulpcheck/ulpcheck/fp"
	"pgregory.net/rapid"
)

// A GradStep is the gradients of one optimizer step: several tensors of true (unscaled)
// gradients g, members of Format. Its Class says what happens to them at the reference loss
// scale Scale when g·Scale is rounded into ScaledFormat (NUMERICS §9):
//
//	StepClean              every g finite; every g·S finite in ScaledFormat; nonzero g give nonzero g·S
//	StepExtremes           as clean, plus −0, +0, subnormals of Format and ±the largest g with g·S finite
//	StepUnderflowUnscaled  as clean, plus some 0 < |g| ≤ MinSubnormal(ScaledFormat)/2, which round to 0
//	                       in ScaledFormat unscaled, while g·S rounds to a nonzero value
//	StepOverflowScaled     as clean, plus at least one finite g whose g·S rounds to ±Inf in ScaledFormat
//	                       (NaN in E4M3): from the boundary value up to ±MaxFinite(Format)
//	StepInf                as clean, plus ±Inf in one element of one tensor
//	StepNaN                as clean, plus NaN (drawn sign and payload) in one element of one tensor
//
// A correct scaler skips exactly the steps of the last three classes.
type GradStep struct {
	Format       fp.Format
	Grads        [][]float64
	Class        Class
	Scale        float64
	ScaledFormat fp.Format
}

// String prints the step's class and tensors as hex floats, decimals and encodings.
func (s GradStep) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "GradStep{format=%s class=%s scale=%x (%g) scaled=%s}\n", s.Format, s.Class, s.Scale, s.Scale, s.ScaledFormat)
	for i, g := range s.Grads {
		fmt.Fprintf(&b, "g[%d]: %s\n", i, fmtRow(s.Format, g))
	}
	return b.String()
}

// GoString returns String.
func (s GradStep) GoString() string { return s.String() }

// A Stream is a sequence of gradient steps with the same tensor shapes, by stream class.
type Stream struct {
	Format fp.Format
	Steps  []GradStep
	Class  Class
}

// String prints the stream's class and every step.
func (s Stream) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Stream{format=%s class=%s steps=%d}\n", s.Format, s.Class, len(s.Steps))
	for i, st := range s.Steps {
		fmt.Fprintf(&b, "step %d: %s", i, st)
	}
	return b.String()
}

// GoString returns String.
func (s Stream) GoString() string { return s.String() }

// stepGen holds the boundaries the step classes are built from.
type stepGen struct {
	f, sf    fp.Format
	cfg      *config
	p        picker
	gOv      float64 // the smallest positive g of f with RN_sf(g·S) overflowing; NaN if none
	gMaxOK   float64 // the largest positive g of f with RN_sf(g·S) finite
	eLo, eHi int     // exponents of clean gradients
	uLo, uHi float64 // the range of StepUnderflowUnscaled's small gradients; uLo > uHi if empty
}

// scaledOverflows reports whether g·S overflows in sf.
func (s *stepGen) scaledOverflows(g float64) bool {
	x := new(big.Float).SetPrec(256).SetFloat64(g)
	x.Mul(x, new(big.Float).SetFloat64(s.cfg.scale))
	_, fl := s.sf.Round(x)
	return fl == fp.Overflow
}

// scaledZero reports whether g·S rounds to 0 in sf.
func (s *stepGen) scaledZero(g float64) bool {
	x := new(big.Float).SetPrec(256).SetFloat64(g)
	x.Mul(x, new(big.Float).SetFloat64(s.cfg.scale))
	y, _ := s.sf.Round(x)
	return y == 0
}

func newStepGen(f fp.Format, cfg *config) *stepGen {
	s := &stepGen{f: f, sf: cfg.scaled, cfg: cfg, gOv: math.NaN()}
	S := cfg.scale
	// The overflow boundary: start from RN_f((max + ½ulp)/S) and walk to the exact boundary.
	thr := cfg.scaled.MaxFinite() + cfg.scaled.Ulp(cfg.scaled.MaxFinite())/2
	g := rn(f, thr/S)
	if math.IsNaN(g) || g > f.MaxFinite() { // beyond f's range (E4M3 rounds that to NaN)
		g = f.MaxFinite()
	}
	for g > 0 && s.scaledOverflows(g) && s.scaledOverflows(f.Prev(g)) {
		g = f.Prev(g)
	}
	for !s.scaledOverflows(g) && g < f.MaxFinite() {
		g = f.Next(g)
	}
	if s.scaledOverflows(g) {
		s.gOv, s.gMaxOK = g, f.Prev(g)
	} else {
		s.gMaxOK = f.MaxFinite()
	}
	s.eHi = exponent(s.gMaxOK) - 1
	s.eLo = max(exponent(cfg.scaled.MinNormal()/S), f.EMin())
	if s.eLo > s.eHi {
		s.eLo = s.eHi
	}
	// Gradients that vanish in sf unscaled and survive scaled.
	s.uHi = rn(f, cfg.scaled.MinSubnormal()/2)
	for s.uHi > cfg.scaled.MinSubnormal()/2 {
		s.uHi = f.Prev(s.uHi)
	}
	s.uHi = math.Min(s.uHi, s.gMaxOK) // and g·S must not overflow
	s.uLo = math.Max(rn(f, cfg.scaled.MinSubnormal()/2/S), f.MinSubnormal())
	for s.uLo > f.MinSubnormal() && !s.scaledZero(f.Prev(s.uLo)) {
		s.uLo = f.Prev(s.uLo)
	}
	for s.uLo <= s.uHi && s.scaledZero(s.uLo) {
		s.uLo = f.Next(s.uLo)
	}
	s.p = newPicker("step", stepOrder, cfg.weights, func(c Class) bool {
		switch c {
		case StepOverflowScaled:
			return !math.IsNaN(s.gOv)
		case StepUnderflowUnscaled:
			return s.uLo > 0 && s.uLo <= s.uHi
		case StepInf:
			return f.HasInf()
		}
		return true
	})
	return s
}

// shapes draws the lengths of a step's tensors.
func (s *stepGen) shapes(t *rapid.T) []int {
	if s.cfg.shape != nil {
		return s.cfg.shape
	}
	ls := make([]int, intIn(t, 1, s.cfg.maxTensors))
	for i := range ls {
		ls[i] = intIn(t, 1, s.cfg.maxTensorLen)
	}
	return ls
}

// clean draws a clean gradient.
func (s *stepGen) clean(t *rapid.T) float64 {
	switch {
	case intIn(t, 0, 7) == 7 || s.gMaxOK == 0:
		return withSign(t, 0)
	case s.eHi < s.f.EMin(): // only subnormals of f survive the scale
		return withSign(t, math.Min(subnormal(t, s.f), s.gMaxOK))
	}
	return withSign(t, normal(t, s.f, s.eLo, s.eHi))
}

// special draws the value a step of class c plants in a clean step.
func (s *stepGen) special(t *rapid.T, c Class) float64 {
	f := s.f
	switch c {
	case StepExtremes:
		switch intIn(t, 0, 2) {
		case 0:
			return withSign(t, 0)
		case 1:
			return withSign(t, math.Min(subnormal(t, f), s.gMaxOK))
		}
		return withSign(t, s.gMaxOK)
	case StepUnderflowUnscaled:
		if exponent(s.uHi) < f.EMin() { // only subnormals of f: walk up from the boundary
			return withSign(t, math.Min(s.uHi, step(f, s.uLo, intIn(t, 0, 8))))
		}
		return withSign(t, math.Max(s.uLo, math.Min(s.uHi, normal(t, f, exponent(s.uLo), exponent(s.uHi)))))
	case StepOverflowScaled:
		var g float64
		if bitGen.Draw(t, "far") {
			g = math.Max(s.gOv, normal(t, f, exponent(s.gOv), f.EMax()))
		} else {
			g = step(f, s.gOv, intIn(t, 0, 3))
		}
		return withSign(t, g)
	case StepInf:
		return withSign(t, math.Inf(1))
	case StepNaN:
		return nan(t, f)
	}
	panic("generators: unknown step class " + string(c))
}

// draw draws a step of class c with the given tensor lengths.
func (s *stepGen) draw(t *rapid.T, c Class, shape []int) GradStep {
	st := GradStep{Format: s.f, Class: c, Scale: s.cfg.scale, ScaledFormat: s.sf, Grads: make([][]float64, len(shape))}
	for i, n := range shape {
		st.Grads[i] = fill(t, s.cfg.flat, n, s.clean)
	}
	if c == StepClean {
		return st
	}
	k := 1
	if c == StepExtremes || c == StepUnderflowUnscaled || c == StepOverflowScaled {
		k = intIn(t, 1, 3)
	}
	for range k {
		i := pos(t, len(shape))
		st.Grads[i][pos(t, shape[i])] = s.special(t, c)
	}
	return st
}

// GradStepGen returns a generator of single gradient steps of f (typically fp32 master
// gradients), by the step classes (StepClean … StepNaN) with their weights, relative to the
// reference scale (WithScale, default 2^16) and scaled format (WithScaledFormat, default fp16).
// Steps have 1 to 3 tensors of 1 to 16 elements (WithTensors), or the fixed lengths of
// WithShape. Use it inside a rapid state machine, one step per action, with WithShape.
//
// Special cases are:
//
//	StepOverflowScaled has weight 0 when MaxFinite(f)·S does not overflow the scaled format
//	StepUnderflowUnscaled has weight 0 when f holds no g with g·S nonzero and g ≤ MinSubnormal/2
//	  of the scaled format (for example f = fp16 with the scaled format fp16)
//	StepInf has weight 0 in E4M3
func GradStepGen(f fp.Format, opts ...Option) *Gen[GradStep] {
	s := newStepGen(f, newConfig(opts))
	return newGen(fmt.Sprintf("GradStep(%s, scale=%g, scaled=%s)", f, s.cfg.scale, s.sf), func(t *rapid.T) GradStep {
		c := s.p.draw(t)
		return s.draw(t, c, s.shapes(t))
	})
}

// GradStream returns a generator of streams of gradient steps of f with one tensor shape, by
// the stream classes (StreamCleanRun … StreamRandom) with their weights; lengths are drawn from
// WithStreamLen (default 1 to 32). The overflow steps of StreamAlternating, StreamBurst and
// StreamOverflowRun are StepOverflowScaled, StepInf or StepNaN steps, as the formats allow.
func GradStream(f fp.Format, opts ...Option) *Gen[Stream] {
	cfg := newConfig(opts)
	s := newStepGen(f, cfg)
	// The classes of the overflow steps: those the format allows, restricted to those with a
	// positive step weight when there are any.
	var avail, bad []Class
	for _, c := range []Class{StepOverflowScaled, StepInf, StepNaN} {
		if (c == StepOverflowScaled && math.IsNaN(s.gOv)) || (c == StepInf && !f.HasInf()) {
			continue
		}
		avail = append(avail, c)
		if s.p.share(c) > 0 {
			bad = append(bad, c)
		}
	}
	if len(bad) == 0 {
		bad = avail
	}
	p := newPicker("stream", streamOrder, cfg.weights, func(Class) bool { return true })
	return newGen(fmt.Sprintf("GradStream(%s, scale=%g, scaled=%s, steps %d..%d)", f, cfg.scale, s.sf, cfg.streamMin, cfg.streamMax), func(t *rapid.T) Stream {
		c := p.draw(t)
		shape := s.shapes(t)
		n := intIn(t, cfg.streamMin, cfg.streamMax)
		st := Stream{Format: f, Class: c, Steps: make([]GradStep, n)}
		period, phase := intIn(t, 1, 3), intIn(t, 0, 1)
		burst := intIn(t, 1, n)
		for i := range st.Steps {
			var k Class
			switch c {
			case StreamCleanRun:
				k = StepClean
			case StreamAlternating:
				k = StepClean
				if (i/period+phase)%2 == 1 {
					k = sampled(t, bad)
				}
			case StreamBurst:
				k = StepClean
				if i < burst {
					k = sampled(t, bad)
				}
			case StreamOverflowRun:
				k = sampled(t, bad)
			case StreamRandom:
				k = s.p.draw(t)
			default:
				panic("generators: unknown stream class " + string(c))
			}
			st.Steps[i] = s.draw(t, k, shape)
		}
		return st
	})
}
