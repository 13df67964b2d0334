#!/usr/bin/env python3
"""Generate the cross-validation golden data of ulpcheck's oracle.

This file implements an independent reference for every operation of package
oracle (LSE, softmax, log-softmax, cross-entropy with class and probability
targets, softmax backward from x or from y, cross-entropy gradients) in every
format (fp16, bf16, fp32, fp64, e4m3, e5m2), using mpmath for exp/log and
fractions.Fraction for everything that is rational. It shares no code with the
Go oracle: the rounding into each format, the special-value semantics and the
exact-case detection are written here from NUMERICS.md (sections 1, 5, 6, 8).

Method. Each output is classified first:

  - special (NaN, +-Inf) or rational (NUMERICS 6: all finite logits of a row
    equal, a single finite entry, a polynomial such as softmax backward from
    y): computed exactly with Fraction and rounded once;
  - otherwise transcendental and nonzero (Lindemann-Weierstrass): evaluated
    with mpmath at working precisions 160, 320, 640, ... bits (Ziv's
    strategy). At precision P the value v is taken to be known to within
    err = M * 2^(24-P) (M = |v|, or a bound on the magnitudes of the terms
    that cancelled); a result is accepted when, at two consecutive
    precisions, v - err and v + err (formed exactly) round to the same
    format value, and |v| > M * 2^(-P+p+60) (no catastrophic cancellation).
    Exact midpoints never reach this loop (they are rational, above). Expressions are arranged so that cancellation is rare
    (log1p of the shifted sum, gradients as sums of exp terms with exact
    rational coefficients grouped by distinct logit value); when it happens
    the grouped exact-coefficient form is used, so that an exactly vanishing
    leading term can never hide the true value.

Rounding (round_fraction) is round-to-nearest-even straight from the exact
value, with gradual underflow, overflow to +-Inf at |x| >= max + ulp(max)/2
and, for OCP E4M3 (no Inf), NaN above 464 (464 itself rounds to 448).

Usage:
    python3 scripts/golden/golden.py --selftest
    python3 scripts/golden/golden.py --out oracle/testdata/golden [--per 400] [--seed 1]

The output is deterministic for a given seed and --per (Python's random.Random
with integer seeds; mpmath only supplies values that are then correctly
rounded). Runs with mpmath 1.x (pip or Debian's python3-mpmath) on Python 3.9+.
See oracle/testdata/golden/README.md for the data format.
"""

import argparse
import gzip
import json
import math
import os
import sys
import time
import zlib
from fractions import Fraction

import mpmath
from mpmath import mp, mpf

# ---------------------------------------------------------------------------
# Formats (NUMERICS 1).


class Fmt:
    def __init__(self, name, p, emin, emax, has_inf, max_finite):
        self.name = name
        self.p = p
        self.emin = emin
        self.emax = emax
        self.has_inf = has_inf
        self.max_finite = Fraction(max_finite)
        self.maxf = float(max_finite)
        self.min_sub = math.ldexp(1.0, emin - p + 1)

    def __repr__(self):
        return self.name


def _ieee_max(p, emax):
    return Fraction(2 ** p - 1, 2 ** (p - 1)) * Fraction(2) ** emax


FORMATS = {
    "fp16": Fmt("fp16", 11, -14, 15, True, _ieee_max(11, 15)),
    "bf16": Fmt("bf16", 8, -126, 127, True, _ieee_max(8, 127)),
    "fp32": Fmt("fp32", 24, -126, 127, True, _ieee_max(24, 127)),
    "fp64": Fmt("fp64", 53, -1022, 1023, True, _ieee_max(53, 1023)),
    "e4m3": Fmt("e4m3", 4, -6, 8, False, 448),
    "e5m2": Fmt("e5m2", 3, -14, 15, True, 57344),
}
FORMAT_ORDER = ["fp16", "bf16", "fp32", "fp64", "e4m3", "e5m2"]

INF = float("inf")
NAN = float("nan")


def _floor_log2(num, den):
    """floor(log2(num/den)) for positive integers."""
    e = num.bit_length() - den.bit_length()
    # 2^e <= num/den  <=>  num >= den*2^e
    if e >= 0:
        if num < (den << e):
            e -= 1
    else:
        if (num << -e) < den:
            e -= 1
    return e


def round_fraction(f, x, tie=None):
    """Round the exact rational x to format f (RNE, subnormals, overflow).

    Returns a Python float (every format value is a float64). Exact zero gives
    +0.0; a nonzero value that rounds to zero keeps its sign. tie = +1 (-1)
    rounds x + eps (x - eps) for an infinitesimal eps > 0 instead: it only
    changes the result when x is exactly a rounding boundary.
    """
    if x == 0:
        if tie is not None and tie < 0:
            return -0.0
        return 0.0
    neg = x < 0
    a = -x if neg else x
    num, den = a.numerator, a.denominator
    e = _floor_log2(num, den)
    if e > f.emax + 2:
        r_val = INF
    else:
        q = max(e, f.emin) - (f.p - 1)
        if q >= 0:
            n, d = num, den << q
        else:
            n, d = num << -q, den
        r, rem = divmod(n, d)
        twice = 2 * rem
        if twice == d and tie is not None:
            if (tie > 0) != neg:
                r += 1
        elif twice > d or (twice == d and (r & 1)):
            r += 1
        if Fraction(r) * Fraction(2) ** q > f.max_finite:
            r_val = INF
        else:
            r_val = math.ldexp(float(r), q)
    if r_val == INF and not f.has_inf:
        return NAN
    return -r_val if neg else r_val


def round_float(f, v):
    """Round a float64 (possibly +-Inf/NaN) to format f."""
    if math.isnan(v):
        return NAN
    if math.isinf(v):
        return v if f.has_inf else NAN
    if v == 0:
        return v
    return round_fraction(f, Fraction(v))


