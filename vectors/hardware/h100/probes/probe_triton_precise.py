"""Probe Triton's FP8 tl.dot with max_num_imprecise_acc < 32 (the "precise" path) on an H100.

Run on the device:  python3 vectors/hardware/h100/probes/probe_triton_precise.py $OUT
Writes precise.npz (operand codes and output bits), precise.json (cases) and ptx_*.txt
(the instructions each variant compiles to: mma / wgmma / cvt lines of the PTX).
"""

import json
import re
import sys

import numpy as np
import torch
import triton
import triton.language as tl

OUT = sys.argv[1]
dev = "cuda"


@triton.jit
def dot_kernel(a_ptr, b_ptr, c_ptr, M, N, K, BM: tl.constexpr, BN: tl.constexpr, BK: tl.constexpr,
               IMP: tl.constexpr, UPCAST: tl.constexpr):
    pm = tl.program_id(0)
    pn = tl.program_id(1)
    rm = pm * BM + tl.arange(0, BM)
    rn = pn * BN + tl.arange(0, BN)
    rk = tl.arange(0, BK)
    acc = tl.zeros((BM, BN), dtype=tl.float32)
    for k0 in range(0, K, BK):
        a = tl.load(a_ptr + rm[:, None] * K + (k0 + rk)[None, :])
        b = tl.load(b_ptr + (k0 + rk)[:, None] * N + rn[None, :])
        if UPCAST:
            acc = tl.dot(a.to(tl.float16), b.to(tl.float16), acc)
        elif IMP < 0:
            acc = tl.dot(a, b, acc)
        else:
            acc = tl.dot(a, b, acc, max_num_imprecise_acc=IMP)
    tl.store(c_ptr + rm[:, None] * N + rn[None, :], acc)


def run(a, b, imp, upcast=False, bk=32):
    A = torch.from_numpy(a).to(dev).view(torch.float8_e4m3fn)
    B = torch.from_numpy(b).to(dev).view(torch.float8_e4m3fn)
    C = torch.empty((a.shape[0], b.shape[1]), device=dev, dtype=torch.float32)
    k = dot_kernel[(a.shape[0] // 64, b.shape[1] // 64)](A, B, C, a.shape[0], b.shape[1], a.shape[1],
                                                         BM=64, BN=64, BK=bk, IMP=imp, UPCAST=upcast)
    return C.cpu().view(torch.int32).numpy(), k


arrays, cases = {}, []
rng = np.random.default_rng(7)
# two terms near the alignment boundary: a big term and a small one 20..30 binades lower
M, N, K = 512, 64, 32
a = np.zeros((M, K), np.uint8)
for i in range(M):
    p1, p2 = rng.choice(K, 2, replace=False)
    big = rng.integers(0x48, 0x7F)  # 1.0 .. 448 magnitudes
    gap = rng.integers(18, 32)
    small_exp = max(0, (big >> 3) - gap // 2)
    small = (small_exp << 3) | rng.integers(0, 8)
    a[i, p1] = big | (0x80 if rng.random() < 0.5 else 0)
    a[i, p2] = small | (0x80 if rng.random() < 0.5 else 0)
b = np.full((K, N), 0x38, np.uint8)
b[:, 1:] = rng.integers(0, 0x7F, (K, N - 1)) & 0x7F
b[:, 1:] = np.where(rng.random((K, N - 1)) < 0.5, b[:, 1:] | 0x80, b[:, 1:])
b[(b & 0x7F) == 0x7F] = 0x38
arrays["two_a"], arrays["two_b"] = a, b
# single term at every position k (is there any position dependence?), and dense random rows
a1 = np.zeros((64, K), np.uint8)
for i in range(64):
    a1[i, i % 32] = rng.integers(1, 0x7F)
arrays["pos_a"], arrays["pos_b"] = a1, b
a2 = rng.integers(0, 0x7F, (256, K)).astype(np.uint8) | np.where(rng.random((256, K)) < 0.5, 0x80, 0).astype(np.uint8)
a2[(a2 & 0x7F) == 0x7F] = 0
arrays["dense_a"], arrays["dense_b"] = a2, b
ptx_done = set()
for name in ("two", "pos", "dense"):
    for imp, up in [(0, False), (-1, False), (-1, True)]:
        bits, k = run(arrays[f"{name}_a"], arrays[f"{name}_b"], imp, up)
        cid = len(cases)
        arrays[f"c{cid}_out_bits"] = bits
        cases.append(dict(id=cid, operands=name, imp=imp, upcast_f16=up, M=arrays[f"{name}_a"].shape[0], K=K, N=N))
        key = (imp, up)
        if key not in ptx_done:
            ptx_done.add(key)
            ptx = k.asm["ptx"]
            lines = [ln.strip() for ln in ptx.splitlines() if re.search(r"mma|cvt|fma|add\.f32|add\.rn\.f32", ln)]
            with open(f"{OUT}/ptx_imp{imp}_up{int(up)}.txt", "w") as f:
                f.write(f"# {len(lines)} lines of {len(ptx.splitlines())}\n")
                seen = {}
                for ln in lines:
                    op = ln.split()[0]
                    seen[op] = seen.get(op, 0) + 1
                for op, n in sorted(seen.items()):
                    f.write(f"{n:6d}  {op}\n")
                f.write("\n".join(lines[:400]))
np.savez_compressed(f"{OUT}/precise.npz", **arrays)
json.dump(dict(gpu=torch.cuda.get_device_name(), torch=torch.__version__, triton=triton.__version__, cases=cases),
          open(f"{OUT}/precise.json", "w"), indent=1)
print("ok", len(cases))
for fn in sorted(ptx_done):
    print(fn, open(f"{OUT}/ptx_imp{fn[0]}_up{int(fn[1])}.txt").read()[:600])
