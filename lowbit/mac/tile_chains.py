"""Where each output tile of a GEMM starts a new chain over K, probed for every tile at once.

A stream-K kernel (cuBLAS 13's sm90 xmma ``…_execute_segment_k_on`` kernels) deals the
k-iterations of some output tiles to several CTAs: each CTA sums its run of iterations as a
chain from 0, and the runs' results are added afterwards; other tiles run whole.  Where the cuts
fall differs from tile to tile, so :func:`lowbit.mac.discover`, which reads one chain structure
shared by every output, cannot see them.  :func:`chain_starts` reads them for every tile in a
few calls, with discover's separator probe (its probe 2) laid out over whole tiles:

* a row term at the start of one k-iteration and column terms just after the start of a later
  one: output (m, n) sums them in one chain or in two, and the probe's values make the two
  differ (:data:`PROBES`, per chain format: a float32 chain cuts its sum toward zero, so 1 + ¾ ulp
  stays 1 there and rounds up where two chains' results are added; a float16 chain rounds
  1 + 2^-11 + 2^-24 up to 1 + 2^-10 at once, while a separate chain first loses 2^-24);
* inside a tile of ``tile_m`` × ``tile_n`` outputs, row i (m mod tile_m) puts its 1 at the start
  of k-iteration o + i and column j (n mod tile_n) its terms just after the start of o + j, so
  output (i, j) of every tile says whether iterations o + i and o + j share a chain; the pairs
  j = i + 1 say where chains start, the others check it (a chain is a contiguous run);
* o steps through K, min(tile_m, tile_n) − 1 iteration boundaries per call.

Only positions p and q carry terms; every other product is 0.  The result is per tile, per
iteration boundary: where a new chain starts.  The order the chains' results are added in is
not read here (:func:`lowbit.mac.discover` probes that for a single chain structure).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..formats import format as lookup
from .discovery import DiscoveryError, _exact_code

# chain format -> (row terms, column terms, one chain, two chains): terms are (offset into the
# k-iteration, product); the values a chain and a split chain give for them.  float32: the
# tensor core's chain (h100_paths._tensor_core: sum cut toward zero to 24 bits) keeps 1 for
# 1 + 0.75·2^-23, float32 addition rounds it to 1 + 2^-23.  float16 (cuBLAS's FP16-accumulating
# chain: terms aligned to 2^(E-25), the sum rounded to nearest at 11 bits): 1, then 2^-11 and
# 2^-24 in one later step give 1 + 2^-10 (above the tie); split off, 2^-11 + 2^-24 is rounded
# on its own (float16: 2^-11; float32: exact, and 1 + it ties to 1 + 2^-11), and 1 + that ties
# back to 1.  Either holds only where the row's iteration comes first in the chain: the probe
# reads iteration pairs in that order.
PROBES = {
    "float32": (((0, 1.0),), ((1, 0.75 * 2.0 ** -23),), 1.0, 1.0 + 2.0 ** -23),
    "float16": (((0, 1.0),), ((1, 2.0 ** -11), (3, 2.0 ** -24)), 1.0 + 2.0 ** -10, 1.0),
}


@dataclass(frozen=True)
class ChainMap:
    """Chain starts per output tile: ``cuts[tm, tn, b]`` is True where the tile (tm, tn) starts a
    new chain at k-iteration b (b ≥ 1; iteration b covers K positions [b·k_step, (b+1)·k_step))."""

    M: int
    N: int
    K: int
    tile_m: int
    tile_n: int
    k_step: int
    cuts: np.ndarray  # bool, (tiles along M, tiles along N, iterations)
    calls: int

    def starts(self, tm: int, tn: int) -> list:
        """The K positions where tile (tm, tn)'s chains start (0 first)."""
        return [0] + [int(b) * self.k_step for b in np.flatnonzero(self.cuts[tm, tn])]

    def pieces(self, tm: int, tn: int) -> tuple:
        """Tile (tm, tn)'s chain lengths over K, in order."""
        s = self.starts(tm, tn) + [self.K]
        return tuple(b - a for a, b in zip(s, s[1:]))


