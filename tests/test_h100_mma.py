"""One tensor-core instruction at a time: lowbit's fused-block kernel against every recorded
``mma.sync`` output of vectors/hardware/h100/mma (H100, inline PTX, one instruction per warp).

The instruction computes D = C + A·B; lowbit's chain has no C input, so C enters as a first
step of exact products whose sum is C (TF32: C split into three TF32-exact pieces times 1.0;
float16 accumulator: C times 1.0; float32 C with float16 operands: up to three 11-bit pieces
times powers of two, for the C the float16 format can express that way — 67 232 of 102 400
outputs).  The step that follows is the instruction, modelled as one fused step of all its K
products (``block_size`` = K).  References: the recorded outputs only.
"""

from __future__ import annotations

import dataclasses
import os
import sys

import numpy as np
import pytest

import lowbit
from lowbit.mac import h100_paths as P

MMA = os.path.join(os.path.dirname(__file__), "..", "vectors", "hardware", "h100", "mma")


@pytest.fixture(scope="module")
def mma():
    sys.path.insert(0, MMA)
    try:
        import fit_mma  # the recording's loader: operands regenerated and checked by SHA-256
        import gen
    finally:
        sys.path.remove(MMA)
    return fit_mma, gen


def tf32_pieces(c):
    """float32 bits → three TF32-exact float32 bit patterns summing to it (specials: itself, 0, 0)."""
    c = c.astype(np.uint32)
    finite = ((c >> 23) & 0xFF) != 0xFF

    def top(x):
        return (x & ~np.uint32(0x1FFF)).astype(np.uint32)

    with np.errstate(invalid="ignore"):
        hi = np.where(finite, top(c), c).astype(np.uint32)
        rest = np.where(finite, (c.view(np.float32) - hi.view(np.float32)).view(np.uint32), 0).astype(np.uint32)
        mid = top(rest)
        lo = (rest.view(np.float32) - mid.view(np.float32)).view(np.uint32).astype(np.uint32)
    return hi, mid, lo


def emulate_tf32(A, B, C, K, acc=None):
    """The instruction's outputs: C's three pieces as one step, then the K products (``acc``:
    the model of the instruction, default one fused step of K)."""
    acc = acc or dataclasses.replace(P.h100_tf32_triton(32, "tf32"), block_size=K)
    hi, mid, lo = tf32_pieces(C)
    out = np.zeros(C.shape, np.uint32)
    for p in range(A.shape[0]):
        for j in range(C.shape[2]):
            a2 = np.zeros((A.shape[1], 2 * K), np.uint32)
            b2 = np.zeros((2 * K, 1), np.uint32)
            a2[:, 0], a2[:, 1], a2[:, 2] = hi[p, :, j], mid[p, :, j], lo[p, :, j]
            b2[0:3, 0] = 0x3F800000
            a2[:, K:], b2[K:, 0] = A[p], B[p][:, j]
            out[p, :, j] = lowbit.matmul(a2, b2, "float32", "float32", accumulator=acc).view(np.uint32)[:, 0]
    return out


def emulate_f16_acc(A, B, C, K, acc=None):
    acc = acc or dataclasses.replace(P.h100_fp16_triton(32, "float16"), block_size=K)
    out = np.zeros(C.shape, np.uint16)
    for p in range(A.shape[0]):
        for j in range(C.shape[2]):
            a2 = np.zeros((A.shape[1], 2 * K), np.uint16)
            b2 = np.zeros((2 * K, 1), np.uint16)
            a2[:, 0], b2[0, 0] = C[p, :, j], 0x3C00
            a2[:, K:], b2[K:, 0] = A[p], B[p][:, j]
            out[p, :, j] = lowbit.matmul(a2, b2, "float16", "float16", accumulator=acc,
                                         out_dtype="float16").view(np.uint16)[:, 0]
    return out


@pytest.mark.parametrize("name", ["tf32_k8", "tf32_k4", "f16_k16_f16", "f16_k8_f16"])
def test_every_recorded_instruction_output(mma, name):
    fit_mma, gen = mma
    K, inp, accf, _ = gen.INSTR[name]
    A, B, C, fam, D = fit_mma.load_mma(name)
    got = emulate_tf32(A, B, C, K) if inp == "tf32" else emulate_f16_acc(A, B, C, K)
    assert D.size > 100000
    bad = np.flatnonzero((got != D).any(axis=(1, 2)))
    assert bad.size == 0, sorted({gen.FAMILIES[f] for f in fam[bad]})
    # one step of K, not two of K/2: the halves model misses recorded outputs (k4 TF32: its
    # halves of 2 could not hold C's three pieces in one step, so the comparison would not be fair)
    if inp == "tf32" and K < 8:
        return
    half = (dataclasses.replace(P.h100_tf32_triton(32, "tf32"), block_size=K // 2) if inp == "tf32"
            else dataclasses.replace(P.h100_fp16_triton(32, "float16"), block_size=K // 2))
    sub = slice(0, 120)
    if inp == "tf32":
        alt = emulate_tf32(A[sub], B[sub], C[sub], K, half)
    else:
        alt = emulate_f16_acc(A[sub], B[sub], C[sub], K, half)
    assert np.count_nonzero(alt != D[sub]) > 0


def f16_pieces(cbits):
    """float32 C as products a·b of float16 bit patterns (a an 11-bit significand in [1, 2),
    b = 2^e with e in [−14, 15], so both are normal float16), or None where C needs others."""
    x = np.uint32(cbits).view(np.float32)
    if not np.isfinite(x):
        return [(np.float16(x).view(np.uint16), np.uint16(0x3C00))]
    if x == 0:
        return []
    m, e = np.frexp(np.float64(x))
    sig = int(np.ldexp(m, 24))
    sign, sig = (-1 if sig < 0 else 1), abs(sig)
    out = []
    for shift in (13, 2, 0):
        part = sig >> shift
        sig -= part << shift
        if part == 0:
            continue
        v = sign * part * 2.0 ** (shift + e - 24)
        mm, ee = np.frexp(v)
        a, ex = np.float16(mm * 2), int(ee) - 1
        if not (-14 <= ex <= 15) or float(a) * 2.0 ** ex != v:
            return None
        out.append((a.view(np.uint16), np.float16(2.0 ** ex).view(np.uint16)))
    return out


def test_f16_instruction_with_float32_accumulator(mma):
    fit_mma, gen = mma
    K = 16
    A, B, C, fam, D = fit_mma.load_mma("f16_k16_f32")
    acc = dataclasses.replace(P.h100_fp16(split_k=1), block_size=K)
    tested = 0
    for p in range(A.shape[0]):
        for j in range(D.shape[2]):
            for i in range(D.shape[1]):
                pc = f16_pieces(C[p, i, j])
                if pc is None:
                    continue
                a = np.zeros(2 * K, np.uint16)
                b = np.zeros(2 * K, np.uint16)
                for t, (x, y) in enumerate(pc):
                    a[t], b[t] = x, y
                a[K:], b[K:] = A[p, i], B[p][:, j]
                got = lowbit.matmul(a[None, :], b[:, None], "float16", "float16", accumulator=acc)
                assert got.view(np.uint32)[0, 0] == D[p, i, j], (p, i, j, gen.FAMILIES[fam[p]])
                tested += 1
    assert tested > 60000
