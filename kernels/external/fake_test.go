package external

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"testing"
	"time"

	"github.com/ulpcheck/ulpcheck/fp"
	"github.com/ulpcheck/ulpcheck/kernels"
)

// The test binary doubles as the fake children: with ULPCHECK_EXTERNAL_FAKE set it speaks the
// protocol (or breaks it, as the mode says) on stdin/stdout instead of running tests.
const fakeEnv = "ULPCHECK_EXTERNAL_FAKE"

func TestMain(m *testing.M) {
	if mode := os.Getenv(fakeEnv); mode != "" {
		os.Exit(fakeChild(mode))
	}
	os.Exit(m.Run())
}

// fakeArgv returns the command that starts a fake child in the given mode.
func fakeArgv(t *testing.T, mode string) ([]string, Options) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return []string{exe, "-test.run=^$"}, Options{Env: append(os.Environ(), fakeEnv+"="+mode)}
}

var fakeHello = &Hello{Protocol: Protocol, Client: "fake", Kernels: []Entry{
	{Name: "fake/softmax/fp64", Doc: "two-pass shifted softmax in float64", Op: kernels.OpSoftmax, In: fp.FP64},
	{Name: "fake/lse/fp32", Doc: "shifted LSE in float32", Op: kernels.OpLSE, In: fp.FP32},
}}

// fakeCompute is the well-behaved kernels of the fake child.
func fakeCompute(r *Request) ([]float64, error) {
	switch r.Op {
	case kernels.OpSoftmax:
		out := make([]float64, len(r.X))
		for i := 0; i < r.Rows; i++ {
			row := r.X[i*r.Cols : (i+1)*r.Cols]
			m := math.Inf(-1)
			for _, v := range row {
				m = math.Max(m, v)
			}
			s := 0.0
			for j, v := range row {
				out[i*r.Cols+j] = math.Exp(v - m)
				s += out[i*r.Cols+j]
			}
			for j := range row {
				out[i*r.Cols+j] /= s
			}
		}
		return out, nil
	case kernels.OpLSE:
		if r.Cols == 0 {
			return nil, fmt.Errorf("%w: empty rows", kernels.ErrUnsupported)
		}
		out := make([]float64, r.Rows)
		for i := range out {
			row := r.X[i*r.Cols : (i+1)*r.Cols]
			m := math.Inf(-1)
			for _, v := range row {
				m = math.Max(m, v)
			}
			s := 0.0
			for _, v := range row {
				s += math.Exp(v - m)
			}
			out[i] = float64(float32(m + math.Log(s)))
		}
		return out, nil
	}
	return nil, fmt.Errorf("op %v not served", r.Op)
}

// fakeChild runs one fake child. Modes that misbehave do so on the second request of each
// child's life, so that a test sees: a good call, the misbehaviour, and a good call from the
// restarted child.
func fakeChild(mode string) int {
	in := bufio.NewReader(os.Stdin)
	out := os.Stdout
	h := fakeHello
	switch mode {
	case "conform", "conform-v2": // the conformance checks' fixture (conform_test.go), served by Serve
		h := conformHello
		if mode == "conform-v2" {
			h2 := *conformHello
			h2.Protocol = "ulpcheck-kernel/2"
			h = &h2
		}
		if err := Serve(in, out, h, conformCompute, 0); err != nil {
			fmt.Fprintln(os.Stderr, "fake:", err)
			return 1
		}
		return 0
	case "exit-at-once":
		fmt.Fprintln(os.Stderr, "fatal: cannot load the model")
		return 3
	case "bad-version":
		h2 := *fakeHello
		h2.Protocol = "ulpcheck-kernel/2"
		h = &h2
	case "hello-garbage":
		fmt.Fprintln(out, "Loading kernels... done")
	case "stall-hello":
		time.Sleep(time.Hour)
	case "hello-changes":
		// The first child says one thing, its replacements another.
		if _, err := os.Stat(os.Getenv("ULPCHECK_EXTERNAL_MARK")); err == nil {
			h2 := *fakeHello
			h2.Client = "fake, upgraded"
			h = &h2
		} else {
			os.WriteFile(os.Getenv("ULPCHECK_EXTERNAL_MARK"), nil, 0o644)
		}
		mode = "exit-between"
	}
	hb, _ := EncodeHello(h)
	if err := WriteFrame(out, hb, 0); err != nil {
		return 1
	}
	for n := 1; ; n++ {
		if mode == "no-read" && n == 2 {
			time.Sleep(time.Hour) // stops reading stdin: a large request blocks the harness's write
		}
		p, err := ReadFrame(in, 0)
		if err != nil {
			return 0
		}
		req, err := DecodeRequest(p)
		if err != nil {
			fmt.Fprintln(os.Stderr, "fake:", err)
			return 4
		}
		resp := &Response{ID: req.ID}
		if o, err := fakeCompute(req); err != nil {
			resp.Status, resp.Message = StatusUnsupported, err.Error()
		} else {
			resp.Out = o
		}
		if mode == "noise" {
			fmt.Fprintf(os.Stderr, "warning: request %d looks suspicious\n", n)
			time.Sleep(50 * time.Millisecond) // let the harness's stderr reader see it first
		}
		if n == 2 {
			switch mode {
			case "exit-mid":
				// Half a response, then death.
				out.Write([]byte{100, 0, 0, 0, 0, 0, 0, 0, 'A', 1, 2})
				fmt.Fprintln(os.Stderr, "Segmentation fault (core dumped)")
				return 139
			case "exit-between":
				fmt.Fprintln(os.Stderr, "bye")
				return 0
			case "garbage":
				fmt.Fprintln(out, "Traceback (most recent call last):\n  File \"kernel.py\", line 1")
				time.Sleep(time.Hour)
			case "huge":
				var b [8]byte
				binary.LittleEndian.PutUint64(b[:], 1<<40)
				out.Write(b[:])
				time.Sleep(time.Hour)
			case "stall":
				time.Sleep(time.Hour)
			case "wrong-id":
				resp.ID += 1000
			case "wrong-count":
				resp.Out = resp.Out[:len(resp.Out)-1]
			case "bad-status":
				b, _ := EncodeResponse(resp, req.Out)
				b[5] = 9
				WriteFrame(out, b, 0)
				continue
			case "error-status":
				resp.Status, resp.Out, resp.Message = StatusError, nil, "ValueError: something broke"
			case "not-member":
				// A float64 that is no float32, sent as a float64-wide element would be; here:
				// the right count but trailing garbage bytes make the message malformed.
				b, _ := EncodeResponse(resp, req.Out)
				b = append(b, 0xff)
				WriteFrame(out, b, 0)
				continue
			}
		}
		b, err := EncodeResponse(resp, req.Out)
		if err != nil {
			return 5
		}
		if err := WriteFrame(out, b, 0); err != nil {
			return 0
		}
	}
}
