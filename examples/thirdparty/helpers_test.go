package thirdparty

import (
	"context"
	"flag"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/ulpcheck/ulpcheck/generators"
	"github.com/ulpcheck/ulpcheck/kernels"
	"github.com/ulpcheck/ulpcheck/properties"
)

var campaignCases = flag.Int("campaign", 0, "run TestCampaign with this many generated cases per adapter (0: skip)")

// caseOf builds a case of k's input format from exact values; every value must already be a
// member of the format (checked).
func caseOf(t *testing.T, k *kernels.Kernel, rows, cols int, x ...float64) generators.Case {
	t.Helper()
	if len(x) != rows*cols {
		t.Fatalf("case: %d values for %d×%d", len(x), rows, cols)
	}
	for i, v := range x {
		if !k.In.Contains(v) {
			t.Fatalf("case: x[%d] = %g (%#016x) is not a %v value", i, v, math.Float64bits(v), k.In)
		}
	}
	return generators.Case{Format: k.In, Class: "hand", Rows: rows, Cols: cols, X: x}
}

// evaluate runs every property of k on c under the default (condition-aware) tolerance.
func evaluate(k *kernels.Kernel, c generators.Case, opts ...properties.Option) properties.Verdict {
	return properties.Evaluate(context.Background(), k, c, opts...)
}

// hasFailure reports whether v has a failure of class cl at output index i (i < 0: any index).
func hasFailure(v properties.Verdict, cl properties.Class, i int) bool {
	for _, f := range v.Failures {
		if f.Class == cl && (i < 0 || f.Index == i) {
			return true
		}
	}
	return false
}

// bits prints a value with its float64 bits, for failure messages.
func bits(v float64) string { return fmt.Sprintf("%g (%#016x)", v, math.Float64bits(v)) }

// tally summarises failing verdicts by class.
func tally(vs []properties.Verdict) string {
	n := map[properties.Class]int{}
	fails := 0
	for _, v := range vs {
		if !v.OK() {
			fails++
		}
		for _, c := range v.Classes() {
			n[c]++
		}
	}
	var parts []string
	for c, k := range n {
		parts = append(parts, fmt.Sprintf("%s=%d", c, k))
	}
	return fmt.Sprintf("%d/%d cases fail %s", fails, len(vs), strings.Join(parts, " "))
}
