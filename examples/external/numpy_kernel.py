#!/usr/bin/env python3
"""numpy softmax, log-softmax, log-sum-exp and cross-entropy as an ulpcheck external kernel.

Speaks the ulpcheck-kernel/1 protocol (docs/protocol.md) on stdin/stdout:

    go run ./cmd/fuzz run -exec 'python3 examples/external/numpy_kernel.py'

The kernels are written the way numpy users write them, in the input's own dtype (float16,
float32, float64), with numpy's own semantics: shift by the row maximum, np.exp, np.sum, divide
or np.log. numpy computes float16 arithmetic in float16 (each ufunc rounds its result to
float16; np.sum's pairwise partial sums are float16 too). The kernels are declared with the
harness's default accumulation format (float32 for float16 storage), so that they are measured
against what a careful mixed-precision kernel achieves: the float16 rounding of the intermediate
values is a finding, not hidden. bfloat16 and fp8 do not exist in numpy and are not served.

If numpy cannot be imported and /usr/bin/python3 is another interpreter, the script re-executes
itself with /usr/bin/python3 (where Debian's python3-numpy installs numpy). stdout carries only
protocol frames; numpy's floating-point warnings are silenced (np.errstate) so that stderr stays
quiet; diagnostics go to stderr.
"""

import os
import struct
import sys

try:
    import numpy as np
except ImportError:
    alt = "/usr/bin/python3"
    if (os.path.exists(alt) and os.path.realpath(sys.executable) != os.path.realpath(alt)
            and not os.environ.get("ULPCHECK_NUMPY_REEXEC")):
        os.environ["ULPCHECK_NUMPY_REEXEC"] = "1"
        os.execv(alt, [alt] + sys.argv)
    sys.stderr.write("numpy_kernel.py: numpy is not installed for %s (Debian: apt-get install "
                     "python3-numpy; or pip install numpy)\n" % sys.executable)
    sys.exit(3)

PROTOCOL = b"ulpcheck-kernel/1"
MAX_FRAME = 64 << 20

# Wire codes (docs/protocol.md).
OP_SOFTMAX, OP_LOGSOFTMAX, OP_LSE, OP_CE = 1, 2, 3, 4
FMT_CODES = {1: np.float16, 3: np.float32, 4: np.float64}
FMT_NAMES = {1: "fp16", 3: "fp32", 4: "fp64"}
UINT = {np.float16: "<u2", np.float32: "<u4", np.float64: "<u8"}
ALG_SHIFTED, MASK_NAN = 0, 0
RED_MEAN, RED_SUM, RED_NONE = 0, 1, 2
SEC_DY, SEC_TARGETS, SEC_PROBS, SEC_WEIGHTS = 1, 2, 4, 8
REQUEST_HEAD = struct.Struct("<cIHBBBIIBBqd")  # 36 bytes


def softmax(x):
    """e = exp(x - max), e / sum(e), per row."""
    m = np.max(x, axis=1, keepdims=True)
    e = np.exp(x - m)
    return e / np.sum(e, axis=1, keepdims=True)


def log_softmax(x):
    """(x - max) - log(sum(exp(x - max))), per row."""
    m = np.max(x, axis=1, keepdims=True)
    z = x - m
    return z - np.log(np.sum(np.exp(z), axis=1, keepdims=True))


def logsumexp(x):
    """max + log(sum(exp(x - max))), per row."""
    m = np.max(x, axis=1, keepdims=True)
    return (m + np.log(np.sum(np.exp(x - m), axis=1, keepdims=True)))[:, 0]


def cross_entropy(x, targets, weights, ignore_index, smoothing, reduction):
    """PyTorch F.cross_entropy with class targets, computed in x's dtype from log_softmax."""
    rows, cols = x.shape
    dt = x.dtype.type
    logp = log_softmax(x)
    w = np.ones(cols, dtype=x.dtype) if weights is None else weights
    valid = targets != ignore_index
    t = np.where(valid, targets, 0)
    if np.any((t < 0) | (t >= cols)):
        raise ValueError("target out of range [0, %d)" % cols)
    wt = np.where(valid, w[t], dt(0))
    loss = -wt * logp[np.arange(rows), t]
    if smoothing != 0:
        eps = dt(smoothing)
        smooth = -np.sum(w * logp, axis=1)
        loss = (dt(1) - eps) * loss + (eps / dt(cols)) * np.where(valid, smooth, dt(0))
    loss = np.where(valid, loss, dt(0))
    if reduction == RED_NONE:
        return loss
    if reduction == RED_SUM:
        return np.array([np.sum(loss)], dtype=x.dtype)
    return np.array([np.sum(loss) / np.sum(wt)], dtype=x.dtype)


