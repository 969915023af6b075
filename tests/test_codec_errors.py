"""Bad input gets a clear ValueError/TypeError naming the bad value and what is allowed —
never a silent wrong answer, never a traceback from inside Numba."""

from __future__ import annotations

import re

import ml_dtypes
import numpy as np
import pytest

import lowbit
from lowbit import rules as R
from test_codec_references import serial_numba  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("serial_numba")

X = np.array([0.5, -1.25, 3.0], dtype=np.float32)


def _no_numba_frames(excinfo):
    """The error is raised by lowbit's Python layer, not from inside a compiled kernel."""
    assert not any("numba" in str(entry.path) for entry in excinfo.traceback), excinfo.traceback


# ----- formats ---------------------------------------------------------------------------
@pytest.mark.parametrize("call", [
    lambda: lowbit.encode(X, "fp8"),
    lambda: lowbit.decode(np.zeros(3, np.uint8), "e4m4"),
    lambda: lowbit.encode(X, np.dtype(ml_dtypes.uint4)),
])
def test_unknown_format_lists_known_names(call):
    with pytest.raises(ValueError) as e:
        call()
    msg = str(e.value)
    assert re.search(r"unknown format (?:'fp8'|'e4m4'|dtype\(uint4\))", msg), msg
    for name in lowbit.FORMATS:
        assert name in msg


# ----- codes ----------------------------------------------------------------------------
@pytest.mark.parametrize("name,codes,shown", [
    ("float4_e2m1fn", np.array([1, 0x10, 2], np.uint8), "0x10"),
    ("float4_e2m1fn", np.array([0xFF], np.uint8), "0xff"),
    ("float6_e3m2fn", np.array([0x40], np.uint16), "0x40"),
    ("float8_e4m3fn", np.array([0x100], np.uint16), "0x100"),
    ("float8_e4m3fn", np.array([-1], np.int32), "-0x1"),
    ("int4", np.array([-9], np.int8), "-0x9"),
    ("int2", np.array([4], np.uint8), "0x4"),
    ("float16", np.array([1 << 16], np.uint32), "0x10000"),
])
def test_code_out_of_range(name, codes, shown):
    fmt = lowbit.format(name)
    with pytest.raises(ValueError) as e:
        lowbit.decode(codes, name)
    msg = str(e.value)
    assert f"code {shown} out of range for {fmt.bits}-bit format {name!r}" in msg
    assert f"0x0..{(1 << fmt.bits) - 1:#x}" in msg
    _no_numba_frames(e)


def test_code_out_of_range_in_a_large_array_is_found():
    codes = np.zeros(1 << 20, np.uint8)
    codes[123457] = 0x10
    with pytest.raises(ValueError, match="code 0x10 out of range"):
        lowbit.decode(codes, "float4_e2m1fn")


@pytest.mark.parametrize("codes", [np.array([1.0, 2.0]), np.array([1 + 2j]), np.array(["a"])])
def test_non_integer_codes_are_a_type_error(codes):
    with pytest.raises(TypeError, match=f"codes must be an integer array.*{codes.dtype}"):
        lowbit.decode(codes, "float8_e5m2")


# ----- inputs ---------------------------------------------------------------------------
@pytest.mark.parametrize("x", [
    np.array([1, 2], np.int32), np.array([1, 2], np.int64), np.array([1, 2], np.uint8),
    np.array([1 + 1j], np.complex64), np.array([1 + 1j]), np.array([True]),
    np.array(["1.0"]), np.array([1.0], dtype=object), np.array([1.0], np.longdouble),
    np.array([1.0], ml_dtypes.float8_e4m3fn),
])
def test_unsupported_input_dtype(x):
    with pytest.raises(TypeError) as e:
        lowbit.encode(x, "float8_e4m3fn")
    msg = str(e.value)
    assert f"unsupported input dtype {x.dtype}" in msg
    assert "float64, float32, float16, bfloat16" in msg
    _no_numba_frames(e)


def test_python_numbers_are_accepted():
    """Python floats, ints and lists of them are float64 (exact for these values)."""
    assert lowbit.encode(1.5, "float8_e4m3fn") == np.array(1.5).astype(ml_dtypes.float8_e4m3fn).view(np.uint8)
    np.testing.assert_array_equal(lowbit.encode([1, 2, 448], "float8_e4m3fn"),
                                  np.array([1, 2, 448.0]).astype(ml_dtypes.float8_e4m3fn).view(np.uint8))


# ----- rule names -----------------------------------------------------------------------
@pytest.mark.parametrize("kw,field,allowed", [
    (dict(rounding="nearest"), "rounding", R.ROUNDINGS),
    (dict(rounding="RNE"), "rounding", R.ROUNDINGS),
    (dict(overflow="clamp"), "overflow", R.OVERFLOWS),
    (dict(nan="quiet"), "nan", R.NAN_RULES),
    (dict(inf="nan"), "inf", R.INF_RULES),
    (dict(subnormals="ftz"), "subnormals", R.SUBNORMAL_RULES),
])
def test_unknown_rule_name(kw, field, allowed):
    (value,) = kw.values()
    with pytest.raises(ValueError) as e:
        lowbit.encode(X, "float8_e4m3fn", **kw)
    msg = str(e.value)
    assert f"unknown {field} rule {value!r}" in msg
    assert ", ".join(allowed) in msg


