package oracle

import (
	"math"
	"math/big"
	mrand "math/rand"
	"math/rand/v2"
	"testing"

	"github.com/ulpcheck/ulpcheck/fp"
)

// TestCEGradNegInfLogits checks the CE gradient of rows with a −Inf logit that carries target
// mass (the target itself, label smoothing, or probability targets). The loss is +Inf but the
// gradient (A·p_j − a_j)/D, A = Σ_c a_c over every class, is finite: PyTorch's autograd
// (float64 torch 1.13, F.cross_entropy(...).backward()) agrees to the last digits shown in the
// reasons. The wanted values are the exact gradients rounded to float64 by an independent
// mpmath evaluation at 300 bits (softmax with e^−Inf = 0, then (A·p_j − a_j)/D).
func TestCEGradNegInfLogits(t *testing.T) {
	ninf := math.Inf(-1)
	tests := []struct {
		x      []float64
		target int       // class target, or −1 for probability targets
		probs  []float64 // probability targets
		eps    float64
		red    Reduction
		want   []float64
		reason string
	}{
		{[]float64{0, ninf}, 1, nil, 0, ReduceMean, []float64{1, -1},
			"target logit −Inf: p − onehot = [1, −1] (torch [1, −1]); the oracle gave [0, −1], dropping a_1 from A"},
		{[]float64{0, ninf}, 0, nil, 0.1, ReduceSum, []float64{0.1 / 2, -0.1 / 2},
			"ε spreads ε/2 on the −Inf class: A = 1, so [1 − (1 − ε/2), −ε/2] = ±ε/2 exactly (torch [0.04999999999999993, −0.05])"},
		{[]float64{0, ninf}, 0, nil, 1, ReduceNone, []float64{0.5, -0.5},
			"ε = 1: p − ½ = [½, −½] (torch [0.5, −0.5])"},
		{[]float64{0, 0.583, ninf}, 0, nil, 0.3, ReduceNone, []float64{-0x1.c45c0e338c90cp-2, 0x1.15613a4cf97b9p-1, -0x1.9999999999999p-4},
			"smoothing puts ε/3 on the −Inf class; the oracle dropped it from A (torch [−0.44175741376524585, 0.5417574137652457, −0.09999999999999999])"},
		{[]float64{0, 0.583, ninf}, -1, []float64{0.2, 0.3, 0.5}, 0.1, ReduceSum, []float64{0x1.28c62eb0cb9p-3, 0x1.5a8bd7968926fp-2, -0x1.eeeeeeeeeeeefp-2},
			"probability targets with mass on −Inf (torch [0.1449092529014208, 0.3384240804319124, −0.48333333333333334])"},
		{[]float64{-5.59375, ninf, -5.46875, ninf}, -1, []float64{0.25, 0.25, 0.25, 0.25}, 0, ReduceSum, []float64{0x1.c0154cd03f9e5p-3, -0.25, 0x1.1ff55997e030dp-2, -0.25},
			"uniform targets, two −Inf classes: the oracle gave −0.1662 at index 0 (torch [0.2187906266262437, −0.25, 0.2812093733737563, −0.25])"},
	}
	for _, tt := range tests {
		opt := DefaultCEOptions()
		opt.LabelSmoothing, opt.Reduction = tt.eps, tt.red
		var g []Value
		var err error
		if tt.target >= 0 {
			g, err = CrossEntropyGrad(fp.FP64, tt.x, 1, len(tt.x), []int{tt.target}, opt)
		} else {
			g, err = CrossEntropyProbGrad(fp.FP64, tt.x, tt.probs, 1, len(tt.x), opt)
		}
		if err != nil {
			t.Errorf("%s: %v", tt.reason, err)
			continue
		}
		for j, v := range g {
			// Dyadic rationals (p rational: one finite logit; or the −Inf class's −a_j with a
			// dyadic a_j) are exact; the others are transcendental, or −ε/3 and the like.
			fl := fp.Inexact
			if len(tt.x) == 2 || tt.want[j] == -0.25 {
				fl = fp.Exact
			}
			checkValue(t, tt.reason, v, tt.want[j], fl)
		}
		// The loss of every such row is +Inf (a nonzero coefficient on a −Inf logit).
		var l []Value
		if tt.target >= 0 {
			l, err = CrossEntropy(fp.FP64, tt.x, 1, len(tt.x), []int{tt.target}, opt)
		} else {
			l, err = CrossEntropyProb(fp.FP64, tt.x, tt.probs, 1, len(tt.x), opt)
		}
		if err != nil || l[0].Rounded != math.Inf(1) {
			t.Errorf("%s: loss %v, %v; want +Inf", tt.reason, l, err)
		}
	}
}

