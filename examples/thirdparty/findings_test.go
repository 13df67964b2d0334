package thirdparty

import (
	"math"
	"runtime"
	"testing"

	"github.com/ulpcheck/ulpcheck/generators"
	"github.com/ulpcheck/ulpcheck/kernels"
	"github.com/ulpcheck/ulpcheck/properties"
)

// A finding is one confirmed defect of a third-party kernel: the minimal case, the output element
// that is wrong, its failure class (NUMERICS §10) and the exact value worked out by hand (mpmath at
// 200 digits, see the README's Findings table), which the oracle must agree with. A finding test
// asserts that the defect still reproduces, that the oracle's correctly rounded value is the hand
// value, and that the bundled correct kernel of the same operation and format (control) is clean
// on the same case, so that the table stays true and cannot be an artefact of the harness.
type finding struct {
	kernel     func() *kernels.Kernel // a Go adapter; nil for a Python client's kernel
	client     string                 // else the client script (relative to the repository root) ...
	kname      string                 // ... and the kernel's name in its hello
	targets    []int                  // cross-entropy: class targets (PyTorch default options)
	probs      []float64              // BCE with logits: the targets (PyTorch default options: mean, no pos_weight)
	rows, cols int
	x          []float64
	index      int                   // the output element the row is about
	class      properties.Class      // its failure class
	exact      float64               // the correctly rounded exact value of x's output at index, by hand
	control    string                // a bundled kernel that must pass on the same case
	tol        *properties.Tolerance // nil: the default condition-aware tolerance
	amd64      bool                  // the defect is in amd64 SIMD code: skipped elsewhere
	reason     string
}

var strict1 = properties.Strict(1)

var (
	inf  = math.Inf(1)
	ninf = math.Inf(-1)
	nan  = math.NaN()
)

