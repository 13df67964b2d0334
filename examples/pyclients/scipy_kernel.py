#!/usr/bin/env python3
"""scipy.special.softmax, log_softmax and logsumexp as ulpcheck external kernels.

    PYTHONPATH=$PWD/python go run ./cmd/fuzz run -exec '/usr/bin/python3 examples/pyclients/scipy_kernel.py' -out DIR

scipy's functions are served as they are by the ulpcheck package (python/; installed, or on
PYTHONPATH as above), which passes axis=-1 and declines rows of zero columns.

Declarations follow scipy's code (scipy/special/_logsumexp.py), for float16, float32, float64,
computed in the input's dtype (scipy keeps the dtype; numpy rounds every float16 ufunc result
to float16, so float16 is declared with the harness's default fp32 accumulation and the float16
intermediates are measured, not excused):
  logsumexp(x, axis=-1): a_max = amax (non-finite maxima replaced by 0), log(sum(exp(x - a_max)))
      + a_max: shifted.
  softmax(x, axis=-1): exp(x - amax) / sum(exp(x - amax)): shifted (the maximum is not
      replaced, so a fully masked row gives exp(-inf - -inf) = NaN).
  log_softmax(x, axis=-1): tmp = x - amax (non-finite maxima replaced by 0), tmp - log(sum(exp(tmp))):
      shifted.
A fully masked row (all -inf) gives NaN softmax (exp(-inf - -inf)) and NaN log-softmax: mask NaN.
"""

import sys

try:
    import numpy as np
    import scipy
    from scipy.special import log_softmax, logsumexp, softmax
except ImportError as e:
    sys.stderr.write("scipy_kernel.py: %s: numpy or scipy is not installed (Debian: apt-get install "
                     "python3-scipy)\n" % e)
    sys.exit(3)
try:
    import ulpcheck
except ImportError as e:
    sys.stderr.write("scipy_kernel.py: %s: install the package (pip install ./python) or put the "
                     "checkout's python/ directory on PYTHONPATH\n" % e)
    sys.exit(3)

KERNELS = [
    (softmax, "softmax", "special.softmax",
     "scipy.special.softmax(x, axis=-1) = exp(x - max) / sum(exp(x - max)) in the input dtype"),
    (log_softmax, "log_softmax", "special.log_softmax",
     "scipy.special.log_softmax(x, axis=-1) = (x - max) - log(sum(exp(x - max))) in the input dtype"),
    (logsumexp, "logsumexp", "special.logsumexp",
     "scipy.special.logsumexp(x, axis=-1) = log(sum(exp(x - max))) + max in the input dtype"),
]


def registry():
    """Returns the kernels: scipy/special.<function>/<fp16|fp32|fp64>, shifted, mask policy NaN."""
    reg = ulpcheck.Registry(client="scipy %s, numpy %s, Python %s"
                            % (scipy.__version__, np.__version__, sys.version.split()[0]))
    for dtype, f in (("float16", "fp16"), ("float32", "fp32"), ("float64", "fp64")):
        for fn, op, short, doc in KERNELS:
            reg.add(fn, op=op, dtype=dtype, algorithm="shifted", mask="nan", name="scipy/%s/%s" % (short, f), doc=doc)
    return reg


if __name__ == "__main__":
    sys.exit(registry().serve())
