"""H100 matmul paths (FP16, BF16, TF32, FP32, INT8): presets vs bits recorded on the GPU.

Independent reference: the outputs recorded on an H100 (vectors/hardware/h100/paths/,
probe_paths.py made them).  Each test uses only cases that were NOT used to fit the rule
(FIT below lists those, see the README there); every other recorded case of the path is
checked, bit for bit.
"""
from __future__ import annotations

import dataclasses
import json
import os

import numpy as np
import pytest

import lowbit
from lowbit.mac.accumulators import h100_fp8
from lowbit.mac import h100_paths as P

HERE = os.path.join(os.path.dirname(__file__), "..", "vectors", "hardware", "h100", "paths")
FMT = {"f16": "float16", "bf16": "bfloat16"}


def _operands_module():
    """vectors/hardware/h100/paths/operands.py: rebuilds the recorded operands bit for bit
    (numpy + ml_dtypes) and checks them against the SHA-256 recorded with them."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("h100_paths_operands", os.path.join(HERE, "operands.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def rec():
    with open(os.path.join(HERE, "cases.json")) as f:
        meta = json.load(f)
    return meta, _operands_module().load(verify=True), np.load(os.path.join(HERE, "outputs.npz"))


def fitted(c):
    """Cases the rules were read from (excluded from every check below)."""
    fam, dist, M, K, path, prm = c["fam"], c["dist"], c["M"], c["K"], c["path"], c["params"]
    if fam == "f16" and prm.get("acc") == "float16":  # + the overflow rule, from every-code 64×64×32
        return (dist == "normal" and M == 64 and K in (32, 64, 256)) or (dist == "allcodes" and M == 64 and K == 32)
    if fam == "f16" and path in ("torch_mm_out_f32", "cublas_gemmex", "triton_dot"):
        return dist == "allcodes" or (dist == "normal" and M == 64 and K <= 1000)
    if fam == "f32" and prm.get("input_precision") == "tf32":
        return dist in ("normal", "allcodes") and M == 64 and K in (16, 64, 256)
    if fam == "f32" and prm.get("input_precision") == "tf32x3":
        return dist in ("normal", "allcodes") and M == 64 and K <= 1000
    if fam == "f32" and prm.get("input_precision") == "ieee":
        return (dist == "normal" and K in (16, 256, 4096)) or (dist == "allcodes" and K == 64 and M == 64)
    return False


def select(meta, pred):
    return [c for c in meta["cases"] if "error" not in c and pred(c) and not fitted(c)]


def operands(ops, c):
    key = c["operands"]
    return ops[f"op_{key}_a"], ops[f"op_{key}_b"]


def emulate16(ops, c, acc, out="float32"):
    """lowbit.matmul with out_dtype, as bit patterns (uint32 for float32, uint16 for 16-bit outputs);
    the operands are rows of A and columns of B of the recorded M×N×K GEMM (16 of each at 1024²)."""
    a, b = operands(ops, c)
    r = lowbit.matmul(a, b, FMT[c["fam"]], FMT[c["fam"]], accumulator=acc, out_dtype=out, M=c["M"], N=c["N"])
    return r.view(np.uint32 if out == "float32" else np.uint16)


def f32_matmul(a, b, acc, M=None, N=None):
    """lowbit.matmul on float32 operands (uint32 bit patterns), float32 result bits; M, N: the
    recorded GEMM's, where the operands are some of its rows and columns."""
    return lowbit.matmul(a, b, "float32", "float32", accumulator=acc, M=M, N=N).view(np.uint32)


def mismatches(got, want):
    return int(np.count_nonzero(got != want))


def only_where_hw_inf(got, want, width):
    """Positions that differ are exactly those where the hardware overflowed to ±Inf."""
    diff = got != want
    exp_all_ones = (1 << (width - 1)) - (1 << (width - 1 - (8 if width == 32 else 5)))
    hw_inf = (want & ((1 << (width - 1)) - 1)) == exp_all_ones
    return bool(np.all(hw_inf[diff]))


def cublas_split_shape(c):
    """The one recorded FP16/BF16 shape where cuBLAS splits K (split_k=3)."""
    return c["M"] == 64 and c["K"] == 4096


# --------------------------------------------------------------------------------------
# FP16 / BF16, float32 accumulator: cuBLAS (three APIs) and Triton
# --------------------------------------------------------------------------------------
F32_OUT_PATHS = ("torch_mm_out_f32", "cublas_gemmex", "triton_dot")


@pytest.mark.parametrize("fam", ["f16", "bf16"])
def test_fp32_accumulator_paths_match_recorded_h100_bits(rec, fam):
    meta, ops, outs = rec
    cs = select(meta, lambda c: c["fam"] == fam and c["path"] in F32_OUT_PATHS
                and c.get("out_dtype") == "uint32" and c["params"].get("acc", "float32") == "float32")
    assert len(cs) >= 50
    # by name, no shape: cuBLAS's K order is fixed from the recorded GEMM's M, N, K (split-K at
    # 64×64×4096 included); Triton's is one chain
    name = "h100-fp16" if fam == "f16" else "h100-bf16"
    bad = {c["id"]: mismatches(emulate16(ops, c, lowbit.mac.accumulator(
        name, **({"library": "triton"} if c["path"] == "triton_dot" else {}))), outs[f"out_{c['id']}"]) for c in cs}
    assert {k: v for k, v in bad.items() if v} == {}


