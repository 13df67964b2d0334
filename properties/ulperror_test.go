package properties

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ulpcheck/ulpcheck/fp"
	"github.com/ulpcheck/ulpcheck/oracle"
)

// TestUlpErrorAtPowersOfTwo requires ulpErrorAt's float64 quotient for an exact value that is a
// power of two (softmax 1/n of n equal logits, Flag Exact) to be the oracle's UlpError bit for
// bit, for outputs of every narrow format near and far from it (every value of the 8- and
// 16-bit formats, random fp32 values and their neighbours of y), and that the shortcut was
// taken for most of them.
func TestUlpErrorAtPowersOfTwo(t *testing.T) {
	r := rand.New(rand.NewPCG(81, 82))
	fast := 0
	for _, f := range []fp.Format{fp.FP16, fp.BF16, fp.FP32, fp.E4M3, fp.E5M2} {
		for _, n := range []int{1, 2, 8, 1024} {
			ex, err := oracle.Softmax(f, make([]float64, n), fp.MaskNaN)
			if err != nil {
				t.Fatal(err)
			}
			e := ex[0]
			y := e.Float64()
			if e.Flag != fp.Exact || !powerOfTwo(y) {
				if f == fp.E4M3 || f == fp.E5M2 {
					continue // 1/1024 is below fp8's range
				}
				t.Fatalf("%v 1/%d: flag %v, y %v; the test needs an exact power of two", f, n, e.Flag, y)
			}
			var gots []float64
			if f.Width() <= 16 {
				for b := range uint64(1) << f.Width() {
					gots = append(gots, f.Decode(b))
				}
			} else {
				for range 100000 {
					gots = append(gots, float64(math.Float32frombits(r.Uint32())))
				}
				v := float32(y)
				for range 50 {
					gots = append(gots, float64(v), -float64(v))
					v = math.Nextafter32(v, 2)
				}
			}
			ulp := f.Ulp(y)
			for _, g := range gots {
				if math.IsNaN(g) || math.IsInf(g, 0) {
					continue
				}
				got, want := ulpErrorAt(f, e, g, y, ulp), e.UlpError(g)
				if math.Float64bits(got) != math.Float64bits(want) {
					t.Fatalf("%v, exact 1/%d, got %x: ulpErrorAt %v, UlpError %v", f, n, g, got, want)
				}
				if exactSum(g, -y, g-y) {
					fast++
				}
			}
		}
	}
	if fast == 0 {
		t.Fatal("no output took the shortcut")
	}
	t.Logf("outputs measured by the float64 quotient: %d", fast)
}
