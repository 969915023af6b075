"""Eighth sweep: a new untouched held-out set for the shape-tree rule, and a fourth dense cover.

PYTHONPATH=. python vectors/hardware/h100/sweep/run8.py OUTDIR
* random_shapes(6, 800) with output samples for all fourteen paths (``<path>.seed6.json.gz``,
  meta9.json), recorded after the rule's kernel choice became a decision tree over M, N, K and
  alignment (lowbit.mac.shape_tree) — chosen looking at seeds 4 and 5, so those no longer measure
  it untouched; these shapes took no part in designing or tuning anything;
* dense_shapes(10, 40000), without output samples (``<path>.dense4.json.gz``, meta10.json; the nine
  float paths): more table rows for the tree (its accuracy still grows with the table: 90k -> 130k
  rows took bf16 -> float32's held-out kernel choice from 80 % to 83 %).
"""
import sys

from lowbit.mac import cublas_rule, sweep


def main():
    log = lambda s: print(s, flush=True)  # noqa: E731
    cublas_rule.record_sets(sys.argv[1], {"untouched_held_out_6": sweep.random_shapes(6, 800)}, sweep.PATHS,
                            meta="meta9.json", suffix=".seed6", chunk=400, log=log)
    cublas_rule.record_sets(sys.argv[1], {"dense4": sweep.dense_shapes(10, 40000)}, sweep.FLOAT_PATHS,
                            meta="meta10.json", suffix=".dense4", sampled=lambda name, j: False, chunk=2000, log=log)


if __name__ == "__main__":
    main()
