package kernels

import (
	"context"
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/ulpcheck/ulpcheck/fp"
)

func TestContract(t *testing.T) {
	good := func(dst, x []float32) { shiftedSoftmax(dst, x) }
	tests := []struct {
		name   string
		k      *Kernel
		want   ContractKind // 0: no error
		reason string
	}{
		{"good", Softmax("good", good), 0, "a correct kernel breaks no contract"},
		{"out-of-bounds", Softmax("oob", func(dst, x []float32) {
			good(dst, x)
			dst = dst[:len(dst)+1] // capacity reaches into the trailing guard
			dst[len(dst)-1] = 0
		}), ContractOutOfBounds, "a write one past the output lands in a guard cell"},
		{"input-modified", Softmax("mod", func(dst, x []float32) {
			good(dst, x)
			x[0] = 7
		}), ContractInputModified, "the input must be read only"},
		{"panic", Softmax("panic", func(dst, x []float32) { panic("boom") }), ContractPanic, "panics are recovered and reported"},
		{"hang", Softmax("hang", func(dst, x []float32) { time.Sleep(80 * time.Millisecond) }, WithTimeout(20*time.Millisecond)), ContractTimeout, "a call that does not return in time times out"},
		{"error", SoftmaxErr("err", func(dst, x []float32) error { return errors.New("no") }), ContractReturnedError, "an error on a supported case is a contract finding"},
		{"not-member", Softmax("member", func(dst, x []float32) {
			for i := range dst {
				dst[i] = 0.1
			}
		}, WithOut(fp.FP16)), ContractNotMember, "0.1f is not an fp16 value"},
		{"length", &Kernel{Name: "len", Op: OpSoftmax, In: fp.FP32, Fn: func(context.Context, *Args) ([]float64, error) {
			return []float64{1}, nil
		}}, ContractLength, "the harness-level Func must return OutLen values"},
	}
	// Every contract holds both on a runner goroutine and inline (Kernel.Returns).
	for _, tt := range tests {
		for _, inline := range []bool{false, true} {
			k := *tt.k
			k.Returns = inline
			name := tt.name + "/runner"
			if inline {
				name = tt.name + "/inline"
			}
			t.Run(name, func(t *testing.T) {
				a := &Args{Rows: 2, Cols: 3, X: []float64{1, 2, 3, -1, 0, 1}}
				out, err := k.Call(context.Background(), a)
				var ce *ContractError
				switch {
				case tt.want == 0 && err != nil:
					t.Fatalf("Call = %v, want no error (%s)", err, tt.reason)
				case tt.want == 0:
					if len(out) != 6 {
						t.Fatalf("len(out) = %d, want 6", len(out))
					}
				case !errors.As(err, &ce) || ce.Kind != tt.want:
					t.Fatalf("Call error = %v, want contract kind %v (%s)", err, tt.want, tt.reason)
				}
			})
		}
	}
}

func TestUnsupportedPassesThrough(t *testing.T) {
	k := CrossEntropy("ce", func(x []float32, target int) float32 { return 0 })
	a := &Args{Rows: 1, Cols: 2, X: []float64{0, 0}, Targets: []int{0}, CE: CEOptions{IgnoreIndex: -100, LabelSmoothing: 0.5}}
	_, err := k.Call(context.Background(), a)
	if !errors.Is(err, ErrUnsupported) {
		t.Fatalf("Call = %v, want ErrUnsupported (the row adapter cannot smooth labels)", err)
	}
}

func TestNativeRoundTrip(t *testing.T) {
	// Every fp16 and bf16 encoding survives the harness ↔ native conversion bit for bit.
	for b := 0; b < 1<<16; b++ {
		x := fp.FP16.Decode(uint64(b))
		if got := fp.FP16.Encode(FromNative(ToNative[float16T](x))); got != uint64(b) && !math.IsNaN(x) {
			t.Fatalf("fp16 %#04x: round trip gives %#04x", b, got)
		}
		y := fp.BF16.Decode(uint64(b))
		if got := fp.BF16.Encode(FromNative(ToNative[uint16](y))); got != uint64(b) && !math.IsNaN(y) {
			t.Fatalf("bf16 %#04x: round trip gives %#04x", b, got)
		}
	}
}

