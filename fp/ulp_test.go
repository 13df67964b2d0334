package fp

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

func TestUlp(t *testing.T) {
	tests := []struct {
		f      Format
		y, ulp float64
		reason string
	}{
		{FP16, 1, 0x1p-10, "ulp(1) = ε"},
		{FP16, 0x1.ffcp0, 0x1p-10, "same binade as 1"},
		{FP16, 65504, 32, "ulp(max) in fp16"},
		{FP16, 0, 0x1p-24, "ulp(0) is the min subnormal"},
		{FP16, 0x1p-20, 0x1p-24, "subnormal range: fixed quantum"},
		{FP16, -0x1p-14, 0x1p-24, "min normal, negative"},
		{BF16, 1, 0x1p-7, "bf16 has 8 bits"},
		{FP32, 1, 0x1p-23, "fp32 ε"},
		{FP64, 1, 0x1p-52, "fp64 ε"},
		{FP64, 0, 0x1p-1074, "fp64 min subnormal"},
		{E4M3, 448, 32, "E4M3 top binade"},
		{E5M2, 1, 0.25, "E5M2 has 3 bits"},
		{FP16, 1e6, 512, "beyond max: the formula continues"},
	}
	for _, tt := range tests {
		if got := tt.f.Ulp(tt.y); got != tt.ulp {
			t.Errorf("%v.Ulp(%x) = %x, want %x: %s", tt.f, tt.y, got, tt.ulp, tt.reason)
		}
	}
	if !math.IsInf(FP16.Ulp(math.Inf(-1)), 1) || !math.IsNaN(FP16.Ulp(math.NaN())) {
		t.Error("Ulp special cases")
	}
}

// TestUlpMatchesUlpExp checks the float64 path of Ulp against UlpExp on the exact value, in
// every format, at powers of two and their neighbours across the float64 range (subnormals
// included), where a binade boundary is off by one if anywhere.
func TestUlpMatchesUlpExp(t *testing.T) {
	var ys []float64
	for e := -1074; e <= 1023; e++ {
		p := math.Ldexp(1, e)
		ys = append(ys, p, math.Nextafter(p, 0), math.Nextafter(p, math.Inf(1)), -p, 3*p)
	}
	ys = append(ys, 0, math.Copysign(0, -1), math.MaxFloat64, -math.MaxFloat64)
	for _, f := range Formats() {
		for _, y := range ys {
			if math.IsInf(y, 0) {
				continue
			}
			want := math.Ldexp(1, f.UlpExp(new(big.Float).SetFloat64(y)))
			if got := f.Ulp(y); got != want {
				t.Fatalf("%v.Ulp(%x) = %x, want %x (UlpExp on the exact value)", f, y, got, want)
			}
		}
	}
}

func TestUlpError(t *testing.T) {
	third := new(big.Float).SetPrec(200).Quo(big.NewFloat(1), big.NewFloat(3))
	inf := new(big.Float).SetInf(false)
	huge := new(big.Float).SetFloat64(70000)
	tests := []struct {
		f      Format
		got    float64
		exact  *big.Float
		want   float64
		reason string
	}{
		{FP16, 1, big.NewFloat(1), 0, "exact"},
		{FP16, 1 + 0x1p-10, big.NewFloat(1), 1, "one ulp above 1"},
		{FP16, 1 - 0x1p-11, big.NewFloat(1), 0.5, "below 1 the neighbour is half an ulp(1) away"},
		{FP32, 0x1.555556p-2, third, 1.0 / 3, "RN(1/3) = 0x1.555556p-2 is 2^-26/3 above 1/3, ulp 2^-25"},
		{FP16, math.Copysign(0, -1), big.NewFloat(0), 0, "−0 against +0"},
		{FP16, math.NaN(), nil, 0, "NaN matches NaN"},
		{FP16, 1, nil, math.Inf(1), "finite against NaN"},
		{FP16, math.NaN(), big.NewFloat(1), math.Inf(1), "NaN against finite"},
		{FP16, math.Inf(1), inf, 0, "Inf against Inf"},
		{FP16, math.Inf(1), huge, 0, "70000 overflows fp16: +Inf is the correctly rounded answer"},
		{FP16, 65504, huge, (70000 - 65504) / 64.0, "a saturating ±max is a finite error (ulp of 70000 is 2^6)"},
		{FP16, math.Inf(1), big.NewFloat(1), math.Inf(1), "Inf against a finite value"},
		{FP16, 1, inf, math.Inf(1), "finite against Inf"},
		{FP16, 0x1p-24, big.NewFloat(0), 1, "min subnormal against 0: one ulp(0)"},
	}
	for _, tt := range tests {
		if got := tt.f.UlpError(tt.got, tt.exact); got != tt.want && !(math.Abs(got-tt.want) <= 0x1p-50*tt.want) {
			t.Errorf("%v.UlpError(%x, %v) = %v, want %v: %s", tt.f, tt.got, tt.exact, got, tt.want, tt.reason)
		}
	}
}

// ulpErrorRef is UlpError's finite case as first written: fresh big.Floats, Float64 at the end.
func ulpErrorRef(f Format, got float64, exact *big.Float) float64 {
	var g, d big.Float
	g.SetFloat64(got)
	d.SetPrec(64).SetMode(big.ToNearestEven).Sub(&g, exact)
	d.Abs(&d)
	d.SetMantExp(&d, -f.UlpExp(exact))
	r, _ := d.Float64()
	return r
}

