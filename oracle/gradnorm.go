// This file implements the total gradient norm of PyTorch's torch.nn.utils.get_total_norm and
// clip_grad_norm_ (the p-norm of the elements of a list of tensors, p = 2, ∞ or any p > 0), the
// clip coefficient min(1, max_norm/(N + 1e-6)), the clipped gradients and clip_grad_value_,
// each correctly rounded into a format (docs/gradnorm.md).
//
// Method. For a rational p = a/b (every finite float64 is one; b a power of two) the norm
// N = (Σ y_i^p)^(1/p) of the magnitudes y_i is written as N = (U/V)^(1/a)·2^e with integers U, V
// whenever that is possible (N^a is rational):
//
//	b = 1 (integer p): U = Σ M_i^a with y_i = M_i·2^e (e the smallest exponent), V = 1
//	b > 1: every ratio y_i/y_max is the b-th power of a rational s_i (tested exactly); then
//	       N^a = y_max^a·(Σ s_i^a)^b
//
// and an integer a-th root (big.Int.Sqrt for a = 2, Newton on big.Int otherwise, both checked:
// r^a ≤ X < (r+1)^a) of U/V scaled to 128 bits gives N truncated plus a sticky bit, which rounds
// like N itself (values and midpoints of a format have at most 54 significant bits); the root
// is exact exactly when N is rational, and then N is rounded once. Otherwise (b > 1 and some
// ratio is not a b-th power) N is irrational (Besicovitch: b-th roots of rationals with distinct
// b-th-power-free parts are linearly independent over Q) and Ziv's loop on
// N = y_max·exp(log(Σ e^(p·log(y_i/y_max)))/p) decides it. The ∞-norm is max y_i, exact.

package oracle

import (
	"errors"
	"fmt"
	"math"
	"math/big"

	"github.com/ulpcheck/ulpcheck/fp"
)

// ClipEps is the ε of clip_grad_norm_'s coefficient max_norm/(total_norm + ε): the Python float
// 1e-6, that is the float64 nearest to 10^−6 (0x1.0c6f7a0b5ed8dp-20), taken as an exact real.
const ClipEps = 1e-6

// rootBits is the number of bits of the truncated root (at least 54 + 64: the sticky
// argument holds for float64 too, so Value.Float64 is the correctly rounded float64).
const rootBits = 128

// maxRootWork bounds a·(bits of the integers raised to the power a) for the exact path; larger
// exponents (p above a few hundred, or p = a/b with a large) go to Ziv's loop.
const maxRootWork = 1 << 18

// errBadP is wrapped by the errors for an invalid norm order.
var errBadP = errors.New("norm order must be > 0 (or +Inf)")

// gnorm is the exact total norm of a list of tensors.
type gnorm struct {
	nan, inf bool
	ys       []float64 // magnitudes of the finite nonzero elements
	ymax     float64
	p        float64
	// exact is N when it is known to be rational (zero, one element, the ∞-norm, p = 1, exact
	// roots), else nil.
	exact *big.Rat
	// root form, N = (U/V)^(1/a)·2^e2, when rootOK.
	rootOK bool
	U, V   *big.Int
	a      int
	e2     int
	// certain: N is known to be irrational when exact is nil (Ziv's loop on it terminates).
	certain bool
}

// checkP validates a norm order.
func checkP(op string, p float64) error {
	if math.IsNaN(p) || p <= 0 || math.IsInf(p, -1) {
		return fmt.Errorf("oracle: %s: norm order %v: %w", op, p, errBadP)
	}
	return nil
}

