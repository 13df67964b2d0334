// Package properties judges a kernel against the exact oracle: accuracy within a declared
// tolerance, special values and masking per NUMERICS §5, the identities of softmax, log-softmax,
// log-sum-exp and cross-entropy, the metamorphic relations (shift invariance, permutation
// equivariance, batch independence), and the call contract. Every failure is classified per
// NUMERICS §10 and reported with the case, the kernel's output, the oracle's value, the ulp
// error and the bound.
//
// Each property is written once, in Evaluate, and runs three ways: Check (go test, through
// rapid.Check: -rapid.checks, -rapid.seed, fail files and -short scaling all work), Fuzz
// (go test -fuzz, through rapid.MakeFuzz) and the campaign runner, which calls CaseGen and
// Evaluate directly.
//
// Tolerance models (Tolerance):
//
//   - Condition (the default): |ŷ − y| ≤ S·B + ½ulp_out(y) + floor, with B the first-order
//     bound of NUMERICS §3 for the kernel's operation and declared algorithm class in its
//     accumulation format's unit roundoff u, S the safety factor (DefaultSafety = 2: the bounds
//     are first order and model exp and log with error u, while math.Exp is within 1 ulp), and
//     floor = 2·MinSubnormal(out) + S·(n+2)·F·MinSubnormal(acc) the underflow floor, where
//     F = 1 except for the gradients, whose underflowing softmax weights are multiplied
//     afterwards (softmax backward: F = 1 + |dy_i − c| + Σ_j|dy_j|; cross-entropy gradient:
//     F = 1 + Σ_c|w_c t'_c|/|D|). Where x_max − x_min overflows float64 the bound is infinite.
//   - Strict(k): |ŷ − y| ≤ k·ulp_out(y), against the exact value y.
//   - AssertClose(rtol, atol): |ŷ − y| ≤ atol + rtol·|y|, as torch.testing.assert_close
//     (FormatDefaults uses its per-format defaults).
//
// Identities: softmax ∈ [0, 1] and Σ softmax = 1 within the sum of the element tolerances;
// log-softmax ≤ 0, and exp(log-softmax) within e^ℓ·expm1(τ) of the exact softmax e^ℓ, τ the
// log-softmax tolerance (PropExpLog: the probability-domain image of the log-softmax tolerance,
// |Δe^ℓ| ≈ e^ℓ·|Δℓ|; softmax's own tolerance would be
// about |ℓ| times too tight for entries far below the maximum); x_max ≤ LSE ≤
// x_max + log n + tolerance; cross-entropy ≥ 0 when the weights are.
//
// Index: Check, Fuzz, Evaluate, CaseGen, Verdict, Failure, Class, Tolerance, Condition, Strict,
// AssertClose, Option and the With* options, Property names.
package properties
