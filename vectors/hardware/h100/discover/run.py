"""Re-derive H100/H200 GEMM accumulators from probes alone with lowbit.mac.discover (no tables).

Run on the GPU machine from the repository root:  PYTHONPATH=. python vectors/hardware/h100/discover/run.py OUT
Writes OUT/<name>.json (the accumulator, lowbit.mac.load) and OUT/<name>.log (what each stage
found, calls, seconds) for each GEMM below, with the GPU and library versions in the JSON notes.
tests/test_discover_h100.py checks each saved accumulator against the recorded GEMM outputs of
vectors/hardware/h100/ at the same shape (data discovery never saw).
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from pathlib import Path

import numpy as np

import lowbit
from lowbit.mac import discover, save
from lowbit.mac.gemms import build

RUNS = [  # name, GEMM, formats, knobs, (M, N, K)
    ("scaled_mm_fast_64x64x16384", "torch._scaled_mm", ("float8_e4m3fn", "float8_e4m3fn"), {"fast_accum": True},
     (64, 64, 16384)),
    ("scaled_mm_slow_64x64x4096", "torch._scaled_mm", ("float8_e4m3fn", "float8_e4m3fn"), {"fast_accum": False},
     (64, 64, 4096)),
    ("matmul_bf16_64x64x4096", "torch.matmul", ("bfloat16", "bfloat16"), {}, (64, 64, 4096)),
    ("triton_dot_f16_bk64_64x64x1000", "triton.dot", ("float16", "float16"), {"block_k": 64}, (64, 64, 1000)),
    ("matmul_tf32_64x64x4096", "torch.matmul", ("float32", "float32"), {"allow_tf32": True}, (64, 64, 4096)),
]


def env() -> dict:
    import torch

    out = {"gpu": torch.cuda.get_device_name(0), "torch": torch.__version__, "cuda": torch.version.cuda,
           "lowbit": lowbit.__version__}
    try:
        out["cublaslt"] = int(torch._C._cuda_getCompiledVersion())
    except Exception:  # noqa: BLE001 - informational only
        pass
    try:
        import triton

        out["triton"] = triton.__version__
    except ImportError:
        pass
    try:
        import subprocess

        out["driver"] = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                                       capture_output=True, text=True).stdout.strip()
    except OSError:
        pass
    return out


def main(out_dir: str) -> int:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    info = env()
    print(json.dumps(info), flush=True)
    only = sys.argv[2:]
    for name, op, (fa, fb), knobs, (M, N, K) in RUNS:
        if only and name not in only:
            continue
        t = time.perf_counter()
        try:
            acc, rep = discover(build(op, fa, fb, **knobs), fa, fb, M=M, N=N, K=K, report=True)
        except Exception as err:  # noqa: BLE001 - the log says what failed
            (out / f"{name}.log").write_text(f"FAILED after {time.perf_counter() - t:.1f} s: {err}\n"
                                             + traceback.format_exc())
            print(f"{name}: FAILED {err}", flush=True)
            continue
        save(acc, out / f"{name}.json", gemm=op, params=knobs, formats=[fa, fb], shape=[M, N, K], calls=rep.calls,
             seconds=round(rep.seconds, 2), env=info, log=rep.lines)
        (out / f"{name}.log").write_text(str(rep) + f"\naccumulator: {acc!r}\n")
        print(f"{name}: {rep.calls} calls, {rep.seconds:.1f} s: {acc!r}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1] if len(sys.argv) > 1 else "discover_out"))
