// This file implements the kernel declaration and the checked call.

package kernels

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/ulpcheck/ulpcheck/fp"
	"github.com/ulpcheck/ulpcheck/loss"
)

// An Op is the operation a kernel computes.
type Op uint8

// The operations. Output shapes: rows×cols for the row-wise maps and gradients, rows for LSE,
// rows (ReduceNone) or 1 for cross-entropy.
const (
	OpSoftmax           Op = iota + 1 // softmax(x) per row
	OpLogSoftmax                      // log softmax(x) per row
	OpLSE                             // log Σ exp(x) per row
	OpCrossEntropy                    // PyTorch F.cross_entropy (NUMERICS §8)
	OpSoftmaxBackward                 // dx = y⊙(dy − Σ_j dy_j y_j), y = softmax(x)
	OpCrossEntropyGrad                // ∂ cross-entropy / ∂ logits
	OpSoftplus                        // F.softplus(x) elementwise, beta 1, threshold 20 (sigmoid.go)
	OpLogSigmoid                      // F.logsigmoid(x) elementwise
	OpSigmoid                         // torch.sigmoid(x) elementwise
	OpSigmoidGrad                     // σ'(x) = σ(x)σ(−x) elementwise
	OpBCEWithLogits                   // F.binary_cross_entropy_with_logits (Args.Probs are the targets)
	OpBCEWithLogitsGrad               // ∂ BCE with logits / ∂ logits
	OpGradNorm                        // total p-norm of a list of tensors (gradnorm.go)
	OpClipGradNorm                    // clip_grad_norm_: the clipped tensors
	OpClipGradValue                   // clip_grad_value_: the clamped tensors
)

var opNames = map[Op]string{
	OpSoftmax: "softmax", OpLogSoftmax: "logsoftmax", OpLSE: "lse", OpCrossEntropy: "ce",
	OpSoftmaxBackward: "softmaxbwd", OpCrossEntropyGrad: "cegrad",
}

// Ops returns every operation.
func Ops() []Op {
	return append([]Op{OpSoftmax, OpLogSoftmax, OpLSE, OpCrossEntropy, OpSoftmaxBackward, OpCrossEntropyGrad}, append(sigmoidOps, gradnormOps...)...)
}

// String returns the short name used in kernel names and on command lines ("softmax", "ce", …).
func (o Op) String() string {
	if s, ok := opNames[o]; ok {
		return s
	}
	return fmt.Sprintf("Op(%d)", uint8(o))
}

// ParseOp parses an operation name as String writes it.
func ParseOp(s string) (Op, error) {
	for o, n := range opNames {
		if strings.EqualFold(s, n) {
			return o, nil
		}
	}
	return 0, fmt.Errorf("kernels: unknown operation %q", s)
}

// An Algorithm is the algorithm class a kernel declares; it selects the error bound of the
// condition-aware tolerance (NUMERICS §3, §4).
type Algorithm uint8

// The algorithm classes.
const (
	AlgShifted   Algorithm = iota // max-shifted two pass (Blanchard, Higham & Higham 2021, Alg. 4.1); the default
	AlgUnshifted                  // exp, sum, divide without a shift (Thm 3.2, 3.3)
	AlgExpLSE                     // softmax as exp(x − LSE(x)) (Thm 4.4)
	AlgOnline                     // online single pass (Milakov & Gimelshein 2018)
)

var algNames = map[Algorithm]string{AlgShifted: "shifted", AlgUnshifted: "unshifted", AlgExpLSE: "explse", AlgOnline: "online"}

// String returns the algorithm's name.
func (a Algorithm) String() string {
	if s, ok := algNames[a]; ok {
		return s
	}
	return fmt.Sprintf("Algorithm(%d)", uint8(a))
}

// ParseAlgorithm parses an algorithm name as String writes it.
func ParseAlgorithm(s string) (Algorithm, error) {
	for a, n := range algNames {
		if strings.EqualFold(s, n) {
			return a, nil
		}
	}
	return 0, fmt.Errorf("kernels: unknown algorithm %q", s)
}

