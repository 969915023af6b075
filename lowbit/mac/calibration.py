"""Calibration: a GPU's per-shape schedules, discovered once and then read by the presets.

cuBLAS picks a kernel (and with it the split-K slices and the order K meets the steps) for every
GEMM shape; no formula predicts it.  ``lowbit calibrate`` (or :func:`calibrate`) runs
:func:`lowbit.mac.discover` on the library's own GEMM at the shapes asked for, on the GPU it runs
on, and stores each accumulator found in a per-user cache keyed by the GPU's name and the library
versions (``$LOWBIT_CACHE`` or ``~/.cache/lowbit``: ``calibration/<gpu>.json``).  The cuBLAS
presets (``h100-bf16``, ``h100-fp16``, ``h100-tf32``, ``h100-fp8``) read the cache first, then the
calibrations shipped with lowbit (``lowbit/mac/data/calibration/``: recorded on the GPU named in
each file), then their recorded tables; a shape none of them covers is an error that says how to
calibrate it — never a silent default.  An ``h100-*`` preset takes entries of SM90 GPUs (the
H100's tensor cores: H100, H200).
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import numpy as np

FORMAT = "lowbit-calibration/1"
SHIPPED = Path(__file__).resolve().parent / "data" / "calibration"
# preset -> (GEMM, formats, GEMM knobs) that calibrate runs; presets' own knobs in the key
GEMMS = {
    "h100-bf16": ("torch.matmul", ("bfloat16", "bfloat16"), {}),
    "h100-fp16": ("torch.matmul", ("float16", "float16"), {}),
    "h100-tf32": ("torch.matmul", ("float32", "float32"), {"allow_tf32": True}),
    "h100-fp8": ("torch._scaled_mm", ("float8_e4m3fn", "float8_e4m3fn"), {}),
}
# the preset parameters calibrate takes, each passed to the GEMM under the same name
GEMM_PARAMS = {"h100-fp8": ("fast_accum",)}
PRESET_SM = {"h100": (9, 0)}


def cache_dir() -> Path:
    root = os.environ.get("LOWBIT_CACHE")
    return (Path(root) if root else Path.home() / ".cache" / "lowbit") / "calibration"


def _slug(gpu: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", gpu.lower()).strip("-")


def _key(preset: str, params: dict) -> str:
    return preset + "".join(f",{k}={params[k]!r}" for k in sorted(params))


def knobs(preset: str, params: dict) -> dict:
    """The parameters that tell calibrations of ``preset`` apart: those given, less the shape
    and any at the preset's own default (``library="cublas"``, ``fast_accum=False``)."""
    import inspect

    from .registry import PRESETS

    defaults = {k: p.default for k, p in inspect.signature(PRESETS[preset]).parameters.items()}
    return {k: v for k, v in params.items() if k not in ("M", "N", "K") and not (k in defaults and v == defaults[k])}


def _files() -> list[Path]:
    out = []
    for d in (cache_dir(), SHIPPED):  # the user's cache first
        if d.is_dir():
            out.extend(sorted(d.glob("*.json")))
    return out


_PARSED: dict = {}


def _read(path: Path):
    """A calibration file's JSON, parsed once per modification."""
    try:
        stamp = path.stat().st_mtime_ns
        if _PARSED.get(path, (None,))[0] != stamp:
            _PARSED[path] = (stamp, json.loads(path.read_text()))
        return _PARSED[path][1]
    except (OSError, json.JSONDecodeError):
        return None


def entries(preset: str | None = None) -> list[dict]:
    """Every calibration entry (the user's cache first, then the shipped files), each with the
    GPU, SM and versions of its file."""
    out = []
    for path in _files():
        doc = _read(path)
        if doc is None:
            continue
        if doc.get("format") != FORMAT:
            continue
        for e in doc.get("entries", []):
            if preset is None or e["preset"] == preset:
                out.append({**e, "gpu": doc["gpu"], "sm": tuple(doc["sm"]), "versions": doc["versions"],
                            "file": str(path)})
    return out


def lookup(preset: str, params: dict, M: int, N: int, K: int):
    """The calibrated accumulator of ``preset`` (with ``params``) at M×N×K, or None."""
    family = preset.split("-")[0]
    sm = PRESET_SM.get(family)
    key = _key(preset, params)
    for e in entries(preset):
        if _key(e["preset"], e["params"]) != key or (e["M"], e["N"], e["K"]) != (M, N, K):
            continue
        if sm is not None and e["sm"] != sm or "accumulator" not in e:
            continue
        import dataclasses

        from .registry import PRESETS
        from .store import from_dict

        covered = PRESETS[preset](**params).formats  # the preset's own (a ByShape without a shape)
        return dataclasses.replace(from_dict(e["accumulator"]), preset=preset, formats=covered)
    return None


