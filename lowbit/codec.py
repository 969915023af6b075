"""encode and decode: the Python layer over the bit-field kernels.

This layer validates input, resolves the rules (profile, then explicit keywords) and
dispatches to the one round-and-pack kernel; errors name the bad value and what is
allowed, and never come from inside Numba.
"""

from __future__ import annotations

from functools import lru_cache

import ml_dtypes
import numpy as np

from . import _kernels as K
from .formats import Format, format as lookup
from .profiles import resolve
from .rules import Rules, check_rules_for

# Source floating-point dtypes: (exponent bits, trailing significand bits, total bits).
_SOURCES = {
    np.dtype(np.float64): (11, 52, 64, np.uint64),
    np.dtype(np.float32): (8, 23, 32, np.uint32),
    np.dtype(np.float16): (5, 10, 16, np.uint16),
    np.dtype(ml_dtypes.bfloat16): (8, 7, 16, np.uint16),
}
SOURCE_DTYPES = tuple(d.name for d in _SOURCES)


def params(fmt: Format, rules: Rules | None = None, src: np.dtype = np.dtype(np.float64), srnumbits: int = 0) -> np.ndarray:
    """The kernels' parameter vector for one format, rule bundle and source dtype."""
    rules = rules or Rules()
    se, sm, sb, _ = _SOURCES[np.dtype(src)]
    p = np.zeros(K.N_PARAMS, dtype=np.int64)
    p[K.P_BITS] = fmt.bits
    p[K.P_EBITS] = fmt.ebits
    p[K.P_MBITS] = fmt.mbits
    p[K.P_BIAS] = fmt.bias
    p[K.P_SIGNED] = int(fmt.signed)
    p[K.P_SPECIALS] = K.specials_code(fmt)
    p[K.P_FRAC] = fmt.frac_bits
    p[K.P_SYMMETRIC] = int(fmt.symmetric)
    p[K.P_ROUNDING] = K.ROUNDING_CODE[rules.rounding]
    p[K.P_OVERFLOW] = K.OVERFLOW_CODE[rules.overflow]
    p[K.P_NAN] = K.NAN_CODE[rules.nan]
    p[K.P_INF] = K.INF_CODE[rules.inf]
    p[K.P_ZERO_RULE] = K.ZERO_RULE_CODE[rules.zero]
    p[K.P_NEG_RULE] = K.NEG_RULE_CODE[rules.negative]
    p[K.P_SRNUMBITS] = srnumbits
    p[K.P_SUBNORM] = K.SUBNORM_CODE[rules.subnormals]
    p[K.P_SRC_EBITS], p[K.P_SRC_MBITS], p[K.P_SRC_BITS] = se, sm, sb
    p[K.P_CODE0] = K.CODE0_CODE[rules.code0]
    return p


def _as_float_array(x) -> np.ndarray:
    from .interop import as_values

    arr = np.asarray(as_values(x))  # torch tensors: their values, exactly
    if arr.dtype.kind in "iub" and not isinstance(x, np.ndarray):
        arr = arr.astype(np.float64)  # Python ints / lists of ints: exact as float64 below 2^53
    if arr.dtype not in _SOURCES:
        raise TypeError(
            f"unsupported input dtype {arr.dtype}; allowed: {', '.join(SOURCE_DTYPES)} "
            "(cast integers to float64 first)"
        )
    return arr