// Reduction is the reduction of a loss over a batch (defined once in package loss).
type Reduction = loss.Reduction

// The reductions; PyTorch's default is the mean.
const (
	ReduceMean = loss.ReduceMean
	ReduceSum  = loss.ReduceSum
	ReduceNone = loss.ReduceNone
)

// CEOptions are PyTorch F.cross_entropy's options (NUMERICS §8; defined once in package loss).
type CEOptions = loss.CEOptions

// DefaultCEOptions returns PyTorch's defaults: ignore index −100, mean, no weights, no smoothing.
func DefaultCEOptions() CEOptions { return loss.DefaultCEOptions() }

// Args are the inputs of one call in the harness's representation: every float is a float64 that
// is exactly a member of the kernel's input format.
type Args struct {
	Rows, Cols int
	X          []float64   // Rows×Cols row-major logits
	DY         []float64   // Rows×Cols upstream gradient (OpSoftmaxBackward)
	Targets    []int       // Rows class targets (cross-entropy with class targets)
	Probs      []float64   // Rows×Cols probability targets (Kernel.ProbTargets)
	CE         CEOptions   // cross-entropy options
	Norm       NormOptions // gradient-norm options (gradnorm.go); the tensors are the rows of X

	// Dst, when its capacity holds the outputs, is where a kernel may write them: it then
	// returns Dst[:n] instead of a new slice (the bundled kernels do; other kernels may ignore
	// Dst). A caller that sets it owns the outputs only until it reuses Dst; the harness sets it
	// only for kernels that declare Returns, whose calls cannot outlive Call.
	Dst []float64
}

// Func is the harness-level calling convention of a kernel: it returns the outputs as float64
// values that must be members of the kernel's output format. It must not modify a (a.Dst's
// elements excepted, see Args).
type Func func(ctx context.Context, a *Args) ([]float64, error)

// DefaultTimeout is the per-call timeout of a kernel that declares none.
var DefaultTimeout = 10 * time.Second

// A Kernel is a kernel's declaration and its function. The zero values of the declaration fields
// are the defaults: shifted algorithm, NaN for fully masked rows, no saturation, no flush to
// zero, accumulation in Out (FP32 when Out is narrower than FP32).
type Kernel struct {
	Name        string
	Op          Op
	In, Out     fp.Format     // storage formats; a zero Out means In
	Acc         fp.Format     // accumulation format; zero: see AccFormat
	Algorithm   Algorithm     // algorithm class for the condition-aware tolerance
	Mask        fp.MaskPolicy // fully-masked-row policy (NUMERICS §5)
	Saturating  bool          // overflow gives ±MaxFinite instead of ±Inf
	FlushToZero bool          // subnormal outputs may be flushed to zero
	ProbTargets bool          // cross-entropy with probability targets (Args.Probs) instead of classes
	Batch       bool          // Fn computes whole batches natively (else rows one at a time)
	CEModes     []Reduction   // reductions supported; nil means all three
	Broken      string        // non-empty: deliberately broken and expected to fail, and why
	Doc         string        // the algorithm and its bound
	Timeout     time.Duration // per call; 0 means DefaultTimeout
	Returns     bool          // Fn always returns (bounded loops, no waits): Call runs it inline
	Fn          Func
}

// OutFormat returns Out, or In when Out is zero.
func (k *Kernel) OutFormat() fp.Format {
	if k.Out.Valid() {
		return k.Out
	}
	return k.In
}

// AccFormat returns the accumulation format: Acc if declared, else FP32 for outputs narrower
// than FP32 (fp16, bf16, fp8 storage with fp32 accumulation, the common case) and Out otherwise.
func (k *Kernel) AccFormat() fp.Format {
	if k.Acc.Valid() {
		return k.Acc
	}
	out := k.OutFormat()
	if out.Precision() < fp.FP32.Precision() {
		return fp.FP32
	}
	return out
}