OPS = [
    (OP_SOFTMAX, "softmax", "exp(x - max) / sum"),
    (OP_LOGSOFTMAX, "logsoftmax", "(x - max) - log(sum(exp(x - max)))"),
    (OP_LSE, "lse", "max + log(sum(exp(x - max)))"),
    (OP_CE, "ce", "PyTorch cross_entropy with class targets from the log-softmax"),
]


def hello():
    entries = []
    for op, name, doc in OPS:
        for fc in (1, 3, 4):
            dtname = np.dtype(FMT_CODES[fc]).name
            full = "numpy/%s/%s" % (name, FMT_NAMES[fc])
            text = "numpy %s in %s: %s; every operation rounds to %s" % (name, dtname, doc, dtname)
            entries.append((op, fc, full, text))
    b = [b"H", pstr(PROTOCOL), pstr(("numpy %s, Python %s" % (np.__version__, sys.version.split()[0])).encode()),
         struct.pack("<H", len(entries))]
    for op, fc, full, text in entries:
        # op, in, out (0 = in), acc (0 = default), algorithm, mask, flags, reductions (0 = all)
        b.append(struct.pack("<8B", op, fc, 0, 0, ALG_SHIFTED, MASK_NAN, 0, 0))
        b.append(pstr(full.encode()))
        b.append(pstr(text.encode()))
    return b"".join(b)


def pstr(s):
    return struct.pack("<I", len(s)) + s


def read_exact(f, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = f.read(n - len(buf))
        if not chunk:
            return None if not buf else bytes(buf)
        buf += chunk
    return bytes(buf)


def read_frame(f):
    h = read_exact(f, 8)
    if h is None:
        return None
    if len(h) < 8:
        raise EOFError("stream ended inside a frame header")
    (n,) = struct.unpack("<Q", h)
    if n == 0 or n > MAX_FRAME:
        raise ValueError("frame of %d bytes out of bounds" % n)
    p = read_exact(f, n)
    if p is None or len(p) < n:
        raise EOFError("stream ended inside a frame")
    return p


def write_frame(f, payload):
    f.write(struct.pack("<Q", len(payload)) + payload)
    f.flush()


def elems(p, off, n, dt):
    width = np.dtype(dt).itemsize
    end = off + n * width
    if end > len(p):
        raise ValueError("request too short")
    a = np.frombuffer(p, dtype=UINT[dt], count=n, offset=off).view(dt).astype(dt, copy=True)
    return a, end


def handle(p):
    """Returns (id, status, body)."""
    (typ, rid, kidx, op, fin, fout, rows, cols, red, sec, ignore, smoothing) = REQUEST_HEAD.unpack_from(p, 0)
    if typ != b"Q":
        raise ValueError("not a request")
    dt = FMT_CODES.get(fin)
    if dt is None or fout != fin:
        return rid, 2, "format %d→%d not served" % (fin, fout)
    if cols == 0:
        return rid, 2, "numpy's max has no identity: empty rows are not served"
    off = REQUEST_HEAD.size
    x, off = elems(p, off, rows * cols, dt)
    x = x.reshape(rows, cols)
    if sec & SEC_DY:
        _, off = elems(p, off, rows * cols, dt)
    targets = None
    if sec & SEC_TARGETS:
        targets = np.frombuffer(p, dtype="<i8", count=rows, offset=off).astype(np.int64)
        off += 8 * rows
    if sec & SEC_PROBS:
        return rid, 2, "probability targets are not served"
    weights = None
    if sec & SEC_WEIGHTS:
        weights, off = elems(p, off, cols, dt)
    if off != len(p):
        raise ValueError("request has %d trailing bytes" % (len(p) - off))
    with np.errstate(all="ignore"):
        if op == OP_SOFTMAX:
            y = softmax(x)
        elif op == OP_LOGSOFTMAX:
            y = log_softmax(x)
        elif op == OP_LSE:
            y = logsumexp(x)
        elif op == OP_CE:
            if targets is None:
                return rid, 2, "cross-entropy without class targets"
            y = cross_entropy(x, targets, weights, ignore, smoothing, red)
        else:
            return rid, 2, "operation %d not served" % op
    y = np.ascontiguousarray(y, dtype=dt).reshape(-1)
    return rid, 0, struct.pack("<I", y.size) + y.view(UINT[dt]).astype(UINT[dt]).tobytes()


def main():
    stdin = sys.stdin.buffer
    stdout = sys.stdout.buffer
    write_frame(stdout, hello())
    while True:
        p = read_frame(stdin)
        if p is None:
            return 0
        rid = struct.unpack_from("<I", p, 1)[0] if len(p) >= 5 else 0
        try:
            rid, status, body = handle(p)
        except Exception as e:  # a bad request or a numpy error: answer with an error status
            status, body = 1, "%s: %s" % (type(e).__name__, e)
        if status != 0:
            body = pstr(body.encode())
        write_frame(stdout, b"A" + struct.pack("<IB", rid, status) + body)


if __name__ == "__main__":
    sys.exit(main())
