"""lowbit.mac.discover against black-box GEMMs written independently of lowbit's kernels
(tests/blackbox_gemm.py: ml_dtypes decoding, numpy float64 steps, numpy float32 additions).

Each box is discovered from probes alone; the accumulator found must then reproduce the box bit
for bit on fresh random operands that discovery never saw (another seed, other distributions).
"""

from __future__ import annotations

import numpy as np
import pytest

import lowbit
from blackbox_gemm import FusedChainGEMM, values
from lowbit.mac import FusedBlock
from lowbit.mac import discover
from lowbit.mac.discovery import DiscoveryError

BOXES = {
    # FP8 steps of 32, F=13, 14-bit truncated sums, promotion every 96 (not a power of two)
    "e4m3-n32-F13-S14-promote96": (dict(fmt_a="float8_e4m3fn", fmt_b="float8_e4m3fn", n=32, F=13, S=14,
                                        segments=[96] * 4), 384),
    # bfloat16 steps of 8, nearest-even grid, product alignment, unbounded sums, uneven split-K
    "bf16-n8-F20-rne-product-split96+160": (dict(fmt_a="bfloat16", fmt_b="bfloat16", n=8, F=20,
                                                 term="nearest_even", S=None, align="product",
                                                 segments=[96, 160]), 256),
    # float16 steps of 16, F=25, 24-bit sums, four slices added as a tree
    "f16-n16-F25-S24-tree": (dict(fmt_a="float16", fmt_b="float16", n=16, F=25, S=24, segments=[64] * 4,
                                  tree=((0, 1), (2, 3))), 256),
    # mixed FP8, steps of 16, F=10, 12-bit nearest-even sums, slices 48/80/128 in order
    "e5m2xe4m3-n16-F10-S12rne-split48+80+128": (dict(fmt_a="float8_e5m2", fmt_b="float8_e4m3fn", n=16, F=10,
                                                     S=12, sum_rounding="nearest_even",
                                                     segments=[48, 80, 128]), 256),
}


def fresh_operands(fa, fb, M, N, K, seed):
    rng = np.random.default_rng(seed)
    a = lowbit.encode(rng.standard_t(3, size=(M, K)) * 2.0 ** rng.integers(-3, 4, (M, K)), fa, overflow="saturate")
    b = lowbit.encode(rng.laplace(size=(K, N)), fb, overflow="saturate")
    return a, b


@pytest.mark.parametrize("name", list(BOXES))
def test_discovered_accumulator_reproduces_the_box_on_unseen_operands(name):
    kw, K = BOXES[name]
    box = FusedChainGEMM(**kw)
    M = N = 32
    acc, rep = discover(box, kw["fmt_a"], kw["fmt_b"], M=M, N=N, K=K, report=True)
    assert isinstance(acc, FusedBlock)
    assert acc.block_size == kw["n"] and acc.frac_bits == kw["F"] and acc.align == kw.get("align", "operands")
    assert acc.term_rounding == kw.get("term", "toward_zero")
    assert rep.calls < 60 and rep.calls == box.calls
    for seed in (101, 202):
        a, b = fresh_operands(kw["fmt_a"], kw["fmt_b"], M, N, K, seed)
        want = box(a, b).view(np.uint32)
        got = lowbit.matmul(a, b, kw["fmt_a"], kw["fmt_b"], accumulator=acc).view(np.uint32)
        assert np.array_equal(got, want), f"{np.count_nonzero(got != want)} outputs differ"
    # and the test has teeth: one chain over K (no segments) is not the box
    if len(kw.get("segments", [])) > 1:
        import dataclasses

        plain = dataclasses.replace(acc, promote_every=None, split_slices=None, split_tree=None, for_k=None)
        got = lowbit.matmul(a, b, kw["fmt_a"], kw["fmt_b"], accumulator=plain).view(np.uint32)
        assert not np.array_equal(got, want)


def test_an_exact_gemm_is_found_exact():
    def exact_box(A, B):
        a, b = values(A, "float8_e4m3fn"), values(B, "float8_e4m3fn")
        from fractions import Fraction

        out = np.zeros((A.shape[0], B.shape[1]), np.float32)
        for i in range(A.shape[0]):
            for j in range(B.shape[1]):
                s = sum((Fraction(x) * Fraction(y) for x, y in zip(a[i], b[:, j])), Fraction(0))
                out[i, j] = np.float32(float(s)) if abs(float(s)) < 2.0**100 else np.float32(float(s))
        return out

    acc = discover(exact_box, "float8_e4m3fn", "float8_e4m3fn", M=4, N=4, K=16)
    assert acc.kind == "exact"


