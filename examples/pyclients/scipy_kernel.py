#!/usr/bin/env python3
"""scipy.special.softmax, log_softmax and logsumexp as ulpcheck external kernels.

    go run ./cmd/fuzz run -exec '/usr/bin/python3 examples/pyclients/scipy_kernel.py' -out DIR

Declarations follow scipy's code (scipy/special/_logsumexp.py), for float16, float32, float64,
computed in the input's dtype (scipy keeps the dtype; numpy rounds every float16 ufunc result
to float16, so float16 is declared with the harness's default fp32 accumulation and the float16
intermediates are measured, not excused):
  logsumexp(x, axis=1): a_max = amax (non-finite maxima replaced by 0), log(sum(exp(x - a_max)))
      + a_max: shifted.
  softmax(x, axis=1): exp(x - amax) / sum(exp(x - amax)): shifted (the maximum is not
      replaced, so a fully masked row gives exp(-inf - -inf) = NaN).
  log_softmax(x, axis=1): tmp = x - amax (non-finite maxima replaced by 0), tmp - log(sum(exp(tmp))):
      shifted.
A fully masked row (all -inf) gives NaN softmax (exp(-inf - -inf)) and NaN log-softmax: mask NaN.
"""

import ulpcheck_proto as up  # re-executes with /usr/bin/python3 when numpy is missing
import numpy as np
import sys

try:
    import scipy
    from scipy.special import softmax, log_softmax, logsumexp
except ImportError:
    sys.stderr.write("scipy_kernel.py: scipy is not installed (Debian: apt-get install python3-scipy)\n")
    sys.exit(3)

OP_SOFTMAX, OP_LOGSOFTMAX, OP_LSE = 1, 2, 3
ALG_SHIFTED = 0
MASK_NAN = 0

ENTRIES = []
for fc in (up.FP16, up.FP32, up.FP64):
    f = up.FMT_NAMES[fc]
    ENTRIES += [
        (OP_SOFTMAX, fc, 0, ALG_SHIFTED, MASK_NAN, "scipy/special.softmax/" + f,
         "scipy.special.softmax(x, axis=1) = exp(x - max) / sum(exp(x - max)) in the input dtype"),
        (OP_LOGSOFTMAX, fc, 0, ALG_SHIFTED, MASK_NAN, "scipy/special.log_softmax/" + f,
         "scipy.special.log_softmax(x, axis=1) = (x - max) - log(sum(exp(x - max))) in the input dtype"),
        (OP_LSE, fc, 0, ALG_SHIFTED, MASK_NAN, "scipy/special.logsumexp/" + f,
         "scipy.special.logsumexp(x, axis=1) = log(sum(exp(x - max))) + max in the input dtype"),
    ]


def compute(req):
    if req.cols == 0:
        raise up.Unsupported("scipy's amax has no identity: empty rows are not served")
    x = req.x
    with np.errstate(all="ignore"):
        if req.op == OP_SOFTMAX:
            return softmax(x, axis=1)
        if req.op == OP_LOGSOFTMAX:
            return log_softmax(x, axis=1)
        if req.op == OP_LSE:
            return logsumexp(x, axis=1)
    raise up.Unsupported("operation %d not served" % req.op)


if __name__ == "__main__":
    sys.exit(up.serve("scipy %s, numpy %s, Python %s" % (scipy.__version__, np.__version__, sys.version.split()[0]),
                      ENTRIES, compute))