def mpf_to_fraction_or_round(f, v):
    """Round an mpf (finite) to format f, exactly from its binary value."""
    sign, man, exp, bc = v._mpf_
    if man == 0:
        # mpmath zero (or special encoded with man 0): treat as exact zero.
        if v == 0:
            return 0.0
        raise ValueError("special mpf %r" % (v,))
    man = int(man)
    top = exp + bc  # |v| < 2^top
    if top < -2000:
        return -0.0 if sign else 0.0
    if top > 2000:
        r = INF if f.has_inf else NAN
        return -r if (sign and f.has_inf) else r
    fr = Fraction(man << exp) if exp >= 0 else Fraction(man, 1 << -exp)
    return round_fraction(f, -fr if sign else fr)


def same(a, b):
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


def round_open(f, a, b):
    """The rounding of every value in the open interval (a, b), a < b exact
    Fractions; raises ZivFail when they do not all round alike."""
    ra = round_fraction(f, a, tie=+1)
    rb = round_fraction(f, b, tie=-1)
    if not same(ra, rb):
        raise ZivFail("interval (%s, %s) straddles a rounding boundary" % (float(a), float(b)))
    return ra


def hx(v):
    """Go-parsable hex float: shortest mantissa, 'inf', '-inf', 'nan'."""
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    s = v.hex()  # e.g. -0x1.8000000000000p+3
    mant, exp = s.split("p")
    if "." in mant:
        mant = mant.rstrip("0").rstrip(".")
    return mant + "p" + exp


def contains(f, v):
    if math.isnan(v):
        return True
    if math.isinf(v):
        return f.has_inf
    return same(round_fraction(f, Fraction(v)) if v != 0 else v, v)


# ---------------------------------------------------------------------------
# Ziv's strategy.

PRECISIONS = (160, 320, 640, 1280, 2560, 5120)
ZIV_STATS = {"escalations": 0, "evaluations": 0}


class ZivFail(Exception):
    pass


def ziv(f, fn):
    """fn(P) -> (mpf value, cancellation bound M or None), evaluated under
    mp.workprec(P). Returns the correctly rounded float."""
    prev = None
    ZIV_STATS["evaluations"] += 1
    for i, P in enumerate(PRECISIONS):
        with mp.workprec(P):
            v, M = fn(P)
            ok = v != 0
            if ok and M is not None:
                ok = abs(v) > M * mpf(2) ** (-P + f.p + 60)
            r = None
            if ok:
                # The value is known to within err = mag * 2^(24-P) (a few
                # roundings per term, at most 2^12 terms, generous margin):
                # both ends of [v - err, v + err], formed exactly, must round
                # to the same format value. This rejects a working-precision
                # result that sits on a rounding boundary (a midpoint that a
                # lost tiny term would have decided).
                mag = abs(v) if M is None else M
                err = mag * mpf(2) ** (24 - P)
                lo = mpf_to_fraction_or_round(f, mp.fsub(v, err, exact=True))
                hi = mpf_to_fraction_or_round(f, mp.fadd(v, err, exact=True))
                ok = same(lo, hi)
                r = lo
        if ok and prev is not None and same(r, prev):
            return r
        if i > 0:
            ZIV_STATS["escalations"] += 1
        prev = r
    raise ZivFail("Ziv loop reached %d bits" % PRECISIONS[-1])


def mpfr(q):
    """Fraction -> mpf at the current precision."""
    return mpf(q.numerator) / q.denominator


# ---------------------------------------------------------------------------
# Rows of logits.


class Row:
    """One row of logits: special structure, groups of equal finite values and
    exps e^(x_k - m) cached per precision."""

    def __init__(self, xs):
        self.xs = xs
        self.n = len(xs)
        self.has_nan = any(math.isnan(v) for v in xs)
        self.has_pinf = any(v == INF for v in xs)
        self.fin = [k for k, v in enumerate(xs) if math.isfinite(v)]
        self.nf = len(self.fin)
        self.m = max(xs[k] for k in self.fin) if self.fin else None
        groups = {}
        for k in self.fin:
            groups.setdefault(xs[k], []).append(k)
        self.groups = groups  # value -> indices
        self.vals = sorted(groups)  # distinct finite values
        self._cache = {}

    def special(self):
        return self.has_nan or self.has_pinf or self.nf == 0

    def equal(self):
        return len(self.groups) == 1

    def _prep(self, P):
        c = self._cache.get(P)
        if c is not None:
            return c
        m = mpf(self.m)
        gexp = {}
        for v in self.vals:
            d = mp.fsub(mpf(v), m, exact=True)
            gexp[v] = mp.exp(d) if v != self.m else mpf(1)
        s1 = mpf(len(self.groups[self.m]) - 1)
        for v in self.vals:
            if v != self.m:
                s1 += len(self.groups[v]) * gexp[v]
        c = {"gexp": gexp, "s1": s1, "S": 1 + s1, "L": mp.log1p(s1)}
        self._cache[P] = c
        return c

    def e(self, P, k):
        return self._prep(P)["gexp"][self.xs[k]]

    def S(self, P):
        return self._prep(P)["S"]

    def L_hi(self):
        """A rational upper bound on log1p(s1) when the row's maximum is
        unique (then log1p(s1) <= s1 <= (nf-1) e^(d2), d2 the gap to the
        second largest value, and e^d2 <= 2^ceil(d2/0.69315) since
        ln 2 < 0.69315); None otherwise (log1p(s1) >= log 2 is not tiny)."""
        if len(self.groups[self.m]) != 1 or self.nf < 2:
            return None
        d2 = Fraction(self.vals[-2]) - Fraction(self.m)
        k = math.ceil(d2 / Fraction(69315, 100000))
        k = max(k, -100000)  # a larger, still valid bound; keeps Fractions small
        return (self.nf - 1) * Fraction(2) ** k

    def L(self, P):
        """log1p(s1) = log(sum_k e^(x_k - m))."""
        return self._prep(P)["L"]


# Output cells: a float already rounded, or a pending computation.


