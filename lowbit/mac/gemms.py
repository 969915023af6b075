"""GPU GEMMs as ``gemm(A, B) -> C`` callables for :func:`lowbit.mac.discover` (``lowbit discover``).

Each takes A (M×K) and B (K×N) as numpy code arrays (the formats' bit patterns, as
:func:`lowbit.matmul` takes them), runs the library's GEMM on the GPU and returns the M×N
float32 result as a numpy array.  torch (and Triton for ``triton.dot``) are imported only here,
when a GEMM is built: ``import lowbit`` needs neither.

``torch.matmul``  float16 / bfloat16 (``torch.mm(..., out_dtype=torch.float32)``: the float32
                  accumulator itself) or float32 (``allow_tf32`` flag: cuBLAS TF32 or FP32)
``torch._scaled_mm``  float8_e4m3fn / float8_e5m2 operands, scales 1, float32 out, ``fast_accum``
``triton.dot``    ``tl.dot`` over K in steps of ``block_k`` (64×64 tiles), float32 accumulator
"""

from __future__ import annotations

import numpy as np

OPS = ("torch.matmul", "torch._scaled_mm", "triton.dot")
TORCH_DTYPES = {"float16": "float16", "bfloat16": "bfloat16", "float32": "float32",
                "float8_e4m3fn": "float8_e4m3fn", "float8_e5m2": "float8_e5m2"}


def _to_torch(codes, fmt: str):
    """Code array -> a CUDA tensor of the format (same bits)."""
    import torch

    dt = getattr(torch, TORCH_DTYPES[fmt])
    size = torch.tensor([], dtype=dt).element_size()
    unsigned = {1: np.uint8, 2: np.uint16, 4: np.uint32}[size]
    signed = {1: np.uint8, 2: np.int16, 4: np.int32}[size]  # torch views bit patterns through these
    arr = np.ascontiguousarray(np.asarray(codes).astype(unsigned).view(signed))
    return torch.from_numpy(arr.copy()).view(dt).cuda()


def _result(t) -> np.ndarray:
    import torch

    torch.cuda.synchronize()
    return t.detach().float().cpu().numpy().astype(np.float32) if t.dtype != torch.float32 else \
        t.detach().cpu().numpy()


def torch_matmul(fmt: str, allow_tf32: bool = False):
    """cuBLAS through torch: float16/bfloat16 (float32 output) or float32 (TF32 if ``allow_tf32``)."""
    import torch

    if fmt not in ("float16", "bfloat16", "float32"):
        raise ValueError(f"torch.matmul: format {fmt!r} is not allowed; allowed: float16, bfloat16, float32")

    def gemm(A, B):
        a, b = _to_torch(A, fmt), _to_torch(B, fmt)
        m = torch.backends.cuda.matmul
        old = m.allow_tf32
        m.allow_tf32 = bool(allow_tf32)
        try:
            if fmt == "float32":
                return _result(torch.matmul(a, b))
            return _result(torch.mm(a, b, out_dtype=torch.float32))
        finally:
            m.allow_tf32 = old

    return gemm


def torch_scaled_mm(a_fmt: str, b_fmt: str, fast_accum: bool = False):
    """cuBLASLt FP8 through ``torch._scaled_mm`` (per-tensor scales 1, float32 out)."""
    import torch

    def gemm(A, B):
        a, b = _to_torch(A, a_fmt), _to_torch(B, b_fmt)
        one = torch.tensor(1.0, device="cuda")
        return _result(torch._scaled_mm(a, b.t().contiguous().t(), scale_a=one, scale_b=one,
                                        out_dtype=torch.float32, use_fast_accum=bool(fast_accum)))

    return gemm


_TRITON: dict = {}


def _triton_kernel():
    if "mm" in _TRITON:
        return _TRITON["mm"]
    import triton
    import triton.language as tl

    @triton.jit
    def mm(a_ptr, b_ptr, c_ptr, M, N, K, BM: tl.constexpr, BN: tl.constexpr, BK: tl.constexpr):
        pid_m = tl.program_id(0)
        pid_n = tl.program_id(1)
        rm = pid_m * BM + tl.arange(0, BM)
        rn = pid_n * BN + tl.arange(0, BN)
        rk = tl.arange(0, BK)
        acc = tl.zeros((BM, BN), dtype=tl.float32)
        for k0 in range(0, K, BK):
            ka = k0 + rk
            a = tl.load(a_ptr + rm[:, None] * K + ka[None, :], mask=(rm[:, None] < M) & (ka[None, :] < K), other=0.0)
            b = tl.load(b_ptr + ka[:, None] * N + rn[None, :], mask=(ka[:, None] < K) & (rn[None, :] < N), other=0.0)
            acc = tl.dot(a, b, acc)
        tl.store(c_ptr + rm[:, None] * N + rn[None, :], acc, mask=(rm[:, None] < M) & (rn[None, :] < N))

    _TRITON["mm"] = mm
    return mm


def triton_dot(fmt: str, block_k: int = 32):
    """Triton ``tl.dot`` (float32 accumulator) over K in steps of ``block_k``, 64×64 tiles."""
    import torch

    def gemm(A, B):
        a, b = _to_torch(A, fmt), _to_torch(B, fmt)
        M, K = a.shape
        N = b.shape[1]
        c = torch.empty((M, N), device="cuda", dtype=torch.float32)
        _triton_kernel()[((M + 63) // 64, (N + 63) // 64)](a, b, c, M, N, K, BM=64, BN=64, BK=block_k, num_warps=4)
        return _result(c)

    return gemm


def build(op: str, a_format: str, b_format: str, **flags):
    """The GEMM callable of ``op`` (one of :data:`OPS`) on these operand formats."""
    if op == "torch.matmul":
        if a_format != b_format:
            raise ValueError(f"torch.matmul takes one format for A and B, got {a_format!r} and {b_format!r}")
        return torch_matmul(a_format, **flags)
    if op == "torch._scaled_mm":
        return torch_scaled_mm(a_format, b_format, **flags)
    if op == "triton.dot":
        if a_format != b_format:
            raise ValueError(f"triton.dot takes one format for A and B, got {a_format!r} and {b_format!r}")
        return triton_dot(a_format, **flags)
    raise ValueError(f"unknown GEMM {op!r}; allowed: {', '.join(OPS)}, or --callable module:function")