@pytest.mark.parametrize("fam", ["f16", "bf16"])
def test_half_output_torch_matmul_is_float32_accumulator_rounded(rec, fam):
    """torch.matmul on float16/bfloat16 (reduced-precision reduction on and off)."""
    meta, ops, outs = rec
    cs = select(meta, lambda c: c["fam"] == fam and c["path"] == "torch_matmul"
                and "reduced_precision_reduction" in c["params"])
    assert len(cs) >= 40
    acc = "h100-fp16" if fam == "f16" else "h100-bf16"
    out = "float16" if fam == "f16" else "bfloat16"
    bad = {c["id"]: mismatches(emulate16(ops, c, acc, out), outs[f"out_{c['id']}"]) for c in cs}
    assert {k: v for k, v in bad.items() if v} == {}


def test_cublas_split_k_shape(rec):
    """64×64×4096: cuBLAS runs a split-K kernel; split_k=3 was fitted on torch.mm(out_dtype=float32)
    and is checked here on cublasGemmEx (float32 out) and torch.matmul (float16/bfloat16 out)."""
    meta, ops, outs = rec
    fit = [c for c in meta["cases"] if c["path"] == "torch_mm_out_f32" and cublas_split_shape(c)]
    cs = [c for c in meta["cases"] if c["fam"] in ("f16", "bf16") and cublas_split_shape(c)
          and ((c["path"] == "cublas_gemmex" and c["params"]["compute"] == "32F")
               or "reduced_precision_reduction" in c["params"])]
    assert len(fit) == 6 and len(cs) == 18
    for c in cs:
        acc = (P.h100_fp16 if c["fam"] == "f16" else P.h100_bf16)(split_k=3)
        out = "float32" if c["out_dtype"] == "uint32" else FMT[c["fam"]]
        want = outs[f"out_{c['id']}"]
        assert mismatches(emulate16(ops, c, acc, out), want) == 0, c["id"]
        # and the unsplit chain does not reproduce it (the shape matters)
        if out == "float32":
            unsplit = emulate16(ops, c, (P.h100_fp16 if c["fam"] == "f16" else P.h100_bf16)(split_k=1), out)
            assert mismatches(unsplit, want) > want.size // 2


def test_triton_fp16_accumulator(rec):
    """float16 accumulator: 11-bit nearest-even step sums; a step sum >= 2^16 is ±Inf and stays
    so.  Checked on the 25 cases the rules were not read from (``fitted``): every-code
    operands at K 16..4096 and 1024×1024, Gaussian, heavy-tailed and crafted."""
    meta, ops, outs = rec
    cs = select(meta, lambda c: c["fam"] == "f16" and c["path"] == "triton_dot"
                and c["params"].get("acc") == "float16")
    assert len(cs) == 25
    acc = P.h100_fp16_triton(block_k=32, acc="float16")
    bad, n_inf = {}, 0
    for c in cs:
        got, want = emulate16(ops, c, acc, "float16"), outs[f"out_{c['id']}"]
        bad[c["id"]] = mismatches(got, want)
        n_inf += int(np.count_nonzero((want & 0x7FFF) == 0x7C00))
    assert {k: v for k, v in bad.items() if v} == {}
    assert n_inf > 10000  # the overflow rule is exercised, not just tolerated
    # without the float16 range the every-code cases are not reproduced (NaN where the
    # hardware keeps the first overflow's sign)
    (c,) = select(meta, lambda c: c["fam"] == "f16" and c["path"] == "triton_dot"
                  and c["params"].get("acc") == "float16" and c["dist"] == "allcodes" and c["K"] == 256)
    unbounded = dataclasses.replace(acc, sum_emax=None, sum_emin=None)
    assert mismatches(emulate16(ops, c, unbounded, "float16"), outs[f"out_{c['id']}"]) > 1000


# --------------------------------------------------------------------------------------
# float32 operands: Triton tf32 and ieee
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("prec", ["tf32", "tf32x3", "ieee"])
def test_triton_float32_inputs(rec, prec):
    meta, ops, outs = rec
    cs = select(meta, lambda c: c["fam"] == "f32" and c["params"].get("input_precision") == prec
                and c["K"] <= (1024 if prec == "ieee" else 4096))
    assert len(cs) >= 10
    bad = {}
    for c in cs:
        a, b = operands(ops, c)
        got = f32_matmul(a, b, lowbit.mac.accumulator("h100-tf32-triton", input_precision=prec, block_k=32))
        want = outs[f"out_{c['id']}"]
        bad[c["id"]] = mismatches(got, want)
    # including the crafted product_overflow_cancel probe: the "ieee" FMA chain overflows to
    # +Inf at 2^127·2 and stays +Inf after −2^127·2 (IEEE 754 §6.1), where an exact sum is 0
    assert {k: v for k, v in bad.items() if v} == {}


