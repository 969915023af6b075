"""Numba kernels of the codec: plain loops over integer bit fields.

There is exactly one round-and-pack routine (:func:`round_pack`, after Berkeley
SoftFloat's ``roundPackTo…``): every encode computes an exact sign, integer
significand and exponent from the input's bits, then calls it.  It applies the
rounding mode, detects overflow, and packs the code.  Decoding is one routine
(:func:`decode_one`).  The Python layer (:mod:`lowbit.codec`) validates input and
chooses the parameters; nothing here raises.

Parameters travel as one int64 array ``p`` indexed by the P_* constants below, so a
kernel is compiled once for every format, rounding and overflow rule.
"""

from __future__ import annotations

import math

import numba
import numpy as np

# ---- parameter vector layout ----------------------------------------------------------
P_BITS, P_EBITS, P_MBITS, P_BIAS, P_SIGNED, P_SPECIALS, P_FRAC, P_SYMMETRIC = range(8)
P_ROUNDING, P_OVERFLOW, P_NAN, P_INF, P_ZERO_RULE, P_NEG_RULE, P_SRNUMBITS, P_SUBNORM = range(8, 16)
P_SRC_EBITS, P_SRC_MBITS, P_SRC_BITS, P_CODE0 = range(16, 20)
N_PARAMS = 20

SPECIALS_CODE = {"ieee": 0, "fn": 1, "fnuz": 2, "finite": 3, "p3109": 4, "exponent_only": 5, "int": 6,
                 "p3109_finite": 7}  # 4: P3109 extended domain (±Inf), 7: P3109 finite domain


def specials_code(fmt) -> int:
    """The kernels' specials code of a :class:`lowbit.Format` (P3109: one code per domain)."""
    if fmt.specials == "p3109" and fmt.domain == "finite":
        return SPECIALS_CODE["p3109_finite"]
    return SPECIALS_CODE[fmt.specials]

# Rounding modes (IEEE 754-2019 §4.3 plus round-to-odd and gfloat's stochastic modes).
ROUNDING_CODE = {
    "nearest_even": 0, "nearest_away": 1, "toward_zero": 2, "up": 3, "down": 4, "odd": 5,
    "stochastic": 6, "stochastic_odd": 7, "stochastic_fast": 8, "stochastic_fastest": 9,
}
# Overflow: saturate to ±max finite; non-saturating (Inf where the format has it, else NaN);
# wrap modulo 2^bits (integers, as C casts do); integers only: wrap_int32 (a C cast on x86-64:
# truncate to a 32-bit int, out of its range INT_MIN, then the low bits: numpy's float -> int8,
# ml_dtypes < 0.7 int2/int4) and zero (out of range gives 0: ml_dtypes >= 0.7 int casts).
OVERFLOW_CODE = {"saturate": 0, "nonsaturating": 1, "wrap": 2, "zero": 3, "wrap_int32": 4}
# What a NaN input becomes.
NAN_CODE = {
    "nan": 0,            # the format's NaN, input sign kept where the format has signed NaNs
    "zero": 1,           # +0
    "negated_zero": 2,   # zero with the opposite sign (ml_dtypes, formats without NaN)
    "positive_nan": 3,   # the positive canonical NaN whatever the sign (PTX cvt)
    "payload": 4,        # IEEE targets: keep sign and the top payload bits (numpy float16 casts)
    "error": 5,          # flag it; the Python layer raises
    "quiet_payload": 6,  # IEEE targets: keep sign and top payload bits, set the quiet bit
                         # (IEEE 754-2019 §6.2.3; a C double->float cast on x86, numpy's float64->float32)
    "ones": 7,           # every exponent and significand bit set, sign kept (torch's c10 casts: E5M2 0x7F/0xFF)
    "positive_ones": 8,  # every bit but the sign set, whatever the NaN (PTX cvt.rn.satfinite: 0x7F)
}
# What ±Inf becomes: follow the overflow rule, or saturate to ±max finite regardless.
INF_CODE = {"overflow": 0, "saturate": 1}
# Unsigned targets (E8M0): what 0 and negative inputs become.
ZERO_RULE_CODE = {"nan": 0, "min": 1}
NEG_RULE_CODE = {"nan": 0, "abs": 1}
# Subnormal handling of the result: keep (IEEE gradual underflow) or flush to zero.
SUBNORM_CODE = {"keep": 0, "flush": 1}
# E8M0 (no zero): round among the real values (code 0 is 2^-127), or round as if code 0
# were zero, then read it as 2^-127 (ml_dtypes).
# as_zero_even: as as_zero, but a tie goes to the even *code* (ml_dtypes 0.5.0).
CODE0_CODE = {"value": 0, "as_zero": 1, "as_zero_even": 2}

