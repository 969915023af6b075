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


def main():
    out, what, paths = sys.argv[1], sys.argv[2], sys.argv[3:]
    log = lambda s: print(s, flush=True)  # noqa: E731
    if what == "seed8":
        cublas_rule.record_sets(out, {"untouched_held_out_8": sweep.random_shapes(8, 800)}, paths or sweep.PATHS,
                                meta="meta14.json", suffix=".seed8", chunk=400, log=log)
        return
    shapes = sweep.random_shapes(14, 120000)
    for p in paths or sweep.FLOAT_PATHS:
        cublas_rule.record_sets(out, {"dense6": shapes}, [p], meta=f"meta15-{p}.json", suffix=".dense6",
                                sampled=lambda name, j: False, chunk=2000, log=log)


if __name__ == "__main__":
    main()
