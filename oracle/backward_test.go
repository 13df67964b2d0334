package oracle

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/ulpcheck/ulpcheck/fp"
)

// backwardExactRat is backwardExact's decision of which entries are exact, with the group sums,
// counts and means as big.Rats and dy_i = μ tested as rationals: the reference that the exact
// big.Float sums and the float64 comparison must agree with.
func backwardExactRat(f fp.Format, x, dy []float64, ri rowInfo, out []Value) (pending []int) {
	type group struct{ sum, n *big.Rat }
	groups := map[float64]*group{}
	for i, xi := range x {
		if math.IsInf(xi, -1) {
			continue
		}
		g := groups[xi]
		if g == nil {
			g = &group{new(big.Rat), new(big.Rat)}
			groups[xi] = g
		}
		g.sum.Add(g.sum, ratOf(dy[i]))
		g.n.Add(g.n, big.NewRat(1, 1))
	}
	var mu *big.Rat
	for _, g := range groups {
		m := new(big.Rat).Quo(g.sum, g.n)
		if mu == nil {
			mu = m
		} else if mu.Cmp(m) != 0 {
			mu = nil
			break
		}
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
		case mu != nil && ratOf(dy[i]).Cmp(mu) == 0:
			out[i] = zeroValue(f)
		default:
			pending = append(pending, i)
		}
	}
	return pending
}

// TestBackwardExactMatchesRationals requires backwardExact to give the same pending entries and
// the same Values, bit for bit, as the all-rational reference on rows whose groups of equal
// logits have equal or nearly equal means of dy, with upstream gradients from 2^−1074 to near
// the float64 maximum (sums that need two thousand bits), signed zeros and −Inf logits; and
// that both outcomes (a common mean, entries equal to it) occur.
func TestBackwardExactMatchesRationals(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	n := 3000
	if testing.Short() {
		n = 600
	}
	mags := []float64{0x1p-1074, 0x1p-1000, 1, 0.75, 3, 0x1p+1000, 0x1.fffffffffffffp+1022}
	common, zeroed := 0, 0
	for j := range n {
		cols := 1 + r.IntN(9)
		x := make([]float64, cols)
		dy := make([]float64, cols)
		vals := []float64{2, 2, -1, math.Inf(-1)}[:1+r.IntN(4)]
		for i := range x {
			x[i] = vals[r.IntN(len(vals))]
		}
		c := mags[r.IntN(len(mags))] * []float64{1, -1}[r.IntN(2)]
		for i := range dy {
			switch r.IntN(5) {
			case 0, 1: // the common value
				dy[i] = c
			case 2: // a pair around it, when it has room
				dy[i] = c * 2
			case 3:
				dy[i] = math.Copysign(0, float64(r.IntN(2)*2-1))
			default:
				dy[i] = mags[r.IntN(len(mags))] * []float64{1, -1}[r.IntN(2)]
			}
		}
		ri := analyze(x)
		if ri.nan || ri.posInf || ri.nFinite == 0 {
			continue
		}
		got, want := make([]Value, cols), make([]Value, cols)
		gp := backwardExact(fp.FP64, x, dy, ri, got)
		wp := backwardExactRat(fp.FP64, x, dy, ri, want)
		if len(gp) != len(wp) {
			t.Fatalf("case %d: pending %v, the rationals give %v\nx = %v\ndy = %v", j, gp, wp, x, dy)
		}
		for i := range gp {
			if gp[i] != wp[i] {
				t.Fatalf("case %d: pending %v, the rationals give %v\nx = %v\ndy = %v", j, gp, wp, x, dy)
			}
		}
		isPending := map[int]bool{}
		for _, i := range gp {
			isPending[i] = true
		}
		for i := range x {
			if isPending[i] {
				continue
			}
			if !sameValue(got[i], want[i]) {
				t.Fatalf("case %d entry %d: %+v, the rationals give %+v\nx = %v\ndy = %v", j, i, got[i], want[i], x, dy)
			}
			if !ri.allEqual && !math.IsInf(x[i], -1) {
				zeroed++
			}
		}
		if ri.allEqual {
			common++
		}
	}
	if common == 0 || zeroed == 0 {
		t.Fatalf("rows with equal logits: %d, entries equal to a common mean: %d; the test must see both", common, zeroed)
	}
	t.Logf("rows with equal logits: %d, entries equal to a common mean: %d", common, zeroed)
}
