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


# ------------------------------------------------------------------------------------
# float32 operands (TF32 and FP32 paths): too many codes for a per-format table
# ------------------------------------------------------------------------------------
def to_tf32_bits(bits: np.ndarray, rounding: str) -> np.ndarray:
    """float32 bit patterns (int64 array) cut to TF32 (NVIDIA TensorFloat-32: float32's 8
    exponent bits, 10 fraction bits): the 13 low fraction bits of every finite value dropped
    (``"toward_zero"``) or rounded off (``"nearest_even"``, ``"nearest_away"`` = PTX
    ``cvt.rna.tf32.f32``; a carry raises the exponent, IEEE 754-2019 §4.3); ``"none"``
    returns them unchanged.  ±Inf and NaN pass unchanged."""
    if rounding == "none":
        return bits
    finite = ((bits >> 23) & 0xFF) != 0xFF
    low = bits & 0x1FFF
    if rounding == "toward_zero":
        up = np.zeros(bits.shape, np.bool_)
    elif rounding == "nearest_even":
        up = (low > 0x1000) | ((low == 0x1000) & (((bits >> 13) & 1) == 1))
    elif rounding == "nearest_away":
        up = low >= 0x1000
    else:
        raise ValueError(f"TF32 rounding {rounding!r} is not allowed; allowed: none, toward_zero, nearest_even, "
                         "nearest_away")
    return np.where(finite, (bits & ~np.int64(0x1FFF)) + np.where(up, 0x2000, 0), bits)


def float32_fields(bits, input_rounding: str = "none"):
    """float32 bit patterns -> exact integer fields (sig, q, e, special) for the MAC kernels.

    ``input_rounding`` (see :func:`to_tf32_bits`) first cuts every value to TF32.
    IEEE 754-2019 §3.4: value = (−1)^s · sig · 2^q, e = the binade exponent (emin = −126
    for subnormals).

    Raises:
      ValueError: unknown ``input_rounding``.  TypeError: not float32 / uint32.
    """
    from .accumulators import INPUT_ROUNDINGS

    if input_rounding not in INPUT_ROUNDINGS:
        raise ValueError(f"input_rounding={input_rounding!r} is not allowed; allowed: {', '.join(INPUT_ROUNDINGS)}")
    b = np.asarray(bits)
    if b.dtype == np.float32:
        b = b.view(np.uint32)
    if b.dtype != np.uint32:
        raise TypeError(f"float32 operands must be float32 or uint32 bit patterns, got dtype {b.dtype}")
    b = to_tf32_bits(b.astype(np.int64), input_rounding)
    field = (b >> 23) & 0xFF
    finite = field != 0xFF
    man = b & 0x7FFFFF
    sign = (b >> 31) & 1
    sub = field == 0
    e = np.where(sub, -126, field - 127)
    s = np.where(sub, man, man | 0x800000)
    sig = np.where(sign == 1, -s, s)
    special = np.where(finite, FINITE, np.where(man == 0, INFINITE, NOT_A_NUMBER)).astype(np.int8)
    sig = np.where(special == FINITE, sig, np.where(special == INFINITE, np.where(sign == 1, -1, 1), 0))
    return sig.astype(np.int64), (e - 23).astype(np.int64), e.astype(np.int64), special


def float32_table(bits: np.ndarray, input_rounding: str, order: str = "C"):
    """One float32 operand as its own code table: entry t holds the fields of element t.

    ``order`` lays the table out along the operand's memory order the kernel walks (``"C"``
    for A, M×K; ``"F"`` for B, K×N, so that each column's K elements are adjacent).
    Returns (indices int64 of the shape of ``bits``, (sig, q, e, special))."""
    b = np.asarray(bits, np.uint32)
    idx = np.arange(b.size, dtype=np.int64).reshape(b.shape, order=order)
    return idx, float32_fields(b.ravel(order=order), input_rounding)


def tf32x3_operands(a_bits: np.ndarray, b_bits: np.ndarray, block_k: int):
    """Rearrange float32 A (M×K) and B (K×N) bit patterns for Triton's 3xTF32 chain.

    Triton's PTX (``cvt.rna.tf32.f32``, ``sub.f32``, three groups of ``wgmma m64n64k8 tf32``
    per ``tl.dot``, ``add.f32``): each operand x splits into big = x rounded to TF32
    (nearest, ties away) and small = x − big (exact in float32).  Per block of ``block_k``
    along K (zero-padded at the end), A becomes [small_a | big_a | big_a] and B [big_b ;
    small_b ; big_b], so that one fused-block chain over the new K (3·block_k per block,
    promoted after each) runs small_a·big_b, big_a·small_b, big_a·big_b.  Operands ±Inf or
    NaN take no part in the two small-part segments (Triton replaces the NaN small-part sum
    they cause by 0; the big part carries them into the result).  Returns uint32 bit
    patterns of shapes M×3K' and 3K'×N (K' = K rounded up to block_k).
    """
    a = np.asarray(a_bits, np.uint32).view(np.float32)
    b = np.asarray(b_bits, np.uint32).view(np.float32)
    pad = -a.shape[1] % block_k
    a = np.pad(a, ((0, 0), (0, pad)))
    b = np.pad(b, ((0, pad), (0, 0)))

    def rna(x):
        return to_tf32_bits(x.view(np.uint32).astype(np.int64), "nearest_away").astype(np.uint32).view(np.float32)

    with np.errstate(invalid="ignore"):
        a_big, b_big = rna(a), rna(b)
        a_small = (a - a_big).astype(np.float32)
        b_small = (b - b_big).astype(np.float32)
    a_small[~np.isfinite(a_small)] = 0
    b_small[~np.isfinite(b_small)] = 0
    a_big_s = np.where(np.isfinite(a_big), a_big, np.float32(0))
    b_big_s = np.where(np.isfinite(b_big), b_big, np.float32(0))
    ta, tb = [], []
    for k0 in range(0, a.shape[1], block_k):
        s = slice(k0, k0 + block_k)
        ta += [a_small[:, s], a_big_s[:, s], a_big[:, s]]
        tb += [b_big_s[s, :], b_small[s, :], b_big[s, :]]
    if not ta:
        return np.zeros((a.shape[0], 0), np.uint32), np.zeros((0, b.shape[1]), np.uint32)
    return (np.ascontiguousarray(np.concatenate(ta, axis=1)).view(np.uint32),
            np.ascontiguousarray(np.concatenate(tb, axis=0)).view(np.uint32))
