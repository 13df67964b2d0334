// This file implements the verdict of one case: failures, their classes and the report.

package properties

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/ulpcheck/ulpcheck/generators"
)

// A Class is a failure class of NUMERICS §10.
type Class string

// The failure classes.
const (
	ClassOverflow       Class = "overflow"        // ±Inf (or ±max, not declared saturating) where the exact value is finite
	ClassUnderflow      Class = "underflow"       // 0 or a flushed subnormal where the exact value is representable and nonzero
	ClassNaN            Class = "nan"             // NaN where the exact value is not NaN
	ClassNonFiniteLost  Class = "non-finite lost" // a finite value where the exact value is NaN or ±Inf
	ClassPrecision      Class = "precision loss"  // a finite value outside the tolerance
	ClassMasking        Class = "masking"         // not the declared policy for a masked entry or row
	ClassContract       Class = "contract"        // wrong length, modified input, wrote outside, panicked, hung
	ClassIdentity       Class = "identity"        // a mathematical identity (range, sum, metamorphic relation) broken
	ClassHarness        Class = "harness"         // the oracle failed (a bug in ulpcheck, never in the kernel)
	ClassLossScaleState Class = "scaler"          // reserved for the loss-scaler properties
)

// Property names.
const (
	PropContract   = "contract"
	PropAccuracy   = "accuracy"
	PropNoNaN      = "no-nan"
	PropNoInf      = "no-inf"
	PropPropagate  = "propagation"
	PropMasking    = "masking"
	PropRange      = "range"
	PropSumToOne   = "sum-to-one"
	PropShift      = "shift-invariance"
	PropPermute    = "permutation"
	PropBatch      = "batch-independence"
	PropGradFinite = "grad-finite"
	PropExpLog     = "exp-log-softmax"
	PropOracle     = "oracle"
)

// Properties returns every property name.
func Properties() []string {
	return []string{PropContract, PropAccuracy, PropNoNaN, PropNoInf, PropPropagate, PropMasking,
		PropRange, PropSumToOne, PropExpLog, PropShift, PropPermute, PropBatch, PropGradFinite, PropSymmetry,
		PropNormNonfinite, PropClipNorm, PropClipDirection, PropNoAmplify, PropClipOrder}
}

// A Failure is one broken property.
type Failure struct {
	Property string
	Class    Class
	Index    int     // output element, −1 when the failure is not about one element
	Got      float64 // the kernel's output
	Want     float64 // the oracle's correctly rounded value
	Exact    float64 // the nearest float64 to the exact value
	UlpError float64 // |got − exact|/ulp(exact)
	Bound    float64 // the tolerance, in ulps of the exact value
	Message  string
}

func (f Failure) String() string {
	s := fmt.Sprintf("%s [%s]", f.Property, f.Class)
	if f.Index >= 0 {
		s += fmt.Sprintf(" at output %d: got %s, want %s (exact ≈ %.17g), error %.4g ulp, bound %.4g ulp",
			f.Index, hexf(f.Got), hexf(f.Want), f.Exact, f.UlpError, f.Bound)
	}
	if f.Message != "" {
		s += ": " + f.Message
	}
	return s
}

func hexf(v float64) string { return fmt.Sprintf("%g (%x, %#016x)", v, v, math.Float64bits(v)) }

// A Verdict is the judgement of one case.
type Verdict struct {
	Kernel   string
	Case     generators.Case
	Got      []float64 // the kernel's outputs (nil on a contract failure)
	Want     []float64 // the oracle's correctly rounded outputs
	Ulp      []float64 // per output: ulp error against the exact value (0 for matching specials)
	Bound    []float64 // per output: the tolerance in ulps (NaN for special values)
	MaxUlp   float64   // the largest finite Ulp
	Spread   float64   // the largest x_max − x_min over the rows (finite entries)
	Skipped  string    // non-empty: the case does not apply to the kernel, and why
	Failures []Failure

	KernelTime, OracleTime time.Duration // time in the kernel (all calls) and in the oracle
}

// OK reports whether every property held (a skipped case is OK).
func (v *Verdict) OK() bool { return len(v.Failures) == 0 }

// Classes returns the distinct failure classes, in order of first occurrence.
func (v *Verdict) Classes() []Class {
	var cs []Class
	seen := map[Class]bool{}
	for _, f := range v.Failures {
		if !seen[f.Class] {
			seen[f.Class] = true
			cs = append(cs, f.Class)
		}
	}
	return cs
}

func (v *Verdict) fail(f Failure) { v.Failures = append(v.Failures, f) }

// fails reports whether v has recorded a failure of prop.
func (v *Verdict) fails(prop string) bool {
	for i := range v.Failures {
		if v.Failures[i].Property == prop {
			return true
		}
	}
	return false
}

// Report writes the verdict for people: the kernel, the case (replayable, exact hex), the failures
// (first ten), and the outputs next to the oracle's values.
func (v *Verdict) Report() string {
	var b strings.Builder
	fmt.Fprintf(&b, "kernel %s, case %s\n", v.Kernel, v.Case.String())
	if v.Skipped != "" {
		fmt.Fprintf(&b, "skipped: %s\n", v.Skipped)
	}
	for i, f := range v.Failures {
		if i == 10 {
			fmt.Fprintf(&b, "... and %d more failures\n", len(v.Failures)-10)
			break
		}
		fmt.Fprintf(&b, "FAIL %s\n", f)
	}
	if len(v.Got) > 0 && len(v.Got) <= 16 {
		b.WriteString("output: got | oracle | ulp error | bound ulp\n")
		for i := range v.Got {
			fmt.Fprintf(&b, "  [%d] %s | %s | %.4g | %.4g\n", i, hexf(v.Got[i]), hexf(v.Want[i]), v.Ulp[i], v.Bound[i])
		}
	}
	return b.String()
}
