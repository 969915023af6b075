"""lowbit.matmul at LLM layer shapes, every cuBLAS path, CPU or GPU, as a ratio to numpy.matmul.

Run:  python benchmarks/bench_llm.py [--shape M N K ...] [--device cpu|cuda] [--repeat 2]

Default shapes: a decode step (M = 16 tokens) and a prefill block of a 4096 -> 14336 MLP
projection (4096×14336×4096 only with --device cuda: on 2 CPU cores it takes minutes a path).
Each path runs as one chain over K (``split_k=1`` / ``slice_k=K``): the speed of the emulation
does not depend on where cuBLAS would cut K.  Reported: seconds and M MAC/s per path, and the
anchor numpy.matmul (float32, BLAS) on the same decoded operands in the same run.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import lowbit
from lowbit.mac import accumulator

PATHS = [  # label, operand format, accumulator
    ("h100-fp8 fast_accum", "float8_e4m3fn", lambda K: accumulator("h100-fp8", fast_accum=True, split_k=1)),
    ("h100-fp8", "float8_e4m3fn", lambda K: accumulator("h100-fp8", split_k=1)),
    ("h100-bf16", "bfloat16", lambda K: accumulator("h100-bf16", split_k=1)),
    ("h100-fp16", "float16", lambda K: accumulator("h100-fp16", split_k=1)),
    ("h100-tf32", "float32", lambda K: accumulator("h100-tf32", slice_k=K, k_tile=32)),
    ("h100-fp32", "float32", lambda K: accumulator("h100-fp32", slice_k=K)),
    ("h100-int8", "int8", lambda K: accumulator("h100-int8")),
]


def operands(fmt, M, N, K, rng):
    x = rng.normal(size=(M, K)).astype(np.float32)
    y = rng.normal(size=(K, N)).astype(np.float32)
    if fmt == "int8":
        return (rng.integers(-128, 128, (M, K)).astype(np.int8), rng.integers(-128, 128, (K, N)).astype(np.int8))
    if fmt == "float32":
        return x.view(np.uint32), y.view(np.uint32)
    return lowbit.encode(x, fmt, overflow="saturate"), lowbit.encode(y, fmt, overflow="saturate")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shape", nargs=3, type=int, action="append", metavar=("M", "N", "K"))
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args(argv)
    shapes = args.shape or ([(16, 14336, 4096)] + ([(4096, 14336, 4096)] if args.device == "cuda" else []))
    rng = np.random.default_rng(0)
    for M, N, K in shapes:
        macs = M * N * K
        x = rng.normal(size=(M, K)).astype(np.float32)
        y = rng.normal(size=(K, N)).astype(np.float32)
        t = time.perf_counter()
        np.matmul(x, y)
        anchor = time.perf_counter() - t
        print(f"{M}x{N}x{K} ({macs / 1e9:.2f} G MAC) on {args.device}; numpy.matmul float32: {anchor:.3f} s")
        for label, fmt, make in PATHS:
            if args.device == "cuda" and fmt == "int8":
                continue  # exact integer sums: CPU only
            a, b = operands(fmt, M, N, K, rng)
            acc = make(K)
            lowbit.matmul(a[:4, :64], b[:64, :4], fmt, fmt, accumulator=make(64), device=args.device)  # compile
            best = float("inf")
            for _ in range(args.repeat):
                t = time.perf_counter()
                lowbit.matmul(a, b, fmt, fmt, accumulator=acc, device=args.device)
                best = min(best, time.perf_counter() - t)
            print(f"  {label:22s} {best:8.3f} s  {macs / best / 1e6:10.1f} M MAC/s  ({best / anchor:7.1f} x numpy.matmul)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
