// This file implements Evaluate: every property of one case.

package properties

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/ulpcheck/ulpcheck/fp"
	"github.com/ulpcheck/ulpcheck/generators"
	"github.com/ulpcheck/ulpcheck/kernels"
	"github.com/ulpcheck/ulpcheck/oracle"
)

// An Option configures Check, Fuzz, CaseGen and Evaluate.
type Option func(*config)

type config struct {
	tol         Tolerance
	skip        map[string]bool
	genOpts     []generators.Option
	noMetamorf  bool          // Focus: the metamorphic relations cannot decide the focused property
	outside     string        // an element outside tol: the message, formatted once per config
	onFail      func(Verdict) // tests: sees every failing verdict (the last one is rapid's minimal case)
	noReuse     bool          // tests: the metamorphic variants judge every output again
	noFastJudge bool          // tests: judge without judgeFinite
	firstOnly   bool          // FirstFailures: judge records one failure per property
	reused      *int          // tests: counts the variants' outputs not judged again
}

func newConfig(opts []Option) *config {
	c := &config{tol: Condition(DefaultSafety), skip: map[string]bool{}}
	for _, o := range opts {
		o(c)
	}
	c.outside = fmt.Sprintf("outside the tolerance (%v)", c.tol)
	return c
}

// WithTolerance selects the tolerance model (default Condition(DefaultSafety)).
func WithTolerance(t Tolerance) Option { return func(c *config) { c.tol = t } }

// Skip disables the named properties (Properties lists them).
func Skip(props ...string) Option {
	return func(c *config) {
		for _, p := range props {
			c.skip[p] = true
		}
	}
}

// Focus evaluates only what can decide whether prop fails, for callers that ask one question of
// many cases (a shrinker's predicate: does the case still fail prop, with which class, with what
// largest ulp error). The metamorphic relations — shift, permutation, batch independence,
// symmetry — call the kernel again on transformed inputs and record failures only under their own
// names, under contract (a variant's call failed) and under oracle (the shifted LSE's reference
// failed); a verdict's ulp errors and every other property come from the case's own call. So
// for any other prop, Focus skips the relations, and the verdict's MaxUlp and its failures of
// prop are those of the full evaluation, given a kernel whose outputs depend only on its
// inputs. For those six names Focus changes nothing. The other failures of a focused verdict
// are incomplete: it is not a verdict to report.
func Focus(prop string) Option {
	return func(c *config) {
		switch prop {
		case PropShift, PropPermute, PropBatch, PropSymmetry, PropContract, PropOracle:
			return
		}
		c.noMetamorf = true
	}
}

// FirstFailures makes the judgement of a case's outputs record only the first failure of each
// property, for callers that ask whether a property fails and how, not how often (a shrinker's
// predicate; with a broken kernel most of a long row's outputs fail, and each recorded failure
// is a Failure appended). The verdict's MaxUlp, its per-output results and the first failure of
// every property are unchanged; its Failures are not a verdict to report.
func FirstFailures() Option { return func(c *config) { c.firstOnly = true } }

// WithGenerators passes options to the case generators (generators.MaxLen, generators.MaxRows, …).
func WithGenerators(opts ...generators.Option) Option {
	return func(c *config) { c.genOpts = append(c.genOpts, opts...) }
}

// ArgsOf converts a case to the kernel's call arguments.
func ArgsOf(c generators.Case) *kernels.Args {
	a := argsOf(c)
	return &a
}

func argsOf(c generators.Case) kernels.Args {
	return kernels.Args{
		Rows: c.Rows, Cols: c.Cols, X: c.X, DY: c.DY, Targets: c.Targets, Probs: c.Probs,
		CE:   c.CE, // one type (package loss) for the case, the call and the oracle
		Norm: c.Norm,
	}
}

// argsOf is ArgsOf in the scratch when k declares Returns (no call of k outlives Call).
func (sc *scratch) argsOf(k *kernels.Kernel, c generators.Case) *kernels.Args {
	if !k.Returns {
		return ArgsOf(c)
	}
	sc.args = argsOf(c)
	return &sc.args
}