def test_tf32_truncates_inputs_crafted(rec):
    """Crafted float32 inputs with bits below TF32 (ties, above/below half): truncation, not rounding."""
    meta, ops, outs = rec
    (c,) = [c for c in meta["cases"] if c["operands"] == "f32_crafted_128x128x32"
            and c["params"].get("input_precision") == "tf32"]
    names = meta["operands"][c["operands"]]["probes"]
    a, b = operands(ops, c)
    want = outs[f"out_{c['id']}"]
    trunc = f32_matmul(a, b, P.h100_tf32_triton())
    assert P.h100_tf32_triton().input_rounding == "toward_zero"
    keep = f32_matmul(a, b, P.h100_tf32_triton(input_rounding="none"))
    rne = f32_matmul(a, b, P.h100_tf32_triton(input_rounding="nearest_even"))
    rows = [i for i, n in enumerate(names) if n.startswith("tf32_in_")]
    assert len(rows) == 13
    for i in rows:
        assert trunc[i, i] == want[i, i], names[i]
    # the probe separates the rules: keeping the low bits, or rounding them off, changes the result
    assert any(keep[i, i] != want[i, i] for i in rows)
    assert any(rne[i, i] != want[i, i] for i in rows)


def test_cublas_fp32_split_k_fma(rec):
    """torch.matmul float32, allow_tf32=False: slice lengths fitted per shape on Gaussian
    operands (FIT); checked on every-code and heavy-tailed operands and the crafted probes."""
    meta, ops, outs = rec
    cs = [c for c in meta["cases"] if c["fam"] == "f32" and c["params"] == {"allow_tf32": False}
          and c["dist"] != "normal" and (c["M"], c["N"], c["K"]) in P.H100_FP32_CUBLAS_SLICES
          and (c["M"], c["K"]) != (64, 4096)]
    assert len(cs) == 18
    for c in cs:
        a, b = operands(ops, c)
        got = f32_matmul(a, b, "h100-fp32", c["M"], c["N"])  # by name: the slice length from M, N, K
        want = outs[f"out_{c['id']}"]
        assert mismatches(got, want) == 0, c["id"]  # crafted: float32 overflow inside the chain too
    # the slicing matters: one unsplit FMA chain does not give cuBLAS's K=256 bits
    (c,) = [c for c in cs if c["K"] == 256 and c["dist"] == "heavy"]
    a, b = operands(ops, c)
    one = f32_matmul(a, b, P.h100_fp32(K=256, slice_k=256))
    assert mismatches(one, outs[f"out_{c['id']}"]) > 1000
    # slice_k alone: slices of that length whatever K is (the recorded K=256 shape: 32)
    assert mismatches(f32_matmul(a, b, lowbit.mac.accumulator("h100-fp32", slice_k=32)), outs[f"out_{c['id']}"]) == 0
    with pytest.raises(ValueError, match="shape M=64, N=64, K=2048 was not recorded"):
        P.h100_fp32(64, 64, 2048)
    # K alone does not fix the slice length (64×64×1024 is not 1024×1024×1024): refused
    with pytest.raises(ValueError, match="by the whole shape; pass M=, N= and K="):
        P.h100_fp32(K=1024)


def test_cublas_fp32_64x64x4096_slices_of_64(rec):
    """64×64×4096 (SIMT sgemm 128x32 + split-K reduce): slices of 64 added in order, read from
    its three recorded cases (no held-out case of this shape: a regression check of the fit,
    which only one of 51 candidate slicings passed)."""
    meta, ops, outs = rec
    cs = [c for c in meta["cases"] if c["fam"] == "f32" and c["params"] == {"allow_tf32": False}
          and (c["M"], c["K"]) == (64, 4096)]
    assert len(cs) == 3
    for c in cs:
        a, b = operands(ops, c)
        want = outs[f"out_{c['id']}"]
        assert mismatches(f32_matmul(a, b, P.h100_fp32(64, 64, 4096)), want) == 0, c["id"]
        assert mismatches(f32_matmul(a, b, P.h100_fp32(K=4096, slice_k=128)), want) > 100, c["id"]


# --------------------------------------------------------------------------------------
# INT8
# --------------------------------------------------------------------------------------
def test_int_mm_is_exact(rec):
    meta, ops, outs = rec
    cs = [c for c in meta["cases"] if c["path"] == "torch_int_mm"]
    assert len(cs) == 27
    for c in cs:
        a, b = operands(ops, c)
        want = outs[f"out_{c['id']}"]
        np.testing.assert_array_equal(a.astype(np.int64) @ b.astype(np.int64), want.astype(np.int64))
        small = np.abs(want.astype(np.int64)) < (1 << 24)
        got = lowbit.matmul(a, b, "int8", "int8", accumulator=P.h100_int8())
        np.testing.assert_array_equal(got[small], want[small].astype(np.float32))
        # out_dtype="int32": torch._int_mm's own int32 result, every output
        i32 = lowbit.matmul(a, b, "int8", "int8", accumulator="h100-int8", out_dtype="int32")
        assert i32.dtype == np.int32
        np.testing.assert_array_equal(i32, want.astype(np.int32))


