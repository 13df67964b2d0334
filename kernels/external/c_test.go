package external

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/ulpcheck/ulpcheck/fp"
)

// startC compiles examples/external/c_kernel/kernel.c with cc into a temporary directory and
// starts it; it skips the test when no C compiler is installed.
func startC(t *testing.T) *Process {
	t.Helper()
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Skip("no C compiler (cc) on PATH")
	}
	src, err := filepath.Abs("../../examples/external/c_kernel/kernel.c")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "c_kernel")
	if out, err := exec.Command(cc, "-O2", "-std=c99", "-Wall", "-Wextra", "-Werror", "-o", bin, src, "-lm").CombinedOutput(); err != nil {
		t.Fatalf("compiling %s: %v\n%s", src, err, out)
	}
	p, err := Start(context.Background(), []string{bin}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func TestCClient(t *testing.T) {
	p := startC(t)
	if n := len(p.Kernels()); n != 6 {
		t.Errorf("%d kernels, want 6", n)
	}
	exactCases(t, p, "c/", []fp.Format{fp.FP32, fp.FP64})
	accuracy(t, p, "c/")
	if s := p.Stats(); s.Restarts != 0 || s.Failures != 0 || s.StderrBytes != 0 {
		t.Errorf("stats %+v, want a quiet, healthy child", s)
	}
}
