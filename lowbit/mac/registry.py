"""The one registry of accumulators: kinds and hardware presets.

Preset names are ``<gpu>-<inputs>[-<library>]`` (no library: the vendor BLAS, cuBLAS /
cuBLASLt); library knobs keep the library's names (``fast_accum``, ``block_k``,
``max_num_imprecise_acc``, ``input_precision``, ``split_k``).  Each preset is a function
returning an accumulator object (a setting of ``fused-block``, or ``exact``) whose
docstring states the rule and every condition it is known to hold under.
"""

from __future__ import annotations

import dataclasses

from . import h100_paths as _paths
from .accumulators import IEEE, Accumulator, ByShape, Exact, FusedBlock, UnrecordedShape, h100_fp8, h100_fp8_triton

KINDS = {"exact": Exact, "ieee": IEEE, "fused-block": FusedBlock}

PRESETS = {
    "h100-fp8": h100_fp8,
    "h100-fp8-triton": h100_fp8_triton,
    "h100-fp16": _paths.h100_fp16,
    "h100-bf16": _paths.h100_bf16,
    "h100-fp16-triton": _paths.h100_fp16_triton,
    "h100-bf16-triton": _paths.h100_bf16_triton,
    "h100-tf32": _paths.h100_tf32,
    "h100-tf32-triton": _paths.h100_tf32_triton,
    "h100-fp32": _paths.h100_fp32,
    "h100-int8": _paths.h100_int8,
}

# Paths recorded on the H100 whose rule was not found (vectors/hardware/h100/paths/README.md,
# "Open"): asking for them is an error, never a silent stand-in.
def accumulator(name, **params) -> Accumulator:
    """Build an accumulator by kind or preset name with its parameters.

    ``accumulator("exact")``, ``accumulator("ieee", order="chunked", chunk=32)``,
    ``accumulator("fused-block", block_size=16, frac_bits=23)``,
    ``accumulator("h100-fp8", fast_accum=True)``,
    ``accumulator("h100-fp8-triton", block_k=64, max_num_imprecise_acc=32)``,
    ``accumulator("h100-bf16", split_k=3)``,
    ``accumulator("h100-tf32-triton", input_precision="tf32x3")``,
    ``accumulator("h100-tf32", M=64, N=64, K=4096)``,
    ``accumulator("h100-fp16", acc="float16", M=64, N=64, K=1000)``.
    A cuBLAS preset given neither a shape nor its schedule knobs (``accumulator("h100-bf16")``)
    is a :class:`ByShape` that :func:`lowbit.matmul` fixes from the operands' M, N, K.
    An accumulator object passes through unchanged (no parameters allowed then).

    Raises:
      ValueError: unknown name (the message lists kinds and presets), bad parameter value.
      TypeError: unknown parameter name (the message lists the allowed ones).
    """
    if isinstance(name, (Exact, IEEE, FusedBlock, ByShape)):
        if params:
            raise TypeError(f"accumulator object {name!r} takes no parameters, got {sorted(params)}")
        return name
    if not isinstance(name, str):
        raise TypeError(f"accumulator must be a name or an accumulator object, got {name!r}")
    key = name.strip().lower().replace("_", "-")
    if key in KINDS:
        fn = KINDS[key]
        allowed = [f.name for f in dataclasses.fields(fn) if f.init]
    elif key in PRESETS:
        fn = PRESETS[key]
        allowed = list(fn.__code__.co_varnames[: fn.__code__.co_argcount])
    else:
        raise ValueError(
            f"unknown accumulator {name!r}; kinds: {', '.join(KINDS)}; presets: {', '.join(PRESETS)}"
        )
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise TypeError(
            f"accumulator {key!r}: unknown parameter(s) {', '.join(unknown)}; allowed: {', '.join(allowed) or 'none'}"
        )
    shape = [params.get(k) for k in ("M", "N", "K")]
    if key in _calibration().GEMMS and None not in shape:
        knobs = _calibration().knobs(key, params)
        found = _calibration().lookup(key, knobs, *shape)
        if found is not None:  # calibrated on a GPU (lowbit calibrate): read first
            return found
        try:
            return fn(**params)
        except UnrecordedShape as err:
            raise UnrecordedShape(f"{err}; or {_calibration().hint(key, knobs, *shape)}") from None
    return fn(**params)


def _calibration():
    from . import calibration

    return calibration
