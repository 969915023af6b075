"""Second sweep: a dense random cover (kernels only) and a fresh held-out set (with output samples).

PYTHONPATH=. python vectors/hardware/h100/sweep/run2.py OUTDIR [PATH ...]
Shapes: lowbit.mac.sweep.dense_shapes(7, 24000) without output samples (their kernels and grids
extend the rule's table) and random_shapes(3, 400) with samples: held out from everything,
recorded after the rule was fitted, to measure it.
"""
import sys

from lowbit.mac import cublas_rule, sweep

ORDER = ("bf16-f32", "bf16-rpr", "fp16-f32", "tf32", "fp8-fast", "fp8-slow", "fp32", "fp16-acc16", "bf16", "fp16",
         "fp16-rpr", "fp8-fast-bf16", "fp8-slow-bf16", "int8")


def main():
    sets = {"dense": sweep.dense_shapes(7, 24000), "fresh_held_out": sweep.random_shapes(3, 400)}
    cublas_rule.record_sets(sys.argv[1], sets, sys.argv[2:] or ORDER, meta="meta2.json", suffix=".dense",
                            sampled=lambda name, j: name == "fresh_held_out", chunk=2000,
                            log=lambda s: print(s, flush=True))


if __name__ == "__main__":
    main()
