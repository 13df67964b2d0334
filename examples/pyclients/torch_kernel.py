#!/usr/bin/env python3
"""PyTorch CPU softmax, log_softmax, logsumexp and cross_entropy as ulpcheck external kernels.

    PYTHONPATH=$PWD/python go run ./cmd/fuzz run -exec '/usr/bin/python3 examples/pyclients/torch_kernel.py' -out DIR

PyTorch's functions are served as they are by the ulpcheck package (python/; installed, or on
PYTHONPATH as above) with array="torch": they receive CPU tensors of the dtype (bfloat16
included) and dim=-1; rows of zero columns are declined.

Served: bfloat16, float32, float64 (PyTorch 1.13's CPU kernels do not implement softmax,
log_softmax or exp for float16: "softmax_lastdim_kernel_impl not implemented for 'Half'", so
float16 is not declared). Declarations follow ATen's CPU kernels (aten/src/ATen/native/cpu/
SoftMaxKernel.cpp, ReduceOps, LossNLL): softmax and log_softmax over the last dimension are
vectorised shifted two-pass kernels accumulating in float for bfloat16 (acc_type), declared
shifted with fp32 accumulation (the harness default for bf16); logsumexp is max + log(sum(exp(x -
max))) with infinite maxima replaced by 0; cross_entropy is nll_loss(log_softmax(x)) with class
targets, class weights, ignore_index, label smoothing and the three reductions. torch.softmax of a
fully masked row is NaN (documented behaviour of torch.softmax, not a bug): mask NaN.
"""

import sys

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
except ImportError as e:
    sys.stderr.write("torch_kernel.py: %s: numpy or PyTorch is not installed (Debian: apt-get install "
                     "python3-torch)\n" % e)
    sys.exit(3)
try:
    import ulpcheck
except ImportError as e:
    sys.stderr.write("torch_kernel.py: %s: install the package (pip install ./python) or put the "
                     "checkout's python/ directory on PYTHONPATH\n" % e)
    sys.exit(3)

torch.set_num_threads(1)


def cross_entropy(x, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """F.cross_entropy(x, target, weight, ignore_index, reduction, label_smoothing)."""
    return F.cross_entropy(x, target, weight=weight, ignore_index=ignore_index, reduction=reduction,
                           label_smoothing=label_smoothing)


KERNELS = [
    (torch.softmax, "softmax", "softmax", "torch.softmax(x, dim=-1), ATen CPU vectorised shifted kernel"),
    (torch.log_softmax, "log_softmax", "log_softmax", "torch.log_softmax(x, dim=-1), ATen CPU vectorised shifted kernel"),
    (torch.logsumexp, "logsumexp", "logsumexp",
     "torch.logsumexp(x, dim=-1) = max + log(sum(exp(x - max))), infinite max replaced by 0"),
    (cross_entropy, "cross_entropy", "cross_entropy",
     "F.cross_entropy(x, targets, weight, ignore_index, reduction, label_smoothing)"),
]


def registry():
    """Returns the kernels: torch/<function>/<bf16|fp32|fp64>, shifted, mask policy NaN."""
    reg = ulpcheck.Registry(client="PyTorch %s (CPU), numpy %s, Python %s"
                            % (torch.__version__, np.__version__, sys.version.split()[0]))
    for dtype, f in (("bfloat16", "bf16"), ("float32", "fp32"), ("float64", "fp64")):
        for fn, op, short, doc in KERNELS:
            reg.add(fn, op=op, dtype=dtype, algorithm="shifted", mask="nan", array="torch",
                    axis="" if fn is cross_entropy else "dim", name="torch/%s/%s" % (short, f), doc=doc)
    return reg


if __name__ == "__main__":
    sys.exit(registry().serve())
