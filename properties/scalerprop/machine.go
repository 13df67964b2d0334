// This file implements the state machine that drives a scaler with streams of gradients and
// checks invariants 1–8 of NUMERICS §9 against the reference model after every iteration.

package scalerprop

import (
	"bytes"
	"fmt"
	"math"
	"strings"

	"pgregory.net/rapid"

	"github.com/ulpcheck/ulpcheck/fp"
	"github.com/ulpcheck/ulpcheck/kernels/lossscale"
)

// sentinel fills unscale outputs before the call, so that an element left unwritten shows up.
const sentinel = 0x7fc0dead

// machine is one state-machine run.
type machine struct {
	tg    Target
	props propSet
	o     lossscale.Options
	f     fp.Format
	s     lossscale.Scaler
	twin  lossscale.Scaler // restored from a State of s (StateRoundTrip); nil before the first save
	m     Model
	pow2  bool
	iter  int // iterations done
	max   int
}

// fail reports a violation of the named property when it is checked in this run.
func (mc *machine) fail(t *rapid.T, prop string, class Class, format string, args ...any) {
	t.Helper()
	if !mc.props.has(prop) {
		return
	}
	t.Fatal(&Failure{Target: mc.tg.Name, Property: prop, Class: class, Iteration: mc.iter,
		Format: mc.f, Options: mc.o, Detail: fmt.Sprintf(format, args...)})
}

// checkScale checks invariant 1 (and the power-of-two half of invariant 4) on the current state.
func (mc *machine) checkScale(t *rapid.T) {
	t.Helper()
	s, o := mc.s.Scale(), mc.o
	switch {
	case math.IsInf(float64(s), 0) || s != s:
		mc.fail(t, ScaleValid, ClassScaleNonFinite, "scale %s", h32(s))
	case !(s > 0):
		mc.fail(t, ScaleValid, ClassScaleZero, "scale %s", h32(s))
	case s < o.Floor || s > o.Cap:
		mc.fail(t, ScaleValid, ClassScaleBounds, "scale %s outside [floor %s, cap %s]", h32(s), h32(o.Floor), h32(o.Cap))
	}
	if in, ok := mc.s.(lossscale.Inspector); ok {
		if tr := in.Tracker(); tr < 0 || tr >= o.Interval {
			mc.fail(t, ScaleValid, ClassScaleBounds, "tracker %d outside [0, %d)", tr, o.Interval)
		}
	}
	if mc.pow2 && !isPow2(float64(s)) {
		mc.fail(t, UnscaleExact, ClassNotPowerOfTwo, "power-of-two options gave scale %s", h32(s))
	}
}

// nonFinite reports whether xs holds a NaN or ±Inf.
func nonFinite(xs []float64) bool {
	for _, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return true
		}
	}
	return false
}

// unscaleRef returns fp32(g·inv) with inv = fp32(1/fp64(scale)), PyTorch's unscale: the reciprocal
// is formed in fp64 and rounded to fp32; the product of two fp32 values is exact in float64 and
// rounded once to fp32 by fp.FP32.
func unscaleRef(g float64, scale float32) float32 {
	inv, _ := fp.FP32.RoundFloat64(1 / float64(scale))
	r, _ := fp.FP32.RoundFloat64(g * inv)
	return float32(r)
}

// An iteration is one training iteration as the sequence of scaler calls a training loop makes
// (the package documentation, "Call sequences"): Unscale on tensors in call order (a tensor may
// come twice, or none may come), an optional Step, then Update; and optionally a State/Restore into a fresh twin
// between two of those calls. The reference model needs only the overflow flag: the iteration
// overflowed when any of its Unscale calls saw a NaN or ±Inf.
type iteration struct {
	unscale [][]float64 // tensors in call order
	saveAt  int         // State/Restore after this many Unscale calls (len(unscale)+1: between Step and Update); -1 for none
	noStep  bool        // Update without a Step (the caller skipped the optimizer step itself)
}

// iterate runs the usual iteration on gradients ts: Unscale each tensor once, Step, Update.
func (mc *machine) iterate(t *rapid.T, ts [][]float64) {
	t.Helper()
	mc.run(t, iteration{unscale: ts, saveAt: -1})
}

