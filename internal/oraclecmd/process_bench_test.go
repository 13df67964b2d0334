package oraclecmd

// This file benchmarks the oracle command as a whole process (ulporacle, and "fuzz oracle")
// against the oracle in process on the same rows, in one run, and reports the ratios
// (b.ReportMetric), as issue 11 asks.

import (
	"bytes"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/ulpcheck/ulpcheck/fp"
	"github.com/ulpcheck/ulpcheck/oracle"
)

// hexRows returns rows×n fp32 logits uniform in [−20, 20] from a fixed seed and the same rows as
// oracle command input: one line per row, hex floats in strconv's shortest form.
func hexRows(rows, n int, seed uint64) ([][]float64, []byte) {
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	xs := make([][]float64, rows)
	var buf []byte
	for i := range xs {
		xs[i] = make([]float64, n)
		for j := range xs[i] {
			xs[i][j], _ = fp.FP32.RoundFloat64(r.Float64()*40 - 20)
			if j > 0 {
				buf = append(buf, ' ')
			}
			buf = strconv.AppendFloat(buf, xs[i][j], 'x', -1, 64)
		}
		buf = append(buf, '\n')
	}
	return xs, buf
}

// buildCommand builds the command in ../../cmd/name into dir and returns the binary's path.
func buildCommand(tb testing.TB, dir, name string) string {
	tb.Helper()
	bin := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-o", bin, "../../cmd/"+name)
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("go build %s: %v\n%s", name, err, out)
	}
	return bin
}

// BenchmarkOracleProcess runs `ulporacle -op softmax -format fp32` as a process on 400 rows of
// 1024 fp32 hex floats, with all CPUs and with GOMAXPROCS=1, `fuzz oracle` with the same flags,
// and oracle.Softmax in process on the same rows, alternately in one run, and reports the times
// and the ratios to the in-process time (target ≤ 2: "ratio"). Each process's output is checked
// against the in-process results, formatted as the command documents.
func BenchmarkOracleProcess(b *testing.B) {
	dir := b.TempDir()
	lean, fuzz := buildCommand(b, dir, "ulporacle"), buildCommand(b, dir, "fuzz")
	xs, input := hexRows(400, 1024, 11)
	var want bytes.Buffer
	inProcess := func() time.Duration {
		t := time.Now()
		for _, x := range xs {
			if _, err := oracle.Softmax(fp.FP32, x, fp.MaskNaN); err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(t)
	}
	for _, x := range xs {
		vs, err := oracle.Softmax(fp.FP32, x, fp.MaskNaN)
		if err != nil {
			b.Fatal(err)
		}
		for j, v := range vs {
			if j > 0 {
				want.WriteByte(' ')
			}
			want.WriteString(formatValue(fp.FP32, v.Rounded, false))
		}
		want.WriteByte('\n')
	}
	// stdin and stdout are files, as with a shell's redirections, so that no goroutine of this
	// process copies the bytes while the command runs.
	inPath, outPath := filepath.Join(dir, "in.txt"), filepath.Join(dir, "out.txt")
	if err := os.WriteFile(inPath, input, 0o644); err != nil {
		b.Fatal(err)
	}
	run := func(args []string, env ...string) time.Duration {
		in, err := os.Open(inPath)
		if err != nil {
			b.Fatal(err)
		}
		defer in.Close()
		out, err := os.Create(outPath)
		if err != nil {
			b.Fatal(err)
		}
		defer out.Close()
		cmd := exec.Command(args[0], append(args[1:], "-op", "softmax", "-format", "fp32")...)
		cmd.Env = append(os.Environ(), env...)
		var errb bytes.Buffer
		cmd.Stdin, cmd.Stdout, cmd.Stderr = in, out, &errb
		t0 := time.Now()
		err = cmd.Run()
		d := time.Since(t0)
		if err != nil {
			b.Fatalf("%s: %v\n%s", args, err, errb.String())
		}
		if got, err := os.ReadFile(outPath); err != nil || !bytes.Equal(got, want.Bytes()) {
			b.Fatalf("%s: output differs from the in-process oracle's (%d bytes, want %d, %v)", args, len(got), want.Len(), err)
		}
		return d
	}
	var tp, tp1, tf, ti time.Duration
	n := 0
	for b.Loop() {
		ti += inProcess()
		tp += run([]string{lean})
		tp1 += run([]string{lean}, "GOMAXPROCS=1")
		tf += run([]string{fuzz, "oracle"})
		n++
	}
	ms := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / float64(n) / 1e6 }
	b.ReportMetric(ms(ti), "inprocess-ms")
	b.ReportMetric(ms(tp), "process-ms")
	b.ReportMetric(float64(tp)/float64(ti), "ratio")
	b.ReportMetric(ms(tp1), "process-1cpu-ms")
	b.ReportMetric(float64(tp1)/float64(ti), "ratio-1cpu")
	b.ReportMetric(ms(tf), "fuzz-oracle-ms")
	b.ReportMetric(float64(tf)/float64(ti), "fuzz-oracle-ratio")
}

// BenchmarkRunOracle runs the command's loop in process on the rows of BenchmarkOracleProcess
// (for -cpuprofile: parsing, checking and printing without the process start).
func BenchmarkRunOracle(b *testing.B) {
	_, input := hexRows(400, 1024, 11)
	cfg := oracleConfig{name: "ulporacle", op: "softmax", f: fp.FP32, pol: fp.MaskNaN}
	for b.Loop() {
		var errb bytes.Buffer
		if code := runOracle(cfg, bytes.NewReader(input), io.Discard, &errb); code != 0 {
			b.Fatalf("runOracle: status %d\n%s", code, errb.String())
		}
	}
}
