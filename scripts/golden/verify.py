#!/usr/bin/env python3
"""Re-check golden cases with naive formulas at very high precision.

A second, deliberately simple evaluation of the committed data: every output
is recomputed from the textbook formula (no shifting, no log1p, no grouping)
with mpmath at --prec bits (default 4000) and rounded with golden.py's
rounding. Cases whose inputs contain NaN/Inf or whose outputs are not finite
are skipped (their values come from the special-value rules, not from
arithmetic). Differences are printed. The only expected ones are TIEs:
the naive value is exactly a rounding boundary because terms below 2^-prec
(logit gaps of thousands) were lost; golden.py decides those from the known
sign of the lost term. Exit status 1 on any other difference.

Usage: python3 scripts/golden/verify.py [--dir oracle/testdata/golden] [--sample 3000] [--seed 1]
"""

import argparse
import glob
import gzip
import json
import math
import os
import random
import sys
from fractions import Fraction

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import golden as G  # noqa: E402
from mpmath import mp, mpf  # noqa: E402


def fx(s):
    return float.fromhex(s) if s not in ("nan", "inf", "-inf") else float(s)


def mq(q):
    return mpf(q.numerator) / q.denominator


def naive(c):
    rows, cols = c["rows"], c["cols"]
    op = c["op"]
    X = [fx(s) for s in c.get("x", [])]
    xs = [[mpf(v) for v in X[r * cols:(r + 1) * cols]] for r in range(rows)]

    def sm(row):
        e = [mp.exp(v) for v in row]
        s = mp.fsum(e)
        return [v / s for v in e], mp.log(s)

    if op == "lse":
        return [sm(row)[1] for row in xs]
    if op == "softmax":
        return [v for row in xs for v in sm(row)[0]]
    if op == "logsoftmax":
        return [v - sm(row)[1] for row in xs for v in row]
    if op == "softmax_backward":
        dy = [mpf(fx(s)) for s in c["dy"]]
        out = []
        for r, row in enumerate(xs):
            y = sm(row)[0]
            d = dy[r * cols:(r + 1) * cols]
            s = mp.fsum(a * b for a, b in zip(y, d))
            out += [y[i] * (d[i] - s) for i in range(cols)]
        return out
    if op == "softmax_backward_y":
        Y = [mpf(fx(s)) for s in c["y"]]
        dy = [mpf(fx(s)) for s in c["dy"]]
        out = []
        for r in range(rows):
            y = Y[r * cols:(r + 1) * cols]
            d = dy[r * cols:(r + 1) * cols]
            s = mp.fsum(a * b for a, b in zip(y, d))
            out += [y[i] * (d[i] - s) for i in range(cols)]
        return out
    C = cols
    w = [mpf(1)] * C if c["weights"] is None else [mpf(fx(s)) for s in c["weights"]]
    eps = mpf(fx(c["label_smoothing"]))
    red = c["reduction"]
    coeffs = []
    D = mpf(0)
    for r in range(rows):
        if op in ("ce", "ce_grad"):
            t = c["targets"][r]
            if t == c["ignore_index"]:
                coeffs.append(None)
                continue
            a = [eps * w[k] / C for k in range(C)]
            a[t] += (1 - eps) * w[t]
            D += w[t]
        else:
            P = [mpf(fx(s)) for s in c["probs"][r * C:(r + 1) * C]]
            a = [w[k] * (P[k] * (1 - eps) + eps / C) for k in range(C)]
            D += 1
        coeffs.append(a)
    if red != "mean":
        D = mpf(1)
    if op.endswith("_grad"):
        out = []
        for r, row in enumerate(xs):
            a = coeffs[r]
            if a is None:
                out += [mpf(0)] * C
                continue
            p = sm(row)[0]
            A = mp.fsum(a)
            out += [(A * p[j] - a[j]) / D for j in range(C)]
        return out
    losses = []
    for r, row in enumerate(xs):
        a = coeffs[r]
        if a is None:
            losses.append(mpf(0))
            continue
        L = sm(row)[1]
        losses.append(mp.fsum(a[k] * (L - row[k]) for k in range(C)))
    if red == "none":
        return losses
    return [mp.fsum(losses) / D]


def fraction_of(v):
    sign, man, exp, bc = v._mpf_
    q = Fraction(int(man) << exp) if exp >= 0 else Fraction(int(man), 1 << -exp)
    return -q if sign else q


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default="oracle/testdata/golden")
    ap.add_argument("--sample", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--prec", type=int, default=4000)
    ap.add_argument("--maxcols", type=int, default=64)
    a = ap.parse_args()
    cases = []
    for fn in sorted(glob.glob(os.path.join(a.dir, "*.jsonl.gz"))):
        with gzip.open(fn, "rt") as fh:
            for line in fh:
                c = json.loads(line)
                ins = c.get("x", []) + c.get("y", []) + c.get("dy", [])
                if any(s in ("nan", "inf", "-inf") for s in ins + c["want"]):
                    continue
                if c.get("cols", 0) == 0 or c["cols"] > a.maxcols:  # gradient-norm cases have no cols
                    continue
                cases.append(c)
    random.Random(a.seed).shuffle(cases)
    cases = cases[: a.sample]
    bad = 0
    ties = 0
    checked = 0
    mp.prec = a.prec
    for c in cases:
        f = G.FORMATS[c["format"]]
        try:
            vals = naive(c)
        except (ValueError, ZeroDivisionError) as e:
            print("skip", c["op"], c["format"], c["class"], e)
            continue
        for i, (v, w) in enumerate(zip(vals, c["want"])):
            checked += 1
            got = G.mpf_to_fraction_or_round(f, v) if v != 0 else 0.0
            if not G.same(got, fx(w)) and not (got == 0 and fx(w) == 0):
                # Is the naive value exactly on a rounding boundary (a tie
                # that terms lost below 2^-prec would decide)? Then golden
                # must be one of its two neighbours.
                q = fraction_of(v)
                lo = G.round_fraction(f, q, tie=-1)
                hi = G.round_fraction(f, q, tie=+1)
                if not G.same(lo, hi) and (G.same(lo, fx(w)) or G.same(hi, fx(w))):
                    ties += 1
                    kind = "TIE (naive value is exactly a rounding boundary at %d bits)" % a.prec
                else:
                    bad += 1
                    kind = "DIFF"
                print("%s %s %s %s [%d]: naive %s golden %s\n  %s" % (
                    kind, c["op"], c["format"], c["class"], i, G.hx(got), w, json.dumps(c)[:600]))
    print("verify: %d cases, %d outputs, %d unexplained differences, %d naive-precision ties"
          % (len(cases), checked, bad, ties))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
