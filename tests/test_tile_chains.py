"""lowbit.mac.tile_chains: per-tile chain starts read back from a GEMM whose tiles are cut
differently — here lowbit's own emulation of such a kernel (per-tile split-K slices, the
``tiles`` field), float32 chains (TF32) and float16 chains (FP16 accumulation)."""
import dataclasses

import numpy as np
import pytest

import lowbit
from lowbit.mac import cublas_rule as cr
from lowbit.mac.discovery import DiscoveryError
from lowbit.mac.tile_chains import chain_starts

CUTS = {(0, 0): (), (0, 1): (5, 13), (0, 2): (1,), (1, 0): (19,), (1, 1): (), (1, 2): (2, 3, 4)}


def _gemm(path, fmt, walk, M, N, K, tile, step, cuts):
    base = cr.accumulator(path, walk, 1, K)
    tiles = []
    for (tm, tn), cut in cuts.items():
        s = [0] + [c * step for c in cut] + [K]
        sl = tuple(b - a for a, b in zip(s, s[1:]))
        if len(sl) > 1:
            tiles.append((tm * tile[0], min(M, (tm + 1) * tile[0]), tn * tile[1], min(N, (tn + 1) * tile[1]),
                          dataclasses.replace(base, split_slices=sl, for_k=K)))
    acc = dataclasses.replace(base, tiles=tuple(tiles), for_mn=(M, N))
    return lambda A, B: np.asarray(lowbit.matmul(A, B, fmt, fmt, accumulator=acc)).astype(np.float64)


@pytest.mark.parametrize("path, fmt, walk, chain, step", [
    ("tf32", "float32", cr.Walk(8, None, 32, "float32"), "float32", 32),
    ("fp16-acc16", "float16", cr.Walk(16, None, 64, "float16"), "float16", 64)])
def test_chain_starts_reads_each_tiles_cuts(path, fmt, walk, chain, step):
    M, N, K = 200, 300, 20 * step - 7  # edge tiles of 72 x 44; a partial last iteration
    gemm = _gemm(path, fmt, walk, M, N, K, (128, 128), step, CUTS)
    got = chain_starts(gemm, fmt, fmt, M=M, N=N, K=K, tile_m=128, tile_n=128, k_step=step, chain=chain)
    assert {k: tuple(int(b) for b in np.flatnonzero(got.cuts[k])) for k in CUTS} == CUTS
    assert got.pieces(0, 1) == (5 * step, 8 * step, K - 13 * step)


def test_chain_starts_more_iterations_than_a_tile_tests_at_once():
    M, N, K, step = 40, 40, 100 * 32, 32  # 39 boundaries a call: three calls
    cuts = {(0, 0): (7, 39, 40, 77, 99)}
    gemm = _gemm("tf32", "float32", cr.Walk(8, None, 32, "float32"), M, N, K, (64, 64), step, cuts)
    got = chain_starts(gemm, "float32", "float32", M=M, N=N, K=K, tile_m=64, tile_n=64, k_step=step)
    assert got.calls == 3
    assert got.starts(0, 0) == [0] + [c * step for c in cuts[(0, 0)]]


def test_chain_starts_refuses_a_wrong_tile():
    # the kernel's tiles are 64 x 64; probed as 128 x 128, one probed tile holds differently cut
    # kernel tiles, and its answers are not contiguous chains (row 0 and column 70 fall in the
    # kernel tile cut at iteration 3; rows 2, 3 and column 3 in one that is not)
    M, N, K, step = 128, 128, 128 * 32, 32
    cuts = {(0, 0): (), (0, 1): (3,), (1, 0): (9,), (1, 1): ()}
    gemm = _gemm("tf32", "float32", cr.Walk(8, None, 32, "float32"), M, N, K, (64, 64), step, cuts)
    with pytest.raises(DiscoveryError, match="not contiguous chains"):
        chain_starts(gemm, "float32", "float32", M=M, N=N, K=K, tile_m=128, tile_n=128, k_step=step)


def test_chain_starts_bad_input():
    gemm = lambda A, B: np.zeros((A.shape[0], B.shape[1]))
    with pytest.raises(ValueError, match="chain='bfloat16' is not allowed"):
        chain_starts(gemm, "float32", "float32", M=8, N=8, K=64, tile_m=4, tile_n=4, k_step=8, chain="bfloat16")
    with pytest.raises(ValueError, match="k_step=1 is not allowed"):
        chain_starts(gemm, "float32", "float32", M=8, N=8, K=64, tile_m=4, tile_n=4, k_step=1)
    with pytest.raises(ValueError, match="tile_m=0 is not allowed"):
        chain_starts(gemm, "float32", "float32", M=8, N=8, K=64, tile_m=0, tile_n=4, k_step=8)
    with pytest.raises(DiscoveryError, match="neither"):
        chain_starts(gemm, "float32", "float32", M=8, N=8, K=64, tile_m=4, tile_n=4, k_step=8)


def test_chain_starts_names_a_boundary_it_cannot_probe():
    # K = 3·32 + 1: the last k-iteration holds one position, the probe's column term needs two
    M, N, K = 64, 64, 97
    gemm = _gemm("tf32", "float32", cr.Walk(8, None, 32, "float32"), M, N, K, (64, 64), 32, {(0, 0): ()})
    with pytest.raises(DiscoveryError, match="boundary before k-iteration 3 was not probed"):
        chain_starts(gemm, "float32", "float32", M=M, N=N, K=K, tile_m=64, tile_n=64, k_step=32)
