"""The shipped rule's predictions at shapes in no recording, against the GPU on operands torch drew.

PYTHONPATH=. python vectors/hardware/h100/sweep/predict_check.py
For the first 30 of random_shapes(7, 40) that no table holds (one of them is a grid shape) on the
four float32-output paths,
lowbit.matmul with the preset — the rule's prediction, no calibration — against torch.mm(a, b,
out_dtype=torch.float32) / torch.matmul on Gaussian operands torch drew (not the sweep's hashed
ones): 16 rows × 16 columns spread over C per shape. Prints each shape's mismatches and how the
rule found its schedule, then the count of exact shapes per path.
"""
import numpy as np
import torch

import lowbit
from lowbit.mac import cublas_rule, sweep

PATHS = {"bf16-f32": ("h100-bf16", {}), "fp16-f32": ("h100-fp16", {}), "tf32": ("h100-tf32", {}),
         "fp32": ("h100-fp32", {})}


def check(path, M, N, K, seed=7):
    preset, knobs = PATHS[path]
    g = torch.Generator(device="cuda").manual_seed(seed)
    if path in ("tf32", "fp32"):
        a = torch.randn(M, K, device="cuda", generator=g)
        b = torch.randn(K, N, device="cuda", generator=g)
        torch.backends.cuda.matmul.allow_tf32 = path == "tf32"
        c = torch.matmul(a, b)
        torch.backends.cuda.matmul.allow_tf32 = False
        fmt, view, iview = "float32", np.uint32, torch.int32
    else:
        dt = torch.bfloat16 if path == "bf16-f32" else torch.float16
        a = torch.randn(M, K, device="cuda", generator=g).to(dt)
        b = torch.randn(K, N, device="cuda", generator=g).to(dt)
        c = torch.mm(a, b, out_dtype=torch.float32)
        fmt, view, iview = ("bfloat16" if path == "bf16-f32" else "float16"), np.uint16, torch.int16
    rows = np.unique(np.linspace(0, M - 1, 16).round().astype(int))
    cols = np.unique(np.linspace(0, N - 1, 16).round().astype(int))
    ia = a.cpu().view(iview).numpy().view(view)[rows]
    ib = b.cpu().view(iview).numpy().view(view)[:, cols]
    want = c.cpu().numpy()[np.ix_(rows, cols)].view(np.uint32)
    try:
        got = lowbit.matmul(ia, ib, fmt, fmt, accumulator=lowbit.mac.accumulator(preset, **knobs), M=M, N=N, K=K)
        return int((np.asarray(got).view(np.uint32) != want).sum())
    except ValueError as err:
        return f"error: {str(err)[:120]}"


def main():
    doc = cublas_rule.shipped()
    shapes = [s for s in sweep.random_shapes(7, 40)
              if not any(doc["rules"][p].recorded(*s).size for p in PATHS)][:30]
    for path in PATHS:
        rule, exact, asked = doc["rules"][path], 0, 0
        for M, N, K in shapes:
            assert not rule.recorded(M, N, K).size, (path, M, N, K)
            miss = check(path, M, N, K)
            asked += 1
            exact += miss == 0
            try:
                how = rule.lookup(M, N, K)[3][:110]
            except LookupError as err:
                how = f"refused: {str(err)[:90]}"
            print(f"{path} {M}x{N}x{K}: mismatches {miss} ({how})", flush=True)
        print(f"{path}: {exact} of {asked} shapes exact", flush=True)


if __name__ == "__main__":
    main()
