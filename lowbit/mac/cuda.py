"""The ``fused-block`` accumulator on a CUDA GPU (Numba's CUDA target, optional extra ``cuda``).

One thread per output element runs the same rule as the CPU kernel
(:func:`lowbit.mac.kernels.fused_block_matmul`), read from the same description — a
:class:`lowbit.mac.FusedBlock` — and the same per-code tables (:mod:`lowbit.mac.operands`):
blocks of ``block_size`` exact integer products, the block's largest alignment exponent E,
terms and incoming accumulator put on the grid 2^(E − frac_bits), the exact sum cut to
``sum_frac_bits`` / ``sum_bits``, promotion into an IEEE float32 accumulator, split-K
slices added in order.  Results are bit-identical to the CPU path (tests/test_h100_paths.py
on a GPU; ``NUMBA_ENABLE_CUDASIM=1`` runs the same code on the CPU simulator).

Layout: A codes M×K row-major, B codes K×N row-major (as given): threads of a warp take
consecutive output columns, so their B reads are coalesced and their A reads broadcast.
The float32 result is assembled from its bits with integer operations (no float rounding
on the device other than the IEEE float32 add of a promotion, which CUDA does to nearest
even).
"""
from __future__ import annotations

import numpy as np

from .accumulators import ROUNDINGS, FusedBlock
from .accumulators import accumulator as build

_KERNEL = {}
cuda = None  # numba.cuda, imported on first use (a module global: the CUDA simulator swaps it)

TOWARD_ZERO, NEAREST_EVEN, DOWN, UP, NEAREST_AWAY = 0, 1, 2, 3, 4


def available() -> bool:
    """True when Numba's CUDA target finds a GPU (or the simulator is on)."""
    try:
        from numba import cuda
    except ImportError:
        return False
    try:
        return bool(cuda.is_available())
    except Exception:  # noqa: BLE001 - a broken driver counts as no GPU
        return False


