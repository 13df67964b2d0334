package oracle

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// Reference constants to 70 significant digits (OEIS A001113, A002162, A002392); their own
// error is below 10^−69, which the tests add to the proven bound.
const (
	eDigits    = "2.718281828459045235360287471352662497757247093699959574966967627724077"
	ln2Digits  = "0.6931471805599453094172321214581765680755001343602552541206800094933936"
	ln10Digits = "2.302585092994045684017991454684364207601101488628772976033327900967573"
)

func parseRef(t *testing.T, s string) *big.Float {
	t.Helper()
	z, _, err := big.ParseFloat(s, 10, 300, big.ToNearestEven)
	if err != nil {
		t.Fatal(err)
	}
	return z
}

// within reports whether |z − ref| ≤ bound + slack.
func within(z, ref, bound, slack *big.Float) bool {
	d := new(big.Float).SetPrec(400).Sub(z, ref)
	d.Abs(d)
	lim := new(big.Float).SetPrec(400).Add(bound, slack)
	return d.Cmp(lim) <= 0
}

func TestExpLogConstants(t *testing.T) {
	refErr := new(big.Float).SetMantExp(big.NewFloat(1), -228) // < 10^−68
	for _, prec := range []uint{24, 53, 64, 113, 200} {
		cases := []struct {
			name   string
			f      func() (*big.Float, *big.Float)
			ref    string
			reason string
		}{
			{"exp(1)", func() (*big.Float, *big.Float) { return Exp(nil, big.NewFloat(1), prec) }, eDigits, "e"},
			{"log(2)", func() (*big.Float, *big.Float) { z, b, _ := Log(nil, big.NewFloat(2), prec); return z, b }, ln2Digits, "a power of two: e·ln 2 only"},
			{"log(10)", func() (*big.Float, *big.Float) { z, b, _ := Log(nil, big.NewFloat(10), prec); return z, b }, ln10Digits, "reduction and series"},
		}
		for _, c := range cases {
			z, b := c.f()
			ref := parseRef(t, c.ref)
			if !within(z, ref, b, refErr) {
				t.Errorf("prec %d: %s = %s with bound %s; want within the bound of %s (%s)", prec, c.name, z.Text('g', 70), b.Text('g', 5), c.ref, c.reason)
			}
			// The bound must be useful: at most 2^−(prec−1) relative.
			lim := new(big.Float).SetMantExp(ref, -int(prec)+1)
			if b.Cmp(lim) > 0 {
				t.Errorf("prec %d: %s bound %s exceeds 2^−(prec−1)·|value|", prec, c.name, b.Text('g', 5))
			}
		}
	}
}

func TestExpLogSpecial(t *testing.T) {
	z, b := Exp(nil, new(big.Float), 53)
	if z.Cmp(big.NewFloat(1)) != 0 || b.Sign() != 0 {
		t.Errorf("Exp(0) = %v, bound %v; want 1 exactly", z, b)
	}
	z, b, err := Log(nil, big.NewFloat(1), 53)
	if err != nil || z.Sign() != 0 || b.Sign() != 0 {
		t.Errorf("Log(1) = %v, bound %v, %v; want 0 exactly", z, b, err)
	}
	if z, b := Exp(nil, new(big.Float).SetInf(false), 53); !z.IsInf() || z.Sign() < 0 || b.Sign() != 0 {
		t.Errorf("Exp(+Inf) = %v, %v", z, b)
	}
	if z, b := Exp(nil, new(big.Float).SetInf(true), 53); z.Sign() != 0 || b.Sign() != 0 {
		t.Errorf("Exp(−Inf) = %v, %v", z, b)
	}
	if z, _, err := Log(nil, new(big.Float), 53); err != nil || !z.IsInf() || z.Sign() > 0 {
		t.Errorf("Log(0) = %v, %v; want −Inf", z, err)
	}
	if _, _, err := Log(nil, big.NewFloat(-1), 53); err == nil {
		t.Errorf("Log(−1): no error")
	}
	// z is reused, as in math/big.
	var zz big.Float
	if r, _ := Exp(&zz, big.NewFloat(2), 80); r != &zz || r.Prec() != 80 {
		t.Errorf("Exp did not use z at its precision: %p %p prec %d", r, &zz, r.Prec())
	}
}

