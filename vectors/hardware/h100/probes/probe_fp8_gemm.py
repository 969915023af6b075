"""Probe what an H100 computes for FP8 GEMMs beyond the shared 64x64 tiles.

Run on the device:  python3 vectors/hardware/h100/probes/probe_fp8_gemm.py $OUT
Writes probes.npz (operand codes + output bits of every case) and probes.json (the case
list: path, formats, shapes, knobs, and an error message where a path refused the case).

Operand codes are drawn with numpy's PCG64 from fixed seeds. For large shapes only a
subset of rows of A, columns of B and the matching outputs is stored (`rows`, `cols`).
Paths:
  scaled_mm : torch._scaled_mm(A, B, scale_a, scale_b, out_dtype, use_fast_accum) (cuBLASLt)
  triton    : one program per 64x64 output tile, acc = tl.dot(a, b, acc, max_num_imprecise_acc=IMP)
              over K in steps of BK (IMP -1: not passed); 'upcast' variant converts a and b to
              float16 before tl.dot (to test what IMP=0 does).
"""

import json
import sys
import traceback

import numpy as np
import torch

DRY = len(sys.argv) > 2 and sys.argv[2] == "--dry"  # CPU check of the script's own logic
if DRY:
    class _TL:
        constexpr = int
        float32 = float16 = None

    class triton:  # noqa: N801 - stand-in for the module
        __version__ = "dry"

        @staticmethod
        def jit(f):
            return f

    tl = _TL()
    torch.cuda.get_device_name = lambda: "dry"
else:
    import triton
    import triton.language as tl

OUT = sys.argv[1]
dev = "cpu" if DRY else "cuda"
TDT = {"e4m3": torch.float8_e4m3fn, "e5m2": torch.float8_e5m2}
ONE = {"e4m3": 0x38, "e5m2": 0x3C}
arrays = {}
cases = []


def finite_codes(fmt):
    c = np.arange(256)
    if fmt == "e4m3":
        return c[(c & 0x7F) != 0x7F]
    return c[(c & 0x7C) != 0x7C]


def to_dev(codes, fmt):
    return torch.from_numpy(np.ascontiguousarray(codes.astype(np.uint8))).to(dev).view(TDT[fmt])


def bits(t):
    t = t.contiguous().cpu()
    return t.view(torch.int32).numpy() if t.dtype == torch.float32 else t.view(torch.int16).numpy()


def store_operands(name, a, b, rows=None, cols=None):
    arrays[f"{name}_a"] = a if rows is None else a[rows]
    arrays[f"{name}_b"] = b if cols is None else b[:, cols]
    if rows is not None:
        arrays[f"{name}_rows"] = np.asarray(rows, np.int64)
        arrays[f"{name}_cols"] = np.asarray(cols, np.int64)


def scaled_mm(name, a, b, fa, fb, fast, sa=1.0, sb=1.0, out="float32", rows=None, cols=None, note=""):
    case = dict(id=len(cases), path="scaled_mm", operands=name, fa=fa, fb=fb, M=a.shape[0], K=a.shape[1],
                N=b.shape[1], fast_accum=fast, scale_a=sa, scale_b=sb, out=out, note=note,
                subset=rows is not None)
    try:
        A = to_dev(a, fa)
        B = to_dev(b.T, fb).t()  # column-major K x N
        if DRY:
            raise RuntimeError("dry run")
        o = torch._scaled_mm(A, B, torch.tensor(sa, device=dev, dtype=torch.float32),
                             torch.tensor(sb, device=dev, dtype=torch.float32),
                             out_dtype=getattr(torch, out), use_fast_accum=fast)
        r = bits(o)
        if rows is not None:
            r = r[np.ix_(rows, cols)]
        arrays[f"c{case['id']}_out_bits"] = r
    except Exception as e:  # record refusals: they are facts too
        case["error"] = f"{type(e).__name__}: {str(e).splitlines()[0][:300]}"
    cases.append(case)


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
        a = tl.load(a_ptr + rm[:, None] * K + (k0 + rk)[None, :], mask=(k0 + rk)[None, :] < K, other=0.0)
        b = tl.load(b_ptr + (k0 + rk)[:, None] * N + rn[None, :], mask=(k0 + rk)[:, None] < K, other=0.0)
        if UPCAST:
            acc = tl.dot(a.to(tl.float16), b.to(tl.float16), acc)
        elif IMP < 0:
            acc = tl.dot(a, b, acc)
        else:
            acc = tl.dot(a, b, acc, max_num_imprecise_acc=IMP)
    tl.store(c_ptr + rm[:, None] * N + rn[None, :], acc)


