"""Shape sweeps of the vendor GEMM: which kernel cuBLAS runs at each shape, and output samples.

cuBLAS picks a kernel per GEMM shape (and with it the split-K slices that decide the order K is
summed in).  :func:`record` runs one GEMM *path* (``PATHS``: torch call, operand format, output
type, flags) at many shapes on a CUDA GPU and keeps, per shape, the kernels launched with their
grids (``torch.profiler``) and, where asked, a sample of output bits — an 8×8 grid of rows and
columns spread over C, first and last included — on operands that both sides compute from the
element's index alone (:func:`operand_codes`: a 32-bit integer hash, the same in numpy and torch),
so the CPU reproduces any row or column without the GPU's arrays.

``lowbit calibrate --sweep`` uses it; :mod:`lowbit.mac.cublas_rule` turns what it records into the
shape → schedule rule the cuBLAS presets read.
"""

from __future__ import annotations

import json
import re

import numpy as np

M32 = 0xFFFFFFFF
SEED_A, SEED_B = 0x1234567, 0x2345678
SAMPLE = 8  # rows and columns sampled per shape

# path -> (operand format, output, torch call); flags are set before every call
PATHS = {
    "bf16-f32": ("bfloat16", "float32", "torch.mm(a, b, out_dtype=torch.float32)"),
    "bf16": ("bfloat16", "bfloat16", "torch.matmul, allow_bf16_reduced_precision_reduction=False"),
    "bf16-rpr": ("bfloat16", "bfloat16", "torch.matmul, allow_bf16_reduced_precision_reduction=True"),
    "fp16-f32": ("float16", "float32", "torch.mm(a, b, out_dtype=torch.float32)"),
    "fp16": ("float16", "float16", "torch.matmul, allow_fp16_reduced_precision_reduction=False"),
    "fp16-rpr": ("float16", "float16", "torch.matmul, allow_fp16_reduced_precision_reduction=True"),
    "fp16-acc16": ("float16", "float16", "torch.matmul, allow_fp16_accumulation=True"),
    "tf32": ("float32", "float32", "torch.matmul, allow_tf32=True"),
    "fp32": ("float32", "float32", "torch.matmul, allow_tf32=False"),
    "int8": ("int8", "int32", "torch._int_mm"),
    "fp8-fast": ("float8_e4m3fn", "float32", "torch._scaled_mm(use_fast_accum=True, out_dtype=float32)"),
    "fp8-slow": ("float8_e4m3fn", "float32", "torch._scaled_mm(use_fast_accum=False, out_dtype=float32)"),
    "fp8-fast-bf16": ("float8_e4m3fn", "bfloat16", "torch._scaled_mm(use_fast_accum=True, out_dtype=bfloat16)"),
    "fp8-slow-bf16": ("float8_e4m3fn", "bfloat16", "torch._scaled_mm(use_fast_accum=False, out_dtype=bfloat16)"),
}
# the nine paths of 16- and 32-bit float operands (the kernels-only covers record these: FP8 and
# INT8 run few kernel families, their grid and LLM shapes cover them)
FLOAT_PATHS = tuple(p for p, (fmt, _, _) in PATHS.items() if fmt in ("bfloat16", "float16", "float32"))
# B is K×N row-major (torch.matmul(a, b) on contiguous b) except for _scaled_mm, which needs B
# column-major: element (k, j) is then stored at j·K + k.
COLUMN_MAJOR_B = ("fp8-fast", "fp8-slow", "fp8-fast-bf16", "fp8-slow-bf16")


def _check_path(path: str) -> None:
    if path not in PATHS:
        raise ValueError(f"unknown GEMM path {path!r}; allowed: {', '.join(PATHS)}")


def mix32(x):
    """A 32-bit integer hash of x (0 <= x < 2^32), numpy uint64/int64 or torch int64 alike:
    every multiplier is below 2^31, so no product leaves int64."""
    x = x ^ (x >> 16)
    x = (x * 0x7FEB352D) & M32
    x = x ^ (x >> 15)
    x = (x * 0x2C1B3C6D) & M32
    return x ^ (x >> 16)


