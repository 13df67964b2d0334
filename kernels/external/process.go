// This file implements Process: starting, calling, restarting and stopping child processes.

package external

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/ulpcheck/ulpcheck/kernels"
)

// Options configure a Process. The zero value gives the defaults.
type Options struct {
	Timeout      time.Duration // per call, request written to response read; default 10 s
	StartTimeout time.Duration // from starting a child to its hello; default 30 s
	MaxFrame     int           // bound on a frame's payload, both directions; default DefaultMaxFrame
	Procs        int           // children serving calls concurrently; default 1
	MaxRestarts  int           // restarts after failures before giving up; default 100, < 0 none
	StderrLimit  int           // bytes of each child's stderr kept for error messages; default 16 KiB
	StrictStderr bool          // any stderr output seen during a call makes that call a finding
	Dir          string        // working directory of the child; "" = the current one
	Env          []string      // environment of the child; nil = the current one
	NamePrefix   string        // prepended to every kernel name the child declares
}

func (o Options) withDefaults() Options {
	if o.Timeout <= 0 {
		o.Timeout = kernels.DefaultTimeout
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = 30 * time.Second
	}
	if o.MaxFrame <= 0 {
		o.MaxFrame = DefaultMaxFrame
	}
	if o.Procs <= 0 {
		o.Procs = 1
	}
	if o.MaxRestarts == 0 {
		o.MaxRestarts = 100
	}
	if o.StderrLimit <= 0 {
		o.StderrLimit = 16 << 10
	}
	return o
}

// crashGrace is how long a child that closed its stdout gets to exit on its own.
const crashGrace = time.Second

// maxStartFailures is the number of consecutive failed restarts after which a Process gives up.
const maxStartFailures = 3

// ErrorKind classifies an Error.
type ErrorKind uint8

// The kinds of Error.
const (
	ErrStart     ErrorKind = iota + 1 // the child could not be started or sent no valid hello
	ErrCrash                          // the child exited or closed its stdout during a call
	ErrMalformed                      // the child sent a frame or message that breaks the protocol
	ErrTimeout                        // no response within Options.Timeout
	ErrKernel                         // the child answered with an error status
	ErrStderr                         // the child wrote to stderr during a call (Options.StrictStderr)
	ErrGaveUp                         // restarts exhausted or repeated start failures; calls fail fast
	ErrClosed                         // the Process was closed
)

var errorKindNames = map[ErrorKind]string{
	ErrStart: "failed to start", ErrCrash: "crashed", ErrMalformed: "broke the protocol",
	ErrTimeout: "timed out", ErrKernel: "returned an error", ErrStderr: "wrote to stderr",
	ErrGaveUp: "given up", ErrClosed: "closed",
}

func (k ErrorKind) String() string {
	if s, ok := errorKindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("ErrorKind(%d)", uint8(k))
}

// An Error reports what went wrong with a child process. Kernels built by a Process return it
// wrapped in a *kernels.ContractError (Err field), of kind ContractTimeout for ErrTimeout and
// ContractReturnedError otherwise.
type Error struct {
	Command   string // the child's argv, quoted
	Kernel    string // the kernel being called, "" during start
	Kind      ErrorKind
	Detail    string // what was seen
	Exit      string // the child's exit state when known ("exit status 3", "signal: killed")
	Stderr    string // the tail of the child's stderr
	Restarted bool   // the child was stopped and a fresh one serves the next call
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("external: ")
	if e.Kernel != "" {
		b.WriteString(e.Kernel + ": ")
	}
	fmt.Fprintf(&b, "child %s %s", e.Command, e.Kind)
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	if e.Exit != "" {
		b.WriteString(" (" + e.Exit + ")")
	}
	if e.Restarted {
		b.WriteString("; child stopped, the next call starts a fresh one")
	}
	if s := strings.TrimSpace(e.Stderr); s != "" {
		b.WriteString("; stderr: " + s)
	}
	return b.String()
}

// Stats count what happened to a Process's children.
type Stats struct {
	Starts      int   // children started, the first included
	Restarts    int   // children started to replace a failed one
	Calls       int   // calls that reached a child
	Failures    int   // calls that ended with an Error other than ErrKernel
	StderrBytes int64 // bytes the children wrote to stderr, all of them together
}