# Status flags returned beside the codes.
FLAG_NAN_ERROR = 1      # NaN into a format without NaN under nan="error"
FLAG_OVERFLOW_ERROR = 2  # overflow/Inf into a format with neither Inf nor NaN, non-saturating


@numba.njit(cache=True, inline="always")
def _mag_code_of(n, q, mbits, bias, is_int):
    """Magnitude code of the value n * 2^q, n already within the format's significand range."""
    if is_int:
        return n
    if n < (np.int64(1) << mbits):
        return n  # subnormal (field 0) or zero
    field = q + mbits + bias
    return (np.int64(field) << mbits) + (n - (np.int64(1) << mbits))


@numba.njit(cache=True)
def round_pack(sign, sig, exp, lead, p, srbits):
    """Round the exact value (−1)^sign · sig · 2^exp to the target format and pack its code.

    sig is a non-negative integer below 2^62 and ``lead`` the exponent of its leading bit
    (floor(log2 of the value)); callers know it from the input's exponent field.
    Returns (code, flags).
    Rounding follows IEEE 754-2019 §4.3 (nearest-even, nearest-away, toward zero, up,
    down), round-to-odd (Boldo & Melquiond), and gfloat's four stochastic modes given
    ``srbits`` (an integer below 2^srnumbits).  Overflow follows IEEE 754-2019 §7.4
    for directed modes and the OCP 8-bit FP v1.0 §4.4 saturating / non-saturating modes.

    P3109 targets (specials 4 and 7) follow the interim report instead where it differs
    (§4.9.3 RoundToPrecision, §4.9.4 Saturate): ties and round-to-odd read the parity of
    the *code* (at P = 1 the exponent field's, not the always-odd significand 1); an
    overflow under round-to-odd is not clamped (±Inf, NaN in the finite domain); into an
    unsigned format a negative value that does not round to 0 gives 0 where the rules
    saturate or round toward zero / up, else NaN.
    """
    bits = p[P_BITS]
    ebits = p[P_EBITS]
    mbits = p[P_MBITS]
    bias = p[P_BIAS]
    signed = p[P_SIGNED]
    specials = p[P_SPECIALS]
    rounding = p[P_ROUNDING]
    is_int = specials == 6
    is_p3109 = specials == 4 or specials == 7
    sign_shift = bits - 1
    flags = 0

    # ---- unsigned targets: negatives and zero (E8M0 has no zero, OCP MX v1.0 §5.4.1)
    neg_unsigned = False  # P3109 unsigned: round the negative value first (§4.9.3), then §4.9.4
    if signed == 0 and sign == 1 and sig != 0:
        if p[P_NEG_RULE] == 0:
            if not is_p3109:
                return np.int64((np.int64(1) << bits) - 1), flags
            neg_unsigned = True
        else:
            sign = 0
    if signed == 0 and not neg_unsigned:
        sign = 0
    if sig == 0:
        if specials == 5:
            if p[P_ZERO_RULE] == 0:
                return np.int64((np.int64(1) << bits) - 1), flags
            return np.int64(0), flags
        if specials == 2 or is_p3109 or specials == 6 or signed == 0:
            return np.int64(0), flags  # no -0 in fnuz, P3109, integers
        return np.int64(sign) << sign_shift, flags

    # ---- exponent of the leading bit, and the quantum 2^q the result is a multiple of
    if is_int:
        q = -p[P_FRAC]
        top_exp = bits - 1 - p[P_FRAC]  # 2^top_exp is beyond the largest magnitude
    else:
        emin = 1 - bias if (specials != 5 or p[P_CODE0] != 0) else -bias
        te = lead if lead > emin else emin
        q = te - mbits
        top_exp = (((np.int64(1) << (ebits + mbits)) - 1) >> mbits) - bias + 1
    max_mag = max_magnitude_code(p)

    overflow = False
    n = np.int64(0)
    if lead > top_exp + 1 and p[P_OVERFLOW] != 2 and not (is_int and p[P_OVERFLOW] == 4 and lead < 32):
        overflow = True  # at least twice the largest binade: overflows in every mode
    else:
        # ---- split the exact value into n * 2^q + remainder; remainder as a 62-bit fraction
        shift = q - exp
        frac62 = np.int64(0)  # floor(remainder / 2^q * 2^62), with a sticky bit in bit 0
        if shift <= 0:
            n = sig << (-shift) if -shift < 62 else np.int64(0)
            if -shift >= 62:
                overflow = True
        elif shift < 63:
            n = sig >> shift
            rem = sig - (n << shift)
            if shift <= 62:
                frac62 = rem << (62 - shift) if 62 - shift < 63 else np.int64(0)
        else:
            n = np.int64(0)
            drop = shift - 62
            if drop < 62:
                frac62 = sig >> drop
                if (frac62 << drop) != sig:
                    frac62 |= 1
            else:
                frac62 = np.int64(1)
        if not overflow and frac62 != 0:
            half = np.int64(1) << 61
            away = False
            # the parity ties and round-to-odd read: the last significand bit, except P3109
            # at P = 1, where it is the code's (the exponent field's; 0 for zero) (§4.9.3)
            odd = (n & 1) == 1
            if is_p3109 and mbits == 0:
                odd = n != 0 and ((q + bias) & 1) == 1
            elif specials == 5 and p[P_CODE0] == 2 and mbits == 0:
                odd = n != 0 and ((q + bias) & 1) == 1  # E8M0 as_zero_even: the code's parity
            if rounding == 0:
                away = frac62 > half or (frac62 == half and odd)
            elif rounding == 1:
                away = frac62 >= half
            elif rounding == 2:
                away = False
            elif rounding == 3:
                away = sign == 0
            elif rounding == 4:
                away = sign == 1
            elif rounding == 5:
                if is_p3109 and mbits == 0:
                    away = not odd  # P3109 ToOdd: away when the truncated code is even
                else:
                    n |= 1  # round to odd: truncate, then set the last bit if inexact
            else:
                nb = p[P_SRNUMBITS]
                r = np.int64(srbits)
                if rounding == 6 or rounding == 7:
                    # d = delta * 2^nb rounded to an integer (ties to even / to odd), then compare
                    sh = 62 - nb
                    d = frac62 >> sh
                    low = frac62 - (d << sh)
                    hh = np.int64(1) << (sh - 1)
                    if low > hh or (low == hh and (((d & 1) == 1) == (rounding == 6))):
                        d += 1
                    away = d + r >= (np.int64(1) << nb)
                elif rounding == 8:
                    away = frac62 + (2 * r + 1) * (np.int64(1) << (61 - nb)) >= (np.int64(1) << 62)
                else:
                    away = frac62 + r * (np.int64(1) << (62 - nb)) >= (np.int64(1) << 62)
            if away:
                n += 1
        if not overflow and not is_int and n >= (np.int64(2) << mbits):
            n >>= 1  # carry into the next binade (n was 2^(mbits+1), exact)
            q += 1
        if not overflow:
            if p[P_SUBNORM] == 1 and not is_int and n < (np.int64(1) << mbits):
                n = np.int64(0)
            if n == 0:
                if specials == 5:
                    return np.int64(0), flags  # E8M0: below 2^-127 clamps to the smallest code
                if specials == 2 or is_p3109 or specials == 6 or signed == 0:
                    return np.int64(0), flags
                return np.int64(sign) << sign_shift, flags
            if is_int:
                if p[P_OVERFLOW] == 4 and n > (np.int64(1) << 31) - 1 + sign:
                    # wrap_int32: beyond int32, x86's cvttsd2si gives INT_MIN; keep its low bits
                    return (-(np.int64(1) << 31)) & ((np.int64(1) << bits) - 1), flags
                if p[P_OVERFLOW] == 2 or p[P_OVERFLOW] == 4:
                    # wrap modulo 2^bits, as a C cast from a wide integer does
                    v = -n if sign == 1 else n
                    return v & ((np.int64(1) << bits) - 1), flags
                lowest = (np.int64(1) << (bits - 1)) - p[P_SYMMETRIC]
                limit = lowest if sign == 1 else max_mag
                if n > limit:
                    if p[P_OVERFLOW] == 3:
                        return np.int64(0), flags  # zero: out of range gives 0
                    n = limit
                v = -n if sign == 1 else n
                return v & ((np.int64(1) << bits) - 1), flags
            mag = _mag_code_of(n, q, mbits, bias, False)
            if mag > max_mag:
                overflow = True
            elif neg_unsigned:
                return _negative_unsigned(p), flags
            else:
                return (np.int64(sign) << sign_shift) | mag if signed == 1 else mag, flags

    # ---- overflow: IEEE 754-2019 §7.4 and OCP FP8 v1.0 §4.4
    if is_int:
        if p[P_OVERFLOW] == 2 or p[P_OVERFLOW] == 3:
            return np.int64(0), flags  # wrap: beyond 2^62 every low bit is zero; zero: 0
        if p[P_OVERFLOW] == 4:
            return (-(np.int64(1) << 31)) & ((np.int64(1) << bits) - 1), flags  # INT_MIN's low bits
        lowest = (np.int64(1) << (bits - 1)) - p[P_SYMMETRIC]
        v = -lowest if sign == 1 else max_mag
        return v & ((np.int64(1) << bits) - 1), flags
    if neg_unsigned:
        return _negative_unsigned(p), flags
    to_max = p[P_OVERFLOW] == 0
    if rounding == 2 or (rounding == 5 and not is_p3109):
        to_max = True  # P3109 §4.9.4: only TowardZero/TowardNegative/TowardPositive clamp
    elif rounding == 3 and sign == 1:
        to_max = True
    elif rounding == 4 and sign == 0:
        to_max = True
    return overflow_code(sign, to_max, p), flags | (0 if to_max or specials != 3 else FLAG_OVERFLOW_ERROR)


