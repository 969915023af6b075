"""Exhaustive: every float16 and every bfloat16 input (all 65,536 bit patterns each: ±0,
subnormals, every normal, ±Inf, every NaN payload of both signs), encoded to every format
numpy/ml_dtypes has, bit-exact with ``x.astype(dtype)`` under ``profile="ml_dtypes"``.

The same values are also given widened to float32 and float64 (exact), so every source-dtype
path of the codec is covered; the reference is always ml_dtypes' cast *from that same dtype*.
ml_dtypes' integer casts (int2/int4, numpy int8) truncate toward zero and wrap modulo 2^bits;
NaN and out-of-range casts to integers are C-undefined, and the reference is whatever this
platform's numpy/ml_dtypes give (0 for NaN; wrap for the finite values here, |x| <= 2^128).
"""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest
from test_codec_references import ML_DTYPES, ml_codes

import lowbit
from test_codec_references import serial_numba  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("serial_numba")

_ALL16 = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16)
SOURCES = {
    "float16": _ALL16.view(np.float16),
    "bfloat16": _ALL16.view(ml_dtypes.bfloat16),
}
WIDEN = {"self": None, "float32": np.float32, "float64": np.float64}


def _inputs(src, widen):
    x = SOURCES[src]
    if WIDEN[widen] is not None:
        with np.errstate(invalid="ignore"):
            x = x.astype(WIDEN[widen])
    return x


def _isnan(x):
    with np.errstate(invalid="ignore"):
        return np.isnan(x.astype(np.float64))


def _mismatches(got, expect, x):
    bad = np.flatnonzero(got != expect)
    return [(repr(x[i]), hex(int(x.view(np.uint16 if x.itemsize == 2 else np.uint32 if x.itemsize == 4 else np.uint64)[i])),
             hex(int(got[i])), hex(int(expect[i]))) for i in bad[:6]], bad.size


@pytest.mark.parametrize("widen", list(WIDEN))
@pytest.mark.parametrize("src", list(SOURCES))
@pytest.mark.parametrize("name", list(ML_DTYPES))
def test_every_16bit_input_equals_ml_dtypes(name, src, widen):
    x = _inputs(src, widen)
    try:
        expect = ml_codes(x, name)
    except TypeError as err:  # ml_dtypes before 0.5.4 has no bfloat16 -> int4 / int2 cast
        pytest.skip(f"ml_dtypes {ml_dtypes.__version__} cannot cast {x.dtype} to {name}: {err}")
    got = lowbit.encode(x, name, profile="ml_dtypes")
    assert got.dtype == lowbit.format(name).code_dtype and got.shape == x.shape
    bad, count = _mismatches(got, expect, x)
    assert count == 0, f"{count} inputs differ (input, bits, lowbit, ml_dtypes): {bad}"


def test_exhaustive_sets_are_exhaustive():
    """The inputs really are every bit pattern, with the specials the docstring promises."""
    for x in SOURCES.values():
        bits = x.view(np.uint16)
        assert np.unique(bits).size == 1 << 16
        with np.errstate(invalid="ignore"):
            v = x.astype(np.float64)
        assert np.isnan(v).sum() > 200 and np.isinf(v).sum() == 2 and (v == 0).sum() == 2


@pytest.mark.parametrize("src", list(SOURCES))
def test_nan_rule_payload_is_numpy_widening_into_float32(src):
    """The NaN rules the profile uses, checked on their own: nan='payload' (keep sign and
    payload, no quieting) is numpy's float16 -> float32 and ml_dtypes' bfloat16 -> float32."""
    x = SOURCES[src]
    nan = _isnan(x)
    np.testing.assert_array_equal(lowbit.encode(x[nan], "float32", nan="payload"), ml_codes(x[nan], "float32"))


def test_nan_rule_quiet_payload_is_numpy_float64_to_float32():
    """nan='quiet_payload' (IEEE 754-2019 §6.2.3: sign and top payload bits kept, quiet bit set)
    is numpy's float64 -> float32 cast, on NaNs with random payloads, signalling ones included."""
    rng = np.random.default_rng(3)
    payload = rng.integers(1, 1 << 52, size=20000, dtype=np.uint64)
    payload[:52] = np.uint64(1) << np.arange(52, dtype=np.uint64)  # each single payload bit
    sign = rng.integers(0, 2, size=payload.size, dtype=np.uint64) << np.uint64(63)
    x = (sign | np.uint64(0x7FF0000000000000) | payload).view(np.float64)
    np.testing.assert_array_equal(lowbit.encode(x, "float32", nan="quiet_payload"), ml_codes(x, "float32"))
    # and 'payload' (no quieting) is numpy's float64 -> float16 cast
    np.testing.assert_array_equal(lowbit.encode(x, "float16", nan="payload"), ml_codes(x, "float16"))


@pytest.mark.parametrize("name", ["float8_e4m3fn", "float4_e2m1fn", "int8"])
def test_every_thread_count_gives_the_same_codes(name):
    """The module runs the kernels on one thread (see serial_numba); here the same inputs go
    through the parallel loops on every available thread, on both encode paths (kernel below
    2^18 elements, table above) and through decode: identical codes, equal to ml_dtypes."""
    import numba

    x = SOURCES["bfloat16"].astype(np.float32)
    big = np.tile(x, 4)
    expect, expect_big = ml_codes(x, name), ml_codes(big, name)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        assert numba.get_num_threads() == numba.config.NUMBA_NUM_THREADS
        np.testing.assert_array_equal(lowbit.encode(x, name, profile="ml_dtypes"), expect)
        np.testing.assert_array_equal(lowbit.encode(big, name, profile="ml_dtypes"), expect_big)
        codes = np.tile(np.arange(lowbit.format(name).num_codes, dtype=np.uint16), 300).astype(lowbit.format(name).code_dtype)
        many = lowbit.decode(codes, name)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(many.view(np.uint64), lowbit.decode(codes, name).view(np.uint64))
