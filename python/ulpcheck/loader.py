"""Naming Python functions for another process: ``module:attr`` and ``file.py:attr`` references.

:func:`ulpcheck.check` serves a function in a child process, which imports it by reference;
``python -m ulpcheck serve`` resolves the reference (:func:`resolve`).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from typing import Any, List, Optional, Sequence, Tuple


def resolve(spec: str, paths: Sequence[str] = ()) -> Any:
    """Returns the object a reference names.

    spec is ``package.module:attr.attr`` (imported as Python would, after prepending paths to
    sys.path) or ``path/to/file.py:attr`` (the file is loaded as a module named after it, its
    directory prepended to sys.path, as when Python runs a script). Raises ValueError for a
    malformed reference, ImportError or AttributeError when it names nothing.
    """
    mod_part, sep, attr = spec.rpartition(":")
    if not sep or not mod_part or not attr:
        raise ValueError("bad reference %r: want module:function or file.py:function" % spec)
    for p in reversed(list(paths)):
        if p not in sys.path:
            sys.path.insert(0, p)
    if mod_part.endswith(".py") or os.sep in mod_part:
        path = os.path.abspath(mod_part)
        if not os.path.isfile(path):
            raise ImportError("no file %s (from reference %r)" % (path, spec))
        d = os.path.dirname(path)
        if d not in sys.path:
            sys.path.insert(0, d)
        name = os.path.splitext(os.path.basename(path))[0]
        existing = sys.modules.get(name)
        if existing is not None and os.path.abspath(getattr(existing, "__file__", "") or "") == path:
            mod = existing
        else:
            loc = importlib.util.spec_from_file_location(name, path)
            if loc is None or loc.loader is None:
                raise ImportError("cannot load %s" % path)
            mod = importlib.util.module_from_spec(loc)
            sys.modules[name] = mod
            loc.loader.exec_module(mod)
    else:
        mod = importlib.import_module(mod_part)
    obj: Any = mod
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def reference(obj: Any) -> Tuple[str, List[str]]:
    """Returns a reference to obj for :func:`resolve` in a fresh interpreter, and the sys.path
    entries it needs (the root its module was imported from, when the module is not a script).

    Raises TypeError for objects that cannot be named from another process: lambdas, functions
    defined inside functions, objects without a module.
    """
    qual = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    modname = getattr(obj, "__module__", None)
    if not qual or not modname:
        raise TypeError("%r has no module and name: check() serves the function in a child process, which "
                        "imports it by name" % (obj,))
    if "<lambda>" in qual or "<locals>" in qual:
        raise TypeError("%s cannot be imported by another process (it is a lambda or is defined inside a "
                        "function): define it at module level, for instance def my_softmax(x): ..." % qual)
    mod = sys.modules.get(modname)
    file: Optional[str] = getattr(mod, "__file__", None) if mod is not None else None
    paths: List[str] = []
    if modname == "__main__" or mod is None:
        if not file:
            raise TypeError("%s is defined in __main__ without a file (an interactive session): put it in "
                            "a module" % qual)
        return "%s:%s" % (os.path.abspath(file), qual), paths
    if file:
        root = os.path.abspath(file)
        depth = modname.count(".") + 1
        if os.path.basename(root).startswith("__init__."):
            depth += 1
        for _ in range(depth):
            root = os.path.dirname(root)
        paths.append(root)
    return "%s:%s" % (modname, qual), paths