@numba.njit(cache=True)
def _negative_unsigned(p):
    """P3109 §4.9.4 Saturate for a negative value that rounded to a non-zero magnitude, into an
    unsigned format (m_lo = 0): 0 under SatFinite (overflow=saturate) and, under SatNone, for
    TowardZero and TowardPositive; NaN (2^K − 1) otherwise."""
    r = p[P_ROUNDING]
    if p[P_OVERFLOW] == 0 or r == 2 or r == 3:
        return np.int64(0)
    return (np.int64(1) << p[P_BITS]) - 1


@numba.njit(cache=True, inline="always")
def max_magnitude_code(p):
    """Magnitude code of the largest finite value (``Format.max_magnitude_code``): the top
    magnitude code less the codes the specials policy reserves (IEEE: the whole top binade;
    fn, E8M0: one; fnuz, finite: none; P3109: +Inf in the extended domain and, unsigned, the NaN)."""
    mbits = p[P_MBITS]
    specials = p[P_SPECIALS]
    if specials == 6:
        return (np.int64(1) << (p[P_BITS] - 1)) - 1
    reserved = np.int64(0)
    if specials == 0:
        reserved = np.int64(1) << mbits
    elif specials == 1 or specials == 5:
        reserved = np.int64(1)
    elif specials == 4 or specials == 7:
        reserved = np.int64(specials == 4) + np.int64(p[P_SIGNED] == 0)
    return (np.int64(1) << (p[P_EBITS] + mbits)) - 1 - reserved


