"""``python -m ulpcheck serve REF ...``: serve Python functions as ulpcheck external kernels.

Run by the harness, not by hand::

    fuzz run -exec 'python3 -m ulpcheck serve mylib.kernels:softmax --op softmax --dtype float16'

Each REF is ``module:attr`` or ``file.py:attr`` and names a function decorated with
:func:`ulpcheck.kernel`, a plain function (then --op and --dtype declare it), a
:class:`ulpcheck.Kernel`, a :class:`ulpcheck.Registry` or a list of those. The declaration flags
apply to every function named.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Dict, List, Optional, Sequence

from . import loader
from .server import Kernel, Registry


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m ulpcheck", description="ulpcheck's Python side.")
    sub = ap.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="serve functions over ulpcheck-kernel/1 on stdin/stdout",
                       description="Serve functions as ulpcheck external kernels (docs/protocol.md) on stdin and "
                                   "stdout, for fuzz run -exec and fuzz replay -exec.")
    s.add_argument("refs", nargs="+", metavar="REF", help="module:function or file.py:function")
    s.add_argument("--path", action="append", default=[], metavar="DIR", help="prepend DIR to sys.path (repeatable)")
    s.add_argument("--op", help="operation: softmax, log_softmax, logsumexp, cross_entropy, softmax_backward, "
                                "cross_entropy_grad, softplus, logsigmoid, sigmoid, sigmoid_grad, bce_with_logits, "
                                "bce_with_logits_grad")
    s.add_argument("--dtype", action="append", metavar="DTYPE",
                   help="input dtype: float16, bfloat16, float32, float64 (repeatable or comma-separated)")
    s.add_argument("--out-dtype", help="output dtype (default: the input's)")
    s.add_argument("--acc", help="accumulation dtype (default: the harness's, float32 below float32)")
    s.add_argument("--algorithm", help="algorithm class: shifted (default), unshifted, exp_lse, online")
    s.add_argument("--mask", help="fully masked row policy: nan (default) or zero")
    s.add_argument("--saturating", action="store_true", default=None, help="overflow gives ±max")
    s.add_argument("--flush-to-zero", action="store_true", default=None, help="subnormal outputs may be 0")
    s.add_argument("--prob-targets", action="store_true", default=None, help="cross-entropy with probability targets")
    s.add_argument("--reductions", help="reductions served, comma-separated: mean,sum,none (default all)")
    s.add_argument("--array", choices=("numpy", "torch"), help="what the function receives (default numpy)")
    s.add_argument("--device", help="torch device of the inputs (default cpu)")
    s.add_argument("--axis", help="keyword naming the reduced axis (axis, dim; '' for none; default: from the signature)")
    s.add_argument("--empty-rows", action="store_true", default=None, help="serve rows of 0 columns")
    s.add_argument("--name", help="kernel name (one function and dtype only)")
    s.add_argument("--client", default="", help="the implementation's name in the hello")
    return ap


def _targets(obj: Any) -> List[Any]:
    if isinstance(obj, (list, tuple)):
        out: List[Any] = []
        for o in obj:
            out.extend(_targets(o))
        return out
    return [obj]


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Runs the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    decl: Dict[str, Any] = {
        "out_dtype": args.out_dtype, "acc": args.acc, "algorithm": args.algorithm, "mask": args.mask,
        "saturating": args.saturating, "flush_to_zero": args.flush_to_zero, "prob_targets": args.prob_targets,
        "reductions": args.reductions.split(",") if args.reductions else None, "array": args.array,
        "device": args.device, "axis": args.axis, "empty_rows": args.empty_rows, "name": args.name,
    }
    decl = {k: v for k, v in decl.items() if v is not None}
    dtypes = [d for ds in args.dtype or [] for d in ds.split(",") if d] or None
    reg = Registry(client=args.client)
    try:
        for ref in args.refs:
            for t in _targets(loader.resolve(ref, args.path)):
                if isinstance(t, Registry):
                    for k in t.kernels:
                        reg.add(k)
                    reg.client = reg.client or t.client
                elif isinstance(t, Kernel):
                    reg.add(t)
                elif callable(t):
                    reg.add(t, args.op, dtypes, **decl)
                else:
                    raise TypeError("%s names a %s, not a function, Kernel or Registry" % (ref, type(t).__name__))
    except Exception as e:  # a bad reference or declaration: say so on stderr, where the harness quotes it
        sys.stderr.write("ulpcheck serve: %s: %s\n" % (type(e).__name__, e))
        return 2
    return reg.serve()


if __name__ == "__main__":
    sys.exit(main())
