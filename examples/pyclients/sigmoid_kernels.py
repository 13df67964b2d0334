#!/usr/bin/env python3
"""The sigmoid family of scipy and PyTorch as ulpcheck external kernels.

    PYTHONPATH=$PWD/python go run ./cmd/fuzz run -exec '/usr/bin/python3 examples/pyclients/sigmoid_kernels.py' -out DIR

Served as they are by the ulpcheck package (python/; installed, or on PYTHONPATH as above):
  scipy.special.expit (sigmoid) and log_expit (log-sigmoid), float32 and float64 (their ufunc
      loops are f->f and d->d only; float16 would be computed in float32, so it is not declared).
  torch.nn.functional.softplus (beta=1, threshold=20: x above the threshold, as the oracle's
      softplus), F.logsigmoid, torch.sigmoid and F.binary_cross_entropy_with_logits (pos_weight,
      the three reductions), on CPU in bfloat16, float32, float64 (PyTorch 1.13's CPU kernels do
      not implement them for float16: "softplus_cpu not implemented for 'Half'").
Either library may be missing; the other's kernels are still served. Neither: exit status 3.
"""

import sys

try:
    import numpy as np
except ImportError as e:
    sys.stderr.write("sigmoid_kernels.py: %s: numpy is not installed (Debian: apt-get install python3-numpy)\n" % e)
    sys.exit(3)
try:
    import scipy
    from scipy.special import expit, log_expit
except ImportError:
    scipy = None
try:
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(1)
except ImportError:
    torch = None
try:
    import ulpcheck
except ImportError as e:
    sys.stderr.write("sigmoid_kernels.py: %s: install the package (pip install ./python) or put the "
                     "checkout's python/ directory on PYTHONPATH\n" % e)
    sys.exit(3)


def bce_with_logits(x, target, pos_weight=None, reduction="mean"):
    """F.binary_cross_entropy_with_logits(x, target, pos_weight=pos_weight, reduction=reduction)."""
    return F.binary_cross_entropy_with_logits(x, target, pos_weight=pos_weight, reduction=reduction)


def registry():
    """Returns the kernels: scipy/special.<fn>/<fp32|fp64> and torch/<fn>/<bf16|fp32|fp64>."""
    if scipy is None and torch is None:
        sys.stderr.write("sigmoid_kernels.py: neither scipy nor PyTorch is installed (Debian: apt-get install "
                         "python3-scipy python3-torch)\n")
        sys.exit(3)
    parts = []
    if scipy is not None:
        parts.append("scipy %s" % scipy.__version__)
    if torch is not None:
        parts.append("PyTorch %s (CPU)" % torch.__version__)
    reg = ulpcheck.Registry(client="%s, numpy %s, Python %s"
                            % (", ".join(parts), np.__version__, sys.version.split()[0]))
    if scipy is not None:
        for dtype, f in (("float32", "fp32"), ("float64", "fp64")):
            reg.add(expit, op="sigmoid", dtype=dtype, name="scipy/special.expit/%s" % f,
                    doc="scipy.special.expit(x) = 1/(1 + exp(-x)) in the input dtype")
            reg.add(log_expit, op="logsigmoid", dtype=dtype, name="scipy/special.log_expit/%s" % f,
                    doc="scipy.special.log_expit(x) = log(expit(x)) in the input dtype")
    if torch is not None:
        ks = [(F.softplus, "softplus", "F.softplus", "F.softplus(x), beta=1, threshold=20"),
              (F.logsigmoid, "logsigmoid", "F.logsigmoid", "F.logsigmoid(x)"),
              (torch.sigmoid, "sigmoid", "sigmoid", "torch.sigmoid(x)"),
              (bce_with_logits, "bce_with_logits", "F.binary_cross_entropy_with_logits",
               "F.binary_cross_entropy_with_logits(x, target, pos_weight, reduction)")]
        for dtype, f in (("bfloat16", "bf16"), ("float32", "fp32"), ("float64", "fp64")):
            for fn, op, short, doc in ks:
                reg.add(fn, op=op, dtype=dtype, array="torch", axis="", name="torch/%s/%s" % (short, f), doc=doc)
    return reg


if __name__ == "__main__":
    sys.exit(registry().serve())
