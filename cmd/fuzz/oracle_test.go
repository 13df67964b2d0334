package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// runCLI runs fuzz in-process with the given arguments and stdin.
func runCLI(args []string, stdin string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = dispatch(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestDispatch(t *testing.T) {
	tests := []struct {
		args   []string
		code   int
		stderr string
		reason string
	}{
		{nil, 2, "usage: fuzz", "no command: usage, status 2"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`, "unknown command named"},
		{[]string{"oracle"}, 2, "-op is required", "oracle without -op"},
		{[]string{"oracle", "-op", "lse"}, 2, "-format is required", "oracle without -format"},
		{[]string{"oracle", "-op", "exp", "-format", "fp16"}, 2, `unknown -op "exp"`, "unknown op"},
		{[]string{"oracle", "-op", "lse", "-format", "fp12"}, 2, "-format", "unknown format"},
		{[]string{"oracle", "-op", "lse", "-format", "fp16", "-policy", "one"}, 2, "-policy", "unknown policy"},
		{[]string{"oracle", "-op", "ce", "-format", "fp16", "-label-smoothing", "1.5"}, 2, "-label-smoothing", "ε out of [0, 1]"},
		{[]string{"oracle", "-op", "ce", "-format", "fp16", "-weights", "1,-2"}, 2, "weight 2", "negative weight"},
		{[]string{"oracle", "-op", "lse", "-format", "fp16", "-ignore-index", "3"}, 2, "apply to -op ce only", "ce flag on lse"},
		{[]string{"oracle", "-op", "lse", "-format", "fp16", "extra"}, 2, `unexpected argument "extra"`, "positional argument"},
		{[]string{"oracle", "-bogus"}, 2, "flag provided but not defined", "unknown flag"},
	}
	for _, tc := range tests {
		code, _, stderr := runCLI(tc.args, "")
		if code != tc.code || !strings.Contains(stderr, tc.stderr) {
			t.Errorf("fuzz %q: status %d, stderr %q; want %d and %q (%s)", tc.args, code, stderr, tc.code, tc.stderr, tc.reason)
		}
	}
	if code, stdout, _ := runCLI([]string{"help"}, ""); code != 0 || !strings.Contains(stdout, "oracle") {
		t.Errorf("fuzz help: status %d, stdout %q; want 0 and the command list", code, stdout)
	}
}

func Example_oracle() {
	dispatch([]string{"oracle", "-op", "softmax", "-format", "fp16"},
		strings.NewReader("0 0 0 0\n0 1\n-inf -inf\n"), os.Stdout, os.Stderr)
	// Output:
	// 0x1p-02 0x1p-02 0x1p-02 0x1p-02
	// 0x1.138p-02 0x1.764p-01
	// nan nan
}
