package properties

import (
	"context"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/x448/float16"

	"github.com/ulpcheck/ulpcheck/fp"
	"github.com/ulpcheck/ulpcheck/generators"
	"github.com/ulpcheck/ulpcheck/kernels"
	"github.com/ulpcheck/ulpcheck/loss"
)

// The naive fp16 sum of squares has two real defects. Over every class its minimal
// counterexample (seed 1) is one subnormal whose square underflows fp16 (norm 0: underflow).
// Over the class of squares that overflow, it is at most 2 elements classified overflow (a
// square ≥ 256² = 65,536 is +Inf in fp16 while the norm is finite). Both are asserted.
func TestNaiveFP16NormFails(t *testing.T) {
	k := mustLookup(t, "gradnorm/naive/fp16")
	u, ok := find(t, k)
	if !ok {
		t.Fatal("the naive fp16 norm passed")
	}
	if n := u.Case.Rows * u.Case.Cols; n > 2 || !hasClass(u, ClassUnderflow, ClassOverflow) {
		t.Errorf("minimal counterexample: %d elements, classes %v, want ≤ 2, underflow or overflow:\n%s", n, u.Classes(), u.Report())
	}
	v, ok := find(t, k, WithGenerators(generators.Only(generators.GradSqOverAcc)))
	if !ok {
		t.Fatal("the naive fp16 norm passed")
	}
	if n := v.Case.Rows * v.Case.Cols; n > 2 {
		t.Errorf("minimal counterexample has %d elements, want ≤ 2:\n%s", n, v.Report())
	}
	if !hasClass(v, ClassOverflow) {
		t.Errorf("classes %v, want overflow:\n%s", v.Classes(), v.Report())
	}
	t.Logf("minimal counterexample:\n%s", v.Report())
	// {256}: the naive norm is +Inf, Blue's and the fp32-accumulating ones give 256.
	c := generators.Case{Format: fp.FP16, Rows: 1, Cols: 1, X: []float64{256}, Norm: loss.NormOptions{P: 2}}
	if w := Evaluate(context.Background(), k, c); !hasClass(w, ClassOverflow) {
		t.Errorf("{256}: classes %v, want overflow:\n%s", w.Classes(), w.Report())
	}
	for _, name := range []string{"gradnorm/blue/fp16", "gradnorm/fp32acc/fp16"} {
		if w := Evaluate(context.Background(), mustLookup(t, name), c); !w.OK() {
			t.Errorf("%s fails on {256}:\n%s", name, w.Report())
		}
	}
}

// error_if_nonfinite: the naive norm raises for {256} (a finite norm): norm-nonfinite, overflow;
// Blue's norm raises for {1, Inf} and not for {256}; a kernel that never raises is caught.
func TestNormNonfinite(t *testing.T) {
	o := loss.NormOptions{P: 2, ErrorIfNonfinite: true}
	c := generators.Case{Format: fp.FP16, Rows: 1, Cols: 1, X: []float64{256}, Norm: o}
	v := Evaluate(context.Background(), mustLookup(t, "gradnorm/naive/fp16"), c)
	if !hasProp(v, PropNormNonfinite) || !hasClass(v, ClassOverflow) {
		t.Errorf("naive {256} with error_if_nonfinite: %v, want norm-nonfinite overflow:\n%s", v.Classes(), v.Report())
	}
	blue := mustLookup(t, "gradnorm/blue/fp16")
	for _, x := range [][]float64{{256}, {1, math.Inf(1)}, {math.NaN(), 3}} {
		c := generators.Case{Format: fp.FP16, Rows: 1, Cols: len(x), X: x, Norm: o}
		if w := Evaluate(context.Background(), blue, c); !w.OK() {
			t.Errorf("%s on %v:\n%s", blue.Name, x, w.Report())
		}
	}
	never := kernels.GradNormErr("never-raises", func(ts [][]float32, _ kernels.NormOptions) (float32, error) {
		return plainNorm(ts), nil
	})
	c = generators.Case{Format: fp.FP32, Rows: 1, Cols: 2, X: []float64{1, math.Inf(-1)}, Norm: o}
	if w := Evaluate(context.Background(), never, c); !hasProp(w, PropNormNonfinite) || !hasClass(w, ClassNonFiniteLost) {
		t.Errorf("a kernel ignoring error_if_nonfinite on {1, −Inf}: %v, want norm-nonfinite:\n%s", w.Classes(), w.Report())
	}
}

// plainNorm is the plain float64 norm rounded once to float32: Σx² in float64 (squares of
// float32 values are exact in float64 and cannot overflow or underflow it), one root, one
// rounding; p = 2 only.
func plainNorm(ts [][]float32) float32 {
	var s float64
	for _, t := range ts {
		for _, x := range t {
			s += float64(x) * float64(x)
		}
	}
	return float32(math.Sqrt(s))
}

func hasProp(v Verdict, p string) bool {
	for _, f := range v.Failures {
		if f.Property == p {
			return true
		}
	}
	return false
}

