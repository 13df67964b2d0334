package external

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ulpcheck/ulpcheck/fp"
	"github.com/ulpcheck/ulpcheck/internal/pyenv"
	"github.com/ulpcheck/ulpcheck/kernels"
)

// This file implements the protocol conformance checks of a child program (docs/protocol.md
// §11), run against the Go fake server (external.Serve) and against the Python package's server
// (python -m ulpcheck serve). Unlike Process, which only ever sends well-formed requests, the
// checks talk to the child over raw pipes and send it what the harness never sends.

// A conformServer is a child program under test. Its kernel 0 must be a float32 softmax named
// conform/softmax/fp32 that answers an error for a row whose first element is 13 (with a
// message containing "refusing 13") and declines rows of zero columns.
type conformServer struct {
	argv []string
	env  []string
	// v2 starts the same server announcing ulpcheck-kernel/2 (for the version check).
	v2argv []string
	v2env  []string
}

// conformTimeout bounds every wait for the child: a hello, a response, an exit.
const conformTimeout = 10 * time.Second

// rawChild is a child process driven frame by frame.
type rawChild struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	frames chan frameOrErr
	mu     sync.Mutex
	stderr bytes.Buffer
	done   chan struct{} // closed when the child has exited
	status error         // its exit error, once done is closed
}

type frameOrErr struct {
	p   []byte
	err error
}

func (c *rawChild) Write(b []byte) (int, error) { // the child's stderr
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stderr.Write(b)
}

func (c *rawChild) stderrText() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stderr.String()
}

func startRaw(t *testing.T, argv, env []string) *rawChild {
	t.Helper()
	c := &rawChild{t: t, frames: make(chan frameOrErr, 16), done: make(chan struct{})}
	c.cmd = exec.Command(argv[0], argv[1:]...)
	c.cmd.Env = env
	c.cmd.Stderr = c
	var err error
	if c.stdin, err = c.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		r := bufio.NewReader(stdout)
		for {
			p, err := ReadFrame(r, 0)
			c.frames <- frameOrErr{p, err}
			if err != nil {
				c.status = c.cmd.Wait()
				close(c.done)
				return
			}
		}
	}()
	t.Cleanup(func() {
		c.stdin.Close()
		select {
		case <-c.done:
		case <-time.After(time.Second):
			c.cmd.Process.Kill()
		}
	})
	return c
}

// next returns the child's next frame, or the error that ended its stdout.
func (c *rawChild) next() ([]byte, error) {
	select {
	case f := <-c.frames:
		return f.p, f.err
	case <-time.After(conformTimeout):
		return nil, fmt.Errorf("no frame within %v (stderr: %q)", conformTimeout, c.stderrText())
	}
}

// send writes raw bytes to the child's stdin.
func (c *rawChild) send(b []byte) {
	c.t.Helper()
	if _, err := c.stdin.Write(b); err != nil {
		c.t.Fatalf("writing to the child: %v (stderr: %q)", err, c.stderrText())
	}
}

// hello reads and checks the first frame: a hello of this protocol version with the fixture's
// kernel 0.
func (c *rawChild) hello() *Hello {
	c.t.Helper()
	p, err := c.next()
	if err != nil {
		c.t.Fatalf("no hello: %v (stderr: %q)", err, c.stderrText())
	}
	h, err := DecodeHello(p)
	if err != nil {
		c.t.Fatalf("hello: %v", err)
	}
	if h.Protocol != Protocol {
		c.t.Fatalf("hello announces %q, want exactly %q", h.Protocol, Protocol)
	}
	k := h.Kernels[0]
	if k.Name != "conform/softmax/fp32" || k.Op != kernels.OpSoftmax || k.In != fp.FP32 || k.OutFormat() != fp.FP32 {
		c.t.Fatalf("kernel 0 is %+v, want the fixture's conform/softmax/fp32", k)
	}
	return h
}

