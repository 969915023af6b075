"""profile="torchao" against torchao from PyPI on CPU (eager): to_mx for every
ScaleCalculationMode and element dtype, nvfp4_quantize with and without a per-tensor scale,
their dequantize, pack_uint4 and to_blocked."""

from pathlib import Path

import numpy as np
import pytest

import lowbit.mx as mx

torch = pytest.importorskip("torch", reason="crosscheck needs torch (pip install torch==2.13.0, CPU)")
pytest.importorskip("torchao", reason="crosscheck needs torchao from PyPI")
from torchao.prototype.mx_formats.config import ScaleCalculationMode  # noqa: E402
from torchao.prototype.mx_formats.kernels import pack_uint4, unpack_uint4  # noqa: E402
from torchao.prototype.mx_formats.mx_tensor import to_dtype, to_mx  # noqa: E402
from torchao.prototype.mx_formats.nvfp4_tensor import nvfp4_quantize, per_tensor_amax_to_scale  # noqa: E402
from torchao.prototype.mx_formats.utils import from_blocked, to_blocked  # noqa: E402

pytestmark = pytest.mark.crosscheck

REF = Path(__file__).resolve().parent.parent / "vectors" / "reference" / "mx"
DTYPES = {"mxfp8_e4m3": torch.float8_e4m3fn, "mxfp8_e5m2": torch.float8_e5m2, "mxfp6_e2m3": "fp6_e2m3",
          "mxfp6_e3m2": "fp6_e3m2", "mxfp4": torch.float4_e2m1fn_x2}


def _inputs() -> np.ndarray:
    """The 160 telling rows of the microxcaling reference, 64 rows over the float32 range,
    rows of near-power-of-two and near-max_pos magnitudes, and NaN/Inf placements."""
    x = [np.load(REF / "microxcaling.npz")["x"], np.load(REF / "microxcaling_edges.npz")["x"]]
    rng = np.random.default_rng(1)
    x.append((rng.standard_normal((64, 256)) * np.exp2(rng.integers(-149, 128, (64, 1)))).astype(np.float32))
    near = []
    for k in range(-130, 128, 4):
        for m in (1.0, 1.5, 1.75, 1.875, 1.96875):
            v = np.float32(m * 2.0 ** k)
            near += [v, np.nextafter(v, np.float32(0)), np.nextafter(v, np.float32(np.inf))]
    near = np.array(near, np.float32)
    near = np.concatenate([near, np.zeros((-near.size) % 256, np.float32)]).reshape(-1, 256)
    x.append(near)
    x.append(near[:, ::-1].copy() * np.float32(-1))
    nan = np.ones((4, 256), np.float32)
    nan[0, 5] = np.nan
    nan[1, 70] = -np.nan
    nan[2, 3], nan[2, 4] = np.inf, np.nan
    nan[3, 40] = -np.inf
    x.append(nan)
    return np.ascontiguousarray(np.concatenate(x)[:, :256])


X = _inputs()


@pytest.mark.parametrize("mode", ["floor", "ceil", "even", "rceil"])
@pytest.mark.parametrize("name", list(DTYPES))
def test_to_mx_scales_and_elements(name, mode):
    s, q = to_mx(torch.from_numpy(X.copy()), DTYPES[name], 32, ScaleCalculationMode(mode))
    s = s.view(torch.uint8).numpy()
    q = unpack_uint4(q.view(torch.uint8)).numpy() if name == "mxfp4" else q.view(torch.uint8).numpy()
    r = mx.quantize(X, name, profile="torchao", scale_rule=mode)
    np.testing.assert_array_equal(r.scales, s)
    np.testing.assert_array_equal(r.elements, q)


@pytest.mark.parametrize("name", list(DTYPES))
def test_to_mx_bfloat16_input(name):
    xb = torch.from_numpy(X[:40].copy()).to(torch.bfloat16)
    s, q = to_mx(xb, DTYPES[name], 32, ScaleCalculationMode.FLOOR)
    import ml_dtypes

    r = mx.quantize(xb.view(torch.int16).numpy().view(ml_dtypes.bfloat16), name, profile="torchao")
    np.testing.assert_array_equal(r.scales, s.view(torch.uint8).numpy())
    q = unpack_uint4(q.view(torch.uint8)).numpy() if name == "mxfp4" else q.view(torch.uint8).numpy()
    np.testing.assert_array_equal(r.elements, q)


