"""Record torch._scaled_mm with ROWWISE and BLOCKWISE (DeepSeek-V3) float32 scales on the GPU.

Run on the device:  python3 vectors/hardware/h100/blockscaled/probe_scaled_mm.py OUTDIR [round]
Writes OUTDIR/scaled_mm[_round].npz (operand codes, scales, output bits of every case) and
OUTDIR/scaled_mm[_round].json (environment, the case list with the kernels cuBLASLt launched,
and the error text where torch refused a case: refusals are facts too).

Modes (how torch checks them: ATen/native/cuda/ScaledBlas.cpp):
  rowwise  : scale_a (M, 1), scale_b (1, N), float32, contiguous.
  b1x128_b128x128 : scale_a (M, K/128) one per 1x128 of A, column-major (stride (1, M));
             scale_b (K/128, N/128) one per 128x128 of B, column-major (stride (1, K/128)).
  b1x128_b1x128 : scale_b (K/128, N), one per 128x1 of B, row-major.
  b128x128_b1x128 : scale_a (M/128, K/128) row-major, scale_b (K/128, N) row-major.
Stored per case i: c{i}_out (float32 bits int32 / bfloat16 bits int16) for rows x cols of
the operand set; per operand set X: X_a (rows of A, uint8 codes), X_b (cols of B, K x n),
X_rows, X_cols; per scale set S: S_sa, S_sb (float32, full shape as torch took it).
"""

import ctypes
import glob
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np
import torch

OUT = sys.argv[1]
ROUND = sys.argv[2] if len(sys.argv) > 2 else "r1"
os.makedirs(OUT, exist_ok=True)
dev = "cuda"
TDT = {"e4m3": torch.float8_e4m3fn, "e5m2": torch.float8_e5m2}
arrays = {}
cases = []
ops = {}  # name -> (A codes full, B codes full, fa, fb)
scales = {}  # name -> (sa, sb) numpy float32 in torch's logical shape


def env():
    info = dict(python=sys.version.split()[0], torch=torch.__version__, cuda_runtime=torch.version.cuda,
                gpu=torch.cuda.get_device_name(), platform=platform.platform(), numpy=np.__version__,
                date=time.strftime("%Y-%m-%d %H:%M:%S"))
    try:
        import triton
        info["triton"] = triton.__version__
    except Exception as e:  # noqa: BLE001
        info["triton"] = f"unavailable: {e}"
    try:
        info["driver"] = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                                        capture_output=True, text=True).stdout.strip()
    except Exception as e:  # noqa: BLE001
        info["driver"] = f"unknown: {e}"
    libs = []
    for pat in ("/usr/local/lib/python3*/*-packages/nvidia/*/lib/libcublasLt.so*",
                "/usr/lib/python3*/*-packages/nvidia/*/lib/libcublasLt.so*",
                os.path.join(os.path.dirname(torch.__file__), "lib", "libcublasLt*.so*"),
                "/usr/local/cuda/lib64/libcublasLt.so*"):
        libs += glob.glob(pat)
    for extra in sys.path:
        libs += glob.glob(os.path.join(extra, "nvidia", "*", "lib", "libcublasLt.so*"))
    torch.zeros(1, device=dev) @ torch.zeros(1, device=dev)  # loads cuBLAS into the process
    try:
        maps = open("/proc/self/maps").read()
        loaded = sorted({ln.split()[-1] for ln in maps.splitlines() if "libcublasLt" in ln})
        info["cublasLt_loaded"] = loaded
        libs = loaded + libs
    except Exception:  # noqa: BLE001
        pass
    for lib in libs:
        try:
            info["cublasLt_version"] = int(ctypes.CDLL(lib).cublasLtGetVersion())
            info["cublasLt_path"] = lib
            break
        except Exception:  # noqa: BLE001
            continue
    return info


def to_dev(codes, fmt):
    return torch.from_numpy(np.ascontiguousarray(codes.astype(np.uint8))).to(dev).view(TDT[fmt])


def bits(t):
    t = t.contiguous().cpu()
    return t.view(torch.int32).numpy() if t.dtype == torch.float32 else t.view(torch.int16).numpy()


def codes_of(x, fmt):
    t = torch.from_numpy(np.asarray(x, np.float32)).to(TDT[fmt])  # torch's own cast (CPU)
    return t.view(torch.uint8).numpy().copy()


