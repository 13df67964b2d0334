package properties

import (
	"context"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ulpcheck/ulpcheck/fp"
	"github.com/ulpcheck/ulpcheck/generators"
	"github.com/ulpcheck/ulpcheck/kernels"
)

// TestFocusAgrees checks Focus's promise on every bundled kernel: for each property that the
// full evaluation of a case fails (and for accuracy, which a shrink of the worst case asks
// about), the focused evaluation gives the same largest ulp error and the same failures of that
// property, element by element. The broken kernels supply failures of every kind, metamorphic
// ones included (for which Focus must change nothing).
func TestFocusAgrees(t *testing.T) {
	cases := 40
	if testing.Short() {
		cases = 12
	}
	seen := map[string]bool{}
	for _, k := range kernels.Bundled() {
		gen := CaseGen(k, WithGenerators(generators.MaxLen(16)))
		for i := range cases {
			c := gen.Example(i)
			full := Evaluate(context.Background(), k, c)
			props := map[string]bool{PropAccuracy: true}
			for _, f := range full.Failures {
				props[f.Property] = true
			}
			for prop := range props {
				seen[prop] = true
				foc := Evaluate(context.Background(), k, c, Focus(prop))
				if math.Float64bits(foc.MaxUlp) != math.Float64bits(full.MaxUlp) {
					t.Fatalf("%s, case %d, Focus(%s): MaxUlp %v, full evaluation %v", k.Name, i, prop, foc.MaxUlp, full.MaxUlp)
				}
				if d := cmp.Diff(failuresOf(full, prop), failuresOf(foc, prop), cmpopts.EquateNaNs()); d != "" {
					t.Fatalf("%s, case %d, Focus(%s): failures differ (-full +focused):\n%s", k.Name, i, prop, d)
				}
			}
		}
	}
	// The kernels must have exercised the relations Focus skips and one it keeps.
	for _, p := range []string{PropAccuracy, PropNoNaN, PropShift, PropPermute} {
		if !seen[p] {
			t.Errorf("no case failed %s: the check did not cover it", p)
		}
	}
}

func failuresOf(v Verdict, prop string) []Failure {
	var fs []Failure
	for _, f := range v.Failures {
		if f.Property == prop {
			fs = append(fs, f)
		}
	}
	return fs
}

// Focus must skip the relations for a property they cannot decide: the focused evaluation calls
// the kernel once where the full one calls it for the case and its variants.
func TestFocusSkipsRelations(t *testing.T) {
	k := mustLookup(t, "softmax/shifted/fp32")
	calls := 0
	counted := *k
	counted.Fn = func(ctx context.Context, a *kernels.Args) ([]float64, error) {
		calls++
		return k.Fn(ctx, a)
	}
	c := generators.Case{Format: k.In, Rows: 2, Cols: 3, X: []float64{1, 2, 3, -1, 0.5, 4}}
	Evaluate(context.Background(), &counted, c)
	full := calls
	calls = 0
	Evaluate(context.Background(), &counted, c, Focus(PropAccuracy))
	if full < 3 || calls != 1 {
		t.Fatalf("kernel calls: %d in the full evaluation, %d focused on accuracy (want ≥ 3 and 1)", full, calls)
	}
	calls = 0
	Evaluate(context.Background(), &counted, c, Focus(PropShift))
	if calls != full {
		t.Fatalf("Focus(%s): %d kernel calls, the full evaluation %d", PropShift, calls, full)
	}
}

// verdictDiff returns go-cmp's difference of two verdicts, NaNs equal and timings ignored.
func verdictDiff(want, got Verdict) string {
	return cmp.Diff(want, got, cmpopts.EquateNaNs(), cmpopts.EquateComparable(fp.Format{}), cmpopts.IgnoreFields(Verdict{}, "KernelTime", "OracleTime"))
}

// TestEvaluatorMatchesEvaluate requires an Evaluator's verdicts to equal Evaluate's for the same
// options, on every bundled kernel (the broken ones supply failures), with and without options,
// and with one Evaluator reused across all the cases.
func TestEvaluatorMatchesEvaluate(t *testing.T) {
	cases := 10
	if testing.Short() {
		cases = 4
	}
	for _, opts := range [][]Option{nil, {WithTolerance(Strict(4)), Skip(PropPermute)}} {
		ev := NewEvaluator(opts...)
		for _, k := range kernels.Bundled() {
			gen := CaseGen(k, WithGenerators(generators.MaxLen(16)))
			for i := range cases {
				c := gen.Example(i)
				want, got := Evaluate(context.Background(), k, c, opts...), ev.Evaluate(context.Background(), k, c)
				if d := verdictDiff(want, got); d != "" {
					t.Fatalf("%s, case %d: the Evaluator's verdict differs from Evaluate's (-Evaluate +Evaluator):\n%s", k.Name, i, d)
				}
			}
		}
	}
}

// TestFirstFailuresAgrees checks FirstFailures's promise on every bundled kernel, alone and with
// Focus: the same MaxUlp and per-output results as the full evaluation and the same first
// failure of every property (alone, of every property the full evaluation fails); and that the
// cases had properties failing at several outputs, so that something was left out.
func TestFirstFailuresAgrees(t *testing.T) {
	cases := 30
	if testing.Short() {
		cases = 10
	}
	dropped := 0
	for _, k := range kernels.Bundled() {
		gen := CaseGen(k, WithGenerators(generators.MaxLen(64)))
		for i := range cases {
			c := gen.Example(i)
			full := Evaluate(context.Background(), k, c)
			first := map[string]Failure{}
			for _, f := range full.Failures {
				if _, ok := first[f.Property]; !ok {
					first[f.Property] = f
				}
			}
			for _, opts := range [][]Option{{FirstFailures()}, {FirstFailures(), Focus(PropAccuracy)}} {
				got := Evaluate(context.Background(), k, c, opts...)
				if math.Float64bits(got.MaxUlp) != math.Float64bits(full.MaxUlp) {
					t.Fatalf("%s, case %d: MaxUlp %v, full evaluation %v", k.Name, i, got.MaxUlp, full.MaxUlp)
				}
				if d := cmp.Diff([][]float64{full.Got, full.Want, full.Ulp, full.Bound}, [][]float64{got.Got, got.Want, got.Ulp, got.Bound}, cmpopts.EquateNaNs()); d != "" {
					t.Fatalf("%s, case %d: per-output results differ (-full +first):\n%s", k.Name, i, d)
				}
				seen := map[string]bool{}
				for _, f := range got.Failures {
					if seen[f.Property] {
						continue
					}
					seen[f.Property] = true
					if d := cmp.Diff(first[f.Property], f, cmpopts.EquateNaNs()); d != "" {
						t.Fatalf("%s, case %d: first failure of %s differs (-full +first):\n%s", k.Name, i, f.Property, d)
					}
				}
				if len(opts) == 1 {
					for p := range first {
						if !seen[p] {
							t.Fatalf("%s, case %d: no failure of %s, the full evaluation has one", k.Name, i, p)
						}
					}
					dropped += len(full.Failures) - len(got.Failures)
				}
			}
		}
	}
	if dropped == 0 {
		t.Fatal("no case had a property failing twice: FirstFailures left nothing out")
	}
	t.Logf("failures left out: %d", dropped)
}