// ask sends one request payload as a frame and returns the decoded response, requiring the
// id to be echoed.
func (c *rawChild) ask(payload []byte, id uint32) *Response {
	c.t.Helper()
	c.send(frameBytes(payload))
	p, err := c.next()
	if err != nil {
		c.t.Fatalf("no response: %v (stderr: %q)", err, c.stderrText())
	}
	r, err := DecodeResponse(p, fp.FP32)
	if err != nil {
		c.t.Fatalf("response %x: %v", p, err)
	}
	if r.ID != id {
		c.t.Fatalf("response carries id %d, want %d", r.ID, id)
	}
	return r
}

// exit waits for the child to end and returns its exit error (nil for status 0). stdout must
// end at a frame boundary with nothing more written.
func (c *rawChild) exit() error {
	c.t.Helper()
	p, err := c.next()
	if err == nil {
		c.t.Fatalf("child wrote another frame %q, want it to exit", p)
	}
	if !errors.Is(err, io.EOF) {
		c.t.Fatalf("child's stdout: %v, want it to end without writing more", err)
	}
	select {
	case <-c.done:
		return c.status
	case <-time.After(conformTimeout):
		c.t.Fatalf("child closed stdout but did not exit within %v", conformTimeout)
	}
	return nil
}

func frameBytes(p []byte) []byte {
	return append(binary.LittleEndian.AppendUint64(nil, uint64(len(p))), p...)
}

// conformRequest returns a well-formed float32 request for kernel 0.
func conformRequest(id uint32, rows, cols int, x []float64) []byte {
	b, err := EncodeRequest(&Request{ID: id, Kernel: 0, Op: kernels.OpSoftmax, In: fp.FP32, Out: fp.FP32, Rows: rows, Cols: cols, X: x, IgnoreIndex: -100})
	if err != nil {
		panic(err)
	}
	return b
}

// edit returns a copy of p with f applied.
func edit(p []byte, f func([]byte) []byte) []byte { return f(append([]byte(nil), p...)) }

