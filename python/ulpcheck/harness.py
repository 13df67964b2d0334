"""Running the Go harness against a Python function: :func:`check`.

The harness is ulpcheck's ``fuzz`` command. It is found, in this order: the ``ULPCHECK_HARNESS``
environment variable (a path to the binary); ``ulpcheck`` or ``fuzz`` on PATH (checked to be
ulpcheck's); or built once per process with ``go build ./cmd/fuzz`` in a checkout, which is
``ULPCHECK_ROOT``, or found above this package's directory or above the current directory.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import signal
import site
import subprocess
import sys
import tempfile
from typing import Any, List, Optional, Sequence, Tuple, Union

from . import loader
from . import protocol as pr
from . import report as rp
from .server import Kernel, KernelFn, declarations

__all__ = ["check", "find_harness", "HarnessNotFound", "CampaignError", "CheckFailure"]

_MODULE = "github.com/ulpcheck/ulpcheck"
_found: Optional[str] = None


class HarnessNotFound(RuntimeError):
    """Neither a harness binary nor a checkout to build one from was found."""


class CheckFailure(AssertionError):
    """The AssertionError :func:`check` raises: its message is the minimal counterexample, and
    report is the campaign's :class:`ulpcheck.Report`."""

    def __init__(self, message: str, report: rp.Report) -> None:
        super().__init__(message)
        self.report = report


class CampaignError(RuntimeError):
    """The harness could not run the campaign (a usage error, a kernel server that does not start)."""