// TestSumsOverDenomMatchesRationalSums checks ceRow's integer sums over a common denominator
// against the rational sums they replace, on coefficients like the callers' (float64 values
// times 1 − ε plus ε/C, times a weight), logits from subnormal to near MaxFloat64 and −Inf, and
// a coefficient whose odd denominator is too large for the shortcut (which must then decline).
func TestSumsOverDenomMatchesRationalSums(t *testing.T) {
	vals := []float64{0, 1, -3, 0.1, 1e-300, 5e-324, -2.5e307, 1.7e308, 7, math.Inf(-1)}
	r := rand.New(rand.NewPCG(3, 4))
	for trial := range 2000 {
		cols := 1 + r.IntN(9)
		x := make([]float64, cols)
		a := make([]*big.Rat, cols)
		eps := []float64{0, 0.1, 0.25, 1}[r.IntN(4)]
		keep, spread := smoothing(eps, cols)
		for c := range x {
			x[c] = vals[r.IntN(len(vals))]
			if r.IntN(5) == 0 {
				continue // a nil coefficient is 0
			}
			p := vals[r.IntN(len(vals)-1)]
			k := new(big.Rat).Mul(ratOf(p), keep)
			k.Add(k, spread)
			a[c] = k.Mul(k, ratOf(vals[r.IntN(len(vals)-1)]))
		}
		if trial%50 == 0 && cols > 1 {
			a[0] = big.NewRat(1, 1<<62+1) // an odd denominator past the shortcut's 62 bits
		}
		ri := analyze(x)
		if ri.nan || ri.posInf || ri.nFinite == 0 {
			continue
		}
		wantA, wantR := new(big.Rat), new(big.Rat)
		for c, ac := range a {
			if ac == nil || ac.Sign() == 0 {
				continue
			}
			wantA.Add(wantA, ac)
			if !math.IsInf(x[c], -1) {
				d := new(big.Rat).Sub(ratOf(x[c]), ratOf(ri.m))
				wantR.Add(wantR, d.Mul(d, ac))
			}
		}
		A, R := sumsOverDenom(a, x, ri.m)
		if trial%50 == 0 && cols > 1 {
			if A != nil {
				t.Fatalf("x = %v: sumsOverDenom took a denominator of %v", x, a[0].Denom())
			}
			continue
		}
		if A == nil {
			t.Fatalf("x = %v, a = %v: sumsOverDenom declined", x, a)
		}
		if A.Cmp(wantA) != 0 || R.Cmp(wantR) != 0 || !sameTerms(A, wantA) || !sameTerms(R, wantR) {
			t.Fatalf("x = %v, a = %v: A, R = %v, %v; the rational sums give %v, %v", x, a, A, R, wantA, wantR)
		}
	}
}