// collectNorm reads the tensors (values of f, NaN allowed) and sets up the exact norm.
func collectNorm(op string, f fp.Format, tensors [][]float64, p float64) (*gnorm, error) {
	if !f.Valid() {
		return nil, fmt.Errorf("oracle: %s: invalid format %v", op, f)
	}
	if err := checkP(op, p); err != nil {
		return nil, err
	}
	g := &gnorm{p: p}
	for t, ts := range tensors {
		for i, x := range ts {
			if !f.Contains(x) {
				return nil, fmt.Errorf("oracle: %s: tensor %d element %d (%v) is not a value of %v", op, t, i, x, f)
			}
			switch {
			case math.IsNaN(x):
				g.nan = true
			case math.IsInf(x, 0):
				g.inf = true
			case x != 0:
				y := math.Abs(x)
				g.ys = append(g.ys, y)
				g.ymax = max(g.ymax, y)
			}
		}
	}
	if g.nan || g.inf {
		return g, nil
	}
	switch {
	case len(g.ys) == 0:
		g.exact = new(big.Rat)
	case len(g.ys) == 1 || math.IsInf(p, 1):
		g.exact = ratOf(g.ymax)
	case p == 1:
		s := new(big.Rat)
		for _, y := range g.ys {
			s.Add(s, ratOf(y))
		}
		g.exact = s
	default:
		g.setRoot()
	}
	return g, nil
}

// mantExp returns the odd integer M and the exponent e with y = M·2^e (y finite, nonzero).
func mantExp(y float64) (uint64, int) {
	b := math.Float64bits(y)
	m, e := b&(1<<52-1), int(b>>52&0x7ff)
	if e == 0 {
		e = 1
	} else {
		m |= 1 << 52
	}
	e -= 1075
	for m&1 == 0 {
		m >>= 1
		e++
	}
	return m, e
}

// setRoot sets the root form of N (or the Ziv path) for finite p ∉ {1} and at least two
// nonzero elements.
func (g *gnorm) setRoot() {
	pr := new(big.Rat).SetFloat64(g.p)
	if !pr.Num().IsInt64() || pr.Num().Int64() > maxRootWork {
		return // Ziv's loop, not known irrational
	}
	a := int(pr.Num().Int64())
	b := pr.Denom()
	if b.IsInt64() && b.Int64() == 1 {
		emin, mbits := math.MaxInt, 0
		ms := make([]uint64, len(g.ys))
		es := make([]int, len(g.ys))
		for i, y := range g.ys {
			ms[i], es[i] = mantExp(y)
			emin = min(emin, es[i])
		}
		for i := range ms {
			mbits = max(mbits, bitsLen64(ms[i])+es[i]-emin)
		}
		if a*mbits > maxRootWork {
			return
		}
		U := new(big.Int)
		var t, pw big.Int
		A := big.NewInt(int64(a))
		for i := range ms {
			t.SetUint64(ms[i])
			t.Lsh(&t, uint(es[i]-emin))
			pw.Exp(&t, A, nil)
			U.Add(U, &pw)
		}
		g.setRootForm(U, big.NewInt(1), a, emin)
		return
	}
	// b > 1: s_i = (y_i/y_max)^(1/b) must be rational for every i.
	if !b.IsInt64() {
		g.certain = g.allEqualIrrational()
		return
	}
	bb := int(b.Int64())
	ymax := ratOf(g.ymax)
	C := new(big.Rat)
	ss := make([]*big.Rat, len(g.ys))
	work := 0
	for i, y := range g.ys {
		rho := new(big.Rat).Quo(ratOf(y), ymax)
		n, okn := exactRoot(rho.Num(), bb)
		d, okd := exactRoot(rho.Denom(), bb)
		if !okn || !okd {
			g.certain = true // Besicovitch: N is irrational
			return
		}
		ss[i] = new(big.Rat).SetFrac(n, d)
		work = max(work, a*max(n.BitLen(), d.BitLen()))
	}
	if work > maxRootWork || a*bb > maxRootWork {
		g.certain = g.allEqualIrrational()
		return
	}
	A := big.NewInt(int64(a))
	for _, s := range ss {
		num := new(big.Int).Exp(s.Num(), A, nil)
		den := new(big.Int).Exp(s.Denom(), A, nil)
		C.Add(C, new(big.Rat).SetFrac(num, den))
	}
	// N^a = y_max^a·C^b; y_max = M·2^e gives N = (M^a·C^b)^(1/a)·2^e.
	m, e := mantExp(g.ymax)
	B := big.NewInt(int64(bb))
	U := new(big.Int).Exp(new(big.Int).SetUint64(m), A, nil)
	U.Mul(U, new(big.Int).Exp(C.Num(), B, nil))
	V := new(big.Int).Exp(C.Denom(), B, nil)
	g.setRootForm(U, V, a, e)
}

