// This file implements PyTorch's cross_entropy (NUMERICS §8), for class targets and probability
// targets, and its gradient with respect to the logits, correctly rounded.
//
// Both target kinds reduce to one form. For row n with logits x, shift m = max x, d_c = x_c − m,
// L = log Σ_c e^(d_c), and nonnegative-or-not coefficients a_c (class targets:
// a_c = w_c·((1−ε)[c = t] + ε/C); probability targets: a_c = w_c·(t_c(1−ε) + ε/C)):
//
//	loss_n = Σ_c a_c·(L − d_c) = A·L − R,   A = Σ_c a_c,  R = Σ_c a_c·d_c
//	∂loss_n/∂x_j = A·p_j − a_j,             p = softmax(x)
//
// a, A and R are rationals (computed exactly with big.Rat); L and p are transcendental unless the
// row has a single finite entry (L = 0) or all its finite entries equal (p = 1/k): NUMERICS §6.

package oracle

import (
	"fmt"
	"math"
	"math/big"
	"math/bits"

	"github.com/ulpcheck/ulpcheck/fp"
	"github.com/ulpcheck/ulpcheck/loss"
)

// Reduction is the reduction of a loss over a batch (defined once in package loss).
type Reduction = loss.Reduction

// The reductions; PyTorch's default is the mean.
const (
	ReduceMean = loss.ReduceMean
	ReduceSum  = loss.ReduceSum
	ReduceNone = loss.ReduceNone
)

// CEOptions are PyTorch F.cross_entropy's options (NUMERICS §8; defined once in package loss).
type CEOptions = loss.CEOptions

// DefaultCEOptions returns PyTorch's defaults: ignore index −100, mean, no weights, no smoothing.
func DefaultCEOptions() CEOptions { return loss.DefaultCEOptions() }

// ParseReduction parses "mean", "sum" or "none" (case-insensitively).
func ParseReduction(s string) (Reduction, error) {
	r, err := loss.ParseReduction(s)
	if err != nil {
		return 0, fmt.Errorf("oracle: %w", err)
	}
	return r, nil
}

// checkCE reports an inconsistent opt for a batch of cols classes, naming the operation.
func checkCE(opt *CEOptions, op string, cols int) error {
	if err := opt.Check(cols); err != nil {
		return fmt.Errorf("oracle: %s: %w", op, err)
	}
	return nil
}

// ceRow is one row of a cross-entropy batch, reduced to its coefficients.
type ceRow struct {
	x       []float64
	ri      rowInfo
	ignored bool
	nan     bool       // the row's loss and gradient are NaN
	inf     int        // ±1: the loss is ±Inf (a nonzero coefficient on a −Inf logit); 2: NaN (both)
	a       []*big.Rat // coefficients (nil entries are 0)
	A, R    *big.Rat   // A = Σ_c a_c over every class; R = Σ a_c·d_c over the finite logits
	denom   *big.Rat   // the row's share of the mean's denominator
	br      *bigRow    // for rows whose loss or gradient is transcendental
}

// exactL reports whether L is rational for the row (a single finite entry: L = 0).
func (r *ceRow) exactL() bool { return r.ri.nFinite == 1 }

// exactP reports whether softmax of the row is rational (all finite entries equal).
func (r *ceRow) exactP() bool { return r.ri.allEqual }

// p returns softmax_j of the row as a rational (exactP rows only).
func (r *ceRow) p(j int) *big.Rat {
	if math.IsInf(r.x[j], -1) {
		return new(big.Rat)
	}
	return big.NewRat(1, int64(r.ri.nFinite))
}

// finish computes A, R and the special status of a row whose coefficients are set.
func (r *ceRow) finish() {
	r.ri = analyze(r.x)
	if r.ri.nan || r.ri.posInf || r.ri.nFinite == 0 {
		r.nan = true
		return
	}
	for c, ac := range r.a {
		if ac == nil || ac.Sign() == 0 || !math.IsInf(r.x[c], -1) {
			continue
		}
		s := ac.Sign() // a_c·(L − (−Inf)) = sign(a_c)·Inf
		if r.inf != 0 && r.inf != s {
			r.inf = 2
		} else {
			r.inf = s
		}
	}
	// A sums every coefficient, −Inf classes included: the gradient A·p_j − a_j is finite even
	// where the loss is ±Inf (PyTorch's log_softmax backward g_j − p_j·Σ_c g_c with g_c = −a_c),
	// and the loss uses A only when no −Inf class has a nonzero coefficient. R = Σ a_c·(x_c − m)
	// over the finite logits.
	if r.A, r.R = sumsOverDenom(r.a, r.x, r.ri.m); r.A != nil {
		return
	}
	r.A, r.R = new(big.Rat), new(big.Rat)
	var t big.Rat
	for c, ac := range r.a {
		if ac == nil || ac.Sign() == 0 {
			continue
		}
		r.A.Add(r.A, ac)
		if math.IsInf(r.x[c], -1) {
			continue
		}
		t.SetFloat64(r.x[c])
		d := new(big.Rat).Sub(&t, ratOf(r.ri.m))
		r.R.Add(r.R, d.Mul(d, ac))
	}
}

