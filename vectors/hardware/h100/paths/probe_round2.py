"""Round 2 on the H100: which kernels cuBLAS picks per shape, and the code Triton emits.

python3 probe_round2.py --out DIR  ->  DIR/kernels.json (cuBLAS kernel names per path and
shape, read with torch.profiler) and DIR/triton_ptx.json (the mma / wgmma / cvt / add lines
of the PTX Triton emits for the recorded tl.dot variants, and the whole PTX of the FP8
max_num_imprecise_acc=0 kernel).
"""
import argparse
import json
import os
import re
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import probe_paths as P  # noqa: E402


def kernel_names(fn):
    from torch.profiler import ProfilerActivity, profile
    fn()
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        fn()
        torch.cuda.synchronize()
    return sorted({e.name for e in prof.events() if e.device_type.name == "CUDA"})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    res = {}
    shapes = [(64, 64, 16), (64, 64, 64), (64, 64, 256), (64, 64, 1000), (64, 64, 4096),
              (1024, 1024, 1024), (1024, 1024, 4096)]
    for M, N, K in shapes:
        for name, dt in (("f16", torch.float16), ("bf16", torch.bfloat16), ("f32", torch.float32)):
            a = torch.randn(M, K, device="cuda").to(dt)
            b = torch.randn(K, N, device="cuda").to(dt)
            variants = {}
            if dt == torch.float32:
                variants["tf32"] = lambda: P.torch_mm(a, b, tf32=True)
                variants["fp32"] = lambda: P.torch_mm(a, b)
            else:
                variants["matmul"] = lambda: P.torch_mm(a, b)
                variants["out_f32"] = lambda: P.torch_mm_out32(a, b)
                if dt == torch.float16:
                    variants["fp16acc"] = lambda: P.torch_mm(a, b, fp16acc=True)
            for v, fn in variants.items():
                try:
                    res[f"{name}_{v}_{M}x{N}x{K}"] = kernel_names(fn)
                except Exception as e:  # noqa: BLE001
                    res[f"{name}_{v}_{M}x{N}x{K}"] = f"error: {e}"[:300]
    with open(os.path.join(args.out, "kernels.json"), "w") as f:
        json.dump(res, f, indent=1)
    print(json.dumps(res)[:3000], flush=True)

    ptx = {}
    k = P.triton_kernel()
    M = N = 64
    K = 128
    variants = {
        "e4m3_imp0_bk32": (torch.float8_e4m3fn, dict(BK=32, MODE=3, IMP=0)),
        "e4m3_default_bk64": (torch.float8_e4m3fn, dict(BK=64, MODE=0, IMP=0)),
        "f16_acc32_bk32": (torch.float16, dict(BK=32, MODE=0, IMP=0)),
        "f16_acc16_bk32": (torch.float16, dict(BK=32, MODE=2, IMP=0)),
        "f32_tf32_bk32": (torch.float32, dict(BK=32, MODE=1, IMP=0, PREC="tf32")),
        "f32_tf32x3_bk32": (torch.float32, dict(BK=32, MODE=1, IMP=0, PREC="tf32x3")),
        "f32_ieee_bk32": (torch.float32, dict(BK=32, MODE=1, IMP=0, PREC="ieee")),
    }
    pat = re.compile(r"(wgmma|mma\.|cvt\.|add\.f32|add\.rn|fma\.|sub\.f32)")
    for name, (dt, kw) in variants.items():
        try:
            a = torch.randn(M, K, device="cuda").to(dt)
            b = torch.randn(K, N, device="cuda").to(dt)
            c = torch.empty(M, N, device="cuda", dtype=torch.float16 if kw["MODE"] == 2 else torch.float32)
            prec = kw.pop("PREC", "tf32")
            ck = k[(1, 1)](a, b, c, M, N, K, BM=64, BN=64, PREC=prec, num_warps=4, **kw)
            text = ck.asm["ptx"]
            lines = [ln.strip() for ln in text.splitlines() if pat.search(ln)]
            counts = {}
            for ln in lines:
                op = ln.split()[0]
                counts[op] = counts.get(op, 0) + 1
            ptx[name] = {"op_counts": counts, "first_lines": lines[:80]}
            if name == "e4m3_imp0_bk32":
                ptx[name]["ptx"] = text
        except Exception as e:  # noqa: BLE001
            ptx[name] = f"error: {type(e).__name__}: {e}"[:400]
    with open(os.path.join(args.out, "triton_ptx.json"), "w") as f:
        json.dump(ptx, f, indent=1)
    for name, v in ptx.items():
        print(name, v["op_counts"] if isinstance(v, dict) else v, flush=True)


if __name__ == "__main__":
    main()
