"""The wire format of ``ulpcheck-kernel/1`` (docs/protocol.md in the ulpcheck repository).

This module implements the codes, the frames and the messages, and nothing else: no numpy
arrays and no kernel dispatch (see :mod:`ulpcheck.server`). Everything is little-endian, without
padding; a frame is a ``u64`` payload length followed by the payload, whose first byte is the
message type (``H`` hello, ``Q`` request, ``A`` response).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import BinaryIO, Dict, List, Optional, Sequence, Tuple

PROTOCOL = "ulpcheck-kernel/1"
"""The protocol string a client announces in its hello."""

MAX_FRAME = 64 << 20
"""The default bound on a frame's payload (64 MiB); both sides check it before allocating."""

MAX_KERNELS = 4096
"""The most kernels one hello may declare."""

# Operations: protocol code and the name ``fuzz run -ops`` takes.
OPS: Dict[str, Tuple[int, str]] = {
    "softmax": (1, "softmax"),
    "log_softmax": (2, "logsoftmax"),
    "logsumexp": (3, "lse"),
    "cross_entropy": (4, "ce"),
    "softmax_backward": (5, "softmaxbwd"),
    "cross_entropy_grad": (6, "cegrad"),
    "softplus": (16, "softplus"),
    "logsigmoid": (17, "logsigmoid"),
    "sigmoid": (18, "sigmoid"),
    "sigmoid_grad": (19, "sigmoidgrad"),
    "bce_with_logits": (20, "bce"),
    "bce_with_logits_grad": (21, "bcegrad"),
}

OP_ALIASES: Dict[str, str] = {
    "logsoftmax": "log_softmax", "log-softmax": "log_softmax",
    "lse": "logsumexp", "log-sum-exp": "logsumexp",
    "ce": "cross_entropy", "cross-entropy": "cross_entropy",
    "softmaxbwd": "softmax_backward", "softmax-backward": "softmax_backward",
    "cegrad": "cross_entropy_grad", "cross-entropy-grad": "cross_entropy_grad",
    "log_sigmoid": "logsigmoid", "sigmoidgrad": "sigmoid_grad",
    "bce": "bce_with_logits", "bcegrad": "bce_with_logits_grad",
}

ROW_OPS = frozenset({"softmax", "log_softmax", "logsumexp", "cross_entropy", "softmax_backward",
                     "cross_entropy_grad"})
"""Operations that reduce over a row (their functions take an ``axis`` or ``dim``)."""

CE_OPS = frozenset({"cross_entropy", "cross_entropy_grad"})
BCE_OPS = frozenset({"bce_with_logits", "bce_with_logits_grad"})
REDUCED_OPS = frozenset({"cross_entropy", "bce_with_logits"})

# Formats: protocol code, the name ``fuzz run -formats`` takes, element width in bytes.
FORMATS: Dict[str, Tuple[int, str, int]] = {
    "float16": (1, "fp16", 2),
    "bfloat16": (2, "bf16", 2),
    "float32": (3, "fp32", 4),
    "float64": (4, "fp64", 8),
}

FORMAT_ALIASES: Dict[str, str] = {
    "fp16": "float16", "half": "float16", "f16": "float16",
    "bf16": "bfloat16",
    "fp32": "float32", "float": "float32", "f32": "float32", "single": "float32",
    "fp64": "float64", "double": "float64", "f64": "float64",
}

ALGORITHMS: Dict[str, int] = {"shifted": 0, "unshifted": 1, "exp_lse": 2, "online": 3}
ALGORITHM_ALIASES: Dict[str, str] = {"naive": "unshifted", "exp-lse": "exp_lse", "two_pass": "shifted",
                                     "two-pass": "shifted"}

MASKS: Dict[str, int] = {"nan": 0, "zero": 1}

REDUCTIONS: Dict[str, int] = {"mean": 0, "sum": 1, "none": 2}

FLAG_SATURATING, FLAG_FLUSH_TO_ZERO, FLAG_PROB_TARGETS = 1, 2, 4
SEC_DY, SEC_TARGETS, SEC_PROBS, SEC_WEIGHTS = 1, 2, 4, 8
STATUS_OK, STATUS_ERROR, STATUS_UNSUPPORTED = 0, 1, 2

REQUEST_HEAD = struct.Struct("<cIHBBBIIBBqd")
"""The fixed 36-byte head of a request."""

_ENTRY = struct.Struct("<8B")
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")


