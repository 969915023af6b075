"""Third sweep: a held-out set recorded after the split model was designed (with output samples).

PYTHONPATH=. python vectors/hardware/h100/sweep/run3.py OUTDIR [PATH ...]
Shapes: lowbit.mac.sweep.random_shapes(4, 800), every one with output samples.  The rule's split
model (lowbit.mac.cublas_rule.Rule.lookup: kernel of the nearest shape, split from the waves of
CTAs its launches fill) was designed looking at the seed-2 and seed-3 held-out sets; these shapes
took no part in fitting, designing or tuning anything, and measure the shipped rule.
"""
import sys

from lowbit.mac import cublas_rule, sweep

ORDER = ("bf16-f32", "bf16-rpr", "fp16-f32", "tf32", "fp8-fast", "fp8-slow", "fp32", "fp16-acc16", "bf16", "fp16",
         "fp16-rpr", "fp8-fast-bf16", "fp8-slow-bf16", "int8")


def main():
    cublas_rule.record_sets(sys.argv[1], {"untouched_held_out": sweep.random_shapes(4, 800)}, sys.argv[2:] or ORDER,
                            meta="meta3.json", suffix=".seed4", chunk=400, log=lambda s: print(s, flush=True))


if __name__ == "__main__":
    main()