@pytest.mark.parametrize("name", list(DTYPES))
def test_dequantize_matches_to_dtype(name):
    xf = X[:200]
    s, q = to_mx(torch.from_numpy(xf.copy()), DTYPES[name], 32, ScaleCalculationMode.FLOOR)
    ref = to_dtype(q, s, DTYPES[name], 32, torch.float32).numpy()
    got = mx.quantize(xf, name, profile="torchao").dequantize()
    same = (got.view(np.uint32) == ref.view(np.uint32)) | (np.isnan(got) & np.isnan(ref))
    assert same.all(), np.argwhere(~same)[:5]


@pytest.mark.parametrize("ts", [None, 0.37, 3e-5, 2.0 ** 20, "amax"])
def test_nvfp4_quantize(ts):
    x = np.ascontiguousarray(X.reshape(-1, 256))
    if ts == "amax":
        ts = per_tensor_amax_to_scale(torch.tensor(float(np.nanmax(np.abs(X[:160][np.isfinite(X[:160])]))))).item()
    t = None if ts is None else torch.tensor(ts, dtype=torch.float32)
    s, q = nvfp4_quantize(torch.from_numpy(x.copy()), 16, t)
    r = mx.quantize(x, "nvfp4", profile="torchao", tensor_scale=ts)
    np.testing.assert_array_equal(r.scales, s.view(torch.uint8).numpy())
    np.testing.assert_array_equal(r.elements, unpack_uint4(q.view(torch.uint8)).numpy())


@pytest.mark.parametrize("ts", [None, 0.37])
def test_nvfp4_dequantize(ts):
    from torchao.prototype.mx_formats.nvfp4_tensor import NVFP4Tensor

    x = X[:200]
    t = None if ts is None else torch.tensor(ts, dtype=torch.float32)
    ref = NVFP4Tensor.to_nvfp4(torch.from_numpy(x.copy()), 16, t).dequantize(torch.float32).numpy()
    got = mx.quantize(x, "nvfp4", profile="torchao", tensor_scale=ts).dequantize()
    same = (got.view(np.uint32) == ref.view(np.uint32)) | (np.isnan(got) & np.isnan(ref))
    assert same.all(), np.argwhere(~same)[:5]


def test_pack_uint4_and_float4_x2_order():
    rng = np.random.default_rng(2)
    c = rng.integers(0, 16, (7, 64)).astype(np.uint8)
    np.testing.assert_array_equal(mx.pack(c, "mxfp4"), pack_uint4(torch.from_numpy(c)).numpy())
    np.testing.assert_array_equal(mx.unpack(mx.pack(c, 4), 4), unpack_uint4(pack_uint4(torch.from_numpy(c))).numpy())


@pytest.mark.parametrize("shape", [(128, 4), (1, 1), (130, 7), (300, 9), (512, 64)])
def test_swizzle_matches_to_blocked(shape):
    rng = np.random.default_rng(3)
    s = rng.integers(0, 256, shape).astype(np.uint8)
    z = mx.swizzle_scales(s)
    np.testing.assert_array_equal(z.reshape(-1), to_blocked(torch.from_numpy(s)).numpy())
    np.testing.assert_array_equal(from_blocked(torch.from_numpy(z.reshape(-1)), *shape).numpy(), s)


def test_float32_log2_tables_match_torch():
    """The floor/ceil-of-float32-log2 windows used by the microxcaling and torchao profiles,
    against torch.log2 on every float32 value within 4096 ulps of every binade edge."""
    from lowbit.mx._log2 import _binade, tables

    up, down = tables()
    bits = []
    for k in range(-149, 128):
        a, b = _binade(k)
        n = min(b - a, 4096)
        bits.append(np.arange(a, a + n))
        bits.append(np.arange(b - n, b))
    bits = np.unique(np.concatenate(bits)).astype(np.uint32)
    x = bits.view(np.float32)
    t = torch.log2(torch.from_numpy(x.copy())).numpy()
    k = np.floor(np.log2(x.astype(np.float64))).astype(np.int64)
    b = bits.astype(np.int64)
    np.testing.assert_array_equal(np.floor(t).astype(np.int64), k + (b >= up[k + 149]))
    start = np.array([_binade(int(kk))[0] for kk in k])
    np.testing.assert_array_equal(np.ceil(t).astype(np.int64), k + ((b > down[k + 149]) & (b != start)))


@pytest.mark.parametrize("name", ["mxfp8_e4m3", "mxfp4"])
def test_to_mx_swizzled_scales(name):
    x = np.ascontiguousarray(X[:200])
    s, _ = to_mx(torch.from_numpy(x.copy()), DTYPES[name], 32, ScaleCalculationMode.FLOOR, is_swizzled_scales=True)
    r = mx.quantize(x, name, profile="torchao")
    np.testing.assert_array_equal(mx.swizzle_scales(r.scales), s.view(torch.uint8).numpy())
