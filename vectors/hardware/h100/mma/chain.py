"""A K-order model of a cuBLAS/CUTLASS mma.sync GEMM, built from the single-instruction rule
(ref.py / fit_mma.py), as a Numba kernel over exact int64 fields (independent of lowbit.mac).

A *schedule* says which elements of K meet which instruction, in chain order:
``sched`` (nsteps x width, -1 = padding) and ``slice_of`` (nsteps,) the split-K slice of each
step.  Each slice is a chain from 0: every step is one mma (the fused-block rule: E = max of
the products' e_a + e_b and the incoming accumulator's exponent; terms cut toward zero to
2^(E-25); then ``acc`` 0: cut toward zero to 24 bits and float32's range (lsb >= 2^-149),
or ``acc`` 1: rounded to nearest even to float16 (11 bits, lsb >= 2^-24, >= 2^16 -> Inf)).
The slices' results are added in slice order (``red`` 0: float32, 1: float16, 2: float32
then rounded to float16 at the end), starting from slice 0's value.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange


def decode(bits, fmt):
    """bits -> (sig int64 signed, exp int64 (value sig*2^exp), e alignment exponent, cls
    0 finite 1 +inf 2 -inf 3 nan).  fmt 'tf32rne' rounds float32 to TF32 first (nearest even)."""
    b = bits.astype(np.int64)
    if fmt in ("tf32rne", "tf32rz", "f32"):
        eb, mb, bias = 8, 23, 127
        finite = ((b >> 23) & 0xFF) != 0xFF
        if fmt == "tf32rne":
            low = b & 0x1FFF
            keep = b & ~np.int64(0x1FFF)
            up = (low > 0x1000) | ((low == 0x1000) & (((b >> 13) & 1) == 1))
            b = np.where(finite, keep + np.where(up, 0x2000, 0), b)
        elif fmt == "tf32rz":
            b = np.where(finite, b & ~np.int64(0x1FFF), b)
    elif fmt == "f16":
        eb, mb, bias = 5, 10, 15
    else:
        raise ValueError(fmt)
    sign = (b >> (eb + mb)) & 1
    field = (b >> mb) & ((1 << eb) - 1)
    man = b & ((1 << mb) - 1)
    top = (1 << eb) - 1
    cls = np.zeros(b.shape, np.int8)
    cls[(field == top) & (man == 0) & (sign == 0)] = 1
    cls[(field == top) & (man == 0) & (sign == 1)] = 2
    cls[(field == top) & (man != 0)] = 3
    sub = field == 0
    e = np.where(sub, 1 - bias, field - bias)
    s = np.where(sub, man, man | (1 << mb))
    sig = np.where(sign == 1, -s, s)
    sig = np.where(cls == 0, sig, 0)
    return sig.astype(np.int64), (e - mb).astype(np.int64), e.astype(np.int64), cls


@njit(cache=True, inline="always")
def _bitlen(x):
    n = 0
    while x > 0:
        x >>= 1
        n += 1
    return n


@njit(cache=True, inline="always")
def _cut_rz(v, s, g):
    """v*2^s cut toward zero to a multiple of 2^g: returns the integer multiple."""
    d = g - s
    if d <= 0:
        return v << (-d)
    if d >= 63:
        return np.int64(0)
    if v >= 0:
        return v >> d
    return -((-v) >> d)


@njit(cache=True, inline="always")
def _round_rne(v, s, g):
    d = g - s
    if d <= 0:
        return v << (-d)
    neg = v < 0
    m = -v if neg else v
    if d >= 63:
        return np.int64(0)
    r = m >> d
    rem = m - (r << d)
    h = np.int64(1) << (d - 1)
    if rem > h or (rem == h and (r & 1) == 1):
        r += 1
    return -r if neg else r


@njit(cache=True, inline="always")
def _f16(x):
    """float64 -> nearest-even float16 value (as float64); |x| rounding past 65504 -> Inf."""
    if x != x or x == 0.0 or math.isinf(x):
        return x
    m, e = math.frexp(x)
    lsb = e - 11
    if lsb < -24:
        lsb = -24
    q = math.ldexp(x, -lsb)
    f = math.floor(q)
    d = q - f
    if d > 0.5 or (d == 0.5 and (f % 2) == 1):
        f += 1.0
    r = math.ldexp(f, lsb)
    if abs(r) > 65504.0:
        return math.inf if r > 0 else -math.inf
    return r


@njit(cache=True, inline="always")
def _val(v, s):
    return math.ldexp(float(v), s)


@njit(cache=True, parallel=True)
def chain_model(a_sig, a_exp, a_e, a_cls, b_sig, b_exp, b_e, b_cls, stp_table, slice_of, nslices,
                acc, red, c_sig, c_exp, c_cls, out):
    """a_*: M x K, b_*: N x K (B transposed); c_*: M x N, the accumulator slice 0 starts
    from (zeros: from 0). out: float64 M x N (NaN/Inf as such)."""
    M = a_sig.shape[0]
    N = b_sig.shape[0]
    nsteps, width = stp_table.shape
    for idx in prange(M * N):
        i = idx // N
        j = idx - i * N
        total = 0.0
        first = True
        nan_any = False
        for sl in range(nslices):
            v = np.int64(0)
            s = np.int64(0)
            inf = 0  # +1 / -1 once the chain holds an Inf
            nan = False
            if sl == 0:
                if c_cls[i, j] == 3:
                    nan = True
                elif c_cls[i, j] == 1:
                    inf = 1
                elif c_cls[i, j] == 2:
                    inf = -1
                else:
                    v = c_sig[i, j]
                    s = c_exp[i, j]
            for st in range(nsteps):
                if slice_of[st] != sl:
                    continue
                E = -100000
                pinf = False
                ninf = False
                for w in range(width):
                    k = stp_table[st, w]
                    if k < 0:
                        continue
                    ca = a_cls[i, k]
                    cb = b_cls[j, k]
                    if ca != 0 or cb != 0:
                        if ca == 3 or cb == 3:
                            nan = True
                        elif (ca == 0 and a_sig[i, k] == 0) or (cb == 0 and b_sig[j, k] == 0):
                            nan = True
                        else:
                            sa = 1 if (ca == 1 or (ca == 0 and a_sig[i, k] > 0)) else -1
                            sb = 1 if (cb == 1 or (cb == 0 and b_sig[j, k] > 0)) else -1
                            if sa * sb > 0:
                                pinf = True
                            else:
                                ninf = True
                        continue
                    p = a_sig[i, k] * b_sig[j, k]
                    if p != 0:
                        e = a_e[i, k] + b_e[j, k]
                        if e > E:
                            E = e
                if pinf and ninf:
                    nan = True
                if pinf:
                    if inf == -1:
                        nan = True
                    inf = 1
                if ninf:
                    if inf == 1:
                        nan = True
                    inf = -1
                if nan or inf != 0:
                    continue
                if v != 0:
                    ea = s + _bitlen(v if v > 0 else -v) - 1
                    if ea > E:
                        E = ea
                if E == -100000:
                    continue
                g = E - 25
                tot = _cut_rz(v, s, g) if v != 0 else np.int64(0)
                for w in range(width):
                    k = stp_table[st, w]
                    if k < 0 or a_cls[i, k] != 0 or b_cls[j, k] != 0:
                        continue
                    p = a_sig[i, k] * b_sig[j, k]
                    if p != 0:
                        tot += _cut_rz(p, a_exp[i, k] + b_exp[j, k], g)
                if tot == 0:
                    v = np.int64(0)
                    s = np.int64(0)
                    continue
                m = tot if tot > 0 else -tot
                nb = 24 if acc == 0 else 11
                lsb = g + _bitlen(m) - nb
                lo = -149 if acc == 0 else -24
                if lsb < lo:
                    lsb = lo
                if lsb > g:
                    if acc == 0:
                        tot = _cut_rz(tot, g, lsb)
                    else:
                        tot = _round_rne(tot, g, lsb)
                    g = lsb
                v = tot
                s = g
                if v != 0:
                    top = s + _bitlen(v if v > 0 else -v) - 1
                    lim = 128 if acc == 0 else 16
                    if top >= lim:
                        inf = 1 if v > 0 else -1
            if nan:
                x = np.nan
            elif inf != 0:
                x = np.inf if inf > 0 else -np.inf
            else:
                x = _val(v, s)
            if first:
                total = x
                first = False
            else:
                if red == 1:
                    total = _f16(total + x)
                else:
                    total = float(np.float32(total + x))
            if total != total:
                nan_any = True
        if red == 2:
            total = _f16(total)
        out[i, j] = np.nan if nan_any else total


def run(a_bits, b_bits, fmt, sched, slice_of, acc, red, c_bits=None, c_fmt="f32"):
    """a_bits M x K, b_bits K x N (operand bit patterns, ``fmt``) -> float64 M x N.
    c_bits (M x N, ``c_fmt`` bits): the accumulator's starting value (None: 0)."""
    A = decode(a_bits, fmt)
    B = decode(np.ascontiguousarray(b_bits.T), fmt)
    sched = np.asarray(sched, np.int64)
    slice_of = np.asarray(slice_of, np.int64)
    M, N = a_bits.shape[0], b_bits.shape[1]
    if c_bits is None:
        Cs, Ce, Cc = np.zeros((M, N), np.int64), np.zeros((M, N), np.int64), np.zeros((M, N), np.int8)
    else:
        Cs, Ce, _, Cc = decode(c_bits, c_fmt)
    out = np.zeros((M, N))
    chain_model(*A, *B, sched, slice_of, int(slice_of.max()) + 1, acc, red, Cs, Ce, Cc, out)
    return out