// run runs one iteration (members of mc.f) and checks it.
func (mc *machine) run(t *rapid.T, it iteration) {
	t.Helper()
	mc.iter++
	before := mc.s.Scale()
	overflow := false
	for k, vals := range it.unscale {
		if it.saveAt == k {
			mc.save(t)
		}
		want := nonFinite(vals)
		overflow = overflow || want
		dst := make([]float32, len(vals))
		for i := range dst {
			dst[i] = math.Float32frombits(sentinel)
		}
		g := lossscale.Grads{Format: mc.f, Values: vals}
		found := mc.s.Unscale(dst, g)
		switch {
		case want && !found:
			mc.fail(t, OverflowDetected, ClassOverflowMissed, "Unscale(%s) reported no overflow", hfs(mc.f, vals))
		case !want && found:
			mc.fail(t, OverflowDetected, ClassFalseOverflow, "Unscale(%s) of finite gradients reported overflow", hfs(mc.f, vals))
		}
		if mc.props.has(UnscaleExact) {
			for i, x := range vals {
				if math.IsNaN(x) || math.IsInf(x, 0) {
					continue
				}
				if r := unscaleRef(x, before); math.Float32bits(dst[i]) != math.Float32bits(r) {
					mc.fail(t, UnscaleExact, ClassUnscale, "at scale %s, Unscale(%s)[%d] = %s, want %s (call %d of the iteration)",
						h32(before), hf(mc.f, x), i, h32(dst[i]), h32(r), k+1)
				}
			}
		}
		if mc.twin != nil {
			tdst := make([]float32, len(vals))
			tfound := mc.twin.Unscale(tdst, g)
			for i := range tdst {
				if tfound != found || math.Float32bits(tdst[i]) != math.Float32bits(dst[i]) && !(dst[i] != dst[i] && tdst[i] != tdst[i]) {
					mc.fail(t, StateRoundTrip, ClassState, "restored scaler: Unscale(%s) = %v (found %v), original %v (found %v)",
						hfs(mc.f, vals), tdst, tfound, dst, found)
				}
			}
		}
	}
	if it.saveAt == len(it.unscale) {
		mc.save(t)
	}

	applied, skipped := 0, overflow
	if !it.noStep {
		skipped = mc.s.Step(func() { applied++ })
		if mc.twin != nil {
			tapplied := 0
			if tskipped := mc.twin.Step(func() { tapplied++ }); tskipped != skipped || tapplied != applied {
				mc.fail(t, StateRoundTrip, ClassState, "restored scaler: Step skipped %v, ran %d; original skipped %v, ran %d",
					tskipped, tapplied, skipped, applied)
			}
		}
	}
	if it.saveAt == len(it.unscale)+1 {
		mc.save(t)
	}
	mc.s.Update()
	after := mc.s.Scale()
	prev := mc.m
	absorbed := mc.m.Update(overflow)
	mc.checkScale(t)

	if applied > 1 {
		mc.fail(t, SkipReported, ClassSkipNotReported, "Step called the optimizer %d times", applied)
	}
	if overflow && applied > 0 {
		mc.fail(t, SkipOnOverflow, ClassStepOnOverflow, "the optimizer step ran on overflowed gradients %s", hts(mc.f, it.unscale))
	}
	if o := mc.o; o.Hysteresis > 1 && overflow {
		if applied > 0 || !skipped {
			mc.fail(t, HysteresisSkips, ClassStepOnOverflow, "overflow with hysteresis %d left %d: step ran %d times, reported skipped %v",
				o.Hysteresis, prev.Left, applied, skipped)
		}
		if absorbed && math.Float32bits(after) != math.Float32bits(before) {
			mc.fail(t, HysteresisSkips, ClassBackoff, "overflow absorbed by hysteresis (%d of %d left) changed the scale %s to %s",
				prev.Left, o.Hysteresis, h32(before), h32(after))
		}
	}
	if !it.noStep && (skipped != (applied == 0) || skipped != overflow) {
		mc.fail(t, SkipReported, ClassSkipNotReported, "overflow %v, step ran %d times, Step reported skipped %v", overflow, applied, skipped)
	}
	if overflow && after > before {
		mc.fail(t, Monotone, ClassDirection, "the scale grew on an overflow: %s to %s", h32(before), h32(after))
	}
	if !overflow && after < before {
		mc.fail(t, Monotone, ClassDirection, "the scale shrank on a clean iteration: %s to %s", h32(before), h32(after))
	}
	if math.Float32bits(after) != math.Float32bits(mc.m.Scale) {
		if overflow {
			mc.fail(t, BackoffOnOverflow, ClassBackoff, "after an overflow the scale went %s to %s, want %s (hysteresis left %d before)",
				h32(before), h32(after), h32(mc.m.Scale), prev.Left)
		} else {
			mc.fail(t, GrowthCadence, ClassCadence, "after clean iteration %d since the last growth or overflow (%s) the scale went %s to %s, want %s",
				prev.Tracker+1, it, h32(before), h32(after), h32(mc.m.Scale))
		}
		mc.m.Scale = after // resynchronize, so that properties not checked here do not mask later ones
	}
	if in, ok := mc.s.(lossscale.Inspector); ok && in.Tracker() != mc.m.Tracker {
		if overflow {
			mc.fail(t, BackoffOnOverflow, ClassBackoff, "after an overflow the tracker is %d, want 0", in.Tracker())
		} else {
			mc.fail(t, GrowthCadence, ClassCadence, "after a clean iteration (%s) the tracker is %d, want %d", it, in.Tracker(), mc.m.Tracker)
		}
		if tr := in.Tracker(); tr >= 0 && tr < mc.o.Interval {
			mc.m.Tracker = tr // resynchronize, as for the scale
		}
	}
	if !overflow && !it.noStep && applied == 0 {
		mc.fail(t, GrowthCadence, ClassStepSkipped, "the step of a clean iteration (%s) did not run (gradients %s)", it, hts(mc.f, it.unscale))
	}
	if mc.twin != nil {
		mc.twin.Update()
		if math.Float32bits(mc.twin.Scale()) != math.Float32bits(after) {
			mc.fail(t, StateRoundTrip, ClassState, "restored scaler (%s): scale %s after Update; original %s", it, h32(mc.twin.Scale()), h32(after))
		}
	}
}

