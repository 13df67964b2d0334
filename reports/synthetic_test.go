package reports

import (
	"fmt"
	"math"

	"github.com/ulpcheck/ulpcheck/fp"
)

// A synthetic campaign: every observation is a pure function of (seed, case index), as in the
// real campaign, so that any partition of the case indices must merge to the unsharded report.

var synthKernels = []KernelInfo{
	{Name: "naive.softmax", Op: "softmax", In: "fp16", Out: "fp16", Algorithm: "unshifted", MaskPolicy: "nan", ExpectFail: true},
	{Name: "shifted.softmax", Op: "softmax", In: "fp32", Out: "fp32", Acc: "fp32", Algorithm: "shifted", MaskPolicy: "zero"},
}

func synthMeta(seed uint64, shard Shard) Meta {
	return Meta{Version: "test", Seed: seed, Shard: shard, Config: map[string]string{"cases": "n"}, Kernels: synthKernels}
}

// synthUniform returns a deterministic uniform number in [0, 1) for (seed, case, salt).
func synthUniform(seed uint64, i int64, salt uint64) float64 {
	return float64(splitmix64(seed^splitmix64(uint64(i)^salt*0x9e37))>>11) / (1 << 53)
}

// synthObserve feeds the observations of case i into a.
func synthObserve(a *Accumulator, seed uint64, i int64) {
	a.AddCases(1)
	for _, k := range synthKernels {
		f, _ := fp.ParseFormat(k.In)
		xr := 40 * synthUniform(seed, i, 1)
		bound := 2 + 0.5*xr
		var ulp float64
		switch u := synthUniform(seed, i, 2); {
		case u < 0.2:
			ulp = 0
		case k.ExpectFail && u > 0.97:
			ulp = math.Inf(1)
		default:
			ulp = math.Exp2(-8 + 14*synthUniform(seed, i, 3))
		}
		if k.ExpectFail {
			ulp *= 1 + xr // errors growing with the range
		}
		key := Key{Kernel: k.Name, Op: k.Op, Format: k.In, Property: "accuracy"}
		failed := ulp > bound
		class := ""
		if failed {
			class = "precision"
			if math.IsInf(ulp, 1) {
				class = "nan"
			}
		}
		o := Observation{Key: key, Case: i, Failed: failed, Class: class, ULP: ulp, XRange: xr, Bound: bound, N: 8}
		if failed && (a.Wants(key, class, i) || a.WantsWorst(key, ulp, i)) {
			x := []float64{xr, 0, -1, f.MinSubnormal()}
			for j := range x {
				x[j], _ = f.RoundFloat64(x[j])
			}
			out := f.NaN()
			if !math.IsInf(ulp, 1) {
				out = 0.25
			}
			o.Example = &Counterexample{Message: fmt.Sprintf("ulp error %v > %v", ulp, bound), Format: f.String(),
				Rows: 1, Cols: 4, X: NewNums(f, x), OutFormat: f.String(), Output: NewNums(f, []float64{out}),
				Oracle: NewNums(f, []float64{0.25}), Index: 0, ULP: Float(ulp), Bound: Float(bound),
				Input: "v1;fmt=" + f.String() + ";shape=1x4", Replay: "go run ./cmd/fuzz replay …", GoTest: "func TestX(t *testing.T) {}\n"}
		}
		a.Add(o)
		// A property that measures no error.
		nanKey := Key{Kernel: k.Name, Op: k.Op, Format: k.In, Property: "no-nan"}
		a.Add(Observation{Key: nanKey, Case: i, Failed: math.IsInf(ulp, 1), Class: map[bool]string{true: "nan"}[math.IsInf(ulp, 1)],
			ULP: math.NaN(), XRange: math.NaN(), Bound: math.NaN()})
		a.SetBound(key, []XY{{X: 0, Y: 2}, {X: 40, Y: 22}})
	}
}

// synthRun returns the report of the cases i in [0, n) with i%shards == shard, spread over
// `workers` accumulators (i/shards % workers) and merged.
func synthRun(seed uint64, n int64, shard, shards, workers int) (*Report, error) {
	sh := Shard{N: shards, I: []int{shard}}
	accs := make([]*Accumulator, workers)
	for w := range accs {
		accs[w] = NewAccumulator(synthMeta(seed, sh))
	}
	for i := int64(0); i < n; i++ {
		if int(i%int64(shards)) != shard {
			continue
		}
		synthObserve(accs[int(i/int64(shards))%workers], seed, i)
	}
	var rs []*Report
	for _, a := range accs {
		rs = append(rs, a.Report())
	}
	return Merge(rs...)
}
