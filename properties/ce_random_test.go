package properties

import (
	"context"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/ulpcheck/ulpcheck/fp"
	"github.com/ulpcheck/ulpcheck/generators"
	"github.com/ulpcheck/ulpcheck/kernels"
)

// TestCrossEntropyRandomCases checks the bundled cross-entropy kernels and gradients, class and
// probability targets, on random batches with random class weights, label smoothing and every
// reduction, drawn here rather than by the generators: logits are finite or, one in eight, −Inf
// (masked classes, with or without target mass on them; rows may be fully masked).
// With -ulpcheck.long it runs 100,000 cases per kernel (ULPCHECK_LONG=n for n), in parallel.
func TestCrossEntropyRandomCases(t *testing.T) {
	cases := 300
	if testing.Short() {
		cases = 30
	}
	long := longChecks()
	if long > 0 {
		cases = long
	}
	for fi, f := range []fp.Format{fp.FP16, fp.BF16, fp.FP32, fp.FP64} {
		for ni, name := range []string{"ce/fusedprob/", "cegrad/prob/", "ce/fused/", "cegrad/"} {
			k, _ := kernels.Lookup(name + f.String())
			t.Run(k.Name, func(t *testing.T) {
				if long > 0 {
					t.Parallel()
				}
				rng := rand.New(rand.NewPCG(uint64(fi), uint64(ni)))
				bad := 0
				for i := 0; i < cases; i++ {
					rows, cols := 1+rng.IntN(3), 1+rng.IntN(6)
					x := make([]float64, rows*cols)
					p := make([]float64, rows*cols)
					for j := range x {
						x[j], _ = f.RoundFloat64(rng.NormFloat64() * 4)
						if rng.IntN(8) == 0 && f.HasInf() {
							x[j] = math.Inf(-1) // a masked class, with target mass or weight on it or not
						}
						p[j], _ = f.RoundFloat64(rng.Float64())
					}
					tg := make([]int, rows)
					for r := range tg {
						tg[r] = rng.IntN(cols)
					}
					var w []float64
					if rng.IntN(2) == 0 {
						w = make([]float64, cols)
						for j := range w {
							w[j], _ = f.RoundFloat64(rng.Float64() * 2)
						}
					}
					eps := 0.0
					if rng.IntN(2) == 0 {
						eps, _ = f.RoundFloat64(0.1)
					}
					c := generators.Case{Format: f, Rows: rows, Cols: cols, X: x, CE: generators.CEOptions{Weights: w, IgnoreIndex: -100, LabelSmoothing: eps, Reduction: generators.Reduction(rng.IntN(3))}}
					if k.ProbTargets {
						c.Probs = p
					} else {
						c.Targets = tg
					}
					v := Evaluate(context.Background(), k, c)
					if !v.OK() {
						bad++
						if bad <= 2 {
							t.Errorf("%s, options %+v:\n%s", k.Name, c.CE, v.Report())
						}
					}
				}
				if bad > 0 {
					t.Errorf("%s: %d of %d cases fail", k.Name, bad, cases)
				}
			})
		}
	}
}

// A regression found by the 100,000-case run: x + c must be exact for the shift-invariance
// property, and y − c == x does not prove it (it can round back to x).
func TestShiftConstantIsExact(t *testing.T) {
	x := []float64{math.Float64frombits(0xc0862e42fefa39eb), math.Float64frombits(0xc0902e42fefa39ec), math.Float64frombits(0x40862e42fefa39ef), math.Float64frombits(0x40862e42fefa39ef)}
	k, _ := kernels.Lookup("softmax/online/fp64")
	a := &kernels.Args{Rows: 2, Cols: 2, X: x}
	c, ok := shiftConstant(k, a)
	if !ok {
		return
	}
	for _, v := range x {
		s := new(big.Float).SetPrec(0).SetFloat64(v)
		s.SetPrec(2100).Add(s, new(big.Float).SetFloat64(c))
		if f, acc := s.Float64(); acc != big.Exact {
			t.Fatalf("x = %x, c = %x: x + c = %x is not exact", v, c, f)
		}
	}
}
