"""h100 presets against the probes recorded on an H100 (vectors/hardware/h100/probes/).

probes.json lists each case (path, formats, shape, knobs); probes.npz holds the operand
codes and the GPU's output bits.  These are the hardware's answers (independent of lowbit)
for what the 64×64 tiles of gemm.npz never reached: every single product (specials
included), two-term and one-large-many-small dots, signed zeros / NaN / Inf, subnormals,
K > 128, K not a multiple of 32, large and split-K shapes, format mixes, scales and
bfloat16 output, Triton BLOCK_K / max_num_imprecise_acc combinations.
"""

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

import lowbit
from lowbit.mac import FusedBlock, accumulator

DATA = Path(__file__).resolve().parent.parent / "vectors" / "hardware" / "h100" / "probes"
META = json.loads((DATA / "probes.json").read_text())
CASES = META["cases"]
NPZ = np.load(DATA / "probes.npz")
FMT = {"e4m3": "float8_e4m3fn", "e5m2": "float8_e5m2"}

# cuBLASLt picked a split-K kernel (6 contiguous slices of 22×128 elements) for this shape
# with fast accumulation: found by fitting the probe, see probes/README.md.
SPLIT_K = {(16, 16, 16384, True): 6}


def _operands(case):
    a = NPZ[f"{case['operands']}_a"][: case["M"], : case["K"]] if not case["subset"] else NPZ[f"{case['operands']}_a"]
    b = NPZ[f"{case['operands']}_b"][: case["K"], : case["N"]] if not case["subset"] else NPZ[f"{case['operands']}_b"]
    return a, b


def _bits(out):
    return out.view(np.int32) if out.dtype == np.float32 else out.view(np.int16)


def _check(case, acc, **kw):
    a, b = _operands(case)
    got = _bits(lowbit.matmul(a, b, FMT[case["fa"]], FMT[case["fb"]], accumulator=acc, **kw))
    expected = NPZ[f"c{case['id']}_out_bits"]
    bad = np.flatnonzero(got != expected)
    assert bad.size == 0, f"case {case['id']} ({case['note']}): {bad.size} outputs differ, first {bad[:5]}"


SCALED = [c for c in CASES if c["path"] == "scaled_mm" and "error" not in c]
TRITON_FP8 = [c for c in CASES if c["path"] == "triton" and not c["upcast_f16"]]
TRITON_PRECISE = [c for c in CASES if c["path"] == "triton" and not c["upcast_f16"]
                  and 0 <= c["max_num_imprecise_acc"] < 32]
TRITON_F16 = [c for c in CASES if c["path"] == "triton" and c["upcast_f16"]]


def test_probe_inventory():
    assert META["gpu"].startswith("NVIDIA H100")
    assert len(SCALED) == 56 and len(TRITON_FP8) == 25 and len(TRITON_PRECISE) == 11 and len(TRITON_F16) == 9
    refused = [c for c in CASES if "error" in c]
    assert {c["operands"] for c in refused} == {"single_e5m2_e5m2", "mix_e5m2_e5m2"}
    assert all("Float8_e5m2 matrices is not supported" in c["error"] for c in refused)


def _sid(c):
    return f"c{c['id']}-{c['operands']}-fast{int(c['fast_accum'])}-{c['out']}"


@pytest.mark.parametrize("case", SCALED, ids=_sid)
def test_h100_fp8_reproduces_scaled_mm_probe(case):
    split = SPLIT_K.get((case["M"], case["N"], case["K"], case["fast_accum"]), 1)
    acc = accumulator("h100-fp8", fast_accum=case["fast_accum"], split_k=split)
    _check(case, acc, scale_a=case["scale_a"], scale_b=case["scale_b"], out_dtype=case["out"])


def test_split_k_shape_is_not_the_unsplit_chain():
    """Without split_k the 16×16×16384 fast case fails: the probe can tell them apart."""
    case = next(c for c in SCALED if c["K"] == 16384 and c["fast_accum"])
    with pytest.raises(AssertionError):
        _check(case, accumulator("h100-fp8", fast_accum=True, split_k=1))


