// This file implements the adapters from plain Go functions to Kernels.

package kernels

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/x448/float16"

	"github.com/ulpcheck/ulpcheck/fp"
)

// Elem is the element type of a native kernel: float32 (FP32), float64 (FP64), float16.Float16
// (FP16) or uint16 holding bfloat16 bits (BF16, the upper half of a float32).
type Elem interface {
	float32 | float64 | float16.Float16 | uint16
}

// FormatOf returns the format of the element type E.
func FormatOf[E Elem]() fp.Format {
	var z E
	switch any(z).(type) {
	case float32:
		return fp.FP32
	case float64:
		return fp.FP64
	case float16.Float16:
		return fp.FP16
	default:
		return fp.BF16
	}
}

// ToNative converts a value of E's format, held as a float64, to E. It panics when x is not a
// value of the format (the harness only passes members).
func ToNative[E Elem](x float64) E {
	var z E
	switch p := any(&z).(type) {
	case *float32:
		*p = float32(x)
	case *float64:
		*p = x
	case *float16.Float16:
		*p = float16.Float16(fp.FP16.Encode(x))
	case *uint16:
		*p = uint16(fp.BF16.Encode(x))
	}
	return z
}

// FromNative converts an element to the float64 holding the same value.
func FromNative[E Elem](v E) float64 {
	switch w := any(v).(type) {
	case float32:
		return float64(w)
	case float64:
		return w
	case float16.Float16:
		return fp.FP16.Decode(uint64(w))
	case uint16:
		return fp.BF16.Decode(uint64(w))
	}
	panic("unreachable")
}

func bitsOf[E Elem](v E) uint64 {
	switch w := any(v).(type) {
	case float32:
		return uint64(math.Float32bits(w))
	case float64:
		return math.Float64bits(w)
	case float16.Float16:
		return uint64(w)
	case uint16:
		return uint64(w)
	}
	panic("unreachable")
}

// guardNaN returns a NaN with a payload no arithmetic produces, for guard cells.
func guardNaN[E Elem]() E {
	var z E
	switch p := any(&z).(type) {
	case *float32:
		*p = math.Float32frombits(0x7fa5a5a5)
	case *float64:
		*p = math.Float64frombits(0x7ff5a5a5a5a5a5a5)
	case *float16.Float16:
		*p = 0x7e5a
	case *uint16:
		*p = 0x7fa5
	}
	return z
}

const guardCells = 8

// checkGuards returns the index (relative to the output start) of a guard cell that changed.
func checkGuards[E Elem](buf []E, n int) (int, bool) {
	g := bitsOf(guardNaN[E]())
	for _, i := range [2]int{0, guardCells + n} { // the guard cells before and after the output
		for j := i; j < i+guardCells; j++ {
			if bitsOf(buf[j]) != g {
				return j - guardCells, false
			}
		}
	}
	return 0, true
}

// sameNative returns the first index where a and b differ bit for bit, or −1 and true.
func sameNative[E Elem](a, b []E) (int, bool) {
	if a32, ok := any(a).([]float32); ok { // one type switch per slice, not per element
		b32 := any(b).([]float32)
		for i := range a32 {
			if math.Float32bits(a32[i]) != math.Float32bits(b32[i]) {
				return i, false
			}
		}
		return -1, true
	}
	for i := range a {
		if bitsOf(a[i]) != bitsOf(b[i]) {
			return i, false
		}
	}
	return -1, true
}

// toNativeInto sets d[i] = ToNative[E](x[i]), with one type switch per slice for float32 and
// float64.
func toNativeInto[E Elem](d []E, x []float64) {
	switch t := any(d).(type) {
	case []float32:
		for i, v := range x {
			t[i] = float32(v)
		}
	case []float64:
		copy(t, x)
	default:
		for i, v := range x {
			d[i] = ToNative[E](v)
		}
	}
}