def test_the_documented_rule_names_are_the_allowed_ones():
    """The names the issue and docs promise are exactly the accepted ones."""
    assert set(R.ROUNDINGS) == {"nearest_even", "nearest_away", "toward_zero", "up", "down", "odd", "stochastic",
                                "stochastic_odd", "stochastic_fast", "stochastic_fastest"}
    assert set(R.OVERFLOWS) == {"saturate", "nonsaturating", "wrap", "wrap_int32", "zero"}  # last 3: integers


def test_unknown_rule_keyword():
    with pytest.raises(TypeError, match="rouding"):
        lowbit.encode(X, "float8_e4m3fn", rouding="up")


def test_unknown_profile_lists_known_profiles():
    with pytest.raises(ValueError) as e:
        lowbit.encode(X, "float8_e4m3fn", profile="mldtypes")
    msg = str(e.value)
    assert "unknown profile 'mldtypes'" in msg and "ml_dtypes" in msg and "default" in msg


@pytest.mark.parametrize("name", ["float8_e4m3fn", "float4_e2m1fn", "float8_e8m0fnu", "binary8p3"])
def test_wrap_is_for_integers_only(name):
    with pytest.raises(ValueError, match=f"overflow='wrap' applies to integer formats only, not '{name}'"):
        lowbit.encode(X, name, overflow="wrap")


@pytest.mark.parametrize("name", ["int8", "int4", "int2_symmetric", "mxint8"])
def test_integers_have_no_nonsaturating_mode(name):
    with pytest.raises(ValueError, match=f"integer format '{name}' has no Inf or NaN: overflow must be 'saturate' or 'wrap'"):
        lowbit.encode(X, name, overflow="nonsaturating")


# ----- stochastic rounding parameters ---------------------------------------------------
@pytest.mark.parametrize("srbits,nb,bad", [
    (np.array([0, 256, 3]), 8, 256), (np.array([-1, 0, 0]), 8, -1), (np.array([2, 0, 0]), 1, 2),
    (np.array([1 << 16, 0, 0]), None, 1 << 16),  # default srnumbits is 16
])
def test_srbits_out_of_range(srbits, nb, bad):
    with pytest.raises(ValueError) as e:
        lowbit.encode(X, "float8_e4m3fn", rounding="stochastic", srbits=srbits, srnumbits=nb)
    msg = str(e.value)
    n = 16 if nb is None else nb
    assert f"srbits value {bad} out of range for srnumbits={n}" in msg and f"0..{(1 << n) - 1}" in msg


@pytest.mark.parametrize("nb", [0, 33, -4])
def test_srnumbits_out_of_range(nb):
    with pytest.raises(ValueError, match=f"srnumbits={nb} out of range; allowed: 1..32"):
        lowbit.encode(X, "float8_e4m3fn", rounding="stochastic_fast", srbits=np.zeros(3, int), srnumbits=nb)


def test_srbits_must_be_integers():
    with pytest.raises(TypeError, match="srbits must be an integer array, got dtype float64"):
        lowbit.encode(X, "float8_e4m3fn", rounding="stochastic", srbits=np.array([0.5, 0.0, 0.0]))


def test_srbits_shape_must_match():
    with pytest.raises(ValueError, match=r"srbits shape \(2,\) does not broadcast to the input's shape \(3,\)"):
        lowbit.encode(X, "float8_e4m3fn", rounding="stochastic", srbits=np.array([1, 2]), srnumbits=4)


@pytest.mark.parametrize("rounding", ["nearest_even", "up", "odd"])
def test_srbits_with_a_deterministic_rounding(rounding):
    with pytest.raises(ValueError, match=f"apply to stochastic rounding only, not rounding='{rounding}'"):
        lowbit.encode(X, "float8_e4m3fn", rounding=rounding, srbits=np.zeros(3, int))


# ----- values without a code -------------------------------------------------------------
@pytest.mark.parametrize("name", ["float4_e2m1fn", "float6_e2m3fn", "float6_e3m2fn"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16, ml_dtypes.bfloat16])
def test_nan_into_a_format_without_nan(name, dtype):
    """OCP MX v1.0 §5.3.2: FP6/FP4 have no NaN.  Non-saturating: a ValueError saying so;
    asking for saturation (or nan='zero') chooses +0 instead."""
    x = np.array([1.0, np.nan, 2.0], dtype=dtype)
    with pytest.raises(ValueError) as e:
        lowbit.encode(x, name, overflow="nonsaturating")
    assert f"NaN input has no code in {name!r}" in str(e.value)
    _no_numba_frames(e)
    assert lowbit.encode(x, name, overflow="saturate")[1] == 0
    assert lowbit.encode(x, name, nan="zero", overflow="nonsaturating")[1] == 0


@pytest.mark.parametrize("name", ["float4_e2m1fn", "float6_e3m2fn"])
@pytest.mark.parametrize("x", [np.inf, -np.inf, 1e6, -7.0e5])
def test_overflow_into_a_format_without_inf_or_nan(name, x):
    with pytest.raises(ValueError, match=rf"beyond ±{lowbit.format(name).max_finite:g} .*has no code in '{name}'"):
        lowbit.encode(np.array([0.0, x]), name, overflow="nonsaturating")
    assert lowbit.encode(np.array([x]), name, overflow="saturate")[0] == lowbit.encode(
        np.array([np.sign(x) * lowbit.format(name).max_finite]), name)[0]


@pytest.mark.parametrize("name", ["int8", "int4", "mxint8"])
def test_nan_into_integers_under_default_rules(name):
    """Integers have no NaN: the default (saturating) rules give 0, as a choice stated in
    lowbit.rules.default_rules; nan='error' refuses it."""
    assert lowbit.encode(np.array([np.nan]), name)[0] == 0
