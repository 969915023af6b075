"""Twelfth sweep: a new untouched held-out set, and a seventh random cover.

PYTHONPATH=. python vectors/hardware/h100/sweep/run12.py OUTDIR seed9|dense7 [PATH ...]
* seed9: random_shapes(9, 800) with output samples for all fourteen paths (``<path>.seed9.json.gz``,
  meta16.json), recorded before stop 24 changed anything: seed 8 decided that stop 23's sixth
  cover ships, so these shapes are the first to measure the rule with it and with stop 24's
  changes untouched;
* dense7: random_shapes(15, 120000) without output samples (``<path>.dense7.json.gz``,
  meta17-<path>.json; the nine float paths): table rows drawn as users' shapes are. The sixth
  cover (120,000 rows, 250,579 -> 370,470) took seed 8 from 7,777 to 7,810 of 8,352.
"""
import sys

from lowbit.mac import cublas_rule, sweep


def main():
    out, what, paths = sys.argv[1], sys.argv[2], sys.argv[3:]
    log = lambda s: print(s, flush=True)  # noqa: E731
    if what == "seed9":
        cublas_rule.record_sets(out, {"untouched_held_out_9": sweep.random_shapes(9, 800)}, paths or sweep.PATHS,
                                meta="meta16.json", suffix=".seed9", chunk=400, log=log)
        return
    if what != "dense7":
        raise SystemExit(f"run12.py: unknown set {what!r}; seed9 or dense7")
    shapes = sweep.random_shapes(15, 120000)
    for p in paths or sweep.FLOAT_PATHS:
        cublas_rule.record_sets(out, {"dense7": shapes}, [p], meta=f"meta17-{p}.json", suffix=".dense7",
                                sampled=lambda name, j: False, chunk=2000, log=log)


if __name__ == "__main__":
    main()
