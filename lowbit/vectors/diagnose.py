"""Diagnose mismatches: which profile or rule bundle produces the code a kernel returned.

Shared by ``lowbit check`` and :mod:`lowbit.testing`: for every input whose code differs
from the golden one, encode it under every registered profile and every deterministic
rounding × overflow rule (and the NaN, subnormal and E8M0 variants) and name those that
give the kernel's code.
"""

from __future__ import annotations

import math

import numpy as np

from ..codec import decode, encode
from ..formats import CLASS_NAMES, Format
from ..profiles import PROFILES
from ..rules import NAN_RULES


def candidates(fmt: Format) -> list[tuple[str, dict]]:
    """(label, encode keywords) of every named behaviour a kernel's answer may match:
    the profiles and rounding × overflow bundles first, then single-rule variants of lowbit's
    defaults (NaN, subnormal and E8M0 rules), which are reported only where nothing before
    them matches."""
    from .families import DETERMINISTIC_ROUNDINGS, overflow_modes

    out = [(f"profile {name}", {"profile": name}) for name in sorted(PROFILES)]
    for ov in overflow_modes(fmt):
        for rnd in DETERMINISTIC_ROUNDINGS:
            out.append((f"rounding={rnd} overflow={ov}", {"rounding": rnd, "overflow": ov}))
    out.append(("subnormals=flush", {"subnormals": "flush"}))
    for rule in NAN_RULES:
        if rule != "error":
            out.append((f"nan={rule}", {"nan": rule, "overflow": overflow_modes(fmt)[0]}))
    if fmt.specials == "exponent_only":
        out += [("code0=as_zero", {"code0": "as_zero"}), ("zero=min", {"zero": "min"}),
                ("negative=abs", {"negative": "abs"})]
    return out


def matching_behaviours(x: np.ndarray, got: np.ndarray, fmt: Format) -> list[list[str]]:
    """For each input ``x[i]``, the labels of the behaviours whose code equals ``got[i]``."""
    names: list[list[str]] = [[] for _ in range(x.size)]
    variants: list[list[str]] = [[] for _ in range(x.size)]
    if x.size == 0:
        return names
    got = np.asarray(got).astype(np.int64).reshape(-1)
    for label, kwargs in candidates(fmt):
        try:
            codes = encode(x, fmt, **kwargs).astype(np.int64).reshape(-1)
        except (ValueError, TypeError):
            codes = _one_by_one(x, fmt, kwargs)
        primary = label.startswith(("profile ", "rounding="))
        for i in np.nonzero(codes == got)[0]:
            (names if primary else variants)[i].append(label)
    return [n if n else v for n, v in zip(names, variants)]


def _one_by_one(x, fmt, kwargs):
    out = np.full(x.size, -1, dtype=np.int64)
    flat = x.reshape(-1)
    for i in range(flat.size):
        try:
            out[i] = int(encode(flat[i:i + 1], fmt, **kwargs)[0])
        except (ValueError, TypeError):
            pass
    return out


def describe_code(code: int, fmt: Format) -> str:
    """``0x38 (1)``, ``0x7f (NaN)``: a code with its decoded value."""
    digits = (fmt.bits + 3) // 4
    try:
        v = float(decode(np.array([code], dtype=np.int64), fmt)[0])
    except ValueError:
        return f"{code:#0{digits + 2}x} (not a {fmt.name} code)"
    return f"{code:#0{digits + 2}x} ({_num(v)})"


def describe_float(bits: int, dtype) -> str:
    dtype = np.dtype(dtype)
    width = dtype.itemsize * 2
    raw = np.array([bits], dtype=np.uint64).astype({2: np.uint16, 4: np.uint32, 8: np.uint64}[dtype.itemsize])
    with np.errstate(invalid="ignore"):
        v = float(raw.view(dtype)[0])
    return f"{bits:#0{width + 2}x} ({_num(v)})"


def _num(v: float) -> str:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Inf" if v > 0 else "-Inf"
    if v == 0:
        return "-0" if math.copysign(1.0, v) < 0 else "0"
    r = repr(v)
    return r[:-2] if r.endswith(".0") else r


def class_name(c: int) -> str:
    return CLASS_NAMES[c] if 0 <= c < len(CLASS_NAMES) else f"class {c}"


def common(labels: list[list[str]]) -> list[str]:
    """Behaviours that explain every mismatch at once (in candidate order)."""
    if not labels:
        return []
    first = labels[0]
    rest = [set(s) for s in labels[1:]]
    return [lab for lab in first if all(lab in s for s in rest)]


# ---------------------------------------------------------------------------------------
# dot products: which accumulator gives the kernel's result
# ---------------------------------------------------------------------------------------
def accumulator_candidates() -> list[tuple[str, str, dict]]:
    """(label, accumulator name, parameters) of the lowbit.mac accumulators a dot result may match."""
    from ..mac.accumulators import ORDERS

    out = [("exact", "exact", {})]
    for order in ORDERS:
        params = {"order": order, **({"chunk": 32} if order == "chunked" else {})}
        out.append((f"ieee order={order}" + (" chunk=32" if order == "chunked" else ""), "ieee", params))
    out += [("h100-fp8", "h100-fp8", {}), ("h100-fp8 fast_accum=True", "h100-fp8", {"fast_accum": True}),
            ("h100-fp8-triton", "h100-fp8-triton", {})]
    return out


def matching_accumulators(a: np.ndarray, b: np.ndarray, got_bits: np.ndarray, fa: Format, fb: Format,
                          scale_a: float = 1.0, scale_b: float = 1.0) -> list[list[str]]:
    """For each dot product (rows of ``a`` and ``b``, codes), the accumulators whose float32 result
    has the bits ``got_bits``."""
    from ..mac import accumulator, matmul

    names: list[list[str]] = [[] for _ in range(a.shape[0])]
    for label, name, params in accumulator_candidates():
        try:
            acc = accumulator(name, **params)
            with np.errstate(over="ignore", invalid="ignore"):
                full = matmul(a.astype(fa.code_dtype), np.ascontiguousarray(b.T).astype(fb.code_dtype), fa, fb,
                              accumulator=acc, scale_a=scale_a, scale_b=scale_b)
        except (ValueError, TypeError):
            continue  # this accumulator does not take these formats
        bits = np.ascontiguousarray(np.diagonal(full)).astype(np.float32).view(np.uint32).astype(np.int64)
        for i in np.nonzero(bits == got_bits)[0]:
            names[i].append(label)
    return names
