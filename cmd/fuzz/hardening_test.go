package main

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/ulpcheck/ulpcheck/fp"
	"github.com/ulpcheck/ulpcheck/kernels"
	"github.com/ulpcheck/ulpcheck/reports"
)

// shifted is a correct float64 softmax, the base the misbehaving kernels below deviate from.
func shifted(dst, x []float64) {
	m := math.Inf(-1)
	for _, v := range x {
		m = math.Max(m, v)
	}
	s := 0.0
	for i, v := range x {
		dst[i] = math.Exp(v - m)
		s += dst[i]
	}
	for i := range dst {
		dst[i] /= s
	}
}

// TestCampaignSurvivesHostileKernels runs a campaign over kernels that panic, hang, return the
// wrong length, modify their input, write past their output and return NaN everywhere. Each must
// show up as its own finding, every case must be counted, and the campaign must finish.
func TestCampaignSurvivesHostileKernels(t *testing.T) {
	hostile := []*kernels.Kernel{
		kernels.Softmax[float64]("hostile/panic", func(dst, x []float64) {
			if len(x) > 2 {
				panic("index out of range in the user's kernel")
			}
			shifted(dst, x)
		}),
		kernels.Softmax[float64]("hostile/hang", func(dst, x []float64) {
			if len(x) > 2 {
				time.Sleep(time.Hour) // leaks one goroutine per call past the timeout, by design
			}
			shifted(dst, x)
		}, kernels.WithTimeout(50*time.Millisecond)),
		kernels.SoftmaxErr[float64]("hostile/error", func(dst, x []float64) error {
			if len(x) > 2 {
				return errBadKernel
			}
			shifted(dst, x)
			return nil
		}),
		{Name: "hostile/short", Op: kernels.OpSoftmax, In: fp.FP64, Fn: func(_ context.Context, a *kernels.Args) ([]float64, error) {
			out := make([]float64, len(a.X))
			for r := 0; r < a.Rows; r++ {
				shifted(out[r*a.Cols:(r+1)*a.Cols], a.X[r*a.Cols:(r+1)*a.Cols])
			}
			if len(out) > 0 {
				out = out[:len(out)-1] // one output short
			}
			return out, nil
		}},
		kernels.Softmax[float64]("hostile/modifies-input", func(dst, x []float64) {
			shifted(dst, x)
			if len(x) > 0 {
				x[0] = 42
			}
		}),
		kernels.Softmax[float64]("hostile/writes-past-output", func(dst, x []float64) {
			shifted(dst, x)
			if cap(dst) > len(dst) {
				dst[:len(dst)+1][len(dst)] = 1
			}
		}),
		kernels.Softmax[float64]("hostile/nan", func(dst, x []float64) {
			for i := range dst {
				dst[i] = math.NaN()
			}
		}),
	}
	c := &campaign{Kernels: hostile, Cases: 30, Seed: 5, Shard: reports.Unsharded(), Workers: 2, MaxLen: 16, Shrink: true}
	done := make(chan struct{})
	var r *reports.Report
	var err error
	go func() {
		defer close(done)
		r, err = c.run(context.Background(), nil)
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("campaign over hostile kernels did not finish in 2 minutes")
	}
	if err != nil {
		t.Fatal(err)
	}
	if r.Cases != int64(30*len(hostile)) {
		t.Errorf("report counts %d cases, want %d", r.Cases, 30*len(hostile))
	}
	want := map[string]string{
		"hostile/panic":              "panic",
		"hostile/hang":               "timed out",
		"hostile/error":              "bad kernel",
		"hostile/short":              "length",
		"hostile/modifies-input":     "input",
		"hostile/writes-past-output": "outside",
		"hostile/nan":                "",
	}
	for name, msg := range want {
		found := false
		for _, cell := range r.Cells {
			if cell.Kernel != name || cell.Failures == 0 {
				continue
			}
			for _, ex := range cell.Examples {
				if name == "hostile/nan" && ex.Class == "nan" || msg != "" && ex.Class == "contract" && strings.Contains(strings.ToLower(ex.Message), msg) {
					found = true
				}
			}
		}
		if !found {
			t.Errorf("%s: no finding mentioning %q", name, msg)
		}
	}
}

type kernelError string

func (e kernelError) Error() string { return string(e) }

const errBadKernel = kernelError("bad kernel: unsupported shape")