def test_a_gemm_outside_the_model_space_is_refused_with_the_contradicting_probe():
    """float16 products rounded to bfloat16, then added in float32 in order: no fused step, and
    neither exact nor float32 addition, does that."""
    import ml_dtypes

    def bf16_products(A, B):
        a, b = values(A, "float16"), values(B, "float16")
        out = np.zeros((A.shape[0], B.shape[1]), np.float32)
        for k in range(A.shape[1]):
            p = (a[:, k, None] * b[None, k, :]).astype(ml_dtypes.bfloat16).astype(np.float32)
            out = (out + p).astype(np.float32)
        return out

    with pytest.raises(DiscoveryError, match=r"fails call \d+ \(random operands"):
        discover(bf16_products, "float16", "float16", M=16, N=16, K=64)


def test_bad_arguments():
    box = FusedChainGEMM("float8_e4m3fn", "float8_e4m3fn", n=32, F=13, S=14)
    with pytest.raises(DiscoveryError, match="a_format='int8'"):
        discover(box, "int8", "int8", M=8, N=8, K=64)
    with pytest.raises(ValueError, match="K=0 is not allowed"):
        discover(box, "e4m3", "e4m3", M=8, N=8, K=0)
    with pytest.raises(DiscoveryError, match="returned shape"):
        discover(lambda A, B: np.zeros((2, 2), np.float32), "e4m3", "e4m3", M=8, N=8, K=64)


def test_save_load_and_the_command_line(tmp_path, capsys):
    """lowbit discover --callable (a factory with --param), --out JSON, lowbit.mac.load: the same
    accumulator, which reproduces the box."""
    from lowbit.cli import main

    src = tmp_path / "box.py"
    src.write_text("import sys\nsys.path.insert(0, %r)\nfrom blackbox_gemm import FusedChainGEMM\n\n"
                   "def make(F=13):\n    return FusedChainGEMM('float8_e4m3fn', 'float8_e4m3fn', n=32, F=F, S=14)\n"
                   % str(__import__("pathlib").Path(__file__).parent))
    out = tmp_path / "acc.json"
    assert main(["discover", "--callable", f"{src}:make", "--param", "F=12", "--formats", "e4m3", "e4m3",
                 "--shape", "16", "16", "128", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "calls to the GEMM" in text and "frac_bits=12" in text
    acc = lowbit.mac.load(out)
    assert acc.frac_bits == 12 and acc.block_size == 32
    box = FusedChainGEMM("float8_e4m3fn", "float8_e4m3fn", n=32, F=12, S=14)
    a, b = fresh_operands("float8_e4m3fn", "float8_e4m3fn", 16, 16, 128, 7)
    assert np.array_equal(lowbit.matmul(a, b, "e4m3", "e4m3", accumulator=acc).view(np.uint32),
                          box(a, b).view(np.uint32))
    lowbit.mac.save(acc, tmp_path / "again.json")
    assert lowbit.mac.load(tmp_path / "again.json") == acc
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    with pytest.raises(ValueError, match="not an accumulator file"):
        lowbit.mac.load(bad)
    assert main(["discover", "--formats", "e4m3", "e4m3", "--shape", "8", "8", "64"]) == 2
    assert "give --gemm OP" in capsys.readouterr().err


def test_a_decode_shape_is_probed_along_its_long_side():
    """M = 1 (one token): one probe per output column, so K's pairs need few calls."""
    box = FusedChainGEMM("float8_e4m3fn", "float8_e4m3fn", n=32, F=13, S=14, segments=[64, 64, 64])
    acc, rep = discover(box, "float8_e4m3fn", "float8_e4m3fn", M=1, N=128, K=192, report=True)
    assert acc.block_size == 32 and acc.promote_every == 64 and rep.calls < 60
    a, b = fresh_operands("float8_e4m3fn", "float8_e4m3fn", 1, 128, 192, 11)
    assert np.array_equal(lowbit.matmul(a, b, "e4m3", "e4m3", accumulator=acc).view(np.uint32),
                          box(a, b).view(np.uint32))
