"""H100 matrix-multiply paths beyond FP8: presets as settings of the ``fused-block`` accumulator.

Each preset below is a :class:`lowbit.mac.FusedBlock` (or :class:`lowbit.mac.Exact`) whose
knobs were read from GEMMs recorded on an NVIDIA H100 80GB HBM3 (driver 580.159.04, torch
2.11.0+cu130, Triton 3.6.0, CuPy 14.2.0 / cuBLAS of CUDA 13.0).  The probe script, the
recorded bits and the fitting analysis are in ``vectors/hardware/h100/paths/`` (README there
lists every case and which preset reproduces it).

The tensor-core step shared by the FP16, BF16 and TF32 paths (16-bit-class inputs, float32
accumulator) — in the notation of Khattak & Mikaitis, "Accurate Models of NVIDIA Tensor
Cores" (2025):

* a step takes ``block_size`` products along K (16 for FP16/BF16, 8 for TF32); products
  are exact;
* E = the largest operand-exponent sum e_a + e_b among the step's non-zero products (a
  subnormal operand counts with its format's emin) and the incoming accumulator's exponent;
* every product and the incoming accumulator are truncated toward zero (on the magnitude)
  to a multiple of 2^(E − 25); the truncated terms are added exactly;
* the sum is truncated toward zero to 24 significant bits (a float32 significand) and is
  the new accumulator; steps chain over all of K in order; the float32 accumulator is the
  output (a NaN result has the bits 0x7FFFFFFF); float16 / bfloat16 outputs are that float32
  rounded to nearest even.

``float32`` operands (TF32 and IEEE paths) are given to :func:`lowbit.matmul` as uint32 bit
patterns with format ``"float32"``; the preset's ``input_rounding`` cuts them to TF32 (Triton
tf32: the 13 low fraction bits dropped, as the hardware does) and ``operand_split="tf32x3"``
splits them as Triton's 3xTF32.  Each preset names the operand formats it covers
(``formats``): lowbit.matmul refuses others.  float16 / bfloat16 output
(``out_dtype``) writes a NaN as 0x7FFF (``nan_bits16``, recorded).

cuBLAS TF32 (``h100-tf32``) and cuBLAS FP16 accumulation (``h100-fp16`` with
``acc="float16"``) run the same kind of step on the Ampere-style ``mma.sync`` instruction,
probed one instruction at a time (vectors/hardware/h100/mma/); their K order (split-K
slices, partial k-tile first) is cuBLAS's choice per shape, recorded in
``H100_TF32_CUBLAS`` / ``H100_FP16ACC_CUBLAS``.
"""

from __future__ import annotations

import dataclasses

from .accumulators import ByShape, Exact, FusedBlock, Schedule, Unit, UnrecordedShape, by_shape

H100_NAN_BITS = 0x7FFFFFFF
LIBRARIES = ("cublas", "triton")


H100_NAN_BITS16 = 0x7FFF  # recorded: float16 and bfloat16 outputs of torch.matmul / Triton


def _tensor_core(block_size: int, fmt: str, preset: str, sum_bits: int = 24,
                 sum_rounding: str = "toward_zero", sum_emax: int | None = None,
                 sum_emin: int | None = None) -> FusedBlock:
    if sum_bits == 24 and sum_emax is None and sum_emin is None:
        # a float32 chain: overflow is ±Inf and stays so, the sum is cut to float32's subnormal
        # grid (recorded: paths/probe_overflow.py on wgmma, mma/ on mma.sync)
        sum_emax, sum_emin = 127, -126
    unit = Unit(block_size=block_size, frac_bits=25, align="operands", term_rounding="toward_zero",
                acc_rounding="toward_zero", sum_bits=sum_bits, sum_rounding=sum_rounding, sum_emax=sum_emax,
                sum_emin=sum_emin, nan_bits=H100_NAN_BITS, nan_bits16=H100_NAN_BITS16)
    return FusedBlock.of(unit, Schedule(), formats=(fmt,), preset=preset)  # one chain over K


def _split(acc: FusedBlock, name: str, library: str, split_k: int) -> FusedBlock:
    """cuBLAS split-K: K cut into ``split_k`` slices of whole 128-element granules, each slice a
    chain of its own, the slices' float32 results added in order (IEEE, nearest even)."""
    if split_k != 1 and library != "cublas":
        raise ValueError(f"{name}: split_k={split_k!r} is a cuBLAS kernel choice; allowed with library='cublas' only")
    if isinstance(split_k, bool) or not isinstance(split_k, int) or split_k < 1:
        raise ValueError(f"{name}: split_k={split_k!r} is not allowed; allowed: an int >= 1")
    return dataclasses.replace(acc, split_k=split_k, split_granule=128)