def schedule(K, step, slices=None, perm=None, residue_tile=None):
    """Steps of ``step`` consecutive elements of K (after permuting K by ``perm``; -1 in perm
    is an empty lane); ``slices``: the slice lengths (elements of the permuted order, summing
    to its length) or None (one slice).  Each slice is cut into steps on its own (its last
    step may be short).  ``residue_tile``: CUTLASS 2.x mainloops load the partial k-tile
    first: a slice of length l begins with steps over its first l % residue_tile elements,
    then steps of ``step`` over the rest."""
    order = list(range(K)) if perm is None else list(perm)
    slices = list(slices) if slices else [len(order)]
    assert sum(slices) == len(order), (slices, len(order))
    rows, slice_of = [], []
    pos = 0
    for si, L in enumerate(slices):
        part = order[pos:pos + L]
        pos += L
        r = L % residue_tile if residue_tile else 0
        cuts = list(range(0, r, step)) + list(range(r, L, step))
        for a, b in zip(cuts, cuts[1:] + [L]):
            rows.append(part[a:b] + [-1] * (step - (b - a)))
            slice_of.append(si)
    return np.array(rows, np.int64), np.array(slice_of, np.int64)


# ------------------------------------------------------------------------------------------
# cuBLAS on the H100 (torch 2.11 + CUDA 13.0 cuBLAS), per shape: found by fit_cublas.py
# ------------------------------------------------------------------------------------------
def equal_slices(K, L):
    """K cut into slices of L elements (the last one shorter)."""
    n = -(-K // L)
    return [L] * (n - 1) + [K - L * (n - 1)]


# TF32 (allow_tf32=True): (M, N, K) -> (slice length in elements of K or None for one slice,
# k-tile of the kernel's mainloop, whose partial tile comes first in each slice).
# Kernels (torch.profiler, data/meta*.json): s1688 = cutlass_80_tensorop_s1688gemm_64x64_16x6
# (k-tile 16) or _64x64_32x6 (k-tile 32), + cublasLt splitKreduce_kernel (float32) when split;
# xmma = sm90_xmma_gemm_f32f32_tf32f32_f32 tilesize64x128x32 (wgmma; its K=4096 variant
# "segment_k_on" computes 8 of the 128 output tiles differently: not modelled, see README).
TF32_SLICES = {
    (64, 64, 16): (4, 16), (64, 64, 32): (32, 16), (64, 64, 64): (32, 16), (64, 64, 128): (32, 16),
    (64, 64, 256): (32, 16), (64, 64, 512): (64, 16), (64, 64, 1000): (64, 16),
    (64, 64, 2048): (64, 16), (64, 64, 4096): (128, 16), (100, 100, 100): (None, 16),
    (128, 128, 32): (32, 16), (128, 128, 64): (32, 16),  # kernel not recorded for these two
    (128, 128, 128): (None, 16), (128, 128, 256): (64, 16), (128, 128, 1024): (64, 16),
    (256, 256, 256): (None, 32), (256, 256, 1024): (128, 32), (512, 512, 512): (None, 32),
    (1024, 1024, 1024): (None, 32), (1024, 1024, 2048): (None, 32), (1024, 1024, 4096): (None, 32),
}
# FP16 accumulation (allow_fp16_accumulation / cublasGemmEx COMPUTE_16F): the same, for
# h16816 = cutlass_80_tensorop_h16816gemm_64x64_64x6 (k-tile 64), wmma = cutlass_80_wmma_
# tensorop_h161616gemm_32x32_128x1 / _16x16_128x2 / _32x32_128x2 (k-tile 128) /
# _32x32_64x2 (k-tile 64), + splitKreduce_kernel in float16; xmma = sm90_xmma_gemm_f16f16_
# f16f16_f16 tilesize128x128x64 (wgmma, float16 accumulator).
FP16ACC_SLICES = {
    (64, 64, 16): (8, 64), (64, 64, 32): (8, 64), (64, 64, 64): (None, 64), (64, 64, 128): (64, 64),
    (64, 64, 256): (64, 64), (64, 64, 512): (64, 128), (64, 64, 1000): (88, 128),
    (64, 64, 2048): (128, 128), (64, 64, 4096): (192, 128), (100, 100, 100): (16, 64),
    (128, 128, 32): (None, 64), (128, 128, 64): (None, 64),  # kernel not recorded for these two
    (128, 128, 128): (None, 128), (128, 128, 256): (None, 128), (128, 128, 1024): (64, 64),
    (256, 256, 256): (None, 128), (256, 256, 1024): (256, 64), (512, 512, 512): (None, 64),
    (1024, 1024, 1024): (None, 64), (1024, 1024, 2048): (None, 64), (1024, 1024, 4096): (None, 64),
}


def cublas_schedule(kind, M, N, K):
    """(sched, slice_of) of cuBLAS ``kind`` ('tf32' or 'fp16acc') at a recorded shape."""
    table, step = (TF32_SLICES, 8) if kind == "tf32" else (FP16ACC_SLICES, 16)
    if (M, N, K) not in table:
        raise ValueError(f"shape {(M, N, K)} not recorded for cuBLAS {kind}; known: {sorted(table)}")
    L, tile = table[(M, N, K)]
    return schedule(K, step, None if L is None else equal_slices(K, L), residue_tile=tile)


# TF32 1024 x 1024 x 4096 (sm90_xmma ... segment_k_on): the 8 output tiles of rows 0-255 x
# columns 768-1023 are split over K (found by probe_segmap3.py / segmap.py): K = 7 pieces of
# 256 then 8 pieces of 288 (in K order), each piece a chain from 0 of 8-product steps, the
# pieces' float32 results added (nearest even) in the tree below (leaf i = piece i).  Every
# other tile: one chain.
TF32_SEGMENTED = {
    (1024, 1024, 4096): {
        "rows": (0, 256), "cols": (768, 1024),
        "pieces": [256] * 7 + [288] * 8,
        "tree": (((0, (1, 2)), ((3, 4), (5, 6))), (((7, 8), (9, 10)), ((11, 12), (13, 14)))),
    },
}


def _tree_sum(parts, tree):
    if isinstance(tree, int):
        return parts[tree]
    a, b = (_tree_sum(parts, t) for t in tree)
    return (a + b).astype(np.float32).astype(np.float64)


def _segmented(a_bits, b_bits, seg):
    parts, pos = [], 0
    for L in seg["pieces"]:
        sch, so = schedule(L, 8, None, perm=list(range(pos, pos + L)))
        parts.append(run(a_bits, b_bits, "tf32rne", sch, so, 0, 0))
        pos += L
    return _tree_sum(parts, seg["tree"])


def cublas_tf32(a_bits, b_bits, M=None, N=None, rows=None, cols=None):
    """torch.matmul(float32, allow_tf32=True) on the H100 -> float32 bit patterns.

    a_bits (rows x K uint32), b_bits (K x cols uint32): the rows / columns of the full M x N
    problem (default: the operands' own shape) whose outputs are wanted.  Operands rounded to
    TF32 to nearest even; steps of 8 consecutive elements of K (one mma.sync m16n8k8 each);
    each split-K slice a chain from 0; slices added in order in float32 (nearest even).
    rows / cols: the global row / column index of each given row of A / column of B (default
    0, 1, ...): they matter where cuBLAS splits some tiles only (``TF32_SEGMENTED``)."""
    M = a_bits.shape[0] if M is None else M
    N = b_bits.shape[1] if N is None else N
    K = a_bits.shape[1]
    sch, so = cublas_schedule("tf32", M, N, K)
    out = run(a_bits, b_bits, "tf32rne", sch, so, 0, 0)
    seg = TF32_SEGMENTED.get((M, N, K))
    if seg is not None:
        rows = np.arange(a_bits.shape[0]) if rows is None else np.asarray(rows)
        cols = np.arange(b_bits.shape[1]) if cols is None else np.asarray(cols)
        ri = np.flatnonzero((rows >= seg["rows"][0]) & (rows < seg["rows"][1]))
        ci = np.flatnonzero((cols >= seg["cols"][0]) & (cols < seg["cols"][1]))
        if ri.size and ci.size:
            sub = _segmented(np.ascontiguousarray(a_bits[ri]), np.ascontiguousarray(b_bits[:, ci]), seg)
            out[np.ix_(ri, ci)] = sub
    b = out.astype(np.float32).view(np.uint32).copy()
    b[np.isnan(out)] = 0x7FFFFFFF
    return b


def cublas_fp16acc(a_bits, b_bits, M=None, N=None):
    """torch.matmul(float16, allow_fp16_accumulation=True) / cublasGemmEx COMPUTE_16F on the
    H100 -> float16 bit patterns.  Steps of 16 consecutive elements of K (one mma m16n8k16
    with a float16 accumulator each), each split-K slice a chain from 0 (a slice of 8 is one
    step of 8), slices added in order in float16 (nearest even)."""
    M = a_bits.shape[0] if M is None else M
    N = b_bits.shape[1] if N is None else N
    sch, so = cublas_schedule("fp16acc", M, N, a_bits.shape[1])
    out = run(a_bits, b_bits, "f16", sch, so, 1, 1)
    b = out.astype(np.float16).view(np.uint16).copy()
    b[np.isnan(out)] = 0x7FFF
    return b
