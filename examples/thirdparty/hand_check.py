#!/usr/bin/env python3
"""Hand check of the exact values in the README's Findings table, independent of ulpcheck's oracle.

Each exact value is computed with mpmath at 600 bits and rounded to the output format by hand
(round to nearest, ties to even, subnormals included), then printed as a hex float to compare
with the `exact:` constant of the finding in findings_test.go and with the oracle.

    /usr/bin/python3 examples/thirdparty/hand_check.py      (Debian: apt-get install python3-mpmath)
"""
import mpmath as mp

mp.mp.prec = 600
FMT = {"fp64": (53, -1022), "fp32": (24, -126), "bf16": (8, -126), "fp16": (11, -14)}


def rn(y, f):
    """Round y to format f, to nearest, ties to even, with subnormals (no overflow occurs here)."""
    p, emin = FMT[f]
    if y == 0:
        return mp.mpf(0)
    e = int(mp.floor(mp.log(abs(y), 2)))
    q = max(e, emin) - (p - 1)
    s = y / mp.mpf(2) ** q
    n = mp.floor(s)
    r = s - n
    if r > 0.5 or (r == 0.5 and int(n) % 2 == 1):
        n += 1
    return n * mp.mpf(2) ** q


def sig(x):
    return 1 / (1 + mp.exp(-mp.mpf(x)))


def lse(x):
    m = max(x)
    return m + mp.log(mp.fsum(mp.exp(mp.mpf(v) - m) for v in x))


ROWS = [
    # (finding, format, exact value)
    ("Gorgonia_SoftMaxRowMax (row [1000] alone)", "fp64", mp.mpf(1)),
    ("Gorgonia_LogSoftMaxRowMax (row [1000] alone)", "fp64", mp.mpf(0)),
    ("Gorgonia_LogSumExpMaxInsideLog LSE([1])", "fp64", lse([1])),
    ("Spago_LogSoftmaxLogOfUnderflow [0,-1000][1]", "fp64", -1000 - lse([0, -1000])),
    ("Spago_SoftmaxSIMDExpFlush [-88,0x7][0]", "fp32", mp.exp(-88 - lse([-88] + [0] * 7))),
    ("Spago_LogSoftmaxSIMDLogZero [-88,0x7][0]", "fp32", -88 - lse([-88] + [0] * 7)),
    ("Gomlx_LogSoftmaxTruncatedSum [2,-0.21875][0]", "bf16", 2 - lse([2, mp.mpf(-0.21875)])),
    ("Gomlx_SoftmaxBF16Accumulation 1/1000", "bf16", mp.mpf(1) / 1000),
    ("*_LogNotLog1p LSE([0,-10])", "fp64", lse([0, -10])),
    ("*_LogNotLog1p logsoftmax([0,-10])[0]", "fp64", -lse([0, -10])),
    ("Torch_LogSoftmaxBF16Sum [0,-6][0]", "bf16", -lse([0, -6])),
    ("Torch_*LogNotLog1p_fp32 LSE([0,-20]) (= CE, target 0)", "fp32", lse([0, -20])),
    ("Scipy_LogSoftmaxFP16 [0,-8][0]", "fp16", -lse([0, -8])),
    ("Scipy_LogSumExpLogNotLog1p LSE([0,-40])", "fp64", lse([0, -40])),
    ("Torch_SigmoidSubnormalFlush, Scipy_Expit* sigmoid(-0x1.62e43p+06)", "fp32",
     1 / (1 + mp.exp(-mp.mpf(float.fromhex("-0x1.62e43p+06"))))),
    ("Torch_BCEWithLogitsLogNotLog1p softplus(-18) (t = 0)", "fp32", mp.log1p(mp.exp(mp.mpf(-18)))),
    ("Gonum_LogisticCDF*, Spago_SigmoidSubnormalFlush sigmoid(-720)", "fp64", sig(-720)),
    ("Gonum_LogisticSurvivalCancellation sigmoid(-40) = 1 - sigmoid(40)", "fp64", sig(-40)),
    ("Gonum_LogisticProbOverflow sigmoid'(-400)", "fp64", sig(-400) * sig(400)),
    ("Gonum_LogisticProbNaN sigmoid'(-710)", "fp64", sig(-710) * sig(710)),
    ("Spago_SigmoidSIMDClamp sigmoid(-100)", "fp32", sig(-100)),
    ("Spago_/Gomlx_SigmoidGradOneMinus sigmoid'(20)", "fp32", sig(20) * sig(-20)),
    ("Spago_SoftPlusLogNotLog1p softplus(-40)", "fp64", mp.log1p(mp.exp(mp.mpf(-40)))),
    ("Gorgonia_SigmoidCutoff sigmoid(20)", "fp64", sig(20)),
    ("Gorgonia_SoftplusCutoff softplus(17)", "fp64", mp.log1p(mp.exp(mp.mpf(17)))),
    ("Gomlx_SigmoidTruncated sigmoid(-2^-10)", "bf16", sig(-mp.mpf(2) ** -10)),
]

if __name__ == "__main__":
    for name, f, y in ROWS:
        r = rn(y, f)
        print("%-55s exact %-26s RN_%s = %-24s %s" % (name, mp.nstr(y, 20), f, mp.nstr(r, 17), float(r).hex()))