// fromNativeInto sets d[i] = FromNative(x[i]), with one type switch per slice for float32 and
// float64.
func fromNativeInto[E Elem](d []float64, x []E) {
	switch t := any(x).(type) {
	case []float32:
		for i, v := range t {
			d[i] = float64(v)
		}
	case []float64:
		copy(d, t)
	default:
		for i, v := range x {
			d[i] = FromNative(v)
		}
	}
}

// An Option sets a declaration field of a kernel built by an adapter.
type Option func(*Kernel)

// WithAlgorithm declares the algorithm class.
func WithAlgorithm(a Algorithm) Option { return func(k *Kernel) { k.Algorithm = a } }

// WithMask declares the fully-masked-row policy.
func WithMask(p fp.MaskPolicy) Option { return func(k *Kernel) { k.Mask = p } }

// WithAcc declares the accumulation format.
func WithAcc(f fp.Format) Option { return func(k *Kernel) { k.Acc = f } }

// WithIn declares the input format (default: the element type's); inputs are values of it.
func WithIn(f fp.Format) Option { return func(k *Kernel) { k.In = f } }

// WithOut declares the output format (default: the element type's).
func WithOut(f fp.Format) Option { return func(k *Kernel) { k.Out = f } }

// Saturating declares that overflow gives ±MaxFinite instead of ±Inf.
func Saturating() Option { return func(k *Kernel) { k.Saturating = true } }

// FlushToZero declares that subnormal outputs may be flushed to zero.
func FlushToZero() Option { return func(k *Kernel) { k.FlushToZero = true } }

// WithTimeout sets the per-call timeout.
func WithTimeout(d time.Duration) Option { return func(k *Kernel) { k.Timeout = d } }

// Returning declares that the kernel always returns (bounded loops, no waits), so that Call runs
// it on the caller's goroutine without a runner's hand-offs. A Returning kernel that hangs hangs
// its caller: leave it off for code that may.
func Returning() Option { return func(k *Kernel) { k.Returns = true } }

// WithDoc sets the kernel's documentation (algorithm and bound).
func WithDoc(s string) Option { return func(k *Kernel) { k.Doc = s } }

// Broken marks a kernel as deliberately broken, expected to fail, and says why.
func Broken(why string) Option { return func(k *Kernel) { k.Broken = why } }

// WithCEModes restricts the reductions a cross-entropy kernel supports.
func WithCEModes(r ...Reduction) Option { return func(k *Kernel) { k.CEModes = r } }

func newKernel[E Elem](name string, op Op, batch bool, opts []Option) *Kernel {
	f := FormatOf[E]()
	k := &Kernel{Name: name, Op: op, In: f, Out: f, Batch: batch}
	for _, o := range opts {
		o(k)
	}
	return k
}

// scratch holds the native buffers of one call, reused from call to call through scratchPool:
// the inputs converted to E, their saved copies and the guarded output.
type scratch[E Elem] struct {
	nat, saved [][]E
	buf        []E
}

var scratchPools [4]sync.Pool // one per element type, in the order of Elem

func scratchPool[E Elem]() *sync.Pool {
	var z E
	switch any(z).(type) {
	case float32:
		return &scratchPools[0]
	case float64:
		return &scratchPools[1]
	case float16.Float16:
		return &scratchPools[2]
	}
	return &scratchPools[3]
}

func getScratch[E Elem]() *scratch[E] {
	if s, ok := scratchPool[E]().Get().(*scratch[E]); ok {
		return s
	}
	return &scratch[E]{}
}

// guardedIn returns n elements surrounded by guard cells, in s.buf; the returned slice's capacity
// reaches into the trailing guard, so that a kernel that reslices beyond its output writes into it.
func (s *scratch[E]) guardedIn(n int) (buf, out []E) {
	if cap(s.buf) < n+2*guardCells {
		s.buf = make([]E, n+2*guardCells)
	}
	buf = s.buf[: n+2*guardCells : n+2*guardCells]
	g := guardNaN[E]()
	for i := range buf {
		buf[i] = g
	}
	return buf, buf[guardCells : guardCells+n]
}

