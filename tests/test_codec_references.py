"""The independent references the codec tests compare lowbit against, and checks of the references.

Nothing here is derived from lowbit's own tables or kernels:

* ``ML_DTYPES``: the numpy / ml_dtypes dtype of every lowbit format that one of them has.
* ``GFLOAT``: a gfloat ``FormatInfo`` for every floating-point lowbit format and for the
  two's-complement integers.  gfloat's named formats are used where gfloat has them (OCP FP8,
  FP6, FP4, E8M0, P3109 binary8pP, IEEE binary16/32, bfloat16, OCP INT8 = MXINT8 element);
  the rest are written out here from their specifications (fnuz: no Inf, no -0, NaN at 0x80;
  IEEE-style: Inf and NaNs in the top binade).
* ``GFLOAT_SCALE``: gfloat's ``ocp_int8`` is the MXINT8 element (LSB = 2^-6); a plain k-bit
  integer is that format with LSB 1, i.e. gfloat's value times 2^(k-2).

The tests in this module check the hand-written ``FormatInfo`` entries against gfloat's own
named formats and against ml_dtypes' ``finfo``, so a typo in a reference cannot hide a codec bug.
"""

from __future__ import annotations

import math

import ml_dtypes
import numpy as np
import pytest
from gfloat import FormatInfo, decode_ndarray
from gfloat.formats import (
    format_info_bfloat16,
    format_info_binary16,
    format_info_binary32,
    format_info_ocp_e2m1,
    format_info_ocp_e2m3,
    format_info_ocp_e3m2,
    format_info_ocp_e4m3,
    format_info_ocp_e5m2,
    format_info_ocp_e8m0,
    format_info_ocp_int8,
    format_info_p3109,
)
from gfloat.types import Domain

import lowbit

# ---------------------------------------------------------------------------------------
# test speed
# ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def serial_numba():
    """Run lowbit's kernels on one thread while a module's tests run.

    The tests encode thousands of small arrays; on a machine shared by several jobs, every
    launch of a 2-thread parallel region waits for both threads to be scheduled (measured:
    14-25 ms per 7,000-element encode with 2 threads under load, 0.4 ms with one).  Results do
    not depend on the thread count; the slow full sweep uses every core."""
    import numba

    before = numba.get_num_threads()
    numba.set_num_threads(1)
    yield
    numba.set_num_threads(before)


# ---------------------------------------------------------------------------------------
# ml_dtypes / numpy
# ---------------------------------------------------------------------------------------
_NUMPY = {"float16": np.float16, "float32": np.float32, "int8": np.int8}
ML_DTYPES: dict[str, np.dtype] = {
    name: np.dtype(getattr(ml_dtypes, name, None) or _NUMPY[name])
    for name in lowbit.FORMATS
    if hasattr(ml_dtypes, name) or name in _NUMPY
}
ML_FLOATS = [n for n in ML_DTYPES if not lowbit.format(n).is_int]
ML_INTS = [n for n in ML_DTYPES if lowbit.format(n).is_int]


def uint_view(dtype: np.dtype) -> type:
    return {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}[np.dtype(dtype).itemsize]


def ml_codes(values: np.ndarray, name: str) -> np.ndarray:
    """``values.astype(<ml_dtypes dtype of name>)`` as bit patterns of the format's width."""
    dt = ML_DTYPES[name]
    with np.errstate(all="ignore"):
        out = values.astype(dt)
    bits = lowbit.format(name).bits
    codes = out.view(uint_view(dt))
    if bits < 8 * dt.itemsize:  # int4/int2 (and float4/6) live in a byte
        codes = codes & ((1 << bits) - 1)
    return codes


def ml_decode(codes: np.ndarray, name: str, dtype=np.float64) -> np.ndarray:
    """What ml_dtypes/numpy give for the bit patterns ``codes`` of format ``name``, in ``dtype``."""
    dt = ML_DTYPES[name]
    fmt = lowbit.format(name)
    c = np.asarray(codes).astype(np.uint64)
    with np.errstate(invalid="ignore"):
        if fmt.is_int:
            signed = c.astype(np.int64) - ((c >> (fmt.bits - 1)) << fmt.bits).astype(np.int64)
            return signed.astype(dt).astype(dtype)
        return c.astype(uint_view(dt)).view(dt).astype(dtype)


# ---------------------------------------------------------------------------------------
# gfloat
# ---------------------------------------------------------------------------------------
def _fi(name, k, precision, bias, *, domain, has_nz, num_high_nans, twos=False, signed=True):
    return FormatInfo(
        name, k, precision, bias=bias, is_signed=signed, domain=domain, has_nz=has_nz,
        num_high_nans=num_high_nans, has_subnormals=True, is_twos_complement=twos,
    )


def _fnuz(name, e, m, bias):
    # no Inf, no -0 (that code is the single NaN), no high NaNs
    return _fi(name, 1 + e + m, m + 1, bias, domain=Domain.Finite, has_nz=False, num_high_nans=0)


def _ieee(name, e, m, bias):
    # IEEE 754 §3.4: the top exponent field holds ±Inf (significand 0) and 2^m - 1 NaNs per sign
    return _fi(name, 1 + e + m, m + 1, bias, domain=Domain.Extended, has_nz=True, num_high_nans=(1 << m) - 1)


def _int(name, k):
    # two's complement, LSB 2^-(k-2) (gfloat's OCP INT8 convention); scaled by 2^(k-2) below
    return _fi(name, k, k, 0, domain=Domain.Finite, has_nz=False, num_high_nans=0, twos=True)


