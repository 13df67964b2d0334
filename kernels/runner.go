// This file implements the runners that execute checked calls: goroutines that live across
// calls, each with its watchdog timer and its saved copy of the inputs.

package kernels

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
	"time"
)

// A runner executes one call at a time on its own goroutine. Call hands it the call through
// start and waits on done under the watchdog timer; the runner goes back to the idle list after
// a call that returned in time, and is abandoned (its context cancelled, never reused) after one
// that did not.
type runner struct {
	start  chan struct{}   // a call is ready in k, a
	done   chan struct{}   // the call returned: out, err are set
	timer  *time.Timer     // the watchdog: armed for each call, fires only on a hang
	ctx    context.Context // the context the kernel sees: cancelled when the runner is abandoned
	cancel context.CancelFunc

	k   *Kernel
	a   *Args
	out []float64
	err error

	saved Args // the inputs before the call, in buffers reused from call to call
}

// idle holds the runners between calls; it is sized for a few callers per core, and a runner
// that finds it full ends its goroutine.
var idle = make(chan *runner, 4*runtime.GOMAXPROCS(0)+4)

func getRunner() *runner {
	select {
	case r := <-idle:
		return r
	default:
	}
	r := &runner{start: make(chan struct{}, 1), done: make(chan struct{}, 1), timer: time.NewTimer(time.Hour)}
	r.timer.Stop()
	r.ctx, r.cancel = context.WithCancel(context.Background())
	go r.loop()
	return r
}

func putRunner(r *runner) {
	r.k, r.a, r.out, r.err = nil, nil, nil, nil
	select {
	case idle <- r:
	default:
		close(r.start) // ends the goroutine
		r.cancel()
	}
}

func (r *runner) loop() {
	for range r.start {
		r.run()
		r.done <- struct{}{}
	}
}

// run calls the kernel, turning a panic into a contract error.
func (r *runner) run() { r.out, r.err = r.k.callHere(r.ctx, r.a) }

// callHere calls Fn on the calling goroutine, turning a panic into a contract error.
func (k *Kernel) callHere(ctx context.Context, a *Args) (out []float64, err error) {
	defer func() {
		if p := recover(); p != nil {
			out, err = nil, &ContractError{Kernel: k.Name, Kind: ContractPanic, Index: -1, Detail: fmt.Sprint(p), Stack: debug.Stack()}
		}
	}()
	return k.Fn(ctx, a)
}

// call runs k on a and waits for it for at most timeout, or until ctx ends. It reports ok = false
// when the call did not return in time; the runner is then abandoned and the context the kernel
// sees is cancelled. (That context carries the runner's cancellation, not ctx's values.)
func (r *runner) call(ctx context.Context, k *Kernel, a *Args, timeout time.Duration) (out []float64, err error, ok bool) {
	r.k, r.a = k, a
	r.timer.Reset(timeout)
	r.start <- struct{}{}
	select {
	case <-r.done:
		r.timer.Stop()
		return r.out, r.err, true
	case <-r.timer.C:
	case <-ctx.Done():
		r.timer.Stop()
	}
	r.cancel()     // the kernel's context ends with the call, as a context.WithTimeout's would
	close(r.start) // the goroutine ends when the kernel returns, if it ever does
	return nil, nil, false
}

// savedPool holds the input copies of inline calls (Kernel.Returns) between calls.
var savedPool = sync.Pool{New: func() any { return new(Args) }}

func getSaved() *Args { return savedPool.Get().(*Args) }

// save copies the inputs of a into s, reusing s's buffers, for the check after the call.
func save(s *Args, a *Args) {
	x, dy, p, t, w := s.X[:0], s.DY[:0], s.Probs[:0], s.Targets[:0], s.CE.Weights[:0]
	*s = *a
	s.X, s.DY, s.Probs = append(x, a.X...), append(dy, a.DY...), append(p, a.Probs...)
	s.Targets, s.CE.Weights = append(t, a.Targets...), append(w, a.CE.Weights...)
}