def _tid(c):
    return f"c{c['id']}-{c['operands']}-BK{c['BK']}-IMP{c['max_num_imprecise_acc']}"


@pytest.mark.parametrize("case", TRITON_FP8, ids=_tid)
def test_h100_fp8_triton_reproduces_probe(case):
    imp = case["max_num_imprecise_acc"]
    acc = accumulator("h100-fp8-triton", block_k=case["BK"], max_num_imprecise_acc=None if imp == -1 else imp)
    _check(case, acc)


def test_triton_imprecise_acc_below_one_step_is_the_same_precise_path():
    """IMP=16 and IMP=0 (BLOCK_K=64, K=256) give identical bits on the GPU, unlike IMP=32;
    so every IMP < 32 builds the same (mma.sync) preset."""
    by = {(c["operands"], c["BK"], c["max_num_imprecise_acc"]): NPZ[f"c{c['id']}_out_bits"]
          for c in CASES if c["path"] == "triton" and not c["upcast_f16"]}
    for dist in ("normal", "allcodes"):
        op = f"tri_{dist}_K256"
        assert (by[(op, 64, 16)] == by[(op, 64, 0)]).all()
        assert (by[(op, 64, 32)] != by[(op, 64, 0)]).any()
    presets = {accumulator("h100-fp8-triton", block_k=64, max_num_imprecise_acc=imp) for imp in (0, 16, 31)}
    assert len(presets) == 1 and presets.pop() == lowbit.mac.h100_mma_sync_f16()


# The float16 wgmma step, seen through Triton tl.dot on FP8 operands upcast to float16:
# blocks of 16, grid 2^(E-25), terms truncated toward zero, sum cut to 24 bits toward zero.
F16_STEP = FusedBlock(block_size=16, frac_bits=25, align="operands", term_rounding="toward_zero",
                      acc_rounding="toward_zero", sum_bits=24, sum_rounding="toward_zero",
                      nan_bits=0x7FFFFFFF)


@pytest.mark.parametrize("case", TRITON_F16, ids=_tid)
def test_fused_block_reproduces_float16_wgmma_on_fp8_values(case):
    _check(case, F16_STEP)


def test_precise_path_is_not_the_float16_path():
    """IMP=0 is not 'upcast to float16 then tl.dot' (wgmma): recorded side by side, they differ."""
    differs = 0
    for c in TRITON_PRECISE:
        twin = next((d for d in TRITON_F16 if d["operands"] == c["operands"]), None)
        if twin is not None:
            differs += int((NPZ[f"c{c['id']}_out_bits"] != NPZ[f"c{twin['id']}_out_bits"]).sum())
    assert differs > 1000


def test_gpu_nan_and_zero_conventions():
    """Every NaN result is 0x7FFFFFFF; a zero result is +0, even from −0 × −0."""
    single = next(c for c in SCALED if c["operands"] == "single_e4m3_e4m3")
    out = NPZ[f"c{single['id']}_out_bits"].reshape(256, 256)
    f = out.view(np.float32)
    assert np.all(out[np.isnan(f)] == 0x7FFFFFFF)
    assert out[0x80, 0x80] == 0 and out[0x80, 0x38] == 0 and out[0, 0x80] == 0


# ---- second probe: Triton IMP=0 compiled to mma.sync on float16 (probe_triton_precise.py) ----
PRECISE = json.loads((DATA / "precise.json").read_text())
PNPZ = np.load(DATA / "precise.npz")


def test_ptx_shows_the_two_paths():
    imp0 = (DATA / "ptx_imp0_up0.txt").read_text()
    chained = (DATA / "ptx_imp-1_up0.txt").read_text()
    assert "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32" in imp0 and "cvt.rn.f16x2.e4m3x2" in imp0
    assert "wgmma" not in imp0
    assert "wgmma.mma_async.sync.aligned.m64n64k32.f32.e4m3.e4m3" in chained