def hashed(index, seed: int):
    """The hash of element ``index`` (array of int64 < 2^32) of the stream ``seed``."""
    return mix32(mix32(index ^ (seed & M32)) ^ ((seed * 0x9E3779B1) & 0x7FFFFFFF))


def codes_from_hash(h, fmt: str):
    """Operand codes (as int64 bit patterns) from 32-bit hashes: random sign and significand,
    exponents spread around 1 (bfloat16 and float32 2^-8..2^7, float16 2^-4..2^3 so sums of
    16,384 products stay finite in float16), every finite FP8 code, every int8."""
    s = (h >> 31) & 1
    if fmt == "bfloat16":
        return (s << 15) | ((127 - 8 + ((h >> 8) & 0xF)) << 7) | (h & 0x7F)
    if fmt == "float16":
        return (s << 15) | ((15 - 4 + ((h >> 10) & 0x7)) << 10) | (h & 0x3FF)
    if fmt == "float32":
        return (s << 31) | ((127 - 8 + ((h >> 23) & 0xF)) << 23) | (h & 0x7FFFFF)
    if fmt == "float8_e4m3fn":
        c = h & 0xFF
        return c ^ (((c & 0x7F) + 1) >> 7)  # S.1111.111 (NaN) -> S.1111.110
    if fmt == "int8":
        return h & 0xFF
    raise ValueError(f"no sweep operands for format {fmt!r}; allowed: bfloat16, float16, float32, float8_e4m3fn, int8")


def _np_codes(index, seed, fmt):
    c = codes_from_hash(hashed(np.asarray(index, np.uint64), seed), fmt)
    dtype = {"bfloat16": np.uint16, "float16": np.uint16, "float32": np.uint32, "float8_e4m3fn": np.uint8,
             "int8": np.uint8}[fmt]
    c = c.astype(dtype)
    return c.view(np.int8) if fmt == "int8" else c


def operand_codes(path: str, M: int, N: int, K: int, rows=None, cols=None):
    """The sweep's operands of ``path`` at shape M, N, K as lowbit codes: A's ``rows`` (M×K if
    None) and B's ``cols`` (K×N if None) — what the GPU multiplied, computed on the CPU."""
    _check_path(path)
    fmt = PATHS[path][0]
    rows = np.arange(M) if rows is None else np.asarray(rows, np.int64)
    cols = np.arange(N) if cols is None else np.asarray(cols, np.int64)
    k = np.arange(K, dtype=np.int64)
    a = _np_codes(rows[:, None] * K + k[None, :], SEED_A, fmt)
    if path in COLUMN_MAJOR_B:
        b = _np_codes(cols[None, :] * K + k[:, None], SEED_B, fmt)
    else:
        b = _np_codes(k[:, None] * N + cols[None, :], SEED_B, fmt)
    return a, b


def sample_index(n: int) -> np.ndarray:
    """The rows (or columns) sampled of n: SAMPLE spread evenly, first and last included."""
    return np.unique(np.linspace(0, n - 1, min(SAMPLE, n)).round().astype(np.int64))


def _torch_codes(pool_size, seed, fmt, torch, device="cuda"):
    idx = torch.arange(pool_size, dtype=torch.int64, device=device)
    c = codes_from_hash(hashed(idx, seed), fmt)
    if fmt in ("bfloat16", "float16"):
        return (c - ((c >> 15) << 16)).to(torch.int16).view(getattr(torch, fmt))
    if fmt == "float32":
        return (c - ((c >> 31) << 32)).to(torch.int32).view(torch.float32)
    if fmt == "int8":
        return (c - ((c >> 7) << 8)).to(torch.int8)
    return c.to(torch.uint8).view(torch.float8_e4m3fn)


