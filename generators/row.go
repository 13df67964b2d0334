// This file implements rows by class, their lengths, Row and Batch.

package generators

import (
	"fmt"
	"math"
	"math/big"
	"slices"

	"github.com/ulpcheck/ulpcheck/fp"
	"pgregory.net/rapid"
)

// shortRow is the longest row whose elements are drawn one by one; longer rows are built from
// a template (see fill).
const shortRow = 64

// templateMax is the most elements a long row's template holds.
const templateMax = 16

// rowGen holds what the row generators share: the format, the configuration and the pickers.
type rowGen struct {
	f      fp.Format
	cfg    *config
	rows   picker
	lens   picker
	lenSet map[Class][]int // the block lengths allowed by MaxLen
	long   []int           // RowLongFlat's lengths allowed by MaxLen
	// positiveLens are the lengths of Lengths but 0, in order (RowEmpty alone has length 0).
	positiveLens []int
	sent         []float64 // sentinels(f)
}

func newRowGen(f fp.Format, cfg *config, allowed func(Class) bool) *rowGen {
	g := &rowGen{f: f, cfg: cfg, lenSet: map[Class][]int{}, sent: sentinels(f)}
	for c, ls := range map[Class][]int{
		LenBlock32:   {32, 31, 33, 64, 63, 65, 128, 127, 129},
		LenBlock1024: {1024, 1023, 1025},
		LenBlock2048: {2048, 2047, 2049, 4096},
	} {
		for _, n := range ls {
			if n <= cfg.maxLen {
				g.lenSet[c] = append(g.lenSet[c], n)
			}
		}
	}
	p := f.Precision()
	if p <= 11 {
		g.long = []int{1 << p, 1<<p + 1, 2 << p, 4096}
	} else {
		g.long = []int{4096}
	}
	g.long = slices.DeleteFunc(g.long, func(n int) bool { return n > cfg.maxLen })
	if cfg.lengths != nil {
		g.long = slices.DeleteFunc(slices.Clone(cfg.lengths), func(n int) bool { return n < min(1<<p, 4096) })
		g.positiveLens = slices.DeleteFunc(slices.Clone(cfg.lengths), func(n int) bool { return n <= 0 })
	}
	g.lens = newPicker("length", lenOrder, cfg.weights, func(c Class) bool {
		switch c {
		case LenShort:
			return true
		case LenMedium:
			return cfg.maxLen >= 9
		}
		return len(g.lenSet[c]) > 0
	})
	g.rows = newPicker("row", rowOrder, cfg.weights, func(c Class) bool {
		if !formatAllows(f)(c) || !allowed(c) {
			return false
		}
		switch {
		case c == RowLongFlat:
			return len(g.long) > 0
		case c == RowEmpty && cfg.lengths != nil:
			return slices.Contains(cfg.lengths, 0)
		case cfg.lengths != nil:
			return slices.ContainsFunc(cfg.lengths, func(n int) bool { return n > 0 })
		}
		return true
	})
	return g
}

// minLen returns the shortest row of class c.
func minLen(c Class) int {
	switch c {
	case RowEmpty:
		return 0
	case RowMaskedInf, RowStartsNegInf, RowDominant, RowMixedMagnitude, RowMaskedSentinel:
		return 2
	}
	return 1
}

// drawLen draws the length of a row of class c.
func (g *rowGen) drawLen(t *rapid.T, c Class) int {
	switch c {
	case RowEmpty:
		return 0
	case RowLongFlat:
		return sampled(t, g.long)
	}
	if g.cfg.lengths != nil {
		return max(sampled(t, g.positiveLens), minLen(c))
	}
	var n int
	switch b := g.lens.draw(t); b {
	case LenShort:
		n = intIn(t, 1, min(8, g.cfg.maxLen))
	case LenMedium:
		n = intIn(t, 9, min(30, g.cfg.maxLen))
	default:
		n = sampled(t, g.lenSet[b])
	}
	return max(n, minLen(c))
}

// fits reports whether a row of class c can have length n.
func (g *rowGen) fits(c Class, n int) bool {
	switch {
	case c == RowEmpty || n == 0:
		return c == RowEmpty && n == 0
	case c == RowLongFlat:
		return len(g.long) > 0 && n >= slices.Min(g.long)
	}
	return n >= minLen(c)
}

// fill returns n elements drawn by elem, which must draw from rapid (use constRow for a
// constant): each one for a short row; for a long row, a template of
// at most templateMax elements repeated cyclically.
//
// Each element is drawn as one rapid generator, so that it is one group of rapid's bitstream:
// the shrinker can then delete an element while it lowers the length, and a failing element at
// the end of a row can move to the front of a shorter one. Under Flat (flat) the elements are
// drawn as the same values without the groups.
func fill(t *rapid.T, flat bool, n int, elem func(*rapid.T) float64) []float64 {
	var eg *rapid.Generator[float64]
	if !flat {
		eg = rapid.Custom(elem)
	}
	return fillWith(t, flat, n, eg, elem)
}

