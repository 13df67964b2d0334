package generators

import (
	"math"
	"os"
	"slices"
	"testing"

	"github.com/ulpcheck/ulpcheck/fp"
)

// freqDraws is the number of draws of a frequency test: 10,000, or 2,000 under -short (the
// bands widen with 1/√N, so the test keeps its false-alarm rate).
func freqDraws() int {
	if testing.Short() {
		return 2000
	}
	return 10000
}

// band returns the interval in which the observed share of a class of probability p lies
// except with probability below 6e-7 per class: p ± 5σ, σ = √(p(1−p)/n) (binomial).
func band(p float64, n int) (lo, hi float64) {
	s := 5 * math.Sqrt(p*(1-p)/float64(n))
	return p - s, p + s
}

// TestRowClassFrequencies draws rows with the default weights (seeds 0 … N−1, so the test is
// deterministic) and checks every class's share against the share its weight configures, and
// the content bands that matter most (NUMERICS §5; issue 3's acceptance).
func TestRowClassFrequencies(t *testing.T) {
	content := []struct {
		name   string
		min    float64
		has    func(f fp.Format, x []float64) bool
		reason string
	}{
		{"subnormal-bearing", 0.05, func(f fp.Format, x []float64) bool {
			return countIf(x, func(v float64) bool { return isSubnormal(f, v) }) > 0
		}, "underflow of inputs and outputs is where fp16 kernels flush"},
		{"NaN-bearing", 0.02, func(_ fp.Format, x []float64) bool { return countIf(x, math.IsNaN) > 0 },
			"a kernel must propagate NaN, not hide it"},
		{"fully masked", 0.02, func(_ fp.Format, x []float64) bool {
			return len(x) > 0 && countIf(x, func(v float64) bool { return math.IsInf(v, -1) }) == len(x)
		}, "the masking policy (NaN or zero) must be the declared one"},
		{"−Inf-bearing, not fully", 0.08, func(_ fp.Format, x []float64) bool {
			k := countIf(x, func(v float64) bool { return math.IsInf(v, -1) })
			return k > 0 && k < len(x)
		}, "masked entries must get exactly 0 weight"},
		{"+Inf-bearing", 0.02, func(_ fp.Format, x []float64) bool {
			return countIf(x, func(v float64) bool { return math.IsInf(v, 1) }) > 0
		}, "softmax of a row with +Inf is NaN, LSE +Inf"},
		{"long (n ≥ 1023)", 0.10, func(_ fp.Format, x []float64) bool { return len(x) >= 1023 },
			"block boundaries and accumulation saturation need long rows"},
		{"exp overflows (x_max above the threshold)", 0.10, func(f fp.Format, x []float64) bool {
			return countIf(x, func(v float64) bool { return v > f.Exp().Overflow && !math.IsInf(v, 0) }) > 0
		}, "the naive softmax overflows on these"},
	}
	for _, f := range []fp.Format{fp.FP16, fp.FP32} {
		g := Row(f)
		rg := newRowGen(f, newConfig(nil), func(Class) bool { return true })
		n := freqDraws()
		counts := map[Class]int{}
		hits := make([]int, len(content))
		for i := range n {
			c := g.Example(int(mix(uint64(i)) >> 1))
			counts[c.Class]++
			for k, b := range content {
				if b.has(f, c.X) {
					hits[k]++
				}
			}
		}
		for _, c := range rowOrder {
			p := rg.rows.share(c)
			got := float64(counts[c]) / float64(n)
			lo, hi := band(p, n)
			if got < lo || got > hi {
				t.Errorf("%s: class %s drawn %.4f of %d draws, want within [%.4f, %.4f] (weight share %.4f)", f, c, got, n, lo, hi, p)
			}
		}
		for k, b := range content {
			got := float64(hits[k]) / float64(n)
			if got < b.min {
				t.Errorf("%s: %s rows are %.4f of %d draws, want ≥ %.2f (%s)", f, b.name, got, n, b.min, b.reason)
			}
			t.Logf("%s: %s rows: %.2f%% (band ≥ %.0f%%)", f, b.name, 100*got, 100*b.min)
		}
	}
}

// TestScalarClassFrequencies checks every scalar class's share in every format.
func TestScalarClassFrequencies(t *testing.T) {
	for _, f := range fp.Formats() {
		g := Scalar(f)
		p := newPicker("scalar", scalarOrder, DefaultWeights(), formatAllows(f))
		n := freqDraws()
		counts := map[Class]int{}
		for i := range n {
			counts[g.Example(int(mix(uint64(i))>>1)).Class]++
		}
		for _, c := range scalarOrder {
			got := float64(counts[c]) / float64(n)
			lo, hi := band(p.share(c), n)
			if got < lo || got > hi {
				t.Errorf("%s: class %s drawn %.4f of %d draws, want within [%.4f, %.4f]", f, c, got, n, lo, hi)
			}
		}
	}
}

// TestPickerShares checks the quantisation of weights: every share is the weight's share of
// its family to within one slot (1/4096), and disabled classes get 0.
func TestPickerShares(t *testing.T) {
	w := DefaultWeights()
	for _, f := range fp.Formats() {
		p := newPicker("row", rowOrder, w, formatAllows(f))
		total, sum := 0.0, 0.0
		for _, c := range rowOrder {
			if formatAllows(f)(c) {
				total += w[c]
			}
		}
		for _, c := range rowOrder {
			want := 0.0
			if formatAllows(f)(c) {
				want = w[c] / total
			}
			got := p.share(c)
			sum += got
			if math.Abs(got-want) > 1.0/(1<<pickBits) {
				t.Errorf("%s: share of %s = %v, want %v to within 1/4096", f, c, got, want)
			}
		}
		if sum != 1 {
			t.Errorf("%s: shares sum to %v, want 1", f, sum)
		}
	}
}

// TestDistributionTable prints the Markdown tables of the default distribution (fp16 rows,
// fp32 gradients scaled into fp16) and checks that every class is described; with
// GENERATORS_TABLE=path it also writes it there (the README's table comes from here).
func TestDistributionTable(t *testing.T) {
	s := DistributionTable(fp.FP16) + "\n" + GradDistributionTable(fp.FP32)
	for _, c := range slices.Concat(scalarOrder, rowOrder, lenOrder, dyOrder, ceOrder, stepOrder, streamOrder) {
		if c.Doc() == "" {
			t.Errorf("class %s has no description", c)
		}
	}
	if path := os.Getenv("GENERATORS_TABLE"); path != "" {
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	t.Log("\n" + s)
}

// mix is SplitMix64's finaliser: it turns the draw index into a well-spread seed, since
// rapid's generator started from neighbouring small seeds gives correlated first outputs.
func mix(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
