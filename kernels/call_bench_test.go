package kernels

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkCall measures what the checked call adds to a kernel: the same fp32 softmax row
// through k.Fn directly, through Kernel.Call inline (input copy, output checks: Kernel.Returns,
// as for every bundled kernel) and through Kernel.Call on a runner goroutine under its watchdog,
// interleaved in one loop so that all three see the same machine load; it reports each cost per
// call and the ratios to the direct call.
func BenchmarkCall(b *testing.B) {
	k, ok := Lookup("softmax/shifted/fp32")
	if !ok {
		b.Fatal("no softmax/shifted/fp32")
	}
	for _, n := range []int{32, 1024} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			x := make([]float64, n)
			for i := range x {
				x[i] = float64(float32(i%17) / 4)
			}
			a := &Args{Rows: 1, Cols: n, X: x}
			ctx := context.Background()
			guarded := *k
			guarded.Returns = false
			var direct, inline, runner time.Duration
			calls := 0
			for b.Loop() {
				t0 := time.Now()
				if _, err := k.Fn(ctx, a); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				if _, err := k.Call(ctx, a); err != nil {
					b.Fatal(err)
				}
				t2 := time.Now()
				if _, err := guarded.Call(ctx, a); err != nil {
					b.Fatal(err)
				}
				runner += time.Since(t2)
				inline += t2.Sub(t1)
				direct += t1.Sub(t0)
				calls++
			}
			per := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / float64(calls) }
			b.ReportMetric(per(direct), "direct-ns/call")
			b.ReportMetric(per(inline), "inline-ns/call")
			b.ReportMetric(per(runner), "runner-ns/call")
			b.ReportMetric(float64(inline)/float64(direct), "inline/direct")
			b.ReportMetric(float64(runner)/float64(direct), "runner/direct")
		})
	}
}