// run converts the inputs to E, calls body with a guarded output of n elements, and checks that
// the native inputs are unchanged and that no guard cell was written. The native buffers are
// reused from call to call; the outputs go to out (Args.Dst) when it has the capacity, else to
// a new slice.
func run[E Elem](k *Kernel, out []float64, n int, ins [][]float64, body func(dst []E, ins [][]E) error) ([]float64, error) {
	s := getScratch[E]()
	for len(s.nat) < len(ins) {
		s.nat, s.saved = append(s.nat, nil), append(s.saved, nil)
	}
	nat, saved := s.nat[:len(ins)], s.saved[:len(ins)]
	for i, x := range ins {
		if x == nil {
			nat[i], saved[i] = nil, nil
			continue
		}
		d := nat[i]
		if cap(d) < len(x) {
			d = make([]E, len(x))
		}
		d = d[:len(x)]
		toNativeInto(d, x)
		nat[i], saved[i] = d, append(saved[i][:0], d...)
	}
	buf, dst := s.guardedIn(n)
	if err := body(dst, nat); err != nil {
		return nil, err
	}
	if i, ok := checkGuards(buf, n); !ok {
		return nil, &ContractError{Kernel: k.Name, Kind: ContractOutOfBounds, Index: i, Detail: fmt.Sprintf("guard cell %d (relative to the output) was written", i)}
	}
	for j := range nat {
		if i, ok := sameNative(saved[j], nat[j]); !ok {
			return nil, &ContractError{Kernel: k.Name, Kind: ContractInputModified, Index: i, Detail: fmt.Sprintf("input %d element %d changed", j, i)}
		}
	}
	if out == nil || cap(out) < n { // (never nil: an empty case's outputs are an empty slice)
		out = make([]float64, n)
	}
	out = out[:n]
	fromNativeInto(out, dst)
	scratchPool[E]().Put(s)
	return out, nil
}

func row[E Elem](s []E, r, cols int) []E { return s[r*cols : (r+1)*cols : (r+1)*cols] }

// guardedRow calls fn with a fresh guarded output for row r of dst (so that a row kernel that
// writes past its row hits a guard cell, not the next row), then copies it into place.
func guardedRow[E Elem](k *Kernel, dst []E, r, cols int, fn func(d []E) error) error {
	s := getScratch[E]()
	buf, d := s.guardedIn(cols)
	if err := fn(d); err != nil {
		return err
	}
	if i, ok := checkGuards(buf, cols); !ok {
		return &ContractError{Kernel: k.Name, Kind: ContractOutOfBounds, Index: r*cols + i, Detail: fmt.Sprintf("row %d: guard cell %d (relative to the row's output) was written", r, i)}
	}
	copy(dst[r*cols:(r+1)*cols], d)
	scratchPool[E]().Put(s)
	return nil
}

func noErr2[E Elem](fn func(dst, x []E)) func(dst, x []E) error {
	return func(dst, x []E) error { fn(dst, x); return nil }
}

func noErr4[E Elem](fn func(dst, x []E, rows, cols int)) func(dst, x []E, rows, cols int) error {
	return func(dst, x []E, rows, cols int) error { fn(dst, x, rows, cols); return nil }
}

