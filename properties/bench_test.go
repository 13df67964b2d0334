package properties

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/ulpcheck/ulpcheck/generators"
	"github.com/ulpcheck/ulpcheck/kernels"
)

// benchMix is the kernel mix of the throughput benchmarks: one kernel of each row operation in
// several formats, as a campaign interleaves them.
var benchMix = []string{
	"softmax/shifted/fp16", "softmax/shifted/fp32", "logsoftmax/shifted/bf16", "logsoftmax/shifted/fp32",
	"lse/shifted/fp16", "lse/shifted/fp32", "ce/fused/fp32", "cegrad/fp16",
}

// benchCase is one kernel with the generator of its cases.
type benchCase struct {
	k   *kernels.Kernel
	gen interface{ Example(...int) generators.Case }
}

func benchCases(b *testing.B, names []string, opts ...generators.Option) []benchCase {
	var cs []benchCase
	for _, name := range names {
		k, ok := kernels.Lookup(name)
		if !ok {
			b.Fatalf("no bundled kernel %s", name)
		}
		cs = append(cs, benchCase{k, CaseGen(k, WithGenerators(opts...))})
	}
	return cs
}

// mallocs returns the number of heap allocations so far.
func mallocs() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.Mallocs
}

// BenchmarkCheck measures what one rapid.Check case costs: cases per second, allocations per
// case, and the share of the time spent generating cases, in the kernel (all its calls: the case
// and the metamorphic variants) and in the oracle; the rest is the properties themselves. Cases
// are drawn with Example(seed) as rapid.Check would draw them, and judged as Check judges them.
//
// The sub-benchmarks: the shifted fp32 softmax on one-row cases of exactly n elements
// (n=32, n=1024) and on Check's own cases with rows of at most 32 elements (maxlen=32), and the
// kernel mix benchMix on the latter. Those named -flat draw their cases as a campaign does,
// with generators.Flat (the same cases, without the rapid T that a grouped draw allocates per
// element and row, which rapid.Check's shrinker needs).
func BenchmarkCheck(b *testing.B) {
	fp32 := []string{"softmax/shifted/fp32"}
	for _, tc := range []struct {
		name  string
		cases func(b *testing.B) []benchCase
	}{
		{"softmax-shifted-fp32/n=32", func(b *testing.B) []benchCase { return rowCases(b, fp32[0], 32) }},
		{"softmax-shifted-fp32-flat/n=32", func(b *testing.B) []benchCase { return rowCases(b, fp32[0], 32, generators.Flat()) }},
		{"softmax-shifted-fp32/n=1024", func(b *testing.B) []benchCase { return rowCases(b, fp32[0], 1024) }},
		{"softmax-shifted-fp32/maxlen=32", func(b *testing.B) []benchCase { return benchCases(b, fp32, generators.MaxLen(32)) }},
		{"softmax-shifted-fp32-flat/maxlen=32", func(b *testing.B) []benchCase {
			return benchCases(b, fp32, generators.MaxLen(32), generators.Flat())
		}},
		{"mix/maxlen=32", func(b *testing.B) []benchCase { return benchCases(b, benchMix, generators.MaxLen(32)) }},
		{"mix-flat/maxlen=32", func(b *testing.B) []benchCase {
			return benchCases(b, benchMix, generators.MaxLen(32), generators.Flat())
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			cs := tc.cases(b)
			cfg := newConfig(nil)
			var tgen, tker, tora time.Duration
			m0 := mallocs()
			start := time.Now()
			for i := 0; b.Loop(); i++ {
				bc := cs[i%len(cs)]
				t0 := time.Now()
				c := bc.gen.Example(i)
				tgen += time.Since(t0)
				v := evaluate(context.Background(), bc.k, c, cfg)
				tker += v.KernelTime
				tora += v.OracleTime
				if !v.OK() {
					b.Fatalf("false alarm:\n%s", v.Report())
				}
			}
			total := time.Since(start).Seconds()
			b.ReportMetric(float64(mallocs()-m0)/float64(b.N), "allocs/case")
			b.ReportMetric(float64(b.N)/total, "cases/s")
			b.ReportMetric(tgen.Seconds()/total, "gen-share")
			b.ReportMetric(tker.Seconds()/total, "kernel-share")
			b.ReportMetric(tora.Seconds()/total, "oracle-share")
		})
	}
}