// A Process serves the kernels of an external program: it starts the program (Options.Procs
// copies, lazily), learns its kernels from the hello, sends each call as a request and reads
// the response under a timeout. A child that crashes, breaks the protocol or times out is killed
// (its whole process group) and replaced at the next call. Methods are safe for concurrent use.
type Process struct {
	argv  []string
	cmd   string // argv quoted, for messages
	opts  Options
	hello *Hello
	raw   []byte // the first hello's payload; restarted children must send the same
	ks    []*kernels.Kernel
	slots chan *child // Procs entries; nil: replace a failed child; unstarted: start one

	mu         sync.Mutex
	stats      Stats
	nextID     uint32
	startFails int   // consecutive failed restarts
	dead       error // non-nil: calls fail fast with it
	closed     bool
	stderrDone int64 // stderr bytes of children already stopped
	live       map[*child]bool
}

// unstarted marks a slot whose child has not been started yet (Options.Procs > 1).
var unstarted = &child{}

// child is one running copy of the program.
type child struct {
	cmd      *exec.Cmd
	stdin    *os.File // our write end
	stdout   *os.File // our read end
	stderr   *ring
	errDone  chan struct{} // closed when the stderr copier returns
	waitDone chan struct{} // closed when cmd.Wait returns
	waitErr  error
}

// StartCommand splits cmdline with SplitArgs and calls Start.
func StartCommand(ctx context.Context, cmdline string, opts Options) (*Process, error) {
	argv, err := SplitArgs(cmdline)
	if err != nil {
		return nil, err
	}
	return Start(ctx, argv, opts)
}

// Start starts argv[0] with arguments argv[1:] directly (no shell; argv[0] is looked up in PATH
// when it has no slash), reads its hello within Options.StartTimeout or until ctx ends, checks
// the protocol version and builds one *kernels.Kernel per declared entry (Process.Kernels).
// The child keeps running until Close; ctx bounds the start only.
func Start(ctx context.Context, argv []string, opts Options) (*Process, error) {
	if len(argv) == 0 || argv[0] == "" {
		return nil, errors.New("external: empty command")
	}
	opts = opts.withDefaults()
	p := &Process{argv: append([]string(nil), argv...), opts: opts, live: map[*child]bool{}}
	quoted := make([]string, len(argv))
	for i, a := range argv {
		quoted[i] = quoteArg(a)
	}
	p.cmd = strings.Join(quoted, " ")
	c, raw, err := p.spawn(ctx)
	if err != nil {
		return nil, err
	}
	h, err := DecodeHello(raw)
	if err == nil && h.Protocol != Protocol {
		err = fmt.Errorf("announces protocol %q, want %q", h.Protocol, Protocol)
	}
	if err != nil {
		e := p.stop(c, ErrStart, err.Error(), 0)
		e.Restarted = false
		return nil, e
	}
	p.hello, p.raw = h, raw
	p.slots = make(chan *child, opts.Procs)
	p.slots <- c
	for i := 1; i < opts.Procs; i++ {
		p.slots <- unstarted
	}
	for i := range h.Kernels {
		p.ks = append(p.ks, p.kernel(i))
	}
	return p, nil
}

// Hello returns the hello the child sent (callers must not modify it).
func (p *Process) Hello() *Hello { return p.hello }

// Kernels returns the kernels the child serves, in the order of its hello. Their Fn calls the
// child; Kernel.Call adds the usual contract checks.
func (p *Process) Kernels() []*kernels.Kernel { return p.ks }

// Stats returns the counts so far.
func (p *Process) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.stats
	s.StderrBytes = p.stderrDone
	for c := range p.live {
		_, n := c.stderr.Tail()
		s.StderrBytes += n
	}
	return s
}

// Close stops every child: it closes their stdin (a well-behaved child exits at end of input),
// waits up to one second, then kills their process groups. Calls in flight finish first (they
// are bounded by Options.Timeout). Calls after Close fail with ErrClosed.
func (p *Process) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	stopped := make([]*child, 0, p.opts.Procs)
	for i := 0; i < p.opts.Procs; i++ {
		c := <-p.slots
		if c != nil && c != unstarted {
			c.stdin.Close()
			stopped = append(stopped, c)
		}
	}
	for _, c := range stopped {
		select {
		case <-c.waitDone:
		case <-time.After(time.Second):
		}
		p.stop(c, ErrClosed, "", 0)
	}
	// Give the slots back empty, so that calls still waiting for one see the Process closed.
	for i := 0; i < p.opts.Procs; i++ {
		p.slots <- nil
	}
	return nil
}

