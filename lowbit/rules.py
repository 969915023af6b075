"""Conversion rules: the small named bundle that a profile chooses.

The codec is one; what differs between systems (ml_dtypes, torch, the GPU's ``cvt``
instruction, the MX reference code) is a handful of choices, each a field here.
A :class:`Rules` is resolved for one target format; ``None`` in a profile means
"the format's default" (see :func:`default_rules`).
"""

from __future__ import annotations

import dataclasses

from . import _kernels as K
from .formats import Format

ROUNDINGS = tuple(K.ROUNDING_CODE)
OVERFLOWS = tuple(K.OVERFLOW_CODE)
NAN_RULES = tuple(K.NAN_CODE)
INF_RULES = tuple(K.INF_CODE)
ZERO_RULES = tuple(K.ZERO_RULE_CODE)
NEGATIVE_RULES = tuple(K.NEG_RULE_CODE)
SUBNORMAL_RULES = tuple(K.SUBNORM_CODE)
CODE0_RULES = tuple(K.CODE0_CODE)
# A float64 input is read exactly, or first rounded to float32 (nearest-even, as numpy's cast),
# as ml_dtypes before 0.7 converts float64 into its own formats (two roundings).
FLOAT64_INPUT_RULES = ("exact", "via_float32")
INT_OVERFLOWS = ("wrap", "zero", "wrap_int32")  # overflow rules for integer formats only


@dataclasses.dataclass(frozen=True)
class Rules:
    """Every choice a conversion makes, for one target format.

    Fields:
      rounding: one of :data:`ROUNDINGS` (IEEE 754-2019 §4.3 directions, ``odd``,
        and gfloat's ``stochastic``, ``stochastic_odd``, ``stochastic_fast``,
        ``stochastic_fastest``).
      overflow: ``saturate`` (to ±max finite), ``nonsaturating`` (±Inf where the format
        has Inf, else NaN: OCP 8-bit FP v1.0 §4.4), or, for integers only: ``wrap``
        (modulo 2^bits of the truncated value), ``wrap_int32`` (a C cast on x86-64: the value
        truncated to a 32-bit int, INT_MIN where it is out of int32's range, then its low
        bits: numpy's float → int8, ml_dtypes < 0.7 int2/int4), ``zero`` (out of range gives
        0: ml_dtypes ≥ 0.7 int casts).
      nan: what a NaN input becomes (see ``lowbit._kernels.NAN_CODE``).
      inf: ``overflow`` (±Inf follows the overflow rule) or ``saturate`` (always ±max).
      zero: unsigned formats without zero (E8M0): ``nan`` or ``min`` (code 0).
      negative: unsigned formats: a negative input becomes ``nan`` or its ``abs`` is taken.
      subnormals: ``keep`` or ``flush`` (results below the normal range become 0).
      code0: E8M0 only: round among the real values (``value``: code 0 is 2^-127) or, as
        ml_dtypes 0.5.1-0.6 and torch do, round as if code 0 were zero and then read it as
        2^-127 (``as_zero``), or as ``as_zero`` with ties to the even code (``as_zero_even``,
        ml_dtypes 0.5.0: 1.5·2^e goes to whichever of 2^e, 2^(e+1) has the even code).
      float64_input: ``exact`` (a float64 input is rounded once), or ``via_float32`` (it is
        first rounded to float32, nearest-even, then converted: two roundings, as ml_dtypes
        before 0.7 does into its own formats).  No effect on other source dtypes.
    """

    rounding: str = "nearest_even"
    overflow: str = "nonsaturating"
    nan: str = "nan"
    inf: str = "overflow"
    zero: str = "nan"
    negative: str = "nan"
    subnormals: str = "keep"
    code0: str = "value"
    float64_input: str = "exact"

    def __post_init__(self):
        for field, allowed in (
            ("rounding", ROUNDINGS), ("overflow", OVERFLOWS), ("nan", NAN_RULES), ("inf", INF_RULES),
            ("zero", ZERO_RULES), ("negative", NEGATIVE_RULES), ("subnormals", SUBNORMAL_RULES), ("code0", CODE0_RULES),
            ("float64_input", FLOAT64_INPUT_RULES),
        ):
            value = getattr(self, field)
            if value not in allowed:
                raise ValueError(f"unknown {field} rule {value!r}; allowed: {', '.join(allowed)}")

    def replace(self, **changes) -> "Rules":
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


def default_rules(fmt: Format) -> Rules:
    """lowbit's own defaults: round to nearest even; non-saturating where the format has
    Inf or NaN to go to (OCP 8-bit FP v1.0 §4.4), saturating where it has neither
    (OCP MX v1.0 §5.3.2: FP6/FP4 conversions clamp to max normal); NaN to the format's NaN;
    into E8M0, zero and negatives have no code and give NaN (OCP MX v1.0 §5.4.1)."""
    if fmt.is_int:
        return Rules(overflow="saturate", nan="error")
    if fmt.has_inf or fmt.has_nan:
        return Rules()
    return Rules(overflow="saturate", nan="error")


def check_rules_for(rules: Rules, fmt: Format) -> None:
    """Refuse combinations that have no meaning for the format."""
    if rules.overflow in INT_OVERFLOWS and not fmt.is_int:
        raise ValueError(f"overflow={rules.overflow!r} applies to integer formats only, not {fmt.name!r}; "
                         "allowed: saturate, nonsaturating")
    if fmt.is_int and rules.overflow == "nonsaturating":
        raise ValueError(f"integer format {fmt.name!r} has no Inf or NaN: overflow must be 'saturate' or 'wrap' "
                         "(or 'wrap_int32', 'zero')")