// checkConformance runs every check against s.
func checkConformance(t *testing.T, s conformServer) {
	third, _ := fp.FP32.RoundFloat64(1.0 / 3)
	good := conformRequest(0, 2, 3, []float64{1, 1, 1, -2, -2, -2})
	t.Run("session", func(t *testing.T) {
		c := startRaw(t, s.argv, s.env)
		c.hello()
		r := c.ask(edit(good, func(b []byte) []byte { binary.LittleEndian.PutUint32(b[1:], 7); return b }), 7)
		if r.Status != StatusOK || len(r.Out) != 6 {
			t.Fatalf("well-formed request: status %d, %d outputs (%q), want ok with 6", r.Status, len(r.Out), r.Message)
		}
		for i, v := range r.Out {
			if v != third {
				t.Errorf("softmax of equal logits: out[%d] = %g (%#08x), want RN(1/3) = %g (%#08x)", i, v, fp.FP32.Encode(v), third, fp.FP32.Encode(third))
			}
		}
		// Each row: a request that must get the status named, with the request's id echoed,
		// and a one-line message; the child stays in step.
		for i, tt := range []struct {
			reason string
			status Status
			want   string // substring of the message
			p      []byte
		}{
			{"the kernel raises: error reply quoting it", StatusError, "refusing 13", conformRequest(0, 1, 2, []float64{13, 0})},
			{"rows of zero columns: declined", StatusUnsupported, "", conformRequest(0, 3, 0, nil)},
			{"x one element short (wrong size)", StatusError, "", good[:len(good)-4]},
			{"one trailing byte (wrong size)", StatusError, "", append(append([]byte(nil), good...), 0)},
			{"a weights section announced but absent (wrong size)", StatusError, "", edit(good, func(b []byte) []byte { b[19] |= secWeights; return b })},
			{"head shorter than 36 bytes", StatusError, "", good[:20]},
			{"message type 'H', not 'Q'", StatusError, "", edit(good, func(b []byte) []byte { b[0] = 'H'; return b })},
			{"unknown operation code 99", StatusError, "", edit(good, func(b []byte) []byte { b[7] = 99; return b })},
			{"operation LSE for the softmax kernel", StatusError, "", edit(good, func(b []byte) []byte { b[7] = 3; return b })},
			{"input format fp64 for the fp32 kernel (dtype mismatch)", StatusError, "", mustEncode(&Request{Op: kernels.OpSoftmax, In: fp.FP64, Out: fp.FP32, Rows: 1, Cols: 2, X: []float64{0, 1}, IgnoreIndex: -100})},
			{"output format fp16 for the fp32 kernel (dtype mismatch)", StatusError, "", edit(good, func(b []byte) []byte { b[9] = 1; return b })},
			{"unknown format code 9", StatusError, "", edit(good, func(b []byte) []byte { b[8], b[9] = 9, 9; return b })},
			{"kernel index 5 of 1", StatusError, "", edit(good, func(b []byte) []byte { b[5] = 5; return b })},
			{"unknown section bit 0x80", StatusError, "", edit(good, func(b []byte) []byte { b[19] = 0x80; return b })},
			{"unknown reduction code 9", StatusError, "", edit(good, func(b []byte) []byte { b[18] = 9; return b })},
		} {
			id := uint32(100 + i)
			p := tt.p
			if len(p) >= 5 {
				p = edit(p, func(b []byte) []byte { binary.LittleEndian.PutUint32(b[1:], id); return b })
			}
			r := c.ask(p, id)
			if r.Status != tt.status || !strings.Contains(r.Message, tt.want) || strings.ContainsAny(r.Message, "\r\n") || r.Message == "" {
				t.Errorf("%s: status %d, message %q; want status %d, a one-line message containing %q", tt.reason, r.Status, r.Message, tt.status, tt.want)
			}
		}
		// Still in step: a good request after all of the above.
		r = c.ask(edit(good, func(b []byte) []byte { binary.LittleEndian.PutUint32(b[1:], 9999); return b }), 9999)
		if r.Status != StatusOK || len(r.Out) != 6 {
			t.Errorf("well-formed request after the bad ones: status %d, %d outputs (%q)", r.Status, len(r.Out), r.Message)
		}
		// Clean shutdown: end of file at a frame boundary.
		c.stdin.Close()
		if err := c.exit(); err != nil {
			t.Errorf("end of stdin at a frame boundary: %v, want exit status 0 (stderr: %q)", err, c.stderrText())
		}
	})
	// Frame violations: the stream cannot be trusted after them, so the child writes nothing
	// more, says why on stderr and exits with a non-zero status. closeIn: stdin is closed after
	// the bytes; otherwise it stays open, so a child that waits for the announced payload hangs
	// (and fails the check) instead of seeing end of file.
	for _, tt := range []struct {
		name, reason string
		b            []byte
		closeIn      bool
	}{
		{"zero-length", "a frame of length 0", make([]byte, 8), false},
		{"oversized", "a header claiming MaxFrame + 1 bytes", binary.LittleEndian.AppendUint64(nil, DefaultMaxFrame+1), false},
		{"huge", "a header claiming 2^40 bytes (refused before allocating)", binary.LittleEndian.AppendUint64(nil, 1<<40), false},
		{"truncated-frame", "a header claiming 100 bytes, then 10 and end of file", append(binary.LittleEndian.AppendUint64(nil, 100), good[:10]...), true},
		{"truncated-header", "3 bytes of a header, then end of file", []byte{36, 0, 0}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := startRaw(t, s.argv, s.env)
			c.hello()
			c.send(tt.b)
			if tt.closeIn {
				c.stdin.Close()
			}
			err := c.exit()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() <= 0 {
				t.Errorf("%s: exit %v, want a non-zero exit status", tt.reason, err)
			}
			if strings.TrimSpace(c.stderrText()) == "" {
				t.Errorf("%s: nothing on stderr, want the reason", tt.reason)
			}
		})
	}
	t.Run("version-mismatch", func(t *testing.T) {
		_, err := Start(context.Background(), s.v2argv, Options{Env: s.v2env})
		var pe *Error
		if !errors.As(err, &pe) || pe.Kind != ErrStart || !strings.Contains(err.Error(), `"ulpcheck-kernel/2"`) || !strings.Contains(err.Error(), `"`+Protocol+`"`) {
			t.Errorf("a hello announcing ulpcheck-kernel/2: err = %v, want a start error naming both versions", err)
		}
	})
	t.Run("harness", func(t *testing.T) {
		// The harness's own client against the server: the same contract seen through Process.
		p, err := Start(context.Background(), s.argv, Options{Env: s.env})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		k := p.Kernels()[0]
		got, err := k.Call(context.Background(), &kernels.Args{Rows: 1, Cols: 4, X: []float64{0, 0, 0, 0}})
		if err != nil || len(got) != 4 || got[0] != 0.25 {
			t.Errorf("softmax of 4 equal logits: %v, %v; want 0.25 each", got, err)
		}
		_, err = k.Call(context.Background(), &kernels.Args{Rows: 1, Cols: 2, X: []float64{13, math.Inf(-1)}})
		var ce *kernels.ContractError
		if !errors.As(err, &ce) || ce.Kind != kernels.ContractReturnedError || !strings.Contains(err.Error(), "refusing 13") {
			t.Errorf("the kernel raises: err = %v, want a contract error quoting it", err)
		}
		if s := p.Stats(); s.Restarts != 0 {
			t.Errorf("stats %+v, want no restart", s)
		}
	})
}

