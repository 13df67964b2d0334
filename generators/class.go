// This file implements the classes, their families, default weights and descriptions.

package generators

import "strings"

// A Class labels the adversarial class that produced a value, as "family/name".
type Class string

// Family returns the part of c before the slash, such as "row".
func (c Class) Family() string {
	f, _, _ := strings.Cut(string(c), "/")
	return f
}

// Weights are relative class weights, keyed by class; see WithWeights.
type Weights map[Class]float64

// Scalar classes, simplest first.
const (
	ScalarZero         Class = "scalar/zero"          // ±0
	ScalarSmallInt     Class = "scalar/small-int"     // integers in [−16, 16], rounded into the format
	ScalarLogit        Class = "scalar/logit"         // k + j/256 with |k| ≤ 20, rounded into the format
	ScalarMinNormal    Class = "scalar/min-normal"    // ±MinNormal and its three neighbours each side
	ScalarSubnormal    Class = "scalar/subnormal"     // ±subnormals, biased toward the smallest
	ScalarMaxFinite    Class = "scalar/max-finite"    // ±MaxFinite and the three values below it
	ScalarExpThreshold Class = "scalar/exp-threshold" // within 4 values of an exp threshold (fp.ExpThresholds), either side
	ScalarUniformBits  Class = "scalar/uniform-bits"  // an encoding drawn uniformly from all 2^Width (NaN and ±Inf included)
	ScalarInf          Class = "scalar/inf"           // ±Inf
	ScalarNaN          Class = "scalar/nan"           // NaN with a drawn sign and payload, quiet first
)

// Row classes, simplest first.
const (
	RowSmallInt       Class = "row/small-int"       // integers in [−8, 8]
	RowLogitLike      Class = "row/logit-like"      // k + j/256 with |k| ≤ 16: what a model emits
	RowEqual          Class = "row/equal"           // one value everywhere but at most two positions
	RowAscending      Class = "row/ascending"       // non-decreasing: online softmax's worst case (a max update per element)
	RowDescending     Class = "row/descending"      // non-increasing: online softmax's best case
	RowTiny           Class = "row/tiny"            // normal values of magnitude ≤ 2^−4 and zeros: every exp ≈ 1
	RowHuge           Class = "row/huge"            // values from just below the exp overflow threshold up to ±MaxFinite
	RowMaxFinite      Class = "row/max-finite"      // ±MaxFinite and the three values below it, among logit-like values: sums overflow
	RowDominant       Class = "row/dominant"        // one logit above the others by more than the exp underflow range
	RowExpThreshold   Class = "row/exp-threshold"   // values straddling the format's exp thresholds
	RowSubnormal      Class = "row/subnormal"       // subnormals (at least one), with some logit-like values
	RowMixedMagnitude Class = "row/mixed-magnitude" // magnitudes over every binade; spread beyond the exp range
	RowMaskedInf      Class = "row/masked-inf"      // −Inf masks (padding tail or scattered), at least one finite entry
	RowMaskedSentinel Class = "row/masked-sentinel" // finite sentinels −1e4, −5e4, −1e9, −1e30, −max and sums of two, rounded into the format
	RowStartsNegInf   Class = "row/starts-neg-inf"  // first entries −Inf, then finite: NaN in the literal online recurrence
	RowFullyMasked    Class = "row/fully-masked"    // every entry −Inf
	RowPosInf         Class = "row/pos-inf"         // a single +Inf (sometimes beside a −Inf)
	RowNaN            Class = "row/nan"             // one NaN (signed, with payload), sometimes in a masked slot
	RowUniformBits    Class = "row/uniform-bits"    // every encoding uniform over all 2^Width patterns
	RowLongFlat       Class = "row/long-flat"       // long rows (≥ 2^p where that is ≤ 2048) of one or two values: accumulation saturates
	RowEmpty          Class = "row/empty"           // n = 0
)