// Exact returns the oracle's values for the kernel's operation on a, in the kernel's output
// format, under its masking policy.
func Exact(k *kernels.Kernel, a *kernels.Args) ([]oracle.Value, error) {
	if kernels.IsElementwise(k.Op) {
		return exactElementwise(k, a)
	}
	if kernels.IsGradNorm(k.Op) {
		return exactGradNorm(k, a)
	}
	f := k.OutFormat()
	o := a.CE
	switch k.Op {
	case kernels.OpSoftmax:
		return oracle.SoftmaxBatch(f, a.X, a.Rows, a.Cols, k.Mask)
	case kernels.OpLogSoftmax:
		return oracle.LogSoftmaxBatch(f, a.X, a.Rows, a.Cols, k.Mask)
	case kernels.OpLSE:
		return oracle.LSEBatch(f, a.X, a.Rows, a.Cols)
	case kernels.OpSoftmaxBackward:
		return oracle.SoftmaxBackward(f, a.X, a.DY, a.Rows, a.Cols, k.Mask)
	case kernels.OpCrossEntropy:
		if a.Probs != nil {
			return oracle.CrossEntropyProb(f, a.X, a.Probs, a.Rows, a.Cols, o)
		}
		return oracle.CrossEntropy(f, a.X, a.Rows, a.Cols, a.Targets, o)
	case kernels.OpCrossEntropyGrad:
		if a.Probs != nil {
			return oracle.CrossEntropyProbGrad(f, a.X, a.Probs, a.Rows, a.Cols, o)
		}
		return oracle.CrossEntropyGrad(f, a.X, a.Rows, a.Cols, a.Targets, o)
	}
	return nil, fmt.Errorf("properties: unknown operation %v", k.Op)
}

// applies returns why the case does not apply to k, or "".
func applies(k *kernels.Kernel, c generators.Case) string {
	switch k.Op {
	case kernels.OpSoftmaxBackward:
		if len(c.DY) != c.Rows*c.Cols {
			return "no upstream gradient"
		}
	case kernels.OpCrossEntropy, kernels.OpCrossEntropyGrad:
		if k.ProbTargets != (c.Probs != nil) || (!k.ProbTargets && c.Targets == nil) {
			return "target kind"
		}
		if !k.Supports(c.CE.Reduction) {
			return "reduction"
		}
		if why := rowLossUnrepresentable(k, c); why != "" {
			return why
		}
	}
	if c.Format != k.In {
		return fmt.Sprintf("case format %v, kernel input %v", c.Format, k.In)
	}
	return ""
}

// rowLossUnrepresentable says why a row cross-entropy adapter (kernels.CrossEntropy) cannot be
// judged on c, or "": such a kernel returns each row's loss in its storage format, so a row loss
// past the format's overflow threshold reaches the adapter as +Inf even where the weighted or
// reduced result the oracle computes is finite (fp16: the row [−65504, 65504] with target 0 has
// loss 131008, a mean with a zero-loss row 65504). That is a limit of the signature, not a defect
// of the kernel, so such cases are not judged through it; batch kernels see them all.
func rowLossUnrepresentable(k *kernels.Kernel, c generators.Case) string {
	if k.Op != kernels.OpCrossEntropy || k.Batch || c.Targets == nil {
		return ""
	}
	out := k.OutFormat()
	o := c.CE
	for r, t := range c.Targets {
		if t == o.IgnoreIndex || t < 0 || t >= c.Cols {
			continue
		}
		w := 1.0
		if o.Weights != nil {
			w = o.Weights[t]
		}
		x := c.X[r*c.Cols : (r+1)*c.Cols]
		st := statsOf(x)
		if w == 0 || !st.finite || math.IsInf(x[t], -1) {
			continue // contributes 0, or a NaN or +Inf row loss that the storage holds
		}
		l := st.lseMinus(x[t]) // +Inf here only where float64 overflows: then so does out
		if y, _ := out.RoundFloat64(l); !math.IsInf(y, 0) {
			continue
		}
		// w·ℓ without overflowing float64 first: w·x_max − w·x_t + w·log1p(s).
		wl := mulDiff(math.Abs(w), st.xmax, x[t]) + math.Abs(w)*math.Log1p(st.s)
		if y, _ := out.RoundFloat64(wl); o.Reduction == generators.ReduceNone && math.IsInf(y, 0) {
			continue // the weighted row loss overflows too: +Inf is the right answer
		}
		return fmt.Sprintf("row %d's loss ≈ %.6g overflows %v, the storage of a row adapter's loss", r, l, out)
	}
	return ""
}

