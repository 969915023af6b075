"""lowbit: the bit-exact reference and emulator for low-bit ML number formats.

Top-level names are loaded lazily so that ``import lowbit`` stays fast; Numba kernels
compile (or load from cache) on first use.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_LAZY = {
    "Format": ("lowbit.formats", "Format"),
    "format": ("lowbit.formats", "format"),
    "FORMATS": ("lowbit.formats", "FORMATS"),
    "register": ("lowbit.formats", "register"),
    "Rules": ("lowbit.rules", "Rules"),
    "encode": ("lowbit.codec", "encode"),
    "decode": ("lowbit.codec", "decode"),
    "explain": ("lowbit.explanation", "explain"),
    "matmul": ("lowbit.mac", "matmul"),
    "dot": ("lowbit.mac", "dot"),
}
_SUBMODULES = ("formats", "rules", "codec", "profiles", "explanation", "mx", "mac", "vectors", "testing", "cli")

__all__ = sorted(_LAZY) + list(_SUBMODULES)


def __getattr__(name: str):
    if name in _LAZY:
        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"lowbit.{name}")
    raise AttributeError(f"module 'lowbit' has no attribute {name!r}")
