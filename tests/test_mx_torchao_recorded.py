"""profile="torchao" against recorded torchao output, without torch.

``vectors/reference/torchao/torchao_<version>.npz`` holds what torchao's eager CPU code gave
(``to_mx`` for every element dtype and ScaleCalculationMode, ``to_dtype``; ``nvfp4_quantize``
and ``NVFP4Tensor`` with and without a per-tensor scale) on fixed float32 and bfloat16 inputs,
recorded by ``vectors/reference/torchao/record.py``.  Every recorded scale code, element code and
dequantized value must come out of ``lowbit.mx.quantize(..., profile="torchao")`` bit for bit.
tests/test_mx_torchao.py runs the same comparison live where torch and torchao are installed.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

import ml_dtypes
import numpy as np
import pytest

import lowbit.mx as mx

REF = Path(__file__).resolve().parent.parent / "vectors" / "reference" / "torchao"
FILES = sorted(REF.glob("torchao_*.npz"))
MX_BLOCK, NV_BLOCK = 32, 16


@lru_cache(maxsize=None)
def _load(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as d:
        return {k: d[k] for k in d.files}


def _mx_cases():
    for p in FILES:
        d = _load(p)
        for src in ("mx", "mx_bf16"):
            for elem, name in zip(d["mx_elements"], d["mx_lowbit_names"]):
                for mode in d["mx_modes"]:
                    yield pytest.param(p, src, str(elem), str(name), str(mode), id=f"{p.stem}-{src}-{elem}-{mode}")


def _nv_cases():
    for p in FILES:
        d = _load(p)
        for src in ("nvfp4", "nvfp4_bf16"):
            for i, case in enumerate(d["nvfp4_cases"]):
                yield pytest.param(p, src, i, str(case), id=f"{p.stem}-{src}-ts_{case}")


def _input(d, src):
    x = d[f"{src}_x"]
    return x.view(ml_dtypes.bfloat16) if x.dtype == np.uint16 else x.view(np.float32)


def _bad_blocks(d, src, got, want):
    """Mismatching blocks as (block index, input category), for the assertion message."""
    base = src.removesuffix("_bf16")
    kind = d[f"{base}_kind"][::2] if src.endswith("_bf16") else d[f"{base}_kind"]  # bf16: every 2nd row
    kind = kind.reshape(-1)
    diff = (got != want).reshape(kind.size, -1).any(axis=1)
    bad = np.flatnonzero(diff)
    return f"{bad.size} blocks differ: " + str([(int(i), str(d[f'{base}_kinds'][kind[i]])) for i in bad[:20]])


def _same_float_bits(got: np.ndarray, want_bits: np.ndarray) -> np.ndarray:
    want = want_bits.view(np.float32)
    return (got.view(np.uint32) == want_bits) | (np.isnan(got) & np.isnan(want))


def test_recording_present():
    assert FILES, f"no torchao_*.npz in {REF}"
    for p in FILES:
        d = _load(p)
        assert p.stem == f"torchao_{d['torchao_version']}"
        assert str(d["torch_version"]) and str(d["torchao_version"])
        # every element dtype and scale calculation mode of torchao's to_mx is recorded
        assert set(d["mx_lowbit_names"]) == {"mxfp8_e4m3", "mxfp8_e5m2", "mxfp6_e2m3", "mxfp6_e3m2", "mxfp4"}
        assert {"floor", "ceil", "even", "rceil"} <= set(d["mx_modes"])
        assert "none" in set(d["nvfp4_cases"]) and len(d["nvfp4_cases"]) > 1
        assert d["mx_x"].size // MX_BLOCK >= 300 and d["nvfp4_x"].size // NV_BLOCK >= 300


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_recorded_inputs_rebuild(path):
    """record.py's NumPy-only input construction gives the stored inputs bit for bit."""
    spec = importlib.util.spec_from_file_location("_torchao_record", REF / "record.py")
    rec = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(rec)
    d = _load(path)
    for k, v in rec.build_inputs().items():
        assert v.dtype == d[k].dtype and np.array_equal(v, d[k]), k


@pytest.mark.parametrize(("path", "src", "elem", "name", "mode"), list(_mx_cases()))
def test_to_mx_recorded(path, src, elem, name, mode):
    d = _load(path)
    x = _input(d, src)
    r = mx.quantize(x, name, profile="torchao", scale_rule=mode)
    key = f"{src}_{elem}_{mode}"
    want_s, want_e = d[f"{key}_scales"], d[f"{key}_elements"]
    assert r.scales.shape == want_s.shape and r.elements.shape == want_e.shape
    assert np.array_equal(r.scales, want_s), _bad_blocks(d, src, r.scales, want_s)
    assert np.array_equal(r.elements, want_e), _bad_blocks(d, src, r.elements, want_e)
    if f"{key}_dequant" in d:
        same = _same_float_bits(r.dequantize(), d[f"{key}_dequant"])
        assert same.all(), _bad_blocks(d, src, same, np.ones_like(same))


@pytest.mark.parametrize(("path", "src", "i", "case"), list(_nv_cases()))
def test_nvfp4_recorded(path, src, i, case):
    d = _load(path)
    x = _input(d, src)
    bits = d["nvfp4_tensor_scale"][i]
    ts = None if case == "none" else np.array([bits], np.uint32).view(np.float32)[0]
    assert (bits == 0) == (ts is None)
    r = mx.quantize(x, "nvfp4", profile="torchao", tensor_scale=ts)
    key = f"{src}_{case}"
    want_s, want_e = d[f"{key}_scales"], d[f"{key}_elements"]
    assert r.scales.shape == want_s.shape and r.elements.shape == want_e.shape
    assert np.array_equal(r.scales, want_s), _bad_blocks(d, src, r.scales, want_s)
    assert np.array_equal(r.elements, want_e), _bad_blocks(d, src, r.elements, want_e)
    if f"{key}_dequant" in d:
        same = _same_float_bits(r.dequantize(), d[f"{key}_dequant"])
        assert same.all(), _bad_blocks(d, src, same, np.ones_like(same))