def _call(path: str, torch):
    m = torch.backends.cuda.matmul
    one = torch.tensor(1.0, device="cuda")
    flags = {"allow_tf32": path == "tf32",
             "allow_bf16_reduced_precision_reduction": path == "bf16-rpr",
             "allow_fp16_reduced_precision_reduction": path == "fp16-rpr"}
    if hasattr(m, "allow_fp16_accumulation"):
        flags["allow_fp16_accumulation"] = path == "fp16-acc16"
    elif path == "fp16-acc16":
        raise RuntimeError("this torch has no allow_fp16_accumulation")

    def set_flags():
        for k, v in flags.items():
            setattr(m, k, v)

    def run(a, b):
        if path in ("bf16-f32", "fp16-f32"):
            return torch.mm(a, b, out_dtype=torch.float32)
        if path == "int8":
            return torch._int_mm(a, b)
        if path in COLUMN_MAJOR_B:
            out = torch.bfloat16 if path.endswith("bf16") else torch.float32
            return torch._scaled_mm(a, b, scale_a=one, scale_b=one, out_dtype=out, use_fast_accum="fast" in path)
        return torch.matmul(a, b)

    return set_flags, run


def _bits(t, torch) -> np.ndarray:
    if t.dtype == torch.float8_e4m3fn:
        return t.view(torch.uint8).cpu().numpy().astype(np.uint32)
    if t.dtype in (torch.bfloat16, torch.float16):
        return t.view(torch.int16).cpu().numpy().view(np.uint16).astype(np.uint32)
    if t.dtype == torch.float32:
        return t.cpu().numpy().view(np.uint32)
    return t.cpu().numpy().astype(np.int64).astype(np.uint32)  # int32 output


def _kernels_by_range(trace: dict, n: int) -> list:
    """Kernels (name, grid, block) launched inside each ``lowbit_shape_<i>`` annotation."""
    ranges, launches, kernels = {}, {}, []
    for e in trace.get("traceEvents", []):
        cat, name = e.get("cat", ""), e.get("name", "")
        if cat == "user_annotation" and name.startswith("lowbit_shape_"):
            ranges[int(name.rsplit("_", 1)[1])] = (e["ts"], e["ts"] + e.get("dur", 0))
        elif cat in ("cuda_runtime", "cuda_driver") and "correlation" in e.get("args", {}):
            launches[e["args"]["correlation"]] = e["ts"]
        elif cat == "kernel":
            kernels.append(e)
    order = sorted(ranges.items(), key=lambda kv: kv[1][0])
    starts = np.array([r[0] for _, r in order]) if order else np.zeros(0)
    out = [[] for _ in range(n)]
    for e in sorted(kernels, key=lambda e: e["ts"]):
        ts = launches.get(e.get("args", {}).get("correlation"))
        if ts is None or not len(starts):
            continue
        j = int(np.searchsorted(starts, ts, side="right")) - 1
        if j >= 0 and ts <= order[j][1][1]:
            a = e.get("args", {})
            out[order[j][0]].append([e["name"], list(a.get("grid", [])), list(a.get("block", []))])
    return out


