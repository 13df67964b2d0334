package external

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ulpcheck/ulpcheck/fp"
	"github.com/ulpcheck/ulpcheck/internal/pyenv"
	"github.com/ulpcheck/ulpcheck/kernels"
)

// startNumpy starts examples/external/numpy_kernel.py with the interpreter and PYTHONPATH of
// internal/pyenv (python3 with numpy, the ulpcheck package from the checkout). It skips the
// test when numpy is missing, unless ULPCHECK_REQUIRE_NUMPY=1 (CI sets it after installing
// python3-numpy).
func startNumpy(t *testing.T) *Process {
	t.Helper()
	py := pyenv.Find(t)
	script := filepath.Join(py.Root, "examples", "external", "numpy_kernel.py")
	p, err := Start(context.Background(), []string{py.Exe, script}, Options{Env: py.Env()})
	if err != nil {
		t.Fatalf("starting the numpy client: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// TestNumpy runs the numpy client end to end: one child serves every subtest.
func TestNumpy(t *testing.T) {
	p := startNumpy(t)
	t.Run("handshake", func(t *testing.T) { numpyHandshake(t, p) })
	t.Run("exact", func(t *testing.T) { exactCases(t, p, "numpy/", []fp.Format{fp.FP16, fp.FP32, fp.FP64}) })
	t.Run("accuracy", func(t *testing.T) { accuracy(t, p, "numpy/") })
	t.Run("ce-semantics", func(t *testing.T) { numpyCESemantics(t, p) })
	t.Run("errors", func(t *testing.T) { numpyErrors(t, p) })
}

// numpyCESemantics checks PyTorch's cross-entropy conventions (NUMERICS §8): class weights,
// ignore_index, label smoothing and the three reductions, on equal logits, where every loss is
// a dyadic multiple of L = log 2. Weights (1, ½), targets (0, 1, ignored), ε = ¼, C = 2:
// row 0: ¾·1·L + (¼/2)(1 + ½)L = (15/16)L; row 1: ¾·½·L + (3/16)L = (9/16)L; row 2: 0;
// sum (3/2)L; mean divides by the weights of the targets, 1 + ½: L.
// The kernel rounds log 2 (< 1 ulp) and then at most 5 more times (each ≤ ½ ulp, the
// dyadic factors being exact up to that rounding), so it is within 4 ulps of the correctly
// rounded value; a wrong convention is off by a factor.
func numpyCESemantics(t *testing.T, p *Process) {
	for _, f := range []fp.Format{fp.FP16, fp.FP32, fp.FP64} {
		k := findKernel(p, "numpy/ce/"+f.String())
		for _, tt := range []struct {
			red  kernels.Reduction
			want []float64 // multiples of L
		}{
			{kernels.ReduceNone, []float64{15.0 / 16, 9.0 / 16, 0}},
			{kernels.ReduceSum, []float64{1.5}},
			{kernels.ReduceMean, []float64{1}},
		} {
			opt := kernels.CEOptions{Weights: []float64{1, 0.5}, IgnoreIndex: -100, LabelSmoothing: 0.25, Reduction: tt.red}
			a := &kernels.Args{Rows: 3, Cols: 2, X: []float64{1.5, 1.5, 1.5, 1.5, 1.5, 1.5}, Targets: []int{0, 1, -100}, CE: opt}
			got, err := k.Call(context.Background(), a)
			if err != nil {
				t.Errorf("%s %v: %v", k.Name, tt.red, err)
				continue
			}
			for i, m := range tt.want {
				// m·log 2 in float64 is within 1 ulp of float64, far below an ulp of f
				// (fp64: the distance counts that ulp too).
				want, _ := f.RoundFloat64(m * math.Ln2)
				if d := f.UlpDistance(got[i], want); d > 4 {
					t.Errorf("%s %v: out[%d] = %g (%#x), want %g·log 2 ≈ %g: %d ulps apart", k.Name, tt.red, i, got[i], f.Encode(got[i]), m, want, d)
				}
			}
		}
	}
}

func numpyHandshake(t *testing.T, p *Process) {
	if !strings.HasPrefix(p.Hello().Client, "numpy ") {
		t.Errorf("client %q, want it to name numpy", p.Hello().Client)
	}
	got := map[string]*kernels.Kernel{}
	for _, k := range p.Kernels() {
		if err := k.Validate(); err != nil {
			t.Errorf("%s: %v", k.Name, err)
		}
		got[k.Name] = k
	}
	for _, op := range []kernels.Op{kernels.OpSoftmax, kernels.OpLogSoftmax, kernels.OpLSE, kernels.OpCrossEntropy} {
		for _, f := range []fp.Format{fp.FP16, fp.FP32, fp.FP64} {
			name := "numpy/" + op.String() + "/" + f.String()
			k := got[name]
			if k == nil {
				t.Errorf("kernel %s not served", name)
				continue
			}
			if k.Op != op || k.In != f || k.OutFormat() != f || k.Algorithm != kernels.AlgShifted || k.Mask != fp.MaskNaN {
				t.Errorf("%s declared as %v", name, k)
			}
		}
	}
	if len(got) != 12 {
		t.Errorf("%d kernels, want 12", len(got))
	}
}

// exactCases checks kernels on inputs whose results are exact (NUMERICS §6) in every format:
// equal logits, one finite entry, masked entries. It runs the exact cases on every kernel named prefix+op/format that p serves, and
// fails when p serves none of them.
func exactCases(t *testing.T, p *Process, prefix string, formats []fp.Format) {
	t.Helper()
	inf := math.Inf(1)
	ce := kernels.DefaultCEOptions()
	ce.Reduction = kernels.ReduceNone
	tests := []struct {
		op     kernels.Op
		reason string
		a      kernels.Args
		want   []float64
	}{
		{kernels.OpSoftmax, "equal logits give 1/n", kernels.Args{Rows: 2, Cols: 4, X: []float64{3, 3, 3, 3, -0.5, -0.5, -0.5, -0.5}}, []float64{0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25}},
		{kernels.OpSoftmax, "−Inf entries get exactly 0", kernels.Args{Rows: 1, Cols: 4, X: []float64{1, -inf, 1, -inf}}, []float64{0.5, 0, 0.5, 0}},
		{kernels.OpSoftmax, "a fully masked row gives NaN (declared policy)", kernels.Args{Rows: 1, Cols: 2, X: []float64{-inf, -inf}}, []float64{math.NaN(), math.NaN()}},
		{kernels.OpLogSoftmax, "one finite entry: 0 there, −Inf elsewhere", kernels.Args{Rows: 2, Cols: 2, X: []float64{2, -inf, -inf, -7}}, []float64{0, -inf, -inf, 0}},
		{kernels.OpLSE, "one finite entry: LSE is that entry", kernels.Args{Rows: 3, Cols: 2, X: []float64{-3, -inf, -inf, 0.5, 2, -inf}}, []float64{-3, 0.5, 2}},
		{kernels.OpCrossEntropy, "one class: loss 0; ignored rows 0", kernels.Args{Rows: 2, Cols: 1, X: []float64{5, 1}, Targets: []int{0, -100}, CE: ce}, []float64{0, 0}},
	}
	served := 0
	for _, f := range formats {
		for _, tt := range tests {
			name := prefix + tt.op.String() + "/" + f.String()
			k := findKernel(p, name)
			if k == nil {
				continue
			}
			served++
			got, err := k.Call(context.Background(), &tt.a)
			if err != nil {
				t.Errorf("%s (%s): %v", name, tt.reason, err)
				continue
			}
			for i, w := range tt.want {
				// ±0 are equal and NaN matches NaN (NUMERICS §2).
				if !(got[i] == w || math.IsNaN(got[i]) && math.IsNaN(w)) {
					t.Errorf("%s (%s): out[%d] = %g (%#016x), want %g", name, tt.reason, i, got[i], math.Float64bits(got[i]), w)
				}
			}
		}
	}
	if served == 0 {
		t.Errorf("no kernel named %s… served", prefix)
	}
}

func findKernel(p *Process, name string) *kernels.Kernel {
	for _, k := range p.Kernels() {
		if k.Name == name {
			return k
		}
	}
	return nil
}

// accuracy compares fp32 and fp64 softmax and LSE kernels with a float64 reference on
// random rows, within the Blanchard–Higham–Higham bounds (NUMERICS §3): softmax relative
// (n + 2 + 2(x_max − x_min))u, so the kernel (and, in fp64, the reference) is within that many ulps of the
// exact value; LSE absolute (log1p(s) + s/(1+s)(n + x_max − x_min))u (eq. 4.8) plus ½ulp.
// In fp32 the float64 reference is within 1 ulp of the exact value.
func accuracy(t *testing.T, p *Process, prefix string) {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 11))
	const rows, cols = 16, 8
	for _, f := range []fp.Format{fp.FP32, fp.FP64} {
		x := make([]float64, rows*cols)
		for i := range x {
			x[i], _ = f.RoundFloat64(8*rng.Float64() - 4)
		}
		a := &kernels.Args{Rows: rows, Cols: cols, X: x}
		sm, err := findKernel(p, prefix+"softmax/"+f.String()).Call(context.Background(), a)
		if err != nil {
			t.Fatal(err)
		}
		lse, err := findKernel(p, prefix+"lse/"+f.String()).Call(context.Background(), a)
		if err != nil {
			t.Fatal(err)
		}
		u := f.UnitRoundoff()
		refSlack := 1.0 // ulps between the float64 reference and the exact value, fp32
		if f == fp.FP64 {
			refSlack = 0 // the reference obeys the same bound, counted below
		}
		for r := 0; r < rows; r++ {
			row := x[r*cols : (r+1)*cols]
			mx, mn := math.Inf(-1), math.Inf(1)
			for _, v := range row {
				mx, mn = math.Max(mx, v), math.Min(mn, v)
			}
			s, sum := 0.0, 0.0
			for _, v := range row {
				e := math.Exp(v - mx)
				sum += e
				if v != mx {
					s += e
				}
			}
			coef := float64(cols) + 2 + 2*(mx-mn)
			for j, v := range row {
				ref, _ := f.RoundFloat64(math.Exp(v-mx) / sum)
				d := f.UlpDistance(sm[r*cols+j], ref)
				limit := coef + refSlack
				if f == fp.FP64 {
					limit = 2*coef + 1
				}
				if float64(d) > limit {
					t.Errorf("%ssoftmax/%s row %d: out[%d] = %g (%#x), reference %g: %d ulps apart, bound %g", prefix, f, r, j, sm[r*cols+j], f.Encode(sm[r*cols+j]), ref, d, limit)
				}
			}
			ref := mx + math.Log(sum)
			bound := (math.Log1p(s) + s/(1+s)*(float64(cols)+mx-mn)) * u
			limit := bound + f.Ulp(ref)/2 + refSlack*f.Ulp(ref)
			if f == fp.FP64 {
				limit = 2*bound + f.Ulp(ref)
			}
			if math.Abs(lse[r]-ref) > limit {
				t.Errorf("%slse/%s row %d = %g (%#x), reference %g: |diff| %g > bound %g", prefix, f, r, lse[r], f.Encode(lse[r]), ref, math.Abs(lse[r]-ref), limit)
			}
		}
	}
}

// numpyErrors: a request numpy rejects (a target out of range) is an error status, which
// Kernel.Call reports as a contract finding; empty rows are declined (ErrUnsupported). Neither
// restarts the child.
func numpyErrors(t *testing.T, p *Process) {
	k := findKernel(p, "numpy/ce/fp32")
	_, err := k.Call(context.Background(), &kernels.Args{Rows: 1, Cols: 2, X: []float64{0, 1}, Targets: []int{5}, CE: kernels.DefaultCEOptions()})
	var ce *kernels.ContractError
	if !errors.As(err, &ce) || ce.Kind != kernels.ContractReturnedError || !strings.Contains(err.Error(), "target out of range") {
		t.Errorf("target 5 of 2 classes: err = %v, want a contract error quoting numpy's", err)
	}
	_, err = findKernel(p, "numpy/lse/fp64").Call(context.Background(), &kernels.Args{Rows: 1, Cols: 0, X: []float64{}})
	if !errors.Is(err, kernels.ErrUnsupported) {
		t.Errorf("empty row: err = %v, want ErrUnsupported", err)
	}
	if s := p.Stats(); s.Restarts != 0 || s.Failures != 0 {
		t.Errorf("stats %+v, want no restart and no failure", s)
	}
}

// TestNumpyMissing: where numpy cannot be imported, the client fails to start with a message
// that says so and exit status 3, which Start reports. It needs a python3 on PATH without numpy
// (a pyenv Python, say), and is skipped elsewhere.
func TestNumpyMissing(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3 on PATH")
	}
	if exec.Command(py, "-c", "import numpy").Run() == nil {
		t.Skip(py + " has numpy")
	}
	script, _ := filepath.Abs("../../examples/external/numpy_kernel.py")
	_, err = Start(context.Background(), []string{py, script}, Options{})
	var pe *Error
	if !errors.As(err, &pe) || pe.Kind != ErrStart || pe.Exit != "exit status 3" || !strings.Contains(pe.Stderr, "numpy is not installed") {
		t.Errorf("err = %v, want ErrStart, exit status 3 and the message", err)
	}
}

// TestPackageMissing: where numpy is there but the ulpcheck package is neither installed nor on
// PYTHONPATH, the client fails to start with exit status 3 and a message naming the two fixes.
func TestPackageMissing(t *testing.T) {
	py := pyenv.Find(t)
	if exec.Command(py.Exe, "-c", "import ulpcheck").Run() == nil {
		t.Skip(py.Exe + " has the ulpcheck package installed")
	}
	script := filepath.Join(py.Root, "examples", "external", "numpy_kernel.py")
	_, err := Start(context.Background(), []string{py.Exe, script}, Options{})
	var pe *Error
	if !errors.As(err, &pe) || pe.Kind != ErrStart || pe.Exit != "exit status 3" || !strings.Contains(pe.Stderr, "PYTHONPATH") {
		t.Errorf("err = %v, want ErrStart, exit status 3 and the message", err)
	}
}