class ProtocolError(Exception):
    """A frame or message that breaks the protocol."""


def _canon(name: str, table: Dict[str, object], aliases: Dict[str, str], what: str) -> str:
    key = str(name).strip().lower()
    key = aliases.get(key, key)
    if key not in table:
        raise ValueError("unknown %s %r (one of: %s)" % (what, name, ", ".join(sorted(table))))
    return key


def op_name(name: str) -> str:
    """Returns the canonical name of an operation ("lse" → "logsumexp"), or raises ValueError."""
    return _canon(name, OPS, OP_ALIASES, "operation")  # type: ignore[arg-type]


def format_name(name: object) -> str:
    """Returns the canonical name of a format ("fp16", numpy.float16, torch.float16 → "float16")."""
    text = str(getattr(name, "__name__", name))
    text = text.replace("torch.", "").replace("numpy.", "")
    if text.endswith("'>"):  # <class 'numpy.float16'>
        text = text.rsplit(".", 1)[-1][:-2]
    try:
        return _canon(text, FORMATS, FORMAT_ALIASES, "format")  # type: ignore[arg-type]
    except ValueError:
        raise ValueError("unsupported dtype %r: the Python package serves float16, bfloat16, float32 "
                         "and float64" % (name,)) from None


def algorithm_name(name: str) -> str:
    """Returns the canonical algorithm class name ("naive" → "unshifted")."""
    return _canon(name, ALGORITHMS, ALGORITHM_ALIASES, "algorithm class")  # type: ignore[arg-type]


def mask_name(name: str) -> str:
    """Returns the canonical fully-masked-row policy name ("nan" or "zero")."""
    return _canon(name, MASKS, {}, "mask policy")  # type: ignore[arg-type]


def pstr(s: str) -> bytes:
    """Encodes a protocol ``str``: a u32 byte count and UTF-8 bytes."""
    b = s.encode("utf-8")
    return _U32.pack(len(b)) + b


@dataclass(frozen=True)
class Entry:
    """One kernel of a hello: its wire declaration."""

    op: int
    fin: int
    fout: int = 0
    acc: int = 0
    algorithm: int = 0
    mask: int = 0
    flags: int = 0
    reductions: int = 0
    name: str = ""
    doc: str = ""


def encode_hello(client: str, entries: Sequence[Entry]) -> bytes:
    """Returns the hello payload announcing :data:`PROTOCOL`, client and entries."""
    if not 1 <= len(entries) <= MAX_KERNELS:
        raise ValueError("a hello declares 1 to %d kernels, not %d" % (MAX_KERNELS, len(entries)))
    names = set()
    parts = [b"H", pstr(PROTOCOL), pstr(client), struct.pack("<H", len(entries))]
    for e in entries:
        if not e.name or e.name in names:
            raise ValueError("kernel names must be unique and non-empty: %r" % e.name)
        names.add(e.name)
        parts.append(_ENTRY.pack(e.op, e.fin, e.fout, e.acc, e.algorithm, e.mask, e.flags, e.reductions))
        parts.append(pstr(e.name))
        parts.append(pstr(e.doc))
    return b"".join(parts)


@dataclass
class RawRequest:
    """A decoded request head with the byte ranges of its sections (elements not yet decoded)."""

    id: int
    kernel: int
    op: int
    fin: int
    fout: int
    rows: int
    cols: int
    reduction: int
    sections: int
    ignore_index: int
    label_smoothing: float
    spans: Dict[str, Tuple[int, int]] = field(default_factory=dict)


def request_id(payload: bytes) -> int:
    """Returns the id of a request payload, 0 when it is too short to carry one."""
    return int(_U32.unpack_from(payload, 1)[0]) if len(payload) >= 5 else 0