def record(path: str, shapes, *, outputs=True, chunk: int = 500, log=print) -> dict:
    """Run ``path`` on this GPU at each (M, N, K) of ``shapes``: kernels (name, grid, block) per
    shape and, with ``outputs`` (True, or a set of shape indices), the sampled output bits."""
    import os
    import tempfile

    import torch
    from torch.profiler import ProfilerActivity, profile, record_function

    _check_path(path)
    fmt = PATHS[path][0]
    shapes = [tuple(int(v) for v in s) for s in shapes]
    set_flags, run = _call(path, torch)
    size_a = max(M * K for M, N, K in shapes)
    size_b = max(K * N for M, N, K in shapes)
    pool_a, pool_b = _torch_codes(size_a, SEED_A, fmt, torch), _torch_codes(size_b, SEED_B, fmt, torch)
    check = np.arange(0, min(size_a, 1 << 20), dtype=np.int64)
    got = _torch_codes(len(check), SEED_A, fmt, torch)
    want = _np_codes(check, SEED_A, fmt)
    if not np.array_equal(_bits(got, torch) & ((1 << (8 * want.itemsize)) - 1), want.view(
            {1: np.uint8, 2: np.uint16, 4: np.uint32}[want.itemsize]).astype(np.uint32)):
        raise RuntimeError("torch and numpy operand hashes disagree")
    set_flags()
    want_out = (lambda i: True) if outputs is True else ((lambda i: False) if not outputs else (lambda i: i in outputs))
    result = {"path": path, "shapes": [list(s) for s in shapes], "kernels": [], "errors": {}, "rows": {},
              "cols": {}, "bits": {}}
    for c0 in range(0, len(shapes), chunk):
        part = shapes[c0:c0 + chunk]
        samples = {}
        with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
            for i, (M, N, K) in enumerate(part):
                a = pool_a[:M * K].view(M, K)
                b = pool_b[:K * N].view(N, K).t() if path in COLUMN_MAJOR_B else pool_b[:K * N].view(K, N)
                try:
                    with record_function(f"lowbit_shape_{i}"):
                        c = run(a, b)
                except RuntimeError as err:
                    result["errors"][str(c0 + i)] = str(err).splitlines()[0][:300]
                    continue
                if want_out(c0 + i):
                    r, cc = sample_index(M), sample_index(N)
                    samples[c0 + i] = (r, cc, c[torch.as_tensor(r, device="cuda")][:, torch.as_tensor(cc, device="cuda")])
            torch.cuda.synchronize()
        fd, tmp = tempfile.mkstemp(suffix=".json")
        os.close(fd)
        prof.export_chrome_trace(tmp)
        with open(tmp) as f:
            trace = json.load(f)
        os.remove(tmp)
        result["kernels"] += _kernels_by_range(trace, len(part))
        for i, (r, cc, t) in samples.items():
            result["rows"][str(i)], result["cols"][str(i)] = r.tolist(), cc.tolist()  # keys as JSON keeps them
            result["bits"][str(i)] = _bits(t, torch).reshape(-1).tolist()
        log(f"{path}: {min(c0 + chunk, len(shapes))}/{len(shapes)} shapes")
    return result


def family(name: str) -> str:
    """A kernel name without its tile and pipeline numbers' noise: the kernel family."""
    return re.sub(r"_+", "_", name)


# ---- the shapes of a sweep -------------------------------------------------------------------
GRID_M = (1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 2048, 4096)
GRID_N = (16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048, 3072, 4096, 6144, 8192, 14336)
GRID_K = (16, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048, 3072, 4096, 6144, 8192, 11008,
          14336, 16384)
# (N, K) of LLM projections: Llama-3 8B / 70B, Llama-2 7B / 13B (Qwen, Mistral share these)
LLM_NK = ((4096, 4096), (1024, 4096), (14336, 4096), (4096, 14336), (8192, 8192), (1024, 8192),
          (28672, 8192), (8192, 28672), (11008, 4096), (4096, 11008), (5120, 5120), (13824, 5120), (5120, 13824))
LLM_M = (1, 2, 4, 7, 8, 16, 32, 64, 128, 256, 512)


def grid_shapes() -> list:
    """Every (M, N, K) of GRID_M × GRID_N × GRID_K."""
    return [(m, n, k) for m in GRID_M for n in GRID_N for k in GRID_K]


def llm_shapes() -> list:
    return [(m, n, k) for n, k in LLM_NK for m in LLM_M]


