package properties

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ulpcheck/ulpcheck/fp"
	"github.com/ulpcheck/ulpcheck/generators"
	"github.com/ulpcheck/ulpcheck/kernels"
)

// BenchmarkCheck measures the properties of the shifted fp32 softmax on rows of 32 and 1024
// adversarial elements: cases per second, and the share of the time spent generating cases, in
// the kernel (all its calls: the case and the metamorphic variants) and in the oracle; the rest
// is the properties themselves. Cases are drawn with Example(seed) as rapid.Check would draw them.
func BenchmarkCheck(b *testing.B) {
	k, _ := kernels.Lookup("softmax/shifted/fp32")
	for _, n := range []int{32, 1024} {
		b.Run(fmt.Sprintf("softmax-shifted-fp32/n=%d", n), func(b *testing.B) {
			gen := generators.Row(fp.FP32, generators.Lengths(n))
			cfg := newConfig(nil)
			var tgen, tker, tora time.Duration
			start := time.Now()
			for i := 0; b.Loop(); i++ {
				t0 := time.Now()
				c := gen.Example(i)
				tgen += time.Since(t0)
				v := evaluate(context.Background(), k, c, cfg)
				tker += v.KernelTime
				tora += v.OracleTime
				if !v.OK() {
					b.Fatalf("false alarm:\n%s", v.Report())
				}
			}
			total := time.Since(start).Seconds()
			b.ReportMetric(float64(b.N)/total, "cases/s")
			b.ReportMetric(tgen.Seconds()/total, "gen-share")
			b.ReportMetric(tker.Seconds()/total, "kernel-share")
			b.ReportMetric(tora.Seconds()/total, "oracle-share")
		})
	}
}
