"""Formats as data: look-up, derived limits and code classes against ml_dtypes and gfloat.

Every test is parametrised over the registry, so a new format gets covered (or fails for
lack of a reference) without editing this file.
"""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest
from gfloat import FloatClass, FormatInfo, decode_float, decode_ndarray, round_ndarray
from gfloat.types import Domain, RoundMode
from test_codec_references import (GFLOAT, GFLOAT_NAMES, GFLOAT_SCALE, ML_DTYPES, ML_FLOATS, ML_INTS, gfloat_max,
                                   ml_decode)

import lowbit
from test_codec_references import serial_numba  # noqa: F401 (fixture)
from lowbit import formats
from lowbit.formats import CLASS_NAMES, INF, NAN, NORMAL, SUBNORMAL, ZERO

pytestmark = pytest.mark.usefixtures("serial_numba")

ALL = list(lowbit.FORMATS)
GFLOAT_FLOATS = [n for n in GFLOAT_NAMES if not lowbit.format(n).is_int]
_GCLASS = {FloatClass.ZERO: ZERO, FloatClass.SUBNORMAL: SUBNORMAL, FloatClass.NORMAL: NORMAL,
           FloatClass.INFINITE: INF, FloatClass.NAN: NAN}


# ----- look-up -------------------------------------------------------------------------
@pytest.mark.parametrize("name", ALL)
def test_lookup_by_name_is_case_insensitive(name):
    fmt = lowbit.format(name)
    assert fmt.name == name
    assert lowbit.format(name.upper()) is fmt
    assert lowbit.format(f"  {name.title()} ") is fmt
    assert lowbit.format(fmt) is fmt


@pytest.mark.parametrize("name", list(ML_DTYPES))
def test_lookup_by_every_ml_dtypes_dtype(name):
    """``lowbit.format(np.dtype(ml_dtypes.X))`` is the format ml_dtypes calls X, and the
    scalar type works too."""
    dt = ML_DTYPES[name]
    assert lowbit.format(dt).name == name
    assert lowbit.format(dt.type).name == name


@pytest.mark.parametrize("alias,name", [
    ("e4m3", "float8_e4m3fn"), ("OCP_E4M3", "float8_e4m3fn"), ("e5m2", "float8_e5m2"),
    ("fp4", "float4_e2m1fn"), ("E8M0", "float8_e8m0fnu"), ("bf16", "bfloat16"), ("half", "float16"),
    ("e2m3", "float6_e2m3fn"), ("e3m2", "float6_e3m2fn"),
])
def test_aliases(alias, name):
    assert lowbit.format(alias).name == name


@pytest.mark.parametrize("dt", ["uint4", "int1", "uint2", "complex32"])
def test_ml_dtypes_dtype_lowbit_lacks_is_refused_with_the_known_names(dt):
    if not hasattr(ml_dtypes, dt):
        pytest.skip(f"ml_dtypes {ml_dtypes.__version__} has no {dt}")
    with pytest.raises(ValueError, match=rf"unknown format .*{dt}.*known formats: .*float8_e4m3fn"):
        lowbit.format(np.dtype(getattr(ml_dtypes, dt)))


def test_unknown_name_lists_known_formats():
    with pytest.raises(ValueError) as e:
        lowbit.format("float8_e9m9")
    msg = str(e.value)
    assert "'float8_e9m9'" in msg
    for name in ALL:
        assert name in msg


@pytest.mark.parametrize("bad", [3.5, object(), [1, 2]])
def test_uninterpretable_format_spec_is_a_type_error(bad):
    with pytest.raises(TypeError, match="cannot interpret"):
        lowbit.format(bad)


# ----- derived limits --------------------------------------------------------------------
@pytest.mark.parametrize("name", ML_FLOATS)
def test_limits_equal_ml_dtypes_finfo(name):
    fmt, fi = lowbit.format(name), ml_dtypes.finfo(ML_DTYPES[name])
    assert fmt.bits == fi.bits or (fmt.bits < 8 and fi.bits == 8)  # float4/6 are stored in a byte
    assert fmt.max_finite == float(fi.max)
    assert fmt.min_finite == float(fi.min)
    assert fmt.min_normal == float(fi.smallest_normal)
    assert fmt.min_subnormal == float(fi.smallest_subnormal)
    assert fmt.emin == fi.minexp
    assert fmt.emax == fi.maxexp - 1
    assert fmt.mbits == fi.nmant


@pytest.mark.parametrize("name", ML_INTS)
def test_integer_limits_equal_iinfo(name):
    fmt, ii = lowbit.format(name), ml_dtypes.iinfo(ML_DTYPES[name])
    assert fmt.bits == ii.bits
    assert fmt.max_finite == ii.max
    assert fmt.min_finite == ii.min
    assert fmt.min_subnormal == 1.0
    sym = lowbit.format(name + "_symmetric")
    assert sym.bits == ii.bits and sym.max_finite == ii.max and sym.min_finite == -ii.max