// allEqualIrrational reports whether every element equals y_max (then N = y_max·n^(1/p), which
// for p = a/b with a > 63 is irrational since n < 2^63 is no perfect a-th power but 1).
func (g *gnorm) allEqualIrrational() bool {
	pr := new(big.Rat).SetFloat64(g.p)
	if pr.Num().BitLen() <= 6 {
		return false
	}
	for _, y := range g.ys {
		if y != g.ymax {
			return false
		}
	}
	return true
}

func bitsLen64(m uint64) int {
	n := 0
	for ; m > 0; m >>= 1 {
		n++
	}
	return n
}

// setRootForm records N = (U/V)^(1/a)·2^e2 and, when the root is exact, N itself.
func (g *gnorm) setRootForm(U, V *big.Int, a, e2 int) {
	g.rootOK, g.U, g.V, g.a, g.e2 = true, U, V, a, e2
	r, t, ex := scaledRoot(U, V, a, rootBits)
	if ex {
		g.exact = dyadicRat(r, e2-t)
	}
}

// dyadicRat returns r·2^e as a big.Rat.
func dyadicRat(r *big.Int, e int) *big.Rat {
	q := new(big.Rat).SetInt(r)
	if e >= 0 {
		return q.SetInt(new(big.Int).Lsh(r, uint(e)))
	}
	return q.SetFrac(r, new(big.Int).Lsh(big.NewInt(1), uint(-e)))
}

// iroot returns ⌊x^(1/a)⌋ for x ≥ 0, a ≥ 1, checked: r^a ≤ x < (r+1)^a (a failed check is a
// bug and panics).
func iroot(x *big.Int, a int) *big.Int {
	var r *big.Int
	switch {
	case x.Sign() == 0:
		return new(big.Int)
	case a == 1:
		return new(big.Int).Set(x)
	case a == 2:
		r = new(big.Int).Sqrt(x) // documented: the largest z with z² ≤ x
	default:
		// Integer Newton iteration from above: r_0 = 2^⌈bits/a⌉ > x^(1/a); by the AM–GM
		// inequality every iterate stays ≥ ⌊x^(1/a)⌋, and the sequence decreases strictly
		// until it reaches it.
		r = new(big.Int).Lsh(big.NewInt(1), uint((x.BitLen()+a-1)/a))
		am1, A := big.NewInt(int64(a-1)), big.NewInt(int64(a))
		var t, s big.Int
		for {
			t.Exp(r, am1, nil)
			t.Quo(x, &t)
			s.Mul(r, am1)
			s.Add(&s, &t)
			s.Quo(&s, A)
			if s.Cmp(r) >= 0 {
				break
			}
			r.Set(&s)
		}
	}
	A := big.NewInt(int64(a))
	lo := new(big.Int).Exp(r, A, nil)
	hi := new(big.Int).Exp(new(big.Int).Add(r, big.NewInt(1)), A, nil)
	if lo.Cmp(x) > 0 || hi.Cmp(x) <= 0 {
		panic("oracle: iroot: integer root check failed")
	}
	return r
}

// exactRoot returns x^(1/b) and true when x ≥ 1 is a perfect b-th power.
func exactRoot(x *big.Int, b int) (*big.Int, bool) {
	if x.Cmp(big.NewInt(1)) == 0 {
		return big.NewInt(1), true
	}
	if x.BitLen() <= b { // a b-th power above 1 has more than b bits
		return nil, false
	}
	r := iroot(x, b)
	return r, new(big.Int).Exp(r, big.NewInt(int64(b)), nil).Cmp(x) == 0
}

// scaledRoot returns r = ⌊(U/V)^(1/a)·2^t⌋ with r ≥ 2^P, and whether (U/V)^(1/a)·2^t = r exactly.
func scaledRoot(U, V *big.Int, a int, P int) (r *big.Int, t int, exact bool) {
	lb := U.BitLen() - V.BitLen() // U/V > 2^(lb−1)
	// a·t ≥ a·P − lb + 1 makes X = ⌊U·2^(at)/V⌋ ≥ 2^(aP), so r ≥ 2^P.
	t = ceilDiv(a*P-lb+1, a)
	num, den := new(big.Int).Set(U), new(big.Int).Set(V)
	if t >= 0 {
		num.Lsh(num, uint(a*t))
	} else {
		den.Lsh(den, uint(-a*t))
	}
	X, rem := new(big.Int).QuoRem(num, den, new(big.Int))
	r = iroot(X, a)
	exact = rem.Sign() == 0 && new(big.Int).Exp(r, big.NewInt(int64(a)), nil).Cmp(X) == 0
	return r, t, exact
}

