"""MAC emulation: dot products and matrix products accumulated as hardware does, to the bit.

``matmul`` / ``dot`` take element codes; ``accumulator(name, **params)`` builds the adder
model (``exact``, ``ieee``, ``fused-block``) or a hardware preset (``h100-fp8``,
``h100-fp8-triton``; ``h100_mma_sync_f16()`` for Triton's max_num_imprecise_acc < 32) as data;
``mx_matmul`` is OCP MX DotGeneral on :class:`lowbit.mx.MXArray` operands.
"""

from .accumulators import (  # noqa: F401
    IEEE,
    PRESETS,
    ROUNDINGS,
    Exact,
    FusedBlock,
    accumulator,
    h100_fp8,
    h100_fp8_triton,
    h100_mma_sync_f16,
)
from .api import dot, matmul  # noqa: F401
from .mx import mx_matmul  # noqa: F401

__all__ = ["matmul", "dot", "accumulator", "mx_matmul", "Exact", "IEEE", "FusedBlock", "PRESETS", "ROUNDINGS",
           "h100_fp8", "h100_fp8_triton", "h100_mma_sync_f16"]
