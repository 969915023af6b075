"""Profiles: named bundles of conversion rules that reproduce one real system exactly.

A profile is a function of the target format (and the source dtype) returning
:class:`lowbit.rules.Rules`; the codec is shared.  Explicit keyword arguments given to
:func:`lowbit.encode` override the profile's rules.

Each profile's docstring lists its rules and where they come from.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .formats import Format
from .rules import Rules, default_rules

ProfileFn = Callable[[Format, np.dtype], Rules]
PROFILES: dict[str, ProfileFn] = {}


def profile(name: str):
    """Register a profile function under ``name``."""

    def deco(fn: ProfileFn) -> ProfileFn:
        PROFILES[name] = fn
        return fn

    return deco


def resolve(name: str | None, fmt: Format, src: np.dtype) -> Rules:
    """The rules of profile ``name`` (None: lowbit's defaults) for converting ``src`` to ``fmt``."""
    if name is None:
        return default_rules(fmt)
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; known profiles: {', '.join(sorted(PROFILES))}")
    return PROFILES[name](fmt, np.dtype(src))


@profile("default")
def _default(fmt: Format, src: np.dtype) -> Rules:
    """lowbit's defaults (:func:`lowbit.rules.default_rules`)."""
    return default_rules(fmt)


@profile("ml_dtypes")
def ml_dtypes_profile(fmt: Format, src: np.dtype) -> Rules:
    """Exactly ``x.astype(ml_dtypes.<fmt>)`` (ml_dtypes 0.5/0.6; numpy's cast for float16/float32).

    Rules (read from ml_dtypes' behaviour, checked exhaustively in the tests):
      - rounding: nearest-even for floats; integers (int2/int4/int8) truncate toward zero
        and wrap modulo 2^bits, as the C++ cast ``static_cast<intN>(float)`` does.
      - overflow: non-saturating where the format has Inf or NaN (E4M3FN overflow → NaN,
        E5M2 → Inf), saturating to ±max for the formats without either (FP6, FP4).
      - NaN: the format's canonical NaN keeping the input's sign (0x7F/0xFF for E4M3FN,
        quiet 0x7E/0xFE for E5M2, 0x80 for fnuz); into FP6/FP4 (no NaN) a NaN becomes a
        zero of the *opposite* sign (+NaN → −0); into float16 numpy keeps the sign and the
        top payload bits; into integers, 0.
      - E8M0: 0, −0 and negative inputs give NaN (0xFF); rounding treats code 0x00 as if it
        were zero (so inputs in (2^-127, 2^-126) round up to 0x01, and 2^-127 itself and
        everything smaller give 0x00).
      - NaN into float16 / bfloat16: a same-format cast keeps the NaN bits; numpy's
        float32/float64 → float16 keeps the sign and top payload bits; every other NaN
        becomes the canonical quiet NaN with the input's sign.
    """
    if fmt.is_int:
        return Rules(rounding="toward_zero", overflow="wrap", nan="zero")
    if fmt.specials == "finite":
        return Rules(overflow="saturate", nan="negated_zero")
    if fmt.specials == "exponent_only":
        return Rules(code0="as_zero")
    numpy_cast = fmt.name in ("float16", "float32") and src.name in ("float32", "float64")
    if src.name == fmt.name or numpy_cast:
        return Rules(nan="payload")
    return Rules()
