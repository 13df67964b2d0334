package generators

import (
	"fmt"
	"testing"

	"github.com/ulpcheck/ulpcheck/fp"
)

// BenchmarkRow measures draws per second of one-row cases of fixed lengths with the default
// class weights, through Example (a fresh random bitstream per draw, as a property run has).
func BenchmarkRow(b *testing.B) {
	for _, f := range []fp.Format{fp.FP16, fp.FP32} {
		for _, n := range []int{32, 1024} {
			g := Row(f, Lengths(n))
			b.Run(fmt.Sprintf("%s/n=%d", f, n), func(b *testing.B) {
				elems := 0
				for i := 0; b.Loop(); i++ {
					elems += len(g.Example(i).X)
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "draws/s")
				b.ReportMetric(float64(elems)/b.Elapsed().Seconds(), "elems/s")
			})
		}
	}
}

// BenchmarkOther measures the other generators with their defaults.
func BenchmarkOther(b *testing.B) {
	f := fp.FP16
	sg, bg, cg, gs := Scalar(f), Batch(f, MaxLen(1024)), CrossEntropy(fp.FP32, MaxLen(1024)), GradStream(fp.FP32)
	for _, tc := range []struct {
		name string
		draw func(int)
	}{
		{"Scalar", func(i int) { sg.Example(i) }},
		{"Batch", func(i int) { bg.Example(i) }},
		{"CrossEntropy", func(i int) { cg.Example(i) }},
		{"GradStream", func(i int) { gs.Example(i) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				tc.draw(i)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "draws/s")
		})
	}
}
