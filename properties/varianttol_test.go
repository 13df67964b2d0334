package properties

import (
	"math"
	"testing"

	"github.com/ulpcheck/ulpcheck/generators"
	"github.com/ulpcheck/ulpcheck/kernels"
)

// TestVariantTolerances holds shiftKeepsTol and permuteKeepsTol to their promise: wherever they
// let metamorphic reuse the case's tolerances (reversed for the permutation), those are bit for
// bit the tolerances computed afresh for the variant, for every bundled row kernel, under each
// tolerance model, on the generators' cases (rows with −Inf, ties, huge spreads).
func TestVariantTolerances(t *testing.T) {
	cases := 60
	if testing.Short() {
		cases = 20
	}
	models := []Tolerance{Condition(0), Strict(1), AssertClose(1e-3, 1e-5), FormatDefaults()}
	same := func(x, y []float64) int {
		for i := range x {
			if math.Float64bits(x[i]) != math.Float64bits(y[i]) {
				return i
			}
		}
		return -1
	}
	reused := map[string]int{}
	for _, bk := range kernels.Bundled() {
		if kernels.IsElementwise(bk.Op) || kernels.IsGradNorm(bk.Op) {
			continue
		}
		gen := CaseGen(bk, WithGenerators(generators.MaxLen(64)))
		// The bounds depend on the algorithm class, which the bundled kernels do not all
		// cover for every operation: each kernel is checked as if of each class.
		for _, alg := range []kernels.Algorithm{kernels.AlgShifted, kernels.AlgUnshifted, kernels.AlgExpLSE, kernels.AlgOnline} {
			k := *bk
			k.Algorithm = alg
			for i := range cases {
				c := gen.Example(i)
				if applies(&k, c) != "" {
					continue
				}
				a := ArgsOf(c)
				ex, err := Exact(&k, a)
				if err != nil {
					t.Fatalf("%s, case %d: %v", k.Name, i, err)
				}
				for _, m := range models {
					tol := tolerances(m, &k, a, approxOf(ex))
					if sc, ok := shiftConstant(&k, a); ok && shiftKeepsTol(m, &k) {
						b := shiftedArgs(a, sc)
						exb := ex
						if k.Op == kernels.OpLSE {
							if exb, err = Exact(&k, b); err != nil {
								t.Fatal(err)
							}
						}
						fresh := tolerances(m, &k, b, approxOf(exb))
						if j := same(tol, fresh); j >= 0 {
							t.Fatalf("%s as %v, case %d, %v, x + %g: tolerance %d reused as %g, computed %g\n%s",
								k.Name, alg, i, m, sc, j, tol[j], fresh[j], c.String())
						}
						reused["shift "+k.Op.String()]++
					}
					if a.Cols >= 2 && permuteKeepsTol(m, &k) {
						b := reversedArgs(a)
						exb, tolb := reversedOutputs(&k, a, ex, tol)
						fresh := tolerances(m, &k, b, approxOf(exb))
						if j := same(tolb, fresh); j >= 0 {
							t.Fatalf("%s as %v, case %d, %v, columns reversed: tolerance %d reused as %g, computed %g\n%s",
								k.Name, alg, i, m, j, tolb[j], fresh[j], c.String())
						}
						reused["permute "+k.Op.String()]++
					}
				}
			}
		}
	}
	for _, key := range []string{"shift softmax", "shift logsoftmax", "shift softmaxbwd", "shift cegrad", "permute softmax", "permute logsoftmax", "permute lse", "permute ce"} {
		if reused[key] == 0 {
			t.Errorf("no reuse checked for %s (%v)", key, reused)
		}
	}
}
