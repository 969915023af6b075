"""Deterministic operand generation for the single-instruction mma.sync probes and the crafted
cuBLAS probes (numpy only: runs the same on the GPU machine and on a CPU).

Every array is a bit pattern: TF32 operands and float32 accumulators as uint32 (a TF32 value is
a float32 whose 13 low fraction bits are zero, except in the ``lowbits`` family), float16 as
uint16.  One probe = one mma tile: A (16 x K, row major), B (K x 8), C (16 x 8); the hardware
returns D (16 x 8).  Every one of the 128 outputs of a probe is an observation
D[i, j] = mma(A[i, :], B[:, j], C[i, j]).
"""
from __future__ import annotations

import hashlib

import numpy as np

# name: (K, input kind, accumulator kind, PTX)
INSTR = {
    "tf32_k8": (8, "tf32", "f32", "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32"),
    "tf32_k4": (4, "tf32", "f32", "mma.sync.aligned.m16n8k4.row.col.f32.tf32.tf32.f32"),
    "f16_k16_f32": (16, "f16", "f32", "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32"),
    "f16_k16_f16": (16, "f16", "f16", "mma.sync.aligned.m16n8k16.row.col.f16.f16.f16.f16"),
    "f16_k8_f16": (8, "f16", "f16", "mma.sync.aligned.m16n8k8.row.col.f16.f16.f16.f16"),
}

FAMILIES = ("int", "pairtiny", "bigsmall", "cdom", "normal", "wide", "cancel", "specials",
            "lowbits", "f16tie")
# probes per family per instruction (lowbits only for TF32, f16tie only for a float16 accumulator)
COUNTS = {"int": 16, "pairtiny": 160, "bigsmall": 128, "cdom": 64, "normal": 128, "wide": 192,
          "cancel": 64, "specials": 48, "lowbits": 48, "f16tie": 64}


def sha(a) -> str:
    a = np.ascontiguousarray(a)
    return hashlib.sha256(str(a.dtype).encode() + str(a.shape).encode() + a.tobytes()).hexdigest()


# ------------------------------------------------------------------------------------------
# values -> bits
# ------------------------------------------------------------------------------------------
def tf32_bits(x):
    """float64 values exactly representable in TF32 -> float32 bits (checked)."""
    x = np.asarray(x, np.float64)
    f = x.astype(np.float32)
    fin = np.isfinite(x)
    assert np.all((f.astype(np.float64) == x) | ~fin), "value not exact in float32"
    b = f.view(np.uint32)
    assert np.all(((b & 0x1FFF) == 0) | ~fin), "value not exact in TF32"
    return b


def f32_bits(x):
    x = np.asarray(x, np.float64)
    f = x.astype(np.float32)
    assert np.all((f.astype(np.float64) == x) | ~np.isfinite(x))
    return f.view(np.uint32)


def f16_bits(x):
    x = np.asarray(x, np.float64)
    f = x.astype(np.float16)
    assert np.all((f.astype(np.float64) == x) | ~np.isfinite(x)), "value not exact in float16"
    return f.view(np.uint16)


def rand_val(rng, shape, emin, emax, mbits, zero_frac=0.0):
    """sign * (1 + m/2^mbits) * 2^e, e uniform in [emin, emax]."""
    e = rng.integers(emin, emax + 1, size=shape)
    m = rng.integers(0, 1 << mbits, size=shape)
    s = rng.choice([-1.0, 1.0], size=shape)
    v = s * (1.0 + m / float(1 << mbits)) * np.exp2(e.astype(np.float64))
    if zero_frac:
        v = np.where(rng.random(shape) < zero_frac, 0.0, v)
    return v


def round_to(x, fmt):
    """float64 -> nearest value of fmt (tf32: 11 significant bits, float32 range; f16)."""
    if fmt == "f16":
        return np.asarray(x, np.float64).astype(np.float16).astype(np.float64)
    x = np.asarray(x, np.float64).astype(np.float32)
    b = x.view(np.uint32).astype(np.uint64)
    low = b & 0x1FFF
    keep = b & ~np.uint64(0x1FFF)
    up = (low > 0x1000) | ((low == 0x1000) & (((b >> 13) & 1) == 1))
    b = (keep + np.where(up, 0x2000, 0)).astype(np.uint32)
    return b.view(np.float32).astype(np.float64)


