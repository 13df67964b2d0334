"""The wire format: frames, hello, requests, and bfloat16 rounding."""

import io
import struct
from fractions import Fraction

import numpy as np
import pytest

from ulpcheck import bfloat16_bits
from ulpcheck import protocol as pr


def test_frame_round_trip():
    buf = io.BytesIO()
    pr.write_frame(buf, b"Qpayload")
    buf.seek(0)
    assert pr.read_frame(buf) == b"Qpayload"
    assert pr.read_frame(buf) is None  # end of file on a frame boundary


@pytest.mark.parametrize("stream, reason", [
    (struct.pack("<Q", 0), "a zero length"),
    (struct.pack("<Q", 1 << 40), "a length above the bound, refused before reading"),
    (struct.pack("<Q", 10) + b"abc", "a stream that ends inside the payload"),
    (b"\x01\x00\x00", "a stream that ends inside the header"),
])
def test_read_frame_errors(stream, reason):
    with pytest.raises(pr.ProtocolError):
        pr.read_frame(io.BytesIO(stream))


def test_hello_round_trip():
    entries = [pr.Entry(op=1, fin=1, acc=3, algorithm=3, mask=1, flags=pr.FLAG_SATURATING, name="a/softmax/fp16", doc="d"),
               pr.Entry(op=4, fin=4, reductions=5, name="b/ce/fp64", doc="")]
    proto, client, got = pr.decode_hello(pr.encode_hello("client é", entries))
    assert (proto, client, got) == (pr.PROTOCOL, "client é", entries)
    with pytest.raises(ValueError):
        pr.encode_hello("c", [entries[0], entries[0]])  # duplicate names


def _request(rows, cols, sections=0, extra=b""):
    head = pr.REQUEST_HEAD.pack(b"Q", 9, 0, 1, 3, 3, rows, cols, 0, sections, -100, 0.0)
    return head + b"\0" * (4 * rows * cols) + extra


def test_decode_request():
    r = pr.decode_request(_request(2, 3), {3: 4})
    assert (r.id, r.rows, r.cols, r.spans) == (9, 2, 3, {"x": (36, 60)})
    with pytest.raises(pr.ProtocolError, match="trailing"):
        pr.decode_request(_request(2, 3, extra=b"\0"), {3: 4})
    with pytest.raises(pr.ProtocolError, match="too short"):
        pr.decode_request(_request(2, 3, sections=pr.SEC_WEIGHTS), {3: 4})
    with pytest.raises(pr.ProtocolError, match="not served"):
        pr.decode_request(_request(2, 3), {1: 2})


def _nearest_bf16(v):
    """The bfloat16 bits nearest to the float v (ties to even), by exact comparison with both
    neighbours among all finite bfloat16 values of v's sign and the overflow threshold."""
    if v != v:
        return None
    sign = 0x8000 if np.signbit(v) else 0
    a = Fraction(abs(float(v))) if abs(v) != float("inf") else None
    maxbits = 0x7F7F

    def val(b):
        return Fraction(float(np.array([b << 16], dtype=np.uint32).view(np.float32)[0]))
    if a is None:
        return sign | 0x7F80
    lo, hi = 0, maxbits + 1  # binary search the last value ≤ a
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if val(mid) <= a:
            lo = mid
        else:
            hi = mid
    if lo == maxbits:
        # beyond max: max + half an ulp and above round to Inf (a tie goes to Inf's even bits)
        top = val(maxbits) + (val(maxbits) - val(maxbits - 1)) / 2
        return sign | (0x7F80 if a >= top else maxbits)
    d_lo, d_hi = a - val(lo), val(lo + 1) - a
    pick = lo if d_lo < d_hi or d_lo == d_hi and lo % 2 == 0 else lo + 1
    return sign | pick


def test_bfloat16_rounding_is_correct():
    rng = np.random.default_rng(5)
    # float32 and float64 values near bfloat16 ties, subnormals, the overflow threshold
    base = rng.integers(0, 0x7F80, size=400, dtype=np.uint32) << np.uint32(16)
    ties = (base | np.uint32(0x8000)).view(np.float32)
    near = (base | rng.integers(0, 0x10000, size=400, dtype=np.uint32)).view(np.float32)
    f64 = ties.astype(np.float64) * (1 + rng.choice([-1, 1], size=400) * 2.0 ** -40)
    big = np.array([3.3895e38, 3.3962e38, 3.39617e38, 3.4e38, 1e300, -1e300, np.inf, -np.inf, 0.0, -0.0])
    for arr in (ties, near, -near, f64, big):
        got = bfloat16_bits(arr)
        for v, g in zip(arr, got):
            want = _nearest_bf16(v)
            assert int(g) == want, "%r (%s): got %#06x, want %#06x" % (v, float(v).hex(), int(g), want)
    nan = bfloat16_bits(np.array([np.nan], dtype=np.float32))[0]
    assert nan & 0x7F80 == 0x7F80 and nan & 0x7F
