"""The float32 edge set of a format: the inputs where codecs break.

For a target format the set holds, as float32 bit patterns and for both signs:
every representable value and the midpoint between each pair of neighbours (for formats
of more than 9 bits, the first and last code of each binade and their successors), the thresholds
beyond the largest value and below the smallest, each of those points with its float32
neighbours 1, 2 and 3 ulps away, and the specials: ±0, ±Inf, quiet and signalling NaNs
with payloads, and float32's own extremes.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..formats import Format

ULPS = 3  # float32 neighbours on each side of every point

# float32 specials and extremes, positive (their negatives are added with the sign bit).
_FIXED_BITS = (
    0x00000000,  # +0
    0x00000001,  # smallest subnormal
    0x007FFFFF,  # largest subnormal
    0x00800000,  # smallest normal
    0x3F800000,  # 1.0
    0x7F7FFFFF,  # largest finite
    0x7F800000,  # Inf
    0x7FC00000,  # canonical quiet NaN
    0x7FC00001,  # quiet NaN with payload
    0x7FFFFFFF,  # quiet NaN, all payload bits
    0x7F800001,  # signalling NaN
    0x7FA00000,  # signalling NaN, top payload bit
)


def _points(fmt: Format) -> np.ndarray:
    """Non-negative float64 points (values, midpoints, thresholds) of the format."""
    values = _finite_nonnegative_values(fmt)
    pts = [values]
    if values.size > 1:
        pts.append(values[:-1] + (values[1:] - values[:-1]) / 2)  # midpoints
    top = values[-1]
    gap = values[-1] - values[-2] if values.size > 1 else top
    ulp_top = top if fmt.is_int else 2.0 ** (fmt.emax - fmt.mbits)
    if fmt.is_int:
        ulp_top = 1.0 / (1 << fmt.frac_bits)
    for step in (gap, ulp_top):
        pts.append(np.array([top + step / 2, top + step, top + 2 * step]))
    pts.append(np.array([2 * top, 4 * top]))
    low = values[values > 0][0] if (values > 0).any() else 1.0
    pts.append(np.array([low / 2, low / 4, 3 * low / 4, low * 1.5]))
    return np.concatenate(pts)


def _finite_nonnegative_values(fmt: Format) -> np.ndarray:
    if fmt.is_int:
        top = 1 << (fmt.bits - 1)  # includes -2^(bits-1)'s magnitude (its own edge)
        return np.arange(top + 1, dtype=np.float64) / (1 << fmt.frac_bits)
    codes = np.arange(1 << (fmt.bits - int(fmt.signed)))
    if fmt.num_codes > 512:  # the first and last code of each binade, and their successors
        man = codes & ((1 << fmt.mbits) - 1)
        mmax = (1 << fmt.mbits) - 1
        keep = (man == 0) | (man == mmax)
        keep = keep | np.roll(keep, 1)
        codes = codes[keep]
    vals = fmt.values[codes]
    vals = vals[np.isfinite(vals)]
    return np.unique(vals[vals >= 0])


@lru_cache(maxsize=None)
def edge_bits(fmt: Format) -> np.ndarray:
    """The edge set of ``fmt`` as sorted, unique float32 bit patterns (uint32)."""
    pts = _points(fmt)
    with np.errstate(over="ignore"):
        f32 = pts.astype(np.float32)
    bits = f32[np.isfinite(f32)].view(np.uint32).astype(np.int64)
    near = [bits + k for k in range(-ULPS, ULPS + 1)]
    allb = np.concatenate(near + [np.array(_FIXED_BITS, dtype=np.int64)])
    allb = allb[(allb >= 0) & (allb <= 0x7F800000) | np.isin(allb, _FIXED_BITS)]
    allb = np.concatenate([allb, allb | 0x80000000])
    out = np.unique(allb).astype(np.uint32)
    out.setflags(write=False)
    return out


def overflow_subset(fmt: Format, bits: np.ndarray) -> np.ndarray:
    """The part of an edge set that an overflow rule can change: |x| beyond the
    predecessor of the largest finite value, ±Inf and NaN."""
    with np.errstate(invalid="ignore"):  # signalling NaNs
        x = bits.view(np.float32).astype(np.float64)
    values = _finite_nonnegative_values(fmt)
    lim = values[-2] if values.size > 1 else 0.0
    keep = ~(np.abs(x) <= lim)  # NaN kept
    return bits[keep]
