package reports

import (
	"bytes"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func jsonBytes(t *testing.T, r *Report) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := WriteJSON(&b, r.WithoutTiming()); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestMergeShardsEqualsUnsharded: three shards, each run by two workers, merged in two orders,
// give byte for byte the JSON of one unsharded single-worker run of the same seed and cases. The
// case count is large enough that the scatter sample and the example choice are exercised.
func TestMergeShardsEqualsUnsharded(t *testing.T) {
	const seed, n = 42, 3000
	whole, err := synthRun(seed, n, 0, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	var shards []*Report
	for s := 0; s < 3; s++ {
		r, err := synthRun(seed, n, s, 3, 2)
		if err != nil {
			t.Fatal(err)
		}
		shards = append(shards, r)
	}
	want := jsonBytes(t, whole)
	for _, order := range [][]int{{0, 1, 2}, {2, 0, 1}} {
		var rs []*Report
		for _, i := range order {
			rs = append(rs, shards[i])
		}
		m, err := Merge(rs...)
		if err != nil {
			t.Fatal(err)
		}
		if got := jsonBytes(t, m); !bytes.Equal(got, want) {
			t.Errorf("merge of shards %v differs from the unsharded run (-unsharded +merged):\n%s",
				order, cmp.Diff(string(want), string(got)))
		}
	}
	// A tree merge (two shards, then the third) is the same.
	ab, err := Merge(shards[0], shards[1])
	if err != nil {
		t.Fatal(err)
	}
	if ab.Shard.N != 3 || len(ab.Shard.I) != 2 {
		t.Errorf("partial merge shard = %+v, want n 3, i [0 1]", ab.Shard)
	}
	abc, err := Merge(ab, shards[2])
	if err != nil {
		t.Fatal(err)
	}
	if got := jsonBytes(t, abc); !bytes.Equal(got, want) {
		t.Errorf("tree merge differs from the unsharded run:\n%s", cmp.Diff(string(want), string(got)))
	}
	// The test must exercise sampling and example selection.
	c := &whole.Cells[0]
	if c.Cases != n || len(c.Points) >= n || len(c.Points) < SampleSmallestHash {
		t.Errorf("cell %v: %d cases, %d points; want %d cases and a sample of at least %d, fewer than all",
			c.Key, c.Cases, len(c.Points), n, SampleSmallestHash)
	}
	// Examples are the failures with the smallest case index per class: found by brute force.
	// (The Worst example is checked below.)
	for _, cl := range whole.Cells {
		for _, ex := range cl.Examples {
			if ex.Worst {
				continue
			}
			for i := int64(0); i < ex.Case; i++ {
				a := NewAccumulator(synthMeta(seed, Unsharded()))
				synthObserve(a, seed, i)
				for _, c2 := range a.Report().Cells {
					if c2.Key == cl.Key && c2.ByClass[ex.Class] > 0 {
						t.Fatalf("%v: example for %s is case %d, but case %d fails with it", cl.Key, ex.Class, ex.Case, i)
					}
				}
			}
		}
	}
}

// TestWorstIsLargestError checks the Worst example of every cell against a brute-force scan: the
// failing case with the largest ulp error, ties to the smallest case index.
func TestWorstIsLargestError(t *testing.T) {
	const seed, n = 11, 600
	a := NewAccumulator(synthMeta(seed, Unsharded()))
	for i := int64(0); i < n; i++ {
		synthObserve(a, seed, i)
	}
	for _, cl := range a.Report().Cells {
		var worst *Counterexample
		for j := range cl.Examples {
			if cl.Examples[j].Worst {
				worst = &cl.Examples[j]
			}
		}
		if cl.Failures == 0 || cl.Hist.Total() == 0 {
			if worst != nil {
				t.Errorf("%v: a worst example without measured failures", cl.Key)
			}
			continue
		}
		if worst == nil {
			t.Fatalf("%v: %d failures but no worst example", cl.Key, cl.Failures)
		}
		bestULP, bestCase := math.Inf(-1), int64(-1)
		for i := int64(0); i < n; i++ {
			b := NewAccumulator(synthMeta(seed, Unsharded()))
			synthObserve(b, seed, i)
			for _, c2 := range b.Report().Cells {
				if c2.Key != cl.Key || c2.Failures == 0 {
					continue
				}
				if u := float64(c2.MaxULP); u > bestULP {
					bestULP, bestCase = u, i
				}
			}
		}
		if worst.Case != bestCase {
			t.Errorf("%v: worst example is case %d (ulp %v), brute force says case %d (ulp %v)", cl.Key, worst.Case, float64(worst.ULP), bestCase, bestULP)
		}
	}
}

// TestMergeSynthetic merges hand-written reports and checks each rule of the merge semantics
// against values worked out by hand.
func TestMergeSynthetic(t *testing.T) {
	key := Key{Kernel: "k", Op: "softmax", Format: "fp16", Property: "accuracy"}
	mk := func(shard int, obs ...Observation) *Report {
		a := NewAccumulator(Meta{Version: "v", Seed: 7, Shard: Shard{N: 2, I: []int{shard}},
			Kernels: []KernelInfo{{Name: "k", Op: "softmax", In: "fp16", Out: "fp16"}}})
		a.AddCases(int64(len(obs)))
		for _, o := range obs {
			o.Key = key
			if o.XRange == 0 {
				o.XRange = 1
			}
			a.Add(o)
		}
		return a.Report()
	}
	ex := func(msg string) *Counterexample { return &Counterexample{Message: msg, Index: -1} }
	r0 := mk(0,
		Observation{Case: 0, ULP: 0.25, Bound: 1},
		Observation{Case: 2, ULP: 3, Bound: 1, Failed: true, Class: "precision", Example: ex("case 2")},
		Observation{Case: 4, ULP: math.NaN(), HarnessError: true})
	r1 := mk(1,
		Observation{Case: 1, ULP: 5, Bound: 1, Failed: true, Class: "precision", Example: ex("case 1")},
		Observation{Case: 3, ULP: math.Inf(1), Bound: 1, Failed: true, Class: "nan", Example: ex("case 3")},
		Observation{Case: 5, ULP: 0})
	m, err := Merge(r0, r1)
	if err != nil {
		t.Fatal(err)
	}
	if m.Shard.N != 1 || len(m.Shard.I) != 1 || m.Cases != 6 {
		t.Errorf("shard %+v cases %d, want unsharded and 6 cases", m.Shard, m.Cases)
	}
	c := m.Cells[0]
	checks := []struct {
		name      string
		got, want float64
		reason    string
	}{
		{"cases", float64(c.Cases), 6, "counts add"},
		{"failures", float64(c.Failures), 3, "counts add"},
		{"precision", float64(c.ByClass["precision"]), 2, "class counts add"},
		{"nan", float64(c.ByClass["nan"]), 1, "class counts add"},
		{"harness errors", float64(c.HarnessErrors), 1, "counts add"},
		{"max", float64(c.MaxULP), math.Inf(1), "max of maxima; an infinite error is the max"},
		{"hist total", float64(c.Hist.Total()), 5, "the NaN (unmeasured) observation is not counted"},
		{"zeros", float64(c.Hist.Zero), 1, "bucketwise sum"},
		{"p50", float64(c.P50), 3.125, "errors 0, 0.25, 3, 5, Inf: rank ⌈0.5·5⌉ = 3 is 3, in the bucket [3, 3.125) of octave [2, 4)"},
		{"p99", float64(c.P99), math.Inf(1), "rank 5 is the Inf bucket"},
		{"examples", float64(len(c.Examples)), 3, "one per class, plus the worst (case 3, an infinite error)"},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("%s = %v, want %v (%s)", ck.name, ck.got, ck.want, ck.reason)
		}
	}
	if w := c.Examples[len(c.Examples)-1]; !w.Worst || w.Case != 3 || w.Message != "case 3" {
		t.Errorf("worst example = case %d %q (worst=%v), want case 3, the largest error", w.Case, w.Message, w.Worst)
	}
	if f := c.First(); f == nil || f.Case != 1 || f.Message != "case 1" || f.Class != "precision" {
		t.Errorf("first example %+v, want case 1 (the smaller precision failure)", f)
	}
	if len(c.Points) != 5 || c.Points[0].Case != 0 || c.Points[4].Case != 5 {
		t.Errorf("points %+v, want the 5 measured cases sorted by case", c.Points)
	}
	// Merge is order independent.
	m2, _ := Merge(r1, r0)
	if !bytes.Equal(jsonBytes(t, m), jsonBytes(t, m2)) {
		t.Error("Merge(r0, r1) and Merge(r1, r0) differ")
	}
	// Errors.
	bad := func(mut func(r *Report)) *Report {
		var b bytes.Buffer
		WriteJSON(&b, r1)
		r, _ := ReadJSON(&b)
		mut(r)
		return r
	}
	for _, tc := range []struct {
		r      *Report
		reason string
	}{
		{bad(func(r *Report) { r.Seed = 8 }), "another seed"},
		{bad(func(r *Report) { r.Version = "w" }), "another harness version"},
		{bad(func(r *Report) { r.Kernels[0].Algorithm = "online" }), "kernel declared differently"},
		{bad(func(r *Report) { r.Config = map[string]string{"x": "y"} }), "another config"},
		{bad(func(r *Report) { r.Shard.N = 3 }), "another shard count"},
		{bad(func(r *Report) { r.Schema = "ulpcheck.report/v0" }), "another schema"},
	} {
		if _, err := Merge(r0, tc.r); err == nil {
			t.Errorf("%s: Merge succeeded, want an error", tc.reason)
		}
	}
	if _, err := Merge(r0, r1, mk(0)); err == nil {
		t.Error("shard 0 twice among reports of different shards: Merge succeeded, want an error")
	}
	if w, err := Merge(r0, mk(0, Observation{Case: 6, ULP: 1})); err != nil || w.Shard.N != 2 || w.Shard.I[0] != 0 {
		t.Errorf("two workers of shard 0: %v, shard %+v; want shard 0 of 2", err, w.Shard)
	}
	rc := bad(func(r *Report) { r.Cells[0].BoundCurve = []XY{{1, 2}} })
	rd := bad(func(r *Report) { r.Cells[0].BoundCurve = []XY{{1, 3}} })
	if _, err := Merge(rc, r0); err != nil {
		t.Errorf("a bound curve on one side only: %v", err)
	}
	rc.Shard.I, rd.Shard.I = []int{0}, []int{1}
	if _, err := Merge(rc, rd); err == nil {
		t.Error("two different bound curves: Merge succeeded, want an error")
	}
	if _, err := Merge(); err == nil {
		t.Error("Merge(): no error")
	}
}

// BenchmarkAccumulatorAdd measures the cost of one observation in a campaign worker.
func BenchmarkAccumulatorAdd(b *testing.B) {
	a := NewAccumulator(synthMeta(1, Unsharded()))
	key := Key{Kernel: "k", Op: "softmax", Format: "fp32", Property: "accuracy"}
	i := int64(0)
	for b.Loop() {
		u := synthUniform(1, i, 2)
		a.Add(Observation{Key: key, Case: i, ULP: math.Exp2(-8 + 14*u), XRange: 40 * u, Bound: 3, N: 8})
		i++
	}
}
