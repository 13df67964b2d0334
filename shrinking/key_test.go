package shrinking

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ulpcheck/ulpcheck/fp"
)

// TestKeyMatchesString requires the shrinker's memo key to tell two cases apart exactly when
// their text forms differ, over pairs drawn from a small space so that most pairs collide in
// some field: two formats, shapes, nil against empty slices, −0 against +0, NaN payloads,
// targets and params; and that both equal and different pairs occur.
func TestKeyMatchesString(t *testing.T) {
	r := rand.New(rand.NewPCG(51, 52))
	vals := []float64{0, math.Copysign(0, -1), 1, -2, math.Inf(1), fp.FP16.Decode(0x7e00), fp.FP16.Decode(0xfd01)}
	floats := func(n int) []float64 {
		switch r.IntN(4) {
		case 0:
			return nil
		case 1:
			return []float64{}
		}
		s := make([]float64, n)
		for i := range s {
			s[i] = vals[r.IntN(len(vals))]
		}
		return s
	}
	draw := func() Case {
		c := Case{Format: []fp.Format{fp.FP16, fp.FP32}[r.IntN(2)], Rows: 1 + r.IntN(2), Cols: 1 + r.IntN(2)}
		c.X, c.DY, c.Probs, c.Weights = floats(c.Rows*c.Cols), floats(c.Rows*c.Cols), floats(2), floats(c.Cols)
		if r.IntN(2) == 0 {
			c.Targets = []int{r.IntN(2) - 100, r.IntN(2)}[:r.IntN(3)]
		}
		switch r.IntN(3) {
		case 1:
			c.Params = map[string]string{"reduction": []string{"mean", "sum"}[r.IntN(2)]}
		case 2:
			c.Params = map[string]string{"a;b": "=", "a": ";b="}
		}
		return c
	}
	same, differ := 0, 0
	for range 20000 {
		a, b := draw(), draw()
		switch r.IntN(4) {
		case 0:
			b = a.Clone()
		case 1: // a near miss: one value, slice or param changed
			b = a.Clone()
			tweak(r, &b, vals)
		}
		byText := a.String() == b.String()
		if byKey := a.key() == b.key(); byKey != byText {
			t.Fatalf("keys equal %v, texts equal %v:\n%s\n%s", byKey, byText, a, b)
		}
		if byText {
			same++
		} else {
			differ++
		}
	}
	if same == 0 || differ == 0 {
		t.Fatalf("%d equal and %d different pairs; the test must see both", same, differ)
	}
}

// tweak changes one thing in c: a value of one of its slices (−0 for +0, another NaN payload…),
// an empty slice for a nil one or back, a target, or a param.
func tweak(r *rand.Rand, c *Case, vals []float64) {
	slices := []*[]float64{&c.X, &c.DY, &c.Probs, &c.Weights}
	switch r.IntN(4) {
	case 0, 1:
		s := slices[r.IntN(len(slices))]
		if len(*s) > 0 {
			(*s)[r.IntN(len(*s))] = vals[r.IntN(len(vals))]
		}
	case 2:
		s := slices[r.IntN(len(slices))]
		if *s == nil {
			*s = []float64{}
		} else if len(*s) == 0 {
			*s = nil
		}
	default:
		if len(c.Targets) > 0 {
			c.Targets[0]++
		} else {
			c.Params = map[string]string{"reduction": "none"}
		}
	}
}
