"""Record microsoft/microxcaling's _quantize_mx on inputs built to hit its float32 quirks.

Usage (needs torch and a checkout of github.com/microsoft/microxcaling; tests only read the output):

    MICROXCALING=/path/to/microxcaling python vectors/reference/mx/make_microxcaling_edges.py

Writes microxcaling_edges.npz beside this script: ``x`` (float32, rows × 256, blocks of 32) and,
for every element format F of microxcaling (int8, int4, int2, fp8_e5m2, fp8_e4m3, fp6_e3m2,
fp6_e2m3, fp4_e2m1) and rounding R (nearest, even, floor), ``F__R`` = _quantize_mx(x, 8, F,
shared_exp_method="max", axes=[-1], block_size=32, round=R, flush_fp32_subnorms=False,
custom_cuda=False).  The inputs are deterministic (numpy default_rng(20261126)).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

FORMATS = ("int8", "int4", "int2", "fp8_e5m2", "fp8_e4m3", "fp6_e3m2", "fp6_e2m3", "fp4_e2m1")
ROUNDS = ("nearest", "even", "floor")
# element emax and smallest step exponent (microxcaling mx/formats.py)
EMAX = {"int8": 0, "int4": 0, "int2": 0, "fp8_e5m2": 15, "fp8_e4m3": 8, "fp6_e3m2": 4, "fp6_e2m3": 2, "fp4_e2m1": 2}
QEXP = {"int8": -6, "int4": -2, "int2": 0, "fp8_e5m2": -16, "fp8_e4m3": -9, "fp6_e3m2": -4, "fp6_e2m3": -3, "fp4_e2m1": -1}
MBITS = {"fp8_e5m2": 2, "fp8_e4m3": 3, "fp6_e3m2": 2, "fp6_e2m3": 3, "fp4_e2m1": 1}


def f32(bits):
    return np.array(bits, dtype=np.uint32).view(np.float32)


def below_pow2(k: int, n: int) -> np.ndarray:
    """The n largest float32 values below 2^(k+1) (k >= -126)."""
    top = (k + 128) << 23
    return f32([top - i for i in range(1, n + 1)])


def build() -> np.ndarray:
    rng = np.random.default_rng(20261126)
    blocks = []

    def block(first, rest):
        b = np.zeros(32, dtype=np.float32)
        b[0] = first
        r = np.asarray(rest, dtype=np.float32)[:31]
        b[1:1 + r.size] = r
        blocks.append(b)

    # 1. amax a few ulps below a power of two (float32 log2 rounds up) in many binades
    for k in list(range(-140, -120, 3)) + list(range(-20, 21, 3)) + list(range(100, 128, 3)):
        if k >= -126:
            cand = below_pow2(k, 60)
        else:
            top = 1 << (k + 150)
            cand = f32([top - i for i in range(1, min(60, top // 2))])
        for a in cand[::6]:
            block(a, rng.uniform(-1, 1, 31).astype(np.float32) * a)
    # 2. elements a few ulps below powers of two, block scale fixed (amax = 2^emax of a format)
    for fmt, emax in EMAX.items():
        if fmt not in MBITS:
            continue
        emin = QEXP[fmt] + MBITS[fmt]
        for j in range(emin - 1, emax + 1):
            vals = below_pow2(j, 40)
            block(np.float32(2.0 ** emax), np.concatenate([vals[:16], -vals[16:31]]))
    # 3. the half-step float32 neighbours (0.5 - 2^-25, 0.5, 0.5 + 2^-24 steps) of every format
    for fmt, emax in EMAX.items():
        q = QEXP[fmt]
        h = np.float32(2.0 ** (q - 1))
        near = [np.nextafter(h, np.float32(0)), h, np.nextafter(h, np.float32(1)),
                np.float32(3 * 2.0 ** (q - 1)), np.nextafter(np.float32(3 * 2.0 ** (q - 1)), np.float32(0))]
        near = np.array(near, dtype=np.float32)
        block(np.float32(2.0 ** emax), np.concatenate([near, -near, near * 2, -near * 4]))
    # 4. signed zeros, tiny negatives that underflow after scaling, subnormals next to big values
    block(np.float32(2.0 ** 100), [-0.0, 0.0, -1e-38, -1e-45, 1e-45, -2.0 ** -120, -2.0 ** -100, -2.0 ** -90])
    block(np.float32(-0.0), [-0.0] * 31)
    block(np.float32(1e-45), [-1e-45, 3e-45, -0.0])
    block(np.float32(2.0 ** -126), rng.uniform(-1, 1, 31).astype(np.float32) * np.float32(2.0 ** -126))
    block(np.finfo(np.float32).max, [-np.finfo(np.float32).max, 1.0, -1.0])
    # 5. random rows over the float32 range
    for e in range(-149, 128, 9):
        block(np.float32(2.0 ** e) * np.float32(1.5), (rng.standard_normal(31) * 2.0 ** e).astype(np.float32))
    n = len(blocks)
    pad = (-n) % 8
    blocks += [np.zeros(32, dtype=np.float32)] * pad
    return np.stack(blocks).reshape(-1, 256)


def main() -> None:
    sys.path.insert(0, os.environ["MICROXCALING"])
    import torch
    from mx.mx_ops import _quantize_mx

    x = build()
    out = {"x": x}
    for f in FORMATS:
        for r in ROUNDS:
            y = _quantize_mx(torch.from_numpy(x.copy()), 8, f, shared_exp_method="max", axes=[-1], block_size=32,
                             round=r, flush_fp32_subnorms=False, custom_cuda=False)
            out[f"{f}__{r}"] = y.numpy()
    np.savez_compressed(Path(__file__).with_name("microxcaling_edges.npz"), **out)
    print(f"{x.shape[0]} rows; torch {torch.__version__}")


if __name__ == "__main__":
    main()