def _rpr(flag) -> dict:
    """``reduced_precision_reduction`` as a ByShape parameter (dropped at torch's default, True)."""
    if not isinstance(flag, bool):
        raise TypeError(f"reduced_precision_reduction must be True or False, got {flag!r}")
    return {} if flag else {"reduced_precision_reduction": False}


def _check_library(name, library):
    if library not in LIBRARIES:
        raise ValueError(f"{name}: library={library!r} is not allowed; allowed: {', '.join(map(repr, LIBRARIES))}")


def h100_fp16(library: str = "cublas", split_k: int | None = None, acc: str = "float32", M: int | None = None,
              N: int | None = None, K: int | None = None, slice_k: int | None = None,
              k_tile: int | None = None, reduced_precision_reduction: bool = True) -> FusedBlock | ByShape:
    """FP16 × FP16 with a float32 accumulator on an H100: cuBLAS (``torch.matmul``,
    ``torch.mm(..., out_dtype=torch.float32)``, ``cublasGemmEx`` with CUBLAS_COMPUTE_32F) and
    Triton ``tl.dot`` with a float32 accumulator.

    Rule: steps of 16 exact products; E = max(e_a + e_b, accumulator exponent); products and
    accumulator truncated toward zero to multiples of 2^(E−25); exact sum truncated toward zero
    to 24 significant bits; chained over K.  float16 output (``torch.matmul`` on float16, with
    ``allow_fp16_reduced_precision_reduction`` on or off) is the float32 result rounded to
    nearest even.

    Known to hold (every output bit; vectors/hardware/h100/paths): 64×64 outputs with K ∈
    {16, 32, 64, 128, 256, 1000}, 1024×1024 products with K ∈ {1024, 4096} (16×16 outputs
    saved), Triton also 64×64×4096, every-finite-code / Gaussian / heavy-tailed operands,
    crafted probes (one large and many tiny terms, cancellation, subnormal and tiny products,
    ±0, Inf, NaN, Inf−Inf, Inf·0).

    cuBLAS chooses its kernel by shape: for a 64×64×4096 product it runs a split-K kernel
    (``nvjet_sm90_hss_64x32_64x16_1x2_h_bz_splitK_NNT`` + ``splitKreduce_kernel``, seen with
    torch.profiler): ``split_k=3`` reproduces it (slices of 11·128 = 1408, 1408 and 1280
    elements of K, each chained from 0, the three float32 partials added in order), fitted on
    ``torch.mm(out_dtype=float32)`` and checked on ``cublasGemmEx`` and the float16-output
    ``torch.matmul`` cases.  Which shapes make cuBLAS split K (and into how many slices) is
    cuBLAS's heuristic: recorded split_k=1 for 64×64 with K ≤ 1000 and 1024×1024 with K ∈
    {1024, 4096}; other shapes are not known.  ``M, N, K`` (a recorded shape, in
    ``H100_F16_CUBLAS_SPLIT``) look the split up instead of ``split_k``; with neither (cuBLAS)
    the preset is a :class:`lowbit.mac.accumulators.ByShape` that :func:`lowbit.matmul` fixes
    from the operands' shape (``split_k=1`` states one chain over K yourself).

    Any other shape: the cuBLAS sweep rule recorded on an H200 (:mod:`lowbit.mac.cublas_rule`,
    docs/cublas.md), through :func:`lowbit.mac.accumulator` / :func:`lowbit.matmul`, which pass
    the output type (the kernel depends on it); ``reduced_precision_reduction`` (torch's
    ``allow_fp16_reduced_precision_reduction``, default True as in torch) picks, for float16
    output, the kernels that store each split-K slice in float16 before adding.

    ``acc="float16"``: cuBLAS with a float16 accumulator (``torch.backends.cuda.matmul.
    allow_fp16_accumulation``, ``cublasGemmEx`` with CUBLAS_COMPUTE_16F): see
    :func:`h100_fp16_acc16` (``M, N, K`` or ``slice_k, k_tile`` choose its K order).
    """
    if acc == "float16":
        if library != "cublas" or split_k is not None:
            raise ValueError("h100-fp16: acc='float16' is cuBLAS's float16-accumulating GEMM; its split-K is "
                             "chosen by M, N, K or slice_k (allowed: library='cublas', no split_k); Triton's float16 "
                             "accumulator is 'h100-fp16-triton' with acc='float16'")
        return h100_fp16_acc16(M, N, K, slice_k, k_tile)
    if acc != "float32":
        raise ValueError(f"h100-fp16: acc={acc!r} is not allowed; allowed: 'float32', 'float16'")
    if slice_k is not None or k_tile is not None:
        raise ValueError("h100-fp16: slice_k and k_tile choose the K order of acc='float16' only; "
                         "with a float32 accumulator pass split_k, or M, N, K")
    _check_library("h100-fp16", library)
    if library == "cublas" and split_k is None and (M, N, K) == (None, None, None):
        return by_shape("h100-fp16", ("float16",), **_rpr(reduced_precision_reduction))
    split_k, K = _recorded_split("h100-fp16", library, split_k, M, N, K)
    return dataclasses.replace(_split(_tensor_core(16, "float16", "h100-fp16"), "h100-fp16", library, split_k),
                               for_k=K)