// ceilDiv returns ⌈n/d⌉ for d > 0.
func ceilDiv(n, d int) int {
	q := n / d
	if n%d != 0 && n > 0 {
		q++
	}
	return q
}

// rootValue rounds the root form into f: r + ½ (a sticky bit) when inexact.
func (g *gnorm) rootValue(f fp.Format) Value {
	r, t, _ := scaledRoot(g.U, g.V, g.a, rootBits)
	z := new(big.Int).Lsh(r, 1)
	z.SetBit(z, 0, 1)
	x := new(big.Float).SetPrec(uint(z.BitLen())).SetInt(z)
	x.SetMantExp(x, g.e2-t-1)
	rv, flag := f.Round(x)
	r64, _ := x.Float64()
	return Value{Format: f, Rounded: rv, Flag: flag, kind: kindBig, approx: x, has64: true, r64: r64}
}

// ival returns an enclosure of N of about w bits (N finite).
func (g *gnorm) ival(w uint) ival {
	if g.exact != nil {
		return ratIval(g.exact, w)
	}
	if g.rootOK {
		r, t, _ := scaledRoot(g.U, g.V, g.a, int(w))
		lo := new(big.Float).SetPrec(w + 2).SetInt(r)
		hi := new(big.Float).SetPrec(w + 2).SetInt(new(big.Int).Add(r, big.NewInt(1)))
		lo.SetMantExp(lo, g.e2-t)
		hi.SetMantExp(hi, g.e2-t)
		return ival{lo: lo, hi: hi, pos: true}
	}
	iv, _, _ := g.zivIval(w)
	return iv
}

// zivIval encloses N = y_max·C^(1/p), C = k + T, k the number of elements equal to y_max and
// T = Σ_{y_i < y_max} e^(p·log(y_i/y_max)), at about w bits. It also returns T and k. An
// enclosure of log N above 2^20 (N beyond every format: p tiny) is returned as [2^(2^20), +big].
func (g *gnorm) zivIval(w uint) (ival, ival, int) {
	iw := w + 16 + uint(bitsLen(len(g.ys)))
	ym := new(big.Float).SetFloat64(g.ymax)
	P := point(g.p)
	T := ival{lo: new(big.Float), hi: new(big.Float)}
	k := 0
	for _, y := range g.ys {
		if y == g.ymax {
			k++
			continue
		}
		rho := ivDiv(point(y), pointF(ym), iw)
		T = ivAdd(T, expIval(ivMul(P, logIval(rho, iw), iw), iw), iw)
	}
	C := ivAdd(point(float64(k)), T, iw)
	L := ivDiv(logIval(C, iw), P, iw) // log C^(1/p) ≥ 0
	if L.lo.Cmp(big.NewFloat(1<<20)) > 0 {
		huge := new(big.Float).SetMantExp(big.NewFloat(1), 1<<20)
		return ival{lo: huge, hi: huge, pos: true}, T, k
	}
	return ivMul(pointF(ym), expIval(L, iw), iw), T, k
}

// zivCenter writes N = y_max + ε for k = 1 (decideCenter), ε ≤ y_max·(e^(log1p(T)/p) − 1).
func (g *gnorm) zivCenter(w uint) *center {
	_, T, k := g.zivIval(w)
	if k != 1 {
		return nil
	}
	iw := w + 16
	ym := new(big.Float).SetFloat64(g.ymax)
	L := fl(iw, up).Quo(log1pIval(T, iw).hi, new(big.Float).SetFloat64(g.p))
	e := expDir(L, iw, true)
	e = fl(iw, up).Sub(e, big.NewFloat(1))
	e = fl(iw, up).Mul(e, ym)
	return &center{A: ym, eps: ival{lo: new(big.Float), hi: e, pos: true}, sign: 1}
}

