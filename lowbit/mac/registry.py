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
    is a :class:`ByShape` that :func:`lowbit.matmul` fixes from the operands' M, N, K (and
    its ``out_dtype``); given M, N, K it reads cuBLAS's schedule there — from the shape rule
    recorded on an H200 (:mod:`lowbit.mac.cublas_rule`, docs/cublas.md) where no calibration
    or recorded table has the shape.
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
    if None not in shape and key in PRESETS:
        return _at_shape(key, fn, params, *shape, out="float32")
    return fn(**params)


def for_shape(name: str, params: dict, M: int, N: int, K: int, out: str = "float32"):
    """A cuBLAS preset's accumulator for the GEMM M×K · K×N whose output is ``out`` (the kernel
    cuBLAS runs depends on it): what :meth:`ByShape.for_shape` and :func:`lowbit.matmul` use."""
    key = name.strip().lower().replace("_", "-")
    return _at_shape(key, PRESETS[key], dict(params, M=M, N=N, K=K), M, N, K, out=out)


def _at_shape(key, fn, params, M, N, K, out):
    """The accumulator of :func:`_sourced` (where it came from: :func:`provenance`)."""
    return _sourced(key, fn, params, M, N, K, out)[0]


def _sourced(key, fn, params, M, N, K, out):
    """(accumulator, where it came from).  Sources in order: the user's ``calibrate --sweep``
    record of the shape; a calibration by discovery (user cache, then shipped); the preset's
    tables recorded on an H100; the cuBLAS sweep rule (the H200's record of the shape, else its
    prediction from the recorded shapes).  None of them: UnrecordedShape.  The H100's tables
    come before the H200's rule: cuBLAS does not always pick the same kernel on both (FP8
    16×16×16384 slow accumulation: unsplit on the H100, 6 slices on the H200)."""
    rules = _rules()
    knobs = {k: v for k, v in params.items() if k not in ("M", "N", "K")}
    try:  # this GPU's own record of the shape (lowbit calibrate --sweep --shape) comes first
        mine = rules.preset_accumulator(key, knobs, M, N, K, out=out, recorded_only=True, user_only=True)
    except LookupError:
        mine = None
    if mine is not None:
        return mine, f"recorded on your GPU by lowbit calibrate --sweep ({rules.shipped().get('user_file')})"
    cal = _calibration()
    calibrated = key in cal.GEMMS
    if calibrated:
        found = cal.lookup(key, cal.knobs(key, params), M, N, K)
        if found is not None:  # calibrated on a GPU (lowbit calibrate): read first
            return found, "a calibration by discovery (lowbit calibrate --preset; user cache, else shipped)"
    try:
        return fn(**params), "the preset's own table, recorded on an H100 (vectors/hardware/h100/)"
    except UnrecordedShape as err:
        try:
            predicted, path, how = (rules.preset_accumulator(key, knobs, M, N, K, out=out, with_how=True)
                                    or (None, None, None))
        except LookupError as why:
            predicted, err = None, f"the shipped cuBLAS rule: {why}; and {err}"  # the rule's reason first
        sweep = _sweep_command(rules, key, knobs, out, M, N, K)
        if predicted is not None:
            doc = rules.shipped()
            recorded = how == "recorded" or how.startswith("recorded (")  # its kernel and cut as recorded
            return predicted, (f"the cuBLAS rule of {doc['gpu']} (cuBLASLt {doc['versions'].get('cublasLt')}), "
                               f"path {path} {how}" + ("" if recorded else f"; a prediction: record the "
                                                       f"kernel cuBLAS runs there, on an SM90 GPU: {sweep}"))
        hint = f"; or {cal.hint(key, cal.knobs(key, params), M, N, K)}" if calibrated else ""
        if sweep:
            hint += f"; or record cuBLAS's kernel there: {sweep}"
        raise UnrecordedShape(f"{err}{hint}") from None


def _sweep_command(rules, key, knobs, out, M, N, K) -> str | None:
    """The ``lowbit calibrate --sweep`` command that records the preset's cuBLAS kernel at a shape."""
    path = rules.path_of(key, knobs, out)
    return f"lowbit calibrate --sweep --path {path} --shape {M} {N} {K}" if path else None


def provenance(name: str, M: int, N: int, K: int, out_dtype: str = "float32", **knobs) -> str:
    """Where a cuBLAS preset's schedule at M×N×K (output ``out_dtype``) comes from: your GPU's
    record, a calibration, the preset's H100 table, or the shipped cuBLAS rule — recorded there
    or *predicted* (which kernel's launches the prediction read; a prediction's measured
    accuracy per path is in docs/cublas.md).  ``provenance("h100-bf16", 5, 6144, 10000)``.
    Raises UnrecordedShape where no source covers the shape (the message says how to record it)."""
    key = name.strip().lower().replace("_", "-")
    if key not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; presets: {', '.join(PRESETS)}")
    return _sourced(key, PRESETS[key], dict(knobs, M=M, N=N, K=K), M, N, K, out=out_dtype)[1]


def _rules():
    from . import cublas_rule

    return cublas_rule


def _calibration():
    from . import calibration

    return calibration
