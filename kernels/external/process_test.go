package external

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ulpcheck/ulpcheck/kernels"
)

// goodCall calls k (softmax fp64 or LSE fp32 of the fake child) on a case with an exact answer
// (NUMERICS §6: equal logits give 1/n; a one-entry row's LSE is the entry) and checks it bitwise.
func goodCall(t *testing.T, k *kernels.Kernel, label string) {
	t.Helper()
	var a kernels.Args
	var want []float64
	switch k.Op {
	case kernels.OpSoftmax:
		a = kernels.Args{Rows: 2, Cols: 4, X: []float64{3, 3, 3, 3, -1.5, -1.5, -1.5, -1.5}}
		want = []float64{0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25}
	case kernels.OpLSE:
		a = kernels.Args{Rows: 3, Cols: 1, X: []float64{1, -2.5, 0x1p-149}}
		want = []float64{1, -2.5, 0x1p-149}
	default:
		t.Fatalf("%s: no good case for %v", label, k.Op)
	}
	got, err := k.Call(context.Background(), &a)
	if err != nil {
		t.Fatalf("%s: %s: %v", label, k.Name, err)
	}
	if len(got) != len(want) {
		t.Fatalf("%s: %s: %d outputs, want %d", label, k.Name, len(got), len(want))
	}
	for i := range want {
		if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
			t.Errorf("%s: %s: out[%d] = %g (%#016x), want %g (%#016x)", label, k.Name, i, got[i], math.Float64bits(got[i]), want[i], math.Float64bits(want[i]))
		}
	}
}

