package oraclecmd

import (
	"bytes"
	"math/rand/v2"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/ulpcheck/ulpcheck/fp"
)

// runCLI runs the oracle command in process with the given arguments and stdin.
func runCLI(args []string, stdin string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = Main("ulporacle", args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// Expected outputs below were computed independently of package oracle, by
// scripts/golden/golden.py (mpmath at 160/320 bits, Fraction for exact cases,
// its own rounding); the derivation is given in each reason.
func TestOracleCommand(t *testing.T) {
	tests := []struct {
		args   []string
		stdin  string
		want   string
		reason string
	}{
		{[]string{"-op", "lse", "-format", "fp64"}, "0 0\n", "0x1.62e42fefa39efp-01\n", "LSE(0,0) = ln 2, fp64 0x1.62e42fefa39efp-1"},
		{[]string{"-op", "lse", "-format", "fp16"}, "65504 65504\n", "0x1.ffcp+15\n", "65504 + ln 2 rounds back to 65504 (ulp 32): no overflow"},
		{[]string{"-op", "lse", "-format", "e5m2"}, "1 2 3\n", "0x1.cp+01\n", "LSE(1,2,3) = 3.4076 -> e5m2 3.5"},
		{[]string{"-op", "lse", "-format", "fp16"}, "1 nan\n1 inf\n-inf -inf\n", "nan\ninf\n-inf\n", "NUMERICS §5: NaN, +Inf, fully masked"},
		{[]string{"-op", "softmax", "-format", "fp16"}, "0 0 0 0\n", "0x1p-02 0x1p-02 0x1p-02 0x1p-02\n", "equal logits: exactly 1/4"},
		{[]string{"-op", "softmax", "-format", "fp16"}, "0 1\n", "0x1.138p-02 0x1.764p-01\n", "1/(1+e), e/(1+e) rounded to fp16"},
		{[]string{"-op", "softmax", "-format", "fp16", "-decimal"}, "0 0 0\n", "0.3333 0.3333 0.3333\n", "fp16(1/3) = 0.333251953125; 0.3333 is the shortest decimal rounding to it, 0.333 is not"},
		{[]string{"-op", "softmax", "-format", "fp16", "-policy", "zero"}, "-inf -inf\n3 -inf\n", "0x0p+00 0x0p+00\n0x1p+00 0x0p+00\n", "fully masked row under policy zero; masked entry exactly 0"},
		{[]string{"-op", "softmax", "-format", "fp16", "-policy", "nan"}, "-inf -inf\n", "nan nan\n", "fully masked row under policy nan"},
		{[]string{"-op", "logsoftmax", "-format", "fp32"}, "0 0\n", "-0x1.62e43p-01 -0x1.62e43p-01\n", "-ln 2 in fp32"},
		{[]string{"-op", "logsoftmax", "-format", "fp32", "-policy", "zero"}, "-inf -inf\n", "-inf -inf\n", "fully masked row under policy zero: log 0"},
		{[]string{"-op", "ce", "-format", "bf16"}, "2 1 2 3\n", "0x1.a2p-02\n", "log(e^-2 + e^-1 + 1) = 0.40761 -> bf16"},
		{[]string{"-op", "ce", "-format", "bf16", "-label-smoothing", "0.1"}, "0 1 2 3\n", "0x1.28p+01\n", "0.9(LSE-1) + 0.1/3 Σ(LSE-x_c), ε = float64(0.1) exactly"},
		{[]string{"-op", "ce", "-format", "fp32", "-weights", "1,2,0.5"}, "1 0.5 -1 2\n", "0x1.9ee34ap+02\n", "w_t (LSE - x_t) with w_t = 2"},
		{[]string{"-op", "ce", "-format", "fp64"}, "0 0 -inf\n-100 nan nan\n", "0x0p+00\n0x0p+00\n", "single finite entry at the target: loss exactly 0; ignored row: 0"},
		{[]string{"-op", "lse", "-format", "fp16", "-round"}, "0.1\n1.000488281250000000867361737988403547205962240695953369140625\n", "0x1.998p-04\n0x1.004p+00\n", "-round rounds the exact decimal straight to fp16 (the second is above a midpoint that float64 would hit)"},
		{[]string{"-op", "lse", "-format", "e4m3", "-round"}, "-inf 1\n", "nan\n", "-round: -inf becomes E4M3's NaN, and NaN propagates"},
		{[]string{"-op", "lse", "-format", "fp64"}, "1\n\n2\n", "0x1p+00\n\n0x1p+01\n", "blank lines are echoed; single entries are exact"},
	}
	for _, tc := range tests {
		code, stdout, stderr := runCLI(tc.args, tc.stdin)
		if code != 0 || stdout != tc.want {
			t.Errorf("ulporacle %q < %q:\nstatus %d, stdout %q, stderr %q\nwant status 0, stdout %q (%s)",
				tc.args, tc.stdin, code, stdout, stderr, tc.want, tc.reason)
		}
	}
}

func TestOracleCommandBadInput(t *testing.T) {
	tests := []struct {
		args   []string
		stdin  string
		stderr string
		reason string
	}{
		{[]string{"-op", "lse", "-format", "fp16"}, "1 2\n1 abc\n", `line 2: field 2 "abc": not a number`, "unparsable number names line and field"},
		{[]string{"-op", "lse", "-format", "fp16"}, "0.1\n", "line 1: field 1 \"0.1\": 0.1 is not a value of fp16 (use -round", "non-member refused without -round"},
		{[]string{"-op", "lse", "-format", "e4m3"}, "-inf 1\n", "is not a value of e4m3", "E4M3 has no -inf"},
		{[]string{"-op", "ce", "-format", "fp16"}, "0 1 2\n5 1 2\n", "line 2: field 1 \"5\": target class out of range [0, 2)", "target out of range"},
		{[]string{"-op", "ce", "-format", "fp16"}, "-1 1 2\n", "target class out of range", "negative target that is not the ignore index"},
		{[]string{"-op", "ce", "-format", "fp16"}, "1.5 1 2\n", "target class: not an integer", "fractional target"},
		{[]string{"-op", "ce", "-format", "fp16"}, "1\n", "line 1: ce: a target class and no logits", "no logits"},
		{[]string{"-op", "ce", "-format", "fp16", "-weights", "1,2"}, "0 1 2 3\n", "3 logits but 2 -weights", "weights length mismatch"},
		{[]string{"-op", "ce", "-format", "fp16"}, "0 1 0.1\n", "field 3", "logit field numbering counts the target"},
	}
	for _, tc := range tests {
		code, _, stderr := runCLI(tc.args, tc.stdin)
		if code != 2 || !strings.Contains(stderr, tc.stderr) {
			t.Errorf("ulporacle %q < %q: status %d, stderr %q; want 2 and %q (%s)", tc.args, tc.stdin, code, stderr, tc.stderr, tc.reason)
		}
	}
}

func TestOracleCommandLongLine(t *testing.T) {
	defer func(n int) { maxLineBytes = n }(maxLineBytes)
	maxLineBytes = 64
	code, stdout, stderr := runCLI([]string{"-op", "softmax", "-format", "fp16"},
		"0 0\n"+strings.Repeat("1 ", 40)+"\n")
	if code != 2 || !strings.Contains(stderr, "line 2: longer than 64 bytes") {
		t.Errorf("over-long line: status %d, stderr %q; want 2 and a message naming line 2", code, stderr)
	}
	if want := "0x1p-01 0x1p-01\n"; stdout != want {
		t.Errorf("lines before the over-long one: stdout %q, want %q", stdout, want)
	}
}

// TestOracleParallelMatchesSequential answers inputs of many batches (rows of every kind, blank
// lines, specials, rows that take the general path) with 1, 2 and 3 workers and requires the same
// stdout, stderr and exit status, also when a line in the middle is bad input or too long.
func TestOracleParallelMatchesSequential(t *testing.T) {
	defer func(f func() int, n int) { oracleWorkers, maxLineBytes = f, n }(oracleWorkers, maxLineBytes)
	maxLineBytes = 4096
	r := rand.New(rand.NewPCG(3, 4))
	var lines []string
	for i := range 1500 {
		switch {
		case i%97 == 0:
			lines = append(lines, "")
		case i%89 == 0:
			lines = append(lines, "-inf -inf\t1 nan")
		case i%83 == 0:
			lines = append(lines, "1 2.5 \u00a0 3") // Unicode space: the general path
		default:
			var sb strings.Builder
			for j := range 1 + r.IntN(40) {
				if j > 0 {
					sb.WriteByte(' ')
				}
				v, _ := fp.FP16.RoundFloat64(r.Float64()*30 - 15)
				sb.WriteString(strconv.FormatFloat(v, 'x', -1, 64))
			}
			lines = append(lines, sb.String())
		}
	}
	inputs := map[string]string{"clean": strings.Join(lines, "\n") + "\n"}
	bad := append([]string(nil), lines...)
	bad[1100] = "1 0.1 2" // not an fp16 value
	inputs["bad field"] = strings.Join(bad, "\n") + "\n"
	long := append([]string(nil), lines...)
	long[1200] = strings.Repeat("1 ", 3000)
	inputs["long line"] = strings.Join(long, "\n")
	for name, in := range inputs {
		for _, op := range []string{"softmax", "lse"} {
			var want [3]string
			for _, w := range []int{1, 2, 3} {
				oracleWorkers = func() int { return w }
				code, stdout, stderr := runCLI([]string{"-op", op, "-format", "fp16"}, in)
				got := [3]string{strconv.Itoa(code), stdout, stderr}
				if w == 1 {
					want = got
					if name != "clean" && (code != 2 || stderr == "") || name == "clean" && code != 0 {
						t.Fatalf("%s, %s, one worker: status %d, stderr %q", name, op, code, stderr)
					}
					continue
				}
				if got != want {
					t.Errorf("%s, %s, %d workers: status %s, %d bytes out, stderr %q; one worker: status %s, %d bytes, stderr %q",
						name, op, w, got[0], len(got[1]), got[2], want[0], len(want[1]), want[2])
				}
			}
		}
	}
}

// TestUlporacleBinary builds cmd/ulporacle and runs it as a process: its output, messages and
// exit statuses are those of Main in process.
func TestUlporacleBinary(t *testing.T) {
	bin := buildCommand(t, t.TempDir(), "ulporacle")
	for _, tc := range []struct {
		args  []string
		stdin string
		code  int
	}{
		{[]string{"-op", "softmax", "-format", "fp16"}, "0 0 0 0\n0 1\n\n-inf -inf\n", 0},
		{[]string{"-op", "ce", "-format", "bf16", "-label-smoothing", "0.1"}, "0 1 2 3\n", 0},
		{[]string{"-op", "lse", "-format", "fp16"}, "1 2\n1 0.1\n", 2},
		{[]string{"-op", "lse"}, "", 2},
		{[]string{"-h"}, "", 0},
	} {
		cmd := exec.Command(bin, tc.args...)
		var out, errb bytes.Buffer
		cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(tc.stdin), &out, &errb
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("ulporacle %q: %v", tc.args, err)
		}
		wcode, wout, werr := runCLI(tc.args, tc.stdin)
		if code != tc.code || code != wcode || out.String() != wout || errb.String() != werr {
			t.Errorf("ulporacle %q < %q: status %d, stdout %q, stderr %q; in process: %d, %q, %q (want status %d)",
				tc.args, tc.stdin, code, out.String(), errb.String(), wcode, wout, werr, tc.code)
		}
	}
}