def random_shapes(seed: int, count: int) -> list:
    """Random shapes as users bring them: three in four with M and N in [16, 1100] and K in
    [16, 16000] (each a multiple of 16 half the time), one in four decode-like (M of 1 to 8, N and K
    in [256, 16384])."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        if rng.random() < 0.75:
            m, n, k = (int(rng.integers(16, 1101)), int(rng.integers(16, 1101)), int(rng.integers(16, 16001)))
            m, n, k = (v - v % 16 if rng.random() < 0.5 and v >= 16 else v for v in (m, n, k))
        else:
            m, n, k = int(rng.integers(1, 9)), int(rng.integers(256, 16385)), int(rng.integers(256, 16385))
            n, k = (v - v % 16 if rng.random() < 0.5 else v for v in (n, k))
        out.append((m, n, k))
    return out


# Decoder models' widths, from their published configs: (hidden, MLP intermediate, query width =
# heads × head dim, key/value width = KV heads × head dim).  Their projections (llm_projections)
# are the (N, K) of torch.matmul(x, W) with W of shape (K, N).
LLM_MODELS = {
    "gpt2": (768, 3072, 768, 768), "gpt2-medium / bert-large": (1024, 4096, 1024, 1024),
    "gpt2-large": (1280, 5120, 1280, 1280), "gpt2-xl": (1600, 6400, 1600, 1600),
    "qwen2.5-0.5b": (896, 4864, 896, 128), "qwen2.5-1.5b": (1536, 8960, 1536, 256),
    "llama-3.2-1b": (2048, 8192, 2048, 512), "qwen2.5-3b": (2048, 11008, 2048, 256),
    "gemma-2-2b": (2304, 9216, 2048, 1024), "llama-3.2-3b": (3072, 8192, 3072, 1024),
    "phi-3-mini": (3072, 8192, 3072, 3072), "gemma-7b": (3072, 24576, 4096, 4096),
    "qwen2.5-7b": (3584, 18944, 3584, 512), "gemma-2-9b": (3584, 14336, 4096, 2048),
    "llama-2-7b": (4096, 11008, 4096, 4096), "llama-3-8b / mistral-7b / mixtral expert": (4096, 14336, 4096, 1024),
    "falcon-7b": (4544, 18176, 4544, 64), "llama-2-13b": (5120, 13824, 5120, 5120),
    "qwen2.5-14b": (5120, 13824, 5120, 1024), "mistral-nemo-12b": (5120, 14336, 4096, 1024),
    "qwen2.5-32b": (5120, 27648, 5120, 1024), "llama-3-70b / qwen2.5-72b": (8192, 28672, 8192, 1024),
}
# Token counts M of the LLM cover: every decode batch to 64, then steps of 8, 32 and 128 to 4096.
LLM_COVER_M = tuple(range(1, 65)) + tuple(range(72, 257, 8)) + tuple(range(288, 1025, 32)) + \
    tuple(range(1152, 4097, 128))


def llm_projections() -> list:
    """The distinct (N, K) of LLM_MODELS' layers: fused QKV, Q, K/V, attention output, MLP gate
    or up, fused gate-up and down projections."""
    out = []
    for h, i, q, kv in LLM_MODELS.values():
        for nk in ((q + 2 * kv, h), (q, h), (kv, h), (h, q), (i, h), (2 * i, h), (h, i)):
            if nk not in out:
                out.append(nk)
    return out


def llm_cover_shapes() -> list:
    """Every LLM projection (llm_projections) at every token count of LLM_COVER_M."""
    return [(m, n, k) for n, k in llm_projections() for m in LLM_COVER_M]


def llm_random_shapes(seed: int, count: int) -> list:
    """LLM layers at token counts the cover does not hold: a random projection, M uniform in
    [65, 256] or log-uniform in [256, 4096] (half each), never one of LLM_COVER_M."""
    rng = np.random.default_rng(seed)
    nk, cover, out = llm_projections(), set(LLM_COVER_M), []
    while len(out) < count:
        n, k = nk[int(rng.integers(len(nk)))]
        m = int(rng.integers(65, 257)) if rng.random() < 0.5 else int(round(2 ** rng.uniform(8, 12)))
        if m not in cover:
            out.append((m, n, k))
    return out


def dense_shapes(seed: int, count: int) -> list:
    """A denser random cover for the rule's table: 40 % as :func:`random_shapes`' user shapes
    (M, N in [16, 1100], K in [16, 16000]), 30 % decode-like (M 1..8, N and K 256..16384), 30 %
    prefill-like (M 16..4096, N and K 256..16384); each dimension a multiple of 16 half the time."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        u = rng.random()
        if u < 0.4:
            m, n, k = int(rng.integers(16, 1101)), int(rng.integers(16, 1101)), int(rng.integers(16, 16001))
        elif u < 0.7:
            m, n, k = int(rng.integers(1, 9)), int(rng.integers(256, 16385)), int(rng.integers(256, 16385))
        else:
            m, n, k = int(rng.integers(16, 4097)), int(rng.integers(256, 16385)), int(rng.integers(256, 16385))
        m, n, k = (v - v % 16 if v >= 16 and rng.random() < 0.5 else v for v in (m, n, k))
        out.append((m, n, k))
    return out