// TestByOneMatchesArithmetic requires that the cross-entropy gradients with the products by an
// exact A = 1 and the quotients by an exact D = 1 left out (mulByOne, divByOne) give every entry
// the same Value, bit for bit, as with the arithmetic (noByOne): class and probability targets,
// the three reductions, with and without label smoothing and weights (A ≠ 1), on rows that reach
// Ziv's loop in four formats; and that the rows exercised both shortcuts.
func TestByOneMatchesArithmetic(t *testing.T) {
	defer func() { noByOne = false }()
	r := rand.New(rand.NewPCG(31, 32))
	n := 40
	if testing.Short() {
		n = 12
	}
	decided := 0
	for _, f := range []fp.Format{fp.FP16, fp.BF16, fp.FP32, fp.FP64} {
		for j := range n {
			rows, cols := 1+j%3, []int{2, 5, 16, 33}[j%4]
			x := make([]float64, 0, rows*cols)
			for range rows {
				x = append(x, repeatedRow(f, cols, r, j%3)...)
			}
			targets := make([]int, rows)
			probs := make([]float64, rows*cols)
			for i := range targets {
				targets[i] = r.IntN(cols)
				if j%2 == 0 { // one-hot: A = 1
					probs[i*cols+targets[i]] = 1
				} else { // halves and quarters summing to 1, or to 3/4 (A ≠ 1)
					probs[i*cols] = 0.5
					probs[i*cols+cols-1] += 0.25
					if j%4 == 1 {
						probs[i*cols+cols/2] += 0.25
					}
				}
			}
			opt := DefaultCEOptions()
			opt.Reduction = []Reduction{ReduceMean, ReduceSum, ReduceNone}[j%3]
			if j%5 == 4 {
				opt.LabelSmoothing = 0.25
			}
			if j%7 == 6 {
				opt.Weights = make([]float64, cols)
				for c := range opt.Weights {
					opt.Weights[c] = []float64{1, 0.5, 2}[c%3]
				}
			}
			run := func() ([]Value, []Value) {
				g, err := CrossEntropyGrad(f, x, rows, cols, targets, opt)
				if err != nil {
					t.Fatalf("CrossEntropyGrad %v: %v\nx = %v", f, err, x)
				}
				p, err := CrossEntropyProbGrad(f, x, probs, rows, cols, opt)
				if err != nil {
					t.Fatalf("CrossEntropyProbGrad %v: %v\nx = %v", f, err, x)
				}
				return g, p
			}
			noByOne = false
			g1, p1 := run()
			noByOne = true
			g0, p0 := run()
			for i := range g1 {
				if !sameValue(g1[i], g0[i]) {
					t.Fatalf("CrossEntropyGrad %v case %d entry %d: %+v, with the arithmetic %+v\nx = %v", f, j, i, g1[i], g0[i], x)
				}
				if !sameValue(p1[i], p0[i]) {
					t.Fatalf("CrossEntropyProbGrad %v case %d entry %d: %+v, with the arithmetic %+v\nx = %v\np = %v", f, j, i, p1[i], p0[i], x, probs)
				}
				if g1[i].kind == kindBig {
					decided++
				}
			}
		}
	}
	if decided == 0 {
		t.Fatal("no entry was decided by Ziv's loop; the test does not exercise the shortcuts")
	}
	t.Logf("entries decided by Ziv's loop: %d", decided)
}

