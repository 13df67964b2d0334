package generators

import (
	"testing"

	"github.com/ulpcheck/ulpcheck/fp"
	"pgregory.net/rapid"
)

// TestCombinators checks that the generators compose with rapid's combinators and name
// themselves.
func TestCombinators(t *testing.T) {
	for _, tc := range []struct {
		got, want string
	}{
		{Row(fp.FP16).String(), "Row(fp16)"},
		{Batch(fp.BF16, MaxRows(3)).String(), "Batch(bf16, rows≤3)"},
		{Scalar(fp.E4M3).String(), "Scalar(e4m3)"},
		{GradStepGen(fp.FP32).String(), "GradStep(fp32, scale=65536, scaled=fp16)"},
	} {
		if tc.got != tc.want {
			t.Errorf("String() = %q, want %q", tc.got, tc.want)
		}
	}
	rapid.Check(t, func(rt *rapid.T) {
		cs := rapid.SliceOfN(Row(fp.FP16, MaxLen(40)).Generator, 1, 3).Draw(rt, "rows")
		if len(cs) < 1 || len(cs) > 3 {
			rt.Fatalf("%d cases", len(cs))
		}
		v := rapid.OneOf(Scalar(fp.FP16).Generator, Scalar(fp.BF16).Generator).Draw(rt, "v")
		if !v.Format.Contains(v.X) {
			rt.Fatalf("%s is not a member", v)
		}
		x := rapid.Map(Scalar(fp.FP32).Generator, func(v Value) float64 { return v.X }).Draw(rt, "x")
		if !fp.FP32.Contains(x) {
			rt.Fatalf("%x is not an fp32 value", x)
		}
	})
}
