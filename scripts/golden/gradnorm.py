#!/usr/bin/env python3
"""Golden data for ulpcheck's gradient norm and clipping (docs/gradnorm.md).

The total p-norm of a list of tensors (get_total_norm), the clip coefficient
min(max_norm/(N + 1e-6), 1), the clipped gradients of clip_grad_norm_ and
clip_grad_value_, correctly rounded into every format. Written from
docs/gradnorm.md, not from the Go oracle: the sum of p-th powers is an exact
Fraction; its p-th root is rational exactly when numerator and denominator
are perfect p-th powers (checked with an integer root written here), and
then rounded once; otherwise it is irrational and mpmath's root goes through
golden.py's Ziv loop. The comparison max_norm >= N + eps is exact
(S against (max_norm - eps)^p). Rounding and formats are golden.py's.

Usage:
    /usr/bin/python3 scripts/golden/gradnorm.py --out oracle/testdata/golden [--per 210] [--seed 1]
"""

import argparse
import gzip
import json
import math
import os
import random
import sys
from fractions import Fraction

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import golden  # noqa: E402
from golden import FORMATS, INF, NAN, hx, round_fraction, round_float, ziv  # noqa: E402
from mpmath import mp  # noqa: E402

OPS = ["grad_norm", "clip_coef", "clip_grad_norm", "clip_grad_value"]
EPS = Fraction(1e-6)  # the Python float 1e-6, exactly