// fillWith is fill with eg, rapid.Custom(draw), made by the caller (nil under Flat): draw itself
// does not escape, so that a caller under Flat need not allocate it.
func fillWith(t *rapid.T, flat bool, n int, eg *rapid.Generator[float64], draw func(*rapid.T) float64) []float64 {
	x := make([]float64, n)
	if n <= shortRow {
		for i := range x {
			x[i] = group(flat, t, eg, draw, "x")
		}
		return x
	}
	k := intIn(t, 1, templateMax)
	tpl := make([]float64, k)
	for i := range tpl {
		tpl[i] = group(flat, t, eg, draw, "x")
	}
	for i := range x {
		x[i] = tpl[i%k]
	}
	return x
}

// An elem names the distribution of a row class's elements, so that drawRow fills a row without
// a closure per row (rapid.Custom makes fill's closures escape: one allocation per row).
type elem uint8

const (
	elemSmallInt     elem = iota // smallInt(8)
	elemLogit                    // logit, spread 16
	elemLogit4                   // logit, spread 4
	elemOrdered                  // huge one time in four, else a logit (ascending, descending)
	elemTiny                     // ±0 one time in eight, else a small normal
	elemHuge                     // huge
	elemMaxFinite                // a logit one time in three, else near ±max
	elemExpThreshold             // a logit one time in four, else near exp's thresholds
	elemSubnormal                // a logit one time in four, else a subnormal
	elemMixed                    // a normal of any magnitude
	elemUniformBits              // uniformBits
)

// draw draws one element of distribution e.
func (g *rowGen) draw(t *rapid.T, e elem) float64 {
	f := g.f
	switch e {
	case elemSmallInt:
		return smallInt(t, f, 8)
	case elemLogit:
		return g.lg(t)
	case elemLogit4:
		return logit(t, f, 4)
	case elemOrdered:
		if intIn(t, 0, 3) == 3 {
			return huge(t, f)
		}
		return g.lg(t)
	case elemTiny:
		if intIn(t, 0, 7) == 7 {
			return withSign(t, 0)
		}
		return withSign(t, normal(t, f, f.EMin(), -5))
	case elemHuge:
		return huge(t, f)
	case elemMaxFinite:
		if intIn(t, 0, 2) == 2 {
			return g.lg(t)
		}
		return withSign(t, step(f, f.MaxFinite(), -intIn(t, 0, 3)))
	case elemExpThreshold:
		if intIn(t, 0, 3) == 3 {
			return g.lg(t)
		}
		return expThreshold(t, f)
	case elemSubnormal:
		if intIn(t, 0, 3) == 3 {
			return g.lg(t)
		}
		return withSign(t, subnormal(t, f))
	case elemMixed:
		return withSign(t, normal(t, f, f.EMin(), f.EMax()))
	case elemUniformBits:
		return uniformBits(t, f)
	}
	panic(fmt.Sprintf("generators: unknown element distribution %d", e))
}

// fill is fill for the distribution e. The same function is written twice on purpose: the one
// rapid.Custom keeps escapes and is made only without Flat; the one fillWith calls does not.
func (g *rowGen) fill(t *rapid.T, n int, e elem) []float64 {
	var eg *rapid.Generator[float64]
	if !g.cfg.flat {
		eg = rapid.Custom(func(t *rapid.T) float64 { return g.draw(t, e) })
	}
	return fillWith(t, g.cfg.flat, n, eg, func(t *rapid.T) float64 { return g.draw(t, e) })
}

// constRow returns n copies of v.
func constRow(n int, v float64) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = v
	}
	return x
}

// positions draws the positions that a pattern marks in a row of n elements: each position
// independently for a short row (mark decides), a cyclic template of marks for a long one.
func positions(t *rapid.T, n int, mark func(*rapid.T) bool) []bool {
	m := make([]bool, n)
	if n <= shortRow {
		for i := range m {
			m[i] = mark(t)
		}
		return m
	}
	k := intIn(t, 1, templateMax)
	tpl := make([]bool, k)
	for i := range tpl {
		tpl[i] = mark(t)
	}
	for i := range m {
		m[i] = tpl[i%k]
	}
	return m
}

// oneIn returns a mark that is true with probability 1/k, false first.
func oneIn(k int) func(*rapid.T) bool {
	return func(t *rapid.T) bool { return intIn(t, 0, k-1) == k-1 }
}

// pos draws a position in [0, n), shrinking toward 0.
func pos(t *rapid.T, n int) int { return intIn(t, 0, n-1) }