@pytest.mark.parametrize("name", GFLOAT_NAMES)
def test_limits_equal_gfloat(name):
    fmt, fi = lowbit.format(name), GFLOAT[name]
    scale = GFLOAT_SCALE.get(name, 1.0)
    assert fmt.bits == fi.k
    assert fmt.max_finite == gfloat_max(name)
    assert fmt.min_finite == fi.min * scale
    assert fmt.min_subnormal == fi.smallest * scale
    assert fmt.has_inf == (fi.num_infs > 0)
    assert fmt.has_nan == (fi.num_nans > 0)
    assert fmt.signed == fi.is_signed
    assert fmt.has_negative_zero == fi.has_nz
    if not fmt.is_int:
        assert fmt.min_normal == fi.smallest_normal
        assert fmt.mbits == fi.precision - 1
        assert fmt.emax == fi.emax


def test_mxint8_element_range():
    """OCP MX v1.0 §5.3.3: MXINT8 elements are two's complement with 6 fraction bits."""
    fmt = lowbit.format("mxint8")
    assert (fmt.min_finite, fmt.max_finite, fmt.min_subnormal) == (-2.0, 1.984375, 2.0**-6)


@pytest.mark.parametrize("name", [n for n in ALL if lowbit.format(n).bits <= 16])
def test_max_magnitude_code_decodes_to_max_finite(name):
    fmt = lowbit.format(name)
    if name in GFLOAT:
        vals = decode_ndarray(GFLOAT[name], np.arange(fmt.num_codes)) * GFLOAT_SCALE.get(name, 1.0)
    else:  # symmetric integers: plain two's complement values
        c = np.arange(fmt.num_codes)
        vals = np.where(c >= fmt.num_codes // 2, c - fmt.num_codes, c).astype(float)
    assert vals[fmt.max_magnitude_code] == fmt.max_finite
    assert np.nanmax(vals[np.isfinite(vals)]) == fmt.max_finite


# ----- code classes and values -----------------------------------------------------------
@pytest.mark.parametrize("name", [n for n in GFLOAT_FLOATS if GFLOAT[n].k <= 16])
def test_classes_equal_gfloat(name):
    """Class of every code (zero/subnormal/normal/inf/nan) against gfloat's FloatClass
    (per-code tables exist up to 16 bits; float32 has none, its decode is tested by sampling)."""
    fmt, fi = lowbit.format(name), GFLOAT[name]
    theirs = np.array([_GCLASS[decode_float(fi, i).fclass] for i in range(fmt.num_codes)], np.uint8)
    bad = np.flatnonzero(fmt.classes != theirs)
    assert bad.size == 0, [(hex(c), CLASS_NAMES[fmt.classes[c]], CLASS_NAMES[theirs[c]]) for c in bad[:8]]


@pytest.mark.parametrize("name", ["int8", "int4", "int2", "mxint8"])
def test_integer_classes_vs_gfloat(name):
    """Integers have no exponent: lowbit calls every non-zero code *normal*; gfloat's OCP INT8
    calls them *subnormal* (exponent field 0 of an all-subnormal format).  The zero codes agree;
    the naming difference is asserted here, not skipped."""
    fmt, fi = lowbit.format(name), GFLOAT[name]
    theirs = np.array([_GCLASS[decode_float(fi, i).fclass] for i in range(fmt.num_codes)], np.uint8)
    np.testing.assert_array_equal(fmt.classes == ZERO, theirs == ZERO)
    assert set(theirs[theirs != ZERO]) == {SUBNORMAL}
    assert set(fmt.classes[fmt.classes != ZERO]) == {NORMAL}


@pytest.mark.parametrize("name", ["int8_symmetric", "int4_symmetric", "int2_symmetric"])
def test_symmetric_integer_classes(name):
    fmt = lowbit.format(name)
    expect = np.where(np.arange(fmt.num_codes) == 0, ZERO, NORMAL)
    np.testing.assert_array_equal(fmt.classes, expect)


@pytest.mark.parametrize("name", [n for n in GFLOAT_NAMES if GFLOAT[n].k <= 16])
def test_values_table_equals_gfloat(name):
    fmt = lowbit.format(name)
    theirs = decode_ndarray(GFLOAT[name], np.arange(fmt.num_codes)) * GFLOAT_SCALE.get(name, 1.0)
    ours = fmt.values
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
    ok = ~np.isnan(theirs)
    np.testing.assert_array_equal(ours[ok], theirs[ok])
    np.testing.assert_array_equal(np.signbit(ours[ok]), np.signbit(theirs[ok]))


@pytest.mark.parametrize("name", [n for n in ALL if not lowbit.format(n).is_int])
def test_nan_code_is_a_nan_of_positive_sign(name):
    fmt = lowbit.format(name)
    if not fmt.has_nan:
        assert fmt.nan_code == -1
        return
    fi = GFLOAT[name]
    assert decode_float(fi, fmt.nan_code).fclass == FloatClass.NAN
    if fmt.specials != "fnuz" and fmt.specials != "p3109" and fmt.signed:
        assert fmt.nan_code >> (fmt.bits - 1) == 0
    if name in ML_DTYPES and fmt.bits <= 16:
        v = np.array([fmt.nan_code], fmt.code_dtype).astype(np.uint64)
        assert np.isnan(ml_decode(v, name)[0])


def test_table_lists_every_format():
    table = formats.format_table()
    for name in ALL:
        assert f"\n{name} " in table


# ----- Format validation and user-defined formats -------------------------------------
@pytest.mark.parametrize("kwargs,match", [
    (dict(name="x", ebits=4, mbits=3, bias=7, specials="ocp"), "unknown specials policy 'ocp'"),
    (dict(name="x", ebits=4, mbits=3, bias=7, bits=9), "bits=9"),
    (dict(name="x", ebits=0, mbits=3, bias=7), "ebits=0"),
    (dict(name="x", ebits=12, mbits=30, bias=7), "ebits=12"),
    (dict(name="x", ebits=4, mbits=3, bias=7, specials="fnuz", signed=False), "needs a sign bit"),
    (dict(name="x", ebits=4, mbits=0, bias=7, specials="fn"), "at least one significand bit"),
    (dict(name="x", ebits=0, mbits=0, bias=0, specials="int", bits=1), "bits=1"),
])
def test_invalid_format_fields_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        lowbit.Format(**kwargs)


@pytest.fixture
def scratch_registry(monkeypatch):
    """register() into copies of the registry, restored after the test."""
    monkeypatch.setattr(formats, "FORMATS", dict(formats.FORMATS))
    monkeypatch.setattr(formats, "_ALIASES", dict(formats._ALIASES))


# A user-defined FP7 E3M3 (IEEE specials) and an 'fn' FP7 E4M2, with gfloat twins written from
# the same definitions.
USER = [
    (lowbit.Format("user_fp7_e3m3", 3, 3, 3, "ieee"),
     FormatInfo("e3m3", 7, 4, bias=3, is_signed=True, domain=Domain.Extended, has_nz=True,
                num_high_nans=7, has_subnormals=True, is_twos_complement=False)),
    (lowbit.Format("user_fp7_e4m2fn", 4, 2, 7, "fn"),
     FormatInfo("e4m2fn", 7, 3, bias=7, is_signed=True, domain=Domain.Finite, has_nz=True,
                num_high_nans=1, has_subnormals=True, is_twos_complement=False)),
    (lowbit.Format("user_fp5_e2m2fnuz", 2, 2, 2, "fnuz"),
     FormatInfo("e2m2fnuz", 5, 3, bias=2, is_signed=True, domain=Domain.Finite, has_nz=False,
                num_high_nans=0, has_subnormals=True, is_twos_complement=False)),
]


@pytest.mark.parametrize("fmt,fi", USER, ids=[f.name for f, _ in USER])
def test_user_defined_format_register_decode_encode_vs_gfloat(fmt, fi, scratch_registry):
    lowbit.register(fmt, fmt.name + "_alias")
    assert lowbit.format(fmt.name.upper()) is fmt
    assert lowbit.format(fmt.name + "_ALIAS") is fmt
    assert fmt.max_finite == fi.max and fmt.min_subnormal == fi.smallest
    codes = np.arange(fmt.num_codes)
    theirs = decode_ndarray(fi, codes)
    ours = lowbit.decode(codes.astype(np.uint8), fmt.name)
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
    ok = ~np.isnan(theirs)
    np.testing.assert_array_equal(ours[ok], theirs[ok])
    np.testing.assert_array_equal(np.signbit(ours[ok]), np.signbit(theirs[ok]))
    # encode: every finite value and every midpoint, round to nearest even, both overflow modes
    fin = np.unique(theirs[np.isfinite(theirs)])
    x = np.concatenate([fin, (fin[1:] + fin[:-1]) / 2, [fi.max * 1.01, -fi.max * 1.01, fi.max * 4]])
    for sat in (True, False):
        expect = round_ndarray(fi, x, RoundMode.TiesToEven, sat)
        got = lowbit.decode(lowbit.encode(x, fmt.name, overflow="saturate" if sat else "nonsaturating"), fmt.name)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(expect))
        ok = ~np.isnan(expect)
        np.testing.assert_array_equal(got[ok], expect[ok])
        np.testing.assert_array_equal(np.signbit(got[ok]), np.signbit(expect[ok]))


def test_register_refuses_a_taken_name(scratch_registry):
    with pytest.raises(ValueError, match="'float8_e4m3fn' is already registered"):
        lowbit.register(lowbit.Format("float8_e4m3fn", 4, 3, 8, "fnuz"))
    with pytest.raises(ValueError, match="'e5m2' is already registered"):
        lowbit.register(lowbit.Format("mine", 4, 3, 8, "fnuz"), "e5m2")
    assert lowbit.format("e5m2").name == "float8_e5m2"


def test_format_none_is_a_type_error():
    with pytest.raises(TypeError, match="format is None"):
        lowbit.format(None)