// Length buckets of rows (a family of their own), simplest first.
const (
	LenShort     Class = "len/short"      // 1 to 8
	LenMedium    Class = "len/medium"     // 9 to 30
	LenBlock32   Class = "len/block-32"   // 31–33, 63–65, 127–129: warp and small block boundaries
	LenBlock1024 Class = "len/block-1024" // 1023–1025
	LenBlock2048 Class = "len/block-2048" // 2047–2049 and 4096
)

// Upstream-gradient classes (Backward's DY), simplest first.
const (
	DYOnes     Class = "dy/ones"       // every dy = 1
	DYOneHot   Class = "dy/onehot"     // 1 at one position, 0 elsewhere (the gradient of picking one output)
	DYLogit    Class = "dy/logit-like" // k + j/256, |k| ≤ 16
	DYConstant Class = "dy/constant"   // one value per row: the exact dx is 0, so every nonzero output is error
	DYHuge     Class = "dy/huge"       // large magnitudes: Σ dy·y overflows in narrow accumulators
	DYTiny     Class = "dy/subnormal"  // subnormals and zeros
	DYNaN      Class = "dy/nan"        // one NaN
)

// Cross-entropy target classes, simplest first.
const (
	CEClassTargets   Class = "ce/class-targets"       // targets in [0, C), default options
	CEIgnoreSome     Class = "ce/ignore-some"         // some targets == IgnoreIndex (−100, −1 or a valid class)
	CEIgnoreAll      Class = "ce/ignore-all"          // every target ignored: mean is 0/0
	CEZeroWeights    Class = "ce/zero-weights"        // class weights with zeros (sometimes all)
	CESmoothing      Class = "ce/label-smoothing"     // label smoothing in {0, 0.05, 0.1, 0.2, 0.5, 1}
	CEProbTargets    Class = "ce/prob-targets"        // probability targets: one-hot, uniform or random rows
	CEProbZeroNegInf Class = "ce/prob-zero-on-neginf" // zero target mass exactly on −Inf logits: 0·(−Inf) must give 0
	CEProbZeroMass   Class = "ce/prob-zero-mass"      // rows whose target mass is 0
)

// Gradient-step classes (see GradStep), simplest first.
const (
	StepClean             Class = "step/clean"              // finite, g·S finite and representable
	StepExtremes          Class = "step/extremes"           // −0, subnormals, the largest g with g·S finite: not overflow
	StepUnderflowUnscaled Class = "step/underflow-unscaled" // some g below half the scaled format's min subnormal, g·S representable
	StepOverflowScaled    Class = "step/overflow-scaled"    // finite g with some g·S at or beyond the overflow threshold
	StepInf               Class = "step/inf"                // ±Inf in one element of one tensor
	StepNaN               Class = "step/nan"                // NaN in one element of one tensor
)

// Gradient-stream classes (see Stream), simplest first.
const (
	StreamCleanRun    Class = "stream/clean-run"    // clean steps only: the scale must grow every interval
	StreamAlternating Class = "stream/alternating"  // clean and overflow steps alternate
	StreamBurst       Class = "stream/burst"        // a run of overflow steps, then clean steps
	StreamOverflowRun Class = "stream/overflow-run" // overflow or non-finite steps only: the scale's floor
	StreamRandom      Class = "stream/random"       // each step drawn by the step weights
)

// Batch classes.
const (
	BatchMixed Class = "batch/mixed" // a batch whose rows have different classes (RowClasses says which)
)

var (
	scalarOrder = []Class{ScalarZero, ScalarSmallInt, ScalarLogit, ScalarMinNormal, ScalarSubnormal,
		ScalarMaxFinite, ScalarExpThreshold, ScalarUniformBits, ScalarInf, ScalarNaN}
	rowOrder = []Class{RowSmallInt, RowLogitLike, RowEqual, RowAscending, RowDescending, RowTiny, RowHuge,
		RowMaxFinite, RowDominant, RowExpThreshold, RowSubnormal, RowMixedMagnitude, RowMaskedInf, RowMaskedSentinel,
		RowStartsNegInf, RowFullyMasked, RowPosInf, RowNaN, RowUniformBits, RowLongFlat, RowEmpty}
	lenOrder    = []Class{LenShort, LenMedium, LenBlock32, LenBlock1024, LenBlock2048}
	dyOrder     = []Class{DYOnes, DYOneHot, DYLogit, DYConstant, DYHuge, DYTiny, DYNaN}
	ceOrder     = []Class{CEClassTargets, CEIgnoreSome, CEIgnoreAll, CEZeroWeights, CESmoothing, CEProbTargets, CEProbZeroNegInf, CEProbZeroMass}
	stepOrder   = []Class{StepClean, StepExtremes, StepUnderflowUnscaled, StepOverflowScaled, StepInf, StepNaN}
	streamOrder = []Class{StreamCleanRun, StreamAlternating, StreamBurst, StreamOverflowRun, StreamRandom}
)

