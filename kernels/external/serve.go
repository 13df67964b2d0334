// This file implements Serve, the child side of the protocol for kernels written in Go.

package external

import (
	"errors"
	"fmt"
	"io"

	"github.com/ulpcheck/ulpcheck/kernels"
)

// A Handler computes one request. Its outputs must be members of r.Out. An error wrapping
// kernels.ErrUnsupported is sent as StatusUnsupported, any other error as StatusError.
type Handler func(r *Request) ([]float64, error)

// Serve is the child's side of the protocol: it writes h as the hello frame to w, then answers
// every request frame read from r with fn until r ends (then it returns nil). maxFrame bounds
// frames in both directions (DefaultMaxFrame when ≤ 0). A malformed request ends Serve with an
// error: the harness never sends one, so the stream cannot be trusted after it.
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
		req, err := DecodeRequest(p)
		if err != nil {
			return err
		}
		resp := &Response{ID: req.ID}
		if int(req.Kernel) >= len(h.Kernels) {
			resp.Status, resp.Message = StatusError, fmt.Sprintf("no kernel %d", req.Kernel)
		} else if out, err := fn(req); errors.Is(err, kernels.ErrUnsupported) {
			resp.Status, resp.Message = StatusUnsupported, err.Error()
		} else if err != nil {
			resp.Status, resp.Message = StatusError, err.Error()
		} else {
			resp.Out = out
		}
		b, err := EncodeResponse(resp, req.Out)
		if err != nil {
			b, _ = EncodeResponse(&Response{ID: req.ID, Status: StatusError, Message: err.Error()}, req.Out)
		}
		if err := WriteFrame(w, b, maxFrame); err != nil {
			return err
		}
	}
}
