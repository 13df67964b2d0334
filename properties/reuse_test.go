package properties

import (
	"context"
	"sync"
	"testing"

	"github.com/ulpcheck/ulpcheck/generators"
	"github.com/ulpcheck/ulpcheck/kernels"
)

// TestVariantReuseMatchesJudge requires that the metamorphic variants, which do not judge again
// an output that matches the case's own passing judgement (sameAs), give the same verdicts as
// variants that judge every output: every bundled kernel, the accurate and the broken ones,
// under the three tolerance models (the permutation and batch variants recompute some of their
// tolerances), on cases of up to 16 columns and of exactly 64. It also requires that outputs
// were reused, and that some cases had variant failures (the reuse must not hide them).
func TestVariantReuseMatchesJudge(t *testing.T) {
	var reused, variantFails int
	sameVerdicts(t, "reused judgements", func(fresh, reuse *config) {
		fresh.noReuse = true
		reuse.reused = &reused
	}, func(want Verdict) {
		for _, f := range want.Failures {
			if f.Property == PropShift || f.Property == PropPermute || f.Property == PropBatch {
				variantFails++
				break
			}
		}
	})
	t.Logf("variant outputs not judged again: %d; cases with a variant failure: %d", reused, variantFails)
	if reused == 0 {
		t.Error("no variant output reused the case's judgement")
	}
	if variantFails == 0 {
		t.Error("no case had a variant failure: the test cannot tell whether reuse hides one")
	}
}

// TestJudgeFiniteMatchesJudge requires that judging through judgeFinite, the passing elements'
// shortcut, gives the verdicts of judge's general path, on the cases of
// TestVariantReuseMatchesJudge; the broken kernels supply failing elements of every class.
func TestJudgeFiniteMatchesJudge(t *testing.T) {
	classes := map[Class]bool{}
	sameVerdicts(t, "judgeFinite", func(slow, _ *config) { slow.noFastJudge = true }, func(want Verdict) {
		for _, f := range want.Failures {
			classes[f.Class] = true
		}
	})
	for _, c := range []Class{ClassNaN, ClassOverflow, ClassUnderflow, ClassPrecision} {
		if !classes[c] {
			t.Errorf("no failure of class %s: the test cannot tell whether judgeFinite hides one", c)
		}
	}
}

// sameVerdicts evaluates cases of every bundled kernel, of up to 16 columns and of exactly 64,
// under the three tolerance models, with two configurations that set differs, and requires
// their verdicts to be equal (go-cmp); each is given every verdict of the first.
func sameVerdicts(t *testing.T, what string, set func(base, alt *config), each func(want Verdict)) {
	t.Helper()
	cases := 12
	if testing.Short() {
		cases = 4
	}
	for _, tol := range []Tolerance{{}, Strict(2), AssertClose(1.3e-6, 1e-5)} {
		opts := []Option{}
		if tol != (Tolerance{}) {
			opts = append(opts, WithTolerance(tol))
		}
		base, alt := newConfig(opts), newConfig(opts)
		set(base, alt)
		for _, k := range kernels.Bundled() {
			for _, gopts := range [][]generators.Option{{generators.MaxLen(16)}, {generators.Lengths(64)}} {
				gen := CaseGen(k, WithGenerators(gopts...))
				for i := range cases {
					c := gen.Example(i)
					want := evaluate(context.Background(), k, c, base)
					got := evaluate(context.Background(), k, c, alt)
					if d := verdictDiff(want, got); d != "" {
						t.Fatalf("%s, case %d: the verdict with %s differs (-without +with):\n%s", k.Name, i, what, d)
					}
					each(want)
				}
			}
		}
	}
}

// TestScratchCarriesNothing requires that an evaluation's verdict does not depend on what the
// pooled scratch (exact values, tolerances, row flags) held before: every case of a sequence that
// alternates long and short rows, softmax and log-softmax, the accurate and the broken kernels,
// under two tolerance models, gets the verdict it gets from a scratch that has never been used.
func TestScratchCarriesNothing(t *testing.T) {
	names := []string{"softmax/shifted/fp32", "logsoftmax/shifted/bf16", "softmax/naive/fp16", "logsoftmax/shifted/fp16", "softmax/naive/bf16"}
	var ks []*kernels.Kernel
	for _, n := range names {
		k, ok := kernels.Lookup(n)
		if !ok {
			t.Fatalf("no bundled kernel %s", n)
		}
		ks = append(ks, k)
	}
	for _, opts := range [][]Option{nil, {WithTolerance(Strict(2))}} {
		cfg := newConfig(opts)
		for i := range 24 {
			k := ks[i%len(ks)]
			gopts := []generators.Option{generators.Lengths(200)}
			if i%3 == 1 {
				gopts = []generators.Option{generators.MaxLen(8)}
			}
			c := CaseGen(k, WithGenerators(gopts...)).Example(i)
			got := evaluate(context.Background(), k, c, cfg) // the scratch that the previous case left
			scratchPool = sync.Pool{New: func() any { return new(scratch) }}
			want := evaluate(context.Background(), k, c, cfg) // a fresh scratch
			if d := verdictDiff(want, got); d != "" {
				t.Fatalf("%s, case %d: the verdict after other cases differs (-fresh scratch +reused):\n%s", k.Name, i, d)
			}
		}
	}
}
