"""Record every matmul path of an H100 to the bit: cuBLAS (torch, CuPy gemmEx), Triton tl.dot.

Run on the GPU machine:   python3 probe_paths.py --out DIR
Check the harness on CPU: python probe_paths.py --out DIR --dry-run   (CPU torch; no Triton/CuPy)

Writes DIR/operands.npz (input bit patterns), DIR/outputs.npz (output bit patterns),
DIR/cases.json (one entry per recorded case) and DIR/env.json (GPU, driver, versions).

Operand sets are keyed ``{fam}_{dist}_{M}x{N}x{K}``: fam is f16 / bf16 / f32 / i8 / e4m3,
dist is allcodes (every finite code alike; for bf16/f32 "wideexp": sign, exponent uniform in
[-24, 24], random mantissa bits), normal (N(0,1) cast), heavy (normal with 1% outliers scaled
by 2^U(4,10)), or crafted (hand-built single-block probes, see ``crafted``).  The full M×K and
K×N operands take part in the product; only rows ``rows`` of A and columns ``cols`` of B are
saved (``op_<key>_a`` = A[rows, :], ``op_<key>_b`` = B[:, cols]), and only the outputs
C[rows][:, cols] (``out_<id>``), so that large shapes stay small on disk.  Every array is a
bit pattern: uint16 for float16/bfloat16, uint32 for float32, int8 for int8, uint8 for
float8_e4m3fn; outputs uint16 / uint32 (int32 for _int_mm) as the output dtype says.
Generation is deterministic (numpy PCG64 with fixed seeds) and independent of the GPU.
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
import torch

DRY = False
DEV = "cuda"

FAM = {
    "f16": (torch.float16, np.uint16, torch.int16),
    "bf16": (torch.bfloat16, np.uint16, torch.int16),
    "f32": (torch.float32, np.uint32, torch.int32),
    "i8": (torch.int8, np.int8, torch.int8),
    "e4m3": (torch.float8_e4m3fn, np.uint8, torch.uint8),
}
# (precision incl. hidden bit, emin, emax) of each float family, for crafted probes
FINFO = {"f16": (11, -14, 15), "bf16": (8, -126, 127), "f32": (24, -126, 127), "e4m3": (4, -6, 8)}


# ------------------------------------------------------------------------------------------
# operands
# ------------------------------------------------------------------------------------------
def cast_bits(x, fam):
    """float32/float64 array -> bit patterns of fam (float32 first, then torch's CPU cast, RNE)."""
    tdt, ndt, idt = FAM[fam]
    t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    if fam == "i8":
        return t.to(torch.int8).numpy()
    return t.to(tdt).view(idt).numpy().view(ndt)


def bits_to_torch(bits, fam):
    tdt, ndt, idt = FAM[fam]
    if fam == "i8":
        return torch.from_numpy(bits.copy())
    return torch.from_numpy(bits.view(np.dtype(str(idt).replace("torch.", "")).type).copy()).view(tdt)


def gen_operand(fam, dist, shape, rng):
    n = int(np.prod(shape))
    if fam == "i8":
        if dist == "allcodes":
            return rng.integers(-128, 128, size=shape, dtype=np.int64).astype(np.int8)
        x = rng.normal(0.0, 20.0, size=shape)
        if dist == "heavy":
            x *= np.where(rng.random(shape) < 0.01, 6.0, 1.0)
        return np.clip(np.rint(x), -128, 127).astype(np.int8)
    if dist == "allcodes":
        if fam == "f16":
            b = rng.integers(0, 1 << 16, size=n, dtype=np.uint32)
            bad = ((b >> 10) & 0x1F) == 0x1F
            while bad.any():
                b[bad] = rng.integers(0, 1 << 16, size=int(bad.sum()), dtype=np.uint32)
                bad = ((b >> 10) & 0x1F) == 0x1F
            return b.astype(np.uint16).reshape(shape)
        if fam == "e4m3":
            b = rng.integers(0, 256, size=n, dtype=np.uint32)
            bad = (b & 0x7F) == 0x7F
            while bad.any():
                b[bad] = rng.integers(0, 256, size=int(bad.sum()), dtype=np.uint32)
                bad = (b & 0x7F) == 0x7F
            return b.astype(np.uint8).reshape(shape)
        # bf16 / f32: "wideexp" (every mantissa alike, exponent uniform in [-24, 24])
        e = rng.integers(-24, 25, size=n)
        if fam == "bf16":
            m = rng.integers(0, 1 << 7, size=n)
            b = (rng.integers(0, 2, size=n) << 15) | ((e + 127) << 7) | m
            return b.astype(np.uint16).reshape(shape)
        m = rng.integers(0, 1 << 23, size=n)
        b = (rng.integers(0, 2, size=n) << 31) | ((e + 127) << 23) | m
        return b.astype(np.uint32).reshape(shape)
    x = rng.normal(0.0, 1.0, size=shape)
    if dist == "heavy":
        out = rng.random(shape) < 0.01
        x = np.where(out, x * np.exp2(rng.uniform(4.0, 10.0, size=shape)), x)
    if fam == "f32":
        return x.astype(np.float32).view(np.uint32)
    return cast_bits(x.astype(np.float32), fam)


def crafted(fam, K):
    """Hand-built single-block probes: list of (name, a_values, b_values), each length K.

    Every value is exactly representable in fam (checked by the caller).
    """
    p, emin, emax = FINFO[fam]
    probes = []

    def vec(fill=0.0):
        return [fill] * K

    def pw(e):  # 2^e as a product a*b of two representable powers of two
        ea = e // 2
        eb = e - ea
        return 2.0 ** ea, 2.0 ** eb

    inf = float("inf")
    nan = float("nan")
    if fam == "e4m3":
        js = [8, 9, 10, 11, 12, 13, 14, 15, 16]
        big, tiny_e = 8, -8   # block-position probe: +-2^8 cancel, tiny 2^-8 elsewhere
        canc = 1.0 + 2.0 ** -3
    else:
        js = [20, 22, 23, 24, 25, 26, 27, 28, 30]
        big, tiny_e = 0, -20
        canc = 1.0 + 2.0 ** -7
    # 1. one large term and K-1 tiny terms 2^-j of either sign
    for s in (1.0, -1.0):
        for j in js:
            a, b = vec(), vec()
            a[0], b[0] = 1.0, 1.0
            ta, tb = pw(-j)
            for k in range(1, K):
                a[k], b[k] = s * ta, tb
            probes.append((f"big_tiny_s{int(s)}_j{j}", a, b))
    # 2. one large term and ONE small term with two significant bits: truncation direction
    for s in (1.0, -1.0):
        for j in js[1:6]:
            a, b = vec(), vec()
            a[0], b[0] = 1.0, 1.0
            ta, tb = pw(-j)
            a[1], b[1] = s * 1.5 * ta, tb
            probes.append((f"two_term_s{int(s)}_j{j}", a, b))
    # 3. block position: +2^big at k=p, -2^big at k=p+1, tiny 2^tiny_e everywhere else
    for pos in sorted({0, 7, 8, 15, 16, 23, 31, K - 2} & set(range(K - 1))):
        a, b = vec(), vec()
        ta, tb = pw(tiny_e)
        for k in range(K):
            a[k], b[k] = ta, tb
        ba, bb = pw(big)
        a[pos], b[pos] = ba, bb
        a[pos + 1], b[pos + 1] = -ba, bb
        probes.append((f"blockpos_p{pos}", a, b))
    # 4. cancellation, then tiny terms
    for j in (js[0], js[3], js[-1]):
        a, b = vec(), vec()
        a[0], b[0] = canc, 1.0
        a[1], b[1] = -1.0, 1.0
        ta, tb = pw(-j)
        for k in range(2, K):
            a[k], b[k] = ta, tb
        probes.append((f"cancel_j{j}", a, b))
    # 5. zeros
    probes.append(("zeros_pos", vec(0.0), vec(0.0)))
    probes.append(("zeros_negprod", vec(-0.0), vec(1.0)))
    a, b = vec(0.0), vec(1.0)
    a[3] = -0.0
    probes.append(("zeros_one_neg", a, b))
    a, b = vec(0.0), vec(0.0)
    a[0], b[0], a[1], b[1] = 1.0, 1.0, -1.0, 1.0
    probes.append(("exact_cancel", a, b))
    a, b = vec(0.0), vec(0.0)
    a[0], b[0], a[1], b[1] = -1.0, 1.0, 1.0, 1.0
    probes.append(("exact_cancel_neg_first", a, b))
    # 6. specials
    if fam != "e4m3":
        a, b = vec(), vec()
        a[0], b[0], a[1], b[1] = inf, 1.0, 1.0, 1.0
        probes.append(("inf_plus_one", a, b))
        a, b = vec(), vec()
        a[0], b[0], a[1], b[1] = inf, 1.0, -inf, 1.0
        probes.append(("inf_minus_inf", a, b))
        a, b = vec(), vec()
        a[2], b[2] = inf, 0.0
        probes.append(("inf_times_zero", a, b))
        a, b = vec(), vec()
        a[2], b[2] = -inf, -2.0
        probes.append(("neginf_times_neg", a, b))
    a, b = vec(), vec()
    a[1], b[1], a[0], b[0] = nan, 1.0, 1.0, 1.0
    probes.append(("nan_operand", a, b))
    a, b = vec(), vec()
    a[1], b[1] = -nan, 0.0
    probes.append(("negnan_times_zero", a, b))
    # 7. subnormal operands and tiny products
    smin = emin - (p - 1)  # exponent of the smallest subnormal
    a, b = vec(), vec()
    for k in range(K):
        a[k], b[k] = 2.0 ** smin, 2.0 ** smin
    probes.append(("subnormal_squares", a, b))
    a, b = vec(), vec()
    a[0], b[0] = 2.0 ** smin, 1.0
    probes.append(("subnormal_times_one", a, b))
    a, b = vec(), vec()
    a[0], b[0] = 3.0 * 2.0 ** smin, 2.0 ** (emin + 3)
    a[1], b[1] = 1.0 * 2.0 ** emin, 2.0 ** emin
    probes.append(("subnormal_mix", a, b))
    if fam in ("bf16", "f32"):
        # products below float32's normal and subnormal ranges
        for e in (-140, -149, -150, -160):
            a, b = vec(), vec()
            a[0], b[0] = 2.0 ** (e + 100), 2.0 ** -100
            probes.append((f"tiny_product_2^{e}", a, b))
        a, b = vec(), vec()
        a[0], b[0] = 2.0 ** -126, 1.0
        a[1], b[1] = -(2.0 ** -127), 1.0
        probes.append(("result_subnormal", a, b))
    # 8. overflow
    if fam in ("bf16", "f32"):
        a, b = vec(), vec()
        a[0], b[0], a[1], b[1] = 2.0 ** 127, 2.0, -(2.0 ** 127), 2.0
        probes.append(("product_overflow_cancel", a, b))
        a, b = vec(), vec()
        a[0], b[0], a[1], b[1] = 1.5 * 2.0 ** 126, 2.0, 1.5 * 2.0 ** 126, 1.0
        probes.append(("sum_overflow", a, b))
        a, b = vec(), vec()
        a[0], b[0], a[1], b[1] = 1.5 * 2.0 ** 126, 2.0, -(2.0 ** 126), 2.0
        probes.append(("big_cancel_finite", a, b))
    if fam == "f16":
        a, b = vec(), vec()
        a[0], b[0], a[1], b[1] = 65504.0, 1.0, 32.0, 1.0
        probes.append(("f16_out_overflow_edge", a, b))
        a, b = vec(), vec()
        a[0], b[0], a[1], b[1] = 65504.0, 1.0, 16.0, 1.0
        probes.append(("f16_out_below_overflow", a, b))
        a, b = vec(), vec()
        a[0], b[0] = 256.0, 256.0
        probes.append(("f16_product_65536", a, b))
    # 9. float32 inputs with bits below TF32's 10 fraction bits (input conversion)
    if fam == "f32":
        u = 2.0 ** -23
        for name, m in (("tie_even", 2 ** 12), ("tie_odd", 3 * 2 ** 12), ("above_half", 2 ** 12 + 1),
                        ("below_half", 2 ** 12 - 1), ("one_ulp", 1), ("almost_next", 2 ** 13 - 1)):
            for s in (1.0, -1.0):
                a, b = vec(), vec()
                a[0], b[0] = s * (1.0 + m * u), 1.0
                probes.append((f"tf32_in_{name}_s{int(s)}", a, b))
        a, b = vec(), vec()
        a[0], b[0] = 1.0, 1.0 + (2 ** 12 + 1) * 2.0 ** -23
        probes.append(("tf32_in_b_above_half", a, b))
    return probes


class Recorder:
    def __init__(self):
        self.ops = {}
        self.outs = {}
        self.cases = []
        self.opinfo = {}

    def add_operands(self, key, fam, dist, M, N, K, A, B, rows, cols, probes=None):
        self.ops[f"op_{key}_a"] = A[rows, :]
        self.ops[f"op_{key}_b"] = B[:, cols]
        self.ops[f"op_{key}_rows"] = np.asarray(rows, np.int32)
        self.ops[f"op_{key}_cols"] = np.asarray(cols, np.int32)
        self.opinfo[key] = dict(fam=fam, dist=dist, M=M, N=N, K=K, probes=probes)

    def add_case(self, key, path, params, out, err=None, seconds=None):
        cid = len(self.cases)
        case = dict(id=cid, operands=key, path=path, params=params, **{
            k: v for k, v in self.opinfo[key].items() if k != "probes"})
        if err is not None:
            case["error"] = err
        else:
            case["out_dtype"] = out.dtype.name
            self.outs[f"out_{cid}"] = out
        if seconds is not None:
            case["seconds"] = round(seconds, 4)
        self.cases.append(case)


# ------------------------------------------------------------------------------------------
# paths
# ------------------------------------------------------------------------------------------
def out_bits(t):
    t = t.detach().cpu()
    if t.dtype in (torch.float16, torch.bfloat16):
        return t.view(torch.int16).numpy().view(np.uint16)
    if t.dtype == torch.float32:
        return t.view(torch.int32).numpy().view(np.uint32)
    if t.dtype == torch.int32:
        return t.numpy()
    raise TypeError(t.dtype)


def set_flags(rpr16=False, rpr_bf16=False, tf32=False, fp16acc=False):
    m = torch.backends.cuda.matmul
    m.allow_fp16_reduced_precision_reduction = rpr16
    m.allow_bf16_reduced_precision_reduction = rpr_bf16
    m.allow_tf32 = tf32
    if hasattr(m, "allow_fp16_accumulation"):
        m.allow_fp16_accumulation = fp16acc
    elif fp16acc:
        raise RuntimeError("torch.backends.cuda.matmul.allow_fp16_accumulation not available")


def torch_mm(A, B, **flags):
    set_flags(**flags)
    try:
        return torch.matmul(A, B)
    finally:
        set_flags()


def torch_mm_out32(A, B):
    set_flags()
    return torch.mm(A, B, out_dtype=torch.float32)


def torch_int_mm(A, B):
    return torch._int_mm(A, B)


def torch_scaled_mm(A, B, fast):
    one = torch.tensor(1.0, device=A.device)
    return torch._scaled_mm(A, B.t().contiguous().t(), scale_a=one, scale_b=one,
                            out_dtype=torch.float32, use_fast_accum=fast)


def cupy_gemmex(A, B, in_type, out_type, compute):
    """cublasGemmEx through CuPy, row-major C = A @ B as column-major C^T = B^T A^T."""
    import cupy as cp
    from cupy.cuda import cublas
    torch.cuda.synchronize()
    M, K = A.shape
    N = B.shape[1]
    a = cp.asarray(A.view(torch.int16).cpu().numpy())
    b = cp.asarray(B.view(torch.int16).cpu().numpy())
    odt = np.uint16 if out_type != 0 else np.uint32
    c = cp.zeros((M, N), dtype=odt)
    sdt = np.float16 if compute == 64 else np.float32  # CUBLAS_COMPUTE_16F = 64
    alpha = np.array(1.0, dtype=sdt)
    beta = np.array(0.0, dtype=sdt)
    h = cp.cuda.device.get_cublas_handle()
    cublas.gemmEx(h, 0, 0, N, M, K, alpha.ctypes.data, b.data.ptr, in_type, N,
                  a.data.ptr, in_type, K, beta.ctypes.data, c.data.ptr, out_type, N,
                  compute, -1)
    cp.cuda.Device().synchronize()
    return c.get()


_TRITON = {}


def triton_kernel():
    if "k" in _TRITON:
        return _TRITON["k"]
    import triton
    import triton.language as tl

    @triton.jit
    def mm(a_ptr, b_ptr, c_ptr, M, N, K, BM: tl.constexpr, BN: tl.constexpr, BK: tl.constexpr,
           MODE: tl.constexpr, PREC: tl.constexpr, IMP: tl.constexpr):
        pid_m = tl.program_id(0)
        pid_n = tl.program_id(1)
        rm = pid_m * BM + tl.arange(0, BM)
        rn = pid_n * BN + tl.arange(0, BN)
        rk = tl.arange(0, BK)
        if MODE == 2:
            acc = tl.zeros((BM, BN), dtype=tl.float16)
        else:
            acc = tl.zeros((BM, BN), dtype=tl.float32)
        for k0 in range(0, K, BK):
            ka = k0 + rk
            a = tl.load(a_ptr + rm[:, None] * K + ka[None, :],
                        mask=(rm[:, None] < M) & (ka[None, :] < K), other=0.0)
            b = tl.load(b_ptr + ka[:, None] * N + rn[None, :],
                        mask=(ka[:, None] < K) & (rn[None, :] < N), other=0.0)
            if MODE == 0:      # default tl.dot, float32 accumulator
                acc = tl.dot(a, b, acc)
            elif MODE == 1:    # explicit input_precision (float32 inputs)
                acc = tl.dot(a, b, acc, input_precision=PREC)
            elif MODE == 2:    # float16 accumulator
                acc = tl.dot(a, b, acc, out_dtype=tl.float16)
            else:              # max_num_imprecise_acc = IMP
                acc = tl.dot(a, b, acc, max_num_imprecise_acc=IMP)
        tl.store(c_ptr + rm[:, None] * N + rn[None, :], acc,
                 mask=(rm[:, None] < M) & (rn[None, :] < N))

    _TRITON["k"] = mm
    return mm


def triton_dot(A, B, BK, mode=0, prec="tf32", imp=0, acc16=False):
    k = triton_kernel()
    M, K = A.shape
    N = B.shape[1]
    C = torch.empty((M, N), device=A.device, dtype=torch.float16 if mode == 2 else torch.float32)
    BM = BN = 64
    k[(triton_cdiv(M, BM), triton_cdiv(N, BN))](A, B, C, M, N, K, BM=BM, BN=BN, BK=BK, MODE=mode,
                                                PREC=prec, IMP=imp, num_warps=4)
    return C


def triton_cdiv(a, b):
    return (a + b - 1) // b


def paths_for(fam, M, N, K):
    """(path name, params, fn(A, B) -> torch tensor or numpy bits) for operands of fam."""
    P = []
    if fam in ("f16", "bf16"):
        rflag = "rpr16" if fam == "f16" else "rpr_bf16"
        P.append(("torch_matmul", {"reduced_precision_reduction": False},
                  lambda A, B: torch_mm(A, B)))
        P.append(("torch_matmul", {"reduced_precision_reduction": True},
                  lambda A, B: torch_mm(A, B, **{rflag: True})))
        P.append(("torch_mm_out_f32", {}, torch_mm_out32))
        if fam == "f16":
            P.append(("torch_matmul", {"fp16_accumulation": True},
                      lambda A, B: torch_mm(A, B, fp16acc=True)))
        if not DRY:
            t = 2 if fam == "f16" else 14  # CUDA_R_16F / CUDA_R_16BF
            P.append(("cublas_gemmex", {"compute": "32F", "out": "float32"},
                      lambda A, B, t=t: cupy_gemmex(A, B, t, 0, 68)))
            if fam == "f16":
                P.append(("cublas_gemmex", {"compute": "16F", "out": "float16"},
                          lambda A, B: cupy_gemmex(A, B, 2, 2, 64)))
            for bk in (32, 64):
                P.append(("triton_dot", {"block_k": bk, "acc": "float32"},
                          lambda A, B, bk=bk: triton_dot(A, B, bk)))
            if fam == "f16":
                P.append(("triton_dot", {"block_k": 32, "acc": "float16"},
                          lambda A, B: triton_dot(A, B, 32, mode=2)))
    elif fam == "f32":
        P.append(("torch_matmul", {"allow_tf32": True}, lambda A, B: torch_mm(A, B, tf32=True)))
        P.append(("torch_matmul", {"allow_tf32": False}, lambda A, B: torch_mm(A, B)))
        if not DRY:
            for prec in ("tf32", "tf32x3", "ieee"):
                P.append(("triton_dot", {"block_k": 32, "input_precision": prec},
                          lambda A, B, prec=prec: triton_dot(A, B, 32, mode=1, prec=prec)))
    elif fam == "i8":
        if M > 16 and K % 8 == 0 and N % 8 == 0:
            P.append(("torch_int_mm", {}, torch_int_mm))
    elif fam == "e4m3":
        if not DRY:
            for bk in (32, 64, 128):
                P.append(("triton_dot", {"block_k": bk, "max_num_imprecise_acc": 0},
                          lambda A, B, bk=bk: triton_dot(A, B, bk, mode=3, imp=0)))
            P.append(("triton_dot", {"block_k": 64, "max_num_imprecise_acc": -1},
                      lambda A, B: triton_dot(A, B, 64, mode=0)))
            if K % 16 == 0:
                for fast in (False, True):
                    P.append(("scaled_mm", {"fast_accum": fast},
                              lambda A, B, fast=fast: torch_scaled_mm(A, B, fast)))
    return P


# ------------------------------------------------------------------------------------------
def env_info():
    info = dict(python=sys.version.split()[0], torch=torch.__version__, platform=platform.platform(),
                dry_run=DRY)
    try:
        import triton
        info["triton"] = triton.__version__
    except Exception as e:  # noqa: BLE001
        info["triton"] = f"unavailable: {e}"
    try:
        import cupy
        info["cupy"] = cupy.__version__
    except Exception as e:  # noqa: BLE001
        info["cupy"] = f"unavailable: {e}"
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
        info["cuda_runtime"] = torch.version.cuda
        info["cublas"] = str(torch._C._cuda_getCompiledVersion()) if hasattr(torch._C, "_cuda_getCompiledVersion") else None
        try:
            info["driver"] = subprocess.run(
                ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                capture_output=True, text=True, timeout=30).stdout.strip()
        except Exception as e:  # noqa: BLE001
            info["driver"] = f"unknown: {e}"
    return info


def plan(quick):
    """(fam, dist, M, N, K, rows, cols) for every operand set."""
    out = []
    dists = ("allcodes", "normal", "heavy")
    ks = (16, 32, 64, 128, 256, 1000) if not quick else (16, 32, 64)
    sub = np.arange(0, 1024, 64)          # 16 rows / cols of a 1024-wide product
    sub64 = np.arange(0, 64, 4)           # 16 of 64
    for fam in ("f16", "bf16", "f32", "i8", "e4m3"):
        for dist in dists:
            for K in ks:
                out.append((fam, dist, 64, 64, K, np.arange(64), np.arange(64)))
            if not quick:
                out.append((fam, dist, 64, 64, 4096, sub64, sub64))
                out.append((fam, dist, 1024, 1024, 1024, sub, sub))
                out.append((fam, dist, 1024, 1024, 4096, sub, sub))
        if fam != "i8":
            for K in (32, 64) if not quick else (32,):
                out.append((fam, "crafted", 128, 128, K, np.arange(128), np.arange(128)))
    return out


def build_operands(fam, dist, M, N, K, seed):
    if dist == "crafted":
        probes = crafted(fam, K)
        assert len(probes) <= M, (fam, K, len(probes))
        av = np.zeros((M, K))
        bv = np.zeros((K, N))
        for i, (_, a, b) in enumerate(probes):
            av[i, :] = a
            bv[:, i] = b
        A = cast_bits(av, fam)
        B = cast_bits(bv, fam)
        # every crafted value must be exact in fam
        for arr, bits in ((av, A), (bv, B)):
            back = bits_to_torch(bits, fam).to(torch.float64).numpy()
            ok = (back == arr) | (np.isnan(back) & np.isnan(arr))
            ok &= (np.signbit(back) == np.signbit(arr)) | np.isnan(arr)  # torch may drop a NaN's sign
            assert ok.all(), (fam, K, np.argwhere(~ok)[:5], arr[~ok][:5], back[~ok][:5])
        return A, B, [name for name, _, _ in probes]
    rng = np.random.default_rng(seed)
    return gen_operand(fam, dist, (M, K), rng), gen_operand(fam, dist, (K, N), rng), None


def main():
    global DRY, DEV
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--dry-run", action="store_true", help="CPU torch only, quick plan")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--budget", type=float, default=330.0, help="seconds before saving what exists")
    args = ap.parse_args()
    DRY = args.dry_run
    DEV = "cpu" if DRY else "cuda"
    os.makedirs(args.out, exist_ok=True)
    rec = Recorder()
    t0 = time.time()
    env = env_info()
    print(json.dumps(env), flush=True)
    for si, (fam, dist, M, N, K, rows, cols) in enumerate(plan(args.quick or DRY)):
        key = f"{fam}_{dist}_{M}x{N}x{K}"
        if time.time() - t0 > args.budget:
            print(f"time budget {args.budget}s reached: stopping before {key}", flush=True)
            env["stopped_before"] = key
            break
        A, B, probes = build_operands(fam, dist, M, N, K, seed=1000 + si)
        rec.add_operands(key, fam, dist, M, N, K, A, B, rows, cols, probes)
        At = bits_to_torch(A, fam).to(DEV)
        Bt = bits_to_torch(B, fam).to(DEV)
        for path, params, fn in paths_for(fam, M, N, K):
            err = None
            out = None
            ts = time.time()
            try:
                r = fn(At, Bt)
                full = out_bits(r) if isinstance(r, torch.Tensor) else r
                if DEV == "cuda":
                    torch.cuda.synchronize()
                out = np.ascontiguousarray(full[np.ix_(rows, cols)])
            except Exception as e:  # noqa: BLE001
                err = f"{type(e).__name__}: {e}"[:400]
                print("  ", path, params, err[:200], flush=True)
            rec.add_case(key, path, params, out, err, time.time() - ts)
        print(f"{time.time() - t0:7.1f}s {key}: {len(rec.cases)} cases", flush=True)
    env["seconds"] = round(time.time() - t0, 1)
    np.savez_compressed(os.path.join(args.out, "operands.npz"), **rec.ops)
    np.savez_compressed(os.path.join(args.out, "outputs.npz"), **rec.outs)
    with open(os.path.join(args.out, "cases.json"), "w") as f:
        json.dump(dict(env=env, operands=rec.opinfo, cases=rec.cases), f, indent=0)
    nerr = sum("error" in c for c in rec.cases)
    print(f"done: {len(rec.cases)} cases, {nerr} errors, {env['seconds']}s", flush=True)
    errs = {}
    for c in rec.cases:
        if "error" in c:
            errs.setdefault((c["path"], json.dumps(c["params"]), c["error"][:120]), 0)
            errs[(c["path"], json.dumps(c["params"]), c["error"][:120])] += 1
    for k, v in errs.items():
        print("ERR", v, k)


if __name__ == "__main__":
    main()
