"""MX dot products (OCP MX v1.0 §6.2, Dot and DotGeneral) on quantized block-scaled arrays.

``mx_matmul(qa, qb, accumulator=...)`` takes two :class:`lowbit.mx.MXArray` — A (M×K) blocked
along K (axis 1), B (K×N) blocked along K (axis 0), same block size — and computes

    C[m, n] = Σ_j  fl32( X_A[m, j] · X_B[j, n] · dot_j[m, n] )        (blocks j in order)

where ``dot_j`` is the block's dot product of element codes accumulated by ``accumulator``
(any lowbit.mac accumulator; its float32 result), X are the two blocks' scales (E8M0: powers of
two, so the product with the block sum is an exponent add, exact unless it leaves float32's
range; NVFP4's E4M3 scales: exact in float64, rounded once), and the sum over blocks is IEEE
float32 addition (round to nearest even) in block order.  A NaN scale makes the result NaN
(§6.2: "if either scale is NaN, the result is NaN"); NaN/Inf elements propagate through the
accumulator (IEEE 754 §6.1, §7.2).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .registry import accumulator as build
from .api import matmul

SCHEDULES = ("dot_general", "scaled_chain", "promote_fma")
# Triton 3.6 dot_scaled element names of lowbit's MX element formats (fp6 refused on SM90)
TRITON_ELEMENTS = {"float8_e4m3fn": "e4m3", "float8_e5m2": "e5m2", "float4_e2m1fn": "e2m1"}


@dataclasses.dataclass(frozen=True)
class H100MXTriton:
    """``h100-mx-triton``: Triton 3.6 ``tl.dot_scaled`` on SM90 (an emulation), bit for bit.

    Rule (vectors/hardware/h100/blockscaled/README.md; NVIDIA H200, driver 580.159.04, torch
    2.11.0+cu130, Triton 3.6.0; fitted by ``fit_dot_scaled.py`` there): each element is upcast
    to bfloat16 and multiplied by its E8M0 scale as a bfloat16 built from the scale's bits
    (s << 7), IEEE multiply rounded to nearest even with bfloat16's subnormals: so scale code 0
    is +0 (the element becomes ±0, NaN stays NaN), 255 is NaN (``fast_math=False``) or +Inf
    (``fast_math=True``: 0 · Inf = NaN), and products past bfloat16's range are ±Inf; e5m2
    codes with exponent field 31 (Inf, NaN) upcast as finite ±(1 + m/4)·2^16.  The bfloat16
    operands then run the bfloat16 tensor-core chain of ``h100-bf16-triton`` over all of K
    (16-product steps; ``block_k`` does not change the bits: 32, 64, 128, 256 recorded).

    Element formats: mxfp8_e4m3, mxfp8_e5m2, mxfp4 (every pair recorded); Triton 3.6 refuses
    e2m3 / e3m2 (mxfp6) at compile time on SM90.  Block size 32, E8M0 scales.
    """

    block_k: int = 64
    fast_math: bool = False
    preset: str = dataclasses.field(default="h100-mx-triton", init=False)

    def __post_init__(self):
        if self.block_k not in (32, 64, 128, 256):
            raise ValueError(f"h100-mx-triton: block_k={self.block_k!r} is not allowed; allowed: 32, 64, 128, 256")
        if not isinstance(self.fast_math, bool):
            raise TypeError(f"h100-mx-triton: fast_math must be True or False, got {self.fast_math!r}")


def h100_mx_triton(block_k: int = 64, fast_math: bool = False) -> H100MXTriton:
    """The ``h100-mx-triton`` preset of :func:`mx_matmul` (see :class:`H100MXTriton`)."""
    return H100MXTriton(block_k, fast_math)


def _mx_preset(accumulator):
    if isinstance(accumulator, H100MXTriton):
        return accumulator
    if isinstance(accumulator, str) and accumulator.strip().lower().replace("_", "-") == "h100-mx-triton":
        return H100MXTriton()
    return None


def _format_of(q):
    from ..mx.formats import mx_format

    return mx_format(q.format)


def triton_bf16_operand(codes, scale_codes, element, axis: int, fast_math: bool = False) -> np.ndarray:
    """bfloat16 codes (uint16) of Triton's SM90 upcast of MX elements (see :class:`H100MXTriton`).

    ``codes``: element codes; ``scale_codes``: E8M0 codes, one per 32 elements along ``axis``."""
    import ml_dtypes

    from ..codec import decode

    name = TRITON_ELEMENTS.get(element.name)
    if name is None:
        raise ValueError(f"h100-mx-triton: element format {element.name!r} is not taken by tl.dot_scaled on SM90 "
                         f"(Triton 3.6 refuses e2m3 / e3m2 at compile time); allowed: {', '.join(TRITON_ELEMENTS)}")
    c = np.asarray(codes)
    v = decode(c, element).astype(np.float64)
    if name == "e5m2":  # exponent field 31 upcast as a finite number
        top = (c & 0x7C) == 0x7C
        mag = (1 + (c & 3) / 4.0) * 65536.0
        v = np.where(top, np.where(c & 0x80, -mag, mag), v)
    s = np.repeat(np.asarray(scale_codes).astype(np.int64), 32, axis=axis)
    s = s[:, :c.shape[1]] if axis == 1 else s[:c.shape[0], :]
    with np.errstate(over="ignore", invalid="ignore"):
        x = v * np.ldexp(1.0, s - 127)
        x = np.where(s == 0, v * 0.0, x)
        x = np.where(s == 255, v * np.inf if fast_math else np.nan, x)
        # exact in float64, then one rounding: float32 holds it exactly except below 2^-149,
        # far under bfloat16's subnormals (2^-133), so the second rounding changes nothing
        return x.astype(np.float32).astype(ml_dtypes.bfloat16).view(np.uint16)


def _element_format(q):
    fn = getattr(q, "_element_format", None)  # MXArray knows its profile's element format
    return fn() if fn is not None else q.format.element


def mx_matmul(qa, qb, *, accumulator="exact", out_dtype="float32", schedule="dot_general") -> np.ndarray:
    """The product of two MX matrices, accumulated as ``schedule`` says.

    Schedules (which system computes each):

    ``"dot_general"`` (default): per block j the block's dot product by ``accumulator``, then
      fl32(X_A · X_B · dot_j) added in block order in float32 — OCP MX v1.0 §6.2 DotGeneral
      (the spec; microxcaling's reference).
    ``"scaled_chain"``: every element multiplied by its scale first, then one tensor-core chain
      over all of K — Triton 3.6 ``tl.dot_scaled`` on SM90 (emulated: bfloat16 operands): the
      preset ``accumulator="h100-mx-triton"`` (or :func:`h100_mx_triton`), which fixes the
      element upcast and the chain; with another accumulator the scaled elements are exact
      (a float32 operand of ``accumulator``, which must then take float32 operands).
    ``"promote_fma"``: per block j a partial P_j (``accumulator``'s chain from 0 over the
      block) promoted into the float32 accumulator by one fused multiply-add with fl32(X_A·X_B)
      — DeepSeek-V3's recipe as cuBLASLt's SM90 blockwise kernels compute it (per-128 blocks;
      see :mod:`lowbit.mac.blockscaled`); with E8M0 scales it equals adding fl32(P_j·X) unless
      that leaves float32's range.

    Args:
      qa: :class:`lowbit.mx.MXArray`, M×K, blocks along axis 1 (from lowbit.mx.quantize, or
        built directly: ``MXArray(elements=codes, scales=scale_codes, format="mxfp4",
        block_size=32, axis=1)``).
      qb: :class:`lowbit.mx.MXArray`, K×N, blocks along axis 0, same block size.
      accumulator: the block dot product's accumulator (name or object, as in lowbit.matmul),
        or ``"h100-mx-triton"`` / :func:`h100_mx_triton` (which implies ``scaled_chain``).
      out_dtype: "float32" or "bfloat16" (the float32 result rounded to nearest even).
      schedule: one of :data:`SCHEDULES`.

    Raises:
      TypeError: operands that are not MXArray-like.
      ValueError: wrong axes, block sizes or inner dimensions that differ, NVFP4 tensor scales.
    """
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule={schedule!r} is not allowed; allowed: {', '.join(map(repr, SCHEDULES))}")
    preset = _mx_preset(accumulator)
    if preset is not None and schedule == "dot_general":
        schedule = "scaled_chain"
    if preset is not None and schedule != "scaled_chain":
        raise ValueError(f"accumulator 'h100-mx-triton' is the scaled_chain schedule (tl.dot_scaled); got "
                         f"schedule={schedule!r}")
    for name, q in (("qa", qa), ("qb", qb)):
        if not all(hasattr(q, f) for f in ("elements", "scales", "block_size", "axis", "format")):
            raise TypeError(f"{name} must be a lowbit.mx.MXArray (from lowbit.mx.quantize), got {type(q).__name__}")
        if np.ndim(q.elements) != 2:
            raise ValueError(f"{name} must be 2-D, got shape {np.shape(q.elements)}")
        if getattr(q, "tensor_scale", None) is not None:
            raise ValueError(f"{name}: NVFP4 tensor scales are not supported by mx_matmul; allowed: tensor_scale=None")
    if qa.axis != 1:
        raise ValueError(f"qa must be blocked along K (axis 1), got axis={qa.axis}")
    if qb.axis != 0:
        raise ValueError(f"qb must be blocked along K (axis 0), got axis={qb.axis}")
    if qa.block_size != qb.block_size:
        raise ValueError(f"block sizes differ: qa {qa.block_size}, qb {qb.block_size}; they must be equal")
    M, K = qa.elements.shape
    K2, N = qb.elements.shape
    if K != K2:
        raise ValueError(f"shapes do not match: qa is {M}x{K}, qb is {K2}x{N}; K must be equal")
    fa_, fb_ = _format_of(qa), _format_of(qb)
    ea = _element_format(qa) if not isinstance(qa.format, str) else fa_.element
    eb = _element_format(qb) if not isinstance(qb.format, str) else fb_.element
    for name, q, f in (("qa", qa, fa_), ("qb", qb, fb_)):
        want = list(np.shape(q.elements))
        want[q.axis] = -(-want[q.axis] // q.block_size)
        if list(np.shape(q.scales)) != want:
            raise ValueError(f"{name}: scales have shape {np.shape(q.scales)}; allowed: {tuple(want)} (one per "
                             f"{q.block_size} elements along axis {q.axis})")
    bs = qa.block_size
    if preset is not None:
        from .h100_paths import h100_bf16_triton

        for name, q, f in (("qa", qa, fa_), ("qb", qb, fb_)):
            if bs != 32 or f.scale.name != "float8_e8m0fnu":
                raise ValueError(f"h100-mx-triton: {name} must have 32-element blocks with E8M0 scales (tl.dot_scaled); "
                                 f"got block_size={q.block_size}, scale format {f.scale.name}")
        ab = triton_bf16_operand(qa.elements, qa.scales, ea, 1, preset.fast_math)
        bb = triton_bf16_operand(qb.elements, qb.scales, eb, 0, preset.fast_math)
        out = matmul(ab, bb, "bfloat16", "bfloat16", accumulator=h100_bf16_triton(preset.block_k))
        return _out(out, out_dtype)
    acc = build(accumulator)
    sa = np.asarray(codec_scales(qa, fa_), np.float64)
    sb = np.asarray(codec_scales(qb, fb_), np.float64)
    out = np.zeros((M, N), np.float32)
    if schedule == "scaled_chain":
        from ..codec import encode, decode

        xa = decode(qa.elements, ea) * np.repeat(sa, bs, axis=1)[:, :K]
        xb = decode(qb.elements, eb) * np.repeat(sb, bs, axis=0)[:K, :]
        with np.errstate(over="ignore", invalid="ignore"):
            ca = xa.astype(np.float32).view(np.uint32)
            cb = xb.astype(np.float32).view(np.uint32)
        return _out(matmul(ca, cb, "float32", "float32", accumulator=acc), out_dtype)
    with np.errstate(over="ignore", invalid="ignore"):
        for j, lo in enumerate(range(0, K, bs)):
            part = matmul(qa.elements[:, lo:lo + bs], qb.elements[lo:lo + bs, :], ea, eb, accumulator=acc)
            if schedule == "promote_fma":
                from .blockscaled import _fma32

                s32 = (sa[:, j][:, None] * sb[j, :][None, :]).astype(np.float32)
                out = _fma32(part, s32, out)
                continue
            scaled = (part.astype(np.float64) * (sa[:, j][:, None] * sb[j, :][None, :])).astype(np.float32)
            out = (out + scaled).astype(np.float32)
    return _out(out, out_dtype)


def codec_scales(q, f):
    """The scales' values (float64, NaN for NaN codes) of an MXArray, its format given as a name or object."""
    fn = getattr(q, "scale_values", None)
    if fn is not None and not isinstance(q.format, str):
        return fn()
    from ..codec import decode

    return decode(np.asarray(q.scales), f.scale)


def _out(out, out_dtype):
    if str(out_dtype).replace("torch.", "") == "bfloat16":
        import ml_dtypes

        return out.astype(ml_dtypes.bfloat16)
    if str(out_dtype) != "float32":
        raise ValueError(f"out_dtype={out_dtype!r} is not supported; allowed: float32, bfloat16")
    return out
