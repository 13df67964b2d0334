// Package scalerprop checks dynamic loss scalers, the bundled lossscale.Dynamic or anyone's
// through the lossscale.Scaler interface, as state machines (NUMERICS §9 and §10).
//
// A run draws a configuration (OptionsGen: PyTorch's defaults first, then small growth
// intervals, scales near both ends of fp32, floors, caps, hysteresis) and a gradient format (fp16,
// bf16 or fp32), then drives the scaler with rapid's Repeat through a random sequence of
// iterations: clean gradients of every magnitude, finite extremes, "physical" gradients (true
// gradients times the current scale, rounded, so that overflow and underflow happen naturally),
// one NaN, one ±Inf, runs of clean iterations up to k growths, runs of overflows, and state saves.
// After every iteration the scaler is compared with Model, the reference state machine computed
// from the sequence of overflow flags alone.
//
// Call sequences. Most iterations call Unscale once per tensor, then Step, then Update. Training
// loops also make other sequences, and the machine draws them too, each with the meaning given
// here (PyTorch's GradScaler where it defines one):
//
//	gradient accumulation     micro-batch gradients summed in the format before one Unscale per
//	                          tensor; a sum that overflows to ±Inf is an overflow like any other
//	Unscale twice, or some    each call unscales its own input (the scaled gradients are not
//	tensors not at all        changed); the iteration overflowed when any call saw NaN or ±Inf.
//	                          PyTorch raises on a second unscale_ of one optimizer per iteration
//	no Unscale before Step    a clean iteration: the step runs and the tracker counts it. PyTorch's
//	                          step unscales itself, and raises when no gradient was checked at all
//	Update without Step       the iteration ends as its flag says (a clean one counts toward
//	                          growth, an overflowed one backs off), as PyTorch's update does when
//	                          the caller skipped the optimizer step itself
//	State/Restore between     the state is the whole state, the pending overflow flag included:
//	any two calls             the restored scaler, given the rest of the calls, skips, steps and
//	                          rescales exactly as the original. PyTorch's state_dict holds the
//	                          scale and tracker only, so it defines no mid-iteration restore
//
// The reference model is the same for all of them: one Update per iteration, driven by the
// iteration's overflow flag.
//
// The properties, each named and each failure classified (Class):
//
//	ScaleValid         inv 1  scale positive, finite, in [Floor, Cap]; tracker in [0, Interval)
//	OverflowDetected   inv 2  found ⇔ a NaN or ±Inf; finite extremes are not overflow
//	SkipOnOverflow     inv 2  no optimizer step on an overflowed iteration
//	BackoffOnOverflow  inv 2  scale after an overflow = max(Floor, fp32(scale·Backoff)) (or kept under hysteresis)
//	GrowthCadence      inv 3  clean step taken; growth exactly every Interval clean steps, capped, never to Inf
//	UnscaleExact       inv 4  unscaled = fp32(g·fp32(1/fp64(scale))) bitwise; power-of-two scales stay so
//	Monotone           inv 5  never grows on overflow, never shrinks on a clean step
//	SkipReported       inv 6  Step reports skipped ⇔ the step did not run ⇔ overflow
//	StateRoundTrip     inv 7  State/Restore round-trips bytes and behaviour
//	HysteresisSkips    inv 8  every overflow skipped; the scale kept until the h-th
//	UnderflowRescue    §9     fp16 gradients that flush to 0 unscaled come back bitwise from g·2^k
//
// Check runs each property as a subtest through rapid.Check; Machine, Rescue and Prop return the
// rapid properties for rapid.Check, rapid.MakeFuzz or a campaign runner. A Failure names the
// target, the property, its invariant, its class, the iteration, the format, the options and the
// offending values with their bits; rapid shrinks the run and prints a replay command.
//
// Index: Target, Bundled, OptionsGen, Model, NewModel, Machine, Rescue, Prop, Check, Properties,
// Property, Failure, Class, Counts, DefaultMaxSteps.
package scalerprop