var findings = map[string]finding{
	"Gorgonia_SoftMaxRowMax_fp64": {
		kernel: GorgoniaSoftmax[float64], rows: 2, cols: 1, x: []float64{0, 1000},
		index: 1, class: properties.ClassNaN, exact: 1, control: "softmax/shifted/fp64",
		reason: "row 1's max is seeded with x[0][0] = 0: exp(1000 − 0) = +Inf, Inf·(1/Inf) = NaN",
	},
	"Gorgonia_SoftMaxRowMax_fp32": {
		kernel: GorgoniaSoftmax[float32], rows: 2, cols: 1, x: []float64{0, 1000},
		index: 1, class: properties.ClassNaN, exact: 1, control: "softmax/shifted/fp32",
		reason: "same defect in softMaxLastDimF32",
	},
	"Gorgonia_LogSoftMaxRowMax_fp64": {
		kernel: GorgoniaLogSoftmax[float64], rows: 2, cols: 1, x: []float64{0, 1000},
		index: 1, class: properties.ClassOverflow, exact: 0, control: "logsoftmax/shifted/fp64",
		reason: "z = 1000 − 0, log Σ e^z = +Inf, 1000 − Inf = −Inf where log-softmax of a single entry is 0",
	},
	"Gorgonia_LogSumExpMaxInsideLog": {
		kernel: GorgoniaLSE, rows: 1, cols: 1, x: []float64{1},
		index: 0, class: properties.ClassPrecision, exact: 1, control: "lse/shifted/fp64",
		reason: "computes log(Σ e^(x−m) + m) = log 2 instead of m + log Σ e^(x−m) = 1",
	},
	"Spago_LogSoftmaxLogOfUnderflow_fp64": {
		kernel: SpagoLogSoftmax[float64], rows: 1, cols: 2, x: []float64{0, -1000},
		index: 1, class: properties.ClassOverflow, exact: -1000, control: "logsoftmax/shifted/fp64",
		reason: "Log(Softmax(x)): softmax underflows to 0 and log(0) = −Inf, log-softmax is −1000",
	},
	"Spago_LogSoftmaxLogOfUnderflow_fp32": {
		kernel: SpagoLogSoftmax[float32], rows: 1, cols: 2, x: []float64{0, -1000},
		index: 1, class: properties.ClassOverflow, exact: -1000, control: "logsoftmax/shifted/fp32",
		reason: "same in float32",
	},
	"Spago_LogSumExpMasked_fp64": {
		kernel: SpagoLSE[float64], rows: 1, cols: 1, x: []float64{ninf},
		index: 0, class: properties.ClassMasking, exact: ninf, control: "lse/shifted/fp64",
		reason: "x − max = −Inf − (−Inf) = NaN; LSE of a fully masked row is −Inf",
	},
	"Gonum_LogSumExpNaNLost": {
		kernel: GonumLSE, rows: 1, cols: 2, x: []float64{nan, inf},
		index: 0, class: properties.ClassNonFiniteLost, exact: nan, control: "lse/shifted/fp64",
		reason: "floats.Max skips NaN and an infinite max is returned early: +Inf for a row with a NaN",
	},
	"Spago_SoftmaxSIMDExpFlush_fp32": {
		kernel: SpagoSoftmax[float32], rows: 1, cols: 8, x: []float64{-88, 0, 0, 0, 0, 0, 0, 0},
		index: 0, class: properties.ClassUnderflow, exact: 0x1.2d638p-130, control: "softmax/shifted/fp32", amd64: true,
		reason: "matfuncs.ExpAVX32/ExpSSE32 (rows of 8/4 lanes) return 0 for e^(x) below the normal range; e^-88/7 is a float32 subnormal",
	},
	"Spago_LogSoftmaxSIMDLogZero_fp32": {
		kernel: SpagoLogSoftmax[float32], rows: 1, cols: 8, x: []float64{-88, 0, 0, 0, 0, 0, 0, 0},
		index: 0, class: properties.ClassNaN, exact: -0x1.67c89cp+06, control: "logsoftmax/shifted/fp32", amd64: true,
		reason: "Log(Softmax(x)) with the SIMD log: the flushed 0 gives NaN (not even −Inf) where log-softmax is −89.9459",
	},
	"Spago_SoftmaxSIMDNaNLost_fp32": {
		kernel: SpagoSoftmax[float32], rows: 1, cols: 8, x: []float64{0, 0, 0, 0, 0, 0, 0, nan},
		index: 7, class: properties.ClassNonFiniteLost, exact: nan, control: "softmax/shifted/fp32", amd64: true,
		reason: "the SIMD exp clamps its argument with min/max instructions that drop NaN: a NaN logit gets weight 1.0000001 and the others 4.2e-39",
	},
	"Spago_LogSumExpSIMDNaNLost_fp32": {
		kernel: SpagoLSE[float32], rows: 1, cols: 8, x: []float64{0, 0, 0, 0, 0, 0, 0, nan},
		index: 0, class: properties.ClassNonFiniteLost, exact: nan, control: "lse/shifted/fp32", amd64: true,
		reason: "the same clamp: exp(NaN) becomes e^88.376, LSE = 88.37626 for a row with a NaN",
	},
	"Gomlx_LogSoftmaxTruncatedSum_bf16": {
		kernel: GomlxLogSoftmaxBF16, rows: 1, cols: 2, x: []float64{2, -0.21875},
		index: 0, class: properties.ClassPrecision, exact: -0x1.a6p-04, control: "logsoftmax/shifted/bf16",
		reason: "bfloat16.FromFloat32 truncates: Σ = 1 + e^-2.21875 = 1.10879 becomes 1.1015625 (RN: 1.109375); log gives −0.0967 for −0.1030",
	},
	"Gomlx_SoftmaxBF16Accumulation_bf16": {
		kernel: GomlxSoftmaxBF16, rows: 1, cols: 1000, x: make([]float64, 1000),
		index: 0, class: properties.ClassPrecision, exact: 0x1.06p-10, control: "softmax/shifted/bf16", tol: &strict1,
		reason: "ReduceSum accumulates in bfloat16 and stalls at 256 (256 + 1 → 256): 1000 equal logits give 2^-8 for 1/1000",
	},
	"Gonum_LogSumExpLogNotLog1p": {
		kernel: GonumLSE, rows: 1, cols: 2, x: []float64{0, -10},
		index: 0, class: properties.ClassPrecision, exact: 0x1.7cd564c9e0d19p-15, control: "lse/shifted/fp64",
		reason: "log(Σ) + max with Σ = 1 + e^-10 rounded: 869 ulp where log1p(e^-10) is within 1 ulp",
	},
	"Spago_LogSumExpLogNotLog1p_fp64": {
		kernel: SpagoLSE[float64], rows: 1, cols: 2, x: []float64{0, -10},
		index: 0, class: properties.ClassPrecision, exact: 0x1.7cd564c9e0d19p-15, control: "lse/shifted/fp64",
		reason: "max + Log(Σ): the same log-instead-of-log1p cancellation",
	},
	"Gorgonia_LogSoftMaxLogNotLog1p_fp64": {
		kernel: GorgoniaLogSoftmax[float64], rows: 1, cols: 2, x: []float64{0, -10},
		index: 0, class: properties.ClassPrecision, exact: -0x1.7cd564c9e0d19p-15, control: "logsoftmax/shifted/fp64",
		reason: "(x − m) − log Σ at the maximum: −log(1 + e^-10) with 1 + e^-10 rounded",
	},
	"Gomlx_LogSoftmaxLogNotLog1p_fp64": {
		kernel: GomlxLogSoftmax[float64], rows: 1, cols: 2, x: []float64{0, -10},
		index: 0, class: properties.ClassPrecision, exact: -0x1.7cd564c9e0d19p-15, control: "logsoftmax/shifted/fp64",
		reason: "(x − m) − Log(ReduceSum(Exp(x − m))) at the maximum",
	},
	"Torch_LogSoftmaxBF16Sum": {
		client: "examples/pyclients/torch_kernel.py", kname: "torch/log_softmax/bf16", rows: 1, cols: 2, x: []float64{0, -6},
		index: 0, class: properties.ClassUnderflow, exact: -0x1.44p-9, control: "logsoftmax/shifted/bf16",
		reason: "the CPU bf16 kernel rounds Σ = 1 + e^-6 = 1.00248 to bfloat16 (1.0) before the log: 0 where −0.00247 is representable",
	},
	"Torch_LogSoftmaxLogNotLog1p_fp32": {
		client: "examples/pyclients/torch_kernel.py", kname: "torch/log_softmax/fp32", rows: 1, cols: 2, x: []float64{0, -20},
		index: 0, class: properties.ClassUnderflow, exact: -0x1.1b4866p-29, control: "logsoftmax/shifted/fp32",
		reason: "(x − m) − log(Σ): Σ = 1 + e^-20 rounds to 1 in float32, log gives 0; log1p(e^-20) is 2.06e-9",
	},
	"Torch_LogSumExpLogNotLog1p_fp32": {
		client: "examples/pyclients/torch_kernel.py", kname: "torch/logsumexp/fp32", rows: 1, cols: 2, x: []float64{0, -20},
		index: 0, class: properties.ClassUnderflow, exact: 0x1.1b4866p-29, control: "lse/shifted/fp32",
		reason: "m + log(Σ exp(x − m)) with Σ rounded to 1",
	},
	"Torch_CrossEntropyLogNotLog1p_fp32": {
		client: "examples/pyclients/torch_kernel.py", kname: "torch/cross_entropy/fp32", rows: 1, cols: 2, x: []float64{0, -20}, targets: []int{0},
		index: 0, class: properties.ClassUnderflow, exact: 0x1.1b4866p-29, control: "ce/fused/fp32",
		reason: "nll_loss(log_softmax(x)): the loss of a confident correct prediction, log1p(e^-20) = 2.06e-9, comes out 0",
	},
	"Torch_SigmoidSubnormalFlush_fp32": {
		client: "examples/pyclients/sigmoid_kernels.py", kname: "torch/sigmoid/fp32", rows: 1, cols: 1, x: []float64{-0x1.62e43p+06},
		index: 0, class: properties.ClassUnderflow, exact: 0x1.fffffp-129, control: "sigmoid/stable/fp32",
		reason: "x = −88.7228…, the largest float32 with e^−x = +Inf: 1/(1 + Inf) = 0 where σ(x) = 2.9387e-39 is a float32 subnormal",
	},
	"Scipy_ExpitSubnormalFlush_fp32": {
		client: "examples/pyclients/sigmoid_kernels.py", kname: "scipy/special.expit/fp32", rows: 1, cols: 1, x: []float64{-0x1.62e43p+06},
		index: 0, class: properties.ClassUnderflow, exact: 0x1.fffffp-129, control: "sigmoid/stable/fp32",
		reason: "same case: 1/(1 + exp(−x)) with exp(−x) = +Inf gives 0 where σ(x) = 2.9387e-39 is representable",
	},
	"Torch_BCEWithLogitsLogNotLog1p_fp32": {
		client: "examples/pyclients/sigmoid_kernels.py", kname: "torch/F.binary_cross_entropy_with_logits/fp32", rows: 1, cols: 1, x: []float64{-18},
		probs: []float64{0}, index: 0, class: properties.ClassUnderflow, exact: 0x1.05a628p-26, control: "bce/stable/fp32",
		reason: "(1 − t)·x + m + log(e^−m + e^(−x−m)), m = max(−x, 0): log(1 + e^−18) rounds to log 1 = 0 where softplus(−18) = 1.523e-8",
	},
	"Scipy_LogSoftmaxFP16": {
		client: "examples/pyclients/scipy_kernel.py", kname: "scipy/special.log_softmax/fp16", rows: 1, cols: 2, x: []float64{0, -8},
		index: 0, class: properties.ClassUnderflow, exact: -0x1.5fcp-12, control: "logsoftmax/shifted/fp16",
		reason: "numpy float16 arithmetic: Σ = 1 + e^-8 rounds to 1 in float16, log gives 0 where −3.354e-4 is representable",
	},
	"Scipy_LogSumExpLogNotLog1p_fp64": {
		client: "examples/pyclients/scipy_kernel.py", kname: "scipy/special.logsumexp/fp64", rows: 1, cols: 2, x: []float64{0, -40},
		index: 0, class: properties.ClassUnderflow, exact: 0x1.39792499b1a24p-58, control: "lse/shifted/fp64",
		reason: "log(Σ) + max with Σ = 1 + e^-40 = 1 in float64: 0 where LSE is 4.2e-18",
	},
}

