package properties

import (
	"context"
	"math"
	"testing"

	"github.com/ulpcheck/ulpcheck/fp"
	"github.com/ulpcheck/ulpcheck/generators"
	"github.com/ulpcheck/ulpcheck/kernels"
)

// TestInjectedErrorFails shows that each default bound has teeth: per operation and format, the
// bundled accurate kernel on a row of small spread passes, and the same kernel with one output
// moved k ulps, k the smallest whole number of ulps that the bound on that output cannot absorb
// (⌈bound + ½⌉: the kernel's own error is at most ½ulp there), fails as precision loss. The k
// found must stay small: maxK is the first-order bound of each algorithm on this row (times the
// safety factor 2) rounded up, 2 for fp16/bf16 kernels that accumulate in fp32; a change that
// loosens a bound past it fails here. Measured k (fp32, fp64): softmax 16, log-softmax 13, LSE 5,
// cross-entropy 12, softmax backward 35, cross-entropy gradient 27; fp16 and bf16: 2.
func TestInjectedErrorFails(t *testing.T) {
	x := []float64{0.5, -0.25, 1.25, 0.125, -1}
	dy := []float64{0.75, -0.5, 0.25, 1, -0.125}
	ce := generators.DefaultCEOptions()
	for _, tc := range []struct {
		name string // bundled kernel, without its format
		maxK int
	}{
		{"softmax/shifted", 16},
		{"logsoftmax/shifted", 16},
		{"lse/shifted", 8},
		{"ce/fused", 12},
		{"softmaxbwd", 36},
		{"cegrad", 28},
	} {
		for _, f := range []fp.Format{fp.FP16, fp.BF16, fp.FP32, fp.FP64} {
			name := tc.name + "/" + f.String()
			t.Run(name, func(t *testing.T) {
				k := mustLookup(t, name)
				c := generators.Case{Format: f, Class: "test/injected", Rows: 1, Cols: len(x), X: x,
					RowClasses: make([]generators.Class, 1)}
				switch k.Op {
				case kernels.OpSoftmaxBackward:
					c.DY = dy
				case kernels.OpCrossEntropy, kernels.OpCrossEntropyGrad:
					c.Targets, c.CE = []int{2}, ce
				}
				v := Evaluate(context.Background(), k, c)
				if !v.OK() || v.Skipped != "" {
					t.Fatalf("the accurate kernel fails (skipped %q):\n%s", v.Skipped, v.Report())
				}
				// The output whose bound is smallest in ulps, among the nonzero ones.
				i := -1
				for j, b := range v.Bound {
					if v.Want[j] != 0 && !math.IsNaN(b) && (i < 0 || b < v.Bound[i]) {
						i = j
					}
				}
				if i < 0 {
					t.Fatalf("no output with a bound:\n%s", v.Report())
				}
				kk := int(math.Ceil(v.Bound[i] + 0.5))
				if lim := tc.maxK; (f == fp.FP16 || f == fp.BF16) && kk > 2 || kk > lim {
					t.Errorf("output %d: bound %.4g ulp lets %d ulps through, want ≤ %d", i, v.Bound[i], kk-1, tc.maxK)
				}
				off := *k
				off.Name = name + "+injected"
				out := k.OutFormat()
				off.Fn = func(ctx context.Context, a *kernels.Args) ([]float64, error) {
					y, err := k.Fn(ctx, a)
					if err == nil && i < len(y) {
						for range kk {
							y[i] = out.Next(y[i])
						}
					}
					return y, err
				}
				w := Evaluate(context.Background(), &off, c)
				failed := false
				for _, fl := range w.Failures {
					failed = failed || fl.Property == PropAccuracy && fl.Class == ClassPrecision && fl.Index == i
				}
				if !failed {
					t.Errorf("output %d moved %d ulps (bound %.4g ulp) is not an accuracy failure:\n%s", i, kk, v.Bound[i], w.Report())
				}
				t.Logf("output %d: bound %.4g ulp; %d ulps injected fail", i, v.Bound[i], kk)
			})
		}
	}
}
