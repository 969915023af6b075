"""Calibration: the cache the cuBLAS presets read first, and the calibrations shipped with lowbit
(recorded on a GPU; their held-out outputs are GEMM results discovery never saw)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import lowbit
from blackbox_gemm import FusedChainGEMM
from lowbit.mac import calibration as C


def test_calibrate_writes_the_cache_the_presets_read_first(tmp_path, monkeypatch):
    """A stand-in GPU (a black box of tests/blackbox_gemm.py: bfloat16 steps of 16, F=25, 24-bit
    sums, two uneven slices) calibrated at one shape: the preset then reproduces it by name."""
    monkeypatch.setenv("LOWBIT_CACHE", str(tmp_path))
    box = FusedChainGEMM("bfloat16", "bfloat16", n=16, F=25, S=24, segments=[96, 160])
    monkeypatch.setattr(C, "gpu_info", lambda: {"gpu": "Test GPU", "sm": [9, 0], "versions": {"torch": "x"}})
    import lowbit.mac.gemms as G

    monkeypatch.setattr(G, "build", lambda op, fa, fb, **k: box)
    x = np.zeros((32, 256), np.uint16)
    # before: the shipped cuBLAS rule's schedule for 32×32×256 (an H200's, not this GPU's)
    before = lowbit.mac.accumulator("h100-bf16", M=32, N=32, K=256)
    assert before.preset == "h100-bf16" and before.split_slices is None
    path = C.calibrate("h100-bf16", [(32, 32, 256)], log=lambda s: None, record_outputs=8)
    assert path == tmp_path / "calibration" / "test-gpu.json"
    doc = json.loads(path.read_text())
    assert doc["gpu"] == "Test GPU" and doc["entries"][0]["held_out"]["rows"] == 8
    a, b = C.held_out_operands("bfloat16", "bfloat16", 32, 32, 256, 5)
    got = lowbit.matmul(a, b, "bfloat16", "bfloat16", accumulator="h100-bf16").view(np.uint32)
    assert np.array_equal(got, box(a, b).view(np.uint32))
    # a preset of another architecture's GPU is not served by it (the shipped rule answers)
    doc["sm"] = [8, 0]
    path.write_text(json.dumps(doc))
    assert C.lookup("h100-bf16", {}, 32, 32, 256) is None


SHIPPED = [e for e in C.entries() if "held_out" in e and e["file"].startswith(str(C.SHIPPED))]


def test_shipped_calibrations_exist():
    assert len({e["file"] for e in SHIPPED}) >= 1 and len(SHIPPED) >= 20


@pytest.mark.parametrize("e", [e for e in SHIPPED if "accumulator" in e],
                         ids=lambda e: f"{e['preset']}{'-fast' if e['params'] else ''}-{e['M']}x{e['N']}x{e['K']}")
def test_shipped_calibration_reproduces_its_held_out_outputs(e, monkeypatch):
    """The GEMM's output corner on seeded random operands, recorded with the calibration: lowbit by
    the preset's name (the whole GEMM's M, N for the corner) gives the same bits."""
    monkeypatch.setenv("LOWBIT_CACHE", "/nonexistent")  # the shipped file alone
    op, (fa, fb), _ = C.GEMMS[e["preset"]]
    h = e["held_out"]
    a, b = C.held_out_operands(fa, fb, e["M"], e["N"], e["K"], h["seed"])
    acc = lowbit.mac.accumulator(e["preset"], **e["params"])
    got = lowbit.matmul(a[:h["rows"]], b[:, :h["cols"]], fa, fb, accumulator=acc, M=e["M"], N=e["N"])
    want = np.array(h["bits"], np.uint32).reshape(h["rows"], h["cols"])
    assert np.array_equal(got.view(np.uint32), want)
