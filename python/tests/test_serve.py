"""python -m ulpcheck serve, spoken to over its stdin and stdout as the harness would."""

import os
import struct
import subprocess
import sys
import time

import numpy as np
import pytest

from ulpcheck import protocol as pr

HERE = os.path.dirname(os.path.abspath(__file__))
PKG = os.path.dirname(HERE)


class Server:
    def __init__(self, *args):
        env = dict(os.environ, PYTHONPATH=PKG + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self.p = subprocess.Popen([sys.executable, "-m", "ulpcheck", "serve", "--path", HERE, *args],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        payload = pr.read_frame(self.p.stdout)
        assert payload is not None, self.p.stderr.read()
        self.proto, self.client, self.entries = pr.decode_hello(payload)

    def call(self, payload):
        pr.write_frame(self.p.stdin, payload)
        return pr.read_frame(self.p.stdout)

    def close(self):
        self.p.stdin.close()
        return self.p.wait(10), self.p.stderr.read().decode()


def request(kernel, op, fmt, x, rows, cols, rid=1, sections=0, extra=b"", reduction=0):
    head = pr.REQUEST_HEAD.pack(b"Q", rid, kernel, op, fmt, fmt, rows, cols, reduction, sections, -100, 0.0)
    return head + x + extra


def decode_ok(resp, dtype):
    typ, rid, status = struct.unpack_from("<cIB", resp, 0)
    assert typ == b"A" and status == pr.STATUS_OK, resp
    (n,) = struct.unpack_from("<I", resp, 6)
    return rid, np.frombuffer(resp, dtype=dtype, count=n, offset=10)


def decode_status(resp):
    typ, rid, status, n = struct.unpack_from("<cIBI", resp, 0)
    return rid, status, resp[10:10 + n].decode()


def test_handshake_and_call():
    s = Server("kernels_under_test:shifted_softmax", "--op", "softmax", "--dtype", "float16,float32",
               "--algorithm", "online", "--mask", "zero", "--acc", "float64")
    assert s.proto == pr.PROTOCOL and "numpy" in s.client
    assert [(e.op, e.fin, e.fout, e.acc, e.algorithm, e.mask, e.name) for e in s.entries] == [
        (1, 1, 0, 4, 3, 1, "shifted_softmax/softmax/fp16"), (1, 3, 0, 4, 3, 1, "shifted_softmax/softmax/fp32")]
    x = np.array([[0, 0], [1, -np.inf]], dtype=np.float32)
    rid, y = decode_ok(s.call(request(1, 1, 3, x.tobytes(), 2, 2, rid=77)), "<f4")
    assert rid == 77 and y.tolist() == [0.5, 0.5, 1.0, 0.0]
    assert s.close()[0] == 0  # end of file on a frame boundary: exit 0


def test_stdout_is_kept_for_frames():
    s = Server("kernels_under_test:chatty_softmax", "--op", "softmax", "--dtype", "float64")
    x = np.array([[3.0, 3.0]])
    for i in range(3):
        rid, y = decode_ok(s.call(request(0, 1, 4, x.tobytes(), 1, 2, rid=i)), "<f8")
        assert rid == i and y.tolist() == [0.5, 0.5]
    code, err = s.close()
    assert code == 0 and "computing a softmax" in err and "C library" in err


def test_errors_keep_the_server_in_step():
    s = Server("kernels_under_test:raising_softmax", "kernels_under_test:cross_entropy_classes",
               "--op", "cross_entropy", "--dtype", "float32")
    # raising_softmax is declared cross_entropy here too: one kernel per reference, both served.
    assert [e.name for e in s.entries] == ["raising_softmax/ce/fp32", "cross_entropy_classes/ce/fp32"]
    x = np.zeros((1, 3), dtype=np.float32).tobytes()
    t = struct.pack("<q", 0)
    # An exception is status 1 with its type and text.
    rid, st, msg = decode_status(s.call(request(0, 4, 3, x, 1, 3, rid=5, sections=pr.SEC_TARGETS, extra=t)))
    assert (rid, st) == (5, pr.STATUS_ERROR) and "TypeError" in msg, msg  # it takes no target
    # A reduction the function takes no keyword for is declined (status 2), not an error.
    rid, st, msg = decode_status(s.call(request(1, 4, 3, x, 1, 3, rid=6, sections=pr.SEC_TARGETS, extra=t, reduction=1)))
    assert (rid, st) == (6, pr.STATUS_UNSUPPORTED) and "reduction" in msg
    # The default reduction is served: the loss of equal logits is log 3.
    rid, y = decode_ok(s.call(request(1, 4, 3, x, 1, 3, rid=7, sections=pr.SEC_TARGETS, extra=t)), "<f4")
    assert y.tolist() == [np.float32(np.log(3.0))]
    # Malformed messages in well-formed frames: error statuses, the stream stays in step.
    for bad in (request(1, 4, 3, x, 1, 3, rid=8, sections=pr.SEC_TARGETS, extra=t + b"\0"),  # trailing byte
                request(9, 4, 3, x, 1, 3, rid=8, sections=pr.SEC_TARGETS, extra=t),  # no kernel 9
                request(1, 1, 3, x, 1, 3, rid=8),  # op does not match the kernel
                b"Z" + bytes(40)):  # not a request
        _, st, msg = decode_status(s.call(bad))
        assert st == pr.STATUS_ERROR and "ProtocolError" in msg, msg
    # Empty rows are declined unless declared.
    _, st, _ = decode_status(s.call(request(1, 4, 3, b"", 1, 0, sections=pr.SEC_TARGETS, extra=t)))
    assert st == pr.STATUS_UNSUPPORTED
    assert s.close()[0] == 0


@pytest.mark.parametrize("head, reason", [
    (struct.pack("<Q", 1 << 40), "a header claiming 2^40 bytes"),
    (struct.pack("<Q", 0), "a zero-length frame"),
    (struct.pack("<Q", (64 << 20) + 1), "one byte above the 64 MiB bound"),
])
def test_bad_frames_end_the_server(head, reason):
    s = Server("kernels_under_test:shifted_softmax", "--op", "softmax", "--dtype", "float32")
    start = time.monotonic()
    s.p.stdin.write(head)
    s.p.stdin.flush()
    code = s.p.wait(10)  # refused at once, without waiting for (or allocating) the payload
    assert code == 1 and time.monotonic() - start < 10, reason
    assert "out of bounds" in s.p.stderr.read().decode()
    assert s.p.stdout.read() == b""  # nothing after the hello


def test_stream_ending_inside_a_frame():
    s = Server("kernels_under_test:shifted_softmax", "--op", "softmax", "--dtype", "float32")
    s.p.stdin.write(struct.pack("<Q", 100) + b"Q\0\0")
    code, err = s.close()
    assert code == 1 and "inside a frame" in err


def test_bad_references_fail_to_start():
    env = dict(os.environ, PYTHONPATH=PKG)
    for args, want in ((["nosuchmodule_xyz:f", "--op", "softmax", "--dtype", "float32"], "ModuleNotFoundError"),
                       (["kernels_under_test:shifted_softmax", "--dtype", "float32"], "declares no operation"),
                       (["kernels_under_test:shifted_softmax", "--op", "softmax", "--dtype", "e4m3"], "unsupported dtype")):
        p = subprocess.run([sys.executable, "-m", "ulpcheck", "serve", "--path", HERE, *args], capture_output=True,
                           env=env, timeout=30, stdin=subprocess.DEVNULL)
        assert p.returncode == 2 and p.stdout == b"" and want in p.stderr.decode(), p.stderr