func mustEncode(r *Request) []byte {
	b, err := EncodeRequest(r)
	if err != nil {
		panic(err)
	}
	return b
}

// conformHello is the fixture's hello, served by the Go fake in mode "conform".
var conformHello = &Hello{Protocol: Protocol, Client: "fake conformance server", Kernels: []Entry{
	{Name: "conform/softmax/fp32", Doc: "shifted softmax in float64, rounded to float32", Op: kernels.OpSoftmax, In: fp.FP32},
}}

// conformCompute is the fixture's kernel for the Go fake.
func conformCompute(r *Request) ([]float64, error) {
	if r.Cols == 0 {
		return nil, fmt.Errorf("%w: rows of zero columns", kernels.ErrUnsupported)
	}
	if r.X[0] == 13 {
		return nil, errors.New("ValueError: refusing 13")
	}
	out, err := fakeCompute(r)
	for i := range out {
		out[i], _ = fp.FP32.RoundFloat64(out[i])
	}
	return out, err
}

// TestConformanceGo runs the checks against external.Serve in the test binary (fake mode
// "conform"; "conform-v2" announces ulpcheck-kernel/2).
func TestConformanceGo(t *testing.T) {
	argv, o := fakeArgv(t, "conform")
	v2argv, v2 := fakeArgv(t, "conform-v2")
	checkConformance(t, conformServer{argv: argv, env: o.Env, v2argv: v2argv, v2env: v2.Env})
}

// TestConformancePython runs the checks against the Python package's server,
// python -m ulpcheck serve conform_kernels:softmax (testdata/conform_kernels.py), with the
// package imported from the checkout (internal/pyenv). It skips without numpy, unless
// ULPCHECK_REQUIRE_NUMPY=1.
func TestConformancePython(t *testing.T) {
	py := pyenv.Find(t)
	testdata := filepath.Join(py.Root, "kernels", "external", "testdata")
	args := []string{"serve", "conform_kernels:softmax", "--path", testdata, "--op", "softmax", "--dtype", "float32", "--name", "conform/softmax/fp32"}
	argv := append([]string{py.Exe, "-m", "ulpcheck"}, args...)
	// The same server with the package's protocol string changed before the hello is encoded.
	v2 := fmt.Sprintf("import runpy, sys; import ulpcheck.protocol as p; p.PROTOCOL = 'ulpcheck-kernel/2'; sys.argv = ['ulpcheck'] + %s; runpy.run_module('ulpcheck', run_name='__main__')", pyList(args))
	checkConformance(t, conformServer{argv: argv, env: py.Env(), v2argv: []string{py.Exe, "-c", v2}, v2env: py.Env()})
}

func pyList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s) // the arguments are plain ASCII paths and words
	}
	return "[" + strings.Join(q, ", ") + "]"
}
