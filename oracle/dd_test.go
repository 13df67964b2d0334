package oracle

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/ulpcheck/ulpcheck/fp"
)

// TestDDExp checks ddExp against the big.Float exponential at 300 bits on random arguments of
// its domain (−600 ≤ dh ≤ 0, |dl| ≤ ½ulp(dh)), among them the reduction's edges (near k·ln2
// and (k+½)·ln2): the relative error must be below epsExpDD.
func TestDDExp(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	n := 3000
	if testing.Short() {
		n = 300
	}
	worst := 0.0
	for i := range n {
		var dh float64
		switch i % 4 {
		case 0:
			dh = -r.Float64() * 600
		case 1:
			dh = -r.Float64() * 2
		case 2:
			dh = -float64(r.IntN(866)) * math.Ln2 // next to a reduction boundary
		default:
			dh = -(float64(r.IntN(865)) + 0.5) * math.Ln2
		}
		if dh < dropBelow {
			dh = dropBelow
		}
		dl := 0.0
		if dh != 0 && r.IntN(2) == 0 {
			dl = (r.Float64() - 0.5) * ulp64(-dh) // |dl| ≤ ½ulp(dh)
		}
		got := ddExp(dh, dl)
		arg := new(big.Float).SetPrec(200).SetFloat64(dh)
		arg.Add(arg, new(big.Float).SetFloat64(dl))
		want, _ := Exp(nil, arg, 300)
		g := new(big.Float).SetPrec(300).SetFloat64(got.hi)
		g.Add(g, new(big.Float).SetFloat64(got.lo))
		rel := new(big.Float).SetPrec(64).Sub(g, want)
		rel.Quo(rel, want)
		rf, _ := rel.Float64()
		worst = max(worst, math.Abs(rf))
		if !(math.Abs(rf) < epsExpDD) {
			t.Fatalf("ddExp(%v, %v) = %v + %v: relative error %g, bound %g", dh, dl, got.hi, got.lo, rf, epsExpDD)
		}
		if math.Abs(got.lo) > ulp64(got.hi)/2 {
			t.Fatalf("ddExp(%v, %v) = %v + %v: not normalised", dh, dl, got.hi, got.lo)
		}
	}
	t.Logf("worst relative error of ddExp: 2^%.1f (bound 2^%.0f)", math.Log2(worst), math.Log2(epsExpDD))
}

// midRow returns n logits whose softmax values in f lie within about 2^−off relative of rounding
// midpoints of f (off in [40, 56]; the logs' rounding limits the closeness to about 2^−52), or
// of values of f when onValues: the construction of nearTieRow with a chosen target.
func midRow(f fp.Format, n int, r *rand.Rand, onValues bool) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = r.Float64()*16 - 8
	}
	v, err := Softmax(fp.FP64, x, fp.MaskNaN)
	if err != nil {
		panic(err)
	}
	k := 0
	for i := range x {
		if x[i] > x[k] {
			k = i
		}
	}
	tgt := make([]float64, n)
	rest := 1.0
	for i := range v {
		if i == k {
			continue
		}
		yi := v[i].Float64()
		rv, _ := f.RoundFloat64(yi)
		switch {
		case onValues || rv == 0:
			tgt[i] = rv
		case rv <= yi:
			tgt[i] = (rv + f.Next(rv)) / 2
		default:
			tgt[i] = (rv + f.Prev(rv)) / 2
		}
		if tgt[i] == 0 {
			tgt[i] = yi
		}
		off := math.Ldexp(tgt[i], -40-r.IntN(17))
		if r.IntN(2) == 0 {
			off = -off
		}
		tgt[i] += off
		rest -= tgt[i]
	}
	if !(rest > 0) {
		return x // targets too large to share: the plain random row
	}
	for i := range x {
		if i != k {
			x[i] = x[k] + math.Log(tgt[i]/rest)
		}
	}
	return x
}

