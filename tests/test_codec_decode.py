"""decode: every code of every format against ml_dtypes (bit for bit, NaN sign and -0 included)
and against gfloat's decode_ndarray; float32 codes by a dense sample against numpy."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest
from gfloat import decode_ndarray
from gfloat.formats import format_info_binary32
from test_codec_references import GFLOAT, GFLOAT_NAMES, GFLOAT_SCALE, ML_DTYPES, ml_decode

import lowbit
from test_codec_references import serial_numba  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("serial_numba")

ML_SMALL = [n for n in ML_DTYPES if lowbit.format(n).bits <= 16]
IEEE_WIDE = ("float16", "bfloat16", "float32")  # numpy/ml_dtypes widen these NaNs keeping payloads


def f64_bits(x):
    return np.asarray(x, np.float64).view(np.uint64)


def all_codes(name, dtype=None):
    fmt = lowbit.format(name)
    return np.arange(fmt.num_codes, dtype=np.uint32).astype(dtype or fmt.code_dtype)


def assert_same_values(got, expect, *, nan_payload=True):
    """Equal as bit patterns; where ``nan_payload`` is False, NaNs need only agree in sign."""
    got, expect = np.asarray(got), np.asarray(expect)
    assert got.dtype == expect.dtype and got.shape == expect.shape
    u = {2: np.uint16, 4: np.uint32, 8: np.uint64}[got.dtype.itemsize]
    gb, eb = got.view(u), expect.view(u)
    if not nan_payload:
        with np.errstate(invalid="ignore"):
            got, expect = got.astype(np.float64), expect.astype(np.float64)
        nan = np.isnan(expect)
        np.testing.assert_array_equal(np.isnan(got), nan)
        np.testing.assert_array_equal(np.signbit(got)[nan], np.signbit(expect)[nan])
        gb, eb = gb[~nan], eb[~nan]
    bad = np.flatnonzero(gb != eb)
    assert bad.size == 0, f"{bad.size} differ, first at index {bad[:4]}: {gb[bad[:4]]} != {eb[bad[:4]]}"


@pytest.mark.parametrize("name", ML_SMALL)
def test_decode_every_code_equals_ml_dtypes_float64_bits(name):
    """float64 bit patterns, so -0 and the sign of NaN codes count (ml_dtypes widens every NaN of
    the 8-bit formats to the quiet NaN of the code's sign, and so does lowbit).  numpy/ml_dtypes
    keep the payload when widening float16/bfloat16 NaNs; lowbit gives the canonical quiet NaN of
    the same sign (its decode has no payload rule): for those two, NaNs are compared by sign."""
    codes = all_codes(name)
    assert_same_values(lowbit.decode(codes, name), ml_decode(codes, name), nan_payload=name not in IEEE_WIDE)


@pytest.mark.parametrize("dtype", [np.float32, np.float16, ml_dtypes.bfloat16], ids=["float32", "float16", "bfloat16"])
@pytest.mark.parametrize("name", ML_SMALL)
def test_decode_to_narrower_dtype_equals_ml_dtypes(name, dtype):
    """decode(dtype=...) rounds the exact value to nearest even in that dtype, as ml_dtypes'
    astype does (values beyond the dtype's range become ±Inf).  NaNs: compared by sign."""
    codes = all_codes(name)
    with np.errstate(over="ignore"):
        try:
            expect = ml_decode(codes, name, dtype)
        except TypeError as err:  # ml_dtypes 0.5.0 has no int4/int2 -> bfloat16 cast
            pytest.skip(f"ml_dtypes {ml_dtypes.__version__} cannot cast {name} to {np.dtype(dtype).name}: {err}")
    assert_same_values(lowbit.decode(codes, name, dtype=dtype), expect, nan_payload=False)


@pytest.mark.parametrize("name", [n for n in GFLOAT_NAMES if GFLOAT[n].k <= 16])
def test_decode_every_code_equals_gfloat(name):
    """Against gfloat (the only reference for P3109 binary8p1..p7 and MXINT8): values, zero signs
    and NaN positions (gfloat's NaNs carry no sign)."""
    codes = all_codes(name)
    theirs = decode_ndarray(GFLOAT[name], codes.astype(np.int64)) * GFLOAT_SCALE.get(name, 1.0)
    ours = lowbit.decode(codes, name)
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
    ok = ~np.isnan(theirs)
    np.testing.assert_array_equal(ours[ok], theirs[ok])
    np.testing.assert_array_equal(np.signbit(ours[ok]), np.signbit(theirs[ok]))


@pytest.mark.parametrize("name", ["float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e4m3b11fnuz",
                                  "binary8p1", "binary8p4", "binary8p7"])
def test_single_nan_at_0x80(name):
    """fnuz and P3109: 0x80 (the would-be -0) is the only NaN (ml_dtypes and gfloat agree);
    no code decodes to -0."""
    v = lowbit.decode(all_codes(name), name)
    assert np.flatnonzero(np.isnan(v)).tolist() == [0x80]
    assert not np.any((v == 0) & np.signbit(v))


@pytest.mark.parametrize("name", ["int8", "int4", "int2"])
def test_symmetric_integers_decode_like_two_complement(name):
    """``*_symmetric`` formats never *produce* the most negative code (test_codec_edges), but
    decode reads any bit pattern as two's complement, like the plain integer (ml_dtypes)."""
    codes = all_codes(name)
    np.testing.assert_array_equal(lowbit.decode(codes, name + "_symmetric"), ml_decode(codes, name))


@pytest.mark.parametrize("name", ["int8", "int4", "int2", "mxint8", "int8_symmetric"])
def test_integer_codes_given_as_signed_integers(name):
    """Codes of integer formats may be given as signed integers (e.g. an int8 array): read as
    two's-complement bit patterns, the same values as the unsigned patterns."""
    fmt = lowbit.format(name)
    unsigned = all_codes(name)
    signed = np.arange(-(fmt.num_codes // 2), fmt.num_codes // 2, dtype=np.int8)
    as_bits = (signed.astype(np.int64) & (fmt.num_codes - 1)).astype(fmt.code_dtype)
    np.testing.assert_array_equal(lowbit.decode(signed, name), lowbit.decode(as_bits, name))
    assert set(as_bits.tolist()) == set(unsigned.tolist())
    if name in ML_DTYPES:
        np.testing.assert_array_equal(lowbit.decode(signed, name), ml_decode(as_bits, name))


@pytest.mark.parametrize("code_dtype", [np.uint8, np.uint16, np.uint32, np.int16, np.int32, np.int64])
@pytest.mark.parametrize("name", ["float8_e4m3fn", "float4_e2m1fn", "float8_e8m0fnu", "binary8p3"])
def test_code_dtype_does_not_matter(name, code_dtype):
    codes = all_codes(name)
    np.testing.assert_array_equal(f64_bits(lowbit.decode(codes.astype(code_dtype), name)),
                                  f64_bits(lowbit.decode(codes, name)))


@pytest.mark.parametrize("shape", [(), (0,), (3, 0), (2, 3, 4), (5, 1)])
def test_decode_keeps_shape(shape):
    n = int(np.prod(shape))
    codes = (np.arange(n, dtype=np.uint32) * 37 % 256).astype(np.uint8).reshape(shape)
    out = lowbit.decode(codes, "float8_e5m2")
    assert out.shape == shape and out.dtype == np.float64
    assert_same_values(out, ml_decode(codes, "float8_e5m2"))


def test_decode_non_contiguous_input():
    codes = np.arange(512, dtype=np.uint16).astype(np.uint8).reshape(16, 32)[:, ::3].T
    assert_same_values(lowbit.decode(codes, "float8_e4m3fn"), ml_decode(codes, "float8_e4m3fn"))


def test_decode_float32_codes_dense_sample_vs_numpy_and_gfloat():
    """float32 has 2^32 codes: every code whose top 16 bits and bottom 4 bits vary (exponent
    edges, subnormals, Inf, NaNs of both signs) plus 2^20 random codes."""
    hi = np.arange(1 << 16, dtype=np.uint64) << 16
    lo = np.array([0, 1, 2, 0x7FFF, 0x8000, 0xFFFE, 0xFFFF], dtype=np.uint64)
    rng = np.random.default_rng(7)
    codes = np.concatenate([(hi[:, None] | lo[None, :]).reshape(-1),
                            rng.integers(0, 1 << 32, size=1 << 20, dtype=np.uint64)]).astype(np.uint32)
    ours = lowbit.decode(codes, "float32")
    with np.errstate(invalid="ignore"):
        expect = codes.view(np.float32).astype(np.float64)
    assert_same_values(ours, expect, nan_payload=False)
    g = decode_ndarray(format_info_binary32, codes[::97].astype(np.int64))
    np.testing.assert_array_equal(np.isnan(ours[::97]), np.isnan(g))
    ok = ~np.isnan(g)
    np.testing.assert_array_equal(ours[::97][ok], g[ok])
    assert_same_values(lowbit.decode(codes, "float32", dtype=np.float32), codes.view(np.float32), nan_payload=False)