def encode(
    x,
    fmt,
    *,
    rounding: str | None = None,
    overflow: str | None = None,
    profile: str | None = None,
    nan: str | None = None,
    srbits=None,
    srnumbits: int | None = None,
    seed: int | None = None,
    **rule_overrides,
) -> np.ndarray:
    """Encode floating-point values into codes of ``fmt``, bit by bit.

    Args:
      x: float64, float32, float16 or bfloat16 array (any shape), or Python numbers.
      fmt: a format name, dtype or :class:`lowbit.Format`.
      rounding: one of :data:`lowbit.rules.ROUNDINGS`; default nearest_even (IEEE 754 §4.3.1).
      overflow: ``saturate`` or ``nonsaturating`` (OCP 8-bit FP v1.0 §4.4), or ``wrap``
        (integers); default: non-saturating where the format has Inf or NaN.
      profile: a named rule bundle (``lowbit.profiles.PROFILES``), e.g. ``"ml_dtypes"``;
        explicit keywords override it.
      nan: what a NaN input becomes (see :data:`lowbit.rules.NAN_RULES`).
      srbits: stochastic rounding: the random bits, one integer in [0, 2^srnumbits) per element.
      srnumbits: how many random bits stochastic rounding uses (1..32; default 16).
      seed: stochastic rounding without ``srbits``: draw them from ``numpy.random.default_rng(seed)``.
      rule_overrides: other :class:`lowbit.rules.Rules` fields (inf, zero, negative, subnormals).

    Returns:
      codes of ``fmt.code_dtype`` (uint8, uint16 or uint32), x's shape.

    Raises:
      ValueError: unknown format / rounding / overflow / profile; NaN into a format without
        NaN (unless saturating); non-saturating overflow into a format with neither Inf nor NaN.
      TypeError: unsupported input dtype.
    """
    fmt = lookup(fmt)
    arr = _as_float_array(x)
    rules = resolve(profile, fmt, arr.dtype)
    rules = rules.replace(rounding=rounding, overflow=overflow, nan=nan, **rule_overrides)
    if not fmt.has_nan and rules.nan == "error" and rules.overflow in ("saturate", "wrap", "wrap_int32", "zero"):
        rules = rules.replace(nan="zero")
    check_rules_for(rules, fmt)
    if rules.float64_input == "via_float32" and arr.dtype == np.float64:
        with np.errstate(over="ignore", invalid="ignore"):
            arr = arr.astype(np.float32)  # first rounding (nearest-even), as ml_dtypes < 0.7 does

    flat = np.ascontiguousarray(arr).reshape(-1)
    n = flat.size
    nb = 0
    sr = np.zeros(0, dtype=np.int64)
    if rules.rounding.startswith("stochastic"):
        nb = 16 if srnumbits is None else int(srnumbits)
        if not 1 <= nb <= 32:
            raise ValueError(f"srnumbits={srnumbits} out of range; allowed: 1..32")
        if srbits is None:
            sr = np.random.default_rng(seed).integers(0, 1 << nb, size=n, dtype=np.int64)
        else:
            sr = np.asarray(srbits)
            if sr.dtype.kind not in "iu":
                raise TypeError(f"srbits must be an integer array, got dtype {sr.dtype}")
            try:
                sr = np.broadcast_to(sr, arr.shape).reshape(-1).astype(np.int64)
            except ValueError:
                raise ValueError(
                    f"srbits shape {sr.shape} does not broadcast to the input's shape {arr.shape}; "
                    "give one random integer per element (or one for all)"
                ) from None
            bad = (sr < 0) | (sr >= (1 << nb))
            if bad.any():
                raise ValueError(
                    f"srbits value {int(sr[bad][0])} out of range for srnumbits={nb}; allowed: 0..{(1 << nb) - 1}"
                )
    elif srbits is not None or srnumbits is not None:
        raise ValueError(f"srbits/srnumbits apply to stochastic rounding only, not rounding={rules.rounding!r}")

    raw = flat.view(_SOURCES[arr.dtype][3])
    out = np.empty(n, dtype=fmt.code_dtype)
    table = _encode_table(fmt, rules, arr.dtype) if n >= _TABLE_MIN_N and not nb else None
    if table is not None:
        (K.gather_f32 if arr.dtype == np.float32 else K.gather_16)(raw, table, out)
        flags = 0
    else:
        kernel = K.encode_array if n >= _PARALLEL_MIN_N else K.encode_array_serial
        flags = kernel(raw, params(fmt, rules, arr.dtype, nb), sr, out) if n else 0
    if flags & K.FLAG_NAN_ERROR:
        raise ValueError(
            f"NaN input has no code in {fmt.name!r} (the format has no NaN); "
            "pass overflow='saturate' or nan='zero' to choose a code"
        )
    if flags & K.FLAG_OVERFLOW_ERROR:
        raise ValueError(
            f"a value beyond ±{fmt.max_finite:g} (or ±Inf) has no code in {fmt.name!r} under "
            "overflow='nonsaturating' (the format has neither Inf nor NaN); use overflow='saturate'"
        )
    return out.reshape(arr.shape)


_TABLE_MIN_N = 1 << 18  # below this, building a table costs more than encoding directly
_PARALLEL_MIN_N = 1 << 16  # below this, starting threads costs more than the work


