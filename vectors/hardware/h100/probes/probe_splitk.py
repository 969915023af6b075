"""Which shapes make cuBLASLt split K for torch._scaled_mm (FP8) on an H100?

Run on the device:  python3 vectors/hardware/h100/probes/probe_splitk.py $OUT
Writes splitk.npz / splitk.json. For each (M, N, K, fast_accum) the full GEMM runs on the GPU
(e4m3 x e4m3, operands cast from N(0,1) with torch), and the 8x8 top-left outputs are kept
with the 8 rows of A and 8 columns of B they need (`s{i}_a`, `s{i}_b`, `c{j}_out_bits`).
"""

import json
import sys

import numpy as np
import torch

OUT = sys.argv[1]
dev = "cuda"
arrays, cases, shapes = {}, [], []
gen = torch.Generator().manual_seed(20261126)
for (M, N) in [(16, 16), (32, 32), (64, 64), (128, 128), (256, 256), (16, 1024), (1024, 16)]:
    for K in (1024, 4096, 16384):
        sid = len(shapes)
        a = torch.randn((M, K), generator=gen).to(torch.float8_e4m3fn)
        b = torch.randn((K, N), generator=gen).to(torch.float8_e4m3fn)
        arrays[f"s{sid}_a"] = a[:8].view(torch.uint8).numpy()
        arrays[f"s{sid}_b"] = b[:, :8].view(torch.uint8).numpy()
        shapes.append(dict(sid=sid, M=M, N=N, K=K))
        A = a.to(dev)
        B = b.t().contiguous().to(dev).t()
        one = torch.tensor(1.0, device=dev)
        for fast in (False, True):
            o = torch._scaled_mm(A, B, one, one, out_dtype=torch.float32, use_fast_accum=fast)
            cid = len(cases)
            arrays[f"c{cid}_out_bits"] = o[:8, :8].contiguous().cpu().view(torch.int32).numpy()
            cases.append(dict(id=cid, sid=sid, M=M, N=N, K=K, fast_accum=fast))
np.savez_compressed(f"{OUT}/splitk.npz", **arrays)
json.dump(dict(gpu=torch.cuda.get_device_name(), torch=torch.__version__, cuda=torch.version.cuda,
               cases=cases), open(f"{OUT}/splitk.json", "w"), indent=1)
print("ok", len(cases))
