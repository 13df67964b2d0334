package external

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ulpcheck/ulpcheck/fp"
	"github.com/ulpcheck/ulpcheck/kernels"
)

// The two-class operations have wire codes 16–21 and a BCE request carries the targets in the
// probs section, pos_weight in the weights section and the reduction.
func TestSigmoidOpsOnTheWire(t *testing.T) {
	for i, o := range []kernels.Op{kernels.OpSoftplus, kernels.OpLogSigmoid, kernels.OpSigmoid, kernels.OpSigmoidGrad, kernels.OpBCEWithLogits, kernels.OpBCEWithLogitsGrad} {
		c, err := opCode(o)
		if err != nil || c != uint8(16+i) {
			t.Errorf("%v: code %d, %v; want %d", o, c, err, 16+i)
		}
		if back, err := opFromCode(c); err != nil || back != o {
			t.Errorf("code %d decodes to %v, %v", c, back, err)
		}
	}
	p := &Process{}
	e := &Entry{Name: "bce", Op: kernels.OpBCEWithLogits, In: fp.FP32}
	a := &kernels.Args{Rows: 1, Cols: 2, X: []float64{-3, 88.5}, Probs: []float64{0, 0.25},
		CE: kernels.CEOptions{Weights: []float64{1, 1000}, Reduction: kernels.ReduceNone}}
	r, err := p.request(e, 0, 1, a)
	if err != nil {
		t.Fatal(err)
	}
	b, err := EncodeRequest(r)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeRequest(b)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(r, got, bitwise); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
	if got.Op != kernels.OpBCEWithLogits || got.Reduction != kernels.ReduceNone || len(got.Probs) != 2 || got.Probs[1] != 0.25 || len(got.Weights) != 2 || got.Weights[1] != 1000 {
		t.Errorf("decoded request %+v", got)
	}
	if _, err := p.request(e, 0, 1, &kernels.Args{Rows: 1, Cols: 1, X: []float64{1}}); err == nil {
		t.Error("a BCE request without targets was built")
	}
}