@numba.njit(cache=True)
def overflow_code(sign, to_max, p):
    """Code for a value beyond the range: ±max finite, else ±Inf, else NaN."""
    bits = p[P_BITS]
    ebits = p[P_EBITS]
    mbits = p[P_MBITS]
    specials = p[P_SPECIALS]
    signed = p[P_SIGNED]
    max_mag = max_magnitude_code(p)
    s = (np.int64(sign) << (bits - 1)) if signed == 1 else np.int64(0)
    if to_max or specials == 3:
        return s | max_mag
    if specials == 0:
        return s | (((np.int64(1) << ebits) - 1) << mbits)  # ±Inf
    if specials == 4:
        return s | (max_mag + 1)  # P3109 ±Inf: the code after max (2^(K-1)-1 / 2^K-2 unsigned)
    return nan_code(sign, p)


@numba.njit(cache=True)
def nan_code(sign, p):
    """The format's NaN for a NaN of the given sign (canonical quiet NaN for IEEE formats)."""
    bits = p[P_BITS]
    ebits = p[P_EBITS]
    mbits = p[P_MBITS]
    specials = p[P_SPECIALS]
    if specials == 0:
        quiet = (np.int64(1) << (mbits - 1)) if mbits > 0 else np.int64(0)
        return (np.int64(sign) << (bits - 1)) | (((np.int64(1) << ebits) - 1) << mbits) | quiet
    if specials == 1:
        return (np.int64(sign) << (bits - 1)) | ((np.int64(1) << (bits - 1)) - 1)
    if specials == 2 or ((specials == 4 or specials == 7) and p[P_SIGNED] == 1):
        return np.int64(1) << (bits - 1)
    if specials == 5 or specials == 4 or specials == 7:
        return (np.int64(1) << bits) - 1  # E8M0; unsigned P3109: 2^K - 1
    return np.int64(0)


