"""Accumulators as data: what a dot product's adder does, every knob named.

Three kinds, each a frozen dataclass, built by :func:`accumulator`:

``exact``
    The infinitely precise sum of the exact products, rounded once to float32 (nearest
    even, IEEE 754-2019 §4.3.1).
``ieee``
    Products rounded to an IEEE binary format (float32, float16 or bfloat16) and added in
    that format with round-to-nearest-even (IEEE 754 §5.4.1 addition) in a stated order:
    ``sequential`` (((p0+p1)+p2)+…), ``pairwise`` (adjacent pairs added level by level,
    ((p0+p1)+(p2+p3))+…, an odd last element carried up to the next level), ``chunked``
    (sequential within chunks of ``chunk`` products, each chunk sum added in order to the
    total).
``fused-block``
    The tensor-core adder of the literature (Fasi, Higham, Mikaitis, Pranesh 2021;
    Khattak & Mikaitis 2025): K is cut into blocks of ``block_size`` products; in each
    block the products are exact, the largest alignment exponent E among the non-zero
    products (and the incoming chain accumulator) fixes a grid 2^(E − frac_bits); each
    product is rounded to that grid (``term_rounding``), the incoming accumulator too
    (``acc_rounding``); the terms are added exactly; the sum keeps ``sum_bits``
    significant bits (``sum_rounding``) and becomes the chain accumulator.  Every
    ``promote_every`` elements of K (and at the end of each ``promote_chunk``), the chain
    is rounded to float32 (nearest even), added with IEEE float32 addition into a separate
    accumulator and restarted from 0.

An accumulator starts at +0; a product with a NaN operand, Inf·0, or +Inf and −Inf
products give NaN, other infinite products give that infinity (IEEE 754 §6.1, §7.2),
for every kind.

The FP8 presets (``h100-fp8``, ``h100-fp8-triton``, and :func:`h100_mma_sync_f16`, which
``h100-fp8-triton`` returns for max_num_imprecise_acc < 32) are settings of ``fused-block``
defined here; the other H100 paths are in :mod:`lowbit.mac.h100_paths`; all are reachable
by name through the one registry, :mod:`lowbit.mac.registry` (``accumulator(name)``,
``PRESETS``).  Their docstrings state the evidence behind them and every condition they are
known to hold under (``vectors/hardware/h100/``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

ROUNDINGS = ("toward_zero", "nearest_even", "down", "up", "nearest_away", "odd")
ORDERS = ("sequential", "pairwise", "chunked")
IEEE_FORMATS = {"float32": (24, -126, 127), "float16": (11, -14, 15), "bfloat16": (8, -126, 127)}
ALIGN = ("operands", "product")
INPUT_ROUNDINGS = ("none", "toward_zero", "nearest_even", "nearest_away")
OPERAND_SPLITS = (None, "tf32x3")
# Fields added after golden vectors (vectors/dot) embedded accumulator reprs: rule fields are
# shown only when not at their default; the preset's label and covered formats never.
_QUIET_FIELDS = ("input_rounding", "operand_split", "nan_bits16", "sum_emax", "sum_emin", "split_reduce",
                 "k_tile", "split_slices", "split_tree", "for_k", "tiles", "for_mn", "split_interleave",
                 "split_lanes", "lane_run")
_LABEL_FIELDS = ("formats", "preset")


def _repr(obj) -> str:
    parts = []
    for f in dataclasses.fields(obj):
        v = getattr(obj, f.name)
        if f.name in _LABEL_FIELDS or (f.name in _QUIET_FIELDS and v == f.default):
            continue
        parts.append(f"{f.name}={v!r}")
    return f"{type(obj).__name__}({', '.join(parts)})"


def _tree_leaves(tree, kind) -> list:
    """The slice indices of a reduction tree (an int, or a pair of trees), checking its shape."""
    if isinstance(tree, int) and not isinstance(tree, bool):
        return [tree]
    if isinstance(tree, tuple) and len(tree) == 2:
        return _tree_leaves(tree[0], kind) + _tree_leaves(tree[1], kind)
    raise ValueError(f"{kind}: split_tree node {tree!r} is not allowed; allowed: a slice index or a pair (left, right)")


def _check_formats(kind, formats):
    if formats is None:
        return
    if not isinstance(formats, tuple) or not formats or not all(isinstance(f, str) for f in formats):
        raise TypeError(f"{kind}: formats must be None or a non-empty tuple of format names, got {formats!r}")


def _check_choice(kind, name, value, allowed):
    if value not in allowed:
        raise ValueError(f"{kind}: {name}={value!r} is not allowed; allowed: {', '.join(map(repr, allowed))}")


def _check_int(kind, name, value, lo, hi=None, none_ok=False):
    if value is None and none_ok:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{kind}: {name} must be an int{' or None' if none_ok else ''}, got {value!r}")
    if value < lo or (hi is not None and value > hi):
        rng = f"{lo}..{hi}" if hi is not None else f">= {lo}"
        raise ValueError(f"{kind}: {name}={value} out of range; allowed: {rng}{' or None' if none_ok else ''}")


# ------------------------------------------------------------------------------------
# The two halves of a fused-block accumulator: what one step computes, how K is walked
# ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Unit:
    """What one tensor-core step computes: the arithmetic, independent of how a kernel walks K.

    Fields (the evidence behind each H100 value is in the presets' docstrings and
    ``vectors/hardware/h100/*/README.md``):
      block_size: products fused in one step (H100: 32 for FP8 wgmma, 16 for FP16/BF16, 8 for
        TF32 — found by cancellation probes: a tiny term survives only outside the step of a
        cancelling pair).
      frac_bits: F, the grid 2^(E − F) every term is rounded to, E the step's alignment exponent
        (H100: 13 for FP8, 25 for 16-bit inputs and TF32 — the smallest surviving 2^-k beside a
        cancelling ±1 pair).
      align: ``"operands"`` (E from e_a + e_b, what the H100 does: 1.5·1.5 beside −1.5·1.5 keeps
        a 2^-F term) or ``"product"`` (the exact product's exponent).
      term_rounding / acc_rounding: rounding of each product / of the incoming accumulator to the
        grid (H100: toward zero on the magnitude — 0.75 of a grid step is dropped).
      acc_in_max: the incoming accumulator's exponent takes part in E (always True).
      sum_frac_bits, sum_bits, sum_rounding: how the exact step sum is cut (H100 float32 chains: 24
        bits toward zero; FP8: 14 bits; float16 accumulation: 11 bits to nearest even).
      sum_emax, sum_emin: the chain format's range (overflow to a sticky ±Inf, the subnormal grid;
        float32 chains: 127 / −126, recorded with paths/probe_overflow.py).
      nan_bits, nan_bits16: the bits of a NaN result (H100: 0x7FFFFFFF, 0x7FFF).
      input_rounding, operand_split: what happens to float32 operands before the step (TF32 cut
        or rounded; Triton's 3xTF32 split).
    """

    block_size: int = 32
    frac_bits: int = 13
    align: str = "operands"
    term_rounding: str = "toward_zero"
    acc_rounding: str = "toward_zero"
    acc_in_max: bool = True
    sum_frac_bits: int | None = None
    sum_bits: int | None = 14
    sum_rounding: str = "toward_zero"
    sum_emax: int | None = None
    sum_emin: int | None = None
    nan_bits: int = 0x7FC00000
    nan_bits16: int | None = None
    input_rounding: str = "none"
    operand_split: str | None = None


@dataclass(frozen=True)
class Schedule:
    """How a kernel walks K for each output: the order K meets the steps and how partial sums
    are combined — a library's choice, often per shape.

    Fields:
      promote_every, promote_chunk: the chain is added into a float32 accumulator and restarted
        every ``promote_every`` elements of K and at the end of every ``promote_chunk`` (cuBLASLt
        FP8 slow accumulation: 128; Triton ``max_num_imprecise_acc`` and BLOCK_K).
      split_k, split_granule, split_slices: split-K slices (equal slices of whole granules, or
        explicit lengths), each its own chain (cuBLAS splitK kernels, found by float32-boundary
        probes: a term below the chain's grid survives only across a slice boundary).
      split_tree, split_reduce: how the slices' results are added — in order or as a tree, in
        float32 or float16 (splitKreduce_kernel; found by float32 associativity probes).
      split_interleave: the split_k slices take K's granules round-robin instead of contiguous
        runs (cuBLAS's sm80 xmma FFMA split-K kernels: k-tiles of 8).
      split_lanes, lane_run: each slice dealt to threads in runs, the threads' chains added by a
        shuffle-down tree (cuBLAS's gemvx GEMV kernels).
      k_tile: the mainloop's k-tile whose partial tile each slice runs first (CUTLASS 2.x).
      interleave_group, interleave_run: the order K's elements meet the steps (mma.sync under
        Triton's FP8 layout: 32, 2).
      for_k, tiles, for_mn: the shape the schedule was found for, and per-output-tile variants
        (cuBLAS stream-K tiles).
    """

    promote_every: int | None = None
    promote_chunk: int | None = None
    split_k: int = 1
    split_granule: int = 128
    split_slices: tuple | None = None
    split_tree: tuple | None = None
    split_reduce: str = "float32"
    for_k: int | None = None
    tiles: tuple | None = None
    for_mn: tuple | None = None
    k_tile: int | None = None
    interleave_group: int | None = None
    interleave_run: int = 1
    split_interleave: bool = False
    split_lanes: int = 1
    lane_run: int = 1


UNIT_FIELDS = tuple(f.name for f in dataclasses.fields(Unit))
SCHEDULE_FIELDS = tuple(f.name for f in dataclasses.fields(Schedule))


@dataclass(frozen=True, repr=False)
class Exact:
    """The exact sum of the exact products, rounded once to float32 (nearest even).

    ``formats``: the operand formats a preset built on it covers (None: any format of at
    most 16 bits); ``preset``: the preset's name (a label, for messages).
    """

    formats: tuple | None = None
    preset: str | None = dataclasses.field(default=None, compare=False)
    kind: str = dataclasses.field(default="exact", init=False)

    def __post_init__(self):
        _check_formats("exact", self.formats)

    __repr__ = _repr


@dataclass(frozen=True, repr=False)
class IEEE:
    """IEEE addition in ``format`` (round to nearest even) in the stated ``order``."""

    order: str = "sequential"
    chunk: int | None = None
    format: str = "float32"
    kind: str = dataclasses.field(default="ieee", init=False)

    def __post_init__(self):
        _check_choice("ieee", "order", self.order, ORDERS)
        _check_choice("ieee", "format", self.format, tuple(IEEE_FORMATS))
        if self.order == "chunked":
            _check_int("ieee", "chunk", self.chunk, 1)
        elif self.chunk is not None:
            raise ValueError(f"ieee: chunk={self.chunk!r} is only allowed with order='chunked'")

    __repr__ = _repr


@dataclass(frozen=True, repr=False)
class FusedBlock:
    """The fused multi-term adder of a tensor core, chained along K (see module docstring).

    Args:
      block_size: products per block (one hardware step).
      frac_bits: F: terms are rounded to multiples of 2^(E − F), E the block's largest
        alignment exponent.
      align: ``"operands"``: a product's alignment exponent is the sum of its operands'
        exponents (a subnormal counts with its format's emin); ``"product"``: the exponent
        of the exact product's value.
      term_rounding / acc_rounding: rounding of each product / of the incoming chain
        accumulator to the grid: one of :data:`ROUNDINGS` (``toward_zero`` truncates the
        magnitude; ``down`` truncates a two's-complement value; ``odd`` truncates the
        magnitude and sets the last bit if anything was dropped — a sticky bit).
      acc_in_max: the incoming accumulator's exponent takes part in E (the only setting
        the int64 datapath supports: it bounds every aligned term below 2^(F+2)).
      sum_frac_bits: the exact block sum is rounded (``sum_rounding``) to a multiple of
        2^(E − sum_frac_bits), E the block's alignment exponent (None: no such step).
      sum_bits: significant bits the block sum keeps (None: all).
      sum_rounding: how the sum is cut to ``sum_bits``.
      sum_emax / sum_emin: the exponent range of the chain's own format (with ``sum_bits``
        its precision): a cut sum of magnitude >= 2^(sum_emax+1) is ±Inf from then on
        (IEEE 754 §7.4 overflow after rounding; a later opposite Inf gives NaN), and the sum
        is never kept finer than 2^(sum_emin − sum_bits + 1), the format's subnormal spacing
        (one rounding with the ``sum_bits`` cut).  None: unbounded (the final float32
        conversion still overflows to ±Inf).
      promote_every: the chain is added into a separate float32 accumulator (IEEE add,
        nearest even) and restarted every this many elements of K (None: never; the
        chain's final value is rounded to float32, nearest even).
      promote_chunk: additionally promote at the end of every chunk of this many elements
        of K, restarting the count (Triton's BLOCK_K); only with ``promote_every``.
      split_k: K is cut into this many contiguous slices, each a whole number of
        ``split_granule`` elements (ceil(ceil(K/granule)/split_k) granules each, the last
        slice shorter); each slice is accumulated on its own as above and the slices' float32
        results are added in slice order (IEEE float32 add, nearest even): a split-K GEMM.
      split_interleave: with ``split_k``, the slices take K's ``split_granule``-element granules
        round-robin — slice z the granules z, z + split_k, z + 2·split_k, … in that order —
        instead of contiguous runs (cuBLAS 13's ``sm80_xmma_gemm_f32f32_…_ffma`` split-K
        kernels, grid z CTAs over k-tiles of 8; found on the H200's recorded outputs,
        vectors/hardware/h100/sweep).
      split_lanes, lane_run: each split-K slice (or all of K) of length L is dealt to
        ``split_lanes`` lanes (threads; a power of two) in runs of min(lane_run, ceil(L /
        split_lanes)) consecutive elements, run r to lane r mod split_lanes; each lane is a chain
        over its elements in order, and a slice's lanes are added by a shuffle-down tree (for s =
        lanes/2, …, 1: lane i += lane i + s; IEEE float32, nearest even), the slices then as
        below — the warp reduction of cuBLAS 13's ``internal::gemvx::kernel`` (thread y of a
        (x, lanes) block, lane_run 1 or 64; found on the H200's recorded outputs,
        vectors/hardware/h100/sweep).
      split_slices: explicit split-K slice lengths (a tuple summing to K, which lowbit.matmul
        checks) instead of ``split_k`` equal slices — a kernel that cuts K unevenly.
      split_tree: the order the slices' results are added in: None (slice order, left to
        right) or a nested pair tuple of slice indices, each index once — e.g. ``((0, 1),
        (2, 3))`` adds 0+1 and 2+3, then their sums (a tree reduction).  Needs
        ``split_slices``.
      for_k: the K this setting was built for (a cuBLAS preset's K order is per shape);
        lowbit.matmul refuses operands of another K (None: any K).
      tiles: per-tile settings of a kernel that treats some output tiles differently (cuBLAS's
        stream-K): a tuple of (row0, row1, col0, col1, FusedBlock) — outputs C[row0:row1,
        col0:col1] use that setting, the rest this one; needs ``for_mn``.
      for_mn: the (M, N) of the GEMM the ``tiles`` belong to; lowbit.matmul then needs the
        full M×N operands (it cannot place tiles in a part of C).
      split_reduce: the format the split-K slices' results are added in: ``"float32"`` or
        ``"float16"`` (cuBLAS's splitKreduce_kernel of a float16-accumulating GEMM: each
        slice's result rounded to float16), IEEE add, nearest even, in slice order;
        ``"bfloat16-partials"`` / ``"float16-partials"`` (cuBLAS's reduced-precision reduction:
        each slice's float32 result stored in that format, nearest even, the stored partials
        added in float32 in order).
      k_tile: the kernel mainloop's k-tile, partial tile first (CUTLASS 2.x): each split-K
        slice of length l begins with steps over its first l mod k_tile elements (the last
        of them short), then steps of ``block_size`` (None: steps of ``block_size`` from the
        slice's start).
      interleave_group / interleave_run: the order in which K's elements meet the steps.
        None: in order (step s takes elements s·n … s·n+n−1).  Otherwise K is padded with
        zeros to a multiple of ``interleave_group`` and, within each group, runs of
        ``interleave_run`` consecutive elements are dealt in turn to the group's
        group/block_size steps (mma.sync m16n8k16 under Triton's FP8 layout: group 32, run
        2 — the first step takes k = 0,1,4,5,…, the second k = 2,3,6,7,…).
      nan_bits: the float32 bit pattern of a NaN result (0x7FC00000: IEEE's default quiet
        NaN; the H100 writes 0x7FFFFFFF).
      input_rounding: float32 operands are first cut to TF32 (10 fraction bits, float32's
        exponent range; NVIDIA TF32) by this rounding of their 13 low fraction bits:
        ``"none"`` keeps all 24 significant bits, ``"toward_zero"`` drops them (what the
        H100 tensor core does to float32 operands of Triton's tf32 ``tl.dot``),
        ``"nearest_even"`` / ``"nearest_away"`` round them off (a carry may raise the
        exponent, as IEEE rounding does).  Formats of at most 10 fraction bits are unchanged.
      operand_split: ``"tf32x3"``: float32 operands are split as Triton's 3xTF32
        (:func:`lowbit.mac.operands.tf32x3_operands`, one block of ``promote_every // 3``
        elements of K per ``tl.dot``) before the chain runs; None: operands as given.
      formats: the operand formats a preset covers (None: any); lowbit.matmul refuses others.
      nan_bits16: the 16-bit pattern of a NaN result written as float16 / bfloat16 (None:
        what the cast of the float32 NaN ``nan_bits`` gives: numpy's float16 keeps the top
        payload bits, ml_dtypes' bfloat16 gives 0x7FC0).
      preset: the name of the preset that built it (a label for messages; not compared).
    """

    block_size: int = 32
    frac_bits: int = 13
    align: str = "operands"
    term_rounding: str = "toward_zero"
    acc_rounding: str = "toward_zero"
    acc_in_max: bool = True
    sum_frac_bits: int | None = None
    sum_bits: int | None = 14
    sum_rounding: str = "toward_zero"
    sum_emax: int | None = None
    sum_emin: int | None = None
    promote_every: int | None = None
    promote_chunk: int | None = None
    split_k: int = 1
    split_granule: int = 128
    split_slices: tuple | None = None
    split_tree: tuple | None = None
    split_reduce: str = "float32"
    for_k: int | None = None
    tiles: tuple | None = None
    for_mn: tuple | None = None
    k_tile: int | None = None
    interleave_group: int | None = None
    interleave_run: int = 1
    split_interleave: bool = False
    split_lanes: int = 1
    lane_run: int = 1
    nan_bits: int = 0x7FC00000
    input_rounding: str = "none"
    operand_split: str | None = None
    formats: tuple | None = None
    nan_bits16: int | None = None
    preset: str | None = dataclasses.field(default=None, compare=False)
    kind: str = dataclasses.field(default="fused-block", init=False)

    __repr__ = _repr

    @classmethod
    def of(cls, unit: Unit, schedule: Schedule = Schedule(), *, formats: tuple | None = None,
           preset: str | None = None) -> "FusedBlock":
        """The accumulator that runs ``unit``'s step under ``schedule`` (a preset is a unit plus a
        schedule); ``formats`` and ``preset`` label it."""
        return cls(**dataclasses.asdict(unit), **{f: getattr(schedule, f) for f in SCHEDULE_FIELDS},
                   formats=formats, preset=preset)

    @property
    def unit(self) -> Unit:
        """What one step computes (:class:`Unit`)."""
        return Unit(**{f: getattr(self, f) for f in UNIT_FIELDS})

    @property
    def schedule(self) -> Schedule:
        """How K is walked (:class:`Schedule`)."""
        return Schedule(**{f: getattr(self, f) for f in SCHEDULE_FIELDS})

    def __post_init__(self):
        k = "fused-block"
        _check_int(k, "block_size", self.block_size, 1, 1 << 20)
        # int64 headroom: terms < 2^(F+2), block_size+1 of them (see kernels.fused_block_matmul)
        fmax = 60 - max(1, (self.block_size + 1).bit_length())
        _check_int(k, "frac_bits", self.frac_bits, 0, fmax)
        _check_choice(k, "align", self.align, ALIGN)
        if self.acc_in_max is not True:
            raise ValueError(f"{k}: acc_in_max={self.acc_in_max!r} is not supported; allowed: True")
        for name in ("term_rounding", "acc_rounding", "sum_rounding"):
            _check_choice(k, name, getattr(self, name), ROUNDINGS)
        _check_int(k, "sum_frac_bits", self.sum_frac_bits, 0, 62, none_ok=True)
        _check_int(k, "sum_bits", self.sum_bits, 1, 62, none_ok=True)
        _check_int(k, "sum_emax", self.sum_emax, 0, 1 << 20, none_ok=True)
        _check_int(k, "sum_emin", self.sum_emin, -(1 << 20), 0, none_ok=True)
        if self.sum_emin is not None and self.sum_bits is None:
            raise ValueError(f"{k}: sum_emin={self.sum_emin} needs sum_bits (the subnormal spacing is "
                             "2^(sum_emin - sum_bits + 1))")
        _check_int(k, "promote_every", self.promote_every, 1, none_ok=True)
        _check_int(k, "promote_chunk", self.promote_chunk, 1, none_ok=True)
        _check_int(k, "split_k", self.split_k, 1)
        _check_int(k, "split_granule", self.split_granule, 1)
        _check_int(k, "nan_bits", self.nan_bits, 0, 0xFFFFFFFF)
        _check_choice(k, "split_reduce", self.split_reduce, ("float32", "float16", "float16-partials",
                                                              "bfloat16-partials"))
        _check_int(k, "for_k", self.for_k, 1, none_ok=True)
        if self.tiles is not None:
            if self.for_mn is None:
                raise ValueError(f"{k}: tiles need for_mn (the GEMM's M, N)")
            for t in self.tiles:
                if (not isinstance(t, tuple) or len(t) != 5 or not isinstance(t[4], FusedBlock)
                        or not all(isinstance(x, int) and 0 <= x for x in t[:4]) or t[0] >= t[1] or t[2] >= t[3]):
                    raise ValueError(f"{k}: tile {t!r} is not allowed; allowed: (row0, row1, col0, col1, FusedBlock) "
                                     "with row0 < row1, col0 < col1")
        if self.for_mn is not None and (not isinstance(self.for_mn, tuple) or len(self.for_mn) != 2):
            raise ValueError(f"{k}: for_mn={self.for_mn!r} is not allowed; allowed: (M, N)")
        if self.split_slices is not None:
            sl = self.split_slices
            if (not isinstance(sl, tuple) or not sl
                    or not all(isinstance(x, int) and not isinstance(x, bool) and x >= 1 for x in sl)):
                raise ValueError(f"{k}: split_slices={sl!r} is not allowed; allowed: a non-empty tuple of ints >= 1")
            if self.split_k != 1:
                raise ValueError(f"{k}: split_slices and split_k={self.split_k} both cut K; give one")
        if not isinstance(self.split_interleave, bool):
            raise ValueError(f"{k}: split_interleave={self.split_interleave!r} is not allowed; allowed: True, False")
        if self.split_interleave and self.split_slices is not None:
            raise ValueError(f"{k}: split_interleave deals granules to split_k slices; it cannot take split_slices")
        for name in ("split_lanes", "lane_run"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1 or name == "split_lanes" and v & (v - 1):
                raise ValueError(f"{k}: {name}={v!r} is not allowed; allowed: "
                                 + ("a power of two >= 1" if name == "split_lanes" else "an int >= 1"))
        if self.split_lanes > 1 and self.split_interleave:
            raise ValueError(f"{k}: split_lanes deals each contiguous slice to lanes; it cannot take split_interleave")
        if self.split_tree is not None:
            if self.split_slices is None:
                raise ValueError(f"{k}: split_tree needs split_slices")
            leaves = _tree_leaves(self.split_tree, k)
            if sorted(leaves) != list(range(len(self.split_slices))):
                raise ValueError(f"{k}: split_tree={self.split_tree!r} must name each slice index "
                                 f"0..{len(self.split_slices) - 1} exactly once")
        _check_int(k, "k_tile", self.k_tile, 1, none_ok=True)
        if self.k_tile is not None and (self.promote_every is not None or self.interleave_group is not None):
            raise ValueError(f"{k}: k_tile={self.k_tile} combines with neither promote_every nor interleave_group")
        _check_int(k, "interleave_group", self.interleave_group, 1, none_ok=True)
        _check_int(k, "interleave_run", self.interleave_run, 1)
        if self.interleave_group is not None:
            g, r, n = self.interleave_group, self.interleave_run, self.block_size
            if g % n or g % r or (g // r) % (g // n):
                raise ValueError(
                    f"{k}: interleave_group={g} must be a multiple of block_size={n} and of "
                    f"interleave_run={r}, with group/run runs dealable evenly to group/block_size steps"
                )
            if self.promote_every is not None and self.promote_every % g:
                raise ValueError(f"{k}: promote_every={self.promote_every} must be a multiple of interleave_group={g}")
        if (self.nan_bits >> 23) & 0xFF != 0xFF or not self.nan_bits & 0x7FFFFF:
            raise ValueError(f"{k}: nan_bits={self.nan_bits:#x} is not a float32 NaN pattern")
        _check_choice(k, "input_rounding", self.input_rounding, INPUT_ROUNDINGS)
        _check_choice(k, "operand_split", self.operand_split, OPERAND_SPLITS)
        if self.operand_split == "tf32x3" and (self.promote_every is None or self.promote_every % 3):
            raise ValueError(f"{k}: operand_split='tf32x3' needs promote_every = 3 x (elements of K per tl.dot), "
                             f"got promote_every={self.promote_every!r}")
        _check_formats(k, self.formats)
        _check_int(k, "nan_bits16", self.nan_bits16, 0, 0xFFFF, none_ok=True)
        if self.promote_chunk is not None and self.promote_every is None:
            raise ValueError(f"{k}: promote_chunk={self.promote_chunk} needs promote_every")
        for name in ("promote_every", "promote_chunk"):
            v = getattr(self, name)
            if v is not None and v % self.block_size:
                raise ValueError(
                    f"{k}: {name}={v} must be a multiple of block_size={self.block_size} "
                    "(the chain can only be promoted between blocks)"
                )


class UnrecordedShape(ValueError):
    """A shape-dependent preset was asked for a GEMM shape whose schedule lowbit has no record
    of (neither a recorded table nor a calibration): the message names what to pass instead."""


@dataclass(frozen=True, repr=False)
class ByShape:
    """A preset whose K order the library picks per GEMM shape, not fixed yet.

    cuBLAS and cuBLASLt choose a kernel (and with it split-K slices, the k-tile the mainloop
    starts with, stream-K tiles) from M, N and K.  A cuBLAS preset built without a shape and
    without explicit schedule knobs is this placeholder: :func:`lowbit.matmul` fixes it with
    :meth:`for_shape` from the operands' M, N, K (or the ``M=, N=, K=`` it is given for
    partial operands) — never by silently running one chain over K.

    ``preset``: the preset's name; ``params``: its other parameters, as sorted (name, value)
    pairs; ``formats``: the operand formats the preset covers.
    """

    preset: str
    params: tuple = ()
    formats: tuple | None = None
    kind: str = dataclasses.field(default="by-shape", init=False)

    def for_shape(self, M: int, N: int, K: int, out: str = "float32"):
        """The preset's accumulator for the GEMM M×K · K×N with output ``out`` (cuBLAS picks
        its kernel by both; raises ValueError where the shape's schedule is not known, naming
        what to pass instead).  An empty GEMM (M, N or K zero) has no sums to order: every
        output is the accumulator's starting +0, as ``exact``."""
        from .registry import for_shape

        if 0 in (M, N, K):
            return Exact(formats=self.formats, preset=self.preset)
        return for_shape(self.preset, dict(self.params), int(M), int(N), int(K), out=out)

    def __repr__(self):
        extra = "".join(f", {k}={v!r}" for k, v in self.params)
        return f"ByShape({self.preset!r}{extra})"


def by_shape(preset: str, formats: tuple, **params) -> ByShape:
    """The :class:`ByShape` placeholder of ``preset`` (covering operand ``formats``) with these
    parameters (defaults dropped by the caller)."""
    return ByShape(preset, tuple(sorted(params.items())), formats)


# ------------------------------------------------------------------------------------
# Presets: settings of fused-block
# ------------------------------------------------------------------------------------
H100_FP8_FORMATS = ("float8_e4m3fn", "float8_e5m2")
# The FP8 wgmma step of the H100 (shared/hardware/h100/README.md, probes/): 32 products,
# operand-exponent alignment, 2^(E−13) grid, truncation toward zero, 14-bit sums, NaN 0x7FFFFFFF.
H100_FP8_UNIT = Unit(block_size=32, frac_bits=13, align="operands", term_rounding="toward_zero",
                     acc_rounding="toward_zero", sum_bits=14, sum_rounding="toward_zero", nan_bits=0x7FFFFFFF)


# cuBLASLt's split-K for torch._scaled_mm on the H100, per recorded (M, N, K, fast_accum)
# (vectors/hardware/h100/probes/splitk.json, paths/, gemm.npz): split at K = 16384 with
# fast_accum only; every other recorded shape unsplit.
H100_FP8_CUBLASLT_SPLIT = {(m, n, k, f): 1 for (m, n) in ((16, 16), (32, 32), (64, 64), (128, 128), (256, 256),
                                                           (16, 1024), (1024, 16))
                           for k in (1024, 4096, 16384) for f in (False, True)}
H100_FP8_CUBLASLT_SPLIT.update({(m, n, 16384, True): s for (m, n), s in {
    (16, 16): 6, (32, 32): 6, (64, 64): 6, (128, 128): 6, (256, 256): 2, (16, 1024): 5, (1024, 16): 5}.items()})
H100_FP8_CUBLASLT_SPLIT.update({(64, 64, k, f): 1 for k in (16, 32, 64, 128, 256, 1000) for f in (False, True)})
H100_FP8_CUBLASLT_SPLIT.update({(m, m, k, f): 1 for (m, k) in ((1024, 1024), (1024, 4096), (2048, 4096))
                                for f in (False, True)})


def h100_fp8(fast_accum: bool = False, split_k: int | None = None, M: int | None = None, N: int | None = None,
             K: int | None = None) -> "FusedBlock | ByShape":
    """``torch._scaled_mm`` (cuBLASLt) on an NVIDIA H100 with FP8 operands, float32 accumulation.

    Rule (``shared/hardware/h100/README.md``, read from recorded GEMMs, confirmed by the
    probes): steps of 32 products from k = 0 (the last step short when 32 does not divide
    K); E = the largest operand-exponent sum e_a + e_b among the step's non-zero products (a
    subnormal operand counts with its format's emin) and the incoming accumulator's
    exponent; every product and the accumulator truncated toward zero on the magnitude (for
    negative terms too) to a multiple of 2^(E−13); the exact sum truncated toward zero to 14
    significant bits.  ``fast_accum=True`` chains the steps over all of K;
    ``fast_accum=False`` restarts the chain every 128 elements of K and adds each partial
    into a float32 accumulator (IEEE add, nearest even).  ``split_k=S``: K cut into S
    contiguous slices of whole 128-element tiles, each accumulated as above, the float32
    partials added in slice order — cuBLASLt picks this by shape: ``M, N, K`` (a recorded
    shape, ``H100_FP8_CUBLASLT_SPLIT``; any shape with K <= 128, one granule) look it up.
    With neither ``split_k`` nor a shape the preset is a :class:`ByShape` that
    :func:`lowbit.matmul` fixes from the operands' shape (or its ``M=, N=, K=``).
    :func:`lowbit.matmul` then multiplies by fl32(scale_a·scale_b) (nearest even) and rounds
    to bfloat16 when asked.  Specials: a NaN operand, Inf·0 or +Inf−Inf give NaN with bits
    0x7FFFFFFF; Inf·finite gives the signed infinity; a zero result is +0 (also −0·−0).

    Known to hold, every output bit (H100 80GB HBM3, driver 580.159.04, torch
    2.11.0+cu130; ``vectors/hardware/h100/gemm*`` and ``probes/``):

    - the 32 ``scaled_mm`` cases of gemm.npz: 64×64, K ∈ {16, 32, 64, 128}, e4m3×e4m3,
      every-finite-code and Gaussian operands, scales (1, 1) and (0.75, 0.125);
    - every single product of e4m3×e4m3, e4m3×e5m2, e5m2×e4m3 (NaN, ±Inf, ±0, subnormals);
      two-term dots over any finite codes; one large and 31 small mixed-sign terms;
      two-step dots (small/large blocks); 60 % subnormal operands; NaN/Inf/±0 mixed in;
    - K ∈ {256, 1024, 4096, 16384} for both fast_accum settings (64×64, 128×128, 16×16
      outputs), a 2048×2048×4096 product (64×64 outputs incl. tile edges, not split),
      K ∈ {16, 48, 80, 144, 208}, e4m3×e5m2 and e5m2×e4m3 at K = 256;
    - scales (2^120, 2^−120), (2^64, 2^64) → ±Inf, (2^−70, 2^−70) → 0, (0.1, 0.7), (1/3, 3),
      (1.7, 1e−3), (3e38, 1); bfloat16 output with scales (1, 1), (0.75, 0.125), (0.1, 0.7);
    - split-K, fast_accum=True, K = 16384 (8×8 outputs of each): ``split_k=6`` for M = N ∈
      {16, 32, 64, 128}, 2 for 256×256, 5 for 16×1024 and 1024×16; unsplit (1) at K ≤ 4096
      for these shapes and with fast_accum=False everywhere probed.

    Not covered: e5m2×e5m2 (cuBLASLt refuses it); other split-K shapes (cuBLASLt's heuristic
    is not modelled: pass ``split_k`` when known); NaN bits of bfloat16 output; other GPUs,
    drivers or library versions.
    """
    if not isinstance(fast_accum, bool):
        raise TypeError(f"h100-fp8: fast_accum must be True or False, got {fast_accum!r}")
    if not (M is None and N is None and K is None):
        if split_k is not None or None in (M, N, K):
            raise ValueError("h100-fp8: M, N, K look up cuBLASLt's split-K for a recorded shape; give all three "
                             "and no split_k")
        for knob, v in (("M", M), ("N", N), ("K", K)):
            _check_int("h100-fp8", knob, v, 1)
        key = (M, N, K, fast_accum)
        if K <= 128:
            # one 128-element split granule: every split-K cut is a single slice
            return dataclasses.replace(h100_fp8(fast_accum, 1), for_k=K)
        if key not in H100_FP8_CUBLASLT_SPLIT:
            raise UnrecordedShape(f"h100-fp8: shape M={M}, N={N}, K={K} with fast_accum={fast_accum} was not recorded "
                                  f"(cuBLASLt's split-K is per shape); recorded (M, N, K, fast_accum): "
                                  f"{sorted(H100_FP8_CUBLASLT_SPLIT)}; or pass split_k= (1: one chain over K)")
        return dataclasses.replace(h100_fp8(fast_accum, H100_FP8_CUBLASLT_SPLIT[key]), for_k=K)
    if split_k is None:
        return by_shape("h100-fp8", H100_FP8_FORMATS, **({"fast_accum": True} if fast_accum else {}))
    return FusedBlock.of(H100_FP8_UNIT, Schedule(promote_every=None if fast_accum else 128, split_k=split_k,
                                                 split_granule=128),
                         formats=H100_FP8_FORMATS, preset="h100-fp8")


def h100_fp8_triton(block_k: int = 32, max_num_imprecise_acc: int | None = None) -> FusedBlock:
    """Triton ``tl.dot(a, b, acc, max_num_imprecise_acc=X)`` over K in steps of ``block_k`` on an H100.

    The tensor-core step is the one of :func:`h100_fp8` (32 products, 2^(E−13) grid,
    truncation toward zero, 14 significant bits, NaN bits 0x7FFFFFFF).  Without X (None,
    or −1) the wgmma chain runs over all of K.  With 32 <= X <= block_k, Triton's WGMMA
    lowering (``needsPartialAccumulator``: FP8 operands, float32 accumulator,
    X <= BLOCK_K) keeps a separate partial chain and adds it into the float32 accumulator
    (IEEE add) once X products (counted in wgmma steps of 32) have been accumulated and at
    the end of every ``tl.dot``, i.e. every ``block_k``.  X > block_k is refused by Triton.
    X < 32 (0 included) makes Triton fall back to mma.sync on float16-converted operands: the
    preset is then :func:`h100_mma_sync_f16` (X = 16 and X = 0 give identical bits).

    Known to hold, every output bit (Triton 3.6.0, H100 80GB HBM3): the 12 ``triton_dot``
    cases of gemm.npz with X None or 32 (64×64, K = BLOCK_K = 32, e4m3×e4m3, e5m2×e5m2,
    e4m3×e5m2, every-code and Gaussian operands) and the probes at K = 256 (e4m3×e4m3,
    Gaussian and every-code operands) with (block_k, X) = (32, None), (64, None), (32, 32),
    (64, 32), (64, 64), (128, 64), (128, 96).
    """
    _check_int("h100-fp8-triton", "block_k", block_k, 32)
    if block_k % 32:
        raise ValueError(f"h100-fp8-triton: block_k={block_k} must be a multiple of 32 (one FP8 wgmma step)")
    if max_num_imprecise_acc is None or max_num_imprecise_acc == -1:
        return dataclasses.replace(h100_fp8(fast_accum=True, split_k=1), preset="h100-fp8-triton")
    _check_int("h100-fp8-triton", "max_num_imprecise_acc", max_num_imprecise_acc, 0, block_k, none_ok=True)
    if max_num_imprecise_acc < 32:
        return h100_mma_sync_f16()
    every = -(-max_num_imprecise_acc // 32) * 32  # Triton counts whole wgmma steps of 32
    return dataclasses.replace(h100_fp8(fast_accum=True, split_k=1), promote_every=every, promote_chunk=block_k,
                               preset="h100-fp8-triton")


def h100_mma_sync_f16() -> FusedBlock:
    """The path Triton takes for FP8 ``tl.dot`` with ``max_num_imprecise_acc < 32`` on an H100.

    Triton's AccelerateMatmul refuses wgmma (MMAv3) for FP8 with a float32 accumulator when
    fewer than 32 imprecise accumulations are allowed, and falls back to MMAv2: the PTX
    (``vectors/hardware/h100/probes/ptx_imp0_up0.txt``) converts FP8 pairs to float16
    exactly (``cvt.rn.f16x2.e4m3x2``) and chains ``mma.sync.aligned.m16n8k16 .f32.f16.f16.f32``
    along K.  Rule found from the probes: steps of 16 products, each step taking, within every
    32 elements of K, the runs of 2 dealt to it (k = 0,1,4,5,… then 2,3,6,7,…: Triton's FP8
    operand layout); E = max operand-exponent sum and accumulator exponent; products and
    accumulator truncated toward zero to 2^(E−25); sum truncated toward zero to 24 significant
    bits; chained over all of K (no promotion); NaN bits 0x7FFFFFFF.

    Known to hold, every output bit (Triton 3.6.0, H100 80GB HBM3): the 6 gemm.npz cases with
    max_num_imprecise_acc=0 (64×64, K = BLOCK_K = 32; e4m3×e4m3, e5m2×e5m2, e4m3×e5m2;
    every-code and Gaussian operands), the IMP=0 re-recordings and crafted dots of
    ``probes/`` (every single product, two-term, one large + 31 small, dense random codes),
    and K = 256 with BLOCK_K = 64 for IMP 0 and 16.
    """
    return FusedBlock(block_size=16, frac_bits=25, align="operands", term_rounding="toward_zero",
                      acc_rounding="toward_zero", acc_in_max=True, sum_bits=24, sum_rounding="toward_zero",
                      interleave_group=32, interleave_run=2, nan_bits=0x7FFFFFFF, formats=H100_FP8_FORMATS,
                      preset="h100-fp8-triton")


Accumulator = Exact | IEEE | FusedBlock | ByShape
