"""Record cuBLAS's kernel choice and output samples over a shape sweep, every GEMM path.

PYTHONPATH=. python vectors/hardware/h100/sweep/run.py OUTDIR [PATH ...]
Writes OUTDIR/<path>.json.gz (lowbit.mac.sweep.record's result, kernel names deduplicated) and
OUTDIR/meta.json (GPU, versions, shape sets).  Shapes: the grid (lowbit.mac.sweep.grid_shapes),
2000 random shapes for fitting (random_shapes(1, 2000)), 400 held out (random_shapes(2, 400)) and
the LLM shapes; output samples for all but the grid, where every 8th shape has them.
"""
import sys

from lowbit.mac import cublas_rule, sweep

ORDER = ("bf16-f32", "bf16", "fp16-f32", "tf32", "fp8-fast", "fp8-slow", "fp32", "fp16-acc16", "bf16-rpr", "fp16",
         "fp16-rpr", "fp8-fast-bf16", "fp8-slow-bf16", "int8")


def main():
    sets = {"grid": sweep.grid_shapes(), "train": sweep.random_shapes(1, 2000),
            "held_out": sweep.random_shapes(2, 400), "llm": sweep.llm_shapes()}
    cublas_rule.record_sets(sys.argv[1], sets, sys.argv[2:] or ORDER, meta="meta.json", suffix="",
                            sampled=lambda name, j: name != "grid" or j % 8 == 0, log=lambda s: print(s, flush=True))


if __name__ == "__main__":
    main()
