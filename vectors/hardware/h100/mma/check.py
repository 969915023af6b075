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
        fn = chain.cublas_tf32 if kind.startswith("tf32") else chain.cublas_fp16acc
        agg = {}
        for c, A, B, want in items:
            got = fn(A, B, c["M"], c["N"])
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


if __name__ == "__main__":
    check_instructions(slow="--fast" not in sys.argv)
    check_cublas()
