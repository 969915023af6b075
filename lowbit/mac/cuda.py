"""The ``fused-block`` accumulator on a CUDA GPU (Numba's CUDA target, optional extra ``cuda``).

One thread per output element runs the same rule as the CPU kernel
(:func:`lowbit.mac.kernels.fused_block_matmul`), read from the same description — a
:class:`lowbit.mac.FusedBlock` — and the same per-code tables (:mod:`lowbit.mac.operands`):
blocks of ``block_size`` exact integer products, the block's largest alignment exponent E,
terms and incoming accumulator put on the grid 2^(E − frac_bits), the exact sum cut to
``sum_frac_bits`` / ``sum_bits``, promotion into an IEEE float32 accumulator, split-K
slices added in order.  Results are bit-identical to the CPU path (tests/test_h100_paths.py
on a GPU; ``NUMBA_ENABLE_CUDASIM=1`` runs the same code on the CPU simulator).

The operands are prepared (validated, split, interleaved, split along K, decoded to tables)
by :mod:`lowbit.mac.api`, the same code as for the CPU.
Layout: A codes M×K row-major, B codes K×N row-major (as given): threads of a warp take
consecutive output columns, so their B reads are coalesced and their A reads broadcast.
The float32 result is assembled from its bits with integer operations (no float rounding
on the device other than the IEEE float32 add of a promotion, which CUDA does to nearest
even).
"""
from __future__ import annotations

import numpy as np

from .steps import (CHAIN_NAN, NEAREST_EVEN, NO_EXPONENT, align_exponent, bitlen, chain_after_specials,
                    chain_overflow, cut_sum, add_special, fma32, promote_now, step_exponent,
                    term_on_grid, to_grid)

_KERNEL = {}
cuda = None  # numba.cuda, imported on first use (a module global: the CUDA simulator swaps it)


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


def _import_target() -> None:
    """Import Numba's CUDA target into the module global ``cuda`` (the kernels below use it;
    the CUDA simulator swaps it)."""
    global cuda
    if not hasattr(np, "row_stack"):
        # numba-cuda releases that predate NumPy 2.5 register an overload for np.row_stack
        # (removed in NumPy 2.5) when their array support loads; give them the alias
        # (np.row_stack was np.vstack) so the CUDA target imports.
        np.row_stack = np.vstack
    from numba import cuda


def _build():
    if "k" in _KERNEL:
        return _KERNEL["k"]
    _import_target()
    from numba import int64, float32

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

    @cuda.jit(device=True, inline=True)
    def chain_bits(a, s, state):
        """The chain's float32 bits: NaN / ±Inf by its state, else a·2^s rounded."""
        if state == CHAIN_NAN:
            return int64(0x7FC00000)
        if state == 1:
            return int64(0x7F800000)
        if state == -1:
            return int64(0xFF800000)
        return f32_bits(a, s)

    @cuda.jit
    def kernel(a_codes, b_codes, ta_sig, ta_q, ta_e, ta_x, tb_sig, tb_q, tb_e, tb_x,
               row_special, col_special, n, frac_bits, align_product, term_mode, acc_mode,
               acc_in_max, sum_frac_bits, sum_bits, sum_mode, promote_every, promote_chunk,
               sum_lsb_min, sum_emax, out_bits):
        j = cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x
        i = cuda.blockIdx.y
        M, K = a_codes.shape
        N = b_codes.shape[1]
        if j >= N or i >= M:
            return
        special = row_special[i] or col_special[j]
        # float32 accumulator kept as a float32 value (IEEE add on the device, nearest even)
        outer = float32(0.0)
        acc = int64(0)
        s = int64(0)
        state = 0  # the chain: 0 finite (acc · 2^s), ±1 ±Inf, CHAIN_NAN; Inf + finite terms = Inf
        count = 0
        for k0 in range(0, K, n):
            k1 = k0 + n
            if k1 > K:
                k1 = K
            emax = int64(NO_EXPONENT)
            nan = 0
            pinf = 0
            ninf = 0
            for k in range(k0, k1):  # pass 1: the step's alignment exponent (no local buffer)
                ca = a_codes[i, k]
                cb = b_codes[k, j]
                if special:
                    if ta_x[ca] != 0 or tb_x[cb] != 0:
                        nan, pinf, ninf = add_special(nan, pinf, ninf, ta_sig[ca], tb_sig[cb], ta_x[ca], tb_x[cb])
                        continue
                if ta_sig[ca] != 0 and tb_sig[cb] != 0:
                    e = align_exponent(int64(ta_sig[ca]), int64(ta_q[ca]), int64(ta_e[ca]), int64(tb_sig[cb]),
                                       int64(tb_q[cb]), int64(tb_e[cb]), align_product)
                    if e > emax:
                        emax = e
            if nan or pinf or ninf:
                state = chain_after_specials(state, nan, pinf, ninf)
            emax = step_exponent(emax, acc, s, acc_in_max)
            if emax != NO_EXPONENT and state == 0:
                g = emax - frac_bits
                total = int64(0)
                if acc != 0:
                    total = to_grid(acc, s, g, acc_mode)
                for k in range(k0, k1):  # pass 2: the terms on the grid, summed exactly
                    ca = a_codes[i, k]
                    cb = b_codes[k, j]
                    if special:
                        if ta_x[ca] != 0 or tb_x[cb] != 0:
                            continue
                    p = int64(ta_sig[ca]) * int64(tb_sig[cb])
                    if p != 0:
                        total += term_on_grid(p, int64(ta_q[ca]) + int64(tb_q[cb]), g, term_mode)
                acc, s = cut_sum(total, g, emax, sum_frac_bits, sum_bits, sum_mode, sum_lsb_min)
                state = chain_overflow(acc, s, sum_emax)  # ±Inf past the chain format's range
            if state != 0:
                acc = 0
                s = 0
            count += k1 - k0
            if promote_now(count, k1, K, promote_every, promote_chunk):
                outer = outer + _f32_from_bits(chain_bits(acc, s, state))
                acc = 0
                s = 0
                state = 0
                count = 0
        if promote_every <= 0:
            out_bits[i, j] = chain_bits(acc, s, state)
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
        if e == 255:
            if m != 0:
                return float32(math.nan)
            return float32(sign * math.inf)
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


