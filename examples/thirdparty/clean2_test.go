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

// TestCleanPython asserts that the Python clients' kernels listed as clean in the README stay
// clean (skipped where /usr/bin/python3 lacks scipy or PyTorch).
func TestCleanPython(t *testing.T) {
	clean := map[string][]string{
		"examples/pyclients/torch_kernel.py": {"torch/softmax/fp32", "torch/softmax/fp64", "torch/softmax/bf16"},
		"examples/pyclients/scipy_kernel.py": {"scipy/special.softmax/fp32", "scipy/special.softmax/fp64"},
	}
	for script, names := range clean {
		t.Run(script, func(t *testing.T) {
			ks := startClient(t, script)
			for _, n := range names {
				k := ks[n]
				if k == nil {
					t.Errorf("%s serves no kernel %s", script, n)
					continue
				}
				t.Run(n, func(t *testing.T) { checkClean(t, k) })
			}
		})
	}
}
