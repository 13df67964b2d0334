package main

import (
	"context"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/ulpcheck/ulpcheck/kernels"
	"github.com/ulpcheck/ulpcheck/properties"
	"github.com/ulpcheck/ulpcheck/reports"
)

// benchCampaign returns a campaign over the named bundled kernels with rows of at most maxLen
// elements, without shrinking (the benchmarks measure judging, the part that scales with -cases).
func benchCampaign(b *testing.B, names string, cases int64, workers, maxLen int) *campaign {
	ks, err := selectKernels(kernels.Bundled(), names, "all", "all")
	if err != nil {
		b.Fatal(err)
	}
	return &campaign{Kernels: ks, Cases: cases, Seed: 1, Shard: reports.Unsharded(), Workers: workers,
		MaxLen: maxLen, Opts: []properties.Option{properties.WithTolerance(properties.Condition(properties.DefaultSafety))}}
}

// runBench runs c once and returns its wall time; the campaign must judge every case.
func runBench(b *testing.B, c *campaign) time.Duration {
	t0 := time.Now()
	r, err := c.run(context.Background(), nil)
	d := time.Since(t0)
	if err != nil {
		b.Fatal(err)
	}
	if want := c.Cases * int64(len(c.Kernels)); r.Cases != want {
		b.Fatalf("%d cases judged, want %d", r.Cases, want)
	}
	return d
}

// BenchmarkCampaign measures a campaign's cases per second on one worker with rows of at most 32
// elements (fuzz run -maxlen 32 -workers 1 -noshrink), for the shifted fp32 softmax alone (2,000
// cases) and for the twelve kernels of TestPinnedReport (400 cases each); and, in the same loop,
// the same campaign on two workers, reported as the ratio of the two rates (2 is linear scaling
// on two cores). The softmax campaign is the longer because its cases are the cheaper: at 400
// cases it lasts about 8 ms on one worker, and the start of its workers weighs in the ratio. The
// collector runs at fuzz run's GOGC of 400.
func BenchmarkCampaign(b *testing.B) {
	defer debug.SetGCPercent(debug.SetGCPercent(400)) // as fuzz run sets it
	for _, tc := range []struct {
		name, kernels string
		cases         int64
	}{
		{"softmax-shifted-fp32", "softmax/shifted/fp32", 2000},
		{"pin-mix", pinKernels, 400},
	} {
		b.Run(tc.name+"/maxlen=32", func(b *testing.B) {
			cases := tc.cases
			n := int64(strings.Count(tc.kernels, ",") + 1)
			var t1, t2 time.Duration
			for b.Loop() {
				t1 += runBench(b, benchCampaign(b, tc.kernels, cases, 1, 32))
				t2 += runBench(b, benchCampaign(b, tc.kernels, cases, 2, 32))
			}
			judged := float64(int64(b.N) * cases * n)
			b.ReportMetric(judged/t1.Seconds(), "cases/s-1worker")
			b.ReportMetric(judged/t2.Seconds(), "cases/s-2workers")
			b.ReportMetric(t1.Seconds()/t2.Seconds(), "2workers/1worker")
		})
	}
}
