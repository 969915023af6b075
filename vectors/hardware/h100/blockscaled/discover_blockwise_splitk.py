"""Read the split-K structure of cuBLASLt's blockwise FP8 kernel at 128×256×8192 with
lowbit.mac.discover: with every scale 1.0 the per-128 fma promotions are float32 additions,
so the segments and their reduction tree that discovery finds are the kernel's own (slices,
per-128 promotions inside them, the order the slices are reduced in).

Run on the GPU machine from the repository root:  PYTHONPATH=. python <this file> OUTDIR
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

M, N, K = 128, 256, 8192


def gemm(A, B):
    import torch

    from lowbit.mac.gemms import _result, _to_torch

    a = _to_torch(A, "float8_e4m3fn")
    b = _to_torch(B, "float8_e4m3fn")
    sa = torch.ones((K // 128, M), device="cuda").t()            # (M, K/128), column-major
    sb = torch.ones((N // 128, K // 128), device="cuda").t()     # (K/128, N/128), column-major
    return _result(torch._scaled_mm(a, b.t().contiguous().t(), sa, sb, out_dtype=torch.float32,
                                    use_fast_accum=False))


def main(out: str) -> int:
    from lowbit.mac import discover, save

    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        acc, rep = discover(gemm, "float8_e4m3fn", "float8_e4m3fn", M=M, N=N, K=K, report=True, device="cuda")
        save(acc, out_dir / "blockwise_splitk_128x256x8192.json", calls=rep.calls, seconds=round(rep.seconds, 2),
             log=rep.lines)
        text = str(rep) + f"\naccumulator: {acc!r}\n"
    except Exception as err:  # noqa: BLE001 - the log keeps what was found
        text = f"FAILED: {err}\n"
    (out_dir / "blockwise_splitk_128x256x8192.log").write_text(text)
    print(text[-3000:])
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1] if len(sys.argv) > 1 else "out"))