// value returns N correctly rounded into f.
func (g *gnorm) value(op string, fi *fmtInfo) (Value, error) {
	f := fi.f
	switch {
	case g.nan:
		return nanValue(f), nil
	case g.inf:
		return floatValue(f, math.Inf(1)), nil
	case g.exact != nil:
		if g.exact.Sign() == 0 {
			return zeroValue(f), nil
		}
		return ratValue(f, g.exact), nil
	case g.rootOK:
		return g.rootValue(f), nil
	}
	var out [1]Value
	var w0 uint
	err := ziv(fi, op, out[:], []int{0}, func(w uint) error { w0 = w; return nil },
		func(w uint, _ int) (ival, error) {
			iv, _, _ := g.zivIval(w)
			if iv.lo.MantExp(nil) > 1<<19 {
				return ival{}, errHugeNorm
			}
			return iv, nil
		},
		func(int) *center { return g.zivCenter(w0) })
	if errors.Is(err, errHugeNorm) {
		return floatValue(f, math.Inf(1)), nil // beyond 2^(2^19): overflows every format
	}
	if err != nil && !g.certain {
		err = fmt.Errorf("%w (p = %v: exactness of the norm not decided)", err, g.p)
	}
	return out[0], err
}

var errHugeNorm = errors.New("oracle: norm beyond big.Float's range")

// cmpNorm returns the sign of N − D for a rational D ≥ 0 and finite N, and false when it could
// not be decided (Ziv path at the precision cap).
func (g *gnorm) cmpNorm(D *big.Rat) (int, bool) {
	if g.exact != nil {
		return g.exact.Cmp(D), true
	}
	if g.rootOK {
		// N ≤ D ⟺ U/V·2^(a·e2) ≤ D^a.
		lhs := new(big.Rat).SetFrac(g.U, g.V)
		lhs.Mul(lhs, dyadicRat(big.NewInt(1), g.a*g.e2))
		rhs := new(big.Rat).SetInt64(1)
		for range g.a {
			rhs.Mul(rhs, D)
		}
		return lhs.Cmp(rhs), true
	}
	for w := uint(64); w <= MaxPrecision; w = nextPrecision(w) {
		iv := g.ival(w)
		lo, _ := iv.lo.Rat(nil)
		hi, _ := iv.hi.Rat(nil)
		if lo.Cmp(D) > 0 {
			return 1, true
		}
		if hi.Cmp(D) < 0 {
			return -1, true
		}
	}
	return 0, false
}

// GradNorm returns the correctly rounded total p-norm (p = 2, math.Inf(1), or any finite p > 0) of the
// elements of all tensors together, in format f.
//
// The total norm is (Σ_i |x_i|^p)^(1/p) over every element of every tensor, which equals
// PyTorch's norm of the per-tensor norms (get_total_norm) as a real number; for p = +Inf it is
// max |x_i|. Every element must be a value of f (NaN included); the result carries the exact
// norm as every Value does.
//
// Special cases are (docs/gradnorm.md):
//
//	any NaN: NaN (also for p = +Inf, where a max would skip it)
//	any ±Inf and no NaN: +Inf
//	no element, or all ±0: +0 (exact)
//	one nonzero element x: |x| (exact, any p)
//	p = 1 and p = +Inf: exact sums and maxima, rounded once
//	N rational (sums of squares that are perfect squares, integer p-th roots, ...): exact
//	the exact norm beyond MaxFinite: +Inf (E4M3: NaN), flag Overflow
//
// Errors: invalid f, p ≤ 0, NaN or −Inf, an element that is not a value of f (E4M3 ±Inf
// included), and the precision cap of the Ziv loop (only for p = a/b with a large and every
// ratio y_i/y_max a b-th power: an exact case the oracle does not detect).
func GradNorm(f fp.Format, tensors [][]float64, p float64) (Value, error) {
	g, err := collectNorm("GradNorm", f, tensors, p)
	if err != nil {
		return Value{}, err
	}
	fi, err := newFmtInfo(f)
	if err != nil {
		return Value{}, err
	}
	return g.value("GradNorm", fi)
}

