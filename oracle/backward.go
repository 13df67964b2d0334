// This file implements the softmax backward pass, dx_i = y_i·(dy_i − Σ_j dy_j·y_j), from the
// logits (y = softmax(x), exact) and from a given y (a polynomial, computed exactly).

package oracle

import (
	"cmp"
	"fmt"
	"math"
	"math/big"
	"slices"

	"github.com/ulpcheck/ulpcheck/fp"
)

// SoftmaxBackward returns dx = y ⊙ (dy − (dy·y)) for each row of the rows×cols row-major x and
// dy, with y = softmax(x) exact (not rounded), each element correctly rounded into f.
//
// Special cases are (NUMERICS §5, §6):
//
//	a NaN or +Inf in the row of x, or a NaN or ±Inf in the row of dy: every element NaN
//	x fully masked (every entry −Inf): NaN (pol = fp.MaskNaN) or +0 (pol = fp.MaskZero)
//	−Inf entries of x: exactly +0
//	all finite x equal (y = 1/k): exact rationals (dy_i − mean dy)/k, rounded once
//	dx_i = 0 exactly, detected: by Lindemann–Weierstrass, dx_i = 0 iff dy_i equals the mean of
//	dy over the entries of every distinct finite logit value
//
// Other elements are transcendental and nonzero, decided by Ziv's loop on enclosures (the
// cancellation in dy_i − c is handled by raising the precision). An entry at the row maximum
// that lies within e^(−1000) or so of a value or a midpoint of f is decided by the exact
// analysis of its distance to its limit a/k² (see the package documentation). The error is
// returned for bad shapes or at the precision cap.
func SoftmaxBackward(f fp.Format, x, dy []float64, rows, cols int, pol fp.MaskPolicy) ([]Value, error) {
	fi, err := newFmtInfo(f)
	if err != nil {
		return nil, err
	}
	if err := checkShape("SoftmaxBackward", len(x), rows, cols); err != nil {
		return nil, err
	}
	if len(dy) != len(x) {
		return nil, fmt.Errorf("oracle: SoftmaxBackward: %d values of dy for %d of x", len(dy), len(x))
	}
	out := make([]Value, len(x))
	for r := range rows {
		s := r * cols
		if err := backwardRow(fi, x[s:s+cols], dy[s:s+cols], pol, out[s:s+cols]); err != nil {
			return nil, fmt.Errorf("row %d: %w", r, err)
		}
	}
	return out, nil
}

func allFinite(v []float64) bool {
	for _, e := range v {
		if math.IsNaN(e) || math.IsInf(e, 0) {
			return false
		}
	}
	return true
}

func backwardRow(fi *fmtInfo, x, dy []float64, pol fp.MaskPolicy, out []Value) error {
	f := fi.f
	ri := analyze(x)
	switch {
	case ri.nan || ri.posInf || !allFinite(dy) || (ri.nFinite == 0 && pol == fp.MaskNaN):
		for i := range out {
			out[i] = nanValue(f)
		}
		return nil
	case ri.nFinite == 0:
		for i := range out {
			out[i] = zeroValue(f)
		}
		return nil
	}
	pending := backwardExact(f, x, dy, ri, out)
	if len(pending) == 0 {
		return nil
	}
	gb := newGroupedBackward(x, dy, ri)
	var c ival // Σ dy_j·y_j = (Σ dy_j·t_j)/S, at the first precision
	w0 := startPrecision(f)
	// An entry's gradient is a function of its logit and upstream gradient.
	return zivShared(fi, "SoftmaxBackward", out, pending, func(i int) ([2]uint64, bool) {
		return [2]uint64{math.Float64bits(x[i]), math.Float64bits(dy[i])}, true
	},
		func(w uint) error {
			gb.br.prepare(w)
			if w == w0 {
				c = gb.dot(w)
			}
			return nil
		},
		func(w uint, i int) (ival, error) {
			iw := gb.br.iw(w) + 16
			if w == w0 {
				// The first precision: dx_i = y_i·(dy_i − c), O(1) per element.
				return ivMul(gb.br.y(i), ivSub(point(dy[i]), c, iw), iw), nil
			}
			return gb.value(i, iw), nil
		},
		func(i int) *center { return gb.center(fi, i, w0) })
}

