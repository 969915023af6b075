"""Accumulators re-derived on the GPU by lowbit.mac.discover from probes alone (no tables:
vectors/hardware/h100/discover/, run.py and its logs) against GEMM outputs recorded earlier on an
H100 (vectors/hardware/h100/probes/, paths/) at the same shapes: data discovery never saw."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import lowbit

HW = Path(__file__).resolve().parent.parent / "vectors" / "hardware" / "h100"
DISC = HW / "discover"


def found(name):
    return lowbit.mac.load(DISC / f"{name}.json")


def test_every_run_was_saved_with_its_versions_and_log():
    names = sorted(p.stem for p in DISC.glob("*.json"))
    assert names == ["matmul_bf16_64x64x4096", "matmul_tf32_64x64x4096", "scaled_mm_fast_64x64x16384",
                     "scaled_mm_slow_64x64x4096", "triton_dot_f16_bk64_64x64x1000"]
    for n in names:
        notes = json.loads((DISC / f"{n}.json").read_text())["notes"]
        assert notes["env"]["torch"].startswith("2.11") and "H200" in notes["env"]["gpu"]
        assert notes["calls"] < 400 and (DISC / f"{n}.log").exists()


@pytest.mark.parametrize("name,sid_case,fast", [("scaled_mm_fast_64x64x16384", 17, True),
                                                 ("scaled_mm_slow_64x64x4096", 14, False)])
def test_scaled_mm_rederived_equals_recorded_split_k_probes(name, sid_case, fast):
    """splitk.npz (probe_splitk.py, H100): 8×8 outputs of the 64×64 GEMM at the same K."""
    meta = json.loads((HW / "probes" / "splitk.json").read_text())
    npz = np.load(HW / "probes" / "splitk.npz")
    (case,) = [c for c in meta["cases"] if c["id"] == sid_case]
    assert (case["M"], case["N"], case["fast_accum"]) == (64, 64, fast)
    a, b = npz[f"s{case['sid']}_a"], npz[f"s{case['sid']}_b"]
    acc = found(name)
    got = lowbit.matmul(a, b, "e4m3", "e4m3", accumulator=acc).view(np.int32)
    assert np.array_equal(got, npz[f"c{case['id']}_out_bits"])
    # the preset built by hand from the same recordings agrees, and the found split is what cuBLASLt ran
    hand = lowbit.mac.accumulator("h100-fp8", fast_accum=fast, M=64, N=64, K=case["K"])
    assert np.array_equal(lowbit.matmul(a, b, "e4m3", "e4m3", accumulator=hand).view(np.int32), got)


def _paths():
    import importlib.util

    spec = importlib.util.spec_from_file_location("h100_paths_operands", HW / "paths" / "operands.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    meta = json.loads((HW / "paths" / "cases.json").read_text())
    return meta["cases"], mod.load(verify=True), np.load(HW / "paths" / "outputs.npz")


@pytest.fixture(scope="module")
def paths():
    return _paths()


@pytest.mark.parametrize("name,fam,select,fmt", [
    ("matmul_bf16_64x64x4096", "bf16",
     lambda c: c["path"] in ("torch_mm_out_f32", "cublas_gemmex", "torch_matmul")
     and c["params"].get("compute", "32F") == "32F", "bfloat16"),
    ("triton_dot_f16_bk64_64x64x1000", "f16", lambda c: c["path"] == "triton_dot"
     and c["params"].get("acc", "float32") == "float32", "float16"),
    ("matmul_tf32_64x64x4096", "f32", lambda c: c["path"] == "torch_matmul" and c["params"] == {"allow_tf32": True},
     "float32"),
])
def test_cublas_and_triton_rederived_equal_recorded_paths(paths, name, fam, select, fmt):
    cases, ops, outs = paths
    acc = found(name)
    M, N, K = json.loads((DISC / f"{name}.json").read_text())["notes"]["shape"]
    cs = [c for c in cases if "error" not in c and c["fam"] == fam and (c["M"], c["N"], c["K"]) == (M, N, K)
          and select(c)]
    assert len(cs) >= 3
    for c in cs:
        key = c["operands"]
        a, b = ops[f"op_{key}_a"], ops[f"op_{key}_b"]
        out = "float32" if c["out_dtype"] == "uint32" else fmt
        got = lowbit.matmul(a, b, fmt, fmt, accumulator=acc, out_dtype=out).view(
            np.uint32 if out == "float32" else np.uint16)
        want = outs[f"out_{c['id']}"]  # 16-bit outputs: the float32 accumulator rounded (no NaN here)
        assert np.array_equal(got, want), f"case {c['id']} ({c['path']}, {c['dist']}): " \
                                          f"{np.count_nonzero(got != want)} outputs differ"
