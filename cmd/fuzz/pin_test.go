package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// pinArgs is the campaign behind testdata/pin-report.json, which was written by the fuzz command
// at the merge of i14 into main (before any throughput work on issue 11) with
//
//	fuzz run -kernels <pinKernels> -cases 100 -seed 7 -maxlen 64 -q -out DIR
//
// Speed-ups must not change what a campaign draws, judges or shrinks: TestPinnedReport reruns it
// and requires the same JSON bytes except for the timing and version fields.
const pinKernels = "softmax/shifted/fp16,softmax/shifted/fp32,softmax/naive/fp16," +
	"logsoftmax/shifted/bf16,logsoftmax/shifted/fp32,lse/shifted/fp16,lse/shifted/fp32," +
	"ce/fused/bf16,ce/fused/fp32,cegrad/fp16,sigmoid/stable/fp16,logsigmoid/naive/fp32"

// unpinned matches the report's fields that may differ between runs of the same campaign.
var unpinned = regexp.MustCompile(`(?m)^  "(timing|version)": .*$`)

func maskUnpinned(b []byte) []byte {
	return unpinned.ReplaceAllFunc(b, func(m []byte) []byte {
		return append(bytes.SplitN(m, []byte(":"), 2)[0], []byte(": <masked>")...)
	})
}

func TestPinnedReport(t *testing.T) {
	want, err := os.ReadFile(filepath.Join("testdata", "pin-report.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"1", "2"} {
		dir := t.TempDir()
		code, _, stderr := runFuzz(t, "run", "-kernels", pinKernels, "-cases", "100", "-seed", "7",
			"-maxlen", "64", "-q", "-workers", w, "-out", dir)
		if code != 0 {
			t.Fatalf("workers %s: exit %d\n%s", w, code, stderr)
		}
		got, err := os.ReadFile(filepath.Join(dir, "report.json"))
		if err != nil {
			t.Fatal(err)
		}
		if n := len(unpinned.FindAll(got, -1)); n != 2 {
			t.Fatalf("workers %s: %d timing/version lines in the report, want 2 (has its layout changed?)", w, n)
		}
		g, x := maskUnpinned(got), maskUnpinned(want)
		if !bytes.Equal(g, x) {
			gl, xl := bytes.Split(g, []byte("\n")), bytes.Split(x, []byte("\n"))
			for i := 0; i < len(gl) || i < len(xl); i++ {
				var a, b []byte
				if i < len(gl) {
					a = gl[i]
				}
				if i < len(xl) {
					b = xl[i]
				}
				if !bytes.Equal(a, b) {
					t.Fatalf("workers %s: report differs from testdata/pin-report.json at line %d:\n got: %.300s\nwant: %.300s",
						w, i+1, a, b)
				}
			}
		}
	}
}