def _build():
    if "k" in _KERNEL:
        return _KERNEL["k"]
    global cuda
    if not hasattr(np, "row_stack"):
        # numba-cuda releases that predate NumPy 2.5 register an overload for np.row_stack
        # (removed in NumPy 2.5) when their array support loads; give them the alias
        # (np.row_stack was np.vstack) so the CUDA target imports.
        np.row_stack = np.vstack
    from numba import cuda, int64, float32

    @cuda.jit(device=True, inline=True)
    def bitlen(x):
        n = 0
        while x >= 65536:
            x >>= 16
            n += 16
        while x > 0:
            x >>= 1
            n += 1
        return n

    @cuda.jit(device=True, inline=True)
    def to_grid(p, q, g, mode):
        d = g - q
        if d <= 0:
            return p << (-d)
        neg = p < 0
        mag = -p if neg else p
        if d >= 63:
            r = int64(0)
            rem_nonzero = mag != 0
            above_half = False
            at_half = False
        else:
            r = mag >> d
            rem = mag - (r << d)
            rem_nonzero = rem != 0
            half = int64(1) << (d - 1)
            above_half = rem > half
            at_half = rem == half
        if mode == NEAREST_EVEN:
            if above_half or (at_half and (r & 1) == 1):
                r += 1
        elif mode == NEAREST_AWAY:
            if above_half or at_half:
                r += 1
        elif mode == DOWN:
            if neg and rem_nonzero:
                r += 1
        elif mode == UP:
            if (not neg) and rem_nonzero:
                r += 1
        return -r if neg else r

    @cuda.jit(device=True, inline=True)
    def f32_bits(a, s):
        """a·2^s rounded to nearest even float32 (IEEE 754 §4.3.1), as its uint32 bit pattern."""
        if a == 0:
            return int64(0)
        sign = int64(0)
        if a < 0:
            sign = int64(1) << 31
            a = -a
        top = s + bitlen(a) - 1
        lsb = top - 23
        if lsb < -149:
            lsb = -149
        if lsb > s:
            a = to_grid(a, s, lsb, NEAREST_EVEN)
            s = lsb
        elif lsb < s:
            a = a << (s - lsb)
            s = lsb
        # a·2^s, a < 2^25 (a carry may give 2^24)
        if a >= (int64(1) << 24):
            a >>= 1
            s += 1
        if a == 0:
            return sign
        if a < (int64(1) << 23):  # subnormal (s == -149)
            return sign | a
        biased = s + 23 + 127
        if biased >= 255:
            return sign | int64(0x7F800000)
        return sign | (biased << 23) | (a - (int64(1) << 23))

    @cuda.jit
    def kernel(a_codes, b_codes, ta_sig, ta_q, ta_e, ta_x, tb_sig, tb_q, tb_e, tb_x,
               row_special, col_special, n, frac_bits, align_product, term_mode, acc_mode,
               acc_in_max, sum_frac_bits, sum_bits, sum_mode, promote_every, promote_chunk,
               out_bits):
        j = cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x
        i = cuda.blockIdx.y
        M, K = a_codes.shape
        N = b_codes.shape[1]
        if j >= N or i >= M:
            return
        special = row_special[i] or col_special[j]
        big = int64(-(1 << 40))
        nan = False
        pinf = False
        ninf = False
        # float32 accumulator kept as a float32 value (IEEE add on the device, nearest even)
        outer = float32(0.0)
        acc = int64(0)
        s = int64(0)
        count = 0
        for k0 in range(0, K, n):
            k1 = min(k0 + n, K)
            emax = big
            for k in range(k0, k1):
                ca = a_codes[i, k]
                cb = b_codes[k, j]
                if special:
                    if ta_x[ca] != 0 or tb_x[cb] != 0:
                        if ta_x[ca] == 2 or tb_x[cb] == 2 or ta_sig[ca] == 0 or tb_sig[cb] == 0:
                            nan = True
                        elif (ta_sig[ca] < 0) != (tb_sig[cb] < 0):
                            ninf = True
                        else:
                            pinf = True
                        continue
                p = int64(ta_sig[ca]) * int64(tb_sig[cb])
                if p != 0:
                    if align_product:
                        e = int64(ta_q[ca]) + int64(tb_q[cb]) + bitlen(p if p > 0 else -p) - 1
                    else:
                        e = int64(ta_e[ca]) + int64(tb_e[cb])
                    if e > emax:
                        emax = e
            if acc != 0 and acc_in_max:
                eacc = s + bitlen(acc if acc > 0 else -acc) - 1
                if eacc > emax:
                    emax = eacc
            if emax != big:
                g = emax - frac_bits
                total = int64(0)
                if acc != 0:
                    total = to_grid(acc, s, g, acc_mode)
                for k in range(k0, k1):
                    ca = a_codes[i, k]
                    cb = b_codes[k, j]
                    if special:
                        if ta_x[ca] != 0 or tb_x[cb] != 0:
                            continue
                    p = int64(ta_sig[ca]) * int64(tb_sig[cb])
                    if p != 0:
                        q = int64(ta_q[ca]) + int64(tb_q[cb])
                        if term_mode == TOWARD_ZERO:
                            d = g - q
                            if d <= 0:
                                total += p << (-d)
                            elif d < 63:
                                total += (p >> d) if p > 0 else -((-p) >> d)
                        else:
                            total += to_grid(p, q, g, term_mode)
                if sum_frac_bits >= 0 and emax - sum_frac_bits > g:
                    total = to_grid(total, g, emax - sum_frac_bits, sum_mode)
                    g = emax - sum_frac_bits
                if sum_bits > 0 and total != 0:
                    nb = bitlen(total if total > 0 else -total)
                    if nb > sum_bits:
                        total = to_grid(total, g, g + nb - sum_bits, sum_mode)
                        g = g + nb - sum_bits
                acc = total
                s = g
            count += k1 - k0
            if promote_every > 0:
                end_chunk = k1 >= K or (promote_chunk > 0 and k1 % promote_chunk == 0)
                if count >= promote_every or end_chunk:
                    outer = outer + _f32_from_bits(f32_bits(acc, s))
                    acc = 0
                    s = 0
                    count = 0
        if nan or (pinf and ninf):
            out_bits[i, j] = 0x7FC00000
        elif pinf:
            out_bits[i, j] = 0x7F800000
        elif ninf:
            out_bits[i, j] = 0xFF800000
        elif promote_every <= 0:
            out_bits[i, j] = f32_bits(acc, s)
        else:
            out_bits[i, j] = _bits_from_f32(outer)

    _KERNEL["k"] = kernel
    return kernel


def _setup_bitcasts():
    """Device bit casts float32 <-> uint32 (numba.cuda has no view on scalars)."""
    from numba import cuda, float32, int64, uint32  # noqa: F401
    import math

    global _f32_from_bits, _bits_from_f32

    @cuda.jit(device=True, inline=True)
    def _f32_from_bits(bits):
        # exact: a float32 is sign · m · 2^(e), rebuilt in float64 then narrowed (exact)
        sign = -1.0 if (bits >> 31) & 1 else 1.0
        e = (bits >> 23) & 0xFF
        m = bits & 0x7FFFFF
        if e == 0:
            return float32(sign * math.ldexp(float(m), -149))
        return float32(sign * math.ldexp(float(m | 0x800000), int(e) - 150))

    @cuda.jit(device=True, inline=True)
    def _bits_from_f32(x):
        if x == 0.0:
            return int64(0x80000000) if math.copysign(1.0, x) < 0 else int64(0)
        if math.isinf(x):
            return int64(0x7F800000) if x > 0 else int64(0xFF800000)
        if math.isnan(x):
            return int64(0x7FC00000)
        sign = int64(0)
        v = float(x)
        if v < 0:
            sign = int64(1) << 31
            v = -v
        m, e = math.frexp(v)  # v = m·2^e, 0.5 <= m < 1
        if e - 1 < -126:  # subnormal: v = f·2^-149
            return sign | int64(math.ldexp(v, 149))
        return sign | (int64(e - 1 + 127) << 23) | (int64(math.ldexp(m, 24)) - (int64(1) << 23))