def subset(n, keep=16):
    return np.arange(n) if n <= 2 * keep else np.r_[0:keep, n - keep:n]


def add_ops(name, a, b, fa, fb):
    ops[name] = (a.astype(np.uint8), b.astype(np.uint8), fa, fb)
    rows, cols = subset(a.shape[0]), subset(b.shape[1])
    arrays[f"{name}_a"] = a[rows].astype(np.uint8)
    arrays[f"{name}_b"] = b[:, cols].astype(np.uint8)
    arrays[f"{name}_rows"] = rows
    arrays[f"{name}_cols"] = cols
    return name


def add_scales(name, sa, sb):
    scales[name] = (np.asarray(sa, np.float32), np.asarray(sb, np.float32))
    arrays[f"{name}_sa"] = scales[name][0]
    arrays[f"{name}_sb"] = scales[name][1]
    return name


def scale_tensors(mode, sa, sb):
    sa_t = torch.from_numpy(sa)
    sb_t = torch.from_numpy(sb)
    if mode == "rowwise":
        return sa_t.contiguous().to(dev), sb_t.contiguous().to(dev)
    if mode == "b1x128_b128x128":  # both column-major
        return sa_t.T.contiguous().to(dev).t(), sb_t.T.contiguous().to(dev).t()
    if mode == "b1x128_b1x128":
        return sa_t.T.contiguous().to(dev).t(), sb_t.contiguous().to(dev)
    if mode == "b128x128_b1x128":
        return sa_t.contiguous().to(dev), sb_t.contiguous().to(dev)
    raise ValueError(mode)


def kernels_of(fn):
    try:
        from torch.profiler import ProfilerActivity, profile
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            fn()
            torch.cuda.synchronize()
        return sorted({e.name for e in prof.events() if e.device_type.name == "CUDA"})
    except Exception as e:  # noqa: BLE001
        return [f"profiler failed: {type(e).__name__}: {e}"]


def case(opname, mode, scname, fast, out="float32", note="", fit=True):
    a, b, fa, fb = ops[opname]
    sa, sb = scales[scname]
    c = dict(id=len(cases), operands=opname, scales=scname, mode=mode, fa=fa, fb=fb, M=a.shape[0], K=a.shape[1],
             N=b.shape[1], fast_accum=fast, out=out, note=note, fit=fit)
    try:
        A = to_dev(a, fa)
        B = to_dev(b.T, fb).t()  # column-major K x N
        s_a, s_b = scale_tensors(mode, sa, sb)
        c["scale_a_stride"], c["scale_b_stride"] = list(s_a.stride()), list(s_b.stride())

        def go():
            return torch._scaled_mm(A, B, s_a, s_b, out_dtype=getattr(torch, out), use_fast_accum=fast)

        o = go()
        torch.cuda.synchronize()
        r = bits(o)
        rows, cols = arrays[f"{opname}_rows"], arrays[f"{opname}_cols"]
        arrays[f"c{c['id']}_out"] = r[np.ix_(rows, cols)]
        o2 = bits(go())
        c["deterministic"] = bool((o2 == r).all())
        c["kernels"] = kernels_of(go)
    except Exception as e:  # noqa: BLE001
        c["error"] = f"{type(e).__name__}: {' '.join(str(e).split())[:400]}"
    cases.append(c)
    print(c["id"], mode, opname, scname, fast, out, c.get("error", "ok"), c.get("kernels", ""), flush=True)


rng = np.random.Generator(np.random.PCG64(20270115 if ROUND == "r1" else 20270116))


def gauss(shape, spread=30.0):
    return rng.standard_normal(shape).astype(np.float32) * spread


def rand_scales(shape, lo=0.25, hi=4.0):
    """float32 scales with full random mantissas (never powers of two in practice)."""
    return np.exp(rng.uniform(np.log(lo), np.log(hi), shape)).astype(np.float32)


def pow2_scales(shape, lo=-3, hi=3):
    return np.ldexp(np.float32(1), rng.integers(lo, hi + 1, shape)).astype(np.float32)


