package properties

import (
	"context"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ulpcheck/ulpcheck/fp"
	"github.com/ulpcheck/ulpcheck/generators"
	"github.com/ulpcheck/ulpcheck/kernels"
)

// The naive kernels (log(1 + exp(x)), log(1/(1 + exp(−x))), BCE through σ then log) fail with a
// 1-element counterexample classified overflow or NaN.
func TestNaiveSigmoidFamilyFails(t *testing.T) {
	for _, name := range []string{"softplus/naive/fp32", "softplus/naive/fp16", "bce/naive/fp32", "bce/naive/bf16", "bce/naive/fp16"} {
		t.Run(name, func(t *testing.T) {
			v, ok := find(t, mustLookup(t, name))
			if !ok {
				t.Fatal("the naive kernel passed")
			}
			if n := v.Case.Rows * v.Case.Cols; n != 1 {
				t.Errorf("minimal counterexample has %d elements, want 1:\n%s", n, v.Report())
			}
			if !hasClass(v, ClassOverflow, ClassNaN) {
				t.Errorf("classes %v, want overflow or NaN:\n%s", v.Classes(), v.Report())
			}
			t.Logf("minimal counterexample:\n%s", v.Report())
		})
	}
}

// The naive log-sigmoid log(1/(1 + exp(−x))) has two real defects. Its minimal counterexample
// (seed 1) is x = 88.72…: e^−x underflows, log(1/(1 + 0)) = 0 where the exact value
// −2.9387e−39 is a float32 subnormal: underflow by NUMERICS §10 (0 returned, nonzero
// representable exact value), which the classifier reports correctly. At x = −88.72… e^−x
// overflows and log(1/Inf) = −Inf where the exact value is finite: overflow. Both are asserted.
func TestNaiveLogSigmoidFails(t *testing.T) {
	k := mustLookup(t, "logsigmoid/naive/fp32")
	v, ok := find(t, k)
	if !ok {
		t.Fatal("the naive log-sigmoid passed")
	}
	if n := v.Case.Rows * v.Case.Cols; n != 1 {
		t.Errorf("minimal counterexample has %d elements, want 1:\n%s", n, v.Report())
	}
	if !hasClass(v, ClassUnderflow, ClassOverflow) {
		t.Errorf("classes %v, want underflow (x > 0) or overflow (x < 0):\n%s", v.Classes(), v.Report())
	}
	t.Logf("minimal counterexample:\n%s", v.Report())
	x := -float64(math.Float32frombits(0x42b17218)) // −88.72283935546875: e^88.72… overflows in float32
	c := generators.Case{Format: fp.FP32, Rows: 1, Cols: 1, X: []float64{x}}
	w := Evaluate(context.Background(), k, c)
	if !hasClass(w, ClassOverflow) {
		t.Errorf("x = %v: classes %v, want overflow:\n%s", x, w.Classes(), w.Report())
	}
	if s := Evaluate(context.Background(), mustLookup(t, "logsigmoid/stable/fp32"), c); !s.OK() {
		t.Errorf("the stable log-sigmoid fails on x = %v:\n%s", x, s.Report())
	}
}

// Plain float64 kernels rounded once into fp32 (written here, not bundled) pass: the bound is
// not tuned to the bundled code.
func plainSigmoidKernels() []*kernels.Kernel {
	r32 := func(y float64) float32 { return float32(y) }
	sp := func(x float64) float64 {
		if x > 20 {
			return x
		}
		return math.Max(x, 0) + math.Log1p(math.Exp(-math.Abs(x)))
	}
	sg := func(x float64) float64 {
		if x >= 0 {
			return 1 / (1 + math.Exp(-x))
		}
		return math.Exp(x) / (1 + math.Exp(x))
	}
	acc := kernels.WithAcc(fp.FP64)
	return []*kernels.Kernel{
		kernels.SoftplusScalar("plain/softplus/fp32", func(x float32) float32 { return r32(sp(float64(x))) }, acc),
		kernels.LogSigmoidScalar("plain/logsigmoid/fp32", func(x float32) float32 {
			y := -float64(x)
			return r32(-(math.Max(y, 0) + math.Log1p(math.Exp(-math.Abs(y)))))
		}, acc),
		kernels.SigmoidScalar("plain/sigmoid/fp32", func(x float32) float32 { return r32(sg(float64(x))) }, acc),
		kernels.SigmoidGradScalar("plain/sigmoidgrad/fp32", func(x float32) float32 {
			return r32(sg(float64(x)) * sg(-float64(x)))
		}, acc),
		kernels.BCEWithLogits("plain/bce/fp32", func(dst, x, tg []float32, rows, cols int, o kernels.BCEOptions) error {
			s := 0.0
			for i := range x {
				pw := 1.0
				if o.PosWeight != nil {
					pw = o.PosWeight[i%cols]
				}
				xi, ti := float64(x[i]), float64(tg[i])
				l := 0.0
				if xi != xi {
					l = xi // the zero-coefficient shortcuts below must not drop a NaN logit
				}
				if ti != 1 {
					l += (1 - ti) * (math.Max(xi, 0) + math.Log1p(math.Exp(-math.Abs(xi))))
				}
				if pw*ti != 0 {
					l += pw * ti * (math.Max(-xi, 0) + math.Log1p(math.Exp(-math.Abs(xi))))
				}
				if o.Reduction == kernels.ReduceNone {
					dst[i] = r32(l)
				}
				s += l
			}
			if o.Reduction == kernels.ReduceMean {
				s /= float64(len(x))
			}
			if o.Reduction != kernels.ReduceNone {
				dst[0] = r32(s)
			}
			return nil
		}, acc),
	}
}

// The plain float64 kernels of the two-class operations pass:
// rapid's default number of cases, or 100,000 with -ulpcheck.long (ULPCHECK_LONG=n for n);
// ULPCHECK_ONLY=substring restricts the kernels (one long run at a time on a small machine).
func TestSigmoidFamilyPasses(t *testing.T) {
	n := longChecks()
	if n > 0 {
		setFlag(t, "rapid.checks", strconv.Itoa(n))
	}
	// The bundled accurate kernels run in TestBundledAccurateKernelsPass.
	ks := plainSigmoidKernels()
	only := os.Getenv("ULPCHECK_ONLY")
	for _, k := range ks {
		if only != "" && !strings.Contains(k.Name, only) {
			continue
		}
		t.Run(k.Name, func(t *testing.T) {
			start := time.Now()
			Check(t, k)
			if n > 0 {
				t.Logf("%s: %d cases in %v", k.Name, n, time.Since(start))
			}
		})
	}
}
