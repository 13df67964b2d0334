package oracle

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ulpcheck/ulpcheck/fp"
)

// tiedRow returns a row of n logits whose maximum m appears k times and whose other entries lie
// between gap and 2·gap below it (some at −Inf, some at the far end of the format's range).
func tiedRow(f fp.Format, n, k int, m, gap float64, r *rand.Rand) []float64 {
	x := make([]float64, n)
	for i := range x {
		switch {
		case i%(n/k) == 0 && i/(n/k) < k:
			x[i] = m
		case r.IntN(5) == 0:
			x[i] = math.Inf(-1)
		case r.IntN(4) == 0:
			x[i] = -f.MaxFinite()
		default:
			x[i] = m - gap*(1+r.Float64())
		}
	}
	return x
}

// TestTiedMaximaMatchesZiv requires that Softmax gives every entry the same Value, bit for bit,
// with tiedMaxima as without it (Ziv's loop), on rows whose maximum is repeated k times over
// entries from 20 to 2^128 below it, in the three formats of the fast path; that tiedMaxima,
// called on the maxima that reached Ziv's loop, decided those of the rows whose other entries
// are negligible (gap ≥ 100) with the loop's Values, and that it declined where they are not
// (gap 20: the enclosure of k + s moves off k).
func TestTiedMaximaMatchesZiv(t *testing.T) {
	defer func() { noTied = false }()
	r := rand.New(rand.NewPCG(23, 24))
	decided, declined := 0, 0
	for _, f := range []fp.Format{fp.FP16, fp.BF16, fp.FP32} {
		for _, n := range []int{2, 7, 32, 300} {
			for k := 1; k <= n; k *= 2 {
				for _, gap := range []float64{20, 50, 54, 58, 100, 1e5, 0x1p127} {
					for _, m := range []float64{0, 3.5, -1e4, f.MaxFinite()} {
						x := tiedRow(f, n, k, m, gap, r)
						noTied = true
						want, err := Softmax(f, x, fp.MaskNaN)
						if err != nil {
							t.Fatalf("%v without tiedMaxima: %v\nx = %v", f, err, x)
						}
						noTied = false
						got, err := Softmax(f, x, fp.MaskNaN)
						if err != nil {
							t.Fatalf("%v: %v\nx = %v", f, err, x)
						}
						var maxima []int // the maxima decided by Ziv's loop
						near := false    // an entry lies within 2·gap of the maximum
						for i := range x {
							near = near || x[i] != m && x[i] >= m-2*gap
							if !sameValue(got[i], want[i]) {
								t.Fatalf("%v k=%d gap=%g entry %d: with tiedMaxima %+v, Ziv's loop %+v\nx = %v", f, k, gap, i, got[i], want[i], x)
							}
							if x[i] == m && want[i].kind == kindBig {
								maxima = append(maxima, i)
							}
						}
						fi, _ := newFmtInfo(f)
						out := make([]Value, n)
						ri := analyze(x)
						ok := len(maxima) == k && tiedMaxima(fi, x, ri, out, maxima)
						switch {
						case ok:
							decided++
							for _, i := range maxima {
								if !sameValue(out[i], want[i]) {
									t.Fatalf("%v k=%d gap=%g entry %d: tiedMaxima %+v, Ziv's loop %+v", f, k, gap, i, out[i], want[i])
								}
							}
						case gap >= 100 && k >= 2 && !ri.allEqual && math.Ldexp(1, -bitsLen(k)+1) > f.MinNormal() && len(maxima) == k:
							t.Errorf("%v n=%d k=%d gap=%g: tiedMaxima declined a row of negligible other entries", f, n, k, gap)
						case gap == 20 && k >= 2 && near:
							declined++
						}
						if gap == 20 && near && ok {
							t.Errorf("%v n=%d k=%d: tiedMaxima decided a row whose other entries are e^−20 below", f, n, k)
						}
					}
				}
			}
		}
	}
	if decided == 0 || declined == 0 {
		t.Errorf("tiedMaxima decided %d rows and declined %d: the test does not exercise both", decided, declined)
	}
	t.Logf("tiedMaxima decided %d rows, declined %d", decided, declined)
}
