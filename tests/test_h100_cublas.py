"""cuBLAS TF32 and FP16-accumulation presets (h100-tf32, h100-fp16 acc="float16") against the H100.

References are recorded H100 outputs only:
- ``vectors/hardware/h100/paths``: torch.matmul allow_tf32, allow_fp16_accumulation and
  cublasGemmEx COMPUTE_16F, 29 cases each (random every-code / Gaussian / heavy-tailed and
  crafted operands) — the per-shape K order was read from crafted probes, so these random
  operands were not used to fit it;
- ``vectors/hardware/h100/mma``: the crafted cuBLAS probes the K order was read from (a
  regression check of the fit) and dense random operands at 10 more shapes (held out);
- TF32 1024×1024×4096: 16 rows × all 1024 columns of a random product, 1024 of them in the 8
  output tiles cuBLAS's stream-K kernel cuts into 15 pieces (held out: the pieces and their
  reduction tree were read from segment-map probes).
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np
import pytest

import lowbit
from lowbit.mac import accumulator
from lowbit.mac import h100_paths as P
from lowbit.mac.accumulators import h100_fp8

MMA = os.path.join(os.path.dirname(__file__), "..", "vectors", "hardware", "h100", "mma")


@pytest.fixture(scope="module")
def data():
    sys.path.insert(0, MMA)
    try:
        import fit_cublas  # the recordings' loaders (operands rebuilt and checked by SHA-256)
        import gen
    finally:
        sys.path.remove(MMA)
    return fit_cublas, gen


def emulate(kind, c, A, B):
    """The preset's output bits for recorded case ``c`` (A: its rows, B: its columns)."""
    M, N, K = c["M"], c["N"], c["K"]
    if kind == "tf32":
        plain = P.h100_tf32(M, N, K, segmented=False)  # parts of C: the per-tile settings themselves
        out = lowbit.matmul(A, B, "float32", "float32", accumulator=plain).view(np.uint32).copy()
        seg = P.H100_TF32_SEGMENTED.get((M, N, K))
        if seg is not None:  # the stream-K tiles: their own accumulator
            rows, cols = np.asarray(c["rows"]), np.asarray(c["cols"])
            ri = np.flatnonzero((rows >= seg["rows"][0]) & (rows < seg["rows"][1]))
            ci = np.flatnonzero((cols >= seg["cols"][0]) & (cols < seg["cols"][1]))
            if ri.size and ci.size:
                acc = accumulator("h100-tf32", M=M, N=N, K=K, segmented=True)
                out[np.ix_(ri, ci)] = lowbit.matmul(np.ascontiguousarray(A[ri]), np.ascontiguousarray(B[:, ci]),
                                                    "float32", "float32", accumulator=acc).view(np.uint32)
        return out
    acc = accumulator("h100-fp16", acc="float16", M=M, N=N, K=K)
    return lowbit.matmul(A, B, "float16", "float16", accumulator=acc, out_dtype="float16").view(np.uint16)


@pytest.mark.parametrize("kind,label", [("tf32", "tf32"), ("fp16acc", "fp16"), ("gemmex16", "fp16")])
def test_recorded_paths(data, kind, label):
    fit_cublas, _ = data
    items = fit_cublas.recorded(kind)
    assert len(items) == 29
    bad = [(c["M"], c["K"], c["dist"]) for c, A, B, want in items
           if not np.array_equal(emulate(label, dict(c, cols=c["cols"]), A, B), want)]
    assert bad == []


@pytest.mark.parametrize("kind", ["tf32", "fp16acc"])
def test_probes_crafted_and_random(data, kind):
    fit_cublas, gen = data
    items = fit_cublas.crafted(kind)
    for (M, N, K) in gen.CUBLAS2_SHAPES:
        items += fit_cublas.second_run(kind, M, N, K, "pt") + fit_cublas.second_run(kind, M, N, K, "rnd")
    assert len(items) == 152
    label = "tf32" if kind == "tf32" else "fp16"
    bad = [(c["M"], c["N"], c["K"], c.get("dist", "crafted")) for c, A, B, want in items
           if not np.array_equal(emulate(label, c, A, B), want)]
    assert bad == []


def test_tf32_stream_k_tiles(data):
    """1024×1024×4096: every column of 16 random rows; the 8 split tiles need their own accumulator."""
    _, gen = data
    with open(os.path.join(MMA, "data", "meta2.json")) as f:
        m2 = json.load(f)["operands"]
    want = np.load(os.path.join(MMA, "data", "cublas2_outputs.npz"))["rnd_tf32_1024x1024x4096_full"]
    A, B = gen.cublas_random("tf32", 1024, 1024, 4096, 1)
    assert gen.sha(A) == m2["rnd_tf32_1024x1024x4096_full"]["A"]
    rows = np.arange(0, 1024, 64)
    c = {"M": 1024, "N": 1024, "K": 4096, "rows": rows, "cols": np.arange(1024)}
    got = emulate("tf32", c, np.ascontiguousarray(A[::64]), B)
    assert np.array_equal(got, want)
    inside = (rows < 256)[:, None] & (np.arange(1024) >= 768)[None, :]
    assert inside.sum() == 1024
    # the segmented accumulator matters there, and only there
    plain = lowbit.matmul(np.ascontiguousarray(A[::64]), B, "float32", "float32",
                          accumulator=P.h100_tf32(1024, 1024, 4096, segmented=False)).view(np.uint32)
    assert np.array_equal(plain[~inside], want[~inside])
    assert np.count_nonzero(plain[inside] != want[inside]) > 100


