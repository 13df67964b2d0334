"""Serving Python functions as ulpcheck external kernels.

A :class:`Kernel` is a function with its declaration (operation, dtypes, algorithm class, mask
policy, ...); a :class:`Registry` holds kernels and runs the ``ulpcheck-kernel/1`` request loop
on stdin and stdout (:meth:`Registry.serve`). :func:`kernel` declares a function with a
decorator and :func:`serve` serves functions in one call.

Calling conventions, per operation (x is a ``rows × cols`` array, one row per sample):

- softmax, log_softmax, softplus, logsigmoid, sigmoid, sigmoid_grad: ``fn(x) -> rows × cols``
- logsumexp: ``fn(x) -> rows`` (``rows × 1`` is accepted)
- softmax_backward: ``fn(x, dy) -> dx``, ``dx = y ⊙ (dy − Σ dy·y)``, ``y = softmax(x)``
- cross_entropy, cross_entropy_grad: ``fn(x, target, weight=None, ignore_index=-100,
  reduction="mean", label_smoothing=0.0)``, as ``torch.nn.functional.cross_entropy``; target is
  an int64 array of class indices, or ``rows × cols`` probabilities (``prob_targets=True``)
- bce_with_logits, bce_with_logits_grad: ``fn(x, target, pos_weight=None, reduction="mean")``,
  as ``torch.nn.functional.binary_cross_entropy_with_logits``

The row operations also get ``axis=-1`` (or ``dim=-1``) when the function takes such a
parameter, so ``scipy.special.softmax`` and ``torch.softmax`` are served as they are. A keyword
the function does not take is not passed; a case that needs a value other than its default
(class weights, say) is then declined as unsupported, which skips it.

Arrays are numpy arrays of the input dtype; bfloat16, which numpy lacks, arrives as float32
holding bfloat16 values. With ``array="torch"`` they are torch tensors of the dtype (bfloat16
included) on ``device``. The result may be a numpy array, a torch tensor, a scalar or anything
``numpy.asarray`` takes; it is rounded to the output format (round to nearest even) when it has
another dtype.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
import warnings
from dataclasses import dataclass, field, replace
from typing import Any, BinaryIO, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

from . import protocol as pr

NDArray = npt.NDArray[Any]

__all__ = ["Kernel", "Registry", "Unsupported", "kernel", "serve", "declarations"]

KernelFn = Callable[..., Any]


class Unsupported(Exception):
    """Raised by a kernel function to decline a case (an option or shape it does not implement).

    The harness skips the case: it is not a failure.
    """


_NUMPY_DTYPE: Dict[str, Any] = {"float16": np.float16, "bfloat16": np.float32, "float32": np.float32,
                                "float64": np.float64}
_WIRE_DTYPE: Dict[str, str] = {"float16": "<u2", "bfloat16": "<u2", "float32": "<u4", "float64": "<u8"}
_WIDTHS: Dict[int, int] = {code: width for code, _, width in pr.FORMATS.values()}
_BY_CODE: Dict[int, str] = {code: name for name, (code, _, _) in pr.FORMATS.items()}


@dataclass(frozen=True)
class Kernel:
    """A function and its declaration: one entry of the hello.

    The fields mirror the Go declaration (kernels.Kernel): op is the operation, dtype the input
    (storage) format, out_dtype the output format (None: dtype), acc the accumulation format
    (None: the harness default, float32 for narrower outputs), algorithm the class that selects
    the condition-aware tolerance ("shifted", "unshifted", "exp_lse", "online"), mask the fully
    masked row policy ("nan" as torch.softmax, "zero" as FlashAttention), saturating (overflow
    gives ±max), flush_to_zero (subnormal outputs may be 0), prob_targets (cross-entropy with
    probability targets), reductions (the cross-entropy or BCE reductions served; None: all).
    array is "numpy" or "torch" (what fn receives), device the torch device, axis the keyword
    that names the reduced axis (None: found from the signature; "" : none), empty_rows whether
    rows of zero columns are served (numpy's max of an empty row raises).
    """

    fn: KernelFn
    op: str
    dtype: str
    name: str = ""
    doc: str = ""
    out_dtype: Optional[str] = None
    acc: Optional[str] = None
    algorithm: str = "shifted"
    mask: str = "nan"
    saturating: bool = False
    flush_to_zero: bool = False
    prob_targets: bool = False
    reductions: Optional[Tuple[str, ...]] = None
    array: str = "numpy"
    device: str = "cpu"
    axis: Optional[str] = None
    empty_rows: bool = False

    def entry(self) -> pr.Entry:
        """Returns the hello entry of this kernel."""
        flags = ((pr.FLAG_SATURATING if self.saturating else 0) | (pr.FLAG_FLUSH_TO_ZERO if self.flush_to_zero else 0)
                 | (pr.FLAG_PROB_TARGETS if self.prob_targets else 0))
        reds = 0
        for r in self.reductions or ():
            reds |= 1 << pr.REDUCTIONS[r]
        return pr.Entry(op=pr.OPS[self.op][0], fin=pr.FORMATS[self.dtype][0],
                        fout=pr.FORMATS[self.out_dtype][0] if self.out_dtype else 0,
                        acc=pr.FORMATS[self.acc][0] if self.acc else 0,
                        algorithm=pr.ALGORITHMS[self.algorithm], mask=pr.MASKS[self.mask], flags=flags,
                        reductions=reds, name=self.name, doc=self.doc)

    @property
    def output_dtype(self) -> str:
        """The output format's name."""
        return self.out_dtype or self.dtype


def _fn_name(fn: KernelFn) -> str:
    return str(getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or type(fn).__name__)


def declarations(fn: KernelFn, op: Optional[str] = None, dtype: Union[str, Any, Sequence[Any], None] = None,
                 **decl: Any) -> List[Kernel]:
    """Returns the kernels that fn declares: one per dtype.

    Declarations come from :func:`kernel` decorators on fn, overridden by op, dtype and decl
    (the fields of :class:`Kernel`). A function with neither must be given op and dtype.
    Raises ValueError for an unknown operation, dtype, algorithm or mask, and TypeError for an
    unknown declaration.
    """
    known = {f for f in Kernel.__dataclass_fields__ if f not in ("fn", "op", "dtype")}
    unknown = set(decl) - known
    if unknown:
        raise TypeError("unknown declaration %s (known: op, dtype, %s)" % (", ".join(sorted(unknown)), ", ".join(sorted(known))))
    base: List[Dict[str, Any]] = list(getattr(fn, "__ulpcheck__", ())) or [{}]
    out: List[Kernel] = []
    for b in base:
        d = dict(b)
        d.update({k: v for k, v in decl.items() if v is not None})
        o = op if op is not None else d.pop("op", None)
        d.pop("op", None)
        dts = dtype if dtype is not None else d.pop("dtype", None)
        d.pop("dtype", None)
        if o is None or dts is None:
            raise ValueError("%s declares no %s: pass op= and dtype= (or decorate it with ulpcheck.kernel)"
                             % (_fn_name(fn), "operation" if o is None else "dtype"))
        if isinstance(dts, (str, bytes)) or not isinstance(dts, Iterable):
            dts = [dts]
        for dt in dts:
            out.append(_make(fn, o, dt, d))
    return out


def _make(fn: KernelFn, op: str, dtype: Any, d: Dict[str, Any]) -> Kernel:
    o = pr.op_name(op)
    f = pr.format_name(dtype)
    d = dict(d)
    if d.get("out_dtype") is not None:
        d["out_dtype"] = pr.format_name(d["out_dtype"])
    if d.get("acc") is not None:
        d["acc"] = pr.format_name(d["acc"])
    d["algorithm"] = pr.algorithm_name(d.get("algorithm", "shifted"))
    d["mask"] = pr.mask_name(d.get("mask", "nan"))
    reds = d.get("reductions")
    if reds is not None:
        reds = (reds,) if isinstance(reds, str) else tuple(reds)
        for r in reds:
            if r not in pr.REDUCTIONS:
                raise ValueError("unknown reduction %r (mean, sum or none)" % (r,))
        d["reductions"] = reds
    if d.get("array", "numpy") not in ("numpy", "torch"):
        raise ValueError("array must be 'numpy' or 'torch', not %r" % (d["array"],))
    if d.get("prob_targets") and o not in pr.CE_OPS:
        raise ValueError("prob_targets applies to cross_entropy and cross_entropy_grad only")
    if not d.get("name"):
        d["name"] = "%s/%s/%s" % (_fn_name(fn), pr.OPS[o][1], pr.FORMATS[f][1])
    if not d.get("doc"):
        first = (inspect.getdoc(fn) or "").strip().split("\n")[0]
        d["doc"] = first or "%s.%s" % (getattr(fn, "__module__", "?"), _fn_name(fn))
    return Kernel(fn=fn, op=o, dtype=f, **d)


def kernel(op: str, dtype: Union[str, Any, Sequence[Any]], **decl: Any) -> Callable[[KernelFn], KernelFn]:
    """Declares the decorated function as an ulpcheck kernel and returns it unchanged.

    The declaration (op, dtype: one or a list, and the other fields of :class:`Kernel`) is
    stored on the function, so that :func:`serve`, ``python -m ulpcheck serve module:function``
    and :func:`ulpcheck.check` find it. Decorators stack: each adds kernels.

        @ulpcheck.kernel(op="softmax", dtype=["float16", "float32"])
        def my_softmax(x):
            e = np.exp(x - x.max(axis=1, keepdims=True))
            return e / e.sum(axis=1, keepdims=True)
    """
    def wrap(fn: KernelFn) -> KernelFn:
        probe = dict(decl, op=op, dtype=dtype)
        declarations(fn, **probe)  # validate now, not at serve time
        prior = list(getattr(fn, "__ulpcheck__", ()))
        fn.__ulpcheck__ = prior + [probe]  # type: ignore[attr-defined]
        return fn
    return wrap


@dataclass
class Registry:
    """A set of kernels served together by one process.

    client names the implementation in the hello (default: numpy's and Python's versions).
    """

    client: str = ""
    kernels: List[Kernel] = field(default_factory=list)
    max_frame: int = pr.MAX_FRAME

    def add(self, fn: Union[KernelFn, Kernel], op: Optional[str] = None, dtype: Any = None, **decl: Any) -> List[Kernel]:
        """Adds fn's kernels (see :func:`declarations`), or a Kernel as it is; returns them."""
        ks = [fn] if isinstance(fn, Kernel) else declarations(fn, op, dtype, **decl)
        names = {k.name for k in self.kernels}
        for k in ks:
            if k.name in names:
                raise ValueError("two kernels named %r: give one of them another name=" % k.name)
            names.add(k.name)
        self.kernels.extend(ks)
        return ks

    def kernel(self, op: str, dtype: Any, **decl: Any) -> Callable[[KernelFn], KernelFn]:
        """Decorator: adds the function's kernels to this registry and returns it unchanged."""
        def wrap(fn: KernelFn) -> KernelFn:
            self.add(fn, op, dtype, **decl)
            return fn
        return wrap

    def hello(self) -> bytes:
        """Returns the hello payload."""
        client = self.client or "ulpcheck-python, numpy %s, Python %s" % (np.__version__, sys.version.split()[0])
        return pr.encode_hello(client, [k.entry() for k in self.kernels])

    def handle(self, payload: bytes) -> bytes:
        """Answers one request payload; never raises (errors become status 1)."""
        rid = pr.request_id(payload)
        try:
            return _call(self, payload)
        except Unsupported as e:
            return pr.encode_status(rid, pr.STATUS_UNSUPPORTED, str(e) or "unsupported")
        except BaseException as e:  # the kernel's exception is its finding, never the server's crash
            if isinstance(e, (KeyboardInterrupt, SystemExit)):
                raise
            return pr.encode_status(rid, pr.STATUS_ERROR, "%s: %s" % (type(e).__name__, e))

    def serve(self, stdin: Optional[BinaryIO] = None, stdout: Optional[BinaryIO] = None) -> int:
        """Runs the request loop until stdin ends; returns the exit status (0, or 1 on a broken stream).

        Without explicit streams, it serves on the process's stdin and stdout and keeps stdout
        for frames: file descriptor 1 and sys.stdout are pointed at stderr, so that a print in
        a kernel (or a C library's output) cannot break the protocol, and stdin is replaced by
        /dev/null.
        """
        if not self.kernels:
            sys.stderr.write("ulpcheck serve: no kernel to serve\n")
            return 2
        if stdin is None or stdout is None:
            stdin, stdout = _private_stdio()
        try:
            hello = self.hello()
        except ValueError as e:
            sys.stderr.write("ulpcheck serve: %s\n" % e)
            return 2
        pr.write_frame(stdout, hello, self.max_frame)
        while True:
            try:
                p = pr.read_frame(stdin, self.max_frame)
            except pr.ProtocolError as e:
                sys.stderr.write("ulpcheck serve: %s\n" % e)
                return 1
            if p is None:
                return 0
            answer = self.handle(p)
            if len(answer) > self.max_frame:
                answer = pr.encode_status(pr.request_id(p), pr.STATUS_ERROR,
                                          "response of %d bytes exceeds the %d-byte frame bound" % (len(answer), self.max_frame))
            pr.write_frame(stdout, answer, self.max_frame)


def _private_stdio() -> Tuple[BinaryIO, BinaryIO]:
    sys.stdout.flush()
    out = os.fdopen(os.dup(1), "wb", buffering=0)
    inp = os.fdopen(os.dup(0), "rb", buffering=0)
    os.dup2(2, 1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    sys.stdout = sys.stderr
    return inp, out


def serve(*targets: Union[KernelFn, Kernel, Registry], client: str = "", op: Optional[str] = None,
          dtype: Any = None, **decl: Any) -> int:
    """Serves functions as ulpcheck external kernels on stdin/stdout; returns the exit status.

    targets are decorated functions (:func:`kernel`), plain functions (then op and dtype are
    required), :class:`Kernel` objects or registries; op, dtype and decl apply to every function
    target. Typical use, at the end of a script run by ``fuzz run -exec 'python3 script.py'``::

        if __name__ == "__main__":
            sys.exit(ulpcheck.serve(my_softmax, op="softmax", dtype="float32"))
    """
    reg = Registry(client=client)
    for t in targets:
        if isinstance(t, Registry):
            for k in t.kernels:
                reg.add(k)
            reg.client = reg.client or t.client
        else:
            reg.add(t, op, dtype, **decl)
    return reg.serve()


# --- one call ---------------------------------------------------------------------------------

def _elems(payload: bytes, span: Tuple[int, int], fmt: str) -> NDArray:
    raw = np.frombuffer(payload, dtype=_WIRE_DTYPE[fmt], count=(span[1] - span[0]) // pr.FORMATS[fmt][2], offset=span[0])
    if fmt == "bfloat16":
        wide: NDArray = (raw.astype(np.uint32) << np.uint32(16)).view(np.float32)
        return wide
    elems: NDArray = raw.view(_NUMPY_DTYPE[fmt]).copy()
    return elems


def bfloat16_bits(y: NDArray) -> NDArray:
    """Rounds float values to bfloat16 (round to nearest even) and returns their uint16 bits.

    float64 input is first rounded to float32 by round-to-odd, so that the two roundings give
    the correctly rounded bfloat16 value. NaN stays NaN (sign kept, quiet); ±Inf stays ±Inf.
    """
    a = np.asarray(y)
    if a.dtype != np.float32:
        a64 = a.astype(np.float64)
        with np.errstate(invalid="ignore", over="ignore"):
            f = a64.astype(np.float32)
        bits = f.view(np.uint32).copy()
        finite = np.isfinite(a64)
        with np.errstate(invalid="ignore", over="ignore"):
            inexact = finite & (f.astype(np.float64) != a64)
            away = inexact & (np.abs(f.astype(np.float64)) > np.abs(a64))
        bits = np.where(away, bits - np.uint32(1), bits)  # toward zero: truncation (Inf becomes max)
        bits = np.where(inexact, bits | np.uint32(1), bits)  # odd: the sticky bit
        a = bits.astype(np.uint32).view(np.float32)
    u = a.view(np.uint32).astype(np.uint64)
    rounded = (u + np.uint64(0x7FFF) + ((u >> np.uint64(16)) & np.uint64(1))) >> np.uint64(16)
    nan = np.isnan(a)
    quiet = ((u >> np.uint64(16)) | np.uint64(0x0040))
    return np.where(nan, quiet, rounded).astype(np.uint16)


def _encode_out(y: Any, fmt: str) -> Tuple[int, bytes]:
    a, is_bits = _to_numpy(y)
    a = a.reshape(-1)
    if a.dtype.kind not in "fiub":
        raise TypeError("the kernel returned %s, not numbers" % a.dtype)
    if fmt == "bfloat16":
        bits = a if is_bits else bfloat16_bits(a if a.dtype.kind == "f" else a.astype(np.float64))
        return bits.size, bits.astype("<u2").tobytes()
    with np.errstate(all="ignore"):
        out = a.astype(_NUMPY_DTYPE[fmt])
    return out.size, out.view(_WIRE_DTYPE[fmt]).astype(_WIRE_DTYPE[fmt]).tobytes()


def _to_numpy(y: Any) -> Tuple[NDArray, bool]:
    """Returns y as a numpy array, and whether it holds bfloat16 bits (from a torch tensor)."""
    if type(y).__module__.startswith("torch"):
        torch: Any = importlib.import_module("torch")
        t = y.detach().to("cpu").contiguous()
        if t.dtype == torch.bfloat16:
            return t.view(torch.int16).numpy().view(np.uint16), True
        if t.is_floating_point() and t.dtype not in (torch.float16, torch.float32, torch.float64):
            t = t.to(torch.float64)
        return np.asarray(t.numpy()), False
    return np.asarray(y), False


def _to_torch(a: NDArray, fmt: Optional[str], device: str) -> Any:
    torch: Any = importlib.import_module("torch")
    if fmt == "bfloat16":
        bits = (a.view(np.uint32) >> np.uint32(16)).astype(np.uint16).view(np.int16)
        return torch.from_numpy(bits.copy()).view(torch.bfloat16).to(device)
    return torch.from_numpy(np.array(a, copy=True)).to(device)


_SIGS: Dict[int, Optional[inspect.Signature]] = {}


def _signature(fn: KernelFn) -> Optional[inspect.Signature]:
    key = id(fn)
    if key not in _SIGS:
        try:
            _SIGS[key] = inspect.signature(fn)
        except (TypeError, ValueError):
            _SIGS[key] = None
    return _SIGS[key]


def _takes(sig: Optional[inspect.Signature], name: str) -> bool:
    if sig is None:
        return False
    for p in sig.parameters.values():
        if p.name == name and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) or p.kind == p.VAR_KEYWORD:
            return True
    return False


def _call(reg: Registry, payload: bytes) -> bytes:
    raw = pr.decode_request(payload, _WIDTHS)
    if raw.kernel >= len(reg.kernels):
        raise pr.ProtocolError("kernel index %d out of range (%d kernels)" % (raw.kernel, len(reg.kernels)))
    k = reg.kernels[raw.kernel]
    e = k.entry()
    fout = e.fout or e.fin
    if (raw.op, raw.fin, raw.fout) != (e.op, e.fin, fout):
        raise pr.ProtocolError("request for op %d, formats %d -> %d does not match kernel %d (%s: %d, %d -> %d)"
                               % (raw.op, raw.fin, raw.fout, raw.kernel, k.name, e.op, e.fin, fout))
    if raw.cols == 0 and not k.empty_rows:
        raise Unsupported("rows of 0 columns are not served (declare empty_rows=True to test them)")
    x = _elems(payload, raw.spans["x"], k.dtype).reshape(raw.rows, raw.cols)
    torch_mode = k.array == "torch"

    def arr(a: NDArray, fmt: Optional[str] = k.dtype) -> Any:
        return _to_torch(a, fmt, k.device) if torch_mode else a

    args: List[Any] = [arr(x)]
    kwargs: Dict[str, Any] = {}
    defaults: Dict[str, Any] = {}
    targets: Optional[NDArray] = None
    sig = _signature(k.fn)
    if k.op == "softmax_backward":
        if "dy" not in raw.spans:
            raise pr.ProtocolError("softmax backward request without dy")
        args.append(arr(_elems(payload, raw.spans["dy"], k.dtype).reshape(raw.rows, raw.cols)))
    elif k.op in pr.CE_OPS:
        if "targets" in raw.spans:
            s = raw.spans["targets"]
            targets = np.frombuffer(payload, dtype="<i8", count=raw.rows, offset=s[0]).astype(np.int64)
            args.append(_to_torch(targets, None, k.device) if torch_mode else targets)
        elif "probs" in raw.spans:
            args.append(arr(_elems(payload, raw.spans["probs"], k.dtype).reshape(raw.rows, raw.cols)))
        else:
            raise pr.ProtocolError("cross-entropy request without targets")
        w = _elems(payload, raw.spans["weights"], k.dtype) if "weights" in raw.spans else None
        kwargs = {"weight": None if w is None else arr(w), "ignore_index": raw.ignore_index,
                  "reduction": _reduction(raw.reduction), "label_smoothing": raw.label_smoothing}
        defaults = {"weight": None, "ignore_index": -100, "reduction": "mean", "label_smoothing": 0.0}
    elif k.op in pr.BCE_OPS:
        if "probs" not in raw.spans:
            raise pr.ProtocolError("BCE request without targets")
        args.append(arr(_elems(payload, raw.spans["probs"], k.dtype).reshape(raw.rows, raw.cols)))
        w = _elems(payload, raw.spans["weights"], k.dtype) if "weights" in raw.spans else None
        kwargs = {"pos_weight": None if w is None else arr(w), "reduction": _reduction(raw.reduction)}
        defaults = {"pos_weight": None, "reduction": "mean"}
    for name in list(kwargs):
        if sig is None or _takes(sig, name):
            continue
        v, dflt = kwargs.pop(name), defaults[name]
        if not (v is None and dflt is None or v is not None and dflt is not None and _same(v, dflt)):
            raise Unsupported("%s takes no %s= (the case needs %s=%s)" % (_fn_name(k.fn), name, name, _short(v)))
        if name == "ignore_index" and targets is not None and bool(np.any(targets == -100)):
            raise Unsupported("%s takes no ignore_index= and a target is -100" % _fn_name(k.fn))
    if k.op in pr.ROW_OPS:
        ax = k.axis
        if ax is None:
            ax = "dim" if _takes(sig, "dim") else "axis" if _takes(sig, "axis") else ""
            if sig is None:
                ax = "dim" if torch_mode else ""
            if sig is not None and any(p.kind == p.VAR_KEYWORD for p in sig.parameters.values()) \
                    and not any(p.name in ("dim", "axis") for p in sig.parameters.values()):
                ax = ""
        if ax and k.op not in pr.CE_OPS:
            kwargs[ax] = -1
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        y = _run(k, args, kwargs, torch_mode)
    count, data = _encode_out(y, k.output_dtype)
    return pr.encode_ok(raw.id, count, data)


def _run(k: Kernel, args: List[Any], kwargs: Dict[str, Any], torch_mode: bool) -> Any:
    if torch_mode:
        torch: Any = importlib.import_module("torch")
        with torch.no_grad():
            return k.fn(*args, **kwargs)
    return k.fn(*args, **kwargs)


def _same(v: Any, d: Any) -> bool:
    try:
        return bool(v == d)
    except Exception:
        return False


def _short(v: Any) -> str:
    s = repr(v)
    return s if len(s) < 60 else s[:57] + "..."


def _reduction(code: int) -> str:
    for name, c in pr.REDUCTIONS.items():
        if c == code:
            return name
    raise pr.ProtocolError("unknown reduction code %d" % code)


def replace_kernel(k: Kernel, **changes: Any) -> Kernel:
    """Returns a copy of k with the given fields changed (dataclasses.replace)."""
    return replace(k, **changes)
