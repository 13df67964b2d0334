// This file implements Serve, the child side of the protocol for kernels written in Go.

package external

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/ulpcheck/ulpcheck/fp"
	"github.com/ulpcheck/ulpcheck/kernels"
)

// A Handler computes one request. Its outputs must be members of r.Out. An error wrapping
// kernels.ErrUnsupported is sent as StatusUnsupported, any other error as StatusError.
type Handler func(r *Request) ([]float64, error)

// Serve is the child's side of the protocol: it writes h as the hello frame to w, then answers
// every request frame read from r with fn until r ends at a frame boundary (then it returns
// nil). maxFrame bounds frames in both directions (DefaultMaxFrame when ≤ 0).
//
// Special cases are (docs/protocol.md §11):
//
//	frame of length 0 or above maxFrame, stream ending inside a frame → returns the error at once
//	    (the stream cannot be trusted after it; the program should exit with a non-zero status)
//	malformed request in a well-formed frame (short, trailing bytes, unknown codes)     → StatusError
//	kernel index out of range, or op or formats other than the entry's                  → StatusError
//
// A StatusError answer carries the request's id (0 when the payload is too short to hold one)
// and the reason; Serve goes on with the next frame.
func Serve(r io.Reader, w io.Writer, h *Hello, fn Handler, maxFrame int) error {
	hello, err := EncodeHello(h)
	if err != nil {
		return err
	}
	if err := WriteFrame(w, hello, maxFrame); err != nil {
		return err
	}
	for {
		p, err := ReadFrame(r, maxFrame)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		b := answer(p, h, fn)
		if err := WriteFrame(w, b, maxFrame); err != nil {
			return err
		}
	}
}

// answer returns the response payload to request payload p.
func answer(p []byte, h *Hello, fn Handler) []byte {
	fail := func(id uint32, msg string) []byte {
		b, _ := EncodeResponse(&Response{ID: id, Status: StatusError, Message: msg}, fp.FP64)
		return b
	}
	req, err := DecodeRequest(p)
	if err != nil {
		var id uint32
		if len(p) >= 5 {
			id = binary.LittleEndian.Uint32(p[1:])
		}
		return fail(id, err.Error())
	}
	if int(req.Kernel) >= len(h.Kernels) {
		return fail(req.ID, fmt.Sprintf("no kernel %d (%d served)", req.Kernel, len(h.Kernels)))
	}
	if e := &h.Kernels[req.Kernel]; req.Op != e.Op || req.In != e.In || req.Out != e.OutFormat() {
		return fail(req.ID, fmt.Sprintf("request for %v %v→%v does not match kernel %d (%s: %v %v→%v)", req.Op, req.In, req.Out, req.Kernel, e.Name, e.Op, e.In, e.OutFormat()))
	}
	resp := &Response{ID: req.ID}
	if out, err := fn(req); errors.Is(err, kernels.ErrUnsupported) {
		resp.Status, resp.Message = StatusUnsupported, err.Error()
	} else if err != nil {
		resp.Status, resp.Message = StatusError, err.Error()
	} else {
		resp.Out = out
	}
	b, err := EncodeResponse(resp, req.Out)
	if err != nil {
		return fail(req.ID, err.Error())
	}
	return b
}
