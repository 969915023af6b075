"""The pinned ml_dtypes era profiles against the casts recorded from every ml_dtypes release.

``vectors/reference/ml_dtypes/record.py`` recorded ``x.astype(<dtype>)`` with ml_dtypes 0.5.0,
0.5.1, 0.5.3, 0.5.4, 0.6.0 and 0.7.0 (numpy 2.4.6, x86-64) for every lowbit format ml_dtypes
or numpy has, from every 16-bit float16/bfloat16 pattern and the float32/float64 edge sets of
``inputs.npz``; versions with identical codes form one era file ``ml_dtypes_<era>.npz``.
Each era profile must give every recorded code, bit for bit.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import ml_dtypes
import numpy as np
import pytest
from test_codec_references import serial_numba  # noqa: F401 (fixture)

import lowbit
from lowbit.profiles import ML_DTYPES_ERAS, PROFILES, ml_dtypes_profile_for, resolve

pytestmark = pytest.mark.usefixtures("serial_numba")

REF = Path(__file__).resolve().parents[1] / "vectors" / "reference" / "ml_dtypes"


def _load_script(name):
    spec = importlib.util.spec_from_file_location(f"ml_dtypes_{name}", REF / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


RECORD = _load_script("record")
INPUTS = np.load(REF / "inputs.npz")
ERA_FILES = {p.stem: RECORD.load_era(p) for p in sorted(REF.glob("ml_dtypes_*.npz"))}  # older eras: deltas
VIEW = {"float16": np.float16, "bfloat16": ml_dtypes.bfloat16, "float32": np.float32, "float64": np.float64}
ENC_CASES = [(era, k) for era, rec in ERA_FILES.items() for k in rec if k.startswith("enc__")]
DEC_CASES = [(era, k) for era, rec in ERA_FILES.items() for k in rec if k.startswith("dec__")]


def _inputs(src):
    return RECORD.source_bits(INPUTS, src).view(VIEW[src])


def _known_gap(era, src, tgt, x):
    """The one documented difference (ml_dtypes_0.5 / 0.5.1 profile docstrings): ml_dtypes < 0.7
    sends a float64 x in (2^31 - 1, 2^31) to int2/int4 code 0; lowbit truncates it first."""
    if era == "ml_dtypes_0.7" or src != "float64" or tgt not in ("int2", "int4"):
        return np.zeros(x.shape, dtype=bool)
    with np.errstate(invalid="ignore"):
        return (x > 2.0**31 - 1) & (x < 2.0**31)


def test_era_files_are_the_profiles_eras():
    assert set(ERA_FILES) == set(ML_DTYPES_ERAS) == {"ml_dtypes_0.5", "ml_dtypes_0.5.1", "ml_dtypes_0.7"}
    for era, rec in ERA_FILES.items():
        assert tuple(str(v) for v in rec["versions"]) == ML_DTYPES_ERAS[era]
        assert era in PROFILES
        assert str(rec["inputs_sha256"]) == RECORD.inputs_digest(INPUTS)
        assert set(str(t) for t in rec["targets"]) == set(str(t) for t in INPUTS["targets"])


@pytest.mark.parametrize("era,key", ENC_CASES)
def test_era_profile_reproduces_every_recorded_code(era, key):
    _, src, tgt = key.split("__")
    x = _inputs(src)
    expect = ERA_FILES[era][key]
    got = lowbit.encode(x, tgt, profile=era)
    assert got.dtype == lowbit.format(tgt).code_dtype and got.shape == expect.shape
    gap = _known_gap(era, src, tgt, x)
    bad = np.flatnonzero((got != expect) & ~gap)
    with np.errstate(invalid="ignore"):
        v = x.astype(np.float64)
    assert bad.size == 0, (f"{bad.size} codes differ (input, lowbit, ml_dtypes): "
                           f"{[(repr(float(v[i])), hex(int(got[i])), hex(int(expect[i]))) for i in bad[:6]]}")
    if gap.any():  # the documented gap is exactly what it says, no more
        assert (expect[gap] == 0).all() and (got[gap] != 0).all() and gap.sum() == 3


@pytest.mark.parametrize("era,key", DEC_CASES)
def test_era_recorded_decode_equals_lowbit_decode(era, key):
    """Decoding never changed between releases; lowbit's decode gives every value (NaN codes:
    a NaN of the same sign)."""
    _, tgt, dst = key.split("__")
    fmt = lowbit.format(tgt)
    expect = ERA_FILES[era][key].view(np.float32 if dst == "float32" else np.float64)
    got = lowbit.decode(np.arange(fmt.num_codes, dtype=np.uint32).astype(fmt.code_dtype), fmt, dst)
    nan = np.isnan(expect)
    np.testing.assert_array_equal(np.isnan(got), nan)
    np.testing.assert_array_equal(got[~nan].view(np.uint32 if dst == "float32" else np.uint64),
                                  expect[~nan].view(np.uint32 if dst == "float32" else np.uint64))
    np.testing.assert_array_equal(np.signbit(got[nan]), np.signbit(expect[nan]))


def test_every_recorded_version_maps_to_its_era():
    for era, rec in ERA_FILES.items():
        for v in rec["versions"]:
            assert ml_dtypes_profile_for(str(v)) == era, v
    assert ml_dtypes_profile_for("0.5.2") == "ml_dtypes_0.5.1"
    assert ml_dtypes_profile_for("0.6.1") == "ml_dtypes_0.5.1"
    assert ml_dtypes_profile_for("0.7.1.dev20260101") == "ml_dtypes_0.7"
    assert ml_dtypes_profile_for("0.9.0") == "ml_dtypes_0.7"  # newer than every era: the newest
    with pytest.raises(ValueError, match="older than every recorded"):
        ml_dtypes_profile_for("0.4.1")
    with pytest.raises(ValueError, match="unreadable"):
        ml_dtypes_profile_for("x")


def test_profile_ml_dtypes_is_the_installed_era():
    era = ml_dtypes_profile_for(ml_dtypes.__version__)
    for name in INPUTS["targets"]:
        fmt = lowbit.format(str(name))
        for src in VIEW:
            assert resolve("ml_dtypes", fmt, np.dtype(VIEW[src])) == resolve(era, fmt, np.dtype(VIEW[src]))


def test_installed_ml_dtypes_gives_its_eras_recording():
    """The recording of the installed version's era is what the installed library gives."""
    era = ml_dtypes_profile_for(ml_dtypes.__version__)
    if ml_dtypes.__version__ not in ML_DTYPES_ERAS[era]:
        pytest.skip(f"ml_dtypes {ml_dtypes.__version__} was not recorded")
    rec = ERA_FILES[era]
    widths = dict(zip((str(t) for t in INPUTS["targets"]), (int(b) for b in INPUTS["target_bits"])))
    for key in rec:
        if not key.startswith("enc__"):
            continue
        _, src, tgt = key.split("__")
        dt = RECORD._dtype(tgt)
        try:
            with np.errstate(all="ignore"):
                y = _inputs(src).astype(dt)
        except TypeError:
            assert any(f": {src} -> {tgt}" in str(r) and str(r).startswith(ml_dtypes.__version__)
                       for r in rec["refused"]), key
            continue
        np.testing.assert_array_equal(RECORD.codes_of(y, dt, widths[tgt]), rec[key], err_msg=key)