// sentinels returns the finite masking values of NUMERICS §5 rounded into f (saturating in a
// format without infinities): −1e4, −5e4, −1e9, −1e30, −max, and the sums of two of them.
// In fp16 and bf16 several of them, and −max + −max, are −Inf.
func sentinels(f fp.Format) []float64 {
	base := []float64{-1e4, -5e4, -1e9, -1e30, -f.MaxFinite()}
	var out []float64
	for _, s := range base {
		out = append(out, rnSat(f, big.NewFloat(s)))
	}
	for i := range base {
		for j := i; j < len(base); j++ {
			a := new(big.Float).SetPrec(2200).SetFloat64(out[i])
			if math.IsInf(out[i], 0) || math.IsInf(out[j], 0) {
				out = append(out, math.Inf(-1))
				continue
			}
			a.Add(a, big.NewFloat(out[j]))
			out = append(out, rnSat(f, a))
		}
	}
	return out
}

// maskValue returns −Inf, or −MaxFinite in a format without infinities.
func maskValue(f fp.Format) float64 {
	if f.HasInf() {
		return math.Inf(-1)
	}
	return -f.MaxFinite()
}

// lg draws a logit-like value (logit with spread 16).
func (g *rowGen) lg(t *rapid.T) float64 { return logit(t, g.f, 16) }

// drawRow draws a row of class c and length n ≥ minLen(c).
func (g *rowGen) drawRow(t *rapid.T, c Class, n int) []float64 {
	f := g.f
	switch c {
	case RowEmpty:
		return []float64{}
	case RowSmallInt:
		return g.fill(t, n, elemSmallInt)
	case RowLogitLike:
		return g.fill(t, n, elemLogit)
	case RowEqual, RowLongFlat:
		v := g.lg(t)
		x := constRow(n, v)
		for range intIn(t, 0, 2) {
			x[pos(t, n)] = g.lg(t)
		}
		return x
	case RowAscending, RowDescending:
		var x []float64
		if n <= shortRow {
			x = g.fill(t, n, elemOrdered)
			slices.SortFunc(x, func(a, b float64) int { return cmpFloat(a, b) })
		} else { // a walk through the ordered values of f: start, then a fixed stride
			k0 := ord(f, g.lg(t))
			s := int64(intIn(t, 0, 64))
			x = make([]float64, n)
			for i := range x {
				x[i] = fromOrd(f, k0+int64(i)*s)
			}
		}
		if c == RowDescending {
			slices.Reverse(x)
		}
		return x
	case RowTiny:
		return g.fill(t, n, elemTiny)
	case RowHuge:
		return g.fill(t, n, elemHuge)
	case RowMaxFinite:
		return g.fill(t, n, elemMaxFinite)
	case RowDominant:
		x := g.fill(t, n, elemLogit4)
		lo := math.Ldexp(1, exponent(-f.Exp().ZeroAtOrBelow+5)+1) // above every other logit (|x| < 5) by more than the exp range
		x[pos(t, n)] = between(t, f, lo, f.MaxFinite())
		return x
	case RowExpThreshold:
		return g.fill(t, n, elemExpThreshold)
	case RowSubnormal:
		x := g.fill(t, n, elemSubnormal)
		x[pos(t, n)] = withSign(t, subnormal(t, f))
		return x
	case RowMixedMagnitude:
		x := g.fill(t, n, elemMixed)
		// Force a spread beyond the exp range: one entry at or above −ZeroAtOrBelow, one at
		// or below ZeroAtOrBelow (in E4M3 and E5M2 these are near the top of the range).
		z := -f.Exp().ZeroAtOrBelow
		i, j := pos(t, n), pos(t, n)
		if i == j {
			j = (i + 1) % n
		}
		x[i] = step(f, rn(f, z), intIn(t, 1, 8))
		x[j] = -step(f, rn(f, z), intIn(t, 1, 8))
		return x
	case RowMaskedInf, RowMaskedSentinel:
		x := g.fill(t, n, elemLogit)
		mask := func(t *rapid.T) float64 { return math.Inf(-1) }
		if c == RowMaskedSentinel {
			s := sampled(t, g.sent)
			mask = func(*rapid.T) float64 { return s }
		}
		if bitGen.Draw(t, "scattered") {
			m := positions(t, n, oneIn(3))
			keep := pos(t, n)
			m[(keep+1+pos(t, n-1))%n] = true // mask at least one entry
			m[keep] = false                  // and keep one finite
			for i := range x {
				if m[i] {
					x[i] = mask(t)
				}
			}
		} else { // padding: a masked tail
			for i := intIn(t, 1, n-1); i < n; i++ {
				x[i] = mask(t)
			}
		}
		return x
	case RowStartsNegInf:
		x := g.fill(t, n, elemLogit)
		for i := range intIn(t, 1, n-1) {
			x[i] = math.Inf(-1)
		}
		return x
	case RowFullyMasked:
		return constRow(n, math.Inf(-1))
	case RowPosInf:
		x := g.fill(t, n, elemLogit)
		i := pos(t, n)
		x[i] = math.Inf(1)
		if n > 1 && bitGen.Draw(t, "also-neg-inf") { // Inf − Inf in a kernel that subtracts the min
			x[(i+1+pos(t, n-1))%n] = math.Inf(-1)
		}
		return x
	case RowNaN:
		x := g.fill(t, n, elemLogit)
		i := pos(t, n)
		if n > 1 && bitGen.Draw(t, "in-masked-slot") { // NaN in the padding of a masked row
			from := intIn(t, 1, n-1)
			for k := from; k < n; k++ {
				x[k] = maskValue(f)
			}
			i = from + pos(t, n-from)
		}
		x[i] = nan(t, f)
		return x
	case RowUniformBits:
		return g.fill(t, n, elemUniformBits)
	}
	panic("generators: unknown row class " + string(c))
}

