"""Rule fitting for the recorded H100 matmul paths (analysis code; independent of lowbit.mac).

Loads the recorded cases (cases.json, operands.npz, outputs.npz beside this file), decodes
operand bit patterns into exact integer fields with numpy only, and evaluates candidate
accumulator models written here as plain Numba loops over int64 fields:

* ``block``: the tensor-core block adder of the literature (Khattak & Mikaitis, "Accurate
  Models of NVIDIA Tensor Cores", 2025): ``n`` exact products per block, the block's
  largest exponent E (taken over the products' ``e_a + e_b`` or their true exponents, and
  the incoming accumulator), every term put on the grid 2^(E - F) (truncation toward zero,
  floor, or nearest even), summed exactly, the sum rounded to ``nbits`` significant bits
  (mode ``nmode``) — the new accumulator; every ``promote`` products the chain is added into
  a float32 accumulator (round to nearest even) and restarts from 0.
* ``fma``: sequential float32 fused multiply-add (one rounding per step), the CUDA-core
  path.

This file is the provenance of the rules written in lowbit/mac/h100_paths.py.
"""
from __future__ import annotations

import json
import math
import os

import numpy as np
from numba import njit, prange

HERE = os.path.dirname(os.path.abspath(__file__))
RZ, RNE, RD = 0, 1, 2


def load():
    with open(os.path.join(HERE, "cases.json")) as f:
        meta = json.load(f)
    import sys

    sys.path.insert(0, HERE)
    import operands  # rebuilt bit for bit, checked against the recorded SHA-256

    ops = operands.load()
    outs = np.load(os.path.join(HERE, "outputs.npz"))
    return meta, ops, outs


# ------------------------------------------------------------------------------------------
# decoding (numpy only): value = sig * 2^q exactly, e = alignment exponent, x = class
# ------------------------------------------------------------------------------------------
LAYOUT = {  # fam: (ebits, mbits, bias, has_inf)
    "f16": (5, 10, 15, True),
    "bf16": (8, 7, 127, True),
    "f32": (8, 23, 127, True),
    "e4m3": (4, 3, 7, False),
}


def decode_fields(bits, fam, tf32=None):
    """bits -> (sig int64 signed, q int64, e int64, x int8: 0 finite, 1 inf, 2 nan).

    tf32: None (keep all bits), "rz" (drop the 13 low fraction bits) or "rne" / "rna"
    (round them off to nearest, ties to even / away) before decoding a float32.
    """
    if fam == "i8":
        v = bits.astype(np.int64)
        return v, np.zeros_like(v), np.zeros_like(v), np.zeros(v.shape, np.int8)
    eb, mb, bias, has_inf = LAYOUT[fam]
    b = bits.astype(np.int64)
    if tf32 is not None:
        assert fam == "f32"
        finite = ((b >> 23) & 0xFF) != 0xFF
        low = b & 0x1FFF
        keep = b & ~np.int64(0x1FFF)
        if tf32 == "rz":
            nb = keep
        else:
            half = 0x1000
            up = (low > half) | ((low == half) & (((b >> 13) & 1) == 1)) if tf32 == "rne" else (low >= half)
            nb = keep + np.where(up, 0x2000, 0)
        b = np.where(finite, nb, b)
    sign = (b >> (eb + mb)) & 1
    field = (b >> mb) & ((1 << eb) - 1)
    man = b & ((1 << mb) - 1)
    emax_field = (1 << eb) - 1
    x = np.zeros(b.shape, np.int8)
    if has_inf:
        x[(field == emax_field) & (man == 0)] = 1
        x[(field == emax_field) & (man != 0)] = 2
    else:  # e4m3fn: S.1111.111 is NaN
        x[(field == emax_field) & (man == (1 << mb) - 1)] = 2
    sub = field == 0
    e = np.where(sub, 1 - bias, field - bias)
    s = np.where(sub, man, man | (1 << mb))
    q = e - mb
    sig = np.where(sign == 1, -s, s)
    sig = np.where(x == 0, sig, np.where(x == 1, np.where(sign == 1, -1, 1), 0))
    return sig.astype(np.int64), q.astype(np.int64), e.astype(np.int64), x


def out_values(bits, dtype):
    if dtype == "uint16_f16":
        return bits.view(np.float16).astype(np.float64)
    if dtype == "uint16_bf16":
        return (bits.astype(np.uint32) << 16).view(np.float32).astype(np.float64)
    if dtype == "uint32":
        return bits.view(np.float32).astype(np.float64)
    return bits.astype(np.float64)


# ------------------------------------------------------------------------------------------
# kernels
# ------------------------------------------------------------------------------------------
@njit(cache=True, inline="always")
def bitlen(x):
    n = 0
    while x > 0:
        x >>= 1
        n += 1
    return n


@njit(cache=True, inline="always")
def to_grid(p, q, g, mode):
    """Round p*2^q (p signed) to an integer multiple r of 2^g; returns r."""
    d = g - q
    if d <= 0:
        return p << (-d)
    neg = p < 0
    mag = -p if neg else p
    if d >= 62:
        r = 0
        rem = mag
        half_cmp = -1 if mag != 0 else -2  # below half (mag < 2^61 always)
    else:
        r = mag >> d
        rem = mag - (r << d)
        h = np.int64(1) << (d - 1)
        half_cmp = 1 if rem > h else (0 if rem == h else -1)
        if rem == 0:
            half_cmp = -2
    if mode == RNE:
        if half_cmp == 1 or (half_cmp == 0 and (r & 1) == 1):
            r += 1
    elif mode == RD:
        if neg and half_cmp != -2:
            r += 1
    elif mode == 3:  # nearest, ties away
        if half_cmp >= 0:
            r += 1
    return -r if neg else r