// clipCoef is the exact clip coefficient c = min(1, M/(N + ε)).
type clipCoef struct {
	nan   bool
	exact *big.Rat // c when rational (0, 1, or M/(N+ε) with N rational)
	g     *gnorm
	M     float64
}

func checkMaxNorm(op string, m float64) error {
	if math.IsNaN(m) || m < 0 {
		return fmt.Errorf("oracle: %s: max_norm %v must be ≥ 0 and not NaN", op, m)
	}
	return nil
}

func newClipCoef(op string, g *gnorm, M float64) (*clipCoef, error) {
	c := &clipCoef{g: g, M: M}
	switch {
	case g.nan:
		c.nan = true
	case g.inf:
		if math.IsInf(M, 1) {
			c.nan = true // Inf/Inf
		} else {
			c.exact = new(big.Rat) // M/Inf = 0
		}
	case math.IsInf(M, 1):
		c.exact = big.NewRat(1, 1)
	case M == 0:
		c.exact = new(big.Rat)
	default:
		D := new(big.Rat).Sub(ratOf(M), ratOf(ClipEps))
		sg := 1 // N > D when D < 0
		if D.Sign() >= 0 {
			var ok bool
			if sg, ok = g.cmpNorm(D); !ok {
				return nil, fmt.Errorf("oracle: %s: N + 1e-6 against max_norm undecided at %d bits: %w", op, MaxPrecision, ErrPrecisionCap)
			}
		}
		switch {
		case sg <= 0:
			c.exact = big.NewRat(1, 1) // M ≥ N + ε
		case g.exact != nil:
			c.exact = new(big.Rat).Quo(ratOf(M), new(big.Rat).Add(g.exact, ratOf(ClipEps)))
		}
	}
	return c, nil
}

// ival encloses c = M/(N + ε) < 1 (irrational N) at about w bits.
func (c *clipCoef) ival(w uint) ival {
	n := c.g.ival(w + 8)
	return ivDiv(point(c.M), ivAdd(n, point(ClipEps), w+8), w+4)
}

// ClipCoef returns min(1, maxNorm/(N + 1e-6)), N the exact total p-norm, correctly rounded in f.
//
// ε = ClipEps (the float64 1e-6, exactly), maxNorm a float64 taken exactly (it need not be a
// value of f), N the exact norm of GradNorm. The coefficient is exactly 1 when
// maxNorm ≥ N + ε (decided exactly), and rational whenever N is.
//
// Special cases are:
//
//	N NaN: NaN
//	N = +Inf: +0 (maxNorm finite), NaN (maxNorm = +Inf: Inf/Inf)
//	maxNorm = +Inf, N finite: 1
//	maxNorm = 0, N finite: +0
//
// Errors: those of GradNorm, and maxNorm negative or NaN.
func ClipCoef(f fp.Format, tensors [][]float64, p, maxNorm float64) (Value, error) {
	const op = "ClipCoef"
	if err := checkMaxNorm(op, maxNorm); err != nil {
		return Value{}, err
	}
	g, err := collectNorm(op, f, tensors, p)
	if err != nil {
		return Value{}, err
	}
	fi, err := newFmtInfo(f)
	if err != nil {
		return Value{}, err
	}
	c, err := newClipCoef(op, g, maxNorm)
	if err != nil {
		return Value{}, err
	}
	switch {
	case c.nan:
		return nanValue(f), nil
	case c.exact != nil:
		if c.exact.Sign() == 0 {
			return zeroValue(f), nil
		}
		return ratValue(f, c.exact), nil
	}
	var out [1]Value
	err = ziv(fi, op, out[:], []int{0}, nil, func(w uint, _ int) (ival, error) { return c.ival(w), nil }, nil)
	return out[0], err
}

