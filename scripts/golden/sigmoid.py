#!/usr/bin/env python3
"""Golden data for ulpcheck's two-class operations (docs/sigmoid.md).

softplus (F.softplus, beta 1, threshold 20), log-sigmoid, sigmoid, its
derivative, binary cross-entropy with logits (pos_weight, reductions) and its
gradient, correctly rounded into every format, computed with mpmath from the
definitions written here from docs/sigmoid.md (not from the Go oracle, whose
method is a reduction to two-entry rows of LSE, softmax and cross-entropy).
The rounding, the formats and the Ziv loop are those of golden.py (itself
independent of the Go code).

Usage:
    python3 scripts/golden/sigmoid.py --out oracle/testdata/golden [--per 150] [--seed 1]
"""

import argparse
import gzip
import json
import math
import os
import random
import sys
import time
import zlib
from fractions import Fraction

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import golden  # noqa: E402
from golden import FORMATS, FORMAT_ORDER, INF, NAN, hx, round_fraction, round_float, ziv  # noqa: E402
from mpmath import mp, mpf  # noqa: E402

OPS = ["softplus", "logsigmoid", "sigmoid", "sigmoid_grad", "bce", "bce_grad"]
THRESHOLD = 20


def mpx(x):
    return mpf(Fraction(x).numerator) / Fraction(x).denominator


def sp_mp(x):
    """softplus without threshold at the current precision: log(1 + e^x), x finite."""
    X = mpx(x)
    if x > 0:
        return X + mp.log1p(mp.exp(-X))
    return mp.log1p(mp.exp(X))


def sig_mp(x):
    return 1 / (1 + mp.exp(-mpx(x)))


def softplus(f, x):
    if math.isnan(x):
        return NAN
    if x > THRESHOLD or x == INF:
        return round_float(f, x)
    if x == -INF:
        return 0.0
    return ziv(f, lambda P: (sp_mp(x), None))


def logsigmoid(f, x):
    if math.isnan(x):
        return NAN
    if x == INF:
        return 0.0
    if x == -INF:
        return round_float(f, x)
    return ziv(f, lambda P: (-sp_mp(-x), None))


def sigmoid(f, x):
    if math.isnan(x):
        return NAN
    if x == INF:
        return round_fraction(f, Fraction(1))
    if x == -INF:
        return 0.0
    if x == 0:
        return round_fraction(f, Fraction(1, 2))
    return ziv(f, lambda P: (sig_mp(x), None))


def sigmoid_grad(f, x):
    if math.isnan(x):
        return NAN
    if math.isinf(x):
        return 0.0
    if x == 0:
        return round_fraction(f, Fraction(1, 4))

    def fn(P):
        e = mp.exp(-abs(mpx(x)))
        return e / (1 + e) ** 2, None
    return ziv(f, fn)


def bce_terms(x, t, pw):
    """The loss as ('nan',) or ('inf', sign) or ('terms', [(coef, sign of x in softplus)])."""
    if math.isnan(x) or math.isnan(t) or math.isinf(t):
        return ("nan",)
    a, b = 1 - Fraction(t), Fraction(pw) * Fraction(t)  # (1-t)·sp(x) + pw·t·sp(-x)
    if x == INF:
        return ("inf", (a > 0) - (a < 0)) if a != 0 else ("terms", [])
    if x == -INF:
        return ("inf", (b > 0) - (b < 0)) if b != 0 else ("terms", [])
    terms = []
    if a != 0:
        terms.append((a, x))
    if b != 0:
        terms.append((b, -x))
    return ("terms", terms)


def reduce_bce(f, parts, D):
    """Round (Σ parts)/D; parts as bce_terms gives them."""
    inf = 0
    terms = []
    for p in parts:
        if p[0] == "nan":
            return NAN
        if p[0] == "inf":
            if p[1] == 0:
                continue
            if inf and inf != p[1]:
                return NAN
            inf = p[1]
            continue
        terms.extend(p[1])
    if D == 0:
        return NAN
    if inf:
        return round_float(f, inf * INF)
    if not terms:
        return 0.0

    def fn(P):
        s = mpf(0)
        M = mpf(0)
        for c, y in terms:
            v = golden.mpfr(c) * sp_mp(y)
            s += v
            M += abs(v)
        return s / golden.mpfr(D), M / golden.mpfr(abs(D))
    return ziv(f, fn)


def bce(f, xs, ts, pws, red):
    parts = [bce_terms(x, t, pw) for x, t, pw in zip(xs, ts, pws)]
    if red == "none":
        return [reduce_bce(f, [p], Fraction(1)) for p in parts]
    D = Fraction(len(xs)) if red == "mean" else Fraction(1)
    return [reduce_bce(f, parts, D)]