func runFinding(t *testing.T, name string) {
	t.Helper()
	f, ok := findings[name]
	if !ok {
		t.Fatalf("no finding %q", name)
	}
	if f.amd64 && runtime.GOARCH != "amd64" {
		t.Skipf("the defect is in amd64 SIMD code; GOARCH=%s", runtime.GOARCH)
	}
	var opts []properties.Option
	if f.tol != nil {
		opts = append(opts, properties.WithTolerance(*f.tol))
	}
	var k *kernels.Kernel
	if f.kernel != nil {
		k = f.kernel()
	} else {
		ks := startClient(t, f.client)
		if k = ks[f.kname]; k == nil {
			t.Fatalf("%s serves no kernel %s", f.client, f.kname)
		}
	}
	c := caseOf(t, k, f.rows, f.cols, f.x...)
	withTargets(&c, f.targets)
	withProbs(&c, f.probs)
	v := evaluate(k, c, opts...)
	if len(c.X) <= 16 {
		t.Logf("%s (%s):\n%s", k.Name, f.reason, v.Report())
	} else if f.index < len(v.Got) {
		t.Logf("%s (%s): output %d got %s, oracle %s", k.Name, f.reason, f.index, bits(v.Got[f.index]), bits(v.Want[f.index]))
	}
	if !hasFailure(v, f.class, f.index) {
		t.Errorf("%s no longer fails with class %q at output %d on %v: the finding does not reproduce", k.Name, f.class, f.index, c.X)
	}
	if len(v.Want) > f.index {
		w := v.Want[f.index]
		if !(w == f.exact || math.IsNaN(w) && math.IsNaN(f.exact)) {
			t.Errorf("oracle gives %s at output %d, hand computation %s", bits(w), f.index, bits(f.exact))
		}
	}
	ctl, ok := kernels.Lookup(f.control)
	if !ok {
		t.Fatalf("no bundled kernel %q", f.control)
	}
	cc := caseOf(t, ctl, f.rows, f.cols, f.x...)
	withTargets(&cc, f.targets)
	withProbs(&cc, f.probs)
	if cv := evaluate(ctl, cc, opts...); !cv.OK() {
		t.Errorf("control %s fails on the same case:\n%s", ctl.Name, cv.Report())
	}
}