@numba.njit(cache=True, inline="always")
def encode_one(b, p, srbits):
    """Encode one input given as its raw bits ``b`` in the source float format (p[P_SRC_*])."""
    se = p[P_SRC_EBITS]
    sm = p[P_SRC_MBITS]
    sbits = p[P_SRC_BITS]
    sign = (b >> (sbits - 1)) & 1
    efield = (b >> sm) & ((np.int64(1) << se) - 1)
    man = b & ((np.int64(1) << sm) - 1)
    sbias = (np.int64(1) << (se - 1)) - 1
    if efield == (np.int64(1) << se) - 1:
        if man != 0:  # NaN
            rule = p[P_NAN]
            specials = p[P_SPECIALS]
            if rule == 5 and (specials == 3 or specials == 6):
                return np.int64(0), FLAG_NAN_ERROR
            if rule == 1 or ((specials == 3 or specials == 6) and rule != 2):
                return np.int64(0), 0
            if rule == 2:
                if specials == 6 or p[P_SIGNED] == 0:
                    return np.int64(0), 0
                return np.int64(1 - sign) << (p[P_BITS] - 1), 0
            if rule == 3:
                return nan_code(0, p), 0
            if rule == 7 or rule == 8:
                s = sign if rule == 7 and p[P_SIGNED] == 1 else np.int64(0)
                if specials == 0 or specials == 1:
                    return (s << (p[P_BITS] - 1)) | ((np.int64(1) << (p[P_BITS] - 1)) - 1), 0
                return nan_code(s, p), 0
            if (rule == 4 or rule == 6) and specials == 0 and p[P_MBITS] > 0:
                mb = p[P_MBITS]
                payload = man >> (sm - mb) if sm >= mb else man << (mb - sm)
                if rule == 6:
                    payload |= np.int64(1) << (mb - 1)  # the quiet bit
                if payload == 0:
                    payload = 1  # keep it a NaN (numpy's float -> half cast does the same)
                return ((sign << (p[P_BITS] - 1)) | (((np.int64(1) << p[P_EBITS]) - 1) << mb) | payload), 0
            return nan_code(sign, p), 0
        # ±Inf
        if p[P_SIGNED] == 0 and sign == 1 and p[P_NEG_RULE] == 0:
            if (p[P_SPECIALS] == 4 or p[P_SPECIALS] == 7) and (p[P_INF] == 1 or p[P_OVERFLOW] == 0):
                return np.int64(0), 0  # P3109 §4.9.4 SatFinite: -Inf -> m_lo = 0
            return (np.int64(1) << p[P_BITS]) - 1, 0
        to_max = p[P_INF] == 1 or p[P_OVERFLOW] == 0
        s = sign if p[P_SIGNED] == 1 else 0
        if p[P_SPECIALS] == 6:
            bits = p[P_BITS]
            if p[P_OVERFLOW] == 2 or p[P_OVERFLOW] == 3:
                return np.int64(0), 0
            if p[P_OVERFLOW] == 4:
                return (-(np.int64(1) << 31)) & ((np.int64(1) << bits) - 1), 0  # INT_MIN's low bits
            lowest = (np.int64(1) << (bits - 1)) - p[P_SYMMETRIC]
            v = -lowest if s == 1 else (np.int64(1) << (bits - 1)) - 1
            return v & ((np.int64(1) << bits) - 1), 0
        flags = 0
        if not to_max and p[P_SPECIALS] == 3:
            flags = FLAG_OVERFLOW_ERROR
        return overflow_code(s, to_max, p), flags
    if efield == 0:
        sig = man
        exp = 1 - sbias - sm
        lead = exp - 1
        t = sig
        while t > 0:  # subnormal input: find the leading bit
            t >>= 1
            lead += 1
    else:
        sig = man | (np.int64(1) << sm)
        exp = efield - sbias - sm
        lead = efield - sbias
    return round_pack(sign, sig, exp, lead, p, srbits)


