// Package kernels describes the kernels ulpcheck tests and runs them under a checked contract.
//
// A Kernel is a declaration (operation, input, output and accumulation formats, algorithm class,
// fully-masked-row policy, saturation, flush-to-zero, whether it is deliberately broken) plus a
// Func, the harness-level calling convention: float64 slices whose elements are exact members of
// the declared formats. Adapters build a Kernel from a plain Go function over float32, float64,
// float16.Float16 or bfloat16 bits (uint16), for single rows or row-major batches, with or without
// an error result; kernels/external builds one over a child process.
//
// Contract. Kernel.Call checks every call (NUMERICS §10, class "contract"): the output has the
// expected length, the inputs are left unmodified (compared bitwise), nothing is written outside
// the output (native adapters surround it with NaN guard cells, as gonum's tests do), every output
// is a value of the output format, panics are recovered and a call that exceeds its timeout is
// abandoned. A goroutine cannot be killed in Go: a hung kernel's goroutine leaks after its
// timeout; the external-process adapter is the robust option for kernels that may hang. A kernel
// declared Returning (Kernel.Returns; every bundled kernel) always returns, so Call runs it on the
// caller's goroutine and judges its time after it returns: a hand-off to a runner goroutine and
// back costs more than a 32-element fp32 softmax (BenchmarkCall).
//
// Bundled kernels (Bundled, Lookup) are named op/algorithm/format. For each operation there are
// fp32 and fp64 versions and fp16/bf16 storage versions that convert to float32, compute in
// float32 and round each output once to the storage format. exp and log are Go's float64
// math.Exp, math.Log1p rounded once to float32 in the float32 kernels (a relative error below
// 2^−24·(1+2^−28)); in the float64 kernels they are math's own (< 1 ulp). Deliberately broken
// kernels (the naive softmax of the seed article, the fp16-accumulating softmax) carry a non-empty
// Kernel.Broken and must fail.
//
// Special cases of the bundled kernels are (NUMERICS §5, §8):
//
//	a NaN in a row                     NaN outputs (LSE NaN)
//	a +Inf in a row                    softmax and log-softmax NaN, LSE +Inf, cross-entropy NaN
//	fully masked row (all −Inf)        shifted: NaN (policy MaskNaN); online: 0 (MaskZero); LSE −Inf
//	−Inf entry, finite entries left    softmax exactly 0, log-softmax −Inf
//	empty row                          empty output, LSE −Inf
//	cross-entropy, every row ignored   mean NaN (0/0, as PyTorch); sum 0; none 0 per row
//	cross-entropy, target logit −Inf   +Inf loss
//	zero class weight                  contributes exactly 0 (never 0·Inf)
//
// Index: Op, Algorithm, Reduction, CEOptions, Args, Func, Kernel, Kernel.Call, ContractError,
// ErrUnsupported; adapters Softmax, LogSoftmax, LSE, CrossEntropy, SoftmaxBackward,
// CrossEntropyGrad with their Err, Batch and BatchErr variants; options With*; Bundled, Lookup.
package kernels
