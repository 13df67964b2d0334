package reports

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestBucketEdges checks BucketIndex at both ends of every bucket: lo(b) is in b, the float64
// just below hi(b) is in b, and hi(b) is in b+1.
func TestBucketEdges(t *testing.T) {
	n := HistSub * (HistMaxExp - HistMinExp)
	for b := 0; b < n; b++ {
		lo, hi := BucketBounds(b)
		if got, ok := BucketIndex(lo); !ok || got != b {
			t.Fatalf("BucketIndex(lo(%d) = %v) = %d, %v", b, lo, got, ok)
		}
		if got, ok := BucketIndex(math.Nextafter(hi, 0)); !ok || got != b {
			t.Fatalf("BucketIndex(just below hi(%d) = %v) = %d, %v", b, hi, got, ok)
		}
		if b+1 < n {
			if got, _ := BucketIndex(hi); got != b+1 {
				t.Fatalf("BucketIndex(hi(%d) = %v) = %d, want %d", b, hi, got, b+1)
			}
		}
		if r := hi / lo; r > 17.0/16 {
			t.Fatalf("bucket %d: hi/lo = %v > 17/16", b, r)
		}
	}
	for _, e := range []float64{0, math.Ldexp(1, HistMinExp) * 0.999, math.Ldexp(1, HistMaxExp), math.Inf(1), math.NaN()} {
		if _, ok := BucketIndex(e); ok {
			t.Errorf("BucketIndex(%v) ok, want outside the bucketed range", e)
		}
	}
}

// TestQuantileBounds: for random samples (zeros, tiny, ordinary, huge and infinite errors), the
// histogram quantile is an upper bound within a factor 17/16 of the exact nearest-rank
// quantile of the sorted sample, and equals it at 0, Inf and the maximum.
func TestQuantileBounds(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for trial := 0; trial < 200; trial++ {
		n := 1 + rng.IntN(300)
		var h Histogram
		xs := make([]float64, n)
		max := math.Inf(-1)
		for i := range xs {
			switch u := rng.Float64(); {
			case u < 0.1:
				xs[i] = 0
			case u < 0.12:
				xs[i] = math.Ldexp(rng.Float64(), HistMinExp-3)
			case u < 0.14:
				xs[i] = math.Ldexp(1+rng.Float64(), HistMaxExp+2)
			case u < 0.15:
				xs[i] = math.Inf(1)
			default:
				xs[i] = math.Exp2(-10 + 30*rng.Float64())
			}
			h.Add(xs[i])
			max = math.Max(max, xs[i])
		}
		slices.Sort(xs)
		for _, q := range []float64{0.01, 0.5, 0.9, 0.99, 1} {
			exact := xs[int(math.Ceil(q*float64(n)))-1]
			got := h.Quantile(q, max)
			ok := got >= exact && (got <= exact*17/16 || exact < math.Ldexp(1, HistMinExp) || exact >= math.Ldexp(1, HistMaxExp))
			if exact == 0 || math.IsInf(exact, 1) || exact == max {
				ok = got == exact
			}
			if !ok {
				t.Fatalf("trial %d, n %d: Quantile(%v) = %v, exact nearest-rank %v (max %v)", trial, n, q, got, exact, max)
			}
		}
	}
	var empty Histogram
	if q := empty.Quantile(0.5, math.NaN()); !math.IsNaN(q) {
		t.Errorf("empty Quantile = %v, want NaN", q)
	}
}
