"""ulpcheck for Python: test softmax, log-softmax, log-sum-exp, cross-entropy and sigmoid-family
kernels against ulpcheck's exact oracle.

- :func:`check` runs a campaign of the Go harness against a function and raises AssertionError
  with the minimal counterexample when it fails (the pytest fixture ``ulpcheck`` wraps it).
- :func:`kernel` declares a function (operation, dtypes, algorithm class, mask policy, ...);
  :func:`serve` and :class:`Registry` serve functions over the ``ulpcheck-kernel/1`` protocol,
  as ``python -m ulpcheck serve module:function`` does.

The protocol is documented in docs/protocol.md of the ulpcheck repository; the calling
convention of each operation in :mod:`ulpcheck.server`.
"""

from .harness import CampaignError, CheckFailure, HarnessNotFound, check, find_harness
from .protocol import PROTOCOL, ProtocolError
from .report import Counterexample, Report
from .server import Kernel, Registry, Unsupported, bfloat16_bits, declarations, kernel, serve

__version__ = "0.1.0"

__all__ = ["check", "find_harness", "kernel", "serve", "declarations", "bfloat16_bits", "Kernel", "Registry",
           "Unsupported", "Report", "Counterexample", "CampaignError", "CheckFailure", "HarnessNotFound", "ProtocolError",
           "PROTOCOL", "__version__"]