@pytest.mark.slow
def test_tf32_full_1024x1024x4096_product(data):
    """The default preset on the full operands places the stream-K tiles itself (4.3 G MAC: slow)."""
    _, gen = data
    want = np.load(os.path.join(MMA, "data", "cublas2_outputs.npz"))["rnd_tf32_1024x1024x4096_full"]
    A, B = gen.cublas_random("tf32", 1024, 1024, 4096, 1)
    got = lowbit.matmul(A, B, "float32", "float32", accumulator=accumulator("h100-tf32", M=1024, N=1024, K=4096))
    assert np.array_equal(got.view(np.uint32)[::64], want)


def test_tiles_place_their_settings():
    """``tiles``: the outputs of a tile are the tile setting's, the rest the base's, bit for bit."""
    import dataclasses

    rng = np.random.default_rng(5)
    a = rng.normal(size=(12, 40)).astype(np.float32).view(np.uint32)
    b = rng.normal(size=(40, 10)).astype(np.float32).view(np.uint32)
    base = P.h100_tf32(slice_k=8, k_tile=16)
    other = dataclasses.replace(base, split_k=1)
    tiled = dataclasses.replace(base, tiles=((2, 7, 3, 9, other),), for_mn=(12, 10))
    got = lowbit.matmul(a, b, "float32", "float32", accumulator=tiled).view(np.uint32)
    one = lowbit.matmul(a, b, "float32", "float32", accumulator=base).view(np.uint32)
    two = lowbit.matmul(a, b, "float32", "float32", accumulator=other).view(np.uint32)
    inside = np.zeros((12, 10), bool)
    inside[2:7, 3:9] = True
    assert np.array_equal(got[inside], two[inside]) and np.array_equal(got[~inside], one[~inside])
    assert np.count_nonzero(one[inside] != two[inside]) > 5  # the two settings differ there
    with pytest.raises(ValueError, match="treats some output tiles of the 12x10 product differently.*6x10"):
        lowbit.matmul(a[:6], b, "float32", "float32", accumulator=tiled)


def test_the_rules_have_teeth(data):
    """Each part of the rule is needed: input rounding, slicing, residue-first, float16 reduction."""
    import dataclasses

    fit_cublas, _ = data
    tf = {(c["M"], c["K"], c["dist"]): (c, A, B, w) for c, A, B, w in fit_cublas.recorded("tf32")}
    c, A, B, want = tf[(64, 256, "normal")]
    acc = P.h100_tf32(64, 64, 256)
    for wrong in (dataclasses.replace(acc, input_rounding="toward_zero"),  # Triton's cut, not cuBLAS's rounding
                  dataclasses.replace(acc, split_k=1)):                     # one chain instead of slices of 32
        got = lowbit.matmul(A, B, "float32", "float32", accumulator=wrong).view(np.uint32)
        assert np.count_nonzero(got != want) > 100, wrong
    fp = {(c["M"], c["K"], c["dist"]): (c, A, B, w) for c, A, B, w in fit_cublas.recorded("fp16acc")}
    c, A, B, want = fp[(64, 1000, "normal")]
    acc = P.h100_fp16(acc="float16", M=64, N=64, K=1000)
    wrong = dataclasses.replace(acc, split_reduce="float32")
    got = lowbit.matmul(A, B, "float16", "float16", accumulator=wrong, out_dtype="float16").view(np.uint16)
    assert np.count_nonzero(got != want) > 10
    # the partial k-tile first: 100×100×100 TF32 is one slice of 100 = 4 + 6 tiles of 16
    items = [x for x in fit_cublas.second_run("tf32", 100, 100, 100, "pt")]
    acc = P.h100_tf32(100, 100, 100)
    assert acc.k_tile == 16
    n_diff = 0
    for c, A, B, want in items:
        assert np.array_equal(lowbit.matmul(A, B, "float32", "float32", accumulator=acc).view(np.uint32), want)
        got = lowbit.matmul(A, B, "float32", "float32", accumulator=dataclasses.replace(acc, k_tile=None))
        n_diff += int(np.count_nonzero(got.view(np.uint32) != want))
    assert n_diff > 10


