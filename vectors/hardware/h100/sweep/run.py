"""Record cuBLAS's kernel choice and output samples over a shape sweep, every GEMM path.

PYTHONPATH=. python vectors/hardware/h100/sweep/run.py OUTDIR [PATH ...]
Writes OUTDIR/<path>.json.gz (lowbit.mac.sweep.record's result, kernel names deduplicated) and
OUTDIR/meta.json (GPU, versions, shape sets).  Shapes: the grid (lowbit.mac.sweep.grid_shapes),
2000 random shapes for fitting (random_shapes(1, 2000)), 400 held out (random_shapes(2, 400)) and
the LLM shapes; output samples for all but the grid, where every 8th shape has them.
"""
import json
import sys
import time
from pathlib import Path

from lowbit.mac import calibration, cublas_rule, sweep

ORDER = ("bf16-f32", "bf16", "fp16-f32", "tf32", "fp8-fast", "fp8-slow", "fp32", "fp16-acc16", "bf16-rpr", "fp16",
         "fp16-rpr", "fp8-fast-bf16", "fp8-slow-bf16", "int8")


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    paths = sys.argv[2:] or ORDER
    grid, train, held, llm = sweep.grid_shapes(), sweep.random_shapes(1, 2000), sweep.random_shapes(2, 400), sweep.llm_shapes()
    shapes = grid + train + held + llm
    with_out = {i for i in range(len(shapes)) if i >= len(grid) or i % 8 == 0}
    meta = {**calibration.gpu_info(), "sets": {"grid": [0, len(grid)], "train": [len(grid), len(grid) + len(train)],
            "held_out": [len(grid) + len(train), len(grid) + len(train) + len(held)],
            "llm": [len(shapes) - len(llm), len(shapes)]}, "date": time.strftime("%Y-%m-%d")}
    import torch, numpy
    meta["versions"].update(numpy=numpy.__version__)
    (out / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    t0 = time.time()
    for p in paths:
        t = time.time()
        r = sweep.record(p, shapes, outputs=with_out, log=lambda s: None)
        cublas_rule.save_record(r, out / f"{p}.json.gz")
        names = {k[0] for ks in r["kernels"] for k in ks}
        print(f"{p}: {len(shapes)} shapes, {len(names)} kernels, {len(r['errors'])} errors, {time.time() - t:.1f} s "
              f"(total {time.time() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
