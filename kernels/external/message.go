// This file implements the three messages of the protocol (hello, request, response) and their
// encoding and decoding. Decoders never panic: every length is checked against the bytes that
// remain before anything is allocated or sliced.

package external

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"unicode/utf8"

	"github.com/ulpcheck/ulpcheck/fp"
	"github.com/ulpcheck/ulpcheck/kernels"
)

// Entry flag bits of a hello entry.
const (
	flagSaturating  = 1 << 0
	flagFlushToZero = 1 << 1
	flagProbTargets = 1 << 2
	entryFlagsKnown = flagSaturating | flagFlushToZero | flagProbTargets
)

// Section flag bits of a request.
const (
	secDY       = 1 << 0
	secTargets  = 1 << 1
	secProbs    = 1 << 2
	secWeights  = 1 << 3
	secKnown    = secDY | secTargets | secProbs | secWeights
	requestHead = 1 + 4 + 2 + 1 + 1 + 1 + 4 + 4 + 1 + 1 + 8 + 8 // 36 bytes before the data
)

// maxKernels bounds the number of entries of a hello.
const maxKernels = 4096

// Hello is the child's first frame: the protocol it speaks and the kernels it serves.
type Hello struct {
	Protocol string  // must be Protocol
	Client   string  // free text naming the implementation, e.g. "numpy 1.24.2"
	Kernels  []Entry // at least one
}

// An Entry declares one kernel a child serves (the wire form of a kernels.Kernel declaration).
type Entry struct {
	Name        string
	Doc         string
	Op          kernels.Op
	In          fp.Format
	Out         fp.Format // zero: same as In
	Acc         fp.Format // zero: the kernels package's default (Kernel.AccFormat)
	Algorithm   kernels.Algorithm
	Mask        fp.MaskPolicy
	Saturating  bool
	FlushToZero bool
	ProbTargets bool                // cross-entropy with probability targets
	CEModes     []kernels.Reduction // nil: all three
}

// OutFormat returns Out, or In when Out is zero.
func (e *Entry) OutFormat() fp.Format {
	if e.Out.Valid() {
		return e.Out
	}
	return e.In
}

// Status is a response's status byte.
type Status uint8

// The statuses of a response.
const (
	StatusOK          Status = 0 // outputs follow
	StatusError       Status = 1 // the kernel failed; a message follows
	StatusUnsupported Status = 2 // the kernel declines this case (shape, option); a message follows
)

// Request is one call: the kernel's index in the hello and its inputs. Float slices hold members
// of In; a nil DY, Targets, Probs or Weights is absent from the frame.
type Request struct {
	ID             uint32
	Kernel         uint16 // index into Hello.Kernels
	Op             kernels.Op
	In, Out        fp.Format
	Rows, Cols     int
	Reduction      kernels.Reduction
	IgnoreIndex    int64
	LabelSmoothing float64
	X              []float64 // Rows×Cols
	DY             []float64 // Rows×Cols or nil
	Targets        []int64   // Rows or nil
	Probs          []float64 // Rows×Cols or nil
	Weights        []float64 // Cols or nil
}

// Response is a child's answer to the request with the same ID.
type Response struct {
	ID      uint32
	Status  Status
	Out     []float64 // StatusOK: members of the kernel's output format
	Message string    // StatusError, StatusUnsupported
}

// A DecodeError reports a payload that breaks the message rules.
type DecodeError struct {
	Msg    string // "hello", "request", "response"
	Offset int    // byte offset in the payload
	Reason string
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("malformed %s at byte %d: %s", e.Msg, e.Offset, e.Reason)
}

// decoder reads little-endian fields; the first failure sticks.
type decoder struct {
	msg string
	p   []byte
	off int
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = &DecodeError{Msg: d.msg, Offset: d.off, Reason: fmt.Sprintf(format, args...)}
	}
}

func (d *decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.p)-d.off {
		d.fail("needs %d bytes, %d remain", n, len(d.p)-d.off)
		return nil
	}
	b := d.p[d.off : d.off+n]
	d.off += n
	return b
}

func (d *decoder) u8() uint8 {
	if b := d.take(1); b != nil {
		return b[0]
	}
	return 0
}

func (d *decoder) u16() uint16 {
	if b := d.take(2); b != nil {
		return binary.LittleEndian.Uint16(b)
	}
	return 0
}

