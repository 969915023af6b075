"""``lowbit.matmul`` and ``lowbit.dot``: products of coded operands, accumulated as hardware does.

The Python layer validates operands, formats, shapes and the accumulator, decodes codes
to exact integer fields (:mod:`lowbit.mac.operands`) and dispatches to one Numba kernel
(:mod:`lowbit.mac.kernels`).  The accumulator's float32 result is then multiplied by
fl32(scale_a · scale_b) (IEEE float32 multiply, nearest even) and, for
``out_dtype="bfloat16"``, rounded to bfloat16 (nearest even) — the epilogue
``torch._scaled_mm`` was recorded to apply on an H100 (shared/hardware/h100/README.md).
"""

from __future__ import annotations

import numpy as np

from ..formats import format as lookup
from . import kernels as K
from .accumulators import IEEE_FORMATS, Exact, FusedBlock, IEEE, ROUNDINGS, accumulator as build
from .operands import codes_for_kernel, has_special, tables, values32

OUT_DTYPES = ("float32", "bfloat16")


def _scale(value, name) -> np.float32:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"{name} must be a real number (a per-tensor scale), got {value!r}")
    return np.float32(value)


def _out_dtype(out_dtype) -> str:
    key = out_dtype if isinstance(out_dtype, str) else getattr(out_dtype, "name", None) or str(out_dtype)
    try:
        key = np.dtype(out_dtype).name if not isinstance(out_dtype, str) else key
    except TypeError:
        pass
    key = str(key).lower().replace("torch.", "")
    if key not in OUT_DTYPES:
        raise ValueError(f"out_dtype={out_dtype!r} is not supported; allowed: {', '.join(OUT_DTYPES)}")
    return key


def matmul(a_codes, b_codes, a_format, b_format, *, accumulator, scale_a=1.0, scale_b=1.0,
           out_dtype="float32") -> np.ndarray:
    """C = (A @ B) · scale_a · scale_b with A (M×K) and B (K×N) given as element codes.

    Args:
      a_codes, b_codes: integer arrays of codes (uint8 for FP8, int8 or uint8 for INT8),
        A[m, k] and B[k, n], row-major.
      a_format, b_format: format names, dtypes or :class:`lowbit.Format` (at most 16 bits).
      accumulator: a name (``"exact"``, ``"ieee"``, ``"fused-block"``, ``"h100-fp8"``,
        ``"h100-fp8-triton"``) or an object from :func:`lowbit.mac.accumulator`.
      scale_a, scale_b: per-tensor scales, taken as float32; the float32 accumulator is
        multiplied by fl32(scale_a · scale_b), rounded to nearest even.
      out_dtype: ``"float32"`` or ``"bfloat16"`` (an ml_dtypes bfloat16 array, nearest even).

    Returns:
      An M×N array of ``out_dtype``.

    Raises:
      ValueError: codes out of range for their format, shapes that do not match,
        unknown accumulator or out_dtype.
      TypeError: non-integer codes, unknown accumulator parameter, non-numeric scale.
    """
    acc = build(accumulator)
    fa, fb = lookup(a_format), lookup(b_format)
    a = np.asarray(a_codes)
    b = np.asarray(b_codes)
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"matmul needs 2-D operands: a has shape {a.shape}, b has shape {b.shape}")
    if a.shape[1] != b.shape[0]:
        raise ValueError(
            f"shapes do not match: a is {a.shape[0]}x{a.shape[1]} (M×K), b is {b.shape[0]}x{b.shape[1]} (K×N); "
            "a.shape[1] must equal b.shape[0]"
        )
    sa, sb = _scale(scale_a, "scale_a"), _scale(scale_b, "scale_b")
    odt = _out_dtype(out_dtype)
    ca = codes_for_kernel(a, fa, "a_codes")
    cb = np.ascontiguousarray(codes_for_kernel(b, fb, "b_codes").T)  # N×K: both walk K
    M, N = a.shape[0], b.shape[1]
    out = np.zeros((M, N), np.float32)
    if M and N:
        _run(acc, fa, fb, ca, cb, out)
    with np.errstate(over="ignore", invalid="ignore"):
        out = out * np.float32(sa * sb)
    nan = np.isnan(out)
    if nan.any():
        out.view(np.uint32)[nan] = getattr(acc, "nan_bits", 0x7FC00000)
    if odt == "bfloat16":
        import ml_dtypes

        return out.astype(ml_dtypes.bfloat16)
    return out


