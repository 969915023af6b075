"""Build inputs.npz, the inputs on which record.py records ml_dtypes' casts (run once, in lowbit's venv).

Usage (from the repository root, with lowbit importable):

    python vectors/reference/ml_dtypes/make_inputs.py

Writes ``inputs.npz`` beside this script (np.savez_compressed):

The float16 and bfloat16 sources are all 2^16 bit patterns; record.py generates them.

- ``targets``: every lowbit format that ml_dtypes or numpy has as a dtype (the formats
  ``profile="ml_dtypes"`` covers), and ``target_bits``: each one's width;
- ``float32`` (uint32): the union of lowbit's float32 edge sets (``lowbit.vectors.edges``) of
  every 8/16-bit target (values, midpoints, overflow thresholds, each with its float32
  neighbours 1-3 ulps away, subnormals, ±0, ±Inf, NaNs with payloads, both signs), plus every
  float16 and bfloat16 value widened to float32 (exact), plus float32's own midpoints at
  the edges of its range;
- ``float64`` (uint64): the same points as float64 with their float64 neighbours 1-3 ulps
  away, the float32 set widened (exact), and float64's specials (±0, subnormals, ±max,
  ±Inf, quiet and signalling NaNs with payloads, payload bits that float32 keeps and drops).

Deterministic; tests check that rerunning it rebuilds inputs.npz's arrays.
"""

from __future__ import annotations

from pathlib import Path

import ml_dtypes
import numpy as np

import lowbit
from lowbit.vectors.edges import _points, edge_bits

HERE = Path(__file__).resolve().parent
NUMPY_TARGETS = ("float16", "float32", "int8")
ULPS = 3


def targets() -> list[str]:
    return [n for n in lowbit.FORMATS if hasattr(ml_dtypes, n) or n in NUMPY_TARGETS]


def _both_signs(bits: np.ndarray, sign: int) -> np.ndarray:
    return np.unique(np.concatenate([bits, bits | np.array(sign, dtype=bits.dtype)]))


# float32 points beyond what the 8/16-bit edge sets hold: float32 itself as a target.
_F32_EXTRA = (
    0x00000001, 0x00000002, 0x00000003, 0x007FFFFF, 0x00800000, 0x00800001,
    0x3F800000, 0x3F800001, 0x3FFFFFFF, 0x7F7FFFFE, 0x7F7FFFFF,
)
_F64_FIXED = (
    0x0000000000000000, 0x0000000000000001, 0x000FFFFFFFFFFFFF, 0x0010000000000000,
    0x3FF0000000000000, 0x7FEFFFFFFFFFFFFF, 0x7FF0000000000000,
    0x7FF8000000000000,  # canonical quiet NaN
    0x7FF8000000000001,  # quiet, lowest payload bit (lost in float32/float16)
    0x7FF8000020000000,  # quiet, lowest payload bit that float32 keeps
    0x7FF8040000000000,  # quiet, a payload bit that float16 keeps
    0x7FFFFFFFFFFFFFFF,  # quiet, every payload bit
    0x7FF0000000000001,  # signalling, lowest payload bit
    0x7FF4000000000000,  # signalling, top payload bit
    0x7FF0000020000000,  # signalling, lowest payload bit float32 keeps
    0x7FF7FFFFFFFFFFFF,  # signalling, every payload bit
)


def float32_set(names: list[str]) -> np.ndarray:
    edges = [edge_bits(lowbit.format(n)) for n in names if lowbit.format(n).bits <= 16]
    all16 = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16)
    with np.errstate(invalid="ignore"):
        wide = [all16.view(np.float16).astype(np.float32).view(np.uint32),
                all16.view(ml_dtypes.bfloat16).astype(np.float32).view(np.uint32)]
    # float32 as the target: its own midpoints, as float64, are in the float64 set.
    extra = np.array(_F32_EXTRA, dtype=np.uint32)
    return _both_signs(np.unique(np.concatenate(edges + wide + [extra])), 0x80000000)


def float64_set(names: list[str], f32: np.ndarray) -> np.ndarray:
    pts = [_points(lowbit.format(n)) for n in names if lowbit.format(n).bits <= 16]
    f32max = float(np.finfo(np.float32).max)
    pts.append(np.array([
        f32max, (f32max + 2.0 ** 128) / 2, 2.0 ** 128, 2.0 ** -126, 2.0 ** -149, 2.0 ** -150,
        1.5 * 2.0 ** -149, 3 * 2.0 ** -150, 2.0 ** -126 - 2.0 ** -150, 1 + 2.0 ** -24, 1 + 3 * 2.0 ** -24,
    ]))
    p = np.concatenate(pts)
    p = p[np.isfinite(p) & (p >= 0)]
    b = p.view(np.uint64).astype(np.int64)
    near = np.concatenate([b + k for k in range(-ULPS, ULPS + 1)])
    near = near[(near >= 0) & (near < 0x7FF0000000000000)].astype(np.uint64)
    with np.errstate(invalid="ignore"):
        wide = f32.view(np.float32).astype(np.float64).view(np.uint64)
    out = np.concatenate([near, wide, np.array(_F64_FIXED, dtype=np.uint64)])
    return _both_signs(np.unique(out), 0x8000000000000000)


def build() -> dict[str, np.ndarray]:
    names = targets()
    f32 = float32_set(names)
    return {
        "targets": np.array(names),
        "target_bits": np.array([lowbit.format(n).bits for n in names], dtype=np.uint8),
        "float32": f32,
        "float64": float64_set(names, f32),
    }


def main():
    arrays = build()
    np.savez_compressed(HERE / "inputs.npz", **arrays)
    for k, v in arrays.items():
        print(k, v.dtype, v.shape)


if __name__ == "__main__":
    main()
