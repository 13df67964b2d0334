package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ulpcheck/ulpcheck/internal/pyenv"
	"github.com/ulpcheck/ulpcheck/kernels"
	"github.com/ulpcheck/ulpcheck/properties"
	"github.com/ulpcheck/ulpcheck/reports"
	"github.com/ulpcheck/ulpcheck/shrinking"
)

// TestMain lets the test binary act as the fuzz command (FUZZ_TEST_MAIN=1), so that tests can
// send it signals as a separate process without building it.
func TestMain(m *testing.M) {
	if os.Getenv("FUZZ_TEST_MAIN") == "1" {
		os.Exit(dispatch(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func runFuzz(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = dispatch(args, strings.NewReader(""), &o, &e)
	return code, o.String(), e.String()
}

// sameFloat treats NaN as equal to NaN, as the report's JSON does.
var sameFloat = cmp.Comparer(func(a, b reports.Float) bool { return a == b || a != a && b != b })

func readReport(t *testing.T, path string) *reports.Report {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := reports.ReadJSON(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return r
}

// TestShardsMergeToUnsharded runs one campaign whole and as two shards, merges the shards with
// "fuzz merge", and requires the same report, counterexamples and shrinking included.
func TestShardsMergeToUnsharded(t *testing.T) {
	dir := t.TempDir()
	common := []string{"-kernels", "softmax/naive/fp16,softmax/shifted/fp32,ce/fused/bf16", "-cases", "40", "-seed", "7", "-maxlen", "64", "-q"}
	run := func(out string, extra ...string) {
		t.Helper()
		args := append(append([]string{"run", "-out", filepath.Join(dir, out)}, common...), extra...)
		if code, _, stderr := runFuzz(t, args...); code > 1 {
			t.Fatalf("fuzz %v: exit %d\n%s", args, code, stderr)
		}
	}
	run("whole")
	run("s0", "-shard", "0/2", "-workers", "1")
	run("s1", "-shard", "1/2", "-workers", "2")
	code, _, stderr := runFuzz(t, "merge", "-out", filepath.Join(dir, "merged"),
		filepath.Join(dir, "s1", "report.json"), filepath.Join(dir, "s0", "report.json"))
	if code != 0 {
		t.Fatalf("fuzz merge: exit %d\n%s", code, stderr)
	}
	whole := readReport(t, filepath.Join(dir, "whole", "report.json")).WithoutTiming()
	merged := readReport(t, filepath.Join(dir, "merged", "report.json")).WithoutTiming()
	if diff := cmp.Diff(whole, merged, sameFloat); diff != "" {
		t.Errorf("merged shards differ from the unsharded run (-whole +merged):\n%s", diff)
	}
	if whole.Cases != 120 {
		t.Errorf("unsharded run covered %d cases, want 3 kernels × 40", whole.Cases)
	}
	// The naive kernel's overflow must be among the findings, shrunk to at most 3 elements.
	found := false
	for _, c := range whole.Cells {
		if c.Kernel != "softmax/naive/fp16" {
			continue
		}
		for _, ex := range c.Examples {
			if ex.Class == "overflow" || ex.Class == "nan" {
				found = true
				if ex.Rows*ex.Cols > 3 {
					t.Errorf("%s/%s counterexample has %d×%d elements, want ≤ 3: %s", c.Property, ex.Class, ex.Rows, ex.Cols, ex.Input)
				}
			}
		}
	}
	if !found {
		t.Error("the naive fp16 softmax showed no overflow or NaN finding in 40 cases")
	}
}

// TestRunDeterministic: the same seed and flags give the same JSON, whatever the worker count.
func TestRunDeterministic(t *testing.T) {
	dir := t.TempDir()
	for i, w := range []string{"1", "2"} {
		args := []string{"run", "-kernels", "lse/shifted/*", "-cases", "30", "-seed", "3", "-maxlen", "40", "-q",
			"-workers", w, "-out", filepath.Join(dir, w)}
		if code, _, stderr := runFuzz(t, args...); code != 0 {
			t.Fatalf("run %d: exit %d\n%s", i, code, stderr)
		}
	}
	a := readReport(t, filepath.Join(dir, "1", "report.json")).WithoutTiming()
	b := readReport(t, filepath.Join(dir, "2", "report.json")).WithoutTiming()
	if diff := cmp.Diff(a, b, sameFloat); diff != "" {
		t.Errorf("1 and 2 workers gave different reports (-1 +2):\n%s", diff)
	}
}

func TestRunUsageErrors(t *testing.T) {
	tests := []struct {
		args   []string
		want   string
		reason string
	}{
		{[]string{"run", "-shard", "2/2"}, "bad -shard", "shard index out of range"},
		{[]string{"run", "-shard", "x"}, "bad -shard", "malformed shard"},
		{[]string{"run", "-kernels", "nosuch"}, "no kernel matches", "unknown kernel name"},
		{[]string{"run", "-formats", "fp12"}, "unknown format", "unknown format"},
		{[]string{"run", "-ops", "conv"}, "conv", "unknown operation"},
		{[]string{"run", "-workers", "0"}, "-workers", "no workers"},
		{[]string{"run", "extra"}, "unexpected argument", "positional argument"},
		{[]string{"run", "-exec", "/nonexistent/kernel"}, "-exec", "external program that cannot start"},
		{[]string{"merge"}, "usage", "nothing to merge"},
		{[]string{"replay"}, "usage", "nothing to replay"},
		{[]string{"replay", "-kernel", "softmax/shifted/fp32", "-case", "v1;garbage"}, "bad -case", "malformed case text"},
	}
	for _, tt := range tests {
		code, _, stderr := runFuzz(t, tt.args...)
		if code != 2 || !strings.Contains(stderr, tt.want) {
			t.Errorf("fuzz %v: exit %d, stderr %q; want exit 2 mentioning %q (%s)", tt.args, code, stderr, tt.want, tt.reason)
		}
	}
}

// TestRunExitStatus: clean kernels exit 0; the deliberately broken ones fail as expected without
// failing the run; the replay of a shrunk counterexample fails again.
func TestRunExitStatus(t *testing.T) {
	dir := t.TempDir()
	code, _, stderr := runFuzz(t, "run", "-kernels", "softmax/shifted/fp16", "-cases", "30", "-maxlen", "64", "-q", "-out", filepath.Join(dir, "a"))
	if code != 0 {
		t.Fatalf("accurate kernel: exit %d\n%s", code, stderr)
	}
	code, _, stderr = runFuzz(t, "run", "-kernels", "softmax/naive/fp32", "-cases", "30", "-maxlen", "64", "-q", "-out", filepath.Join(dir, "b"))
	if code != 0 || !strings.Contains(stderr, "deliberately broken") {
		t.Fatalf("broken kernel: exit %d, want 0 with the failures listed as expected\n%s", code, stderr)
	}
	r := readReport(t, filepath.Join(dir, "b", "report.json"))
	var replay []string
	for _, c := range r.Cells {
		for _, ex := range c.Examples {
			replay = append(replay, ex.Input)
		}
	}
	if len(replay) == 0 {
		t.Fatal("the naive fp32 softmax produced no counterexample in 30 cases")
	}
	code, stdout, _ := runFuzz(t, "replay", "-kernel", "softmax/naive/fp32", "-case", replay[0])
	if code != 1 || !strings.Contains(stdout, "FAIL") {
		t.Errorf("replay of %s: exit %d, want 1 with a FAIL line\n%s", replay[0], code, stdout)
	}
	code, stdout, _ = runFuzz(t, "replay", "-report", filepath.Join(dir, "b", "report.json"))
	if code != 1 {
		t.Errorf("replay -report: exit %d, want 1\n%s", code, stdout)
	}
}

// TestInterruptWritesReport starts a long campaign in a child process, interrupts it with SIGINT
// and requires a valid report of the cases completed, marked as interrupted.
func TestInterruptWritesReport(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "run", "-cases", "1000000", "-maxlen", "64", "-out", dir)
	cmd.Env = append(os.Environ(), "FUZZ_TEST_MAIN=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var waitErr error
	select {
	case waitErr = <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("campaign did not stop within 60 s of SIGINT\n%s", stderr.String())
	}
	if ee, ok := waitErr.(*exec.ExitError); !ok || ee.ExitCode() != exitInterrupted {
		t.Errorf("interrupted campaign: %v, want exit status %d", waitErr, exitInterrupted)
	}
	r := readReport(t, filepath.Join(dir, "report.json"))
	if r.Config["interrupted"] != "true" || r.Cases <= 0 || r.Cases >= 1000000*int64(len(r.Kernels)) {
		t.Errorf("interrupted report: interrupted=%q, %d cases", r.Config["interrupted"], r.Cases)
	}
	for _, name := range []string{"report.md", "report.html"} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Size() == 0 {
			t.Errorf("%s missing after interrupt: %v", name, err)
		}
	}
	if !strings.Contains(stderr.String(), "INTERRUPTED") {
		t.Errorf("stderr does not say the campaign was interrupted:\n%s", stderr.String())
	}
	// Some naive kernel failure has been seen in the completed part.
	failures := int64(0)
	for _, c := range r.Cells {
		failures += c.Failures
	}
	if failures == 0 {
		t.Errorf("no findings in %d completed cases of the default kernels", r.Cases)
	}
}

// TestRunExecNumpy runs a campaign against the numpy reference client over the external
// protocol, with internal/pyenv's interpreter and PYTHONPATH (the ulpcheck package from the
// checkout). It needs numpy (Debian's python3-numpy); without it the test skips, unless
// ULPCHECK_REQUIRE_NUMPY=1 (as in CI) makes that a failure.
func TestRunExecNumpy(t *testing.T) {
	py := pyenv.Find(t)
	quote := func(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" } // -exec's words (SplitArgs)
	t.Setenv("PYTHONPATH", py.PythonPath())
	dir := t.TempDir()
	script := filepath.Join(py.Root, "examples", "external", "numpy_kernel.py")
	code, _, stderr := runFuzz(t, "run", "-exec", quote(py.Exe)+" "+quote(script),
		"-cases", "25", "-maxlen", "64", "-q", "-out", dir)
	if code > 1 {
		t.Fatalf("fuzz run -exec: exit %d\n%s", code, stderr)
	}
	r := readReport(t, filepath.Join(dir, "report.json"))
	if len(r.Kernels) == 0 || !strings.HasPrefix(r.Kernels[0].Name, "numpy/") {
		t.Fatalf("report kernels: %+v", r.Kernels)
	}
	if want := int64(25 * len(r.Kernels)); r.Cases != want {
		t.Errorf("report covers %d cases, want %d", r.Cases, want)
	}
	for _, k := range r.Kernels {
		if !strings.HasPrefix(k.Source, "external: ") {
			t.Errorf("kernel %s source %q, want external", k.Name, k.Source)
		}
	}
}

// BenchmarkCampaignScaling measures campaign throughput with one and two workers on the same
// cases in one run and reports cases/s for each and their ratio. The campaign is large enough
// (4 kernels × 1000 cases, rows up to 1025) that the slowest single case does not dominate.
func BenchmarkCampaignScaling(b *testing.B) {
	ks, err := selectKernels(kernels.Bundled(), "softmax/shifted/fp32,logsoftmax/shifted/fp16,lse/shifted/bf16,ce/fused/fp32", "all", "all")
	if err != nil {
		b.Fatal(err)
	}
	defer debug.SetGCPercent(debug.SetGCPercent(400)) // as fuzz run sets it
	rate := map[int]float64{}
	for i := 0; i < b.N; i++ {
		for _, w := range []int{1, 2} {
			c := &campaign{Kernels: ks, Cases: 1000, Seed: uint64(i + 1), Shard: reports.Unsharded(), Workers: w, MaxLen: 1025}
			start := time.Now()
			if _, err := c.run(context.Background(), nil); err != nil {
				b.Fatal(err)
			}
			rate[w] += float64(c.Cases*int64(len(ks))) / time.Since(start).Seconds()
		}
	}
	b.ReportMetric(rate[1]/float64(b.N), "cases/s-1worker")
	b.ReportMetric(rate[2]/float64(b.N), "cases/s-2workers")
	b.ReportMetric(rate[2]/rate[1], "scaling")
}

// TestDefaultCampaignFindings checks what the README promises of the default campaign: the naive
// softmax's overflow is found with a counterexample of at most 3 elements, the fp16-accumulating
// softmax's stalled sum is found (its largest-error case: small terms lost against the fp16 sum),
// and the accurate kernels come out clean. Under -short it runs a subset of
// the kernels (with the default campaign's cases for them); without, the default campaign itself.
// Every kept counterexample must be 1-minimal, and fp16acc's largest-error one at most 2,100
// elements long.
func TestDefaultCampaignFindings(t *testing.T) {
	dir := t.TempDir()
	args := []string{"run", "-q", "-out", dir}
	if testing.Short() {
		args = append(args, "-maxlen", "0", "-cases", "500", "-kernels",
			"softmax/naive/fp16,softmax/naive/fp32,softmax/fp16acc/fp16,softmax/shifted/fp16,softmax/online/bf16,logsoftmax/shifted/fp32,lse/shifted/fp16")
	}
	code, _, stderr := runFuzz(t, args...)
	if code != 0 {
		t.Errorf("exit %d, want 0 (only the deliberately broken kernels fail)\n%s", code, stderr)
	}
	r := readReport(t, filepath.Join(dir, "report.json"))
	broken := map[string]bool{}
	for _, k := range r.Kernels {
		broken[k.Name] = k.ExpectFail
	}
	byName := map[string]*kernels.Kernel{}
	for _, k := range kernels.Bundled() {
		byName[k.Name] = k
	}
	overflow := map[string]int{} // naive kernel → smallest overflow/NaN counterexample size
	saturated := 0
	for _, c := range r.Cells {
		if !broken[c.Kernel] {
			if c.Failures > 0 {
				t.Errorf("accurate kernel %s: %d failures of %s; first: %+v", c.Kernel, c.Failures, c.Property, c.First())
			}
			continue
		}
		for _, ex := range c.Examples {
			if strings.HasPrefix(c.Kernel, "softmax/naive/") && (ex.Class == "overflow" || ex.Class == "nan") {
				if n, ok := overflow[c.Kernel]; !ok || ex.Rows*ex.Cols < n {
					overflow[c.Kernel] = ex.Rows * ex.Cols
				}
			}
			if c.Kernel == "softmax/fp16acc/fp16" && ex.Worst {
				saturated++
				if n := ex.Rows * ex.Cols; n > 2100 {
					t.Errorf("softmax/fp16acc/fp16: the largest-error counterexample has %d elements, want ≤ 2,100", n)
				}
			}
			checkOneMinimal(t, byName[c.Kernel], ex)
		}
	}
	for _, k := range []string{"softmax/naive/fp16", "softmax/naive/fp32"} {
		if n, ok := overflow[k]; !ok || n > 3 {
			t.Errorf("%s: smallest overflow/NaN counterexample has %d elements (found: %v), want ≤ 3", k, n, ok)
		}
	}
	if saturated == 0 {
		t.Error("softmax/fp16acc/fp16: no largest-error counterexample (the stalled fp16 sum)")
	}
	if testing.Short() {
		return
	}
	// The default campaign's report stays small enough to open, mail and keep as a CI artefact.
	for _, name := range []string{"report.html", "report.json"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() >= 1<<20 {
			t.Errorf("default campaign: %s is %d bytes, want < 1 MiB", name, fi.Size())
		}
		t.Logf("default campaign: %s %d bytes", name, fi.Size())
	}
}

// checkOneMinimal fails the test unless the kept counterexample ex of kernel k is 1-minimal:
// removing any one row or column makes it stop failing as the shrinker required (the same
// property and class; for the largest-error one, at least half the original's ulp error).
func checkOneMinimal(t *testing.T, k *kernels.Kernel, ex reports.Counterexample) {
	t.Helper()
	if k == nil {
		t.Errorf("counterexample of an unknown kernel: %s", ex.Input)
		return
	}
	c, err := shrinking.ParseCase(ex.Input)
	if err != nil {
		t.Errorf("%s: %v", k.Name, err)
		return
	}
	ctx := context.Background()
	minULP := 0.0
	if ex.Worst && ex.Original != "" {
		orig, err := shrinking.ParseCase(ex.Original)
		if err != nil {
			t.Errorf("%s: original: %v", k.Name, err)
			return
		}
		g, err := fromShrinking(orig)
		if err != nil {
			t.Errorf("%s: original: %v", k.Name, err)
			return
		}
		v := properties.Evaluate(ctx, k, g)
		minULP = v.MaxUlp / 2
	}
	pred := failsLike(ctx, k, ex.Property, minULP)
	if failed, class := pred(c); !failed || class != ex.Class {
		t.Errorf("%s %s: the kept counterexample does not fail as recorded (%v, %q): %s", k.Name, ex.Property, failed, class, ex.Input)
		return
	}
	seen := map[string]bool{}
	for _, d := range oneSmaller(c) {
		key := d.String()
		if seen[key] {
			continue
		}
		seen[key] = true
		if failed, class := pred(d); failed && class == ex.Class {
			t.Errorf("%s %s: counterexample %dx%d is not 1-minimal: %s still fails (%s)", k.Name, ex.Property, c.Rows, c.Cols, key, class)
			return
		}
	}
}

// oneSmaller returns the cases made from c by removing one row or one column (never a row's
// target column, which the shrinker may not drop).
func oneSmaller(c shrinking.Case) []shrinking.Case {
	var out []shrinking.Case
	if c.Rows > 1 {
		for r := range c.Rows {
			d := c.Clone()
			d.Rows--
			del := func(s []float64) []float64 {
				if s == nil {
					return nil
				}
				return append(append([]float64{}, s[:r*c.Cols]...), s[(r+1)*c.Cols:]...)
			}
			d.X, d.DY, d.Probs = del(c.X), del(c.DY), del(c.Probs)
			if c.Targets != nil {
				d.Targets = append(append([]int{}, c.Targets[:r]...), c.Targets[r+1:]...)
			}
			out = append(out, d)
		}
	}
	if c.Cols > 1 {
	cols:
		for j := range c.Cols {
			d := c.Clone()
			for i, tg := range c.Targets {
				switch {
				case tg == j:
					continue cols
				case tg > j:
					d.Targets[i] = tg - 1
				}
			}
			d.Cols--
			del := func(s []float64) []float64 {
				if s == nil {
					return nil
				}
				var o []float64
				for r := range c.Rows {
					o = append(o, s[r*c.Cols:r*c.Cols+j]...)
					o = append(o, s[r*c.Cols+j+1:(r+1)*c.Cols]...)
				}
				return o
			}
			d.X, d.DY, d.Probs = del(c.X), del(c.DY), del(c.Probs)
			if c.Weights != nil {
				d.Weights = append(append([]float64{}, c.Weights[:j]...), c.Weights[j+1:]...)
			}
			out = append(out, d)
		}
	}
	return out
}

// TestTrainCommand runs the training demonstration through the CLI: each outcome is checked by
// training.Demo, which fails the command when one is not as expected.
func TestTrainCommand(t *testing.T) {
	code, stdout, stderr := runFuzz(t, "train")
	if code != 0 {
		t.Fatalf("fuzz train: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, want := range []string{"(a) naive softmax + scaler: loss 1.386 → NaN", "(b) stable softmax, no scaling", "(c) stable softmax + scaler", "accuracy 1.000",
		"(d) squared error, lr 0.1, no clipping (stability limit 2/λmax = 0.05508): loss 0.5 → NaN", "naive fp16 √Σg²", "(d) squared error, lr 0.1, clip_grad_norm_ 0.25", "first non-finite at step -1"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
}

// TestRunOutNotWritable: an -out that cannot be created fails with a usage error before the first
// case is run, instead of losing the campaign at the end.
func TestRunOutNotWritable(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	code, _, stderr := runFuzz(t, "run", "-q", "-cases", "100000", "-out", filepath.Join(file, "report"))
	if code != 2 || !strings.Contains(stderr, "-out") {
		t.Fatalf("unwritable -out: exit %d, stderr %q; want exit 2 naming -out", code, stderr)
	}
	if strings.Contains(stderr, "cases") || time.Since(start) > 5*time.Second {
		t.Errorf("unwritable -out: the campaign ran (%v) before failing:\n%s", time.Since(start), stderr)
	}
	// A directory that does not exist yet is created before the campaign.
	dir := filepath.Join(t.TempDir(), "a", "b")
	if code, _, stderr := runFuzz(t, "run", "-q", "-kernels", "softmax/shifted/fp32", "-cases", "5", "-out", dir); code != 0 {
		t.Fatalf("new -out directory: exit %d\n%s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "report.html")); err != nil {
		t.Error(err)
	}
}

// TestRunProfiles checks that -cpuprofile and -memprofile write pprof files (gzipped protocol
// buffers) and that an unwritable profile path is a usage error before the campaign starts.
func TestRunProfiles(t *testing.T) {
	dir := t.TempDir()
	cpu, mem := filepath.Join(dir, "cpu.prof"), filepath.Join(dir, "mem.prof")
	code, _, stderr := runFuzz(t, "run", "-kernels", "softmax/shifted/fp32", "-cases", "20", "-q",
		"-cpuprofile", cpu, "-memprofile", mem, "-out", filepath.Join(dir, "r"))
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	for _, p := range []string{cpu, mem} {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
			t.Errorf("%s: %d bytes, not a gzipped profile", p, len(b))
		}
	}
	for _, flag := range []string{"-cpuprofile", "-memprofile"} {
		code, _, stderr := runFuzz(t, "run", "-kernels", "softmax/shifted/fp32", "-cases", "1", "-q",
			flag, filepath.Join(dir, "no", "such", "dir", "p.prof"), "-out", filepath.Join(dir, "r2"))
		if code != 2 || !strings.Contains(stderr, flag) {
			t.Errorf("%s in a missing directory: exit %d, stderr %q; want 2 naming the flag", flag, code, stderr)
		}
	}
}
