"""Sixth sweep: a third dense random cover (kernels only, the nine float paths) and a new
untouched held-out set.

PYTHONPATH=. python vectors/hardware/h100/sweep/run6.py OUTDIR
* dense_shapes(9, 40000), without output samples (``<path>.dense3.json.gz``, meta6.json): more
  table rows where the rule predicts kernels least well;
* random_shapes(5, 800) with output samples for all fourteen paths (``<path>.seed5.json.gz``,
  meta7.json), recorded after this session's split model (three voting launches, xmma tile
  geometry) was fixed: it took no part in designing or tuning anything.
"""
import sys

from lowbit.mac import cublas_rule, sweep


def main():
    log = lambda s: print(s, flush=True)  # noqa: E731
    cublas_rule.record_sets(sys.argv[1], {"untouched_held_out_5": sweep.random_shapes(5, 800)}, sweep.PATHS,
                            meta="meta7.json", suffix=".seed5", chunk=400, log=log)
    cublas_rule.record_sets(sys.argv[1], {"dense3": sweep.dense_shapes(9, 40000)}, sweep.FLOAT_PATHS,
                            meta="meta6.json", suffix=".dense3", sampled=lambda name, j: False, chunk=2000, log=log)


if __name__ == "__main__":
    main()