GFLOAT: dict[str, FormatInfo] = {
    "float8_e4m3fn": format_info_ocp_e4m3,
    "float8_e5m2": format_info_ocp_e5m2,
    "float6_e2m3fn": format_info_ocp_e2m3,
    "float6_e3m2fn": format_info_ocp_e3m2,
    "float4_e2m1fn": format_info_ocp_e2m1,
    "float4_e2m1": _ieee("ieee_e2m1", 2, 1, 1),
    "float8_e8m0fnu": format_info_ocp_e8m0,
    "float8_e4m3fnuz": _fnuz("e4m3fnuz", 4, 3, 8),
    "float8_e5m2fnuz": _fnuz("e5m2fnuz", 5, 2, 16),
    "float8_e4m3b11fnuz": _fnuz("e4m3b11fnuz", 4, 3, 11),
    "float8_e3m4": _ieee("ieee_e3m4", 3, 4, 3),
    "float8_e4m3": _ieee("ieee_e4m3", 4, 3, 7),
    "float16": format_info_binary16,
    "bfloat16": format_info_bfloat16,
    "float32": format_info_binary32,
    "int8": format_info_ocp_int8,
    "int4": _int("int4", 4),
    "int2": _int("int2", 2),
    "mxint8": format_info_ocp_int8,
    **{f"binary8p{p}": format_info_p3109(8, p) for p in range(1, 8)},
}
# value = gfloat value * scale
GFLOAT_SCALE = {"int8": 64.0, "int4": 4.0, "int2": 1.0}
GFLOAT_NAMES = list(GFLOAT)
SMALL = [n for n, f in lowbit.FORMATS.items() if f.bits <= 16]


def gfloat_values(name: str) -> np.ndarray:
    """gfloat's value of every code of format ``name`` (float64; NaN for NaN codes)."""
    fi = GFLOAT[name]
    codes = np.arange(1 << fi.k, dtype=np.int64)
    return decode_ndarray(fi, codes) * GFLOAT_SCALE.get(name, 1.0)


def gfloat_max(name: str) -> float:
    return GFLOAT[name].max * GFLOAT_SCALE.get(name, 1.0)


# ---------------------------------------------------------------------------------------
# checks of the references themselves
# ---------------------------------------------------------------------------------------
def test_every_registered_format_has_a_reference():
    """Adding a format to the registry without a reference must fail here, not skip silently.
    The symmetric integers have no gfloat or ml_dtypes twin: their reference is the plain
    integer's value set minus the most negative code (see test_codec_edges)."""
    missing = [n for n in lowbit.FORMATS if n not in GFLOAT and n not in ML_DTYPES
               and not n.endswith("_symmetric")]
    assert missing == []
    assert set(ML_DTYPES) >= {"float8_e4m3fn", "float8_e5m2", "float6_e2m3fn", "float6_e3m2fn", "float4_e2m1fn",
                              "float8_e8m0fnu", "int8", "int4", "int2", "bfloat16", "float16"}


@pytest.mark.parametrize("name,ours,theirs", [
    ("float8_e4m3fnuz", GFLOAT["float8_e4m3fnuz"], format_info_p3109(8, 4)),
    ("float8_e5m2fnuz", GFLOAT["float8_e5m2fnuz"], format_info_p3109(8, 3)),
])
def test_handwritten_fnuz_matches_gfloat_p3109_below_the_top(name, ours, theirs):
    """fnuz E4M3 (bias 8) and E5M2 (bias 16) share P3109 p4/p3's layout except at the top codes
    (P3109 puts ±Inf at 0x7F/0xFF, fnuz has numbers there): every other code decodes alike."""
    a = decode_ndarray(ours, np.arange(256))
    b = decode_ndarray(theirs, np.arange(256))
    keep = np.ones(256, bool)
    keep[[0x7F, 0xFF]] = False
    np.testing.assert_array_equal(a[keep], b[keep])


def test_handwritten_ieee_matches_gfloat_binary16_structure():
    """The IEEE builder, fed binary16's fields, rebuilds gfloat's binary16 value for value."""
    mine = _ieee("b16", 5, 10, 15)
    np.testing.assert_array_equal(decode_ndarray(mine, np.arange(1 << 16)),
                                  decode_ndarray(format_info_binary16, np.arange(1 << 16)))


@pytest.mark.parametrize("name", [n for n in ML_FLOATS if n in GFLOAT and lowbit.format(n).bits <= 16])
def test_gfloat_reference_agrees_with_ml_dtypes(name):
    """Two independent references agree on every code's value (where both exist)."""
    codes = np.arange(1 << GFLOAT[name].k)
    g = gfloat_values(name)
    m = ml_decode(codes, name)
    np.testing.assert_array_equal(np.isnan(g), np.isnan(m))
    ok = ~np.isnan(g)
    np.testing.assert_array_equal(g[ok], m[ok])
    np.testing.assert_array_equal(np.signbit(g[ok]), np.signbit(m[ok]))
    assert gfloat_max(name) == float(ml_dtypes.finfo(ML_DTYPES[name]).max)


@pytest.mark.parametrize("name", ["int8", "int4", "int2"])
def test_gfloat_integer_reference_agrees_with_ml_dtypes(name):
    codes = np.arange(1 << lowbit.format(name).bits)
    np.testing.assert_array_equal(gfloat_values(name), ml_decode(codes, name))
    assert math.isclose(gfloat_max(name), ml_dtypes.iinfo(ML_DTYPES[name]).max)
