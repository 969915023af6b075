"""MAC emulation rate of lowbit.matmul (multiply-accumulates per second), in one run.

Run:  python benchmarks/bench_mac.py [--m 256 --k 4096 --n 256] [--repeat 3]

Reports, on an M×K×N product of FP8 E4M3 codes drawn from N(0, 1):
- ``h100-fp8`` (fast_accum False and True), ``h100-fp8-triton`` with max_num_imprecise_acc=0
  (the mma.sync float16 path) and ``exact``: MAC/s (goal for h100-fp8 on the
  2-core machine: >= 50 M MAC/s);
- ``ieee`` float32 sequential: MAC/s, and its ratio to numpy.matmul (float32, BLAS) on the
  same decoded operands (numpy.matmul does not round like any named order: it is the
  speed anchor, not a reference);
- every other preset of ``lowbit.mac.PRESETS`` on operands of a format it covers (the same
  N(0, 1) values cast to float16 / bfloat16 / float32, INT8 codes drawn uniformly): MAC/s
  (``--no-presets`` skips them).
Each number is the best of ``--repeat`` runs after one warm-up (compilation or cache load).
Timings on a shared machine are noisy: compare ratios from one run.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

import lowbit
from _timing import best_of  # benchmarks/_timing.py, beside this script


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--m", type=int, default=256)
    ap.add_argument("--k", type=int, default=4096)
    ap.add_argument("--n", type=int, default=256)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-presets", action="store_true", help="only the FP8 presets, exact and ieee")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    a = lowbit.encode(rng.normal(size=(args.m, args.k)), "float8_e4m3fn")
    b = lowbit.encode(rng.normal(size=(args.k, args.n)), "float8_e4m3fn")
    macs = args.m * args.k * args.n
    import numba

    print(f"lowbit.matmul on {args.m}x{args.k}x{args.n} e4m3 (N(0,1)), {macs / 1e6:.0f} M MAC, "
          f"{numba.get_num_threads()} Numba threads, {os.cpu_count()} CPUs")
    rows = []
    # split_k=1: one chain over K (cuBLASLt's own split for this shape is not recorded)
    for label, acc in [("h100-fp8 fast_accum=False", lowbit.mac.accumulator("h100-fp8", fast_accum=False, split_k=1)),
                       ("h100-fp8 fast_accum=True", lowbit.mac.accumulator("h100-fp8", fast_accum=True, split_k=1)),
                       ("h100-fp8-triton IMP=0", lowbit.mac.accumulator("h100-fp8-triton", max_num_imprecise_acc=0)),
                       ("exact", "exact"),
                       ("ieee float32 sequential", "ieee")]:
        t = best_of(lambda acc=acc: lowbit.matmul(a, b, "e4m3", "e4m3", accumulator=acc), args.repeat)
        rows.append((label, t))
        print(f"  {label:28s} {t:8.3f} s  {macs / t / 1e6:9.1f} M MAC/s")
    va = lowbit.decode(a, "e4m3", dtype=np.float32)
    vb = lowbit.decode(b, "e4m3", dtype=np.float32)
    t_np = best_of(lambda: np.matmul(va, vb), args.repeat)
    print(f"  {'numpy.matmul float32 (BLAS)':28s} {t_np:8.3f} s  {macs / t_np / 1e6:9.1f} M MAC/s")
    t_ieee = rows[-1][1]
    print(f"ratio ieee / numpy.matmul (rate): {t_np / t_ieee:.4f}")
    h = rows[0][1]
    print(f"h100-fp8 goal 50 M MAC/s: {'met' if macs / h >= 50e6 else 'NOT met'} ({macs / h / 1e6:.1f})")
    if not args.no_presets:
        preset_rates(rng, args, macs)
    return 0


def preset_rates(rng, args, macs):
    """The presets of other input formats, on the same shape (the FP8 ones are above)."""
    import ml_dtypes

    x = rng.normal(size=(args.m, args.k)).astype(np.float32)
    y = rng.normal(size=(args.k, args.n)).astype(np.float32)
    ops = {"float16": (x.astype(np.float16).view(np.uint16), y.astype(np.float16).view(np.uint16)),
           "bfloat16": (x.astype(ml_dtypes.bfloat16).view(np.uint16), y.astype(ml_dtypes.bfloat16).view(np.uint16)),
           "float32": (x.view(np.uint32), y.view(np.uint32)),
           "int8": (rng.integers(-128, 128, (args.m, args.k)).astype(np.int8),
                    rng.integers(-128, 128, (args.k, args.n)).astype(np.int8))}
    acc = lowbit.mac.accumulator
    runs = [("h100-fp16 split_k=1", "float16", acc("h100-fp16", split_k=1)),
            ("h100-bf16 split_k=1", "bfloat16", acc("h100-bf16", split_k=1)),
            ("h100-fp16 acc=float16 (1)", "float16", acc("h100-fp16", acc="float16", slice_k=192, k_tile=128)),
            ("h100-fp16-triton acc=float16", "float16", acc("h100-fp16-triton", acc="float16")),
            ("h100-bf16-triton", "bfloat16", acc("h100-bf16-triton")),
            ("h100-tf32 (1)", "float32", acc("h100-tf32", slice_k=128, k_tile=16)),
            ("h100-tf32-triton tf32", "float32", acc("h100-tf32-triton")),
            ("h100-tf32-triton tf32x3", "float32", acc("h100-tf32-triton", input_precision="tf32x3")),
            ("h100-tf32-triton ieee", "float32", acc("h100-tf32-triton", input_precision="ieee")),
            ("h100-fp32 slice_k=1024", "float32", acc("h100-fp32", slice_k=1024)),
            ("h100-int8", "int8", acc("h100-int8"))]
    print("other presets (same shape; tf32x3 does 3x the tensor-core MACs, counted once; (1): cuBLAS's "
          "64x64x4096 slicing, as the shape's K order is cuBLAS's choice):")
    for label, fmt, a_acc in runs:
        a, b = ops[fmt]
        t = best_of(lambda a=a, b=b, fmt=fmt, a_acc=a_acc: lowbit.matmul(a, b, fmt, fmt, accumulator=a_acc),
                    args.repeat)
        print(f"  {label:28s} {t:8.3f} s  {macs / t / 1e6:9.1f} M MAC/s")


if __name__ == "__main__":
    raise SystemExit(main())
