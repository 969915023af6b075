#!/usr/bin/env bash
# The shipped calibration (lowbit/mac/data/calibration/<gpu>.json): lowbit calibrate on the GPU
# machine at shapes of every kind (multiples of 16 and not, K up to 8192), 16x16 held-out corners.
# Run from the repository root with torch + CUDA:  bash vectors/hardware/h100/discover/calibrate_sweep.sh OUTDIR
set -euo pipefail
export LOWBIT_CACHE="$1" PYTHONPATH=. PYTHONUNBUFFERED=1
SHAPES="--shape 64 128 1536 --shape 128 256 3072 --shape 96 160 2000 --shape 256 256 2048 --shape 32 512 4096 --shape 128 128 8192 --shape 16 384 1024 --shape 200 120 1000"
for preset in h100-bf16 h100-fp16 h100-tf32; do
  python3 -m lowbit.cli calibrate --preset $preset $SHAPES --held-out 16 --device cpu
done
FP8="${SHAPES% --shape 200 120 1000}"  # torch._scaled_mm needs K % 16 == 0 (and N % 16)
python3 -m lowbit.cli calibrate --preset h100-fp8 --param fast_accum=True $FP8 --held-out 16 --device cpu
python3 -m lowbit.cli calibrate --preset h100-fp8 $FP8 --held-out 16 --device cpu
# decode-like and wide-N shapes (second run)
LLM="--shape 16 4096 4096 --shape 64 1024 4096"
python3 -m lowbit.cli calibrate --preset h100-bf16 $LLM --held-out 16 --device cpu
python3 -m lowbit.cli calibrate --preset h100-fp8 --param fast_accum=True $LLM --held-out 16 --device cpu
# decode shapes (one probe pair per output column) — tried once, stopped by the session's device
# time before the first shape finished; not in the shipped file yet:
# python3 -m lowbit.cli calibrate --preset h100-bf16 --shape 1 4096 4096 --shape 7 4096 2048 --held-out 16 --device cpu
