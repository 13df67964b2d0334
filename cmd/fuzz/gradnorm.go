// This file implements the case parameters of the gradient-norm operations (p, max_norm,
// clip_value, error_if_nonfinite) in reports and replays.

package main

import (
	"fmt"
	"math"
	"strconv"

	"github.com/ulpcheck/ulpcheck/loss"
)

// normParams writes the norm options as case parameters.
func normParams(o loss.NormOptions) map[string]string {
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	return map[string]string{
		"p": f(o.Order()), "max_norm": f(o.MaxNorm), "clip_value": f(o.ClipValue),
		"error_if_nonfinite": strconv.FormatBool(o.ErrorIfNonfinite),
	}
}

// setNormParam reads one norm option, refusing values PyTorch would reject.
func setNormParam(o *loss.NormOptions, key, val string) error {
	if key == "error_if_nonfinite" {
		b, err := strconv.ParseBool(val)
		if err != nil {
			return fmt.Errorf("bad error_if_nonfinite %q (want true or false)", val)
		}
		o.ErrorIfNonfinite = b
		return nil
	}
	x, err := strconv.ParseFloat(val, 64)
	switch {
	case err != nil || math.IsNaN(x):
		return fmt.Errorf("bad %s %q (want a number)", key, val)
	case key == "p" && x <= 0:
		return fmt.Errorf("bad p %q (want > 0 or inf)", val)
	case x < 0:
		return fmt.Errorf("bad %s %q (want ≥ 0)", key, val)
	}
	switch key {
	case "p":
		o.P = x
	case "max_norm":
		o.MaxNorm = x
	default:
		o.ClipValue = x
	}
	return nil
}
