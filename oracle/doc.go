// Package oracle computes the exact results that ulpcheck judges kernels against: log-sum-exp,
// softmax, log-softmax, PyTorch's cross-entropy (class and probability targets, weights,
// ignore_index, label smoothing, reductions none/sum/mean), softmax backward (from the logits and
// from a given forward output) and the cross-entropy gradient, each correctly rounded into any
// fp.Format, together with enough of the exact real to measure a kernel's error to within 1/1000
// ulp. It also exports exp and log on *big.Float with a proven error bound (Exp, Log).
//
// # Inputs and results
//
// Inputs are float64 values taken as exact reals (they need not be values of the output format).
// Each output element is a Value: Rounded is RN(exact), the exact real rounded once, to nearest
// with ties to even, straight into the format (gradual underflow, overflow to ±Inf, E4M3 to
// NaN), with the fp.Flag of that rounding; Exact returns an approximation of the exact real
// within 2^−21·ulp(exact), in the same binade (a relative error ≤ 2^−(p+20) in the normal range;
// the exact value itself for dyadic results), so Value.UlpError(got) is |got − exact|/ulp(exact)
// to within 1/1000 ulp (in fact about 10^−6 ulp).
//
// # Special values (NUMERICS §5)
//
// Per row, with F the finite entries: any NaN gives NaN outputs (LSE NaN); a +Inf gives softmax
// and log-softmax NaN and LSE +Inf; a fully masked row (every entry −Inf) follows the
// fp.MaskPolicy argument (softmax NaN or +0, log-softmax NaN or −Inf; LSE is −Inf); −Inf entries
// of a row with finite entries give softmax exactly +0 and log-softmax −Inf; an empty row gives
// an empty result (LSE −Inf). Cross-entropy follows PyTorch (xlogy: a zero coefficient on a −Inf
// logit contributes 0). Each function's doc comment lists its special cases. Exact zeros are +0.
//
// # Exact and midpoint cases (NUMERICS §6)
//
// Finite floats are rationals, so by Lindemann–Weierstrass the results are transcendental except
// in cases the oracle detects and computes exactly with big.Rat, rounding once with an exact
// decision of ties: softmax of a row whose finite entries are all equal (1/k); LSE, log-softmax
// and cross-entropy of rows with one finite entry; gradients whose coefficient vectors make the
// softmax factor drop out or be rational (including the fp16 midpoint: 4096 equal logits, the
// cross-entropy gradient at the target is −(1 − 2^−12), which rounds to −1); exact zeros of the
// softmax backward pass (dx_i = 0 iff dy_i equals the mean of dy over each group of equal
// logits); and SoftmaxBackwardFromY, a polynomial computed exactly.
//
// # Method and accuracy (NUMERICS §3, §7)
//
// A float64 evaluation with a rigorous running error bound (fast.go: math.Exp and math.Log1p are
// assumed within 2 ulps, x_i − max is made exact with TwoSum, the sum is compensated) decides
// nearly every fp16, bf16, fp32 and fp8 softmax, log-softmax and LSE output. Softmax entries it
// leaves (values within about 2^−50 relative of a rounding boundary) are recomputed in
// double-double (dd.go, ddsoftmax.go: exp by a reduction with a three-part ln 2, a degree-9
// Taylor polynomial and eight squarings, relative error below 2^−86, proven from Joldes, Muller
// and Popescu's bounds for DWPlusDW and DWTimesDW; the sum and the division add below
// n·2^−103 + 2^−100), which decides every entry farther than about 2^−70 relative from a
// boundary without big arithmetic. Undecided elements, fp64 outputs, cross-entropy and the backward passes use Ziv's strategy on interval enclosures:
// every big.Float operation is rounded outward (exp by argument reduction, Taylor series and
// squaring; log by 2·atanh; ln 2 cached per precision as an enclosure), the working precision
// starts at p + 64 bits and rises (+64, then ×1.5) until both ends of the enclosure round to the
// same value with the same flag, in the same binade, within 2^−21 ulp. A row's sum is computed
// once per precision and shared by its elements.
//
// Some exact values lie within e^(−40000) of a value or a midpoint of the format without being
// on it (LSE = m + log1p(e^(x_2 − m)) of a row with one huge entry, log-softmax x_i − m − L, a
// gradient −a_j + A·p_j with p_j tiny): no affordable precision separates them from it. The
// oracle writes such a value as A + ε with A an exact dyadic and ε of proven sign and tiny
// magnitude, and rounds A + sign(ε)·(a quarter of A's (p+24)-bit quantum), which lies between
// the same neighbours as the exact value (ziv.go, decideCenter). Softmax-backward entries whose
// every contribution lies more than 10^6 below the maximum are decided by the sign of a
// rescaled sum.
//
// A softmax-backward entry at the maximum m of its row (k entries equal m) is a/k² + ε, with
// a = Σ_{x_j = m} (dy_i − dy_j) exact and ε = O(e^(x_2 − m)), x_2 the next logit. When the
// enclosure of ε gives no sign (a gap of thousands, or a first-order term that cancels exactly,
// leaving ε ≈ e^(2(x_2 − m))), k²S²·ε is written as a sum of exponentials e^c of sums of one or
// two gaps with exact rational coefficients, the largest exponent c* with a nonzero merged
// coefficient is found exactly (by Lindemann–Weierstrass the sum is zero only if every
// coefficient is, and its lowest term never is), the terms above c*, whose coefficients cancel,
// are dropped, and the rest divided by e^(c*), an ordinary-sized number, is enclosed at a few
// hundred bits: that gives the sign of ε and a bound on |ε| for decideCenter (maxdefect.go).
// A rational limit that is not dyadic (k not a power of two) is never a value or a midpoint: it
// is rounded exactly (with big.Rat, ties impossible) at both ends of [a/k² − |ε|, a/k² + |ε|]
// and decided when they agree (decideRat); the cross-entropy gradients use the same for
// p_t − 1 with the target among several maxima.
//
// The loop stops at MaxPrecision bits with an error wrapping ErrPrecisionCap: never a guess.
// That happens for an exact case the oracle does not detect, and for inputs built to defeat the
// methods above; the known ones are cancellations between rows of a cross-entropy with negative
// weights or targets (such as 2·log 2 − log 4), and softmax-backward entries at a maximum whose
// defect has more than 64 vanishing leading exponents, or a leading exponent below −1.9·10^9 in a
// row of more than 64 distinct logits spaced too closely for the gap test (maxdefect.go).
//
// # Index
//
// Value (Exact, IsNaN, UlpError, UlpDistance, Float64); LSE, Softmax, LogSoftmax and their
// Batch forms; CrossEntropy, CrossEntropyProb, CrossEntropyGrad, CrossEntropyProbGrad with
// CEOptions, DefaultCEOptions, Reduction, ParseReduction; SoftmaxBackward,
// SoftmaxBackwardFromY; Exp, Log; ErrPrecisionCap, MaxPrecision.
package oracle
