package fp

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

func TestConstants(t *testing.T) {
	// Figures of NUMERICS §1, written as exact values.
	tests := []struct {
		f                    Format
		p, emin, emax        int
		max, minNorm, minSub float64
		reason               string
	}{
		{FP16, 11, -14, 15, 65504, 0x1p-14, 0x1p-24, "IEEE binary16"},
		{BF16, 8, -126, 127, 0x1.fep127, 0x1p-126, 0x1p-133, "bfloat16 with subnormals"},
		{FP32, 24, -126, 127, math.MaxFloat32, 0x1p-126, 0x1p-149, "IEEE binary32"},
		{FP64, 53, -1022, 1023, math.MaxFloat64, 0x1p-1022, 0x1p-1074, "IEEE binary64"},
		{E4M3, 4, -6, 8, 448, 0x1p-6, 0x1p-9, "OCP E4M3: S.1111.111 is NaN, so max is 1.75·2^8"},
		{E5M2, 3, -14, 15, 57344, 0x1p-14, 0x1p-16, "OCP E5M2, IEEE-like"},
	}
	for _, tt := range tests {
		f := tt.f
		if f.Precision() != tt.p || f.EMin() != tt.emin || f.EMax() != tt.emax {
			t.Errorf("%v: p, emin, emax = %d, %d, %d, want %d, %d, %d (%s)", f, f.Precision(), f.EMin(), f.EMax(), tt.p, tt.emin, tt.emax, tt.reason)
		}
		if f.MaxFinite() != tt.max || f.MinNormal() != tt.minNorm || f.MinSubnormal() != tt.minSub {
			t.Errorf("%v: max, min normal, min subnormal = %x, %x, %x, want %x, %x, %x (%s)", f,
				f.MaxFinite(), f.MinNormal(), f.MinSubnormal(), tt.max, tt.minNorm, tt.minSub, tt.reason)
		}
		if got := f.UnitRoundoff(); got != math.Ldexp(1, -tt.p) {
			t.Errorf("%v: u = %x", f, got)
		}
		g, err := ParseFormat(f.String())
		if err != nil || g != f {
			t.Errorf("ParseFormat(%q) = %v, %v", f.String(), g, err)
		}
	}
	if _, err := ParseFormat("fp12"); err == nil {
		t.Error("ParseFormat(fp12) succeeded")
	}
}

// TestExpThresholds checks the exp thresholds of NUMERICS §1 against an independent evaluation:
// exp(x) correctly rounded through a high-precision float64-free computation is beyond reach of
// package fp, so this test uses the defining properties instead. log of the boundary values is
// computed with math.Log (accurate to 1 ulp of float64, far below the 1e-9 printed precision).
func TestExpThresholds(t *testing.T) {
	for _, f := range Formats() {
		th := f.Exp()
		mx := f.MaxFinite()
		// log of the RNE overflow boundary max + ½ulp(max), as log(max) + log1p(½ulp/max) to stay
		// finite in float64.
		logOvf := math.Log(mx) + math.Log1p(f.Ulp(mx)/2/mx)
		if f == E4M3 {
			logOvf = math.Log(464) // the tie 464 rounds to 448; only |x| > 464 overflows
		}
		// The constants are printed to 10 or more significant digits: agreement to 1e-9 relative
		// is what they promise.
		check := func(name string, got, want float64) {
			t.Helper()
			if d := math.Abs(got - want); d > 1e-8*math.Max(1, math.Abs(want)) {
				t.Errorf("%v: %s threshold = %.12g, want %.12g", f, name, got, want)
			}
		}
		check("overflow", th.Overflow, logOvf)
		check("subnormal", th.SubnormalBelow, math.Log(f.MinNormal()))
		check("zero", th.ZeroAtOrBelow, math.Log(f.MinSubnormal()/2))
		// LargestFinite is the largest member below the overflow threshold.
		lf := th.LargestFinite
		if !f.Contains(lf) || lf > th.Overflow || f.Next(lf) <= th.Overflow {
			t.Errorf("%v: largest finite exp argument %v is not the last member below %v (next %v)", f, lf, th.Overflow, f.Next(lf))
		}
	}
}

