"""h100 presets against GEMMs recorded on a real NVIDIA H100 (vectors/hardware/h100/gemm*).

The expected bits are the GPU's output (torch._scaled_mm / Triton tl.dot), an independent
reference: every output bit of every case must match.
"""

import json
from pathlib import Path

import numpy as np
import pytest

import lowbit
from lowbit.mac import accumulator

DATA = Path(__file__).resolve().parent.parent / "vectors" / "hardware" / "h100"
FMT = {"e4m3": "float8_e4m3fn", "e5m2": "float8_e5m2"}
CASES = json.loads((DATA / "gemm.json").read_text())["cases"]
NPZ = np.load(DATA / "gemm.npz")


def _acc(case):
    if case["tag"] == "scaled_mm":
        return accumulator("h100-fp8", fast_accum=case["fast_accum"])
    imp = case["max_num_imprecise_acc"]
    return accumulator("h100-fp8-triton", block_k=case["BK"], max_num_imprecise_acc=None if imp == -1 else imp)


def _run(case, acc):
    a, b = NPZ[f"p{case['pair']}_a"], NPZ[f"p{case['pair']}_b"]
    out = lowbit.matmul(a, b, FMT[case["fa"]], FMT[case["fb"]], accumulator=acc,
                        scale_a=case.get("scale_a", 1.0), scale_b=case.get("scale_b", 1.0),
                        out_dtype=(case.get("out") or "torch.float32").replace("torch.", ""))
    return out.view(np.int32) if out.dtype == np.float32 else out.view(np.int16)


MODELLED = CASES


def test_case_counts():
    assert len(CASES) == 50
    assert sum(c.get("max_num_imprecise_acc") == 0 for c in CASES) == 6


@pytest.mark.parametrize("case", MODELLED, ids=lambda c: f"c{c['id']}-{c['tag']}-K{c['K']}-{c['dist']}-{c['fa']}x{c['fb']}")
def test_h100_presets_reproduce_every_recorded_bit(case):
    expected = NPZ[f"c{case['id']}_out_bits"]
    got = _run(case, _acc(case))
    assert got.shape == expected.shape
    mismatch = np.flatnonzero(got != expected)
    assert mismatch.size == 0, f"{mismatch.size} outputs differ, first at flat index {mismatch[:5]}"


@pytest.mark.parametrize("case", MODELLED[:8], ids=lambda c: f"c{c['id']}")
def test_exact_sum_is_not_what_the_h100_computes(case):
    """The recorded data are able to tell accumulators apart (so the test above can fail)."""
    expected = NPZ[f"c{case['id']}_out_bits"]
    assert (_run(case, accumulator("exact")) != expected).sum() > 1000


def test_recorded_k_never_exceeds_the_promotion_interval():
    """K <= 128 in gemm.npz: fast and slow accumulation give the same bits there, so the
    128-element promotion of fast_accum=False is tested by the probes (K > 128), not here."""
    for c in MODELLED:
        if c["tag"] == "scaled_mm" and c["fast_accum"]:
            twin = next(d for d in MODELLED if d["tag"] == "scaled_mm" and not d["fast_accum"]
                        and d["pair"] == c["pair"] and d["scale_a"] == c["scale_a"])
            assert c["K"] <= 128
            assert (NPZ[f"c{c['id']}_out_bits"] == NPZ[f"c{twin['id']}_out_bits"]).all()


def test_triton_imprecise_acc_zero_is_the_mma_sync_preset():
    """IMP=0 builds the mma.sync float16 preset, which the 6 IMP=0 cases above reproduce; the
    wgmma chain (IMP None) does not reproduce them (the data tell the two paths apart)."""
    acc = accumulator("h100-fp8-triton", block_k=32, max_num_imprecise_acc=0)
    assert (acc.block_size, acc.frac_bits, acc.sum_bits, acc.interleave_group, acc.interleave_run) == (16, 25, 24, 32, 2)
    for case in (c for c in CASES if c.get("max_num_imprecise_acc") == 0):
        wgmma = _run(case, accumulator("h100-fp8-triton", block_k=32))
        assert (wgmma != NPZ[f"c{case['id']}_out_bits"]).sum() > 100
