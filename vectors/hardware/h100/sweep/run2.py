"""Second sweep: a dense random cover (kernels only) and a fresh held-out set (with output samples).

PYTHONPATH=. python vectors/hardware/h100/sweep/run2.py OUTDIR [PATH ...]
Shapes: lowbit.mac.sweep.dense_shapes(7, 24000) without output samples (their kernels and grids
extend the rule's table) and random_shapes(3, 400) with samples: held out from everything,
recorded after the rule was fitted, to measure it.
"""
import json
import sys
import time
from pathlib import Path

from lowbit.mac import calibration, cublas_rule, sweep

ORDER = ("bf16-f32", "bf16-rpr", "fp16-f32", "tf32", "fp8-fast", "fp8-slow", "fp32", "fp16-acc16", "bf16", "fp16",
         "fp16-rpr", "fp8-fast-bf16", "fp8-slow-bf16", "int8")


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    dense, fresh = sweep.dense_shapes(7, 24000), sweep.random_shapes(3, 400)
    shapes = dense + fresh
    with_out = set(range(len(dense), len(shapes)))
    meta = {**calibration.gpu_info(), "sets": {"dense": [0, len(dense)], "fresh_held_out": [len(dense), len(shapes)]},
            "date": time.strftime("%Y-%m-%d")}
    (out / "meta2.json").write_text(json.dumps(meta, indent=1) + "\n")
    t0 = time.time()
    for p in sys.argv[2:] or ORDER:
        t = time.time()
        r = sweep.record(p, shapes, outputs=with_out, chunk=2000, log=lambda s: None)
        cublas_rule.save_record(r, out / f"{p}.dense.json.gz")
        names = {k[0] for ks in r["kernels"] for k in ks}
        print(f"{p}: {len(shapes)} shapes, {len(names)} kernels, {len(r['errors'])} errors, {time.time() - t:.1f} s "
              f"(total {time.time() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
