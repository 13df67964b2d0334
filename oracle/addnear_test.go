package oracle

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/ulpcheck/ulpcheck/fp"
)

// TestAddNearMatchesAdd compares addNear with big.Float's exact-then-rounded Add on operands of
// random precisions, signs and exponent gaps up to 3000 bits (where the plain sum is cheap),
// x's last bits sometimes exactly at a rounding point of z's precision, in all six rounding
// modes: the same value, bit for bit, and the same accuracy.
func TestAddNearMatchesAdd(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	modes := []big.RoundingMode{big.ToNearestEven, big.ToNearestAway, big.ToZero, big.AwayFromZero, big.ToNegativeInf, big.ToPositiveInf}
	randFloat := func(prec uint, exp int) *big.Float { return randBigFloat(r, prec, exp) }
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

// randBigFloat returns a random Float of precision prec and exponent exp (MantExp): prec
// significant bits, or a third of the time fewer in a field of prec bits, either sign.
func randBigFloat(r *rand.Rand, prec uint, exp int) *big.Float {
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

// TestSubDirMatches compares subDir(x, y) with addDir(x, −y), which it replaces in ivSub, in
// both directed modes: the same value, sign of zero and accuracy, on random operands near each
// other (equal ones included, whose difference is an exact zero), far apart, and zero.
func TestSubDirMatches(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	zero := func() *big.Float {
		z := new(big.Float)
		if r.IntN(2) == 0 {
			z.Neg(z)
		}
		return z
	}
	for range 40000 {
		px, py, w := uint(1+r.IntN(200)), uint(1+r.IntN(200)), uint(2+r.IntN(200))
		ex := r.IntN(200) - 100
		x, y := randBigFloat(r, px, ex), randBigFloat(r, py, ex-r.IntN(int(w)+12)+r.IntN(int(w)+12))
		switch r.IntN(8) {
		case 0:
			y = new(big.Float).Copy(x) // x − x = 0
		case 1:
			x = zero()
		case 2:
			y = zero()
		case 3:
			y = randBigFloat(r, py, ex-int(w)-5-r.IntN(3000))
		}
		for _, m := range []big.RoundingMode{big.ToNegativeInf, big.ToPositiveInf} {
			want := addDir(x, new(big.Float).Neg(y), w, m)
			got := subDir(x, y, w, m)
			if got.Cmp(want) != 0 || got.Signbit() != want.Signbit() || got.Acc() != want.Acc() || got.Prec() != want.Prec() || got.Mode() != want.Mode() {
				t.Fatalf("x = %v, y = %v, w = %d, mode %v: subDir %v (%v), addDir(x, −y) %v (%v)",
					x.Text('p', 0), y.Text('p', 0), w, m, got.Text('p', 0), got.Acc(), want.Text('p', 0), want.Acc())
			}
		}
	}
}

// TestFloat64Of compares fmtInfo.float64Of with big.Float's Float64, bit for bit, on random
// values of every precision up to 200 bits across float64's range and past both ends, on ties
// (54 significant bits, the last one set) and on one scratch reused throughout.
func TestFloat64Of(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	fi, err := newFmtInfo(fp.FP32)
	if err != nil {
		t.Fatal(err)
	}
	check := func(x *big.Float) {
		want, _ := x.Float64()
		if got := fi.float64Of(x); math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("float64Of(%s) = %x, Float64 %x", x.Text('p', 0), got, want)
		}
	}
	for _, v := range []float64{0, math.Copysign(0, -1), math.Inf(1), math.Inf(-1)} {
		check(new(big.Float).SetFloat64(v))
	}
	for range 100000 {
		var x *big.Float
		if r.IntN(4) == 0 {
			// (2m + 1)·2^k with m of 53 bits: halfway between two float64 neighbours.
			m := r.Uint64()>>11 | 1<<52
			x = new(big.Float).SetPrec(54).SetUint64(2*m + 1)
			x.SetMantExp(x, r.IntN(2200)-1100)
			if r.IntN(2) == 0 {
				x.Neg(x)
			}
		} else {
			x = randBigFloat(r, uint(1+r.IntN(200)), r.IntN(2200)-1100)
		}
		check(x)
	}
}

// TestRatOfMatchesSetFloat64 compares ratOf with big.Rat.SetFloat64: the same value, and the
// same numerator and denominator (both in lowest terms), over random bit patterns (subnormals,
// integers and the extremes included).
func TestRatOfMatchesSetFloat64(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	xs := []float64{0, math.Copysign(0, -1), 1, -1, 0.5, 3, math.MaxFloat64, -math.MaxFloat64,
		math.SmallestNonzeroFloat64, -math.SmallestNonzeroFloat64, 0x1p-1022, 0x1.fffffffffffffp-1023, 0x1p52, 0x1p53 + 2}
	for range 200000 {
		x := math.Float64frombits(r.Uint64())
		if r.IntN(4) == 0 {
			x = float64(r.Int64N(1<<20) - 1<<19) // small integers and halves
			x /= float64(int(1) << r.IntN(4))
		}
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			xs = append(xs, x)
		}
	}
	for _, x := range xs {
		got, want := ratOf(x), new(big.Rat).SetFloat64(x)
		if got.Cmp(want) != 0 || got.Num().Cmp(want.Num()) != 0 || got.Denom().Cmp(want.Denom()) != 0 {
			t.Fatalf("ratOf(%x) = %v, SetFloat64 %v", x, got, want)
		}
	}
}
