package reports_test

import (
	"fmt"
	"math"

	"github.com/ulpcheck/ulpcheck/reports"
)

// Two shards of a campaign, each fed by its own accumulator, merge into the report of the whole.
func ExampleMerge() {
	key := reports.Key{Kernel: "naive.softmax", Op: "softmax", Format: "fp16", Property: "accuracy"}
	shard := func(i int, ulps ...float64) *reports.Report {
		a := reports.NewAccumulator(reports.Meta{Version: "dev", Seed: 1, Shard: reports.Shard{N: 2, I: []int{i}}})
		for j, u := range ulps {
			a.AddCases(1)
			a.Add(reports.Observation{Key: key, Case: int64(2*j + i), ULP: u, XRange: 1, Bound: 2,
				Failed: u > 2, Class: "precision"})
		}
		return a.Report()
	}
	m, err := reports.Merge(shard(0, 0.25, 0.5, 3), shard(1, 0.75, math.Inf(1)))
	if err != nil {
		fmt.Println(err)
		return
	}
	c := m.Cells[0]
	fmt.Println(m.Shard, m.Cases, c.Failures, c.MaxULP, c.P50)
	// Output:
	// {1 [0]} 5 2 +Inf 0.78125
}
