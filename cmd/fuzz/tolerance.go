// This file implements the -tolerance flag of "fuzz run" and "fuzz replay": the tolerance model
// a campaign judges accuracy by (properties.Tolerance).

package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/ulpcheck/ulpcheck/properties"
)

// toleranceUsage is the -tolerance flag's help text.
const toleranceUsage = "tolerance `model`: condition (the default, condition-aware bound), condition:S (safety factor S), " +
	"strict:K (|ŷ−y| ≤ K ulp), assert_close (torch.testing.assert_close's defaults for the output format) " +
	"or assert_close:RTOL,ATOL (|ŷ−y| ≤ ATOL + RTOL·|y|)"

// parseTolerance parses a -tolerance value. "" and "condition" are the default model
// (properties.Condition(properties.DefaultSafety)).
//
// Special cases are:
//
//	"condition:S" with S not finite or ≤ 0: an error (Condition would silently use the default)
//	"strict:K" with K not finite or < 0.5: an error (no output of the format is closer than ½ ulp)
//	"assert_close:RTOL,ATOL" with a negative or non-finite value: an error
func parseTolerance(s string) (properties.Tolerance, error) {
	name, arg, hasArg := strings.Cut(strings.TrimSpace(s), ":")
	bad := func(why string) (properties.Tolerance, error) {
		return properties.Tolerance{}, fmt.Errorf("bad -tolerance %q: %s (want condition, condition:S, strict:K, assert_close or assert_close:RTOL,ATOL)", s, why)
	}
	num := func(t string) (float64, bool) {
		x, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
		return x, err == nil && !math.IsInf(x, 0) && !math.IsNaN(x)
	}
	switch name {
	case "", "condition":
		if !hasArg {
			return properties.Condition(properties.DefaultSafety), nil
		}
		sf, ok := num(arg)
		if !ok || sf <= 0 {
			return bad("the safety factor must be a finite number > 0")
		}
		return properties.Condition(sf), nil
	case "strict":
		k, ok := num(arg)
		if !hasArg || !ok || k < 0.5 {
			return bad("strict needs K ≥ 0.5 ulp")
		}
		return properties.Strict(k), nil
	case "assert_close":
		if !hasArg {
			return properties.FormatDefaults(), nil
		}
		r, a, ok := strings.Cut(arg, ",")
		rtol, ok1 := num(r)
		atol, ok2 := num(a)
		if !ok || !ok1 || !ok2 || rtol < 0 || atol < 0 {
			return bad("assert_close needs two finite numbers ≥ 0, RTOL,ATOL")
		}
		return properties.AssertClose(rtol, atol), nil
	}
	return bad("unknown model " + strconv.Quote(name))
}
