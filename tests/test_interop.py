"""lowbit.matmul and lowbit.encode on arrays as users hold them: ml_dtypes arrays (the format from
the dtype) and torch tensors (their bits; torch tests skip where torch is absent)."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

import lowbit


@pytest.mark.parametrize("dt,name", [(ml_dtypes.bfloat16, "bfloat16"), (np.float16, "float16"),
                                     (ml_dtypes.float8_e4m3fn, "float8_e4m3fn"), (ml_dtypes.float8_e5m2, "float8_e5m2"),
                                     (ml_dtypes.float4_e2m1fn, "float4_e2m1fn"), (ml_dtypes.float6_e3m2fn, "float6_e3m2fn")])
def test_matmul_takes_ml_dtypes_arrays_as_their_codes(dt, name):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(5, 40)).astype(dt)
    y = rng.normal(size=(40, 4)).astype(dt)
    fmt = lowbit.format(name)
    cx, cy = (v.view({1: np.uint8, 2: np.uint16}[v.dtype.itemsize]) & ((1 << fmt.bits) - 1) for v in (x, y))
    want = lowbit.matmul(cx, cy, name, name, accumulator="exact")
    assert np.array_equal(lowbit.matmul(x, y, accumulator="exact"), want)
    assert np.array_equal(lowbit.matmul(x, y, name, name, accumulator="exact"), want)
    # and the exact sum of the values ml_dtypes itself decodes
    exact = (x.astype(np.float64) @ y.astype(np.float64)).astype(np.float32)
    assert np.allclose(want, exact, rtol=1e-6, atol=0)


def test_format_from_dtype_errors_name_what_is_wrong():
    x = np.zeros((2, 4), ml_dtypes.bfloat16)
    with pytest.raises(TypeError, match="holds bfloat16 codes .*, but a_format='float16'"):
        lowbit.matmul(x, x.T.copy(), "float16", None, accumulator="exact")
    with pytest.raises(TypeError, match="integer codes need their format"):
        lowbit.matmul(np.zeros((2, 4), np.uint8), np.zeros((4, 2), np.uint8), accumulator="exact")
    with pytest.raises(TypeError, match="dtype complex128 is neither integer codes nor a format"):
        lowbit.matmul(np.zeros((2, 4), complex), x.T.copy(), accumulator="exact")


@pytest.mark.crosscheck
def test_torch_tensors_as_operands_and_values():
    torch = pytest.importorskip("torch")
    g = torch.Generator().manual_seed(0)
    a = torch.randn(6, 64, generator=g)
    b = torch.randn(64, 5, generator=g)
    for tdt, name in ((torch.bfloat16, "bfloat16"), (torch.float16, "float16"), (torch.float8_e4m3fn, "float8_e4m3fn")):
        ta, tb = a.to(tdt), b.to(tdt)
        view = torch.uint8 if tdt == torch.float8_e4m3fn else torch.int16
        ca = ta.view(view).numpy().view(np.uint8 if view == torch.uint8 else np.uint16)
        cb = tb.view(view).numpy().view(np.uint8 if view == torch.uint8 else np.uint16)
        want = lowbit.matmul(ca, cb, name, name, accumulator="exact")
        assert np.array_equal(lowbit.matmul(ta, tb, accumulator="exact"), want)
    # encode: a float tensor's values, bfloat16 included, exactly as the numpy arrays
    for tdt in (torch.float32, torch.bfloat16, torch.float16):
        t = a.to(tdt)
        arr = t.float().numpy().astype(np.float64)
        assert np.array_equal(lowbit.encode(t, "float8_e4m3fn"), lowbit.encode(arr, "float8_e4m3fn"))
