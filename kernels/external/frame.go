// This file implements the framing layer: a little-endian u64 payload length, then the payload.

package external

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Protocol is the protocol name and version a child must announce in its hello frame, exactly.
const Protocol = "ulpcheck-kernel/1"

// DefaultMaxFrame is the default bound on a frame's payload, in bytes (64 MiB).
const DefaultMaxFrame = 64 << 20

// frameHeader is the size of a frame's length prefix.
const frameHeader = 8

// Message types, the first byte of every payload.
const (
	msgHello    = 'H' // child → harness, once, first
	msgRequest  = 'Q' // harness → child
	msgResponse = 'A' // child → harness, one per request
)

// A FrameError reports a frame that breaks the framing rules: a length of zero or above the
// bound, or a stream that ends inside a frame.
type FrameError struct {
	Length uint64 // the length the header claimed
	Max    int    // the bound in force
	Got    int    // payload bytes actually read before the stream ended (truncation only)
	Err    error  // io.ErrUnexpectedEOF for a truncated frame, nil otherwise
	Header []byte // the header's bytes, for diagnosing text written where a frame was expected
}

func (e *FrameError) Error() string {
	switch {
	case e.Err != nil:
		return fmt.Sprintf("truncated frame: header claims %d bytes, stream ended after %d: %v", e.Length, e.Got, e.Err)
	case e.Length == 0 && e.Header != nil:
		return "empty frame (length 0)"
	case e.Header == nil:
		return fmt.Sprintf("refusing to write a frame of %d bytes, bound %d", e.Length, e.Max)
	}
	return fmt.Sprintf("frame header %q claims %d bytes (%#x), bound %d", e.Header, e.Length, e.Length, e.Max)
}

func (e *FrameError) Unwrap() error { return e.Err }

// ReadFrame reads one frame from r and returns its payload. The length is checked against
// maxFrame (DefaultMaxFrame when maxFrame ≤ 0) before anything is allocated, so a header that
// claims 2^40 bytes costs nothing.
//
// Special cases are:
//
//	stream ends before the first header byte   → io.EOF (a clean end)
//	stream ends inside the header or payload   → *FrameError wrapping io.ErrUnexpectedEOF
//	length 0 or length > maxFrame              → *FrameError, nothing more is read
func ReadFrame(r io.Reader, maxFrame int) ([]byte, error) {
	if maxFrame <= 0 {
		maxFrame = DefaultMaxFrame
	}
	var h [frameHeader]byte
	n, err := io.ReadFull(r, h[:])
	if err != nil {
		if n == 0 && errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, &FrameError{Got: n - frameHeader, Err: io.ErrUnexpectedEOF}
		}
		return nil, err
	}
	length := binary.LittleEndian.Uint64(h[:])
	if length == 0 || length > uint64(maxFrame) {
		return nil, &FrameError{Length: length, Max: maxFrame, Header: h[:]}
	}
	p := make([]byte, length)
	n, err = io.ReadFull(r, p)
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, &FrameError{Length: length, Max: maxFrame, Got: n, Err: io.ErrUnexpectedEOF}
		}
		return nil, err
	}
	return p, nil
}

// WriteFrame writes payload as one frame (length prefix and payload in a single Write).
// It refuses an empty payload or one longer than maxFrame (DefaultMaxFrame when ≤ 0).
func WriteFrame(w io.Writer, payload []byte, maxFrame int) error {
	if maxFrame <= 0 {
		maxFrame = DefaultMaxFrame
	}
	if len(payload) == 0 || len(payload) > maxFrame {
		return &FrameError{Length: uint64(len(payload)), Max: maxFrame}
	}
	b := make([]byte, frameHeader+len(payload))
	binary.LittleEndian.PutUint64(b, uint64(len(payload)))
	copy(b[frameHeader:], payload)
	_, err := w.Write(b)
	return err
}