def _code(f, value: float) -> int:
    c = _exact_code(f, float(value).hex())
    if c is None:
        raise DiscoveryError(f"format {f.name!r} cannot hold the probe value {value!r} exactly")
    return c


def chain_starts(gemm: Callable, a_format, b_format, *, M: int, N: int, K: int, tile_m: int, tile_n: int,
                 k_step: int, chain: str = "float32") -> ChainMap:
    """Probe ``gemm`` for where each ``tile_m`` × ``tile_n`` output tile starts a new chain.

    Args:
      gemm: ``gemm(A, B) -> C`` on code arrays (A M×K of ``a_format``, B K×N of ``b_format``),
        C the M×N result as floats (numpy), as :func:`lowbit.mac.discover` takes it.
      tile_m, tile_n: the output tile, in C's rows (M) and columns (N).
      k_step: the k-iteration (a kernel's k-tile): chains are assumed to start at its multiples.
      chain: the chains' format, which picks the probe values (:data:`PROBES`): "float32" or
        "float16" (cuBLAS's FP16-accumulating kernels).

    Raises:
      DiscoveryError: an output is neither the one-chain nor the two-chain value, or the
        answers of one tile are not contiguous chains (so the tile or k-step is not the
        kernel's), or terms inside one iteration were summed as two chains.
    """
    fa, fb = lookup(a_format), lookup(b_format)
    for name, v in (("M", M), ("N", N), ("K", K), ("tile_m", tile_m), ("tile_n", tile_n), ("k_step", k_step)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name}={v!r} is not allowed; allowed: an int >= 1")
    if chain not in PROBES:
        raise ValueError(f"chain={chain!r} is not allowed; allowed: {sorted(PROBES)}")
    row_terms, col_terms, one_value, two_value = PROBES[chain]
    span = max(o for o, _ in row_terms + col_terms) + 1
    if k_step < span:
        raise ValueError(f"k_step={k_step} is not allowed; allowed: an int >= {span} (the probe's terms take "
                         f"{span} positions of an iteration)")
    iters = -(-K // k_step)
    tiles_m, tiles_n = -(-M // tile_m), -(-N // tile_n)
    # rows and columns of the smallest (edge) tile bound the boundaries one call can test
    rows = min(tile_m, M - (tiles_m - 1) * tile_m)
    cols = min(tile_n, N - (tiles_n - 1) * tile_n)
    width = min(rows, cols) - 1
    if width < 1 and iters > 1:
        raise ValueError(f"M={M}, N={N} leave an edge tile of {rows} x {cols} outputs; the probe needs "
                         "at least 2 x 2 in every tile")
    zero_a, zero_b, one_a, one_b = _code(fa, 0.0), _code(fb, 0.0), _code(fa, 1.0), _code(fb, 1.0)
    row_codes = [(o, _code(fa, v)) for o, v in row_terms]
    col_codes = [(o, _code(fb, v)) for o, v in col_terms]
    i_of_m = np.arange(M) % tile_m
    j_of_n = np.arange(N) % tile_n
    tm_of_m, tn_of_n = np.arange(M) // tile_m, np.arange(N) // tile_n
    same = np.zeros((tiles_m, tiles_n, iters), bool)   # same[.., b]: iterations b-1 and b share a chain
    seen = np.zeros((tiles_m, tiles_n, iters), bool)
    calls = 0
    for o in range(0, max(iters - 1, 1), max(width, 1)):
        # the iteration of each row's and each column's terms (−1: none)
        it_row = np.where(i_of_m <= width, o + i_of_m, -1)
        it_col = np.where(j_of_n <= width, o + j_of_n, -1)
        it_row[it_row >= iters] = -1
        it_col[it_col >= iters] = -1
        it_row[it_row * k_step + span > K] = -1  # a partial last iteration: terms that fit
        it_col[it_col * k_step + span > K] = -1
        A = np.full((M, K), zero_a, fa.code_dtype)
        B = np.full((K, N), zero_b, fb.code_dtype)
        r, c = np.flatnonzero(it_row >= 0), np.flatnonzero(it_col >= 0)
        for off, code in row_codes:  # row m's terms: A[m, p], B[p, :] = 1
            A[r, it_row[r] * k_step + off] = code
            B[np.unique(it_row[r]) * k_step + off, :] = one_b
        for off, code in col_codes:  # column n's terms: A[:, q] = 1, B[q, n]
            A[:, np.unique(it_col[c]) * k_step + off] = one_a
            B[it_col[c] * k_step + off, c] = code
        C = np.asarray(gemm(A, B), np.float64)
        calls += 1
        if C.shape != (M, N):
            raise DiscoveryError(f"the GEMM returned shape {C.shape}; expected (M, N) = {(M, N)}")
        live = (it_row[:, None] >= 0) & (it_col[None, :] >= 0)
        bad = live & (C != one_value) & (C != two_value)
        if bad.any():
            m, n = np.argwhere(bad)[0]
            raise DiscoveryError(f"output ({m}, {n}) is {C[m, n]!r}: neither {one_value!r} (one chain) nor "
                                 f"{two_value!r} (two chains); not {chain} chains")
        one_chain = C == one_value
        di, dj = it_row[:, None], it_col[None, :]
        if (live & (di == dj) & ~one_chain).any():
            m, n = np.argwhere(live & (di == dj) & ~one_chain)[0]
            raise DiscoveryError(f"output ({m}, {n}): terms inside one k-iteration were added as two chains; "
                                 f"k_step={k_step} is not the kernel's, or its chains are not {chain}")
        # contiguity: iterations a <= b share a chain iff no chain starts in (a, b]
        nxt = live & (dj == di + 1)
        mm, nn = np.nonzero(nxt)
        at = (tm_of_m[mm], tn_of_n[nn], it_col[nn])
        votes, count = np.zeros(same.shape, np.int64), np.zeros(same.shape, np.int64)
        np.add.at(votes, at, one_chain[mm, nn])
        np.add.at(count, at, 1)
        mixed = (votes > 0) & (votes < count)
        if mixed.any():
            tm, tn, b = np.argwhere(mixed)[0]
            raise DiscoveryError(f"tile ({tm}, {tn}): its outputs disagree on whether iterations {b - 1} and {b} "
                                 f"share a chain: not contiguous chains of {tile_m} x {tile_n} tiles, k_step {k_step}")
        same[at] = one_chain[mm, nn]
        seen[at] = True
        mm, nn = np.nonzero(live & (dj > di))
        tm, tn = tm_of_m[mm], tn_of_n[nn]
        cum = np.cumsum(seen & ~same, axis=2)
        a_it, b_it = it_row[mm], it_col[nn]
        want = cum[tm, tn, b_it] == cum[tm, tn, a_it]
        got = one_chain[mm, nn]
        if not np.array_equal(want, got):
            k = int(np.flatnonzero(want != got)[0])
            raise DiscoveryError(f"tile ({tm[k]}, {tn[k]}): iterations {a_it[k]} and {b_it[k]} "
                                 f"{'share' if got[k] else 'do not share'} a chain, against the chain starts "
                                 f"between them: not contiguous chains of {tile_m} x {tile_n} tiles, k_step {k_step}")
    if iters > 1 and not seen[:, :, 1:].all():  # never a silent "no cut": say which was not probed
        tm, tn, b = np.argwhere(~seen[:, :, 1:])[0]
        raise DiscoveryError(f"tile ({tm}, {tn}): the boundary before k-iteration {b + 1} was not probed (the probe "
                             f"needs {span} positions of an iteration; K={K} leaves {K - (iters - 1) * k_step} in the last)")
    cuts = seen & ~same
    cuts[:, :, 0] = False
    return ChainMap(M, N, K, tile_m, tile_n, k_step, cuts, calls)
