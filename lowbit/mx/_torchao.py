"""torchao's element codes for blocks holding NaN, where they depend on NaN bit patterns.

torchao's eager code computes such blocks with float32 arithmetic whose NaN results carry the
x86 NaN-propagation rules (a NaN operand is returned quieted; Inf/Inf gives the default NaN
0xFFC00000), then casts: fp8 through c10 (NaN -> 0x7F | sign) and fp6/fp4 through
``custom_fp_utils._f32_to_floatx_unpacked``, which turns a NaN's bits into an ordinary code.
These few blocks are recomputed here with NumPy float32 operations in torchao's order, so the
codes are torchao's; the exact arithmetic of every other block stays in the Numba kernel.
"""

from __future__ import annotations

import numpy as np

from .. import codec
from ..rules import Rules


def _floatx_code(y: np.ndarray, ebits: int, mbits: int) -> np.ndarray:
    """torchao custom_fp_utils._f32_to_floatx_unpacked, element by element on float32 y."""
    exp_bias = (1 << (ebits - 1)) - 1
    max_int = (1 << (ebits + mbits)) - 1
    sign_mask = 1 << (ebits + mbits)
    magic_adder = (1 << (23 - mbits - 1)) - 1
    max_normal = 2.0 ** ((1 << ebits) - 1 - exp_bias) * (((1 << (mbits + 1)) - 1) / 2.0**mbits)
    min_normal = 2.0 ** (1 - exp_bias)
    denorm_exp = (127 - exp_bias) + (23 - mbits) + 1
    denorm_mask_int = denorm_exp << 23
    denorm_mask_float = np.array([denorm_mask_int], dtype=np.int32).view(np.float32)[0]
    xi = y.astype(np.float32).view(np.int32).astype(np.int64)
    sign = xi & 0x80000000
    xi = xi ^ sign
    x = xi.astype(np.int32).view(np.float32)
    with np.errstate(invalid="ignore"):
        sat = x >= max_normal
        den = ~sat & (x < min_normal)
    normal = ~(sat | den)
    with np.errstate(over="ignore", invalid="ignore"):
        dx = (x + denorm_mask_float).astype(np.float32).view(np.int32).astype(np.int64) - denorm_mask_int
    dx = dx & 0xFF
    nx = x.view(np.int32).astype(np.int64)
    odd = (nx >> (23 - mbits)) & 1
    nx = nx + ((exp_bias - 127) << 23) + magic_adder + odd
    nx = (nx >> (23 - mbits)) & 0xFF
    out = np.full(x.shape, max_int, dtype=np.int64)
    out = np.where(den, dx, out)
    out = np.where(normal, nx, out)
    sign_lp = (sign >> (23 + 8 - mbits - ebits)) & sign_mask
    return ((out | sign_lp) & 0xFF).astype(np.uint8)


def _cast(y: np.ndarray, elem, max_pos: float) -> np.ndarray:
    """torchao's cast of scaled float32 values to element codes."""
    if elem.bits == 8:
        codes = np.zeros(y.shape, dtype=np.uint8)
        nan = np.isnan(y)
        sign = (y.view(np.uint32) >> 31).astype(np.uint8)
        codes[nan] = 0x7F | (sign[nan] << 7)
        fin = ~nan
        if fin.any():
            codes[fin] = codec.encode(np.clip(y[fin], -max_pos, max_pos), elem, rounding="nearest_even", overflow="saturate")
        return codes
    return _floatx_code(y, elem.ebits, elem.mbits)


def fix_nonfinite_blocks(moved, elements, scales, flagged, f, bs, scale_rule):
    """Recompute the element codes of NaN-scaled blocks as torchao's to_mx does."""
    length = moved.shape[-1]
    x = np.ascontiguousarray(moved.astype(np.float32, copy=False)).reshape(-1, length)
    nblk = -(-length // bs)
    elem = f.element
    max_pos = np.float32(elem.max_finite)
    el = elements.reshape(-1, length)
    for t in np.flatnonzero(flagged):
        if scales[t] != 255:
            continue
        r, j = divmod(int(t), nblk)
        blk = x[r, j * bs:(j + 1) * bs]
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            if scale_rule == "rceil":
                amax = np.max(np.abs(blk)).astype(np.float32)
                descale = np.float32(amax) / max_pos
                y = (blk * np.float32(descale)).astype(np.float32)
            else:
                y = (blk / np.float32(np.inf)).astype(np.float32)
        el[r, j * bs:(j + 1) * bs] = _cast(y, elem, max_pos)


def fix_nonfinite_nvfp4(moved, elements, scales, flagged, bs, has_ts, ts):
    """Recompute NaN blocks as torchao's nvfp4_quantize does (float32 steps, NaN bits kept)."""
    length = moved.shape[-1]
    x = np.ascontiguousarray(moved.astype(np.float32, copy=False)).reshape(-1, length)
    nblk = -(-length // bs)
    el = elements.reshape(-1, length)
    for t in np.flatnonzero(flagged):
        r, j = divmod(int(t), nblk)
        blk = x[r, j * bs:(j + 1) * bs]
        if not np.isnan(blk).any():
            continue
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            amax = np.max(np.abs(blk)).astype(np.float32)
            block_scale = np.float32(amax) / np.float32(6.0)
            if has_ts:
                block_scale = np.float32(block_scale) / np.float32(ts)
            # the clamp keeps NaN, the cast gives e4m3fn 0x7F, and c10 widens that to the
            # float32 NaN 0x7FF00000; 1/NaN and the product keep that NaN (observed on torch
            # 2.13 CPU: x * recip returns recip's NaN even where x is itself NaN)
            sf = np.array([0x7FF00000], dtype=np.uint32).view(np.float32)[0]
            if has_ts:
                recip = (np.float32(1.0) / np.float32(ts)) / sf
            else:
                recip = np.float32(1.0) / sf
            y = np.full(blk.shape, recip, dtype=np.float32)
        scales[t] = 0x7F
        el[r, j * bs:(j + 1) * bs] = _floatx_code(y, 2, 1)
