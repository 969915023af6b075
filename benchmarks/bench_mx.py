"""MXFP8 / MXFP4 (and NVFP4) quantize throughput of lowbit vs torchao on CPU, same run.

Run:  python benchmarks/bench_mx.py [--rows 4096] [--cols 4096] [--repeat 5]

Quantizes a rows × cols float32 tensor (standard normal) in blocks of 32 along the last axis
(16 for NVFP4) and prints the best-of-N time of ``lowbit.mx.quantize`` and of torchao's eager
``to_mx`` (``nvfp4_quantize``) and the ratio torchao time / lowbit time (> 1.0: lowbit faster).
Rows are timed for lowbit's exact spec path (profile None) and for profile="torchao" (which
produces torchao's bits).  Both sides use every core (Numba parallel; torch's intra-op threads).
Timings on a shared machine are noisy: compare ratios from one run only.  Needs torch and
torchao (pip install torch==2.13.0 torchao).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

import lowbit.mx as mx
from _timing import best_of  # benchmarks/_timing.py, beside this script


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=4096)
    ap.add_argument("--cols", type=int, default=4096)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    import torch
    from torchao.prototype.mx_formats.config import ScaleCalculationMode
    from torchao.prototype.mx_formats.mx_tensor import to_mx
    from torchao.prototype.mx_formats.nvfp4_tensor import nvfp4_quantize

    x = np.random.default_rng(0).standard_normal((args.rows, args.cols)).astype(np.float32)
    xt = torch.from_numpy(x)
    n = x.size
    print(f"# {args.rows}x{args.cols} float32, best of {args.repeat}, {os.cpu_count()} cores, "
          f"torch {torch.__version__} ({torch.get_num_threads()} threads)")
    print(f"{'format':<12} {'lowbit profile':<15} {'torchao M/s':>11} {'lowbit M/s':>11} {'ratio':>6}")
    cases = [("mxfp8_e4m3", torch.float8_e4m3fn), ("mxfp4", torch.float4_e2m1fn_x2)]
    for name, dt in cases:
        t_ref = best_of(lambda: to_mx(xt, dt, 32, ScaleCalculationMode.FLOOR), args.repeat)
        for profile in (None, "torchao"):
            mx.quantize(x[:64], name, profile=profile)  # compile / load the cache outside timing
            t_lb = best_of(lambda: mx.quantize(x, name, profile=profile), args.repeat)
            print(f"{name:<12} {str(profile):<15} {n / t_ref / 1e6:11.1f} {n / t_lb / 1e6:11.1f} {t_ref / t_lb:6.2f}")
    t_ref = best_of(lambda: nvfp4_quantize(xt, 16, None), args.repeat)
    for profile in (None, "torchao"):
        mx.quantize(x[:64], "nvfp4", profile=profile)
        t_lb = best_of(lambda: mx.quantize(x, "nvfp4", profile=profile), args.repeat)
        print(f"{'nvfp4':<12} {str(profile):<15} {n / t_ref / 1e6:11.1f} {n / t_lb / 1e6:11.1f} {t_ref / t_lb:6.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
