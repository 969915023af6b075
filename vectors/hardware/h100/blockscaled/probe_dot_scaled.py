"""Record Triton ``tl.dot_scaled`` (MX operands, E8M0 scales per 32 along K) on the GPU.

Run on the device:  python3 vectors/hardware/h100/blockscaled/probe_dot_scaled.py OUTDIR [round]
Writes OUTDIR/dot_scaled_<round>.npz / .json (environment, cases, errors) and, in round r1,
OUTDIR/dot_scaled_ir.txt (the TTGIR and PTX instruction counts of some format pairs: how
Hopper emulates the scaled dot).

Kernel: one BM x BN tile per program; acc = tl.dot_scaled(a, sa, FA, b, sb, FB, acc,
fast_math=FAST) over K in steps of BK.  Operands as Triton takes them: A (M x K) row-major
uint8 codes, e2m1 packed two per byte along K (first element in the low nibble); B (K x N)
row-major, e2m1 packed along K (byte [k/2, n]); scale_a (M, K/32) and scale_b (N, K/32)
uint8 E8M0 codes.  Stored per operand set X: X_a, X_b (UNPACKED codes, one per byte,
A[rows] and B[:, cols]), X_sa (scale_a[rows]), X_sb (scale_b[cols]), X_rows, X_cols; per
case i: c{i}_out (float32 bits as int32) for rows x cols.
"""

import json
import os
import sys
import time

import numpy as np
import torch
import triton
import triton.language as tl

OUT = sys.argv[1]
ROUND = sys.argv[2] if len(sys.argv) > 2 else "r1"
os.makedirs(OUT, exist_ok=True)
FORMATS = ("e4m3", "e5m2", "e2m3", "e3m2", "e2m1")
NCODES = {"e4m3": 256, "e5m2": 256, "e2m3": 64, "e3m2": 64, "e2m1": 16}
ONE = {"e4m3": 0x38, "e5m2": 0x3C, "e2m3": 0x08, "e3m2": 0x0C, "e2m1": 0x2}
PACK = {"e2m1": 2}
arrays, cases = {}, []
ops = {}


