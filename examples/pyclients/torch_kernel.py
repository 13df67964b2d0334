#!/usr/bin/env python3
"""PyTorch CPU softmax, log_softmax, logsumexp and cross_entropy as ulpcheck external kernels.

    go run ./cmd/fuzz run -exec '/usr/bin/python3 examples/pyclients/torch_kernel.py' -out DIR

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

import ulpcheck_proto as up  # re-executes with /usr/bin/python3 when numpy is missing
import numpy as np
import sys

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    sys.stderr.write("torch_kernel.py: PyTorch is not installed (Debian: apt-get install python3-torch)\n")
    sys.exit(3)

torch.set_num_threads(1)

OP_SOFTMAX, OP_LOGSOFTMAX, OP_LSE, OP_CE = 1, 2, 3, 4
ALG_SHIFTED, MASK_NAN = 0, 0
RED = {0: "mean", 1: "sum", 2: "none"}
TORCH_DT = {up.BF16: torch.bfloat16, up.FP32: torch.float32, up.FP64: torch.float64}

ENTRIES = []
for fc in (up.BF16, up.FP32, up.FP64):
    f = up.FMT_NAMES[fc]
    ENTRIES += [
        (OP_SOFTMAX, fc, 0, ALG_SHIFTED, MASK_NAN, "torch/softmax/" + f,
         "torch.softmax(x, dim=1), ATen CPU vectorised shifted kernel"),
        (OP_LOGSOFTMAX, fc, 0, ALG_SHIFTED, MASK_NAN, "torch/log_softmax/" + f,
         "torch.log_softmax(x, dim=1), ATen CPU vectorised shifted kernel"),
        (OP_LSE, fc, 0, ALG_SHIFTED, MASK_NAN, "torch/logsumexp/" + f,
         "torch.logsumexp(x, dim=1) = max + log(sum(exp(x - max))), infinite max replaced by 0"),
        (OP_CE, fc, 0, ALG_SHIFTED, MASK_NAN, "torch/cross_entropy/" + f,
         "F.cross_entropy(x, targets, weight, ignore_index, reduction, label_smoothing)"),
    ]


def to_torch(req, a):
    if req.bits:
        return torch.from_numpy(a.astype(np.uint16).view(np.int16).copy()).view(torch.bfloat16)
    return torch.from_numpy(np.array(a, copy=True))


def from_torch(req, t):
    t = t.detach().contiguous()
    if req.bits:
        return t.view(torch.int16).numpy().view(np.uint16)
    return t.numpy()


def compute(req):
    if req.fin not in TORCH_DT:
        raise up.Unsupported("format %d not served (PyTorch CPU has no float16 softmax)" % req.fin)
    if req.cols == 0:
        raise up.Unsupported("empty rows are not served")
    x = to_torch(req, req.x)
    with torch.no_grad():
        if req.op == OP_SOFTMAX:
            y = torch.softmax(x, dim=1)
        elif req.op == OP_LOGSOFTMAX:
            y = torch.log_softmax(x, dim=1)
        elif req.op == OP_LSE:
            y = torch.logsumexp(x, dim=1)
        elif req.op == OP_CE:
            if req.targets is None:
                raise up.Unsupported("cross-entropy without class targets")
            w = None if req.weights is None else to_torch(req, req.weights)
            y = F.cross_entropy(x, torch.from_numpy(req.targets), weight=w,
                                ignore_index=int(req.ignore_index), reduction=RED[req.reduction],
                                label_smoothing=float(req.smoothing))
            y = y.reshape(-1)
        else:
            raise up.Unsupported("operation %d not served" % req.op)
    return from_torch(req, y)


if __name__ == "__main__":
    sys.exit(up.serve("PyTorch %s (CPU), numpy %s, Python %s" % (torch.__version__, np.__version__,
                                                                  sys.version.split()[0]), ENTRIES, compute))
