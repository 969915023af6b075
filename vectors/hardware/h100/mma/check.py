"""Print how many recorded outputs the rules reproduce bit for bit.

python check.py          -> (1) every single-instruction probe (data/mma_outputs.npz) against
                            ref.mma_output (pure Python, exact integers) and against the
                            Numba GEMM model chain.run (one step + C), per operand family;
                            (2) the recorded cuBLAS cases of ../paths (TF32, FP16
                            accumulation through torch and through cublasGemmEx 16F) and the
                            crafted cuBLAS probes (data/cublas_outputs.npz) against
                            chain.cublas_tf32 / chain.cublas_fp16acc.
python check.py --fast   -> skips the pure-Python pass (1a).
Neither imports lowbit.
"""
from __future__ import annotations

import sys
from collections import Counter

import numpy as np

import chain
import fit_cublas
import gen
import ref
from fit_mma import load_mma


def check_instructions(slow=True):
    for name, (K, inp, acc, ptx) in gen.INSTR.items():
        A, B, C, fam, D = load_mma(name)
        okr, okc, tot = Counter(), Counter(), Counter()
        sch, so = chain.schedule(K, K, None)
        for p in range(A.shape[0]):
            f = gen.FAMILIES[fam[p]]
            tot[f] += D[p].size
            if slow:
                okr[f] += int(np.count_nonzero(ref.mma_tile(inp, acc, A[p], B[p], C[p]) == D[p]))
            out = chain.run(A[p], B[p], "tf32rz" if inp == "tf32" else "f16", sch, so,
                            0 if acc == "f32" else 1, 0, c_bits=C[p], c_fmt=acc)
            if acc == "f32":
                got = out.astype(np.float32).view(np.uint32).copy()
                got[np.isnan(out)] = 0x7FFFFFFF
            else:
                got = out.astype(np.float16).view(np.uint16).copy()
                got[np.isnan(out)] = 0x7FFF
            okc[f] += int(np.count_nonzero(got == D[p]))
        n = sum(tot.values())
        print(f"\n{ptx}  ({A.shape[0]} probes, {n} outputs)")
        print("| family | outputs | ref.mma_output | chain.run |")
        print("| --- | --- | --- | --- |")
        for f in tot:
            print(f"| {f} | {tot[f]} | {okr[f] if slow else '-'} | {okc[f]} |")
        print(f"| all | {n} | {sum(okr.values()) if slow else '-'} | {sum(okc.values())} |")


def check_cublas():
    print("\n| path | inputs | M x N x K | dist | outputs reproduced | cases |")
    print("| --- | --- | --- | --- | --- | --- |")
    totals = {}
    for kind, label in (("tf32", "torch.matmul allow_tf32"), ("fp16acc", "torch.matmul allow_fp16_accumulation"),
                        ("gemmex16", "cublasGemmEx COMPUTE_16F"), ("tf32c", "probes of this folder, allow_tf32"),
                        ("fp16accc", "probes of this folder, fp16 accumulation")):
        crafted = {"tf32c": "tf32", "fp16accc": "fp16acc"}
        if kind in crafted:
            items = fit_cublas.crafted(crafted[kind])
            for (M, N, K) in gen.CUBLAS2_SHAPES:  # second recording: crafted + random
                items += fit_cublas.second_run(crafted[kind], M, N, K, "pt")
                items += fit_cublas.second_run(crafted[kind], M, N, K, "rnd")
        else:
            items = fit_cublas.recorded(kind)
        agg = {}
        for c, A, B, want in items:
            if kind.startswith("tf32"):
                got = chain.cublas_tf32(A, B, c["M"], c["N"], rows=c["rows"], cols=c["cols"])
            else:
                got = chain.cublas_fp16acc(A, B, c["M"], c["N"])
            key = (c["M"], c["N"], c["K"], c.get("dist", "crafted"))
            x = agg.setdefault(key, [0, 0, 0, 0])
            n = int(np.count_nonzero(got == want))
            x[0] += n
            x[1] += want.size
            x[2] += n == want.size
            x[3] += 1
        t = [0, 0, 0, 0]
        for (M, N, K, dist), x in sorted(agg.items()):
            print(f"| {label} | {'f32' if kind.startswith('tf32') else 'f16'} | {M}x{N}x{K} | {dist} | "
                  f"{x[0]}/{x[1]} | {x[2]}/{x[3]} |")
            t = [a + b for a, b in zip(t, x)]
        totals[label] = t
    print("\n| path | outputs reproduced | cases reproduced |")
    print("| --- | --- | --- |")
    for label, t in totals.items():
        print(f"| {label} | {t[0]}/{t[1]} | {t[2]}/{t[3]} |")


def check_segmented():
    """TF32 1024 x 1024 x 4096: the segment maps (runs 2 and 3) and random operands over every column."""
    import json
    import os

    here = os.path.dirname(os.path.abspath(__file__))
    o2 = np.load(os.path.join(here, "data", "cublas2_outputs.npz"))
    m2 = json.load(open(os.path.join(here, "data", "meta2.json")))["operands"]
    o3 = np.load(os.path.join(here, "data", "segmap3.npz"))["out"]
    m3 = json.load(open(os.path.join(here, "data", "meta3.json")))["operands"]
    sets = []
    for rep in range(gen.SEGMAP_REPS):
        A, B = gen.segmap_probe(rep)
        assert gen.sha(A) == m2[f"segmap_{rep}"]["A"] and gen.sha(B) == m2[f"segmap_{rep}"]["B"]
        sets.append(("segment map, p at an end (run 2)", A, B, np.arange(1024), np.arange(0, 1024, 128), o2["segmap"][rep]))
    for pi in range(len(gen.SEGMAP3_P)):
        for half in range(2):
            A, B = gen.segmap3_probe(pi, half)
            assert gen.sha(A) == m3[f"{pi}_{half}"]["A"] and gen.sha(B) == m3[f"{pi}_{half}"]["B"]
            cols = np.array([0, 384, 768, 896])
            sets.append(("segment map, 21 positions of p (run 3)", A[:256], B, np.arange(256), cols, o3[pi, half]))
    A, B = gen.cublas_random("tf32", 1024, 1024, 4096, 1)
    assert gen.sha(A) == m2["rnd_tf32_1024x1024x4096_full"]["A"]
    sets.append(("random, rows 0, 64, .., 960 x every column (run 2)", A[::64], B, np.arange(0, 1024, 64),
                 np.arange(1024), o2["rnd_tf32_1024x1024x4096_full"]))
    print("\n| TF32 1024x1024x4096 | outputs reproduced | of them in the 8 split tiles |")
    print("| --- | --- | --- |")
    tab = {}
    for label, A, B, rows, cols, want in sets:
        got = chain.cublas_tf32(np.ascontiguousarray(A), np.ascontiguousarray(B[:, cols]), 1024, 1024,
                                rows=rows, cols=cols)
        inside = ((rows < 256)[:, None] & (cols >= 768)[None, :])
        t = tab.setdefault(label, [0, 0, 0, 0])
        t[0] += int(np.count_nonzero(got == want))
        t[1] += want.size
        t[2] += int(np.count_nonzero((got == want) & inside))
        t[3] += int(inside.sum())
    for label, t in tab.items():
        print(f"| {label} | {t[0]}/{t[1]} | {t[2]}/{t[3]} |")


if __name__ == "__main__":
    check_instructions(slow="--fast" not in sys.argv)
    check_cublas()
    check_segmented()