// spawn starts a child and reads its first frame.
func (p *Process) spawn(ctx context.Context) (*child, []byte, error) {
	cmd := exec.Command(p.argv[0], p.argv[1:]...)
	cmd.Dir = p.opts.Dir
	cmd.Env = p.opts.Env
	setGroup(cmd)
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		outR.Close()
		outW.Close()
		return nil, nil, err
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, errW
	err = cmd.Start()
	inR.Close()
	outW.Close()
	errW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		errR.Close()
		return nil, nil, &Error{Command: p.cmd, Kind: ErrStart, Detail: err.Error()}
	}
	c := &child{cmd: cmd, stdin: inW, stdout: outR, stderr: newRing(p.opts.StderrLimit),
		errDone: make(chan struct{}), waitDone: make(chan struct{})}
	go func() {
		io.Copy(c.stderr, errR)
		errR.Close()
		close(c.errDone)
	}()
	go func() {
		c.waitErr = cmd.Wait()
		close(c.waitDone)
	}()
	p.mu.Lock()
	p.stats.Starts++
	p.live[c] = true
	p.mu.Unlock()

	deadline := time.Now().Add(p.opts.StartTimeout)
	c.stdout.SetReadDeadline(deadline)
	stopAfter := context.AfterFunc(ctx, func() { c.stdout.SetReadDeadline(time.Now()) })
	raw, err := ReadFrame(c.stdout, p.opts.MaxFrame)
	stopAfter()
	if err != nil {
		kind, detail, grace := ErrStart, "no hello: "+describe(err), crashGrace
		if errors.Is(err, os.ErrDeadlineExceeded) {
			grace = 0
			if ctx.Err() != nil {
				detail = "no hello: " + ctx.Err().Error()
			} else {
				detail = fmt.Sprintf("no hello within %v", p.opts.StartTimeout)
			}
		}
		var fe *FrameError
		if errors.As(err, &fe) && fe.Err == nil {
			grace = 0 // a bad header from a live child
		}
		e := p.stop(c, kind, detail, grace)
		e.Restarted = false
		return nil, nil, e
	}
	return c, raw, nil
}

// describe words a read error.
func describe(err error) string {
	var fe *FrameError
	switch {
	case errors.Is(err, io.EOF):
		return "end of output (the child closed stdout or exited)"
	case errors.As(err, &fe) && fe.Err != nil:
		return fe.Error() + " (the child closed stdout or exited)"
	}
	return err.Error()
}

// stop kills c's process group, waits for it and for its stderr, and returns an Error of the
// given kind carrying the exit state and the stderr tail.
// A child that closed its stdout is usually exiting: grace is how long to let it finish on its
// own, so that the error reports its real exit status rather than the harness's kill.
func (p *Process) stop(c *child, kind ErrorKind, detail string, grace time.Duration) *Error {
	killed := false
	if grace > 0 {
		select {
		case <-c.waitDone:
		case <-time.After(grace):
		}
	}
	select {
	case <-c.waitDone: // already exited: keep its own exit status
	default:
		killGroup(c.cmd)
		killed = true
	}
	select {
	case <-c.waitDone:
	case <-time.After(5 * time.Second):
	}
	c.stdin.Close()
	c.stdout.Close()
	select {
	case <-c.errDone:
	case <-time.After(time.Second): // a grandchild outside the group may hold stderr open
	}
	tail, n := c.stderr.Tail()
	p.mu.Lock()
	delete(p.live, c)
	p.stderrDone += n
	p.mu.Unlock()
	e := &Error{Command: p.cmd, Kind: kind, Detail: detail, Stderr: tail, Restarted: true}
	select {
	case <-c.waitDone:
		if killed {
			break
		}
		if c.waitErr != nil {
			e.Exit = c.waitErr.Error()
		} else {
			e.Exit = "exit status 0"
		}
	default:
	}
	return e
}

// restart starts a child, a replacement for a failed one unless fresh, and checks that its hello
// matches the first child's.
func (p *Process) restart(ctx context.Context, fresh bool) (*child, error) {
	p.mu.Lock()
	if !fresh && (p.opts.MaxRestarts < 0 || p.stats.Restarts >= p.opts.MaxRestarts) {
		p.dead = &Error{Command: p.cmd, Kind: ErrGaveUp, Detail: fmt.Sprintf("%d restarts used, limit %d", p.stats.Restarts, p.opts.MaxRestarts)}
		err := p.dead
		p.mu.Unlock()
		return nil, err
	}
	if !fresh {
		p.stats.Restarts++
	}
	p.mu.Unlock()
	sctx, cancel := context.WithTimeout(ctx, p.opts.StartTimeout)
	defer cancel()
	c, raw, err := p.spawn(sctx)
	if err == nil && !bytes.Equal(raw, p.raw) {
		e := p.stop(c, ErrStart, "the restarted child's hello differs from the first child's", 0)
		e.Restarted = false
		p.mu.Lock()
		p.dead = &Error{Command: p.cmd, Kind: ErrGaveUp, Detail: e.Detail}
		p.mu.Unlock()
		return nil, e
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		p.startFails++
		if p.startFails >= maxStartFailures {
			p.dead = &Error{Command: p.cmd, Kind: ErrGaveUp, Detail: fmt.Sprintf("%d consecutive restarts failed, the last: %v", p.startFails, err)}
		}
		return nil, err
	}
	p.startFails = 0
	return c, nil
}