_f32_from_bits = None
_bits_from_f32 = None


def matmul(a_codes, b_codes, a_format, b_format, *, accumulator, threads: int = 128) -> np.ndarray:
    """``lowbit.matmul`` for a ``fused-block`` accumulator (presets included) on the GPU.

    Returns the float32 accumulator (no scales; NaN results carry ``accumulator.nan_bits``).
    Raises RuntimeError where no CUDA GPU is found, ValueError / TypeError as
    :func:`lowbit.matmul` for bad operands, and ValueError for accumulators other than
    fused-block.
    """
    from .operands import codes_for_kernel, has_special, tables
    from ..formats import format as lookup

    acc = build(accumulator)
    if not isinstance(acc, FusedBlock):
        raise ValueError(f"device='cuda' runs fused-block accumulators (and their presets) only, got {acc.kind!r}")
    if not available():
        raise RuntimeError("device='cuda': no CUDA GPU found by numba.cuda (install the 'cuda' extra and a driver)")
    from numba import cuda

    if _f32_from_bits is None:
        _setup_bitcasts()
    kernel = _build()
    fa, fb = lookup(a_format), lookup(b_format)
    a = np.asarray(a_codes)
    b = np.asarray(b_codes)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise ValueError(f"shapes do not match: a {a.shape} (M×K), b {b.shape} (K×N)")
    ca = codes_for_kernel(a, fa, "a_codes")
    cb = codes_for_kernel(b, fb, "b_codes")
    ta, tb = tables(fa), tables(fb)
    if acc.interleave_group is not None:  # the step order of K, as lowbit.mac.api does it
        from .api import interleave_order

        K0 = ca.shape[1]
        Kp = -(-K0 // acc.interleave_group) * acc.interleave_group
        if Kp != K0:
            if ta.sig[0] != 0 or tb.sig[0] != 0 or ta.special[0] or tb.special[0]:
                raise ValueError(
                    f"interleave_group={acc.interleave_group} pads K={K0} with code 0, which is not zero in "
                    f"{fa.name!r} or {fb.name!r}; allowed: K a multiple of {acc.interleave_group} for these formats")
            ca = np.concatenate([ca, np.zeros((ca.shape[0], Kp - K0), ca.dtype)], axis=1)
            cb = np.concatenate([cb, np.zeros((Kp - K0, cb.shape[1]), cb.dtype)], axis=0)
        p = interleave_order(K0, acc.interleave_group, acc.interleave_run, acc.block_size)
        ca = np.ascontiguousarray(ca[:, p])
        cb = np.ascontiguousarray(cb[p, :])
    M, K = ca.shape
    N = cb.shape[1]
    r = ROUNDINGS.index
    granules = -(-K // acc.split_granule)
    per = max(1, -(-granules // acc.split_k)) * acc.split_granule
    d_tabs = [cuda.to_device(np.ascontiguousarray(t)) for t in
              (ta.sig, ta.q, ta.e, ta.special, tb.sig, tb.q, tb.e, tb.special)]
    total = None
    for lo in range(0, max(K, 1), per):
        sa = np.ascontiguousarray(ca[:, lo:lo + per])
        sb = np.ascontiguousarray(cb[lo:lo + per, :])
        rows = has_special(sa, ta, 1)
        cols = has_special(sb, tb, 0)
        bits = cuda.device_array((M, N), np.int64)
        grid = ((N + threads - 1) // threads, M)
        kernel[grid, threads](cuda.to_device(sa), cuda.to_device(sb), *d_tabs, cuda.to_device(rows),
                              cuda.to_device(cols), acc.block_size, acc.frac_bits, acc.align == "product",
                              r(acc.term_rounding), r(acc.acc_rounding), acc.acc_in_max,
                              -1 if acc.sum_frac_bits is None else acc.sum_frac_bits, acc.sum_bits or 0,
                              r(acc.sum_rounding), acc.promote_every or 0, acc.promote_chunk or 0, bits)
        part = bits.copy_to_host().astype(np.uint32).view(np.float32)
        total = part if total is None else (total + part).astype(np.float32)
    out = np.zeros((M, N), np.float32) if total is None else total
    nan = np.isnan(out)
    if nan.any():
        out.view(np.uint32)[nan] = acc.nan_bits
    return out
