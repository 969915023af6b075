"""Tenth sweep: output samples of the kernel families no sampled sweep met, and an active cover.

PYTHONPATH=. python vectors/hardware/h100/sweep/run10.py OUTDIR [families2|active [PATH ...]]
(both parts and every float path by default; the H200 ran it in three calls of at most ten minutes)
1. family_shapes2.json (fit.py --run10-shapes): per float path, up to 24 shapes of each kernel
   family that the kernels-only covers (dense .. dense5, LLM) met and no walk was fitted for,
   recorded with output samples (``<path>.families2.json.gz``, meta12-<path>.json);
2. active_shapes.json.gz (same): per float path, 40,000 shapes where the shipped rule's kernel
   trees disagree (lowbit.mac.cublas_rule.uncertain_shapes), kernels only
   (``<path>.active.json.gz``, meta13-<path>.json).
"""
import gzip
import json
import sys
from pathlib import Path

from lowbit.mac import cublas_rule, sweep

HERE = Path(__file__).resolve().parent


def main():
    out = sys.argv[1]
    parts = sys.argv[2:3] or ["families2", "active"]
    paths = sys.argv[3:] or sweep.FLOAT_PATHS
    fams = json.loads((HERE / "family_shapes2.json").read_text())
    with gzip.open(HERE / "active_shapes.json.gz", "rt") as f:
        active = json.load(f)
    log = lambda s: print(s, flush=True)  # noqa: E731
    for p in paths if "families2" in parts else ():
        if fams.get(p):
            cublas_rule.record_sets(out, {"families2": [tuple(s) for s in fams[p]]}, [p], meta=f"meta12-{p}.json",
                                    suffix=".families2", log=log)
    for p in paths if "active" in parts else ():
        cublas_rule.record_sets(out, {"active": [tuple(s) for s in active[p]]}, [p], meta=f"meta13-{p}.json",
                                suffix=".active", sampled=lambda name, j: False, chunk=2000, log=log)


if __name__ == "__main__":
    main()
