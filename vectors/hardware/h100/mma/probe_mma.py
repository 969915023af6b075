"""Probe single tensor-core instructions (mma.sync) and crafted cuBLAS matmuls on the GPU.

On the GPU machine:  python3 probe_mma.py --out DIR
On a CPU (no CuPy):  python3 probe_mma.py --out DIR --dry-run   (generates every operand set,
                     checks the fragment index maps against numpy, writes no outputs)

Each warp issues ONE mma instruction (inline PTX in a CuPy RawKernel) on its own tile:
A (16 x K, row major), B (K x 8), C (16 x 8) loaded from global memory into the fragment
registers of the PTX ISA ("Matrix Fragments for mma.m16n8k4 / m16n8k8 / m16n8k16"), D stored
back.  Operands come from gen.py (deterministic, numpy only); DIR/mma_outputs.npz holds
``D_<instr>`` (bit patterns, P x 16 x 8), DIR/cublas_outputs.npz holds ``<path>_<M>x<N>x<K>``
(C[:, :2] of every crafted matmul, bits), DIR/meta.json the environment and the SHA-256 of
every operand array (fit_mma.py regenerates the operands and checks them).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen  # noqa: E402

SRC = r"""
__device__ __forceinline__ unsigned pk(const unsigned short* p, int lo, int hi) {
    return (unsigned)p[lo] | ((unsigned)p[hi] << 16);
}
extern "C" __global__ void tf32_k8(const unsigned* A, const unsigned* B, const unsigned* C, unsigned* D, int P) {
    int w = (blockIdx.x * blockDim.x + threadIdx.x) >> 5, l = threadIdx.x & 31;
    if (w >= P) return;
    int g = l >> 2, t = l & 3;
    const unsigned* a = A + w * 16 * 8; const unsigned* b = B + w * 8 * 8;
    const unsigned* c = C + w * 128; unsigned* d = D + w * 128;
    unsigned a0 = a[g * 8 + t], a1 = a[(g + 8) * 8 + t], a2 = a[g * 8 + t + 4], a3 = a[(g + 8) * 8 + t + 4];
    unsigned b0 = b[t * 8 + g], b1 = b[(t + 4) * 8 + g];
    float c0 = __uint_as_float(c[g * 8 + 2 * t]), c1 = __uint_as_float(c[g * 8 + 2 * t + 1]);
    float c2 = __uint_as_float(c[(g + 8) * 8 + 2 * t]), c3 = __uint_as_float(c[(g + 8) * 8 + 2 * t + 1]);
    float d0, d1, d2, d3;
    asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%10,%11,%12,%13};\n"
        : "=f"(d0), "=f"(d1), "=f"(d2), "=f"(d3)
        : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1), "f"(c0), "f"(c1), "f"(c2), "f"(c3));
    d[g * 8 + 2 * t] = __float_as_uint(d0); d[g * 8 + 2 * t + 1] = __float_as_uint(d1);
    d[(g + 8) * 8 + 2 * t] = __float_as_uint(d2); d[(g + 8) * 8 + 2 * t + 1] = __float_as_uint(d3);
}
extern "C" __global__ void tf32_k4(const unsigned* A, const unsigned* B, const unsigned* C, unsigned* D, int P) {
    int w = (blockIdx.x * blockDim.x + threadIdx.x) >> 5, l = threadIdx.x & 31;
    if (w >= P) return;
    int g = l >> 2, t = l & 3;
    const unsigned* a = A + w * 16 * 4; const unsigned* b = B + w * 4 * 8;
    const unsigned* c = C + w * 128; unsigned* d = D + w * 128;
    unsigned a0 = a[g * 4 + t], a1 = a[(g + 8) * 4 + t];
    unsigned b0 = b[t * 8 + g];
    float c0 = __uint_as_float(c[g * 8 + 2 * t]), c1 = __uint_as_float(c[g * 8 + 2 * t + 1]);
    float c2 = __uint_as_float(c[(g + 8) * 8 + 2 * t]), c3 = __uint_as_float(c[(g + 8) * 8 + 2 * t + 1]);
    float d0, d1, d2, d3;
    asm volatile("mma.sync.aligned.m16n8k4.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5}, {%6}, {%7,%8,%9,%10};\n"
        : "=f"(d0), "=f"(d1), "=f"(d2), "=f"(d3)
        : "r"(a0), "r"(a1), "r"(b0), "f"(c0), "f"(c1), "f"(c2), "f"(c3));
    d[g * 8 + 2 * t] = __float_as_uint(d0); d[g * 8 + 2 * t + 1] = __float_as_uint(d1);
    d[(g + 8) * 8 + 2 * t] = __float_as_uint(d2); d[(g + 8) * 8 + 2 * t + 1] = __float_as_uint(d3);
}
extern "C" __global__ void f16_k16_f32(const unsigned short* A, const unsigned short* B, const unsigned* C, unsigned* D, int P) {
    int w = (blockIdx.x * blockDim.x + threadIdx.x) >> 5, l = threadIdx.x & 31;
    if (w >= P) return;
    int g = l >> 2, t = l & 3;
    const unsigned short* a = A + w * 16 * 16; const unsigned short* b = B + w * 16 * 8;
    const unsigned* c = C + w * 128; unsigned* d = D + w * 128;
    unsigned a0 = pk(a, g * 16 + 2 * t, g * 16 + 2 * t + 1), a1 = pk(a, (g + 8) * 16 + 2 * t, (g + 8) * 16 + 2 * t + 1);
    unsigned a2 = pk(a, g * 16 + 2 * t + 8, g * 16 + 2 * t + 9), a3 = pk(a, (g + 8) * 16 + 2 * t + 8, (g + 8) * 16 + 2 * t + 9);
    unsigned b0 = pk(b, (2 * t) * 8 + g, (2 * t + 1) * 8 + g), b1 = pk(b, (2 * t + 8) * 8 + g, (2 * t + 9) * 8 + g);
    float c0 = __uint_as_float(c[g * 8 + 2 * t]), c1 = __uint_as_float(c[g * 8 + 2 * t + 1]);
    float c2 = __uint_as_float(c[(g + 8) * 8 + 2 * t]), c3 = __uint_as_float(c[(g + 8) * 8 + 2 * t + 1]);
    float d0, d1, d2, d3;
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%10,%11,%12,%13};\n"
        : "=f"(d0), "=f"(d1), "=f"(d2), "=f"(d3)
        : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1), "f"(c0), "f"(c1), "f"(c2), "f"(c3));
    d[g * 8 + 2 * t] = __float_as_uint(d0); d[g * 8 + 2 * t + 1] = __float_as_uint(d1);
    d[(g + 8) * 8 + 2 * t] = __float_as_uint(d2); d[(g + 8) * 8 + 2 * t + 1] = __float_as_uint(d3);
}
extern "C" __global__ void f16_k16_f16(const unsigned short* A, const unsigned short* B, const unsigned short* C, unsigned short* D, int P) {
    int w = (blockIdx.x * blockDim.x + threadIdx.x) >> 5, l = threadIdx.x & 31;
    if (w >= P) return;
    int g = l >> 2, t = l & 3;
    const unsigned short* a = A + w * 16 * 16; const unsigned short* b = B + w * 16 * 8;
    const unsigned short* c = C + w * 128; unsigned short* d = D + w * 128;
    unsigned a0 = pk(a, g * 16 + 2 * t, g * 16 + 2 * t + 1), a1 = pk(a, (g + 8) * 16 + 2 * t, (g + 8) * 16 + 2 * t + 1);
    unsigned a2 = pk(a, g * 16 + 2 * t + 8, g * 16 + 2 * t + 9), a3 = pk(a, (g + 8) * 16 + 2 * t + 8, (g + 8) * 16 + 2 * t + 9);
    unsigned b0 = pk(b, (2 * t) * 8 + g, (2 * t + 1) * 8 + g), b1 = pk(b, (2 * t + 8) * 8 + g, (2 * t + 9) * 8 + g);
    unsigned c0 = pk(c, g * 8 + 2 * t, g * 8 + 2 * t + 1), c1 = pk(c, (g + 8) * 8 + 2 * t, (g + 8) * 8 + 2 * t + 1);
    unsigned d0, d1;
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f16.f16.f16.f16 {%0,%1}, {%2,%3,%4,%5}, {%6,%7}, {%8,%9};\n"
        : "=r"(d0), "=r"(d1)
        : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1), "r"(c0), "r"(c1));
    d[g * 8 + 2 * t] = d0 & 0xFFFF; d[g * 8 + 2 * t + 1] = d0 >> 16;
    d[(g + 8) * 8 + 2 * t] = d1 & 0xFFFF; d[(g + 8) * 8 + 2 * t + 1] = d1 >> 16;
}
extern "C" __global__ void f16_k8_f16(const unsigned short* A, const unsigned short* B, const unsigned short* C, unsigned short* D, int P) {
    int w = (blockIdx.x * blockDim.x + threadIdx.x) >> 5, l = threadIdx.x & 31;
    if (w >= P) return;
    int g = l >> 2, t = l & 3;
    const unsigned short* a = A + w * 16 * 8; const unsigned short* b = B + w * 8 * 8;
    const unsigned short* c = C + w * 128; unsigned short* d = D + w * 128;
    unsigned a0 = pk(a, g * 8 + 2 * t, g * 8 + 2 * t + 1), a1 = pk(a, (g + 8) * 8 + 2 * t, (g + 8) * 8 + 2 * t + 1);
    unsigned b0 = pk(b, (2 * t) * 8 + g, (2 * t + 1) * 8 + g);
    unsigned c0 = pk(c, g * 8 + 2 * t, g * 8 + 2 * t + 1), c1 = pk(c, (g + 8) * 8 + 2 * t, (g + 8) * 8 + 2 * t + 1);
    unsigned d0, d1;
    asm volatile("mma.sync.aligned.m16n8k8.row.col.f16.f16.f16.f16 {%0,%1}, {%2,%3}, {%4}, {%5,%6};\n"
        : "=r"(d0), "=r"(d1)
        : "r"(a0), "r"(a1), "r"(b0), "r"(c0), "r"(c1));
    d[g * 8 + 2 * t] = d0 & 0xFFFF; d[g * 8 + 2 * t + 1] = d0 >> 16;
    d[(g + 8) * 8 + 2 * t] = d1 & 0xFFFF; d[(g + 8) * 8 + 2 * t + 1] = d1 >> 16;
}
"""


def exact_check(name, A, B, C, D):
    """The small-integer family must come back exact (validates the fragment maps)."""
    K, inp, acc, _ = gen.INSTR[name]
    if inp == "tf32":
        a = A.view(np.float32).astype(np.float64)
        b = B.view(np.float32).astype(np.float64)
    else:
        a = A.view(np.float16).astype(np.float64)
        b = B.view(np.float16).astype(np.float64)
    c = (C.view(np.float32) if acc == "f32" else C.view(np.float16)).astype(np.float64)
    d = (D.view(np.float32) if acc == "f32" else D.view(np.float16)).astype(np.float64)
    want = np.einsum("pik,pkj->pij", a, b) + c
    return int(np.count_nonzero(want != d))


def run_mma(cp, out, meta, dry):
    res = {}
    mod = None if dry else cp.RawModule(code=SRC)
    for name in gen.INSTR:
        A, B, C, fam = gen.mma_probes(name)
        meta["operands"][name] = {"A": gen.sha(A), "B": gen.sha(B), "C": gen.sha(C), "fam": gen.sha(fam),
                                  "probes": int(A.shape[0])}
        if dry:
            continue
        P = A.shape[0]
        k = mod.get_function(name)
        dA, dB, dC = cp.asarray(A), cp.asarray(B), cp.asarray(C)
        dD = cp.zeros(C.shape, C.dtype)
        t = time.time()
        k(((P + 3) // 4,), (128,), (dA, dB, dC, dD, np.int32(P)))
        cp.cuda.Device().synchronize()
        D = cp.asnumpy(dD)
        ints = fam == 0
        bad = exact_check(name, A[ints], B[ints], C[ints], D[ints])
        meta["mma"][name] = {"seconds": round(time.time() - t, 4), "int_family_mismatches": bad}
        print(name, "int-family mismatches:", bad, flush=True)
        res[f"D_{name}"] = D
    if not dry:
        np.savez_compressed(os.path.join(out, "mma_outputs.npz"), **res)


def run_cublas(out, meta, dry):
    import torch

    dev = "cpu" if dry else "cuda"
    m = torch.backends.cuda.matmul
    res = {}
    for path in gen.CUBLAS_PATHS:
        for (M, N, K, reps) in gen.CUBLAS_SHAPES:
            outs = []
            for rep in range(reps):
                A, B = gen.cublas_probe(path, M, N, K, rep)
                meta["cublas_operands"][f"{path}_{M}x{N}x{K}_{rep}"] = {"A": gen.sha(A), "B": gen.sha(B)}
                if dry:
                    continue
                if path == "tf32":
                    tA = torch.from_numpy(A.view(np.int32)).view(torch.float32).to(dev)
                    tB = torch.from_numpy(B.view(np.int32)).view(torch.float32).to(dev)
                    m.allow_tf32 = True
                    try:
                        Cm = torch.matmul(tA, tB)
                    finally:
                        m.allow_tf32 = False
                    outs.append(Cm[:, :2].contiguous().view(torch.int32).cpu().numpy().view(np.uint32))
                else:
                    tA = torch.from_numpy(A.view(np.int16)).view(torch.float16).to(dev)
                    tB = torch.from_numpy(B.view(np.int16)).view(torch.float16).to(dev)
                    m.allow_fp16_accumulation = True
                    try:
                        Cm = torch.matmul(tA, tB)
                    finally:
                        m.allow_fp16_accumulation = False
                    outs.append(Cm[:, :2].contiguous().view(torch.int16).cpu().numpy().view(np.uint16))
            if not dry:
                torch.cuda.synchronize()
                res[f"{path}_{M}x{N}x{K}"] = np.stack(outs)
                print(path, M, N, K, "done", flush=True)
    if not dry:
        np.savez_compressed(os.path.join(out, "cublas_outputs.npz"), **res)


def kernels_of_cublas():
    """The kernels cuBLAS launches per crafted shape (torch.profiler), for the record."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    m = torch.backends.cuda.matmul
    names = {}
    for path in gen.CUBLAS_PATHS:
        for (M, N, K, _) in gen.CUBLAS_SHAPES:
            dt = torch.float32 if path == "tf32" else torch.float16
            A = torch.ones(M, K, dtype=dt, device="cuda")
            B = torch.ones(K, N, dtype=dt, device="cuda")
            if path == "tf32":
                m.allow_tf32 = True
            else:
                m.allow_fp16_accumulation = True
            with profile(activities=[ProfilerActivity.CUDA]) as prof:
                torch.matmul(A, B)
                torch.cuda.synchronize()
            m.allow_tf32 = False
            m.allow_fp16_accumulation = False
            names[f"{path}_{M}x{N}x{K}"] = sorted({e.name for e in prof.events() if e.device_type.name == "CUDA"})
    return names


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--dry-run", action="store_true")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    meta = {"env": {}, "operands": {}, "mma": {}, "cublas_operands": {}}
    cp = None
    if not args.dry_run:
        import cupy as cp  # noqa: F811
        import torch

        meta["env"] = {"python": sys.version, "platform": platform.platform(), "numpy": np.__version__,
                       "cupy": cp.__version__, "torch": torch.__version__, "cuda": torch.version.cuda,
                       "gpu": torch.cuda.get_device_name(0)}
        try:
            meta["env"]["nvidia_smi"] = subprocess.run(
                ["nvidia-smi", "--query-gpu=name,driver_version,clocks.max.sm", "--format=csv,noheader"],
                capture_output=True, text=True, timeout=30).stdout.strip()
        except Exception as e:  # noqa: BLE001
            meta["env"]["nvidia_smi"] = repr(e)
    t0 = time.time()
    run_mma(cp, args.out, meta, args.dry_run)
    print("mma done", round(time.time() - t0, 2), flush=True)
    run_cublas(args.out, meta, args.dry_run)
    print("cublas done", round(time.time() - t0, 2), flush=True)
    if not args.dry_run:
        try:
            meta["cublas_kernels"] = kernels_of_cublas()
        except Exception as e:  # noqa: BLE001
            meta["cublas_kernels"] = repr(e)
    with open(os.path.join(args.out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1, sort_keys=True)
    print("all done", round(time.time() - t0, 2))


if __name__ == "__main__":
    main()