// String describes the call sequence of it, for failure messages.
func (it iteration) String() string {
	var b strings.Builder
	for k := range it.unscale {
		if it.saveAt == k {
			b.WriteString("State/Restore, ")
		}
		fmt.Fprintf(&b, "Unscale(%d), ", k+1)
	}
	if it.saveAt == len(it.unscale) {
		b.WriteString("State/Restore, ")
	}
	if !it.noStep {
		b.WriteString("Step, ")
	}
	if it.saveAt == len(it.unscale)+1 {
		b.WriteString("State/Restore, ")
	}
	b.WriteString("Update")
	return b.String()
}

// save checks invariant 7: the state of s restored into a fresh scaler round-trips, and the
// fresh scaler becomes the twin that shadows s from now on.
func (mc *machine) save(t *rapid.T) {
	t.Helper()
	b, err := mc.s.State()
	if err != nil {
		mc.fail(t, StateRoundTrip, ClassContract, "State: %v", err)
		return
	}
	tw, err := mc.tg.New(mc.o)
	if err != nil {
		mc.fail(t, StateRoundTrip, ClassContract, "New(%s): %v", optString(mc.o), err)
		return
	}
	if err := tw.Restore(b); err != nil {
		mc.fail(t, StateRoundTrip, ClassState, "Restore(%x): %v", b, err)
		return
	}
	b2, err := tw.State()
	if err != nil || !bytes.Equal(b, b2) {
		mc.fail(t, StateRoundTrip, ClassState, "State after Restore(%x) = %x, %v", b, b2, err)
	}
	if math.Float32bits(tw.Scale()) != math.Float32bits(mc.s.Scale()) {
		mc.fail(t, StateRoundTrip, ClassState, "restored scale %s, saved %s", h32(tw.Scale()), h32(mc.s.Scale()))
	}
	mc.twin = tw
}

// left returns how many more iterations this run may take, at most n.
func (mc *machine) left(n int) int { return max(0, min(n, mc.max-mc.iter)) }