# --------------------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------------------
def test_bad_preset_arguments():
    with pytest.raises(ValueError, match="library='rocblas'.*allowed: 'cublas', 'triton'"):
        P.h100_fp16(library="rocblas")
    with pytest.raises(ValueError, match="split_k=3 is a cuBLAS kernel choice"):
        P.h100_fp16(library="triton", split_k=3)
    with pytest.raises(ValueError, match="split_k=0"):
        P.h100_bf16(split_k=0)
    with pytest.raises(ValueError, match="block_k=48"):
        P.h100_bf16_triton(block_k=48)
    with pytest.raises(ValueError, match="acc='float64'"):
        P.h100_fp16_triton(acc="float64")
    with pytest.raises(ValueError, match="input_precision='bf16x3' is not modelled"):
        P.h100_tf32_triton(input_precision="bf16x3")
    from lowbit.mac.operands import float32_fields

    with pytest.raises(ValueError, match="input_rounding='nearest'"):
        float32_fields(np.zeros(2, np.uint32), "nearest")
    with pytest.raises(ValueError, match="input_rounding='nearest' is not allowed; allowed: 'none', 'toward_zero'"):
        P.h100_tf32_triton(input_rounding="nearest")
    with pytest.raises(ValueError, match="input_rounding='nearest_even' applies to input_precision='tf32' only"):
        P.h100_tf32_triton(input_precision="ieee", input_rounding="nearest_even")
    with pytest.raises(TypeError, match="float32 or uint32"):
        float32_fields(np.zeros(2, np.float64))
    z32 = np.zeros((2, 3), np.uint32)
    with pytest.raises(ValueError, match="shapes do not match"):
        lowbit.matmul(z32, z32, "float32", "float32", accumulator="h100-tf32-triton")
    # a float32 array is its own bit patterns (lowbit.interop): the same as the uint32 codes
    w32 = np.arange(6, dtype=np.uint32).reshape(2, 3) << 20
    assert np.array_equal(lowbit.matmul(w32.view(np.float32), w32.T.copy(), "float32", "float32",
                                        accumulator="h100-tf32-triton"),
                          lowbit.matmul(w32, w32.T.copy(), "float32", "float32", accumulator="h100-tf32-triton"))
    with pytest.raises(TypeError, match="a: a float32 array holds float32 codes .* pass bfloat16 codes as an integer"):
        lowbit.matmul(z32.view(np.float32), z32.T, "bfloat16", "float32", accumulator="h100-tf32-triton")
    with pytest.raises(ValueError, match="a_format='float32' is not covered by accumulator 'h100-int8'; "
                                         "its operand formats: int8"):
        lowbit.matmul(z32, z32.T, "float32", "float32", accumulator="h100-int8")
    with pytest.raises(ValueError, match="at most 16 bits.*float32 operands are taken by fused-block"):
        lowbit.matmul(z32, z32.T, "float32", "float32", accumulator="exact")
    with pytest.raises(ValueError, match="h100-fp32: cuBLAS picks the K-slice length by the whole shape"):
        lowbit.mac.accumulator("h100-fp32", K=64)
    assert isinstance(lowbit.mac.accumulator("h100-fp32"), lowbit.mac.ByShape)


# --------------------------------------------------------------------------------------
# FP8: the MAC presets on shapes, K and distributions they were not fitted on
# --------------------------------------------------------------------------------------
def test_fp8_presets_on_new_shapes(rec):
    """h100-fp8 / h100-fp8-triton (fitted on 64×64, K ≤ 128) vs K up to 4096, 1024×1024, heavy tails, crafted."""
    from lowbit.mac import accumulator

    meta, ops, outs = rec
    cs = [c for c in meta["cases"] if c["fam"] == "e4m3"
          and (c["path"] == "scaled_mm" or c["params"].get("max_num_imprecise_acc") == -1)]
    assert len(cs) == 81
    bad = {}
    for c in cs:
        prm = c["params"]
        acc = (accumulator("h100-fp8", fast_accum=prm["fast_accum"]) if c["path"] == "scaled_mm"
               else accumulator("h100-fp8-triton", block_k=prm["block_k"]))
        a, b = operands(ops, c)
        got = lowbit.matmul(a, b, "float8_e4m3fn", "float8_e4m3fn", accumulator=acc).view(np.uint32)
        bad[c["id"]] = mismatches(got, outs[f"out_{c['id']}"])
    assert {k: v for k, v in bad.items() if v} == {}


# --------------------------------------------------------------------------------------
# The GPU path (lowbit.mac.cuda): same rule, same bits
# --------------------------------------------------------------------------------------
def _gpu():
    from lowbit.mac import cuda as C
    import os as _os

    return C.available() and not _os.environ.get("NUMBA_ENABLE_CUDASIM")


