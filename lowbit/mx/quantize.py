"""``lowbit.mx.quantize``: block-scaled quantization (OCP MX v1.0 and NVFP4), bit by bit.

The Python layer validates input, moves the blocked axis last, and dispatches to the Numba
kernels of :mod:`lowbit.mx._kernels`.  Three behaviours are named by ``profile``:

``None`` (the spec, exact arithmetic)
    OCP MX v1.0 §6.3: X = 2^(floor(log2 amax) − emax_elem) for ``scale_rule="floor"``; every
    element is V_i / X, computed exactly (an exponent shift), rounded once with ``rounding``
    (roundTiesToEven by default, the mode §6.3 requires) and clamped to the element's max
    normal, keeping the sign.  Other scale rules (torchao's names): ``ceil`` = ceil(log2 amax)
    − emax_elem; ``even`` = floor(log2 of amax rounded to the element's precision, ties away)
    − emax_elem; ``rceil`` = ceil(log2(amax / max_normal)) (cuBLAS's MXFP8 recipe).
``"microxcaling"``
    microsoft/microxcaling ``mx_ops._quantize_mx`` (scale_bits=8, shared_exp_method="max",
    flush_fp32_subnorms=False, PyTorch on CPU) bit for bit, float32 input only; rounding is
    microxcaling's "nearest" (= ``nearest_away``), "even" (= ``nearest_even``) or "floor"
    (= ``toward_zero``).  Its float32 ``log2`` makes floor(log2 amax) one too large for amax a few
    ulps below a power of two; an all-zero block takes log2(2^-126); ±0 gives +0; the element
    step doubles for floor-rounded values a few ulps below a power of two; (0.5 − 2^-25) steps
    round up in the nearest modes; integer elements are symmetric (−127/64 … 127/64).
``"torchao"``
    torchao ``prototype.mx_formats.mx_tensor.to_mx`` (eager PyTorch on CPU) and
    ``nvfp4_tensor.nvfp4_quantize``: FLOOR/CEIL/EVEN read amax's float32 exponent field (subnormal
    amax counts as 2^-127); the divisor is clamped to 2^-126; an Inf block gets 2^(128 − emax_elem);
    RCEIL computes fl32(amax / max_pos) and a float32 log2, and a scale code 0 divides by 1.0.
    Elements round to nearest even and saturate.

Edge behaviour (profile None), each from the spec:
  * NaN or Inf in a block: max|V_i| is not finite, so no power of two X exists; the scale is
    E8M0's NaN (0xFF, §5.4.1) and every value of the block decodes as NaN.  Element codes of such
    a block: the element's NaN for NaN/Inf inputs where it has one, else 0.
  * All-zero block: log2(0) = −inf, clamped to the smallest scale, 2^-127 (code 0x00).
  * Shared exponent below −127: clamped to −127 (code 0x00): the block stays finite and its
    small elements may round to zero.  Above 127 (possible only for float64 input): NaN scale,
    since E8M0 has no Inf (§5.4.1) — microxcaling and torchao also give NaN there.
  * Element overflow after scaling: clamped to ± max normal (§6.3).
  * float32 subnormal inputs: scaled exactly like any other value (no flush).
  * Ragged last block: padded with zeros (which never change amax); the padding is not
    returned — ``elements`` has x's shape.
"""

from __future__ import annotations

import dataclasses
from functools import lru_cache

import ml_dtypes
import numpy as np

from .. import codec
from ..formats import Format
from ..rules import ROUNDINGS, Rules
from . import _kernels as MK
from ._log2 import tables
from .formats import MXINT8_SYMMETRIC, MXFormat, mx_format

SCALE_RULES = ("floor", "ceil", "even", "rceil")
PROFILES = ("microxcaling", "torchao")
_MX_ROUNDING_NAMES = {"nearest": "nearest_away", "even": "nearest_even", "floor": "toward_zero"}
_NO_TABLE = np.zeros(277, dtype=np.int64)  # the exact path reads no float32-log2 table
MX_ROUNDINGS = ("nearest_even", "nearest_away", "toward_zero", "up", "down", "odd")


