"""Profiles ``torch`` and ``torchao`` against the real packages (optional: ``pip install .[crosscheck]``).

Reference: torch's own CPU casts (``x.to(torch.float8_*)``) and torchao's element conversions
(``torchao.prototype.custom_fp_utils._f32_to_floatx_unpacked``, the FP6/FP4 code of its MX
formats).  Inputs: all 65,536 float16 and bfloat16 bit patterns (NaNs of both signs included)
and float32 edge sets (every midpoint of the target format and its float32 neighbours, the
overflow thresholds, the H100 recording's 613,479 inputs).  Skipped, with the reason, where
torch or torchao is absent.
"""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

import lowbit
from lowbit.profiles import torch_profile_for
from test_profiles import all_16bit, float32_edges

torch = pytest.importorskip("torch", reason="torch not installed: pip install '.[crosscheck]'")
pytestmark = pytest.mark.crosscheck

# torch 2.13 made E4M3 casts saturate (PyTorch PR #178817); older releases: torch_2.11.
TORCH_PROFILE = torch_profile_for(torch.__version__)
TORCH_DTYPES = {"float8_e4m3fn": torch.float8_e4m3fn, "float8_e5m2": torch.float8_e5m2,
                "float8_e8m0fnu": torch.float8_e8m0fnu}
if TORCH_PROFILE == "torch":  # the fnuz formats are in profile `torch` only (checked on torch 2.13)
    TORCH_DTYPES.update({"float8_e4m3fnuz": torch.float8_e4m3fnuz, "float8_e5m2fnuz": torch.float8_e5m2fnuz})
NP_TO_TORCH = {np.dtype(np.float32): torch.float32, np.dtype(np.float16): torch.float16,
               np.dtype(ml_dtypes.bfloat16): torch.bfloat16}


