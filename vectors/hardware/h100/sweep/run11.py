"""Eleventh sweep: a new untouched held-out set, and a random cover as large as the tables' others.

PYTHONPATH=. python vectors/hardware/h100/sweep/run11.py OUTDIR seed8|dense6 [PATH ...]
* seed8: random_shapes(8, 800) with output samples for all fourteen paths (``<path>.seed8.json.gz``,
  meta14.json), recorded after stop 22's rule was shipped and before anything of this session was
  measured on it: stop 22's changes were chosen reading seed 6's misses, so seed 6 no longer
  measures them untouched; these shapes took no part in designing or tuning anything;
* dense6: random_shapes(14, 120000) without output samples (``<path>.dense6.json.gz``,
  meta15-<path>.json; the nine float paths): table rows drawn as users' shapes are (the held-out
  sets' distribution). On stop 22's table, half the rows gave bf16 -> float32 seed 6 686 of 800
  and all of them 701; FP32 707 -> 729: about 1.5 % per doubling of the table.
"""
import sys

from lowbit.mac import cublas_rule, sweep


def log(s):
    print(s, flush=True)


def record_seed(out, seed: int, meta: str, paths=()):
    """random_shapes(seed, 800) with output samples for ``paths`` (default all fourteen):
    ``<path>.seed<seed>.json.gz``, the set named untouched_held_out_<seed> in ``meta``."""
    cublas_rule.record_sets(out, {f"untouched_held_out_{seed}": sweep.random_shapes(seed, 800)},
                            paths or sweep.PATHS, meta=meta, suffix=f".seed{seed}", chunk=400, log=log)


def record_cover(out, seed: int, name: str, meta_number: int, paths=()):
    """random_shapes(seed, 120000) without output samples for ``paths`` (default the nine float
    paths), one path at a time: ``<path>.<name>.json.gz`` and ``meta<meta_number>-<path>.json``."""
    shapes = sweep.random_shapes(seed, 120000)
    for p in paths or sweep.FLOAT_PATHS:
        cublas_rule.record_sets(out, {name: shapes}, [p], meta=f"meta{meta_number}-{p}.json", suffix=f".{name}",
                                sampled=lambda name, j: False, chunk=2000, log=log)


def main():
    out, what, paths = sys.argv[1], sys.argv[2], sys.argv[3:]
    if what == "seed8":
        record_seed(out, 8, "meta14.json", paths)
    else:
        record_cover(out, 14, "dense6", 15, paths)


if __name__ == "__main__":
    main()
