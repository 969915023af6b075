"""Probe: does internal::gemvx::kernel<int,true> with block (64, 2) (bf16 / fp16 -> float32, M = 1,
split-K + reduce) cut K the same way at one shape whatever ran before it and wherever its operands
and output live?  The sweeps saw two lane runs under this one kernel name (threads y=0, 1 taking
k one by one, or in runs of 64), not a function of M, N, K found on the recorded shapes.

PYTHONPATH=. python vectors/hardware/h100/sweep/gemvx_probe.py OUT.json   (recorded: probes/gemvx_probe.json)
Each shape runs in several settings; OUT.json keeps the kernels and the sampled output bits
(sweep.sample_index columns) per setting; tests/test_cublas_rule.py compares them with both lane runs.
The recorded file's "versions" came from an earlier draft of this script, whose "cublasLt" entry read
torch._C._cuda_getCompiledVersion() (13000: CUDA 13.0, not cuBLASLt): it is renamed "cuda_compiled"
there; the GPU, driver and cuBLASLt are the run12.py records' (meta16.json), taken the same hour.
"""
import json
import sys

import numpy as np
import torch
from torch.profiler import ProfilerActivity, profile

from lowbit.mac import sweep
from lowbit.mac.calibration import gpu_info

SHAPES = {"bf16-f32": [(1, 9216, 6235), (1, 10720, 13714), (1, 13072, 15326), (1, 12650, 12700), (1, 8027, 9936),
                       (1, 6132, 9584)],
          "fp16-f32": [(1, 9216, 6235), (1, 12928, 10190), (1, 4778, 8292)]}


def kernels(fn):
    """fn's result and the names (first 120 characters) of the CUDA kernels it launched."""
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        out = fn()
        torch.cuda.synchronize()
    return out, sorted({e.name[:120] for e in prof.events() if e.device_type.name == "CUDA"})


def main():
    dest = sys.argv[1]
    res = {}
    for path, shapes in SHAPES.items():
        fmt = sweep.PATHS[path][0]
        set_flags, run = sweep._call(path, torch)
        set_flags()
        size_a = max(M * K for M, N, K in shapes)
        size_b = max(K * N for M, N, K in shapes)
        pool_a = sweep._torch_codes(size_a, sweep.SEED_A, fmt, torch)
        pool_b = sweep._torch_codes(size_b, sweep.SEED_B, fmt, torch)
        big = torch.ones(1024, 1024, dtype=pool_a.dtype, device="cuda")
        for M, N, K in shapes:
            cols = torch.as_tensor(sweep.sample_index(N), device="cuda")
            a = pool_a[:M * K].view(M, K)
            b = pool_b[:K * N].view(K, N)
            settings = {
                "as_sweep": lambda: run(a, b),
                "again": lambda: run(a, b),
                "after_big_gemm": lambda: (torch.mm(big, big), run(a, b))[1],
                "cloned_operands": lambda: run(a.clone(), b.clone()),
                "output_shifted": lambda: (torch.empty(3 * 1024 * 1024 + 4096, device="cuda"), run(a, b))[1],
                "after_empty_cache": lambda: (torch.cuda.empty_cache(), run(a, b))[1],
                "in_a_loop_x3": lambda: [run(a, b) for _ in range(3)][-1],
            }
            for name, fn in settings.items():
                c, ks = kernels(fn)
                bits = c[0][cols].contiguous().view(torch.int32).cpu().numpy().view(np.uint32).tolist()
                res.setdefault(path, {}).setdefault(f"{M}x{N}x{K}", {})[name] = {"kernels": ks, "bits": bits}
    res["versions"] = gpu_info()  # GPU, SMs and library versions, as the sweeps' meta files keep them
    with open(dest, "w") as f:
        json.dump(res, f)


if __name__ == "__main__":
    main()