# cuBLAS FP16 / BF16 with a float32 accumulator: split_k per recorded shape (kernels.json:
# nvjet_sm90_h?s_..._splitK + splitKreduce_kernel at 64×64×4096, unsplit nvjet elsewhere)
H100_F16_CUBLAS_SPLIT = {(64, 64, k): 1 for k in (16, 32, 64, 128, 256, 1000)}
H100_F16_CUBLAS_SPLIT.update({(64, 64, 4096): 3, (1024, 1024, 1024): 1, (1024, 1024, 4096): 1,
                              (128, 128, 32): 1, (128, 128, 64): 1})  # 128²: the crafted cases, reproduced unsplit


def _recorded_split(name, library, split_k, M, N, K):
    """(split_k, K) from the GEMM's recorded shape M, N, K (cuBLAS), or split_k as given
    (None: 1, Triton's single chain)."""
    if M is None and N is None and K is None:
        return (1 if split_k is None else split_k), None
    if library != "cublas" or split_k is not None or None in (M, N, K):
        raise ValueError(f"{name}: M, N, K look up cuBLAS's split-K for a recorded shape; give all three, "
                         "with library='cublas' and no split_k")
    if (M, N, K) not in H100_F16_CUBLAS_SPLIT:
        raise UnrecordedShape(f"{name}: shape M={M}, N={N}, K={K} was not recorded (cuBLAS's split-K is per shape); "
                              f"recorded: {sorted(H100_F16_CUBLAS_SPLIT)}; or pass split_k=")
    return H100_F16_CUBLAS_SPLIT[(M, N, K)], K


def h100_bf16(library: str = "cublas", split_k: int | None = None, M: int | None = None, N: int | None = None,
              K: int | None = None, reduced_precision_reduction: bool = True) -> FusedBlock | ByShape:
    """BF16 × BF16 with a float32 accumulator on an H100 (cuBLAS and Triton ``tl.dot``).

    Same step as :func:`h100_fp16` (16 products, 2^(E−25) grid, truncation toward zero, 24
    significant bits).  bfloat16 output (``torch.matmul`` on bfloat16, with
    ``allow_bf16_reduced_precision_reduction`` on or off) is the float32 result rounded to
    nearest even — except that with it on (``reduced_precision_reduction=True``, torch's
    default) cuBLAS's split-K kernels store each slice's result in bfloat16 before adding
    (recorded: vectors/hardware/h100/sweep).  Any shape: as :func:`h100_fp16`.  Known to hold and not to hold: as :func:`h100_fp16` (same shapes, K and
    operand kinds, recorded for bfloat16; exponents of every-code operands spread over
    [−24, 24]; products below float32's subnormal range, float32 overflow of products and
    sums among the crafted probes).
    """
    _check_library("h100-bf16", library)
    if library == "cublas" and split_k is None and (M, N, K) == (None, None, None):
        return by_shape("h100-bf16", ("bfloat16",), **_rpr(reduced_precision_reduction))
    split_k, K = _recorded_split("h100-bf16", library, split_k, M, N, K)
    return dataclasses.replace(_split(_tensor_core(16, "bfloat16", "h100-bf16"), "h100-bf16", library, split_k),
                               for_k=K)