def h100_inputs() -> np.ndarray:
    import importlib.util
    from pathlib import Path

    here = Path(__file__).resolve().parents[1] / "vectors" / "hardware" / "h100"
    spec = importlib.util.spec_from_file_location("casts_build", here / "casts_build.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.load()["x_f32"]


def torch_codes(x: np.ndarray, fmt_name: str) -> np.ndarray:
    bits = {2: np.int16, 4: np.int32}[x.dtype.itemsize]
    t = torch.from_numpy(x.view(bits).copy()).view(NP_TO_TORCH[x.dtype])
    return t.to(TORCH_DTYPES[fmt_name]).view(torch.uint8).numpy()


def assert_same(x, got, want, what, fmt, profile):
    """Every code equal, NaN codes included."""
    bad = np.nonzero(got != want)[0]
    assert bad.size == 0, (f"{what}: {bad.size} of {x.size} codes differ; first x={x[bad[0]]!r} "
                           f"reference {want[bad[0]]:#04x} lowbit {got[bad[0]]:#04x}")


SOURCES_16 = {"float16": np.float16, "bfloat16": ml_dtypes.bfloat16}


@pytest.mark.parametrize("fmt_name", list(TORCH_DTYPES))
@pytest.mark.parametrize("src", list(SOURCES_16))
def test_torch_exhaustive_16bit_sources(fmt_name, src):
    x = all_16bit(SOURCES_16[src])
    fmt = lowbit.format(fmt_name)
    got = lowbit.encode(x, fmt, profile=TORCH_PROFILE)
    assert_same(x, got, torch_codes(x, fmt_name), f"torch {torch.__version__} {src}->{fmt_name}", fmt, TORCH_PROFILE)


@pytest.mark.parametrize("fmt_name", list(TORCH_DTYPES))
def test_torch_float32_edges(fmt_name):
    fmt = lowbit.format(fmt_name)
    x = np.concatenate([float32_edges(fmt), h100_inputs()])
    got = lowbit.encode(x, fmt, profile=TORCH_PROFILE)
    assert_same(x, got, torch_codes(x, fmt_name), f"torch {torch.__version__} float32->{fmt_name}", fmt, TORCH_PROFILE)


def test_torch_e8m0_rounding_edges():
    """E8M0: powers of two, 1.5·2^e (the tie) and its float32 neighbours, float32 subnormals
    around 2^-127, both signs, 0 and -0."""
    e = np.arange(-149, 128)
    pts = np.concatenate([np.ldexp(1.0, e), np.ldexp(1.5, e[e < 127]), np.ldexp(1.0, e) * 0.75]).astype(np.float32)
    bits = pts[pts > 0].view(np.uint32).astype(np.int64)
    near = np.unique((bits[:, None] + np.arange(-2, 3)[None, :]).reshape(-1))
    near = near[(near > 0) & (near < 0x7F800000)].astype(np.uint32).view(np.float32)
    x = np.concatenate([near, -near, np.array([0.0, -0.0], np.float32)])
    got = lowbit.encode(x, "float8_e8m0fnu", profile=TORCH_PROFILE)
    np.testing.assert_array_equal(got, torch_codes(x, "float8_e8m0fnu"))


@pytest.mark.parametrize("fmt_name", ["float8_e4m3fn", "float8_e5m2"])
@pytest.mark.parametrize("src", ["float32", "float16", "bfloat16"])
def test_torch_nan_codes(fmt_name, src, request):
    """torch's NaN code: input sign kept, every other bit set (0x7F/0xFF), any payload."""
    fmt = lowbit.format(fmt_name)
    dt = {"float32": np.float32, "float16": np.float16, "bfloat16": ml_dtypes.bfloat16}[src]
    x = all_16bit(dt) if src != "float32" else float32_edges(fmt)
    x = x[np.isnan(x.astype(np.float32))]
    assert x.size > 4
    np.testing.assert_array_equal(lowbit.encode(x, fmt, profile=TORCH_PROFILE), torch_codes(x, fmt_name))


# ---------------------------------------------------------------------------------------
# torchao
# ---------------------------------------------------------------------------------------
TORCHAO_SUBBYTE = {"float4_e2m1fn": (2, 1), "float6_e2m3fn": (2, 3), "float6_e3m2fn": (3, 2)}


@pytest.mark.parametrize("fmt_name", list(TORCHAO_SUBBYTE))
def test_torchao_fp6_fp4_elements(fmt_name):
    pytest.importorskip("torchao", reason="torchao not installed: pip install '.[crosscheck]'")
    from torchao.prototype.custom_fp_utils import _f32_to_floatx_unpacked

    fmt = lowbit.format(fmt_name)
    x = np.concatenate([float32_edges(fmt), all_16bit(ml_dtypes.bfloat16).astype(np.float32)])
    x = x[~np.isnan(x)]  # torchao's NaN codes depend on the payload bits: a documented gap
    want = _f32_to_floatx_unpacked(torch.from_numpy(x.copy()), *TORCHAO_SUBBYTE[fmt_name]).numpy()
    got = lowbit.encode(x, fmt, profile="torchao")
    assert_same(x, got, want, f"torchao {fmt_name}", fmt, "torchao")


@pytest.mark.parametrize("fmt_name", ["float8_e4m3fn", "float8_e5m2"])
def test_torchao_fp8_elements(fmt_name):
    """torchao's FP8 element cast: ``torch.clamp(x, -max, max).to(dtype)`` (mx_tensor.to_mx)."""
    fmt = lowbit.format(fmt_name)
    x = np.concatenate([float32_edges(fmt), all_16bit(ml_dtypes.bfloat16).astype(np.float32)])
    t = torch.from_numpy(x.copy())
    want = torch.clamp(t, min=-fmt.max_finite, max=fmt.max_finite).to(TORCH_DTYPES[fmt_name]).view(torch.uint8).numpy()
    got = lowbit.encode(x, fmt, profile="torchao")
    assert_same(x, got, want, f"torchao {fmt_name}", fmt, "torchao")


def test_torch_float64_is_narrowed_to_float32_first():
    """Why profile ``torch`` refuses float64 sources: torch casts float64 through float32 (two
    roundings), so 1.0625 + 2^-40 (above the E4M3 tie 1.0625) gives 1.0, not 1.125."""
    x = np.array([1.0625 + 2.0**-40, -(1.0625 + 2.0**-40), 1.5 * 2.0**-127 - 2.0**-180], np.float64)
    t = torch.from_numpy(x)
    for fmt_name in ("float8_e4m3fn", "float8_e8m0fnu"):
        direct = t.to(TORCH_DTYPES[fmt_name]).view(torch.uint8).numpy()
        via32 = t.float().to(TORCH_DTYPES[fmt_name]).view(torch.uint8).numpy()
        np.testing.assert_array_equal(direct, via32)
    once = lowbit.encode(x[:1], "float8_e4m3fn", profile="ocp")  # one rounding: 1.125
    assert lowbit.decode(once, "float8_e4m3fn")[0] == 1.125
    assert t[:1].to(torch.float8_e4m3fn).float().item() == 1.0
    with pytest.raises(ValueError, match="does not convert from float64"):
        lowbit.encode(x, "float8_e4m3fn", profile="torch")