// TestExpLogConsistency checks, over a seeded sample of arguments spanning the reduction
// ranges, that results at two precisions agree within the sum of their bounds, that the
// bounds are tight (≤ 2^−(prec−1) relative) and that exp(log x) returns to x.
func TestExpLogConsistency(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	n := 300
	if testing.Short() {
		n = 60
	}
	for range n {
		x := (r.Float64()*2 - 1) * math.Pow(2, float64(r.IntN(36)-20)) // |x| < 2^16
		if r.IntN(4) == 0 {
			x = (r.Float64()*2 - 1) * 745
		}
		bx := big.NewFloat(x)
		z1, b1 := Exp(nil, bx, 64)
		z2, b2 := Exp(nil, bx, 256)
		if !within(z1, z2, b1, b2) {
			t.Fatalf("Exp(%v): %s ± %s at 64 bits and %s ± %s at 256 disagree", x, z1.Text('g', 25), b1.Text('g', 3), z2.Text('g', 40), b2.Text('g', 3))
		}
		if lim := new(big.Float).SetMantExp(z2, -63); b1.Cmp(lim) > 0 {
			t.Fatalf("Exp(%v): bound %s too loose", x, b1.Text('g', 3))
		}
		ax := math.Abs(x)
		l1, c1, err1 := Log(nil, big.NewFloat(ax), 64)
		l2, c2, err2 := Log(nil, big.NewFloat(ax), 256)
		if err1 != nil || err2 != nil || !within(l1, l2, c1, c2) {
			t.Fatalf("Log(%v): %s ± %s at 64 bits and %s ± %s at 256 disagree (%v %v)", ax, l1.Text('g', 25), c1.Text('g', 3), l2.Text('g', 40), c2.Text('g', 3), err1, err2)
		}
		// exp(log ax) ≈ ax: |exp(l2) − ax| ≤ exp bound + ax·(e^{c2} − 1) ≤ that + 2·ax·c2.
		e, eb := Exp(nil, l2, 256)
		slack := new(big.Float).Mul(big.NewFloat(2*ax), c2)
		if !within(e, big.NewFloat(ax), eb, slack) {
			t.Fatalf("exp(log(%v)) = %s", ax, e.Text('g', 40))
		}
	}
}

// TestExpAgainstMath checks Exp against Go's math.Exp within 1 ulp of float64 (math.Exp is
// documented to be within 1 ulp), an independent implementation; it also checks, on this
// platform, the fast path's assumption that math.Exp is within 2 ulps (fast.go).
func TestExpAgainstMath(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	for range 2000 {
		x := r.Float64()*1400 - 700
		z, _ := Exp(nil, big.NewFloat(x), 64)
		got, _ := z.Float64()
		want := math.Exp(x)
		if d := math.Abs(got - want); d > math.Nextafter(want, math.Inf(1))-want {
			t.Fatalf("Exp(%v) = %v (%#x), math.Exp = %v (%#x)", x, got, math.Float64bits(got), want, math.Float64bits(want))
		}
	}
}

// TestLog1pAssumption checks the fast path's assumption that math.Log1p is within 2 ulps
// (fast.go) against Log, over sums s in (0, 2^20] as fastSum produces them.
func TestLog1pAssumption(t *testing.T) {
	r := rand.New(rand.NewPCG(10, 10))
	for range 2000 {
		s := math.Ldexp(1+r.Float64(), r.IntN(80)-60)
		one := new(big.Float).SetPrec(200).Add(big.NewFloat(1), big.NewFloat(s)) // exact
		z, _, err := Log(nil, one, 120)
		if err != nil {
			t.Fatal(err)
		}
		got := math.Log1p(s)
		d := new(big.Float).Sub(z, big.NewFloat(got))
		ulps, _ := new(big.Float).Quo(d.Abs(d), big.NewFloat(math.Nextafter(got, math.Inf(1))-got)).Float64()
		if ulps > 2 {
			t.Fatalf("math.Log1p(%v) = %v is %.3g ulp from log1p", s, got, ulps)
		}
	}
}
