"""Is cuBLAS's output at a shape the same on every run?  Each shape of repeat_shapes.json run
RUNS times on the sweep's operands (lowbit.mac.sweep.operand_codes); per shape the number of
distinct outputs (whole C) and the 8×8 samples of each.

PYTHONPATH=. python vectors/hardware/h100/sweep/repeat.py OUT.json [RUNS]
Why: the float32 sm80 xmma FFMA kernels with split-K in grid z and no reduction kernel (serial
split-K) reproduce the interleaved walk at most shapes but not all; an order that changes from
run to run (atomics) would say why.
"""
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import torch

from lowbit.mac import sweep


def main():
    out, runs = Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 50
    todo = json.loads((Path(__file__).parent / "repeat_shapes.json").read_text())
    result = {"gpu": torch.cuda.get_device_name(0), "torch": torch.__version__, "runs": runs, "paths": {}}
    for path, shapes in todo.items():
        fmt = sweep.PATHS[path][0]
        set_flags, run = sweep._call(path, torch)
        set_flags()
        rows_out = []
        for M, N, K in shapes:
            a = sweep._torch_codes(M * K, sweep.SEED_A, fmt, torch).view(M, K)
            b = sweep._torch_codes(K * N, sweep.SEED_B, fmt, torch).view(K, N)
            seen = {}
            for _ in range(runs):
                c = run(a, b)
                bits = sweep._bits(c, torch)
                h = hashlib.sha1(bits.tobytes()).hexdigest()
                if h not in seen:
                    r, cc = sweep.sample_index(M), sweep.sample_index(N)
                    seen[h] = {"count": 0, "bits": bits[np.ix_(r, cc)].reshape(-1).tolist()}
                seen[h]["count"] += 1
            rows_out.append({"shape": [M, N, K], "distinct": len(seen), "outcomes": list(seen.values())})
            print(path, M, N, K, "distinct outputs:", len(seen), [v["count"] for v in seen.values()], flush=True)
        result["paths"][path] = rows_out
    out.write_text(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