// ClipGradNorm returns the exactly clipped gradients g·min(1, maxNorm/(N+1e-6)), each correctly rounded in f,
// shaped like tensors, and the total norm (as GradNorm).
//
// This is clip_grad_norm_(parameters, max_norm, norm_type = p) with the coefficient c of
// ClipCoef computed exactly and every product g_i·c rounded once (PyTorch multiplies every
// gradient, even when c = 1). The returned norm is that of the gradients before clipping, as
// PyTorch returns it.
//
// Special cases are:
//
//	c = 1: every element unchanged (exact; ±0 as +0)
//	c NaN (N NaN, or N = +Inf with maxNorm = +Inf): every element NaN
//	c = 0 (N = +Inf, or maxNorm = 0): finite elements +0, ±Inf elements NaN (Inf·0)
//	exact zeros are +0 (PyTorch gives −0 for a negative gradient times 0)
//
// Errors: those of ClipCoef.
func ClipGradNorm(f fp.Format, tensors [][]float64, p, maxNorm float64) ([][]Value, Value, error) {
	const op = "ClipGradNorm"
	if err := checkMaxNorm(op, maxNorm); err != nil {
		return nil, Value{}, err
	}
	g, err := collectNorm(op, f, tensors, p)
	if err != nil {
		return nil, Value{}, err
	}
	fi, err := newFmtInfo(f)
	if err != nil {
		return nil, Value{}, err
	}
	norm, err := g.value(op, fi)
	if err != nil {
		return nil, Value{}, err
	}
	c, err := newClipCoef(op, g, maxNorm)
	if err != nil {
		return nil, Value{}, err
	}
	out := make([][]Value, len(tensors))
	for t, ts := range tensors {
		o := make([]Value, len(ts))
		out[t] = o
		var pending []int
		for i, x := range ts {
			switch {
			case c.nan || math.IsNaN(x):
				o[i] = nanValue(f)
			case math.IsInf(x, 0):
				if c.exact != nil && c.exact.Sign() == 0 {
					o[i] = nanValue(f)
				} else {
					o[i] = floatValue(f, x) // c > 0 never happens with an Inf element (then N = Inf)
				}
			case x == 0 || c.exact != nil && c.exact.Sign() == 0:
				o[i] = zeroValue(f)
			case c.exact != nil && c.exact.Cmp(big.NewRat(1, 1)) == 0:
				o[i] = floatValue(f, x)
			case c.exact != nil:
				o[i] = ratValue(f, new(big.Rat).Mul(ratOf(x), c.exact))
			default:
				pending = append(pending, i)
			}
		}
		if len(pending) == 0 {
			continue
		}
		var civ ival
		err := ziv(fi, op, o, pending, func(w uint) error { civ = c.ival(w + 4); return nil },
			func(w uint, i int) (ival, error) { return ivMul(point(ts[i]), civ, w+4), nil }, nil)
		if err != nil {
			return nil, Value{}, err
		}
	}
	return out, norm, nil
}

// ClipGradValue returns each element clamped to [−clip, clip] (exact), as Values in f.
//
// This is clip_grad_value_(parameters, clip_value): clip is a float64 taken exactly; the clamped
// real is rounded once into f. Because RN is monotone and the elements are values of f, this
// equals clamping to [−RN(clip), RN(clip)], which is what PyTorch's clamp of a tensor of format
// f with a Python float computes.
//
// Special cases are: NaN elements stay NaN; ±Inf elements become ±clip rounded (±Inf for
// clip = +Inf); exact zeros are +0.
//
// Errors: invalid f, clip negative or NaN, an element that is not a value of f.
func ClipGradValue(f fp.Format, tensors [][]float64, clip float64) ([][]Value, error) {
	if !f.Valid() {
		return nil, fmt.Errorf("oracle: ClipGradValue: invalid format %v", f)
	}
	if math.IsNaN(clip) || clip < 0 {
		return nil, fmt.Errorf("oracle: ClipGradValue: clip_value %v must be ≥ 0 and not NaN", clip)
	}
	out := make([][]Value, len(tensors))
	for t, ts := range tensors {
		o := make([]Value, len(ts))
		out[t] = o
		for i, x := range ts {
			if !f.Contains(x) {
				return nil, fmt.Errorf("oracle: ClipGradValue: tensor %d element %d (%v) is not a value of %v", t, i, x, f)
			}
			switch {
			case math.IsNaN(x):
				o[i] = nanValue(f)
			case x == 0:
				o[i] = zeroValue(f)
			default:
				if y := math.Max(-clip, math.Min(clip, x)); y == 0 {
					o[i] = zeroValue(f) // clip = 0
				} else {
					o[i] = floatValue(f, y)
				}
			}
		}
	}
	return out, nil
}
