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
	cases := 12
	if testing.Short() {
		cases = 4
	}
	var reused, variantFails int
	for _, tol := range []Tolerance{{}, Strict(2), AssertClose(1.3e-6, 1e-5)} {
		opts := []Option{}
		if tol != (Tolerance{}) {
			opts = append(opts, WithTolerance(tol))
		}
		fresh, reuse := newConfig(opts), newConfig(opts)
		fresh.noReuse = true
		reuse.reused = &reused
		for _, k := range kernels.Bundled() {
			for _, gopts := range [][]generators.Option{{generators.MaxLen(16)}, {generators.Lengths(64)}} {
				gen := CaseGen(k, WithGenerators(gopts...))
				for i := range cases {
					c := gen.Example(i)
					want := evaluate(context.Background(), k, c, fresh)
					got := evaluate(context.Background(), k, c, reuse)
					if d := verdictDiff(want, got); d != "" {
						t.Fatalf("%s, case %d: the verdict with reused judgements differs (-judged again +reused):\n%s", k.Name, i, d)
					}
					for _, f := range want.Failures {
						if f.Property == PropShift || f.Property == PropPermute || f.Property == PropBatch {
							variantFails++
							break
						}
					}
				}
			}
		}
	}
	t.Logf("variant outputs not judged again: %d; cases with a variant failure: %d", reused, variantFails)
	if reused == 0 {
		t.Error("no variant output reused the case's judgement")
	}
	if variantFails == 0 {
		t.Error("no case had a variant failure: the test cannot tell whether reuse hides one")
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