def h100_fp16_triton(block_k: int = 32, acc: str = "float32") -> FusedBlock:
    """Triton ``tl.dot`` on FP16 operands over K in steps of ``block_k``.

    ``acc="float32"``: as :func:`h100_fp16` (block_k 32 and 64 recorded; it does not change
    the result).  ``acc="float16"`` (``tl.dot(a, b, acc, out_dtype=tl.float16)``): the same
    16-product step, but the exact step sum is rounded to nearest even to a float16: 11
    significant bits, never finer than 2^−24 (``sum_emin=-14``).  A rounded step sum of
    magnitude >= 2^16 is ±Inf (``sum_emax=15``) and stays that Inf for the rest of the chain:
    later steps, even ones whose own sum overflows the other way, leave it (no NaN comes from
    finite terms; read from the every-code 64×64×32 case: each of the 3785 outputs whose first
    step overflowed is that step's Inf, whatever the second step adds).

    Known to hold for acc="float16": every recorded case (K 16..4096, 64×64 and 1024×1024,
    block_k=32; every-finite-code operands — most outputs ±Inf —, Gaussian, heavy-tailed,
    crafted).  float16 subnormal step sums are modelled as IEEE's grid but no recorded case
    separates that from keeping 11 bits below 2^−14.
    """
    if block_k not in (16, 32, 64, 128, 256):
        raise ValueError(f"h100-fp16-triton: block_k={block_k!r} is not allowed; allowed: 16, 32, 64, 128, 256")
    if acc == "float32":
        return _tensor_core(16, "float16", "h100-fp16-triton")
    if acc == "float16":
        return _tensor_core(16, "float16", "h100-fp16-triton", sum_bits=11, sum_rounding="nearest_even",
                            sum_emax=15, sum_emin=-14)
    raise ValueError(f"h100-fp16-triton: acc={acc!r} is not allowed; allowed: 'float32', 'float16'")


def h100_bf16_triton(block_k: int = 32) -> FusedBlock:
    """Triton ``tl.dot`` on BF16 operands, float32 accumulator: as :func:`h100_bf16`."""
    if block_k not in (16, 32, 64, 128, 256):
        raise ValueError(f"h100-bf16-triton: block_k={block_k!r} is not allowed; allowed: 16, 32, 64, 128, 256")
    return _tensor_core(16, "bfloat16", "h100-bf16-triton")


def h100_tf32_triton(block_k: int = 32, input_precision: str = "tf32", input_rounding: str | None = None) -> FusedBlock:
    """Triton ``tl.dot`` on float32 operands on an H100, ``input_precision`` "tf32", "tf32x3" or "ieee".

    Operands: ``lowbit.matmul(a, b, "float32", "float32", accumulator=...)`` with uint32 bit
    patterns.

    ``"tf32"``: each float32 operand is cut to TF32 by ``input_rounding`` (default and
    recorded: ``"toward_zero"`` — the 13 low fraction bits dropped, no rounding: the crafted
    tie / above-half probes show it; ``"nearest_even"`` / ``"nearest_away"`` are there to
    compare, not what the H100 does here); steps of 8 exact products, 2^(E−25) grid,
    truncation toward zero, 24 significant bits, as :func:`h100_fp16`.

    ``"ieee"``: no tensor core: a sequential float32 fused multiply-add over k = 0..K−1 (one
    rounding to nearest even per step, IEEE 754 §5.4.1).  Expressed here as a 1-product
    fused-block step: the product rounded to odd on a grid of 2^(E−58) (E the larger of the
    product's and the accumulator's exponents; the accumulator's 24 bits are exact on it),
    then the sum rounded to nearest even to 24 bits.  Round-to-odd keeps a sticky bit 34 bits
    below float32's last place, so the one rounding is the FMA's correct rounding (Boldo &
    Melquiond 2008): exact, also where bits of the product below 2^(E−58) decide a tie.  The chain is a float32 (``sum_emax=127``,
    ``sum_emin=-126``): a step that overflows makes it ±Inf, and later finite terms leave it
    ±Inf (IEEE 754 §6.1, §7.4; recorded: 2^127·2 then −2^127·2 gives +Inf, not 0).

    ``"tf32x3"`` (Triton's 3xTF32, read from its PTX: ``cvt.rna.tf32.f32``, ``sub.f32``, three
    groups of ``wgmma m64n64k8 tf32`` per ``tl.dot``, ``add.f32``): each operand x splits into
    big = x rounded to TF32 (nearest, ties away) and small = x − big (exact in float32; the
    tensor core then drops small's 13 low fraction bits); per ``tl.dot`` (``block_k`` of K) a
    chain from 0 runs over small_a·big_b, then big_a·small_b, then big_a·big_b (8-product
    steps as ``"tf32"``), and its float32 result is added to the accumulator (IEEE add,
    nearest even).  Expressed as this fused-block with ``operand_split="tf32x3"``
    (:func:`lowbit.mac.operands.tf32x3_operands`) and ``promote_every = 3·block_k``.

    Known to hold: every recorded Triton float32 case of the three settings (64×64, K 16..4096;
    1024×1024, K 1024 and 4096; wide-exponent, Gaussian, heavy-tailed, crafted, including
    inputs with bits below TF32's precision, float32 overflow in the middle of an "ieee"
    chain).  cuBLAS TF32 (``allow_tf32``) rounds the operands instead, and slices K: see
    :func:`h100_tf32`.
    """
    name = "h100-tf32-triton"
    if block_k not in (16, 32, 64, 128, 256):
        raise ValueError(f"{name}: block_k={block_k!r} is not allowed; allowed: 16, 32, 64, 128, 256")
    if input_rounding is not None and input_precision != "tf32":
        raise ValueError(f"{name}: input_rounding={input_rounding!r} applies to input_precision='tf32' only, "
                         f"got input_precision={input_precision!r}")
    if input_precision == "tf32":
        return dataclasses.replace(_tensor_core(8, "float32", name), input_rounding=input_rounding or "toward_zero")
    if input_precision == "ieee":
        return dataclasses.replace(_tensor_core(1, "float32", name), frac_bits=58, term_rounding="odd",
                                   sum_rounding="nearest_even", acc_rounding="toward_zero", sum_emax=127,
                                   sum_emin=-126)
    if input_precision == "tf32x3":
        return dataclasses.replace(_tensor_core(8, "float32", name), promote_every=3 * block_k,
                                   operand_split="tf32x3", input_rounding="toward_zero")
    raise ValueError(
        f"{name}: input_precision={input_precision!r} is not modelled; allowed: 'tf32', 'tf32x3', 'ieee'")