// DefaultWeights returns the default weights of every class (a fresh map). Each family's weights
// sum to 100, so a weight reads as a percentage before format restrictions (E4M3 has no ±Inf)
// and length limits (MaxLen) remove classes.
func DefaultWeights() Weights {
	return Weights{
		ScalarZero: 5, ScalarSmallInt: 8, ScalarLogit: 15, ScalarMinNormal: 8, ScalarSubnormal: 12,
		ScalarMaxFinite: 10, ScalarExpThreshold: 14, ScalarUniformBits: 14, ScalarInf: 6, ScalarNaN: 8,

		RowSmallInt: 4, RowLogitLike: 8, RowEqual: 5, RowAscending: 5, RowDescending: 4, RowTiny: 5,
		RowHuge: 7, RowMaxFinite: 3, RowDominant: 6, RowExpThreshold: 7, RowSubnormal: 7, RowMixedMagnitude: 6,
		RowMaskedInf: 6, RowMaskedSentinel: 6, RowStartsNegInf: 4, RowFullyMasked: 3, RowPosInf: 3,
		RowNaN: 4, RowUniformBits: 4, RowLongFlat: 2, RowEmpty: 1,

		LenShort: 45, LenMedium: 20, LenBlock32: 20, LenBlock1024: 8, LenBlock2048: 7,

		DYOnes: 10, DYOneHot: 15, DYLogit: 30, DYConstant: 10, DYHuge: 15, DYTiny: 12, DYNaN: 8,

		CEClassTargets: 20, CEIgnoreSome: 12, CEIgnoreAll: 6, CEZeroWeights: 10, CESmoothing: 14,
		CEProbTargets: 18, CEProbZeroNegInf: 12, CEProbZeroMass: 8,

		StepClean: 40, StepExtremes: 12, StepUnderflowUnscaled: 12, StepOverflowScaled: 20, StepInf: 8,
		StepNaN: 8,

		StreamCleanRun: 25, StreamAlternating: 20, StreamBurst: 20, StreamOverflowRun: 10, StreamRandom: 25,
	}
}

// needsInf reports whether class c can only be produced in a format with infinities.
func needsInf(c Class) bool {
	switch c {
	case ScalarInf, RowMaskedInf, RowStartsNegInf, RowFullyMasked, RowPosInf, StepInf, CEProbZeroNegInf:
		return true
	}
	return false
}