func startFake(t *testing.T, mode string, opts func(*Options)) *Process {
	t.Helper()
	argv, o := fakeArgv(t, mode)
	if opts != nil {
		opts(&o)
	}
	p, err := Start(context.Background(), argv, o)
	if err != nil {
		t.Fatalf("Start(%s): %v", mode, err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func TestWellBehavedChild(t *testing.T) {
	p := startFake(t, "good", nil)
	ks := p.Kernels()
	if len(ks) != 2 {
		t.Fatalf("%d kernels, want 2", len(ks))
	}
	for _, k := range ks {
		if err := k.Validate(); err != nil {
			t.Errorf("%s: %v", k.Name, err)
		}
		if !k.Batch {
			t.Errorf("%s: Batch = false, external kernels take whole batches", k.Name)
		}
		goodCall(t, k, "first")
		goodCall(t, k, "second")
	}
	// An empty row is declined by the fake LSE: the call reports ErrUnsupported, not a finding.
	_, err := ks[1].Call(context.Background(), &kernels.Args{Rows: 2, Cols: 0, X: []float64{}})
	if !errors.Is(err, kernels.ErrUnsupported) {
		t.Errorf("LSE of empty rows: err = %v, want ErrUnsupported", err)
	}
	if s := p.Stats(); s.Starts != 1 || s.Restarts != 0 || s.Failures != 0 || s.Calls != 5 {
		t.Errorf("stats = %+v, want 1 start, 5 calls, no restart or failure", s)
	}
	if h := p.Hello(); h.Client != "fake" || h.Protocol != Protocol {
		t.Errorf("hello = %+v", h)
	}
}

// TestMisbehavingChild: each mode misbehaves on the second call of each child's life. The
// harness must turn it into a clear error of the right kind, and the third call must succeed.
func TestMisbehavingChild(t *testing.T) {
	tests := []struct {
		mode     string
		reason   string
		kind     ErrorKind // 0: no *Error expected
		contract kernels.ContractKind
		words    []string // the message must contain each
		restarts int
	}{
		{"exit-mid", "writes half a frame and exits with 139", ErrCrash, kernels.ContractReturnedError, []string{"crashed", "truncated frame", "exit status 139", "Segmentation fault"}, 1},
		{"exit-between", "exits cleanly after reading a request", ErrCrash, kernels.ContractReturnedError, []string{"crashed", "end of output", "exit status 0", "bye"}, 1},
		{"garbage", "prints a Python traceback on stdout", ErrMalformed, kernels.ContractReturnedError, []string{"broke the protocol", `"Tracebac"`}, 1},
		{"huge", "sends a frame header claiming 2^40 bytes", ErrMalformed, kernels.ContractReturnedError, []string{"claims 1099511627776 bytes", "bound 67108864"}, 1},
		{"stall", "never answers", ErrTimeout, kernels.ContractTimeout, []string{"timed out", "no response within 2s"}, 1},
		{"wrong-id", "answers with another request's id", ErrMalformed, kernels.ContractReturnedError, []string{"out of step"}, 1},
		{"bad-status", "answers with status 9", ErrMalformed, kernels.ContractReturnedError, []string{"unknown status 9"}, 1},
		{"not-member", "answers with a trailing byte", ErrMalformed, kernels.ContractReturnedError, []string{"1 trailing bytes"}, 1},
		{"error-status", "answers with an error status: a finding, the stream stays in step", ErrKernel, kernels.ContractReturnedError, []string{"returned an error", "ValueError: something broke"}, 0},
		{"wrong-count", "answers with one output too few: Kernel.Call's length check", 0, kernels.ContractLength, []string{"7 outputs, want 8"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			t.Parallel()
			p := startFake(t, tt.mode, func(o *Options) { o.Timeout = 2 * time.Second })
			k := p.Kernels()[0]
			goodCall(t, k, "before")
			start := time.Now()
			_, err := k.Call(context.Background(), &kernels.Args{Rows: 2, Cols: 4, X: make([]float64, 8)})
			elapsed := time.Since(start)
			if err == nil {
				t.Fatalf("%s (%s): no error", tt.mode, tt.reason)
			}
			msg := err.Error()
			t.Logf("%s: %s", tt.mode, msg)
			var ce *kernels.ContractError
			if !errors.As(err, &ce) || ce.Kind != tt.contract {
				t.Errorf("%s: err = %v, want a *kernels.ContractError of kind %v", tt.mode, err, tt.contract)
			}
			var pe *Error
			if got := errors.As(err, &pe); got != (tt.kind != 0) || (got && pe.Kind != tt.kind) {
				t.Errorf("%s: err = %#v, want an *external.Error of kind %v", tt.mode, err, tt.kind)
			}
			for _, w := range tt.words {
				if !strings.Contains(msg, w) {
					t.Errorf("%s: message %q lacks %q", tt.mode, msg, w)
				}
			}
			if elapsed > 10*time.Second {
				t.Errorf("%s: the failing call took %v", tt.mode, elapsed)
			}
			goodCall(t, k, "after")
			s := p.Stats()
			if s.Restarts != tt.restarts || s.Starts != 1+tt.restarts {
				t.Errorf("%s: stats %+v, want %d restarts", tt.mode, s, tt.restarts)
			}
		})
	}
}

func TestStartFailures(t *testing.T) {
	tests := []struct {
		mode   string
		reason string
		words  []string
	}{
		{"exit-at-once", "exits with status 3 before the hello", []string{"failed to start", "no hello", "exit status 3", "cannot load the model"}},
		{"bad-version", "announces ulpcheck-kernel/2", []string{`"ulpcheck-kernel/2"`, `want "ulpcheck-kernel/1"`}},
		{"hello-garbage", "prints a banner on stdout before its hello", []string{`"Loading "`, "claims"}},
		{"stall-hello", "never sends a hello", []string{"no hello within 2s"}},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			t.Parallel()
			argv, o := fakeArgv(t, tt.mode)
			o.StartTimeout = 2 * time.Second
			p, err := Start(context.Background(), argv, o)
			if err == nil {
				p.Close()
				t.Fatalf("%s (%s): Start succeeded", tt.mode, tt.reason)
			}
			var pe *Error
			if !errors.As(err, &pe) || pe.Kind != ErrStart {
				t.Errorf("%s: err = %v, want an *external.Error of kind ErrStart", tt.mode, err)
			}
			for _, w := range tt.words {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%s: message %q lacks %q", tt.mode, err, w)
				}
			}
		})
	}
	if _, err := Start(context.Background(), []string{filepath.Join(t.TempDir(), "no-such-program")}, Options{}); err == nil {
		t.Error("Start of a missing program succeeded")
	}
}

func TestStderrNoise(t *testing.T) {
	args := &kernels.Args{Rows: 1, Cols: 2, X: []float64{0, 0}}
	t.Run("recorded", func(t *testing.T) {
		p := startFake(t, "noise", nil)
		k := p.Kernels()[0]
		for i := 0; i < 3; i++ {
			if _, err := k.Call(context.Background(), args); err != nil {
				t.Fatalf("call %d: %v (stderr noise alone is no failure by default)", i, err)
			}
		}
		if s := p.Stats(); s.StderrBytes == 0 || s.Restarts != 0 {
			t.Errorf("stats %+v, want stderr bytes counted and no restart", s)
		}
	})
	t.Run("strict", func(t *testing.T) {
		p := startFake(t, "noise", func(o *Options) { o.StrictStderr = true })
		k := p.Kernels()[0]
		for i := 0; i < 2; i++ {
			_, err := k.Call(context.Background(), args)
			var pe *Error
			if !errors.As(err, &pe) || pe.Kind != ErrStderr || !strings.Contains(err.Error(), "looks suspicious") {
				t.Errorf("call %d: err = %v, want an ErrStderr quoting the noise", i, err)
			}
		}
		if s := p.Stats(); s.Restarts != 0 {
			t.Errorf("stats %+v: stderr noise must not restart the child", s)
		}
	})
}

