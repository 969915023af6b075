"""Black-box GEMMs for the discovery tests, written independently of lowbit's kernels.

Operands are decoded with ml_dtypes (not lowbit); every step is computed in numpy float64, which
holds each aligned term and the step's sum exactly for the settings used here (F + 2 + log2(n)
<= 53 bits); the segments' results are float32 and are added with numpy float32 additions.
"""

from __future__ import annotations

import ml_dtypes
import numpy as np

DTYPES = {"float8_e4m3fn": ml_dtypes.float8_e4m3fn, "float8_e5m2": ml_dtypes.float8_e5m2,
          "bfloat16": ml_dtypes.bfloat16, "float16": np.float16}
EMIN = {"float8_e4m3fn": -6, "float8_e5m2": -14, "bfloat16": -126, "float16": -14}


def values(codes, fmt):
    dt = np.dtype(DTYPES[fmt])
    view = {1: np.uint8, 2: np.uint16}[dt.itemsize]
    return np.asarray(codes).astype(view).view(dt).astype(np.float64)


def exponent(x, emin):
    """floor(log2|x|), a subnormal counting as emin; 0 for zeros (they take no part)."""
    with np.errstate(divide="ignore"):
        e = np.floor(np.log2(np.abs(x)))
    return np.where(x == 0, -10_000, np.maximum(e, emin))


def round_to(x, unit, mode):
    q = x / unit
    if mode == "toward_zero":
        return np.trunc(q) * unit
    if mode == "nearest_even":
        return np.rint(q) * unit
    raise ValueError(mode)


def cut(x, bits, mode):
    """x rounded to ``bits`` significant bits (None: unchanged)."""
    if bits is None:
        return x
    with np.errstate(divide="ignore"):
        e = np.floor(np.log2(np.abs(x)))
    unit = np.where(x == 0, 1.0, np.exp2(e - (bits - 1)))
    return np.where(x == 0, 0.0, round_to(x, unit, mode))


class FusedChainGEMM:
    """C = A·B with K walked as: segments (contiguous slices, their float32 results added in order
    or as ``tree``), each a chain of steps of ``n`` consecutive products from the segment start;
    a step: E = max(operand-exponent sums or product exponents, accumulator exponent), terms and
    accumulator rounded to 2^(E−F), summed exactly, cut to ``S`` bits."""

    def __init__(self, fmt_a, fmt_b, n, F, term="toward_zero", S=None, sum_rounding="toward_zero",
                 align="operands", segments=None, tree=None):
        self.fa, self.fb, self.n, self.F, self.term, self.S = fmt_a, fmt_b, n, F, term, S
        self.sum_rounding, self.align, self.segments, self.tree = sum_rounding, align, segments, tree
        self.calls = 0

    def __call__(self, A, B):
        with np.errstate(all="ignore"):
            out = self._product(A, B)
        out.view(np.uint32)[np.isnan(out)] = 0x7FFFFFFF  # one NaN pattern, as the H100 writes
        return out

    def _product(self, A, B):
        self.calls += 1
        a, b = values(A, self.fa), values(B, self.fb)
        K = a.shape[1]
        bounds = self.segments or [K]
        ea = exponent(a, EMIN[self.fa])
        eb = exponent(b, EMIN[self.fb])
        parts, lo = [], 0
        for length in bounds:
            parts.append(self._chain(a[:, lo:lo + length], b[lo:lo + length], ea[:, lo:lo + length],
                                     eb[lo:lo + length]).astype(np.float32))
            lo += length
        if self.tree is None:
            total = parts[0]
            for p in parts[1:]:
                total = (total + p).astype(np.float32)
            return total

        def add(t):
            return parts[t] if isinstance(t, int) else (add(t[0]) + add(t[1])).astype(np.float32)

        return add(self.tree)

    def _chain(self, a, b, ea, eb):
        M, K = a.shape
        N = b.shape[1]
        acc = np.zeros((M, N))
        for s in range(0, K, self.n):
            prods = a[:, None, s:s + self.n] * b[s:s + self.n].T[None, :, :]  # M, N, n: exact in float64
            if self.align == "operands":
                e = ea[:, None, s:s + self.n] + eb[s:s + self.n].T[None, :, :]
                e = np.where(prods == 0, -10_000, e)
            else:
                e = exponent(prods, -10_000)
            with np.errstate(divide="ignore"):
                e_acc = np.where(acc == 0, -10_000, np.floor(np.log2(np.abs(acc))))
            E = np.maximum(e.max(axis=2), e_acc)
            unit = np.exp2(np.where(E < -5000, 0, E) - self.F)
            terms = round_to(prods, unit[:, :, None], self.term)
            total = terms.sum(axis=2) + round_to(acc, unit, self.term)
            acc = cut(total, self.S, self.sum_rounding)
        return acc