# cuBLAS FP32 (torch.matmul, allow_tf32=False) K-slice lengths recorded per shape (M, N, K)
H100_FP32_CUBLAS_SLICES = {
    (64, 64, 16): 4, (64, 64, 32): 32, (64, 64, 64): 64, (64, 64, 128): 32, (64, 64, 256): 32,
    (64, 64, 1000): 64, (64, 64, 4096): 64, (128, 128, 32): 32, (128, 128, 64): 32,
    (1024, 1024, 1024): 1024, (1024, 1024, 4096): 1024,
}


def h100_fp32(M: int | None = None, N: int | None = None, K: int | None = None,
              slice_k: int | None = None) -> FusedBlock | ByShape:
    """cuBLAS float32 GEMM without TF32 (``torch.matmul``, ``allow_tf32=False``) on an H100.

    No tensor core: CUDA-core kernels (``cutlass_80_simt_sgemm_*`` + ``splitKreduce_kernel``,
    ``sm80_xmma_gemm_f32f32_*_ffma``; kernels.json) that run a sequential float32 fused
    multiply-add (IEEE 754 §5.4.1, nearest even) over each slice of ``slice_k`` elements of K
    and add the slices' results in order (float32, nearest even) — split-K.  The slice length
    is cuBLAS's choice by shape (M, N, K); recorded (``H100_FP32_CUBLAS_SLICES``): 64×64: K 16
    → 4, 32 → 32, 64 → 64, 128 → 32, 256 → 32, 1000 → 64, 4096 → 64; 128×128: K 32, 64 → 32;
    1024×1024: K 1024, 4096 → 1024.
    64×64×4096 (``cutlass_80_simt_sgemm_128x32`` + split-K reduce) was read from all three of
    its recorded cases (every-code, Gaussian, heavy-tailed: 768 of 768 outputs; of 17 slice
    lengths × in-order / reversed / pairwise reduction, only 64 in order matches); the other
    shapes were fitted on Gaussian operands; every-code (wide exponent) and heavy-tailed operands and the
    crafted probes agree, float32 overflow in the middle of an FMA chain included (Inf, then
    Inf + finite = Inf — see :func:`h100_tf32_triton` "ieee").

    Pass the GEMM's ``M, N, K`` (all three: the slice length depends on the whole shape; K
    alone is refused) or ``slice_k`` (with ``K`` or alone: then every slice is ``slice_k``
    long whatever K is).  With neither the preset is a :class:`ByShape` that
    :func:`lowbit.matmul` fixes from the operands' shape.
    """
    name = "h100-fp32"
    for knob, v in (("M", M), ("N", N), ("K", K), ("slice_k", slice_k)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
            raise ValueError(f"{name}: {knob}={v!r} is not allowed; allowed: an int >= 1")
    if slice_k is None:
        if (M, N, K) == (None, None, None):
            return by_shape(name, ("float32",))
        if None in (M, N, K):
            raise ValueError(f"{name}: cuBLAS picks the K-slice length by the whole shape; pass M=, N= and K= "
                             f"(recorded: {sorted(H100_FP32_CUBLAS_SLICES)}) or slice_k=, not "
                             f"M={M}, N={N}, K={K}")
        if (M, N, K) not in H100_FP32_CUBLAS_SLICES:
            raise UnrecordedShape(f"{name}: shape M={M}, N={N}, K={K} was not recorded (cuBLAS's split-K is per shape); "
                                  f"recorded: {sorted(H100_FP32_CUBLAS_SLICES)}; or pass slice_k=")
        slice_k = H100_FP32_CUBLAS_SLICES[(M, N, K)]
    elif M is not None or N is not None:
        raise ValueError(f"{name}: give either M, N, K (a recorded shape) or slice_k (and K), not both")
    split = (1 << 31) if K is None else -(-K // slice_k)
    return dataclasses.replace(h100_tf32_triton(32, "ieee"), split_k=split, split_granule=slice_k, for_k=K,
                               preset=name)


# cuBLAS TF32 (torch allow_tf32=True) and FP16-accumulating GEMMs on the H100, per shape
# (M, N, K): (split-K slice length in elements of K, or None for one chain; the mainloop's
# k-tile, whose partial tile each slice runs first).  Read with crafted probes and checked on
# recorded random operands: vectors/hardware/h100/mma/ (README, chain.py).  Kernels
# (torch.profiler): TF32 cutlass_80_tensorop_s1688gemm_64x64_16x6 (k-tile 16) / _32x6 (32) +
# splitKreduce_kernel, sm90_xmma_gemm_f32f32_tf32f32 (k-tile 32, 1024²); FP16 accumulation
# cutlass_80_tensorop_h16816gemm_64x64_64x6 (64), cutlass_80_wmma_tensorop_h161616gemm_* (128 or
# 64), sm90_xmma_gemm_f16f16_f16f16_f16 (64, 1024²), + splitKreduce_kernel in float16.
H100_TF32_CUBLAS = {
    (64, 64, 16): (4, 16), (64, 64, 32): (32, 16), (64, 64, 64): (32, 16), (64, 64, 128): (32, 16),
    (64, 64, 256): (32, 16), (64, 64, 512): (64, 16), (64, 64, 1000): (64, 16),
    (64, 64, 2048): (64, 16), (64, 64, 4096): (128, 16), (100, 100, 100): (None, 16),
    (128, 128, 32): (32, 16), (128, 128, 64): (32, 16),
    (128, 128, 128): (None, 16), (128, 128, 256): (64, 16), (128, 128, 1024): (64, 16),
    (256, 256, 256): (None, 32), (256, 256, 1024): (128, 32), (512, 512, 512): (None, 32),
    (1024, 1024, 1024): (None, 32), (1024, 1024, 2048): (None, 32), (1024, 1024, 4096): (None, 32),
}
H100_FP16ACC_CUBLAS = {
    (64, 64, 16): (8, 64), (64, 64, 32): (8, 64), (64, 64, 64): (None, 64), (64, 64, 128): (64, 64),
    (64, 64, 256): (64, 64), (64, 64, 512): (64, 128), (64, 64, 1000): (88, 128),
    (64, 64, 2048): (128, 128), (64, 64, 4096): (192, 128), (100, 100, 100): (16, 64),
    (128, 128, 32): (None, 64), (128, 128, 64): (None, 64),
    (128, 128, 128): (None, 128), (128, 128, 256): (None, 128), (128, 128, 1024): (64, 64),
    (256, 256, 256): (None, 128), (256, 256, 1024): (256, 64), (512, 512, 512): (None, 64),
    (1024, 1024, 1024): (None, 64), (1024, 1024, 2048): (None, 64), (1024, 1024, 4096): (None, 64),
}
# TF32 1024×1024×4096 (sm90_xmma_…_segment_k_on): the output tiles of rows 0–255 × columns
# 768–1023 are cut over K into 7 pieces of 256 then 8 of 288, each a chain from 0, their
# float32 results added in this tree (leaf i = piece i); every other tile is one chain.
H100_TF32_SEGMENTED = {
    (1024, 1024, 4096): {
        "rows": (0, 256), "cols": (768, 1024), "slices": (256,) * 7 + (288,) * 8,
        "tree": (((0, (1, 2)), ((3, 4), (5, 6))), (((7, 8), (9, 10)), ((11, 12), (13, 14)))),
    },
}


def _cublas_order(name, table, M, N, K, slice_k, k_tile):
    """(slice length or None, k-tile, K or None) from a recorded shape or explicit knobs."""
    shape = (M, N, K)
    if slice_k is None and k_tile is None:
        if None in shape:
            raise ValueError(f"{name}: cuBLAS picks the kernel and split-K by shape; pass M=, N=, K= (recorded: "
                             f"{sorted(table)}) or slice_k= and k_tile=")
        if shape not in table:
            raise UnrecordedShape(f"{name}: shape M={M}, N={N}, K={K} was not recorded (cuBLAS's split-K is per shape); "
                                  f"recorded: {sorted(table)}; or pass slice_k= and k_tile=")
        slice_k, k_tile = table[shape]
        return slice_k, k_tile, K
    if M is not None or N is not None:
        raise ValueError(f"{name}: give either M, N, K (a recorded shape) or slice_k / k_tile, not both")
    for knob, v in (("slice_k", slice_k), ("k_tile", k_tile), ("K", K)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
            raise ValueError(f"{name}: {knob}={v!r} is not allowed; allowed: an int >= 1")
    if k_tile is None:
        raise ValueError(f"{name}: k_tile= is needed with slice_k (16 or 32 for TF32 kernels, 64 or 128 for FP16)")
    return slice_k, k_tile, K


def _sliced(acc: FusedBlock, slice_k, K) -> FusedBlock:
    acc = dataclasses.replace(acc, for_k=K)
    if slice_k is None:
        return acc
    split = (1 << 31) if K is None else -(-K // slice_k)
    return dataclasses.replace(acc, split_k=split, split_granule=slice_k)


def h100_tf32(M: int | None = None, N: int | None = None, K: int | None = None, slice_k: int | None = None,
              k_tile: int | None = None, segmented: bool | None = None) -> FusedBlock:
    """cuBLAS TF32 (``torch.matmul`` on float32 with ``torch.backends.cuda.matmul.allow_tf32``) on an H100.

    Operands: float32 bit patterns (uint32, format ``"float32"``), rounded to TF32 to nearest
    even (cuBLAS converts them; the crafted ties show it).  One tensor-core instruction
    (``mma.sync m16n8k8`` in the CUTLASS kernels, the ``wgmma`` k8 step in sm90_xmma) is one
    fused step of 8 consecutive products of K — probed instruction by instruction
    (vectors/hardware/h100/mma/): products exact, E = max(e_a + e_b, accumulator exponent),
    products and accumulator cut toward zero to 2^(E−25), the exact sum cut toward zero to
    24 bits and to float32's subnormal grid (``sum_emin=-126``), |sum| >= 2^128 is Inf, a zero
    result +0.  K is cut into split-K slices of ``slice_k`` elements (the last shorter), each
    a chain from 0 that runs its partial ``k_tile`` first (CUTLASS's residue-first mainloop),
    the slices' float32 results added in order (splitKreduce_kernel, nearest even).

    cuBLAS picks kernel and split per shape: pass the GEMM's ``M, N, K`` (recorded shapes in
    ``H100_TF32_CUBLAS``) or ``slice_k`` (None: one chain) and ``k_tile`` yourself; with none
    of them the preset is a :class:`ByShape` that :func:`lowbit.matmul` fixes from the
    operands' shape; built for
    a K, it refuses operands of another K (``for_k``) rather than slice them wrongly.
    1024×1024×4096: cuBLAS's stream-K kernel cuts the output tiles of rows 0–255 × columns
    768–1023 into 15 pieces of K (``H100_TF32_SEGMENTED``: 256 and 288 elements, added in a
    tree); by default the preset carries both settings (``tiles``) and needs the full
    1024×1024 operands; ``segmented=True`` / ``False`` give the split tiles' / the other
    tiles' setting alone, for parts of C.

    Known to hold, every output bit: the 29 recorded ``torch.matmul`` TF32 cases of
    vectors/hardware/h100/paths (64×64, K 16..4096; 1024×1024, K 1024 and 4096; every-code,
    Gaussian, heavy-tailed, crafted) and the crafted and random probes of
    vectors/hardware/h100/mma (19 shapes up to 1024×1024×4096).  Not covered: other shapes
    (no general formula for cuBLAS's choice), other GPUs and library versions.
    """
    name = "h100-tf32"
    if segmented is not None and not isinstance(segmented, bool):
        raise TypeError(f"{name}: segmented must be None, True or False, got {segmented!r}")
    if (M, N, K, slice_k, k_tile) == (None,) * 5:
        return by_shape(name, ("float32",), **({} if segmented is None else {"segmented": segmented}))
    slice_k, k_tile, K = _cublas_order(name, H100_TF32_CUBLAS, M, N, K, slice_k, k_tile)
    base = dataclasses.replace(_tensor_core(8, "float32", name, sum_emax=127, sum_emin=-126),
                               input_rounding="nearest_even", k_tile=k_tile)
    seg = H100_TF32_SEGMENTED.get((M, N, K))
    if segmented and seg is None:
        raise ValueError(f"{name}: segmented=True is recorded for M, N, K in {sorted(H100_TF32_SEGMENTED)} only")
    plain = _sliced(base, slice_k, K)
    if seg is None or segmented is False:
        return plain
    split = dataclasses.replace(base, split_slices=seg["slices"], split_tree=seg["tree"], for_k=K)
    if segmented:
        return split
    (r0, r1), (c0, c1) = seg["rows"], seg["cols"]
    return dataclasses.replace(plain, tiles=((r0, r1, c0, c1, split),), for_mn=(M, N))


def h100_fp16_acc16(M: int | None = None, N: int | None = None, K: int | None = None, slice_k: int | None = None,
                    k_tile: int | None = None) -> FusedBlock:
    """cuBLAS FP16 GEMM with a float16 accumulator on an H100 (``torch.matmul`` with
    ``allow_fp16_accumulation``, ``cublasGemmEx`` with CUBLAS_COMPUTE_16F); the preset
    ``h100-fp16`` with ``acc="float16"``.

    One instruction (``mma.sync m16n8k16 .f16.f16.f16.f16``, probed alone) is one fused step
    of 16 consecutive products: products exact, E = max(e_a + e_b, accumulator exponent),
    products and accumulator cut toward zero to 2^(E−25), the exact sum rounded to nearest
    even to float16 (11 bits, never finer than 2^−24; >= 2^16 is ±Inf and stays so).  Split-K
    slices of ``slice_k`` elements, each a chain from 0 running its partial ``k_tile`` first;
    the slices' float16 results added in order in float16 (splitKreduce_kernel in half;
    float32 reduction is ruled out by K = 32, 256, 1000, 4096).  Output: float16.

    Pass the GEMM's ``M, N, K`` (recorded: ``H100_FP16ACC_CUBLAS``) or ``slice_k`` and
    ``k_tile``.  Known to hold, every output bit: the 29 ``allow_fp16_accumulation`` and 29
    ``cublasGemmEx`` 16F cases of vectors/hardware/h100/paths and the probes of
    vectors/hardware/h100/mma (19 shapes).  Not covered: other shapes, GPUs, versions.
    """
    name = "h100-fp16"
    if (M, N, K, slice_k, k_tile) == (None,) * 5:
        return by_shape(name, ("float16",), acc="float16")
    slice_k, k_tile, K = _cublas_order(name, H100_FP16ACC_CUBLAS, M, N, K, slice_k, k_tile)
    base = dataclasses.replace(
        _tensor_core(16, "float16", name, sum_bits=11, sum_rounding="nearest_even", sum_emax=15, sum_emin=-14),
        k_tile=k_tile, split_reduce="float16")
    return _sliced(base, slice_k, K)


def h100_int8() -> Exact:
    """``torch._int_mm`` (INT8 × INT8 → INT32) on an H100: exact.

    Every recorded output (27 cases: 64×64 K 16..4096, 1024×1024 K 1024/4096, uniform and
    Gaussian codes) equals the exact integer sum.  lowbit's ``exact`` returns it rounded to
    float32, which is the integer itself while |sum| < 2^24.
    """
    return Exact(formats=("int8",), preset="h100-int8")