def require() -> None:
    """Raise RuntimeError, saying what is wrong and what is allowed, unless a CUDA GPU is usable."""
    try:
        from numba import cuda as _cuda  # noqa: F401
    except ImportError as err:  # pragma: no cover - numba ships numba.cuda or numba-cuda provides it
        raise RuntimeError(f"device='cuda': Numba's CUDA target cannot be imported ({err}); install the 'cuda' "
                           "extra (numba-cuda); allowed here: device='cpu'") from None
    if not available():
        raise RuntimeError("device='cuda': no CUDA GPU found by numba.cuda (install the 'cuda' extra and a "
                           "driver, on a machine with an NVIDIA GPU); allowed here: device='cpu'")


def fused_block_part(ia, ib, ta, tb, params, threads: int = 128) -> np.ndarray:
    """One K slice of the fused-block accumulation on the GPU (called by lowbit.mac.api).

    ``ia`` (M×K) and ``ib`` (K×N) index the operand tables ``ta`` / ``tb`` = (sig, q, e,
    special); ``params``: :func:`lowbit.mac.api.kernel_params`.  Returns float32 (a NaN
    result as 0x7FC00000; the caller applies the accumulator's NaN bits).
    """
    from numba import cuda

    if _f32_from_bits is None:
        _setup_bitcasts()
    kernel = _build()
    M, N = ia.shape[0], ib.shape[1]
    rows = (ta[3][ia] != 0).any(axis=1) if ia.size else np.zeros(M, np.bool_)
    cols = (tb[3][ib] != 0).any(axis=0) if ib.size else np.zeros(N, np.bool_)
    tabs = [cuda.to_device(np.ascontiguousarray(t)) for t in (*ta, *tb)]
    bits = cuda.device_array((M, N), np.int64)
    grid = ((N + threads - 1) // threads, M)
    kernel[grid, threads](cuda.to_device(ia), cuda.to_device(ib), *tabs, cuda.to_device(rows),
                          cuda.to_device(cols), *params, bits)
    return bits.copy_to_host().astype(np.uint32).view(np.float32)


def _build_fma32():
    if "fma32" in _KERNEL:
        return _KERNEL["fma32"]
    _import_target()
    from numba import float32, float64

    @cuda.jit
    def fma32_kernel(a, b, out):
        """Sequential float32 FMA chains from +0 (lowbit.mac.steps.fma32), one output per thread."""
        j = cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x
        i = cuda.blockIdx.y
        M, K = a.shape
        N = b.shape[1]
        if j >= N or i >= M:
            return
        acc = float64(0.0)
        for k in range(K):
            acc = fma32(acc, float64(a[i, k]) * float64(b[k, j]))
        out[i, j] = float32(acc)

    _KERNEL["fma32"] = fma32_kernel
    return fma32_kernel


def fma32_part(a, b, threads: int = 128) -> np.ndarray:
    """One K slice of the float32 FMA chain on the GPU: ``a`` M×K, ``b`` K×N float32 arrays."""
    from numba import cuda

    kernel = _build_fma32()
    M, N = a.shape[0], b.shape[1]
    out = cuda.device_array((M, N), np.float32)
    grid = ((N + threads - 1) // threads, M)
    kernel[grid, threads](cuda.to_device(np.ascontiguousarray(a)), cuda.to_device(np.ascontiguousarray(b)), out)
    return out.copy_to_host()


def matmul(a_codes, b_codes, a_format, b_format, *, accumulator, M=None, N=None, K=None) -> np.ndarray:
    """The float32 accumulator of :func:`lowbit.matmul` (``device="cuda"``), without scales.

    NaN results carry ``accumulator.nan_bits``.  Raises RuntimeError where no CUDA GPU is
    found, ValueError / TypeError as :func:`lowbit.matmul` for bad operands, and ValueError
    for accumulators other than fused-block.  ``M, N, K``: as :func:`lowbit.matmul`.
    """
    from .api import accumulate, for_operands

    acc = for_operands(accumulator, a_codes, b_codes, a_format, b_format, M, N, K)
    return accumulate(a_codes, b_codes, a_format, b_format, acc, "cuda")
