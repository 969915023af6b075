"""MX block vectors against an independent reading of OCP MX v1.0 §6.3 (floor scale rule):
shared exponent floor(log2(amax)) − emax_elem, elements x / 2^shared rounded to nearest even by
ml_dtypes' cast after clamping to ±max normal; and the file layout of the block vectors."""

from __future__ import annotations

from pathlib import Path

import ml_dtypes
import numpy as np
import pytest

pytest.importorskip("lowbit.mx", reason="the MX block vectors need lowbit.mx")

from lowbit.vectors import read  # noqa: E402

ROOT = Path(__file__).resolve().parents[1] / "vectors"
ELEMENTS = {"mxfp8_e4m3": (ml_dtypes.float8_e4m3fn, 8), "mxfp8_e5m2": (ml_dtypes.float8_e5m2, 15),
            "mxfp6_e3m2": (ml_dtypes.float6_e3m2fn, 4), "mxfp6_e2m3": (ml_dtypes.float6_e2m3fn, 2),
            "mxfp4": (ml_dtypes.float4_e2m1fn, 2)}


@pytest.mark.parametrize("name", sorted(ELEMENTS))
def test_floor_rule_blocks_match_the_spec_reading(name):
    dt, emax_elem = ELEMENTS[name]
    vf = read(ROOT / f"mx/{name}/floor-spec.txt")
    k = 32
    x = np.stack([vf.column(f"x{i}") for i in range(k)], axis=1).astype(np.uint32).view(np.float32).astype(np.float64)
    scales = vf.column("scale").astype(np.int64)
    elems = np.stack([vf.column(f"e{i}") for i in range(k)], axis=1).astype(np.int64)
    top = float(ml_dtypes.finfo(dt).max)
    checked = 0
    for row in range(vf.cases):
        b = x[row]
        if not np.isfinite(b).all():
            continue
        amax = np.abs(b).max()
        if amax < 2.0 ** -126:  # zero and subnormal blocks: the scale clamps (checked elsewhere)
            continue
        shared = int(np.floor(np.log2(amax))) - emax_elem
        if not -127 <= shared <= 127:
            continue
        assert scales[row] == shared + 127, (row, scales[row], shared)
        scaled = np.clip(b / 2.0 ** shared, -top, top)
        want = scaled.astype(dt).view(np.uint8).astype(np.int64)
        if np.dtype(dt).itemsize == 1 and name.startswith(("mxfp6", "mxfp4")):
            want &= (1 << (6 if "fp6" in name else 4)) - 1
        np.testing.assert_array_equal(elems[row], want, err_msg=f"block {row}")
        checked += 1
    assert checked >= 15


def test_block_files_cover_formats_rules_and_profiles():
    files = sorted(p.relative_to(ROOT / "mx").as_posix() for p in (ROOT / "mx").rglob("*.txt"))
    for name in ("mxfp8_e4m3", "mxfp8_e5m2", "mxfp6_e3m2", "mxfp6_e2m3", "mxfp4", "mxint8"):
        for rule in ("floor", "ceil", "even", "rceil"):
            assert f"{name}/{rule}-spec.txt" in files
        assert f"{name}/floor-microxcaling.txt" in files
    assert "nvfp4/floor-spec.txt" in files
    vf = read(ROOT / "mx/nvfp4/floor-spec.txt")
    assert vf.header["compare"].endswith("e15") and len(vf.columns) == 16 + 1 + 16