SIM_CHECK = r"""
import numpy as np, lowbit
from lowbit.mac import cuda as C, accumulator
from lowbit.mac import h100_paths as P
rng = np.random.default_rng(1)
bad = 0
a = rng.integers(0, 256, (3, 80)).astype(np.uint8); b = rng.integers(0, 256, (80, 4)).astype(np.uint8)
a[0, 5] = 0x7F  # NaN code
for acc in (accumulator("h100-fp8", fast_accum=False), accumulator("h100-fp8", fast_accum=True),
            accumulator("h100-fp8-triton", block_k=64, max_num_imprecise_acc=32),
            accumulator("h100-fp8-triton", block_k=64, max_num_imprecise_acc=0)):
    g = C.matmul(a, b, "float8_e4m3fn", "float8_e4m3fn", accumulator=acc)
    c = lowbit.matmul(a, b, "float8_e4m3fn", "float8_e4m3fn", accumulator=acc)
    bad += int((g.view(np.uint32) != c.view(np.uint32)).sum())
a = rng.integers(0, 65536, (3, 40)).astype(np.uint16); b = rng.integers(0, 65536, (40, 3)).astype(np.uint16)
for fmt, acc in (("bfloat16", P.h100_bf16(split_k=1)), ("float16", P.h100_fp16_triton(acc="float16")),
                 ("float16", P.h100_fp16(split_k=1))):
    g = C.matmul(a, b, fmt, fmt, accumulator=acc)
    c = lowbit.matmul(a, b, fmt, fmt, accumulator=acc)
    bad += int((g.view(np.uint32) != c.view(np.uint32)).sum())
x = rng.normal(size=(3, 40)).astype(np.float32).view(np.uint32); y = rng.normal(size=(40, 3)).astype(np.float32).view(np.uint32)
x[1, 3] = 0x7F800000  # +Inf
for acc in (P.h100_tf32_triton(input_precision="tf32x3", block_k=16), P.h100_tf32_triton(), P.h100_fp32(slice_k=16)):
    g = lowbit.matmul(x, y, "float32", "float32", accumulator=acc, device="cuda")
    c = lowbit.matmul(x, y, "float32", "float32", accumulator=acc)
    bad += int((g.view(np.uint32) != c.view(np.uint32)).sum())
# chains that overflow their format (sum_emax): float32 FMA chain, a narrow chain with promotion
e = rng.integers(180, 250, (2, 3, 40)); sg = rng.integers(0, 2, (2, 3, 40))
x = ((sg[0] << 31) | (e[0] << 23)).astype(np.uint32); y = ((sg[1] << 31) | (e[1] << 23)).astype(np.uint32).T.copy()
for acc in (P.h100_tf32_triton(input_precision="ieee"), P.h100_fp32(slice_k=16)):
    g = lowbit.matmul(x, y, "float32", "float32", accumulator=acc, device="cuda")
    c = lowbit.matmul(x, y, "float32", "float32", accumulator=acc)
    bad += int((g.view(np.uint32) != c.view(np.uint32)).sum())
from lowbit.mac import FusedBlock
a8 = rng.integers(0, 256, (8, 80)).astype(np.uint8); b8 = rng.integers(0, 256, (80, 8)).astype(np.uint8)
a8[(a8 & 0x7F) == 0x7F] = 0; b8[(b8 & 0x7F) == 0x7F] = 0
narrow = FusedBlock(block_size=4, frac_bits=10, sum_bits=8, sum_emax=16, sum_emin=-6, promote_every=8)
g = C.matmul(a8, b8, "float8_e4m3fn", "float8_e4m3fn", accumulator=narrow)
c = lowbit.matmul(a8, b8, "float8_e4m3fn", "float8_e4m3fn", accumulator=narrow)
bad += int((g.view(np.uint32) != c.view(np.uint32)).sum())
assert np.isinf(c).any() and np.isfinite(c).any()  # the overflow path is exercised
g = lowbit.matmul(a, b, "bfloat16", "bfloat16", accumulator=P.h100_bf16(split_k=1), out_dtype="bfloat16", device="cuda")
c = lowbit.matmul(a, b, "bfloat16", "bfloat16", accumulator=P.h100_bf16(split_k=1), out_dtype="bfloat16")
bad += int((g.view(np.uint16) != c.view(np.uint16)).sum())
print("MISMATCHES", bad)
"""


