package shrinking_test

import (
	"fmt"
	"math"

	"github.com/ulpcheck/ulpcheck/fp"
	"github.com/ulpcheck/ulpcheck/shrinking"
)

// A kernel that computes exp in fp16 without shifting fails with "overflow" as soon as one logit
// exceeds 11.09 (NUMERICS §1). Minimize reduces a long row to the single smallest such logit.
func ExampleMinimize() {
	overflows := func(c shrinking.Case) (bool, string) {
		for _, x := range c.X {
			if e, _ := fp.FP16.RoundFloat64(math.Exp(x)); math.IsInf(e, 1) {
				return true, "overflow"
			}
		}
		return false, ""
	}
	x := []float64{1, 2, 30, -4, 12, 0.5, 7, 100}
	c := shrinking.Case{Format: fp.FP16, Rows: 1, Cols: len(x), X: x}
	min, st, err := shrinking.Minimize(c, overflows, shrinking.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(min.X, st.RowsAfter, st.ColsAfter)
	fmt.Println(min)
	fmt.Println(shrinking.ReplayCommand("naive.softmax", "no-overflow", min))
	// Output:
	// [11.09375] 1 1
	// v1;fmt=fp16;shape=1x1;x=498c
	// go run ./cmd/fuzz replay -kernel 'naive.softmax' -property 'no-overflow' -case 'v1;fmt=fp16;shape=1x1;x=498c'
}
