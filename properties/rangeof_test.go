package properties

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestRangeOfAsMathMaxMin requires that rangeOf's extremes are math.Max's and math.Min's over
// the finite entries, bit for bit (+0 above −0 in either order), on rows of signed zeros, small
// integers, ±Inf and NaN.
func TestRangeOfAsMathMaxMin(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	vals := []float64{0, math.Copysign(0, -1), 1, -1, 2, math.Inf(1), math.Inf(-1), math.NaN(), 0x1p-1074}
	for range 20000 {
		x := make([]float64, 1+r.IntN(5))
		for i := range x {
			x[i] = vals[r.IntN(len(vals))]
		}
		hi, lo := math.Inf(-1), math.Inf(1)
		for _, v := range x {
			if !math.IsInf(v, 0) && !math.IsNaN(v) {
				hi, lo = math.Max(hi, v), math.Min(lo, v)
			}
		}
		st := rangeOf(x)
		if math.Float64bits(st.xmax) != math.Float64bits(hi) || math.Float64bits(st.xmin) != math.Float64bits(lo) {
			t.Fatalf("rangeOf(%v): max %v min %v, want %v %v", x, st.xmax, st.xmin, hi, lo)
		}
	}
}