@lru_cache(maxsize=64)
def _encode_table(fmt: Format, rules: Rules, src: np.dtype):
    """Every code, keyed by the input bits that can matter, built by the one round-and-pack
    routine; None where no exact table exists (see ``_kernels.F32_KEY_SHIFT``) or where an
    entry would raise (the caller then runs the kernel, which reports the bad input)."""
    if src == np.float32:
        if fmt.is_int or fmt.mbits > 7 or fmt.emin - fmt.mbits < -149 + 16:
            return None
        key = np.arange(1 << 18, dtype=np.uint32)
        reps = ((key >> 1) << K.F32_KEY_SHIFT) | (key & 1)  # representative input of each key
    elif src in (np.dtype(np.float16), np.dtype(ml_dtypes.bfloat16)):
        reps = np.arange(1 << 16, dtype=np.uint16)
    else:
        return None
    table = np.empty(reps.size, dtype=fmt.code_dtype)
    flags = np.empty(reps.size, dtype=np.int64)
    K.build_table(reps, params(fmt, rules, src, 0), table, flags)
    if flags.any():
        return None
    table.setflags(write=False)
    return table


@lru_cache(maxsize=None)
def _decode_table(fmt: Format) -> np.ndarray:
    codes = np.arange(fmt.num_codes, dtype=np.int64)
    out = np.empty(codes.size, dtype=np.float64)
    K.decode_array(codes, params(fmt), out)
    out.setflags(write=False)
    return out


def check_codes(codes, fmt: Format) -> np.ndarray:
    """Validate an array of codes for ``fmt``; returns them as int64.

    Accepts any integer dtype; for integer formats, int8-style negative values are read as
    two's-complement bit patterns.
    """
    arr = np.asarray(codes)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"codes must be an integer array (bit patterns), got dtype {arr.dtype}")
    c = arr.astype(np.int64)
    if fmt.is_int and arr.dtype.kind == "i":
        lo = -(1 << (fmt.bits - 1))
        bad = (c < lo) | (c >= (1 << fmt.bits))
        c = c & ((1 << fmt.bits) - 1)
    else:
        bad = (c < 0) | (c >= (1 << fmt.bits))
    if bad.any():
        v = int(np.asarray(arr)[bad].reshape(-1)[0])
        raise ValueError(
            f"code {v:#x} out of range for {fmt.bits}-bit format {fmt.name!r}; allowed: 0x0..{(1 << fmt.bits) - 1:#x}"
        )
    return c


def decode(codes, fmt, dtype=np.float64) -> np.ndarray:
    """Decode codes of ``fmt`` to values (exact in float64; rounded to nearest even in a narrower dtype).

    Raises:
      ValueError: a code out of range for the format (e.g. 0x10 for a 4-bit format).
      TypeError: non-integer codes.
    """
    fmt = lookup(fmt)
    dtype = np.dtype(dtype)
    arr = np.asarray(codes)
    if fmt.bits <= 16 and arr.dtype.kind == "u" and arr.size:
        # Fast path: unsigned bit patterns; one min/max pass instead of an int64 copy.
        if arr.dtype.itemsize * 8 > fmt.bits and int(arr.max()) >> fmt.bits:
            check_codes(arr, fmt)  # raises, naming the first bad code
        table = _decode_table(fmt) if dtype == np.float64 else _narrow_table(fmt, dtype)
        flat = np.ascontiguousarray(arr).reshape(-1)
        out = np.empty(flat.size, dtype=dtype)
        K.gather_16(flat, table, out) if dtype in _GATHER_DTYPES else np.take(table, flat, out=out)
        return out.reshape(arr.shape)
    c = check_codes(arr, fmt)
    if fmt.bits <= 16:
        table = _decode_table(fmt)
        if dtype != np.float64:
            table = _narrow_table(fmt, dtype)
        return table[c]
    flat = c.reshape(-1)
    out = np.empty(flat.size, dtype=np.float64)
    if flat.size:
        K.decode_array(flat, params(fmt), out)
    out = out.reshape(c.shape)
    return out if dtype == np.float64 else out.astype(dtype)


# Output dtypes the Numba gather kernel can write (Numba has no float16 arrays: float16 and
# bfloat16 outputs go through np.take).
_GATHER_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))


@lru_cache(maxsize=None)
def _narrow_table(fmt: Format, dtype: np.dtype) -> np.ndarray:
    with np.errstate(over="ignore"):  # values beyond the dtype's range become ±Inf, as a cast does
        return _decode_table(fmt).astype(dtype)
