package kernels

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkCall measures what the checked call adds to a kernel: the same fp32 softmax row
// through k.Fn directly and through Kernel.Call (runner goroutine, watchdog, input copy,
// output checks), interleaved in one loop so that both see the same machine load; it reports
// each cost per call and their ratio.
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
			var direct, checked time.Duration
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
				checked += time.Since(t1)
				direct += t1.Sub(t0)
				calls++
			}
			b.ReportMetric(float64(direct.Nanoseconds())/float64(calls), "direct-ns/call")
			b.ReportMetric(float64(checked.Nanoseconds())/float64(calls), "checked-ns/call")
			b.ReportMetric(float64(checked)/float64(direct), "checked/direct")
		})
	}
}