func TestRoundSpecial(t *testing.T) {
	negZero := math.Copysign(0, -1)
	tests := []struct {
		f      Format
		x      string // exact decimal or hex value
		want   float64
		flag   Flag
		reason string
	}{
		{FP16, "65504", 65504, Exact, "max"},
		{FP16, "65519.999", 65504, Inexact, "just below the overflow boundary"},
		{FP16, "65520", math.Inf(1), Overflow, "max + ½ulp ties to even, away from max"},
		{FP16, "-65520", math.Inf(-1), Overflow, "negative overflow"},
		{FP16, "65536", math.Inf(1), Overflow, "2^16 has one significant bit but is beyond max"},
		{E4M3, "480", math.NaN(), Overflow, "480 = 1.111·2^8 fits in 4 bits, but S.1111.111 is NaN"},
		{BF16, "-0x1p128", math.Inf(-1), Overflow, "a power of two beyond bf16's range"},
		{FP16, "0x1p-25", 0, Underflow, "half the min subnormal ties to 0"},
		{FP16, "0x1.0000000000000000001p-25", 0x1p-24, Underflow, "just above half the min subnormal"},
		{FP16, "0x3p-25", 0x1p-23, Underflow, "1.5·min subnormal ties to even 2·min subnormal"},
		{FP16, "0x3p-26", 0x1p-24, Underflow, "0.75·min subnormal rounds up"},
		{FP16, "-0x1p-30", negZero, Underflow, "underflow to −0 keeps the sign"},
		{FP16, "0x1.002p0", 1, Inexact, "1 + 2^-11 is the midpoint: ties to even 1"},
		{FP16, "0x1.006p0", 0x1.008p0, Inexact, "1 + 3·2^-11 ties to even 1 + 2^-9"},
		{FP16, "0x1.ffep-15", 0x1p-14, Underflow, "tiny before rounding, rounds up to min normal"},
		{BF16, "0x1.fefp127", 0x1.fep127, Inexact, "just below bf16 overflow"},
		{BF16, "0x1.ffp127", math.Inf(1), Overflow, "bf16 max + ½ulp"},
		{BF16, "0x1p-134", 0, Underflow, "half the bf16 min subnormal"},
		{FP32, "1e-40", 0x116c2p-149, Underflow, "float32(1e-40) is a subnormal, not 0"},
		{FP32, "0x1p-150", 0, Underflow, "half the fp32 min subnormal ties to 0"},
		{E4M3, "464", 448, Inexact, "464 is the tie between 448 and 480: even 448"},
		{E4M3, "464.0001", math.NaN(), Overflow, "E4M3 overflow is NaN"},
		{E4M3, "0x1p-10", 0, Underflow, "half the E4M3 min subnormal"},
		{E5M2, "61440", math.Inf(1), Overflow, "E5M2 max + ½ulp"},
		{E5M2, "61439", 57344, Inexact, "below the E5M2 overflow boundary"},
		{FP64, "0x1p-1075", 0, Underflow, "half the fp64 min subnormal"},
		{FP64, "0x1.00000000000008p0", 1, Inexact, "fp64 midpoint ties to even"},
		{FP64, "1e400", math.Inf(1), Overflow, "beyond float64"},
		{FP16, "1e-100000", 0, Underflow, "exponent far below any float64"},
	}
	for _, tt := range tests {
		x, _, err := big.ParseFloat(tt.x, 0, 1000, big.ToNearestEven)
		if err != nil {
			t.Fatalf("bad test value %q: %v", tt.x, err)
		}
		got, fl := tt.f.Round(x)
		if !same(got, tt.want) || fl != tt.flag {
			t.Errorf("%v.Round(%s) = %x (%v), want %x (%v): %s", tt.f, tt.x, got, fl, tt.want, tt.flag, tt.reason)
		}
	}
	if got, fl := E4M3.RoundSaturating(big.NewFloat(500)); got != 448 || fl != Overflow {
		t.Errorf("E4M3.RoundSaturating(500) = %v, %v, want 448, overflow", got, fl)
	}
	if got, _ := FP16.RoundSaturating(new(big.Float).SetInf(true)); !math.IsInf(got, -1) {
		t.Errorf("FP16.RoundSaturating(-Inf) = %v, want -Inf", got)
	}
}

// same reports whether a and b are the same float64, with NaN equal to NaN and ±0 distinguished.
func same(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return a == b && math.Signbit(a) == math.Signbit(b)
}

func TestGoString(t *testing.T) {
	if got := fmt.Sprintf("%#v", BF16); got != "fp.BF16" {
		t.Errorf("%%#v of BF16 = %q, want fp.BF16", got)
	}
	if got := fmt.Sprintf("%#v", Format{}); got != "fp.Format{}" {
		t.Errorf("%%#v of the zero Format = %q", got)
	}
}

// TestIsFloat64 compares isFloat64, Round's exactness test, with Float64's accuracy on values
// around every edge it draws: 53 and 54 significant bits, float64's overflow and subnormal
// ends, the smallest subnormal and below, zeros, infinities.
func TestIsFloat64(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	check := func(x *big.Float) {
		_, acc := x.Float64()
		if got := isFloat64(x); got != (acc == big.Exact) {
			t.Fatalf("isFloat64(%s) = %v, Float64's accuracy %v", x.Text('p', 0), got, acc)
		}
	}
	check(new(big.Float))
	check(new(big.Float).Neg(new(big.Float)))
	check(new(big.Float).SetInf(false))
	check(new(big.Float).SetInf(true))
	for range 200000 {
		bits := 1 + r.IntN(60) // significant bits, 53 and 54 among them
		m := new(big.Int).SetUint64(r.Uint64() | 1<<63)
		m.Rsh(m, uint(64-bits))
		m.SetBit(m, 0, 1)
		var e int
		switch r.IntN(4) {
		case 0:
			e = 1020 + r.IntN(8) // near the overflow end
		case 1:
			e = -1022 - r.IntN(60) // subnormal exponents
		case 2:
			e = -1074 - r.IntN(4) + bits // the lowest bit near 2^−1074
		default:
			e = r.IntN(2000) - 1000
		}
		x := new(big.Float).SetPrec(uint(bits)).SetInt(m)
		x.SetMantExp(x, e-x.MantExp(nil))
		if r.IntN(2) == 0 {
			x.Neg(x)
		}
		check(x)
	}
}