// Evaluate runs every applicable property of k on the case c and returns the verdict. It calls
// the kernel once for the case and once for each metamorphic variant (shift, permutation, rows
// alone), and the oracle once for the case (and for the LSE shift variant).
func Evaluate(ctx context.Context, k *kernels.Kernel, c generators.Case, opts ...Option) Verdict {
	cfg := newConfig(opts)
	return evaluate(ctx, k, c, cfg)
}

// An Evaluator is Evaluate with its options applied once: a loop that judges many cases under
// the same options (a campaign's worker, a shrink predicate) makes one and calls its Evaluate,
// which gives Evaluate's verdicts without building the configuration for every case. It holds
// no state between calls; goroutines may share one.
type Evaluator struct{ cfg *config }

// NewEvaluator returns the Evaluator of the options.
func NewEvaluator(opts ...Option) *Evaluator { return &Evaluator{newConfig(opts)} }

// Evaluate is Evaluate(ctx, k, c, opts...) for the Evaluator's options.
func (e *Evaluator) Evaluate(ctx context.Context, k *kernels.Kernel, c generators.Case) Verdict {
	return evaluate(ctx, k, c, e.cfg)
}

func evaluate(ctx context.Context, k *kernels.Kernel, c generators.Case, cfg *config) Verdict {
	if kernels.IsElementwise(k.Op) {
		return evaluateElementwise(ctx, k, c, cfg)
	}
	if kernels.IsGradNorm(k.Op) {
		return evaluateGradNorm(ctx, k, c, cfg)
	}
	v := Verdict{Kernel: k.Name, Case: c}
	if why := applies(k, c); why != "" {
		v.Skipped = why
		return v
	}
	sc := getScratch()
	defer scratchPool.Put(sc)
	a := sc.argsOf(k, c)
	sc.ranges = slices.Grow(sc.ranges[:0], c.Rows)
	for r := 0; r < c.Rows; r++ {
		sc.ranges = append(sc.ranges, rangeOf(a.X[r*c.Cols:(r+1)*c.Cols]))
		v.Spread = math.Max(v.Spread, sc.ranges[r].spread())
	}
	t0 := time.Now()
	got, err := k.Call(ctx, a)
	v.KernelTime += time.Since(t0)
	if err != nil {
		if errors.Is(err, kernels.ErrUnsupported) {
			v.Skipped = err.Error()
			return v
		}
		if ctx.Err() != nil {
			v.Skipped = ctx.Err().Error()
			return v
		}
		v.fail(Failure{Property: PropContract, Class: ClassContract, Index: -1, Message: err.Error()})
		return v
	}
	t0 = time.Now()
	ex, err := exactInto(sc.ex[:0], k, a)
	v.OracleTime += time.Since(t0)
	if err != nil {
		v.fail(Failure{Property: PropOracle, Class: ClassHarness, Index: -1, Message: err.Error()})
		return v
	}
	sc.ex = ex
	approx := v.setResults(got, ex)
	tol := tolerancesInto(sc.tol[:0], cfg.tol, k, a, approx, sc.ranges)
	sc.tol = tol
	masked := rowFlagsInto(sc.flags[:0], k, a, got)
	sc.flags = masked
	for i := range got {
		v.Ulp[i], v.Bound[i] = judge(&v, k, a, masked, i, got[i], ex[i], tol[i], cfg)
		if !math.IsInf(v.Ulp[i], 0) && !math.IsNaN(v.Ulp[i]) {
			v.MaxUlp = math.Max(v.MaxUlp, v.Ulp[i])
		}
	}
	var o *judged
	if len(v.Failures) == 0 && !cfg.noReuse {
		o = &judged{a: a, got: got, tol: tol, flags: masked, anyMasked: anyMasked(masked)}
	}
	identities(&v, k, a, got, ex, tol, sc.ranges, cfg)
	if !cfg.noMetamorf {
		metamorphic(ctx, &v, k, a, ex, tol, o, sc, cfg)
	}
	return v
}