@dataclasses.dataclass(frozen=True)
class MXArray:
    """The result of :func:`quantize`.

    Fields:
      elements: element codes (uint8 bit patterns, unpacked), x's shape.
      scales: scale codes (uint8: E8M0, or E4M3 for NVFP4), x's shape with the blocked axis
        divided by the block size, rounded up.
      format: the :class:`MXFormat`.
      block_size, axis: the blocking (axis as a non-negative index).
      profile, scale_rule, rounding: what produced it.
      tensor_scale: NVFP4's float32 per-tensor scale (None if not used).
      negative_zeros: profile "microxcaling" with integer elements only: where the reference's
        float32 output is −0 (``sign(x) · 0``: a negative x that rounds to zero without its
        scaled value underflowing float32).  Integer element codes have no −0 of their own, so
        the sign is kept beside them and :meth:`dequantize` writes it (None: no such zeros).
    """

    elements: np.ndarray
    scales: np.ndarray
    format: MXFormat
    block_size: int
    axis: int
    profile: str | None = None
    scale_rule: str = "floor"
    rounding: str = "nearest_even"
    tensor_scale: float | None = None
    negative_zeros: np.ndarray | None = None

    def scale_values(self) -> np.ndarray:
        """The scales as float64 values (NaN for the NaN code)."""
        return codec.decode(self.scales, self.format.scale)

    def dequantize(self) -> np.ndarray:
        """float32 values: element value × scale (× tensor scale), each product computed exactly
        and rounded once to float32 (exact except where it leaves float32's range, which needs
        float64 input).  A NaN scale makes its whole block NaN (OCP MX v1.0 §5.4.1).  Profile
        "torchao" with NVFP4 follows torchao's dequantize: fl32(fl32(tensor_scale · scale) · element)."""
        el = codec.decode(self.elements, self._element_format())
        sc = self.scale_values()
        moved = np.moveaxis(el, self.axis, -1)
        n = moved.shape[-1]
        sc_m = np.repeat(np.moveaxis(sc, self.axis, -1), self.block_size, axis=-1)[..., :n]
        if self.format.is_nvfp4 and self.tensor_scale is not None:
            if self.profile == "torchao":
                s32 = (np.float32(self.tensor_scale) * sc_m.astype(np.float32)).astype(np.float32)
                out = (moved.astype(np.float32) * s32).astype(np.float32)
                return np.moveaxis(out, -1, self.axis)
            sc_m = sc_m * np.float64(np.float32(self.tensor_scale))
        with np.errstate(over="ignore", invalid="ignore"):
            out = np.moveaxis((moved * sc_m).astype(np.float32), -1, self.axis)
        if self.negative_zeros is not None:
            out[self.negative_zeros & (out == 0)] = -0.0
        return out

    def _element_format(self) -> Format:
        return _element_format(self.format, self.profile)


def _element_format(fmt: MXFormat, profile: str | None) -> Format:
    if profile == "microxcaling" and fmt.name == "mxint8":
        return MXINT8_SYMMETRIC
    return fmt.element


def _check_input(x) -> np.ndarray:
    arr = np.asarray(x)
    if arr.dtype not in (np.float32, np.float64, np.float16, ml_dtypes.bfloat16):
        raise TypeError(
            f"unsupported input dtype {arr.dtype}; allowed: float32, float64, float16, bfloat16 "
            "(cast integers to a float type first)"
        )
    if arr.ndim == 0:
        raise ValueError("block quantization needs an array with at least one axis; got a 0-d value")
    return arr


