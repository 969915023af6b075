"""Third sweep: a held-out set recorded after the split model was designed (with output samples).

PYTHONPATH=. python vectors/hardware/h100/sweep/run3.py OUTDIR [PATH ...]
Shapes: lowbit.mac.sweep.random_shapes(4, 800), every one with output samples.  The rule's split
model (lowbit.mac.cublas_rule.Rule.lookup: kernel of the nearest shape, split from the waves of
CTAs its launches fill) was designed looking at the seed-2 and seed-3 held-out sets; these shapes
took no part in fitting, designing or tuning anything, and measure the shipped rule.
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
    shapes = sweep.random_shapes(4, 800)
    meta = {**calibration.gpu_info(), "sets": {"untouched_held_out": [0, len(shapes)]},
            "date": time.strftime("%Y-%m-%d")}
    (out / "meta3.json").write_text(json.dumps(meta, indent=1) + "\n")
    t0 = time.time()
    for p in sys.argv[2:] or ORDER:
        t = time.time()
        r = sweep.record(p, shapes, outputs=True, chunk=400, log=lambda s: None)
        cublas_rule.save_record(r, out / f"{p}.seed4.json.gz")
        print(f"{p}: {len(shapes)} shapes, {len(r['bits'])} sampled, {len(r['errors'])} errors, "
              f"{time.time() - t:.1f} s (total {time.time() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
