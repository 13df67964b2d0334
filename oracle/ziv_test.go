package oracle

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ulpcheck/ulpcheck/fp"
)

// sameValue reports whether a and b are the same Value: the same rounding, flag and kind, and
// approximations of the same precision and bits.
func sameValue(a, b Value) bool {
	if a.Format != b.Format || math.Float64bits(a.Rounded) != math.Float64bits(b.Rounded) || a.Flag != b.Flag ||
		a.kind != b.kind || a.has64 != b.has64 || math.Float64bits(a.r64) != math.Float64bits(b.r64) ||
		math.Float64bits(a.a64) != math.Float64bits(b.a64) || a.e2 != b.e2 || (a.approx == nil) != (b.approx == nil) {
		return false
	}
	if a.approx == nil {
		return true
	}
	return a.approx.Prec() == b.approx.Prec() && a.approx.Mode() == b.approx.Mode() &&
		a.approx.Text('p', 0) == b.approx.Text('p', 0)
}

// repeatedRow returns a row of n logits drawn from a few values, of the shapes that reach Ziv's
// loop with repeated entries: a maximum repeated a power-of-two number of times over entries far
// below it (softmax just below 1/k), entries a few subnormals apart (every softmax within 2^−100
// of 1/n), and a mix of both.
func repeatedRow(f fp.Format, n int, r *rand.Rand, shape int) []float64 {
	x := make([]float64, n)
	switch shape {
	case 0:
		k := 1 << r.IntN(bitsLen(n))
		for i := range x {
			x[i] = 3.5
			if i%(n/k+1) != 0 || i/(n/k+1) >= k {
				x[i] = 3.5 - 40 - float64(r.IntN(3))
			}
		}
	case 1:
		tiny := f.MinSubnormal()
		for i := range x {
			x[i] = -tiny * float64(r.IntN(4))
		}
	default:
		vals := []float64{1, 1, 0.5, -60, -f.MinSubnormal()}
		for i := range x {
			x[i] = vals[r.IntN(len(vals))]
		}
	}
	return x
}

// TestZivSharedMatchesZiv requires that deciding the entries of one logit once (zivShared) gives
// every entry the same Value, bit for bit, as Ziv's loop run on each of them (noShare), for
// Softmax, LogSoftmax, CrossEntropyGrad and SoftmaxBackward on rows of repeated logits in four formats; and that
// Ziv's loop decided repeated entries (kind big) in those rows.
func TestZivSharedMatchesZiv(t *testing.T) {
	defer func() { noShare = false }()
	r := rand.New(rand.NewPCG(21, 22))
	rows := 60
	if testing.Short() {
		rows = 15
	}
	ops := []struct {
		name string
		run  func(f fp.Format, x, dy []float64) ([]Value, error)
	}{
		{"Softmax", func(f fp.Format, x, _ []float64) ([]Value, error) { return Softmax(f, x, fp.MaskNaN) }},
		{"LogSoftmax", func(f fp.Format, x, _ []float64) ([]Value, error) { return LogSoftmax(f, x, fp.MaskNaN) }},
		{"CrossEntropyGrad", func(f fp.Format, x, _ []float64) ([]Value, error) {
			return CrossEntropyGrad(f, x, 1, len(x), []int{len(x) / 2}, DefaultCEOptions())
		}},
		{"SoftmaxBackward", func(f fp.Format, x, dy []float64) ([]Value, error) {
			return SoftmaxBackward(f, x, dy, 1, len(x), fp.MaskNaN)
		}},
	}
	shared := map[string]int{}
	for _, f := range []fp.Format{fp.FP16, fp.BF16, fp.FP32, fp.FP64} {
		for j := range rows {
			n := []int{2, 5, 16, 64, 257}[j%5]
			x := repeatedRow(f, n, r, j%3)
			dy := make([]float64, n) // a few upstream gradients, zeros of both signs among them
			for i := range dy {
				dy[i] = []float64{1, -0.5, 0, math.Copysign(0, -1), 3}[r.IntN(5)]
			}
			count := map[[2]uint64]int{} // entries of one logit (and upstream gradient, for the backward)
			for i, v := range x {
				count[[2]uint64{math.Float64bits(v), math.Float64bits(dy[i])}]++
			}
			for _, op := range ops {
				noShare = false
				got, err := op.run(f, x, dy)
				if err != nil {
					t.Fatalf("%s %v: %v\nx = %v", op.name, f, err, x)
				}
				noShare = true
				want, err := op.run(f, x, dy)
				if err != nil {
					t.Fatalf("%s %v without sharing: %v\nx = %v", op.name, f, err, x)
				}
				for i := range x {
					if !sameValue(got[i], want[i]) {
						t.Fatalf("%s %v row %d entry %d: shared %+v, alone %+v\nx = %v", op.name, f, j, i, got[i], want[i], x)
					}
					if got[i].kind == kindBig && count[[2]uint64{math.Float64bits(x[i]), math.Float64bits(dy[i])}] > 1 {
						shared[op.name]++
					}
				}
			}
		}
	}
	for _, op := range ops {
		if shared[op.name] == 0 {
			t.Errorf("%s: no repeated entry was decided by Ziv's loop; the test does not exercise zivShared", op.name)
		}
	}
	t.Logf("entries of repeated logits decided by Ziv's loop: %v", shared)
}
