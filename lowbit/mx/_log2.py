"""floor/ceil of a float32 ``log2`` as PyTorch computes it, as exact integer thresholds.

The MX reference code (microsoft/microxcaling ``mx_ops._shared_exponents`` and
``elemwise_ops._quantize_elemwise_core``) takes ``floor(log2(x))`` and torchao's RCEIL takes
``ceil(log2(x))`` in float32.  log2 is rounded to float32 before floor/ceil, so an ``x`` a few
ulps below 2^(k+1) gets ``floor = k+1`` (log2 rounds up onto the integer), and an ``x`` a few
ulps above 2^k gets ``ceil = k``.  With the result rounded to nearest (as every tested torch CPU
build agrees for floor and ceil; the crosscheck tests compare against torch), the binade k of
float32 has a window of its top values that round up and of its bottom values that round down.

The tables below give, for each binade k = -149 … 127 (index k + 149), the float32 bit patterns
bounding these windows.  They are computed once from the exact binade limits with float64 log2
(whose error, 2^-53 relative, is far below the float32 rounding being modelled).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

KMIN, KMAX = -149, 127
NONE_UP = 0xFFFFFFFF  # no value of the binade rounds up


def _binade(k: int) -> tuple[int, int]:
    """Bit patterns [start, stop) of the positive float32 values in [2^k, 2^(k+1))."""
    if k >= -126:
        return (k + 127) << 23, (k + 128) << 23
    return 1 << (k + 149), 1 << (k + 150)


def _rn32_log2(bits: np.ndarray) -> np.ndarray:
    x = bits.astype(np.uint32).view(np.float32).astype(np.float64)
    return np.log2(x).astype(np.float32)


@lru_cache(maxsize=None)
def tables() -> tuple[np.ndarray, np.ndarray]:
    """(up, down): int64 arrays indexed by k + 149.

    up[k]: smallest float32 bits b in binade k with RN32(log2 b) >= k + 1 (NONE_UP if none), so
      floor(RN32(log2 x)) = k + (bits(x) >= up[k]).
    down[k]: largest float32 bits b in binade k with RN32(log2 b) <= k, so for x in binade k
      ceil(RN32(log2 x)) = k + (bits(x) > down[k]).
    """
    up = np.full(KMAX - KMIN + 1, NONE_UP, dtype=np.int64)
    down = np.zeros(KMAX - KMIN + 1, dtype=np.int64)
    for k in range(KMIN, KMAX + 1):
        start, stop = _binade(k)
        n = min(stop - start, 1 << 12)
        top = np.arange(stop - n, stop, dtype=np.int64)
        r = _rn32_log2(top)
        hit = top[r >= k + 1]
        if hit.size:
            assert hit.size < n or n == stop - start, "window wider than the scan"
            up[k - KMIN] = hit.min()
        bottom = np.arange(start, start + n, dtype=np.int64)
        r = _rn32_log2(bottom)
        low = bottom[r <= k]
        assert low.size < n or n == stop - start, "window wider than the scan"
        down[k - KMIN] = low.max()
    up.setflags(write=False)
    down.setflags(write=False)
    return up, down
