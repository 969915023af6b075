"""Probe: where does each output tile of cuBLAS's stream-K kernels (sm90 xmma
``…_execute_segment_k_on``, TF32 and FP16-accumulating GEMMs) start a new chain over K, at shapes
where the kernel launches fewer CTAs than output tiles?  The sweeps' output samples see a few
tiles of each launch; ``lowbit.mac.tile_chains.chain_starts`` reads every tile.

PYTHONPATH=. python vectors/hardware/h100/sweep/streamk_probe.py PATH OUT.json [SECONDS]
(recorded: probes/streamk_<path>.json).  For each shape of SHAPES[PATH] (sweep shapes whose
sampled launch was refused: stream-K over more tiles than CTAs), cheapest first, until SECONDS
(default 480) have passed: the kernels the shape launches (``sweep.record``), the tile and
k-step read from the kernel's name (``cublas_rule.geometry``), and every tile's chain starts,
in k-iterations ({"tm,tn": [b, ...]}, tiles that run whole left out).
"""
import json
import re
import sys
import time

import numpy as np
import torch

from lowbit.mac import cublas_rule as cr
from lowbit.mac import sweep
from lowbit.mac.calibration import gpu_info
from lowbit.mac.tile_chains import chain_starts

SHAPES = {
    "tf32": [(288, 3072, 1024), (288, 4096, 1024), (1602, 1536, 1536), (1152, 2048, 1536), (384, 3072, 2048),
             (69, 8192, 1024), (72, 8192, 1024), (86, 8192, 1024), (187, 8192, 1024), (72, 9728, 896),
             (2176, 896, 896), (1869, 2304, 768), (2025, 2304, 768), (3200, 2304, 768), (2176, 2048, 2048),
             (4096, 768, 2048), (3431, 2560, 2048), (2176, 1024, 4096), (2176, 4096, 2304), (2048, 1536, 4096),
             (2176, 2048, 3584), (3200, 11008, 4096), (2176, 13824, 5120), (2176, 15360, 5120),
             (2176, 2048, 8192), (2176, 2304, 9216), (2411, 2304, 9216), (3790, 1536, 8960),
             (1152, 4096, 11008), (2349, 14336, 3584), (17, 17920, 1536), (17, 24576, 3072),
             (357, 4096, 11008), (378, 3584, 14336), (288, 5120, 13824), (288, 5120, 14336)],
    "fp16-acc16": [(9, 8960, 1536), (16, 14336, 2048), (32, 11008, 4096), (17, 11008, 4096), (8, 14336, 2048),
                   (7, 13184, 2016), (8, 12880, 2592), (6, 13296, 2048), (256, 8192, 768), (41, 22016, 2048),
                   (57, 22016, 2048), (288, 3072, 3072), (33, 18432, 2304), (288, 3072, 4096),
                   (805, 1056, 8752), (288, 3072, 8192), (16, 14336, 4096), (16, 13824, 5120),
                   (512, 4096, 1536), (962, 2560, 2048), (1152, 2048, 2304), (2176, 1024, 2304),
                   (768, 3072, 2048), (489, 4096, 2304), (3200, 768, 3072), (2176, 1024, 4096),
                   (213, 8192, 2048), (2688, 6144, 4096), (2944, 6528, 4096), (3536, 12960, 2512),
                   (1267, 22016, 2048), (1710, 17920, 1536), (3200, 5120, 5120), (2176, 2304, 9216),
                   (4096, 1536, 14336), (200, 4096, 3584), (210, 4096, 4096), (72, 9216, 3072),
                   (200, 4096, 11008), (77, 8192, 8192), (947, 912, 11920), (1024, 912, 12592),
                   (2125, 2224, 1342), (1536, 2992, 1436), (2864, 1490, 1530), (2112, 2014, 1824),
                   (672, 6226, 1312), (4016, 1070, 1872), (2248, 3840, 1706), (288, 8192, 3584),
                   (170, 24576, 3072), (288, 8192, 8192), (1152, 4096, 11008), (288, 13824, 5120),
                   (1152, 4544, 18176)],
}
CHAIN = {"tf32": "float32", "fp16-acc16": "float16"}


def main():
    path, dest = sys.argv[1], sys.argv[2]
    budget = float(sys.argv[3]) if len(sys.argv) > 3 else 480.0
    t0 = time.time()
    fmt = sweep.PATHS[path][0]
    shapes = sorted(SHAPES[path], key=lambda s: s[0] * s[1] + s[0] * s[2] + s[2] * s[1])
    rec = sweep.record(path, shapes, outputs=False, log=lambda *a: None)
    set_flags, run = sweep._call(path, torch)
    set_flags()
    np_dtype = {"float32": np.float32, "float16": np.float16}[fmt]

    def gemm(A, B):
        a = torch.from_numpy(A.view(np_dtype)).cuda()
        b = torch.from_numpy(B.view(np_dtype)).cuda()
        return run(a, b).float().cpu().numpy()

    out = {"path": path, "gpu": gpu_info(), "shapes": {}}
    for (M, N, K), kernels in zip(shapes, rec["kernels"]):
        if time.time() - t0 > budget:
            break
        key = f"{M}x{N}x{K}"
        main = cr.main_kernel(kernels)
        geo = cr.geometry(kernels)
        entry = {"kernels": kernels}
        out["shapes"][key] = entry
        if main is None or geo is None or "segment_k_on" not in main[0]:
            entry["error"] = "not a stream-K kernel"
            continue
        step = int(re.search(r"tilesize\d+x\d+x(\d+)", main[0]).group(1))
        tile_n, tile_m = geo[0], geo[1]
        entry.update(tile_m=tile_m, tile_n=tile_n, k_step=step)
        t = time.time()
        try:
            cm = chain_starts(gemm, fmt, fmt, M=M, N=N, K=K, tile_m=tile_m, tile_n=tile_n, k_step=step,
                              chain=CHAIN[path])
        except Exception as err:  # recorded, the next shape goes on
            entry["error"] = f"{type(err).__name__}: {err}"
            continue
        entry["calls"], entry["seconds"] = cm.calls, round(time.time() - t, 2)
        entry["cuts"] = {f"{tm},{tn}": [int(b) for b in np.flatnonzero(cm.cuts[tm, tn])]
                         for tm in range(cm.cuts.shape[0]) for tn in range(cm.cuts.shape[1]) if cm.cuts[tm, tn].any()}
        print(key, entry["tile_m"], entry["tile_n"], step, main[1], cm.calls, entry["seconds"], len(entry["cuts"]),
              flush=True)
        with open(dest, "w") as f:
            json.dump(out, f)
    with open(dest, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
