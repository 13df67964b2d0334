package thirdparty

import (
	"context"
	"path/filepath"
	"testing"

	"pgregory.net/rapid"

	"github.com/ulpcheck/ulpcheck/internal/pyenv"
	"github.com/ulpcheck/ulpcheck/kernels"
	"github.com/ulpcheck/ulpcheck/kernels/external"
	"github.com/ulpcheck/ulpcheck/properties"
)

// startClient starts a protocol client script (relative to the repository root) with the
// interpreter and PYTHONPATH of internal/pyenv (python3 with numpy and the client's library, the
// ulpcheck package from the checkout) and returns its kernels by name. The test skips when the
// library the client needs besides numpy (pyClients) is missing.
func startClient(t *testing.T, script string) map[string]*kernels.Kernel {
	t.Helper()
	var mods []string
	for _, cl := range pyClients {
		if cl.script == script && cl.module != "" {
			mods = append(mods, cl.module)
		}
	}
	py := pyenv.Find(t, mods...)
	p, err := external.Start(context.Background(), []string{py.Exe, filepath.Join(py.Root, script)}, external.Options{Env: py.Env()})
	if err != nil {
		t.Fatalf("starting %s: %v", script, err)
	}
	t.Cleanup(func() { p.Close() })
	ks := map[string]*kernels.Kernel{}
	for _, k := range p.Kernels() {
		if err := k.Validate(); err != nil {
			t.Errorf("%s: %v", k.Name, err)
		}
		ks[k.Name] = k
	}
	t.Logf("%s: %s, %d kernels", script, p.Hello().Client, len(ks))
	return ks
}

// pyClients lists the Python clients: script, test name, the module it needs besides numpy.
var pyClients = []struct{ script, lib, module string }{
	{"examples/external/numpy_kernel.py", "numpy", ""},
	{"examples/pyclients/scipy_kernel.py", "scipy", "scipy"},
	{"examples/pyclients/torch_kernel.py", "PyTorch", "torch"},
	{"examples/pyclients/sigmoid_kernels.py", "sigmoid family (scipy, PyTorch)", "torch"},
}

// TestPyCampaign is TestCampaign for the Python clients (numpy, scipy, PyTorch):
//
//	cd examples/thirdparty && go test -run TestPyCampaign -campaign 200 -v
func TestPyCampaign(t *testing.T) {
	if *campaignCases <= 0 {
		t.Skip("set -campaign N to run the campaign")
	}
	for _, cl := range pyClients {
		t.Run(cl.lib, func(t *testing.T) {
			ks := startClient(t, cl.script)
			for name, k := range ks {
				t.Run(name, func(t *testing.T) {
					gen := properties.CaseGen(k)
					var vs []properties.Verdict
					first := map[properties.Class]bool{}
					rapid.Check(t, func(rt *rapid.T) {
						c := gen.Draw(rt, "case")
						v := evaluate(k, c)
						vs = append(vs, v)
						for _, cl := range v.Classes() {
							if !first[cl] && len(c.X) <= 16 {
								first[cl] = true
								t.Logf("first %s:\n%s", cl, v.Report())
							}
						}
					})
					t.Logf("%s: %s", k.Name, tally(vs))
				})
			}
		})
	}
}
