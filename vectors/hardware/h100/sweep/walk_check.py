"""The walks found on the sweep's hashed operands, rechecked on the GPU with operands torch drew.

PYTHONPATH=. python vectors/hardware/h100/sweep/walk_check.py
For the kernel families whose walks were found from the sweep's 8×8 samples (gemmSN lanes for
M ≤ 8, gemvx threads for M = 1, stream-K pieces for TF32 and FP16 accumulation): GEMMs at
shapes the shipped rule has recorded (LLM layers at decode token counts, stream-K shapes), on
Gaussian operands (and a heavy-tailed set: Gaussian × 2^uniform(-20, 20)), every output
column of the first and last rows and 64 spread rows × columns compared bit for bit with
lowbit.matmul under the preset (the whole GEMM's M, N, K).  Prints, per path and shape, the
kernel torch ran, mismatches / compared, or lowbit's refusal.
"""
import numpy as np
import torch
from torch.profiler import ProfilerActivity, profile

import lowbit

CASES = {
    "fp32": [(1, 4096, 4096), (4, 4096, 14336), (7, 14336, 4096), (8, 1024, 4096), (2, 11008, 4096),
             (1, 8192, 28672), (3, 3584, 18944)],
    "tf32": [(1, 4096, 4096), (1, 14336, 4096), (256, 1536, 14336), (64, 4096, 4096), (32, 1024, 8192)],
    "bf16-f32": [(1, 4096, 4096), (4, 4096, 14336), (7, 14336, 4096), (8, 1024, 4096), (2, 11008, 4096)],
    "fp16-f32": [(1, 4096, 4096), (4, 4096, 14336), (8, 1024, 4096)],
    "fp16-acc16": [(1, 4096, 4096), (4, 4096, 14336), (7, 14336, 4096), (128, 1024, 4096), (64, 4096, 4096)],
}
CALL = {"fp32": ("h100-fp32", {}, "float32", "float32"), "tf32": ("h100-tf32", {}, "float32", "float32"),
        "bf16-f32": ("h100-bf16", {}, "bfloat16", "float32"), "fp16-f32": ("h100-fp16", {}, "float16", "float32"),
        "fp16-acc16": ("h100-fp16", {"acc": "float16"}, "float16", "float16")}


def run(path, a, b):
    m = torch.backends.cuda.matmul
    m.allow_tf32 = path == "tf32"
    m.allow_fp16_accumulation = path == "fp16-acc16"
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        c = torch.mm(a, b, out_dtype=torch.float32) if path in ("bf16-f32", "fp16-f32") else torch.matmul(a, b)
        torch.cuda.synchronize()
    m.allow_tf32 = m.allow_fp16_accumulation = False
    names = [e.name for e in prof.events() if e.device_type.name == "CUDA"]
    return c, [n for n in names if "gemm" in n.lower() or "gemv" in n.lower() or "nvjet" in n][:1]


def bits(t):
    t = t.cpu()
    return (t.view(torch.int32).numpy().view(np.uint32) if t.dtype == torch.float32
            else t.view(torch.int16).numpy().view(np.uint16).astype(np.uint32))


def main():
    print(torch.__version__, torch.cuda.get_device_name(), "CUDA", torch.version.cuda)
    for path, shapes in CASES.items():
        preset, knobs, fmt, out = CALL[path]
        dt = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[fmt]
        for M, N, K in shapes:
            for dist in ("gauss", "heavy"):
                g = torch.Generator(device="cuda").manual_seed(M * 7919 + N + K)
                a = torch.randn(M, K, device="cuda", generator=g)
                b = torch.randn(K, N, device="cuda", generator=g)
                if dist == "heavy":
                    a = a * torch.exp2(torch.randint(-20, 21, a.shape, device="cuda", generator=g).float())
                    b = b * torch.exp2(torch.randint(-20, 21, b.shape, device="cuda", generator=g).float())
                    if fmt == "float16":
                        a, b = a.clamp(-6e4, 6e4), b.clamp(-6e4, 6e4)
                a, b = a.to(dt), b.to(dt)
                c, kernel = run(path, a, b)
                rows = np.unique(np.r_[0, M - 1, np.linspace(0, M - 1, 64).round()].astype(int))
                cols = np.unique(np.linspace(0, N - 1, 64).round().astype(int)) if M > 8 else np.arange(N)
                ia, ib = bits(a)[rows], bits(b)[:, cols]
                want = bits(c)[np.ix_(rows, cols)]
                try:
                    acc = lowbit.mac.accumulator(preset, **knobs)
                    got = np.asarray(lowbit.matmul(ia, ib, fmt, fmt, accumulator=acc, out_dtype=out, M=M, N=N, K=K))
                    got = got.view(np.uint32) if out == "float32" else got.view(np.uint16).astype(np.uint32)
                    res = f"{int((got != want).sum())} / {want.size} mismatches"
                except (ValueError, LookupError) as err:
                    res = f"refused: {str(err)[:150]}"
                try:
                    prov = lowbit.mac.provenance(preset, M, N, K, out_dtype=out, **knobs)[:60]
                except (ValueError, LookupError) as err:
                    prov = str(err)[:60]
                print(f"{path} {M}x{N}x{K} {dist}: {res} | {kernel[0][:70] if kernel else '?'} | {prov}", flush=True)


if __name__ == "__main__":
    main()
