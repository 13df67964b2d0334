package properties

import (
	"context"
	"math"
	"testing"

	"github.com/ulpcheck/ulpcheck/generators"
)

// TestSoftmaxBackwardOverflowingDifference replays a NaN that `go test -short` found in
// softmaxbwd/bf16: on the row x = [0, −9984 ×32] the weights y_1… = e^−9984 underflow to 0 in
// fp32, and with dy = [2^121, −0x1.fcp+127, …] the difference dy_1 − c = −3.376e38 − 2^121 lies
// past fp32's overflow boundary, so y_1·(dy_1 − c) was 0·(−Inf) = NaN where the exact value,
// −e^−9984·3.4e38, rounds to −0. The kernels now form y_i·dy_i − y_i·c there. The second
// case keeps y_1 a normal fp32 value, where 0·Inf is not the issue but y_1·(−Inf) = −Inf was.
func TestSoftmaxBackwardOverflowingDifference(t *testing.T) {
	for _, tc := range []struct {
		name string
		x0   float64 // the second to last entries of x
		want func(y float64) bool
	}{
		{"underflowed weight", -9984, func(y float64) bool { return y == 0 && math.Signbit(y) }},
		{"normal weight", -40, func(y float64) bool { return y < 0 && !math.IsInf(y, 0) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, name := range []string{"softmaxbwd/bf16", "softmaxbwd/fp32"} {
				k := mustLookup(t, name)
				f := k.In
				x := make([]float64, 33)
				dy := make([]float64, 33)
				for i := 1; i < 33; i++ {
					x[i] = tc.x0
					dy[i] = 86.5
				}
				dy[0] = 0x1p121
				dy[1] = -0x1.fcp+127 // a bf16 value (0xff7e), and so an fp32 one
				c := generators.Case{Format: f, Class: "test/regression", Rows: 1, Cols: 33, X: x, DY: dy,
					RowClasses: make([]generators.Class, 1)}
				v := Evaluate(context.Background(), k, c)
				if !v.OK() {
					t.Fatalf("%s:\n%s", name, v.Report())
				}
				if !tc.want(v.Got[1]) {
					t.Errorf("%s: dx_1 = %s", name, hexf(v.Got[1]))
				}
			}
		})
	}
}
