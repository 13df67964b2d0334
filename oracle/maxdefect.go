// This file decides the sign and bounds the size of the defect ε = dx_i − a/k² of a
// softmax-backward element at the maximum of its row, when ε is too small for the enclosures of
// Ziv's loop to give it a sign (a logit gap of thousands, or a first-order term that cancels
// exactly). It writes k²S²·ε as an exponential polynomial with exact rational coefficients,
// finds its leading exponent exactly, and evaluates the polynomial scaled by the inverse of that
// exponential, an ordinary-sized number, with enclosures.

package oracle

import (
	"container/heap"
	"math"
	"math/big"
	"sort"
)

// diffPrec is a big.Float precision at which differences and sums of two or three float64
// differences (magnitudes from 2^−1075 to 2^1027) are exact.
const diffPrec = 2400

// maxCandidates is the number of distinct exponents, from the top, at which maxDefect looks for
// a nonzero coefficient before giving up (each one that vanishes is an exact cancellation
// between the inputs, so more than a few are found only in inputs built for it).
const maxCandidates = 64

// maxLead bounds −c*, the leading exponent of the defect, for which the scaled evaluation is
// made with the factors e^(d − c*/2), which reach e^(−c*/2): expDir serves arguments up to 10^9.
const maxLead = 1.9e9

// lowGroup is a group of equal finite logits below the maximum of a row.
type lowGroup struct {
	d   *big.Float // x_g − m, exact and negative
	n   int64      // the number of entries
	sdy *big.Rat   // Σ_{j∈g} dy_j, exact
}

// maxDefect holds, for one row, what the defect analysis of its maximal entries shares: the
// groups of equal logits below the maximum, by decreasing logit, and the k entries at the maximum.
//
// For an entry i at the maximum (t_i = e^0 = 1) with the grouped coefficients
// a_g = Σ_{j∈g} (dy_i − dy_j) = n_g·dy_i − Σ_{j∈g} dy_j, the exact value is
// dx_i = (a_top + R)/S² with R = Σ_{g≠top} a_g·e^(d_g), s = Σ_{g≠top} n_g·e^(d_g), S = k + s,
// and dx_i = a_top/k² + ε with
//
//	k²·S²·ε = N = Σ_g b_g·e^(d_g) − a_top·Σ_{g,h} n_g·n_h·e^(d_g + d_h),   b_g = k²·a_g − 2k·a_top·n_g
//
// (the sums over the groups below the maximum; the second one over ordered pairs). N is a
// linear combination of exponentials of distinct rationals with rational coefficients once the
// terms of equal exponent are merged, so by Lindemann–Weierstrass it is zero only when every
// merged coefficient is; the lowest exponent, 2·d_min, has the coefficient −a_top·n_min², so
// N ≠ 0 whenever a_top ≠ 0, and N is a nonzero sum of first-order terms otherwise (all a_g zero
// would make dx_i an exact zero, detected before).
type maxDefect struct {
	k      int64
	sdyTop *big.Rat
	groups []lowGroup // by decreasing d
	cache  map[float64]defect
}

// defect is the result of the analysis for one value of dy_i: sign(ε) and |ε| ≤ bound, or
// ok = false when undecided.
type defect struct {
	sign  int
	bound *big.Float
	ok    bool
}

func newMaxDefect(x, dy []float64, m float64) *maxDefect {
	md := &maxDefect{sdyTop: new(big.Rat), cache: make(map[float64]defect)}
	byX := make(map[float64]int)
	mf := new(big.Float).SetFloat64(m)
	for j, xj := range x {
		switch {
		case math.IsInf(xj, -1):
			continue
		case xj == m:
			md.k++
			md.sdyTop.Add(md.sdyTop, ratOf(dy[j]))
			continue
		}
		g, ok := byX[xj]
		if !ok {
			g = len(md.groups)
			byX[xj] = g
			d := new(big.Float).SetPrec(diffPrec).Sub(new(big.Float).SetFloat64(xj), mf)
			md.groups = append(md.groups, lowGroup{d: d, sdy: new(big.Rat)})
		}
		md.groups[g].n++
		md.groups[g].sdy.Add(md.groups[g].sdy, ratOf(dy[j]))
	}
	sort.Slice(md.groups, func(a, b int) bool { return md.groups[a].d.Cmp(md.groups[b].d) > 0 })
	return md
}