// TestRunnerAfterHangAndPanic checks the runners behind Call: a call after a timeout, a panic
// and a cancelled context runs normally on a sound runner; the kernel's context is cancelled when
// its call times out; the caller's cancellation ends a call at once; and calls in a row reuse a
// runner instead of starting a goroutine each.
func TestRunnerAfterHangAndPanic(t *testing.T) {
	a := &Args{Rows: 1, Cols: 3, X: []float64{1, 2, 3}}
	good := Softmax("good", func(dst, x []float32) { shiftedSoftmax(dst, x) })
	want, err := good.Call(context.Background(), a)
	if err != nil {
		t.Fatal(err)
	}
	cancelled := make(chan error, 1)
	hang := &Kernel{Name: "hang", Op: OpSoftmax, In: fp.FP32, Timeout: 20 * time.Millisecond,
		Fn: func(ctx context.Context, a *Args) ([]float64, error) {
			<-ctx.Done()
			cancelled <- ctx.Err()
			return nil, ctx.Err()
		}}
	boom := Softmax("panic", func(dst, x []float32) { panic("boom") })
	check := func(when string) {
		t.Helper()
		got, err := good.Call(context.Background(), a)
		if err != nil || len(got) != len(want) {
			t.Fatalf("%s: Call = %v, %v; want %v", when, got, err, want)
		}
		for i := range got {
			if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
				t.Fatalf("%s: output %d = %x, want %x", when, i, got[i], want[i])
			}
		}
	}
	var ce *ContractError
	if _, err := hang.Call(context.Background(), a); !errors.As(err, &ce) || ce.Kind != ContractTimeout {
		t.Fatalf("hang: %v, want a timeout", err)
	}
	select {
	case err := <-cancelled:
		if err == nil {
			t.Fatal("the timed-out call's context ended without an error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the timed-out call's context was not cancelled")
	}
	check("after a timeout")
	if _, err := boom.Call(context.Background(), a); !errors.As(err, &ce) || ce.Kind != ContractPanic || len(ce.Stack) == 0 {
		t.Fatalf("panic: %v, want a contract panic with a stack", err)
	}
	check("after a panic")
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(10 * time.Millisecond); cancel() }()
	slow := &Kernel{Name: "slow", Op: OpSoftmax, In: fp.FP32, Fn: func(ctx context.Context, a *Args) ([]float64, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}}
	if _, err := slow.Call(ctx, a); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller: %v, want context.Canceled", err)
	}
	check("after a cancelled call")
	if n := testing.AllocsPerRun(100, func() { good.Call(context.Background(), a) }); n > 1 {
		t.Errorf("a checked call allocates %v times, want ≤ 1 (its outputs; a goroutine, timer or input copy per call?)", n)
	}
}

// TestDst requires that a bundled kernel writes its outputs into Args.Dst when Dst has the
// capacity, with the values it returns without Dst, into a new slice when Dst is too short, and an
// empty, non-nil slice for an empty case.
func TestDst(t *testing.T) {
	for _, name := range []string{"softmax/shifted/fp16", "lse/shifted/fp32", "cegrad/fp16"} {
		k, ok := Lookup(name)
		if !ok {
			t.Fatalf("no bundled kernel %s", name)
		}
		a := &Args{Rows: 2, Cols: 3, X: []float64{1, 2, 3, -1, 0, 0.5}, Targets: []int{0, 2}, CE: DefaultCEOptions()}
		want, err := k.Call(context.Background(), a)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		dst := make([]float64, 0, 8)
		b := *a
		b.Dst = dst
		got, err := k.Call(context.Background(), &b)
		if err != nil {
			t.Fatalf("%s with Dst: %v", name, err)
		}
		if !slices.Equal(got, want) || &got[0] != &dst[:1][0] {
			t.Errorf("%s with Dst: %v (in Dst: %v), want %v in Dst", name, got, &got[0] == &dst[:1][0], want)
		}
		b.Dst = make([]float64, 0, len(want)-1)
		if got, err := k.Call(context.Background(), &b); err != nil || !slices.Equal(got, want) || &got[0] == &b.Dst[:1][0] {
			t.Errorf("%s with a short Dst: %v, %v; want %v in a new slice", name, got, err, want)
		}
	}
	k, _ := Lookup("softmax/shifted/fp32")
	got, err := k.Call(context.Background(), &Args{Rows: 1, Cols: 0, X: []float64{}})
	if err != nil || got == nil || len(got) != 0 {
		t.Errorf("empty case: %v (nil %v), %v; want an empty slice", got, got == nil, err)
	}
}