def lse_row(f, row):
    if row.n == 0:
        return -INF
    if row.has_nan:
        return NAN
    if row.has_pinf:
        return INF
    if row.nf == 0:
        return -INF
    if row.nf == 1:
        return round_fraction(f, Fraction(row.m))

    def fn(P):
        m = mpf(row.m)
        L = row.L(P)
        return m + L, abs(m) + L

    try:
        return ziv(f, fn)
    except ZivFail:
        # LSE lies in (m, m + L_hi): decided there when L is tiny.
        hi = row.L_hi()
        if hi is None:
            raise
        return round_open(f, Fraction(row.m), Fraction(row.m) + hi)


def softmax_row(f, row, pol):
    if row.has_nan or row.has_pinf:
        return [NAN] * row.n
    if row.nf == 0:
        return [NAN if pol == "nan" else 0.0] * row.n
    out = []
    for k, v in enumerate(row.xs):
        if v == -INF:
            out.append(0.0)
        elif row.equal():
            out.append(round_fraction(f, Fraction(1, row.nf)))
        else:
            out.append(ziv(f, lambda P, k=k: (row.e(P, k) / row.S(P), None)))
    return out


def logsoftmax_row(f, row, pol):
    if row.has_nan or row.has_pinf:
        return [NAN] * row.n
    if row.nf == 0:
        return [NAN if pol == "nan" else -INF] * row.n
    out = []
    for k, v in enumerate(row.xs):
        if v == -INF:
            out.append(-INF)
        elif row.nf == 1:
            out.append(0.0)
        else:

            def fn(P, v=v):
                d = mp.fsub(mpf(v), mpf(row.m), exact=True)
                return d - row.L(P), None

            try:
                out.append(ziv(f, fn))
            except ZivFail:
                # (x_j - m) - L lies in (d - L_hi, d).
                hi = row.L_hi()
                if hi is None:
                    raise
                d = Fraction(v) - Fraction(row.m)
                out.append(round_open(f, d - hi, d))
    return out


def grouped_numerator(P, row, coef):
    """sum over distinct finite values v of coef(v) * e^(v - m): returns
    (value, sum of magnitudes). coef(v) is an exact Fraction."""
    pos = mpf(0)
    neg = mpf(0)
    for v in row.vals:
        c = coef(v)
        if c == 0:
            continue
        t = mpfr(c) * row._prep(P)["gexp"][v]
        if c > 0:
            pos += t
        else:
            neg += t
    return pos + neg, pos - neg


def softmax_backward_row(f, row, dy, pol):
    """dx_i = y_i (dy_i - sum_j dy_j y_j), y = softmax(x) exact."""
    n = row.n
    if row.has_nan or row.has_pinf:
        return [NAN] * n
    if row.nf == 0:
        return [NAN if pol == "nan" else 0.0] * n
    dyq = [Fraction(d) for d in dy]
    if row.equal():
        c = sum((dyq[k] for k in row.fin), Fraction(0)) / row.nf
        out = []
        for k in range(n):
            if row.xs[k] == -INF:
                out.append(0.0)
            else:
                out.append(round_fraction(f, (dyq[k] - c) / row.nf))
        return out
    # group sums: n_v, D_v = sum dy over group.
    Dv = {v: sum((dyq[k] for k in row.groups[v]), Fraction(0)) for v in row.vals}
    means = {Dv[v] / len(row.groups[v]) for v in row.vals}
    common = next(iter(means)) if len(means) == 1 else None
    cache = {}

    def TT(P):
        if P not in cache:
            T = mpf(0)
            Ta = mpf(0)
            for v in row.vals:
                ev = row._prep(P)["gexp"][v]
                dv = mpfr(Dv[v])
                T += dv * ev
                Ta += mpfr(sum((abs(dyq[k]) for k in row.groups[v]), Fraction(0))) * ev
            cache[P] = (T, Ta)
        return cache[P]

    out = []
    for i in range(n):
        if row.xs[i] == -INF:
            out.append(0.0)
            continue
        if common is not None and dyq[i] == common:
            out.append(0.0)
            continue

        def fn(P, i=i):
            S = row.S(P)
            T, Ta = TT(P)
            d = mpfr(dyq[i])
            num = d * S - T
            M = abs(d) * S + Ta
            if num == 0 or abs(num) <= M * mpf(2) ** (-P + f.p + 60):
                dq = dyq[i]
                num, M = grouped_numerator(
                    P, row, lambda v: len(row.groups[v]) * dq - Dv[v]
                )
            scale = row.e(P, i) / (S * S)
            return num * scale, M * scale

        out.append(ziv(f, fn))
    return out


def softmax_backward_y_row(f, y, dy):
    yq = [Fraction(v) for v in y]
    dyq = [Fraction(v) for v in dy]
    c = sum((a * b for a, b in zip(yq, dyq)), Fraction(0))
    return [round_fraction(f, yq[i] * (dyq[i] - c)) for i in range(len(y))]


# ---------------------------------------------------------------------------
# Cross entropy (NUMERICS 8). A row's loss is sum_c a_c (-log p_c) with exact
# rational coefficients a_c >= 0; -log p_c = (m - x_c) + log1p(s1).


class Ambiguous(Exception):
    """The case touches a convention that NUMERICS does not settle; the
    generator draws another case."""


def class_coeffs(C, t, w, eps):
    wt = w[t]
    a = [eps * w[c] / C for c in range(C)]
    a[t] += (1 - eps) * wt
    return a


def prob_coeffs(C, probs, w, eps):
    return [w[c] * (probs[c] * (1 - eps) + eps / C) for c in range(C)]


def row_loss_parts(row, a):
    """Returns ('nan',) | ('inf',) | (R Fraction, A Fraction) with loss =
    R + A*log1p(s1)."""
    if row.has_nan or row.has_pinf:
        return ("nan",)
    if row.nf == 0:
        raise Ambiguous("fully masked row in cross entropy")
    R = Fraction(0)
    A = Fraction(0)
    inf = False
    m = Fraction(row.m)
    for c, x in enumerate(row.xs):
        if a[c] == 0:
            if x == -INF:
                continue  # xlogy: 0 * log 0 = 0
            continue
        if x == -INF:
            inf = True
            continue
        R += a[c] * (m - Fraction(x))
        A += a[c]
    if inf:
        return ("inf",)
    if row.nf == 1:
        A = Fraction(0)  # log1p(0) = 0: exact
    return (R, A)


