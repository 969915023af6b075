"""Check: lowbit's stream-K plans against every output of the GPU's GEMM (not 8 × 8 samples).

PYTHONPATH=. python vectors/hardware/h100/sweep/streamk_check.py OUT.json [SECONDS [PATH]]
(recorded: probes/streamk_check_<path>.json).  At the shapes of streamk_check_shapes.json (TF32 and
FP16-accumulating stream-K launches of fewer CTAs than tiles: table rows and held-out LLM layers
the rule predicts to be one): torch.matmul on the sweep's hashed operands, the
kernels it launched, and lowbit.matmul with the preset on the same whole operands (device="cuda",
bit-identical to the CPU path): how many outputs differ, in which output tiles, and the rule's
provenance of the shape.
"""
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.profiler import ProfilerActivity, profile

import lowbit
from lowbit.mac import cublas_rule as cr
from lowbit.mac import sweep
from lowbit.mac.calibration import gpu_info

HERE = Path(__file__).resolve().parent
# per path: "predicted": every layer of the held-out LLM set (fit.py's llm_held_out) the shipped rule
# predicts to be such a launch (M·N·K ≤ 4e10); "recorded": 20 table rows of such launches whose pieces
# their samples showed; "modelled": 40 whose pieces the rule models (not sampled) — rows drawn with
# numpy's default_rng(25) among those of M·N·K ≤ 2e10 (stop 25, from the rule as shipped then).
SHAPES = json.loads((HERE / "streamk_check_shapes.json").read_text())
PRESET = {"tf32": ("h100-tf32", {}, "float32"), "fp16-acc16": ("h100-fp16", {"acc": "float16"}, "float16")}


def main():
    dest = sys.argv[1]
    budget = float(sys.argv[2]) if len(sys.argv) > 2 else 480.0  # per path
    out = {"gpu": gpu_info(), "shapes": {}}
    for path, sets in SHAPES.items():
        if len(sys.argv) > 3 and path != sys.argv[3]:
            continue
        t0 = time.time()
        fmt = sweep.PATHS[path][0]
        set_flags, run = sweep._call(path, torch)
        set_flags()
        preset, knobs, odt = PRESET[path]
        acc = lowbit.mac.accumulator(preset, **knobs)
        for kind in ("recorded", "modelled", "predicted"):
            shapes = sets[kind]
            for M, N, K in shapes:
                if time.time() - t0 > budget:
                    break
                a = sweep._torch_codes(M * K, sweep.SEED_A, fmt, torch).view(M, K)
                b = sweep._torch_codes(K * N, sweep.SEED_B, fmt, torch).view(K, N)
                with profile(activities=[ProfilerActivity.CUDA]) as prof:
                    c = run(a, b)
                    torch.cuda.synchronize()
                kernels = sorted({e.name[:160] for e in prof.events() if e.device_type.name == "CUDA"})
                want = sweep._bits(c, torch).reshape(M, N)
                ca, cb = sweep._bits(a, torch).reshape(M, K), sweep._bits(b, torch).reshape(K, N)
                dt = {"float32": np.uint32, "float16": np.uint16}[fmt]
                t = time.time()
                got = np.asarray(lowbit.matmul(ca.astype(dt), cb.astype(dt), fmt, fmt, accumulator=acc, out_dtype=odt,
                                               device="cuda"))
                got = got.view(np.uint32) if odt == "float32" else got.view(np.uint16).astype(np.uint32)
                bad = got != want
                plan = cr.shipped()["rules"][path].lookup(M, N, K)[1]
                tiles = {}
                if isinstance(plan, cr.StreamK):
                    for m, n in zip(*np.nonzero(bad)):
                        k = f"{m // plan.tile_m},{n // plan.tile_n}"
                        tiles[k] = tiles.get(k, 0) + 1
                out["shapes"][f"{path} {M}x{N}x{K}"] = {
                    "kind": kind, "kernels": kernels, "outputs": int(M * N), "differ": int(bad.sum()),
                    "tiles_differing": tiles, "provenance": lowbit.mac.provenance(preset, M, N, K, out_dtype=odt, **knobs),
                    "lowbit_seconds": round(time.time() - t, 1)}
                print(path, kind, (M, N, K), "differ", int(bad.sum()), "of", M * N, round(time.time() - t, 1), "s",
                      flush=True)
                with open(dest, "w") as f:
                    json.dump(out, f, indent=1)
    with open(dest, "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