func (d *decoder) u32() uint32 {
	if b := d.take(4); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

func (d *decoder) u64() uint64 {
	if b := d.take(8); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

// str reads a u32 length and that many bytes of UTF-8.
func (d *decoder) str() string {
	n := d.u32()
	if d.err != nil {
		return ""
	}
	if uint64(n) > uint64(len(d.p)-d.off) {
		d.fail("string of %d bytes, %d remain", n, len(d.p)-d.off)
		return ""
	}
	b := d.take(int(n))
	if !utf8.Valid(b) {
		d.fail("string is not UTF-8")
		return ""
	}
	return string(b)
}

// elems reads n elements of f (n computed by the caller in uint64 to avoid overflow).
func (d *decoder) elems(n uint64, f fp.Format) []float64 {
	if d.err != nil {
		return nil
	}
	w := uint64(byteWidth(f))
	if n > uint64(len(d.p)-d.off)/w {
		d.fail("%d %s elements need %d bytes, %d remain", n, f, n*w, len(d.p)-d.off)
		return nil
	}
	b := d.take(int(n * w))
	out := make([]float64, n)
	for i := range out {
		var bits uint64
		switch w {
		case 1:
			bits = uint64(b[i])
		case 2:
			bits = uint64(binary.LittleEndian.Uint16(b[2*i:]))
		case 4:
			bits = uint64(binary.LittleEndian.Uint32(b[4*i:]))
		case 8:
			bits = binary.LittleEndian.Uint64(b[8*i:])
		}
		out[i] = f.Decode(bits)
	}
	return out
}

func (d *decoder) end() {
	if d.err == nil && d.off != len(d.p) {
		d.fail("%d trailing bytes", len(d.p)-d.off)
	}
}

// encoder appends little-endian fields.
type encoder struct {
	b   []byte
	err error
}

func (e *encoder) u8(v uint8)   { e.b = append(e.b, v) }
func (e *encoder) u16(v uint16) { e.b = binary.LittleEndian.AppendUint16(e.b, v) }
func (e *encoder) u32(v uint32) { e.b = binary.LittleEndian.AppendUint32(e.b, v) }
func (e *encoder) u64(v uint64) { e.b = binary.LittleEndian.AppendUint64(e.b, v) }

func (e *encoder) str(s string) {
	if uint64(len(s)) > math.MaxUint32 {
		e.setErr(errors.New("string too long"))
		return
	}
	e.u32(uint32(len(s)))
	e.b = append(e.b, s...)
}

func (e *encoder) setErr(err error) {
	if e.err == nil {
		e.err = err
	}
}

func (e *encoder) elems(xs []float64, f fp.Format) {
	for i, x := range xs {
		bits, err := f.EncodeChecked(x)
		if err != nil {
			e.setErr(fmt.Errorf("element %d: %w", i, err))
			return
		}
		switch byteWidth(f) {
		case 1:
			e.u8(uint8(bits))
		case 2:
			e.u16(uint16(bits))
		case 4:
			e.u32(uint32(bits))
		case 8:
			e.u64(bits)
		}
	}
}

// DecodeHello decodes a hello payload and checks its declarations. It does not check the
// protocol version (Start does, so that the error can name what the child announced).
func DecodeHello(p []byte) (*Hello, error) {
	d := &decoder{msg: "hello", p: p}
	if t := d.u8(); d.err == nil && t != msgHello {
		d.fail("message type %#02x, want %#02x ('H')", t, msgHello)
	}
	h := &Hello{Protocol: d.str(), Client: d.str()}
	n := d.u16()
	if d.err == nil && (n == 0 || n > maxKernels) {
		d.fail("%d kernels, want 1 to %d", n, maxKernels)
	}
	names := map[string]bool{}
	for i := 0; i < int(n) && d.err == nil; i++ {
		var e Entry
		var err error
		opc, inc, outc, accc, algc, maskc, flags, modes := d.u8(), d.u8(), d.u8(), d.u8(), d.u8(), d.u8(), d.u8(), d.u8()
		e.Name, e.Doc = d.str(), d.str()
		if d.err != nil {
			break
		}
		if e.Op, err = opFromCode(opc); err == nil {
			if e.In, err = formatFromCode(inc); err == nil && !e.In.Valid() {
				err = errors.New("input format code 0")
			}
		}
		if err == nil {
			e.Out, err = formatFromCode(outc)
		}
		if err == nil {
			e.Acc, err = formatFromCode(accc)
		}
		if err == nil {
			e.Algorithm, err = algFromCode(algc)
		}
		if err == nil {
			e.Mask, err = maskFromCode(maskc)
		}
		if err == nil && flags&^entryFlagsKnown != 0 {
			err = fmt.Errorf("unknown flag bits %#02x", flags&^entryFlagsKnown)
		}
		if err == nil && modes&^7 != 0 {
			err = fmt.Errorf("unknown reduction bits %#02x", modes&^7)
		}
		if err == nil && e.Name == "" {
			err = errors.New("empty name")
		}
		if err == nil && names[e.Name] {
			err = fmt.Errorf("duplicate name %q", e.Name)
		}
		if err == nil && flags&flagProbTargets != 0 && e.Op != kernels.OpCrossEntropy && e.Op != kernels.OpCrossEntropyGrad {
			err = fmt.Errorf("probability targets on %v", e.Op)
		}
		if err != nil {
			d.fail("kernel %d: %v", i, err)
			break
		}
		names[e.Name] = true
		e.Saturating = flags&flagSaturating != 0
		e.FlushToZero = flags&flagFlushToZero != 0
		e.ProbTargets = flags&flagProbTargets != 0
		if modes != 0 {
			for _, rc := range reductionCodes {
				if modes&(1<<rc.code) != 0 {
					e.CEModes = append(e.CEModes, rc.r)
				}
			}
		}
		h.Kernels = append(h.Kernels, e)
	}
	d.end()
	if d.err != nil {
		return nil, d.err
	}
	return h, nil
}

// EncodeHello encodes h as a hello payload (for children written in Go, and for tests).
func EncodeHello(h *Hello) ([]byte, error) {
	e := &encoder{}
	e.u8(msgHello)
	e.str(h.Protocol)
	e.str(h.Client)
	if len(h.Kernels) > maxKernels {
		return nil, fmt.Errorf("%d kernels, at most %d", len(h.Kernels), maxKernels)
	}
	e.u16(uint16(len(h.Kernels)))
	for _, k := range h.Kernels {
		var codes [6]uint8
		var errs [6]error
		codes[0], errs[0] = opCode(k.Op)
		codes[1], errs[1] = formatCode(k.In)
		codes[2], errs[2] = formatCode(k.Out)
		codes[3], errs[3] = formatCode(k.Acc)
		codes[4], errs[4] = algCode(k.Algorithm)
		codes[5], errs[5] = maskCode(k.Mask)
		if err := errors.Join(errs[:]...); err != nil {
			return nil, fmt.Errorf("kernel %q: %w", k.Name, err)
		}
		var flags, modes uint8
		if k.Saturating {
			flags |= flagSaturating
		}
		if k.FlushToZero {
			flags |= flagFlushToZero
		}
		if k.ProbTargets {
			flags |= flagProbTargets
		}
		for _, r := range k.CEModes {
			c, err := reductionCode(r)
			if err != nil {
				return nil, err
			}
			modes |= 1 << c
		}
		for _, c := range codes {
			e.u8(c)
		}
		e.u8(flags)
		e.u8(modes)
		e.str(k.Name)
		e.str(k.Doc)
	}
	return e.b, e.err
}

// EncodeRequest encodes r as a request payload. Float inputs must be members of r.In.
func EncodeRequest(r *Request) ([]byte, error) {
	opc, err := opCode(r.Op)
	if err != nil {
		return nil, err
	}
	inc, err := formatCode(r.In)
	if err != nil || inc == 0 {
		return nil, fmt.Errorf("request: bad input format %v", r.In)
	}
	outc, err := formatCode(r.Out)
	if err != nil || outc == 0 {
		return nil, fmt.Errorf("request: bad output format %v", r.Out)
	}
	redc, err := reductionCode(r.Reduction)
	if err != nil {
		return nil, err
	}
	if r.Rows < 0 || r.Cols < 0 || uint64(r.Rows) > math.MaxUint32 || uint64(r.Cols) > math.MaxUint32 {
		return nil, fmt.Errorf("request: shape %d×%d out of range", r.Rows, r.Cols)
	}
	n := r.Rows * r.Cols
	var sec uint8
	check := func(name string, got, want int, bit uint8, present bool) error {
		if !present {
			return nil
		}
		sec |= bit
		if got != want {
			return fmt.Errorf("request: %s has %d elements, want %d", name, got, want)
		}
		return nil
	}
	if err := errors.Join(
		check("X", len(r.X), n, 0, true),
		check("DY", len(r.DY), n, secDY, r.DY != nil),
		check("Targets", len(r.Targets), r.Rows, secTargets, r.Targets != nil),
		check("Probs", len(r.Probs), n, secProbs, r.Probs != nil),
		check("Weights", len(r.Weights), r.Cols, secWeights, r.Weights != nil),
	); err != nil {
		return nil, err
	}
	w := byteWidth(r.In)
	size := requestHead + w*(len(r.X)+len(r.DY)+len(r.Probs)+len(r.Weights)) + 8*len(r.Targets)
	e := &encoder{b: make([]byte, 0, size)}
	e.u8(msgRequest)
	e.u32(r.ID)
	e.u16(r.Kernel)
	e.u8(opc)
	e.u8(inc)
	e.u8(outc)
	e.u32(uint32(r.Rows))
	e.u32(uint32(r.Cols))
	e.u8(redc)
	e.u8(sec)
	e.u64(uint64(r.IgnoreIndex))
	e.u64(math.Float64bits(r.LabelSmoothing))
	e.elems(r.X, r.In)
	e.elems(r.DY, r.In)
	for _, t := range r.Targets {
		e.u64(uint64(t))
	}
	e.elems(r.Probs, r.In)
	e.elems(r.Weights, r.In)
	if e.err != nil {
		return nil, fmt.Errorf("request: %w", e.err)
	}
	return e.b, nil
}

// DecodeRequest decodes a request payload (for children written in Go, and for tests).
func DecodeRequest(p []byte) (*Request, error) {
	d := &decoder{msg: "request", p: p}
	if t := d.u8(); d.err == nil && t != msgRequest {
		d.fail("message type %#02x, want %#02x ('Q')", t, msgRequest)
	}
	r := &Request{ID: d.u32(), Kernel: d.u16()}
	opc, inc, outc := d.u8(), d.u8(), d.u8()
	rows, cols := d.u32(), d.u32()
	redc, sec := d.u8(), d.u8()
	r.IgnoreIndex = int64(d.u64())
	r.LabelSmoothing = math.Float64frombits(d.u64())
	if d.err != nil {
		return nil, d.err
	}
	var err error
	if r.Op, err = opFromCode(opc); err == nil {
		r.In, err = formatFromCode(inc)
	}
	if err == nil {
		r.Out, err = formatFromCode(outc)
	}
	if err == nil && (!r.In.Valid() || !r.Out.Valid()) {
		err = errors.New("format code 0")
	}
	if err == nil {
		r.Reduction, err = reductionFromCode(redc)
	}
	if err == nil && sec&^secKnown != 0 {
		err = fmt.Errorf("unknown section bits %#02x", sec&^secKnown)
	}
	if err != nil {
		d.fail("%v", err)
		return nil, d.err
	}
	n := uint64(rows) * uint64(cols)
	if n > math.MaxInt32 || uint64(rows) > math.MaxInt32 || uint64(cols) > math.MaxInt32 {
		d.fail("shape %d×%d too large", rows, cols)
		return nil, d.err
	}
	r.Rows, r.Cols = int(rows), int(cols)
	r.X = d.elems(n, r.In)
	if sec&secDY != 0 {
		r.DY = d.elems(n, r.In)
	}
	if sec&secTargets != 0 {
		if b := d.take(8 * r.Rows); b != nil {
			r.Targets = make([]int64, r.Rows)
			for i := range r.Targets {
				r.Targets[i] = int64(binary.LittleEndian.Uint64(b[8*i:]))
			}
		}
	}
	if sec&secProbs != 0 {
		r.Probs = d.elems(n, r.In)
	}
	if sec&secWeights != 0 {
		r.Weights = d.elems(uint64(cols), r.In)
	}
	d.end()
	if d.err != nil {
		return nil, d.err
	}
	if r.X == nil {
		r.X = []float64{}
	}
	return r, nil
}

// EncodeResponse encodes r; out is the format of r.Out's elements.
func EncodeResponse(r *Response, out fp.Format) ([]byte, error) {
	e := &encoder{}
	e.u8(msgResponse)
	e.u32(r.ID)
	e.u8(uint8(r.Status))
	if r.Status == StatusOK {
		if uint64(len(r.Out)) > math.MaxUint32 {
			return nil, errors.New("response: too many outputs")
		}
		e.u32(uint32(len(r.Out)))
		e.elems(r.Out, out)
	} else {
		e.str(r.Message)
	}
	return e.b, e.err
}

// DecodeResponse decodes a response payload whose outputs are in format out.
//
// Special cases are:
//
//	status other than 0, 1, 2        → *DecodeError
//	count × width ≠ remaining bytes  → *DecodeError
func DecodeResponse(p []byte, out fp.Format) (*Response, error) {
	if !out.Valid() {
		return nil, errors.New("response: invalid output format")
	}
	d := &decoder{msg: "response", p: p}
	if t := d.u8(); d.err == nil && t != msgResponse {
		d.fail("message type %#02x, want %#02x ('A')", t, msgResponse)
	}
	r := &Response{ID: d.u32(), Status: Status(d.u8())}
	if d.err != nil {
		return nil, d.err
	}
	switch r.Status {
	case StatusOK:
		n := d.u32()
		r.Out = d.elems(uint64(n), out)
	case StatusError, StatusUnsupported:
		r.Message = d.str()
	default:
		d.off--
		d.fail("unknown status %d", r.Status)
	}
	d.end()
	if d.err != nil {
		return nil, d.err
	}
	return r, nil
}