def finish_loss(f, parts_list, D):
    """Sum of parts (each (R, A, row)) divided by D (Fraction)."""
    R = sum((p[0] for p in parts_list), Fraction(0))
    terms = [(p[1], p[2]) for p in parts_list if p[1] != 0]
    if D == 0:
        raise Ambiguous("zero denominator")
    if not terms:
        return round_fraction(f, R / D)

    def fn(P):
        v = mpfr(R)
        for A, row in terms:
            v += mpfr(A) * row.L(P)
        return v / mpfr(D), None

    try:
        return ziv(f, fn)
    except ZivFail:
        # (R + sum A L) / D lies in (R/D, (R + sum A L_hi)/D) when every
        # row's log1p(s1) is tiny.
        his = [row.L_hi() for _, row in terms]
        if any(h is None for h in his):
            raise
        top = R + sum((A * h for (A, _), h in zip(terms, his)), Fraction(0))
        return round_open(f, R / D, top / D)


def ce_class(f, rows, xs, targets, w, ii, eps, red):
    C = len(xs[0]) if xs else 0
    wq = [Fraction(1)] * C if w is None else [Fraction(v) for v in w]
    eq = Fraction(eps)
    per = []
    D = Fraction(0)
    for n in range(rows):
        t = targets[n]
        if t == ii:
            per.append(None)
            continue
        if not (0 <= t < C):
            raise ValueError("target out of range")
        row = Row(xs[n])
        a = class_coeffs(C, t, wq, eq)
        # Conventions left open by NUMERICS: 0 * inf from a zero weight on a
        # -Inf logit.
        for c, x in enumerate(row.xs):
            if x == -INF and a[c] == 0 and (c == t or eq != 0):
                raise Ambiguous("zero coefficient on -Inf logit")
        per.append((row_loss_parts(row, a), row))
        D += wq[t]
    return reduce_losses(f, per, D, red)


def ce_prob(f, rows, xs, probs, w, eps, red):
    C = len(xs[0]) if xs else 0
    wq = [Fraction(1)] * C if w is None else [Fraction(v) for v in w]
    eq = Fraction(eps)
    per = []
    for n in range(rows):
        row = Row(xs[n])
        a = prob_coeffs(C, [Fraction(v) for v in probs[n]], wq, eq)
        per.append((row_loss_parts(row, a), row))
    return reduce_losses(f, per, Fraction(rows), red)


def reduce_losses(f, per, D, red):
    if red == "none":
        out = []
        for item in per:
            if item is None:
                out.append(0.0)
                continue
            parts, row = item
            if parts[0] == "nan":
                out.append(NAN)
            elif parts[0] == "inf":
                out.append(INF if f.has_inf else NAN)
            else:
                out.append(finish_loss(f, [(parts[0], parts[1], row)], Fraction(1)))
        return out
    live = [it for it in per if it is not None]
    if any(it[0][0] == "nan" for it in live):
        return [NAN]
    if red == "mean" and D == 0:
        # PyTorch: 0/0 = NaN when every row is ignored or weights sum to 0.
        if any(it[0][0] == "inf" for it in live):
            raise Ambiguous("inf / 0")
        num_zero = all(it[0][1] == 0 and it[0][0] == 0 for it in live)
        if not num_zero:
            raise Ambiguous("x / 0")
        return [NAN]
    if any(it[0][0] == "inf" for it in live):
        return [INF if f.has_inf else NAN]
    parts = [(it[0][0], it[0][1], it[1]) for it in live]
    return [finish_loss(f, parts, D if red == "mean" else Fraction(1))]


def grad_row(f, row, a, D):
    """(A p_j - a_j) / D for one non-ignored row, a_c exact coefficients."""
    n = row.n
    if row.has_nan or row.has_pinf:
        return [NAN] * n
    if row.nf == 0:
        raise Ambiguous("fully masked row in cross-entropy gradient")
    for c, x in enumerate(row.xs):
        if x == -INF and a[c] != 0:
            raise Ambiguous("-Inf logit with positive target mass")
    A = sum(a, Fraction(0))
    out = []
    if row.equal():
        for j in range(n):
            p = Fraction(0) if row.xs[j] == -INF else Fraction(1, row.nf)
            out.append(round_fraction(f, (A * p - a[j]) / D))
        return out
    for j in range(n):
        if row.xs[j] == -INF:
            out.append(round_fraction(f, -a[j] / D))
            continue
        if A == 0:
            out.append(0.0)
            continue

        def fn(P, j=j):
            S = row.S(P)
            ej = row.e(P, j)
            Am = mpfr(A - a[j])
            aj = mpfr(a[j])
            t1 = ej * Am
            t2 = aj * (S - ej)
            num = t1 - t2
            M = t1 + aj * S
            if num == 0 or abs(num) <= M * mpf(2) ** (-P + f.p + 60):
                xj = row.xs[j]
                num, M = grouped_numerator(
                    P,
                    row,
                    lambda v: (A if v == xj else 0) - a[j] * len(row.groups[v]),
                )
            den = S * mpfr(D)
            return num / den, M / den

        out.append(ziv(f, fn))
    return out


def ce_class_grad(f, rows, xs, targets, w, ii, eps, red):
    C = len(xs[0])
    wq = [Fraction(1)] * C if w is None else [Fraction(v) for v in w]
    eq = Fraction(eps)
    D = Fraction(0)
    for n in range(rows):
        if targets[n] != ii:
            D += wq[targets[n]]
    if red != "mean":
        D = Fraction(1)
    if D == 0:
        raise Ambiguous("zero denominator in gradient")
    out = []
    for n in range(rows):
        row = Row(xs[n])
        if targets[n] == ii:
            if row.special():
                raise Ambiguous("special logits in an ignored row's gradient")
            out.extend([0.0] * C)
            continue
        out.extend(grad_row(f, row, class_coeffs(C, targets[n], wq, eq), D))
    return out