// sumsOverDenom returns A = Σ_c a_c and R = Σ_{c: x_c finite} a_c·(x_c − m), exactly, as finish
// defines them, summed as integers over a common denominator instead of rational by rational
// (each big.Rat addition reduces by a gcd, which made finish the cost of a long row). The
// coefficients' denominators are 2^k·q_c with q_c odd and small (a divisor of the class count,
// from ε/C, in every caller); with q the lcm of the q_c and K the largest k, each a_c is N_c/D
// with D = q·2^K, and each x_c − m is an integer over 2^1074. The results are the same
// rationals, in lowest terms as big.Rat keeps them (lowestTerms). It returns nil when some q_c,
// or q, does not fit in 62 bits; finish then sums rationally.
func sumsOverDenom(a []*big.Rat, x []float64, m float64) (A, R *big.Rat) {
	var q uint64 = 1
	var K uint
	var odd big.Int
	for _, ac := range a {
		if ac == nil || ac.Sign() == 0 {
			continue
		}
		den := ac.Denom()
		k := den.TrailingZeroBits()
		K = max(K, k)
		odd.Rsh(den, k)
		if !odd.IsUint64() || odd.Uint64() >= 1<<62 {
			return nil, nil
		}
		o := odd.Uint64()
		l := q / gcd64(q, o)
		if hi, lo := bits.Mul64(l, o); hi != 0 || lo >= 1<<62 {
			return nil, nil
		}
		q = l * o
	}
	mi := scaledInt(m)
	var an, rn, n, t big.Int
	for c, ac := range a {
		if ac == nil || ac.Sign() == 0 {
			continue
		}
		den := ac.Denom()
		k := den.TrailingZeroBits()
		odd.Rsh(den, k)
		n.Mul(ac.Num(), t.SetUint64(q/odd.Uint64()))
		n.Lsh(&n, K-k) // N_c = a_c·D
		an.Add(&an, &n)
		if math.IsInf(x[c], -1) {
			continue
		}
		t.Lsh(&t, 1074-dyadicInto(&t, x[c])) // x_c·2^1074
		t.Sub(&t, mi)
		rn.Add(&rn, t.Mul(&t, &n))
	}
	return lowestTerms(&an, q, K), lowestTerms(&rn, q, K+1074)
}

// scaledInt returns the finite x·2^1074, an integer.
func scaledInt(x float64) *big.Int {
	i := new(big.Int)
	return i.Lsh(i, 1074-dyadicInto(i, x))
}

// lowestTerms returns n/(odd·2^twos) as a big.Rat in lowest terms, for an odd odd: the
// trailing zeros of n cancel against the power of two and gcd(n, odd), a gcd of one word,
// against odd; the quotients are coprime. It is big.Rat.SetFrac's value without the gcd of the
// whole numerator and denominator (two thousand bits where n sums scaled logits). n is
// overwritten.
func lowestTerms(n *big.Int, odd uint64, twos uint) *big.Rat {
	q := new(big.Rat)
	if n.Sign() == 0 {
		return q
	}
	tz := min(n.TrailingZeroBits(), twos)
	n.Rsh(n, tz) // exact: the low tz bits of |n| are 0, so the arithmetic shift divides
	twos -= tz
	if odd > 1 {
		var t big.Int
		if g := gcd64(t.Abs(t.Rem(n, t.SetUint64(odd))).Uint64(), odd); g > 1 {
			n.Quo(n, t.SetUint64(g))
			odd /= g
		}
	}
	q.SetInt(n)
	q.Denom().SetUint64(odd)
	q.Denom().Lsh(q.Denom(), twos)
	return q
}

