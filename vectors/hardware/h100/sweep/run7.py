"""Seventh sweep: output samples for the kernel families the kernels-only covers met but no
sampled sweep did (prefill-like shapes of run4/run6 run CUTLASS tile configs the sampled sweeps,
M ≤ 1100, never ran), so that their walks can be fitted instead of refused.

PYTHONPATH=. python vectors/hardware/h100/sweep/run7.py OUTDIR
Shapes: family_shapes.json — per path, up to 24 recorded shapes (spread over the family's
shapes) of each kernel family the fits had no entry for, chosen from the records as
``fit.py --family-shapes RECORDS FITS`` does — run with the family names of commit be58755
and that session's first fits; gemvx families were later named by template and block, so a
rerun now lists more.
``<path>.families.json.gz``, meta8-<path>.json.
"""
import json
import sys
from pathlib import Path

from lowbit.mac import cublas_rule

HERE = Path(__file__).resolve().parent


def main():
    todo = json.loads((HERE / "family_shapes.json").read_text())
    for path, shapes in todo.items():
        if shapes:
            cublas_rule.record_sets(sys.argv[1], {"families": [tuple(s) for s in shapes]}, [path],
                                    meta=f"meta8-{path}.json", suffix=".families", chunk=400,
                                    log=lambda s: print(s, flush=True))


if __name__ == "__main__":
    main()