// backwardExact writes the entries of the row whose gradient is exact: every one when all the
// finite logits are equal (y = 1/k: dx_i = (dy_i − μ)/k, μ the mean of dy), else the −Inf
// logits and the entries whose dy_i equals the common mean of dy over every group of equal
// logits (then dx_i = 0). It returns the indices still to compute.
func backwardExact(f fp.Format, x, dy []float64, ri rowInfo, out []Value) (pending []int) {
	// Group the finite entries by logit value; mean[v] = mean of dy over the group. The sums
	// are exact big.Floats: a float64 is a multiple of 2^−1074 below 2^1024, so a sum of fewer
	// than 2^60 of them has at most 2098 + 61 significant bits, within sumPrec.
	const sumPrec = 2200
	type group struct {
		sum big.Float
		n   int64
	}
	groups := make(map[float64]*group)
	var dyf big.Float
	for i, xi := range x {
		if math.IsInf(xi, -1) {
			continue
		}
		g := groups[xi]
		if g == nil {
			g = new(group)
			g.sum.SetPrec(sumPrec)
			groups[xi] = g
		}
		g.sum.Add(&g.sum, dyf.SetFloat64(dy[i]))
		g.n++
	}
	var mu *big.Rat // the common group mean, nil when the groups' means differ
	for _, g := range groups {
		sum, _ := g.sum.Rat(nil)
		m := sum.Quo(sum, big.NewRat(g.n, 1))
		if mu == nil {
			mu = m
		} else if mu.Cmp(m) != 0 {
			mu = nil
			break
		}
	}
	// dy_i = μ exactly only where μ is a float64 (dy_i is one).
	muF, muIsF := 0.0, false
	if mu != nil {
		muF, muIsF = mu.Float64()
	}
	if ri.allEqual {
		k := big.NewRat(int64(ri.nFinite), 1)
		for i, xi := range x {
			if math.IsInf(xi, -1) {
				out[i] = zeroValue(f)
				continue
			}
			q := new(big.Rat).Sub(ratOf(dy[i]), mu)
			out[i] = ratValue(f, q.Quo(q, k))
		}
		return nil
	}
	for i, xi := range x {
		switch {
		case math.IsInf(xi, -1):
			out[i] = zeroValue(f)
		case muIsF && dy[i] == muF:
			out[i] = zeroValue(f)
		default:
			pending = append(pending, i)
		}
	}
	return pending
}

// groupedBackward evaluates the softmax gradient of one row past the first precision with the
// grouped formula over the distinct finite logits g (each with a representative index)
//
//	dx_i = t_i/S² · Σ_g a_g(i)·e^(x_g − m),   a_g(i) = Σ_{j∈g} (dy_i − dy_j)  (exact),
//
// which has no cancellation between an entry and itself or between equal logits: it keeps its
// relative accuracy when one group dominates the row. It costs O(n) per element, so the first
// precision uses dx_i = y_i·(dy_i − c) with c = Σ dy_j·y_j computed once (dot).
type groupedBackward struct {
	x, dy []float64
	m     float64 // the row's maximum
	br    *bigRow
	gx    []float64       // the distinct finite logits
	grep  []int           // a representative index of each
	gidx  map[float64]int // logit → its group
	top   int             // the group of the maximum
	k     *big.Rat        // the number of entries at the maximum
	coef  map[int][]*big.Float
	md    *maxDefect // the exact analysis of entries at the maximum, built when first needed
	tg    *groupSums
}

// groupSums holds the groups' counts, dy and dy sums, from which coefs and maybeTiny work, built
// once per row when first needed.
type groupSums struct {
	order []int        // the groups by logit, largest first
	cnt   []int64      // members of each group
	dy    []float64    // the members' dy when they all have one (uniform)
	uni   []bool       // every member of the group has the same dy
	sum   []*big.Float // Σ_{j∈g} dy_j, exact, for the groups that are not uniform
}