// A scratch holds the buffers of one evaluation that do not outlive it, between evaluations:
// the exact values (for softmax and log-softmax), the case's tolerances and row flags, and those
// of its metamorphic variants, which are judged one after the other.
type scratch struct {
	ex             []oracle.Value
	tol, vtol, vap []float64
	flags, vflags  []rowFlag
	ranges         []rowStats // rangeOf of each row of the case

	// The case's and the variants' arguments, for kernels that declare Returns (see cloneArgs),
	// and the variants' outputs.
	args  kernels.Args
	vargs argsCopy
	vout  []float64
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

func getScratch() *scratch { return scratchPool.Get().(*scratch) }

// exactInto is Exact, with the softmax and log-softmax values appended to dst (the other
// operations allocate theirs).
func exactInto(dst []oracle.Value, k *kernels.Kernel, a *kernels.Args) ([]oracle.Value, error) {
	switch k.Op {
	case kernels.OpSoftmax:
		return oracle.AppendSoftmaxBatch(dst, k.OutFormat(), a.X, a.Rows, a.Cols, k.Mask)
	case kernels.OpLogSoftmax:
		return oracle.AppendLogSoftmaxBatch(dst, k.OutFormat(), a.X, a.Rows, a.Cols, k.Mask)
	}
	return Exact(k, a)
}

// setResults sets v.Got to got and v.Want to the exact values' roundings, makes v.Ulp and
// v.Bound for the judge, and returns the exact values' float64 approximations: one allocation
// for the four.
func (v *Verdict) setResults(got []float64, ex []oracle.Value) (approx []float64) {
	nx, ng := len(ex), len(got)
	buf := make([]float64, 2*nx+2*ng)
	v.Got = got
	v.Want, buf = buf[:nx:nx], buf[nx:]
	approx, buf = buf[:nx:nx], buf[nx:]
	v.Ulp, v.Bound = buf[:ng:ng], buf[ng:]
	for i, e := range ex {
		v.Want[i] = e.Rounded
		approx[i] = e.Float64()
	}
	return approx
}

// A rowFlag describes one input row for the classification of its outputs.
type rowFlag struct {
	masked  bool // fully masked: not empty, every entry −Inf
	allZero bool // softmax: every output 0, the signature of a normalising sum that overflowed (w/Inf)
}

// rowFlagsInto computes the rowFlag of every row of a, given the kernel's outputs, in dst's
// storage when it has the room.
func rowFlagsInto(dst []rowFlag, k *kernels.Kernel, a *kernels.Args, got []float64) []rowFlag {
	m := slices.Grow(dst[:0], a.Rows)[:a.Rows]
	clear(m)
	for r := range m {
		m[r].masked = a.Cols > 0
		for _, x := range a.X[r*a.Cols : (r+1)*a.Cols] {
			if !math.IsInf(x, -1) {
				m[r].masked = false
				break
			}
		}
		if k.Op == kernels.OpSoftmax && a.Cols > 0 && len(got) == a.Rows*a.Cols {
			m[r].allZero = true
			for _, y := range got[r*a.Cols : (r+1)*a.Cols] {
				if y != 0 {
					m[r].allZero = false
					break
				}
			}
		}
	}
	return m
}

// anyMasked reports whether a row of flags is fully masked.
func anyMasked(flags []rowFlag) bool {
	for _, f := range flags {
		if f.masked {
			return true
		}
	}
	return false
}

// rowOf returns the input row an output element belongs to, or −1.
func rowOf(k *kernels.Kernel, a *kernels.Args, i int) int {
	switch k.Op {
	case kernels.OpLSE:
		return i
	case kernels.OpCrossEntropy:
		if a.CE.Reduction == kernels.ReduceNone {
			return i
		}
		return -1
	}
	if a.Cols == 0 {
		return -1
	}
	return i / a.Cols
}

func isGrad(k *kernels.Kernel) bool {
	return k.Op == kernels.OpSoftmaxBackward || k.Op == kernels.OpCrossEntropyGrad
}

// measureSlack is the uncertainty of a measured ulp error: the oracle holds the exact value to a
// relative 2^−(p+20), that is 2^−19 ulp at most, and e.Float64() is that approximation rounded to
// float64. An element fails only when its error exceeds the bound by more than this, so that an
// output exactly at the bound (a correctly rounded tie, a kernel on its worst case) is not
// failed on measurement noise.
const measureSlack = 0x1p-18

// ulpError is e.UlpError(got) for finite got and a finite exact value. For outputs of at most 24
// bits of precision it is computed in float64 from e.Float64(), whose error is within
// measureSlack, except next to a power of two, where the binade could differ: there, and for
// wider formats, it uses the oracle's measure.
func ulpError(out fp.Format, e oracle.Value, got float64) float64 {
	y := e.Float64()
	return ulpErrorAt(out, e, got, y, out.Ulp(y))
}

// ulpErrorAt is ulpError with y = e.Float64() and ulp = out.Ulp(y) given.
func ulpErrorAt(out fp.Format, e oracle.Value, got, y, ulp float64) float64 {
	if out.Precision() > 24 || math.IsInf(y, 0) {
		return e.UlpError(got)
	}
	if powerOfTwo(y) {
		// An exact value that is the power of two y itself (softmax 1/n of n equal logits, a
		// common case) with got − y exact in float64: UlpError's 64-bit difference is that
		// float64 and its scaling by ulp(y) exact, so the float64 quotient is its result.
		if d := got - y; e.Flag == fp.Exact && y == e.Rounded && exactSum(got, -y, d) {
			return math.Abs(d) / ulp
		}
		return e.UlpError(got)
	}
	return math.Abs(got-y) / ulp
}

// powerOfTwo reports whether the finite y is ±2^k (math.Frexp's fraction ±½), from the bits
// where y is normal.
func powerOfTwo(y float64) bool {
	b := math.Float64bits(y)
	if b>>52&0x7ff != 0 {
		return b&(1<<52-1) == 0
	}
	m, _ := math.Frexp(y)
	return m == 0.5 || m == -0.5
}

// judgeFinite is judge's last case, on its own, for an element that passes it: a finite output
// against a finite exact value, neither a masked entry nor a saturated overflow. It returns judge's
// results and true when judge would reach that case and record nothing, and false otherwise (then
// judge decides, as without it). Most elements pass, and judge's general path prepares the
// failure it might record for every one of them.
func judgeFinite(k *kernels.Kernel, a *kernels.Args, i int, got float64, e oracle.Value, tol float64, cfg *config) (float64, float64, bool) {
	if cfg.noFastJudge || e.IsNaN() || math.IsNaN(got) || math.IsInf(got, 0) || math.IsInf(e.Rounded, 0) {
		return 0, 0, false
	}
	out := k.OutFormat()
	if k.Saturating && math.Abs(e.Rounded) == out.MaxFinite() && e.Flag == fp.Overflow ||
		(k.Op == kernels.OpSoftmax || k.Op == kernels.OpLogSoftmax) && i < len(a.X) && math.IsInf(a.X[i], -1) {
		return 0, 0, false
	}
	y := e.Float64()
	ulp := out.Ulp(y)
	u := ulpErrorAt(out, e, got, y, ulp)
	b := tol / ulp
	if maxf := out.MaxFinite(); !k.Saturating && math.Abs(got) == maxf && math.Abs(e.Rounded) != maxf && u > b+measureSlack {
		return 0, 0, false
	}
	if u <= b+measureSlack || k.FlushToZero && got == 0 && math.Abs(y) < out.MinNormal() {
		return u, b, true
	}
	return 0, 0, false
}

// maskedAt reports whether output i belongs to a fully masked row, as judge classifies it (the
// cross-entropy loss and gradient judge such rows as any other).
func maskedAt(k *kernels.Kernel, a *kernels.Args, flags []rowFlag, i int) bool {
	r := rowOf(k, a, i)
	return r >= 0 && r < len(flags) && flags[r].masked && k.Op != kernels.OpCrossEntropy && k.Op != kernels.OpCrossEntropyGrad
}

// judge checks one output element against the exact value and returns its ulp error and bound.
func judge(v *Verdict, k *kernels.Kernel, a *kernels.Args, flags []rowFlag, i int, got float64, e oracle.Value, tol float64, cfg *config) (float64, float64) {
	out := k.OutFormat()
	if u, b, ok := judgeFinite(k, a, i, got, e, tol, cfg); ok {
		return u, b
	}
	f := Failure{Index: i, Got: got, Want: e.Rounded, Exact: e.Float64(), Bound: math.NaN()}
	r := rowOf(k, a, i)
	masked := maskedAt(k, a, flags, i)
	report := func(prop string, cl Class, msg string) (float64, float64) {
		if masked {
			prop, cl = PropMasking, ClassMasking
			msg = fmt.Sprintf("fully masked row %d, declared policy %v: %s", r, k.Mask, msg)
		}
		if isGrad(k) && (cl == ClassNaN || cl == ClassOverflow) {
			prop = PropGradFinite
		}
		f.Property, f.Class, f.Message = prop, cl, msg
		if !cfg.skip[prop] && !(cfg.firstOnly && v.fails(prop)) {
			v.fail(f)
		}
		return f.UlpError, f.Bound
	}
	// Masked entries (−Inf in a row with finite entries) get exactly 0 weight.
	if (k.Op == kernels.OpSoftmax || k.Op == kernels.OpLogSoftmax) && math.IsInf(a.X[i], -1) && !e.IsNaN() && !masked {
		want := 0.0
		if k.Op == kernels.OpLogSoftmax {
			want = math.Inf(-1)
		}
		if got != want {
			f.UlpError = math.Inf(1)
			return report(PropMasking, ClassMasking, fmt.Sprintf("masked entry (x = −Inf) must give exactly %g", want))
		}
		return 0, math.NaN()
	}
	switch {
	case e.IsNaN():
		if math.IsNaN(got) {
			return 0, math.NaN()
		}
		f.UlpError = math.Inf(1)
		return report(PropPropagate, ClassNonFiniteLost, "the exact value is NaN")
	case math.IsNaN(got):
		f.UlpError = math.Inf(1)
		return report(PropNoNaN, ClassNaN, "NaN where the exact value is not")
	case math.IsInf(e.Rounded, 0) || (k.Saturating && math.Abs(e.Rounded) == out.MaxFinite() && e.Flag == fp.Overflow):
		if got == e.Rounded || (k.Saturating && got == math.Copysign(out.MaxFinite(), e.Rounded)) {
			return 0, math.NaN()
		}
		f.UlpError = e.UlpError(got)
		x := e.Exact()
		if x != nil && x.IsInf() {
			return report(PropPropagate, ClassNonFiniteLost, "the exact value is infinite")
		}
		// A finite exact value at or just past the overflow boundary T = max + ½ulp(max) rounds
		// to ±Inf, but a kernel within its tolerance may land below T and return a finite value
		// (±max, say): the mirror of ±Inf for an exact value just below T, judged in the next case.
		if x != nil && !math.IsInf(got, 0) && math.Signbit(got) == x.Signbit() && !math.IsNaN(tol) {
			f.Bound = math.Ldexp(tol, -out.UlpExp(x))
			if f.UlpError <= f.Bound+measureSlack {
				return f.UlpError, f.Bound
			}
		}
		return report(PropAccuracy, ClassPrecision, "the exact value overflows the format")
	case math.IsInf(got, 0):
		// ±Inf is what any value at or beyond the overflow boundary T = max + ½ulp(max) rounds
		// to: when the tolerance reaches T from the exact value (same sign), a result within the
		// tolerance may round to ±Inf. It is judged as T, the smallest such value.
		if y := e.Float64(); math.Signbit(got) == math.Signbit(y) && !math.IsNaN(tol) {
			maxf := out.MaxFinite()
			half := 0.5 * out.Ulp(maxf)
			t := maxf + half
			d := t - math.Abs(y)
			if math.IsInf(t, 0) {
				// fp64's T is no float64 (max + ½ulp rounds to +Inf, a tie to even): the
				// distance is summed from max − |y| instead.
				d = maxf - math.Abs(y) + half
			}
			if d <= tol {
				ulp := out.Ulp(y)
				return d / ulp, tol / ulp
			}
		}
		f.UlpError = math.Inf(1)
		return report(PropNoInf, ClassOverflow, "±Inf where the exact value is finite")
	}
	ulp := out.Ulp(e.Float64())
	f.UlpError = ulpError(out, e, got)
	f.Bound = tol / ulp
	if !k.Saturating && math.Abs(got) == out.MaxFinite() && math.Abs(e.Rounded) != out.MaxFinite() && f.UlpError > f.Bound+measureSlack {
		return report(PropNoInf, ClassOverflow, "±max (not declared saturating) where the exact value is smaller")
	}
	if k.FlushToZero && got == 0 && math.Abs(e.Float64()) < out.MinNormal() {
		return f.UlpError, f.Bound
	}
	if f.UlpError <= f.Bound+measureSlack {
		return f.UlpError, f.Bound
	}
	if got == 0 && r >= 0 && r < len(flags) && flags[r].allZero && math.Abs(e.Rounded) >= out.MinNormal() {
		// A softmax row of zeros whose exact values sum to 1 is w/Σ with Σ = +Inf.
		return report(PropAccuracy, ClassOverflow, "every output of the row is 0: the normalising sum overflowed")
	}
	if e.Rounded != 0 && (got == 0 || (math.Abs(got) < out.MinNormal() && math.Abs(e.Rounded) >= out.MinNormal())) {
		return report(PropAccuracy, ClassUnderflow, "flushed where the exact value is representable")
	}
	return report(PropAccuracy, ClassPrecision, cfg.outside)
}