func rowCases(b *testing.B, name string, n int, opts ...generators.Option) []benchCase {
	k, ok := kernels.Lookup(name)
	if !ok {
		b.Fatalf("no bundled kernel %s", name)
	}
	return []benchCase{{k, generators.Row(k.In, append([]generators.Option{generators.Lengths(n)}, opts...)...)}}
}

// BenchmarkCheckVsOpInfo runs, interleaved in one loop so that both see the same load, a Check
// case of the shifted fp32 softmax with rows of at most maxlen elements, and the test a PyTorch
// OpInfo-style suite would run on a case of the same shape: rows of uniform random logits in
// [−9, 9] (rounded to fp32), the kernel's function called directly, a float64 reference softmax,
// and an assert_close comparison with fp32's default rtol 1.3e-6 and atol 1e-5
// (|got − want| ≤ atol + rtol·|want|). It reports both rates and ulpcheck's as a ratio to the
// OpInfo loop's.
func BenchmarkCheckVsOpInfo(b *testing.B) {
	for _, maxLen := range []int{32, 1024} {
		b.Run(fmt.Sprintf("softmax-shifted-fp32/maxlen=%d", maxLen), func(b *testing.B) {
			bc := benchCases(b, []string{"softmax/shifted/fp32"}, generators.MaxLen(maxLen))[0]
			cfg := newConfig(nil)
			rng := rand.New(rand.NewPCG(1, 2))
			var tu, to time.Duration
			var mismatches int
			for i := 0; b.Loop(); i++ {
				t0 := time.Now()
				c := bc.gen.Example(i)
				v := evaluate(context.Background(), bc.k, c, cfg)
				tu += time.Since(t0)
				if !v.OK() {
					b.Fatalf("false alarm:\n%s", v.Report())
				}
				t0 = time.Now()
				mismatches += opInfoCase(bc.k, rng, c.Rows, c.Cols)
				to += time.Since(t0)
			}
			if mismatches > 0 {
				b.Fatalf("the OpInfo-style loop found %d mismatches in a correct kernel", mismatches)
			}
			b.ReportMetric(float64(b.N)/tu.Seconds(), "ulpcheck-cases/s")
			b.ReportMetric(float64(b.N)/to.Seconds(), "opinfo-cases/s")
			b.ReportMetric(to.Seconds()/tu.Seconds(), "ulpcheck/opinfo")
		})
	}
}

// opInfoCase is one OpInfo-style test of the softmax kernel k on a rows×cols case; it returns
// the number of elements outside assert_close's tolerance.
func opInfoCase(k *kernels.Kernel, rng *rand.Rand, rows, cols int) int {
	const rtol, atol = 1.3e-6, 1e-5
	x := make([]float64, rows*cols)
	for i := range x {
		x[i] = float64(float32(-9 + 18*rng.Float64()))
	}
	got, err := k.Fn(context.Background(), &kernels.Args{Rows: rows, Cols: cols, X: x})
	if err != nil {
		return len(x) + 1
	}
	bad := 0
	for r := range rows {
		row := x[r*cols : (r+1)*cols]
		m := math.Inf(-1)
		for _, v := range row {
			m = math.Max(m, v)
		}
		s := 0.0
		for _, v := range row {
			s += math.Exp(v - m)
		}
		for j, v := range row {
			want := math.Exp(v-m) / s
			if d := math.Abs(got[r*cols+j] - want); !(d <= atol+rtol*math.Abs(want)) {
				bad++
			}
		}
	}
	return bad
}