def test_cuda_kernel_equals_cpu_kernel_in_simulator():
    """The CUDA kernel's code, run by Numba's CUDA simulator on the CPU, gives the CPU kernel's bits."""
    import subprocess
    import sys

    pytest.importorskip("numba.cuda", reason="numba's CUDA target (simulator) not installed")
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    r = subprocess.run([sys.executable, "-c", SIM_CHECK], capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "MISMATCHES 0" in r.stdout, r.stdout[-2000:]


PTX_CHECK = r"""
from numba import cuda, types
import numba.cuda.dispatcher as D
from numba.cuda.cudadrv.error import NvvmSupportError
class H100:
    compute_capability = (9, 0)
D.get_current_device = lambda: H100()  # compile device functions for sm_90 without a GPU
from lowbit.mac import cuda as C
C._setup_bitcasts()
k = C._build()
arr = lambda t, nd: types.Array(t, nd, "C")
i64, i8, b1 = types.int64, types.int8, types.boolean
for idx in (types.uint8, types.uint16, types.int64):  # FP8, 16-bit codes; float32 element tables
    sig = (arr(idx, 2), arr(idx, 2), arr(i64, 1), arr(i64, 1), arr(i64, 1), arr(i8, 1),
           arr(i64, 1), arr(i64, 1), arr(i64, 1), arr(i8, 1), arr(b1, 1), arr(b1, 1),
           i64, i64, b1, i64, i64, b1, i64, i64, i64, i64, i64, i64, i64, arr(i64, 2))
    try:
        ptx, _ = cuda.compile_ptx(k.py_func, sig, cc=(9, 0))
    except NvvmSupportError as e:
        print("NO NVVM", e)
        raise SystemExit(0)
    assert ".entry" in ptx
f32 = types.float32
ptx, _ = cuda.compile_ptx(C._build_fma32().py_func, (arr(f32, 2), arr(f32, 2), arr(f32, 2)), cc=(9, 0))
assert ".entry" in ptx
print("PTX OK")
"""


def test_cuda_kernel_compiles_for_h100_without_a_gpu():
    """The CUDA kernel, with the shared step functions of lowbit.mac.steps, compiles to sm_90 PTX
    (NVVM, no GPU needed): the GPU path is at least a valid CUDA program where CI has no GPU."""
    import subprocess
    import sys

    pytest.importorskip("numba.cuda", reason="numba's CUDA target not installed")
    r = subprocess.run([sys.executable, "-c", PTX_CHECK], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    if "NO NVVM" in r.stdout:
        pytest.skip("NVVM (libnvvm of the CUDA toolkit) not found: " + r.stdout[-300:])
    assert "PTX OK" in r.stdout


@pytest.mark.skipif(not _gpu(), reason="needs a CUDA GPU (lowbit.mac.cuda); CI has none")
def test_cuda_equals_cpu_and_hardware_on_recorded_cases(rec):
    """Every recorded case a preset reproduces, on the GPU: the bits equal the CPU's and the H100's."""
    meta, ops, outs = rec
    n = 0
    for c in meta["cases"]:
        if "error" in c:
            continue
        spec = preset_for(c)
        if spec is None:
            continue
        fmt, acc, out = spec
        a, b = operands(ops, c)
        view = np.uint32 if out == "float32" else np.uint16
        g = lowbit.matmul(a, b, fmt, fmt, accumulator=acc, out_dtype=out, device="cuda").view(view)
        cpu = lowbit.matmul(a, b, fmt, fmt, accumulator=acc, out_dtype=out).view(view)
        np.testing.assert_array_equal(g, cpu, err_msg=str(c["id"]))
        np.testing.assert_array_equal(g, outs[f"out_{c['id']}"], err_msg=str(c["id"]))
        n += 1
    assert n > 700


def preset_for(c):
    """(format, accumulator, out_dtype) of the preset that reproduces recorded case ``c``, or None."""
    from lowbit.mac import accumulator

    fam, path, prm = c["fam"], c["path"], c["params"]
    if fam in FMT:
        if path == "triton_dot" and prm.get("acc") == "float16":
            return FMT[fam], P.h100_fp16_triton(32, "float16"), "float16"
        if prm.get("fp16_accumulation") or prm.get("compute") == "16F":
            return FMT[fam], P.h100_fp16(acc="float16", M=c["M"], N=c["N"], K=c["K"]), "float16"
        preset = P.h100_fp16 if fam == "f16" else P.h100_bf16
        acc = preset(library="triton") if path == "triton_dot" else preset(M=c["M"], N=c["N"], K=c["K"])  # cuBLAS: by shape
        return FMT[fam], acc, "float32" if c["out_dtype"] == "uint32" else FMT[fam]
    if fam == "f32" and path == "torch_matmul" and prm == {"allow_tf32": False}:
        return "float32", P.h100_fp32(c["M"], c["N"], c["K"]), "float32"
    if fam == "f32" and path == "triton_dot":
        return "float32", P.h100_tf32_triton(32, prm["input_precision"]), "float32"
    if fam == "f32" and path == "torch_matmul" and prm == {"allow_tf32": True}:
        if (c["M"], c["N"], c["K"]) in P.H100_TF32_SEGMENTED:  # per-tile accumulators: test_h100_cublas
            return None
        return "float32", P.h100_tf32(c["M"], c["N"], c["K"]), "float32"
    if fam == "e4m3" and path == "scaled_mm":
        return "float8_e4m3fn", accumulator("h100-fp8", fast_accum=prm["fast_accum"], M=c["M"], N=c["N"],
                                            K=c["K"]), "float32"
    if fam == "e4m3" and path == "triton_dot":
        imp = prm.get("max_num_imprecise_acc")
        return "float8_e4m3fn", accumulator("h100-fp8-triton", block_k=prm["block_k"],
                                            max_num_imprecise_acc=None if imp == -1 else imp), "float32"
    return None


def test_cuda_bad_input():
    from lowbit.mac import cuda as C

    a = np.zeros((2, 4), np.uint8)
    b = np.zeros((4, 2), np.uint8)
    with pytest.raises(ValueError, match="fused-block accumulators .* only, got 'exact'"):
        C.matmul(a, b, "float8_e4m3fn", "float8_e4m3fn", accumulator="exact")
    if not C.available():
        with pytest.raises(RuntimeError, match="no CUDA GPU"):
            C.matmul(a, b, "float8_e4m3fn", "float8_e4m3fn", accumulator="h100-fp8")


def test_triton_fp8_imprecise_acc_0_on_new_cases(rec):
    """The MAC helper's h100-fp8-triton(max_num_imprecise_acc=0) (mma.sync on float16-converted
    operands, fitted on 64×64, K = 32/256 probes) vs every recorded IMP=0 case here: K 16..4096,
    1024×1024, BLOCK_K 32/64/128, every-code / Gaussian / heavy-tailed / crafted."""
    from lowbit.mac import accumulator

    meta, ops, outs = rec
    cs = [c for c in meta["cases"] if c["fam"] == "e4m3" and c["params"].get("max_num_imprecise_acc") == 0]
    assert len(cs) == 87
    bad = {}
    for c in cs:
        acc = accumulator("h100-fp8-triton", block_k=c["params"]["block_k"], max_num_imprecise_acc=0)
        a, b = operands(ops, c)
        got = lowbit.matmul(a, b, "float8_e4m3fn", "float8_e4m3fn", accumulator=acc).view(np.uint32)
        bad[c["id"]] = mismatches(got, outs[f"out_{c['id']}"])
    assert {k: v for k, v in bad.items() if v} == {}


def test_float32_chain_at_the_ends_of_its_range():
    """probe_overflow.py (recorded): a float32 chain that overflows is ±Inf and stays so (no
    cancellation back, no NaN from finite terms), a step sum is cut toward zero to float32's
    subnormal grid — on cuBLAS and Triton wgmma (bf16, tf32) — and the "ieee" FMA chain
    rounds as IEEE (Inf at max + half an ulp, nearest even below 2^-126)."""
    import dataclasses
    import importlib.util

    spec = importlib.util.spec_from_file_location("probe_overflow", os.path.join(HERE, "probe_overflow.py"))
    po = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(po)
    rec = np.load(os.path.join(HERE, "overflow", "overflow.npz"))
    A, B, names = po.operands()
    a, b = po.bf16_bits(A), po.bf16_bits(B)
    assert np.array_equal(rec["a"], a) and np.array_equal(rec["b"], b)
    fa, fb = A.view(np.uint32), B.view(np.uint32)
    diag = np.arange(len(names))
    bf16 = P.h100_bf16(M=64, N=64, K=64)  # the probe's cuBLAS GEMM: 64×64×64, recorded unsplit
    runs = {"bf16_torch_mm_out_f32": (a, b, "bfloat16", bf16, "float32"),
            "bf16_torch_matmul": (a, b, "bfloat16", bf16, "bfloat16"),
            "bf16_triton_bk32": (a, b, "bfloat16", P.h100_bf16_triton(32), "float32"),
            "bf16_triton_bk64": (a, b, "bfloat16", P.h100_bf16_triton(64), "float32"),
            "f32_triton_tf32_bk32": (fa, fb, "float32", P.h100_tf32_triton(32, "tf32"), "float32"),
            "f32_triton_ieee_bk32": (fa, fb, "float32", P.h100_tf32_triton(32, "ieee"), "float32")}
    n_teeth = 0
    for key, (x, y, fmt, acc, out) in runs.items():
        view = np.uint32 if out == "float32" else np.uint16
        got = lowbit.matmul(x, y, fmt, fmt, accumulator=acc, out_dtype=out).view(view)[diag, diag]
        np.testing.assert_array_equal(got, rec[f"out_{key}"], err_msg=key)
        if key != "f32_triton_ieee_bk32":  # the range knobs are what makes it so
            free = dataclasses.replace(acc, sum_emax=None, sum_emin=None)
            loose = lowbit.matmul(x, y, fmt, fmt, accumulator=free, out_dtype=out).view(view)[diag, diag]
            n_teeth += int(np.count_nonzero(loose != rec[f"out_{key}"]))
    assert n_teeth >= 5 * 5


# --------------------------------------------------------------------------------------
# No silent wrong bits: shape-dependent presets take the GEMM's shape, or refuse
# --------------------------------------------------------------------------------------
def test_fp32_by_name_at_every_recorded_shape_and_no_guess_from_k(rec):
    """``h100-fp32`` by name takes M, N, K from the operands (or M=, N= for the 16×16 outputs
    kept of 1024² GEMMs): every recorded case, every output.  The old K-only lookup (the 64×64
    slice length for any M, N) is wrong on 128×128×64 and 1024×1024×4096 — shown here on the
    recorded bits — and K alone is now refused."""
    meta, ops, outs = rec
    cs = [c for c in meta["cases"] if c["fam"] == "f32" and c["params"] == {"allow_tf32": False}]
    assert len(cs) == 29
    for c in cs:
        a, b = operands(ops, c)
        want = outs[f"out_{c['id']}"]
        assert mismatches(f32_matmul(a, b, "h100-fp32", c["M"], c["N"]), want) == 0, c["id"]
        if c["M"] != 64 and c["dist"] == "normal":
            k_only = P.h100_fp32(K=c["K"], slice_k=P.H100_FP32_CUBLAS_SLICES[(64, 64, c["K"])]
                                 if (64, 64, c["K"]) in P.H100_FP32_CUBLAS_SLICES else 64)
            assert mismatches(f32_matmul(a, b, k_only), want) > 0, c["id"]
    # partial operands without the GEMM's M, N are taken for a 16×16×4096 GEMM: cuBLAS's kernel
    # there (the shipped rule's) cuts K otherwise than at 1024×1024×4096 — wrong, and visibly so
    (c,) = [c for c in cs if (c["M"], c["K"], c["dist"]) == (1024, 4096, "normal")]
    a, b = operands(ops, c)
    assert mismatches(f32_matmul(a, b, "h100-fp32"), outs[f"out_{c['id']}"]) > 0


def test_cublas_presets_by_name_take_the_shape_rule_not_one_chain():
    """A shape no table recorded: by name a cuBLAS preset takes the shipped sweep rule's schedule
    for the operands' shape (vectors/hardware/h100/sweep, tests/test_cublas_rule.py), never a
    silent single chain; the preset functions themselves still refuse it."""
    from lowbit.mac import cublas_rule

    x = np.full((8, 300), 0x3C00, np.uint16)
    for name, fmt, path in (("h100-fp16", "float16", "fp16-f32"), ("h100-bf16", "bfloat16", "bf16-f32")):
        with pytest.raises(ValueError, match=f"{name}: shape M=8, N=8, K=300 was not recorded"):
            getattr(P, name.replace("-", "_"))(M=8, N=8, K=300)
        walk, split, granule, how = cublas_rule.shipped()["rules"][path].lookup(8, 8, 300)
        assert lowbit.mac.accumulator(name, M=8, N=8, K=300) == cublas_rule.label(
            cublas_rule.accumulator(path, walk, split, 300, granule), name)
    e = np.full((8, 300), 0x38, np.uint8)
    with pytest.raises(ValueError, match="h100-fp8: shape M=8, N=8, K=300 .* was not recorded"):
        h100_fp8(M=8, N=8, K=300)
    # K <= 128 is one split granule: no split can differ, any M, N
    assert lowbit.matmul(e[:, :96], e[:, :96].T.copy(), "e4m3", "e4m3", accumulator="h100-fp8")[0, 0] == 96
    with pytest.raises(ValueError, match="K=100 does not fit the operands"):
        lowbit.matmul(e, e.T.copy(), "e4m3", "e4m3", accumulator="h100-fp8", K=100)
    with pytest.raises(ValueError, match="M=4 does not fit the operands"):
        lowbit.matmul(e, e.T.copy(), "e4m3", "e4m3", accumulator="h100-fp8", M=4)


def test_check_gemm_never_names_a_preset_that_is_wrong_on_the_whole_gemm(rec):
    """Every preset ``lowbit check --gemm`` names as reproducing all sampled mismatches of a
    recorded cuBLAS FP32 output (checked against Triton's ieee chain) reproduces the whole
    recorded output; the right one (h100-fp32 at the GEMM's shape) is among them."""
    from lowbit.gemm_check import check_gemm

    meta, ops, outs = rec
    for c in [c for c in meta["cases"] if c["fam"] == "f32" and c["params"] == {"allow_tf32": False}
              and c["M"] == 128 and c["K"] == 64]:  # at K=32 one slice: Triton's chain is right
        a, b = operands(ops, c)
        want = outs[f"out_{c['id']}"]
        res = check_gemm(a, b, want.view(np.float32), "float32", "float32",
                         P.h100_tf32_triton(32, "ieee"))
        assert not res.ok
        full = [k for k, v in res.explained_by.items() if v == res.sampled]
        assert f"h100-fp32 at M=128, N=128, K={c['K']}" in full
        from lowbit.gemm_check import alternatives

        alts = alternatives(P.h100_tf32_triton(32, "ieee"), "float32", "float32", (c["M"], c["N"], c["K"]))
        for label in full:
            assert mismatches(f32_matmul(a, b, alts[label]), want) == 0, label


def test_int32_output_wraps_as_a_twos_complement_accumulator():
    """out_dtype='int32': the exact sum modulo 2^32 (Python integers as the reference), past
    2^31 too, where float32 is long inexact."""
    K = 140_000
    a = np.full((2, K), -128, np.int8)
    b = np.full((K, 3), -128, np.int8)
    b[:, 1] = 127
    b[::7, 2] = 1
    got = lowbit.matmul(a, b, "int8", "int8", accumulator="h100-int8", out_dtype="int32")
    for j in range(3):
        exact = sum(int(-128) * int(v) for v in b[:, j])
        wrapped = (exact + 2**31) % 2**32 - 2**31
        assert int(got[0, j]) == wrapped and int(got[1, j]) == wrapped
        assert (exact != wrapped) == (j < 2)  # columns 0, 1 are past ±2^31: the wrap is exercised
    assert int(got[0, 0]) != int(lowbit.matmul(a, b, "int8", "int8", accumulator="exact")[0, 0])
    with pytest.raises(ValueError, match="out_dtype='int32' takes integer operands"):
        lowbit.matmul(np.zeros((1, 2), np.uint8), np.zeros((2, 1), np.uint8), "e4m3", "e4m3",
                      accumulator="exact", out_dtype="int32")
    with pytest.raises(ValueError, match="takes no scales"):
        lowbit.matmul(a[:, :4], b[:4], "int8", "int8", accumulator="exact", out_dtype="int32", scale_a=2.0)
    with pytest.raises(ValueError, match="exact integer GEMM"):
        lowbit.matmul(a[:, :4], b[:4], "int8", "int8", accumulator="ieee", out_dtype="int32")
