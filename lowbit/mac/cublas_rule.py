"""cuBLAS's K walk at any GEMM shape: kernel families, their walks, and a shape → kernel table.

cuBLAS (13.0 on SM90) runs, per GEMM shape, one kernel out of a few families — nvjet wgmma
kernels (with or without split-K), CUTLASS 2.x ``mma.sync`` / ``wmma`` kernels with split-K,
sm90/sm80 xmma kernels, SIMT and GEMV kernels for float32.  What the shape changes is the
order K is summed in: the tensor-core step (``block`` products), the k-tile a CUTLASS mainloop
runs first (its residue), and the split-K slices (``split`` slices of whole ``granule``s of K,
each a chain from 0, their results added in order in ``reduce``).

* :func:`describe` reads a launched kernel (name and grid, from :func:`lowbit.mac.sweep.record`)
  as a family key and its split count: CUTLASS and float32 xmma FFMA kernels put the split in
  grid z; nvjet splitK kernels launch (output tiles, rounded up to the cluster) × split CTAs.
* :func:`fit` chooses, per family, the walk (block, k-tile, granule, reduction, contiguous or
  round-robin slices) that reproduces the output samples recorded for it, from a small
  candidate set: the method is data, run by ``lowbit calibrate --sweep`` on any GPU.
* :class:`Rule` is the result: recorded shapes → (walk, split).  A shape not recorded takes the
  kernel (walk and tile geometry) of its nearest recorded shape of the same alignment class,
  and a split from that kernel's own recorded launches: the waves of CTAs they filled
  (:func:`capacity`), or the split they asked for, at this shape's output tiles and K — a
  prediction whose held-out accuracy is measured (``docs/cublas.md``) and stated in the data
  file.
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import sweep
from .shape_tree import ShapeTree, features, grow

RULE_FORMAT = "lowbit-cublas-rule/1"
SHIPPED = Path(__file__).resolve().parent / "data" / "cublas"
PERSISTENT_CTAS = 132
AUX_KERNELS = ("splitKreduce", "scal_kernel", "reduce_1Block_kernel", "split_k_kernel")


def _short(name: str) -> str:
    m = re.search(r"Kernel2<(\w+)>", name)
    if m:
        return m.group(1)
    name = re.sub(r"^std::enable_if<.*?>::type ", "", name)  # a SFINAE return type before the name
    m = re.match(r"(?:void )?([\w:]+)", name)
    return m.group(1) if m else name


def _is_aux(name: str) -> bool:
    return any(a in name for a in AUX_KERNELS)


def main_kernel(kernels):
    """The GEMM kernel among those launched for one shape (not the split-K reduction)."""
    for k in kernels:
        if not _is_aux(k[0]):
            return k
    return None


def describe(kernels, M: int, N: int, K: int) -> tuple[str, int] | None:
    """(family, split) of the kernels launched for one GEMM: the family is the main kernel's
    short name with its tile sizes dropped (the k-tile and instruction kept); split the number
    of split-K slices (1 without a reduction kernel); a stream-K launch of fewer CTAs than
    tiles gives :func:`streamk_code` of its CTAs (pieces 0: not known from the launch)."""
    main = main_kernel(kernels)
    if main is None:
        return None
    name, grid = _short(main[0]), list(main[1])
    reduced = any(_is_aux(k[0]) for k in kernels)
    split = 1
    m = re.match(r"nvjet_sm90_\w+?_(\d+)x(\d+)_(\d+)x\d+_(\d+)x(\d+)_([hv])_", name)
    if m:
        t1, t2, tk, c1, c2 = (int(v) for v in m.groups()[:5])
        family = f"nvjet[k{tk}]" + ("splitK" if "splitK" in name else "") + name.split("_bz")[-1]
        family = family.replace("_NNT", "").replace("_NNN", "").replace("_TNT", "").replace("_TNN", "")
        if "splitK" in name:
            tiles = -(-(-(-N // t1)) // c1) * c1 * (-(-(-(-M // t2)) // c2) * c2)
            total = grid[0] * grid[1] * grid[2]
            # a persistent launch (one CTA per SM, 132 on an H100) hides the split: 0, found
            # from the outputs where they were sampled
            split = 0 if total % tiles or total == PERSISTENT_CTAS and tiles * 2 > total else total // tiles
        return family, split
    if "segment_k_on" in name:
        split = streamk_pieces(name, grid, M, N, K)
        if split == -1 and len(grid) >= 2:  # fewer CTAs than tiles: the CTAs, pieces from the samples or
            split = streamk_code(int(grid[0]) * int(grid[1]), 0)  # :func:`balanced_pieces`
    elif name.startswith("gemmSN_NN_kernel") and "half" not in name and len(main[2]) and main[2][0] % 64 == 0:
        split = main[2][0] // 64  # T threads for 64 output columns: T / 64 lanes over K
    elif name == "gemmSN_NN_kernel_half" and (m := re.search(r"kernel_half<__half, \d+, (\d+),", main[0])):
        split = int(m.group(1))  # lanes over K
    elif len(grid) == 3 and grid[2] > 1 and ("cutlass" in name or "xmma_gemm" in name and "ffma" in name):
        split = grid[2]  # split-K in grid z; serial split-K (no reduction kernel) adds in order too
    elif reduced and len(grid) == 3:
        split = grid[2]
    if name == "internal::gemvx::kernel" and "gemvx::kernel<" in main[0] and len(main[2]) >= 2:
        # the index type and the 7th template flag pick how K is dealt to the threads; block y
        # threads share K (Walk plan "gemvx<by>")
        args = [a.strip() for a in main[0].split("gemvx::kernel<", 1)[1].split(",")]
        name = f"{name}<{args[0]},{args[6] if len(args) > 6 else '?'}>[{main[2][0]}x{main[2][1]}]"
    family = re.sub(r"_(\d+)x(\d+)_(\d+)x(\d+)_", r"_\1x\2_k\3_", name)
    family = re.sub(r"tilesize(\d+)x(\d+)x(\d+)", r"k\3", family)
    family = re.sub(r"_(cgasize|warpgroupsize|warpsize)\d+x\d+x\d+", "", family)
    return family + ("+reduce" if reduced else ""), split


def streamk_pieces(name: str, grid, M: int, N: int, K: int) -> int:
    """Pieces each output tile of an sm90 xmma stream-K launch (``segment_k_on``) is cut into,
    read from its grid: the tiles (``tilesize{A}x{B}x{C}``: A along N for TF32, along M for
    FP16 accumulation, as the recorded grids and outputs show), A-tiles padded to whole groups
    of grid y, dealt to the grid's CTAs — G CTAs for T ≤ G padded tiles cut every tile into
    G // T pieces.  A launch of fewer CTAs than tiles runs most tiles whole and cuts only some
    (which ones is not modelled): -1."""
    m = re.search(r"tilesize(\d+)x(\d+)x(\d+)", name)
    if m is None or len(grid) < 2:
        return -1
    a, b, _ = (int(v) for v in m.groups())
    ea, eb = (N, M) if "tf32" in name else (M, N)
    na, nb = -(-ea // a), -(-eb // b)
    gx, gy = int(grid[0]), int(grid[1])
    padded = -(-na // gy) * gy * nb
    return gx * gy // padded if gx * gy >= padded else -1


def geometry(kernels) -> tuple | None:
    """(tile along N, tile along M, cluster along N, cluster along M) of the main kernel's
    output tiles, read from its name (nvjet ``_64x8_64x16_2x1_``: 64×8 tiles in clusters of
    2×1; CUTLASS ``_256x128_``: 256×128, no clusters), or None where the name does not say.
    cuBLAS computes torch's row-major C = A·B as the column-major Cᵀ = Bᵀ·Aᵀ: its m is N."""
    main = main_kernel(kernels)
    if main is None:
        return None
    name = _short(main[0])
    m = re.match(r"nvjet_sm90_\w+?_(\d+)x(\d+)_\d+x\d+_(\d+)x(\d+)_[hv]_", name)
    if m:
        return tuple(int(v) for v in m.groups())
    m = re.search(r"cutlass_\w*?_(\d+)x(\d+)_", name)
    if m:
        return int(m.group(1)), int(m.group(2)), 1, 1
    m = re.search(r"xmma_gemm_\w*?_tilesize(\d+)x(\d+)x\d+_", name)
    if m and "segment_k_on" in name and len(main[1]) >= 2:
        # stream-K: tilesize A×B, A along N for TF32 (along M for FP16 accumulation), the
        # A-tiles padded to whole groups of grid y (:func:`streamk_pieces`) — as a cluster
        a, b, gy = int(m.group(1)), int(m.group(2)), int(main[1][1])
        return (a, b, gy, 1) if "tf32" in name else (b, a, 1, gy)
    if m and "segment_k" not in name:
        # xmma's tilesize is M × N × K in torch's terms: the grid is ceil(M / A) × ceil(N / B)
        # × split at every recorded launch of the FP32 sweep (a test)
        return int(m.group(2)), int(m.group(1)), 1, 1
    return None


