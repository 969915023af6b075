"""Second device run: crafted and random cuBLAS TF32 / FP16-accumulation matmuls on more shapes,
and a segment map of the TF32 1024 x 1024 x 4096 kernel.

On the GPU machine:  python3 probe_cublas2.py --out DIR
On a CPU:            python3 probe_cublas2.py --out DIR --dry-run   (operands only)

DIR/cublas2_outputs.npz: ``pt_<path>_<M>x<N>x<K>`` (reps x M x 2: C[:, :2] of the crafted
pair/tiny probes, gen.cublas_probe), ``rnd_<path>_<M>x<N>x<K>`` (C[rows][:, cols] of
gen.cublas_random, rows/cols by ``sample``), ``segmap`` (SEGMAP_REPS x 1024 x 8: C[:, ::128]
of gen.segmap_probe), ``rnd_tf32_1024x1024x4096_full`` (C[::64, :] of random operands).
DIR/meta2.json: environment, operand SHA-256, kernel names per shape.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen  # noqa: E402


def sample(M, N):
    rows = np.arange(0, M, max(1, M // 64))[:64]
    cols = np.arange(0, N, max(1, N // 8))[:8]
    return rows, cols


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--dry-run", action="store_true")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    dry = args.dry_run
    meta = {"operands": {}, "kernels": {}}
    res = {}
    if not dry:
        import torch
        from torch.profiler import ProfilerActivity, profile

        m = torch.backends.cuda.matmul
        meta["env"] = {"torch": torch.__version__, "cuda": torch.version.cuda, "gpu": torch.cuda.get_device_name(0)}

    def mm(path, A, B):
        if path == "tf32":
            tA = torch.from_numpy(A.view(np.int32)).view(torch.float32).cuda()
            tB = torch.from_numpy(B.view(np.int32)).view(torch.float32).cuda()
            m.allow_tf32 = True
        else:
            tA = torch.from_numpy(A.view(np.int16)).view(torch.float16).cuda()
            tB = torch.from_numpy(B.view(np.int16)).view(torch.float16).cuda()
            m.allow_fp16_accumulation = True
        try:
            C = torch.matmul(tA, tB)
            torch.cuda.synchronize()
        finally:
            m.allow_tf32 = False
            m.allow_fp16_accumulation = False
        idt = torch.int32 if path == "tf32" else torch.int16
        ndt = np.uint32 if path == "tf32" else np.uint16
        return C.view(idt).cpu().numpy().view(ndt)

    for path in gen.CUBLAS_PATHS:
        for (M, N, K) in gen.CUBLAS2_SHAPES:
            key = f"{path}_{M}x{N}x{K}"
            outs = []
            for rep in range(gen.CUBLAS2_REPS):
                A, B = gen.cublas_probe(path, M, N, K, rep)
                meta["operands"][f"pt_{key}_{rep}"] = {"A": gen.sha(A), "B": gen.sha(B)}
                if not dry:
                    outs.append(mm(path, A, B)[:, :2].copy())
            A, B = gen.cublas_random(path, M, N, K, 0)
            meta["operands"][f"rnd_{key}"] = {"A": gen.sha(A), "B": gen.sha(B)}
            if not dry:
                res[f"pt_{key}"] = np.stack(outs)
                rows, cols = sample(M, N)
                res[f"rnd_{key}"] = mm(path, A, B)[rows][:, cols].copy()
                with profile(activities=[ProfilerActivity.CUDA]) as prof:
                    mm(path, A, B)
                meta["kernels"][key] = sorted({e.name for e in prof.events() if e.device_type.name == "CUDA"})
                print(key, meta["kernels"][key][-1][:80], flush=True)
    seg = []
    for rep in range(gen.SEGMAP_REPS):
        A, B = gen.segmap_probe(rep)
        meta["operands"][f"segmap_{rep}"] = {"A": gen.sha(A), "B": gen.sha(B)}
        if not dry:
            seg.append(mm("tf32", A, B)[:, ::128].copy())
    A, B = gen.cublas_random("tf32", 1024, 1024, 4096, 1)
    meta["operands"]["rnd_tf32_1024x1024x4096_full"] = {"A": gen.sha(A), "B": gen.sha(B)}
    if not dry:
        res["segmap"] = np.stack(seg)
        res["rnd_tf32_1024x1024x4096_full"] = mm("tf32", A, B)[::64, :].copy()
        np.savez_compressed(os.path.join(args.out, "cublas2_outputs.npz"), **res)
    with open(os.path.join(args.out, "meta2.json"), "w") as f:
        json.dump(meta, f, indent=1, sort_keys=True)
    print("done")


if __name__ == "__main__":
    main()