# ------------------------------------------------------------------------------------------
# mma probes
# ------------------------------------------------------------------------------------------
def _fam_values(fam, n, K, inp, acc, rng):
    """n probes of family fam: (A n x 16 x K, B n x K x 8, C n x 16 x 8) as float64 values,
    or raw bits for the lowbits family (returned as uint32 arrays)."""
    mb = 10  # fraction bits of TF32 and float16
    A = np.zeros((n, 16, K))
    B = np.zeros((n, K, 8))
    C = np.zeros((n, 16, 8))
    if inp == "tf32":
        lo, hi, tiny0 = -30, 30, 40   # exponent range for "wide", tiny exponent start
    else:
        lo, hi, tiny0 = -7, 7, 14
    cacc = "f16" if acc == "f16" else "f32"
    if fam == "int":
        A = rng.integers(-8, 9, size=A.shape).astype(float)
        B = rng.integers(-8, 9, size=B.shape).astype(float)
        C = rng.integers(-64, 65, size=C.shape).astype(float)
    elif fam == "pairtiny":
        # row i: +big at p, -big at q, tiny terms of distinct powers of two elsewhere;
        # column 0 of B all ones, other columns ones with random signs / scales
        for t in range(n):
            for i in range(16):
                p, q = rng.choice(K, size=2, replace=False)
                big = 2.0 ** (rng.integers(0, 4) if inp == "tf32" else rng.integers(6, 10))
                A[t, i, p] = big
                A[t, i, q] = -big * (1.0 if rng.random() < 0.8 else 1.5)
                rest = [k for k in range(K) if k not in (p, q)]
                ex = rng.permutation(len(rest))
                off = rng.integers(14, 30) if inp == "tf32" else rng.integers(1, 11)
                for r, x in zip(rest, ex):
                    e = off + x
                    if inp == "f16" and e > 24:
                        continue
                    A[t, i, r] = 2.0 ** (-e) * (1 if rng.random() < 0.8 else -1)
            B[t] = 1.0
            B[t, :, 1:] = rng.choice([1.0, -1.0], size=(K, 7))
            B[t, :, 6:] *= 2.0 ** rng.integers(-2, 3, size=(K, 2))
            C[t, :, 0] = 0.0
            C[t, :, 4:] = rng.choice([0.0, 2.0 ** -20, -1.0, 1.0], size=(16, 4))
        if inp == "f16":
            A = round_to(A, "f16")
    elif fam == "bigsmall":
        # one big term, the others random and small (2^-14 .. 2^-34 below it): alignment
        # window and rounding of the terms cut off
        for t in range(n):
            for i in range(16):
                p = rng.integers(K)
                sp = rng.integers(8, 30) if inp == "tf32" else rng.integers(4, 16)
                A[t, i] = rand_val(rng, K, -sp - 4, -sp, mb)
                A[t, i, p] = rng.choice([1.0, -1.0]) * (1 + rng.integers(0, 1024) / 1024)
            B[t] = rand_val(rng, (K, 8), 0, 1, mb)
            C[t] = np.where(rng.random((16, 8)) < 0.5, 0.0, rand_val(rng, (16, 8), -20, 2, mb if cacc == "f16" else 23))
        if inp == "f16":
            A = round_to(A, "f16")
    elif fam == "cdom":
        # C much larger or much smaller than the products
        A = rand_val(rng, A.shape, -2, 2, mb)
        B = rand_val(rng, B.shape, -2, 2, mb)
        ce = rng.integers(-30, 31, size=C.shape) if cacc == "f32" else rng.integers(-14, 15, size=C.shape)
        C = rng.choice([-1.0, 1.0], size=C.shape) * (1 + rng.integers(0, 1 << (23 if cacc == "f32" else 10), size=C.shape) / float(1 << (23 if cacc == "f32" else 10))) * np.exp2(ce)
    elif fam == "normal":
        A = round_to(rng.normal(size=A.shape), inp)
        B = round_to(rng.normal(size=B.shape), inp)
        C = np.where(rng.random(C.shape) < 0.5, 0.0, rng.normal(size=C.shape) * 4)
        C = C.astype(np.float16 if cacc == "f16" else np.float32).astype(np.float64)
    elif fam == "wide":
        A = rand_val(rng, A.shape, lo, hi, mb, zero_frac=0.05)
        B = rand_val(rng, B.shape, lo, hi, mb, zero_frac=0.05)
        if cacc == "f32":
            C = np.where(rng.random(C.shape) < 0.3, 0.0, rand_val(rng, C.shape, 2 * lo, 2 * hi, 23))
        else:
            C = np.where(rng.random(C.shape) < 0.3, 0.0, rand_val(rng, C.shape, 2 * lo, 2 * hi, 10))
            C = np.clip(C, -65504, 65504)
            C = np.where(np.abs(C) < 2.0 ** -14, 0.0, C)
    elif fam == "cancel":
        # second half of each row repeats the first half, B's second half is minus the
        # first half plus one unit: massive cancellation, the result is in the low bits
        h = K // 2
        A[:, :, :h] = rand_val(rng, (n, 16, h), lo // 2, hi // 2, mb)
        A[:, :, h:] = A[:, :, :h]
        B[:, :h, :] = rand_val(rng, (n, h, 8), 0, 2, mb)
        pert = rng.choice([0.0, 1.0, -1.0, 3.0], size=(n, h, 8)) * 2.0 ** -10 * np.exp2(np.floor(np.log2(np.abs(B[:, :h, :]))))
        B[:, h:, :] = -(B[:, :h, :] + pert)
        B = round_to(B, inp)
        C = np.where(rng.random(C.shape) < 0.5, 0.0, rand_val(rng, C.shape, -12, 0, 10))
    elif fam == "specials":
        # a random dense tile with special values sprinkled in
        A = rand_val(rng, A.shape, -3, 3, mb)
        B = rand_val(rng, B.shape, -3, 3, mb)
        C = np.where(rng.random(C.shape) < 0.5, 0.0, rand_val(rng, C.shape, -3, 3, 10))
        if inp == "tf32":
            specials = [np.inf, -np.inf, np.nan, 0.0, -0.0, 2.0 ** -130, -(2.0 ** -136) * 3,
                        2.0 ** 100, -(2.0 ** 100), 2.0 ** 127 * 1.5, 2.0 ** -100, 2.0 ** -126]
        else:
            specials = [np.inf, -np.inf, np.nan, 0.0, -0.0, 2.0 ** -24, -(2.0 ** -20) * 3,
                        2.0 ** 15, -(2.0 ** 15), 65504.0, 2.0 ** -14, 2.0 ** -12, 2.0 ** 8]
        cspec = [np.inf, -np.inf, np.nan, 0.0, -0.0, 2.0 ** -149 if cacc == "f32" else 2.0 ** -24,
                 -(2.0 ** 120) if cacc == "f32" else -65504.0]
        for t in range(n):
            mode = t % 6
            if mode == 0:   # sparse specials in A
                msk = rng.random((16, K)) < 0.08
                A[t][msk] = rng.choice(specials, size=int(msk.sum()))
            elif mode == 1:  # specials in B
                msk = rng.random((K, 8)) < 0.08
                B[t][msk] = rng.choice(specials, size=int(msk.sum()))
            elif mode == 2:  # specials in C
                msk = rng.random((16, 8)) < 0.3
                C[t][msk] = rng.choice(cspec, size=int(msk.sum()))
            elif mode == 3:  # all products tiny (underflow) or huge (overflow)
                A[t] = rand_val(rng, (16, K), -3, 3, mb) * (2.0 ** (-60 if inp == "tf32" else -10))
                B[t] = rand_val(rng, (K, 8), -3, 3, mb) * (2.0 ** (-66 if inp == "tf32" else -6))
                C[t] = 0.0
            elif mode == 4:
                big = 2.0 ** (62 if inp == "tf32" else 7)
                A[t] = rand_val(rng, (16, K), -1, 1, mb) * big
                B[t] = rand_val(rng, (K, 8), -1, 1, mb) * big
                B[t, :, :4] = np.abs(B[t, :, :4])
                A[t, :8] = np.abs(A[t, :8])
                C[t] = 0.0
            else:  # signed zeros: exact cancellation and zero products
                A[t] = rng.choice([0.0, -0.0, 1.0, -1.0, 2.0], size=(16, K))
                B[t] = rng.choice([0.0, -0.0, 1.0, -1.0, 0.5], size=(K, 8))
                C[t] = rng.choice([0.0, -0.0, 1.0, -1.0], size=(16, 8))
        if inp == "f16":
            A = np.where(np.isfinite(A), A, A)  # values above are all float16-exact
    elif fam == "lowbits":
        # TF32 operands with random low 13 bits (rounded, truncated or used?)
        A = rand_val(rng, A.shape, -2, 2, 23)
        B = rand_val(rng, B.shape, -2, 2, 23)
        C = np.where(rng.random(C.shape) < 0.5, 0.0, rand_val(rng, C.shape, -4, 0, 23))
        return f32_bits(A), f32_bits(B), f32_bits(C)
    elif fam == "f16tie":
        # float16 accumulator: sums at and near ties of the float16 grid, overflow, subnormal results
        for t in range(n):
            mode = t % 4
            if mode == 0:   # 1 + j*2^-11-ish: C = 1 .. 2, products small multiples of 2^-12
                A[t] = rng.choice([0.0, 2.0 ** -6, -(2.0 ** -6), 3 * 2.0 ** -7], size=(16, K))
                B[t] = rng.choice([0.0, 2.0 ** -6, 2.0 ** -5, -(2.0 ** -6)], size=(K, 8))
                C[t] = round_to(1.0 + rng.integers(0, 1024, size=(16, 8)) / 1024.0, "f16") * rng.choice([1.0, -1.0, 4.0], size=(16, 8))
            elif mode == 1:  # overflow of the float16 accumulator
                A[t] = rand_val(rng, (16, K), 6, 7, mb)
                B[t] = rand_val(rng, (K, 8), 5, 7, mb)
                A[t, :8] = np.abs(A[t, :8])
                B[t, :, :4] = np.abs(B[t, :, :4])
                C[t] = rng.choice([0.0, 60000.0, -60000.0, 32768.0], size=(16, 8))
            elif mode == 2:  # subnormal results
                A[t] = rand_val(rng, (16, K), -9, -6, mb)
                B[t] = rand_val(rng, (K, 8), -12, -8, mb)
                C[t] = rng.choice([0.0, 2.0 ** -24, -(2.0 ** -20), 2.0 ** -14], size=(16, 8))
            else:  # products with many bits, sums need rounding (random mantissas, narrow range)
                A[t] = rand_val(rng, (16, K), -1, 1, mb)
                B[t] = rand_val(rng, (K, 8), -1, 1, mb)
                C[t] = round_to(rng.normal(size=(16, 8)) * 8, "f16")
    else:
        raise ValueError(fam)
    return A, B, C


def mma_probes(name):
    """(A, B, C bit arrays, family index per probe) of instruction ``name``; seed fixed per name."""
    K, inp, acc, _ = INSTR[name]
    rng = np.random.default_rng(abs(hash_name(name)))
    As, Bs, Cs, fams = [], [], [], []
    for fi, fam in enumerate(FAMILIES):
        if fam == "lowbits" and inp != "tf32":
            continue
        if fam == "f16tie" and acc != "f16":
            continue
        n = COUNTS[fam]
        A, B, C = _fam_values(fam, n, K, inp, acc, rng)
        if fam != "lowbits":
            if inp == "tf32":
                A, B = tf32_bits(A), tf32_bits(B)
            else:
                A, B = f16_bits(A), f16_bits(B)
            if acc == "f32":
                C = f32_bits(C.astype(np.float32).astype(np.float64))
            else:
                C = f16_bits(round_to(C, "f16"))
        As.append(A)
        Bs.append(B)
        Cs.append(C)
        fams.append(np.full(n, fi, np.int8))
    return (np.concatenate(As), np.concatenate(Bs), np.concatenate(Cs), np.concatenate(fams))


def hash_name(name):
    return int(hashlib.sha256(name.encode()).hexdigest()[:12], 16)


# ------------------------------------------------------------------------------------------
# crafted cuBLAS probes: row i of A holds +big at p, -big at q and tiny distinct powers of two
# at up to 16 other positions; column 0 of B is all ones, column 1 random signs.  Only C[:, :2]
# is recorded.
# ------------------------------------------------------------------------------------------
CUBLAS_SHAPES = [(64, 64, K, 16) for K in (16, 32, 64, 128, 256, 1000)] + \
    [(64, 64, 4096, 4), (1024, 1024, 1024, 1), (1024, 1024, 4096, 1)]  # (M, N, K, matmuls)
CUBLAS_PATHS = ("tf32", "fp16acc")


def cublas_probe(path, M, N, K, rep):
    rng = np.random.default_rng(hash_name(f"{path}_{M}x{N}x{K}_{rep}"))
    A = np.zeros((M, K))
    B = np.ones((K, N))
    B[:, 1] = rng.choice([1.0, -1.0], size=K)
    if path == "tf32":
        nt, t0 = 16, 40
    else:
        nt, t0 = 11, 4   # tinies 2^-4 .. 2^-14 (float16 normal), big 2^10 .. 2^14
    for i in range(M):
        p, q = rng.choice(K, size=2, replace=False)
        big = 2.0 ** (rng.integers(0, 3) if path == "tf32" else rng.integers(10, 15))
        A[i, p] = big
        A[i, q] = -big
        rest = np.array([k for k in range(K) if k not in (p, q)]) if K <= 1024 else None
        if rest is None:
            cand = rng.choice(K, size=64, replace=False)
            rest = np.array([k for k in cand if k not in (p, q)])
        pos = rng.choice(rest, size=min(nt, len(rest)), replace=False)
        for j, r in enumerate(pos):
            A[i, r] = 2.0 ** (-(t0 + j))
    if path == "tf32":
        return tf32_bits(A), tf32_bits(B)
    return f16_bits(A), f16_bits(B)


# ------------------------------------------------------------------------------------------
# second run (probe_cublas2.py): more cuBLAS shapes, and a segment map of the TF32
# 1024 x 1024 x 4096 kernel (sm90_xmma ... segment_k_on)
# ------------------------------------------------------------------------------------------
CUBLAS2_SHAPES = [(64, 64, 512), (64, 64, 2048), (128, 128, 128), (128, 128, 256), (128, 128, 1024),
                  (256, 256, 256), (256, 256, 1024), (512, 512, 512), (100, 100, 100), (1024, 1024, 2048)]
CUBLAS2_REPS = 4
SEGMAP_REPS = 8


def cublas_random(path, M, N, K, seed_tag):
    """Random dense operands: TF32 values with exponents in [-20, 20] / float16 with
    exponents in [-6, 6], 5 % zeros."""
    rng = np.random.default_rng(hash_name(f"rand_{seed_tag}_{path}_{M}x{N}x{K}"))
    if path == "tf32":
        A = rand_val(rng, (M, K), -20, 20, 10, zero_frac=0.05)
        B = rand_val(rng, (K, N), -20, 20, 10, zero_frac=0.05)
        return tf32_bits(A), tf32_bits(B)
    A = rand_val(rng, (M, K), -6, 6, 10, zero_frac=0.05)
    B = rand_val(rng, (K, N), -6, 6, 10, zero_frac=0.05)
    return f16_bits(A), f16_bits(B)


def segmap_probe(rep, K=4096, M=1024, N=1024):
    """TF32 segment map: row i holds ones everywhere, +2^40 at p and -2^40 at q, B all ones.
    Within one chain the +-2^40 pair wipes every one before q's step (truncated on the 2^15
    grid); across split-K segments the float32 adds lose them differently, so the output
    as a function of (p, q) maps the segments.  Row i of M-tile t = i // 64: rep r:
    q = 8 * ((i % 64) * SEGMAP_REPS + r) + (i % 8), p = 0 for even reps, p = K - 1 for odd
    reps (then q is mirrored: K - 1 - q)."""
    A = np.ones((M, K))
    B = np.ones((K, N))
    for i in range(M):
        q = 8 * ((i % 64) * SEGMAP_REPS + rep) + (i % 8)
        q = min(max(q, 1), K - 1)
        if rep % 2 == 0:
            p = 0
        else:
            p, q = K - 1, K - 1 - q
            if q == p:
                q = p - 1
        A[i, p] = 2.0 ** 40
        A[i, q] = -(2.0 ** 40)
    return tf32_bits(A), tf32_bits(B)


# third run (probe_segmap3.py): the TF32 1024 x 1024 x 4096 odd tiles seen from interior p
SEGMAP3_P = (0, 128, 255, 256, 500, 767, 768, 1200, 1791, 1792, 2400, 2943, 2944, 3200, 3519,
             3520, 3700, 3807, 3808, 4000, 4095)


def segmap3_probe(pi, half, K=4096, M=1024, N=1024):
    """Rows i = 0..255 (the odd tiles' rows): ones, +2^40 at p = SEGMAP3_P[pi], -2^40 at
    q = 2048 * half + 8 * i + i % 8 (q == p moves one place on).  Other rows: ones."""
    p = SEGMAP3_P[pi]
    A = np.ones((M, K))
    B = np.ones((K, N))
    for i in range(256):
        q = 2048 * half + 8 * i + (i % 8)
        if q == p:
            q = q + 1 if q + 1 < K else q - 1
        A[i, p] = 2.0 ** 40
        A[i, q] = -(2.0 ** 40)
    return tf32_bits(A), tf32_bits(B)
