"""Fourth sweep: a second dense random cover, kernels only, for the paths whose split the rule
predicts least well (float32 / float16 / bfloat16 output).

PYTHONPATH=. python vectors/hardware/h100/sweep/run4.py OUTDIR [PATH ...]
Shapes: lowbit.mac.sweep.dense_shapes(8, 40000), without output samples: their kernels and
grids extend the rule's table (a rule read at half its density predicted 35 fewer of 800
bf16 → float32 shapes).  Shapes of the held-out sets are left out of the table by fit.py.
"""
import sys

from lowbit.mac import cublas_rule, sweep

def main():
    cublas_rule.record_sets(sys.argv[1], {"dense2": sweep.dense_shapes(8, 40000)}, sys.argv[2:] or sweep.FLOAT_PATHS,
                            meta="meta4.json", suffix=".dense2", sampled=lambda name, j: False, chunk=2000,
                            log=lambda s: print(s, flush=True))


if __name__ == "__main__":
    main()
