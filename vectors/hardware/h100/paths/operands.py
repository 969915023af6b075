"""Rebuild the recorded operands bit for bit, without torch (numpy + ml_dtypes only).

probe_paths.py drew every random operand from numpy's PCG64 with a fixed seed per operand
set and cast it with torch's CPU casts (round to nearest even).  numpy's float16 cast and
ml_dtypes' bfloat16 / float8_e4m3fn casts round the same way, so the operands are rebuilt
here instead of being stored (they are ~13 MB of incompressible mantissa bits);
``operands_sha256.json`` holds the SHA-256 of every saved array as recorded, and
:func:`load` refuses an array whose rebuilt bits differ.  Crafted operand sets are small
and stored in ``crafted_operands.npz``.

``load()`` returns a dict with the keys of the original ``operands.npz``:
``op_<key>_a`` (A[rows, :]), ``op_<key>_b`` (B[:, cols]), ``op_<key>_rows``, ``op_<key>_cols``.
"""
from __future__ import annotations

import hashlib
import json
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def plan():
    """(fam, dist, M, N, K, rows, cols) of every operand set, in recording order (the seed is 1000 + index)."""
    out = []
    ks = (16, 32, 64, 128, 256, 1000)
    sub = np.arange(0, 1024, 64)
    sub64 = np.arange(0, 64, 4)
    for fam in ("f16", "bf16", "f32", "i8", "e4m3"):
        for dist in ("allcodes", "normal", "heavy"):
            for K in ks:
                out.append((fam, dist, 64, 64, K, np.arange(64), np.arange(64)))
            out.append((fam, dist, 64, 64, 4096, sub64, sub64))
            out.append((fam, dist, 1024, 1024, 1024, sub, sub))
            out.append((fam, dist, 1024, 1024, 4096, sub, sub))
        if fam != "i8":
            for K in (32, 64):
                out.append((fam, "crafted", 128, 128, K, np.arange(128), np.arange(128)))
    return out


def _cast(x32, fam):
    import ml_dtypes

    if fam == "f16":
        return x32.astype(np.float16).view(np.uint16)
    if fam == "bf16":
        return x32.astype(ml_dtypes.bfloat16).view(np.uint16)
    if fam == "e4m3":
        return x32.astype(ml_dtypes.float8_e4m3fn).view(np.uint8)
    raise ValueError(fam)


def gen_operand(fam, dist, shape, rng):
    """The same draws as probe_paths.gen_operand (see there), cast with numpy / ml_dtypes."""
    n = int(np.prod(shape))
    if fam == "i8":
        if dist == "allcodes":
            return rng.integers(-128, 128, size=shape, dtype=np.int64).astype(np.int8)
        x = rng.normal(0.0, 20.0, size=shape)
        if dist == "heavy":
            x *= np.where(rng.random(shape) < 0.01, 6.0, 1.0)
        return np.clip(np.rint(x), -128, 127).astype(np.int8)
    if dist == "allcodes":
        if fam == "f16":
            b = rng.integers(0, 1 << 16, size=n, dtype=np.uint32)
            bad = ((b >> 10) & 0x1F) == 0x1F
            while bad.any():
                b[bad] = rng.integers(0, 1 << 16, size=int(bad.sum()), dtype=np.uint32)
                bad = ((b >> 10) & 0x1F) == 0x1F
            return b.astype(np.uint16).reshape(shape)
        if fam == "e4m3":
            b = rng.integers(0, 256, size=n, dtype=np.uint32)
            bad = (b & 0x7F) == 0x7F
            while bad.any():
                b[bad] = rng.integers(0, 256, size=int(bad.sum()), dtype=np.uint32)
                bad = (b & 0x7F) == 0x7F
            return b.astype(np.uint8).reshape(shape)
        e = rng.integers(-24, 25, size=n)
        if fam == "bf16":
            m = rng.integers(0, 1 << 7, size=n)
            b = (rng.integers(0, 2, size=n) << 15) | ((e + 127) << 7) | m
            return b.astype(np.uint16).reshape(shape)
        m = rng.integers(0, 1 << 23, size=n)
        b = (rng.integers(0, 2, size=n) << 31) | ((e + 127) << 23) | m
        return b.astype(np.uint32).reshape(shape)
    x = rng.normal(0.0, 1.0, size=shape)
    if dist == "heavy":
        out = rng.random(shape) < 0.01
        x = np.where(out, x * np.exp2(rng.uniform(4.0, 10.0, size=shape)), x)
    if fam == "f32":
        return x.astype(np.float32).view(np.uint32)
    return _cast(x.astype(np.float32), fam)


def sha(arr) -> str:
    a = np.ascontiguousarray(arr)
    return hashlib.sha256(str(a.dtype).encode() + str(a.shape).encode() + a.tobytes()).hexdigest()


_CACHE = {}


def load(verify: bool = True) -> dict:
    """All operand arrays (rebuilt random sets + stored crafted sets), checked against the recorded hashes."""
    if "ops" in _CACHE:
        return _CACHE["ops"]
    with open(os.path.join(HERE, "operands_sha256.json")) as f:
        hashes = json.load(f)
    crafted = np.load(os.path.join(HERE, "crafted_operands.npz"))
    ops = {k: crafted[k] for k in crafted.files}
    for si, (fam, dist, M, N, K, rows, cols) in enumerate(plan()):
        key = f"{fam}_{dist}_{M}x{N}x{K}"
        if dist == "crafted":
            continue
        rng = np.random.default_rng(1000 + si)
        A = gen_operand(fam, dist, (M, K), rng)
        B = gen_operand(fam, dist, (K, N), rng)
        ops[f"op_{key}_a"] = np.ascontiguousarray(A[rows, :])
        ops[f"op_{key}_b"] = np.ascontiguousarray(B[:, cols])
        ops[f"op_{key}_rows"] = np.asarray(rows, np.int32)
        ops[f"op_{key}_cols"] = np.asarray(cols, np.int32)
    if verify:
        missing = sorted(set(hashes) - set(ops))
        bad = sorted(k for k in hashes if k in ops and sha(ops[k]) != hashes[k])
        if missing or bad:
            raise ValueError(f"rebuilt operands differ from the recorded ones: missing {missing[:5]}, different {bad[:5]}")
    _CACHE["ops"] = ops
    return ops