// TestGivingUp: a child that crashes mid-campaign and whose replacements die at once makes the
// Process give up after maxStartFailures restarts; later calls fail fast with ErrGaveUp.
func TestGivingUp(t *testing.T) {
	mark := filepath.Join(t.TempDir(), "started")
	p := startFake(t, "crash-then-refuse", func(o *Options) {
		o.Env = append(o.Env, "ULPCHECK_EXTERNAL_MARK="+mark)
	})
	k := p.Kernels()[0]
	goodCall(t, k, "first")
	var err error
	for i := 0; i < maxStartFailures+1; i++ {
		_, err = k.Call(context.Background(), &kernels.Args{Rows: 1, Cols: 1, X: []float64{0}})
		if err == nil {
			t.Fatalf("call %d succeeded", i)
		}
	}
	start := time.Now()
	_, err = k.Call(context.Background(), &kernels.Args{Rows: 1, Cols: 1, X: []float64{0}})
	var pe *Error
	if !errors.As(err, &pe) || pe.Kind != ErrGaveUp {
		t.Fatalf("err = %v, want ErrGaveUp", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("a call after giving up took %v", d)
	}
	if !strings.Contains(err.Error(), "consecutive restarts failed") {
		t.Errorf("message %q does not say why", err)
	}
}

// TestWriteStall: a child that stops reading its stdin makes the harness's write block once the
// pipe is full; the write is under the same timeout.
func TestWriteStall(t *testing.T) {
	p := startFake(t, "no-read", func(o *Options) { o.Timeout = time.Second })
	k := p.Kernels()[0]
	goodCall(t, k, "before")
	big := &kernels.Args{Rows: 1, Cols: 1 << 20, X: make([]float64, 1<<20)} // 8 MiB request
	_, err := k.Call(context.Background(), big)
	var ce *kernels.ContractError
	if !errors.As(err, &ce) || ce.Kind != kernels.ContractTimeout || !strings.Contains(err.Error(), "writing the request") {
		t.Fatalf("err = %v, want a timeout while writing the request", err)
	}
	goodCall(t, k, "after")
}

// TestHelloChanges: a replacement child whose hello differs from the first one's cannot serve
// the kernels declared from the first: the Process gives up.
func TestHelloChanges(t *testing.T) {
	mark := filepath.Join(t.TempDir(), "started")
	p := startFake(t, "hello-changes", func(o *Options) {
		o.Env = append(o.Env, "ULPCHECK_EXTERNAL_MARK="+mark)
	})
	k := p.Kernels()[0]
	goodCall(t, k, "first")
	args := &kernels.Args{Rows: 1, Cols: 1, X: []float64{0}}
	if _, err := k.Call(context.Background(), args); err == nil {
		t.Fatal("the crashing call succeeded")
	}
	_, err := k.Call(context.Background(), args)
	if err == nil || !strings.Contains(err.Error(), "hello differs") {
		t.Errorf("call after the restart: err = %v, want the changed hello named", err)
	}
	_, err = k.Call(context.Background(), args)
	var pe *Error
	if !errors.As(err, &pe) || pe.Kind != ErrGaveUp {
		t.Errorf("later call: err = %v, want ErrGaveUp", err)
	}
}

func TestCancel(t *testing.T) {
	p := startFake(t, "stall", func(o *Options) { o.Timeout = time.Minute })
	k := p.Kernels()[0]
	goodCall(t, k, "before")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := k.Call(ctx, &kernels.Args{Rows: 1, Cols: 1, X: []float64{0}})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want the context's error", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("cancelled call took %v", d)
	}
	goodCall(t, k, "after")
}

func TestConcurrentCalls(t *testing.T) {
	p := startFake(t, "good", func(o *Options) { o.Procs = 2 })
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 5; i++ {
				goodCall(t, p.Kernels()[g%2], "concurrent")
			}
		}()
	}
	wg.Wait()
	if s := p.Stats(); s.Calls != 20 || s.Starts > 2 || s.Restarts != 0 {
		t.Errorf("stats %+v, want 20 calls on at most 2 children, no restart", s)
	}
}

func TestClose(t *testing.T) {
	argv, o := fakeArgv(t, "good")
	p, err := Start(context.Background(), argv, o)
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
	_, err = p.Kernels()[0].Call(context.Background(), &kernels.Args{Rows: 1, Cols: 1, X: []float64{0}})
	var pe *Error
	if !errors.As(err, &pe) || pe.Kind != ErrClosed {
		t.Errorf("call after Close: err = %v, want ErrClosed", err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func init() {
	// crash-then-refuse: the first child crashes on its second call; later ones exit at once.
	if os.Getenv(fakeEnv) == "crash-then-refuse" {
		mark := os.Getenv("ULPCHECK_EXTERNAL_MARK")
		if _, err := os.Stat(mark); err == nil {
			os.Stderr.WriteString("refusing to start again\n")
			os.Exit(7)
		}
		os.WriteFile(mark, nil, 0o644)
		os.Setenv(fakeEnv, "exit-mid")
	}
}