func TestFinding_Gorgonia_SoftMaxRowMax_fp64(t *testing.T) {
	runFinding(t, "Gorgonia_SoftMaxRowMax_fp64")
}
func TestFinding_Gorgonia_SoftMaxRowMax_fp32(t *testing.T) {
	runFinding(t, "Gorgonia_SoftMaxRowMax_fp32")
}
func TestFinding_Gorgonia_LogSoftMaxRowMax_fp64(t *testing.T) {
	runFinding(t, "Gorgonia_LogSoftMaxRowMax_fp64")
}
func TestFinding_Gorgonia_LogSumExpMaxInsideLog(t *testing.T) {
	runFinding(t, "Gorgonia_LogSumExpMaxInsideLog")
}
func TestFinding_Spago_LogSoftmaxLogOfUnderflow_fp64(t *testing.T) {
	runFinding(t, "Spago_LogSoftmaxLogOfUnderflow_fp64")
}
func TestFinding_Spago_LogSoftmaxLogOfUnderflow_fp32(t *testing.T) {
	runFinding(t, "Spago_LogSoftmaxLogOfUnderflow_fp32")
}
func TestFinding_Spago_LogSumExpMasked_fp64(t *testing.T) {
	runFinding(t, "Spago_LogSumExpMasked_fp64")
}
func TestFinding_Gonum_LogSumExpNaNLost(t *testing.T) { runFinding(t, "Gonum_LogSumExpNaNLost") }
func TestFinding_Spago_SoftmaxSIMDExpFlush_fp32(t *testing.T) {
	runFinding(t, "Spago_SoftmaxSIMDExpFlush_fp32")
}
func TestFinding_Spago_LogSoftmaxSIMDLogZero_fp32(t *testing.T) {
	runFinding(t, "Spago_LogSoftmaxSIMDLogZero_fp32")
}
func TestFinding_Gomlx_LogSoftmaxTruncatedSum_bf16(t *testing.T) {
	runFinding(t, "Gomlx_LogSoftmaxTruncatedSum_bf16")
}
func TestFinding_Gomlx_SoftmaxBF16Accumulation_bf16(t *testing.T) {
	runFinding(t, "Gomlx_SoftmaxBF16Accumulation_bf16")
}
func TestFinding_Gonum_LogSumExpLogNotLog1p(t *testing.T) {
	runFinding(t, "Gonum_LogSumExpLogNotLog1p")
}
func TestFinding_Spago_LogSumExpLogNotLog1p_fp64(t *testing.T) {
	runFinding(t, "Spago_LogSumExpLogNotLog1p_fp64")
}
func TestFinding_Gorgonia_LogSoftMaxLogNotLog1p_fp64(t *testing.T) {
	runFinding(t, "Gorgonia_LogSoftMaxLogNotLog1p_fp64")
}
func TestFinding_Gomlx_LogSoftmaxLogNotLog1p_fp64(t *testing.T) {
	runFinding(t, "Gomlx_LogSoftmaxLogNotLog1p_fp64")
}