def dot(a_codes, b_codes, a_format, b_format, *, accumulator, scale_a=1.0, scale_b=1.0,
        out_dtype="float32"):
    """The dot product of two code vectors of equal length K (see :func:`matmul`); returns a scalar."""
    a = np.asarray(a_codes)
    b = np.asarray(b_codes)
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError(f"dot needs 1-D operands: a has shape {a.shape}, b has shape {b.shape}")
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"lengths do not match: a has {a.shape[0]} codes, b has {b.shape[0]}")
    return matmul(a[None, :], b[:, None], a_format, b_format, accumulator=accumulator,
                  scale_a=scale_a, scale_b=scale_b, out_dtype=out_dtype)[0, 0]


def _run(acc, fa, fb, ca, cb, out):
    ta, tb = tables(fa), tables(fb)
    if isinstance(acc, IEEE):
        order = ("sequential", "pairwise", "chunked").index(acc.order)
        va, vb = values32(fa), values32(fb)
        if acc.format == "float32":
            K.ieee32_matmul(ca, cb, va, vb, order, acc.chunk or 1, out)
        else:
            p, emin, emax = IEEE_FORMATS[acc.format]
            K.ieee_matmul(ca, cb, va.astype(np.float64), vb.astype(np.float64), order, acc.chunk or 1,
                          p, emin, emax, out)
        return
    rows, cols = has_special(ca, ta, 1), has_special(cb, tb, 1)
    if isinstance(acc, Exact):
        fin_a, fin_b = ta.special == 0, tb.special == 0
        qmin = int(ta.q[fin_a].min() + tb.q[fin_b].min())
        qmax = int(ta.q[fin_a].max() + tb.q[fin_b].max())
        nlimbs = (qmax - qmin + 64) // 32 + 3
        K.exact_matmul(ca, cb, ta.sig, ta.q, ta.special, tb.sig, tb.q, tb.special, rows, cols, qmin, nlimbs, out)
        return
    if not isinstance(acc, FusedBlock):  # pragma: no cover - accumulator() only builds the three kinds
        raise TypeError(f"unsupported accumulator {acc!r}")
    r = ROUNDINGS.index
    if acc.interleave_group is not None:
        if ca.shape[1] % acc.interleave_group and (ta.sig[0] != 0 or tb.sig[0] != 0 or ta.special[0] or tb.special[0]):
            raise ValueError(
                f"interleave_group={acc.interleave_group} pads K={ca.shape[1]} with code 0, which is not zero in "
                f"{fa.name!r} or {fb.name!r}; allowed: K a multiple of {acc.interleave_group} for these formats"
            )
        ca, cb = _interleave(ca, cb, acc)
    Kdim = ca.shape[1]
    granules = -(-Kdim // acc.split_granule)
    per = max(1, -(-granules // acc.split_k)) * acc.split_granule
    total = None
    for lo in range(0, max(Kdim, 1), per):
        part = np.zeros_like(out)
        sa_, sb_ = np.ascontiguousarray(ca[:, lo:lo + per]), np.ascontiguousarray(cb[:, lo:lo + per])
        K.fused_block_matmul(
            sa_, sb_, ta.sig, ta.q, ta.e, ta.special, tb.sig, tb.q, tb.e, tb.special,
            has_special(sa_, ta, 1), has_special(sb_, tb, 1), acc.block_size, acc.frac_bits,
            acc.align == "product", r(acc.term_rounding), r(acc.acc_rounding), acc.acc_in_max,
            -1 if acc.sum_frac_bits is None else acc.sum_frac_bits, acc.sum_bits or 0, r(acc.sum_rounding),
            acc.promote_every or 0, acc.promote_chunk or 0, part,
        )
        total = part if total is None else (total + part).astype(np.float32)
    out[...] = total


def interleave_order(K: int, group: int, run: int, block_size: int) -> np.ndarray:
    """Positions of K (padded to a multiple of ``group``) in the order the steps meet them.

    Within each group, runs of ``run`` consecutive positions are dealt in turn to the
    group/block_size steps; step s's positions come before step s+1's.
    """
    steps = group // block_size
    order = []
    for g0 in range(0, -(-K // group) * group, group):
        runs = [np.arange(g0 + t * run, g0 + (t + 1) * run) for t in range(group // run)]
        for s in range(steps):
            order.extend(runs[s::steps])
    return np.concatenate(order) if order else np.zeros(0, np.int64)


def _interleave(ca, cb, acc):
    """Pad K with code 0 (+0 in every format) and permute it into step order (exact: zero
    products take no part in a step)."""
    K = ca.shape[1]
    Kp = -(-K // acc.interleave_group) * acc.interleave_group
    if Kp != K:
        ca = np.concatenate([ca, np.zeros((ca.shape[0], Kp - K), ca.dtype)], axis=1)
        cb = np.concatenate([cb, np.zeros((cb.shape[0], Kp - K), cb.dtype)], axis=1)
    p = interleave_order(K, acc.interleave_group, acc.interleave_run, acc.block_size)
    return np.ascontiguousarray(ca[:, p]), np.ascontiguousarray(cb[:, p])
