"""MX / NVFP4 block vectors: float32 blocks -> scale code and element codes (lowbit.mx.quantize),
for every block format × scale rule × profile that :func:`lowbit.mx.quantize` accepts.

Each case is one block on one line: ``x0 … x{k-1} scale e0 … e{k-1}`` (float32 inputs, then the
scale code and the element codes).  The blocks are edge blocks built from the element grid
(OCP MX v1.0 §6.3): all zeros, ±0, NaN or ±Inf in a block, the block maximum exactly at the
element maximum, just above and below powers of two and at the element overflow midpoint (where
``floor`` scales overflow the element format), ties of the element grid, one outlier that
flushes the rest, the extremes of the E8M0 scale range, and pseudo-random blocks from a fixed
integer generator (splitmix64: the same bits on every machine and numpy version).
"""

from __future__ import annotations

import numpy as np

from .. import __version__
from .families import Target, build_command, family
from .textfile import Column, VectorFile

MASK64 = (1 << 64) - 1


def _splitmix64(seed: int, n: int) -> list[int]:
    out, s = [], seed & MASK64
    for _ in range(n):
        s = (s + 0x9E3779B97F4A7C15) & MASK64
        z = s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        out.append(z ^ (z >> 31))
    return out


def _f32(values) -> np.ndarray:
    with np.errstate(over="ignore"):
        return np.asarray(values, dtype=np.float64).astype(np.float32)


def _nudge(x: np.ndarray, ulps: int) -> np.ndarray:
    """Move float32 magnitudes by ``ulps`` float32 ulps (sign kept)."""
    b = x.view(np.uint32).astype(np.int64)
    mag = np.clip((b & 0x7FFFFFFF) + ulps, 0, 0x7F7FFFFF)
    return ((b & 0x80000000) | mag).astype(np.uint32).view(np.float32)


def edge_blocks(elem, k: int) -> list[np.ndarray]:
    """The edge blocks (float32, length ``k``) for element format ``elem``."""
    vals = elem.values[np.isfinite(elem.values)]
    grid = np.unique(np.abs(vals))
    top = float(grid[-1])
    mids = (grid[1:] + grid[:-1]) / 2
    ramp = np.resize(np.concatenate([grid, -grid]), k)        # every element value, both signs
    tie = np.resize(np.concatenate([mids, -mids]), k)         # every element midpoint
    blocks = [np.zeros(k), -np.zeros(k), ramp, tie, ramp * 2.0 ** 10, tie * 2.0 ** -10]
    b = ramp.copy()
    b[0] = top
    blocks += [b, b * 2.0 ** -126, b * 2.0 ** 100]
    over = grid[-1] + (grid[-1] - grid[-2]) / 2                # the element overflow midpoint
    for amax in (over, 2.0, 1.0, 2.0 ** 100, 2.0 ** -130):
        b = np.resize(grid, k) * (amax / top)
        b[k // 2] = amax
        blocks.append(b)
    for special in (np.nan, np.inf, -np.inf):
        b = ramp.copy()
        b[1] = special
        blocks.append(b)
    b = np.resize(grid, k) * 2.0 ** -20
    b[3] = 1e4                                                   # an outlier flushes the rest
    blocks.append(b)
    blocks.append(np.full(k, 3.4e38))                            # near float32 max
    blocks.append(np.full(k, 1e-40))                             # float32 subnormals
    out = [_f32(b) for b in blocks]
    # just below / above a power-of-two block maximum
    for ulps in (-1, 1):
        b = _f32(np.resize(grid, k) * (4.0 / top))
        b[0] = _nudge(np.array([4.0], np.float32), ulps)[0]
        out.append(b)
    # pseudo-random blocks: random element values, scales and sign, a few ulps off the grid
    words = _splitmix64(0x10B17 + elem.bits, 8 * k)
    for r in range(8):
        w = np.array(words[r * k:(r + 1) * k], dtype=np.uint64)
        v = grid[(w % np.uint64(len(grid))).astype(np.int64)] * np.where((w >> np.uint64(8)) & np.uint64(1), -1.0, 1.0)
        b = _f32(v * 2.0 ** (int(w[0] >> np.uint64(16)) % 40 - 20))
        out.append(_nudge(b, int(w[1] >> np.uint64(32)) % 7 - 3))
    return out


MX_PROFILES = (None, "microxcaling", "torchao")


@family("mx", "mx")
def mx_family() -> list[Target]:
    """mx/<format>/<scale_rule>-<profile>.txt: edge blocks -> scale and element codes, for every
    block format × scale rule × profile lowbit.mx.quantize accepts (element rounding nearest_even)."""
    from ..mx import MX_FORMATS, SCALE_RULES, quantize

    probe = np.linspace(-3, 3, 32, dtype=np.float32)
    out = []
    for name, f in MX_FORMATS.items():
        for rule in SCALE_RULES:
            for prof in MX_PROFILES:
                try:
                    quantize(probe[:f.block_size], f, scale_rule=rule, profile=prof)
                except (ValueError, TypeError):
                    continue  # a combination the profile does not have
                path = f"mx/{name}/{rule}-{prof or 'spec'}.txt"
                out.append(Target(path, _mx_maker(name, rule, prof, path)))
    return out


def _mx_maker(name, rule, prof, path):
    def make() -> VectorFile:
        from ..mx import mx_format, quantize
        from ..mx.quantize import _element_format
        from .families import code_digits

        f = mx_format(name)
        k = f.block_size
        elem = _element_format(f, prof)
        blocks = edge_blocks(f.element, k)
        x = np.stack(blocks)
        q = quantize(x, f, scale_rule=rule, profile=prof, axis=-1)
        scales = np.asarray(q.scales).reshape(len(blocks))
        elems = np.asarray(q.elements).reshape(len(blocks), k)
        header = {
            "operation": f"quantize {name} (block of {k} float32 -> scale, {k} elements)",
            "source": "float32 bit patterns",
            "format": f"{name}: elements {elem.name}, scale {f.scale.name}, block size {k}",
            "profile": prof or "- (OCP MX v1.0 as written)",
            "scale_rule": rule,
            "rounding": "nearest_even (elements)",
            "spec": "OCP Microscaling (MX) v1.0 §6.3 (conversion: shared exponent, then elements)"
                    + ("; NVFP4: NVIDIA, arXiv:2509.25149 App. B" if f.is_nvfp4 else ""),
            "inputs": "edge blocks (see lowbit/vectors/mx_family.py), one block per line",
            "compare": " ".join(f"x{i}" for i in range(k)) + " -> scale " + " ".join(f"e{i}" for i in range(k)),
            "lowbit": __version__,
            "command": build_command(path),
        }
        bits = x.view(np.uint32)
        cols = [Column(f"x{i}", 8, f"inputs x0..x{k - 1}, float32 bit patterns" if i == 0 else "", bits[:, i])
                for i in range(k)]
        cols.append(Column("scale", code_digits(f.scale), f"{f.scale.name} scale code", scales))
        cols += [Column(f"e{i}", code_digits(elem), f"elements e0..e{k - 1}, {elem.name} codes" if i == 0 else "", elems[:, i])
                 for i in range(k)]
        return VectorFile(header, cols)

    return make
