package oracle

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/ulpcheck/ulpcheck/fp"
)

// TestValueFloat64 checks that Value.Float64 is the correctly rounded float64 of the exact value
// where the Value's construction decides it, on cases whose exact value is known in closed form.
func TestValueFloat64(t *testing.T) {
	ls, err := LogSoftmax(fp.FP16, []float64{17.34375, -17.34375, 0x1p-14, 0x1p-14, 0x1p-14, 0x1p-14, 0x1p-14, 2072, -14352}, fp.MaskNaN)
	if err != nil {
		t.Fatal(err)
	}
	g, err := CrossEntropyGrad(fp.FP16, []float64{0, 0, 0}, 1, 3, []int{0}, DefaultCEOptions())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		v      Value
		want   float64
		reason string
	}{
		{ls[8], -16424,
			"log-softmax −14352 − 2072 − log1p(Σ e^(x_i−2072)) = −16424 − (≈e^−2054.7): float64 −16424 (fp16 rounds past the tie to −16432; the approximation carried is 2.4e−7 off)"},
		{ls[7], 0, "the maximum's log-softmax −log1p(≈e^−2054.7) rounds to −0 in float64 (Float64 returns a float64 equal to 0)"},
		{g[0], -2.0 / 3, "p = 1/3: 1/3 − 1 = −2/3, whose float64 is RN(−2/3) (fp16 gives −0.66650390625)"},
		{g[1], 1.0 / 3, "p = 1/3, a non-target: 1/3"},
	}
	for _, tt := range tests {
		if got := tt.v.Float64(); got != tt.want {
			t.Errorf("%s: Float64 = %v (%#x), want %v (%#x)", tt.reason, got, math.Float64bits(got), tt.want, math.Float64bits(tt.want))
		}
	}
	if got := ls[8].Rounded; got != -16432 {
		t.Errorf("fp16 rounding of −16424 − ε: %v, want −16432", got)
	}
}

// TestValueFloat64MatchesFP64 checks Float64 of fp16/bf16/fp32 results, where the Value decided
// it, against the same results computed for FP64, whose Rounded is the correctly rounded float64
// by a separate Ziv loop (run at float64's precision).
func TestValueFloat64MatchesFP64(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	n := 60
	if testing.Short() {
		n = 15
	}
	decided, total := 0, 0
	for _, f := range []fp.Format{fp.FP16, fp.BF16, fp.FP32} {
		for range n {
			x := randomRow(r, f, 1+r.IntN(12))
			x[0] = 1
			for _, op := range []struct {
				name string
				fn   func(fp.Format) ([]Value, error)
			}{
				{"softmax", func(g fp.Format) ([]Value, error) { return Softmax(g, x, fp.MaskNaN) }},
				{"log-softmax", func(g fp.Format) ([]Value, error) { return LogSoftmax(g, x, fp.MaskNaN) }},
				{"CE gradient", func(g fp.Format) ([]Value, error) {
					return CrossEntropyGrad(g, x, 1, len(x), []int{0}, DefaultCEOptions())
				}},
			} {
				lo, err1 := op.fn(f)
				hi, err2 := op.fn(fp.FP64)
				if err1 != nil || err2 != nil {
					t.Fatalf("%s %v: %v, %v", op.name, x, err1, err2)
				}
				for i := range lo {
					total++
					if !lo[i].has64 {
						continue
					}
					decided++
					if got, want := lo[i].Float64(), hi[i].Rounded; got != want && !(math.IsNaN(got) && math.IsNaN(want)) {
						t.Errorf("%s %v (%v) output %d: Float64 = %v (%#x), FP64 oracle %v (%#x)", op.name, x, f, i, got, math.Float64bits(got), want, math.Float64bits(want))
					}
				}
			}
		}
	}
	t.Logf("Float64 decided for %d of %d outputs", decided, total)
}

// TestValueSize pins the layout: long rows allocate a Value per entry.
func TestValueSize(t *testing.T) {
	if got := unsafe.Sizeof(Value{}); got != 40 {
		t.Errorf("unsafe.Sizeof(Value{}) = %d, want 40", got)
	}
}

// TestOneMinusValue requires that a Value carrying 1 − δ̂ (kindOneMinus, nearOne's) gives the
// 64-bit approximation rounded toward zero that nearOne built before it carried δ̂, and the same
// UlpError, bit for bit, as the approximation through fp.Format.UlpError.
func TestOneMinusValue(t *testing.T) {
	for _, d := range []float64{0x1p-1074, 0x1p-60, 3e-20, 0x1.fffffffffffffp-30, 1e-8} {
		v := Value{Format: fp.FP32, Rounded: 1, Flag: fp.Inexact, kind: kindOneMinus, a64: d}
		want := new(big.Float).SetPrec(64).SetMode(big.ToZero).Sub(big.NewFloat(1), big.NewFloat(d))
		a := v.Exact()
		if a.Prec() != 64 || a.Mode() != big.ToZero || a.Cmp(want) != 0 || a.Text('p', 0) != want.Text('p', 0) {
			t.Errorf("δ̂ = %g: approximation %s (%d bits, %v), want %s (64 bits, ToZero)", d, a.Text('p', 0), a.Prec(), a.Mode(), want.Text('p', 0))
		}
		for _, got := range []float64{1, 1 - 0x1p-24, 1 - 0x1p-23, 0.5, 1 + 0x1p-23} {
			if e, w := v.UlpError(got), fp.FP32.UlpError(got, want); math.Float64bits(e) != math.Float64bits(w) {
				t.Errorf("δ̂ = %g, got %v: UlpError %v, want %v", d, got, e, w)
			}
		}
	}
}
