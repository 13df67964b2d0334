package oracle

import (
	"testing"

	"github.com/ulpcheck/ulpcheck/fp"
)

func TestDbgCase2(t *testing.T) {
	x := make([]float64, 65)
	dy := make([]float64, 65)
	for i := range x {
		if i == 13 || i == 27 || i == 41 || i == 55 {
			x[i] = 8192
		}
		dy[i] = 86.5
		if i%3 == 2 {
			dy[i] = 87
		}
	}
	v, err := SoftmaxBackward(fp.BF16, x, dy, 1, 65, fp.MaskNaN)
	t.Log(err)
	for i := range v {
		if x[i] != 0 { t.Log(i, v[i].Rounded, v[i].Flag) }
	}
}
