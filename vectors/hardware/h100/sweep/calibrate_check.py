"""`lowbit calibrate --sweep --shape` on the GPU, then lowbit.matmul against torch on new operands.

PYTHONPATH=. python vectors/hardware/h100/sweep/calibrate_check.py CACHE_DIR
For shapes in no recording: (1) lowbit.matmul with the shipped rule alone, (2) `lowbit calibrate
--sweep` at those shapes into CACHE_DIR, (3) lowbit.matmul again (the presets read the cache
first) — each against torch.mm(a, b, out_dtype=torch.float32) / torch.matmul on Gaussian
operands torch drew (not the sweep's hashed ones): 16 rows × 16 columns spread over C per shape
(rows= and cols= say which: a stream-K launch of fewer CTAs than tiles cuts some tiles alone;
stop 25: calibrate_check3.log).
"""
import os
import subprocess
import sys

import numpy as np
import torch

SHAPES = [(5, 6144, 10000), (300, 4000, 2500), (1000, 1000, 7000), (48, 2816, 11000), (2, 9000, 5000)]
PATHS = {"bf16-f32": ("h100-bf16", {}, "float32"), "tf32": ("h100-tf32", {}, "float32")}


def check(path, M, N, K, seed=11):
    import lowbit

    preset, knobs, out = PATHS[path]
    g = torch.Generator(device="cuda").manual_seed(seed)
    if path == "tf32":
        a = torch.randn(M, K, device="cuda", generator=g)
        b = torch.randn(K, N, device="cuda", generator=g)
        torch.backends.cuda.matmul.allow_tf32 = True
        c = torch.matmul(a, b)
        torch.backends.cuda.matmul.allow_tf32 = False
        fmt, view = "float32", np.uint32
    else:
        a = torch.randn(M, K, device="cuda", generator=g).bfloat16()
        b = torch.randn(K, N, device="cuda", generator=g).bfloat16()
        c = torch.mm(a, b, out_dtype=torch.float32)
        fmt, view = "bfloat16", np.uint16
    rows = np.unique(np.linspace(0, M - 1, 16).round().astype(int))
    cols = np.unique(np.linspace(0, N - 1, 16).round().astype(int))
    ia = a.cpu().view(torch.int32 if fmt == "float32" else torch.int16).numpy().view(view)[rows]
    ib = b.cpu().view(torch.int32 if fmt == "float32" else torch.int16).numpy().view(view)[:, cols]
    want = c.cpu().numpy()[np.ix_(rows, cols)].view(np.uint32)
    try:
        got = lowbit.matmul(ia, ib, fmt, fmt, accumulator=lowbit.mac.accumulator(preset, **knobs), M=M, N=N, K=K,
                            rows=rows, cols=cols)
        return int((np.asarray(got).view(np.uint32) != want).sum()), want.size
    except ValueError as err:
        return f"error: {str(err)[:160]}", want.size


def main():
    cache = sys.argv[1]
    os.environ["LOWBIT_CACHE"] = cache
    for path in PATHS:
        for M, N, K in SHAPES:
            print(f"shipped rule  {path} {M}x{N}x{K}: mismatches {check(path, M, N, K)}", flush=True)
    cmd = [sys.executable, "-m", "lowbit.cli", "calibrate", "--sweep"]
    for path in PATHS:
        cmd += ["--path", path]
    for s in SHAPES:
        cmd += ["--shape", *map(str, s)]
    print(subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ)).stdout, flush=True)
    from lowbit.mac import cublas_rule

    cublas_rule._RULES.clear()
    for path in PATHS:
        for M, N, K in SHAPES:
            print(f"calibrated    {path} {M}x{N}x{K}: mismatches {check(path, M, N, K)}", flush=True)


if __name__ == "__main__":
    main()
