"""Record how the H100's float32 tensor-core chain behaves at the ends of float32's range.

Run on the GPU machine:   python3 probe_overflow.py --out DIR
Check the harness on CPU: python probe_overflow.py --out DIR --dry-run   (operands only)

BF16 operands (cuBLAS ``torch.mm(out_dtype=float32)``, ``torch.matmul`` with bfloat16 output,
Triton ``tl.dot`` with BLOCK_K 32 and 64) and the same values as float32 operands (Triton
``input_precision="tf32"``: every value here is TF32-exact).  64×64×64 (the recorded
unsplit kernels of that shape); probe i is row i of A with column i of B, the other rows and
columns zero; only the diagonal C[i, i] is stored.  Products are powers of two or 8-bit
significands times powers of two, so every exact sum is known; they separate:

* Inf that stays Inf for the rest of the chain (IEEE: Inf + finite = Inf),
* a chain that keeps the exact value past 2^128 and may come back (no overflow inside),
* overflow judged before or after the cut to 24 bits (a sum in (max finite, 2^128)),
* a step sum below float32's normal range: cut to the subnormal grid, or kept to 24 bits.

Writes DIR/overflow.npz (``a``, ``b``: 64×64 bfloat16 bit patterns as uint16; ``out_<path>``:
the 64 diagonal outputs, uint32 float32 bits or uint16 bfloat16 bits) and DIR/overflow.json
(probe names, paths, environment).
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

K = 64
P = 2.0 ** 124  # one product 2^120 · 2^4; 16 of them make 2^128


def probes():
    """(name, list of (k, a, b)) — every other element of the row/column is zero."""
    out = []

    def run(k0, n, a, b):
        return [(k, a, b) for k in range(k0, k0 + n)]

    out.append(("step_overflow_alone", run(0, 16, 2.0 ** 120, 16.0)))                     # 2^128 in step 1
    out.append(("overflow_then_cancel", run(0, 16, 2.0 ** 120, 16.0) + run(16, 16, -(2.0 ** 120), 16.0)))
    out.append(("overflow_then_opposite_overflow",
                run(0, 16, 2.0 ** 120, 16.0) + run(16, 16, -(2.0 ** 121), 16.0)))         # +2^128, then −2^129
    out.append(("near_then_overflow_then_cancel",
                run(0, 15, 2.0 ** 120, 16.0) + run(16, 1, 2.0 ** 120, 16.0) + run(32, 16, -(2.0 ** 120), 16.0)))
    out.append(("overflow_in_step3", run(0, 16, 2.0 ** 119, 16.0) + run(16, 16, 2.0 ** 119, 16.0)
                + run(32, 1, 2.0 ** 120, 16.0) + run(48, 16, -(2.0 ** 120), 16.0)))
    out.append(("overflow_then_one_negative", run(0, 16, 2.0 ** 120, 16.0) + run(16, 1, -(2.0 ** 126), 2.0)))
    # exact sum 2^128 − 2^103 = max finite + half an ulp: cut toward zero to 24 bits it is max
    # finite (no overflow); rounded to nearest it would be 2^128 (Inf)
    s = 255.0 / 128.0
    half_ulp = [(0, s * 2.0 ** 63, s * 2.0 ** 63),          # 2^128 − 2^121 + 2^112
                (1, s * 2.0 ** 100, 2.0 ** 20),             # 255·2^113 = 2^121 − 2^113
                (2, s * 2.0 ** 100, 2.0 ** 11),             # 255·2^104
                (3, 2.0 ** 100, 8.0)]                       # 2^103
    out.append(("max_plus_half_ulp", half_ulp))
    out.append(("max_plus_half_ulp_then_minus_2^127", half_ulp + [(16, -(2.0 ** 126), 2.0)]))
    # two steps of 2^127 each: the second makes 2^128
    out.append(("two_steps_reach_2^128", run(0, 8, 2.0 ** 120, 16.0) + run(16, 8, 2.0 ** 120, 16.0)
                + run(32, 16, -(2.0 ** 116), 16.0)))
    # negative side
    out.append(("neg_overflow_then_cancel", run(0, 16, -(2.0 ** 120), 16.0) + run(16, 16, 2.0 ** 120, 16.0)))
    # an Inf operand after an overflow of the other sign: +Inf (chain) + (−Inf product)
    out.append(("overflow_then_neg_inf_operand", run(0, 16, 2.0 ** 120, 16.0) + [(20, -np.inf, 1.0)]))
    # a step sum below float32's normal range, 3.5·2^-149: cut to the subnormal grid (toward
    # zero: 3·2^-149) or kept to 24 bits (then rounded at the end: 4·2^-149)?
    out.append(("subnormal_sum", [(0, 1.75 * 2.0 ** -74, 2.0 ** -74)]))
    out.append(("subnormal_sum_negative", [(0, -1.75 * 2.0 ** -74, 2.0 ** -74)]))
    # …and does the chain carry the half: then + 2^-141 gives 259.5·2^-149 (→ 260) or 259
    out.append(("subnormal_sum_then_add", [(0, 1.75 * 2.0 ** -74, 2.0 ** -74), (16, 2.0 ** -70, 2.0 ** -71)]))
    return out


def operands():
    """A (64×64) and B (64×64) as float32 arrays and the probe names (row/column i = probe i)."""
    A = np.zeros((64, K), np.float32)
    B = np.zeros((K, 64), np.float32)
    names = []
    for i, (name, terms) in enumerate(probes()):
        names.append(name)
        for k, a, b in terms:
            A[i, k], B[k, i] = a, b
    return A, B, names


def bf16_bits(x):
    import ml_dtypes

    y = np.asarray(x, np.float32).astype(ml_dtypes.bfloat16)
    assert np.array_equal(y.astype(np.float32), x), "a probe value is not exact in bfloat16"
    return y.view(np.uint16)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--dry-run", action="store_true")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    A, B, names = operands()
    rec = {"a": bf16_bits(A), "b": bf16_bits(B)}
    meta = {"probes": names, "K": K, "paths": {}}
    if not args.dry_run:
        import torch

        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import probe_paths as pp

        dev = "cuda"
        ta = torch.from_numpy(A).to(dev).to(torch.bfloat16)
        tb = torch.from_numpy(B).to(dev).to(torch.bfloat16)
        fa, fb = torch.from_numpy(A).to(dev), torch.from_numpy(B).to(dev)
        n = len(names)
        runs = {
            "bf16_torch_mm_out_f32": lambda: pp.torch_mm_out32(ta, tb),
            "bf16_torch_matmul": lambda: pp.torch_mm(ta, tb),
            "bf16_triton_bk32": lambda: pp.triton_dot(ta, tb, 32),
            "bf16_triton_bk64": lambda: pp.triton_dot(ta, tb, 64),
            "f32_triton_tf32_bk32": lambda: pp.triton_dot(fa, fb, 32, mode=1, prec="tf32"),
            "f32_triton_ieee_bk32": lambda: pp.triton_dot(fa, fb, 32, mode=1, prec="ieee"),
        }
        for key, fn in runs.items():
            try:
                c = fn()
                torch.cuda.synchronize()
                rec[f"out_{key}"] = pp.out_bits(c)[np.arange(n), np.arange(n)]
                meta["paths"][key] = "ok"
            except Exception as e:  # record the refusal, keep going
                meta["paths"][key] = f"error: {type(e).__name__}: {e}"
        meta["env"] = {"gpu": torch.cuda.get_device_name(0), "torch": torch.__version__,
                       "cuda": torch.version.cuda}
    np.savez_compressed(os.path.join(args.out, "overflow.npz"), **rec)
    with open(os.path.join(args.out, "overflow.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print(json.dumps(meta, indent=1))


if __name__ == "__main__":
    main()