func (gb *groupedBackward) sums() *groupSums {
	if gb.tg != nil {
		return gb.tg
	}
	n := len(gb.gx)
	tg := &groupSums{order: make([]int, n), cnt: make([]int64, n), dy: make([]float64, n), uni: make([]bool, n), sum: make([]*big.Float, n)}
	for g := range tg.order {
		tg.order[g], tg.uni[g] = g, true
	}
	slices.SortStableFunc(tg.order, func(a, b int) int { return cmp.Compare(gb.gx[b], gb.gx[a]) })
	for j, xj := range gb.x {
		if math.IsInf(xj, -1) {
			continue
		}
		g := gb.gidx[xj]
		if tg.cnt[g] == 0 {
			tg.dy[g] = gb.dy[j]
		} else if gb.dy[j] != tg.dy[g] {
			tg.uni[g] = false
		}
		tg.cnt[g]++
	}
	for j, xj := range gb.x {
		if math.IsInf(xj, -1) {
			continue
		}
		if g := gb.gidx[xj]; !tg.uni[g] {
			if tg.sum[g] == nil {
				tg.sum[g] = new(big.Float).SetPrec(2300)
			}
			tg.sum[g].Add(tg.sum[g], new(big.Float).SetFloat64(gb.dy[j]))
		}
	}
	gb.tg = tg
	return tg
}

func newGroupedBackward(x, dy []float64, ri rowInfo) *groupedBackward {
	gb := &groupedBackward{x: x, dy: dy, m: ri.m, br: newBigRow(x, ri.m), gidx: map[float64]int{},
		coef: map[int][]*big.Float{}}
	for j, xj := range x {
		if math.IsInf(xj, -1) {
			continue
		}
		if _, ok := gb.gidx[xj]; !ok {
			gb.gidx[xj] = len(gb.gx)
			gb.gx = append(gb.gx, xj)
			gb.grep = append(gb.grep, j)
		}
	}
	gb.top = gb.gidx[ri.m]
	gb.k = big.NewRat(int64(gb.br.k), 1)
	return gb
}

// dot encloses c = Σ dy_j·y_j at working precision w.
func (gb *groupedBackward) dot(w uint) ival {
	iw := gb.br.iw(w) + 16
	s := point(0)
	for j, xj := range gb.x {
		if !math.IsInf(xj, -1) && gb.dy[j] != 0 {
			s = ivAdd(s, ivMul(point(gb.dy[j]), gb.br.t[j], iw), iw)
		}
	}
	return ivDiv(s, gb.br.S, iw)
}

// coefs returns a_g(i) = Σ_{j∈g} (dy_i − dy_j) for every group g (exact), computed once per
// element from the groups' counts and dy sums: cnt_g·(dy_i − dy_g) for a group whose members
// share one dy_g, cnt_g·dy_i − Σ_{j∈g} dy_j for the others, both exact at 2300 bits (float64 dy
// span 2^−1074 to 2^1024, times a count below 2^64), so each is the sum over the members that a
// pass over the row would give, at the cost of the groups instead of the row's entries. A zero
// coefficient is +0.
func (gb *groupedBackward) coefs(i int) []*big.Float {
	if a, ok := gb.coef[i]; ok {
		return a
	}
	tg := gb.sums()
	a := make([]*big.Float, len(gb.gx))
	for g := range a {
		a[g] = tg.coef(g, gb.dy[i])
	}
	gb.coef[i] = a
	return a
}