// Supports reports whether the kernel accepts the reduction r (always true outside cross-entropy).
func (k *Kernel) Supports(r Reduction) bool {
	if k.CEModes == nil {
		return true
	}
	for _, m := range k.CEModes {
		if m == r {
			return true
		}
	}
	return false
}

// String returns the kernel's name and declaration in one line.
func (k *Kernel) String() string {
	s := fmt.Sprintf("%s (%s, %s→%s, acc %s, %s, mask %s", k.Name, k.Op, k.In, k.OutFormat(), k.AccFormat(), k.Algorithm, k.Mask)
	if k.Saturating {
		s += ", saturating"
	}
	if k.FlushToZero {
		s += ", ftz"
	}
	if k.Broken != "" {
		s += ", broken"
	}
	return s + ")"
}

// Validate reports an inconsistent declaration.
func (k *Kernel) Validate() error {
	switch {
	case k.Name == "":
		return errors.New("kernels: kernel without a name")
	case opNames[k.Op] == "":
		return fmt.Errorf("kernels: %s: invalid operation %d", k.Name, k.Op)
	case !k.In.Valid():
		return fmt.Errorf("kernels: %s: invalid input format", k.Name)
	case k.Fn == nil:
		return fmt.Errorf("kernels: %s: nil Fn", k.Name)
	case k.ProbTargets && k.Op != OpCrossEntropy && k.Op != OpCrossEntropyGrad:
		return fmt.Errorf("kernels: %s: ProbTargets on %s", k.Name, k.Op)
	}
	return nil
}

// OutLen returns the number of outputs a call with a must return.
func (k *Kernel) OutLen(a *Args) int {
	switch k.Op {
	case OpLSE:
		return a.Rows
	case OpCrossEntropy:
		if a.CE.Reduction == ReduceNone {
			return a.Rows
		}
		return 1
	case OpBCEWithLogits:
		if a.CE.Reduction == ReduceNone {
			return a.Rows * a.Cols
		}
		return 1
	case OpGradNorm:
		return 1
	}
	return a.Rows * a.Cols
}

// ErrUnsupported is wrapped by errors a kernel returns for inputs it declines (a shape, a
// reduction, an option it does not implement). Properties skip such cases; they are no failure.
var ErrUnsupported = errors.New("kernels: unsupported case")

// ContractKind is the kind of contract a call broke.
type ContractKind uint8

// The contract kinds.
const (
	ContractLength        ContractKind = iota + 1 // wrong output length
	ContractInputModified                         // an input slice changed
	ContractOutOfBounds                           // wrote into a guard cell outside the output
	ContractPanic                                 // panicked
	ContractTimeout                               // did not return within its timeout
	ContractNotMember                             // an output is not a value of the output format
	ContractReturnedError                         // returned an error on a supported case
)

var contractNames = map[ContractKind]string{
	ContractLength: "wrong output length", ContractInputModified: "modified its input",
	ContractOutOfBounds: "wrote outside its output", ContractPanic: "panicked",
	ContractTimeout: "timed out", ContractNotMember: "output not in format",
	ContractReturnedError: "returned an error",
}

// String describes the kind.
func (c ContractKind) String() string {
	if s, ok := contractNames[c]; ok {
		return s
	}
	return fmt.Sprintf("ContractKind(%d)", uint8(c))
}

// A ContractError reports a broken call contract.
type ContractError struct {
	Kernel string
	Kind   ContractKind
	Index  int    // offending element, −1 when none
	Detail string // what was seen
	Stack  []byte // the goroutine's stack, for panics
	Err    error  // the kernel's own error, for ContractReturnedError
}

