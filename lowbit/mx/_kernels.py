"""Numba kernels for block-scaled quantization: plain loops over integer bit fields.

One kernel for E8M0-scaled (MX) blocks, one for NVFP4 (E4M3-scaled) blocks.  Each block is
read as raw float bits; the shared exponent comes from the block's largest magnitude by integer
arithmetic; every element is scaled *exactly* (the scale is a power of two: its exponent is
subtracted from the element's exponent, OCP MX v1.0 §6.3) and rounded once by the codec's one
round-and-pack routine (:func:`lowbit._kernels.round_pack`).  Which reference system's
quirks apply is chosen by integer parameters (``Q_*``); the Python layer validates everything.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from .. import _kernels as K

# ---- MX parameter vector ------------------------------------------------------------
Q_RULE, Q_PROFILE, Q_EMAX, Q_MAXPOS_SIG, Q_MAXPOS_EXP, Q_ELEM_MBITS, Q_QEXP, Q_IS64 = range(8)
Q_BLOCK, Q_ROUNDING, Q_ELEM_EMIN, Q_ELEM_ISINT, Q_ELEM_HASNAN = range(8, 13)
N_Q = 13

RULE_CODE = {"floor": 0, "ceil": 1, "even": 2, "rceil": 3}
PROFILE_CODE = {"spec": 0, "microxcaling": 1, "torchao": 2}


@numba.njit(cache=True, inline="always")
def _split(b, is64):
    """(sign, sig, exp, lead, kind) of raw float bits; value = (-1)^sign sig 2^exp.
    lead = floor(log2 |value|) (for sig > 0); kind 0 finite, 1 Inf, 2 NaN."""
    if is64:
        sm = 52
        sb = 1023
        emask = np.int64(0x7FF)
        sign = (b >> 63) & 1
    else:
        sm = 23
        sb = 127
        emask = np.int64(0xFF)
        sign = (b >> 31) & 1
    field = (b >> sm) & emask
    man = b & ((np.int64(1) << sm) - 1)
    if field == emask:
        return sign, man, 0, 0, 1 if man == 0 else 2
    if field == 0:
        exp = 1 - sb - sm
        lead = exp - 1
        t = man
        while t > 0:
            t >>= 1
            lead += 1
        return sign, man, exp, lead, 0
    return sign, man | (np.int64(1) << sm), field - sb - sm, field - sb, 0


@numba.njit(cache=True, inline="always")
def _block_amax(bits, t, nblk, length, bs, magmask):
    """(start, stop, largest magnitude bits) of block t (row t // nblk, block t % nblk).
    Magnitude bits order finite values by size; Inf and NaN bits lie above every finite one."""
    r = t // nblk
    j = t - r * nblk
    start = r * length + j * bs
    stop = min(start + bs, r * length + length)
    amax_b = np.int64(0)
    for i in range(start, stop):
        mag = np.int64(bits[i]) & magmask
        if mag > amax_b:
            amax_b = mag
    return start, stop, amax_b


@numba.njit(cache=True, inline="always")
def _f32_bits_of(sig, exp, lead):
    """float32 bit pattern of the positive value sig * 2^exp (exactly representable, lead >= -149)."""
    if lead >= -126:
        # normalise the significand to 24 bits
        sh = lead - exp - 23
        m = sig >> sh if sh >= 0 else sig << (-sh)
        return (np.int64(lead + 127) << 23) | (m & 0x7FFFFF)
    sh = -149 - exp
    return sig >> sh if sh >= 0 else sig << (-sh)


@numba.njit(cache=True, inline="always")
def _fast_f32(b, div, rounding, ebits, mbits, bias, ebits_bits, max_mag, emin):
    """Code of the normal float32 (bits b) divided by 2^div, for a float element and rounding
    nearest_even (0) / nearest_away (1) / toward_zero (2), saturating: the same result as
    round_pack, computed on the bit fields directly.  Returns -1 where the caller must use
    round_pack (float32 subnormal input)."""
    field = (b >> 23) & 0xFF
    if field == 0:
        return np.int64(-1)
    sign = (b >> 31) & 1
    e = field - 127 - div
    sig = (b & 0x7FFFFF) | 0x800000
    if e >= emin:
        shift = np.int64(23 - mbits)
        base = (e + bias) << mbits
        sig = sig & 0x7FFFFF
    else:
        shift = np.int64(23 - mbits) + (emin - e)
        base = np.int64(0)
    if shift > 40:
        n = np.int64(0)
    elif shift <= 0:
        n = sig << (-shift)
    else:
        if rounding == 0:
            n = (sig + (np.int64(1) << (shift - 1)) - 1 + ((sig >> shift) & 1)) >> shift
        elif rounding == 1:
            n = (sig + (np.int64(1) << (shift - 1))) >> shift
        else:
            n = sig >> shift
    mag = base + n
    if mag > max_mag:
        mag = max_mag
    return (sign << (ebits_bits - 1)) | mag


@numba.njit(cache=True)
def mx_block_exponent(amax_sign, amax_sig, amax_exp, amax_lead, q, up, down):
    """Scale exponent s (X = 2^s) of a finite block with largest magnitude amax (sig > 0 or 0),
    before clamping.  Returns (s, zero_block)."""
    rule = q[Q_RULE]
    prof = q[Q_PROFILE]
    emax = q[Q_EMAX]
    if amax_sig == 0:
        if prof == 1:
            return np.int64(-126) - emax, True  # log2(FP32_MIN_NORMAL) (mx_ops._shared_exponents)
        if prof == 2 and rule != 3:
            return np.int64(-127) - emax, True  # exponent field 0
        return np.int64(-1000), True  # clamps to -127
    if prof == 2 and rule != 3:
        # torchao to_mx FLOOR / CEIL / EVEN: read the float32 exponent field
        bits = _f32_bits_of(amax_sig, amax_exp, amax_lead)
        if rule == 2:
            bits = (bits + (np.int64(1) << (22 - q[Q_ELEM_MBITS]))) & np.int64(0xFF800000)
        field = (bits >> 23) & 0xFF
        e = field - 127
        if rule == 1 and (bits & 0x7FFFFF) != 0:
            e += 1
        return e - emax, False
    if prof == 1:
        # microxcaling: floor(float32 log2(amax))
        e = amax_lead
        if _f32_bits_of(amax_sig, amax_exp, amax_lead) >= up[e + 149]:
            e += 1
        return e - emax, False
    # exact (OCP MX v1.0 §6.3 and the named alternatives)
    # normalised significand with the leading bit at position 62
    sh = 62 - (amax_lead - amax_exp)
    m = amax_sig << sh
    if rule == 0:
        return amax_lead - emax, False
    if rule == 1:
        return amax_lead + (1 if m != (np.int64(1) << 62) else 0) - emax, False
    if rule == 2:
        # round amax to mbits+1 significant bits, ties away, then floor(log2)
        keep = q[Q_ELEM_MBITS] + 1
        m2 = m + (np.int64(1) << (62 - keep))
        return amax_lead + (1 if m2 < 0 else 0) - emax, False  # carry out of bit 62
    # rceil: ceil(log2(amax / max_pos)), max_pos = MS * 2^ME (MS odd or 1)
    ms = q[Q_MAXPOS_SIG]
    me = q[Q_MAXPOS_EXP]
    mlead = me
    t = ms
    while t > 1:
        t >>= 1
        mlead += 1
    # compare normalised significands of amax and max_pos
    mm = ms << (62 - (mlead - me))
    return amax_lead - mlead + (1 if m > mm else 0), False


@numba.njit(cache=True)
def _torchao_rceil_code(amax_sig, amax_exp, amax_lead, q, down):
    """torchao _to_mx_rceil (eager): descale = fl32(amax / max_pos); code = clamp(ceil(fl32 log2
    descale), -127, 127) + 127."""
    if amax_sig == 0:
        return np.int64(0)
    a = np.float32(np.float64(amax_sig) * 2.0 ** amax_exp)
    mp = np.float32(np.float64(q[Q_MAXPOS_SIG]) * 2.0 ** q[Q_MAXPOS_EXP])
    d = np.float64(a / mp)  # float32 division, exactly as torch does it
    if d == 0.0:
        return np.int64(0)
    m, e = math.frexp(d)  # d = m 2^e, m in [0.5, 1)
    lead = np.int64(e - 1)
    # bits of d as float32
    sig = np.int64(m * 2.0 ** 53)
    bits = _f32_bits_of(sig, np.int64(e) - 53, lead)
    c = lead
    if bits > down[lead + 149]:
        c += 1
    if c < -127:
        c = -127
    if c > 127:
        c = 127
    return c + 127


@numba.njit(cache=True, parallel=True)
def mx_quantize(bits, nrows, length, q, pe, up, down, elem_out, scale_out, nan_rows):
    """Quantize rows of raw float bits (row-major, ``length`` per row) in blocks of q[Q_BLOCK].

    Writes element codes (elem_out, same layout) and E8M0 scale codes (scale_out, nrows x nblocks).
    nan_rows[r * nblocks + j] is set to 1 for blocks that hold NaN or Inf.
    """
    bs = q[Q_BLOCK]
    nblk = (length + bs - 1) // bs
    is64 = q[Q_IS64] == 1
    prof = q[Q_PROFILE]
    rule = q[Q_RULE]
    rounding = q[Q_ROUNDING]
    isint = q[Q_ELEM_ISINT] == 1
    emin = q[Q_ELEM_EMIN]
    mbits = q[Q_ELEM_MBITS]
    qexp = q[Q_QEXP]
    magmask = np.int64(0x7FFFFFFFFFFFFFFF) if is64 else np.int64(0x7FFFFFFF)
    total = nrows * nblk
    f_ebits = pe[K.P_EBITS]
    f_bias = pe[K.P_BIAS]
    f_bits = pe[K.P_BITS]
    f_maxmag = np.int64(0)
    if not isint:
        reserved = np.int64(0)
        if pe[K.P_SPECIALS] == 0:
            reserved = np.int64(1) << mbits
        elif pe[K.P_SPECIALS] == 1:
            reserved = np.int64(1)
        f_maxmag = (np.int64(1) << (f_ebits + mbits)) - 1 - reserved
    fast = (not is64) and (not isint) and prof != 1 and rounding <= 2
    for t in numba.prange(total):
        start, stop, amax_b = _block_amax(bits, t, nblk, length, bs, magmask)
        asg, asig, aexp, alead, akind = _split(amax_b, is64)
        if akind != 0:
            nan_rows[t] = 1
        # ---- the scale
        code = np.int64(0)
        div = np.int64(0)  # elements are divided by 2^div
        if akind == 2 or (akind == 1 and prof != 2):
            code = np.int64(255)
        elif akind == 1:
            # torchao: Inf amax reads exponent field 255 (FLOOR/CEIL/EVEN) or gives 254 (RCEIL)
            if rule == 3:
                code = np.int64(254)
                div = np.int64(127)
            else:
                s = np.int64(128) - q[Q_EMAX]
                code = s + 127 if s < 128 else np.int64(255)
                div = s
        else:
            if prof == 2 and rule == 3:
                code = _torchao_rceil_code(asig, aexp, alead, q, down)
                div = code - 127 if code != 0 else np.int64(0)
            else:
                s, zero = mx_block_exponent(asg, asig, aexp, alead, q, up, down)
                if prof == 2:
                    if s > 128:
                        s = np.int64(128)
                    if s < -127:
                        s = np.int64(-127)
                    code = s + 127 if s < 128 else np.int64(255)
                    div = s if s > -126 else np.int64(-126)  # scale_fp32 clamped to 2^-126
                else:
                    if s < -127:
                        s = np.int64(-127)
                    if s > 127:
                        code = np.int64(255)
                    else:
                        code = s + 127
                    div = s
        scale_out[t] = code
        # ---- the elements
        if fast and code != 255 and akind == 0:
            for i in range(start, stop):
                c = _fast_f32(np.int64(bits[i]), div, rounding, f_ebits, mbits, f_bias, f_bits, f_maxmag, emin)
                if c < 0:
                    sign, sig, exp, lead, kind = _split(np.int64(bits[i]), is64)
                    c, _f = K.round_pack(sign, sig, exp - div, lead - div, pe, 0)
                elem_out[i] = c
            continue
        for i in range(start, stop):
            sign, sig, exp, lead, kind = _split(np.int64(bits[i]), is64)
            if code == 255 and (prof != 2 or akind != 1):
                # NaN scale: the whole block is NaN (OCP MX v1.0 §5.4.1 / §6.3); element codes:
                # the element's NaN for non-finite inputs where it has one, else zero.
                if kind != 0 and q[Q_ELEM_HASNAN] == 1:
                    elem_out[i] = K.nan_code(sign, pe)
                else:
                    elem_out[i] = 0
                continue
            if kind != 0:
                # torchao Inf in a finite-scale block: clamped to ±max before the cast
                elem_out[i] = K.overflow_code(sign, True, pe) if not isint else 0
                continue
            if sig == 0:
                if prof == 1:
                    elem_out[i] = 0  # microxcaling: sign(±0) = 0, so ±0 gives +0
                else:
                    c, _f = K.round_pack(sign, sig, 0, 0, pe, 0)
                    elem_out[i] = c
                continue
            vexp = exp - div
            vlead = lead - div
            if prof == 1:
                # microxcaling's float32 quirks (mx/elemwise_ops.py _quantize_elemwise_core)
                if vlead < -150 or (vlead == -150 and (sig & (sig - 1)) == 0):
                    # A / 2^shared_exp underflows to ±0 in float32, and sign(±0) = 0: +0
                    elem_out[i] = 0
                    continue
                if rounding != 2 and vlead == qexp - 2:
                    # |v| / 2^qexp is rounded as floor(abs + 0.5) in float32, and
                    # (0.5 - 2^-25) + 0.5 rounds to 1.0: one step instead of zero
                    sh = lead - exp - 23
                    m = sig >> sh if sh >= 0 else sig << (-sh)
                    if m == 0xFFFFFF:
                        c, _f = K.round_pack(sign, np.int64(1), qexp, qexp, pe, 0)
                        elem_out[i] = c
                        continue
                if rounding == 2 and not isint and vlead >= emin and vlead >= -126:
                    # floor(float32 log2 |v|) rounds up near 2^(vlead+1): the step doubles
                    vb = _f32_bits_of(sig, vexp, vlead)
                    if vb >= up[vlead + 149]:
                        top = (np.int64(1) << (mbits + 1)) - 2  # 2^(l+1) - 2^(l+1-mbits), in 2^(l-mbits)
                        c, _f = K.round_pack(sign, top, vlead - mbits, vlead, pe, 0)
                        elem_out[i] = c
                        continue
            c, _f = K.round_pack(sign, sig, vexp, vlead, pe, 0)
            elem_out[i] = c


@numba.njit(cache=True, inline="always")
def _round_value(v, p):
    """Round the float64 value v (finite) with the codec's round_pack; returns the code."""
    if v == 0.0:
        c, _f = K.round_pack(1 if np.signbit(v) else 0, np.int64(0), np.int64(0), np.int64(0), p, 0)
        return c
    sign = 1 if v < 0 else 0
    m, e = math.frexp(abs(v))
    c, _f = K.round_pack(sign, np.int64(m * 9007199254740992.0), np.int64(e - 53), np.int64(e - 1), p, 0)
    return c


@numba.njit(cache=True, inline="always")
def _nearest_even_code(y, mids, sign_bit):
    """Code of the finite value y rounded to nearest even on a small magnitude table, saturating:
    mids[k] is the midpoint between magnitude codes k and k+1; a tie goes to the even code.
    Exact whenever y is the value to be rounded (the caller's quotient is correctly rounded and
    cannot fall on a midpoint unless it is one)."""
    neg = y < 0.0 or (y == 0.0 and math.copysign(1.0, y) < 0.0)
    a = -y if neg else y
    c = np.int64(0)
    for k in range(mids.shape[0]):
        m = mids[k]
        if a > m or (a == m and (k + 1) % 2 == 0):
            c = k + 1
        else:
            break
    return (np.int64(1) << sign_bit) | c if neg else c


# ---- NVFP4 parameter vector
V_PROFILE, V_HAS_TS, V_IS64 = range(3)
N_V = 3


@numba.njit(cache=True, parallel=True)
def nvfp4_quantize(bits, vals, nrows, length, bs, v, ts, pe, ps, scale_values, mids, elem_out, scale_out, nan_rows):
    """NVFP4: blocks of ``bs`` elements share one E4M3 scale; ``ts`` is the float32 tensor scale.

    profile 0 (NVIDIA's recipe, exact): scale = e4m3(clamp(amax / (6 ts), 2^-9, 448)) rounded to
    nearest even; element = fp4(x / (scale ts)) rounded to nearest even, saturating — each from
    the exact quotient (one rounding).  profile 2 (torchao nvfp4_quantize, float32 steps):
    block_scale = fl32(amax / 6); scale = e4m3(clamp(fl32(block_scale / ts), 2^-6, 448));
    element = fp4(clamp(fl32(x * fl32(fl32(1 / ts) / scale)), -6, 6)).
    """
    nblk = (length + bs - 1) // bs
    is64 = v[V_IS64] == 1
    prof = v[V_PROFILE]
    has_ts = v[V_HAS_TS] == 1
    magmask = np.int64(0x7FFFFFFFFFFFFFFF) if is64 else np.int64(0x7FFFFFFF)
    total = nrows * nblk
    ts32 = np.float32(ts)
    for t in numba.prange(total):
        start, stop, amax_b = _block_amax(bits, t, nblk, length, bs, magmask)
        asg, asig, aexp, alead, akind = _split(amax_b, is64)
        amax = np.float64(asig) * 2.0 ** aexp if akind == 0 else (np.inf if akind == 1 else np.nan)
        if akind == 2 or (akind == 1 and prof == 0):
            nan_rows[t] = 1
            scale_out[t] = K.nan_code(0, ps)
            for i in range(start, stop):
                elem_out[i] = 0
            continue
        if prof == 0:
            qs = amax / (6.0 * ts)
            if qs > 448.0:
                qs = 448.0
            if qs < 2.0 ** -9:
                qs = 2.0 ** -9
            code = _round_value(qs, ps)
            div = scale_values[code] * ts
            scale_out[t] = code
            for i in range(start, stop):
                elem_out[i] = _nearest_even_code(np.float64(vals[i]) / div, mids, 3)
            continue
        # torchao, float32 arithmetic step by step
        if akind == 1:
            nan_rows[t] = 1
        block_scale = np.float32(amax) / np.float32(6.0)
        if has_ts:
            block_scale = block_scale / ts32
        if block_scale > np.float32(448.0):
            block_scale = np.float32(448.0)
        if block_scale < np.float32(2.0 ** -6):
            block_scale = np.float32(2.0 ** -6)
        code = _round_value(np.float64(block_scale), ps)
        sf = np.float32(scale_values[code])
        if has_ts:
            recip = (np.float32(1.0) / ts32) / sf
        else:
            recip = np.float32(1.0) / sf
        scale_out[t] = code
        for i in range(start, stop):
            x = np.float32(vals[i])
            if akind == 1 and not np.isfinite(x):
                elem_out[i] = K.overflow_code(1 if x < 0 else 0, True, pe)
                continue
            y = x * recip
            if y > np.float32(6.0):
                y = np.float32(6.0)
            if y < np.float32(-6.0):
                y = np.float32(-6.0)
            elem_out[i] = _nearest_even_code(np.float64(y), mids, 3)
