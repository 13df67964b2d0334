package shrinking

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/ulpcheck/ulpcheck/fp"
)

// naiveSoftmax16 is a planted faulty kernel: the unshifted softmax evaluated in fp16 arithmetic,
// every exp, addition and division rounded to fp16. It returns one class per call:
// "nan" when an output is NaN (an exp overflowed: Inf/Inf), "overflow" when the sum alone
// overflowed (all outputs flushed to 0), "" otherwise.
func naiveSoftmax16(t testing.TB) Predicate {
	return func(c Case) (bool, string) {
		if err := c.Validate(); err != nil {
			t.Fatalf("predicate called with an invalid candidate: %v", err)
		}
		r := func(x float64) float64 { v, _ := fp.FP16.RoundFloat64(x); return v }
		class := ""
		for row := 0; row < c.Rows; row++ {
			x := c.X[row*c.Cols : (row+1)*c.Cols]
			e := make([]float64, len(x))
			sum := 0.0
			anyInf := false
			for i, v := range x {
				e[i] = r(math.Exp(v))
				anyInf = anyInf || math.IsInf(e[i], 1)
				sum = r(sum + e[i])
			}
			for i := range e {
				if y := r(e[i] / sum); math.IsNaN(y) {
					return true, "nan"
				}
			}
			if math.IsInf(sum, 1) && !anyInf {
				class = "overflow"
			}
		}
		return class != "", class
	}
}

// randomRow returns n fp16 values drawn uniformly from [lo, hi) and rounded to fp16.
func randomRow(rng *rand.Rand, f fp.Format, n int, lo, hi float64) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i], _ = f.RoundFloat64(lo + (hi-lo)*rng.Float64())
	}
	return x
}

