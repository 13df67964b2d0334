package main

// This file benchmarks "fuzz oracle" as a whole process against the oracle in process on the
// same rows, in one run, and reports the ratio (b.ReportMetric), as issue 11 asks.

import (
	"bytes"
	"io"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/ulpcheck/ulpcheck/fp"
	"github.com/ulpcheck/ulpcheck/oracle"
)

// hexRows returns rows×n fp32 logits uniform in [−20, 20] from a fixed seed and the same rows as
// "fuzz oracle" input: one line per row, hex floats in strconv's shortest form.
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

// buildFuzz builds the fuzz command into dir and returns the binary's path.
func buildFuzz(tb testing.TB, dir string) string {
	tb.Helper()
	bin := filepath.Join(dir, "fuzz")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// BenchmarkOracleProcess runs `fuzz oracle -op softmax -format fp32` as a process on 400 rows of
// 1024 fp32 hex floats and oracle.Softmax in process on the same rows, alternately in one run,
// and reports both times and their ratio (target ≤ 2). The process's output is checked against
// the in-process results, formatted as the command documents.
func BenchmarkOracleProcess(b *testing.B) {
	bin := buildFuzz(b, b.TempDir())
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
	var tp, ti time.Duration
	n := 0
	for b.Loop() {
		ti += inProcess()
		cmd := exec.Command(bin, "oracle", "-op", "softmax", "-format", "fp32")
		cmd.Stdin = bytes.NewReader(input)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		t0 := time.Now()
		err := cmd.Run()
		tp += time.Since(t0)
		if err != nil {
			b.Fatalf("fuzz oracle: %v\n%s", err, errb.String())
		}
		if !bytes.Equal(out.Bytes(), want.Bytes()) {
			b.Fatalf("fuzz oracle output differs from the in-process oracle's (%d bytes, want %d)", out.Len(), want.Len())
		}
		n++
	}
	b.ReportMetric(float64(tp.Nanoseconds())/float64(n)/1e6, "process-ms")
	b.ReportMetric(float64(ti.Nanoseconds())/float64(n)/1e6, "inprocess-ms")
	b.ReportMetric(float64(tp)/float64(ti), "ratio")
}

// BenchmarkRunOracle runs the command's loop in process on the rows of BenchmarkOracleProcess
// (for -cpuprofile: parsing, checking and printing without the process start).
func BenchmarkRunOracle(b *testing.B) {
	_, input := hexRows(400, 1024, 11)
	cfg := oracleConfig{op: "softmax", f: fp.FP32, pol: fp.MaskNaN}
	for b.Loop() {
		var errb bytes.Buffer
		if code := runOracle(cfg, bytes.NewReader(input), io.Discard, &errb); code != 0 {
			b.Fatalf("runOracle: status %d\n%s", code, errb.String())
		}
	}
}