def iroot(n, k):
    """floor(n^(1/k)) for an integer n >= 0 (bisection on integers)."""
    if n < 2:
        return n
    lo, hi = 1, 1 << (n.bit_length() // k + 1)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if mid ** k <= n:
            lo = mid
        else:
            hi = mid - 1
    return lo


class Norm:
    """The exact norm: kind 'nan', 'inf', or finite with S (sum of p-th powers,
    or the norm itself for p in {1, inf}) and N (Fraction when rational)."""

    def __init__(self, xs, p):
        self.p = p
        self.kind = "finite"
        if any(math.isnan(x) for x in xs):
            self.kind = "nan"
            return
        if any(math.isinf(x) for x in xs):
            self.kind = "inf"
            return
        ys = [abs(Fraction(x)) for x in xs if x != 0]
        if p == INF:
            self.N = max(ys, default=Fraction(0))
            return
        if p == 1:
            self.N = sum(ys, Fraction(0))
            return
        k = int(p)
        self.S = sum((y ** k for y in ys), Fraction(0))
        n, d = self.S.numerator, self.S.denominator
        rn, rd = iroot(n, k), iroot(d, k)
        self.N = Fraction(rn, rd) if rn ** k == n and rd ** k == d else None

    def mp(self):
        """N at mpmath's current precision (irrational case)."""
        return mp.root(golden.mpfr(self.S), int(self.p))

    def cmp(self, D):
        """sign(N - D) for a Fraction D >= 0."""
        if self.N is not None:
            return (self.N > D) - (self.N < D)
        Dp = D ** int(self.p)
        return (self.S > Dp) - (self.S < Dp)


def grad_norm(f, xs, p):
    g = Norm(xs, p)
    if g.kind == "nan":
        return NAN
    if g.kind == "inf":
        return round_float(f, INF)
    if g.N is not None:
        return round_fraction(f, g.N)
    return ziv(f, lambda P: (g.mp(), None))


def coef(g, M):
    """('nan',) | ('rat', Fraction) | ('irr',) for c = min(M/(N + eps), 1)."""
    if g.kind == "nan":
        return ("nan",)
    if g.kind == "inf":
        return ("nan",) if M == INF else ("rat", Fraction(0))
    if M == INF:
        return ("rat", Fraction(1))
    if M == 0:
        return ("rat", Fraction(0))
    D = Fraction(M) - EPS
    if D >= 0 and g.cmp(D) <= 0:
        return ("rat", Fraction(1))
    if g.N is not None:
        return ("rat", Fraction(M) / (g.N + EPS))
    return ("irr",)


def clip_coef(f, xs, p, M):
    g = Norm(xs, p)
    c = coef(g, M)
    if c[0] == "nan":
        return NAN
    if c[0] == "rat":
        return round_fraction(f, c[1])
    return ziv(f, lambda P: (golden.mpfr(Fraction(M)) / (g.mp() + golden.mpfr(EPS)), None))


def clip_grad_norm(f, xs, p, M):
    g = Norm(xs, p)
    c = coef(g, M)
    out = []
    for x in xs:
        if c[0] == "nan" or math.isnan(x):
            out.append(NAN)
        elif math.isinf(x):
            out.append(NAN if c == ("rat", Fraction(0)) else round_float(f, x))
        elif x == 0:
            out.append(0.0)
        elif c[0] == "rat":
            out.append(round_fraction(f, Fraction(x) * c[1]))
        else:
            out.append(ziv(f, lambda P, x=x: (golden.mpfr(Fraction(x) * Fraction(M)) / (g.mp() + golden.mpfr(EPS)), None)))
    return out + [grad_norm(f, xs, p)]


def clip_grad_value(f, xs, clip):
    out = []
    for x in xs:
        if math.isnan(x):
            out.append(NAN)
        else:
            v = max(-clip, min(clip, x))
            out.append(0.0 if v == 0 else round_float(f, v))  # an exact zero (x = 0 or clip = 0) is +0
    return out


CLASSES = ["pythag", "sq-overflow", "subnormal", "random", "huge-one", "special", "zeros", "many"]
TRIPLES = [(3, 4, 5), (5, 12, 13), (8, 15, 17), (7, 24, 25), (20, 21, 29)]


def member(f, v):
    return round_float(f, v)


def sign(r):
    return r.choice([1.0, -1.0])


def gen_elems(r, f, cls):
    emax = math.frexp(f.maxf)[1] - 1
    emin_sub = math.frexp(f.min_sub)[1] - 1
    if cls == "pythag":
        a, b, _ = r.choice(TRIPLES)
        e = r.randint(emin_sub, emax - 5)
        return [member(f, sign(r) * math.ldexp(a, e)), member(f, sign(r) * math.ldexp(b, e))] + [0.0] * r.randint(0, 2)
    if cls == "sq-overflow":
        lo = max(emax // 2, 1)
        return [member(f, sign(r) * math.ldexp(r.uniform(1, 2), r.randint(lo, emax))) for _ in range(r.randint(1, 5))]
    if cls == "subnormal":
        k = min(f.p - 1, 10)
        return [sign(r) * f.min_sub * r.randint(1, (1 << k) - 1) for _ in range(r.randint(1, 6))]
    if cls == "huge-one":
        big = member(f, sign(r) * math.ldexp(r.uniform(1, 2), r.randint(emax - 3, emax)))
        return [big] + [member(f, sign(r) * math.ldexp(r.uniform(1, 2), r.randint(-8, 4))) for _ in range(r.randint(1, 5))]
    if cls == "special":
        xs = [member(f, r.uniform(-4, 4)) for _ in range(r.randint(1, 4))]
        specials = [NAN] + ([INF, -INF] if f.has_inf else [])
        xs[r.randrange(len(xs))] = r.choice(specials)
        return xs
    if cls == "zeros":
        return [r.choice([0.0, -0.0]) for _ in range(r.randint(0, 3))]
    if cls == "many":
        e = r.randint(-6, min(6, emax - 6))
        return [member(f, math.ldexp(r.uniform(-1, 1), e)) for _ in range(r.randint(10, 40))]
    return [member(f, sign(r) * math.ldexp(r.uniform(1, 2), r.randint(emin_sub, emax))) for _ in range(r.randint(1, 6))]


def split(r, xs):
    """Split xs into tensors (some empty) at random cuts."""
    out, cur = [], []
    for x in xs:
        cur.append(x)
        if r.random() < 0.3:
            out.append(cur)
            cur = []
        if r.random() < 0.05:
            out.append([])
    out.append(cur)
    return out


def gen_max_norm(r, f, xs, p):
    g = Norm(xs, p)
    if g.kind == "finite" and r.random() < 0.5:
        n = float(g.N) if g.N is not None else float(round_fraction(golden.FORMATS["fp64"], g.S) ** (1.0 / int(p)))
        if n != 0 and math.isfinite(n):
            pick = r.choice(["half", "equal", "eps-up", "eps-down", "above"])
            if pick == "half":
                return n / 2
            if pick == "equal":
                return n
            if pick == "above":
                return n * 2
            v = float(Fraction(n) + EPS)
            return math.nextafter(v, INF) if pick == "eps-up" else math.nextafter(v, -INF)
    return r.choice([1.0, 0.25, 5.0, 1000.0, 0.0, INF, 1e-6, 0.1, r.uniform(0, 10)])


def make_case(r, op, fname):
    f = FORMATS[fname]
    cls = r.choice(CLASSES)
    xs = gen_elems(r, f, cls)
    tensors = split(r, xs)
    flat = [x for t in tensors for x in t]
    p = r.choice([2.0, 2.0, 2.0, 1.0, INF, 3.0, 4.0])
    case = {"op": op, "format": fname, "class": "grad/" + cls, "tensors": [[hx(v) for v in t] for t in tensors]}
    if op == "clip_grad_value":
        clip = r.choice([1.0, 0.1, 0.5, 1e-3, 0.0, INF, r.uniform(0, 8), f.maxf])
        case["clip"] = hx(clip)
        want = clip_grad_value(f, flat, clip)
    else:
        case["p"] = hx(p)
        if op == "grad_norm":
            want = [grad_norm(f, flat, p)]
        else:
            M = gen_max_norm(r, f, flat, p)
            case["max_norm"] = hx(M)
            want = [clip_coef(f, flat, p, M)] if op == "clip_coef" else clip_grad_norm(f, flat, p, M)
    case["want"] = [hx(v) for v in want]
    return case


def selftest():
    f16 = FORMATS["fp16"]
    assert grad_norm(f16, [3.0, 4.0], 2.0) == 5.0
    assert grad_norm(f16, [256.0, 300.0], 2.0) == 394.5
    assert grad_norm(f16, [256.0, -256.0], 2.0) == 362.0
    assert grad_norm(f16, [65504.0, 65504.0], 2.0) == INF
    assert grad_norm(f16, [3.0, 4.0, 5.0], 3.0) == 6.0
    assert grad_norm(f16, [1.0, 1.0], 3.0) == 1.259765625
    assert clip_coef(f16, [3.0, 4.0], 2.0, 1.0) == 0.199951171875
    assert clip_grad_norm(f16, [3.0, -4.0], 2.0, 1.0) == [0.60009765625, -0.7998046875, 5.0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--per", type=int, default=210)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    selftest()
    total = 0
    for op in OPS:
        path = os.path.join(a.out, op + ".jsonl.gz")
        with gzip.GzipFile(path, "wb", mtime=0) as fh:
            for fname in ["fp16", "bf16", "fp32", "fp64", "e4m3", "e5m2"]:
                r = random.Random("%d/%s/%s" % (a.seed, op, fname))
                for _ in range(a.per):
                    fh.write((json.dumps(make_case(r, op, fname), separators=(",", ":")) + "\n").encode())
                    total += 1
    print("wrote %d cases" % total)


if __name__ == "__main__":
    main()