// classDoc says what each class produces and which bug it is after; DistributionTable prints it.
var classDoc = map[Class]string{
	ScalarZero:            "±0",
	ScalarSmallInt:        "integers in [−16, 16], rounded into the format",
	ScalarLogit:           "k + j/256 with |k| ≤ 20, rounded into the format",
	ScalarMinNormal:       "±MinNormal and its three neighbours each side",
	ScalarSubnormal:       "±subnormals, biased toward the smallest",
	ScalarMaxFinite:       "±MaxFinite and the three values below it",
	ScalarExpThreshold:    "within 4 values of an exp threshold (fp.ExpThresholds), either side",
	ScalarUniformBits:     "an encoding drawn uniformly from all 2^Width (NaN and ±Inf included)",
	ScalarInf:             "±Inf",
	ScalarNaN:             "NaN with a drawn sign and payload, quiet first",
	RowSmallInt:           "integers in [−8, 8]",
	RowLogitLike:          "k + j/256 with |k| ≤ 16: what a model emits",
	RowEqual:              "one value everywhere but at most two positions",
	RowAscending:          "non-decreasing: online softmax's worst case (a max update per element)",
	RowDescending:         "non-increasing: online softmax's best case",
	RowTiny:               "normal values of magnitude ≤ 2^−4 and zeros: every exp ≈ 1",
	RowHuge:               "values from just below the exp overflow threshold up to ±MaxFinite",
	RowMaxFinite:          "±MaxFinite and the three values below it, among logit-like values: sums overflow",
	RowDominant:           "one logit above the others by more than the exp underflow range",
	RowExpThreshold:       "values straddling the format's exp thresholds",
	RowSubnormal:          "subnormals (at least one), with some logit-like values",
	RowMixedMagnitude:     "magnitudes over every binade; spread beyond the exp range",
	RowMaskedInf:          "−Inf masks (padding tail or scattered), at least one finite entry",
	RowMaskedSentinel:     "finite sentinels −1e4, −5e4, −1e9, −1e30, −max and sums of two, rounded into the format",
	RowStartsNegInf:       "first entries −Inf, then finite: NaN in the literal online recurrence",
	RowFullyMasked:        "every entry −Inf",
	RowPosInf:             "a single +Inf (sometimes beside a −Inf)",
	RowNaN:                "one NaN (signed, with payload), sometimes in a masked slot",
	RowUniformBits:        "every encoding uniform over all 2^Width patterns",
	RowLongFlat:           "long rows (≥ 2^p where that is ≤ 2048) of one or two values: accumulation saturates",
	RowEmpty:              "n = 0",
	LenShort:              "1 to 8",
	LenMedium:             "9 to 30",
	LenBlock32:            "31–33, 63–65, 127–129: warp and small block boundaries",
	LenBlock1024:          "1023–1025",
	LenBlock2048:          "2047–2049 and 4096",
	DYOnes:                "every dy = 1",
	DYOneHot:              "1 at one position, 0 elsewhere (the gradient of picking one output)",
	DYLogit:               "k + j/256, |k| ≤ 16",
	DYConstant:            "one value per row: the exact dx is 0, so every nonzero output is error",
	DYHuge:                "large magnitudes: Σ dy·y overflows in narrow accumulators",
	DYTiny:                "subnormals and zeros",
	DYNaN:                 "one NaN",
	CEClassTargets:        "targets in [0, C), default options",
	CEIgnoreSome:          "some targets == IgnoreIndex (−100, −1 or a valid class)",
	CEIgnoreAll:           "every target ignored: mean is 0/0",
	CEZeroWeights:         "class weights with zeros (sometimes all)",
	CESmoothing:           "label smoothing in {0, 0.05, 0.1, 0.2, 0.5, 1}",
	CEProbTargets:         "probability targets: one-hot, uniform or random rows",
	CEProbZeroNegInf:      "zero target mass exactly on −Inf logits: 0·(−Inf) must give 0",
	CEProbZeroMass:        "rows whose target mass is 0",
	StepClean:             "finite, g·S finite and representable",
	StepExtremes:          "−0, subnormals, the largest g with g·S finite: not overflow",
	StepUnderflowUnscaled: "some g below half the scaled format's min subnormal, g·S representable",
	StepOverflowScaled:    "finite g with some g·S at or beyond the overflow threshold",
	StepInf:               "±Inf in one element of one tensor",
	StepNaN:               "NaN in one element of one tensor",
	StreamCleanRun:        "clean steps only: the scale must grow every interval",
	StreamAlternating:     "clean and overflow steps alternate",
	StreamBurst:           "a run of overflow steps, then clean steps",
	StreamOverflowRun:     "overflow or non-finite steps only: the scale's floor",
	StreamRandom:          "each step drawn by the step weights",
	BatchMixed:            "a batch whose rows have different classes (RowClasses says which)",
}

// Doc returns a one-line description of the class ("" for an unknown class).
func (c Class) Doc() string { return classDoc[c] }