// coef returns a_g = Σ_{j∈g} (di − dy_j) for group g, exactly (see coefs).
func (tg *groupSums) coef(g int, di float64) *big.Float {
	ag := new(big.Float).SetPrec(2300)
	var t big.Float
	switch {
	case tg.uni[g] && tg.dy[g] == di:
	case tg.uni[g]:
		ag.Sub(t.SetFloat64(di), new(big.Float).SetFloat64(tg.dy[g]))
		if tg.cnt[g] != 1 {
			ag.Mul(ag, t.SetInt64(tg.cnt[g]))
		}
	default:
		ag.Mul(t.SetFloat64(di), new(big.Float).SetInt64(tg.cnt[g]))
		ag.Sub(ag, tg.sum[g])
		if ag.Sign() == 0 {
			ag.SetInt64(0) // +0, as a sum from +0 would be
		}
	}
	return ag
}

// rest encloses Σ_{g≠top} a_g(i)·e^(x_g − m); false when every such term is 0.
func (gb *groupedBackward) rest(i int, iw uint) (ival, bool) {
	var sum ival
	for g, a := range gb.coefs(i) {
		if g == gb.top || a.Sign() == 0 {
			continue
		}
		term := ivMul(pointF(a), gb.br.t[gb.grep[g]], iw)
		if sum.lo == nil {
			sum = term
		} else {
			sum = ivAdd(sum, term, iw)
		}
	}
	if sum.lo == nil {
		return point(0), false
	}
	return sum, true
}

// atMax splits the gradient of an entry at the maximum (t_i = 1) as R0 + ε, with the rational
// R0 = a_top/k² (the limit as the other exponentials vanish) and
//
//	ε = rest/S² − a_top·s·(2k + s)/(k²·S²),
//
// both terms computed with their relative accuracy.
func (gb *groupedBackward) atMax(i int, iw uint) (r0 *big.Rat, eps ival) {
	br, k := gb.br, gb.k
	a := gb.coefs(i)[gb.top]
	ra, _ := new(big.Float).Set(a).Rat(nil)
	r0 = new(big.Rat).Quo(ra, new(big.Rat).Mul(k, k))
	S2 := ivMul(br.S, br.S, iw)
	re, nonzero := gb.rest(i, iw)
	eps = point(0)
	if nonzero {
		eps = ivDiv(re, S2, iw)
	}
	if ra.Sign() != 0 && br.s.hi.Sign() != 0 {
		kk := ratIval(new(big.Rat).Mul(k, k), iw)
		num := ivMul(ivMul(pointF(a), br.s, iw), ivAdd(ratIval(new(big.Rat).Mul(k, big.NewRat(2, 1)), iw), br.s, iw), iw)
		eps = ivSub(eps, ivDiv(num, ivMul(kk, S2, iw), iw), iw)
	}
	return r0, eps
}

// value encloses dx_i by the grouped formula at interval precision iw.
func (gb *groupedBackward) value(i int, iw uint) ival {
	br := gb.br
	if gb.x[i] == gb.m {
		r0, eps := gb.atMax(i, iw)
		return ivAdd(ratIval(r0, iw), eps, iw)
	}
	re, _ := gb.rest(i, iw)
	a := gb.coefs(i)[gb.top]
	sum := re
	if a.Sign() != 0 {
		sum = ivAdd(ivMul(pointF(a), br.t[gb.grep[gb.top]], iw), re, iw)
	}
	return ivDiv(ivMul(br.t[i], sum, iw), ivMul(br.S, br.S, iw), iw)
}

