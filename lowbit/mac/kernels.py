"""Numba kernels of the MAC accumulators: plain loops over exact integer products.

Each kernel takes operands already decoded by :mod:`lowbit.mac.operands` into
``(sig, q, e, special)`` arrays — A as M×K, B transposed to N×K so that both walk K
contiguously — and writes one float32 per output element, in parallel over outputs.
The Python layer (:mod:`lowbit.mac.api`) validates everything; kernels never raise.

The fused-block step itself (alignment exponent, grid rounding, cut of the sum, specials)
and the rounding-mode numbers are :mod:`lowbit.mac.steps`, shared with the CUDA kernel.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .steps import (CHAIN_NAN, NEAREST_EVEN, NO_EXPONENT, TOWARD_ZERO, align_exponent, bitlen, chain_after_specials,
                    chain_overflow, cut_sum, add_special, fma32, promote_now, step_exponent,
                    term_on_grid, to_grid)


@njit(cache=True, inline="always")
def to_float32(a, s):
    """``a · 2^s`` (a signed int64) rounded to nearest even float32 (IEEE 754 §4.3.1), as float64."""
    if a == 0:
        return 0.0
    mag = -a if a < 0 else a
    top = s + bitlen(mag) - 1
    lsb = max(top - 23, -149)
    if lsb > s:
        a = to_grid(a, s, lsb, NEAREST_EVEN)
        s = lsb
    v = math.ldexp(float(a), s)
    return float(np.float32(v))


@njit(cache=True, inline="always")
def special_result(nan, pinf, ninf):
    """IEEE 754 §7.2/§6.1: NaN if any NaN, Inf·0, or Inf − Inf; else the infinity."""
    if nan or (pinf and ninf):
        return np.nan
    return np.inf if pinf else -np.inf


# ---------------------------------------------------------------------------------
# fused-block: the tensor-core adder (blocks of n exact products, aligned, truncated)
# ---------------------------------------------------------------------------------
@njit(cache=True, parallel=True)
def fused_block_matmul(a_codes, b_codes, ta_sig, ta_q, ta_e, ta_x, tb_sig, tb_q, tb_e, tb_x,
                       row_special, col_special, n, frac_bits, align_product, term_mode, acc_mode,
                       acc_in_max, sum_frac_bits, sum_bits, sum_mode, promote_every, promote_chunk,
                       sum_lsb_min, sum_emax, out):
    """One fused-block accumulation per output element (see lowbit.mac.accumulators.FusedBlock).

    ``a_codes`` is M×K, ``b_codes`` N×K (B transposed); ``t*_sig/q/e/x`` are the per-code
    tables of lowbit.mac.operands; ``row_special``/``col_special`` flag rows/columns holding
    a NaN or Inf code (the others skip the special-value test).
    """
    M, K = a_codes.shape
    N = b_codes.shape[0]
    for idx in prange(M * N):
        i = idx // N
        j = idx - i * N
        special = row_special[i] or col_special[j]
        buf_p = np.empty(n, np.int64)
        buf_q = np.empty(n, np.int64)
        outer = np.float32(0.0)
        acc = np.int64(0)  # chain accumulator: acc · 2^s
        s = np.int64(0)
        state = 0  # the chain: 0 finite (acc · 2^s), ±1 ±Inf, CHAIN_NAN; Inf + finite terms = Inf
        count = 0
        for k0 in range(0, K, n):
            k1 = min(k0 + n, K)
            emax = NO_EXPONENT
            cnt = 0
            nan = 0
            pinf = 0
            ninf = 0
            for k in range(k0, k1):
                ca = a_codes[i, k]
                cb = b_codes[j, k]
                if special:
                    if ta_x[ca] != 0 or tb_x[cb] != 0:
                        nan, pinf, ninf = add_special(nan, pinf, ninf, ta_sig[ca], tb_sig[cb], ta_x[ca], tb_x[cb])
                        continue
                p = ta_sig[ca] * tb_sig[cb]
                if p != 0:
                    e = align_exponent(ta_sig[ca], ta_q[ca], ta_e[ca], tb_sig[cb], tb_q[cb], tb_e[cb], align_product)
                    if e > emax:
                        emax = e
                    buf_p[cnt] = p
                    buf_q[cnt] = ta_q[ca] + tb_q[cb]
                    cnt += 1
            if nan or pinf or ninf:
                state = chain_after_specials(state, nan, pinf, ninf)
            emax = step_exponent(emax, acc, s, acc_in_max)
            if emax != NO_EXPONENT and state == 0:
                g = emax - frac_bits
                total = to_grid(acc, s, g, acc_mode) if acc != 0 else np.int64(0)
                if term_mode == TOWARD_ZERO:  # the tensor-core case: the mode test out of the loop
                    for t in range(cnt):
                        total += term_on_grid(buf_p[t], buf_q[t], g, TOWARD_ZERO)
                else:
                    for t in range(cnt):
                        total += term_on_grid(buf_p[t], buf_q[t], g, term_mode)
                acc, s = cut_sum(total, g, emax, sum_frac_bits, sum_bits, sum_mode, sum_lsb_min)
                state = chain_overflow(acc, s, sum_emax)  # ±Inf past the chain format's range
            if state != 0:
                acc = 0
                s = 0
            count += k1 - k0
            if promote_now(count, k1, K, promote_every, promote_chunk):
                outer = np.float32(outer + np.float32(chain_value(acc, s, state)))
                acc = 0
                s = 0
                state = 0
                count = 0
        if promote_every <= 0:
            outer = np.float32(chain_value(acc, s, state))
        out[i, j] = outer


@njit(cache=True, inline="always")
def chain_value(acc, s, state):
    """The chain as a float64 holding a float32: ±Inf / NaN by its state, else acc·2^s rounded."""
    if state == 0:
        return to_float32(acc, s)
    if state == CHAIN_NAN:
        return np.nan
    return np.inf if state > 0 else -np.inf


# ---------------------------------------------------------------------------------
# exact: the infinitely precise sum in 32-bit limbs, rounded once to float32
# ---------------------------------------------------------------------------------
@njit(cache=True, parallel=True)
def exact_matmul(a_codes, b_codes, ta_sig, ta_q, ta_x, tb_sig, tb_q, tb_x, row_special, col_special,
                 qmin, nlimbs, out):
    """Exact sums in 32-bit limbs (limb t holds bits 32t.. of Σ p·2^(q−qmin)), rounded once."""
    M, K = a_codes.shape
    N = b_codes.shape[0]
    mask = np.int64(0xFFFFFFFF)
    for idx in prange(M * N):
        i = idx // N
        j = idx - i * N
        special = row_special[i] or col_special[j]
        limbs = np.zeros(nlimbs, np.int64)
        nan = 0
        pinf = 0
        ninf = 0
        for k in range(K):
            ca = a_codes[i, k]
            cb = b_codes[j, k]
            if special:
                if ta_x[ca] != 0 or tb_x[cb] != 0:
                    nan, pinf, ninf = add_special(nan, pinf, ninf, ta_sig[ca], tb_sig[cb], ta_x[ca], tb_x[cb])
                    continue
            p = ta_sig[ca] * tb_sig[cb]
            if p == 0:
                continue
            off = ta_q[ca] + tb_q[cb] - qmin
            neg = p < 0
            mag = -p if neg else p
            v = mag << (off & 31)
            lo = v & mask
            hi = v >> 32
            li = off >> 5
            if neg:
                limbs[li] -= lo
                limbs[li + 1] -= hi
            else:
                limbs[li] += lo
                limbs[li + 1] += hi
        if nan or pinf or ninf:
            out[i, j] = special_result(nan, pinf, ninf)
            continue
        out[i, j] = limbs_to_float32(limbs, qmin)


@njit(cache=True)
def limbs_to_float32(limbs, qmin):
    """Round Σ limbs[j]·2^(32j+qmin) to nearest even float32 (IEEE 754 §4.3.1)."""
    L = limbs.shape[0]
    for t in range(L - 1):  # carry-propagate: limbs 0..L-2 into [0, 2^32)
        c = limbs[t] >> 32
        limbs[t] -= c << 32
        limbs[t + 1] += c
    neg = limbs[L - 1] < 0
    if neg:  # negate the two's-complement-like representation and renormalise
        for t in range(L):
            limbs[t] = -limbs[t]
        for t in range(L - 1):
            c = limbs[t] >> 32
            limbs[t] -= c << 32
            limbs[t + 1] += c
    top_limb = -1
    for t in range(L - 1, -1, -1):
        if limbs[t] != 0:
            top_limb = t
            break
    if top_limb < 0:
        return 0.0
    top = 32 * top_limb + bitlen(limbs[top_limb]) - 1  # bit index of the leading 1
    lsb = max(top + qmin - 23, -149) - qmin  # bit index of float32's last place
    if lsb < 0:
        lsb = 0
    m = np.int64(0)
    for b in range(top, lsb - 1, -1):
        m = (m << 1) | ((limbs[b >> 5] >> (b & 31)) & 1)
    if lsb > 0:
        rbit = (limbs[(lsb - 1) >> 5] >> ((lsb - 1) & 31)) & 1
        sticky = 0
        for b in range(lsb - 2, -1, -1):
            if (limbs[b >> 5] >> (b & 31)) & 1:
                sticky = 1
                break
        if rbit and (sticky or (m & 1)):
            m += 1
    v = math.ldexp(float(m), lsb + qmin)
    v = float(np.float32(v))
    return -v if neg else v


# ---------------------------------------------------------------------------------
# ieee: products rounded to the accumulation format, added in a stated order
# ---------------------------------------------------------------------------------
@njit(cache=True, inline="always")
def round_format(x, p, emin, emax):
    """Round float64 ``x`` to nearest even in a binary format of precision p (IEEE 754 §4.3.1)."""
    if x == 0.0 or not math.isfinite(x):
        return x
    m, ex = math.frexp(x)  # x = m·2^ex, 0.5 <= |m| < 1
    lsb = max(ex - 1, emin) - (p - 1)
    y = math.ldexp(x, -lsb)
    r = math.floor(y)
    d = y - r
    if d > 0.5 or (d == 0.5 and (r % 2.0) == 1.0):
        r += 1.0
    v = math.ldexp(r, lsb)
    if abs(v) > math.ldexp(2.0 - math.ldexp(1.0, 1 - p), emax):
        return math.inf if v > 0 else -math.inf
    return v


@njit(cache=True, inline="always")
def pair_sum(vals, p, emin, emax):
    """Bottom-up pairwise sum in place: adjacent pairs level by level, an odd last one carried up.

    Each sum is rounded by round_format (p > 0), or (p == 0) is the array dtype's own
    addition (float32 + float32: IEEE float32 add, stored as float32)."""
    n = vals.shape[0]
    while n > 1:
        half = n // 2
        for t in range(half):
            if p > 0:
                vals[t] = round_format(vals[2 * t] + vals[2 * t + 1], p, emin, emax)
            else:
                vals[t] = vals[2 * t] + vals[2 * t + 1]
        if n % 2 == 1:
            vals[half] = vals[n - 1]
            n = half + 1
        else:
            n = half
    return vals[0]


@njit(cache=True, parallel=True)
def ieee_matmul(a_codes, b_codes, ta_val, tb_val, order, chunk, p, emin, emax, out):
    """order: 0 sequential, 1 pairwise, 2 chunked (sequential within chunks of ``chunk``).

    Values are float64 (exact); each product and each sum is rounded to the binary format
    of precision p and exponent range [emin, emax] by round_format.
    """
    M, K = a_codes.shape
    N = b_codes.shape[0]
    for idx in prange(M * N):
        i = idx // N
        j = idx - i * N
        if order == 1:
            if K == 0:
                out[i, j] = 0.0
                continue
            prods = np.empty(K, np.float64)
            for k in range(K):
                prods[k] = round_format(ta_val[a_codes[i, k]] * tb_val[b_codes[j, k]], p, emin, emax)
            out[i, j] = pair_sum(prods, p, emin, emax)
            continue
        total = 0.0
        part = 0.0
        for k in range(K):
            prod = round_format(ta_val[a_codes[i, k]] * tb_val[b_codes[j, k]], p, emin, emax)
            if order == 0:
                total = round_format(total + prod, p, emin, emax)
            else:
                part = round_format(part + prod, p, emin, emax)
                if (k + 1) % chunk == 0 or k == K - 1:
                    total = round_format(total + part, p, emin, emax)
                    part = 0.0
        out[i, j] = total


@njit(cache=True, parallel=True)
def ieee32_matmul(a_codes, b_codes, ta_val, tb_val, order, chunk, out):
    """float32 fast path of ieee_matmul: float32 products and sums (each IEEE-rounded once)."""
    M, K = a_codes.shape
    N = b_codes.shape[0]
    for idx in prange(M * N):
        i = idx // N
        j = idx - i * N
        if order == 1:
            if K == 0:
                out[i, j] = 0.0
                continue
            prods = np.empty(K, np.float32)
            for k in range(K):
                prods[k] = ta_val[a_codes[i, k]] * tb_val[b_codes[j, k]]
            out[i, j] = pair_sum(prods, 0, 0, 0)
            continue
        total = np.float32(0.0)
        part = np.float32(0.0)
        for k in range(K):
            prod = ta_val[a_codes[i, k]] * tb_val[b_codes[j, k]]
            if order == 0:
                total = total + prod
            else:
                part = part + prod
                if (k + 1) % chunk == 0 or k == K - 1:
                    total = total + part
                    part = np.float32(0.0)
        out[i, j] = total


# ---------------------------------------------------------------------------------
# the float32 FMA chain, fast: float64 arithmetic with an exact error term (steps.fma32)
# ---------------------------------------------------------------------------------
@njit(cache=True, parallel=True)
def fma32_matmul(a, bt, out):
    """Sequential float32 FMA chains from +0: out[i, j] = fl32(…fl32(0 + a[i,0]·b[0,j])…).

    ``a`` M×K and ``bt`` N×K (B transposed) float32 arrays; each product is exact in float64."""
    M, K = a.shape
    N = bt.shape[0]
    for idx in prange(M * N):
        i = idx // N
        j = idx - i * N
        acc = 0.0
        for k in range(K):
            acc = fma32(acc, np.float64(a[i, k]) * np.float64(bt[j, k]))  # float() would keep float32
        out[i, j] = acc
