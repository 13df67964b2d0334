// Package generators draws the inputs that kill training runs, in every format ulpcheck knows,
// as rapid generators that shrink in the format's own bit space.
//
// rapid's own float generators never produce NaN, produce ±Inf only when a bound is infinite,
// produce subnormals and near-overflow values only rarely, and know nothing of fp16, bf16 or
// fp8. The generators here make those values the common case. Each draw picks an adversarial
// class (ScalarSubnormal, RowFullyMasked, StepOverflowScaled, ...) with an explicit, configurable
// weight, then builds a value of that class; the class travels with the value as its label.
//
// Representation. A format value is a float64 that is exactly a member of its format
// (fp.Format.Contains): every element of every Case, Value, GradStep and Stream is one, NaN
// (with its sign and payload, as fp.Format.Decode carries them) and ±Inf included.
//
// Shrinking. Values are drawn as bit patterns of their format (an encoding, or an offset in the
// ordered list of the format's values from a class's simplest member), never as float64
// arithmetic, so rapid's shrinker, which lowers the integers it drew, moves in the format's
// own space: toward +0, toward the smallest subnormal, toward the boundary value of a threshold.
// Class choices are drawn from unbiased bits, most significant first, so that they shrink toward
// the first (simplest) class. Values drawn as one offset (huge values, the dominant logit)
// shrink to the exact boundary of a failure that is monotone in the value (TestShrinkToBoundary:
// "3x overflows fp16" shrinks to 21840); values drawn as exponent and significand shrink to the
// boundary or the power of two above it; uniform bit patterns to a bitwise minimum. Shrinking
// keeps a case's class and length bucket: a failing block-32 row shrinks to 32 elements, a
// failing short row to one. Short rows (at most 64 elements) draw every element; longer rows
// draw a template of at most 16 elements, a base value and a few special positions, so that a
// 4096-element row costs a few hundred draws, not tens of thousands, and stays shrinkable.
//
// Special cases are:
//
//   - E4M3 has no infinities: the classes that need ±Inf (ScalarInf, RowMaskedInf,
//     RowStartsNegInf, RowFullyMasked, RowPosInf, StepInf) get weight 0 in it, and finite
//     sentinels are rounded into it with saturation (−max) instead of overflowing to NaN.
//   - Rows of length 0 are their own class (RowEmpty); no other row class produces them.
//   - StepUnderflowUnscaled needs gradients smaller than half the scaled format's smallest
//     subnormal; it gets weight 0 when the gradient format cannot hold them.
//
// Index: Gen; Scalar, Row, Batch, Backward, CrossEntropy, GradStepGen, GradStream; Case, Value,
// GradStep, Stream, CEOptions, DefaultCEOptions, Reduction, Class (Family, Doc) and its
// constants, Weights, DefaultWeights; Option: WithWeights, Only, MaxLen, Lengths, MaxRows,
// WithStreamLen, WithScale, WithScaledFormat, WithTensors, WithShape; Case.Clone;
// DistributionTable, GradDistributionTable.
package generators