@njit(cache=True, inline="always")
def round_bits(v, s, nbits, mode, emin_lsb):
    """Round v*2^s to nbits significant bits (lsb not below emin_lsb); returns (v', s')."""
    if v == 0:
        return v, s
    mag = -v if v < 0 else v
    nb = bitlen(mag)
    lsb = s + nb - nbits
    if lsb < emin_lsb:
        lsb = emin_lsb
    if lsb > s:
        v = to_grid(v, s, lsb, mode)
        s = lsb
        # a carry can add one bit: renormalise (exact, drops a zero)
        mag = -v if v < 0 else v
        if bitlen(mag) > nbits and (v & 1) == 0:
            v >>= 1
            s += 1
    return v, s


@njit(cache=True)
def f32_of(v, s):
    """v*2^s rounded to nearest even float32 (overflow -> inf)."""
    if v == 0:
        return 0.0
    v2, s2 = round_bits(v, s, 24, RNE, -149)
    r = math.ldexp(float(v2), s2)
    if abs(r) >= 3.4028235677973366e38 * (1 + 2.0 ** -25):
        return math.inf if r > 0 else -math.inf
    return float(np.float32(r))


@njit(cache=True, parallel=True)
def block_model(a_sig, a_q, a_e, a_x, b_sig, b_q, b_e, b_x, n, F, align_true, term_mode,
                acc_mode, acc_in_max, nbits, nmode, promote, out):
    """See the module docstring. a_*: M×K, b_*: N×K (B transposed). out: float64 M×N."""
    M, K = a_sig.shape
    N = b_sig.shape[0]
    for idx in prange(M * N):
        i = idx // N
        j = idx - i * N
        nan = False
        pinf = False
        ninf = False
        outer = 0.0
        acc = np.int64(0)
        s = np.int64(0)
        cnt = 0
        for k0 in range(0, K, n):
            k1 = min(k0 + n, K)
            E = -100000
            for k in range(k0, k1):
                if a_x[i, k] != 0 or b_x[j, k] != 0:
                    if a_x[i, k] == 2 or b_x[j, k] == 2:
                        nan = True
                    elif a_sig[i, k] == 0 or b_sig[j, k] == 0:
                        nan = True
                    elif (a_sig[i, k] < 0) != (b_sig[j, k] < 0):
                        ninf = True
                    else:
                        pinf = True
                    continue
                p = a_sig[i, k] * b_sig[j, k]
                if p != 0:
                    if align_true:
                        e = a_q[i, k] + b_q[j, k] + bitlen(p if p > 0 else -p) - 1
                    else:
                        e = a_e[i, k] + b_e[j, k]
                    if e > E:
                        E = e
            if acc != 0 and acc_in_max:
                ea = s + bitlen(acc if acc > 0 else -acc) - 1
                if ea > E:
                    E = ea
            if E != -100000:
                g = E - F
                tot = to_grid(acc, s, g, acc_mode) if acc != 0 else np.int64(0)
                for k in range(k0, k1):
                    if a_x[i, k] != 0 or b_x[j, k] != 0:
                        continue
                    p = a_sig[i, k] * b_sig[j, k]
                    if p != 0:
                        tot += to_grid(p, a_q[i, k] + b_q[j, k], g, term_mode)
                acc, s = round_bits(tot, g, nbits, nmode, -100000)
            cnt += k1 - k0
            if promote > 0 and (cnt >= promote or k1 >= K):
                outer = float(np.float32(outer + f32_of(acc, s)))
                acc = 0
                s = 0
                cnt = 0
        if promote <= 0:
            outer = f32_of(acc, s)
        if nan or (pinf and ninf):
            out[i, j] = np.nan
        elif pinf:
            out[i, j] = np.inf
        elif ninf:
            out[i, j] = -np.inf
        else:
            out[i, j] = outer


@njit(cache=True, parallel=True)
def fma_model(a, b, out):
    """Sequential float32 FMA over k = 0..K-1 (a: M×K float64 values, b: N×K)."""
    M, K = a.shape
    N = b.shape[0]
    for idx in prange(M * N):
        i = idx // N
        j = idx - i * N
        acc = 0.0
        for k in range(K):
            # a*b exact in float64 for float32 operands; + acc rounded once to float32
            # (double rounding via float64 is exact enough here only when no bits are lost:
            # use the two-step exact path)
            acc = fma32(a[i, k], b[j, k], acc)
        out[i, j] = acc


@njit(cache=True, inline="always")
def odd_grid(v, s, G):
    """v*2^s on the grid 2^G, truncated with a sticky bit ORed into the last place."""
    if s >= G:
        return v << (s - G)
    neg = v < 0
    mag = -v if neg else v
    d = G - s
    if d >= 62:
        r = np.int64(0)
        st = mag != 0
    else:
        r = mag >> d
        st = (r << d) != mag
    if st:
        r |= 1
    return -r if neg else r


@njit(cache=True, inline="always")
def fma32(x, y, c):
    """float32 fma(x, y, c), one rounding to nearest even (IEEE 754 §5.4.1), x, y, c float32."""
    if x == 0.0 or y == 0.0 or not (math.isfinite(x) and math.isfinite(y) and math.isfinite(c)):
        return float(np.float32(x * y + c))
    mx, ex = math.frexp(x)
    my, ey = math.frexp(y)
    v = np.int64(mx * 16777216.0) * np.int64(my * 16777216.0)  # |v| < 2^48
    s = ex + ey - 48
    if c == 0.0:
        return f32_of(v, s)
    mc, ec = math.frexp(c)
    pc = np.int64(mc * 16777216.0)
    sc = ec - 24
    T = max(s + 48, sc + 24)
    G = T - 52
    return f32_of(odd_grid(v, s, G) + odd_grid(pc, sc, G), G)
