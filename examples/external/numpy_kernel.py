#!/usr/bin/env python3
"""numpy softmax, log-softmax, log-sum-exp and cross-entropy as an ulpcheck external kernel.

Served over the ulpcheck-kernel/1 protocol (docs/protocol.md) by the ulpcheck package
(python/), which is either installed (pip install ./python) or on PYTHONPATH:

    PYTHONPATH=$PWD/python go run ./cmd/fuzz run -exec 'python3 examples/external/numpy_kernel.py'

The kernels are written the way numpy users write them, in the input's own dtype (float16,
float32, float64), with numpy's own semantics: shift by the row maximum, np.exp, np.sum, divide
or np.log. numpy computes float16 arithmetic in float16 (each ufunc rounds its result to
float16; np.sum's pairwise partial sums are float16 too). The kernels are declared with the
harness's default accumulation format (float32 for float16 storage), so that they are measured
against what a careful mixed-precision kernel achieves: the float16 rounding of the intermediate
values is a finding, not hidden. bfloat16 and fp8 do not exist in numpy and are not served;
rows of zero columns are declined (numpy's max has no identity).

Without numpy, or without the ulpcheck package, the script says so on stderr and exits with
status 3. The package keeps stdout for protocol frames and silences numpy's floating-point
warnings.
"""

import sys

try:
    import numpy as np
except ImportError:
    sys.stderr.write("numpy_kernel.py: numpy is not installed for %s (Debian: apt-get install "
                     "python3-numpy)\n" % sys.executable)
    sys.exit(3)
try:
    import ulpcheck
except ImportError as e:
    sys.stderr.write("numpy_kernel.py: %s: install the package (pip install ./python) or put the "
                     "checkout's python/ directory on PYTHONPATH\n" % e)
    sys.exit(3)


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


def cross_entropy(x, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """PyTorch F.cross_entropy with class targets, computed in x's dtype from log_softmax."""
    rows, cols = x.shape
    dt = x.dtype.type
    logp = log_softmax(x)
    w = np.ones(cols, dtype=x.dtype) if weight is None else weight
    valid = target != ignore_index
    t = np.where(valid, target, 0)
    if np.any((t < 0) | (t >= cols)):
        raise ValueError("target out of range [0, %d)" % cols)
    wt = np.where(valid, w[t], dt(0))
    loss = -wt * logp[np.arange(rows), t]
    if label_smoothing != 0:
        eps = dt(label_smoothing)
        smooth = -np.sum(w * logp, axis=1)
        loss = (dt(1) - eps) * loss + (eps / dt(cols)) * np.where(valid, smooth, dt(0))
    loss = np.where(valid, loss, dt(0))
    if reduction == "none":
        return loss
    if reduction == "sum":
        return np.sum(loss)
    return np.sum(loss) / np.sum(wt)


KERNELS = [
    (softmax, "softmax", "softmax", "exp(x - max) / sum"),
    (log_softmax, "log_softmax", "logsoftmax", "(x - max) - log(sum(exp(x - max)))"),
    (logsumexp, "logsumexp", "lse", "max + log(sum(exp(x - max)))"),
    (cross_entropy, "cross_entropy", "ce", "PyTorch cross_entropy with class targets from the log-softmax"),
]


def registry():
    """Returns the kernels: numpy/<op>/<fp16|fp32|fp64>, declared shifted with mask policy NaN."""
    reg = ulpcheck.Registry(client="numpy %s, Python %s" % (np.__version__, sys.version.split()[0]))
    for fn, op, short, doc in KERNELS:
        for dtype, f in (("float16", "fp16"), ("float32", "fp32"), ("float64", "fp64")):
            reg.add(fn, op=op, dtype=dtype, algorithm="shifted", mask="nan", name="numpy/%s/%s" % (short, f),
                    doc="numpy %s in %s: %s; every operation rounds to %s" % (short, dtype, doc, dtype))
    return reg


if __name__ == "__main__":
    sys.exit(registry().serve())
