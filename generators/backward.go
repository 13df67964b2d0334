// This file implements Backward (upstream gradients) and CrossEntropy (targets and options).

package generators

import (
	"fmt"
	"math"

	"github.com/ulpcheck/ulpcheck/fp"
	"pgregory.net/rapid"
)

// Backward returns a generator of batches (as Batch) with an upstream gradient DY of the same
// shape, by the DY classes (DYOnes … DYNaN) with their weights. DYClass names DY's class.
//
// Special cases are:
//
//	DYConstant gives one value per row: the exact softmax backward is then 0 everywhere
//	DYNaN puts one NaN in one row; every other element is finite
func Backward(f fp.Format, opts ...Option) *Gen[Case] {
	cfg := newConfig(opts)
	g := newRowGen(f, cfg, func(Class) bool { return true })
	p := newPicker("dy", dyOrder, cfg.weights, formatAllows(f))
	return newGen(fmt.Sprintf("Backward(%s, rows≤%d)", f, cfg.maxRows), func(t *rapid.T) Case {
		c := g.drawBatch(t, intIn(t, 1, cfg.maxRows))
		c.DYClass = p.draw(t)
		c.DY = drawDY(t, cfg.flat, f, c.DYClass, c.Rows, c.Cols)
		return c
	})
}

// drawDY draws a rows×n upstream gradient of class c.
func drawDY(t *rapid.T, flat bool, f fp.Format, c Class, rows, n int) []float64 {
	dy := make([]float64, 0, rows*n)
	if n == 0 {
		return dy
	}
	for range rows {
		var r []float64
		switch c {
		case DYOnes:
			r = constRow(n, 1)
		case DYOneHot:
			r = constRow(n, 0)
			r[pos(t, n)] = 1
		case DYLogit, DYNaN:
			r = fill(t, flat, n, func(t *rapid.T) float64 { return logit(t, f, 16) })
		case DYConstant:
			v := logit(t, f, 16)
			if bitGen.Draw(t, "huge") {
				v = huge(t, f)
			}
			r = constRow(n, v)
		case DYHuge:
			r = fill(t, flat, n, func(t *rapid.T) float64 { return huge(t, f) })
		case DYTiny:
			r = fill(t, flat, n, func(t *rapid.T) float64 {
				if intIn(t, 0, 3) == 3 {
					return withSign(t, 0)
				}
				return withSign(t, subnormal(t, f))
			})
		default:
			panic("generators: unknown dy class " + string(c))
		}
		dy = append(dy, r...)
	}
	if c == DYNaN {
		dy[pos(t, len(dy))] = nan(t, f)
	}
	return dy
}

