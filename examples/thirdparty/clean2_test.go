package thirdparty

import (
	"testing"

	"github.com/ulpcheck/ulpcheck/kernels"
)

// cleanGo lists the Go adapters that came out clean in the campaign: every property holds on
// every generated case (cases the oracle cannot decide are skipped and counted, see checkClean).
func cleanGo() []*kernels.Kernel {
	return []*kernels.Kernel{
		GomlxSoftmax[float32](), GomlxSoftmax[float64](), GomlxSoftmaxBF16(),
		SpagoSoftmax[float64](),
	}
}

// TestCleanGo asserts that the adapters listed as clean in the README stay clean.
func TestCleanGo(t *testing.T) {
	for _, k := range cleanGo() {
		t.Run(k.Name, func(t *testing.T) { checkClean(t, k) })
	}
}
