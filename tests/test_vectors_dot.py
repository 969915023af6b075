"""Dot-product vectors: the ``exact`` and ``ieee`` files against independent arithmetic
(Fractions over ml_dtypes' decoded values; numpy float32 adds in order)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import ml_dtypes
import numpy as np
import pytest

pytest.importorskip("lowbit.mac", reason="the dot-product vectors need lowbit.mac")

from lowbit.vectors import read  # noqa: E402

ROOT = Path(__file__).resolve().parents[1] / "vectors"
K = 32
DT = {"float8_e4m3fn": ml_dtypes.float8_e4m3fn, "float8_e5m2": ml_dtypes.float8_e5m2}


def values(name, codes):
    if name == "int8":
        return codes.astype(np.uint8).view(np.int8).astype(np.float64)
    return codes.astype(np.uint8).view(DT[name]).astype(np.float64)


def operands(path):
    vf = read(path)
    a = np.stack([vf.column(f"a{i}") for i in range(K)], axis=1)
    b = np.stack([vf.column(f"b{i}") for i in range(K)], axis=1)
    return vf, a, b, vf.column("result").astype(np.uint32).view(np.float32)


@pytest.mark.parametrize("pair", ["float8_e4m3fnxfloat8_e4m3fn", "float8_e5m2xfloat8_e4m3fn", "int8xint8"])
def test_exact_accumulator_is_one_rounding_of_the_exact_sum(pair):
    fa, fb = pair.split("x", 1) if not pair.startswith("int8") else ("int8", "int8")
    vf, a, b, got = operands(ROOT / f"dot/{pair}/exact.txt")
    checked = 0
    for r in range(vf.cases):
        va, vb = values(fa, a[r]), values(fb, b[r])
        if not (np.isfinite(va).all() and np.isfinite(vb).all()):  # Inf / NaN propagate as in IEEE arithmetic
            with np.errstate(invalid="ignore"):
                special = np.sum(va * vb)
            assert (np.isnan(got[r]) and np.isnan(special)) or got[r] == special, (r, got[r], special)
            continue
        s = sum((Fraction(float(x)) * Fraction(float(y)) for x, y in zip(va, vb)), Fraction(0))
        want = np.float32(float(s)) if abs(s) < 2 ** 128 else np.float32(np.inf if s > 0 else -np.inf)
        # float(s) rounds to float64 first; both steps are exact or nearest-even for these sums
        assert got[r] == want or (np.isinf(want) and np.isinf(got[r])), (r, got[r], want)
        checked += 1
    assert checked >= 20


@pytest.mark.parametrize("pair", ["float8_e4m3fnxfloat8_e4m3fn", "float8_e5m2xfloat8_e4m3fn"])
def test_ieee_accumulator_is_float32_adds_in_order(pair):
    fa, fb = pair.split("x", 1)
    vf, a, b, got = operands(ROOT / f"dot/{pair}/ieee.txt")
    for r in range(vf.cases):
        prods = (values(fa, a[r]) * values(fb, b[r])).astype(np.float32)  # FP8 x FP8 products are exact in float32
        acc = np.float32(0)
        with np.errstate(over="ignore", invalid="ignore"):
            for p in prods:
                acc = np.float32(acc + p)
        assert got[r].view(np.uint32) == acc.view(np.uint32) or (np.isnan(got[r]) and np.isnan(acc)), (r, got[r], acc)


def test_dot_files_list_the_h100_presets():
    names = sorted(p.name for p in (ROOT / "dot/float8_e4m3fnxfloat8_e4m3fn").glob("*.txt"))
    assert names == ["exact.txt", "h100-fp8-fast_accum=True.txt", "h100-fp8-triton.txt", "h100-fp8.txt", "ieee.txt"]


H100 = sorted((ROOT / "dot" / "h100-recorded").glob("*.txt"))


def test_recorded_h100_files_pair_operands_with_their_results():
    """Each recorded GPU result is close to the exact dot product of the operands on its line
    (so operands and results are paired right); the bits themselves are the recording's."""
    assert len(H100) == 50
    for path in H100:
        vf = read(path)
        k = sum(1 for c in vf.columns if c.name.startswith("a"))
        fa, fb = vf.header["format"].split(" x ")
        a = np.stack([vf.column(f"a{i}") for i in range(k)], axis=1)
        b = np.stack([vf.column(f"b{i}") for i in range(k)], axis=1)
        got = vf.column("result").astype(np.uint32).view(np.float32).astype(np.float64)
        scale = 0.75 * 0.125 if "scale0.75x0.125" in path.name else 1.0
        prods = np.stack([values(fa, a[r]) * values(fb, b[r]) for r in range(vf.cases)]) * scale
        exact, size = prods.sum(axis=1), np.abs(prods).sum(axis=1)
        assert vf.cases == 64 and np.isfinite(exact).all()
        # the H100's adders truncate, by far less than 2^-10 of the terms' magnitude; a mispaired
        # line would be off by the order of the terms themselves
        err = np.abs(got - exact) / np.maximum(size, 2.0 ** -20)
        assert np.max(err) < 2.0 ** -10, (path.name, np.max(err))
        assert vf.header["recorded_on"].startswith("gpu NVIDIA H100")