def output_tiles(geo: tuple, M, N):
    """CTAs one split-K slice launches: output tiles, each direction rounded up to its cluster
    (for one shape, or elementwise for arrays of M and N)."""
    t1, t2, c1, c2 = geo
    return -(-(-(-N // t1)) // c1) * c1 * (-(-(-(-M // t2)) // c2) * c2)


def kernel_label(kernels, M: int, N: int, K: int) -> str | None:
    """The family (:func:`describe`) with the tile geometry appended (``family@64x8/2x1``):
    what a rule row says cuBLAS ran, precise enough to count its output tiles at a new shape."""
    d = describe(kernels, M, N, K)
    if d is None:
        return None
    geo = geometry(kernels)
    return d[0] + (f"@{geo[0]}x{geo[1]}/{geo[2]}x{geo[3]}" if geo else "")


def label_geometry(label: str) -> tuple | None:
    m = re.search(r"@(\d+)x(\d+)/(\d+)x(\d+)$", label)
    return tuple(int(v) for v in m.groups()) if m else None


def split_cut(K: int, asked: int, granule: int, interleave: bool = False) -> tuple:
    """(slices, slice length) of a split-K launch asked for ``asked`` slices of K: each slice
    ceil(K / asked) rounded up to the granule, the empty ones at the end dropped (CUTLASS's
    gemm_k_size; K = 12,439 asked for 66 slices of granule 8 makes 65 of 192).  Slices dealt
    k-tiles round-robin (``interleave``, the float32 xmma FFMA kernels) are as many as asked,
    at most one per k-tile of ``granule``; their "length" is the k-tile."""
    if asked <= 1:
        return 1, K
    if interleave:
        return min(asked, -(-K // granule)), granule
    per = -(-(-(-K // asked)) // granule) * granule
    return -(-K // per), per


WAVES = 8
MAX_SPLIT = WAVES * 132  # no cap below 8 waves of the H200's SMs: cuBLAS asks for 132 slices over
#                          5 tiles (FP32 SIMT, 5 waves), 165 over 4, 264 over 1 (FP32 xmma FFMA);
#                          a cap of 128 made 4 of FP32's seed-5 misses


def capacity(geo: tuple, M: int, N: int, K: int, split: int, granule: int, sms: int,
             interleave: bool = False) -> int:
    """How many CTAs cuBLAS filled with a split-K launch: the smallest whole number of waves
    of ``sms`` CTAs c·sms (c ≤ 8) for which min(c·sms // tiles, MAX_SPLIT) slices give ``split``;
    0 where none does (the split was bounded by something else, e.g. K).  cuBLAS picks the
    split that fills whole waves of the GPU's SMs, as many waves as its cost model says:
    across shapes that number drifts slowly, the split itself does not."""
    if split <= 1:
        return 0
    t = output_tiles(geo, M, N)
    for c in range(1, WAVES + 1):
        if split_cut(K, max(1, min(c * sms // t, MAX_SPLIT)), granule, interleave)[0] == split:
            return c * sms
    return 0


@dataclass(frozen=True)
class Walk:
    """How a kernel family sums K: ``block`` products per step (1: a float32 FMA chain), the
    k-tile whose residue each slice runs first (None: in order), split-K slices of whole
    ``granule``s — contiguous, or (``interleave``) dealt round-robin — their results added in
    ``reduce``.  ``plan`` names a cut of K other than split-K slices added in order:

    * ``"streamk"`` (sm90 xmma ``segment_k_on`` kernels): ``split`` pieces of whole k-tiles
      (``granule``), the k-tiles shared evenly, the extra ones on the last pieces, added in
      :func:`pow2_tree` order (:func:`streamk_slices`) — every tile where the launch has CTAs
      for every tile; some tiles alone where it has fewer (a :class:`StreamK` split);
    * ``"lanes"`` (``gemmSN_NN_kernel<float, T, split, …>``, M ≤ 8): ``split`` lanes of
      ceil(K / split) consecutive k, each summed in pieces of 512 / split (each a chain from 0)
      added in order, the lanes' sums then added in order (:func:`lane_slices`);
    * ``"rrlanes"`` (``gemmSN_NN_kernel_half<__half, T, split, …>``, FP16 accumulation): pieces
      of ``granule`` consecutive k, each a chain from 0, dealt round-robin to ``split`` lanes;
      each lane adds its pieces in order, then the lanes are added in order, all in ``reduce``
      (:func:`round_robin_slices`);
    * ``"gemvx<by>"`` (``internal::gemvx::kernel``, block (x, by)): ``split`` contiguous slices
      of ceil(K / split), each dealt to ``by`` threads in runs of min(``granule``, ceil(L / by))
      (1: element-strided), each thread a chain, added by a shuffle-down tree, the slices in
      order (the accumulator's ``split_lanes`` / ``lane_run``)."""

    block: int
    k_tile: int | None = None
    granule: int = 1
    reduce: str = "float32"
    interleave: bool = False
    plan: str = ""
    granule_aligned: int = 0  # the granule where K is a multiple of it (0: ``granule`` always)

    def key(self) -> str:
        return (f"b{self.block}-t{self.k_tile or 0}-g{self.granule}-{self.reduce}" + ("-interleaved" * self.interleave)
                + (f"-a{self.granule_aligned}" if self.granule_aligned else "") + (f"-{self.plan}" if self.plan else ""))

    @classmethod
    def from_key(cls, key: str) -> "Walk":
        m = re.search(r"-(streamk|lanes|rrlanes|gemvx\d+)$", key)
        plan = m.group(1) if m else ""
        key = key[:m.start()] if m else key
        m = re.search(r"-a(\d+)$", key)
        aligned = int(m.group(1)) if m else 0
        key = key[:m.start()] if m else key
        interleave = key.endswith("-interleaved")
        b, t, g, r = key.removesuffix("-interleaved").split("-", 3)
        return cls(int(b[1:]), int(t[1:]) or None, int(g[1:]), r, interleave, plan, aligned)

    @property
    def dealt(self) -> bool:
        """Slices as many as asked, at most one per k-tile (:func:`split_cut` ``interleave``):
        round-robin k-tiles, or stream-K pieces of whole k-tiles."""
        return self.interleave or self.plan == "streamk"

    def granule_for(self, K: int) -> int:
        """The split-K granule at this K: ``granule_aligned`` where K is a multiple of it (FP32
        SIMT kernels cut K = 24,576 at 32 but K = 12,601 at 4), else ``granule``."""
        return self.granule_aligned if self.granule_aligned and K % self.granule_aligned == 0 else self.granule


def pow2_tree(lo: int, hi: int):
    """The order cuBLAS's stream-K fixup adds pieces lo..hi-1: the last 2^j pieces (2^j the
    largest power of two below their count) as one subtree on the right, the rest on the left,
    recursively — 3: (0, (1, 2)); 5: (0, ((1, 2), (3, 4))); 15: the tree recorded on the H100
    (``h100_paths.H100_TF32_SEGMENTED``)."""
    if hi - lo == 1:
        return lo
    r = 1
    while r * 2 < hi - lo:
        r *= 2
    return (pow2_tree(lo, hi - r), pow2_tree(hi - r, hi))


def streamk_slices(K: int, k_tile: int, pieces: int) -> tuple:
    """K's pieces in a stream-K tile cut ``pieces`` ways: its ceil(K / k_tile) k-iterations
    shared evenly, the remainder one more each on the last pieces, the partial k-tile last."""
    n = -(-K // k_tile)
    pieces = max(1, min(pieces, n))
    q, r = divmod(n, pieces)
    out, k = [], 0
    for i in range(pieces):
        end = min(K, k + (q + (i >= pieces - r)) * k_tile)
        out.append(end - k)
        k = end
    return tuple(out)


STREAMK_CODE = 64  # a table's split of a stream-K launch of G CTAs over more output tiles: -(64·G + pieces)


def streamk_code(ctas: int, pieces: int) -> int:
    """The split a rule table keeps for a stream-K launch of ``ctas`` CTAs over more output
    tiles: −(64·ctas + pieces), pieces 0 where the outputs did not show them."""
    if not 0 <= pieces < STREAMK_CODE:
        raise ValueError(f"pieces={pieces} is not allowed; allowed: 0 .. {STREAMK_CODE - 1}")
    return -(STREAMK_CODE * ctas + pieces)


def streamk_decode(split: int) -> tuple | None:
    """(CTAs, pieces) of a table split made by :func:`streamk_code`; None for any other split."""
    return divmod(-int(split), STREAMK_CODE) if split <= -STREAMK_CODE else None


def balanced_pieces(most: int, iterations: int) -> int:
    """The pieces cuBLAS cuts a stream-K tile into when its outputs did not say: the fewest
    whose longest piece is as short as ``most`` pieces' — ``most`` = G // S (S cut tiles
    over G CTAs) — of the tile's k-iterations.  Of the 359 sampled training launches (TF32 and
    FP16 accumulation) whose cut tiles the raster of :class:`StreamK` names, it gives the pieces
    their samples show at 308, G // S itself at 271 (``docs/cublas.md``, stop 25)."""
    most = max(1, min(most, iterations))
    longest = -(-iterations // most)
    return -(-iterations // longest)


@dataclass(frozen=True)
class StreamK:
    """How a stream-K launch of fewer CTAs than output tiles (sm90 xmma ``…segment_k_on``
    kernels, TF32 and FP16 accumulation) cuts K, tile by tile — read on the H200 for every tile
    of 91 launches (:func:`lowbit.mac.tile_chains.chain_starts`, ``sweep/streamk_probe.py``):

    * the output tiles (``tile_m`` × ``tile_n``) are walked in a serpentine raster: groups of
      ``group`` tiles side by side across ``along`` ("N": tile columns, "M": tile rows), each
      group walked down the other dimension, every other group backwards;
    * the last T' mod G tiles of that walk are cut (T' counts the tiles a partial last group
      pads with; G = ``ctas``), each into ``pieces`` pieces of its k-iterations
      (:func:`streamk_slices`, each a chain from 0, added in :func:`pow2_tree` order); the
      other tiles run whole.  ``pieces`` 0: :func:`balanced_pieces` of G // (T' mod G).

    The kernel's grid gives G and (grid y) the group; the raster's direction is the family's
    (TF32 kernels "N", FP16-accumulating "M"); the pieces are a kernel argument, read from
    the outputs where they were sampled."""

    ctas: int
    pieces: int
    tile_m: int
    tile_n: int
    group: int
    along: str

    @classmethod
    def of(cls, split: int, family: str, geo: tuple) -> "StreamK":
        """From a table split (:func:`streamk_code`), the kernel family and its geometry
        (:func:`geometry`: tile along N, along M, grid y as the cluster)."""
        ctas, pieces = streamk_decode(split)
        return cls(ctas, pieces, geo[1], geo[0], max(geo[2], geo[3]), "N" if "tf32" in family else "M")

    def counts(self, M: int, N: int) -> tuple:
        """(tiles the raster walks, a partial group's padding counted; tiles cut) at M × N."""
        across, down = ((-(-N // self.tile_n), -(-M // self.tile_m)) if self.along == "N"
                        else (-(-M // self.tile_m), -(-N // self.tile_n)))
        padded = -(-across // self.group) * self.group * down
        return padded, padded % self.ctas if padded > self.ctas else padded

    def cut_tiles(self, M: int, N: int, K: int, k_step: int) -> tuple:
        """((tile row, tile column) of every cut tile, pieces each)."""
        ntm, ntn = -(-M // self.tile_m), -(-N // self.tile_n)
        down = ntm if self.along == "N" else ntn
        padded, cut = self.counts(M, N)
        pieces = self.pieces or balanced_pieces(self.ctas // cut, -(-K // k_step))
        out = []
        for pos in range(padded - cut, padded):
            gi, rest = divmod(pos, self.group * down)
            d, c = divmod(rest, self.group)
            d = d if gi % 2 == 0 else down - 1 - d
            a = gi * self.group + c
            tm, tn = (d, a) if self.along == "N" else (a, d)
            if tm < ntm and tn < ntn:
                out.append((tm, tn))
        return tuple(out), pieces


def round_robin_slices(K: int, lanes: int, piece: int) -> tuple:
    """(slice lengths, addition tree) of K in pieces of ``piece`` dealt round-robin to
    ``lanes`` lanes: lane j adds pieces j, j + lanes, … in order, then the lanes in order."""
    n = -(-K // piece)
    slices = tuple(min(K, (i + 1) * piece) - i * piece for i in range(n))
    tree = None
    for j in range(min(lanes, n)):
        fold = j
        for x in range(j + lanes, n, lanes):
            fold = (fold, x)
        tree = fold if tree is None else (tree, fold)
    return slices, tree


def lane_slices(K: int, lanes: int) -> tuple:
    """(slice lengths, addition tree) of gemmSN's ``lanes`` lanes: lane j sums k in
    [j·q, (j+1)·q), q = ceil(K / lanes), in pieces of 512 / lanes, each a chain from 0, added in
    order; the lanes' sums are added in order (an empty lane is left out)."""
    q, piece = -(-K // lanes), 512 // lanes
    slices, folds = [], []
    for j in range(lanes):
        lo, hi = j * q, min(K, (j + 1) * q)
        leaves = []
        for a in range(lo, hi, piece):
            leaves.append(len(slices))
            slices.append(min(hi, a + piece) - a)
        if leaves:
            t = leaves[0]
            for x in leaves[1:]:
                t = (t, x)
            folds.append(t)
    tree = folds[0]
    for f in folds[1:]:
        tree = (tree, f)
    return tuple(slices), tree


def accumulator(path: str, walk: Walk, split, K: int, granule: int | None = None, M: int | None = None,
                N: int | None = None):
    """The lowbit accumulator of ``path``'s GEMM under ``walk`` with ``split`` slices of whole
    ``granule``s (default the walk's) of K; a :class:`StreamK` split cuts some output tiles of
    the M×N product alone (an accumulator with ``tiles``, for the full operands)."""
    if isinstance(split, StreamK):
        if M is None or N is None:
            raise ValueError("a stream-K launch of fewer CTAs than tiles cuts some tiles alone: give M and N")
        base = accumulator(path, walk, 1, K)
        tiles, pieces = split.cut_tiles(M, N, K, walk.granule)
        cut = accumulator(path, walk, pieces, K)
        return dataclasses.replace(base, for_mn=(M, N), tiles=tuple(
            (tm * split.tile_m, min(M, (tm + 1) * split.tile_m), tn * split.tile_n, min(N, (tn + 1) * split.tile_n), cut)
            for tm, tn in tiles))

    from . import h100_paths as hp
    from .accumulators import H100_FP8_UNIT, Exact, FusedBlock, Schedule

    fmt = sweep.PATHS[path][0]
    if fmt == "int8":
        return Exact(formats=("int8",), preset=path)
    if walk.block == 1 and path == "fp16-acc16":  # an IEEE float16 FMA chain (hfma, nearest even)
        acc = dataclasses.replace(hp._tensor_core(1, "float16", path, sum_bits=11, sum_rounding="nearest_even",
                                                  sum_emax=15, sum_emin=-14), frac_bits=58, term_rounding="odd")
    elif walk.block == 1:
        acc = dataclasses.replace(hp.h100_tf32_triton(32, "ieee"), formats=(fmt,), preset=path)
    elif fmt == "float8_e4m3fn":
        acc = FusedBlock.of(H100_FP8_UNIT, Schedule(promote_every=None if "fast" in path else 128),
                            formats=("float8_e4m3fn",), preset=path)
    elif path == "fp16-acc16":
        acc = hp._tensor_core(walk.block, fmt, path, sum_bits=11, sum_rounding="nearest_even", sum_emax=15,
                              sum_emin=-14)
    else:
        acc = hp._tensor_core(walk.block, fmt, path)
        if fmt == "float32":
            acc = dataclasses.replace(acc, input_rounding="nearest_even")
    acc = dataclasses.replace(acc, k_tile=walk.k_tile if walk.k_tile and walk.k_tile < K else None,
                              split_reduce=walk.reduce, for_k=K)
    if walk.plan == "lanes" and split > 1:
        slices, tree = lane_slices(K, split)
        if len(slices) > 1:
            acc = dataclasses.replace(acc, split_slices=slices, split_tree=tree)
    elif walk.plan == "rrlanes" and split > 1:
        slices, tree = round_robin_slices(K, split, walk.granule)
        if len(slices) > 1:
            acc = dataclasses.replace(acc, split_slices=slices, split_tree=tree)
    elif walk.plan == "streamk" and split > 1:
        slices = streamk_slices(K, walk.granule, split)
        if len(slices) > 1:
            acc = dataclasses.replace(acc, split_slices=slices, split_tree=pow2_tree(0, len(slices)))
    elif walk.plan.startswith("gemvx"):
        acc = dataclasses.replace(acc, split_k=max(1, split), split_granule=1, split_lanes=int(walk.plan[5:]),
                                  lane_run=walk.granule)
    elif split > 1:
        acc = dataclasses.replace(acc, split_k=split, split_granule=granule or walk.granule_for(K),
                                  split_interleave=walk.interleave)
    return acc


def emulate(path: str, walk: Walk, split: int, M: int, N: int, K: int, rows, cols, granule=None) -> np.ndarray:
    """The sampled outputs' bits (as :func:`lowbit.mac.sweep.record` keeps them) under a walk:
    ``split`` slices, or a :class:`StreamK` plan (its cut tiles placed by the samples' rows and
    columns, ``lowbit.matmul``'s ``rows`` / ``cols``)."""
    from .api import matmul

    a, b = sweep.operand_codes(path, M, N, K, rows, cols)
    fmt, out = sweep.PATHS[path][0], sweep.PATHS[path][1]
    c = matmul(a, b, fmt, fmt, accumulator=accumulator(path, walk, split, K, granule, M=M, N=N), out_dtype=out,
               M=M, N=N, K=K, rows=None if rows is None else np.asarray(rows),
               cols=None if cols is None else np.asarray(cols))
    c = np.asarray(c)
    if out == "int32":
        return c.astype(np.int64).astype(np.uint32).reshape(-1)
    if out == "float32":
        return c.view(np.uint32).reshape(-1)
    return c.view(np.uint16).astype(np.uint32).reshape(-1)


def candidates(path: str, family: str) -> list:
    """The walks :func:`fit` tries for a family: steps of the instruction named (16816 → 16,
    1688 → 8, wgmma 16 / 32 for FP8, SIMT / GEMV / FFMA → 1), with and without the family's
    k-tile run residue first, granules of 128 bits of operand or the k-tile, reductions in float32
    or (reduced-precision kernels) of partials stored in the output format; for FMA-chain
    families with a k-tile, also split-K slices dealt the k-tiles round-robin."""
    fmt, out = sweep.PATHS[path][0], sweep.PATHS[path][1]
    bits = {"bfloat16": 16, "float16": 16, "float32": 32, "float8_e4m3fn": 8, "int8": 8}[fmt]
    m = re.search(r"\[k(\d+)\]|_k(\d+)", family)
    tk = int(next(g for g in m.groups() if g)) if m else None
    if fmt == "int8":
        return [Walk(16)]
    if re.search(r"simt|ffma|gemv|dot_kernel|gemmSN|sgemm", family):
        blocks = [1]
    elif fmt == "float8_e4m3fn":
        blocks = [32]
    elif "1688" in family or "h1688" in family:
        blocks = [8] if fmt != "float32" else [8, 4]
    elif fmt == "float32":
        blocks = [8]
    else:
        blocks = [16, 8]
    tiles = [None] + ([tk] if tk else []) + ([32, 64] if "cutlass_75" in family and not tk else [])
    # the granule is the walk's default only: each shape's own is searched (:func:`granules`)
    grans = [tk] if family.startswith("nvjet") and tk else [max(1, 128 // bits)]
    # reduced-precision reduction kernels (tensorop_bf16_s… / tensorop_f16_s…) store each slice
    # in the output format; FP16-accumulating kernels add the slices in float16
    rpr = re.search(r"tensorop_(bf16|f16)_s", family) is not None
    reduces = [out + "-partials", "float32"] if rpr and out in ("float16", "bfloat16") else ["float32"]
    if path == "fp16-acc16":
        reduces = ["float16", "float32"]
    if "segment_k_on" in family and tk:  # stream-K: pieces of whole k-tiles, a power-of-two tree
        return [Walk(blocks[0], None, tk, r, plan="streamk") for r in reduces]
    if family.startswith("gemmSN_NN_kernel") and "half" not in family:
        return [Walk(1, None, 1, "float32", plan="lanes")]
    if family.startswith("gemmSN_NN_kernel_half"):  # float16 pieces of 128 dealt to the lanes
        return [Walk(1, None, 128, "float16", plan="rrlanes")]
    m = re.match(r"internal::gemvx::kernel<\w+,\w+>\[\d+x(\d+)\]", family)
    if m and int(m.group(1)) & (int(m.group(1)) - 1) == 0:  # threads y share K: strided or in runs of 64
        return [Walk(1, None, run, "float32", plan=f"gemvx{m.group(1)}") for run in (1, 64)]
    walks = [Walk(b, t, g, r) for b in blocks for t in tiles for g in grans for r in reduces]
    if blocks == [1] and tk:  # FFMA split-K kernels deal their k-tiles to the slices round-robin
        walks += [Walk(1, None, tk, r, interleave=True) for r in reduces]
    return walks


def _samples(record: dict, index: int):
    s = str(index)
    if s not in record["bits"]:
        return None
    return record["rows"][s], record["cols"][s], np.asarray(record["bits"][s], np.uint32)


def load_record(path) -> dict:
    """A :func:`lowbit.mac.sweep.record` result saved as ``<path>.json.gz`` (kernel names
    deduplicated into ``kernel_names``), with kernels expanded back to (name, grid, block)."""
    with gzip.open(path, "rt") as f:
        r = json.load(f)
    if "kernel_names" in r:
        names = r["kernel_names"]
        r["kernels"] = [[(names[k[0]], k[1:4], k[4:7]) for k in ks] for ks in r["kernels"]]
    return r


def save_record(record: dict, dest) -> None:
    """Write a :func:`lowbit.mac.sweep.record` result as :func:`load_record` reads it: kernel
    names deduplicated into ``kernel_names``, each launch [name index, grid..., block...]."""
    names = sorted({k[0] for ks in record["kernels"] for k in ks})
    index = {n: j for j, n in enumerate(names)}
    out = dict(record, kernel_names=names,
               kernels=[[[index[k[0]], *k[1], *k[2]] for k in ks] for ks in record["kernels"]])
    with gzip.open(dest, "wt") as f:
        json.dump(out, f, separators=(",", ":"))


def record_sets(out, sets: dict, paths, *, meta: str, suffix: str, sampled=lambda name, j: True,
                chunk: int = 500, log=print) -> dict:
    """Record ``paths`` on this GPU over named shape sets, as the sweeps under
    vectors/hardware/h100/sweep did: the sets' shapes one after the other, each path's record
    written by :func:`save_record` to ``out/<path><suffix>.json.gz``, and ``out/<meta>`` the GPU,
    its library versions, the date and each set's [start, end) in the shape list.  ``sampled(name,
    j)``: whether shape j of set ``name`` keeps output samples.  Returns the meta."""
    import time

    from .calibration import gpu_info

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    shapes, ranges, with_out = [], {}, set()
    for name, part in sets.items():
        with_out |= {len(shapes) + j for j in range(len(part)) if sampled(name, j)}
        ranges[name] = [len(shapes), len(shapes) + len(part)]
        shapes += list(part)
    info = gpu_info()
    info["versions"]["numpy"] = np.__version__
    doc = {**info, "sets": ranges, "date": time.strftime("%Y-%m-%d")}
    (out / meta).write_text(json.dumps(doc, indent=1) + "\n")
    t0 = time.time()
    for p in paths:
        t = time.time()
        r = sweep.record(p, shapes, outputs=with_out, chunk=chunk, log=lambda s: None)
        save_record(r, out / f"{p}{suffix}.json.gz")
        names = {k[0] for ks in r["kernels"] for k in ks}
        log(f"{p}: {len(shapes)} shapes, {len(names)} kernels, {len(r['bits'])} sampled, {len(r['errors'])} "
            f"errors, {time.time() - t:.1f} s (total {time.time() - t0:.0f} s)")
    return doc


GRANULES = (1, 2, 4, 8, 16, 32, 64, 128)


def granules(walk: Walk, split: int, K: int) -> list:
    """Granules g whose slices, round_up(ceil(K / split), g) long, make exactly ``split``
    slices (the kernel's grid says how many): the walk's own first.  cuBLAS's CUTLASS kernels
    do not always cut at the same granule (TF32 64×64×48 into 12 slices of 4, 64×64×4096 into 22
    of 192), so each recorded shape keeps the granule its outputs show."""
    if walk.interleave or walk.plan:  # dealt k-tiles: the granule is the k-tile; a plan cuts K itself
        return [walk.granule]
    out = []
    for g in (walk.granule_for(K),) + GRANULES:
        if g not in out and split > 1 and split_cut(K, split, g)[0] == split:
            out.append(g)
    return out or [walk.granule]


def fit_streamk(record, path, walk, i, split) -> int | None:
    """The table split (:func:`streamk_code`) of recorded stream-K launch ``i`` of fewer CTAs
    than tiles whose pieces reproduce its samples under ``walk`` — :func:`balanced_pieces`'
    first, then 2, 3, … — or None (none does, or the walk is not stream-K's)."""
    code = streamk_decode(split)
    geo = geometry(record["kernels"][i])
    if code is None or geo is None or walk.plan != "streamk":
        return None
    M, N, K = record["shapes"][i]
    rows, cols, want = _samples(record, i)
    family = describe(record["kernels"][i], M, N, K)[0]
    plan = StreamK.of(streamk_code(code[0], 0), family, geo)
    first = plan.cut_tiles(M, N, K, walk.granule)[1]
    for p in [first] + [p for p in range(2, min(STREAMK_CODE, -(-K // walk.granule) + 1)) if p != first]:
        s = streamk_code(code[0], p)
        if np.array_equal(emulate(path, walk, StreamK.of(s, family, geo), M, N, K, rows, cols), want):
            return s
    return None


def _match(record, path, walk, i, split):
    """The granule under which ``walk`` with ``split`` slices reproduces shape ``i`` (or None)."""
    if streamk_decode(split) is not None:
        return walk.granule if fit_streamk(record, path, walk, i, split) is not None else None
    M, N, K = record["shapes"][i]
    rows, cols, want = _samples(record, i)
    for g in granules(walk, split, K) if split > 1 else [walk.granule]:
        try:
            if np.array_equal(emulate(path, walk, split, M, N, K, rows, cols, g), want):
                return g
        except ValueError:
            return None
    return None


def _matches(record, path, walk, i, split) -> bool:
    return _match(record, path, walk, i, split) is not None


def find_split(record, path, walk, i, most: int = 64) -> int | None:
    """The split count (1..most) under which ``walk`` reproduces shape ``i``'s samples."""
    M, N, K = record["shapes"][i]
    rows, cols, want = _samples(record, i)
    for s in range(1, most + 1):
        if s > 1 and -(-K // walk.granule) < s:
            break
        if np.array_equal(emulate(path, walk, s, M, N, K, rows, cols), want):
            return s
    return None


def fit(record: dict, *, pick: int = 10, exclude=(), log=None, majority: float = 0.9) -> dict:
    """Per kernel family of one recorded path, the walk that reproduces its output samples, and
    per recorded shape its (walk, split).

    For each family the candidate walks (:func:`candidates`) are tried on up to ``pick`` of its
    sampled shapes (most slices and K off the k-tile first); of those reproducing all of them,
    the one reproducing most of the family's sampled shapes wins.  Where none reproduces them
    all, the one reproducing most of them and ``pick`` + 30 more is taken if it reproduces at
    least ``majority`` of the family's sampled shapes (cuBLAS names one family for kernels that
    differ in a detail the name hides: float32 xmma FFMA serial split-K adds its slices in
    another order at some shapes).  A sampled shape its family's walk does not reproduce gets
    no walk: a lookup of it is an error, never a wrong answer.  A persistent nvjet launch
    hides its split: it is searched for on the outputs where they were sampled.  ``exclude``:
    shape indices held out, never looked at.  Returns {"families": {family: {"walk", "shapes",
    "matched"}}, "schedules": {index: [walk key or None, split or None, granule or 0 (the walk's)]}}."""
    path = record["path"]
    described, fams = {}, {}
    for i, (M, N, K) in enumerate(record["shapes"]):
        if i in exclude:
            continue
        d = describe(record["kernels"][i], M, N, K)
        if d is None:
            continue
        described[i] = d
        if str(i) in record["bits"]:
            fams.setdefault(d[0], []).append(i)
    walks, families, granule, unmatched = {}, {}, {}, set()
    for fam, items in sorted(fams.items()):
        known = [i for i in items if described[i][1] > 0 or streamk_decode(described[i][1])]

        def hardness(i):
            M, N, K = record["shapes"][i]
            return (-min(described[i][1], 4) if described[i][1] > 0 else 0, -(K % 64 != 0), -K)

        picks = sorted(known, key=hardness)[:pick]
        passing = [c for c in (candidates(path, fam) if picks else [])
                   if all(_matches(record, path, c, i, described[i][1]) for i in picks)]
        best, best_n = None, -1
        score = sorted(known, key=hardness)[pick:pick + 30]
        for c in passing:
            n = sum(_matches(record, path, c, i, described[i][1]) for i in score)
            if n > best_n:
                best, best_n = c, n
            if len(passing) == 1:
                break
        if best is None and picks:  # none reproduces every pick: the one reproducing most, if most
            tried = picks + score
            counts = [sum(_matches(record, path, c, i, described[i][1]) for i in tried) for c in candidates(path, fam)]
            if counts and max(counts) >= majority * len(tried):
                best = candidates(path, fam)[int(np.argmax(counts))]
        if best is None and not known and items:  # every shape persistent: search splits with each walk
            for c in candidates(path, fam):
                if find_split(record, path, c, items[0]) is not None:
                    best = c
                    break
        matched = 0
        modelled = [i for i in items if described[i][1] >= 0 or streamk_decode(described[i][1])]
        for i in items:
            if best is None:
                continue
            if streamk_decode(described[i][1]):  # stream-K over more tiles than CTAs: its pieces
                s = fit_streamk(record, path, best, i, described[i][1])
                described[i] = (fam, s if s is not None else described[i][1])
                matched += s is not None
                if s is None:
                    unmatched.add(i)
                continue
            if described[i][1] < 0:  # a launch whose cut is not modelled
                unmatched.add(i)
                continue
            if described[i][1] == 0:
                s = find_split(record, path, best, i)
                described[i] = (fam, s or 0)
                ok = s is not None
            else:
                g = _match(record, path, best, i, described[i][1])
                ok = g is not None
                if g is not None and g != best.granule and described[i][1] > 1:
                    granule[i] = g
            matched += ok
            if not ok:
                unmatched.add(i)
        if best is not None and matched < majority * len(modelled):
            best = None
        walks[fam] = best
        families[fam] = {"walk": best.key() if best else None, "shapes": len(items), "matched": int(matched)}
        if log:
            log(f"{path} {fam}: {families[fam]['walk']} {matched}/{len(items)}")
    schedules = {}
    for i, (fam, split) in described.items():
        w = walks.get(fam)
        if fam not in walks:  # a family seen only without samples: no walk known
            w = None
        # a sampled shape its family's walk does not reproduce: split -1, an error to look up
        schedules[i] = [w.key() if w else None, -1 if w and i in unmatched else split or None, granule.get(i, 0)]
    return regranule(record, {"families": families, "schedules": schedules})


def _cuts_by_granule(K: int, split: int) -> dict:
    """{slice length: granules giving it} of the cuts of K into exactly ``split`` slices."""
    cuts: dict = {}
    for g in GRANULES:
        per = split_cut(K, split, g)
        if per[0] == split:
            cuts.setdefault(per[1], []).append(g)
    return cuts


def granule_evidence(record: dict, families: dict, exclude=(), splits: dict | None = None) -> dict:
    """What a record's samples say about each split-K family's granule: {family: [(K, the
    granules that reproduce the shape)]} over every sampled shape of a family whose walk (in
    ``families``) cuts contiguous slices, whose split is known (its launch's grid, or
    ``splits[i]``) and whose slices differ by granule; shapes of ``exclude`` are not looked at."""
    path, out = record["path"], {}
    for i, (M, N, K) in enumerate(record["shapes"]):
        if i in exclude or str(i) not in record["bits"]:
            continue
        d = describe(record["kernels"][i], M, N, K)
        key = (families.get(d[0]) or {}).get("walk") if d else None
        split = (splits or {}).get(i) or (d[1] if d else 0)
        if not key or not split or split <= 1:
            continue
        walk = Walk.from_key(key)
        cuts = _cuts_by_granule(K, split)
        if walk.interleave or walk.plan or len(cuts) < 2:
            continue
        rows, cols, want = _samples(record, i)
        ok = set()
        for gs in cuts.values():
            try:
                if np.array_equal(emulate(path, walk, split, M, N, K, rows, cols, gs[0]), want):
                    ok |= set(gs)
            except ValueError:
                pass
        out.setdefault(d[0], []).append((K, frozenset(ok)))
    return out


def choose_granule(walk: Walk, works) -> Walk:
    """``walk`` with the default granule (and the granule where K is a multiple of a larger
    one, ``granule_aligned``) that reproduces most of ``works`` ([(K, granules that reproduce
    the shape)], :func:`granule_evidence`); a tie keeps the walk's own."""
    def score(g, ga):
        return sum((ga if ga and K % ga == 0 else g) in ok for K, ok in works)

    now = (walk.granule, walk.granule_aligned)
    options = [(g, ga) for g in GRANULES for ga in (0,) + tuple(x for x in GRANULES if x > g)]
    best = max(options, key=lambda o: (score(*o), o == now, o[1] == 0))
    if score(*best) <= score(*now):
        return walk
    return Walk(walk.block, walk.k_tile, best[0], walk.reduce, walk.interleave, walk.plan, best[1])


def regranule_families(families: dict, evidence: dict) -> dict:
    """``families`` with each split-K family's walk granule chosen (:func:`choose_granule`) on
    its :func:`granule_evidence` (gathered over any number of records: add the lists)."""
    out = {f: dict(v) for f, v in families.items()}
    for fam, works in sorted(evidence.items()):
        key = (out.get(fam) or {}).get("walk")
        if not key or not works:
            continue
        walk = Walk.from_key(key)
        new = choose_granule(walk, works)
        if new != walk:
            before = sum(walk.granule_for(K) in ok for K, ok in works)
            out[fam]["walk"] = new.key()
            out[fam]["granules"] = {"picks": len(works), "before": before,
                                    "after": sum(new.granule_for(K) in ok for K, ok in works)}
    return out


SIBLINGS = {"fp16": "fp16-f32", "fp16-rpr": "fp16-f32", "bf16": "bf16-f32", "bf16-rpr": "bf16-f32",
            "fp8-fast-bf16": "fp8-fast", "fp8-slow-bf16": "fp8-slow"}  # a rounded output's float32 path


def borrow_walks(record: dict, families: dict, sibling: dict, exclude=()) -> dict:
    """``families`` of a path with a float16 or bfloat16 output, each taking the walk the same
    kernel family was fitted with on the float32-output path (``sibling``: :data:`SIBLINGS`)
    — all of it (block, k-tile, granules, slicing plan) but this path's own reduction of the
    slices — where that reproduces
    at least as many of the record's sampled shapes as its own.  A rounded output hides the
    low bits that tell a k-tile residue or a granule apart (cuBLAS's fp16 wmma kernel fitted as
    granule 1 in order, where float32 outputs show k-tile 64 and granule 8, 64 where K is a
    multiple of it): the same kernel on the float32 path shows them."""
    path, by = record["path"], {}
    for i, (M, N, K) in enumerate(record["shapes"]):
        if i in exclude or str(i) not in record["bits"]:
            continue
        d = describe(record["kernels"][i], M, N, K)
        if d and d[1] and d[1] > 0:
            by.setdefault(d[0], []).append((i, d[1]))
    out = {f: dict(v) for f, v in families.items()}
    for fam, items in sorted(by.items()):
        mine, theirs = (out.get(fam) or {}).get("walk"), (sibling.get(fam) or {}).get("walk")
        if not mine or not theirs:
            continue
        a, b = Walk.from_key(mine), Walk.from_key(theirs)
        b = Walk(b.block, b.k_tile, b.granule, a.reduce, b.interleave, b.plan, b.granule_aligned)
        if a == b:
            continue
        count = [0, 0]
        for i, split in items:
            M, N, K = record["shapes"][i]
            rows, cols, want = _samples(record, i)
            for j, w in enumerate((a, b)):
                try:
                    count[j] += np.array_equal(emulate(path, w, split, M, N, K, rows, cols,
                                                       w.granule_for(K) if split > 1 else None), want)
                except ValueError:
                    pass
        if count[1] >= count[0]:
            out[fam]["walk"] = b.key()
            out[fam]["borrowed"] = {"from": theirs, "shapes": len(items), "before": count[0], "after": count[1]}
    return out


def regranule(record: dict, fitted: dict, most: int | None = None) -> dict:
    """Each split-K family's default granule made the one most of its sampled split shapes
    show (:func:`granule_evidence`, :func:`choose_granule`; ``most``: look at only that many
    shapes per family, spread over them): a shape is often reproduced by several granules (K =
    24,576 in 11 slices of 2,236 or of 2,240 can look alike), so the first granule tried at
    fitting (128 bits of operand) is kept by many shapes that a CUTLASS kernel in fact cuts at
    32 (FP32 SIMT; found at LLM shapes between recorded token counts, where the table holds no
    granule) — and 30 shapes spread over a family can miss the rule: cuBLAS's CUTLASS FP16
    256×128 kernel cuts at 8, but at 64 where K is a multiple of 64 (14 of 194 training
    shapes show it).  The default serves shapes recorded without samples and predictions; a
    sampled shape keeps the granule its outputs showed (written out where it was the old
    default)."""
    schedules = {str(k): list(v) for k, v in fitted["schedules"].items()}
    families = fitted["families"]
    splits = {int(k): v[1] for k, v in schedules.items() if v[0] and v[1]}
    evidence = granule_evidence(record, families, exclude={i for i in range(len(record["shapes"]))
                                                           if str(i) not in schedules}, splits=splits)
    if most:
        evidence = {f: w[:: max(1, len(w) // most)][:most] for f, w in evidence.items()}
    new_families = regranule_families(families, evidence)
    for k, sched in schedules.items():
        if not sched[0]:
            continue
        M, N, K = record["shapes"][int(k)]
        d = describe(record["kernels"][int(k)], M, N, K)
        new = (new_families.get(d[0]) or {}).get("walk") if d else None
        if new and new != sched[0] and sched[0] == (families.get(d[0]) or {}).get("walk"):
            if sched[1] and sched[1] > 1:  # the granule its outputs showed, written out
                sched[2] = sched[2] or Walk.from_key(sched[0]).granule_for(K)
            sched[0] = new
    return {"families": new_families, "schedules": schedules}


# ---- the rule: recorded shapes -> (walk, split), a shape tree's kernel elsewhere -------------
SPLIT_VOTES = 3  # recorded launches of the kernel that vote on a new shape's split
ASPECT_WEIGHT = 0.25  # weight of log2(M / N) in the distance between launches (cuBLAS's wave
#                       count is not a function of the output tiles and K alone)
K_WEIGHT = 0.25  # K's weight in the distance to the nearest launch of a kernel whose tiles are not known


@dataclass(frozen=True)
class Rule:
    """One GEMM path's shape → (walk, split) rule on one GPU and cuBLAS version."""

    path: str
    walks: tuple  # walk keys; a table row's walk index -1: the kernel family's walk is not known
    families: tuple  # each row's kernel (:func:`kernel_label`: family@tile geometry), for the split
    #                  model and messages
    table: np.ndarray  # int64 rows: M, N, K, walk index (-1 unknown), split (0 unknown; -1 recorded
    #                    but not reproduced by its family's walk), family index, granule of the
    #                    slices (0: the walk's)
    sms: int = PERSISTENT_CTAS  # the GPU's SMs: one wave of CTAs
    tree: ShapeTree | None = field(default=None, repr=False, compare=False)  # the kernel tree
    #                      (:attr:`kernel_tree`) as read from a rule file; None: grown on first use

    @functools.cached_property
    def _usable(self) -> np.ndarray:
        """Rows a prediction may copy: not those of a known walk whose split was not seen."""
        s = self.table[:, 4]
        return ~((self.table[:, 3] >= 0) & (s <= 0) & (s > -STREAMK_CODE))

    @functools.cached_property
    def kernel_class(self) -> np.ndarray:
        """Each row's kernel class, as the index of the class's first row: rows of one walk
        and one tile geometry (cuBLAS's kernels that add K alike and cut it alike) are one class;
        a kernel of unknown walk is its own."""
        geos: dict = {}
        geo_id = np.array([geos.setdefault(g, len(geos)) for g in self._geometries] + [0], np.int64)
        w, f = self.table[:, 3], self.table[:, 5]
        key = np.where(w >= 0, (w + 1) * (len(geos) + 1) + geo_id[f], -(f + 1))
        _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
        return first[inverse.ravel()].astype(np.int64)

    @functools.cached_property
    def kernel_tree(self) -> ShapeTree:
        """The decision tree (:mod:`lowbit.mac.shape_tree`) from a shape's M, N, K and alignment
        to the kernel class cuBLAS runs there (a leaf: the class's first row), grown on the
        usable rows (the one read from the rule file where it has one)."""
        if self.tree is not None:
            return self.tree
        use = np.flatnonzero(self._usable)
        if not use.size:
            raise LookupError(f"{self.path}: the rule has no usable recorded shape")
        t = self.table[use]
        return grow(features(t[:, 0], t[:, 1], t[:, 2]), self.kernel_class[use])

    @functools.cached_property
    def _geometries(self) -> list:
        return [label_geometry(f) for f in self.families]

    def _granule(self, j: int) -> int:
        """Row j's split granule: its own where recorded, else its walk's."""
        return int(self.table[j, 6]) or self._walks[self.table[j, 3]].granule_for(int(self.table[j, 2]))

    @functools.cached_property
    def _walks(self) -> tuple:
        """The walk keys parsed once (a lookup reads several rows' walks)."""
        return tuple(Walk.from_key(k) for k in self.walks)

    def recorded(self, M: int, N: int, K: int) -> np.ndarray:
        """Indices of the table rows recorded at exactly this shape (the first one counts)."""
        t = self.table
        return np.flatnonzero((t[:, 0] == M) & (t[:, 1] == N) & (t[:, 2] == K))

    def _pieces(self, rows: np.ndarray, plan: "StreamK", M: int, N: int, K: int, walk: Walk) -> tuple:
        """(plan, how): its pieces, where not known, those of the first of ``rows`` (stream-K
        launches of one kernel, nearest first) whose samples showed them with as many CTAs
        cutting as many tiles over as many k-iterations; else :func:`balanced_pieces`' (0)."""
        if plan.pieces:
            return plan, f"{plan.pieces} pieces"
        t = self.table
        cut, iters = plan.counts(M, N)[1], -(-K // walk.granule)
        for k in rows.tolist():
            ctas, pieces = streamk_decode(int(t[k, 4]))
            if (ctas == plan.ctas and pieces and -(-int(t[k, 2]) // walk.granule) == iters
                    and plan.counts(int(t[k, 0]), int(t[k, 1]))[1] == cut):
                return (dataclasses.replace(plan, pieces=pieces),
                        f"{pieces} pieces as at {t[k, 0]}x{t[k, 1]}x{t[k, 2]} "
                        "(as many tiles cut over as many k-iterations)")
        return plan, "its pieces balanced"

    def _split(self, kin: np.ndarray, geo: tuple, M: int, N: int, K: int, walk: Walk, family: str):
        """(split, slice length, how) of a kernel of tile geometry ``geo`` at M, N, K from its
        recorded launches ``kin``: the SPLIT_VOTES nearest in log2 output tiles, log2 K and
        (half weight) the output's aspect log2(M / N) each propose a split — the waves of CTAs
        they filled (:func:`capacity`) over this shape's tiles where that explains their own
        split, else the split they were asked for — cut as this kernel cuts K
        (:func:`split_cut`); the most proposed wins, the nearest's on a tie.  (On held-out seeds 2
        and 3 where the kernel is predicted right, FP32, bf16 → float32, TF32 and FP16-acc16
        together: 3 voters with the aspect term get 1,767 of 1,998 splits right, the single
        nearest in tiles and K 1,675.)"""
        t = self.table
        tiles = output_tiles(geo, M, N)

        def distance(rows):
            rows_tiles = output_tiles(geo, t[rows, 0], t[rows, 1])  # every launch of the class has this tiling
            lm, ln = np.log2(t[rows, 0]) - np.log2(M), np.log2(t[rows, 1]) - np.log2(N)
            return ((np.log2(rows_tiles) - np.log2(tiles)) ** 2 + (np.log2(t[rows, 2]) - np.log2(K)) ** 2
                    + ASPECT_WEIGHT * (lm - ln) ** 2)

        if walk.plan == "streamk":
            over = kin[t[kin, 4] <= -STREAMK_CODE]  # launches of fewer CTAs than tiles: they show the CTAs
            if over.size:
                j = over[int(np.argmin(distance(over)))]
                ctas = streamk_decode(int(t[j, 4]))[0]
                if tiles > ctas:
                    plan = StreamK.of(streamk_code(ctas, 0), family, geo)
                    why = f"a stream-K launch of {ctas} CTAs over {tiles} tiles as at {t[j, 0]}x{t[j, 1]}x{t[j, 2]}"
                    # pieces seen where the same CTAs cut as many tiles over as many k-iterations
                    plan, pieces_why = self._pieces(over[np.argsort(distance(over), kind="stable")], plan, M, N, K,
                                                     walk)
                    return plan, walk.granule, f"{why}, {pieces_why}"
            elif tiles > self.sms:
                return -1, walk.granule, (f"a stream-K launch over {tiles} tiles, more than the {self.sms} SMs, "
                                          "with no recorded launch of its kernel over more tiles than CTAs")
            kin = kin[t[kin, 4] > 0]
            if not kin.size:
                return -1, walk.granule, "no recorded stream-K launch of its kernel over fewer tiles than CTAs"
        d = distance(kin)
        votes: dict = {}
        for k in kin[np.argsort(d, kind="stable")[:SPLIT_VOTES]].tolist():
            Mk, Nk, Kk, sk = (int(v) for v in (t[k, 0], t[k, 1], t[k, 2], t[k, 4]))
            cap = capacity(geo, Mk, Nk, Kk, sk, self._granule(k), self.sms, walk.dealt) if sk > 1 else 0
            if cap:
                asked = min(cap // tiles, MAX_SPLIT)
                why = f"filling {cap // self.sms} wave(s) of {self.sms} CTAs as at {Mk}x{Nk}x{Kk}"
            else:
                gk = self._granule(k)
                asked_k = [a for a in range(1, 2 * MAX_SPLIT + 1)
                           if split_cut(Kk, a, gk, walk.dealt)[0] == sk] or [sk]
                asked = asked_k[len(asked_k) // 2]
                why = f"asked for {asked} slices as at {Mk}x{Nk}x{Kk}"
            cut = split_cut(K, max(1, asked), walk.granule_for(K), walk.dealt)
            votes.setdefault(cut, []).append(why)
        (split, per), whys = max(votes.items(), key=lambda v: len(v[1]))  # first (nearest) on a tie
        return split, per, f"{whys[0]} ({len(whys)} of the {sum(map(len, votes.values()))} nearest launches)"

    def lookup(self, M: int, N: int, K: int):
        """(Walk, split, granule, how): the recorded shape's; else a prediction:

        * the kernel class (walk and tile geometry, :attr:`kernel_class`) from the shape tree
          (:attr:`kernel_tree`: M, N, K and the alignment of N and K);
        * its split from that class's own launches (:meth:`_split`); for a kernel whose tile
          geometry its name does not give, the split of the class's launch nearest in log2 M,
          log2 N and K_WEIGHT·log2 K.

        Raises LookupError where the kernel there has no known walk."""
        t = self.table
        hit = self.recorded(M, N, K)
        if hit.size:
            row = t[hit[0]]
            w, s, f, g = (int(v) for v in row[3:7])
            how = "recorded"
            if w >= 0 and streamk_decode(s) and self._geometries[f]:
                s = StreamK.of(s, self.families[f], self._geometries[f])
                if not s.pieces:  # not sampled: the pieces of a sampled launch of its kernel alike
                    kin = np.flatnonzero((self.kernel_class == self.kernel_class[hit[0]]) & (t[:, 4] <= -STREAMK_CODE))
                    d = np.log2(t[kin, :3]) - np.log2([M, N, K])
                    s, why = self._pieces(kin[np.argsort((d ** 2).sum(axis=1), kind="stable")], s, M, N, K,
                                          self._walks[w])
                    how = (f"recorded kernel (a stream-K launch of {s.ctas} CTAs over more output tiles), its pieces "
                           f"predicted: {why}")
                else:
                    how += (f" (a stream-K launch of {s.ctas} CTAs over more output tiles, {s.pieces} pieces as its "
                            "outputs show)")
        else:
            c = int(self.kernel_tree.predict(features(M, N, K))[0])
            kin = np.flatnonzero((self.kernel_class == c) & self._usable)
            d = np.log2(t[kin, :3]) - np.log2([M, N, K])
            j = kin[int(np.argmin(d[:, 0] ** 2 + d[:, 1] ** 2 + (K_WEIGHT * d[:, 2]) ** 2))]
            w, s, f, g = (int(v) for v in t[j, 3:7])
            how = (f"predicted: the shape tree's kernel, as at the recorded {t[j, 0]}x{t[j, 1]}x{t[j, 2]} "
                   f"({len(kin)} recorded shape(s) of that walk and tiling)")
            geo = self._geometries[f]
            if w >= 0 and geo:
                s, g, why = self._split(kin, geo, M, N, K, self._walks[w], self.families[f])
                how += f", {why}" if isinstance(s, StreamK) else f", split {s}: {why}"
                g = g if isinstance(s, StreamK) or s > 1 else 0
        if isinstance(s, StreamK):
            return self._walks[w], s, None, how
        if w >= 0 and s < 0:
            raise LookupError(f"{self.path} at M={M}, N={N}, K={K}: cuBLAS runs {self.families[f]} there ({how}); "
                              "lowbit has no model of how this launch cuts K (a stream-K launch of fewer CTAs than "
                              f"output tiles, or a launch its family's walk {self.walks[w]} did not reproduce on "
                              "the recorded outputs), so no answer is given")
        if w < 0 or s <= 0:
            raise LookupError(f"{self.path} at M={M}, N={N}, K={K}: cuBLAS runs {self.families[f]} there ({how}), "
                              f"a kernel family whose K walk is not known{' (split not seen)' if w >= 0 else ''}")
        return self._walks[w], s, g or None, how


def _index(values: list, v) -> int:
    """v's index in ``values``, appended first if new (-1 for None: no walk known)."""
    if v is None:
        return -1
    if v not in values:
        values.append(v)
    return values.index(v)


def build_rule(record: dict, fitted: dict, sms: int = PERSISTENT_CTAS) -> Rule:
    """The :class:`Rule` of a recorded path from :func:`fit`'s result (its schedules), on a GPU
    of ``sms`` SMs."""
    walks, fams, rows = [], [], []
    for i, (w, s, g) in sorted((int(k), v) for k, v in fitted["schedules"].items()):
        M, N, K = record["shapes"][i]
        rows.append((M, N, K, _index(walks, w), s or 0, _index(fams, kernel_label(record["kernels"][i], M, N, K)), g))
    return Rule(record["path"], tuple(walks), tuple(fams), np.array(rows, np.int64).reshape(-1, 7), sms)


def extend_rule(rule: Rule, record: dict, families: dict, exclude=()) -> Rule:
    """``rule`` with the shapes of another recording of the same path added: each shape's
    kernel family (from its launch alone, no output samples needed) takes the walk ``families``
    fitted for it; shapes already in the rule and ``exclude`` (held out) are skipped."""
    walks, fams = list(rule.walks), list(rule.families)
    have = {tuple(r) for r in rule.table[:, :3].tolist()}
    rows = []
    for i, (M, N, K) in enumerate(record["shapes"]):
        if i in exclude or (M, N, K) in have:
            continue
        d = describe(record["kernels"][i], M, N, K)
        if d is None:
            continue
        fam, split = d
        w = (families.get(fam) or {}).get("walk")
        rows.append((M, N, K, _index(walks, w), split, _index(fams, kernel_label(record["kernels"][i], M, N, K)), 0))
        have.add((M, N, K))
    table = np.concatenate([rule.table, np.array(rows, np.int64).reshape(-1, 7)])
    return Rule(rule.path, tuple(walks), tuple(fams), table, rule.sms)


def uncertain_shapes(rule: Rule, pool, count: int, exclude=()) -> list:
    """Up to ``count`` shapes of ``pool`` (in its order) where the rule's kernel choice is least
    settled: a committee of kernel trees — the rule's own and two grown on alternate rows of its
    table (sorted by shape, so each half covers the whole space) — does not agree on the kernel
    class (query by committee: Seung, Opper and Sompolinsky, *Query by committee*, COLT 1992).
    Recording cuBLAS there puts new table rows on the trees' class boundaries, where a random
    cover spends most of its shapes inside regions the table already settles.  ``exclude``:
    shapes never to pick (held-out sets).  Shapes the table holds are never picked."""
    use = np.flatnonzero(rule._usable)
    if use.size < 4:
        raise LookupError(f"{rule.path}: too few usable recorded shapes ({use.size}) for a committee of trees")
    t = rule.table
    order = use[np.lexsort((t[use, 2], t[use, 1], t[use, 0]))]
    X = features(t[:, 0], t[:, 1], t[:, 2])
    y = rule.kernel_class
    members = [rule.kernel_tree] + [grow(X[order[h::2]], y[order[h::2]]) for h in (0, 1)]
    skip = {tuple(int(v) for v in r) for r in t[:, :3]} | {tuple(s) for s in exclude}
    cand = [tuple(int(v) for v in s) for s in pool]
    cand = [s for s in dict.fromkeys(cand) if s not in skip]
    if not cand:
        return []
    P = np.array(cand, np.int64)
    votes = np.stack([m.predict(features(P[:, 0], P[:, 1], P[:, 2])) for m in members])
    split = np.flatnonzero((votes != votes[0]).any(axis=0))
    return [cand[i] for i in split[:count]]


def rewalk(rule: Rule, families: dict, observed=()) -> Rule:
    """``rule`` with each row taking the walk ``families`` now give its kernel family (rows of
    a family they give no walk keep theirs); a split row of a shape in ``observed`` (M, N, K
    whose samples showed its granule) keeps the granule it was matched with, written out where
    the new walk's default differs.  The kernel tree is grown anew (its classes are walks and
    tilings)."""
    walks, table = list(rule.walks), rule.table.copy()
    observed = set(observed)
    for f, label in enumerate(rule.families):
        key = (families.get(label.split("@")[0]) or {}).get("walk")
        if not key:
            continue
        new, rows = Walk.from_key(key), np.flatnonzero(table[:, 5] == f)
        for j in rows:
            M, N, K, w, split, _, g = (int(v) for v in table[j])
            if w >= 0 and split > 1 and not g and (M, N, K) in observed:
                old = Walk.from_key(walks[w]).granule_for(K)
                table[j, 6] = old if old != new.granule_for(K) else 0
        table[rows, 3] = _index(walks, key)
    used = sorted(set(table[:, 3].tolist()) - {-1})
    remap = np.full(len(walks) + 1, -1, np.int64)
    remap[used] = np.arange(len(used))
    table[:, 3] = remap[table[:, 3]]
    return Rule(rule.path, tuple(walks[w] for w in used), rule.families, table, rule.sms)


def rule_to_dict(rule: Rule) -> dict:
    """A rule as JSON: its table sorted by (M, N, K) (stable: rows of one shape keep their order)
    column by column, base64 — M as its steps from the row before, M, N and K as little-endian
    uint16 (LLM projections reach N = 57,344), the walk, split, kernel and granule columns as
    int16 (-1 marks unknowns) — and the kernel tree of the sorted table. A list of lists takes a
    second to parse, this milliseconds; sorted, the steps of M are mostly 0 and the file
    compresses to 11 MB where unsorted columns took 15.5."""
    import base64

    t = np.asarray(rule.table, np.int64).reshape(-1, 7)
    for cols, lo, hi, kind in (((0, 3), 0, 1 << 16, "uint16"), ((3, 7), -(1 << 15), 1 << 15, "int16")):
        part = t[:, cols[0]:cols[1]]
        if part.size and (part.min() < lo or part.max() >= hi):
            raise ValueError(f"{rule.path}: a table value ({part.min()}..{part.max()}) in columns {cols} does not "
                             f"fit {kind}")
    order = np.lexsort((t[:, 2], t[:, 1], t[:, 0]))
    if not np.array_equal(order, np.arange(len(t))):  # the tree's leaves name rows: grow it on the sorted table
        rule = Rule(rule.path, rule.walks, rule.families, t[order], rule.sms)
        t = rule.table
    mnk = t[:, :3].T.copy()
    mnk[0] = np.diff(mnk[0], prepend=0)
    data = np.ascontiguousarray(mnk, dtype="<u2").tobytes() + np.ascontiguousarray(t[:, 3:].T, dtype="<i2").tobytes()
    out = {"walks": list(rule.walks), "families": list(rule.families), "rows": int(len(t)),
           "sms": rule.sms, "columns_sorted_dm_nk_u16_rest_i16": base64.b64encode(data).decode()}
    if rule._usable.any():  # (a calibration that kept no shape has no tree to grow)
        out["kernel_tree"] = rule.kernel_tree.to_dict()
    return out


def rule_from_dict(path: str, d: dict) -> Rule:
    import base64

    key = next((k for k in ("columns_sorted_dm_nk_u16_rest_i16", "columns_mnk_u16_rest_i16") if k in d), None)
    if key:
        raw, n = base64.b64decode(d[key]), int(d["rows"])
        mnk = np.frombuffer(raw[:6 * n], dtype="<u2").astype(np.int64).reshape(3, n)
        if key.startswith("columns_sorted"):  # M stored as steps
            mnk[0] = np.cumsum(mnk[0])
        rest = np.frombuffer(raw[6 * n:], dtype="<i2").astype(np.int64).reshape(4, n)
        table = np.concatenate([mnk, rest]).T  # column-major: a lookup reads columns
    elif "columns_int16" in d:  # rule files of lowbit 2026-12-01
        table = np.frombuffer(base64.b64decode(d["columns_int16"]), dtype="<i2").astype(np.int64).reshape(7, -1).T
        table = np.ascontiguousarray(table)
    elif "table_int32" in d:  # rule files of lowbit before the int16 columns
        table = np.frombuffer(base64.b64decode(d["table_int32"]), dtype="<i4").astype(np.int64).reshape(-1, 7)
    else:  # the list form fit.py's intermediate files keep
        table = np.array(d["table"], np.int64).reshape(-1, 7)
    tree = ShapeTree.from_dict(d["kernel_tree"]) if "kernel_tree" in d else None  # older files: grown on use
    return Rule(path, tuple(d["walks"]), tuple(d["families"]), table, d.get("sms", PERSISTENT_CTAS), tree)


def held_out(record: dict, rule: Rule, indices, fitted: dict | None = None) -> dict:
    """Bit-for-bit reproduction of held-out shapes' samples: by the rule's prediction and, with
    ``fitted`` walks, by the shape's own recorded kernel (what a calibration of it would give)."""
    path = record["path"]
    walks = {f: v["walk"] for f, v in (fitted or {}).get("families", {}).items()}
    out = {"shapes": 0, "predicted": 0, "own_kernel": 0, "unknown_family": 0, "failures": []}
    for i in indices:
        if str(i) not in record["bits"]:
            continue
        M, N, K = record["shapes"][i]
        rows, cols, want = _samples(record, i)
        out["shapes"] += 1
        try:
            walk, split, g, _ = rule.lookup(M, N, K)
            ok = np.array_equal(emulate(path, walk, split, M, N, K, rows, cols, g), want)
        except (LookupError, ValueError):
            ok = False
        out["predicted"] += bool(ok)
        if not ok:
            out["failures"].append([M, N, K])
        d = describe(record["kernels"][i], M, N, K)
        w = walks.get(d[0]) if d else None
        if w is None:
            out["unknown_family"] += 1
            continue
        s = d[1] or find_split(record, path, Walk.from_key(w), i)
        if s and _matches(record, path, Walk.from_key(w), i, s):
            out["own_kernel"] += 1
    return out


# ---- the presets' use of the shipped rules -----------------------------------------------
_RULES: dict = {}


def cache_file() -> Path | None:
    """The rule ``lowbit calibrate --sweep`` wrote in the user cache for an SM90 GPU, if any."""
    from .calibration import cache_dir

    files = sorted((cache_dir().parent / "cublas").glob("*.json.gz"))
    return files[0] if files else None


def read(path: Path) -> dict:
    with gzip.open(path, "rt") as f:
        doc = json.load(f)
    if doc.get("format") != RULE_FORMAT:
        raise ValueError(f"{path}: not a lowbit cuBLAS rule file (format {doc.get('format')!r}, want {RULE_FORMAT!r})")
    doc["rules"] = {k: rule_from_dict(k, v) for k, v in doc["paths"].items()}
    doc["file"] = str(path)
    return doc


def shipped() -> dict:
    """The rules the presets read: the user cache's (``lowbit calibrate --sweep``) where it has
    the path, else the shipped ones (``lowbit/mac/data/cublas/nvidia-h200.json.gz``):
    {"gpu", "versions", "rules": {path: Rule}, "user_rules": {path: Rule} (the cache's alone),
    "held_out", "file"}.  Read once per user-cache file, not per call."""
    user = cache_file()
    key = str(user)
    if key not in _RULES:
        doc = dict(read(SHIPPED / "nvidia-h200.json.gz"), user_rules={})
        if user is not None:  # the user's recorded shapes first, then the shipped table
            mine = read(user)["rules"]
            doc.update(rules={p: merge(mine[p], r) if p in mine else r for p, r in doc["rules"].items()},
                       user_rules=mine, user_file=str(user))
        _RULES.clear()
        _RULES[key] = doc
    return _RULES[key]


def document(gpu: dict, fits: dict) -> dict:
    """The rule file's content from per-path fits ({path: {"rule", "families", "held_out", and
    every other held-out set's measure: a key ending in ``held_out`` or ``held_out_<seed>``}})."""
    measures = sorted({k for f in fits.values() for k in f if re.search(r"held_out(_\d+)?$", k)})
    return {"format": RULE_FORMAT, "gpu": gpu["gpu"], "sm": gpu["sm"], "versions": gpu["versions"],
            "date": gpu.get("date"),
            "paths": {p: rule_to_dict(rule_from_dict(p, f["rule"])) for p, f in sorted(fits.items())},
            "families": {p: f["families"] for p, f in sorted(fits.items())},
            **{key: {p: f[key] for p, f in sorted(fits.items()) if key in f} for key in measures}}


def write(doc: dict, dest: Path) -> Path:
    """Write a rule file (gzip without a timestamp or name: the same rules give the same bytes)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(dest, "wb") as f, gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0) as g:
        g.write((json.dumps(doc, sort_keys=True, separators=(",", ":")) + "\n").encode())
    return dest


def fit_path(record: dict, held: set, log=None, sms: int = PERSISTENT_CTAS, sibling: dict | None = None) -> dict:
    """Fit one recorded path with ``held`` shape indices held out; measure them.  ``sibling``:
    the families fitted on the same kernels' float32 output (:data:`SIBLINGS`), whose walks a
    rounded output's families take where they reproduce as much (:func:`borrow_walks`)."""
    fitted = fit(record, exclude=held, log=log)
    if sibling:
        families = borrow_walks(record, fitted["families"], sibling, exclude=held)
        schedules = {}
        for k, sched in fitted["schedules"].items():
            M, N, K = record["shapes"][int(k)]
            d = describe(record["kernels"][int(k)], M, N, K)
            new = (families.get(d[0]) or {}).get("walk") if d and sched[0] else None
            schedules[k] = [new or sched[0], *sched[1:]]
        fitted = {"families": families, "schedules": schedules}
    rule = build_rule(record, fitted, sms)
    return {"rule": rule_to_dict(rule), "families": fitted["families"],
            "held_out": held_out(record, rule, sorted(held), fitted)}


def calibrate_sweep(paths, shapes=None, held_out_shapes=None, log=print) -> Path:
    """``lowbit calibrate --sweep``: record cuBLAS on this GPU and add what it runs to the user
    cache, where the presets read it before the shipped rule.

    With ``shapes`` (your own GEMMs): each shape's kernel and grid are recorded with output
    samples; its family's walk comes from a fit of these samples or else the shipped fit, its
    split from the grid (or, for a persistent launch, the samples); each shape is checked on
    its samples and kept only if reproduced.  Without: a whole sweep (grid, 2000 random and the
    LLM shapes, ``held_out_shapes`` — default random_shapes(2, 400) — measured and kept out)
    is recorded and fitted from scratch, as the shipped rule was."""
    from .calibration import _slug, cache_dir, gpu_info

    info = gpu_info()
    if tuple(info["sm"]) != (9, 0):
        raise RuntimeError(f"calibrate --sweep: the h100 presets model SM90 tensor cores; this GPU is {info['gpu']} "
                           f"(SM {info['sm'][0]}.{info['sm'][1]})")
    dest = cache_dir().parent / "cublas" / f"{_slug(info['gpu'])}.json.gz"
    old = read(dest) if dest.exists() else None
    fits = {}
    for p in sorted(paths, key=lambda p: p in SIBLINGS):  # float32 outputs first: the others borrow their walks
        sweep._check_path(p)
        if shapes is None:
            every = sweep.grid_shapes() + sweep.random_shapes(1, 2000) + sweep.llm_shapes()
            held = list(held_out_shapes if held_out_shapes is not None else sweep.random_shapes(2, 400))
            rec = sweep.record(p, every + held, outputs=True, log=log)
            sibling = (fits.get(SIBLINGS.get(p)) or {}).get("families")
            fits[p] = fit_path(rec, set(range(len(every), len(every) + len(held))), sms=info.get("sms", PERSISTENT_CTAS),
                               sibling=sibling)
            h = fits[p]["held_out"]
            log(f"{p}: held-out shapes reproduced {h['predicted']}/{h['shapes']}")
            continue
        rec = sweep.record(p, [tuple(s) for s in shapes], outputs=True, log=log)
        mine = fit(rec)["families"]
        known = dict(shipped().get("families", {}).get(p, {}))
        known.update({f: v for f, v in mine.items() if v["walk"]})
        rows, walks, fams = [], [], []
        for i, (M, N, K) in enumerate(rec["shapes"]):
            d = describe(rec["kernels"][i], M, N, K)
            w = (known.get(d[0]) or {}).get("walk") if d else None
            if d is None or w is None or str(i) not in rec["bits"]:
                log(f"{p} {M}x{N}x{K}: kernel family {d and d[0]} has no known walk; not kept")
                continue
            if streamk_decode(d[1]):  # fewer CTAs than tiles: the pieces its outputs show
                split = fit_streamk(rec, p, Walk.from_key(w), i, d[1])
                if split is None:
                    log(f"{p} {M}x{N}x{K}: {d[0]} cuts K in a way lowbit does not model (a stream-K launch of fewer "
                        "CTAs than output tiles no plan reproduces); not kept")
                    continue
                rows.append((M, N, K, _index(walks, w), split, _index(fams, kernel_label(rec["kernels"][i], M, N, K)),
                             0))
                ctas, pieces = streamk_decode(split)
                log(f"{p} {M}x{N}x{K}: {d[0]}, a stream-K launch of {ctas} CTAs over more tiles, {pieces} pieces, "
                    "reproduced")
                continue
            if d[1] < 0:
                log(f"{p} {M}x{N}x{K}: {d[0]} cuts K in a way lowbit does not model; not kept")
                continue
            split = d[1] or find_split(rec, p, Walk.from_key(w), i)
            g = _match(rec, p, Walk.from_key(w), i, split) if split else None
            if g is None:
                log(f"{p} {M}x{N}x{K}: {d[0]} with walk {w} does not reproduce the outputs; not kept")
                continue
            rows.append((M, N, K, _index(walks, w), split, _index(fams, kernel_label(rec["kernels"][i], M, N, K)),
                         0 if g == Walk.from_key(w).granule_for(K) else g))
            log(f"{p} {M}x{N}x{K}: {d[0]}, {split} slice(s), reproduced")
        rule = Rule(p, tuple(walks), tuple(fams), np.array(rows, np.int64).reshape(-1, 7), info.get("sms", PERSISTENT_CTAS))
        if old is not None and p in old["rules"]:
            prev = old["rules"][p]
            keep = [r for r in prev.table.tolist() if not any(r[:3] == list(x[:3]) for x in rows)]
            rule = merge(rule, Rule(p, prev.walks, prev.families, np.array(keep, np.int64).reshape(-1, 7), prev.sms))
        fits[p] = {"rule": rule_to_dict(rule), "families": mine, "held_out": {}}
    if old is not None:  # paths calibrated before and not now stay
        for p, r in old["rules"].items():
            fits.setdefault(p, {"rule": rule_to_dict(r), "families": old.get("families", {}).get(p, {}),
                                "held_out": old.get("held_out", {}).get(p, {})})
    write(document(info, fits), dest)
    _RULES.clear()
    return dest


def merge(first: Rule, second: Rule) -> Rule:
    """One rule with ``first``'s rows before ``second``'s (a lookup takes the first hit)."""
    walks, fams = list(first.walks), list(first.families)
    t2 = second.table.copy()
    for col, src, dst in ((3, second.walks, walks), (5, second.families, fams)):
        remap = np.array([_index(dst, v) for v in src] + [-1], np.int64)  # index -1 stays -1
        t2[:, col] = remap[t2[:, col]] if len(t2) else t2[:, col]
    return Rule(first.path, tuple(walks), tuple(fams), np.concatenate([first.table, t2]), first.sms)


def path_of(preset: str, params: dict, out: str = "float32") -> str | None:
    """The recorded GEMM path a cuBLAS preset's call is (None: not a rule-covered preset).

    ``out``: the output lowbit.matmul is asked for — the kernel cuBLAS runs depends on it;
    ``reduced_precision_reduction`` (a preset knob, torch's default True) picks the float16 /
    bfloat16-output kernels that add split-K partials in the output format."""
    rpr = params.get("reduced_precision_reduction", True)
    if preset == "h100-bf16" and params.get("library", "cublas") == "cublas":
        return {"float32": "bf16-f32", "bfloat16": "bf16-rpr" if rpr else "bf16"}.get(out)
    if preset == "h100-fp16" and params.get("library", "cublas") == "cublas":
        if params.get("acc", "float32") == "float16":
            return "fp16-acc16" if out in ("float16", "float32") else None
        return {"float32": "fp16-f32", "float16": "fp16-rpr" if rpr else "fp16"}.get(out)
    if preset == "h100-tf32":
        return "tf32" if out == "float32" else None
    if preset == "h100-fp32":
        return "fp32" if out == "float32" else None
    if preset == "h100-fp8":
        base = "fp8-fast" if params.get("fast_accum", False) else "fp8-slow"
        return {"float32": base, "bfloat16": base + "-bf16"}.get(out)
    return None


RULE_KNOBS = ("library", "acc", "fast_accum", "reduced_precision_reduction")


def label(acc, preset: str, params: dict | None = None):
    """``acc`` labelled as ``preset``, with the operand formats the preset covers."""
    import dataclasses

    from .registry import PRESETS

    if not hasattr(acc, "split_k"):
        return acc
    knobs = {k: v for k, v in (params or {}).items() if k in ("fast_accum", "acc")}
    return dataclasses.replace(acc, formats=PRESETS[preset](**knobs).formats, preset=preset)


def preset_accumulator(preset: str, params: dict, M: int, N: int, K: int, out: str = "float32",
                       recorded_only: bool = False, user_only: bool = False, with_how: bool = False):
    """The accumulator of a cuBLAS preset at a shape from the rule (user cache first, then the
    shipped one; ``user_only``: the user cache's alone); None where the preset, its knobs or
    (``recorded_only``) the exact shape are not covered; with ``with_how``, (accumulator, path,
    how the rule found it: "recorded" or how it predicted).  Raises LookupError where the rule's kernel there has no known walk."""
    path = path_of(preset, params, out)
    if path is None or any(k not in RULE_KNOBS for k, v in params.items() if v is not None):
        return None
    rule = shipped()["user_rules" if user_only else "rules"].get(path)
    if rule is None:
        return None
    if recorded_only and not rule.recorded(M, N, K).size:
        return None
    walk, split, granule, how = rule.lookup(M, N, K)
    acc = label(accumulator(path, walk, split, K, granule, M=M, N=N), preset, params)
    return (acc, path, how) if with_how else acc
