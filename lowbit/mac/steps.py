"""The fused-block step, written once for the CPU kernel and the CUDA kernel.

Plain integer functions (``numba.extending.register_jitable``; not IR-inlined: that doubled
the kernels' compile time, and LLVM makes the calls cheap): Numba compiles them into
whichever kernel calls them — :func:`lowbit.mac.kernels.fused_block_matmul` (CPU, ``njit``)
and the kernel of :mod:`lowbit.mac.cuda` (Numba's CUDA target) — and the CUDA simulator
runs them as Python.  So the rule of :class:`lowbit.mac.FusedBlock` has one description:
the alignment exponent of a step, the grid rounding of terms and of the incoming
accumulator, the cut of the exact sum, and the special-value algebra of a product.

Numba's on-disk cache (``cache=True``) keys a kernel on its own file: after editing this
file, delete ``lowbit/mac/__pycache__/*.nbi`` / ``*.nbc`` (or touch kernels.py).

Rounding-mode numbers (names in :data:`lowbit.mac.accumulators.ROUNDINGS`, same order):
0 toward_zero (truncate the magnitude), 1 nearest_even, 2 down (toward −∞: two's-complement
truncation), 3 up (toward +∞), 4 nearest_away, 5 odd (truncate the magnitude, then set the
last bit if anything was dropped: round-to-odd, a sticky bit that makes a later rounding at
two or more bits coarser exact — Boldo & Melquiond, "Emulation of FMA and correctly rounded
sums: proved algorithms using rounding to odd", IEEE TC 2008).
"""

from __future__ import annotations

import math

from numba import float32, float64, int64
from numba.extending import register_jitable

TOWARD_ZERO, NEAREST_EVEN, DOWN, UP, NEAREST_AWAY, ODD = 0, 1, 2, 3, 4, 5
NO_EXPONENT = -(1 << 40)  # "no non-zero term yet" (below every real alignment exponent)
FINITE, INFINITE, NOT_A_NUMBER = 0, 1, 2  # special-value classes of lowbit.mac.operands


@register_jitable
def bitlen(x):
    """Number of bits of the non-negative int64 ``x`` (0 for 0)."""
    if x < 4503599627370496:  # 2^52: float64 holds x exactly, frexp gives its bit length
        return int64(math.frexp(float(x))[1])
    n = int64(0)
    while x >= 65536:
        x >>= 16
        n += 16
    while x > 0:
        x >>= 1
        n += 1
    return n


@register_jitable
def to_grid(p, q, g, mode):
    """Round the exact value ``p · 2^q`` (p signed int64) to an integer multiple of 2^g.

    Returns that integer ``r`` (value ``r · 2^g``).  Shifts left are exact; the caller
    guarantees they fit in int64.
    """
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
        if mode == TOWARD_ZERO:
            return -r if neg else r
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
    elif mode == ODD:
        if rem_nonzero:
            r |= 1
    return -r if neg else r


@register_jitable
def align_exponent(sig_a, q_a, e_a, sig_b, q_b, e_b, align_product):
    """Alignment exponent of the non-zero product (sig_a·2^q_a)(sig_b·2^q_b): the operand
    exponent sum e_a + e_b, or (``align_product``) the exponent of the exact product."""
    if align_product:
        p = sig_a * sig_b
        return q_a + q_b + bitlen(p if p > 0 else -p) - 1
    return e_a + e_b


@register_jitable
def step_exponent(emax, acc, s, acc_in_max):
    """The step's E: the largest term exponent ``emax`` and, with ``acc_in_max``, the
    incoming accumulator's (acc · 2^s)."""
    if acc != 0 and acc_in_max:
        eacc = s + bitlen(acc if acc > 0 else -acc) - 1
        if eacc > emax:
            return eacc
    return emax


@register_jitable
def term_on_grid(p, q, g, mode):
    """One product p·2^q on the step's grid 2^g (``to_grid``; toward zero without the dispatch)."""
    if mode == TOWARD_ZERO:
        d = g - q
        if d <= 0:
            return p << (-d)
        if d < 63:
            return (p >> d) if p > 0 else -((-p) >> d)
        return int64(0)
    return to_grid(p, q, g, mode)


