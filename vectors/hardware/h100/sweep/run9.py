"""Ninth sweep: a fifth dense cover (kernels only, the nine float paths).

PYTHONPATH=. python vectors/hardware/h100/sweep/run9.py OUTDIR
dense_shapes(11, 40000) without output samples (``<path>.dense5.json.gz``, meta11.json): more
table rows for the kernel tree, as run8.py's dense4.
"""
import sys

from lowbit.mac import cublas_rule, sweep


def main():
    cublas_rule.record_sets(sys.argv[1], {"dense5": sweep.dense_shapes(11, 40000)}, sweep.FLOAT_PATHS,
                            meta="meta11.json", suffix=".dense5", sampled=lambda name, j: False, chunk=2000,
                            log=lambda s: print(s, flush=True))


if __name__ == "__main__":
    main()