def decode_request(payload: bytes, widths: Dict[int, int]) -> RawRequest:
    """Decodes a request payload's head and checks that its sections fill it exactly.

    widths maps the format codes served to their element width in bytes. Raises ProtocolError on
    any violation (wrong type, short payload, unknown format or reduction code, unknown section
    bits, trailing bytes).
    """
    if len(payload) < REQUEST_HEAD.size:
        raise ProtocolError("request of %d bytes is shorter than its %d-byte head" % (len(payload), REQUEST_HEAD.size))
    (typ, rid, kernel, op, fin, fout, rows, cols, red, sec, ignore, smoothing) = REQUEST_HEAD.unpack_from(payload, 0)
    if typ != b"Q":
        raise ProtocolError("message type %r is not a request" % typ)
    if fin not in widths or fout not in widths:
        raise ProtocolError("format codes %d -> %d are not served" % (fin, fout))
    if red not in REDUCTIONS.values():
        raise ProtocolError("unknown reduction code %d" % red)
    r = RawRequest(int(rid), int(kernel), int(op), int(fin), int(fout), int(rows), int(cols), int(red),
                   int(sec), int(ignore), float(smoothing))
    w = widths[fin]
    n = r.rows * r.cols
    off = REQUEST_HEAD.size
    for bit, name, size in ((0, "x", n * w), (SEC_DY, "dy", n * w), (SEC_TARGETS, "targets", r.rows * 8),
                            (SEC_PROBS, "probs", n * w), (SEC_WEIGHTS, "weights", r.cols * w)):
        if bit and not sec & bit:
            continue
        if off + size > len(payload):
            raise ProtocolError("request too short: section %s needs bytes %d..%d of %d" % (name, off, off + size, len(payload)))
        r.spans[name] = (off, off + size)
        off += size
    if sec & ~(SEC_DY | SEC_TARGETS | SEC_PROBS | SEC_WEIGHTS):
        raise ProtocolError("unknown section bits 0x%02x" % sec)
    if off != len(payload):
        raise ProtocolError("request has %d trailing bytes" % (len(payload) - off))
    return r


def encode_ok(rid: int, count: int, data: bytes) -> bytes:
    """Returns an ok response payload: count outputs whose encodings are data."""
    return b"A" + struct.pack("<IBI", rid, STATUS_OK, count) + data


def encode_status(rid: int, status: int, message: str) -> bytes:
    """Returns an error (1) or unsupported (2) response payload with a one-line message."""
    line = " ".join(message.split()) or "(no message)"
    return b"A" + struct.pack("<IB", rid, status) + pstr(line[:4000])


def _read_exact(f: BinaryIO, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = f.read(n - len(buf))
        if not chunk:
            break
        buf += chunk
    return bytes(buf)


def read_frame(f: BinaryIO, max_frame: int = MAX_FRAME) -> Optional[bytes]:
    """Reads one frame's payload; returns None at end of file on a frame boundary.

    Raises ProtocolError for a length of 0 or above max_frame (before reading or allocating
    anything) and for a stream that ends inside a frame.
    """
    head = _read_exact(f, 8)
    if not head:
        return None
    if len(head) < 8:
        raise ProtocolError("stream ended inside a frame header (%d of 8 bytes)" % len(head))
    (n,) = _U64.unpack(head)
    if n == 0 or n > max_frame:
        raise ProtocolError("frame length %d out of bounds [1, %d] (header %s)" % (n, max_frame, head.hex()))
    payload = _read_exact(f, n)
    if len(payload) < n:
        raise ProtocolError("stream ended inside a frame (%d of %d bytes)" % (len(payload), n))
    return payload


def write_frame(f: BinaryIO, payload: bytes, max_frame: int = MAX_FRAME) -> None:
    """Writes payload as one frame and flushes f."""
    if not 1 <= len(payload) <= max_frame:
        raise ProtocolError("frame of %d bytes out of bounds [1, %d]" % (len(payload), max_frame))
    f.write(_U64.pack(len(payload)) + payload)
    f.flush()


def decode_hello(payload: bytes) -> Tuple[str, str, List[Entry]]:
    """Decodes a hello payload into (protocol, client, entries); for tests and tools."""
    off = 0

    def take(n: int) -> bytes:
        nonlocal off
        if off + n > len(payload):
            raise ProtocolError("hello too short")
        b = payload[off:off + n]
        off += n
        return b

    def text() -> str:
        (n,) = _U32.unpack(take(4))
        return take(n).decode("utf-8")

    if take(1) != b"H":
        raise ProtocolError("not a hello")
    proto, client = text(), text()
    (count,) = struct.unpack("<H", take(2))
    entries = []
    for _ in range(count):
        op, fin, fout, acc, alg, mask, flags, reds = _ENTRY.unpack(take(8))
        name, doc = text(), text()
        entries.append(Entry(op, fin, fout, acc, alg, mask, flags, reds, name=name, doc=doc))
    if off != len(payload):
        raise ProtocolError("hello has %d trailing bytes" % (len(payload) - off))
    return proto, client, entries
