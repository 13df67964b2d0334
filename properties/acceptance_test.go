package properties

import (
	"context"
	"math"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/ulpcheck/ulpcheck/fp"
	"github.com/ulpcheck/ulpcheck/generators"
	"github.com/ulpcheck/ulpcheck/kernels"
)

func mustLookup(t *testing.T, name string) *kernels.Kernel {
	t.Helper()
	k, ok := kernels.Lookup(name)
	if !ok {
		t.Fatalf("no bundled kernel %q", name)
	}
	return k
}

func hasClass(v Verdict, cs ...Class) bool {
	for _, c := range v.Classes() {
		if slices.Contains(cs, c) {
			return true
		}
	}
	return false
}

// The seed article's naive softmax must fail within rapid's default number of checks, as an
// overflow or a NaN, on a counterexample of at most 3 elements.
func TestNaiveSoftmaxFails(t *testing.T) {
	for _, name := range []string{"softmax/naive/fp32", "softmax/naive/fp16"} {
		t.Run(name, func(t *testing.T) {
			v, ok := find(t, mustLookup(t, name))
			if !ok {
				t.Fatal("the naive softmax passed: the properties cannot see overflow")
			}
			if n := v.Case.Rows * v.Case.Cols; n > 3 {
				t.Errorf("minimal counterexample has %d elements, want ≤ 3:\n%s", n, v.Report())
			}
			if !hasClass(v, ClassOverflow, ClassNaN) {
				t.Errorf("classes %v, want overflow or NaN:\n%s", v.Classes(), v.Report())
			}
			t.Logf("minimal counterexample:\n%s", v.Report())
		})
	}
}

func flatCase(f fp.Format, n int) generators.Case {
	return generators.Case{Format: f, Class: "test/flat", Rows: 1, Cols: n, X: make([]float64, n), RowClasses: []generators.Class{"test/flat"}}
}

// The fp16-accumulating softmax fails on long flat rows (Σ stalls at 2048).
func TestFP16AccFailsOnFlatRows(t *testing.T) {
	k := mustLookup(t, "softmax/fp16acc/fp16")
	v := Evaluate(context.Background(), k, flatCase(fp.FP16, 4096))
	if v.OK() || !hasClass(v, ClassPrecision) {
		t.Fatalf("flat row of 4096: classes %v, want precision loss:\n%s", v.Classes(), v.Report())
	}
	if v := Evaluate(context.Background(), k, flatCase(fp.FP16, 1024)); !v.OK() {
		t.Errorf("flat row of 1024 (Σ = 1024 is exact in fp16) fails:\n%s", v.Report())
	}
	if testing.Short() {
		return
	}
	if v, ok := find(t, k); !ok {
		t.Error("rapid did not find the fp16 accumulation failure within the default checks")
	} else {
		t.Logf("found by rapid: classes %v, %d×%d", v.Classes(), v.Case.Rows, v.Case.Cols)
	}
}

// onlineNoGuard is the online softmax without FlashAttention's −Inf guard, a test-only mutant:
// a row that starts with −Inf computes exp(−Inf − (−Inf)) = NaN.
func onlineNoGuard(dst, x []float32) {
	m := float32(math.Inf(-1))
	var d float32
	for _, v := range x {
		mn := m
		if v > mn || v != v {
			mn = v
		}
		d = float32(d*float32(math.Exp(float64(m-mn)))) + float32(math.Exp(float64(v-mn)))
		m = mn
	}
	for i, v := range x {
		dst[i] = float32(math.Exp(float64(v-m))) / d
	}
}

func TestOnlineWithoutGuardFails(t *testing.T) {
	k := kernels.Softmax("online-no-guard", onlineNoGuard, kernels.WithAlgorithm(kernels.AlgOnline), kernels.WithMask(fp.MaskZero))
	c := generators.Case{Format: fp.FP32, Rows: 1, Cols: 3, X: []float64{math.Inf(-1), 1, 2}, RowClasses: []generators.Class{"test"}}
	v := Evaluate(context.Background(), k, c)
	if v.OK() || !hasClass(v, ClassNaN) {
		t.Fatalf("row [−Inf 1 2]: classes %v, want NaN:\n%s", v.Classes(), v.Report())
	}
	if v := Evaluate(context.Background(), mustLookup(t, "softmax/online/fp32"), c); !v.OK() {
		t.Fatalf("the guarded online softmax fails on [−Inf 1 2]:\n%s", v.Report())
	}
	v, ok := find(t, k)
	if !ok {
		t.Fatal("rapid did not find the missing −Inf guard")
	}
	// The row that fails starts with −Inf, or does once reversed (the permutation property).
	hasNegInf := false
	for _, x := range v.Case.X {
		hasNegInf = hasNegInf || math.IsInf(x, -1)
	}
	if !hasNegInf {
		t.Errorf("the minimal counterexample has no −Inf:\n%s", v.Report())
	}
	t.Logf("minimal counterexample:\n%s", v.Report())
}

// Every accurate bundled kernel passes: rapid's default number of cases, or 100,000 with
// -ulpcheck.long (ULPCHECK_LONG=n for n).
func TestBundledAccurateKernelsPass(t *testing.T) {
	n := longChecks()
	if n > 0 {
		setFlag(t, "rapid.checks", strconv.Itoa(n))
	}
	for _, k := range kernels.Bundled() {
		if k.Broken != "" {
			continue
		}
		t.Run(k.Name, func(t *testing.T) {
			if n > 0 {
				t.Parallel() // long runs use every core (-parallel)
			}
			start := time.Now()
			Check(t, k)
			if n > 0 {
				t.Logf("%s: %d cases in %v", k.Name, n, time.Since(start))
			}
		})
	}
}

// A naive softmax row [88.72…, 88.72…]: each exp is finite, their sum overflows, every output is
// w/Inf = 0. The class is overflow, not underflow (the exact outputs are ½).
func TestZeroRowIsOverflow(t *testing.T) {
	x := float64(math.Float32frombits(0x42b17214))
	c := generators.Case{Format: fp.FP32, Rows: 1, Cols: 2, X: []float64{x, x}}
	v := Evaluate(context.Background(), mustLookup(t, "softmax/naive/fp32"), c)
	if !hasClass(v, ClassOverflow) || hasClass(v, ClassUnderflow) {
		t.Fatalf("classes %v, want overflow:\n%s", v.Classes(), v.Report())
	}
}
