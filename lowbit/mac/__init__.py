"""MAC emulation: dot products and matrix products accumulated as hardware does, to the bit.

``matmul`` / ``dot`` take element codes; ``accumulator(name, **params)`` builds the adder
model (``exact``, ``ieee``, ``fused-block``) or a hardware preset of :data:`PRESETS`
(``h100-fp8``, ``h100-fp8-triton``, ``h100-fp16`` (float32 or, ``acc="float16"``, float16
accumulation), ``h100-bf16``, ``h100-fp16-triton``, ``h100-bf16-triton``, ``h100-tf32``,
``h100-tf32-triton``, ``h100-fp32``, ``h100-int8``) as data; ``mx_matmul`` is OCP MX DotGeneral on :class:`lowbit.mx.MXArray` operands.
"""

from .accumulators import (  # noqa: F401
    IEEE,
    ByShape,
    ROUNDINGS,
    Exact,
    FusedBlock,
    Schedule,
    Unit,
    UnrecordedShape,
    h100_fp8,
    h100_fp8_triton,
    h100_mma_sync_f16,
)
from .api import dot, matmul  # noqa: F401
from .mx import mx_matmul  # noqa: F401
from .registry import KINDS, PRESETS, accumulator, provenance  # noqa: F401
from .store import load, save  # noqa: F401


def discover(gemm, a_format, b_format, *, M, N, K, seed=0, report=False, device="cpu"):
    """Derive ``gemm``'s bit-exact accumulator by probing it: :func:`lowbit.mac.discover.discover`."""
    from .discovery import discover as run

    return run(gemm, a_format, b_format, M=M, N=N, K=K, seed=seed, report=report, device=device)

__all__ = ["matmul", "dot", "accumulator", "provenance", "mx_matmul", "Exact", "IEEE", "FusedBlock", "Unit", "Schedule", "ByShape", "UnrecordedShape", "KINDS", "PRESETS",
           "ROUNDINGS", "h100_fp8", "h100_fp8_triton", "h100_mma_sync_f16", "discover", "load", "save"]