func (e *ContractError) Error() string {
	s := fmt.Sprintf("kernels: %s %s", e.Kernel, e.Kind)
	if e.Index >= 0 {
		s += fmt.Sprintf(" at element %d", e.Index)
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Unwrap returns the kernel's own error, if any.
func (e *ContractError) Unwrap() error { return e.Err }

// Call runs the kernel once on a and checks the call's contract. It returns the outputs, or a
// *ContractError, or an error wrapping ErrUnsupported when the kernel declines the case, or the
// context's error when ctx ends first.
//
// A kernel that may hang runs on a runner goroutine that lives across calls (runner.go), not on
// a goroutine and a timer made for it: the caller waits for the result under the runner's
// watchdog timer, which only acts on a hang. A call that times out, or whose ctx ends first,
// abandons its runner: the context the kernel sees is cancelled, and the runner's goroutine keeps
// running until the kernel returns (Go cannot kill it); the external-process adapter is the
// robust option for kernels that may hang. A kernel that declares Returns (every bundled kernel)
// runs on the caller's goroutine instead, which saves the two goroutine hand-offs of a runner;
// a call that took longer than its timeout is still a timeout.
func (k *Kernel) Call(ctx context.Context, a *Args) ([]float64, error) {
	timeout := k.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	var (
		out   []float64
		err   error
		saved *Args
	)
	if k.Returns {
		sv := getSaved()
		defer savedPool.Put(sv)
		save(sv, a)
		t0 := time.Now()
		out, err = k.callHere(ctx, a)
		if d := time.Since(t0); d > timeout {
			return nil, &ContractError{Kernel: k.Name, Kind: ContractTimeout, Index: -1, Detail: fmt.Sprintf("returned after %v, past its timeout of %v", d, timeout)}
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		saved = sv
	} else {
		r := getRunner()
		save(&r.saved, a)
		var ok bool
		out, err, ok = r.call(ctx, k, a, timeout)
		if !ok {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, &ContractError{Kernel: k.Name, Kind: ContractTimeout, Index: -1, Detail: fmt.Sprintf("no result after %v (its goroutine leaks)", timeout)}
		}
		defer putRunner(r)
		saved = &r.saved
	}
	if err != nil {
		var ce *ContractError
		switch {
		case errors.As(err, &ce), errors.Is(err, ErrUnsupported):
			return nil, err
		}
		return nil, &ContractError{Kernel: k.Name, Kind: ContractReturnedError, Index: -1, Detail: err.Error(), Err: err}
	}
	if i, ok := sameArgs(*saved, a); !ok {
		return nil, &ContractError{Kernel: k.Name, Kind: ContractInputModified, Index: i, Detail: "an input slice differs bitwise after the call"}
	}
	if n := k.OutLen(a); len(out) != n {
		return nil, &ContractError{Kernel: k.Name, Kind: ContractLength, Index: -1, Detail: fmt.Sprintf("%d outputs, want %d", len(out), n)}
	}
	of := k.OutFormat()
	for i, v := range out {
		if !of.Contains(v) {
			return nil, &ContractError{Kernel: k.Name, Kind: ContractNotMember, Index: i, Detail: fmt.Sprintf("%g (%#016x) is not a value of %s", v, math.Float64bits(v), of)}
		}
	}
	return out, nil
}

// sameArgs compares the saved copy with a bitwise and returns the first differing index.
func sameArgs(s Args, a *Args) (int, bool) {
	for _, p := range [][2][]float64{{s.X, a.X}, {s.DY, a.DY}, {s.Probs, a.Probs}, {s.CE.Weights, a.CE.Weights}} {
		if i, ok := sameBits(p[0], p[1]); !ok {
			return i, false
		}
	}
	if len(s.Targets) != len(a.Targets) {
		return -1, false
	}
	for i := range s.Targets {
		if s.Targets[i] != a.Targets[i] {
			return i, false
		}
	}
	return -1, s.Rows == a.Rows && s.Cols == a.Cols
}

func sameBits(a, b []float64) (int, bool) {
	if len(a) != len(b) {
		return -1, false
	}
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			return i, false
		}
	}
	return -1, true
}