@numba.njit(cache=True)
def encode_array_serial(bits_in, p, srbits, out):
    """Encode every element of ``bits_in`` (raw source bits) into ``out`` (codes) on one thread;
    returns the OR of the flags.  ``srbits`` holds one random word per element, or is empty."""
    use_sr = srbits.shape[0] == bits_in.shape[0]
    f = 0
    for i in range(bits_in.shape[0]):
        r = srbits[i] if use_sr else np.int64(0)
        code, fl = encode_one(np.int64(bits_in[i]), p, r)
        out[i] = code
        f |= fl
    return f


@numba.njit(cache=True, parallel=True)
def encode_array(bits_in, p, srbits, out):
    """:func:`encode_array_serial` over 64 chunks in parallel (worth it for large arrays only)."""
    n = bits_in.shape[0]
    use_sr = srbits.shape[0] == n
    nchunks = 64
    chunk_flags = np.zeros(nchunks, dtype=np.int64)
    step = (n + nchunks - 1) // nchunks
    for c in numba.prange(nchunks):
        start = min(n, c * step)
        stop = min(n, start + step)
        sr = srbits[start:stop] if use_sr else srbits[:0]
        chunk_flags[c] = encode_array_serial(bits_in[start:stop], p, sr, out[start:stop])
    f = 0
    for c in range(nchunks):
        f |= chunk_flags[c]
    return f


@numba.njit(cache=True, inline="always")
def _signed_nan(sign):
    # copySign sets a NaN's sign bit (IEEE 754-2019 §5.5.1); LLVM may fold a negated NaN constant.
    return math.copysign(math.nan, -1.0 if sign == 1 else 1.0)


