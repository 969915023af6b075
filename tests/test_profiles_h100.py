"""Profiles ``ptx`` and ``torch_2.11`` reproduce every code an H100 produced.

Reference: ``vectors/hardware/h100/casts_h100.npz``, the project's lossless copy of
``shared/hardware/h100/casts.npz`` (recorded on an NVIDIA H100 with torch 2.11 and Triton 3.6;
provenance in ``vectors/hardware/h100/README.md``).  Nothing here comes from lowbit.

The float16 / bfloat16 sources of the recordings were made on the GPU by ``x.to(dtype)``:
round to nearest even (here: numpy / ml_dtypes, an independent implementation) with every
NaN written as the positive canonical NaN 0x7FFF (CUDA's ``__float2bfloat16`` and
``cvt.rn.f16.f32``), so those NaN inputs carry a + sign.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import ml_dtypes
import numpy as np
import pytest

import lowbit

ROOT = Path(__file__).resolve().parents[1]
H100 = ROOT / "vectors" / "hardware" / "h100"
SHARED = ROOT.parent / "shared" / "hardware" / "h100" / "casts.npz"

_spec = importlib.util.spec_from_file_location("casts_build", H100 / "casts_build.py")
casts_build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(casts_build)

FORMATS = {"e4m3": "float8_e4m3fn", "e5m2": "float8_e5m2", "e8m0": "float8_e8m0fnu"}
PROFILE_OF = {"torch": "torch_2.11", "triton": "ptx"}
ARRAYS = [f"{s}_{src}_to_{f}" for s in ("torch", "triton") for src in ("f32", "bf16", "f16")
          for f in ("e4m3", "e5m2", "e8m0") if not (f == "e8m0" and (s == "triton" or src != "f32"))]


@pytest.fixture(scope="module")
def casts():
    return casts_build.load()


def gpu_source(x: np.ndarray, src: str) -> np.ndarray:
    """The source array as the GPU made it from the float32 inputs."""
    if src == "f32":
        return x
    with np.errstate(over="ignore", invalid="ignore"):
        y = x.astype(np.float16 if src == "f16" else ml_dtypes.bfloat16)
    nan = np.isnan(x)
    y[nan] = np.abs(y[nan])  # the GPU's canonical NaN 0x7FFF is positive
    return y


def case(casts, name):
    system, src, _, f = name.split("_")
    x = casts["x_f32"]
    codes = lowbit.encode(gpu_source(x, src), FORMATS[f], profile=PROFILE_OF[system])
    return x, codes, casts[name], PROFILE_OF[system], lowbit.format(FORMATS[f])


def test_every_array_is_checked(casts):
    assert sorted(ARRAYS) == sorted(k for k in casts if k != "x_f32")
    x = casts["x_f32"]
    assert x.size == 613_479 and np.isnan(x).sum() == 785
    assert x[np.isinf(x)].tolist() == [np.inf]  # the recording has +Inf only, no -Inf


@pytest.mark.parametrize("name", ARRAYS)
def test_every_non_nan_code(casts, name):
    x, got, want, prof, fmt = case(casts, name)
    keep = ~np.isnan(x)
    bad = np.nonzero(got[keep] != want[keep])[0]
    assert bad.size == 0, (
        f"{name}: {bad.size} codes differ from profile {prof!r}; first: x={x[keep][bad[0]]!r} "
        f"H100 {want[keep][bad[0]]:#04x} lowbit {got[keep][bad[0]]:#04x}")


@pytest.mark.parametrize("name", ARRAYS)
def test_every_nan_code(casts, name):
    x, got, want, prof, fmt = case(casts, name)
    nan = np.isnan(x)
    assert np.array_equal(got[nan], want[nan]), (
        f"{name}: NaN codes of profile {prof!r} {sorted(set(got[nan].tolist()))} "
        f"!= H100 {sorted(set(want[nan].tolist()))}")


def test_nan_codes_seen_on_the_h100(casts):
    """The NaN rule, read from the data: torch keeps the source NaN's sign with every other
    bit set (0x7F / 0xFF) in E4M3 and E5M2; the GPU-made float16/bfloat16 sources are all
    +NaN; the cvt instruction gives 0x7F for every NaN; E8M0 gives 0xFF."""
    x = casts["x_f32"]
    nan = np.isnan(x)
    neg = np.signbit(x)
    for f in ("e4m3", "e5m2"):
        c = casts[f"torch_f32_to_{f}"]
        assert set(c[nan & ~neg]) == {0x7F} and set(c[nan & neg]) == {0xFF}
        for src in ("f16", "bf16"):
            assert set(casts[f"torch_{src}_to_{f}"][nan]) == {0x7F}
        for src in ("f32", "f16", "bf16"):
            assert set(casts[f"triton_{src}_to_{f}"][nan]) == {0x7F}
    assert set(casts["torch_f32_to_e8m0"][nan]) == {0xFF}


def test_copy_equals_the_recording(casts):
    if not SHARED.exists():
        pytest.skip(f"the original recording is not beside the repository ({SHARED})")
    with np.load(SHARED) as z:
        assert sorted(z.files) == sorted(casts)
        for k in z.files:
            assert z[k].dtype == casts[k].dtype and np.array_equal(z[k].view(np.uint8), casts[k].view(np.uint8)), k


def test_copy_rebuilds_byte_identical(tmp_path, monkeypatch):
    if not SHARED.exists():
        pytest.skip(f"the original recording is not beside the repository ({SHARED})")
    monkeypatch.setattr(casts_build, "OUT", tmp_path / "casts_h100.npz")
    assert casts_build.main(str(SHARED)) == 0
    assert (tmp_path / "casts_h100.npz").read_bytes() == (H100 / "casts_h100.npz").read_bytes()
