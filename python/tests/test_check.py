"""ulpcheck.check: campaigns of the Go harness against Python functions."""

import importlib.util
import re
import time

import numpy as np
import pytest

import ulpcheck
import kernels_under_test as kt

CASES = 150


def test_correct_softmax_passes():
    for dt in ("float32", "float64", "bfloat16"):
        r = ulpcheck.check(kt.shifted_softmax, op="softmax", dtype=dt, cases=CASES, seed=3)
        assert r.passed and r.cases == CASES and r.counterexamples == [], dt
    # float16 computed in float32 and rounded once meets the default (fp32-accumulation) bound
    assert ulpcheck.check(kt.shifted_softmax_f32, op="softmax", dtype="float16", cases=CASES).passed


def test_naive_softmax_fails_with_a_minimal_overflow():
    with pytest.raises(ulpcheck.CheckFailure) as info:
        ulpcheck.check(kt.naive_softmax, op="softmax", dtype="float16", cases=CASES, seed=1)
    msg = str(info.value)
    m = info.value.report.minimal()
    # exp(x) overflows float16 for x > log(65504) ≈ 11.09: a row of one such logit is enough.
    assert m is not None and m.size == 1 and m.cls in ("overflow", "nan"), msg
    x = float(m.x[0])
    with np.errstate(over="ignore"):
        assert np.isinf(np.exp(np.float16(x))) and x <= 12, msg  # the smallest logits that overflow
    # the kernel's NaN (with its payload, e.g. "NaN:0xfe00") beside the exact 1
    assert len(m.output) == 1 and m.output[0].startswith("NaN") and m.oracle == ["1"], msg
    for want in ("naive_softmax/softmax/fp16", "minimal counterexample", "1×1 fp16", "kernel   = [NaN",
                 "correct  = [1]", "ulp error inf", "bound", "replay: ", " replay -exec ", "kernels_under_test:naive_softmax"):
        assert want in msg, (want, msg)