@register_jitable
def cut_sum(total, g, emax, sum_frac_bits, sum_bits, sum_mode, sum_lsb_min):
    """The exact step sum total·2^g cut to a multiple of 2^(E − sum_frac_bits) (if >= 0) and
    to ``sum_bits`` significant bits (if > 0), never finer than 2^sum_lsb_min (the chain
    format's subnormal spacing; ``NO_EXPONENT``: unbounded) — one rounding, as a float
    format's own rounding (IEEE 754 §4.3) is.  Returns (new total, new g)."""
    if sum_frac_bits >= 0 and emax - sum_frac_bits > g:
        total = to_grid(total, g, emax - sum_frac_bits, sum_mode)
        g = emax - sum_frac_bits
    if sum_bits > 0 and total != 0:
        lsb = g + bitlen(total if total > 0 else -total) - sum_bits
        if lsb < sum_lsb_min:
            lsb = sum_lsb_min
        if lsb > g:
            total = to_grid(total, g, lsb, sum_mode)
            g = lsb
    return total, g


@register_jitable
def chain_overflow(total, g, sum_emax):
    """+1 / −1 if the (already cut) chain value total·2^g has left a format whose largest
    exponent is ``sum_emax`` — it is then ±Inf (IEEE 754 §7.4: overflow after rounding) —
    else 0.  ``sum_emax`` = −NO_EXPONENT: no bound."""
    if total == 0:
        return 0
    if g + bitlen(total if total > 0 else -total) - 1 > sum_emax:
        return 1 if total > 0 else -1
    return 0


@register_jitable
def add_special(nan, pinf, ninf, sig_a, sig_b, x_a, x_b):
    """Fold one product with a special operand (x ≠ FINITE) into the (nan, +inf, −inf) flags
    (0/1 ints) of a sum, IEEE 754 §6.1/§7.2: a NaN operand or Inf·0 gives NaN, otherwise
    the product is the signed infinity."""
    if x_a == NOT_A_NUMBER or x_b == NOT_A_NUMBER or sig_a == 0 or sig_b == 0:
        return 1, pinf, ninf
    if (sig_a < 0) != (sig_b < 0):
        return nan, pinf, 1
    return nan, 1, ninf


CHAIN_NAN = 2  # chain state: 0 finite, +1 / −1 ±Inf, 2 NaN


@register_jitable
def chain_after_specials(state, nan, pinf, ninf):
    """The chain's state after a step whose special products set the flags (nan, +inf, −inf):
    IEEE 754 §6.1/§7.2 — NaN if the step has a NaN (a NaN operand or Inf·0) or meets Infs of
    both signs (in the step, or against the chain's own Inf); otherwise the infinity.  The
    step's finite terms cannot change an infinite result."""
    if state == CHAIN_NAN or nan or (pinf and ninf):
        return CHAIN_NAN
    if pinf:
        return CHAIN_NAN if state == -1 else 1
    if ninf:
        return CHAIN_NAN if state == 1 else -1
    return state


@register_jitable
def promote_now(count, k1, K, promote_every, promote_chunk):
    """After the step ending at element k1 of K (``count`` elements since the last
    promotion): is the chain added into the float32 accumulator now?  Every
    ``promote_every`` elements, at the end of each ``promote_chunk`` and at the end of K."""
    if promote_every <= 0:
        return False
    end_chunk = k1 >= K or (promote_chunk > 0 and k1 % promote_chunk == 0)
    return count >= promote_every or end_chunk


@register_jitable
def fma32(acc, p):
    """fl32(acc + p), one rounding to nearest even (IEEE 754 §5.4.1 fusedMultiplyAdd), for a
    float32 value ``acc`` and the exact product ``p`` of two float32 values, both held in
    float64 (a product of two 24-bit significands is exact there).

    s = fl64(acc + p) and its exact error (Knuth's TwoSum).  float32's rounding of s is the
    rounding of acc + p except where s lands exactly on a float32 midpoint with a non-zero
    error (double rounding): there the error's sign decides.  Zeros keep IEEE's signs (§6.3:
    an exact zero sum is +0 unless both addends are −0; a result that rounds to zero keeps
    the sign of the exact one); Inf and NaN follow float64 arithmetic (Inf + finite = Inf,
    Inf − Inf = NaN)."""
    s = acc + p
    if s == 0.0 or not math.isfinite(s):
        return s
    bb = s - acc
    err = (acc - (s - bb)) + (p - bb)
    if err != 0.0:
        ex = math.frexp(s)[1] - 1  # |s| in [2^ex, 2^(ex+1))
        if ex < -126:  # (not max(): the CUDA target mis-types it here)
            ex = -126
        lsb = ex - 23  # float32's last place at |s|
        t = math.ldexp(s, -lsb)
        f = math.floor(t)
        if t - f == 0.5:  # a float32 midpoint: the exact sum lies on err's side of it
            r = float64(float32(math.ldexp(f + 1.0 if err > 0.0 else f, lsb)))
            return math.copysign(abs(r), s)
    return float64(float32(s))
