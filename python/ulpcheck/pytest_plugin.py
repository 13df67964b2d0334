"""pytest plugin: the ``ulpcheck`` fixture and the ``--ulpcheck-cases`` and ``--ulpcheck-seed`` options.

Installed with the package, it loads itself (entry point ``pytest11``); from a checkout, load it
with ``-p ulpcheck.pytest_plugin``. A test checks a kernel in one line::

    def test_softmax(ulpcheck):
        ulpcheck.check(scipy.special.softmax, op="softmax", dtype="float32")

The fixture's check is :func:`ulpcheck.check` with cases and seed taken from the command line
(or ``ULPCHECK_CASES`` and ``ULPCHECK_SEED``) unless the call gives them, and the report
written under the test's tmp_path.
"""

from __future__ import annotations

import os
from typing import Any, Optional

import pytest

from . import harness
from .report import Report
from .server import KernelFn


def pytest_addoption(parser: pytest.Parser) -> None:
    """Adds the --ulpcheck-* options."""
    g = parser.getgroup("ulpcheck", "ulpcheck kernel campaigns")
    g.addoption("--ulpcheck-cases", type=int, default=None, metavar="N",
                help="cases per kernel in ulpcheck campaigns (default: ULPCHECK_CASES or 500)")
    g.addoption("--ulpcheck-seed", type=int, default=None, metavar="SEED",
                help="campaign seed (default: ULPCHECK_SEED or 1); the same seed gives the same cases")
    g.addoption("--ulpcheck-harness", default=None, metavar="PATH",
                help="the harness binary (default: ULPCHECK_HARNESS, ulpcheck on PATH, or built from a checkout)")


class Checker:
    """The ``ulpcheck`` fixture's value: :meth:`check` with the session's options."""

    def __init__(self, cases: Optional[int], seed: Optional[int], harness_path: Optional[str], out: str) -> None:
        self.cases, self.seed, self.harness, self.out = cases, seed, harness_path, out
        self._runs = 0

    def check(self, fn: KernelFn, op: Optional[str] = None, dtype: Any = None, **kw: Any) -> Report:
        """Runs :func:`ulpcheck.check`; options given here win over the command line's."""
        if self.cases is not None:
            kw.setdefault("cases", self.cases)
        if self.seed is not None:
            kw.setdefault("seed", self.seed)
        if self.harness is not None:
            kw.setdefault("harness", self.harness)
        self._runs += 1
        kw.setdefault("out", os.path.join(self.out, "ulpcheck-%d" % self._runs))
        return harness.check(fn, op, dtype, **kw)

    __call__ = check


@pytest.fixture
def ulpcheck(request: pytest.FixtureRequest, tmp_path: Any) -> Checker:
    """A :class:`Checker`: ``ulpcheck.check(fn, op=..., dtype=..., ...)`` fails the test with the
    minimal counterexample when fn fails the campaign."""
    cfg = request.config
    return Checker(cfg.getoption("ulpcheck_cases"), cfg.getoption("ulpcheck_seed"),
                   cfg.getoption("ulpcheck_harness"), str(tmp_path))
