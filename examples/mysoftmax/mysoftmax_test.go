package mysoftmax_test

import (
	"testing"

	"github.com/ulpcheck/ulpcheck/examples/mysoftmax"
	"github.com/ulpcheck/ulpcheck/kernels"
	"github.com/ulpcheck/ulpcheck/properties"
)

// One line per kernel: every applicable property, judged against the exact oracle, on
// adversarial inputs, shrunk to a minimal counterexample on failure.
func TestSoftmax(t *testing.T) {
	properties.Check(t, kernels.Softmax("mysoftmax.Softmax", mysoftmax.Softmax))
}

// The fp16 variant: the element type sets the format (fp16 in and out); the accumulation format
// defaults to fp32 for fp16 outputs.
func TestSoftmaxHalf(t *testing.T) {
	properties.Check(t, kernels.Softmax("mysoftmax.SoftmaxHalf", mysoftmax.SoftmaxHalf))
}

// The same properties under the native fuzzer:
//
//	go test ./examples/mysoftmax -run '^$' -fuzz FuzzSoftmax -fuzztime 30s
func FuzzSoftmax(f *testing.F) {
	f.Fuzz(properties.Fuzz(kernels.Softmax("mysoftmax.Softmax", mysoftmax.Softmax)))
}