def ce_prob_grad(f, rows, xs, probs, w, eps, red):
    C = len(xs[0])
    wq = [Fraction(1)] * C if w is None else [Fraction(v) for v in w]
    eq = Fraction(eps)
    D = Fraction(rows) if red == "mean" else Fraction(1)
    out = []
    for n in range(rows):
        a = prob_coeffs(C, [Fraction(v) for v in probs[n]], wq, eq)
        out.extend(grad_row(f, Row(xs[n]), a, D))
    return out


# ---------------------------------------------------------------------------
# Self test of the rounding (values checked by hand against NUMERICS 1).


def selftest():
    F = FORMATS
    fails = 0

    def chk(name, fmt, x, want):
        nonlocal fails
        got = round_fraction(F[fmt], Fraction(x))
        if not same(got, want):
            fails += 1
            print("FAIL %s: %s(%r) = %r (%s), want %r" % (name, fmt, x, got, hx(got), want))

    T = Fraction(2)
    chk("fp16 below overflow", "fp16", Fraction(6551999, 100), 65504.0)
    chk("fp16 overflow threshold", "fp16", 65520, INF)
    chk("fp16 just below threshold", "fp16", Fraction(65520) - T ** -30, 65504.0)
    chk("fp16 -overflow", "fp16", -65520, -INF)
    chk("fp16 2^-25 ties to 0", "fp16", T ** -25, 0.0)
    chk("fp16 -2^-25 ties to -0", "fp16", -(T ** -25), -0.0)
    chk("fp16 3*2^-26 -> 2^-24", "fp16", 3 * T ** -26, math.ldexp(1, -24))
    chk("fp16 just above 2^-25", "fp16", T ** -25 + T ** -60, math.ldexp(1, -24))
    chk("fp16 3*2^-25 ties to even 2^-23", "fp16", 3 * T ** -25, math.ldexp(1, -23))
    chk("fp16 1+2^-11 ties to 1", "fp16", 1 + T ** -11, 1.0)
    chk("fp16 1+3*2^-11 ties to 1+2^-9", "fp16", 1 + 3 * T ** -11, 1 + 2.0 ** -9)
    chk("fp16 1-2^-12 ties to 1", "fp16", 1 - T ** -12, 1.0)
    chk("fp16 1/3", "fp16", Fraction(1, 3), 0.333251953125)
    chk("fp16 1e-40 -> 0", "fp16", Fraction(1, 10 ** 40), 0.0)
    chk("bf16 1+2^-8 ties to 1", "bf16", 1 + T ** -8, 1.0)
    chk("bf16 1+3*2^-8", "bf16", 1 + 3 * T ** -8, 1 + 2.0 ** -6)
    chk("bf16 max", "bf16", (2 - T ** -7) * T ** 127, float((2 - T ** -7) * T ** 127))
    chk("bf16 overflow", "bf16", (2 - T ** -8) * T ** 127, INF)
    chk("bf16 min subnormal tie", "bf16", T ** -134, 0.0)
    chk("bf16 min subnormal", "bf16", T ** -134 + T ** -200, math.ldexp(1, -133))
    chk("fp32 1e-40", "fp32", Fraction(1, 10 ** 40), 71362 * 2.0 ** -149)
    chk("fp32 2^-150 ties to 0", "fp32", T ** -150, 0.0)
    chk("fp32 overflow", "fp32", (2 - T ** -24) * T ** 127, INF)
    chk("fp64 0.1", "fp64", Fraction(1, 10), 0.1)
    chk("fp64 2^-1075 ties to 0", "fp64", T ** -1075, 0.0)
    chk("fp64 3*2^-1075 -> 2^-1073", "fp64", 3 * T ** -1075, math.ldexp(1, -1073))
    chk("fp64 overflow", "fp64", (2 - T ** -53) * T ** 1023, INF)
    chk("e4m3 448", "e4m3", 448, 448.0)
    chk("e4m3 464 ties to 448", "e4m3", 464, 448.0)
    chk("e4m3 465 -> NaN", "e4m3", 465, NAN)
    chk("e4m3 -465 -> NaN", "e4m3", -465, NAN)
    chk("e4m3 min subnormal", "e4m3", T ** -9, math.ldexp(1, -9))
    chk("e4m3 2^-10 ties to 0", "e4m3", T ** -10, 0.0)
    chk("e4m3 1/3", "e4m3", Fraction(1, 3), 0.34375)
    chk("e5m2 57344", "e5m2", 57344, 57344.0)
    chk("e5m2 61440 -> inf", "e5m2", 61440, INF)
    chk("e5m2 61439", "e5m2", 61439, 57344.0)
    chk("e5m2 2^-17 ties to 0", "e5m2", T ** -17, 0.0)
    # hex output round trip
    for v in (0.0, -0.0, 1.5, math.ldexp(1, -1074), 65504.0, 0.1):
        if float.fromhex(hx(v)) != v or math.copysign(1, float.fromhex(hx(v))) != math.copysign(1, v):
            fails += 1
            print("FAIL hex round trip", v, hx(v))
    # mpf conversion
    with mp.workprec(200):
        if not same(mpf_to_fraction_or_round(F["fp16"], mp.exp(mpf(-1e308))), 0.0):
            fails += 1
            print("FAIL tiny mpf")
    # a known midpoint: fp16 CE gradient with 4096 equal logits at the target.
    g = ce_class_grad(F["fp16"], 1, [[0.0] * 4096], [7], None, -100, 0.0, "mean")
    if not same(g[7], -1.0) or not same(g[0], math.ldexp(1, -12)):
        fails += 1
        print("FAIL midpoint", g[7], g[0])
    # ln 2 = LSE(0, 0) in fp64: 0x1.62e42fefa39efp-1
    if not same(lse_row(F["fp64"], Row([0.0, 0.0])), float.fromhex("0x1.62e42fefa39efp-1")):
        fails += 1
        print("FAIL ln2")
    # softmax([0, 1]) in fp32: 1/(1+e) = 0.268941421369995... -> 0x1.136562p-2 (struct float32 of the fp64 value agrees)
    sm = softmax_row(F["fp32"], Row([0.0, 1.0]), "nan")
    if not same(sm[0], float.fromhex("0x1.136562p-2")):
        fails += 1
        print("FAIL softmax", hx(sm[0]))
    # cancellation: grad at the max of [0, -700] in fp64 is -e^-700/(1+e^-700)
    g = ce_class_grad(F["fp64"], 1, [[0.0, -700.0]], [0], None, -100, 0.0, "sum")
    with mp.workprec(300):
        ref = -mp.exp(-700) / (1 + mp.exp(-700))
        if not same(g[0], float(ref)) or g[0] == 0:
            fails += 1
            print("FAIL cancellation", g[0], float(ref))
    # A tiny term decides a midpoint: log-softmax of [320, -96] in e5m2 is
    # -416 - log1p(e^-416), just beyond the midpoint -416 of -384 and -448.
    ls = logsoftmax_row(F["e5m2"], Row([320.0, -96.0]), "nan")
    if not same(ls[1], -448.0) or not same(ls[0], -0.0):
        fails += 1
        print("FAIL tiny-term midpoint", ls)
    # Directed ties and the interval fallback.
    if not same(round_fraction(F["fp16"], 1 + T ** -11, tie=+1), 1 + 2.0 ** -10):
        fails += 1
        print("FAIL tie=+1")
    if not same(round_fraction(F["fp16"], -(1 + T ** -11), tie=+1), -1.0):
        fails += 1
        print("FAIL tie=+1 negative")
    # Log-softmax with a gap far beyond every working precision: the second
    # output is (x1 - x0) - L with L ~ e^-62000. Gap -62048 (= 1939*32, an
    # fp16 value): the answer is -62048.
    ls = logsoftmax_row(F["fp16"], Row([60000.0, -2048.0]), "nan")
    if not same(ls[1], -62048.0):
        fails += 1
        print("FAIL huge gap", ls)
    # Gap -62032 is the midpoint of -62016 (1938*32, even) and -62048; the
    # true value lies just below it, so the answer is -62048, not the even
    # -62016 that rounding the bare midpoint would give.
    ls = logsoftmax_row(F["fp16"], Row([60000.0, -2032.0]), "nan")
    if not same(ls[1], -62048.0):
        fails += 1
        print("FAIL huge-gap midpoint", ls)
    if fails:
        print("selftest: %d failures" % fails)
        return 1
    print("selftest: ok")
    return 0


