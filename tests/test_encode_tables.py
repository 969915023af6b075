"""The table-driven encode paths (float32 keyed by bits 31..15 + sticky; every 16-bit input)
against ml_dtypes, on arrays large enough to take them (>= 2^18 elements)."""

import ml_dtypes
import numpy as np
import pytest

import lowbit
from lowbit import codec

SMALL_FLOATS = [n for n, f in lowbit.FORMATS.items()
                if not f.is_int and f.mbits <= 7 and hasattr(ml_dtypes, n) and f.name != "float4_e2m1"]


def _ml(x, name):
    dt = np.dtype(getattr(ml_dtypes, name))
    with np.errstate(all="ignore"):
        return x.astype(dt).view(np.uint16 if dt.itemsize == 2 else np.uint8)


@pytest.fixture(scope="module")
def random_f32():
    rng = np.random.default_rng(20261126)
    bits = rng.integers(0, 2**32, size=1 << 20, dtype=np.uint64).astype(np.uint32)
    return bits.view(np.float32)


@pytest.mark.parametrize("name", SMALL_FLOATS)
def test_f32_table_path_equals_ml_dtypes(name, random_f32):
    assert random_f32.size >= codec._TABLE_MIN_N
    assert codec._encode_table(lowbit.format(name), codec.resolve("ml_dtypes", lowbit.format(name), np.float32),
                               np.dtype(np.float32)) is not None
    got = lowbit.encode(random_f32, name, profile="ml_dtypes")
    np.testing.assert_array_equal(got, _ml(random_f32, name))


@pytest.mark.parametrize("src", [np.float16, ml_dtypes.bfloat16], ids=["float16", "bfloat16"])
@pytest.mark.parametrize("name", SMALL_FLOATS)
def test_16bit_table_path_equals_ml_dtypes(name, src):
    x = np.tile(np.arange(1 << 16, dtype=np.uint32).astype(np.uint16), 5).view(src)
    assert x.size >= codec._TABLE_MIN_N
    np.testing.assert_array_equal(lowbit.encode(x, name, profile="ml_dtypes"), _ml(x, name))


@pytest.mark.parametrize("rounding", ["toward_zero", "up", "down", "odd", "nearest_away"])
def test_f32_table_path_equals_kernel_path_directed(rounding, random_f32):
    """The table is a shortcut, not a second codec: on the same inputs it must give the kernel's
    codes for every deterministic rounding (the kernel path itself is checked against gfloat
    and Fraction arithmetic in test_codec_*)."""
    small = [lowbit.encode(c, "float8_e4m3fn", rounding=rounding) for c in np.array_split(random_f32, 8)]
    np.testing.assert_array_equal(lowbit.encode(random_f32, "float8_e4m3fn", rounding=rounding),
                                  np.concatenate(small))
