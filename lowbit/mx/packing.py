"""Packing element codes for storage and for kernels.

Codes of ``bits`` ∈ {2, 4, 6, 8} are packed along the last axis as one little-endian bit
stream: element i occupies bits [bits·i, bits·(i+1)) of the stream, and stream bit b is bit
b % 8 of byte b // 8.  So

* 8 bits: one code per byte (unchanged);
* FP4 / INT4: two per byte, the first element in the low nibble — torch's ``float4_e2m1fn_x2``
  and torchao's ``pack_uint4`` (``byte = e[2i] | e[2i+1] << 4``);
* INT2: four per byte, element 0 in bits 0–1;
* FP6: four elements in three bytes:
  ``byte0 = e0 | (e1 & 0x3) << 6``, ``byte1 = e1 >> 2 | (e2 & 0xF) << 4``, ``byte2 = e2 >> 4 | e3 << 2``.

A last axis whose bit count is not a whole number of bytes (an odd count of FP4 codes, a count
of FP6 codes not divisible by 4) is padded with zero codes; :func:`unpack` takes ``count`` to
drop them again.
"""

from __future__ import annotations

import numpy as np

from ..formats import Format, format as lookup

PACK_BITS = (2, 4, 6, 8)


def _bits_of(fmt_or_bits) -> int:
    if isinstance(fmt_or_bits, (int, np.integer)) and not isinstance(fmt_or_bits, bool):
        bits = int(fmt_or_bits)
    else:
        from .formats import MXFormat, mx_format

        if isinstance(fmt_or_bits, MXFormat):
            bits = fmt_or_bits.element.bits
        elif isinstance(fmt_or_bits, Format):
            bits = fmt_or_bits.bits
        else:
            try:
                bits = mx_format(fmt_or_bits).element.bits
            except (ValueError, TypeError):
                bits = lookup(fmt_or_bits).bits
    if bits not in PACK_BITS:
        raise ValueError(f"cannot pack {bits}-bit codes; allowed widths: {', '.join(map(str, PACK_BITS))}")
    return bits


def pack(codes, fmt) -> np.ndarray:
    """Pack codes (``fmt``: a block format, element format or bit width) along the last axis.

    Returns uint8 of shape (..., ceil(n·bits / 8)).

    Raises:
      TypeError: non-integer codes.  ValueError: a code that does not fit in ``bits``; an
      unsupported width.
    """
    bits = _bits_of(fmt)
    c = np.asarray(codes)
    if c.dtype.kind not in "iu":
        raise TypeError(f"codes must be an integer array, got dtype {c.dtype}")
    if c.ndim == 0:
        c = c.reshape(1)
    c64 = c.astype(np.int64)
    bad = (c64 < 0) | (c64 >= (1 << bits))
    if bad.any():
        raise ValueError(f"code {int(c64[bad][0])} does not fit in {bits} bits; allowed: 0..{(1 << bits) - 1}")
    c8 = c64.astype(np.uint8)
    if bits == 8:
        return np.ascontiguousarray(c8)
    per = {2: 4, 4: 2, 6: 4}[bits]  # codes per group
    n = c8.shape[-1]
    pad = (-n) % per
    if pad:
        c8 = np.concatenate([c8, np.zeros(c8.shape[:-1] + (pad,), dtype=np.uint8)], axis=-1)
    g = c8.reshape(c8.shape[:-1] + (-1, per))
    if bits == 4:
        out = g[..., 0] | (g[..., 1] << 4)
        return np.ascontiguousarray(out.reshape(c8.shape[:-1] + (-1,)))
    if bits == 2:
        out = g[..., 0] | (g[..., 1] << 2) | (g[..., 2] << 4) | (g[..., 3] << 6)
        return np.ascontiguousarray(out.reshape(c8.shape[:-1] + (-1,)))
    e0, e1, e2, e3 = (g[..., k] for k in range(4))
    b0 = e0 | ((e1 & 0x3) << 6)
    b1 = (e1 >> 2) | ((e2 & 0xF) << 4)
    b2 = (e2 >> 4) | (e3 << 2)
    out = np.stack([b0, b1, b2], axis=-1).astype(np.uint8)
    return np.ascontiguousarray(out.reshape(c8.shape[:-1] + (-1,)))


def unpack(packed, fmt, count: int | None = None) -> np.ndarray:
    """Inverse of :func:`pack`: uint8 codes along the last axis, ``count`` of them if given
    (default: every code the bytes hold).

    Raises:
      TypeError: packed is not uint8.  ValueError: a byte count that does not hold whole
      groups (FP6: a multiple of 3 bytes), or ``count`` beyond what the bytes hold.
    """
    bits = _bits_of(fmt)
    p = np.asarray(packed)
    if p.dtype != np.uint8:
        raise TypeError(f"packed data must be uint8, got dtype {p.dtype}")
    if p.ndim == 0:
        p = p.reshape(1)
    if bits == 8:
        out = p.copy()
    elif bits == 4:
        out = np.stack([p & 0xF, p >> 4], axis=-1).reshape(p.shape[:-1] + (-1,))
    elif bits == 2:
        out = np.stack([(p >> s) & 0x3 for s in (0, 2, 4, 6)], axis=-1).reshape(p.shape[:-1] + (-1,))
    else:
        if p.shape[-1] % 3:
            raise ValueError(f"FP6 packing uses groups of 3 bytes; got {p.shape[-1]} bytes on the last axis")
        g = p.reshape(p.shape[:-1] + (-1, 3))
        b0, b1, b2 = g[..., 0], g[..., 1], g[..., 2]
        e0 = b0 & 0x3F
        e1 = (b0 >> 6) | ((b1 & 0xF) << 2)
        e2 = (b1 >> 4) | ((b2 & 0x3) << 4)
        e3 = b2 >> 2
        out = np.stack([e0, e1, e2, e3], axis=-1).astype(np.uint8).reshape(p.shape[:-1] + (-1,))
    if count is not None:
        if not 0 <= count <= out.shape[-1]:
            raise ValueError(f"count {count} out of range: the bytes hold {out.shape[-1]} codes")
        out = out[..., :count]
    return np.ascontiguousarray(out)