// find returns the index of the group with d_g = c, or −1.
func (md *maxDefect) find(c *big.Float) int {
	gs := md.groups
	h := sort.Search(len(gs), func(h int) bool { return gs[h].d.Cmp(c) <= 0 })
	if h < len(gs) && gs[h].d.Cmp(c) == 0 {
		return h
	}
	return -1
}

// pairHeap orders pairs (g ≤ h) of groups by decreasing d_g + d_h.
type pairHeap struct {
	md *maxDefect
	p  [][2]int
	s  []*big.Float
}

func (q *pairHeap) Len() int           { return len(q.p) }
func (q *pairHeap) Less(a, b int) bool { return q.s[a].Cmp(q.s[b]) > 0 }
func (q *pairHeap) Swap(a, b int) {
	q.p[a], q.p[b] = q.p[b], q.p[a]
	q.s[a], q.s[b] = q.s[b], q.s[a]
}
func (q *pairHeap) Push(v any) {
	gh := v.([2]int)
	q.p = append(q.p, gh)
	q.s = append(q.s, new(big.Float).SetPrec(diffPrec).Add(q.md.groups[gh[0]].d, q.md.groups[gh[1]].d))
}
func (q *pairHeap) Pop() any {
	n := len(q.p) - 1
	v := q.p[n]
	q.p, q.s = q.p[:n], q.s[:n]
	return v
}

// analyze returns sign(ε) and a bound on |ε| for an entry at the maximum with upstream
// gradient dyi.
//
// Method: the exponents of N (the d_g, and the sums d_g + d_h, enumerated with a heap) are
// visited in decreasing order, and the merged coefficient of each, an exact rational, is
// computed until one is nonzero: c*, the leading exponent, with coefficient coef*. Every
// elementary term of exponent above c* belongs to a merged sum that vanishes, so it is dropped
// exactly. The gap test comes first: with Δ the distance from c* to the next exponent and T the
// sum of the magnitudes of all the elementary coefficients, |N·e^(−c*) − coef*| ≤ e^(−Δ)·T; when
// that is below |coef*| it gives the sign (the usual case: gaps of more than a few dozen).
// Otherwise
//
//	N·e^(−c*) = Σ_{d_g ≤ c*} b_g·e^(d_g − c*) − a_top·Σ_{d_g+d_h ≤ c*} n_g·e^(d_g − c*/2)·n_h·e^(d_h − c*/2)
//
// (the pair sum with suffix sums over the groups sorted by d) is evaluated with outward-rounded
// enclosures at rising precision until its sign is known; it is a nonzero number whose size is
// that of the leading coefficient unless further terms come within e^(−1) of it, so this takes
// a few hundred bits. Then sign(ε) = sign(N) and |ε| = |N|/(k²·S²) ≤ e^(c*)·|N·e^(−c*)|/k⁴
// (S ≥ k). When c* < −1.9·10^9 the pairs are summed one by one instead (rows of at most 64 groups).
// It fails (ok = false) when the first maxCandidates exponents all vanish, when c* < −1.9·10^9 in a
// row of more than 64 groups, or when the sign is still unknown at MaxPrecision bits.
func (md *maxDefect) analyze(dyi float64) defect {
	if r, ok := md.cache[dyi]; ok {
		return r
	}
	r := md.analyze1(dyi)
	md.cache[dyi] = r
	return r
}

func (md *maxDefect) analyze1(dyi float64) defect {
	if len(md.groups) == 0 || md.k == 0 {
		return defect{}
	}
	t := md.terms(dyi)
	ex := &exponents{md: md, t: t, ph: &pairHeap{md: md}}
	if t.aTop.Sign() != 0 {
		heap.Push(ex.ph, [2]int{0, 0})
	}
	var cStar *big.Float
	var coef *big.Rat
	for seen := 0; ; seen++ {
		c := ex.next()
		if c == nil || seen >= maxCandidates {
			return defect{} // c == nil: N = 0, impossible by the argument above
		}
		if q := md.coefAt(t, c); q.Sign() != 0 {
			cStar, coef = c, q
			break
		}
	}
	if mag, ok := md.gapBound(t, coef, cStar, ex.next()); ok {
		return md.result(coef.Sign(), cStar, mag)
	}
	return md.evaluate(t, cStar)
}

// nTerms holds the elementary coefficients of N for one upstream gradient: b[g] of e^(d_g),
// and −aTop·n_g·n_h of each pair e^(d_g + d_h).
type nTerms struct {
	b    []*big.Rat
	aTop *big.Rat
}