// TestFindingsHaveTests checks that every finding of the table has its TestFinding_ function, so
// that the README's commands stay valid.
func TestFindingsHaveTests(t *testing.T) {
	if len(findings) != 42 {
		t.Errorf("%d findings; update this count, the TestFinding_ functions and the README table together", len(findings))
	}
}
func TestFinding_Torch_LogSoftmaxBF16Sum(t *testing.T) { runFinding(t, "Torch_LogSoftmaxBF16Sum") }
func TestFinding_Torch_LogSoftmaxLogNotLog1p_fp32(t *testing.T) {
	runFinding(t, "Torch_LogSoftmaxLogNotLog1p_fp32")
}
func TestFinding_Torch_LogSumExpLogNotLog1p_fp32(t *testing.T) {
	runFinding(t, "Torch_LogSumExpLogNotLog1p_fp32")
}
func TestFinding_Torch_CrossEntropyLogNotLog1p_fp32(t *testing.T) {
	runFinding(t, "Torch_CrossEntropyLogNotLog1p_fp32")
}
func TestFinding_Scipy_LogSoftmaxFP16(t *testing.T) { runFinding(t, "Scipy_LogSoftmaxFP16") }
func TestFinding_Scipy_LogSumExpLogNotLog1p_fp64(t *testing.T) {
	runFinding(t, "Scipy_LogSumExpLogNotLog1p_fp64")
}

func TestFinding_Torch_SigmoidSubnormalFlush_fp32(t *testing.T) {
	runFinding(t, "Torch_SigmoidSubnormalFlush_fp32")
}
func TestFinding_Scipy_ExpitSubnormalFlush_fp32(t *testing.T) {
	runFinding(t, "Scipy_ExpitSubnormalFlush_fp32")
}
func TestFinding_Torch_BCEWithLogitsLogNotLog1p_fp32(t *testing.T) {
	runFinding(t, "Torch_BCEWithLogitsLogNotLog1p_fp32")
}

// withProbs makes c a BCE-with-logits case with targets probs and PyTorch's default options.
func withProbs(c *generators.Case, probs []float64) {
	if probs != nil {
		c.Probs = probs
		c.CE = generators.DefaultCEOptions()
	}
}

// withTargets makes c a cross-entropy case with class targets and PyTorch's default options.
func withTargets(c *generators.Case, targets []int) {
	if targets != nil {
		c.Targets = targets
		c.CE = generators.DefaultCEOptions()
	}
}
func TestFinding_Spago_SoftmaxSIMDNaNLost_fp32(t *testing.T) {
	runFinding(t, "Spago_SoftmaxSIMDNaNLost_fp32")
}
func TestFinding_Spago_LogSumExpSIMDNaNLost_fp32(t *testing.T) {
	runFinding(t, "Spago_LogSumExpSIMDNaNLost_fp32")
}