// cmpFloat orders finite values and infinities; NaN never reaches it.
func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// drawBatch draws rows×n rows whose first row has class c0 and the others their own classes
// (replaced by RowLogitLike, or RowEmpty when n = 0, where a class cannot have length n).
func (g *rowGen) drawBatch(t *rapid.T, rows int) Case {
	c0 := g.rows.draw(t)
	n := g.drawLen(t, c0)
	cs := make([]Class, rows)
	cs[0] = c0
	x := g.drawRow(t, c0, n)
	if rows > 1 {
		x = g.drawRows(t, rows, n, cs, append(make([]float64, 0, rows*n), x...))
	}
	cl := cs[0]
	for _, c := range cs {
		if c != cl {
			cl = BatchMixed
		}
	}
	return Case{Format: g.f, Class: cl, Rows: rows, Cols: n, X: x, RowClasses: cs}
}

// drawRows draws the rows after the first of a batch of rows rows of n elements, appends them
// to x and their classes to cs[1:], and returns x. Each further row is one group of rapid's
// bitstream, so that the shrinker can delete it while it lowers the row count.
func (g *rowGen) drawRows(t *rapid.T, rows, n int, cs []Class, x []float64) []float64 {
	type row struct {
		c Class
		x []float64
	}
	drawRow := func(t *rapid.T) row {
		c := g.rows.draw(t)
		if !g.fits(c, n) {
			c = RowLogitLike
			if n == 0 {
				c = RowEmpty
			}
		}
		return row{c, g.drawRow(t, c, n)}
	}
	var rg *rapid.Generator[row]
	if !g.cfg.flat {
		rg = rapid.Custom(drawRow)
	}
	for i := 1; i < rows; i++ {
		r := group(g.cfg.flat, t, rg, drawRow, "row")
		cs[i] = r.c
		x = append(x, r.x...)
	}
	return x
}

// Row returns a generator of one-row cases (Rows = 1, Cols = the length, possibly 0) of f, by
// the row classes (RowSmallInt … RowEmpty) and length buckets (LenShort … LenBlock2048) with
// their weights. Rows of at most 64 elements are drawn element by element; longer rows from a
// template of at most 16 drawn elements and a few drawn positions.
//
// Special cases are:
//
//	RowMaskedInf, RowStartsNegInf, RowFullyMasked and RowPosInf have weight 0 in E4M3
//	RowLongFlat draws lengths 2^p, 2^p + 1, 2^(p+1) and 4096 for p ≤ 11 (fp16: 2048), else 4096
//	RowEmpty is the only class of length 0
func Row(f fp.Format, opts ...Option) *Gen[Case] {
	g := newRowGen(f, newConfig(opts), func(Class) bool { return true })
	return newGen(fmt.Sprintf("Row(%s)", f), func(t *rapid.T) Case { return g.drawBatch(t, 1) })
}

// Batch returns a generator of cases of 1 to MaxRows rows (default 4) of f. The first row's
// class sets the length; every other row draws its own class, so that a kernel that takes a
// max over the wrong row or leaks state from one row to the next meets rows that differ.
// RowClasses records each row's class; Class is their common class or BatchMixed.
func Batch(f fp.Format, opts ...Option) *Gen[Case] {
	cfg := newConfig(opts)
	g := newRowGen(f, cfg, func(Class) bool { return true })
	return newGen(fmt.Sprintf("Batch(%s, rows≤%d)", f, cfg.maxRows), func(t *rapid.T) Case {
		return g.drawBatch(t, intIn(t, 1, cfg.maxRows))
	})
}
