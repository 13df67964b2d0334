package thirdparty

import (
	"fmt"

	"github.com/ulpcheck/ulpcheck/kernels"
	"gonum.org/v1/gonum/floats"
)

// GonumLSE adapts gonum.org/v1/gonum/floats.LogSumExp (v0.17.0) to a float64 LSE kernel.
//
// The library shifts by the maximum (floats.Max, which skips NaN), sums e^(x_i − max) in float64
// and returns log(sum) + max; a ±Inf maximum is returned as is. It uses log, not log1p, so it is
// the shifted class of Blanchard–Higham–Higham without their log1p refinement.
// floats.LogSumExp panics on an empty slice (documented); the adapter declines n = 0.
func GonumLSE() *kernels.Kernel {
	return kernels.LSEErr[float64]("gonum/floats.LogSumExp/fp64", func(x []float64) (float64, error) {
		if len(x) == 0 {
			return 0, fmt.Errorf("gonum floats.LogSumExp panics on an empty slice (documented): %w", kernels.ErrUnsupported)
		}
		return floats.LogSumExp(x), nil
	}, kernels.WithAlgorithm(kernels.AlgShifted),
		kernels.WithDoc("gonum floats.LogSumExp v0.17.0: max = floats.Max(x) (NaN skipped); ±Inf max returned as is; else log(Σ exp(x_i − max)) + max in float64."))
}