// TestUlpErrorMatchesRef compares UlpError, which rounds in reused storage and reads the result
// off it, with ulpErrorRef bit for bit: on random exact values of 24 to 300 bits near and far
// from got, in every format, including results at float64's overflow and underflow and
// differences that round up to a power of two.
func TestUlpErrorMatchesRef(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	n := 0
	for _, f := range []Format{FP16, BF16, FP32, FP64, E4M3} {
		for range 40000 {
			got := math.Ldexp(1+rng.Float64(), rng.IntN(200)-100)
			if rng.IntN(2) == 0 {
				got = -got
			}
			var exact *big.Float
			switch rng.IntN(6) {
			case 4: // a difference of 2^−1010 to 2^−1080 ulp: the result at float64's underflow
				exact = new(big.Float).SetPrec(1200).SetFloat64(got)
				exact.Add(exact, new(big.Float).SetMantExp(big.NewFloat(1+rng.Float64()), binade(got)-f.Precision()-1010-rng.IntN(70)))
			case 5: // at float64's overflow: in fp64, a value near 2^−50 against one near 0
				got = math.Ldexp(1+rng.Float64(), -rng.IntN(8)-47)
				exact = big.NewFloat(math.Ldexp(float64(rng.IntN(4)), -1074))
			case 0: // within a few ulps of got
				exact = new(big.Float).SetPrec(uint(24 + rng.IntN(277))).SetFloat64(got)
				exact.Add(exact, big.NewFloat(math.Ldexp(rng.Float64()-0.5, binade(got)-f.Precision()+rng.IntN(8))))
			case 1: // far: up to 2^±1100 away in magnitude
				exact = new(big.Float).SetPrec(uint(24+rng.IntN(277))).SetMantExp(big.NewFloat(1+rng.Float64()), rng.IntN(2200)-1100)
			case 2: // got plus a run of ones: the 64-bit difference rounds up to a power of two
				exact = new(big.Float).SetPrec(300).SetFloat64(got)
				ones := new(big.Float).SetPrec(300).SetMantExp(big.NewFloat(1), binade(got)-f.Precision())
				ones.Sub(ones, new(big.Float).SetPrec(300).SetMantExp(big.NewFloat(1), binade(got)-f.Precision()-80-rng.IntN(10)))
				exact.Add(exact, ones)
			default: // a value of f, or its neighbour
				r, _ := f.RoundFloat64(got)
				if math.IsInf(r, 0) || math.IsNaN(r) {
					r = f.MaxFinite()
				}
				if rng.IntN(2) == 0 && r < f.MaxFinite() {
					r = f.Next(r)
				}
				exact = new(big.Float).SetFloat64(r)
			}
			if rng.IntN(3) == 0 {
				exact.Neg(exact)
			}
			want, have := ulpErrorRef(f, got, exact), f.UlpError(got, exact)
			if math.Float64bits(want) != math.Float64bits(have) {
				t.Fatalf("%v.UlpError(%x, %s) = %x, want %x", f, got, exact.Text('p', 0), have, want)
			}
			n++
		}
	}
	if a := testing.AllocsPerRun(100, func() { FP32.UlpError(1.5, big.NewFloat(1.25)) }); a > 1 {
		t.Errorf("UlpError allocates %v times a call, want ≤ 1 (the exact value's conversion is the caller's)", a)
	}
}

func TestUlpDistance(t *testing.T) {
	negZero := math.Copysign(0, -1)
	tests := []struct {
		f      Format
		a, b   float64
		want   int64
		reason string
	}{
		{FP16, 1, 1, 0, "equal"},
		{FP16, 0, negZero, 0, "±0 are equal"},
		{FP16, 1, 1 + 0x1p-10, 1, "neighbours"},
		{FP16, 0x1p-24, -0x1p-24, 2, "across zero: −min sub, 0, +min sub"},
		{FP16, 65504, math.Inf(1), 1, "max and Inf are neighbours"},
		{FP16, 1, 2, 1024, "a binade of fp16 holds 1024 values"},
		{BF16, 1, 2, 128, "a binade of bf16 holds 128 values"},
		{FP16, math.NaN(), math.NaN(), 0, "NaN matches NaN"},
		{FP16, math.NaN(), 1, math.MaxInt64, "NaN against a number"},
		{E4M3, 448, -448, 2 * 126, "E4M3 has 126 positive finite values"},
	}
	for _, tt := range tests {
		if got := tt.f.UlpDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("%v.UlpDistance(%x, %x) = %d, want %d: %s", tt.f, tt.a, tt.b, got, tt.want, tt.reason)
		}
	}
}

func TestEncodeRejectsNonMembers(t *testing.T) {
	if _, err := FP16.EncodeChecked(0.1); err == nil {
		t.Error("FP16.EncodeChecked(0.1) succeeded; 0.1 is not an fp16 value")
	}
	if _, err := E4M3.EncodeChecked(math.Inf(1)); err == nil {
		t.Error("E4M3.EncodeChecked(+Inf) succeeded; E4M3 has no Inf")
	}
	if got := FP32.Encode(float64(float32(1e-40))); got != 0x000116c2 {
		t.Errorf("FP32.Encode(1e-40) = %#x, want 0x000116c2 (the subnormal 71362·2^-149)", got)
	}
}