def _is_harness(path: str) -> bool:
    try:
        p = subprocess.run([path, "run", "-h"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "ulpcheck-kernel protocol" in p.stdout + p.stderr


def _checkout(start: str) -> Optional[str]:
    d = os.path.abspath(start)
    while True:
        gomod = os.path.join(d, "go.mod")
        if os.path.isfile(gomod) and os.path.isdir(os.path.join(d, "cmd", "fuzz")):
            with open(gomod, encoding="utf-8", errors="replace") as f:
                if ("module " + _MODULE) in f.read():
                    return d
        parent = os.path.dirname(d)
        if parent == d:
            return None
        d = parent


def _cache_dir() -> str:
    base = os.environ.get("ULPCHECK_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "ulpcheck")
    os.makedirs(base, exist_ok=True)
    return base


def find_harness(build: bool = True) -> str:
    """Returns the path of the harness binary, building it when needed (see the module doc).

    Raises HarnessNotFound, saying what was tried, when there is no binary and no checkout (or no
    ``go``), and CampaignError when the build fails.
    """
    global _found
    if _found and os.path.exists(_found):
        return _found
    tried: List[str] = []
    env = os.environ.get("ULPCHECK_HARNESS")
    if env:
        if not os.path.isfile(env) or not os.access(env, os.X_OK):
            raise HarnessNotFound("ULPCHECK_HARNESS=%s is not an executable file" % env)
        _found = env
        return env
    tried.append("ULPCHECK_HARNESS (unset)")
    for name in ("ulpcheck", "fuzz"):
        p = shutil.which(name)
        if p and _is_harness(p):
            _found = p
            return p
        tried.append("%s on PATH (%s)" % (name, "not ulpcheck's" if p else "none"))
    roots = [os.environ.get("ULPCHECK_ROOT", "")]
    roots += [os.path.dirname(os.path.abspath(__file__)), os.getcwd()]
    root = None
    for r in roots:
        if r:
            root = _checkout(r)
            if root:
                break
    tried.append("a checkout in ULPCHECK_ROOT, above %s or above %s (%s)" % (
        os.path.dirname(os.path.abspath(__file__)), os.getcwd(), root or "none"))
    go = shutil.which("go")
    if root is None or go is None or not build:
        raise HarnessNotFound(
            "ulpcheck's harness was not found; tried: %s%s. Put the binary on PATH as ulpcheck "
            "(go build -o ulpcheck ./cmd/fuzz in a checkout), set ULPCHECK_HARNESS to it, or set ULPCHECK_ROOT to a "
            "checkout with go installed." % ("; ".join(tried), "" if go else "; no go on PATH to build it"))
    tag = hashlib.sha256(root.encode()).hexdigest()[:12]
    out = os.path.join(_cache_dir(), "ulpcheck-%s" % tag)
    tmp = "%s.%d.tmp" % (out, os.getpid())
    built = subprocess.run([go, "build", "-o", tmp, "./cmd/fuzz"], cwd=root, capture_output=True, text=True)
    if built.returncode != 0:
        raise CampaignError("go build ./cmd/fuzz in %s failed:\n%s" % (root, built.stderr.strip()))
    os.replace(tmp, out)
    _found = out
    return out


def _tolerance(tolerance: Union[str, Tuple[float, float], None], rtol: Optional[float], atol: Optional[float],
               ulp: Optional[float], safety: Optional[float]) -> str:
    given = [t for t in (tolerance, ulp, safety) if t is not None]
    if rtol is not None or atol is not None:
        given.append("rtol/atol")
    if len(given) > 1:
        raise ValueError("give one tolerance model: tolerance=, rtol=/atol=, ulp= or safety=")
    if rtol is not None or atol is not None:
        if rtol is None or atol is None:
            raise ValueError("assert_close's model needs both rtol= and atol= (tolerance='assert_close' for the "
                             "format's defaults)")
        return "assert_close:%r,%r" % (float(rtol), float(atol))
    if ulp is not None:
        return "strict:%r" % float(ulp)
    if safety is not None:
        return "condition:%r" % float(safety)
    if isinstance(tolerance, tuple):
        return "assert_close:%r,%r" % (float(tolerance[0]), float(tolerance[1]))
    return tolerance or "condition"


def _serve_args(k: Kernel) -> List[str]:
    a = ["--op", k.op, "--dtype", k.dtype]
    for flag, v, dflt in (("--out-dtype", k.out_dtype, None), ("--acc", k.acc, None),
                          ("--algorithm", k.algorithm, "shifted"), ("--mask", k.mask, "nan"),
                          ("--array", k.array, "numpy"), ("--device", k.device, "cpu"), ("--axis", k.axis, None)):
        if v != dflt:
            a += [flag, str(v)]
    for flag, on in (("--saturating", k.saturating), ("--flush-to-zero", k.flush_to_zero),
                     ("--prob-targets", k.prob_targets), ("--empty-rows", k.empty_rows)):
        if on:
            a.append(flag)
    if k.reductions:
        a += ["--reductions", ",".join(k.reductions)]
    a += ["--name", k.name]
    return a


def _package_root() -> str:
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _installed(root: str) -> bool:
    dirs = list(site.getsitepackages()) + [site.getusersitepackages()]
    return any(os.path.abspath(d) == root for d in dirs)


def check(fn: KernelFn, op: Optional[str] = None, dtype: Any = None, *, cases: Optional[int] = None,
          seed: Optional[int] = None, tolerance: Union[str, Tuple[float, float], None] = None,
          rtol: Optional[float] = None, atol: Optional[float] = None, ulp: Optional[float] = None,
          safety: Optional[float] = None, timeout: Optional[float] = None, maxlen: Optional[int] = None,
          shrink: bool = True, out: Optional[str] = None, deadline: Optional[float] = None,
          python: Optional[str] = None, harness: Optional[str] = None, **declarations_: Any) -> rp.Report:
    """Runs a campaign of ulpcheck's harness against fn and returns its report; raises
    AssertionError when fn fails.

    fn is served over ``ulpcheck-kernel/1`` by ``python -m ulpcheck serve`` in a child process
    the harness starts, which imports fn by name: it must be defined at module level (a lambda
    or a nested function is refused with TypeError). A crash, an exception or a hang of fn is a
    finding of the campaign, not a crash of the caller.

    op and dtype (one format, or several: one kernel each) and declarations_ (the fields of
    :class:`ulpcheck.Kernel`: out_dtype, acc, algorithm, mask, saturating, flush_to_zero,
    prob_targets, reductions, array, device, axis, empty_rows, name) declare the kernel, as
    :func:`ulpcheck.kernel` does; they override fn's own declarations.

    The tolerance model is the harness's condition-aware bound by default; ``rtol=`` and
    ``atol=`` select torch.testing.assert_close's model |ŷ − y| ≤ atol + rtol·|y| against the
    exact y (``tolerance="assert_close"``: its per-format defaults), ``ulp=k`` the strict model
    |ŷ − y| ≤ k ulp, ``safety=s`` the condition-aware bound with safety factor s.

    cases (default ``ULPCHECK_CASES`` or 500) and seed (``ULPCHECK_SEED`` or 1) size and seed
    the campaign; timeout (seconds) bounds each call of fn (default 10); maxlen bounds row
    lengths; shrink=False keeps counterexamples as found; out keeps the report (report.json,
    .md, .html) in that directory (default: a temporary one, kept when fn fails); deadline
    (seconds) bounds the whole campaign (the harness is interrupted and its partial report
    read); python is the interpreter of the kernel server (default sys.executable).

    The AssertionError (a :class:`CheckFailure`, whose report attribute is the Report) gives in
    its message the minimal counterexample: the inputs, the kernel's output beside the correctly
    rounded one, the ulp error and the bound, and the command that replays it. Raises
    CampaignError when the campaign cannot run and HarnessNotFound when there is no harness.
    """
    ks = declarations(fn, op, dtype, **declarations_)
    ref, paths = loader.reference(fn)
    if loader.resolve(ref, paths) is not fn:
        raise TypeError("%s does not name %r in a fresh import (a decorator that wraps it?): decorate with "
                        "functools.wraps or pass the function the module defines" % (ref, fn))
    if cases is None:
        cases = int(os.environ.get("ULPCHECK_CASES", "500"))
    if seed is None:
        seed = int(os.environ.get("ULPCHECK_SEED", "1"))
    tol = _tolerance(tolerance, rtol, atol, ulp, safety)
    bin_ = harness or find_harness()
    argv = [python or sys.executable, "-m", "ulpcheck", "serve"]
    for p in paths:
        argv += ["--path", p]
    if len(ks) == 1:
        argv += _serve_args(ks[0])
    else:  # several dtypes: one server per campaign would need one name each; declare them all
        argv += ["--op", ks[0].op] + [a for k in ks for a in ("--dtype", k.dtype)]
        argv += _serve_args(ks[0])[4:-2]
    argv.append(ref)
    cmdline = shlex.join(argv)

    env = dict(os.environ)
    root = _package_root()
    pp = env.get("PYTHONPATH", "")
    prefix = ""
    if root not in pp.split(os.pathsep):
        env["PYTHONPATH"] = root + (os.pathsep + pp if pp else "")
        if not _installed(root):
            prefix = "PYTHONPATH=%s " % shlex.quote(env["PYTHONPATH"])
    keep = out is not None
    outdir = out or tempfile.mkdtemp(prefix="ulpcheck-")
    run = [bin_, "run", "-exec", cmdline, "-ops", pr.OPS[ks[0].op][1],
           "-formats", ",".join(sorted({pr.FORMATS[k.dtype][1] for k in ks})), "-cases", str(cases),
           "-seed", str(seed), "-out", outdir, "-q"]
    if tol != "condition":
        run += ["-tolerance", tol]
    if timeout is not None:
        run += ["-timeout", "%dms" % max(1, int(timeout * 1000))]
    if maxlen is not None:
        run += ["-maxlen", str(maxlen)]
    if not shrink:
        run.append("-noshrink")
    proc = subprocess.Popen(run, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)
    try:
        _, stderr = proc.communicate(timeout=deadline)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)  # the harness writes the report of the cases completed
        try:
            _, stderr = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            _, stderr = proc.communicate()
    code = proc.returncode
    path = os.path.join(outdir, "report.json")
    if code not in (0, 1, 130) or not os.path.exists(path):
        raise CampaignError("the harness failed (exit status %s): %s\n%s" % (code, shlex.join(run), stderr.strip()))
    r = rp.load(path)
    r.exit_status, r.stderr = code, stderr
    replay = [bin_, "replay", "-exec", cmdline]
    if tol != "condition":
        replay += ["-tolerance", tol]
    r.replay = prefix + shlex.join(replay)
    if r.passed:
        if not keep:
            shutil.rmtree(outdir, ignore_errors=True)
        return r
    raise CheckFailure(_message(r, ks, code), r)


def _message(r: rp.Report, ks: Sequence[Kernel], code: int) -> str:
    m = r.minimal()
    head = "ulpcheck: %s failed (%d cases, seed %d)" % (", ".join(r.failing) or ks[0].name, r.cases, r.seed)
    if code == 130:
        head += "; the campaign was interrupted at its deadline"
    if m is None:
        tail = "\n".join(line for line in r.stderr.splitlines() if line.strip())
        return "%s\n%s\nreport: %s" % (head, tail, r.path)
    others = sorted({"%s (%s)" % (c.prop, c.cls) for c in r.counterexamples if c is not m and c.kernel in r.failing})
    parts = [head, "minimal counterexample: " + m.describe(), "replay: " + r.replay_command(m)]
    if others:
        parts.append("also failing: " + ", ".join(others))
    parts.append("report: %s (report.html beside it)" % r.path)
    return "\n".join(parts)