def _check_axis(axis, ndim: int) -> int:
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(f"axis must be an integer, got {axis!r}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"axis {axis} out of range for an array of {ndim} dimension(s); allowed: {-ndim}..{ndim - 1}")
    return int(axis) % ndim


def _check_block(block_size, fmt: MXFormat) -> int:
    if block_size is None:
        return fmt.block_size
    if not isinstance(block_size, (int, np.integer)) or isinstance(block_size, bool):
        raise TypeError(f"block_size must be a positive integer, got {block_size!r}")
    if block_size <= 0:
        raise ValueError(f"block_size must be a positive integer, got {block_size}")
    return int(block_size)


def _resolve_rounding(rounding, profile) -> str:
    if profile == "microxcaling" and rounding in _MX_ROUNDING_NAMES:
        return _MX_ROUNDING_NAMES[rounding]
    if rounding not in MX_ROUNDINGS:
        extra = " (or microxcaling's nearest/even/floor with profile='microxcaling')" if rounding in _MX_ROUNDING_NAMES else ""
        raise ValueError(f"unknown rounding {rounding!r} for block quantization; allowed: {', '.join(MX_ROUNDINGS)}{extra}")
    return rounding


@lru_cache(maxsize=None)
def _element_params(elem: Format, rounding: str) -> np.ndarray:
    return codec.params(elem, Rules(rounding=rounding, overflow="saturate", nan="zero" if not elem.has_nan else "nan"))


def _maxpos(elem: Format) -> tuple[int, int]:
    """max normal of the element as (odd significand, exponent)."""
    v = elem.magnitude_value(elem.max_magnitude_code)
    num, den = v.numerator, v.denominator
    e = 0
    while den > 1:
        den //= 2
        e -= 1
    while num % 2 == 0:
        num //= 2
        e += 1
    return num, e


def _to_bits(arr: np.ndarray) -> tuple[np.ndarray, bool]:
    if arr.dtype == np.float64:
        return np.ascontiguousarray(arr).view(np.uint64).reshape(-1), True
    a32 = np.ascontiguousarray(arr.astype(np.float32, copy=False))  # float16/bfloat16: exact
    return a32.view(np.uint32).reshape(-1), False


def _layout(arr: np.ndarray, ax: int, bs: int):
    """The blocked axis moved last: (moved, shape, length, rows, blocks per row, raw bits, is64)."""
    moved = np.moveaxis(arr, ax, -1)
    length = moved.shape[-1]
    nrows = int(np.prod(moved.shape[:-1], dtype=np.int64))
    bits, is64 = _to_bits(moved)
    return moved, moved.shape, length, nrows, -(-length // bs), bits, is64


def quantize(
    x,
    fmt,
    *,
    block_size: int | None = None,
    axis: int = -1,
    scale_rule: str = "floor",
    rounding: str = "nearest_even",
    profile: str | None = None,
    tensor_scale=None,
) -> MXArray:
    """Quantize ``x`` to a block-scaled format, blocks of ``block_size`` along ``axis``.

    Args:
      x: float32, float64, float16 or bfloat16 array (float16/bfloat16 are widened exactly).
      fmt: ``mxfp8_e4m3``, ``mxfp8_e5m2``, ``mxfp6_e3m2``, ``mxfp6_e2m3``, ``mxfp4``, ``mxint8``,
        ``mxint4``, ``mxint2`` or ``nvfp4`` (or an :class:`MXFormat`).
      block_size: elements per scale (default: the format's, 32; 16 for NVFP4); any positive size.
      axis: the axis blocks run along.
      scale_rule: ``floor`` (OCP MX v1.0 §6.3), ``ceil``, ``even`` or ``rceil`` (E8M0 formats).
      rounding: element rounding: nearest_even (default; §6.3), nearest_away, toward_zero, up,
        down, odd; with profile="microxcaling" also its names nearest/even/floor.
      profile: None (the spec, exact), "microxcaling" or "torchao" (see the module docstring).
      tensor_scale: NVFP4 only: float32 per-tensor scale (finite, > 0); block scales are
        amax / (6 · tensor_scale) and values decode as element · scale · tensor_scale.

    Returns:
      :class:`MXArray` with ``elements``, ``scales`` and ``dequantize()``.

    Raises:
      ValueError: unknown format, scale rule, rounding or profile; block_size not positive; axis
        out of range; NaN/Inf/non-positive tensor_scale; a combination a profile does not have.
      TypeError: non-float input.
    """
    f = mx_format(fmt)
    arr = _check_input(x)
    ax = _check_axis(axis, arr.ndim)
    bs = _check_block(block_size, f)
    if profile is not None and profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r} for block quantization; allowed: None, {', '.join(PROFILES)}")
    if scale_rule not in SCALE_RULES:
        raise ValueError(f"unknown scale_rule {scale_rule!r}; allowed: {', '.join(SCALE_RULES)}")
    rnd = _resolve_rounding(rounding, profile)
    if f.is_nvfp4:
        return _quantize_nvfp4(arr, f, bs, ax, scale_rule, rnd, profile, tensor_scale)
    if tensor_scale is not None:
        raise ValueError(f"tensor_scale applies to nvfp4 only, not {f.name!r}")
    if profile == "microxcaling":
        if arr.dtype != np.float32:
            raise TypeError(f"profile='microxcaling' reproduces the float32 reference; got {arr.dtype} input")
        if scale_rule != "floor":
            raise ValueError(f"profile='microxcaling' has only scale_rule='floor' (shared_exp_method='max'), not {scale_rule!r}")
        if f.microxcaling is None:
            raise ValueError(f"microxcaling has no element format for {f.name!r}")
        if rnd not in ("nearest_away", "nearest_even", "toward_zero"):
            raise ValueError(f"microxcaling rounds nearest/even/floor only, not {rounding!r}")
    if profile == "torchao":
        if arr.dtype not in (np.float32, ml_dtypes.bfloat16):
            raise TypeError(f"profile='torchao' reproduces to_mx on float32/bfloat16 input; got {arr.dtype}")
        if f.torchao is None:
            raise ValueError(f"torchao's to_mx has no element dtype for {f.name!r}")
        if rnd != "nearest_even":
            raise ValueError(f"torchao's to_mx rounds to nearest even only, not {rounding!r}")

    elem = _element_format(f, profile)
    moved, shape, length, nrows, nblk, bits, is64 = _layout(arr, ax, bs)
    q = np.zeros(MK.N_Q, dtype=np.int64)
    q[MK.Q_RULE] = MK.RULE_CODE[scale_rule]
    q[MK.Q_PROFILE] = MK.PROFILE_CODE[profile or "spec"]
    q[MK.Q_EMAX] = f.emax_elem
    q[MK.Q_MAXPOS_SIG], q[MK.Q_MAXPOS_EXP] = _maxpos(elem)
    q[MK.Q_ELEM_MBITS] = elem.mbits if not elem.is_int else elem.bits - 2
    q[MK.Q_QEXP] = (elem.emin - elem.mbits) if not elem.is_int else -elem.frac_bits
    q[MK.Q_IS64] = int(is64)
    q[MK.Q_BLOCK] = bs
    q[MK.Q_ROUNDING] = {"nearest_even": 0, "nearest_away": 1, "toward_zero": 2}.get(rnd, 9)
    q[MK.Q_ELEM_EMIN] = elem.emin if not elem.is_int else 0
    q[MK.Q_ELEM_ISINT] = int(elem.is_int)
    q[MK.Q_ELEM_HASNAN] = int(elem.has_nan)
    pe = _element_params(elem, rnd)
    up, down = tables() if profile is not None else (_NO_TABLE, _NO_TABLE)
    elements = np.empty(nrows * length, dtype=np.uint8)
    scales = np.empty(nrows * nblk, dtype=np.uint8)
    flagged = np.zeros(nrows * nblk, dtype=np.uint8)
    if elements.size:
        MK.mx_quantize(bits, nrows, length, q, pe, up, down, elements, scales, flagged)
    if profile == "torchao" and flagged.any():
        from ._torchao import fix_nonfinite_blocks

        fix_nonfinite_blocks(moved, elements, scales, flagged, f, bs, scale_rule)
    elements = np.moveaxis(elements.reshape(shape), -1, ax)
    scales = np.moveaxis(scales.reshape(shape[:-1] + (nblk,)), -1, ax)
    neg0 = None
    if profile == "microxcaling" and elem.is_int:
        # the reference writes sign(x)·0: −0 where x < 0 and x·2^-s did not underflow float32
        xa = moved.astype(np.float64)
        sc = np.moveaxis(scales, ax, -1).astype(np.int64)
        s = np.repeat(sc, bs, axis=-1)[..., :length] - 127
        neg0 = np.moveaxis((xa < 0) & (np.abs(xa) > np.ldexp(1.0, s - 150)), -1, ax)
    return MXArray(np.ascontiguousarray(elements), np.ascontiguousarray(scales), f, bs, ax, profile, scale_rule, rnd,
                   negative_zeros=neg0)


def _quantize_nvfp4(arr, f, bs, ax, scale_rule, rnd, profile, tensor_scale) -> MXArray:
    if profile == "microxcaling":
        raise ValueError("microxcaling has no NVFP4; allowed profiles for nvfp4: None, torchao")
    if scale_rule != "floor":
        raise ValueError(f"nvfp4 scales are E4M3 (amax / 6, rounded to nearest even); scale_rule {scale_rule!r} does not apply")
    if rnd != "nearest_even":
        raise ValueError(f"nvfp4 elements round to nearest even here; rounding {rnd!r} is not offered")
    if profile == "torchao" and arr.dtype not in (np.float32, ml_dtypes.bfloat16):
        raise TypeError(f"profile='torchao' reproduces nvfp4_quantize on float32/bfloat16 input; got {arr.dtype}")
    ts = 1.0
    if tensor_scale is not None:
        t = np.asarray(tensor_scale)
        if t.size != 1 or t.dtype.kind not in "fiu":
            raise TypeError(f"tensor_scale must be one float, got {tensor_scale!r}")
        t32 = np.float32(t.reshape(-1)[0])
        if not np.isfinite(t32) or t32 <= 0:
            raise ValueError(f"tensor_scale must be a finite float32 > 0, got {float(t.reshape(-1)[0])!r}")
        ts = float(t32)
    moved, shape, length, nrows, nblk, bits, is64 = _layout(arr, ax, bs)
    v = np.zeros(MK.N_V, dtype=np.int64)
    v[MK.V_PROFILE] = 2 if profile == "torchao" else 0
    v[MK.V_HAS_TS] = int(tensor_scale is not None)
    v[MK.V_IS64] = int(is64)
    pe = _element_params(f.element, "nearest_even")
    ps = codec.params(f.scale, Rules(rounding="nearest_even", overflow="saturate"))
    scale_values = codec.decode(np.arange(256, dtype=np.uint8), f.scale)
    mags = codec.decode(np.arange(f.element.max_magnitude_code + 1, dtype=np.uint8), f.element)
    mids = (mags[:-1] + mags[1:]) / 2  # exact: FP4 values have 2 significant bits
    elements = np.empty(nrows * length, dtype=np.uint8)
    scales = np.empty(nrows * nblk, dtype=np.uint8)
    flagged = np.zeros(nrows * nblk, dtype=np.uint8)
    if elements.size:
        MK.nvfp4_quantize(bits, bits.view(np.float64 if is64 else np.float32), nrows, length, bs, v, ts, pe, ps,
                          scale_values, mids, elements, scales, flagged)
    if profile == "torchao" and flagged.any():
        from ._torchao import fix_nonfinite_nvfp4

        fix_nonfinite_nvfp4(moved, elements, scales, flagged, bs, tensor_scale is not None, ts)
    elements = np.moveaxis(elements.reshape(shape), -1, ax)
    scales = np.moveaxis(scales.reshape(shape[:-1] + (nblk,)), -1, ax)
    return MXArray(np.ascontiguousarray(elements), np.ascontiguousarray(scales), f, bs, ax, profile, scale_rule, rnd,
                   ts if tensor_scale is not None else None)


def fake_quantize(x, fmt, **kwargs) -> np.ndarray:
    """``quantize(x, fmt, **kwargs).dequantize()``: float32 values, x's shape.

    With profile="microxcaling" a result of zero carries the sign microxcaling gives it:
    ``sign(x) * 0``, i.e. −0 for a negative input that rounds to zero and +0 for ±0 inputs and
    for inputs whose scaled value underflows float32 (integer element codes have no −0 of their
    own: the MXArray keeps those signs in ``negative_zeros``).
    """
    return quantize(x, fmt, **kwargs).dequantize()