@triton.jit
def ds_kernel(a_ptr, sa_ptr, b_ptr, sb_ptr, c_ptr, M, N, K, FA: tl.constexpr, FB: tl.constexpr,
              PA: tl.constexpr, PB: tl.constexpr, BM: tl.constexpr, BN: tl.constexpr, BK: tl.constexpr,
              FAST: tl.constexpr):
    pm = tl.program_id(0)
    pn = tl.program_id(1)
    rm = pm * BM + tl.arange(0, BM)
    rn = pn * BN + tl.arange(0, BN)
    rka = tl.arange(0, BK // PA)
    rkb = tl.arange(0, BK // PB)
    rs = tl.arange(0, BK // 32)
    KA = K // PA
    KS = K // 32
    acc = tl.zeros((BM, BN), dtype=tl.float32)
    for k0 in range(0, K, BK):
        a = tl.load(a_ptr + rm[:, None] * KA + (k0 // PA + rka)[None, :])
        b = tl.load(b_ptr + (k0 // PB + rkb)[:, None] * N + rn[None, :])
        sa = tl.load(sa_ptr + rm[:, None] * KS + (k0 // 32 + rs)[None, :])
        sb = tl.load(sb_ptr + rn[:, None] * KS + (k0 // 32 + rs)[None, :])
        acc = tl.dot_scaled(a, sa, FA, b, sb, FB, acc, fast_math=FAST)
    tl.store(c_ptr + rm[:, None] * N + rn[None, :], acc)


def pack_k(codes, axis):
    """e2m1: two codes per byte along K, the first (even k) in the low nibble."""
    c = np.moveaxis(codes.astype(np.uint8), axis, 0)
    p = (c[0::2] & 0xF) | ((c[1::2] & 0xF) << 4)
    return np.ascontiguousarray(np.moveaxis(p, 0, axis))


def subset(n, keep=32):
    return np.arange(n) if n <= 2 * keep else np.r_[0:keep, n - keep:n]


def add_ops(name, a, sa, b, sb, fa, fb, keep=32):
    """a: M x K codes, sa: M x K/32, b: K x N codes, sb: N x K/32."""
    ops[name] = (a.astype(np.uint8), sa.astype(np.uint8), b.astype(np.uint8), sb.astype(np.uint8), fa, fb)
    rows, cols = subset(a.shape[0], keep), subset(b.shape[1], keep)
    arrays[f"{name}_a"], arrays[f"{name}_sa"] = a[rows].astype(np.uint8), sa[rows].astype(np.uint8)
    arrays[f"{name}_b"], arrays[f"{name}_sb"] = b[:, cols].astype(np.uint8), sb[cols].astype(np.uint8)
    arrays[f"{name}_rows"], arrays[f"{name}_cols"] = rows, cols
    return name


def run(opname, bk, fast=False, note="", fit=True, bm=64, bn=64, ir=False):
    a, sa, b, sb, fa, fb = ops[opname]
    M, K, N = a.shape[0], a.shape[1], b.shape[1]
    c = dict(id=len(cases), operands=opname, fa=fa, fb=fb, M=M, K=K, N=N, BK=bk, BM=bm, BN=bn, fast_math=fast,
             note=note, fit=fit)
    try:
        pa, pb = PACK.get(fa, 1), PACK.get(fb, 1)
        A = torch.from_numpy(pack_k(a, 1) if pa == 2 else a).cuda()
        B = torch.from_numpy(pack_k(b, 0) if pb == 2 else b).cuda()
        SA, SB = torch.from_numpy(sa).cuda(), torch.from_numpy(sb).cuda()
        C = torch.full((M, N), float("nan"), device="cuda", dtype=torch.float32)
        k = ds_kernel[(M // bm, N // bn)](A, SA, B, SB, C, M, N, K, FA=fa, FB=fb, PA=pa, PB=pb, BM=bm, BN=bn,
                                          BK=bk, FAST=fast, num_warps=4)
        torch.cuda.synchronize()
        r = C.cpu().view(torch.int32).numpy()
        rows, cols = arrays[f"{opname}_rows"], arrays[f"{opname}_cols"]
        arrays[f"c{c['id']}_out"] = r[np.ix_(rows, cols)]
        if ir:
            try:
                ptx = k.asm["ptx"]
                instr = {}
                for ln in ptx.splitlines():
                    t = ln.strip().split(" ")[0].rstrip(";")
                    if t and t[0].isalpha() and "." in t and not t.startswith("."):
                        instr[t] = instr.get(t, 0) + 1
                c["ptx_instructions"] = dict(sorted(instr.items()))
                IR.append(f"==== {fa} x {fb} BK={bk} fast_math={fast}: TTGIR ====\n{k.asm['ttgir']}\n")
            except Exception as e:  # noqa: BLE001
                c["ir_error"] = str(e)[:200]
    except Exception as e:  # noqa: BLE001
        c["error"] = f"{type(e).__name__}: {' '.join(str(e).split())[:400]}"
    cases.append(c)
    print(c["id"], fa, fb, opname, bk, fast, c.get("error", "ok"), flush=True)


rng = np.random.Generator(np.random.PCG64(20270117 if ROUND == "r1" else 20270118))
IR = []


def finite_codes(fmt):
    c = np.arange(NCODES[fmt])
    if fmt == "e4m3":
        return c[(c & 0x7F) != 0x7F]
    if fmt == "e5m2":
        return c[(c & 0x7C) != 0x7C]
    return c


def rand_codes(fmt, shape, zero_frac=0.0):
    c = rng.choice(finite_codes(fmt), shape)
    if zero_frac:
        c[rng.random(shape) < zero_frac] = 0
    return c.astype(np.uint8)


def rand_ops(name, fa, fb, M, N, K, slo=117, shi=137, keep=32):
    a, b = rand_codes(fa, (M, K)), rand_codes(fb, (K, N))
    sa = rng.integers(slo, shi + 1, (M, K // 32)).astype(np.uint8)
    sb = rng.integers(slo, shi + 1, (N, K // 32)).astype(np.uint8)
    return add_ops(name, a, sa, b, sb, fa, fb, keep)


INFO = dict(python=sys.version.split()[0], torch=torch.__version__, triton=triton.__version__,
            cuda_runtime=torch.version.cuda, gpu=torch.cuda.get_device_name(), date=time.strftime("%Y-%m-%d %H:%M:%S"))
try:
    import subprocess
    INFO["driver"] = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                                    capture_output=True, text=True).stdout.strip()
except Exception as e:  # noqa: BLE001
    INFO["driver"] = str(e)
t0 = time.time()
SCALES = np.array([0, 1, 2, 3, 10, 60, 100, 118, 126, 127, 128, 136, 150, 200, 250, 253, 254, 255], np.uint8)
TSCALES = np.array([0, 1, 2, 50, 100, 120, 126, 127, 128, 130, 150, 200, 250, 253, 254, 255], np.uint8)

def main():
    if ROUND == "r1":
        # 0. which formats / pairs / BLOCK_K does it accept at all (random operands, K = 256, 64x64)
        for fa in FORMATS:
            for fb in FORMATS:
                op = rand_ops(f"r_{fa}_{fb}", fa, fb, 64, 64, 256, keep=8)
                for bk in (64, 128):
                    run(op, bk, note="random codes, scales 117..137", fit=bk == 64,
                        ir=(bk == 64 and (fa, fb) in (("e4m3", "e4m3"), ("e2m1", "e4m3"), ("e2m1", "e2m1"))))
        for fa, fb in (("e4m3", "e4m3"), ("e2m1", "e2m1"), ("e5m2", "e2m1")):
            for bk in (32, 256):
                run(f"r_{fa}_{fb}", bk, note="BLOCK_K sweep", fit=False)
            run(f"r_{fa}_{fb}", 64, fast=True, note="fast_math=True", fit=False)
        # 1. the conversion of every element code under every scale: A row = (code, scale) at k = 0,
        #    B column n = 1.0 at k = 0 with scale TSCALES[n]
        for fa in FORMATS:
            codes = np.arange(NCODES[fa])
            cc, ss = np.meshgrid(codes, SCALES, indexing="ij")
            cc, ss = cc.ravel(), ss.ravel()
            M = -(-cc.size // 64) * 64
            K = 64
            a = np.zeros((M, K), np.uint8)
            a[:cc.size, 0] = cc
            sa = np.full((M, K // 32), 127, np.uint8)
            sa[:cc.size, 0] = ss
            N = 64
            b = np.zeros((K, N), np.uint8)
            b[0, :] = ONE["e4m3"]
            sb = np.full((N, K // 32), 127, np.uint8)
            sb[:16, 0] = TSCALES
            op = add_ops(f"conv_{fa}", a, sa, b, sb, fa, "e4m3", keep=10 ** 9)
            arrays[f"{op}_cols"], arrays[f"{op}_b"], arrays[f"{op}_sb"] = np.arange(16), b[:, :16], sb[:16]
            arrays[f"conv_{fa}_grid"] = np.stack([cc, ss])
            run(op, 64, note="every code x scale of A; B = 1.0 with scales TSCALES[:16]", fit=True)
            run(op, 64, fast=True, note="fast_math", fit=False)
        # the same with the format on the B side (B column = code, A row scale)
        for fb in FORMATS:
            codes = np.arange(NCODES[fb])
            bscales = np.array([0, 1, 127, 254, 255], np.uint8)
            cc, ss = np.meshgrid(codes, bscales, indexing="ij")
            cc, ss = cc.ravel(), ss.ravel()
            N = -(-cc.size // 64) * 64
            K = 64
            b = np.zeros((K, N), np.uint8)
            b[0, :cc.size] = cc
            sb = np.full((N, K // 32), 127, np.uint8)
            sb[:cc.size, 0] = ss
            M = 64
            a = np.zeros((M, K), np.uint8)
            a[:, 0] = ONE["e4m3"]
            sa = np.full((M, K // 32), 127, np.uint8)
            sa[:16, 0] = TSCALES
            op = add_ops(f"convb_{fb}", a, sa, b, sb, "e4m3", fb, keep=10 ** 9)
            arrays[f"{op}_rows"], arrays[f"{op}_a"], arrays[f"{op}_sa"] = np.arange(16), a[:16], sa[:16]
            run(op, 64, note="every code x scale of B; A = 1.0 with scales TSCALES[:16]", fit=True)
        # 2. scales that push scaled elements out of range (high and low), and NaN scales
        for fa, fb in (("e4m3", "e4m3"), ("e2m1", "e2m1"), ("e5m2", "e4m3"), ("e2m3", "e3m2")):
            for lo, hi, tag in ((230, 254, "high"), (0, 30, "low"), (118, 255, "nan")):
                op = rand_ops(f"oor_{tag}_{fa}_{fb}", fa, fb, 64, 64, 256, lo, hi, keep=8)
                run(op, 64, note=f"scales {lo}..{hi}", fit=tag != "nan")
                if tag == "nan":
                    run(op, 64, fast=True, note=f"scales {lo}..{hi}, fast_math", fit=False)
        # 3. one large scaled element among small ones, mixed signs (the bf16 chain's alignment)
        for fa, fb in (("e4m3", "e4m3"), ("e2m1", "e4m3"), ("e2m1", "e2m1")):
            M, N, K = 64, 64, 256
            a = rand_codes(fa, (M, K))
            sa = rng.integers(100, 110, (M, K // 32)).astype(np.uint8)
            sa[:, ::2] = rng.integers(140, 150, (M, K // 64))  # every other block large
            op = add_ops(f"bigsmall_{fa}_{fb}", a, sa, rand_codes(fb, (K, N)),
                         rng.integers(120, 135, (N, K // 32)).astype(np.uint8), fa, fb, keep=16)
            run(op, 64, note="blocks alternate scale 2^13..22 and 2^-27..-18", fit=True)
            run(op, 128, note="same, BK 128", fit=False)
        # 4. long K (held back from fitting)
        for fa, fb, K in (("e2m1", "e2m1", 8192), ("e4m3", "e5m2", 4096), ("e3m2", "e2m1", 2048)):
            op = rand_ops(f"long_{fa}_{fb}", fa, fb, 64, 64, K, 115, 140, keep=16)
            run(op, 128, note=f"K={K}", fit=False)
        # 5. bigger tile shape (held back): 128x128 outputs, BM = BN = 128
        op = rand_ops("tile128_e4m3_e2m1", "e4m3", "e2m1", 256, 256, 512, keep=16)
        run(op, 128, bm=128, bn=128, note="BM = BN = 128", fit=False)
    else:
        # held-back round: new seed, every pair at K = 512 with BK 128 and BK 256
        for fa in FORMATS:
            for fb in FORMATS:
                op = rand_ops(f"h_{fa}_{fb}", fa, fb, 64, 64, 512, 110, 145, keep=8)
                for bk in (128, 256):
                    run(op, bk, note="held back", fit=False)



try:
    main()
except Exception as e:  # noqa: BLE001 - keep what was recorded
    import traceback
    traceback.print_exc()
    INFO["main_error"] = f"{type(e).__name__}: {e}"
INFO["seconds"] = time.time() - t0
np.savez_compressed(os.path.join(OUT, f"dot_scaled_{ROUND}.npz"), **arrays)
with open(os.path.join(OUT, f"dot_scaled_{ROUND}.json"), "w") as f:
    json.dump(dict(env=INFO, cases=cases, ir=IR), f, indent=1, default=str)
print("done", len(cases), "cases", sum("error" in c for c in cases), "errors", INFO["seconds"], "s")