// TestMinimizeOverflowRowToThreshold is the acceptance case: a 500-element fp16 row whose naive
// softmax is NaN (several exps overflow) shrinks to one element, the smallest fp16 value whose
// exp overflows: the successor of 11.0859375, the largest fp16 x with finite exp (NUMERICS §1).
func TestMinimizeOverflowRowToThreshold(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	c := Case{Format: fp.FP16, Rows: 1, Cols: 500, X: randomRow(rng, fp.FP16, 500, -20, 20)}
	got, st, err := Minimize(c, naiveSoftmax16(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := fp.FP16.Next(fp.FP16.Exp().LargestFinite) // 11.09375
	if got.Rows != 1 || got.Cols != 1 || got.X[0] != want {
		t.Fatalf("minimised to %s (X = %v), want 1x1 [%v (%#04x)]; %v",
			got, got.X, want, fp.FP16.Encode(want), st)
	}
	if st.Class != "nan" || st.Exhausted {
		t.Errorf("stats %+v: want class nan within budget", st)
	}
	t.Logf("%v; %d cache hits; %d accepted", st, st.CacheHits, st.Accepted)
}

// TestMinimizeKeepsClass starts from a row whose fp16 sum overflows while no single exp does
// ("overflow"); every simplification that would make one exp overflow turns the failure into
// "nan" and must be refused. The result must still be an "overflow" and be 1-minimal: checked
// here by brute force, independently of the shrinker.
func TestMinimizeKeepsClass(t *testing.T) {
	pred := naiveSoftmax16(t)
	x := make([]float64, 40)
	for i := range x {
		x[i] = 10 // e^10 ≈ 22026: three of them overflow the fp16 sum
	}
	x[7] = 11 // the largest exps are below the overflow threshold 11.09
	c := Case{Format: fp.FP16, Rows: 1, Cols: 40, X: x}
	got, st, err := Minimize(c, pred, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if failed, class := pred(got); !failed || class != "overflow" {
		t.Fatalf("result %s fails=%v class %q, want overflow", got, failed, class)
	}
	checkOneMinimal(t, pred, "overflow", got)
	if got.Cols != 2 && got.Cols != 3 {
		t.Errorf("result has %d columns; two or three exps near e^11 are needed to overflow 65504", got.Cols)
	}
	t.Logf("%v: X = %v", st, got.X)
}

// checkOneMinimal asserts that removing any row or column, or moving any X value one step toward
// zero in its format, makes pred pass or change class.
func checkOneMinimal(t *testing.T, pred Predicate, class string, c Case) {
	t.Helper()
	same := func(d Case) bool { f, cl := pred(d); return f && cl == class }
	if c.Cols > 1 {
		for j := 0; j < c.Cols; j++ {
			keep := slices.Delete(seq(c.Cols), j, j+1)
			if d, ok := selectCols(c, keep); ok && same(d) {
				t.Errorf("%s: dropping column %d still fails with %s", c, j, class)
			}
		}
	}
	if c.Rows > 1 {
		for i := 0; i < c.Rows; i++ {
			if same(selectRows(c, slices.Delete(seq(c.Rows), i, i+1))) {
				t.Errorf("%s: dropping row %d still fails with %s", c, i, class)
			}
		}
	}
	for i, v := range c.X {
		if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		d := c.Clone()
		if v > 0 {
			d.X[i] = c.Format.Prev(v)
		} else {
			d.X[i] = c.Format.Next(v)
		}
		if same(d) {
			t.Errorf("%s: X[%d] = %v → %v still fails with %s", c, i, v, d.X[i], class)
		}
	}
}

// TestMinimizeRowsAndInfinities plants a fully masked row (all −Inf) at row 13 of a 20×8 fp32
// batch, for a kernel that fails ("masking") on such rows. The minimum is one row of one −Inf:
// the −Inf must survive (replacing it by 0 unmasks the row).
func TestMinimizeRowsAndInfinities(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	x := randomRow(rng, fp.FP32, 160, -5, 5)
	for j := 0; j < 8; j++ {
		x[13*8+j] = math.Inf(-1)
	}
	pred := func(c Case) (bool, string) {
		for r := 0; r < c.Rows; r++ {
			masked := true
			for _, v := range c.X[r*c.Cols : (r+1)*c.Cols] {
				masked = masked && math.IsInf(v, -1)
			}
			if masked {
				return true, "masking"
			}
		}
		return false, ""
	}
	got, st, err := Minimize(Case{Format: fp.FP32, Rows: 20, Cols: 8, X: x}, pred, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Rows != 1 || got.Cols != 1 || !math.IsInf(got.X[0], -1) {
		t.Fatalf("minimised to %s, want 1x1 [-Inf]; %v", got, st)
	}
}

// TestMinimizeTargetsAndWeights uses a cross-entropy-like predicate that fails ("precision")
// when some row's target logit is below −30. Columns carrying a target must not be dropped,
// targets are renumbered, weights follow their column. The minimum is one row, one column,
// target 0 and the fp32 value just below −30 (−30 − 2^−19), weight 0 (the weight is unused).
func TestMinimizeTargetsAndWeights(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const rows, cols = 6, 12
	x := randomRow(rng, fp.FP32, rows*cols, -10, 10)
	x[4*cols+9] = -1000
	targets := []int{3, 0, 11, -100, 9, 2}
	w := randomRow(rng, fp.FP32, cols, 0.5, 2)
	pred := func(c Case) (bool, string) {
		if err := c.Validate(); err != nil {
			t.Fatalf("invalid candidate: %v", err)
		}
		for r, tg := range c.Targets {
			if tg >= 0 && c.X[r*c.Cols+tg] < -30 {
				return true, "precision"
			}
		}
		return false, ""
	}
	c := Case{Format: fp.FP32, Rows: rows, Cols: cols, X: x, Targets: targets, Weights: w,
		Params: map[string]string{"reduction": "mean"}}
	got, st, err := Minimize(c, pred, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := -(30 + math.Ldexp(1, -19))
	if got.Rows != 1 || got.Cols != 1 || got.X[0] != want || got.Targets[0] != 0 ||
		len(got.Weights) != 1 || got.Weights[0] != 0 || got.Params["reduction"] != "mean" {
		t.Fatalf("minimised to %s, want v1;fmt=fp32;shape=1x1 with X [%v] target 0 weight 0; %v", got, want, st)
	}
}

// TestMinimizeDeterministicAndBudget checks that two runs agree exactly and that a small budget
// stops early with a still-failing case.
func TestMinimizeDeterministicAndBudget(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	c := Case{Format: fp.FP16, Rows: 1, Cols: 300, X: randomRow(rng, fp.FP16, 300, -20, 20)}
	pred := naiveSoftmax16(t)
	a, sa, _ := Minimize(c, pred, Options{})
	b, sb, _ := Minimize(c, pred, Options{})
	if a.String() != b.String() || sa != sb {
		t.Errorf("two runs differ:\n%s %v\n%s %v", a, sa, b, sb)
	}
	small, ss, err := Minimize(c, pred, Options{MaxCalls: 5})
	if err != nil {
		t.Fatal(err)
	}
	if !ss.Exhausted || ss.Calls > 5 {
		t.Errorf("budget 5: stats %+v, want Exhausted and at most 5 calls", ss)
	}
	if f, cl := pred(small); !f || cl != "nan" {
		t.Errorf("budget-limited result %s does not fail with nan", small)
	}
	if _, _, err := Minimize(Case{Format: fp.FP16, Rows: 1, Cols: 1, X: []float64{0}}, pred, Options{}); err == nil {
		t.Error("Minimize of a passing case: no error")
	}
}

// TestDdminFindsInteraction: the failure needs items 17 and 83 together; ddmin must return
// exactly them.
func TestDdminFindsInteraction(t *testing.T) {
	calls := 0
	got := ddmin(seq(100), 1, func(s []int) bool {
		calls++
		return slices.Contains(s, 17) && slices.Contains(s, 83)
	})
	if !slices.Equal(got, []int{17, 83}) {
		t.Fatalf("ddmin = %v, want [17 83]", got)
	}
	t.Logf("%d tests", calls)
}

func TestNiceCandidates(t *testing.T) {
	// 11.09375 = 0x1.63p+3 in fp16: truncations 8, 10, 11, 11.0625, …; significand at exponent 0.
	got := niceCandidates(fp.FP16, -11.09375)
	for i, v := range got {
		if v >= 0 || -v >= 11.09375 || !fp.FP16.Contains(v) || (i > 0 && -v <= -got[i-1]) {
			t.Errorf("candidate %d = %v (%x): want negative, smaller magnitude, in fp16, increasing magnitude", i, v, v)
		}
	}
	if len(got) == 0 || got[0] != -1.38671875 {
		t.Errorf("first candidate %v, want -1.38671875 (the significand of 11.09375 at exponent 0)", got)
	}
}

// BenchmarkMinimizeOverflowRow measures the acceptance case; calls/op is the number of predicate
// calls, the figure that matters when the predicate runs a kernel and the oracle.
func BenchmarkMinimizeOverflowRow(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	c := Case{Format: fp.FP16, Rows: 1, Cols: 500, X: randomRow(rng, fp.FP16, 500, -20, 20)}
	pred := naiveSoftmax16(b)
	var st Stats
	for b.Loop() {
		_, st, _ = Minimize(c, pred, Options{})
	}
	b.ReportMetric(float64(st.Calls), "calls/op")
}

// stalledSum16 is a planted faulty reduction: the softmax denominator Σ e^(x−max) accumulated in
// fp16, which stalls once the sum reaches 2048 (2048 + 1 rounds back to 2048). It fails, class
// "precision", when that sum is more than 0.1% below the float64 one.
func stalledSum16(t testing.TB) Predicate {
	return func(c Case) (bool, string) {
		if err := c.Validate(); err != nil {
			t.Fatalf("predicate called with an invalid candidate: %v", err)
		}
		m := math.Inf(-1)
		for _, v := range c.X {
			m = math.Max(m, v)
		}
		s16, s64 := 0.0, 0.0
		for _, v := range c.X {
			e := math.Exp(v - m)
			s16, _ = fp.FP16.RoundFloat64(s16 + e)
			s64 += e
		}
		if s64-s16 > 1e-3*s64 {
			return true, "precision"
		}
		return false, ""
	}
}

// TestMinimizeLongRow: a 4096-element fp16 row of distinct values just above 0 (subnormals, each
// e^x rounds to 1) fails because its fp16 sum stalls at 2048; the smallest failing prefix has 2051
// elements. The prefix and suffix bisection finds that length in a few dozen calls, where delta
// debugging alone, starting from halves and quarters, is still far from it after 60; with the
// campaign's budget the result is 1-minimal under removing any one element, checked by brute force.
func TestMinimizeLongRow(t *testing.T) {
	x := make([]float64, 4096)
	for i := range x {
		x[i] = fp.FP16.Decode(uint64(i + 1)) // i+1 times the smallest subnormal
	}
	c := Case{Format: fp.FP16, Rows: 1, Cols: len(x), X: x}
	pred := stalledSum16(t)
	quick, qs, err := Minimize(c, pred, Options{KeepValues: true, MaxCalls: 60})
	if err != nil {
		t.Fatal(err)
	}
	if quick.Cols > 2100 {
		t.Errorf("60 calls: shrunk to %d elements, want at most 2,100 (%v)", quick.Cols, qs)
	}
	got, st, err := Minimize(c, pred, Options{MaxCalls: 1500 + 3*(c.Rows+c.Cols)}) // cmd/fuzz's budget
	if err != nil {
		t.Fatal(err)
	}
	if st.Exhausted {
		t.Errorf("budget exhausted: %v", st)
	}
	if got.Cols > 2100 {
		t.Errorf("shrunk to %d elements, want at most 2,100", got.Cols)
	}
	if f, cl := pred(got); !f || cl != "precision" {
		t.Fatalf("result %dx%d does not fail", got.Rows, got.Cols)
	}
	for j := range got.Cols {
		d, _ := selectCols(got, slices.Delete(seq(got.Cols), j, j+1))
		if f, _ := pred(d); f {
			t.Fatalf("not 1-minimal: removing element %d of %d still fails", j, got.Cols)
		}
	}
	t.Logf("60 calls: %v; campaign budget: %v, %d cache hits", qs, st, st.CacheHits)
}