# ---------------------------------------------------------------------------
# Case generation.

import random  # noqa: E402

OPS = [
    "lse",
    "softmax",
    "logsoftmax",
    "ce",
    "ce_prob",
    "softmax_backward",
    "softmax_backward_y",
    "ce_grad",
    "ce_prob_grad",
]

MIXED_IN = {"fp16": "fp32", "bf16": "fp32", "fp32": "fp64", "fp64": "fp64", "e4m3": "fp16", "e5m2": "fp16"}


class Gen:
    def __init__(self, rng, f):
        self.r = rng
        self.f = f

    def member(self, lo, hi, sign=None):
        """Random member of f with exponent in [lo, hi] (clamped to the
        format's range; exponents below emin give subnormals)."""
        f = self.f
        r = self.r
        lo = max(lo, f.emin - f.p + 1)
        hi = min(hi, f.emax)
        e = r.randint(lo, hi)
        if e >= f.emin:
            mant = r.getrandbits(f.p - 1) if f.p > 1 else 0
            v = math.ldexp(1 + mant / 2.0 ** (f.p - 1), e)
        else:
            v = math.ldexp(r.randint(1, 2 ** (f.p - 1) - 1), f.emin - f.p + 1)
            v = round_float(f, v)
        if v > f.maxf:
            v = f.maxf
        if sign is None:
            sign = -1 if r.random() < 0.5 else 1
        return sign * v

    def rnd(self, x):
        v = round_float(self.f, x)
        if math.isnan(v):
            return math.copysign(self.f.maxf, x)
        return v

    def normal(self, sigma, mu=0.0):
        return self.rnd(self.r.gauss(mu, sigma))

    def neg_sentinel(self):
        c = self.r.choice([-1e4, -5e4, -1e9, -1e30, -self.f.maxf])
        v = round_float(self.f, c)
        if math.isnan(v):
            v = -self.f.maxf
        return v


def exp_thresholds(f):
    """(x above which exp overflows, x at or below which exp rounds to 0)."""
    over = math.log(float(f.max_finite)) + 0.0  # approximate (for generation only)
    under = math.log(f.min_sub) - math.log(2.0)
    return over, under


