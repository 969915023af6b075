"""Profiles ``ocp`` and ``ocp_sat`` against gfloat and exact arithmetic; what every profile covers.

References: gfloat (Graphcore's independent implementation of the OCP formats:
``round_ndarray(fi, x, TiesToEven, sat)`` then ``encode_ndarray``) on all 65,536 float16 and
bfloat16 inputs and float32 edge sets; exact arithmetic (frexp, Fraction) for E8M0 (gfloat's E8M0
rounding is not usable as a reference: it returns 2^-128, which E8M0 cannot hold).
"""

from __future__ import annotations

import math
from fractions import Fraction

import ml_dtypes
import numpy as np
import pytest
from gfloat import RoundMode, encode_ndarray, round_ndarray
from gfloat.formats import (
    format_info_ocp_e2m1,
    format_info_ocp_e2m3,
    format_info_ocp_e3m2,
    format_info_ocp_e4m3,
    format_info_ocp_e5m2,
    format_info_ocp_int8,
)

import lowbit
from lowbit.profiles import PROFILES, NotApplicable, applies

GFLOAT = {"float8_e4m3fn": format_info_ocp_e4m3, "float8_e5m2": format_info_ocp_e5m2,
          "float6_e2m3fn": format_info_ocp_e2m3, "float6_e3m2fn": format_info_ocp_e3m2,
          "float4_e2m1fn": format_info_ocp_e2m1, "mxint8": format_info_ocp_int8}


def all_16bit(dtype) -> np.ndarray:
    return np.arange(1 << 16, dtype=np.uint32).astype(np.uint16).view(dtype)


def float32_edges(fmt: lowbit.Format) -> np.ndarray:
    """Every finite value of ``fmt`` and every midpoint between neighbours (and beyond max),
    each with its float32 neighbours 1..3 ulps away, both signs; plus 0, ±Inf, NaNs."""
    v = np.unique(np.abs(fmt.values[np.isfinite(fmt.values)]))
    mids = (v[1:] + v[:-1]) / 2
    top = v[-1] + (v[-1] - v[-2]) / 2 if v.size > 1 else v[-1] * 1.5
    with np.errstate(over="ignore"):  # E8M0: 2·max is beyond float32 (becomes Inf, which is kept)
        pts = np.concatenate([v, mids, [top, 2 * v[-1], 1e30, 3e38]]).astype(np.float32)
    bits = pts.view(np.uint32).astype(np.int64)
    near = (bits[:, None] + np.arange(-3, 4)[None, :]).reshape(-1)
    near = near[(near >= 0) & (near < 0x7F800000)].astype(np.uint32)
    pos = np.unique(near).view(np.float32)
    special = np.array([0.0, np.inf, np.nan], dtype=np.float32)
    out = np.concatenate([pos, -pos, special, -special])
    return np.concatenate([out, np.array([0x7F800001, 0xFF800001, 0x7FFFFFFF, 0xFFC00000], np.uint32).view(np.float32)])


def gfloat_codes(x: np.ndarray, fmt_name: str, sat: bool) -> np.ndarray:
    """gfloat's code for each (non-NaN) input: round_ndarray, then encode_ndarray."""
    fi = GFLOAT[fmt_name]
    v = round_ndarray(fi, x.astype(np.float64), RoundMode.TiesToEven, sat)
    codes = encode_ndarray(fi, v).astype(np.int64)
    return codes & ((1 << lowbit.format(fmt_name).bits) - 1)


def inputs(fmt_name: str, src: str) -> np.ndarray:
    if src == "float32":
        return float32_edges(lowbit.format(fmt_name))
    return all_16bit({"float16": np.float16, "bfloat16": ml_dtypes.bfloat16}[src])


CASES = [(f, s) for f in GFLOAT for s in ("float16", "bfloat16", "float32")]


