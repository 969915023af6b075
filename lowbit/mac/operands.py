"""Operand codes decoded to exact integer fields for the MAC kernels.

Every finite code of a format is ``(-1)^s · sig · 2^q`` with ``sig`` a non-negative
integer; ``e`` is the exponent the tensor-core alignment uses: the binade exponent of a
normal number (field − bias), the format's minimum exponent ``emin`` for a subnormal
(IEEE 754-2019 §3.4 c, OCP 8-bit FP v1.0 §4.1), and ``floor(log2|v|)`` for an integer code.
A product of two codes is then ``sig_a·sig_b · 2^(q_a+q_b)``, exact in int64, with
alignment exponent ``e_a + e_b``.

Tables are built from :func:`lowbit.decode` over all codes plus the Format fields, and
checked against each other: ``sig · 2^q`` must equal the decoded value exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..codec import check_codes, decode
from ..formats import INF, NAN, Format, format as lookup

FINITE, INFINITE, NOT_A_NUMBER = 0, 1, 2  # special-value classes carried into kernels


@dataclass(frozen=True)
class OperandTables:
    """Per-code tables of one format (index = code bit pattern)."""

    fmt: Format
    sig: np.ndarray  # int64, signed: sign folded in (±1 for ±Inf, 0 for zero and NaN)
    q: np.ndarray  # int64: value = sig * 2**q
    e: np.ndarray  # int64: alignment exponent (meaningless where sig == 0)
    special: np.ndarray  # int8: FINITE, INFINITE, NOT_A_NUMBER


@lru_cache(maxsize=None)
def tables(fmt) -> OperandTables:
    """Build (once per format) the exact integer decode tables of every code of ``fmt``.

    Raises:
      ValueError: formats wider than 16 bits (no per-code table).
    """
    fmt = lookup(fmt)
    if fmt.bits > 16:
        raise ValueError(
            f"MAC operands must be formats of at most 16 bits, got {fmt.name!r} ({fmt.bits} bits)"
        )
    n = fmt.num_codes
    codes = np.arange(n, dtype=np.int64)
    values = decode(codes.astype(fmt.code_dtype), fmt)
    classes = fmt.classes
    sig = np.zeros(n, np.int64)
    q = np.zeros(n, np.int64)
    e = np.zeros(n, np.int64)
    special = np.zeros(n, np.int8)
    for c in range(n):
        v = float(values[c])
        cls = int(classes[c])
        if cls == NAN:
            special[c] = NOT_A_NUMBER
            continue
        neg = v < 0 or (v == 0 and np.signbit(v))
        if cls == INF:
            special[c] = INFINITE
            sig[c] = -1 if neg else 1
            continue
        if v == 0:
            continue
        if fmt.is_int:
            s = int(round(abs(v) * (1 << fmt.frac_bits)))
            qq = -fmt.frac_bits
            ee = s.bit_length() - 1 + qq
        else:
            mag = c & ((1 << (fmt.ebits + fmt.mbits)) - 1)
            field = mag >> fmt.mbits
            man = mag & ((1 << fmt.mbits) - 1)
            if field == 0 and fmt.has_subnormals:
                ee, s = fmt.emin, man
            else:
                ee, s = field - fmt.bias, (1 << fmt.mbits) | man
            qq = ee - fmt.mbits
        if float(np.ldexp(float(s), qq)) != abs(v):
            raise AssertionError(f"{fmt.name} code {c:#x}: {s}*2^{qq} != {abs(v)!r}")
        sig[c] = -s if neg else s
        q[c], e[c] = qq, ee
    for arr in (sig, q, e, special):
        arr.setflags(write=False)
    return OperandTables(fmt, sig, q, e, special)


def codes_for_kernel(codes, fmt, name: str) -> np.ndarray:
    """Validate ``codes`` for ``fmt`` and return them as table indices (uint8 / uint16).

    Integer formats accept two's-complement negatives (int8 −1 is code 0xFF).

    Raises:
      ValueError: a code out of range for the format (the message names the operand).
      TypeError: non-integer codes.
    """
    fmt = lookup(fmt)
    try:
        c = check_codes(codes, fmt)
    except (ValueError, TypeError) as err:
        raise type(err)(f"{name}: {err}") from None
    return c.astype(np.uint8 if fmt.bits <= 8 else np.uint16)


def has_special(codes: np.ndarray, t: OperandTables, axis: int) -> np.ndarray:
    """Per row (axis=1) or column (axis=0): does it hold a NaN or Inf code?"""
    if codes.size == 0:
        return np.zeros(codes.shape[1 - axis], np.bool_)
    return (t.special[codes] != FINITE).any(axis=axis)


@lru_cache(maxsize=None)
def values32(fmt) -> np.ndarray:
    """float32 value of every code (exact: every format here fits float32)."""
    t = tables(fmt)
    v = np.ldexp(t.sig.astype(np.float64), t.q.astype(np.int32))
    v = np.where(t.special == INFINITE, np.where(t.sig < 0, -np.inf, np.inf), v)
    v = np.where(t.special == NOT_A_NUMBER, np.nan, v)
    out = v.astype(np.float32)
    assert np.array_equal(out.astype(np.float64), v, equal_nan=True)
    out.setflags(write=False)
    return out
