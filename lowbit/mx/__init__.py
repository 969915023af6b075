"""Block-scaled formats: OCP MX v1.0 (MXFP8, MXFP6, MXFP4, MXINT8, + MX reference int4/int2)
and NVFP4 — quantize, dequantize, pack, and the swizzled scale layout of block-scaled GEMMs."""

from .formats import MX_FORMATS, MXFormat, mx_format
from .quantize import MXArray, SCALE_RULES, fake_quantize, quantize

__all__ = ["MX_FORMATS", "MXFormat", "mx_format", "MXArray", "SCALE_RULES", "quantize", "fake_quantize",
           "pack", "unpack", "swizzle_scales", "unswizzle_scales", "matmul"]


def __getattr__(name):
    if name in ("pack", "unpack"):
        from . import packing as _p

        return getattr(_p, name)
    if name in ("swizzle_scales", "unswizzle_scales"):
        from . import swizzle as _s

        return getattr(_s, name)
    if name == "matmul":  # OCP MX v1.0 §6.2 DotGeneral, in lowbit.mac (imported lazily: mac imports mx)
        from ..mac.mx import mx_matmul

        return mx_matmul
    raise AttributeError(f"module 'lowbit.mx' has no attribute {name!r}")