// TestDDSoftmaxMatchesBig requires that Softmax with the double-double tier gives, on rows built
// to sit near rounding boundaries (midpoints and values of the format, at 2^−40 to 2^−56
// relative) in every format of the fast path, exactly the rounded values and flags of the
// big.Float path (the tier disabled), and approximations within 2^−21 ulp of the exact values;
// and that the tier decides most of what the fast path leaves.
func TestDDSoftmaxMatchesBig(t *testing.T) {
	defer func() { noDD = false }()
	r := rand.New(rand.NewPCG(9, 10))
	rows := 120
	if testing.Short() {
		rows = 24
	}
	var left, decided int
	for _, f := range []fp.Format{fp.FP16, fp.BF16, fp.FP32, fp.E4M3, fp.E5M2} {
		fi, _ := newFmtInfo(f)
		for j := range rows {
			n := []int{2, 3, 17, 64, 300}[j%5]
			var x []float64
			switch j % 3 {
			case 0:
				x = nearTieRow(f, n, uint64(j))
			default:
				x = midRow(f, n, r, j%3 == 2)
			}
			noDD = false
			got, err := Softmax(f, x, fp.MaskNaN)
			if err != nil {
				t.Fatal(err)
			}
			noDD = true
			want, err := Softmax(f, x, fp.MaskNaN)
			if err != nil {
				t.Fatal(err)
			}
			for i := range x {
				g, w := got[i], want[i]
				if math.Float64bits(g.Rounded) != math.Float64bits(w.Rounded) || g.Flag != w.Flag {
					t.Fatalf("%v row %d (n=%d) entry %d: with the dd tier %v (%#x) %v, big path %v (%#x) %v\nx = %v",
						f, j, n, i, g.Rounded, math.Float64bits(g.Rounded), g.Flag, w.Rounded, math.Float64bits(w.Rounded), w.Flag, x)
				}
				if e := f.UlpError(g.Float64(), w.Exact()); e > 0x1p-20 {
					t.Fatalf("%v row %d entry %d: dd approximation %v is %g ulp from the exact value", f, j, i, g.Float64(), e)
				}
			}
			// How much of the fast path's leftovers the tier decides.
			ri := analyze(x)
			if ri.allEqual {
				continue
			}
			var pending []int
			for i := range x {
				pending = append(pending, i)
			}
			out := make([]Value, len(x))
			rest := ddSoftmax(fi, x, ri, out, pending)
			undecided := map[int]bool{}
			for _, i := range rest {
				undecided[i] = true
			}
			for i := range x {
				if undecided[i] {
					continue
				}
				g, w := out[i], want[i]
				if math.Float64bits(g.Rounded) != math.Float64bits(w.Rounded) || g.Flag != w.Flag {
					t.Fatalf("%v row %d entry %d: ddSoftmax alone %v %v, big path %v %v", f, j, i, g.Rounded, g.Flag, w.Rounded, w.Flag)
				}
			}
			left += len(rest)
			decided += len(x) - len(rest)
		}
	}
	t.Logf("dd tier: %d entries decided, %d left to big.Float", decided, left)
	if left*20 > decided {
		t.Errorf("dd tier left %d of %d entries undecided (want under 5%%)", left, left+decided)
	}
}

// TestDDConstants derives ddExp's constants as their comment says and compares them, bit for
// bit, with the ones written out in dd.go.
func TestDDConstants(t *testing.T) {
	l := ln2Ival(320).lo // within 2^−300 of ln 2
	t42 := new(big.Float).SetPrec(42).SetMode(big.ToZero).Set(l)
	l1, _ := t42.Float64()
	rest := new(big.Float).SetPrec(400).Sub(l, t42)
	l2, _ := rest.Float64()
	rest.Sub(rest, new(big.Float).SetFloat64(l2))
	l3, _ := rest.Float64()
	for i, c := range [][2]float64{{ddL1, l1}, {ddL2, l2}, {ddL3, l3}} {
		if math.Float64bits(c[0]) != math.Float64bits(c[1]) {
			t.Errorf("ddL%d = %x, derived %x", i+1, c[0], c[1])
		}
	}
	fact := big.NewInt(1)
	for j, c := range expCoef {
		if j > 1 {
			fact.Mul(fact, big.NewInt(int64(j)))
		}
		q := new(big.Rat).SetFrac(big.NewInt(1), fact)
		hi, _ := q.Float64()
		lo, _ := new(big.Rat).Sub(q, new(big.Rat).SetFloat64(hi)).Float64()
		if math.Float64bits(c.hi) != math.Float64bits(hi) || math.Float64bits(c.lo) != math.Float64bits(lo) {
			t.Errorf("expCoef[%d] = {%x, %x}, derived {%x, %x}", j, c.hi, c.lo, hi, lo)
		}
	}
}