def scale_set(name, mode, M, N, K, kind):
    kb, nb, mb = -(-K // 128), -(-N // 128), -(-M // 128)
    if mode == "rowwise":
        sh_a, sh_b = (M, 1), (1, N)
    elif mode == "b1x128_b128x128":
        sh_a, sh_b = (M, kb), (kb, nb)
    elif mode == "b1x128_b1x128":
        sh_a, sh_b = (M, kb), (kb, N)
    else:
        sh_a, sh_b = (mb, kb), (kb, N)
    if kind == "rand":
        sa, sb = rand_scales(sh_a), rand_scales(sh_b)
    elif kind == "pow2":
        sa, sb = pow2_scales(sh_a), pow2_scales(sh_b)
    elif kind == "ones":
        sa, sb = np.ones(sh_a, np.float32), np.ones(sh_b, np.float32)
    elif kind == "wide":  # log-uniform 2^-40 .. 2^40 with random mantissas: overflow / underflow of scaled partials
        sa = rand_scales(sh_a, 2.0 ** -40, 2.0 ** 40)
        sb = rand_scales(sh_b, 2.0 ** -40, 2.0 ** 40)
    elif kind == "tiny":  # scaled partials below float32's normal range
        sa, sb = rand_scales(sh_a, 2.0 ** -75, 2.0 ** -65), rand_scales(sh_b, 2.0 ** -75, 2.0 ** -65)
    elif kind == "huge":  # scaled partials near and past float32's max
        sa, sb = rand_scales(sh_a, 2.0 ** 55, 2.0 ** 62), rand_scales(sh_b, 2.0 ** 55, 2.0 ** 62)
    else:
        raise ValueError(kind)
    return add_scales(name, sa, sb)


MODES = ("rowwise", "b1x128_b128x128")
t0 = time.time()
INFO = env()
print(INFO, flush=True)

def main():
    if ROUND == "r1":
        # 1. random operands at several shapes, rand scales, both modes, fast on/off, f32/bf16 out
        shapes = [(128, 128, 256), (128, 128, 1024), (256, 256, 4096), (128, 256, 8192), (64, 128, 512),
                  (384, 128, 768), (2048, 2048, 4096), (16, 128, 2048)]
        for (M, N, K) in shapes:
            op = add_ops(f"g_{M}_{N}_{K}", codes_of(gauss((M, K)), "e4m3"), codes_of(gauss((K, N)), "e4m3"), "e4m3", "e4m3")
            fit = (M, N, K) in ((128, 128, 256), (128, 128, 1024))
            for mode in MODES:
                sc = scale_set(f"s_{mode}_{M}_{N}_{K}", mode, M, N, K, "rand")
                for fast in (False, True):
                    for out in ("float32", "bfloat16"):
                        case(op, mode, sc, fast, out, "N(0,30^2) cast to e4m3; random float32 scales", fit)
        # 2. format pairs
        for fa, fb in (("e4m3", "e5m2"), ("e5m2", "e4m3"), ("e5m2", "e5m2")):
            M, N, K = 128, 128, 512
            op = add_ops(f"g_{fa}_{fb}", codes_of(gauss((M, K), 8.0), fa), codes_of(gauss((K, N), 8.0), fb), fa, fb)
            for mode in MODES:
                sc = scale_set(f"s_{mode}_{fa}_{fb}", mode, M, N, K, "rand")
                for fast in (False, True):
                    case(op, mode, sc, fast, "float32", f"{fa} x {fb}", False)
        # 3. scale kinds on the base shape
        M, N, K = 128, 128, 1024
        op = f"g_{M}_{N}_{K}"
        for kind in ("pow2", "ones", "wide", "tiny", "huge"):
            for mode in MODES:
                sc = scale_set(f"s_{mode}_{kind}", mode, M, N, K, kind)
                for fast in (False, True):
                    for out in ("float32", "bfloat16"):
                        case(op, mode, sc, fast, out, f"scales {kind}", kind in ("pow2", "wide"))
        # 4. the other blockwise pairings torch knows
        for mode in ("b1x128_b1x128", "b128x128_b1x128"):
            M, N, K = 256, 256, 1024
            op = add_ops(f"g2_{mode}", codes_of(gauss((M, K)), "e4m3"), codes_of(gauss((K, N)), "e4m3"), "e4m3", "e4m3")
            sc = scale_set(f"s_{mode}", mode, M, N, K, "rand")
            for fast in (False, True):
                for out in ("float32", "bfloat16"):
                    case(op, mode, sc, fast, out, "other DeepSeek pairing", False)
        # 5. crafted: cancellation across 128-blocks with nearly equal non-power-of-two scales
        M, N, K = 128, 128, 256
        a = np.zeros((M, K), np.float32)
        big = gauss(M, 60.0)
        a[:, 0] = big
        a[:, 128] = -big
        a[:, 1:128] = gauss((M, 127), 0.02)  # small terms in block 0
        a[:, 129:] = gauss((M, 127), 0.02)
        b = np.zeros((K, N), np.float32)
        b[0, :] = 1.0
        b[128, :] = 1.0
        b[1:128, :] = gauss((127, N), 1.0)
        b[129:, :] = gauss((127, N), 1.0)
        op = add_ops("cancel", codes_of(a, "e4m3"), codes_of(b, "e4m3"), "e4m3", "e4m3")
        r = rand_scales((M, 1), 0.5, 2.0)
        sa_blk = np.concatenate([r, (r * np.float32(1 + 2.0 ** -10) * rand_scales((M, 1), 0.999, 1.001)).astype(np.float32)],
                                axis=1).astype(np.float32)
        add_scales("s_cancel_blk", sa_blk, rand_scales((2, 1), 0.5, 2.0))
        for fast in (False, True):
            for out in ("float32", "bfloat16"):
                case(op, "b1x128_b128x128", "s_cancel_blk", fast, out, "big term in block 0 cancels big term in block 1; "
                     "nearly equal non-power-of-two scales: each scaled partial rounded or fused", True)
        add_scales("s_cancel_row", r, rand_scales((1, N), 0.5, 2.0))
        for fast in (False, True):
            case(op, "rowwise", "s_cancel_row", fast, "float32", "cancellation, rowwise", True)
        # 6. crafted: one large term among small ones in each 32-step, scales per block
        M, N, K = 128, 128, 512
        a = gauss((M, K), 0.05)
        a[:, ::32] = gauss((M, K // 32), 200.0)
        op = add_ops("bigsmall", codes_of(a, "e4m3"), codes_of(gauss((K, N), 1.0), "e4m3"), "e4m3", "e4m3")
        for mode in MODES:
            sc = scale_set(f"s_bigsmall_{mode}", mode, M, N, K, "rand")
            for fast in (False, True):
                case(op, mode, sc, fast, "float32", "one large term per 32-step among small ones", True)
        # 7. specials: NaN / Inf scales and zero scales (what the epilogue does with them)
        M, N, K = 128, 128, 256
        op = add_ops("spec", codes_of(gauss((M, K)), "e4m3"), codes_of(gauss((K, N)), "e4m3"), "e4m3", "e4m3")
        for mode in MODES:
            sc = scale_set(f"s_spec_{mode}", mode, M, N, K, "rand")
            sa, sb = scales[sc]
            sa = sa.copy()
            sa[0, 0], sa[1, 0], sa[2, 0], sa[3, -1] = 0.0, np.inf, np.nan, -1.5
            add_scales(sc, sa, sb)
            for fast in (False, True):
                case(op, mode, sc, fast, "float32", "scale 0, Inf, NaN, negative in rows 0-3", False)
    else:
        # held-back round: new seeds, other shapes (written after round 1's fit)
        shapes = [(256, 128, 640), (128, 384, 2304), (512, 512, 8192), (1024, 256, 3072)]
        for (M, N, K) in shapes:
            op = add_ops(f"h_{M}_{N}_{K}", codes_of(gauss((M, K), 12.0), "e4m3"), codes_of(gauss((K, N), 40.0), "e4m3"),
                         "e4m3", "e4m3")
            for mode in MODES:
                sc = scale_set(f"hs_{mode}_{M}_{N}_{K}", mode, M, N, K, "rand")
                for fast in (False, True):
                    for out in ("float32", "bfloat16"):
                        case(op, mode, sc, fast, out, "held back: new seed and shape", False)



try:
    main()
except Exception as e:  # noqa: BLE001 - keep what was recorded
    import traceback
    traceback.print_exc()
    INFO["main_error"] = f"{type(e).__name__}: {e}"
INFO["seconds"] = time.time() - t0
np.savez_compressed(os.path.join(OUT, f"scaled_mm_{ROUND}.npz"), **arrays)
with open(os.path.join(OUT, f"scaled_mm_{ROUND}.json"), "w") as f:
    json.dump(dict(env=INFO, cases=cases), f, indent=1, default=str)
print("done", len(cases), "cases", sum("error" in c for c in cases), "errors", INFO["seconds"], "s")
