"""Shared request loop for the extra ulpcheck external kernels in this folder (scipy, PyTorch).

The framing, the hello layout and the request header come from examples/external/numpy_kernel.py,
which this module imports (it is the protocol's reference client; nothing of it is copied here):
read_frame, write_frame, pstr, REQUEST_HEAD and the section and wire codes. What this module adds
is a request parser that also serves bfloat16 (wire format 2: elements travel as uint16 bits,
which numpy cannot represent as floats, so they are handed to the kernel as raw bits) and a serve
loop that takes the hello entries and a compute function from the client.

Importing numpy_kernel re-executes the *calling* script with /usr/bin/python3 when numpy is
missing from the current interpreter (Debian's python3-numpy, python3-scipy and python3-torch
install there), which is what these clients want too.
"""

import os
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "external"))
import numpy_kernel as nk  # noqa: E402  (the reference protocol client)
import numpy as np  # noqa: E402

FP16, BF16, FP32, FP64 = 1, 2, 3, 4
FMT_NAMES = {FP16: "fp16", BF16: "bf16", FP32: "fp32", FP64: "fp64"}
UINT = {FP16: "<u2", BF16: "<u2", FP32: "<u4", FP64: "<u8"}
NUMPY_DT = {FP16: np.float16, FP32: np.float32, FP64: np.float64}  # bf16: raw bits


class Unsupported(Exception):
    """Raised by a compute function for a case the kernel declines (status 2)."""


class Request:
    """One decoded request: x (rows×cols), targets, weights as numpy arrays of the wire format's
    float dtype, or of uint16 bits for bfloat16 (bits=True)."""

    def __init__(self, p):
        (typ, self.id, self.kernel, self.op, self.fin, self.fout, self.rows, self.cols, self.reduction,
         sec, self.ignore_index, self.smoothing) = nk.REQUEST_HEAD.unpack_from(p, 0)
        if typ != b"Q":
            raise ValueError("not a request")
        if self.fin not in UINT or self.fout != self.fin:
            raise Unsupported("format %d -> %d not served" % (self.fin, self.fout))
        self.bits = self.fin == BF16
        off = nk.REQUEST_HEAD.size
        n = self.rows * self.cols
        self.x, off = self._elems(p, off, n)
        self.x = self.x.reshape(self.rows, self.cols)
        if sec & nk.SEC_DY:
            _, off = self._elems(p, off, n)
        self.targets = None
        if sec & nk.SEC_TARGETS:
            self.targets = np.frombuffer(p, dtype="<i8", count=self.rows, offset=off).astype(np.int64)
            off += 8 * self.rows
        if sec & nk.SEC_PROBS:
            raise Unsupported("probability targets are not served")
        self.weights = None
        if sec & nk.SEC_WEIGHTS:
            self.weights, off = self._elems(p, off, self.cols)
        if off != len(p):
            raise ValueError("request has %d trailing bytes" % (len(p) - off))

    def _elems(self, p, off, n):
        u = UINT[self.fin]
        width = np.dtype(u).itemsize
        end = off + n * width
        if end > len(p):
            raise ValueError("request too short")
        a = np.frombuffer(p, dtype=u, count=n, offset=off).copy()
        if not self.bits:
            a = a.view(NUMPY_DT[self.fin])
        return a, end

    def answer(self, y):
        """Encodes the output y (numpy floats of the format, or uint16 bits for bf16)."""
        u = UINT[self.fin]
        if not self.bits:
            y = np.ascontiguousarray(y, dtype=NUMPY_DT[self.fin]).reshape(-1).view(u)
        else:
            y = np.ascontiguousarray(y, dtype=np.uint16).reshape(-1)
        return struct.pack("<I", y.size) + y.astype(u).tobytes()


def hello(version, entries):
    """entries: (op, fmt, acc, algorithm, mask, name, doc) tuples."""
    b = [b"H", nk.pstr(nk.PROTOCOL), nk.pstr(version.encode()), struct.pack("<H", len(entries))]
    for op, fc, acc, alg, mask, name, doc in entries:
        b.append(struct.pack("<8B", op, fc, 0, acc, alg, mask, 0, 0))
        b.append(nk.pstr(name.encode()))
        b.append(nk.pstr(doc.encode()))
    return b"".join(b)


def serve(version, entries, compute):
    """Runs the request loop: compute(req) returns the output for a Request (see Request.answer),
    raises Unsupported to decline, any other exception answers with an error status."""
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    nk.write_frame(stdout, hello(version, entries))
    while True:
        p = nk.read_frame(stdin)
        if p is None:
            return 0
        rid = struct.unpack_from("<I", p, 1)[0] if len(p) >= 5 else 0
        try:
            req = Request(p)
            status, body = 0, req.answer(compute(req))
        except Unsupported as e:
            status, body = 2, str(e)
        except Exception as e:  # a bad request or a library error: an error status, never a crash
            status, body = 1, "%s: %s" % (type(e).__name__, e)
        if status != 0:
            body = nk.pstr(body.encode())
        nk.write_frame(stdout, b"A" + struct.pack("<IB", rid, status) + body)
