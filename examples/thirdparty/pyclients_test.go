package thirdparty

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/ulpcheck/ulpcheck/kernels"
	"github.com/ulpcheck/ulpcheck/kernels/external"
	"github.com/ulpcheck/ulpcheck/properties"
)

// The Python clients run under Debian's /usr/bin/python3, where python3-numpy, python3-scipy and
// python3-torch install (a pyenv python3 on PATH has none of them).
const debianPython = "/usr/bin/python3"

// startClient starts a protocol client script (relative to the repository root) and returns its
// kernels by name. It skips the test when the interpreter or the library is missing.
func startClient(t *testing.T, script, lib string) map[string]*kernels.Kernel {
	t.Helper()
	if _, err := os.Stat(debianPython); err != nil {
		t.Skipf("no %s", debianPython)
	}
	path, err := filepath.Abs(filepath.Join("..", "..", script))
	if err != nil {
		t.Fatal(err)
	}
	p, err := external.Start(context.Background(), []string{debianPython, path}, external.Options{})
	if err != nil {
		if strings.Contains(err.Error(), "not installed") {
			t.Skipf("%s is not installed: %v", lib, err)
		}
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

var pyClients = []struct{ script, lib string }{
	{"examples/external/numpy_kernel.py", "numpy"},
	{"examples/pyclients/scipy_kernel.py", "scipy"},
	{"examples/pyclients/torch_kernel.py", "PyTorch"},
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
			ks := startClient(t, cl.script, cl.lib)
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