@pytest.mark.parametrize("case", PRECISE["cases"], ids=lambda c: f"p{c['id']}-{c['operands']}-IMP{c['imp']}-up{int(c['upcast_f16'])}")
def test_precise_probe(case):
    a, b = PNPZ[f"{case['operands']}_a"], PNPZ[f"{case['operands']}_b"]
    if case["upcast_f16"]:
        acc = F16_STEP
    else:
        acc = accumulator("h100-fp8-triton", block_k=32, max_num_imprecise_acc=None if case["imp"] == -1 else case["imp"])
    got = lowbit.matmul(a, b, "e4m3", "e4m3", accumulator=acc).view(np.int32)
    bad = np.flatnonzero(got != PNPZ[f"c{case['id']}_out_bits"])
    assert bad.size == 0, f"{bad.size} outputs differ"


def test_interleave_order_is_what_the_data_need():
    """The plain k order (no interleave) fails on the dense IMP=0 probe: the order matters."""
    case = next(c for c in PRECISE["cases"] if c["operands"] == "dense" and c["imp"] == 0)
    plain = dataclasses.replace(lowbit.mac.h100_mma_sync_f16(), interleave_group=None)
    got = lowbit.matmul(PNPZ["dense_a"], PNPZ["dense_b"], "e4m3", "e4m3", accumulator=plain).view(np.int32)
    assert (got != PNPZ[f"c{case['id']}_out_bits"]).sum() > 1000


# ---- third probe: which shapes cuBLASLt splits (probe_splitk.py; 8x8 outputs kept) ----
SPLITK = json.loads((DATA / "splitk.json").read_text())
SNPZ = np.load(DATA / "splitk.npz")
# split_k per (M, N) at K = 16384 with fast_accum=True, read off the probe; every other
# recorded shape (K 1024 and 4096, and fast_accum=False everywhere) is unsplit.
OBSERVED_SPLIT = {(16, 16): 6, (32, 32): 6, (64, 64): 6, (128, 128): 6, (256, 256): 2, (16, 1024): 5, (1024, 16): 5}


def _split_of(c):
    return OBSERVED_SPLIT[(c["M"], c["N"])] if c["fast_accum"] and c["K"] == 16384 else 1


@pytest.mark.parametrize("case", SPLITK["cases"], ids=lambda c: f"{c['M']}x{c['N']}x{c['K']}-fast{int(c['fast_accum'])}")
def test_split_k_probe(case):
    a, b = SNPZ[f"s{case['sid']}_a"], SNPZ[f"s{case['sid']}_b"]
    acc = accumulator("h100-fp8", fast_accum=case["fast_accum"], split_k=_split_of(case))
    got = lowbit.matmul(a, b, "e4m3", "e4m3", accumulator=acc).view(np.int32)
    assert np.array_equal(got, SNPZ[f"c{case['id']}_out_bits"])
    # the preset's table of recorded shapes gives the same split
    by_shape = accumulator("h100-fp8", fast_accum=case["fast_accum"], M=case["M"], N=case["N"], K=case["K"])
    assert by_shape.split_k == acc.split_k and by_shape.for_k == case["K"]
    # by name, the 8×8 outputs kept of the M×N GEMM: its M, N fix the split
    named = lowbit.matmul(a, b, "e4m3", "e4m3", accumulator=accumulator("h100-fp8", fast_accum=case["fast_accum"]),
                          M=case["M"], N=case["N"])
    assert np.array_equal(named.view(np.int32), SNPZ[f"c{case['id']}_out_bits"])
    if _split_of(case) > 1:  # the split is visible in the data
        plain = lowbit.matmul(a, b, "e4m3", "e4m3", accumulator=accumulator("h100-fp8", fast_accum=True, split_k=1))
        assert not np.array_equal(plain.view(np.int32), SNPZ[f"c{case['id']}_out_bits"])
