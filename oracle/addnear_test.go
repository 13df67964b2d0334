package oracle

import (
	"math/big"
	"math/rand/v2"
	"testing"
)

// TestAddNearMatchesAdd compares addNear with big.Float's exact-then-rounded Add on operands of
// random precisions, signs and exponent gaps up to 3000 bits (where the plain sum is cheap),
// x's last bits sometimes exactly at a rounding point of z's precision, in all six rounding
// modes: the same value, bit for bit, and the same accuracy.
func TestAddNearMatchesAdd(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	modes := []big.RoundingMode{big.ToNearestEven, big.ToNearestAway, big.ToZero, big.AwayFromZero, big.ToNegativeInf, big.ToPositiveInf}
	randFloat := func(prec uint, exp int) *big.Float {
		m := new(big.Int)
		for m.BitLen() < int(prec) {
			m.Lsh(m, 64).Or(m, new(big.Int).SetUint64(r.Uint64()))
		}
		m.Rsh(m, uint(m.BitLen())-prec)
		m.SetBit(m, int(prec)-1, 1) // prec significant bits
		if r.IntN(3) == 0 {
			m.Rsh(m, uint(r.IntN(int(prec)))) // fewer, in a field of prec bits
		}
		f := new(big.Float).SetPrec(prec).SetInt(m)
		f.SetMantExp(f, exp-f.MantExp(nil))
		if r.IntN(2) == 0 {
			f.Neg(f)
		}
		return f
	}
	stood := 0
	for range 40000 {
		px, py, pz := uint(1+r.IntN(200)), uint(1+r.IntN(200)), uint(2+r.IntN(200))
		ex := r.IntN(200) - 100
		gap := r.IntN(3000)
		if r.IntN(4) == 0 {
			gap = int(pz) + r.IntN(8) // near the cut-off
		}
		x, y := randFloat(px, ex), randFloat(py, ex-gap)
		if r.IntN(2) == 0 {
			x, y = y, x
		}
		for _, m := range modes {
			want := new(big.Float).SetPrec(pz).SetMode(m).Add(x, y)
			got := addNear(new(big.Float).SetPrec(pz).SetMode(m), x, y)
			if got.Cmp(want) != 0 || got.Acc() != want.Acc() || got.Signbit() != want.Signbit() {
				t.Fatalf("x = %v (prec %d), y = %v (prec %d), prec %d, mode %v: addNear %v (%v), Add %v (%v)",
					x.Text('p', 0), px, y.Text('p', 0), py, pz, m, got.Text('p', 0), got.Acc(), want.Text('p', 0), want.Acc())
			}
		}
		if gx, gy := x.MantExp(nil), y.MantExp(nil); max(gx, gy)-min(gx, gy) > int(pz)+int(max(px, py))+2 {
			stood++
		}
	}
	if stood < 10000 {
		t.Fatalf("only %d cases took the stand-in", stood)
	}
	// The case that motivated it: 2 + 2^−1000001, rounded up and down at 72 bits.
	tiny := new(big.Float).SetMantExp(big.NewFloat(1), -1000001)
	for _, m := range []big.RoundingMode{big.ToNegativeInf, big.ToPositiveInf} {
		want := new(big.Float).SetPrec(72).SetMode(m).Add(big.NewFloat(2), tiny)
		if got := addNear(new(big.Float).SetPrec(72).SetMode(m), big.NewFloat(2), tiny); got.Cmp(want) != 0 || got.Acc() != want.Acc() {
			t.Fatalf("2 + 2^-1000001, mode %v: %v, want %v", m, got.Text('p', 0), want.Text('p', 0))
		}
	}
}