@pytest.mark.parametrize("profile", ["ocp", "ocp_sat"])
@pytest.mark.parametrize("fmt_name, src", CASES)
def test_ocp_against_gfloat(profile, fmt_name, src):
    """Every non-NaN code equals gfloat's; ±Inf and overflow as the OCP mode says (gfloat's
    sat flag); NaN gives a NaN of the input's sign (E4M3/E5M2) or +0 (no NaN in FP6/FP4/INT8)."""
    fmt = lowbit.format(fmt_name)
    x = inputs(fmt_name, src)
    got = lowbit.encode(x, fmt, profile=profile).astype(np.int64)
    x32 = x.astype(np.float32)
    nan = np.isnan(x32)
    sat = profile == "ocp_sat" or not (fmt.has_inf or fmt.has_nan)  # FP6/FP4/INT8 always saturate
    want = gfloat_codes(x32[~nan], fmt_name, sat)
    # gfloat writes every NaN result as one code (0xFF); the spec keeps no sign rule, lowbit
    # keeps the input's: compare those by value and sign.
    to_nan = np.isnan(lowbit.decode(want, fmt)) if fmt.has_nan else np.zeros(want.shape, bool)
    g = got[~nan]
    bad = np.nonzero((g != want) & ~to_nan)[0]
    assert bad.size == 0, (f"{profile} {src}->{fmt_name}: {bad.size} differ; first x={x[~nan][bad[0]]!r} "
                           f"gfloat {want[bad[0]]:#x} lowbit {g[bad[0]]:#x}")
    assert np.isnan(lowbit.decode(g[to_nan], fmt)).all()
    assert np.array_equal(g[to_nan] >> (fmt.bits - 1), np.signbit(x32[~nan][to_nan]).astype(np.int64))
    assert nan.any()
    vals = lowbit.decode(got[nan], fmt)
    if fmt.has_nan:
        assert np.isnan(vals).all()
        assert np.array_equal(got[nan] >> (fmt.bits - 1), np.signbit(x32[nan]).astype(np.int64))
    else:
        assert np.all(got[nan] == 0)


def e8m0_reference(x: float, saturate: bool) -> int:
    """OCP MX v1.0 §5.4.1 E8M0 by exact arithmetic: the nearest of 2^-127 … 2^127 (a tie,
    1.5·2^e, goes up: E8M0 has a single significand digit, and lowbit's nearest-even takes the
    larger power, as torch does); 0 and negatives have no code (NaN 0xFF); beyond the top
    (≥ 1.5·2^127, ±Inf) NaN, or 0xFE when saturating; NaN 0xFF."""
    if math.isnan(x) or x < 0 or (x == 0):
        return 0xFF
    if math.isinf(x) or Fraction(x) >= Fraction(3, 2) * Fraction(2) ** 127:
        return 0xFE if saturate else 0xFF
    m, e = math.frexp(x)  # x = (2m)·2^(e-1) exactly, 1 <= 2m < 2
    k = e - 1 if 2 * m < 1.5 else e  # nearest power of two, ties up
    return max(k, -127) + 127


@pytest.mark.parametrize("profile", ["ocp", "ocp_sat"])
def test_ocp_e8m0_exact(profile):
    fmt = lowbit.format("float8_e8m0fnu")
    e = np.arange(-149, 128)
    pts = np.concatenate([np.ldexp(1.0, e), np.ldexp(1.5, e[e < 127]), np.ldexp(1.25, e)]).astype(np.float32)
    bits = pts[pts > 0].view(np.uint32).astype(np.int64)
    near = np.unique((bits[:, None] + np.arange(-2, 3)[None, :]).reshape(-1))
    near = near[(near > 0) & (near <= 0x7F800000)].astype(np.uint32).view(np.float32)
    x = np.concatenate([near, -near, np.array([0.0, -0.0, np.nan, 3.4e38], np.float32)])
    got = lowbit.encode(x, fmt, profile=profile)
    want = [e8m0_reference(float(v), profile == "ocp_sat") for v in x]
    np.testing.assert_array_equal(got, np.array(want, dtype=np.uint8))


def test_ocp_e8m0_bfloat16_exhaustive():
    x = all_16bit(ml_dtypes.bfloat16)
    got = lowbit.encode(x, "float8_e8m0fnu", profile="ocp")
    with np.errstate(invalid="ignore"):  # signalling NaNs widen with a warning
        x64 = x.astype(np.float64)
    want = np.array([e8m0_reference(float(v), False) for v in x64], dtype=np.uint8)
    np.testing.assert_array_equal(got, want)


