package generators

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/ulpcheck/ulpcheck/fp"
	"pgregory.net/rapid"
)

// TestFlatMatchesGrouped draws the same seeds with and without Flat from every generator that
// draws grouped elements or rows, and requires the same values; it also requires that the
// seeds meet draws that give up and are retried, so that group's emulation of rapid.Custom's
// retries is compared too (a flat draw that does not retry fails it; how many tries it makes
// matters only after several successive give-ups, which TestGroupRetriesAsCustom makes).
func TestFlatMatchesGrouped(t *testing.T) {
	seeds := 3000
	if testing.Short() {
		seeds = 600
	}
	type pair struct {
		name          string
		grouped, flat func(seed int) any
	}
	var gens []pair
	for _, f := range []fp.Format{fp.FP16, fp.BF16, fp.FP32, fp.E4M3} {
		for name, mk := range map[string]func(...Option) func(int) any{
			"Row":   func(o ...Option) func(int) any { g := Row(f, o...); return func(s int) any { return g.Example(s) } },
			"Batch": func(o ...Option) func(int) any { g := Batch(f, o...); return func(s int) any { return g.Example(s) } },
			"Backward": func(o ...Option) func(int) any {
				g := Backward(f, o...)
				return func(s int) any { return g.Example(s) }
			},
			"CrossEntropy": func(o ...Option) func(int) any {
				g := CrossEntropy(f, o...)
				return func(s int) any { return g.Example(s) }
			},
			"GradStep": func(o ...Option) func(int) any {
				g := GradStepGen(f, o...)
				return func(s int) any { return g.Example(s) }
			},
		} {
			gens = append(gens, pair{fmt.Sprintf("%s(%s)", name, f), mk(MaxLen(80)), mk(MaxLen(80), Flat())})
		}
	}
	before := flatRetries.Load()
	for _, g := range gens {
		t.Run(g.name, func(t *testing.T) {
			for s := range seeds {
				want, got := g.grouped(s), g.flat(s)
				if d := cmp.Diff(want, got, cmpopts.EquateNaNs(), cmpopts.EquateComparable(fp.Format{})); d != "" {
					t.Fatalf("seed %d: Flat draws another value (-grouped +flat):\n%s", s, d)
				}
			}
		})
	}
	if n := flatRetries.Load() - before; n == 0 {
		t.Errorf("no draw gave up and was retried in %d seeds of %d generators: the retry path is untested", seeds, len(gens))
	} else {
		t.Logf("%d retried draws", n)
	}
}

// TestGroupRetriesAsCustom makes an element give up k times in a row inside a row-level draw,
// and requires the flat draw to make the same calls in the same order as rapid.Custom: retry the
// element while it has tries left, then give up so that the row is drawn again.
func TestGroupRetriesAsCustom(t *testing.T) {
	for k := range 13 {
		trace := func(flat bool) []string {
			var log []string
			calls := 0
			elem := func(t *rapid.T) bool {
				calls++
				log = append(log, fmt.Sprint("elem ", calls))
				if calls <= k {
					return rapid.Bool().Filter(func(bool) bool { return false }).Draw(t, "never")
				}
				return rapid.Bool().Draw(t, "b")
			}
			var eg *rapid.Generator[bool]
			if !flat {
				eg = rapid.Custom(elem)
			}
			rapid.Custom(func(t *rapid.T) bool {
				log = append(log, "row")
				rapid.Bool().Draw(t, "a")
				return group(flat, t, eg, elem, "x")
			}).Example(0)
			return log
		}
		if d := cmp.Diff(trace(false), trace(true)); d != "" {
			t.Errorf("an element that gives up %d times: the flat draw differs from rapid.Custom's (-Custom +flat):\n%s", k, d)
		}
	}
}

// TestFlatAllocations checks what Flat is for: a 32-element fp32 row drawn flat allocates a few
// slices, not a rapid T per element as a grouped draw does.
func TestFlatAllocations(t *testing.T) {
	grouped, flat := Row(fp.FP32, Lengths(32)), Row(fp.FP32, Lengths(32), Flat())
	seed := 0
	ag := testing.AllocsPerRun(200, func() { grouped.Example(seed); seed++ })
	seed = 0
	af := testing.AllocsPerRun(200, func() { flat.Example(seed); seed++ })
	t.Logf("allocations per 32-element row: grouped %.1f, flat %.1f", ag, af)
	if af > 12 || af > ag-20 {
		t.Errorf("a flat 32-element row allocates %.1f times (grouped %.1f); want ≤ 12 and at least 20 fewer", af, ag)
	}
}