// rowMap builds a kernel over a row function dst = f(x) of equal lengths.
func rowMap[E Elem](name string, op Op, fn func(dst, x []E) error, opts []Option) *Kernel {
	k := newKernel[E](name, op, false, opts)
	k.Fn = func(_ context.Context, a *Args) ([]float64, error) {
		return run(k, a.Dst, a.Rows*a.Cols, [][]float64{a.X}, func(dst []E, in [][]E) error {
			for r := 0; r < a.Rows; r++ {
				if err := guardedRow(k, dst, r, a.Cols, func(d []E) error { return fn(d, row(in[0], r, a.Cols)) }); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return k
}

// batchMap builds a kernel over a batch function of x with n(a) outputs.
func batchMap[E Elem](name string, op Op, fn func(dst, x []E, rows, cols int) error, opts []Option) *Kernel {
	k := newKernel[E](name, op, true, opts)
	k.Fn = func(_ context.Context, a *Args) ([]float64, error) {
		return run(k, a.Dst, k.OutLen(a), [][]float64{a.X}, func(dst []E, in [][]E) error {
			return fn(dst, in[0], a.Rows, a.Cols)
		})
	}
	return k
}

// Softmax adapts fn, which writes softmax(x) of one row into dst (len(dst) == len(x)).
func Softmax[E Elem](name string, fn func(dst, x []E), opts ...Option) *Kernel {
	return rowMap(name, OpSoftmax, noErr2(fn), opts)
}

// SoftmaxErr is Softmax for a function that can fail.
func SoftmaxErr[E Elem](name string, fn func(dst, x []E) error, opts ...Option) *Kernel {
	return rowMap(name, OpSoftmax, fn, opts)
}

// SoftmaxBatch adapts fn, which writes the row-wise softmax of a rows×cols row-major x into dst.
func SoftmaxBatch[E Elem](name string, fn func(dst, x []E, rows, cols int), opts ...Option) *Kernel {
	return batchMap(name, OpSoftmax, noErr4(fn), opts)
}

// SoftmaxBatchErr is SoftmaxBatch for a function that can fail.
func SoftmaxBatchErr[E Elem](name string, fn func(dst, x []E, rows, cols int) error, opts ...Option) *Kernel {
	return batchMap(name, OpSoftmax, fn, opts)
}

// LogSoftmax adapts fn, which writes log softmax(x) of one row into dst.
func LogSoftmax[E Elem](name string, fn func(dst, x []E), opts ...Option) *Kernel {
	return rowMap(name, OpLogSoftmax, noErr2(fn), opts)
}

// LogSoftmaxErr is LogSoftmax for a function that can fail.
func LogSoftmaxErr[E Elem](name string, fn func(dst, x []E) error, opts ...Option) *Kernel {
	return rowMap(name, OpLogSoftmax, fn, opts)
}

// LogSoftmaxBatch adapts a row-wise log-softmax over a rows×cols row-major batch.
func LogSoftmaxBatch[E Elem](name string, fn func(dst, x []E, rows, cols int), opts ...Option) *Kernel {
	return batchMap(name, OpLogSoftmax, noErr4(fn), opts)
}

// LogSoftmaxBatchErr is LogSoftmaxBatch for a function that can fail.
func LogSoftmaxBatchErr[E Elem](name string, fn func(dst, x []E, rows, cols int) error, opts ...Option) *Kernel {
	return batchMap(name, OpLogSoftmax, fn, opts)
}

// LSE adapts fn, which returns log Σ exp(x) of one row.
func LSE[E Elem](name string, fn func(x []E) E, opts ...Option) *Kernel {
	return LSEErr(name, func(x []E) (E, error) { return fn(x), nil }, opts...)
}

// LSEErr is LSE for a function that can fail.
func LSEErr[E Elem](name string, fn func(x []E) (E, error), opts ...Option) *Kernel {
	k := newKernel[E](name, OpLSE, false, opts)
	k.Fn = func(_ context.Context, a *Args) ([]float64, error) {
		return run(k, a.Dst, a.Rows, [][]float64{a.X}, func(dst []E, in [][]E) error {
			for r := 0; r < a.Rows; r++ {
				v, err := fn(row(in[0], r, a.Cols))
				if err != nil {
					return err
				}
				dst[r] = v
			}
			return nil
		})
	}
	return k
}

// LSEBatch adapts fn, which writes the LSE of each row of a rows×cols batch into dst[rows].
func LSEBatch[E Elem](name string, fn func(dst, x []E, rows, cols int), opts ...Option) *Kernel {
	return batchMap(name, OpLSE, noErr4(fn), opts)
}

// LSEBatchErr is LSEBatch for a function that can fail.
func LSEBatchErr[E Elem](name string, fn func(dst, x []E, rows, cols int) error, opts ...Option) *Kernel {
	return batchMap(name, OpLSE, fn, opts)
}

// SoftmaxBackward adapts fn, which writes dx = y⊙(dy − Σ dy·y), y = softmax(x), for one row.
func SoftmaxBackward[E Elem](name string, fn func(dx, x, dy []E), opts ...Option) *Kernel {
	return SoftmaxBackwardErr(name, func(dx, x, dy []E) error { fn(dx, x, dy); return nil }, opts...)
}

// SoftmaxBackwardErr is SoftmaxBackward for a function that can fail.
func SoftmaxBackwardErr[E Elem](name string, fn func(dx, x, dy []E) error, opts ...Option) *Kernel {
	k := newKernel[E](name, OpSoftmaxBackward, false, opts)
	k.Fn = func(_ context.Context, a *Args) ([]float64, error) {
		return run(k, a.Dst, a.Rows*a.Cols, [][]float64{a.X, a.DY}, func(dst []E, in [][]E) error {
			for r := 0; r < a.Rows; r++ {
				if err := guardedRow(k, dst, r, a.Cols, func(d []E) error { return fn(d, row(in[0], r, a.Cols), row(in[1], r, a.Cols)) }); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return k
}

// SoftmaxBackwardBatch adapts a batched softmax backward over rows×cols row-major x and dy.
func SoftmaxBackwardBatch[E Elem](name string, fn func(dx, x, dy []E, rows, cols int), opts ...Option) *Kernel {
	return SoftmaxBackwardBatchErr(name, func(dx, x, dy []E, rows, cols int) error { fn(dx, x, dy, rows, cols); return nil }, opts...)
}

// SoftmaxBackwardBatchErr is SoftmaxBackwardBatch for a function that can fail.
func SoftmaxBackwardBatchErr[E Elem](name string, fn func(dx, x, dy []E, rows, cols int) error, opts ...Option) *Kernel {
	k := newKernel[E](name, OpSoftmaxBackward, true, opts)
	k.Fn = func(_ context.Context, a *Args) ([]float64, error) {
		return run(k, a.Dst, a.Rows*a.Cols, [][]float64{a.X, a.DY}, func(dst []E, in [][]E) error {
			return fn(dst, in[0], in[1], a.Rows, a.Cols)
		})
	}
	return k
}

// ceRowWeights returns the weight of each row's target, which rows are ignored (weight 0), and
// the sum of the weights of the rows not ignored.
func ceRowWeights(a *Args) (w []float64, ignored []bool, d float64) {
	w = make([]float64, a.Rows)
	ignored = make([]bool, a.Rows)
	for r, t := range a.Targets {
		if t == a.CE.IgnoreIndex {
			ignored[r] = true
			continue
		}
		w[r] = 1
		if a.CE.Weights != nil {
			w[r] = a.CE.Weights[t]
		}
		d += w[r]
	}
	return w, ignored, d
}

// weighted returns s·v as the oracle defines a row's weighted term: the exact coefficient s times
// the row's value, where a zero coefficient contributes 0 whatever the value (xlogy: 0·(±Inf) = 0)
// except that a NaN row stays NaN (a row with a NaN or +Inf logit, or fully masked, is NaN at any
// weight, as in PyTorch). A NaN s (a mean over rows of total weight 0) gives NaN.
func weighted(s, v float64) float64 {
	if s == 0 && !math.IsNaN(v) {
		return 0
	}
	return s * v
}

// CrossEntropy adapts fn, which returns one row's unreduced loss −log softmax(x)[target]. The
// adapter applies ignore_index, class weights and the reduction itself, in float64, and rounds
// each reduced value once to the output format; label smoothing is unsupported (ErrUnsupported).
func CrossEntropy[E Elem](name string, fn func(x []E, target int) E, opts ...Option) *Kernel {
	return CrossEntropyErr(name, func(x []E, t int) (E, error) { return fn(x, t), nil }, opts...)
}

// CrossEntropyErr is CrossEntropy for a function that can fail.
func CrossEntropyErr[E Elem](name string, fn func(x []E, target int) (E, error), opts ...Option) *Kernel {
	k := newKernel[E](name, OpCrossEntropy, false, opts)
	k.Fn = func(_ context.Context, a *Args) ([]float64, error) {
		if a.CE.LabelSmoothing != 0 || a.Targets == nil {
			return nil, fmt.Errorf("%w: %s: row adapter without label smoothing or probability targets", ErrUnsupported, k.Name)
		}
		w, ignored, d := ceRowWeights(a)
		// A mean scales each weight by 1/D before it multiplies the row's loss, so that w·ℓ
		// cannot overflow float64 where the mean does not (fp64: w = 1 + 2^−52 on a row loss of
		// max, in a mean of two rows).
		meanFirst := a.CE.Reduction == ReduceMean && d != 0
		if meanFirst {
			for r := range w {
				w[r] /= d
			}
		}
		loss := make([]float64, a.Rows)
		_, err := run(k, a.Dst, 0, [][]float64{a.X}, func(_ []E, in [][]E) error {
			for r := 0; r < a.Rows; r++ {
				if ignored[r] {
					continue
				}
				v, err := fn(row(in[0], r, a.Cols), a.Targets[r])
				if err != nil {
					return err
				}
				loss[r] = weighted(w[r], FromNative(v))
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		out := k.OutFormat()
		if a.CE.Reduction == ReduceNone {
			for r := range loss {
				loss[r], _ = out.RoundFloat64(loss[r])
			}
			return loss, nil
		}
		s := 0.0
		for _, l := range loss {
			s += l
		}
		if a.CE.Reduction == ReduceMean && !meanFirst {
			s /= d // D = 0: 0/0 = NaN, as PyTorch
		}
		s, _ = out.RoundFloat64(s)
		return []float64{s}, nil
	}
	return k
}

// CrossEntropyBatch adapts the full PyTorch F.cross_entropy with class targets: dst has rows
// elements for ReduceNone, else 1. Weights arrive as float64 values of the input format.
func CrossEntropyBatch[E Elem](name string, fn func(dst, logits []E, rows, cols int, targets []int, opt CEOptions), opts ...Option) *Kernel {
	return CrossEntropyBatchErr(name, func(dst, x []E, rows, cols int, t []int, o CEOptions) error {
		fn(dst, x, rows, cols, t, o)
		return nil
	}, opts...)
}

// CrossEntropyBatchErr is CrossEntropyBatch for a function that can fail.
func CrossEntropyBatchErr[E Elem](name string, fn func(dst, logits []E, rows, cols int, targets []int, opt CEOptions) error, opts ...Option) *Kernel {
	k := newKernel[E](name, OpCrossEntropy, true, opts)
	k.Fn = func(_ context.Context, a *Args) ([]float64, error) {
		if a.Targets == nil {
			return nil, fmt.Errorf("%w: %s takes class targets", ErrUnsupported, k.Name)
		}
		return run(k, a.Dst, k.OutLen(a), [][]float64{a.X}, func(dst []E, in [][]E) error {
			return fn(dst, in[0], a.Rows, a.Cols, append([]int(nil), a.Targets...), cloneCE(a.CE))
		})
	}
	return k
}

// CrossEntropyProbBatch adapts F.cross_entropy with probability targets (rows×cols probs).
func CrossEntropyProbBatch[E Elem](name string, fn func(dst, logits, probs []E, rows, cols int, opt CEOptions) error, opts ...Option) *Kernel {
	k := newKernel[E](name, OpCrossEntropy, true, opts)
	k.ProbTargets = true
	k.Fn = func(_ context.Context, a *Args) ([]float64, error) {
		return run(k, a.Dst, k.OutLen(a), [][]float64{a.X, a.Probs}, func(dst []E, in [][]E) error {
			return fn(dst, in[0], in[1], a.Rows, a.Cols, cloneCE(a.CE))
		})
	}
	return k
}

// CrossEntropyProbGradBatch adapts the gradient of F.cross_entropy with probability targets.
func CrossEntropyProbGradBatch[E Elem](name string, fn func(dx, logits, probs []E, rows, cols int, opt CEOptions) error, opts ...Option) *Kernel {
	k := newKernel[E](name, OpCrossEntropyGrad, true, opts)
	k.ProbTargets = true
	k.Fn = func(_ context.Context, a *Args) ([]float64, error) {
		return run(k, a.Dst, a.Rows*a.Cols, [][]float64{a.X, a.Probs}, func(dst []E, in [][]E) error {
			return fn(dst, in[0], in[1], a.Rows, a.Cols, cloneCE(a.CE))
		})
	}
	return k
}

func cloneCE(o CEOptions) CEOptions {
	o.Weights = append([]float64(nil), o.Weights...)
	if len(o.Weights) == 0 {
		o.Weights = nil
	}
	return o
}

// CrossEntropyGrad adapts fn, which writes the gradient of one row's loss −log softmax(x)[t]
// with respect to x, softmax(x) − onehot(t). The adapter scales each row by w_t/D in float64
// (D = 1 for sum and none, Σ w_t for mean) and rounds once more to the output format, which
// adds up to ½ulp when the scale is not a power of two; ignored rows get 0.
func CrossEntropyGrad[E Elem](name string, fn func(dx, x []E, target int), opts ...Option) *Kernel {
	return CrossEntropyGradErr(name, func(dx, x []E, t int) error { fn(dx, x, t); return nil }, opts...)
}

// CrossEntropyGradErr is CrossEntropyGrad for a function that can fail.
func CrossEntropyGradErr[E Elem](name string, fn func(dx, x []E, target int) error, opts ...Option) *Kernel {
	k := newKernel[E](name, OpCrossEntropyGrad, false, opts)
	k.Fn = func(_ context.Context, a *Args) ([]float64, error) {
		if a.CE.LabelSmoothing != 0 || a.Targets == nil {
			return nil, fmt.Errorf("%w: %s: row adapter without label smoothing or probability targets", ErrUnsupported, k.Name)
		}
		w, ignored, d := ceRowWeights(a)
		if a.CE.Reduction != ReduceMean {
			d = 1
		}
		g, err := run(k, a.Dst, a.Rows*a.Cols, [][]float64{a.X}, func(dst []E, in [][]E) error {
			for r := 0; r < a.Rows; r++ {
				if ignored[r] {
					z := ToNative[E](0)
					for j := range row(dst, r, a.Cols) {
						dst[r*a.Cols+j] = z
					}
					continue
				}
				if err := guardedRow(k, dst, r, a.Cols, func(d []E) error { return fn(d, row(in[0], r, a.Cols), a.Targets[r]) }); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		out := k.OutFormat()
		for r := 0; r < a.Rows; r++ {
			if s := w[r] / d; s != 1 && !ignored[r] {
				for j := r * a.Cols; j < (r+1)*a.Cols; j++ {
					g[j], _ = out.RoundFloat64(weighted(s, g[j]))
				}
			}
		}
		return g, nil
	}
	return k
}

// CrossEntropyGradBatch adapts the gradient of F.cross_entropy with class targets.
func CrossEntropyGradBatch[E Elem](name string, fn func(dx, logits []E, rows, cols int, targets []int, opt CEOptions), opts ...Option) *Kernel {
	return CrossEntropyGradBatchErr(name, func(dx, x []E, rows, cols int, t []int, o CEOptions) error {
		fn(dx, x, rows, cols, t, o)
		return nil
	}, opts...)
}

// CrossEntropyGradBatchErr is CrossEntropyGradBatch for a function that can fail.
func CrossEntropyGradBatchErr[E Elem](name string, fn func(dx, logits []E, rows, cols int, targets []int, opt CEOptions) error, opts ...Option) *Kernel {
	k := newKernel[E](name, OpCrossEntropyGrad, true, opts)
	k.Fn = func(_ context.Context, a *Args) ([]float64, error) {
		if a.Targets == nil {
			return nil, fmt.Errorf("%w: %s takes class targets", ErrUnsupported, k.Name)
		}
		return run(k, a.Dst, a.Rows*a.Cols, [][]float64{a.X}, func(dst []E, in [][]E) error {
			return fn(dst, in[0], a.Rows, a.Cols, append([]int(nil), a.Targets...), cloneCE(a.CE))
		})
	}
	return k
}
