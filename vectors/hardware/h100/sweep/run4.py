"""Fourth sweep: a second dense random cover, kernels only, for the paths whose split the rule
predicts least well (float32 / float16 / bfloat16 output).

PYTHONPATH=. python vectors/hardware/h100/sweep/run4.py OUTDIR [PATH ...]
Shapes: lowbit.mac.sweep.dense_shapes(8, 40000), without output samples: their kernels and
grids extend the rule's table (a rule read at half its density predicted 35 fewer of 800
bf16 → float32 shapes).  Shapes of the held-out sets are left out of the table by fit.py.
"""
import json
import sys
import time
from pathlib import Path

from lowbit.mac import calibration, cublas_rule, sweep

ORDER = ("bf16-f32", "tf32", "fp16-f32", "bf16-rpr", "fp16-rpr", "fp16-acc16", "fp32", "fp16", "bf16")


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    shapes = sweep.dense_shapes(8, 40000)
    meta = {**calibration.gpu_info(), "sets": {"dense2": [0, len(shapes)]}, "date": time.strftime("%Y-%m-%d")}
    (out / "meta4.json").write_text(json.dumps(meta, indent=1) + "\n")
    t0 = time.time()
    for p in sys.argv[2:] or ORDER:
        t = time.time()
        r = sweep.record(p, shapes, outputs=False, chunk=2000, log=lambda s: None)
        cublas_rule.save_record(r, out / f"{p}.dense2.json.gz")
        print(f"{p}: {len(shapes)} shapes, {len(r['errors'])} errors, {time.time() - t:.1f} s "
              f"(total {time.time() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
