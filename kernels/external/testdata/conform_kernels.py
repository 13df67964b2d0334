"""The kernel the protocol conformance checks (kernels/external/conform_test.go) serve with
``python -m ulpcheck serve conform_kernels:softmax --op softmax --dtype float32``."""

import numpy as np


def softmax(x):
    """exp(x - max) / sum(exp(x - max)) per row; raises for a row starting with 13 (the error-reply check)."""
    if x.size and x[0, 0] == 13:
        raise ValueError("refusing 13")
    e = np.exp(x - np.max(x, axis=1, keepdims=True))
    return e / np.sum(e, axis=1, keepdims=True)