// call sends one request to a child and returns its outputs.
func (p *Process) call(ctx context.Context, idx int, a *kernels.Args) ([]float64, error) {
	e := &p.hello.Kernels[idx]
	name := p.ks[idx].Name
	p.mu.Lock()
	closed, dead := p.closed, p.dead
	p.nextID++
	id := p.nextID
	p.mu.Unlock()
	if closed {
		return nil, &Error{Command: p.cmd, Kernel: name, Kind: ErrClosed}
	}
	if dead != nil {
		return nil, withKernel(dead, name)
	}
	req, err := p.request(e, idx, id, a)
	if err != nil {
		return nil, err
	}
	payload, err := EncodeRequest(req)
	if err != nil {
		return nil, fmt.Errorf("external: %s: %w", name, err)
	}
	if len(payload) > p.opts.MaxFrame {
		return nil, fmt.Errorf("%w: external: request of %d bytes exceeds the frame bound %d", kernels.ErrUnsupported, len(payload), p.opts.MaxFrame)
	}

	var c *child
	select {
	case c = <-p.slots:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { p.slots <- c }()
	p.mu.Lock()
	closed = p.closed
	p.mu.Unlock()
	if closed {
		return nil, &Error{Command: p.cmd, Kernel: name, Kind: ErrClosed}
	}
	if c == nil || c == unstarted {
		fresh := c == unstarted
		if c, err = p.restart(ctx, fresh); err != nil {
			if fresh {
				c = unstarted
			}
			return nil, withKernel(err, name)
		}
	}
	p.mu.Lock()
	p.stats.Calls++
	p.mu.Unlock()
	_, errBefore := c.stderr.Tail()

	fail := func(kind ErrorKind, detail string) error {
		grace := time.Duration(0)
		if kind == ErrCrash {
			grace = crashGrace
		}
		pe := p.stop(c, kind, detail, grace)
		pe.Kernel = name
		c = nil
		p.mu.Lock()
		p.stats.Failures++
		p.mu.Unlock()
		return pe
	}
	deadline := time.Now().Add(p.opts.Timeout)
	c.stdin.SetWriteDeadline(deadline)
	c.stdout.SetReadDeadline(deadline)
	live := c // fail sets c to nil; the callback may run concurrently with it
	stopAfter := context.AfterFunc(ctx, func() {
		live.stdin.SetWriteDeadline(time.Now())
		live.stdout.SetReadDeadline(time.Now())
	})
	defer stopAfter()
	var raw []byte
	phase := "writing the request"
	if err = WriteFrame(c.stdin, payload, p.opts.MaxFrame); err == nil {
		phase = "reading the response"
		raw, err = ReadFrame(c.stdout, p.opts.MaxFrame)
	}
	if err != nil {
		var fe *FrameError
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded) && ctx.Err() != nil:
			fail(ErrTimeout, "call cancelled: "+ctx.Err().Error())
			return nil, ctx.Err()
		case errors.Is(err, os.ErrDeadlineExceeded):
			return nil, fail(ErrTimeout, fmt.Sprintf("no response within %v (%s)", p.opts.Timeout, phase))
		case errors.As(err, &fe) && fe.Err == nil:
			return nil, fail(ErrMalformed, fe.Error())
		}
		// End of output, a broken pipe, or a frame cut short: the child died or closed stdout.
		return nil, fail(ErrCrash, phase+": "+describe(err))
	}
	resp, err := DecodeResponse(raw, e.OutFormat())
	if err != nil {
		return nil, fail(ErrMalformed, err.Error())
	}
	if resp.ID != id {
		return nil, fail(ErrMalformed, fmt.Sprintf("response id %d, want %d (out of step)", resp.ID, id))
	}
	if p.opts.StrictStderr {
		if tail, n := c.stderr.Tail(); n != errBefore {
			return nil, &Error{Command: p.cmd, Kernel: name, Kind: ErrStderr, Detail: fmt.Sprintf("%d bytes written to stderr", n-errBefore), Stderr: lastBytes(tail, int(n-errBefore))}
		}
	}
	switch resp.Status {
	case StatusUnsupported:
		return nil, fmt.Errorf("%w: %s: %s", kernels.ErrUnsupported, name, resp.Message)
	case StatusError:
		return nil, &Error{Command: p.cmd, Kernel: name, Kind: ErrKernel, Detail: resp.Message}
	}
	return resp.Out, nil
}

