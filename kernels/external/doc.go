// Package external tests kernels that live in another process: a program in any language that
// speaks the ulpcheck-kernel/1 protocol (docs/protocol.md) on its stdin and stdout.
//
// Start (or StartCommand, which splits a -exec string with SplitArgs) runs the program directly,
// without a shell, in its own process group, reads its hello frame and returns a Process whose
// Kernels are ordinary *kernels.Kernel values: their declarations come from the hello, their Fn
// sends one request frame per call and reads the response under Options.Timeout. Kernel.Call
// then applies the usual contract checks.
//
// Robustness. Every frame is a u64 little-endian length and a payload; lengths are checked
// against Options.MaxFrame (64 MiB by default) before anything is allocated, and every decoder
// checks each length against the bytes that remain, so no input makes the harness panic or
// allocate beyond the bound (FuzzDecodeFrame). A child that crashes, closes its stdout, sends a
// malformed frame or message, answers out of step or stalls past the timeout is killed (its
// whole process group) and the call returns a *kernels.ContractError wrapping an *Error that
// says what happened, with the child's exit status and the tail of its stderr; the next call
// starts a fresh child, which must send the same hello. stderr is drained continuously into a
// bounded buffer; output there is counted (Stats) and, with Options.StrictStderr, a finding.
// After Options.MaxRestarts restarts, or three consecutive failed restarts, the Process gives
// up and calls fail at once (ErrGaveUp), so that a campaign moves on.
//
// Special cases are:
//
//	response with status "unsupported"   → an error wrapping kernels.ErrUnsupported (skipped)
//	response with status "error"          → *kernels.ContractError (returned an error), child kept
//	wrong output count                    → *kernels.ContractError (wrong output length), child kept
//	timeout                               → *kernels.ContractError (timed out), child killed
//	crash, malformed frame, wrong id      → *kernels.ContractError (returned an error), child killed
//	ctx cancelled during a call           → ctx.Err(), child killed
//
// The child's side of the protocol is Serve (for Go programs), the Python package in python/
// (ulpcheck.serve, python -m ulpcheck serve; examples/external/numpy_kernel.py uses it) and
// examples/external/c_kernel/kernel.c (C). conform_test.go checks Serve and the Python server
// against the child's rules of docs/protocol.md §11.
//
// Index: Start, StartCommand, Options, Process (Kernels, Hello, Stats, Close), Error, ErrorKind,
// Stats; SplitArgs; the codec: ReadFrame, WriteFrame, FrameError, Hello, Entry, Request,
// Response, Status, EncodeHello, DecodeHello, EncodeRequest, DecodeRequest, EncodeResponse,
// DecodeResponse, DecodeError; Serve, Handler; Protocol, DefaultMaxFrame.
package external
