"""lowbit.testing: strategies draw what they promise (checked with ml_dtypes), they find the bugs
they exist for, and the assertions' messages carry the diagnosis."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis", reason="lowbit.testing strategies need hypothesis")
from hypothesis import Phase, find, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from lowbit.testing import (  # noqa: E402
    assert_bitexact, assert_matches, blocks, code_pool, codes, dot_operands, near, values,
)

E4M3 = ml_dtypes.float8_e4m3fn


def _ml_values(name):
    dt = np.dtype(getattr(ml_dtypes, name))
    return np.arange(256, dtype=np.uint8).view(dt).astype(np.float64) if dt.itemsize == 1 else None


@pytest.mark.parametrize("name", ["float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e8m0fnu"])
@pytest.mark.parametrize("kind", ["finite", "normal", "subnormal", "zero", "nan"])
def test_code_pool_is_the_ml_dtypes_class(name, kind):
    v = _ml_values(name)
    tiny = float(ml_dtypes.finfo(getattr(ml_dtypes, name)).smallest_normal)
    want = {"finite": np.isfinite(v), "nan": np.isnan(v), "zero": v == 0,
            "subnormal": np.isfinite(v) & (v != 0) & (np.abs(v) < tiny),
            "normal": np.isfinite(v) & (np.abs(v) >= tiny)}[kind]
    if not want.any():
        with pytest.raises(ValueError, match=f"no {kind} codes"):
            code_pool(name, kind)
        return
    np.testing.assert_array_equal(code_pool(name, kind), np.nonzero(want)[0])


@settings(max_examples=200, deadline=None)
@given(codes("float8_e4m3fn", "subnormal"), codes("float32", "subnormal"), codes("float32", "normal"))
def test_codes_strategy_kinds(c8, c32sub, c32norm):
    v = np.array([c8], dtype=np.uint8).view(E4M3).astype(np.float64)[0]
    assert 0 < abs(v) < 2.0 ** -6
    s = np.array([c32sub], dtype=np.uint32).view(np.float32)[0]
    n = np.array([c32norm], dtype=np.uint32).view(np.float32)[0]
    assert s != 0 and abs(s) < np.finfo(np.float32).tiny
    assert np.isfinite(n) and abs(n) >= np.finfo(np.float32).tiny


@settings(max_examples=300, deadline=None)
@given(values("float6_e2m3fn"), values("float8_e5m2", finite=False))
def test_values_are_exactly_representable(v6, v8):
    assert float(np.float32(v6).astype(ml_dtypes.float6_e2m3fn).astype(np.float64)) == v6
    back = np.float32(v8).astype(ml_dtypes.float8_e5m2).astype(np.float64)
    assert back == v8 or (np.isnan(back) and np.isnan(v8))


@settings(max_examples=300, deadline=None)
@given(near("float8_e4m3fn"))
def test_near_draws_float32_around_e4m3_edges(x):
    assert isinstance(x, np.float32)
    if np.isfinite(x) and abs(x) <= 464:
        # within 3+3 float32 ulps of a value or midpoint of E4M3
        grid = np.abs(np.arange(256, dtype=np.uint8).view(E4M3).astype(np.float64))
        grid = np.unique(grid[np.isfinite(grid)])
        low = 2.0 ** -9  # smallest subnormal; the edge set also probes low/4 and 3low/4
        pts = np.concatenate([grid, (grid[1:] + grid[:-1]) / 2, [464.0, 480.0, low / 4, 3 * low / 4]])
        ulp = np.spacing(np.float32(abs(x)))
        assert np.min(np.abs(pts - abs(float(x)))) <= 6 * ulp or abs(x) < 2.0 ** -12


def _ties_away_e4m3(x):
    """A buggy quantizer with one bug: it rounds half away from zero (via float64 arithmetic on the
    grid of magnitudes, codes 0x00..0x7E), the sign bit copied from x as a right cast does — so
    it differs from ml_dtypes at midpoints alone (copying the sign from the nearest grid value
    instead made a second bug, +0 for tiny negative x, which a random search found too)."""
    grid = np.arange(0x7F, dtype=np.uint8).view(E4M3).astype(np.float64)
    d = np.abs(grid - abs(float(x)))
    best = np.nonzero(d == d.min())[0]
    return int(best.max()) | (0x80 if np.signbit(x) else 0)


def test_near_finds_a_ties_away_bug():
    def differs(x):
        if not np.isfinite(x) or abs(x) > 448:
            return False
        return _ties_away_e4m3(x) != int(np.float32(x).astype(E4M3).view(np.uint8))

    x = find(near("float8_e4m3fn"), differs, settings=settings(max_examples=2000, database=None,
                                                                phases=[Phase.generate]))
    # the counterexample is a midpoint of E4M3
    grid = np.unique(np.abs(np.arange(256, dtype=np.uint8).view(E4M3).astype(np.float64)))
    assert abs(float(x)) in set((grid[1:] + grid[:-1]) / 2)


@settings(max_examples=100, deadline=None)
@given(blocks("mxfp4"), blocks("nvfp4"), blocks("float8_e4m3fn", block_size=8, nan=False))
def test_blocks_shapes(b32, b16, b8):
    assert b32.shape == (32,) and b16.shape == (16,) and b8.shape == (8,)
    assert b32.dtype == b16.dtype == b8.dtype == np.float32
    assert not np.isnan(b8).any()


def _mantissa(v):
    m, _ = np.frexp(abs(float(v)))
    return 2 * m


def test_blocks_contain_nan_zeros_ties_and_outliers():
    s = settings(max_examples=500, database=None, phases=[Phase.generate])  # found is enough: no shrinking
    find(blocks("mxfp4"), lambda b: np.isnan(b).any(), settings=s)
    find(blocks("mxfp4"), lambda b: (b == 0).all(), settings=s)
    # FP4 values have significands 1 and 1.5; its midpoints 1.25 and 1.75: scaled ties
    find(blocks("mxfp4"), lambda b: sum(_mantissa(v) in (1.25, 1.75) for v in b if np.isfinite(v) and v) >= 4,
         settings=s)
    find(blocks("mxfp4"), lambda b: np.isfinite(b).all() and (b != 0).sum() > 4
         and np.abs(b).max() >= 64 * np.median(np.abs(b[b != 0])), settings=s)


@settings(max_examples=100, deadline=None)
@given(dot_operands("float8_e5m2", 16))
def test_dot_operands_are_finite_codes(ab):
    a, b = ab
    assert a.shape == b.shape == (16,) and a.dtype == np.uint8
    assert np.isfinite(a.view(ml_dtypes.float8_e5m2).astype(np.float32)).all()
    assert np.isfinite(b.view(ml_dtypes.float8_e5m2).astype(np.float32)).all()


@settings(max_examples=60, deadline=None)
@given(st.lists(near("float8_e5m2"), min_size=1, max_size=64))
def test_assert_matches_passes_for_ml_dtypes_under_its_profile(xs):
    xs = np.array(xs, dtype=np.float32)
    with np.errstate(invalid="ignore", over="ignore"):
        kernel = xs.astype(ml_dtypes.float8_e5m2).view(np.uint8)
    assert_matches(kernel, xs, "float8_e5m2", profile="ml_dtypes")


def test_assert_matches_message_names_the_profile_the_kernel_follows():
    x = np.array([1.0, 500.0, -1e6, 0.3], dtype=np.float32)
    with np.errstate(invalid="ignore", over="ignore"):
        kernel = x.astype(E4M3).view(np.uint8)  # ml_dtypes: overflow -> NaN
    with pytest.raises(AssertionError) as info:
        assert_matches(kernel, x, "float8_e4m3fn", profile="ocp_sat")
    msg = str(info.value)
    assert msg.startswith("2 of 4 float8_e4m3fn codes differ")
    assert "[1] input 500: got 0x7f (NaN), want 0x7e (448)" in msg
    assert "[2] input -1000000: got 0xff (NaN), want 0xfe (-448)" in msg
    assert "profile ml_dtypes" in msg.split("every listed mismatch matches:")[1]


def test_assert_matches_names_truncation():
    x = np.array([1.1, 1.3, 2.9], dtype=np.float32)
    trunc = np.array([0x38, 0x3A, 0x43], dtype=np.uint8)  # 1, 1.25, 2.75: toward zero (from the E4M3 grid)
    with pytest.raises(AssertionError, match="every listed mismatch matches: rounding=toward_zero"):
        assert_matches(trunc, x, "float8_e4m3fn")


def test_assert_bitexact():
    assert_bitexact(np.array([1, 2], np.uint8), np.array([1, 2], np.int64), "float4_e2m1fn")
    with pytest.raises(AssertionError, match=r"1 of 2 float4_e2m1fn codes differ:\n  \[1\]: got 0x3 \(1.5\), want 0x2 \(1\)"):
        assert_bitexact(np.array([1, 3]), np.array([1, 2]), "float4_e2m1fn")
    with pytest.raises(ValueError, match="shapes differ"):
        assert_bitexact(np.array([1, 2]), np.array([1]), "float4_e2m1fn")
    with pytest.raises(ValueError, match="code 0x10 out of range"):
        assert_bitexact(np.array([16]), np.array([1]), "float4_e2m1fn")
    # int8-style negative codes are bit patterns
    assert_bitexact(np.array([-1], np.int8), np.array([0xFF]), "int8")


def test_bad_arguments_are_clear():
    with pytest.raises(ValueError, match="unknown code kind 'weird'"):
        code_pool("float8_e4m3fn", "weird")
    with pytest.raises(ValueError, match="k=0 must be a positive integer"):
        dot_operands("int8", 0)
    with pytest.raises(ValueError, match="unknown format"):
        near("float9")