def gen_row(g, cls, n, allow_special=True):
    f = g.f
    r = g.r
    if n == 0:
        return []
    if cls in ("random", "long", "mixed_precision"):
        sigma = r.choice([0.5, 1, 4, 16])
        return [g.normal(sigma) for _ in range(n)]
    if cls == "huge":
        top = f.emax
        xs = [g.member(top - 3, top, sign=1 if r.random() < 0.8 else -1) for _ in range(n)]
        if r.random() < 0.5:
            xs[r.randrange(n)] = f.maxf
        return xs
    if cls == "tiny":
        return [g.member(f.emin - f.p + 1, f.emin + 3) for _ in range(n)]
    if cls == "subnormal":
        return [g.member(f.emin - f.p + 1, f.emin - 1) if r.random() < 0.9 else 0.0 for _ in range(n)]
    if cls == "mixed":
        return [g.member(f.emin - f.p + 1, f.emax) for _ in range(n)]
    if cls == "exp_threshold":
        over, under = exp_thresholds(f)
        xm = g.rnd(over + r.uniform(-0.5, 0.5)) if r.random() < 0.5 else g.normal(2)
        xs = []
        for _ in range(n):
            u = r.random()
            if u < 0.5:
                xs.append(g.rnd(xm + under + r.uniform(-1.5, 1.5)))
            elif u < 0.7:
                xs.append(xm)
            else:
                xs.append(g.rnd(xm - r.uniform(0, 5)))
        return xs
    if cls == "equal":
        u = r.random()
        v = g.normal(r.choice([1, 8, 100]))
        if u < 0.5:
            return [v] * n
        w = g.normal(4)
        return [v if r.random() < 0.8 else w for _ in range(n)]
    if cls == "masked":
        xs = [g.normal(4) for _ in range(n)]
        u = r.random()
        for k in range(n):
            if r.random() < 0.4:
                xs[k] = -INF if (f.has_inf and u < 0.7) else g.neg_sentinel()
        if f.has_inf and r.random() < 0.2:
            xs = [-INF] * n
        return xs
    if cls == "single":
        xs = [-INF] * n if f.has_inf else [g.neg_sentinel()] * n
        xs[r.randrange(n)] = g.normal(8)
        return xs
    if cls == "special":
        xs = [g.normal(4) for _ in range(n)]
        k = r.randrange(n)
        xs[k] = r.choice([NAN, INF, -INF] if f.has_inf else [NAN])
        return xs
    raise ValueError(cls)


CLASSES = [
    # (name, weight)
    ("random", 14),
    ("huge", 8),
    ("tiny", 8),
    ("subnormal", 5),
    ("mixed", 10),
    ("exp_threshold", 10),
    ("equal", 10),
    ("masked", 12),
    ("single", 5),
    ("special", 5),
    ("mixed_precision", 8),
    ("midpoint", 2),
    ("long", 2),
]


def pick(r, items):
    tot = sum(w for _, w in items)
    u = r.random() * tot
    for name, w in items:
        u -= w
        if u < 0:
            return name
    return items[-1][0]


def shape(r, cls, op):
    if cls == "long":
        cols = r.choice([256, 512, 1000, 1024, 2048, 3000, 4096])
        return 1, cols
    rows = r.choice([1, 1, 1, 2, 3, 4])
    cols = r.choice([1, 2, 2, 3, 4, 5, 7, 8, 13, 16, 32, 64])
    if op.startswith("ce") and cols == 1 and r.random() < 0.7:
        cols = 4
    return rows, cols


def gen_dy(g, n, cls):
    r = g.r
    u = r.random()
    if u < 0.15:
        v = g.normal(2)
        return [v] * n
    if u < 0.25:
        return [g.member(g.f.emin - g.f.p + 1, g.f.emax) for _ in range(n)]
    if u < 0.35 and cls == "huge":
        return [g.member(g.f.emax - 2, g.f.emax) for _ in range(n)]
    sigma = r.choice([0.01, 1, 10])
    return [g.normal(sigma) for _ in range(n)]


def gen_weights(g, C):
    r = g.r
    u = r.random()
    if u < 0.4:
        return None
    if u < 0.5:
        return [1.0] * C
    ws = []
    for _ in range(C):
        v = r.random()
        if v < 0.1:
            ws.append(0.0)
        elif v < 0.2:
            ws.append(g.member(g.f.emin - g.f.p + 1, g.f.emin, sign=1))
        else:
            ws.append(abs(g.rnd(r.uniform(0, 4))))
    return ws


def gen_probs(g, C):
    r = g.r
    u = r.random()
    if u < 0.25:
        p = [0.0] * C
        p[r.randrange(C)] = 1.0
        return p
    if u < 0.4:
        return [g.rnd(1.0 / C)] * C
    if u < 0.5:
        return [g.member(g.f.emin - g.f.p + 1, g.f.emin, sign=1) if r.random() < 0.5 else 0.0 for _ in range(C)]
    return [abs(g.rnd(r.uniform(0, 1.0))) for _ in range(C)]


def gen_eps(r):
    return r.choice([0.0, 0.0, 0.0, 0.1, 0.25, 0.5, 1.0, 2.0 ** -10, r.random()])


