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

``float32`` operands (TF32 and IEEE paths) are more than 16 bits wide: lowbit.matmul's code
tables stop at 16 bits, so :func:`matmul_float32` here decodes float32 bit patterns itself
(TF32: the 13 low fraction bits dropped, as the hardware does) and runs the same
fused-block kernel.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .accumulators import Exact, FusedBlock

H100_NAN_BITS = 0x7FFFFFFF
LIBRARIES = ("cublas", "triton")


def _tensor_core(block_size: int, sum_bits: int = 24, sum_rounding: str = "toward_zero") -> FusedBlock:
    return FusedBlock(block_size=block_size, frac_bits=25, align="operands",
                      term_rounding="toward_zero", acc_rounding="toward_zero", acc_in_max=True,
                      sum_bits=sum_bits, sum_rounding=sum_rounding, promote_every=None,
                      nan_bits=H100_NAN_BITS)


def _split(acc: FusedBlock, name: str, library: str, split_k: int) -> FusedBlock:
    """cuBLAS split-K: K cut into ``split_k`` slices of whole 128-element granules, each slice a
    chain of its own, the slices' float32 results added in order (IEEE, nearest even)."""
    if split_k != 1 and library != "cublas":
        raise ValueError(f"{name}: split_k={split_k!r} is a cuBLAS kernel choice; allowed with library='cublas' only")
    if isinstance(split_k, bool) or not isinstance(split_k, int) or split_k < 1:
        raise ValueError(f"{name}: split_k={split_k!r} is not allowed; allowed: an int >= 1")
    return dataclasses.replace(acc, split_k=split_k, split_granule=128)


def _check_library(name, library):
    if library not in LIBRARIES:
        raise ValueError(f"{name}: library={library!r} is not allowed; allowed: {', '.join(map(repr, LIBRARIES))}")