func (md *maxDefect) terms(dyi float64) nTerms {
	k := big.NewRat(md.k, 1)
	di := ratOf(dyi)
	aTop := new(big.Rat).Mul(k, di)
	aTop.Sub(aTop, md.sdyTop)
	b := make([]*big.Rat, len(md.groups))
	twoKA := new(big.Rat).Mul(aTop, big.NewRat(2*md.k, 1))
	kk := new(big.Rat).Mul(k, k)
	for g, gr := range md.groups {
		a := new(big.Rat).Mul(big.NewRat(gr.n, 1), di)
		a.Sub(a, gr.sdy)
		a.Mul(a, kk)
		tt := new(big.Rat).Mul(twoKA, big.NewRat(gr.n, 1))
		b[g] = a.Sub(a, tt)
	}
	return nTerms{b: b, aTop: aTop}
}

// coefAt returns the merged coefficient of e^c in N.
func (md *maxDefect) coefAt(t nTerms, c *big.Float) *big.Rat {
	q := new(big.Rat)
	if f := md.find(c); f >= 0 {
		q.Add(q, t.b[f])
	}
	if t.aTop.Sign() != 0 {
		var pairs int64
		for _, gr := range md.groups {
			if h := md.find(new(big.Float).SetPrec(diffPrec).Sub(c, gr.d)); h >= 0 {
				pairs += gr.n * md.groups[h].n
			}
		}
		q.Sub(q, new(big.Rat).Mul(t.aTop, big.NewRat(pairs, 1)))
	}
	return q
}

// exponents visits the exponents of N's terms in decreasing order: first-order ones by index f,
// pair sums through the heap.
type exponents struct {
	md   *maxDefect
	t    nTerms
	ph   *pairHeap
	f    int
	last *big.Float
}

// next returns the next distinct exponent with a nonzero term, or nil.
func (ex *exponents) next() *big.Float {
	groups, G := ex.md.groups, len(ex.md.groups)
	for {
		for ex.f < G && ex.t.b[ex.f].Sign() == 0 {
			ex.f++ // no first-order term (a pair may still have this exponent)
		}
		var c *big.Float
		switch {
		case ex.f < G && (ex.ph.Len() == 0 || groups[ex.f].d.Cmp(ex.ph.s[0]) >= 0):
			c = groups[ex.f].d
			ex.f++
		case ex.ph.Len() > 0:
			c = ex.ph.s[0]
			gh := heap.Pop(ex.ph).([2]int)
			if gh[1]+1 < G {
				heap.Push(ex.ph, [2]int{gh[0], gh[1] + 1})
			}
			if gh[0] == gh[1] && gh[0]+1 < G {
				heap.Push(ex.ph, [2]int{gh[0] + 1, gh[0] + 1})
			}
		default:
			return nil
		}
		if ex.last == nil || c.Cmp(ex.last) != 0 {
			ex.last = c
			return c
		}
	}
}

// gapBound is the gap test: every other term of N·e^(−c*) is e^(c − c*) ≤ e^(−Δ) times its
// coefficient, Δ = c* − cn (cn the next exponent, nil when there is none), and the coefficients
// sum in magnitude to at most T = Σ_g |b_g| + |a_top|·(Σ_g n_g)²; when e^(−Δ)·T < |coef*|,
// sign(N) = sign(coef*) and |N·e^(−c*)| ≤ |coef*| + e^(−Δ)·T, which it returns. This settles
// large gaps without an evaluation.
func (md *maxDefect) gapBound(t nTerms, coef *big.Rat, cStar, cn *big.Float) (*big.Float, bool) {
	T := new(big.Rat)
	var nAll int64
	for g, gr := range md.groups {
		T.Add(T, new(big.Rat).Abs(t.b[g]))
		nAll += gr.n
	}
	T.Add(T, new(big.Rat).Mul(new(big.Rat).Abs(t.aTop), big.NewRat(nAll*nAll, 1)))
	Tf := fl(64, up).SetRat(T)
	cAbs := fl(64, down).SetRat(new(big.Rat).Abs(coef))
	tail := new(big.Float)
	if cn != nil {
		delta := new(big.Float).SetPrec(diffPrec).Sub(cn, cStar) // −Δ < 0, exact
		tail = fl(64, up).Mul(expDir(delta, 64, true), Tf)
	}
	if tail.Cmp(cAbs) >= 0 {
		return nil, false
	}
	return fl(64, up).Add(fl(64, up).SetRat(new(big.Rat).Abs(coef)), tail), true
}

