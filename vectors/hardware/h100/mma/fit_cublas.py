"""Loaders of the cuBLAS TF32 / FP16-accumulation recordings (../paths and the crafted probes
here), operands rebuilt and checked by SHA-256; tests/test_h100_cublas.py and check.py read them.

The K-order fitting that first used them (scanning slice lengths against these recordings) is
now ``lowbit.mac.discover``, which derives the same schedules from probes on the GPU itself
(../discover/: cuBLAS TF32 64×64×4096 re-derived as chains of 128 from probes alone).
"""
from __future__ import annotations

import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
PATHS = os.path.join(HERE, "..", "paths")
sys.path.insert(0, HERE)
sys.path.insert(0, PATHS)
import chain  # noqa: E402
import gen  # noqa: E402

_OPS = {}


def recorded(kind):
    """[(case, A bits, B bits, out bits)] of the recorded cuBLAS cases of ``kind``:
    'tf32' (torch_matmul allow_tf32), 'fp16acc' (torch_matmul fp16_accumulation),
    'gemmex16' (cublas_gemmex 16F)."""
    import operands  # ../paths/operands.py: rebuilds the operands, checked by SHA-256

    if "ops" not in _OPS:
        _OPS["ops"] = operands.load()
        _OPS["outs"] = np.load(os.path.join(PATHS, "outputs.npz"))
        _OPS["meta"] = json.load(open(os.path.join(PATHS, "cases.json")))
    ops, outs, meta = _OPS["ops"], _OPS["outs"], _OPS["meta"]
    want = {"tf32": ("torch_matmul", {"allow_tf32": True}),
            "fp16acc": ("torch_matmul", {"fp16_accumulation": True}),
            "gemmex16": ("cublas_gemmex", {"compute": "16F", "out": "float16"})}[kind]
    res = []
    for c in meta["cases"]:
        if c["path"] == want[0] and c["params"] == want[1]:
            c = dict(c, rows=ops[f"op_{c['operands']}_rows"], cols=ops[f"op_{c['operands']}_cols"])
            res.append((c, ops[f"op_{c['operands']}_a"], ops[f"op_{c['operands']}_b"], outs[f"out_{c['id']}"]))
    return res


def crafted(kind):
    """[(dict(M,N,K,rep), A bits, B bits[:, :2], out bits)] of the crafted cuBLAS probes."""
    meta = json.load(open(os.path.join(HERE, "data", "meta.json")))
    outs = np.load(os.path.join(HERE, "data", "cublas_outputs.npz"))
    res = []
    for (M, N, K, reps) in gen.CUBLAS_SHAPES:
        o = outs[f"{kind}_{M}x{N}x{K}"]
        for rep in range(reps):
            A, B = gen.cublas_probe(kind, M, N, K, rep)
            m = meta["cublas_operands"][f"{kind}_{M}x{N}x{K}_{rep}"]
            assert gen.sha(A) == m["A"] and gen.sha(B) == m["B"]
            res.append(({"M": M, "N": N, "K": K, "rep": rep, "rows": np.arange(M), "cols": np.arange(2)},
                        A, np.ascontiguousarray(B[:, :2]), o[rep]))
    return res


def to_bits(x, kind):
    if kind == "tf32":
        b = x.astype(np.float32).view(np.uint32).copy()
        b[np.isnan(x)] = 0x7FFFFFFF
        return b
    b = x.astype(np.float16).view(np.uint16).copy()
    b[np.isnan(x)] = 0x7FFF
    return b


def second_run(kind, M, N, K, which):
    """Items of the second recording (probe_cublas2.py): which = 'pt' (crafted pair/tiny,
    reps) or 'rnd' (random dense, sampled rows/cols)."""
    import probe_cublas2

    meta = json.load(open(os.path.join(HERE, "data", "meta2.json")))
    outs = np.load(os.path.join(HERE, "data", "cublas2_outputs.npz"))
    key = f"{kind}_{M}x{N}x{K}"
    res = []
    if which == "pt":
        o = outs[f"pt_{key}"]
        for rep in range(gen.CUBLAS2_REPS):
            A, B = gen.cublas_probe(kind, M, N, K, rep)
            m = meta["operands"][f"pt_{key}_{rep}"]
            assert gen.sha(A) == m["A"] and gen.sha(B) == m["B"]
            res.append(({"M": M, "N": N, "K": K, "dist": "crafted2", "rows": np.arange(M), "cols": np.arange(2)},
                        A, np.ascontiguousarray(B[:, :2]), o[rep]))
    else:
        A, B = gen.cublas_random(kind, M, N, K, 0)
        m = meta["operands"][f"rnd_{key}"]
        assert gen.sha(A) == m["A"] and gen.sha(B) == m["B"]
        rows, cols = probe_cublas2.sample(M, N)
        res.append(({"M": M, "N": N, "K": K, "dist": "random2", "rows": rows, "cols": cols}, np.ascontiguousarray(A[rows]),
                    np.ascontiguousarray(B[:, cols]), outs[f"rnd_{key}"]))
    return res
