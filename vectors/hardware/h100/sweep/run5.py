"""Fifth sweep: LLM layers.  Every projection of lowbit.mac.sweep.LLM_MODELS (112 distinct (N, K))
at every token count of LLM_COVER_M (1..64, then steps of 8, 32 and 128 to 4096): 15,232 shapes
whose kernels and grids go into the rule's table, one in 16 with output samples (for kernel
families the earlier sweeps did not meet); then llm_random_shapes(11, 400) — the same layers at
token counts the cover does not hold — with output samples, held out of everything: the measure
of the rule at LLM shapes between recorded token counts.

PYTHONPATH=. python vectors/hardware/h100/sweep/run5.py OUTDIR [PATH ...]
"""
import sys

from lowbit.mac import cublas_rule, sweep

ORDER = ("bf16-rpr", "bf16-f32", "bf16", "fp16-rpr", "fp16-f32", "fp16", "fp16-acc16", "tf32", "fp32", "fp8-fast",
         "fp8-slow", "fp8-fast-bf16", "fp8-slow-bf16", "int8")


def main():
    sets = {"llm_cover": sweep.llm_cover_shapes(), "llm_held_out": sweep.llm_random_shapes(11, 400)}
    cublas_rule.record_sets(sys.argv[1], sets, sys.argv[2:] or ORDER, meta="meta5.json", suffix=".llm",
                            sampled=lambda name, j: name == "llm_held_out" or j % 16 == 0, chunk=2000,
                            log=lambda s: print(s, flush=True))


if __name__ == "__main__":
    main()
