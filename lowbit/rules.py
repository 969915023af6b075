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


@dataclasses.dataclass(frozen=True)
class Rules:
    """Every choice a conversion makes, for one target format.

    Fields:
      rounding: one of :data:`ROUNDINGS` (IEEE 754-2019 §4.3 directions, ``odd``,
        and gfloat's ``stochastic``, ``stochastic_odd``, ``stochastic_fast``,
        ``stochastic_fastest``).
      overflow: ``saturate`` (to ±max finite), ``nonsaturating`` (±Inf where the format
        has Inf, else NaN: OCP 8-bit FP v1.0 §4.4), or ``wrap`` (integers: modulo 2^bits).
      nan: what a NaN input becomes (see ``lowbit._kernels.NAN_CODE``).
      inf: ``overflow`` (±Inf follows the overflow rule) or ``saturate`` (always ±max).
      zero: unsigned formats without zero (E8M0): ``nan`` or ``min`` (code 0).
      negative: unsigned formats: a negative input becomes ``nan`` or its ``abs`` is taken.
      subnormals: ``keep`` or ``flush`` (results below the normal range become 0).
      code0: E8M0 only: round among the real values (``value``: code 0 is 2^-127) or, as
        ml_dtypes does, round as if code 0 were zero and then read it as 2^-127 (``as_zero``).
    """

    rounding: str = "nearest_even"
    overflow: str = "nonsaturating"
    nan: str = "nan"
    inf: str = "overflow"
    zero: str = "nan"
    negative: str = "nan"
    subnormals: str = "keep"
    code0: str = "value"

    def __post_init__(self):
        for field, allowed in (
            ("rounding", ROUNDINGS), ("overflow", OVERFLOWS), ("nan", NAN_RULES), ("inf", INF_RULES),
            ("zero", ZERO_RULES), ("negative", NEGATIVE_RULES), ("subnormals", SUBNORMAL_RULES), ("code0", CODE0_RULES),
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
    if rules.overflow == "wrap" and not fmt.is_int:
        raise ValueError(f"overflow='wrap' applies to integer formats only, not {fmt.name!r}; "
                         "allowed: saturate, nonsaturating")
    if fmt.is_int and rules.overflow == "nonsaturating":
        raise ValueError(f"integer format {fmt.name!r} has no Inf or NaN: overflow must be 'saturate' or 'wrap'")
