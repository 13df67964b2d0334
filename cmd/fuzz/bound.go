// This file implements the theoretical bound curves drawn beside the error plots.

package main

import (
	"github.com/ulpcheck/ulpcheck/kernels"
	"github.com/ulpcheck/ulpcheck/properties"
	"github.com/ulpcheck/ulpcheck/reports"
)

// curveN is the row length at which the bound curves are drawn; each case's own tolerance (for
// its own n) is drawn beside them as a point.
const curveN = 32

// boundCurve returns the first-order bound of NUMERICS §3 (Blanchard, Higham & Higham 2021) for
// k's operation and algorithm, in ulps of the output, against d = x_max − x_min at n = curveN:
// s·c(n, d)·u_acc/u_out + ½, with s the default safety factor and c the bound's coefficient of
// u (a relative error c·u_acc is at most c·u_acc/u_out ulps of a value of the output format).
// Operations whose bound is not a function of n and d alone (LSE's absolute bound, cross-entropy,
// the backward passes) get no curve.
func boundCurve(k *kernels.Kernel) []reports.XY {
	n := float64(curveN)
	var coef func(d float64) float64
	switch {
	case k.Op == kernels.OpSoftmax && k.Algorithm == kernels.AlgUnshifted:
		coef = func(float64) float64 { return n + 3 } // Thm 3.3
	case k.Op == kernels.OpSoftmax && k.Algorithm == kernels.AlgOnline:
		coef = func(d float64) float64 { return n + 2 + d } // NUMERICS §4 with r = 0 max updates
	case k.Op == kernels.OpSoftmax:
		coef = func(d float64) float64 { return n + 2 + 2*d } // Thm 4.3
	case k.Op == kernels.OpLogSoftmax:
		coef = func(d float64) float64 { return 3 + n + d } // NUMERICS §3, derived
	default:
		return nil
	}
	scale := k.AccFormat().UnitRoundoff() / k.OutFormat().UnitRoundoff()
	var xy []reports.XY
	for _, d := range []float64{0, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 1e5, 1e6} {
		xy = append(xy, reports.XY{X: reports.Float(d), Y: reports.Float(properties.DefaultSafety*coef(d)*scale + 0.5)})
	}
	return xy
}
