"""Block-scaled formats as data: OCP MX v1.0 concrete formats, the MX reference code's
integer variants, and NVIDIA's NVFP4.

An :class:`MXFormat` names an element format (a :class:`lowbit.Format`), a scale format and a
default block size.  OCP MX v1.0 §5.2 (Table 1): MXFP8 (E5M2, E4M3), MXFP6 (E3M2, E2M3),
MXFP4 (E2M1) and MXINT8, each with k = 32 elements sharing one E8M0 scale (§5.4.1).
``mxint4``/``mxint2`` are the integer element types of microsoft/microxcaling
(``mx/formats.py``: sign-magnitude ``1.xxx`` integers, ``bits − 2`` fraction bits, no most-negative
code).  ``nvfp4``: 16 FP4 E2M1 elements share one FP8 E4M3 scale, with an optional float32
per-tensor scale (NVIDIA, *Pretraining LLMs with NVFP4*, arXiv:2509.25149, App. B).
"""

from __future__ import annotations

import dataclasses

from ..formats import Format, format as lookup


@dataclasses.dataclass(frozen=True)
class MXFormat:
    """One block-scaled format.

    Fields:
      name: registry name (``mxfp8_e4m3`` …).
      element: the element :class:`lowbit.Format`.
      scale: the scale :class:`lowbit.Format` (``float8_e8m0fnu``; ``float8_e4m3fn`` for NVFP4).
      block_size: default number of elements sharing one scale.
      microxcaling: the element name in microsoft/microxcaling's ``ElemFormat`` (None: absent).
      torchao: the element dtype name torchao's ``to_mx`` takes (None: absent).
    """

    name: str
    element: Format
    scale: Format
    block_size: int
    microxcaling: str | None = None
    torchao: str | None = None

    @property
    def emax_elem(self) -> int:
        """Exponent of the largest power of two the element format holds (OCP MX v1.0 §6.3's
        ``emax_elem``): 8 (E4M3), 15 (E5M2), 4 (E3M2), 2 (E2M3, E2M1), 0 (MXINT8)."""
        return self.element.emax

    @property
    def is_nvfp4(self) -> bool:
        return self.scale.name == "float8_e4m3fn"


# The integer elements of the MX reference code: value = k / 2^(bits-2), |k| <= 2^(bits-1) - 1.
MXINT4_ELEMENT = Format("mxint4_element", 0, 3, 0, "int", bits=4, frac_bits=2, symmetric=True)
MXINT2_ELEMENT = Format("mxint2_element", 0, 1, 0, "int", bits=2, frac_bits=0, symmetric=True)
# MXINT8 as the MX reference code clamps it: symmetric, -127/64 .. 127/64 (codes as two's complement).
MXINT8_SYMMETRIC = Format("mxint8_symmetric", 0, 7, 0, "int", bits=8, frac_bits=6, symmetric=True)

_E8M0 = lookup("float8_e8m0fnu")

MX_FORMATS: dict[str, MXFormat] = {
    f.name: f
    for f in (
        MXFormat("mxfp8_e4m3", lookup("float8_e4m3fn"), _E8M0, 32, "fp8_e4m3", "float8_e4m3fn"),
        MXFormat("mxfp8_e5m2", lookup("float8_e5m2"), _E8M0, 32, "fp8_e5m2", "float8_e5m2"),
        MXFormat("mxfp6_e3m2", lookup("float6_e3m2fn"), _E8M0, 32, "fp6_e3m2", "fp6_e3m2"),
        MXFormat("mxfp6_e2m3", lookup("float6_e2m3fn"), _E8M0, 32, "fp6_e2m3", "fp6_e2m3"),
        MXFormat("mxfp4", lookup("float4_e2m1fn"), _E8M0, 32, "fp4_e2m1", "float4_e2m1fn_x2"),
        MXFormat("mxint8", lookup("mxint8"), _E8M0, 32, "int8", None),
        MXFormat("mxint4", MXINT4_ELEMENT, _E8M0, 32, "int4", None),
        MXFormat("mxint2", MXINT2_ELEMENT, _E8M0, 32, "int2", None),
        MXFormat("nvfp4", lookup("float4_e2m1fn"), lookup("float8_e4m3fn"), 16, None, None),
    )
}
_ALIASES = {"mxfp8": "mxfp8_e4m3", "mxfp4_e2m1": "mxfp4", "fp4": "mxfp4"}
for _f in MX_FORMATS.values():
    if _f.microxcaling and _f.microxcaling not in _ALIASES:
        _ALIASES[_f.microxcaling] = _f.name


def mx_format(spec) -> MXFormat:
    """Look a block format up by name (``mxfp8_e4m3``, ``mxfp4``, ``nvfp4``; microxcaling's element
    names ``fp8_e4m3``, ``int8`` … are accepted as aliases) or pass an :class:`MXFormat` through.

    Raises:
      ValueError: unknown name (the message lists the known names).
      TypeError: not a string or MXFormat.
    """
    if isinstance(spec, MXFormat):
        return spec
    if not isinstance(spec, str):
        raise TypeError(f"block format must be a name or lowbit.mx.MXFormat, got {type(spec).__name__}")
    key = spec.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in MX_FORMATS:
        raise ValueError(f"unknown block format {spec!r}; known: {', '.join(MX_FORMATS)}")
    return MX_FORMATS[key]