// withKernel returns a copy of err naming the kernel, when err is an *Error (which may be shared).
func withKernel(err error, name string) error {
	if pe, ok := err.(*Error); ok {
		c := *pe
		c.Kernel = name
		return &c
	}
	return err
}

func lastBytes(s string, n int) string {
	if n >= 0 && n < len(s) {
		return s[len(s)-n:]
	}
	return s
}

// request builds the wire request for entry e from the harness's arguments.
func (p *Process) request(e *Entry, idx int, id uint32, a *kernels.Args) (*Request, error) {
	r := &Request{ID: id, Kernel: uint16(idx), Op: e.Op, In: e.In, Out: e.OutFormat(),
		Rows: a.Rows, Cols: a.Cols, X: a.X}
	if r.X == nil {
		r.X = []float64{}
	}
	switch e.Op {
	case kernels.OpSoftmaxBackward:
		if a.DY == nil {
			return nil, fmt.Errorf("external: %s: no DY", e.Name)
		}
		r.DY = a.DY
	case kernels.OpCrossEntropy, kernels.OpCrossEntropyGrad:
		r.Reduction = a.CE.Reduction
		r.IgnoreIndex = int64(a.CE.IgnoreIndex)
		r.LabelSmoothing = a.CE.LabelSmoothing
		r.Weights = a.CE.Weights
		if e.ProbTargets {
			if a.Probs == nil {
				return nil, fmt.Errorf("external: %s: no probability targets", e.Name)
			}
			r.Probs = a.Probs
		} else {
			r.Targets = make([]int64, len(a.Targets))
			for i, t := range a.Targets {
				r.Targets[i] = int64(t)
			}
		}
	case kernels.OpBCEWithLogits, kernels.OpBCEWithLogitsGrad:
		if a.Probs == nil {
			return nil, fmt.Errorf("external: %s: no BCE targets", e.Name)
		}
		r.Reduction = a.CE.Reduction
		r.Weights = a.CE.Weights // pos_weight, one per column
		r.Probs = a.Probs        // the targets
	}
	return r, nil
}

// kernel builds the Kernel for entry i.
func (p *Process) kernel(i int) *kernels.Kernel {
	e := &p.hello.Kernels[i]
	k := &kernels.Kernel{
		Name: p.opts.NamePrefix + e.Name, Op: e.Op, In: e.In, Out: e.Out, Acc: e.Acc,
		Algorithm: e.Algorithm, Mask: e.Mask, Saturating: e.Saturating, FlushToZero: e.FlushToZero,
		ProbTargets: e.ProbTargets, Batch: true, CEModes: e.CEModes,
		Doc: strings.TrimSpace(e.Doc + " [external: " + p.cmd + "]"),
		// The Process enforces Options.Timeout itself and kills the child; Kernel.Call's own
		// timeout is a backstop that must not fire first, even when the call has to restart
		// a child (up to StartTimeout) and stop the old one (up to crashGrace + 5 s).
		Timeout: p.opts.Timeout + p.opts.StartTimeout + crashGrace + 10*time.Second,
	}
	k.Fn = func(ctx context.Context, a *kernels.Args) ([]float64, error) {
		out, err := p.call(ctx, i, a)
		var pe *Error
		if err == nil || !errors.As(err, &pe) {
			return out, err
		}
		kind := kernels.ContractReturnedError
		if pe.Kind == ErrTimeout {
			kind = kernels.ContractTimeout
		}
		return nil, &kernels.ContractError{Kernel: k.Name, Kind: kind, Index: -1, Detail: strings.TrimPrefix(pe.Error(), "external: "+k.Name+": "), Err: pe}
	}
	return k
}

// quoteArg quotes a for SplitArgs (and sh) when it needs it.
func quoteArg(a string) string {
	if a != "" && !strings.ContainsAny(a, " \t\n\r'\"\\$`*?[]#~&;|<>(){}!") {
		return a
	}
	return "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
}