@numba.njit(cache=True)
def decode_one(code, p):
    """Exact float64 value of one code (IEEE 754-2019 §3.4 fields; specials per p[P_SPECIALS])."""
    bits = p[P_BITS]
    ebits = p[P_EBITS]
    mbits = p[P_MBITS]
    bias = p[P_BIAS]
    specials = p[P_SPECIALS]
    if specials == 6:  # two's complement, frac_bits fraction bits
        v = code
        if v >= (np.int64(1) << (bits - 1)):
            v -= np.int64(1) << bits
        return math.ldexp(float(v), -int(p[P_FRAC]))
    signed = p[P_SIGNED]
    sign = (code >> (bits - 1)) & 1 if signed == 1 else np.int64(0)
    mag = code & ((np.int64(1) << (ebits + mbits)) - 1)
    top = (np.int64(1) << (ebits + mbits)) - 1
    field = mag >> mbits
    man = mag & ((np.int64(1) << mbits) - 1)
    s = -1.0 if sign == 1 else 1.0
    if specials == 0 and field == (np.int64(1) << ebits) - 1:
        return s * math.inf if man == 0 else _signed_nan(sign)
    if specials == 1 and mag == top:
        return _signed_nan(sign)
    if (specials == 2 or specials == 4 or specials == 7) and sign == 1 and mag == 0:
        return _signed_nan(1)
    if (specials == 4 or specials == 7) and signed == 0 and mag == top:
        return math.nan  # unsigned P3109: 2^K - 1
    if specials == 4 and mag == top - (1 - signed):
        return s * math.inf
    if specials == 5:
        if mag == top:
            return math.nan
        return math.ldexp(1.0, int(field - bias))
    if field == 0:
        return s * math.ldexp(float(man), int(1 - bias - mbits))
    return s * math.ldexp(float(man + (np.int64(1) << mbits)), int(field - bias - mbits))


@numba.njit(cache=True, parallel=True)
def decode_array(codes, p, out):
    for i in numba.prange(codes.shape[0]):
        out[i] = decode_one(np.int64(codes[i]), p)


# ---- table-driven encode (exact shortcut for targets with at most 7 significand bits) ----
# From float32 into a target with mbits <= 7, every result drops at least 16 input bits
# (the target's smallest quantum, 2^(emin - mbits), is at least 2^16 float32 quanta
# above 2^-149 for every such format lowbit knows, and at least 2^(23-mbits) in the normal
# range), so the code depends only on input bits 31..15 and on whether bits 14..0 are all
# zero (they can only contribute to the sticky bit).  The table maps those 2^18 keys to
# codes; each entry is computed by the one round-and-pack routine from a representative
# input with the same key.  ``f32_table_safe`` checks the premise for a given format.
F32_KEY_SHIFT = 15


@numba.njit(cache=True, parallel=True)
def build_table(keys, p, out, flags_out):
    """out[i] = code of raw input ``keys[i]`` (deterministic rounding only), flags alike."""
    for i in numba.prange(keys.shape[0]):
        code, fl = encode_one(np.int64(keys[i]), p, np.int64(0))
        out[i] = code
        flags_out[i] = fl


@numba.njit(cache=True, parallel=True)
def gather_f32(bits_in, table, out):
    """Table-driven encode of float32 raw bits: key = bits 31..15 and a sticky bit of 14..0."""
    for i in numba.prange(bits_in.shape[0]):
        b = bits_in[i]
        out[i] = table[((b >> 15) << 1) | ((b & 0x7FFF) != 0)]


@numba.njit(cache=True, parallel=True)
def gather_16(bits_in, table, out):
    """Table-driven encode of 16-bit raw inputs (float16, bfloat16): the table has every input."""
    for i in numba.prange(bits_in.shape[0]):
        out[i] = table[bits_in[i]]