def test_record_script_does_not_import_lowbit():
    import ast

    tree = ast.parse((REF / "record.py").read_text())
    names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    names += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert names and not any(m.split(".")[0] == "lowbit" for m in names), names


def test_make_inputs_rebuilds_inputs():
    built = _load_script("make_inputs").build()
    assert sorted(built) == sorted(INPUTS.files)
    for k, v in built.items():
        np.testing.assert_array_equal(v, INPUTS[k], err_msg=k)


# ---------------------------------------------------------------------------------------
# the rules the eras added, each on its own (exact arithmetic / numpy as references)
# ---------------------------------------------------------------------------------------
def test_rule_overflow_zero_and_wrap_int32():
    x = np.array([7.9, 8.0, -8.5, -9.0, 17.0, 2.0**31 + 5, 2.0**31 - 1, -(2.0**31) - 3, np.inf, np.nan])
    zero = lowbit.encode(x, "int4", rounding="toward_zero", overflow="zero", nan="zero")
    assert zero.tolist() == [0x7, 0x0, 0x8, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0]
    w32 = lowbit.encode(x, "int8", rounding="toward_zero", overflow="wrap_int32", nan="zero")
    with np.errstate(invalid="ignore"):
        assert w32.tolist() == x.astype(np.int8).view(np.uint8).tolist()  # numpy's C cast (x86-64)
    assert w32.tolist() == [7, 8, 0xF8, 0xF7, 17, 0, 0xFF, 0, 0, 0]
    wrap = lowbit.encode(x[:7], "int8", rounding="toward_zero", overflow="wrap")
    assert wrap[5] == 5  # plain wrap: modulo 2^8 of the exact integer
    with pytest.raises(ValueError, match="overflow='zero' applies to integer formats only"):
        lowbit.encode(x, "float8_e4m3fn", overflow="zero")


def test_rule_code0_as_zero_even_and_float64_via_float32():
    x = np.array([0.75, 1.5, 3 * 2.0**-126, 3 * 2.0**-127, 2.0**-127, 1.25 * 2.0**-127], np.float32)
    # ties 1.5·2^e: to the even code (as_zero_even) or up; below 2^-126: code 0 as zero or as 2^-127
    assert lowbit.encode(x, "float8_e8m0fnu", code0="as_zero_even").tolist() == [0x7E, 0x80, 0x02, 0x02, 0x00, 0x01]
    assert lowbit.encode(x, "float8_e8m0fnu", code0="as_zero").tolist() == [0x7F, 0x80, 0x03, 0x02, 0x00, 0x01]
    assert lowbit.encode(x, "float8_e8m0fnu", code0="value").tolist() == [0x7F, 0x80, 0x03, 0x02, 0x00, 0x00]
    d = np.array([2.0**-10 * (1 + 2.0**-52), 5e-324, 0.1])
    once = lowbit.encode(d, "float8_e4m3fn")
    twice = lowbit.encode(d, "float8_e4m3fn", float64_input="via_float32")
    np.testing.assert_array_equal(twice, lowbit.encode(d.astype(np.float32), "float8_e4m3fn"))
    assert once[0] == 0x01 and twice[0] == 0x00
    assert lowbit.encode(d[1:2], "float8_e8m0fnu", code0="as_zero", float64_input="via_float32")[0] == 0xFF