def h100_fp16(library: str = "cublas", split_k: int = 1) -> FusedBlock:
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
    {1024, 4096}; other shapes are not known.
    """
    _check_library("h100-fp16", library)
    return _split(_tensor_core(16), "h100-fp16", library, split_k)


def h100_bf16(library: str = "cublas", split_k: int = 1) -> FusedBlock:
    """BF16 × BF16 with a float32 accumulator on an H100 (cuBLAS and Triton ``tl.dot``).

    Same step as :func:`h100_fp16` (16 products, 2^(E−25) grid, truncation toward zero, 24
    significant bits).  bfloat16 output (``torch.matmul`` on bfloat16, with
    ``allow_bf16_reduced_precision_reduction`` on or off) is the float32 result rounded to
    nearest even.  Known to hold and not to hold: as :func:`h100_fp16` (same shapes, K and
    operand kinds, recorded for bfloat16; exponents of every-code operands spread over
    [−24, 24]; products below float32's subnormal range, float32 overflow of products and
    sums among the crafted probes).
    """
    _check_library("h100-bf16", library)
    return _split(_tensor_core(16), "h100-bf16", library, split_k)


def h100_fp16_triton(block_k: int = 32, acc: str = "float32") -> FusedBlock:
    """Triton ``tl.dot`` on FP16 operands over K in steps of ``block_k``.

    ``acc="float32"``: as :func:`h100_fp16` (block_k 32 and 64 recorded; it does not change
    the result).  ``acc="float16"`` (``tl.dot(a, b, acc, out_dtype=tl.float16)``): the same
    16-product step, but the exact step sum is rounded to nearest even to 11 significant bits
    (a float16 significand).

    Known to hold for acc="float16": recorded Gaussian and heavy-tailed operands, K ≤ 4096,
    64×64 and 1024×1024 (block_k=32), as long as no step's sum leaves float16's normal range
    (float16 overflow to Inf and float16 subnormal sums are not modelled: every-finite-code
    operands overflow it).
    """
    if block_k not in (16, 32, 64, 128, 256):
        raise ValueError(f"h100-fp16-triton: block_k={block_k!r} is not allowed; allowed: 16, 32, 64, 128, 256")
    if acc == "float32":
        return _tensor_core(16)
    if acc == "float16":
        return _tensor_core(16, sum_bits=11, sum_rounding="nearest_even")
    raise ValueError(f"h100-fp16-triton: acc={acc!r} is not allowed; allowed: 'float32', 'float16'")


def h100_bf16_triton(block_k: int = 32) -> FusedBlock:
    """Triton ``tl.dot`` on BF16 operands, float32 accumulator: as :func:`h100_bf16`."""
    if block_k not in (16, 32, 64, 128, 256):
        raise ValueError(f"h100-bf16-triton: block_k={block_k!r} is not allowed; allowed: 16, 32, 64, 128, 256")
    return _tensor_core(16)


def h100_tf32_triton(block_k: int = 32, input_precision: str = "tf32") -> FusedBlock:
    """Triton ``tl.dot`` on float32 operands on an H100, ``input_precision`` "tf32" or "ieee".

    ``"tf32"``: each float32 operand loses its 13 low fraction bits (truncation toward zero —
    no rounding; pass ``input_rounding="toward_zero"`` to :func:`matmul_float32`); steps of
    8 exact products, 2^(E−25) grid, truncation toward zero, 24 significant bits, as
    :func:`h100_fp16`.

    ``"ieee"``: no tensor core: a sequential float32 fused multiply-add over k = 0..K−1 (one
    rounding to nearest even per step, IEEE 754 §5.4.1).  Expressed here as a 1-product
    fused-block step with 58 fraction bits and nearest-even rounding to 24 bits: exact except
    where the part of a term below 2^(E−58) would decide a tie (a sticky bit is not kept), a
    case no recorded operand reached.

    ``"tf32x3"`` (Triton's 3xTF32, read from its PTX: ``cvt.rna.tf32.f32``, ``sub.f32``, three
    groups of ``wgmma m64n64k8 tf32`` per ``tl.dot``, ``add.f32``): each operand x splits into
    big = x rounded to TF32 (nearest, ties away) and small = x − big (exact in float32; the
    tensor core then drops small's 13 low fraction bits); per ``tl.dot`` (``block_k`` of K) a
    chain from 0 runs over small_a·big_b, then big_a·small_b, then big_a·big_b (8-product
    steps as ``"tf32"``), and its float32 result is added to the accumulator (IEEE add,
    nearest even).  Expressed as this fused-block with ``promote_every = 3·block_k`` over the
    operands rearranged by :func:`tf32x3_operands`; :func:`triton_dot_float32` does both.

    Known to hold: every recorded Triton float32 case of the three settings (64×64, K 16..4096;
    1024×1024, K 1024 and 4096; wide-exponent, Gaussian, heavy-tailed, crafted, including
    inputs with bits below TF32's precision), except float32 overflow in the middle of an
    "ieee" chain (see above).
    """
    if block_k not in (16, 32, 64, 128, 256):
        raise ValueError(f"h100-tf32-triton: block_k={block_k!r} is not allowed; allowed: 16, 32, 64, 128, 256")
    if input_precision == "tf32":
        return _tensor_core(8)
    if input_precision == "ieee":
        return dataclasses.replace(_tensor_core(1), frac_bits=58, sum_rounding="nearest_even",
                                   acc_rounding="toward_zero")
    if input_precision == "tf32x3":
        return dataclasses.replace(_tensor_core(8), promote_every=3 * block_k)
    raise ValueError(
        f"h100-tf32-triton: input_precision={input_precision!r} is not modelled; allowed: 'tf32', 'tf32x3', 'ieee'")


def _tf32_rna(x):
    """float32 -> the nearest TF32 value (ties away from zero: PTX cvt.rna.tf32.f32), as float32."""
    b = x.view(np.uint32).astype(np.int64)
    finite = ((b >> 23) & 0xFF) != 0xFF
    return np.where(finite, (b + 0x1000) & ~np.int64(0x1FFF), b).astype(np.uint32).view(np.float32)


def tf32x3_operands(a, b, block_k: int = 32):
    """Rearrange float32 A (M×K) and B (K×N) for the 3xTF32 chain of :func:`h100_tf32_triton`.

    Operands ±Inf or NaN take no part in the two small-part segments (Triton replaces the NaN
    small-part sum they cause by 0; the big part carries them into the result).  Per block of ``block_k`` along K (zero-padded at the end), A becomes [small_a | big_a |
    big_a] and B [big_b ; small_b ; big_b], so that one fused-block chain over the new K
    (3·block_k per block, promoted after each) runs small_a·big_b, big_a·small_b, big_a·big_b.
    Returns float32 arrays of shapes M×3K' and 3K'×N (K' = K rounded up to block_k).
    """
    a = np.asarray(a, dtype=np.float32) if np.asarray(a).dtype != np.uint32 else np.asarray(a).view(np.float32)
    b = np.asarray(b, dtype=np.float32) if np.asarray(b).dtype != np.uint32 else np.asarray(b).view(np.float32)
    K = a.shape[1]
    pad = -K % block_k
    a = np.pad(a, ((0, 0), (0, pad)))
    b = np.pad(b, ((0, pad), (0, 0)))
    with np.errstate(invalid="ignore"):
        a_big = _tf32_rna(a)
        a_small = (a - a_big).astype(np.float32)
        b_big = _tf32_rna(b)
        b_small = (b - b_big).astype(np.float32)
    # Triton replaces a NaN small-part sum by 0.  An operand x = ±Inf or NaN makes small = NaN,
    # so every small-part sum it enters is NaN and dropped, while the big part carries the Inf
    # or NaN into the result: zeroing such operands inside the small-part segments is the same.
    a_small[~np.isfinite(a_small)] = 0
    b_small[~np.isfinite(b_small)] = 0
    a_big_s = np.where(np.isfinite(a_big), a_big, np.float32(0))
    b_big_s = np.where(np.isfinite(b_big), b_big, np.float32(0))
    ta, tb = [], []
    for k0 in range(0, a.shape[1], block_k):
        s = slice(k0, k0 + block_k)
        ta += [a_small[:, s], a_big_s[:, s], a_big[:, s]]
        tb += [b_big_s[s, :], b_small[s, :], b_big[s, :]]
    return np.concatenate(ta, axis=1), np.concatenate(tb, axis=0)


def triton_dot_float32(a, b, *, input_precision: str = "tf32", block_k: int = 32) -> np.ndarray:
    """Triton ``tl.dot`` on float32 operands on an H100, one of "tf32", "tf32x3", "ieee" (float32 result)."""
    acc = h100_tf32_triton(block_k, input_precision)
    if input_precision == "tf32x3":
        a, b = tf32x3_operands(a, b, block_k)
        return matmul_float32(a, b, accumulator=acc, input_rounding="toward_zero")
    return matmul_float32(a, b, accumulator=acc,
                          input_rounding="toward_zero" if input_precision == "tf32" else "none")


# cuBLAS FP32 (torch.matmul, allow_tf32=False) K-slice lengths recorded per shape (M, N, K)
H100_FP32_CUBLAS_SLICES = {
    (64, 64, 16): 4, (64, 64, 32): 32, (64, 64, 64): 64, (64, 64, 128): 32, (64, 64, 256): 32,
    (64, 64, 1000): 64, (128, 128, 32): 32, (128, 128, 64): 32, (1024, 1024, 1024): 1024,
    (1024, 1024, 4096): 1024,
}


def h100_fp32(K: int, slice_k: int | None = None) -> FusedBlock:
    """cuBLAS float32 GEMM without TF32 (``torch.matmul``, ``allow_tf32=False``) on an H100.

    No tensor core: CUDA-core kernels (``cutlass_80_simt_sgemm_*`` + ``splitKreduce_kernel``,
    ``sm80_xmma_gemm_f32f32_*_ffma``; kernels.json) that run a sequential float32 fused
    multiply-add (IEEE 754 §5.4.1, nearest even) over each slice of ``slice_k`` elements of K
    and add the slices' results in order (float32, nearest even) — split-K.  The slice length
    is cuBLAS's choice by shape; recorded (``H100_FP32_CUBLAS_SLICES``, used when ``slice_k``
    is None): 64×64: K 16 → 4, 32 → 32, 64 → 64, 128 → 32, 256 → 32, 1000 → 64;
    128×128: K 32, 64 → 32; 1024×1024: K 1024, 4096 → 1024.  64×64×4096 is not found.
    Fitted on Gaussian operands; every-code (wide exponent) and heavy-tailed operands and the
    crafted probes agree, except float32 overflow in the middle of an FMA chain (the hardware
    gives Inf; the model keeps the exact value — see :func:`h100_tf32_triton` "ieee").
    """
    if isinstance(K, bool) or not isinstance(K, int) or K < 1:
        raise ValueError(f"h100-fp32: K={K!r} is not allowed; allowed: an int >= 1")
    if slice_k is None:
        known = sorted({k for (_, _, k) in H100_FP32_CUBLAS_SLICES})
        slices = {k: v for (m, n, k), v in H100_FP32_CUBLAS_SLICES.items() if m == 64}
        if K not in slices:
            raise ValueError(f"h100-fp32: no recorded slice length for K={K}; pass slice_k (recorded K: {known})")
        slice_k = slices[K]
    if isinstance(slice_k, bool) or not isinstance(slice_k, int) or slice_k < 1:
        raise ValueError(f"h100-fp32: slice_k={slice_k!r} is not allowed; allowed: an int >= 1")
    return dataclasses.replace(h100_tf32_triton(32, "ieee"), split_k=-(-K // slice_k), split_granule=slice_k)


def h100_int8() -> Exact:
    """``torch._int_mm`` (INT8 × INT8 → INT32) on an H100: exact.

    Every recorded output (27 cases: 64×64 K 16..4096, 1024×1024 K 1024/4096, uniform and
    Gaussian codes) equals the exact integer sum.  lowbit's ``exact`` returns it rounded to
    float32, which is the integer itself while |sum| < 2^24.
    """
    return Exact()


OUT_DTYPES = ("float32", "float16", "bfloat16")


def h100_output(c, out_dtype: str = "float32") -> np.ndarray:
    """The H100 GEMM epilogue: the float32 accumulator ``c`` to ``out_dtype``, as bit patterns.

    float32: unchanged (uint32 bits).  float16 / bfloat16: round to nearest even (IEEE 754
    §4.3.1), overflow to ±Inf; a NaN gives 0x7FFF in both (the top bits of the H100's float32
    NaN 0x7FFFFFFF — recorded; ml_dtypes' bfloat16 cast would give 0x7FC0).  Returns uint32
    or uint16 bit patterns.
    """
    c = np.asarray(c, dtype=np.float32)
    if out_dtype == "float32":
        return c.view(np.uint32).copy()
    if out_dtype == "float16":
        with np.errstate(over="ignore"):
            r = c.astype(np.float16).view(np.uint16)
    elif out_dtype == "bfloat16":
        import ml_dtypes

        r = c.astype(ml_dtypes.bfloat16).view(np.uint16)
    else:
        raise ValueError(f"out_dtype={out_dtype!r} is not allowed; allowed: {', '.join(OUT_DTYPES)}")
    r = r.copy()
    r[np.isnan(c)] = 0x7FFF
    return r


PRESETS = {
    "h100-fp16": h100_fp16,
    "h100-bf16": h100_bf16,
    "h100-fp16-triton": h100_fp16_triton,
    "h100-bf16-triton": h100_bf16_triton,
    "h100-tf32-triton": h100_tf32_triton,
    "h100-fp32": h100_fp32,
    "h100-int8": h100_int8,
}

INPUT_ROUNDINGS = ("none", "toward_zero", "nearest_even")


def float32_fields(bits, input_rounding: str = "none"):
    """float32 bit patterns -> exact integer fields (sig, q, e, special) for the MAC kernel.

    ``input_rounding="toward_zero"`` first drops the 13 low fraction bits of every finite
    value (float32 -> TF32 by truncation, as the H100 tensor core reads float32 operands);
    ``"nearest_even"`` rounds them off (ties to even; what cuBLAS's TF32 kernels do);
    "none" keeps all 24 significant bits.  IEEE 754-2019 §3.4: value = (−1)^s · sig · 2^q,
    e = the binade exponent (emin = −126 for subnormals).
    """
    if input_rounding not in INPUT_ROUNDINGS:
        raise ValueError(f"input_rounding={input_rounding!r} is not allowed; allowed: {', '.join(INPUT_ROUNDINGS)}")
    b = np.asarray(bits)
    if b.dtype == np.float32:
        b = b.view(np.uint32)
    if b.dtype != np.uint32:
        raise TypeError(f"float32 operands must be float32 or uint32 bit patterns, got dtype {b.dtype}")
    b = b.astype(np.int64)
    field = (b >> 23) & 0xFF
    finite = field != 0xFF
    if input_rounding == "toward_zero":
        b = np.where(finite, b & ~np.int64(0x1FFF), b)
    elif input_rounding == "nearest_even":  # carries into the exponent as IEEE rounding does
        low = b & 0x1FFF
        up = (low > 0x1000) | ((low == 0x1000) & (((b >> 13) & 1) == 1))
        b = np.where(finite, (b & ~np.int64(0x1FFF)) + np.where(up, 0x2000, 0), b)
    man = b & 0x7FFFFF
    sign = (b >> 31) & 1
    sub = field == 0
    e = np.where(sub, -126, field - 127)
    s = np.where(sub, man, man | 0x800000)
    sig = np.where(sign == 1, -s, s)
    special = np.where(finite, 0, np.where(man == 0, 1, 2)).astype(np.int8)
    sig = np.where(special == 0, sig, np.where(special == 1, np.where(sign == 1, -1, 1), 0))
    return sig.astype(np.int64), (e - 23).astype(np.int64), e.astype(np.int64), special


def _value_table(bits, input_rounding):
    """Unique float32 patterns of one operand as a code table: (codes int32, sig, q, e, special)."""
    u, inv = np.unique(np.asarray(bits).view(np.uint32), return_inverse=True)
    sig, q, e, x = float32_fields(u, input_rounding)
    return inv.reshape(np.shape(bits)).astype(np.int32), sig, q, e, x


def matmul_float32(a_bits, b_bits, *, accumulator: FusedBlock, input_rounding: str = "none") -> np.ndarray:
    """C = A @ B for float32 operands (M×K and K×N, float32 or uint32 bit patterns).

    float32 has too many codes for lowbit.mac's per-format tables, so each operand's distinct
    bit patterns become its own code table (:func:`float32_fields`), and the ``fused-block``
    kernel of :mod:`lowbit.mac.kernels` runs ``accumulator`` on them unchanged.  Returns
    float32; NaN results carry ``accumulator.nan_bits``.
    """
    from . import kernels as K
    from .accumulators import ROUNDINGS

    if not isinstance(accumulator, FusedBlock):
        raise TypeError(f"matmul_float32 needs a FusedBlock accumulator, got {accumulator!r}")
    a = np.asarray(a_bits)
    b = np.asarray(b_bits)
    for name, t in (("a_bits", a), ("b_bits", b)):
        if t.dtype not in (np.float32, np.uint32):
            raise TypeError(f"{name}: float32 operands must be float32 or uint32 bit patterns, got dtype {t.dtype}")
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise ValueError(f"shapes do not match: a {a.shape} (M×K), b {b.shape} (K×N)")
    acc = accumulator
    if a.dtype == np.uint32:
        a = a.view(np.float32)
    if b.dtype == np.uint32:
        b = b.view(np.float32)
    if acc.interleave_group is not None:  # the step order of K, as lowbit.mac.api does it
        from .api import interleave_order

        K0 = a.shape[1]
        pad = -K0 % acc.interleave_group
        a = np.pad(a, ((0, 0), (0, pad)))
        b = np.pad(b, ((0, pad), (0, 0)))
        p = interleave_order(K0, acc.interleave_group, acc.interleave_run, acc.block_size)
        a = np.ascontiguousarray(a[:, p])
        b = np.ascontiguousarray(b[p, :])
    M, Kdim = a.shape
    out = np.zeros((M, b.shape[1]), np.float32)
    granules = -(-Kdim // acc.split_granule)
    per = max(1, -(-granules // acc.split_k)) * acc.split_granule
    r = ROUNDINGS.index
    total = None
    for lo in range(0, max(Kdim, 1), per):
        ca, *ta = _value_table(a[:, lo:lo + per], input_rounding)
        cb, *tb = _value_table(b[lo:lo + per, :], input_rounding)
        cb = np.ascontiguousarray(cb.T)
        part = np.zeros_like(out)
        if part.size:
            rows = (ta[3][ca] != 0).any(axis=1) if ca.size else np.zeros(M, np.bool_)
            cols = (tb[3][cb] != 0).any(axis=1) if cb.size else np.zeros(b.shape[1], np.bool_)
            K.fused_block_matmul(
                ca, cb, *ta, *tb, rows, cols, acc.block_size, acc.frac_bits, acc.align == "product",
                r(acc.term_rounding), r(acc.acc_rounding), acc.acc_in_max,
                -1 if acc.sum_frac_bits is None else acc.sum_frac_bits, acc.sum_bits or 0,
                r(acc.sum_rounding), acc.promote_every or 0, acc.promote_chunk or 0, part)
        total = part if total is None else (total + part).astype(np.float32)  # IEEE float32 add, in slice order
    out[...] = total
    nan = np.isnan(out)
    if nan.any():
        out.view(np.uint32)[nan] = acc.nan_bits
    return out