// center gives Ziv's loop the exact centre of dx_i when its enclosure cannot shrink to one side
// of a rounding boundary: the limit R0 of an entry at the maximum with the sign of ε (from the
// exact analysis when the enclosure of ε straddles 0), a tiny gradient, or a negligible one.
func (gb *groupedBackward) center(fi *fmtInfo, i int, w0 uint) *center {
	x, dy, br := gb.x, gb.dy, gb.br
	if x[i] == gb.m && br.w != w0 {
		r0, eps := gb.atMax(i, br.iw(br.w)+16)
		A := dyadic(r0)
		switch {
		case A == nil:
			// Not dyadic, so neither a value nor a midpoint: rounded as a rational.
			return &center{Q: r0, eps: eps}
		case eps.sign() != 0:
			return &center{A: A, eps: eps, sign: eps.sign()}
		}
		// A dyadic limit and an ε whose enclosure straddles 0 (a first-order term that
		// cancels exactly, or one beyond every affordable precision): the exact analysis.
		if gb.md == nil {
			gb.md = newMaxDefect(x, dy, gb.m)
		}
		if d := gb.md.analyze(dy[i]); d.ok {
			e := ival{lo: new(big.Float), hi: d.bound}
			if d.sign < 0 {
				e = ival{lo: new(big.Float).Neg(d.bound), hi: new(big.Float)}
			}
			return &center{A: A, eps: e, sign: d.sign}
		}
	}
	if gb.maybeTiny(i) {
		if c := gb.tinyBackward(i, br.w); c != nil {
			return c
		}
	}
	if br.w >= MaxPrecision*2/3 {
		return negligibleBackward(fi, x, dy, gb.m, i)
	}
	return nil
}

// maybeTiny reports whether tinyBackward can apply to entry i: whether the largest logit of a
// group with a nonzero coefficient a_g(i) = Σ_{j∈g} (dy_i − dy_j) lies more than 10^6 below the
// maximum (tinyBackward's own condition, decided here without its big-number pass over the row,
// which the Ziv loop would otherwise repeat at every precision). It scans the groups from the
// largest logit down and stops at the first nonzero coefficient (a uniform group's is zero
// without big arithmetic when its dy is dy_i).
func (gb *groupedBackward) maybeTiny(i int) bool {
	tg := gb.sums()
	di := gb.dy[i]
	for _, g := range tg.order {
		if tg.uni[g] && tg.dy[g] == di || tg.coef(g, di).Sign() == 0 {
			continue
		}
		return gb.gx[g]-gb.m < -expThreshold
	}
	return false
}

// negligibleBackward is the last resort for an entry below the maximum whose sign no affordable
// precision decides: |dx_i| = y_i·|Σ_j (dy_i − dy_j)·y_j| ≤ 2·max_j|dy_j|·e^(x_i − m), since
// y_i ≤ e^(x_i − m) and Σ_j y_j = 1. When that bound is below 2^−24·MinSubnormal (checked in
// float64 with a margin of 2 bits for the rounding of x_i − m and the logarithms), dx_i rounds
// to zero and 0 is within 2^−22 ulp of it. Its sign is then unknown: the result is +0, the sign
// the package gives exact zeros. It returns nil when the bound is not that small.
func negligibleBackward(fi *fmtInfo, x, dy []float64, m float64, i int) *center {
	d := x[i] - m
	if !(d < 0) {
		return nil
	}
	maxDy := 0.0
	for j, xj := range x {
		if !math.IsInf(xj, -1) {
			maxDy = math.Max(maxDy, math.Abs(dy[j]))
		}
	}
	if maxDy == 0 {
		return nil
	}
	log2Bound := d*math.Log2E + math.Log2(2*maxDy)
	if !(log2Bound < math.Log2(fi.minSub)-26) {
		return nil
	}
	b := new(big.Float).SetMantExp(big.NewFloat(fi.minSub), -24)
	return &center{A: new(big.Float), eps: ival{lo: new(big.Float).Neg(b), hi: b}, sign: 1}
}

