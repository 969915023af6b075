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

import numpy as np

from .registry import accumulator as build
from .api import matmul


def _element_format(q):
    fn = getattr(q, "_element_format", None)  # MXArray knows its profile's element format
    return fn() if fn is not None else q.format.element


def mx_matmul(qa, qb, *, accumulator="exact", out_dtype="float32") -> np.ndarray:
    """DotGeneral of two MX-quantized matrices (see the module docstring).

    Args:
      qa: :class:`lowbit.mx.MXArray`, M×K, blocks along axis 1.
      qb: :class:`lowbit.mx.MXArray`, K×N, blocks along axis 0, same block size.
      accumulator: the block dot product's accumulator (name or object, as in lowbit.matmul).
      out_dtype: "float32" or "bfloat16" (the float32 result rounded to nearest even).

    Raises:
      TypeError: operands that are not MXArray-like.
      ValueError: wrong axes, block sizes or inner dimensions that differ, NVFP4 tensor scales.
    """
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
    acc = build(accumulator)
    ea, eb = _element_format(qa), _element_format(qb)
    sa = np.asarray(qa.scale_values(), np.float64)
    sb = np.asarray(qb.scale_values(), np.float64)
    bs = qa.block_size
    out = np.zeros((M, N), np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        for j, lo in enumerate(range(0, K, bs)):
            part = matmul(qa.elements[:, lo:lo + bs], qb.elements[lo:lo + bs, :], ea, eb, accumulator=acc)
            scaled = (part.astype(np.float64) * (sa[:, j][:, None] * sb[j, :][None, :])).astype(np.float32)
            out = (out + scaled).astype(np.float32)
    if str(out_dtype).replace("torch.", "") == "bfloat16":
        import ml_dtypes

        return out.astype(ml_dtypes.bfloat16)
    if str(out_dtype) != "float32":
        raise ValueError(f"out_dtype={out_dtype!r} is not supported; allowed: float32, bfloat16")
    return out