def test_replay_command_replays():
    import shlex
    import subprocess
    with pytest.raises(ulpcheck.CheckFailure) as info:
        ulpcheck.check(kt.naive_softmax, op="softmax", dtype="float32", cases=CASES)
    r = info.value.report
    cmd = r.replay_command(r.minimal())
    env_prefix, _, rest = cmd.partition(" ") if cmd.startswith("PYTHONPATH=") else ("", "", cmd)
    env = dict(__import__("os").environ)
    if env_prefix:
        env["PYTHONPATH"] = shlex.split(env_prefix)[0].split("=", 1)[1]
    p = subprocess.run(shlex.split(rest), capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 1 and "FAIL" in p.stdout, p.stdout + p.stderr


def test_crash_and_exception_are_findings():
    for fn, want in ((kt.crashing_softmax, "crashed"), (kt.raising_softmax, "rows longer than 2 are not implemented")):
        start = time.monotonic()
        with pytest.raises(ulpcheck.CheckFailure) as info:
            ulpcheck.check(fn, op="softmax", dtype="float32", cases=20, maxlen=16)
        m = info.value.report.minimal()
        assert m is not None and m.cls == "contract" and m.size == 3, str(info.value)  # the shortest failing row
        assert want in str(info.value) and time.monotonic() - start < 120


def test_hang_is_a_finding_not_a_hung_test():
    start = time.monotonic()
    with pytest.raises(ulpcheck.CheckFailure) as info:
        ulpcheck.check(kt.hanging_softmax, op="softmax", dtype="float32", cases=5, maxlen=8, timeout=0.5)
    assert "timed out" in str(info.value) and "no response within 500ms" in str(info.value)
    assert time.monotonic() - start < 120


def test_deadline_interrupts_the_campaign():
    start = time.monotonic()
    with pytest.raises(ulpcheck.CheckFailure) as info:
        ulpcheck.check(kt.hanging_softmax, op="softmax", dtype="float32", cases=1000, timeout=2, deadline=3, shrink=False)
    assert "interrupted" in str(info.value) and time.monotonic() - start < 60


def test_declarations_reach_the_harness():
    # A kernel that zeroes fully masked rows fails the default NaN policy and passes when declared.
    with pytest.raises(ulpcheck.CheckFailure) as info:
        ulpcheck.check(kt.masked_zero_softmax, op="softmax", dtype="float32", cases=CASES)
    assert info.value.report.minimal().cls == "masking"
    r = ulpcheck.check(kt.masked_zero_softmax, op="softmax", dtype="float32", cases=CASES, mask="zero")
    assert r.passed and r.kernels[0]["mask_policy"] == "zero"
    r = ulpcheck.check(kt.shifted_softmax, op="softmax", dtype="float32", cases=20, algorithm="online")
    assert r.kernels[0]["algorithm"] == "online"
    # Declaring float64 accumulation for a float32 kernel holds it to a float64 bound, which it misses.
    with pytest.raises(ulpcheck.CheckFailure) as info:
        ulpcheck.check(kt.shifted_softmax, op="softmax", dtype="float32", cases=20, acc="float64")
    assert info.value.report.kernels[0]["acc"] == "fp64" and info.value.report.minimal().cls == "precision loss"


def test_assert_close_tolerance():
    # numpy's float16 softmax rounds every intermediate to float16: several ulps off, beyond the
    # condition-aware bound of a float32-accumulating kernel, inside a loose assert_close.
    with pytest.raises(ulpcheck.CheckFailure) as info:
        ulpcheck.check(kt.shifted_softmax, op="softmax", dtype="float16", cases=CASES)
    m = info.value.report.minimal()
    assert m.cls == "precision loss", str(info.value)
    r = ulpcheck.check(kt.shifted_softmax, op="softmax", dtype="float16", cases=CASES, rtol=0.05, atol=1e-3)
    assert r.passed and r["config"]["tolerance"] == "assert_close:0.05,0.001"
    with pytest.raises(ulpcheck.CheckFailure) as info:  # and fails a strict 1-ulp model
        ulpcheck.check(kt.shifted_softmax, op="softmax", dtype="float16", cases=CASES, ulp=1)
    # the smallest counterexample may be another property's; the replay names the strict model
    # and accuracy is among the failures
    assert "-tolerance strict:1.0" in str(info.value) and "accuracy" in str(info.value), str(info.value)
    with pytest.raises(ValueError):
        ulpcheck.check(kt.shifted_softmax, op="softmax", dtype="float16", rtol=0.1)


def test_other_operations():
    assert ulpcheck.check(kt.logsumexp, op="logsumexp", dtype="float64", cases=CASES).passed
    r = ulpcheck.check(kt.cross_entropy_classes, op="cross_entropy", dtype="float32", cases=CASES, reductions=["mean"])
    assert r.passed and r.cases == CASES


def test_unservable_functions_are_refused():
    with pytest.raises(TypeError, match="module level"):
        ulpcheck.check(lambda x: x, op="softmax", dtype="float32")
    with pytest.raises(ValueError, match="unknown operation"):
        ulpcheck.check(kt.shifted_softmax, op="softmaxx", dtype="float32")
    with pytest.raises(ValueError, match="unsupported dtype"):
        ulpcheck.check(kt.shifted_softmax, op="softmax", dtype="int8")


def test_missing_harness_is_a_clear_error(monkeypatch, tmp_path):
    import ulpcheck.harness as h
    monkeypatch.setattr(h, "_found", None)
    monkeypatch.delenv("ULPCHECK_HARNESS", raising=False)
    monkeypatch.setenv("ULPCHECK_ROOT", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(h, "__file__", str(tmp_path / "x" / "harness.py"))
    with pytest.raises(ulpcheck.HarnessNotFound, match="ULPCHECK_HARNESS") as info:
        h.find_harness()
    assert "go build" in str(info.value)


@pytest.mark.skipif(importlib.util.find_spec("scipy") is None, reason="scipy is not installed (Debian: python3-scipy)")
def test_scipy_softmax():
    import scipy.special
    assert ulpcheck.check(scipy.special.softmax, op="softmax", dtype="float64", cases=CASES).passed
    assert ulpcheck.check(scipy.special.softmax, op="softmax", dtype="float32", cases=CASES).passed
    # scipy.special.logsumexp returns log(Σ) + max: log(1 + e^-40) rounds to 0 in float64
    with pytest.raises(ulpcheck.CheckFailure) as info:
        ulpcheck.check(scipy.special.logsumexp, op="logsumexp", dtype="float64", cases=CASES)
    assert re.search(r"underflow|precision loss", str(info.value))


@pytest.mark.skipif(importlib.util.find_spec("torch") is None,
                    reason="PyTorch is not installed (Debian: python3-torch); the torch tests need it")
def test_torch_softmax_cpu():
    for dt in ("float32", "float64", "bfloat16"):
        r = ulpcheck.check(kt.torch_softmax, op="softmax", dtype=dt, cases=CASES, array="torch")
        assert r.passed, dt
    import torch
    # F.cross_entropy is nll_loss(log_softmax(x)), and log_softmax takes log(Σ) with Σ = 1 + e^(x - max)
    # rounded: a confident prediction's loss log1p(e^-d) loses digits (the README's finding
    # Torch_CrossEntropyLogNotLog1p in float32). The targets and weights reach it as tensors: the
    # failure is numerical, not a contract error.
    with pytest.raises(ulpcheck.CheckFailure) as info:
        ulpcheck.check(torch.nn.functional.cross_entropy, op="cross_entropy", dtype="float64", cases=CASES, array="torch")
    assert re.search(r"underflow|precision loss", str(info.value))
    assert "contract" not in str(info.value)
    assert info.value.report.cases == CASES