// tinyBackward decides the sign of dx_i when every entry that contributes to
// dy_i − c = Σ_j (dy_i − dy_j)·y_j lies more than 10^6 below the maximum, so that its enclosures
// at any precision contain 0: the exact value is e^(m2 − m)·Σ_g a_g·e^(x_g − m2)·y_i/S over the
// groups g of equal logits with a nonzero coefficient a_g = Σ_{j∈g} (dy_i − dy_j), m2 the largest
// such logit. Its sign is that of the rescaled sum, and its magnitude is below
// 2^−1000000·|rescaled sum| (y_i ≤ 1, S ≥ 1), so it rounds to ±0 with Underflow.
func (gb *groupedBackward) tinyBackward(i int, w uint) *center {
	// The groups in the order of their first member j with dy_j ≠ dy_i, and their exact
	// coefficients (the Ziv loop's, cached per entry).
	a := gb.coefs(i)
	seen := make([]bool, len(gb.gx))
	var order []int
	for j, xj := range gb.x {
		if math.IsInf(xj, -1) || gb.dy[j] == gb.dy[i] {
			continue
		}
		if g := gb.gidx[xj]; !seen[g] {
			seen[g] = true
			order = append(order, g)
		}
	}
	m2, found := 0.0, false
	for _, g := range order {
		if a[g].Sign() != 0 && (!found || gb.gx[g] > m2) {
			m2, found = gb.gx[g], true
		}
	}
	if !found || !(m2-gb.m < -expThreshold) {
		return nil
	}
	mf := new(big.Float).SetFloat64(m2)
	var sum ival
	for _, g := range order {
		if a[g].Sign() == 0 {
			continue
		}
		xf := new(big.Float).SetFloat64(gb.gx[g])
		d := ival{lo: fl(w+64, down).Sub(xf, mf), hi: fl(w+64, up).Sub(xf, mf)}
		term := ivMul(pointF(a[g]), expIval(d, w), w)
		if sum.lo == nil {
			sum = term
		} else {
			sum = ivAdd(sum, term, w)
		}
	}
	sg := sum.sign()
	if sg == 0 {
		return nil
	}
	bound := new(big.Float).Abs(sum.lo)
	if h := new(big.Float).Abs(sum.hi); h.Cmp(bound) > 0 {
		bound = h
	}
	bound.SetMantExp(bound, -1000000)
	eps := ival{lo: new(big.Float), hi: bound}
	if sg < 0 {
		eps = ival{lo: new(big.Float).Neg(bound), hi: new(big.Float)}
	}
	return &center{A: new(big.Float), eps: eps, sign: sg}
}

// exactPrec is a big.Float precision at which sums of products of float64 values (exponents
// from −2148 to 2048) and a further product with a float64 are exact for rows of up to 2^64
// entries.
const exactPrec = 2148 + 2048 + 64 + 53 + 64

// SoftmaxBackwardFromY returns dx_i = y_i·(dy_i − Σ_j dy_j·y_j) for each row of the rows×cols
// row-major y and dy, taking y as exact reals (a kernel's rounded forward output, for
// instance), each element computed exactly (a polynomial in the inputs: no Ziv loop) and rounded
// once into f.
//
// Special cases are:
//
//	a NaN or ±Inf in the row of y or of dy: every element of the row NaN
//
// The error is returned only for bad shapes.
func SoftmaxBackwardFromY(f fp.Format, y, dy []float64, rows, cols int) ([]Value, error) {
	if _, err := newFmtInfo(f); err != nil {
		return nil, err
	}
	if err := checkShape("SoftmaxBackwardFromY", len(y), rows, cols); err != nil {
		return nil, err
	}
	if len(dy) != len(y) {
		return nil, fmt.Errorf("oracle: SoftmaxBackwardFromY: %d values of dy for %d of y", len(dy), len(y))
	}
	out := make([]Value, len(y))
	for r := range rows {
		s := r * cols
		yr, dr, o := y[s:s+cols], dy[s:s+cols], out[s:s+cols]
		if !allFinite(yr) || !allFinite(dr) {
			for i := range o {
				o[i] = nanValue(f)
			}
			continue
		}
		c := new(big.Float).SetPrec(exactPrec)
		var p big.Float
		for j := range yr {
			p.SetPrec(106).Mul(new(big.Float).SetFloat64(yr[j]), new(big.Float).SetFloat64(dr[j]))
			c.Add(c, &p)
		}
		for i := range yr {
			d := new(big.Float).SetPrec(exactPrec).Sub(new(big.Float).SetFloat64(dr[i]), c)
			v := new(big.Float).SetPrec(exactPrec+53).Mul(d, new(big.Float).SetFloat64(yr[i]))
			o[i] = bigValue(f, v)
		}
	}
	return out, nil
}
