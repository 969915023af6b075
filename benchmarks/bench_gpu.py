"""GPU emulation rate of ``h100-fp8`` and the time of a bit-exact check of a full-size FP8 GEMM.

Run on a machine with a CUDA GPU (and torch with CUDA for the hardware side):

    python benchmarks/bench_gpu.py [--sizes 1024 4096] [--json out.json]
    python benchmarks/bench_gpu.py --cpu     # CPU rate of each H100 path preset (no GPU needed)

For each size S: random FP8 E4M3 operands (Gaussian, cast by torch), the hardware's
``torch._scaled_mm`` result (cuBLASLt, fast_accum False, float32 output), lowbit's GPU
emulation of the same product (:func:`lowbit.mac.cuda.matmul`, preset ``h100-fp8``), the
number of output bits that differ, the emulation time (first call includes compilation;
reported separately) and the rate in multiply-accumulates per second.  The same
1024-product on the CPU path (lowbit.matmul) gives the GPU/CPU ratio in the same run.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np


def cpu_rates(M=256, K=4096, N=256):
    """CPU (this machine) rate of each H100 path preset on an M×K×N product, against
    numpy.matmul on the same decoded operands in the same run (the anchor)."""
    import lowbit
    from lowbit.mac import h100_paths as P

    rng = np.random.default_rng(0)
    a32 = rng.normal(size=(M, K)).astype(np.float32)
    b32 = rng.normal(size=(K, N)).astype(np.float32)
    t = time.perf_counter()
    np.matmul(a32, b32)
    anchor = time.perf_counter() - t
    rows = []
    for fmt, name, acc in (("float16", "h100-fp16", P.h100_fp16(split_k=1)), ("bfloat16", "h100-bf16", P.h100_bf16(split_k=1)),
                           ("float16", "h100-fp16-triton acc=float16", P.h100_fp16_triton(acc="float16"))):
        import ml_dtypes
        dt = np.float16 if fmt == "float16" else ml_dtypes.bfloat16
        a = a32.astype(dt).view(np.uint16)
        b = b32.astype(dt).view(np.uint16)
        lowbit.matmul(a[:8, :64], b[:64, :8], fmt, fmt, accumulator=acc)  # compile
        t = time.perf_counter()
        lowbit.matmul(a, b, fmt, fmt, accumulator=acc)
        rows.append((name, time.perf_counter() - t))
    a_bits, b_bits = a32.view(np.uint32), b32.view(np.uint32)
    for prec in ("tf32", "tf32x3", "ieee"):
        acc = P.h100_tf32_triton(input_precision=prec)
        lowbit.matmul(a_bits[:8, :64], b_bits[:64, :8], "float32", "float32", accumulator=acc)  # compile
        t = time.perf_counter()
        lowbit.matmul(a_bits, b_bits, "float32", "float32", accumulator=acc)
        rows.append((f"h100-tf32-triton {prec}", time.perf_counter() - t))
    print(f"CPU, {M}x{K}x{N}: numpy.matmul float32 {anchor:.4f} s")
    for name, sec in rows:
        print(f"  {name:32s} {sec:7.3f} s  {M * K * N / sec / 1e6:8.1f} M MAC/s  {sec / anchor:8.0f} x numpy")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1024, 4096])
    ap.add_argument("--cpu-size", type=int, default=256)
    ap.add_argument("--json")
    ap.add_argument("--budget", type=float, default=240.0, help="skip a size estimated to take longer (s)")
    ap.add_argument("--fast-accum", action="store_true", help="use_fast_accum=True (one chain over K)")
    ap.add_argument("--cpu", action="store_true", help="CPU rates of the H100 path presets only")
    args = ap.parse_args()
    if args.cpu:
        cpu_rates()
        return

    import torch

    import lowbit
    from lowbit.mac import accumulator
    from lowbit.mac import cuda as C

    acc = accumulator("h100-fp8", fast_accum=args.fast_accum, split_k=1)  # one chain: 4096³ matched _scaled_mm unsplit (stop 10)
    report = {"gpu": torch.cuda.get_device_name(0), "preset": f"h100-fp8 fast_accum={args.fast_accum}", "runs": []}
    # warm-up / compile on a small product
    g = torch.Generator().manual_seed(0)
    t = time.perf_counter()
    a = torch.randn(64, 128, generator=g).to(torch.float8_e4m3fn).view(torch.uint8).numpy()
    b = torch.randn(128, 64, generator=g).to(torch.float8_e4m3fn).view(torch.uint8).numpy()
    C.matmul(a, b, "float8_e4m3fn", "float8_e4m3fn", accumulator=acc)
    report["compile_s"] = round(time.perf_counter() - t, 2)
    print("compile", report["compile_s"], flush=True)
    per_mac = None
    for S in [args.cpu_size] + args.sizes:
        if per_mac is not None and per_mac * S ** 3 > args.budget:
            report["runs"].append({"size": S, "skipped": f"estimated {per_mac * S ** 3:.0f} s > budget {args.budget} s"})
            print(report["runs"][-1], flush=True)
            continue
        a8 = torch.randn(S, S, generator=g).to(torch.float8_e4m3fn)
        b8 = torch.randn(S, S, generator=g).to(torch.float8_e4m3fn)
        one = torch.tensor(1.0, device="cuda")
        hw = torch._scaled_mm(a8.cuda(), b8.cuda().t().contiguous().t(), scale_a=one, scale_b=one,
                              out_dtype=torch.float32, use_fast_accum=args.fast_accum)
        hw = hw.cpu().view(torch.int32).numpy().view(np.uint32)
        a = a8.view(torch.uint8).numpy()
        b = b8.view(torch.uint8).numpy()
        t = time.perf_counter()
        em = C.matmul(a, b, "float8_e4m3fn", "float8_e4m3fn", accumulator=acc)
        gpu_s = time.perf_counter() - t
        bad = int(np.count_nonzero(em.view(np.uint32) != hw))
        per_mac = gpu_s / S ** 3
        run = {"size": S, "gpu_check_s": round(gpu_s, 3), "gpu_mac_per_s": S ** 3 / gpu_s, "mismatching_outputs": bad}
        if S == args.cpu_size:
            t = time.perf_counter()
            cpu = lowbit.matmul(a, b, "float8_e4m3fn", "float8_e4m3fn", accumulator=acc)
            cpu_s = time.perf_counter() - t
            run["cpu_s"] = round(cpu_s, 3)
            run["cpu_mac_per_s"] = S ** 3 / cpu_s
            run["gpu_equals_cpu_bits"] = bool(np.array_equal(cpu.view(np.uint32), em.view(np.uint32)))
        report["runs"].append(run)
        print(json.dumps(run), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
