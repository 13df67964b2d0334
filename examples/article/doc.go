// Package article turns each code claim of the article ulpcheck grew from ("Numerical
// Computation in Deep Learning: Precision, Overflow, and Stability", shared/seed-article.txt)
// into an Example with asserted output, checked with ulpcheck's formats (fp), exact oracle
// (oracle), bundled kernels (kernels) and loss scaler (kernels/lossscale).
//
// Where the article is wrong or incomplete, the examples show the truth:
//
//   - "np.float32(0.1) + np.float32(0.2) == np.float32(0.3) is False": in float32 it is True (the
//     exact sum 0.3000000044703484 rounds to the float32 nearest 0.3); the inequality the article
//     means holds in float64 (0.30000000000000004 ≠ 0.3). See Example_floatAddition.
//   - "np.float32(1e-40) prints 0.0, underflowed to exactly zero": 1e-40 is the float32 subnormal
//     71362·2^-149 ≈ 9.99995e-41 (bits 0x000116c2); float32 rounds to 0 only at or below 2^-150
//     ≈ 7.0e-46. Gradual underflow loses precision before it loses the value. See
//     Example_underflow.
//   - "The GradScaler exists purely to combat underflow": it also detects NaN/±Inf gradients,
//     skips that step and backs off. See Example_lossScaling.
//   - "no overflow possible" in the shifted softmax: true of exp, but a fully masked row (all
//     −Inf) gives −Inf − (−Inf) = NaN unless a policy says 0. See Example_maskedRow.
//
// Run them with: go test ./examples/article/
package article