// CrossEntropy returns a generator of cross-entropy cases of f: a batch of logits (as Batch,
// at least one column), and by the CE classes (CEClassTargets … CEProbZeroMass) class targets
// or probability targets with PyTorch's options (NUMERICS §8). Class is the CE class;
// RowClasses gives the logits' row classes. The reduction is drawn (mean first).
//
// Special cases are:
//
//	CEIgnoreSome draws IgnoreIndex from −100, −1 and a valid class, and ignores at least one row
//	CEIgnoreAll ignores every row: mean is 0/0 (NaN in PyTorch)
//	CEZeroWeights gives at least the first row's target class weight 0, sometimes every class
//	CEProbZeroNegInf draws logits with −Inf entries (row/masked-inf, row/starts-neg-inf) and
//	  puts target mass 0 exactly on them; it has weight 0 in E4M3
//	CEProbZeroMass gives at least one row a target mass of exactly 0
//	probability rows are one-hot, uniform (RN(1/C)) or random; random rows are normalised in
//	  float64 and rounded into f, so their mass is 1 only approximately
func CrossEntropy(f fp.Format, opts ...Option) *Gen[Case] {
	cfg := newConfig(opts)
	g := newRowGen(f, cfg, func(c Class) bool { return c != RowEmpty })
	var masked *rowGen
	if f.HasInf() {
		mcfg := *cfg
		mcfg.weights = Weights{RowMaskedInf: 1, RowStartsNegInf: 1}
		for _, c := range lenOrder {
			mcfg.weights[c] = cfg.weights[c]
		}
		masked = newRowGen(f, &mcfg, func(Class) bool { return true })
	}
	p := newPicker("ce", ceOrder, cfg.weights, formatAllows(f))
	return newGen(fmt.Sprintf("CrossEntropy(%s, rows≤%d)", f, cfg.maxRows), func(t *rapid.T) Case {
		cl, flat := p.draw(t), cfg.flat
		rg := g
		if cl == CEProbZeroNegInf {
			rg = masked
		}
		c := rg.drawBatch(t, intIn(t, 1, cfg.maxRows))
		c.Class = cl
		c.CE = DefaultCEOptions()
		c.CE.Reduction = Reduction(intIn(t, 0, 2))
		rows, n := c.Rows, c.Cols
		target := func(t *rapid.T) int { return intIn(t, 0, n-1) }
		weight := func(t *rapid.T) float64 { return normal(t, f, -2, 2) }
		switch cl {
		case CEClassTargets, CESmoothing, CEZeroWeights:
			c.Targets = make([]int, rows)
			for i := range c.Targets {
				c.Targets[i] = target(t)
			}
			if cl == CESmoothing {
				c.CE.LabelSmoothing = sampled(t, []float64{0.1, 0, 0.05, 0.2, 0.5, 1})
				if bitGen.Draw(t, "weights") {
					c.CE.Weights = fill(t, flat, n, weight)
				}
			}
			if cl == CEZeroWeights {
				// fill's element must draw from rapid (an element group that uses no data
				// makes rapid panic), so the all-zero case is a constant row instead.
				if bitGen.Draw(t, "all-zero") {
					c.CE.Weights = constRow(n, 0)
				} else {
					c.CE.Weights = fill(t, flat, n, func(t *rapid.T) float64 {
						if bitGen.Draw(t, "zero") {
							return 0
						}
						return weight(t)
					})
				}
				c.CE.Weights[c.Targets[0]] = 0
			}
		case CEIgnoreSome, CEIgnoreAll:
			c.CE.IgnoreIndex = sampled(t, []int{-100, -1, target(t)})
			c.Targets = make([]int, rows)
			for i := range c.Targets {
				if cl == CEIgnoreAll || intIn(t, 0, 2) == 2 {
					c.Targets[i] = c.CE.IgnoreIndex
				} else {
					c.Targets[i] = target(t)
				}
			}
			c.Targets[pos(t, rows)] = c.CE.IgnoreIndex
		case CEProbTargets, CEProbZeroNegInf, CEProbZeroMass:
			if bitGen.Draw(t, "smoothing") {
				c.CE.LabelSmoothing = sampled(t, []float64{0.1, 0.05, 0.5, 1})
			}
			c.Probs = make([]float64, 0, rows*n)
			zero := -1
			if cl == CEProbZeroMass {
				zero = pos(t, rows)
			}
			for i := range rows {
				var r []float64
				switch {
				case i == zero || (cl == CEProbZeroMass && intIn(t, 0, 3) == 3):
					r = make([]float64, n)
				case cl == CEProbZeroNegInf:
					r = probRow(t, flat, f, c.Row(i), func(x float64) bool { return math.IsInf(x, -1) })
				default:
					r = drawProbRow(t, flat, f, n)
				}
				c.Probs = append(c.Probs, r...)
			}
		default:
			panic("generators: unknown ce class " + string(cl))
		}
		return c
	})
}

// drawProbRow draws a row of n target probabilities: one-hot, uniform or random.
func drawProbRow(t *rapid.T, flat bool, f fp.Format, n int) []float64 {
	switch intIn(t, 0, 2) {
	case 0:
		r := make([]float64, n)
		r[pos(t, n)] = 1
		return r
	case 1:
		v := rn(f, 1/float64(n))
		r := make([]float64, n)
		for i := range r {
			r[i] = v
		}
		return r
	}
	return probRow(t, flat, f, make([]float64, n), func(float64) bool { return false })
}

// probRow draws random target probabilities for the logits x: 0 exactly where zero(x_i),
// elsewhere positive weights normalised in float64 and rounded into f. A row with every entry
// zeroed has mass 0.
func probRow(t *rapid.T, flat bool, f fp.Format, x []float64, zero func(float64) bool) []float64 {
	w := fill(t, flat, len(x), func(t *rapid.T) float64 { return normal(t, f, -4, 0) })
	sum := 0.0
	for i := range w {
		if zero(x[i]) {
			w[i] = 0
		}
		sum += w[i]
	}
	for i := range w {
		if w[i] != 0 {
			w[i] = rn(f, w[i]/sum)
		}
	}
	return w
}