// plainNormKernels are the plain float64 norm rounded once (written here, not bundled) for fp32
// and fp16 gradients, as a user would write them with the no-error adapter.
func plainNormKernels() []*kernels.Kernel {
	only2 := func(p float64) bool { return p == 2 }
	return []*kernels.Kernel{
		kernels.GradNormErr("plain-f64/fp32", func(ts [][]float32, o kernels.NormOptions) (float32, error) {
			if !only2(o.Order()) {
				return 0, kernels.ErrUnsupported
			}
			n := plainNorm(ts)
			if o.ErrorIfNonfinite && (math.IsInf(float64(n), 0) || n != n) {
				return n, kernels.ErrNonfinite
			}
			return n, nil
		}, kernels.WithAcc(fp.FP64)),
		kernels.GradNorm("plain-f64/fp16", func(ts [][]float16.Float16, p float64) float16.Float16 {
			var s, m float64 // Σx² or Σ|x|, and max |x| with NaN kept
			for _, t := range ts {
				for _, v := range t {
					x := math.Abs(float64(v.Float32()))
					if p == 1 {
						s += x
					} else {
						s += x * x
					}
					if x > m || x != x {
						m = x
					}
				}
			}
			if p == 2 {
				s = math.Sqrt(s)
			} else if math.IsInf(p, 1) {
				s = m
			}
			r, _ := fp.FP16.RoundFloat64(s)
			return float16.Fromfloat32(float32(r))
		}, kernels.WithAcc(fp.FP64)),
	}
}

// The plain float64 norms pass: rapid's default number of cases, or 100,000 with
// -ulpcheck.long (ULPCHECK_LONG=n for n); ULPCHECK_ONLY=substring restricts the kernels. The
// bundled accurate norm and clip kernels run in TestBundledAccurateKernelsPass.
func TestPlainNormPasses(t *testing.T) {
	n := longChecks()
	if n > 0 {
		setFlag(t, "rapid.checks", strconv.Itoa(n))
	}
	only := os.Getenv("ULPCHECK_ONLY")
	for _, k := range plainNormKernels() {
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

// Clipping the loss-scaled gradients (before the scaler's unscale) is caught: on {3, 4} with
// max_norm 1000 (N = 5, within max_norm) the accurate kernel returns the gradients unchanged,
// the clip-before-unscale kernel scales them by 1000/(2^16·5) and fails clip-order; rapid finds
// it as well.
func TestClipOrderWithScaler(t *testing.T) {
	c := generators.Case{Format: fp.FP16, Rows: 1, Cols: 2, X: []float64{3, 4}, Norm: loss.NormOptions{P: 2, MaxNorm: 1000}}
	if v := Evaluate(context.Background(), mustLookup(t, "clipnorm/blue/fp16"), c); !v.OK() {
		t.Errorf("clipnorm/blue/fp16 on {3, 4}, max_norm 1000:\n%s", v.Report())
	}
	bad := mustLookup(t, "clipnorm/scaled/fp16")
	v := Evaluate(context.Background(), bad, c)
	if !hasProp(v, PropClipOrder) {
		t.Errorf("clip before unscale on {3, 4}: properties %v, want clip-order:\n%s", v.Failures, v.Report())
	}
	if w, ok := find(t, bad); !ok {
		t.Error("rapid did not catch the clip-before-unscale kernel")
	} else {
		t.Logf("minimal counterexample:\n%s", w.Report())
	}
}

// A clip kernel that forgets to clamp the coefficient to 1 amplifies small gradients: caught by
// no-amplify (and accuracy) on {3, 4} with max_norm 10.
func TestClipNeverAmplifies(t *testing.T) {
	k := kernels.ClipGradNorm("unclamped", func(ts [][]float32, maxNorm, p float64) float32 {
		n := plainNorm(ts)
		c := float32(maxNorm) / (n + 1e-6)
		for _, t := range ts {
			for i := range t {
				t[i] *= c
			}
		}
		return n
	})
	c := generators.Case{Format: fp.FP32, Rows: 1, Cols: 2, X: []float64{3, 4}, Norm: loss.NormOptions{P: 2, MaxNorm: 10}}
	v := Evaluate(context.Background(), k, c)
	if !hasProp(v, PropNoAmplify) {
		t.Errorf("unclamped clip on {3, 4}: %v, want no-amplify:\n%s", v.Classes(), v.Report())
	}
	// Clipping {768, 1024} (fp16, N = 1280) to 640 gives {384, 512}: norm ≤ max_norm, same direction.
	c = generators.Case{Format: fp.FP16, Rows: 2, Cols: 1, X: []float64{768, 1024}, Norm: loss.NormOptions{P: 2, MaxNorm: 640}}
	w := Evaluate(context.Background(), mustLookup(t, "clipnorm/blue/fp16"), c)
	if !w.OK() || w.Got[0] != 384 || w.Got[1] != 512 {
		t.Errorf("clipnorm/blue/fp16 on {768, 1024} to 640: got %v, want [384 512]:\n%s", w.Got, w.Report())
	}
}