// Machine returns the state-machine property: a scaler configured by tg.Options, driven by a
// random sequence of iterations (clean, finite extremes, physical gradients at the current scale
// with natural overflow and underflow, one NaN, one ±Inf, runs of clean or overflowed iterations,
// state saves), and checked after every iteration against the reference Model. With names it
// checks only those properties (the others are still observed, and the model resynchronized
// when they fail, so that one bug does not hide another); with none it checks all of them but
// UnderflowRescue, which is a separate property (Rescue).
//
// Runs use rapid's Repeat (about -rapid.steps actions, default 30, half under -short), each
// action one or more iterations, at most tg.MaxSteps iterations in all.
func Machine(tg Target, names ...string) func(*rapid.T) {
	var props propSet
	for _, n := range names {
		props |= bit(n)
	}
	if len(names) == 0 {
		props = ^propSet(0) &^ bit(UnderflowRescue)
	}
	return func(t *rapid.T) {
		o := tg.options().Draw(t, "options")
		if props == bit(HysteresisSkips) && o.Hysteresis == 1 && tg.Options == nil {
			o.Hysteresis = rapid.IntRange(2, 4).Draw(t, "hysteresis")
		}
		f := rapid.SampledFrom(tg.formats()).Draw(t, "format")
		s, err := tg.New(o)
		if err != nil {
			t.Fatalf("scalerprop: %s: New(%s): %v", tg.Name, optString(o), err)
		}
		mc := &machine{tg: tg, props: props, o: o, f: f, s: s, m: NewModel(o), pow2: powersOfTwo(o), max: tg.maxSteps()}
		if math.Float32bits(s.Scale()) != math.Float32bits(o.Init) {
			mc.fail(t, BackoffOnOverflow, ClassContract, "initial scale %s, configured %s", h32(s.Scale()), h32(o.Init))
		}
		mc.checkScale(t)
		finite := finiteGen(f)
		run := func(t *rapid.T, ts [][]float64, n int) {
			for range mc.left(n) {
				mc.iterate(t, ts)
			}
		}
		t.Repeat(map[string]func(*rapid.T){
			stepClean: func(t *rapid.T) { run(t, shape(t, finite), 1) },
			stepExtremes: func(t *rapid.T) {
				run(t, shape(t, rapid.OneOf(rapid.SampledFrom(extremes(f)), finite)), 1)
			},
			stepPhysical: func(t *rapid.T) { run(t, physical(t, f, mc.s.Scale()), 1) },
			stepInf: func(t *rapid.T) {
				ts := shape(t, finite)
				poison(t, ts, rapid.SampledFrom([]float64{math.Inf(1), math.Inf(-1)}).Draw(t, "inf"))
				run(t, ts, 1)
			},
			stepNaN: func(t *rapid.T) {
				ts := shape(t, finite)
				poison(t, ts, nanGen(f).Draw(t, "nan"))
				run(t, ts, 1)
			},
			stepCleanN: func(t *rapid.T) {
				ts := shape(t, finite)
				iv := mc.o.Interval
				n := rapid.OneOf(rapid.IntRange(1, 2*iv+1), rapid.IntRange(1, 300*iv)).Draw(t, "clean run")
				run(t, ts, n)
			},
			stepGrowth: func(t *rapid.T) {
				ts := shape(t, finite)
				k := rapid.OneOf(rapid.IntRange(1, 8), rapid.Just(300)).Draw(t, "growths") // 300: up to the guard
				run(t, ts, mc.o.Interval-mc.m.Tracker+(k-1)*mc.o.Interval)
			},
			stepOverflowN: func(t *rapid.T) {
				ts := shape(t, finite)
				poison(t, ts, math.Inf(1))
				run(t, ts, rapid.IntRange(1, 300).Draw(t, "overflow run"))
			},
			seqAccumulate: func(t *rapid.T) {
				if mc.left(1) > 0 {
					mc.iterate(t, accumulated(t, f))
				}
			},
			seqRepeat: func(t *rapid.T) {
				ts := anyGrads(t, f)
				order := rapid.SliceOfN(rapid.IntRange(0, len(ts)-1), 1, 2*len(ts)+1).Draw(t, "unscale order")
				it := iteration{saveAt: -1}
				for _, i := range order {
					it.unscale = append(it.unscale, ts[i])
				}
				if mc.left(1) > 0 {
					mc.run(t, it)
				}
			},
			seqNoUnscale: func(t *rapid.T) {
				n := rapid.OneOf(rapid.Just(1), rapid.IntRange(1, 2*mc.o.Interval+1)).Draw(t, "iterations")
				for range mc.left(n) {
					mc.run(t, iteration{saveAt: -1})
				}
			},
			seqNoStep: func(t *rapid.T) {
				var ts [][]float64
				if rapid.Bool().Draw(t, "unscale") {
					ts = anyGrads(t, f)
				}
				n := rapid.OneOf(rapid.Just(1), rapid.IntRange(1, 2*mc.o.Interval+1)).Draw(t, "iterations")
				for range mc.left(n) {
					mc.run(t, iteration{unscale: ts, saveAt: -1, noStep: true})
				}
			},
			seqStateMid: func(t *rapid.T) {
				if !mc.props.has(StateRoundTrip) {
					return
				}
				ts := anyGrads(t, f)
				it := iteration{unscale: ts, noStep: rapid.IntRange(0, 3).Draw(t, "no step") == 0}
				last := len(ts)
				if !it.noStep {
					last++
				}
				it.saveAt = rapid.IntRange(0, last).Draw(t, "save after call")
				if mc.left(1) > 0 {
					mc.run(t, it)
				}
			},
			"state/save": func(t *rapid.T) {
				if mc.props.has(StateRoundTrip) {
					mc.save(t)
				}
			},
		})
		runs.Add(1)
		iterations.Add(int64(mc.iter))
	}
}
