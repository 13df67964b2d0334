"""Reading the harness's JSON report tolerantly.

The report's schema evolves (``ulpcheck.report/v1``, later versions may rename or compact the
per-cell section), so this module reads only what it needs, wherever it sits: the counterexamples
(objects with ``input``, ``class`` and ``property``), the kernel each belongs to, the declared
kernels and a ``verdict`` when the report carries one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional, Tuple


def _num(n: Any) -> str:
    """The decimal text of a report number ({"hex", "bits", "dec"} or a plain value)."""
    if isinstance(n, dict):
        return str(n.get("dec", n.get("hex", "?")))
    return str(n)


def _bits(n: Any) -> str:
    return str(n.get("bits", "")) if isinstance(n, dict) else ""


def _float(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


@dataclass
class Counterexample:
    """One (minimal) failing case of a kernel, as the report records it."""

    kernel: str
    data: Dict[str, Any]

    @property
    def cls(self) -> str:
        """The failure class (overflow, NaN, precision loss, contract, ...)."""
        return str(self.data.get("class", ""))

    @property
    def prop(self) -> str:
        """The property that failed (accuracy, no-nan, contract, ...)."""
        return str(self.data.get("property", ""))

    @property
    def size(self) -> int:
        """The number of input elements."""
        return int(self.data.get("rows", 0) or 0) * int(self.data.get("cols", 0) or 0)

    @property
    def x(self) -> List[str]:
        """The inputs, as decimal text."""
        return [_num(v) for v in self.data.get("x") or []]

    @property
    def output(self) -> List[str]:
        """The kernel's output, as decimal text."""
        return [_num(v) for v in self.data.get("output") or []]

    @property
    def oracle(self) -> List[str]:
        """The correctly rounded output, as decimal text."""
        return [_num(v) for v in self.data.get("oracle") or []]

    @property
    def ulp(self) -> float:
        """The ulp error of the worst element (NaN when not applicable)."""
        return _float(self.data.get("ulp"))

    @property
    def bound(self) -> float:
        """The tolerance that element broke, in ulps (NaN when not applicable)."""
        return _float(self.data.get("bound"))

    @property
    def input(self) -> str:
        """The case in canonical text form (for ``fuzz replay -case``)."""
        return str(self.data.get("input", ""))

    def describe(self) -> str:
        """Returns the counterexample in a few lines of text."""
        d = self.data
        lines = ["%s: %s (property %s), %s×%s %s" % (self.kernel, self.cls, self.prop, d.get("rows"),
                                                     d.get("cols"), d.get("format", ""))]
        if d.get("message"):
            lines.append("  %s" % " ".join(str(d["message"]).split()))
        for key, label in (("x", "x"), ("dy", "dy"), ("targets", "targets"), ("probs", "probs"),
                           ("weights", "weights")):
            v = d.get(key)
            if v:
                text = ", ".join(_num(e) if key != "targets" else str(e) for e in v)
                bits = " ".join(_bits(e) for e in v) if key != "targets" else ""
                lines.append("  %-8s = [%s]%s" % (label, text, "  (bits %s)" % bits if bits.strip() else ""))
        if d.get("params"):
            lines.append("  params   = %s" % ", ".join("%s=%s" % kv for kv in sorted(d["params"].items())))
        if d.get("output") is not None:
            lines.append("  kernel   = [%s]" % ", ".join(self.output))
            lines.append("  correct  = [%s]  (correctly rounded, %s)" % (", ".join(self.oracle), d.get("out_format", "")))
        idx = d.get("index", -1)
        if isinstance(idx, int) and idx >= 0:
            lines.append("  element %d: ulp error %s, bound %s ulp" % (idx, _fmt(self.ulp), _fmt(self.bound)))
        return "\n".join(lines)


def _fmt(v: float) -> str:
    if v != v:
        return "n/a"
    return "%.4g" % v


@dataclass
class Report:
    """A campaign's report: the parsed JSON (data) and what :func:`ulpcheck.check` reads of it."""

    data: Dict[str, Any]
    path: str = ""
    exit_status: int = 0
    stderr: str = ""
    replay: str = ""  # the replay command prefix: harness replay -exec '...'
    counterexamples: List[Counterexample] = field(default_factory=list)

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    @property
    def cases(self) -> int:
        """The cases the campaign generated."""
        return int(self.data.get("cases", 0) or 0)

    @property
    def seed(self) -> int:
        """The campaign seed."""
        return int(self.data.get("seed", 0) or 0)

    @property
    def kernels(self) -> List[Dict[str, Any]]:
        """The kernels' declarations as the report records them."""
        ks = self.data.get("kernels")
        return [k for k in ks if isinstance(k, dict)] if isinstance(ks, list) else []

    def expected_to_fail(self) -> Dict[str, bool]:
        """Kernel name → declared broken."""
        return {str(k.get("name")): bool(k.get("expect_fail")) for k in self.kernels}

    @property
    def failing(self) -> List[str]:
        """The kernels that failed unexpectedly (the verdict's list when the report has one)."""
        v = self.data.get("verdict")
        if isinstance(v, dict) and isinstance(v.get("unexpected"), list):
            return [str(n) for n in v["unexpected"]]
        broken = self.expected_to_fail()
        return sorted({c.kernel for c in self.counterexamples if not broken.get(c.kernel, False)})

    @property
    def passed(self) -> bool:
        """Whether no kernel failed unexpectedly."""
        return not self.failing and self.exit_status == 0

    def minimal(self) -> Optional[Counterexample]:
        """Returns the smallest unexpected counterexample (fewest elements; first-of-class records
        before largest-error ones; then the report's order), or None."""
        broken = self.expected_to_fail()
        best: Optional[Tuple[int, int, int]] = None
        pick: Optional[Counterexample] = None
        for i, c in enumerate(self.counterexamples):
            if broken.get(c.kernel, False):
                continue
            key = (c.size, 1 if c.data.get("worst") else 0, i)
            if best is None or key < best:
                best, pick = key, c
        return pick

    def replay_command(self, c: Counterexample) -> str:
        """Returns a shell command that replays c against the same kernel server."""
        from shlex import quote
        return "%s -kernel %s -property %s -case %s" % (self.replay, quote(c.kernel), quote(c.prop), quote(c.input))


def _walk(node: Any, kernel: str) -> Iterator[Counterexample]:
    if isinstance(node, dict):
        k = node.get("kernel")
        if isinstance(k, str):
            kernel = k
        if isinstance(node.get("input"), str) and "class" in node and "property" in node:
            yield Counterexample(kernel=kernel, data=node)
            return
        for key, v in node.items():
            if key in ("kernels", "config", "timing"):
                continue
            yield from _walk(v, kernel)
    elif isinstance(node, list):
        for v in node:
            yield from _walk(v, kernel)


def parse(text: str, path: str = "") -> Report:
    """Parses a report's JSON text. Raises ValueError when it is not a JSON object."""
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("%s: a report is a JSON object" % (path or "report"))
    schema = str(data.get("schema", ""))
    if schema and not schema.startswith("ulpcheck.report/"):
        raise ValueError("%s: schema %r is not an ulpcheck report" % (path or "report", schema))
    r = Report(data=data, path=path)
    r.counterexamples = list(_walk(data, ""))
    return r


def load(path: str) -> Report:
    """Reads and parses a report.json file."""
    with open(path, encoding="utf-8") as f:
        return parse(f.read(), path)