def hint(preset: str, params: dict, M, N, K) -> str:
    extra = "".join(f" --param {k}={v}" for k, v in sorted(params.items()))
    return (f"calibrate it on an SM90 GPU: lowbit calibrate --preset {preset}{extra} --shape {M} {N} {K} "
            f"(user cache {cache_dir()})")


def gpu_info() -> dict:
    """The GPU's name, compute capability and library versions (needs torch with CUDA)."""
    import torch

    info = {"gpu": torch.cuda.get_device_name(0), "sm": list(torch.cuda.get_device_capability(0)),
            "sms": torch.cuda.get_device_properties(0).multi_processor_count,
            "versions": {"torch": torch.__version__, "cuda": torch.version.cuda}}
    try:
        import ctypes

        lib = ctypes.CDLL("libcublasLt.so.13")
        info["versions"]["cublasLt"] = int(lib.cublasLtGetVersion())
    except (OSError, AttributeError):
        pass
    return info


def calibrate(preset: str, shapes, params: dict | None = None, *, device: str = "cpu", record_outputs: int = 0,
              log=print) -> Path:
    """Discover ``preset``'s GEMM at each (M, N, K) of ``shapes`` on this GPU and add the results to
    the user cache; returns the cache file.  ``record_outputs``: also keep, per shape, the GEMM's
    output corner (that many rows and columns) on seeded random operands, for held-out checks."""
    from .discovery import DiscoveryError, discover
    from .gemms import build
    from .store import to_dict

    if preset not in GEMMS:
        raise ValueError(f"calibrate: preset {preset!r} is not calibrated; allowed: {', '.join(GEMMS)}")
    op, (fa, fb), fixed = GEMMS[preset]
    allowed = GEMM_PARAMS.get(preset, ())
    if set(params or {}) - set(allowed):
        raise ValueError(f"calibrate: {preset} takes the parameters {', '.join(allowed) or 'none'} here, got "
                         f"{sorted(params)}")
    params = knobs(preset, dict(params or {}))
    info = gpu_info()
    path = cache_dir() / f"{_slug(info['gpu'])}.json"
    doc = json.loads(path.read_text()) if path.exists() else {"format": FORMAT, **info, "entries": []}
    doc.update(info)
    gemm = build(op, fa, fb, **fixed, **params)
    for M, N, K in shapes:
        t = time.perf_counter()
        entry = {"preset": preset, "params": params, "M": int(M), "N": int(N), "K": int(K)}
        try:
            acc, rep = discover(gemm, fa, fb, M=int(M), N=int(N), K=int(K), report=True, device=device)
            entry.update(accumulator=to_dict(acc), calls=rep.calls, seconds=round(rep.seconds, 2))
            log(f"{preset} {M}x{N}x{K}: {rep.calls} calls, {rep.seconds:.1f} s: {acc!r}")
        except DiscoveryError as err:
            entry.update(error=str(err).split("Steps so far")[0].strip(), seconds=round(time.perf_counter() - t, 2))
            log(f"{preset} {M}x{N}x{K}: not found: {entry['error'][:200]}")
        if record_outputs:
            entry["held_out"] = _held_out(gemm, fa, fb, int(M), int(N), int(K), record_outputs)
        doc["entries"] = [e for e in doc["entries"] if not (e["preset"] == preset and e["params"] == params and
                                                            (e["M"], e["N"], e["K"]) == (M, N, K))] + [entry]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    return path


def held_out_operands(fa: str, fb: str, M: int, N: int, K: int, seed: int):
    """The seeded random operands of a held-out check (wide-exponent normal values)."""
    from ..codec import encode

    rng = np.random.default_rng(seed)
    a = encode(rng.normal(size=(M, K)) * 2.0 ** rng.integers(-4, 5, (M, K)), fa, overflow="saturate")
    b = encode(rng.normal(size=(K, N)) * 2.0 ** rng.integers(-4, 5, (K, N)), fb, overflow="saturate")
    return a, b


def _held_out(gemm, fa, fb, M, N, K, n):
    seed = 1000003 * M + 1009 * N + K
    a, b = held_out_operands(fa, fb, M, N, K, seed)
    C = np.asarray(gemm(a, b), np.float32)
    r = min(n, M)
    c = min(n, N)
    return {"seed": seed, "rows": r, "cols": c, "bits": [int(x) for x in C[:r, :c].view(np.uint32).reshape(-1)]}