// TestSmootherMatchesRationals requires the smoothed probability target p·(1 − ε) + ε/C of
// smoother to be big.Rat's p·keep + spread, numerator and denominator alike (lowest terms), for
// targets from −2 to 2 with subnormals and signed zeros among them, ε from 2^−1074 to 1 and
// class counts with odd parts that share factors with the numerators.
func TestSmootherMatchesRationals(t *testing.T) {
	r := rand.New(rand.NewPCG(61, 62))
	ps := []float64{0, math.Copysign(0, -1), 1, 0.5, 0.1, 1.0 / 3, 0x1p-1074, 0x1.8p-1070, -0.25, 2, 0.75, 0x1.fffffffffffffp-1}
	epss := []float64{0.1, 0.25, 1, 0x1p-1074, 1 - 0x1p-53, 0.3, 0.5}
	cols := []int{1, 2, 3, 5, 6, 7, 9, 10, 15, 32, 45, 96, 1000, 4095}
	n := 20000
	if testing.Short() {
		n = 4000
	}
	for range n {
		p, eps, c := ps[r.IntN(len(ps))], epss[r.IntN(len(epss))], cols[r.IntN(len(cols))]
		if r.IntN(3) == 0 {
			p = r.Float64()*4 - 2
		}
		sm := newSmoother(eps, c)
		if !sm.valid {
			t.Fatalf("ε = %g, C = %d: not valid", eps, c)
		}
		got := sm.of(p)
		keep, spread := smoothing(eps, c)
		want := ratOf(p)
		want.Mul(want, keep).Add(want, spread)
		if got.Cmp(want) != 0 || got.Num().Cmp(want.Num()) != 0 || got.Denom().Cmp(want.Denom()) != 0 {
			t.Fatalf("p = %g, ε = %g, C = %d: %s, big.Rat gives %s", p, eps, c, got, want)
		}
	}
	// Through the oracle: the smoothed losses and gradients of rows that reach Ziv's loop, with
	// the smoother and with big.Rat (noSmoother), Value for Value.
	defer func() { noSmoother = false }()
	for j := range n / 200 {
		rows, c := 1+j%2, cols[j%len(cols)]%40+2
		x := make([]float64, 0, rows*c)
		for range rows {
			x = append(x, repeatedRow(fp.FP32, c, r, j%3)...)
		}
		probs := make([]float64, rows*c)
		for i := range probs {
			probs[i] = ps[r.IntN(len(ps))]
		}
		opt := DefaultCEOptions()
		opt.LabelSmoothing = epss[j%len(epss)]
		opt.Reduction = []Reduction{ReduceMean, ReduceSum, ReduceNone}[j%3]
		var runs [2][]Value
		for s, off := range []bool{false, true} {
			noSmoother = off
			loss, err := CrossEntropyProb(fp.FP32, x, probs, rows, c, opt)
			if err != nil {
				t.Fatal(err)
			}
			grad, err := CrossEntropyProbGrad(fp.FP32, x, probs, rows, c, opt)
			if err != nil {
				t.Fatal(err)
			}
			runs[s] = append(loss, grad...)
		}
		for i := range runs[0] {
			if !sameValue(runs[0][i], runs[1][i]) {
				t.Fatalf("case %d, value %d: %+v, with big.Rat %+v\nx = %v\np = %v, ε = %g", j, i, runs[0][i], runs[1][i], x, probs, opt.LabelSmoothing)
			}
		}
	}
	for _, eps := range []float64{0, -0.5, 1.5, math.NaN()} {
		if newSmoother(eps, 4).valid {
			t.Errorf("ε = %g: valid, want the big.Rat path", eps)
		}
	}
}

// sameTerms reports whether a and b have the same numerator and denominator (both in lowest
// terms when one is).
func sameTerms(a, b *big.Rat) bool { return a.Num().Cmp(b.Num()) == 0 && a.Denom().Cmp(b.Denom()) == 0 }

// TestLowestTermsMatchesSetFrac requires lowestTerms(n, odd, twos) to be big.Rat.SetFrac's
// n/(odd·2^twos), numerator and denominator alike, for numerators of up to 2200 bits of either
// sign with powers of two and odd factors in common with the denominator, and zero.
func TestLowestTermsMatchesSetFrac(t *testing.T) {
	r := rand.New(rand.NewPCG(71, 72))
	odds := []uint64{1, 3, 5, 9, 15, 45, 105, 4095, 1<<61 - 1}
	rb := mrand.New(mrand.NewSource(73)) // big.Int.Rand takes a math/rand source
	for range 5000 {
		odd, twos := odds[r.IntN(len(odds))], uint(r.IntN(1200))
		n := new(big.Int).Rand(rb, new(big.Int).Lsh(big.NewInt(1), uint(r.IntN(2200))+1))
		n.Mul(n, new(big.Int).SetUint64(odds[r.IntN(len(odds))]))
		n.Lsh(n, uint(r.IntN(1200)))
		if r.IntN(2) == 0 {
			n.Neg(n)
		}
		if r.IntN(50) == 0 {
			n.SetInt64(0)
		}
		den := new(big.Int).Lsh(new(big.Int).SetUint64(odd), twos)
		want := new(big.Rat).SetFrac(n, den)
		got := lowestTerms(new(big.Int).Set(n), odd, twos)
		if got.Cmp(want) != 0 || !sameTerms(got, want) {
			t.Fatalf("n = %v, odd = %d, twos = %d: %v, SetFrac gives %v", n, odd, twos, got, want)
		}
	}
}