def bce_grad(f, xs, ts, pws, red):
    D = Fraction(len(xs)) if red == "mean" else Fraction(1)
    out = []
    for x, t, pw in zip(xs, ts, pws):
        if math.isnan(x) or math.isnan(t) or math.isinf(t):
            out.append(NAN)
            continue
        a, b = 1 - Fraction(t), Fraction(pw) * Fraction(t)  # a·σ(x) − b·σ(−x) = (a + b)σ(x) − b
        if x == INF:
            out.append(round_fraction(f, a / D))
            continue
        if x == -INF:
            out.append(round_fraction(f, -b / D))
            continue
        if x == 0:  # σ(0) = ½
            out.append(round_fraction(f, (a - b) / 2 / D))
            continue
        if a + b == 0:  # the transcendental part vanishes
            out.append(round_fraction(f, -b / D))
            continue

        def fn(P, a=a, b=b, x=x):
            s = sig_mp(x)
            sn = sig_mp(-x)
            v = golden.mpfr(a) * s - golden.mpfr(b) * sn
            return v / golden.mpfr(D), (abs(golden.mpfr(a) * s) + abs(golden.mpfr(b) * sn)) / golden.mpfr(D)
        out.append(ziv(f, fn))
    return out


CLASSES = ["small", "exp-over", "log1p", "underflow", "threshold", "special", "wide"]


def member(f, v):
    return round_float(f, v)


def nudge(f, c, k):
    v = member(f, c)
    for _ in range(abs(k)):
        v = member(f, math.nextafter(v, INF if k > 0 else -INF)) if f.name == "fp64" else step(f, v, k)
    return v


def step(f, v, k):
    """The neighbour of v in f in the direction of k."""
    if math.isinf(v) or math.isnan(v):
        return v
    e = math.frexp(v)[1] - 1 if v != 0 else f.emin
    e = max(e, f.emin)
    ulp = math.ldexp(1.0, e - f.p + 1)
    r = member(f, v + (ulp if k > 0 else -ulp))
    return r


def gen_logit(r, f, cls):
    s = r.choice([1, -1])
    k = r.randint(-3, 3)
    if cls == "small":
        c = r.choice([0.0, s * math.ldexp(1, -r.randint(1, 40)), r.uniform(-8, 8)])
        return member(f, c)
    if cls == "exp-over":
        g = r.choice([f, FORMATS["fp32"] if f.p < 24 else f])
        return nudge(f, s * math.log(g.maxf), k)
    if cls == "log1p":
        g = r.choice([f, FORMATS["fp32"] if f.p < 24 else f])
        return nudge(f, s * (g.p + r.randint(-1, 2)) * math.log(2), k)
    if cls == "underflow":
        return nudge(f, math.log(f.min_sub) + r.randint(-2, 2), k)
    if cls == "threshold":
        return nudge(f, 20.0, k)
    if cls == "special":
        vals = [f.maxf, -f.maxf, NAN] + ([INF, -INF] if f.has_inf else [])
        return r.choice(vals)
    e = math.frexp(f.maxf)[1]
    return member(f, s * r.uniform(0.5, 1) * math.ldexp(1, r.randint(-10, e - 1)))


def gen_target(r, f):
    return r.choice([0.0, 1.0, 0.5, member(f, r.random()), member(f, math.ldexp(1, -r.randint(1, 12))), step(f, 1.0, -1)])


def make_case(r, op, fname):
    f = FORMATS[fname]
    cls = r.choice(CLASSES)
    n = r.randint(1, 4)
    xs = [gen_logit(r, f, cls) for _ in range(n)]
    case = {"op": op, "format": fname, "class": "logit/" + cls, "rows": 1, "cols": n, "x": [hx(v) for v in xs]}
    if op in ("bce", "bce_grad"):
        ts = [gen_target(r, f) for _ in range(n)]
        pw = r.choice([None, 1.0, member(f, 2.0 ** -10), member(f, min(1000.0, f.maxf)), 0.0, member(f, r.uniform(0, 4))])
        pws = [1.0 if pw is None else pw] * n
        red = r.choice(["none", "sum", "mean"])
        case.update({"probs": [hx(v) for v in ts], "reduction": red})
        if pw is not None:
            case["weights"] = [hx(v) for v in pws]
        want = (bce if op == "bce" else bce_grad)(f, xs, ts, pws, red)
    else:
        fn = {"softplus": softplus, "logsigmoid": logsigmoid, "sigmoid": sigmoid, "sigmoid_grad": sigmoid_grad}[op]
        want = [fn(f, x) for x in xs]
    case["want"] = [hx(v) for v in want]
    return case


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="oracle/testdata/golden")
    ap.add_argument("--per", type=int, default=150, help="cases per (op, format)")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    t0 = time.time()
    total = 0
    for op in OPS:
        lines = []
        for fname in FORMAT_ORDER:
            r = random.Random(a.seed * 1000003 + zlib.crc32(("sigmoid/%s/%s" % (op, fname)).encode()))
            made = 0
            while made < a.per:
                try:
                    case = make_case(r, op, fname)
                except golden.ZivFail:
                    continue
                lines.append(json.dumps(case, separators=(",", ":")))
                made += 1
        path = os.path.join(a.out, op + ".jsonl.gz")
        with open(path + ".tmp", "wb") as fh:
            with gzip.GzipFile(filename="", mode="wb", fileobj=fh, mtime=0, compresslevel=9) as gz:
                gz.write(("\n".join(lines) + "\n").encode())
        os.replace(path + ".tmp", path)
        total += len(lines)
        sys.stderr.write("%-13s %5d cases %6.1fs\n" % (op, len(lines), time.time() - t0))
    sys.stderr.write("%d cases\n" % total)


if __name__ == "__main__":
    main()