func gcd64(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// smoothing returns (1 − ε) and ε/C as rationals.
func smoothing(eps float64, cols int) (keep, spread *big.Rat) {
	e := ratOf(eps)
	keep = new(big.Rat).Sub(big.NewRat(1, 1), e)
	spread = new(big.Rat).Quo(e, big.NewRat(int64(cols), 1))
	return
}

// smoother computes p·(1 − ε) + ε/C for a batch's ε and class count C, exactly, in lowest
// terms, as big.Rat's p·keep + spread would (the same rational) but without its normalisations:
// each reduces by the gcd of a numerator and a denominator of up to two thousand bits (p near
// 2^−1074), where the denominator here is C·2^E (lowestTerms).
type smoother struct {
	epsM  big.Int // ε = epsM·2^−epsE, epsE ≥ 0
	epsE  uint
	cOdd  uint64 // C = cOdd·2^cTwo
	cTwo  uint
	valid bool // ε is a float64 in (0, 1] and C fits the arithmetic; else callers use big.Rat
}

func newSmoother(eps float64, cols int) smoother {
	var s smoother
	if !(eps > 0 && eps <= 1) || cols <= 0 || cols > 1<<31 {
		return s
	}
	s.epsE = dyadicInto(&s.epsM, eps)
	c := uint64(cols)
	s.cTwo = uint(bits.TrailingZeros64(c))
	s.cOdd = c >> s.cTwo
	s.valid = true
	return s
}

// of returns p·(1 − ε) + ε/C (p finite). With p = P·2^−pE and ε = M·2^−E, it is
// (C·P·(2^E − M) + M·2^pE) / (C·2^(pE+E)): the numerator's trailing zeros cancel against the
// power of two, its gcd with C's odd part against that, and what is left is in lowest terms.
func (s *smoother) of(p float64) *big.Rat {
	var P, n, t big.Int
	pE := dyadicInto(&P, p)
	E := s.epsE
	t.Lsh(big.NewInt(1), E)
	t.Sub(&t, &s.epsM) // 2^E − M ≥ 0
	n.Mul(&P, &t)
	n.Mul(&n, new(big.Int).SetUint64(s.cOdd<<s.cTwo))
	t.Lsh(&s.epsM, pE)
	n.Add(&n, &t)
	return lowestTerms(&n, s.cOdd, pE+E+s.cTwo)
}

func weight(opt *CEOptions, c int) *big.Rat {
	if opt.Weights == nil {
		return big.NewRat(1, 1)
	}
	return ratOf(opt.Weights[c])
}

// classRows builds the rows of a class-target batch; D is Σ w_t over rows not ignored.
func classRows(op string, logits []float64, rows, cols int, targets []int, opt *CEOptions) ([]ceRow, *big.Rat, error) {
	if err := checkShape(op, len(logits), rows, cols); err != nil {
		return nil, nil, err
	}
	if len(targets) != rows {
		return nil, nil, fmt.Errorf("oracle: %s: %d targets for %d rows", op, len(targets), rows)
	}
	if err := checkCE(opt, op, cols); err != nil {
		return nil, nil, err
	}
	keep, spread := smoothing(opt.LabelSmoothing, cols)
	target := new(big.Rat).Add(keep, spread) // the target class's coefficient, before its weight
	D := new(big.Rat)
	out := make([]ceRow, rows)
	for n := range rows {
		r := &out[n]
		r.x = logits[n*cols : (n+1)*cols]
		t := targets[n]
		if t == opt.IgnoreIndex {
			r.ignored = true
			continue
		}
		if t < 0 || t >= cols {
			return nil, nil, fmt.Errorf("oracle: %s: row %d: target %d outside [0, %d)", op, n, t, cols)
		}
		r.a = make([]*big.Rat, cols)
		for c := range cols {
			var k *big.Rat
			if c == t {
				k = new(big.Rat).Set(target)
			} else if spread.Sign() != 0 {
				k = new(big.Rat).Set(spread)
			} else {
				continue
			}
			if opt.Weights != nil {
				k.Mul(weight(opt, c), k)
			}
			r.a[c] = k
		}
		r.denom = weight(opt, t)
		D.Add(D, r.denom)
		r.finish()
	}
	return out, D, nil
}

// probRows builds the rows of a probability-target batch; D is the number of rows.
func probRows(op string, logits, probs []float64, rows, cols int, opt *CEOptions) ([]ceRow, *big.Rat, error) {
	if err := checkShape(op, len(logits), rows, cols); err != nil {
		return nil, nil, err
	}
	if len(probs) != len(logits) {
		return nil, nil, fmt.Errorf("oracle: %s: %d target probabilities for %d logits", op, len(probs), len(logits))
	}
	if err := checkCE(opt, op, cols); err != nil {
		return nil, nil, err
	}
	keep, spread := smoothing(opt.LabelSmoothing, cols)
	smooth0 := opt.LabelSmoothing == 0 // keep = 1, spread = 0
	sm := newSmoother(opt.LabelSmoothing, cols)
	out := make([]ceRow, rows)
	for n := range rows {
		r := &out[n]
		r.x = logits[n*cols : (n+1)*cols]
		r.a = make([]*big.Rat, cols)
		bad := false
		for c, pc := range probs[n*cols : (n+1)*cols] {
			if math.IsNaN(pc) || math.IsInf(pc, 0) {
				bad = true
				break
			}
			// (p_c·(1 − ε) + ε/C)·w_c, skipping the products by 1 and the sum with 0 (each
			// big.Rat operation reduces its result by a gcd).
			var k *big.Rat
			switch {
			case smooth0:
				k = ratOf(pc)
			case sm.valid && !noSmoother:
				k = sm.of(pc)
			default:
				k = ratOf(pc)
				k.Mul(k, keep)
				k.Add(k, spread)
			}
			if opt.Weights != nil {
				k.Mul(k, weight(opt, c))
			}
			r.a[c] = k
		}
		r.denom = big.NewRat(1, 1)
		r.finish()
		if bad {
			r.nan = true
		}
	}
	return out, big.NewRat(int64(rows), 1), nil
}

// CrossEntropy returns PyTorch's F.cross_entropy(logits, targets, weight, ignore_index,
// label_smoothing, reduction) for class targets, correctly rounded into f: rows values for
// ReduceNone, else one. With t_n the target of row n, p = softmax of the row, w the weights,
// ε the label smoothing and C = cols:
//
//	loss_n = (1−ε)·w_{t_n}·(−log p_{t_n}) + (ε/C)·Σ_c w_c·(−log p_c)
//	sum = Σ_n loss_n;  mean = sum / Σ_n w_{t_n}   (over rows not ignored)
//
// Special cases are (NUMERICS §5, §8):
//
//	an ignored row (target == IgnoreIndex) contributes 0 (ReduceNone: +0), whatever its logits
//	a row with a NaN or +Inf logit, or with every logit −Inf: NaN
//	a nonzero coefficient on a −Inf logit: +Inf (0·(−Inf) contributes 0: xlogy)
//	a row with one finite logit, at the target (and ε = 0): exactly +0
//	mean with every row ignored, or Σ w_{t_n} = 0: NaN (0/0, as PyTorch)
//	sum or mean of +Inf and −Inf (negative weights) or with any NaN row: NaN
//
// The result is correctly rounded; rational results (one finite logit per contributing row, or
// rows whose coefficients sum to 0) are computed exactly. An error is returned for bad shapes,
// targets outside [0, cols) other than IgnoreIndex, non-finite weights, ε outside [0, 1], or at
// the precision cap: with negative weights, losses of different rows can cancel exactly
// (log 4 − 2·log 2), which the oracle does not detect.
func CrossEntropy(f fp.Format, logits []float64, rows, cols int, targets []int, opt CEOptions) ([]Value, error) {
	fi, err := newFmtInfo(f)
	if err != nil {
		return nil, err
	}
	rs, D, err := classRows("CrossEntropy", logits, rows, cols, targets, &opt)
	if err != nil {
		return nil, err
	}
	return ceLoss(fi, "CrossEntropy", rs, D, opt.Reduction)
}

// CrossEntropyProb returns PyTorch's F.cross_entropy for probability targets (probs has the
// shape of logits; a row's mass need not be 1), correctly rounded into f: rows values for
// ReduceNone, else one. With t' = t·(1−ε) + ε/C:
//
//	loss_n = −Σ_c w_c·t'_{n,c}·log p_{n,c};  sum = Σ_n loss_n;  mean = sum / rows
//
// Special cases are:
//
//	a row with a NaN or +Inf logit, a non-finite target, or every logit −Inf: NaN
//	a zero coefficient w_c·t'_c on a −Inf logit contributes 0 (xlogy); a nonzero one gives
//	±Inf by its sign (NaN when both signs occur)
//	mean over 0 rows: NaN
//
// IgnoreIndex is not used (PyTorch ignores it for probability targets). Rational results (a
// single finite logit, or target coefficients summing to 0) are computed exactly. Errors as for
// CrossEntropy.
func CrossEntropyProb(f fp.Format, logits, probs []float64, rows, cols int, opt CEOptions) ([]Value, error) {
	fi, err := newFmtInfo(f)
	if err != nil {
		return nil, err
	}
	rs, D, err := probRows("CrossEntropyProb", logits, probs, rows, cols, &opt)
	if err != nil {
		return nil, err
	}
	return ceLoss(fi, "CrossEntropyProb", rs, D, opt.Reduction)
}

// rowLossExact reports whether row r's loss A·L − R is rational and returns it.
func (r *ceRow) lossExact() (*big.Rat, bool) {
	if r.A.Sign() == 0 || r.exactL() {
		return new(big.Rat).Neg(r.R), true
	}
	return nil, false
}

// lossIval returns an enclosure of row r's loss at working precision w (after r.br.prepare(w)).
func (r *ceRow) lossIval(w uint) ival {
	iw := r.br.iw(w)
	return ivSub(ivMul(ratIval(r.A, iw), r.br.logS(), iw), ratIval(r.R, iw), iw)
}

func (r *ceRow) bigRow() *bigRow {
	if r.br == nil {
		r.br = newBigRow(r.x, r.ri.m)
	}
	return r.br
}

func ceLoss(fi *fmtInfo, op string, rs []ceRow, D *big.Rat, red Reduction) ([]Value, error) {
	f := fi.f
	if red == ReduceNone {
		out := make([]Value, len(rs))
		var pending []int
		for n := range rs {
			r := &rs[n]
			switch {
			case r.ignored:
				out[n] = zeroValue(f)
			case r.nan || r.inf == 2:
				out[n] = nanValue(f)
			case r.inf != 0:
				out[n] = floatValue(f, math.Inf(r.inf))
			default:
				if q, ok := r.lossExact(); ok {
					out[n] = ratValue(f, q)
				} else {
					pending = append(pending, n)
				}
			}
		}
		err := ziv(fi, op, out, pending,
			func(w uint) error {
				for _, n := range pending {
					rs[n].bigRow().prepare(w)
				}
				return nil
			},
			func(w uint, n int) (ival, error) { return rs[n].lossIval(w), nil },
			func(n int) *center {
				// loss_n = −R + A·L with L > 0 (two or more finite logits).
				r := &rs[n]
				iw := r.br.iw(r.br.w)
				return &center{A: dyadic(new(big.Rat).Neg(r.R)), eps: ivMul(ratIval(r.A, iw), r.br.logS(), iw), sign: r.A.Sign()}
			})
		return out, err
	}
	// Sum and mean.
	inf := 0
	exact := new(big.Rat)
	var trans []int
	for n := range rs {
		r := &rs[n]
		switch {
		case r.ignored:
		case r.nan || r.inf == 2:
			return []Value{nanValue(f)}, nil
		case r.inf != 0:
			if inf != 0 && inf != r.inf {
				return []Value{nanValue(f)}, nil
			}
			inf = r.inf
		default:
			if q, ok := r.lossExact(); ok {
				exact.Add(exact, q)
			} else {
				exact.Sub(exact, r.R)
				trans = append(trans, n)
			}
		}
	}
	if red == ReduceSum {
		D = big.NewRat(1, 1)
	}
	switch {
	case D.Sign() == 0:
		return []Value{nanValue(f)}, nil
	case inf != 0:
		return []Value{floatValue(f, math.Inf(inf*D.Sign()))}, nil
	case len(trans) == 0:
		return []Value{ratValue(f, exact.Quo(exact, D))}, nil
	}
	out := make([]Value, 1)
	err := ziv(fi, op, out, []int{0},
		func(w uint) error {
			for _, n := range trans {
				rs[n].bigRow().prepare(w)
			}
			return nil
		},
		func(w uint, _ int) (ival, error) {
			iw := w + 32 + uint(bitsLen(len(trans)))
			s := ratIval(exact, iw)
			for _, n := range trans {
				r := &rs[n]
				s = ivAdd(s, ivMul(ratIval(r.A, iw), r.br.logS(), iw), iw)
			}
			return ivDiv(s, ratIval(D, iw), iw), nil
		},
		func(int) *center {
			// total = exact/D + (Σ A_n·L_n)/D with every L_n > 0: the sign of ε is known when the
			// A_n share one sign.
			sign := rs[trans[0]].A.Sign()
			iw := uint(64)
			var eps ival
			for k, n := range trans {
				r := &rs[n]
				if r.A.Sign() != sign {
					return nil
				}
				iw = r.br.iw(r.br.w) + 32
				term := ivMul(ratIval(r.A, iw), r.br.logS(), iw)
				if k == 0 {
					eps = term
				} else {
					eps = ivAdd(eps, term, iw)
				}
			}
			return &center{A: dyadic(new(big.Rat).Quo(exact, D)), eps: ivDiv(eps, ratIval(D, iw), iw), sign: sign * D.Sign()}
		})
	return out, err
}

// CrossEntropyGrad returns the gradient of CrossEntropy (same arguments) with respect to the
// logits, rows×cols row-major, each element correctly rounded into f:
//
//	∂/∂x_{n,j} = (A_n·p_{n,j} − a_{n,j}) / D,   a_{n,c} = w_c·((1−ε)[c = t_n] + ε/C),  A_n = Σ_c a_{n,c}
//
// with D = Σ_n w_{t_n} for ReduceMean and 1 for ReduceSum and ReduceNone (whose gradient is taken
// with an upstream gradient of ones). Without smoothing this is w_t·(p_j − δ_{j,t})/D.
//
// Special cases are:
//
//	ignored rows: +0
//	a row with a NaN or +Inf logit, or every logit −Inf: NaN
//	−Inf logit j (p_j = 0): −a_j/D, exactly
//	a nonzero a_c on a −Inf logit (e.g. the target's): the loss is +Inf but the gradient is
//	finite, with A_n summing every class, −Inf ones included (PyTorch's autograd:
//	logits [0, −Inf], target 1 give [1, −1])
//	all finite logits of a row equal (p = 1/k), or A_n = 0: exact rationals, rounded once (e.g.
//	fp16, 4096 equal logits: the target's 1/4096 − 1 is a midpoint and rounds to −1)
//	mean with Σ w_t = 0 (every row ignored): NaN
//
// Other elements are transcendental and nonzero, decided by Ziv's loop; errors as CrossEntropy.
func CrossEntropyGrad(f fp.Format, logits []float64, rows, cols int, targets []int, opt CEOptions) ([]Value, error) {
	fi, err := newFmtInfo(f)
	if err != nil {
		return nil, err
	}
	rs, D, err := classRows("CrossEntropyGrad", logits, rows, cols, targets, &opt)
	if err != nil {
		return nil, err
	}
	if opt.Reduction != ReduceMean {
		D = big.NewRat(1, 1)
	}
	return ceGrad(fi, "CrossEntropyGrad", rs, cols, D)
}

// CrossEntropyProbGrad returns the gradient of CrossEntropyProb (same arguments) with respect to
// the logits, rows×cols row-major, each element correctly rounded into f:
//
//	∂/∂x_{n,j} = ((Σ_c w_c t'_{n,c})·p_{n,j} − w_j t'_{n,j}) / D,   t' = t(1−ε) + ε/C
//
// with D = rows for ReduceMean and 1 otherwise. Special cases are those of CrossEntropyGrad
// (there are no ignored rows; a row with a non-finite target is NaN).
func CrossEntropyProbGrad(f fp.Format, logits, probs []float64, rows, cols int, opt CEOptions) ([]Value, error) {
	fi, err := newFmtInfo(f)
	if err != nil {
		return nil, err
	}
	rs, D, err := probRows("CrossEntropyProbGrad", logits, probs, rows, cols, &opt)
	if err != nil {
		return nil, err
	}
	if opt.Reduction != ReduceMean {
		D = big.NewRat(1, 1)
	}
	return ceGrad(fi, "CrossEntropyProbGrad", rs, cols, D)
}

// noSmoother makes probRows smooth the targets with big.Rat arithmetic (tests compare).
var noSmoother bool

// noByOne makes ceGrad multiply and divide by an exact 1 as by any other value (tests compare).
var noByOne bool

// isOne reports whether q is exactly 1.
func isOne(q *big.Rat) bool { return q.IsInt() && q.Num().IsInt64() && q.Num().Int64() == 1 }

func ceGrad(fi *fmtInfo, op string, rs []ceRow, cols int, D *big.Rat) ([]Value, error) {
	f := fi.f
	out := make([]Value, len(rs)*cols)
	for n := range rs {
		r := &rs[n]
		row := out[n*cols : (n+1)*cols]
		switch {
		case r.ignored:
			for j := range row {
				row[j] = zeroValue(f)
			}
			continue
		case r.nan || D.Sign() == 0:
			for j := range row {
				row[j] = nanValue(f)
			}
			continue
		}
		var pending []int
		for j := range row {
			aj := r.a[j]
			if aj == nil {
				aj = new(big.Rat)
			}
			if r.A.Sign() == 0 || r.exactP() || math.IsInf(r.x[j], -1) {
				var q big.Rat
				if r.A.Sign() != 0 {
					q.Mul(r.A, r.p(j))
				}
				q.Sub(&q, aj)
				row[j] = ratValue(f, q.Quo(&q, D))
			} else {
				pending = append(pending, j)
			}
		}
		if len(pending) == 0 {
			continue
		}
		br := r.bigRow()
		// The enclosures of A, D and 0 at the internal precision, made once per precision
		// rather than once per entry (each SetRat divides).
		var (
			civ        uint
			cA, cD, c0 ival
		)
		consts := func(iw uint) (a, d, zero ival) {
			if iw != civ {
				civ, cA, cD, c0 = iw, ratIval(r.A, iw), ratIval(D, iw), ratIval(new(big.Rat), iw)
			}
			return cA, cD, c0
		}
		// A·y and g/D where A or D is exactly 1 (one target or probabilities summing to 1; the
		// sum and no reduction) are their operands, which mulByOne and divByOne return without
		// the arithmetic, in the same Floats' values.
		aOne, dOne := isOne(r.A), isOne(D)
		mulA := func(Av, y ival, iw uint) ival {
			if aOne && !noByOne {
				if v, ok := mulByOne(y, iw); ok {
					return v
				}
			}
			return ivMul(Av, y, iw)
		}
		divD := func(g, Dv ival, iw uint) ival {
			if dOne && !noByOne {
				if v, ok := divByOne(g, iw); ok {
					return v
				}
			}
			return ivDiv(g, Dv, iw)
		}
		// Entries of one logit without a target weight have the same value.
		err := zivShared(fi, op, row, pending, func(j int) (uint64, bool) { return math.Float64bits(r.x[j]), r.a[j] == nil },
			func(w uint) error { br.prepare(w); return nil },
			func(w uint, j int) (ival, error) {
				iw := br.iw(w)
				Av, Dv, aiv := consts(iw)
				if aj := r.a[j]; aj != nil {
					aiv = ratIval(aj, iw)
				}
				g := ivSub(mulA(Av, br.y(j), iw), aiv, iw)
				return divD(g, Dv, iw), nil
			},
			func(j int) *center {
				// Below the maximum: −a_j/D + A·p_j/D with p_j > 0. At a maximum (k of them):
				// (A/k − a_j)/D − A·(1/k − p_j)/D with 1/k − p_j > 0. The center is used when
				// its rational part is dyadic; a non-dyadic one (never a value or a midpoint) is
				// rounded as a rational with a bound on |ε| (decideRat).
				iw := br.iw(br.w)
				aj := r.a[j]
				if aj == nil {
					aj = new(big.Rat)
				}
				Av, Dv, _ := consts(iw)
				if r.x[j] != r.ri.m {
					eps := divD(mulA(Av, br.y(j), iw), Dv, iw)
					q := new(big.Rat).Quo(new(big.Rat).Neg(aj), D)
					return &center{A: dyadic(q), Q: q, eps: eps, sign: r.A.Sign() * D.Sign()}
				}
				q := new(big.Rat).Quo(r.A, big.NewRat(int64(br.k), 1))
				q.Sub(q, aj).Quo(q, D)
				eps := ivNeg(divD(mulA(Av, br.yDefect(), iw), Dv, iw))
				return &center{A: dyadic(q), Q: q, eps: eps, sign: -r.A.Sign() * D.Sign()}
			})
		if err != nil {
			return nil, fmt.Errorf("row %d: %w", n, err)
		}
	}
	return out, nil
}
