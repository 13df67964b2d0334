// Package lossscale implements a dynamic loss scaler for mixed-precision training, and the
// interface through which ulpcheck checks any scaler, bundled or third-party.
//
// # Semantics
//
// Dynamic is PyTorch's torch.amp.GradScaler (torch/amp/grad_scaler.py and the
// _amp_foreach_non_finite_check_and_unscale_ and _amp_update_scale_ kernels), with its defaults:
// initial scale 2^16, growth factor 2, backoff factor 0.5, growth interval 2000, the scale held as
// an fp32 value and the growth tracker as an integer (NUMERICS §9). One training iteration is
//
//	loss' = ScaleLoss(loss)        // fp32(loss·scale); backward runs on loss'
//	found := Unscale(dst, grads)   // dst[i] = fp32(g[i]·inv), inv = fp32(1/fp64(scale))
//	skipped := Step(apply)         // apply() runs only when found is false
//	Update()                       // scale and tracker move, from found
//
// Unscale tests every element for NaN and ±Inf before it multiplies it by the fp32 reciprocal
// of the scale, so a non-finite gradient can never be hidden by the multiplication. The product
// of a gradient (fp16, bf16 or fp32, all exactly fp32 values) and inv is rounded once to fp32,
// exactly as the fp32 multiplication of a GPU does. When the scale is a power of two the result is
// exact unless it is an fp32 subnormal that needs more bits than it has, so a gradient that
// underflows fp16 unscaled and was shifted into range by the scale comes back bitwise.
//
// Update on an overflowed iteration multiplies the scale by the backoff factor and resets the
// tracker; on a clean one it increments the tracker and, when the tracker reaches the interval,
// multiplies the scale by the growth factor only if the product is finite (the finite-growth
// guard) and resets the tracker. Each product is formed in float64 and rounded to fp32, as
// PyTorch's kernel does.
//
// # Differences from PyTorch, on purpose
//
//   - A floor (Options.Floor, default 2^-126, the smallest normal fp32 value) below which the
//     scale never backs off. PyTorch has none: 166 consecutive backoffs from 2^16 reach 0, then
//     inv = +Inf, 0·Inf = NaN passes its check (which tests the incoming value) and reaches the
//     optimizer. The floor must be at least 2^-127 so that 1/floor is finite in fp32; it cannot
//     be disabled.
//   - An optional cap (Options.Cap, default +Inf, meaning none): growth stops at the cap, as apex
//     amp's max_loss_scale does.
//   - Optional hysteresis (Options.Hysteresis, default 1, meaning none), as Megatron-LM's
//     DynamicGradScaler: the scale backs off only on the h-th overflow since the last growth
//     (every overflowed step is still skipped); growth replenishes the count.
//   - fp16 and bf16 gradients are accepted by Unscale (PyTorch refuses fp16 gradients because its
//     master gradients are fp32): they are widened exactly to fp32 and the output is fp32, so the
//     result is what an fp32 master-gradient unscale would give.
//   - Step reports whether it skipped the optimizer step; PyTorch only lets the caller infer it
//     from a decrease of the scale, which hysteresis makes unreliable.
//
// # Checking other scalers
//
// Scaler is the minimal, language-neutral interface the properties of
// ulpcheck/properties/scalerprop drive: Scale, Unscale, Step, Update, State and Restore, with
// gradients passed as format-tagged float64 values (Grads) and state as opaque bytes. An adapter
// for a third-party scaler, in Go or behind a process boundary, implements it.
//
// Index: Options (Validate), DefaultOptions, MinFloor, New, Dynamic (Scale, ScaleLoss,
// UnscaleFloat32, UnscaleFloat16, UnscaleBFloat16, Unscale, Found, Step, Update, Tracker,
// HysteresisLeft, Options, Snapshot, SetSnapshot, State, Restore), State (MarshalBinary,
// UnmarshalBinary), Scaler, Inspector, Grads, ErrOptions, ErrState.
package lossscale