def triton_dot(name, a, b, fa, fb, bk, imp, upcast=False, note=""):
    case = dict(id=len(cases), path="triton", operands=name, fa=fa, fb=fb, M=a.shape[0], K=a.shape[1],
                N=b.shape[1], BK=bk, max_num_imprecise_acc=imp, upcast_f16=upcast, note=note, subset=False)
    try:
        A, B = to_dev(a, fa), to_dev(b, fb)
        if DRY:
            raise RuntimeError("dry run")
        C = torch.empty((a.shape[0], b.shape[1]), device=dev, dtype=torch.float32)
        dot_kernel[(a.shape[0] // 64, b.shape[1] // 64)](A, B, C, a.shape[0], b.shape[1], a.shape[1],
                                                         BM=64, BN=64, BK=bk, IMP=imp, UPCAST=upcast)
        arrays[f"c{case['id']}_out_bits"] = bits(C)
    except Exception as e:
        case["error"] = f"{type(e).__name__}: {str(e).splitlines()[0][:300]}"
    cases.append(case)


rng = np.random.Generator(np.random.PCG64(20261126))


def add(name, a, b, rows=None, cols=None):
    store_operands(name, a.astype(np.uint8), b.astype(np.uint8), rows, cols)
    return name


# 1. every single product: A[i,0] = code i, B[0,j] = code j, everything else +0 (K=32)
for fa, fb in [("e4m3", "e4m3"), ("e4m3", "e5m2"), ("e5m2", "e4m3"), ("e5m2", "e5m2")]:
    a = np.zeros((256, 32), np.uint8); a[:, 0] = np.arange(256)
    b = np.zeros((32, 256), np.uint8); b[0, :] = np.arange(256)
    n = add(f"single_{fa}_{fb}", a, b)
    scaled_mm(n, a, b, fa, fb, True, note="every single product, specials included")

# 2. two terms: out[i,j] = x_i * 1 + y_i * c_j, any finite codes
for fa, fb in [("e4m3", "e4m3"), ("e4m3", "e5m2")]:
    a = np.zeros((256, 32), np.uint8)
    for i in range(256):
        p1, p2 = rng.choice(32, 2, replace=False)
        a[i, p1], a[i, p2] = rng.choice(finite_codes(fa), 2)
    b = np.zeros((32, 256), np.uint8)
    b[:, :] = ONE[fb]
    b[:, 1:] = rng.choice(finite_codes(fb), (32, 255))
    n = add(f"two_{fa}_{fb}", a, b)
    scaled_mm(n, a, b, fa, fb, True, note="two non-zero terms per dot product")

# 3. one big term and 31 small ones, signs mixed (truncation direction of negative terms)
a = np.zeros((256, 32), np.uint8)
big = rng.integers(0x50, 0x70, 256)
for i in range(256):
    a[i, 0] = big[i] | (0x80 if rng.random() < 0.5 else 0)
    gap = rng.integers(1, 14)
    small = np.clip((big[i] >> 3) - gap, 1, 15) << 3
    a[i, 1:] = (small + rng.integers(0, 8, 31)) | np.where(rng.random(31) < 0.5, 0x80, 0)
b = np.full((32, 64), ONE["e4m3"], np.uint8)
b[:, 1:] = rng.choice(np.r_[0x30:0x40, 0xB0:0xC0], (32, 63))
n = add("bigsmall_e4m3", a, b)
scaled_mm(n, a, b, "e4m3", "e4m3", True, note="one large term, 31 small, mixed signs")

# 4. accumulator interplay over two blocks (K=64): small block then big block and vice versa
a = rng.choice(finite_codes("e4m3"), (256, 64)).astype(np.uint8)
sel = rng.random(256) < 0.5
mag = a & 0x7F
mag[sel, :32] = np.clip(mag[sel, :32], 0x08, 0x2F)  # block 1 small
mag[sel, 32:] = np.clip(mag[sel, 32:], 0x48, 0x7E)  # block 2 large
mag[~sel, :32] = np.clip(mag[~sel, :32], 0x48, 0x7E)
mag[~sel, 32:] = np.clip(mag[~sel, 32:], 0x08, 0x2F)
a = (a & 0x80) | mag
b = np.full((64, 64), ONE["e4m3"], np.uint8)
b[:, 1:] = rng.choice(np.r_[0x30:0x40, 0xB0:0xC0], (64, 63))
n = add("twoblock_e4m3", a, b)
scaled_mm(n, a, b, "e4m3", "e4m3", True, note="block magnitudes small/large across two steps")

# 5. subnormal-heavy operands
for fa, fb in [("e4m3", "e4m3"), ("e4m3", "e5m2")]:
    def sub_heavy(fmt, shape):
        c = rng.choice(finite_codes(fmt), shape)
        m = 0x07 if fmt == "e4m3" else 0x03
        s = rng.random(shape) < 0.6
        c[s] = (rng.integers(1, m + 1, s.sum()) | np.where(rng.random(s.sum()) < 0.5, 0x80, 0))
        return c.astype(np.uint8)
    a, b = sub_heavy(fa, (64, 64)), sub_heavy(fb, (64, 64))
    n = add(f"subnormal_{fa}_{fb}", a, b)
    scaled_mm(n, a, b, fa, fb, True, note="60% subnormal operands")

# 6. zeros, signed zeros, Inf and NaN mixed into normal data
for fa, fb in [("e4m3", "e4m3"), ("e4m3", "e5m2")]:
    a = rng.choice(finite_codes(fa), (64, 32)).astype(np.uint8)
    b = rng.choice(finite_codes(fb), (32, 64)).astype(np.uint8)
    a[0:8, :] = 0x80; a[8:16, :] = 0x00; a[16:24, :] = rng.choice([0, 0x80], (8, 32))
    b[:, 0:4] = 0x80
    nan_a = 0x7F
    a[24:28, 5] = nan_a; a[28:30, 7] = 0xFF
    if fb == "e5m2":
        b[3, 8:12] = 0x7C; b[3, 12:16] = 0xFC; b[9, 12:14] = 0x7C; b[4, 16:18] = 0x7E
        a[30:32, 3] = 0x00
    n = add(f"specials_{fa}_{fb}", a, b)
    scaled_mm(n, a, b, fa, fb, True, note="signed zeros, NaN, Inf")

# 7. K > 128 (promotion interval), large shapes (split-K, kernel choice), K not a multiple of 32
def gauss_codes(fmt, shape, sigma=1.0):
    x = torch.randn(shape, generator=torch.Generator().manual_seed(int(rng.integers(1 << 30)))) * sigma
    return x.to(TDT[fmt]).view(torch.uint8).numpy()

for (M, N, K) in [(64, 64, 256), (64, 64, 1024), (128, 128, 4096), (16, 16, 16384)]:
    for dist in ("normal", "allcodes"):
        if dist == "normal":
            a, b = gauss_codes("e4m3", (M, K)), gauss_codes("e4m3", (K, N))
        else:
            a = rng.choice(finite_codes("e4m3"), (M, K)); b = rng.choice(finite_codes("e4m3"), (K, N))
        n = add(f"long_{dist}_{M}x{N}x{K}", a, b)
        for fast in (False, True):
            scaled_mm(n, a, b, "e4m3", "e4m3", fast, note="K beyond the 128 promotion interval")

rows = np.r_[0:16, rng.choice(np.arange(16, 2032), 32, replace=False), 2032:2048]
cols = np.r_[0:16, rng.choice(np.arange(16, 2032), 32, replace=False), 2032:2048]
a, b = gauss_codes("e4m3", (2048, 4096)), gauss_codes("e4m3", (4096, 2048))
n = add("big_normal_2048x2048x4096", a, b, rows, cols)
for fast in (False, True):
    scaled_mm(n, a, b, "e4m3", "e4m3", fast, rows=rows, cols=cols, note="large shape, subset stored")

for K in (16, 48, 80, 144, 208):
    a, b = gauss_codes("e4m3", (64, K)), gauss_codes("e4m3", (K, 64))
    n = add(f"oddk_normal_K{K}", a, b)
    for fast in (False, True):
        scaled_mm(n, a, b, "e4m3", "e4m3", fast, note="K not a multiple of 32")

# 8. format mixes, scales, bfloat16 output
for fa, fb in [("e4m3", "e5m2"), ("e5m2", "e4m3"), ("e5m2", "e5m2")]:
    a, b = gauss_codes(fa, (64, 256)), gauss_codes(fb, (256, 64))
    n = add(f"mix_{fa}_{fb}", a, b)
    for fast in (False, True):
        scaled_mm(n, a, b, fa, fb, fast, note="format mix, K=256")
a, b = gauss_codes("e4m3", (64, 256)), gauss_codes("e4m3", (256, 64))
n = add("scales_e4m3", a, b)
for sa, sb in [(2.0 ** 120, 2.0 ** -120), (2.0 ** 64, 2.0 ** 64), (2.0 ** -70, 2.0 ** -70), (0.1, 0.7),
               (1 / 3, 3.0), (1.7, 1e-3), (3.0e38, 1.0)]:
    scaled_mm(n, a, b, "e4m3", "e4m3", True, sa=float(np.float32(sa)), sb=float(np.float32(sb)),
              note="scale epilogue")
for out in ("bfloat16",):
    for sa, sb in [(1.0, 1.0), (0.75, 0.125), (0.1, 0.7)]:
        for fast in (False, True):
            scaled_mm(n, a, b, "e4m3", "e4m3", fast, sa=float(np.float32(sa)), sb=float(np.float32(sb)),
                      out=out, note="bfloat16 output")

# 9. Triton: max_num_imprecise_acc = 0 and the fp16-upcast hypothesis; BK/IMP combinations
g = np.load("vectors/hardware/h100/gemm.npz")
for pair, fa, fb in [(42, "e4m3", "e4m3"), (43, "e4m3", "e4m3"), (56, "e5m2", "e5m2"), (70, "e4m3", "e5m2")]:
    a, b = g[f"p{pair}_a"], g[f"p{pair}_b"]
    n = add(f"gemm_p{pair}", a, b)
    triton_dot(n, a, b, fa, fb, 32, 0, note="IMP=0 again (same operands as gemm.npz)")
    triton_dot(n, a, b, fa, fb, 32, -1, upcast=True, note="operands upcast to float16, then tl.dot")
for nm in ("single_e4m3_e4m3", "two_e4m3_e4m3", "bigsmall_e4m3"):
    a, b = arrays[f"{nm}_a"], arrays[f"{nm}_b"]
    a = a[:, :32]; b = b[:32, :(b.shape[1] // 64) * 64]
    triton_dot(nm, a, b, "e4m3", "e4m3", 32, 0, note="IMP=0 on crafted dots")
    triton_dot(nm, a, b, "e4m3", "e4m3", 32, -1, upcast=True, note="float16 upcast on crafted dots")
for dist in ("normal", "allcodes"):
    nm = f"long_{dist}_64x64x1024"
    a, b = arrays[f"{nm}_a"][:, :256], arrays[f"{nm}_b"][:256]
    n = add(f"tri_{dist}_K256", a, b)
    for bk, imp in [(32, -1), (64, -1), (32, 32), (64, 32), (64, 64), (128, 64), (128, 96), (64, 0), (64, 16)]:
        triton_dot(n, a, b, "e4m3", "e4m3", bk, imp, note="K=256, BK/IMP combinations")
    triton_dot(n, a, b, "e4m3", "e4m3", 64, -1, upcast=True, note="float16 upcast, K=256")

meta = dict(gpu=torch.cuda.get_device_name(), torch=torch.__version__, triton=triton.__version__,
            cuda=torch.version.cuda, cases=cases)
np.savez_compressed(f"{OUT}/probes.npz", **arrays)
with open(f"{OUT}/probes.json", "w") as f:
    json.dump(meta, f, indent=1)
print(len(cases), "cases;", sum("error" in c for c in cases), "refused")
for c in cases:
    if "error" in c:
        print(c["id"], c["operands"], c["path"], c["error"][:200])