// evaluate encloses N·e^(−c*) at rising precision until its sign is known. Beyond maxLead,
// e^(d − c*/2) would leave expDir's range: the pairs are summed one by one (each
// e^(d_g + d_h − c*) ≤ 1) in rows with few groups, and the analysis fails otherwise.
func (md *maxDefect) evaluate(t nTerms, cStar *big.Float) defect {
	G := len(md.groups)
	cf, _ := cStar.Float64()
	direct := cf < -maxLead
	if direct && G > 64 {
		return defect{}
	}
	for w := uint(128); w <= MaxPrecision; w = nextPrecision(w) {
		iw := w + 16 + uint(bitsLen(G))
		scaled := point(0)
		for g, gr := range md.groups {
			if t.b[g].Sign() != 0 && gr.d.Cmp(cStar) <= 0 {
				scaled = ivAdd(scaled, ivMul(ratIval(t.b[g], iw), expAt(gr.d, cStar, iw), iw), iw)
			}
		}
		if t.aTop.Sign() != 0 {
			pairs := md.pairSum(cStar, direct, iw)
			scaled = ivSub(scaled, ivMul(ratIval(t.aTop, iw), pairs, iw), iw)
		}
		sg := 0
		switch {
		case scaled.lo.Sign() > 0:
			sg = 1
		case scaled.hi.Sign() < 0:
			sg = -1
		default:
			continue
		}
		mag := new(big.Float).Abs(scaled.lo)
		if h := new(big.Float).Abs(scaled.hi); h.Cmp(mag) > 0 {
			mag = h
		}
		return md.result(sg, cStar, mag)
	}
	return defect{}
}

// expAt encloses e^(d − c) at iw bits.
func expAt(d, c *big.Float, iw uint) ival {
	return expIval(pointF(new(big.Float).SetPrec(diffPrec).Sub(d, c)), iw)
}

// pairSum encloses Σ_{d_g + d_h ≤ c*} n_g·n_h·e^(d_g + d_h − c*): pair by pair when direct, else
// as Σ_g n_g·e^(d_g − c*/2)·u[h0(g)] with the suffix sums u[h] = Σ_{h' ≥ h} n_h'·e^(d_h' − c*/2)
// over the groups sorted by decreasing d.
func (md *maxDefect) pairSum(cStar *big.Float, direct bool, iw uint) ival {
	G := len(md.groups)
	pairs := point(0)
	if direct {
		for _, g := range md.groups {
			lim := new(big.Float).SetPrec(diffPrec).Sub(cStar, g.d)
			for _, h := range md.groups {
				if h.d.Cmp(lim) <= 0 {
					e := new(big.Float).SetPrec(diffPrec).Add(g.d, h.d)
					pairs = ivAdd(pairs, ivMul(point(float64(g.n*h.n)), expAt(e, cStar, iw), iw), iw)
				}
			}
		}
		return pairs
	}
	half := new(big.Float).SetPrec(diffPrec).SetMantExp(cStar, -1)
	u := make([]ival, G+1)
	u[G] = point(0)
	for h := G - 1; h >= 0; h-- {
		gr := md.groups[h]
		u[h] = ivAdd(u[h+1], ivMul(point(float64(gr.n)), expAt(gr.d, half, iw), iw), iw)
	}
	for _, gr := range md.groups {
		lim := new(big.Float).SetPrec(diffPrec).Sub(cStar, gr.d)
		h0 := sort.Search(G, func(h int) bool { return md.groups[h].d.Cmp(lim) <= 0 })
		if h0 < G {
			pairs = ivAdd(pairs, ivMul(ivMul(point(float64(gr.n)), expAt(gr.d, half, iw), iw), u[h0], iw), iw)
		}
	}
	return pairs
}

// result returns the defect of sign sg with |N·e^(−c*)| ≤ mag: |ε| = |N|/(k²·S²) ≤
// e^(c*)·mag/k⁴, since S ≥ k.
func (md *maxDefect) result(sg int, cStar, mag *big.Float) defect {
	k4 := fl(64, down).SetInt64(md.k) // a lower bound of k⁴
	k4.Mul(k4, k4).Mul(k4, k4)
	bound := fl(64, up).Mul(expDir(cStar, 64, true), mag)
	bound = fl(64, up).Quo(bound, k4)
	return defect{sign: sg, bound: bound, ok: true}
}
