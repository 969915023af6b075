"""Encode/decode throughput of lowbit vs ml_dtypes' astype, measured in the same run.

Run:  python benchmarks/bench_codec.py [--n 10000000] [--repeat 5]

Prints, for float32 → E4M3, E5M2, E2M1 and E8M0 (and back), the best-of-N time of each and
the ratio lowbit / ml_dtypes in elements per second (> 1.0 means lowbit is faster).
``encode`` is what a float32 array takes (the exact table path for targets of at most 7
significand bits); ``encode*`` forces the bit-field kernel itself (float64 input of the
same values, which has no table path) against ml_dtypes' float64 cast.  Where gfloat is
installed, its ``encode_ndarray(round_ndarray(...))`` is timed on 200,000 elements.
Timings on a shared machine are noisy: compare ratios from one run, never absolute numbers
across runs.
"""

from __future__ import annotations

import argparse
import os
import time

import ml_dtypes
import numpy as np

import lowbit
from _timing import best_of  # benchmarks/_timing.py, beside this script

FORMATS = ("float8_e4m3fn", "float8_e5m2", "float4_e2m1fn", "float8_e8m0fnu")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    # Values spread over every format's range, with a sprinkle of specials.
    x = (rng.standard_normal(args.n) * np.exp2(rng.integers(-12, 12, args.n))).astype(np.float32)
    x[:: 1001] = np.nan
    x[1:: 1003] = np.inf
    print(f"# n={args.n:,} float32 elements, best of {args.repeat}, {os.cpu_count()} cores")
    print(f"{'format':<16} {'op':<7} {'ml_dtypes M/s':>14} {'lowbit M/s':>11} {'ratio':>6}")
    for name in FORMATS:
        dt = np.dtype(getattr(ml_dtypes, name))
        lowbit.encode(x[:1000], name, profile="ml_dtypes")  # compile / load cache outside timing
        with np.errstate(all="ignore"):
            t_ref = best_of(lambda: x.astype(dt), args.repeat)
        t_lb = best_of(lambda: lowbit.encode(x, name, profile="ml_dtypes"), args.repeat)
        print(f"{name:<16} {'encode':<7} {args.n / t_ref / 1e6:14.1f} {args.n / t_lb / 1e6:11.1f} {t_ref / t_lb:6.2f}")
        x64 = x.astype(np.float64)
        lowbit.encode(x64[:1000], name, profile="ml_dtypes")
        with np.errstate(all="ignore"):
            t_ref = best_of(lambda: x64.astype(dt), args.repeat)
        t_lb = best_of(lambda: lowbit.encode(x64, name, profile="ml_dtypes"), args.repeat)
        print(f"{name:<16} {'encode*':<7} {args.n / t_ref / 1e6:14.1f} {args.n / t_lb / 1e6:11.1f} {t_ref / t_lb:6.2f}")
        codes = lowbit.encode(x, name, profile="ml_dtypes")
        typed = codes.view(dt)
        lowbit.decode(codes[:10], name, dtype=np.float32)
        t_ref = best_of(lambda: typed.astype(np.float32), args.repeat)
        t_lb = best_of(lambda: lowbit.decode(codes, name, dtype=np.float32), args.repeat)
        print(f"{name:<16} {'decode':<7} {args.n / t_ref / 1e6:14.1f} {args.n / t_lb / 1e6:11.1f} {t_ref / t_lb:6.2f}")
    _gfloat_rates(x[:200_000])
    return 0


def _gfloat_rates(x: np.ndarray) -> None:
    try:
        from gfloat import RoundMode, encode_ndarray, round_ndarray
        from gfloat.formats import format_info_ocp_e4m3
    except ImportError:
        print("# gfloat not installed: no gfloat comparison")
        return
    fi = format_info_ocp_e4m3
    x64 = x.astype(np.float64)
    x64 = x64[np.isfinite(x64)]
    t_g = best_of(lambda: encode_ndarray(fi, round_ndarray(fi, x64, RoundMode.TiesToEven, sat=True)), 1)
    t_lb = best_of(lambda: lowbit.encode(x64, "float8_e4m3fn", overflow="saturate"), 3)
    print(f"{'float8_e4m3fn':<16} {'gfloat':<7} {x64.size / t_g / 1e6:14.1f} {x64.size / t_lb / 1e6:11.1f} "
          f"{t_g / t_lb:6.0f}   (gfloat in the ml_dtypes column; float64 input, bit-field kernel)")


if __name__ == "__main__":
    raise SystemExit(main())