def make_case(r, op, fname):
    f = FORMATS[fname]
    cls = pick(r, CLASSES)
    if cls == "midpoint" and op not in ("ce_grad", "softmax", "softmax_backward", "softmax_backward_y", "ce_prob_grad"):
        cls = "equal"
    in_name = fname
    if cls == "mixed_precision":
        in_name = MIXED_IN[fname]
    if fname == "e4m3" and cls in ("masked", "single", "special") and r.random() < 0.5:
        in_name = "fp16"  # masks as -Inf need a format with Inf
    fin = FORMATS[in_name]
    g = Gen(r, fin)
    rows, cols = shape(r, cls, op)
    case = {"op": op, "format": fname, "in_format": in_name, "class": cls, "rows": rows, "cols": cols}

    if cls == "midpoint":
        # n equal logits with n = 2^(p+1): 1/n - 1 is a midpoint of f (NUMERICS 6).
        cols = min(2 ** (f.p + 1), 4096)
        rows = 1
        case["rows"], case["cols"] = rows, cols
        v = g.normal(4)
        xs = [[v] * cols]
        row_cls = "equal"
    else:
        row_cls = "random" if cls == "mixed_precision" else cls
        xs = [gen_row(g, row_cls, cols) for _ in range(rows)]
    if cls == "special" and rows > 1:
        # keep some ordinary rows next to the special one
        for k in range(rows - 1):
            xs[k] = gen_row(g, "random", cols)
    if cls == "empty":
        pass
    flat = lambda rs: [hx(v) for row in rs for v in row]  # noqa: E731

    if op in ("lse", "softmax", "logsoftmax"):
        pol = r.choice(["nan", "zero"])
        if r.random() < 0.01 and op == "lse":
            cols = 0
            xs = [[] for _ in range(rows)]
            case["cols"] = 0
            case["class"] = "empty"
        case["x"] = flat(xs)
        if op == "lse":
            want = [lse_row(f, Row(row)) for row in xs]
        else:
            case["policy"] = pol
            fn = softmax_row if op == "softmax" else logsoftmax_row
            want = [v for row in xs for v in fn(f, Row(row), pol)]
        case["want"] = [hx(round_float(f, v)) for v in want]
        return case

    if op == "softmax_backward":
        pol = r.choice(["nan", "zero"])
        dys = [gen_dy(g, cols, cls) for _ in range(rows)]
        case["policy"] = pol
        case["x"] = flat(xs)
        case["dy"] = flat(dys)
        want = []
        for row, dy in zip(xs, dys):
            want += softmax_backward_row(f, Row(row), dy, pol)
        case["want"] = [hx(round_float(f, v)) for v in want]
        return case

    if op == "softmax_backward_y":
        ys = []
        for row in xs:
            rr = Row(row)
            if rr.special() or r.random() < 0.3:
                y = [abs(g.rnd(r.random())) for _ in range(cols)]
            else:
                # a kernel's plausible forward output: the rounded softmax
                y = softmax_row(fin, rr, "zero")
            ys.append([0.0 if math.isnan(v) else v for v in y])
        dys = [gen_dy(g, cols, cls) for _ in range(rows)]
        case["y"] = flat(ys)
        case["dy"] = flat(dys)
        want = []
        for y, dy in zip(ys, dys):
            want += softmax_backward_y_row(f, y, dy)
        case["want"] = [hx(round_float(f, v)) for v in want]
        return case

    # cross entropy family
    C = cols
    w = gen_weights(g, C)
    eps = gen_eps(r)
    red = r.choice(["none", "sum", "mean"])
    if cls == "midpoint":
        w, eps, red = None, 0.0, "mean"
    case["weights"] = None if w is None else [hx(v) for v in w]
    case["label_smoothing"] = hx(eps)
    case["reduction"] = red
    grad = op.endswith("_grad")
    if op in ("ce", "ce_grad"):
        ii = r.choice([-100, -100, -100, -1, r.randrange(C)])
        targets = []
        for n in range(rows):
            if r.random() < 0.15:
                targets.append(ii)
            else:
                t = r.randrange(C)
                # choose a finite target logit most of the time
                fin_idx = [k for k, v in enumerate(xs[n]) if math.isfinite(v)]
                if fin_idx and r.random() < 0.9:
                    t = r.choice(fin_idx)
                targets.append(t)
        if cls == "midpoint":
            ii = -100
            targets = [r.randrange(C)]
        case["targets"] = targets
        case["ignore_index"] = ii
        case["x"] = flat(xs)
        if grad:
            want = ce_class_grad(f, rows, xs, targets, w, ii, eps, red)
        else:
            want = ce_class(f, rows, xs, targets, w, ii, eps, red)
    else:
        probs = [gen_probs(g, C) for _ in range(rows)]
        case["probs"] = flat(probs)
        case["x"] = flat(xs)
        if grad:
            want = ce_prob_grad(f, rows, xs, probs, w, eps, red)
        else:
            want = ce_prob(f, rows, xs, probs, w, eps, red)
    case["want"] = [hx(round_float(f, v)) for v in want]
    return case


def generate(out, per, seed, ops, fmts):
    os.makedirs(out, exist_ok=True)
    counts = {}
    t0 = time.time()
    for op in ops:
        lines = []
        for fname in fmts:
            r = random.Random(seed * 1000003 + zlib.crc32(("%s/%s" % (op, fname)).encode()))
            made = 0
            skipped = 0
            undecided = 0
            while made < per:
                try:
                    case = make_case(r, op, fname)
                except Ambiguous:
                    skipped += 1
                    continue
                except ZivFail:
                    # A near-tie decided only by a term below 2^-5000
                    # relative, in an op without an interval fallback:
                    # redrawn, not guessed.
                    undecided += 1
                    continue
                lines.append(json.dumps(case, separators=(",", ":")))
                counts.setdefault((op, fname), {}).setdefault(case["class"], 0)
                counts[(op, fname)][case["class"]] += 1
                made += 1
            sys.stderr.write(
                "%-20s %-5s %5d cases (redrawn: %d ambiguous, %d undecided at %d bits) %6.1fs\n"
                % (op, fname, made, skipped, undecided, PRECISIONS[-1], time.time() - t0)
            )
        path = os.path.join(out, op + ".jsonl.gz")
        tmp = path + ".tmp"
        with open(tmp, "wb") as fh:
            # mtime=0 and no file name: byte-identical output for a given seed.
            with gzip.GzipFile(filename="", mode="wb", fileobj=fh, mtime=0, compresslevel=9) as gz:
                gz.write(("\n".join(lines) + "\n").encode())
        os.replace(tmp, path)
    return counts, time.time() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--selftest", action="store_true", help="check the rounding and exit")
    ap.add_argument("--out", default="oracle/testdata/golden", help="output directory")
    ap.add_argument("--per", type=int, default=400, help="cases per (op, format)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--ops", default=",".join(OPS))
    ap.add_argument("--formats", default=",".join(FORMAT_ORDER))
    a = ap.parse_args()
    if a.selftest:
        return selftest()
    if selftest() != 0:
        return 1
    counts, dt = generate(a.out, a.per, a.seed, a.ops.split(","), a.formats.split(","))
    total = sum(sum(c.values()) for c in counts.values())
    sys.stderr.write(
        "total %d cases in %.1fs (mpmath %s, Ziv evaluations %d, escalations %d)\n"
        % (total, dt, mpmath.__version__, ZIV_STATS["evaluations"], ZIV_STATS["escalations"])
    )
    # class summary
    by_class = {}
    for c in counts.values():
        for k, v in c.items():
            by_class[k] = by_class.get(k, 0) + v
    sys.stderr.write("by class: %s\n" % json.dumps(by_class, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