def test_bad_input():
    with pytest.raises(ValueError, match="pass M=, N=, K="):
        accumulator("h100-tf32", K=256)  # a part of a shape fixes nothing
    assert isinstance(accumulator("h100-tf32"), lowbit.mac.ByShape)  # fixed by lowbit.matmul from the operands
    with pytest.raises(ValueError, match="M=64, N=64, K=3000 was not recorded.*or pass slice_k"):
        P.h100_tf32(M=64, N=64, K=3000)  # the preset's own table; by name the shipped rule predicts it
    with pytest.raises(ValueError, match="either M, N, K .* or slice_k"):
        accumulator("h100-tf32", M=64, N=64, K=256, slice_k=32, k_tile=16)
    with pytest.raises(ValueError, match="k_tile= is needed"):
        accumulator("h100-tf32", slice_k=32)
    with pytest.raises(ValueError, match="segmented=True is recorded for"):
        accumulator("h100-tf32", M=64, N=64, K=256, segmented=True)
    with pytest.raises(ValueError, match="acc='float16' is cuBLAS"):
        accumulator("h100-fp16", acc="float16", library="triton")
    with pytest.raises(ValueError, match="acc='float64' is not allowed"):
        accumulator("h100-fp16", acc="float64")
    with pytest.raises(ValueError, match="choose the K order of acc='float16' only"):
        accumulator("h100-fp16", slice_k=64)
    with pytest.raises(ValueError, match="M=64, N=64, K=8192 with fast_accum=True was not recorded"):
        h100_fp8(fast_accum=True, M=64, N=64, K=8192)
    with pytest.raises(ValueError, match="give all three"):
        accumulator("h100-bf16", K=64)
    with pytest.raises(ValueError, match="M=64, N=64, K=512 was not recorded"):
        P.h100_fp16(M=64, N=64, K=512)
    with pytest.raises(ValueError, match="split_slices=.* sum to 7, but K=100"):
        lowbit.matmul(np.zeros((2, 100), np.uint32), np.zeros((100, 2), np.uint32), "float32", "float32",
                      accumulator=accumulator("fused-block", split_slices=(3, 4)))
    with pytest.raises(ValueError, match="'h100-tf32' was built for K=256 .* operands have K=100"):
        lowbit.matmul(np.zeros((2, 100), np.uint32), np.zeros((100, 2), np.uint32), "float32", "float32",
                      accumulator=accumulator("h100-tf32", M=64, N=64, K=256))
    with pytest.raises(ValueError, match="'h100-fp32' was built for K=256"):
        lowbit.matmul(np.zeros((2, 100), np.uint32), np.zeros((100, 2), np.uint32), "float32", "float32",
                      accumulator=accumulator("h100-fp32", M=64, N=64, K=256))
    with pytest.raises(ValueError, match="must name each slice index 0..2 exactly once"):
        accumulator("fused-block", split_slices=(1, 2, 3), split_tree=((0, 1), 1))
    e8 = np.zeros((1, 5), np.uint8)  # E8M0 code 0 is 2^-127, not zero: padding K with it is refused
    with pytest.raises(ValueError, match="k_tile=8 pads K with code 0, which is not zero in 'float8_e8m0fnu'"):
        lowbit.matmul(e8, e8.T.copy(), "float8_e8m0fnu", "float8_e8m0fnu",
                      accumulator=accumulator("fused-block", block_size=4, k_tile=8))
    with pytest.raises(ValueError, match="interleave_group=8 pads K=5 with code 0.*allowed: K a multiple of 8"):
        lowbit.matmul(e8, e8.T.copy(), "float8_e8m0fnu", "float8_e8m0fnu",
                      accumulator=accumulator("fused-block", block_size=4, interleave_group=8, interleave_run=2))
    with pytest.raises(ValueError, match="split_tree needs split_slices"):
        accumulator("fused-block", split_tree=(0, 1))
    with pytest.raises(ValueError, match="a_format='bfloat16' is not covered by accumulator 'h100-fp16'"):
        lowbit.matmul(np.zeros((2, 4), np.uint16), np.zeros((4, 2), np.uint16), "bfloat16", "bfloat16",
                      accumulator=accumulator("h100-fp16", acc="float16", M=64, N=64, K=64))


def test_check_gemm_names_the_cublas_preset(data):
    """A real cuBLAS TF32 output checked against Triton's tf32 rule: lowbit check finds the
    mismatches and names h100-tf32 at the GEMM's shape as the model that explains them all."""
    from lowbit.gemm_check import check_gemm

    fit_cublas, _ = data
    c, A, B, want = [x for x in fit_cublas.recorded("tf32") if x[0]["K"] == 256 and x[0]["dist"] == "normal"][0]
    res = check_gemm(A, B, want.view(np.float32), "float32", "float32", "h100-tf32-triton")
    assert not res.ok and res.sampled > 0
    label = "h100-tf32 at M=64, N=64, K=256"
    assert res.explained_by[label] == res.sampled
    assert max(v for k, v in res.explained_by.items() if k != label) < res.sampled
    assert check_gemm(A, B, want.view(np.float32), "float32", "float32",
                      accumulator("h100-tf32", M=64, N=64, K=256)).ok