# ---------------------------------------------------------------------------------------
# What each profile covers, and the errors for what it does not
# ---------------------------------------------------------------------------------------
COVERAGE = {
    "ptx": ({"float8_e4m3fn", "float8_e5m2"}, {"float32", "float16", "bfloat16"}),
    "torch": ({"float8_e4m3fn", "float8_e5m2", "float8_e8m0fnu", "float8_e4m3fnuz", "float8_e5m2fnuz"},
              {"float32", "float16", "bfloat16"}),
    "torch_2.11": ({"float8_e4m3fn", "float8_e5m2", "float8_e8m0fnu"}, {"float32", "float16", "bfloat16"}),
    "microxcaling": ({"float8_e4m3fn", "float8_e5m2", "float6_e2m3fn", "float6_e3m2fn", "float4_e2m1fn", "mxint8"},
                     {"float32"}),
    "torchao": ({"float8_e4m3fn", "float8_e5m2", "float6_e2m3fn", "float6_e3m2fn", "float4_e2m1fn"},
                {"float32", "float16", "bfloat16"}),
    "ocp": ({"float8_e4m3fn", "float8_e5m2", "float6_e2m3fn", "float6_e3m2fn", "float4_e2m1fn", "float8_e8m0fnu",
             "mxint8"}, {"float64", "float32", "float16", "bfloat16"}),
}
COVERAGE["ocp_sat"] = COVERAGE["ocp"]
SOURCES = {"float64": np.float64, "float32": np.float32, "float16": np.float16, "bfloat16": ml_dtypes.bfloat16}


@pytest.mark.parametrize("name", sorted(COVERAGE))
def test_profile_coverage(name):
    formats, sources = COVERAGE[name]
    for fmt_name in lowbit.FORMATS:
        for src, dt in SOURCES.items():
            assert applies(name, lowbit.format(fmt_name), dt) == (fmt_name in formats and src in sources), (
                name, fmt_name, src)


def test_not_applicable_is_a_clear_value_error():
    with pytest.raises(NotApplicable, match=r"profile 'ptx' has no conversion to 'float6_e2m3fn'; formats: "):
        lowbit.encode(np.ones(2, np.float32), "float6_e2m3fn", profile="ptx")
    with pytest.raises(ValueError, match=r"profile 'torch' does not convert from float64; source dtypes: float32"):
        lowbit.encode(np.ones(2), "float8_e4m3fn", profile="torch")
    with pytest.raises(ValueError, match=r"unknown profile 'pytorch'; known profiles: .*torch"):
        lowbit.encode(np.ones(2, np.float32), "float8_e4m3fn", profile="pytorch")


def test_every_profile_documents_its_rules():
    for name, fn in PROFILES.items():
        assert fn.__doc__ and fn.__doc__.strip(), name
    for name in ("ocp", "ocp_sat", "torch", "torch_2.11", "ptx", "microxcaling", "torchao"):
        doc = PROFILES[name].__doc__
        for word in ("round", "overflow", "Inf", "NaN", "−0", "subnormal"):
            assert word.lower() in doc.lower(), (name, word)


def test_explicit_keywords_override_a_profile():
    """The profile's rules, then the caller's: microxcaling's "floor" is rounding='toward_zero'."""
    x = np.array([2.9, -2.9], np.float32)
    np.testing.assert_array_equal(lowbit.decode(lowbit.encode(x, "float4_e2m1fn", profile="microxcaling",
                                                              rounding="toward_zero"), "float4_e2m1fn"), [2.0, -2.0])
    np.testing.assert_array_equal(lowbit.encode(np.float32([500.0]), "float8_e4m3fn", profile="ocp",
                                                overflow="saturate"), [0x7E])


def test_torch_profile_for_version():
    from lowbit.profiles import torch_profile_for

    assert torch_profile_for("2.13.0+cpu") == "torch" and torch_profile_for("2.14.0.dev20261001") == "torch"
    assert torch_profile_for("2.11.0+cu130") == "torch_2.11" and torch_profile_for("2.5.1") == "torch_2.11"
    with pytest.raises(ValueError, match="unreadable torch version 'x'"):
        torch_profile_for("x")
