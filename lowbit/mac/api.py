"""``lowbit.matmul`` and ``lowbit.dot``: products of coded operands, accumulated as hardware does.

The Python layer validates operands, formats, shapes and the accumulator, decodes codes
to exact integer fields (:mod:`lowbit.mac.operands`: a per-format table for formats of at
most 16 bits, a table of the distinct values for float32 operands) and dispatches to one
kernel: the Numba CPU kernels of :mod:`lowbit.mac.kernels`, or (``device="cuda"``,
``fused-block`` accumulators) the CUDA kernel of :mod:`lowbit.mac.cuda`, both running the
step of :mod:`lowbit.mac.steps`.  One epilogue follows: the float32 accumulator is
multiplied by fl32(scale_a · scale_b) (IEEE float32 multiply, nearest even) and, for
``out_dtype="float16"`` / ``"bfloat16"``, rounded to that format (nearest even, overflow to
±Inf) — the epilogue ``torch._scaled_mm`` and ``torch.matmul`` were recorded to apply on an
H100 (shared/hardware/h100/README.md, vectors/hardware/h100/paths/README.md).  A NaN result
carries the accumulator's ``nan_bits`` (float32) / ``nan_bits16`` (16-bit outputs).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..formats import format as lookup
from . import kernels as K
from .accumulators import IEEE_FORMATS, ROUNDINGS, ByShape, Exact, FusedBlock, IEEE
from .operands import (FINITE, codes_for_kernel, float32_table, has_special, tables, tf32x3_operands,
                       values32)
from .registry import accumulator as build
from .steps import NO_EXPONENT

OUT_DTYPES = ("float32", "float16", "bfloat16", "int32")
DEVICES = ("cpu", "cuda")
WIDE = ("float32",)  # operand formats above 16 bits: a table of their distinct values
TF32_FRAC_BITS = 10


def _scale(value, name) -> np.float32:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"{name} must be a real number (a per-tensor scale), got {value!r}")
    return np.float32(value)


def _out_dtype(out_dtype) -> str:
    key = out_dtype if isinstance(out_dtype, str) else getattr(out_dtype, "name", None) or str(out_dtype)
    try:
        key = np.dtype(out_dtype).name if not isinstance(out_dtype, str) else key
    except TypeError:
        pass
    key = str(key).lower().replace("torch.", "")
    if key not in OUT_DTYPES:
        raise ValueError(f"out_dtype={out_dtype!r} is not supported; allowed: {', '.join(OUT_DTYPES)}")
    return key


def _device(device) -> str:
    if not isinstance(device, str) or device.strip().lower() not in DEVICES:
        raise ValueError(f"device={device!r} is not supported; allowed: {', '.join(map(repr, DEVICES))}")
    return device.strip().lower()


def matmul(a_codes, b_codes, a_format=None, b_format=None, *, accumulator, scale_a=1.0, scale_b=1.0,
           out_dtype="float32", device="cpu", M=None, N=None, K=None, rows=None, cols=None) -> np.ndarray:
    """C = (A @ B) · scale_a · scale_b with A (M×K) and B (K×N) given as element codes.

    Args:
      a_codes, b_codes: integer arrays of codes (uint8 for FP8, int8 or uint8 for INT8,
        uint16 for float16 / bfloat16, uint32 float32 bit patterns for ``"float32"``),
        A[m, k] and B[k, n], row-major.
      a_format, b_format: format names, dtypes or :class:`lowbit.Format` (at most 16 bits;
        ``"float32"`` with ``fused-block`` accumulators, e.g. ``h100-tf32-triton``,
        ``h100-fp32``).  Optional where the operand's dtype is the format: ml_dtypes arrays
        (float8_*, bfloat16, float6_*, float4_*, int4, int2), numpy float16 / float32, and
        torch tensors (float8, bfloat16, float16, float32; any device, copied to the CPU) — their
        bit patterns are the codes (:mod:`lowbit.interop`).
      accumulator: a name (kinds ``"exact"``, ``"ieee"``, ``"fused-block"``; presets of
        :data:`lowbit.mac.PRESETS`, e.g. ``"h100-fp8"``, ``"h100-bf16"``) or an object from
        :func:`lowbit.mac.accumulator`.  A preset takes only the operand formats it covers.
      scale_a, scale_b: per-tensor scales, taken as float32; the float32 accumulator is
        multiplied by fl32(scale_a · scale_b), rounded to nearest even.
      out_dtype: ``"float32"``, ``"float16"`` (numpy float16) or ``"bfloat16"`` (an
        ml_dtypes bfloat16 array): the scaled float32 rounded to nearest even.  ``"int32"``
        (integer operands, ``exact`` accumulators such as ``h100-int8``, no scales): the
        exact integer sum wrapped to 32-bit two's complement, as ``torch._int_mm``'s int32
        accumulator returns it (float32 is inexact past 2^24).
      device: ``"cpu"`` (Numba, parallel over outputs) or ``"cuda"`` (Numba's CUDA target,
        ``fused-block`` accumulators only; bit-identical to the CPU path).
      M, N, K: the shape of the whole GEMM when the operands are only some rows of A and
        columns of B (a preset whose K order the library picks by shape, such as
        ``h100-bf16``, needs it then); default: the operands' own M, N, K.  K must equal
        the operands' K; M and N must be at least their rows and columns.
      rows, cols: which rows of C (of A) and columns of C (of B) partial operands are, in
        order (integer arrays); default: the first ones.  An accumulator that cuts some output
        tiles alone (``tiles``: cuBLAS's stream-K launches of fewer CTAs than tiles, from a
        preset at such a shape) needs them for partial operands.

    Returns:
      An M×N array of ``out_dtype``.

    Raises:
      ValueError: codes out of range for their format, shapes that do not match, unknown
        accumulator, out_dtype or device, a format the preset does not cover.
      TypeError: non-integer codes, unknown accumulator parameter, non-numeric scale.
      RuntimeError: ``device="cuda"`` where numba.cuda finds no GPU.
    """
    from ..interop import as_codes

    a_codes, a_format = as_codes(a_codes, a_format, "a")
    b_codes, b_format = as_codes(b_codes, b_format, "b")
    if np.ndim(scale_a) or np.ndim(scale_b):  # rowwise / blockwise scales: lowbit.mac.blockscaled
        from .blockscaled import scaled_matmul
        return scaled_matmul(a_codes, b_codes, a_format, b_format, accumulator=accumulator, scale_a=scale_a,
                             scale_b=scale_b, out_dtype=out_dtype, device=device, M=M, N=N, K=K)
    odt = _out_dtype(out_dtype)
    acc = for_operands(accumulator, a_codes, b_codes, a_format, b_format, M, N, K, out=odt)
    sa, sb = _scale(scale_a, "scale_a"), _scale(scale_b, "scale_b")
    at = None if rows is None and cols is None else _positions(np.shape(a_codes)[0], np.shape(b_codes)[1], rows, cols)
    if odt == "int32":
        return _int32_matmul(a_codes, b_codes, a_format, b_format, acc, sa, sb, _device(device))
    out = accumulate(a_codes, b_codes, a_format, b_format, acc, _device(device), at=at)
    return epilogue(out, sa, sb, odt, acc)


def _positions(m: int, n: int, rows, cols):
    """(rows, cols) of C that partial operands of ``m`` rows and ``n`` columns are, checked."""
    rows = np.arange(m) if rows is None else np.asarray(rows)
    cols = np.arange(n) if cols is None else np.asarray(cols)
    for name, v, size in (("rows", rows, m), ("cols", cols, n)):
        if v.ndim != 1 or v.shape[0] != size or not np.issubdtype(v.dtype, np.integer) or (size and v.min() < 0):
            raise ValueError(f"{name} must be {size} non-negative integer indices (one per operand "
                             f"{'row of a' if name == 'rows' else 'column of b'}), got shape {v.shape} {v.dtype}")
    return rows, cols


def _tiles_at(acc, a, b, fa, fb, rows, cols, device):
    """The accumulator of every output of operands that are C's ``rows`` and ``cols`` (all of
    them, or some), under an accumulator that cuts some output tiles alone (``tiles``)."""
    M, N = acc.for_mn
    if (rows.size and rows.max() >= M) or (cols.size and cols.max() >= N):
        raise ValueError(f"rows / cols reach past the {M}x{N} product the accumulator {acc.preset!r} was built for")
    out = _fused_block(dataclasses.replace(acc, tiles=None, for_mn=None), a, b, fa, fb, device)
    for r0, r1, c0, c1, tile_acc in acc.tiles:
        r, c = np.flatnonzero((rows >= r0) & (rows < r1)), np.flatnonzero((cols >= c0) & (cols < c1))
        if r.size and c.size:
            out[np.ix_(r, c)] = _fused_block(tile_acc, a[r], b[:, c], fa, fb, device)
    return out


def gemm_shape(a_codes, b_codes, M=None, N=None, K=None) -> tuple[int, int, int]:
    """The whole GEMM's (M, N, K): the operands' own, or the given ones for partial operands
    (checked: K equal to the operands' K, M and N at least their rows and columns)."""
    a_shape, b_shape = np.shape(a_codes), np.shape(b_codes)
    if len(a_shape) != 2 or len(b_shape) != 2:
        raise ValueError(f"matmul needs 2-D operands: a has shape {a_shape}, b has shape {b_shape}")
    rows, k, cols = a_shape[0], a_shape[1], b_shape[1]
    shape = []
    for name, given, own in (("M", M, rows), ("N", N, cols), ("K", K, k)):
        if given is None:
            shape.append(own)
            continue
        if isinstance(given, (bool, np.bool_)) or not isinstance(given, (int, np.integer)) or given < 1:
            raise ValueError(f"{name}={given!r} is not allowed; allowed: an int >= 1 (the whole GEMM's {name})")
        if (name == "K" and given != own) or given < own:
            allowed = f"K={own}, the operands' K" if name == "K" else f"at least the operands' {own}"
            raise ValueError(f"{name}={given} does not fit the operands ({a_shape} x {b_shape}); allowed: {allowed}")
        shape.append(int(given))
    return tuple(shape)


def for_operands(accumulator, a_codes, b_codes, a_format, b_format, M=None, N=None, K=None, out="float32"):
    """The accumulator (name or object) fixed for this GEMM: a :class:`ByShape` preset gets its
    schedule for the whole GEMM's M, N, K (:func:`gemm_shape`), after its operand formats are
    checked; other accumulators pass through (the shape checked)."""
    acc = build(accumulator)
    shape = gemm_shape(a_codes, b_codes, M, N, K)
    if not isinstance(acc, ByShape):
        return acc
    _check_covered(acc, lookup(a_format), lookup(b_format))
    return acc.for_shape(*shape, out=out)


def _int32_matmul(a_codes, b_codes, a_format, b_format, acc, sa, sb, device) -> np.ndarray:
    """The exact integer sum of integer codes, wrapped to int32 two's complement (``torch._int_mm``)."""
    fa, fb = lookup(a_format), lookup(b_format)
    for f, name in ((fa, "a_format"), (fb, "b_format")):
        if not f.is_int or f.frac_bits:
            raise ValueError(f"out_dtype='int32' takes integer operands (int8, int4, ...); {name}={f.name!r} is not one")
    if not isinstance(acc, Exact):
        raise ValueError(f"out_dtype='int32' is the integer accumulator of an exact integer GEMM (h100-int8, exact); "
                         f"got accumulator {getattr(acc, 'preset', None) or acc.kind!r}")
    if sa != 1 or sb != 1:
        raise ValueError(f"out_dtype='int32' takes no scales (torch._int_mm has none); got scale_a={float(sa)}, "
                         f"scale_b={float(sb)}; allowed: 1")
    if device != "cpu":
        raise ValueError("out_dtype='int32' runs on device='cpu' only")
    a, b = np.asarray(a_codes), np.asarray(b_codes)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise ValueError(f"shapes do not match: a is {a.shape} (M×K), b is {b.shape} (K×N)")
    _check_covered(acc, fa, fb)
    va = tables(fa).sig[codes_for_kernel(a, fa, "a_codes")]  # the codes' integers, int64
    vb = tables(fb).sig[codes_for_kernel(b, fb, "b_codes")]
    # |product| <= 2^30 for formats of at most 16 bits and K < 2^32: the int64 sum is exact
    return (va @ vb).astype(np.int32)  # two's-complement wrap, modulo 2^32


def epilogue(acc32: np.ndarray, scale_a: np.float32, scale_b: np.float32, out_dtype: str, acc) -> np.ndarray:
    """The float32 accumulator times fl32(scale_a · scale_b) (float32 multiplies, nearest even),
    the accumulator's NaN bits, then ``out_dtype``."""
    with np.errstate(over="ignore", invalid="ignore"):
        out = acc32 * np.float32(scale_a * scale_b)
    nan = np.isnan(out)
    if nan.any():
        out.view(np.uint32)[nan] = getattr(acc, "nan_bits", 0x7FC00000)
    if out_dtype == "float32":
        return out
    if out_dtype == "float16":
        with np.errstate(over="ignore"):
            r = out.astype(np.float16)
    else:
        import ml_dtypes

        r = out.astype(ml_dtypes.bfloat16)
    nan16 = getattr(acc, "nan_bits16", None)
    if nan16 is not None and nan.any():
        r.view(np.uint16)[nan] = nan16
    return r


def dot(a_codes, b_codes, a_format, b_format, *, accumulator, scale_a=1.0, scale_b=1.0,
        out_dtype="float32", device="cpu"):
    """The dot product of two code vectors of equal length K (see :func:`matmul`); returns a scalar."""
    a = np.asarray(a_codes)
    b = np.asarray(b_codes)
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError(f"dot needs 1-D operands: a has shape {a.shape}, b has shape {b.shape}")
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"lengths do not match: a has {a.shape[0]} codes, b has {b.shape[0]}")
    return matmul(a[None, :], b[:, None], a_format, b_format, accumulator=accumulator,
                  scale_a=scale_a, scale_b=scale_b, out_dtype=out_dtype, device=device)[0, 0]


def accumulate(a_codes, b_codes, a_format, b_format, acc, device: str = "cpu", at=None) -> np.ndarray:
    """The float32 accumulator of every output (no scale), NaN results with ``acc.nan_bits``;
    ``at``: (rows, cols) of C that partial operands are, for an accumulator with ``tiles``."""
    fa, fb = lookup(a_format), lookup(b_format)
    a = np.asarray(a_codes)
    b = np.asarray(b_codes)
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"matmul needs 2-D operands: a has shape {a.shape}, b has shape {b.shape}")
    if a.shape[1] != b.shape[0]:
        raise ValueError(
            f"shapes do not match: a is {a.shape[0]}x{a.shape[1]} (M×K), b is {b.shape[0]}x{b.shape[1]} (K×N); "
            "a.shape[1] must equal b.shape[0]"
        )
    _check_covered(acc, fa, fb)
    if device == "cuda":
        if not isinstance(acc, FusedBlock):
            raise ValueError(f"device='cuda' runs fused-block accumulators (and their presets) only, got "
                             f"{acc.kind!r}; allowed on the GPU: fused-block and the h100-* presets built on it")
        from . import cuda

        cuda.require()
    for f, name in ((fa, "a_format"), (fb, "b_format")):
        if f.bits > 16 and (f.name not in WIDE or not isinstance(acc, FusedBlock)):
            raise ValueError(
                f"{name}: MAC operands must be formats of at most 16 bits, got {f.name!r} ({f.bits} bits); "
                f"float32 operands are taken by fused-block accumulators (h100-tf32-triton, h100-fp32)")
    M, N = a.shape[0], b.shape[1]
    out = np.zeros((M, N), np.float32)
    if isinstance(acc, FusedBlock) and at is not None and acc.tiles is not None:
        out = _tiles_at(acc, a, b, fa, fb, *at, device)
    elif isinstance(acc, FusedBlock):
        out = _fused_block(acc, a, b, fa, fb, device)
    elif M and N:
        ca = codes_for_kernel(a, fa, "a_codes")
        cb = np.ascontiguousarray(codes_for_kernel(b, fb, "b_codes").T)  # N×K: both walk K
        _exact_or_ieee(acc, fa, fb, ca, cb, out)
    nan = np.isnan(out)
    if nan.any():
        out.view(np.uint32)[nan] = getattr(acc, "nan_bits", 0x7FC00000)
    return out


def _check_covered(acc, fa, fb):
    formats = getattr(acc, "formats", None)
    if formats is None:
        return
    for f, name in ((fa, "a_format"), (fb, "b_format")):
        if f.name not in formats:
            raise ValueError(f"{name}={f.name!r} is not covered by accumulator {acc.preset or acc.kind!r}; "
                             f"its operand formats: {', '.join(formats)}")


def _exact_or_ieee(acc, fa, fb, ca, cb, out):
    ta, tb = tables(fa), tables(fb)
    if isinstance(acc, IEEE):
        order = ("sequential", "pairwise", "chunked").index(acc.order)
        va, vb = values32(fa), values32(fb)
        if acc.format == "float32":
            K.ieee32_matmul(ca, cb, va, vb, order, acc.chunk or 1, out)
        else:
            p, emin, emax = IEEE_FORMATS[acc.format]
            K.ieee_matmul(ca, cb, va.astype(np.float64), vb.astype(np.float64), order, acc.chunk or 1,
                          p, emin, emax, out)
        return
    if not isinstance(acc, Exact):  # pragma: no cover - accumulator() only builds the three kinds
        raise TypeError(f"unsupported accumulator {acc!r}")
    rows, cols = has_special(ca, ta, 1), has_special(cb, tb, 1)
    fin_a, fin_b = ta.special == 0, tb.special == 0
    qmin = int(ta.q[fin_a].min() + tb.q[fin_b].min())
    qmax = int(ta.q[fin_a].max() + tb.q[fin_b].max())
    nlimbs = (qmax - qmin + 64) // 32 + 3
    K.exact_matmul(ca, cb, ta.sig, ta.q, ta.special, tb.sig, tb.q, tb.special, rows, cols, qmin, nlimbs, out)


def kernel_params(acc: FusedBlock) -> tuple:
    """The scalar arguments of the fused-block kernels (CPU and CUDA), in their order."""
    r = ROUNDINGS.index
    return (acc.block_size, acc.frac_bits, acc.align == "product", r(acc.term_rounding), r(acc.acc_rounding),
            acc.acc_in_max, -1 if acc.sum_frac_bits is None else acc.sum_frac_bits, acc.sum_bits or 0,
            r(acc.sum_rounding), acc.promote_every or 0, acc.promote_chunk or 0,
            NO_EXPONENT if acc.sum_emin is None else acc.sum_emin - (acc.sum_bits - 1),
            -NO_EXPONENT if acc.sum_emax is None else acc.sum_emax)


def _operand_table(codes, fmt, acc, name, order):
    """(table indices, (sig, q, e, special)) of one operand, after the preset's input rounding."""
    if fmt.name in WIDE:
        return float32_table(codes, acc.input_rounding, order)
    if acc.input_rounding != "none" and fmt.mbits > TF32_FRAC_BITS:
        raise ValueError(f"{name}: input_rounding={acc.input_rounding!r} cuts float32 operands to TF32; "
                         f"format {fmt.name!r} has {fmt.mbits} fraction bits; allowed: float32 or at most "
                         f"{TF32_FRAC_BITS} fraction bits")
    t = tables(fmt)
    return codes, (t.sig, t.q, t.e, t.special)


def is_fma32_chain(acc: FusedBlock, fa, fb) -> bool:
    """Is this fused-block setting, on these formats, exactly a float32 FMA chain (the "ieee"
    step of h100-tf32-triton and h100-fp32)?  Then :func:`lowbit.mac.steps.fma32` gives its
    bits (CPU and CUDA), faster than the integer step: 1-product steps, the product rounded
    to odd 58 bits below the step's exponent, the sum rounded to nearest even in float32's
    range, float32 operands.  It also keeps IEEE's signed zeros (a negative sum that
    underflows to zero is −0), which the integer chain, built for tensor cores that write +0,
    does not."""
    return (fa.name == fb.name == "float32" and acc.block_size == 1 and acc.frac_bits == 58
            and acc.term_rounding == "odd" and acc.sum_bits == 24 and acc.sum_rounding == "nearest_even"
            and acc.sum_frac_bits is None and acc.sum_emax == 127 and acc.sum_emin == -126
            and acc.promote_every is None and acc.interleave_group is None and acc.operand_split is None
            and acc.input_rounding == "none" and acc.k_tile is None and acc.split_reduce == "float32")


def _fused_block(acc: FusedBlock, a, b, fa, fb, device: str) -> np.ndarray:
    if acc.tiles is not None:
        M, N = acc.for_mn
        if (a.shape[0], b.shape[1]) != (M, N):
            raise ValueError(
                f"accumulator {acc.preset or 'fused-block'!r} treats some output tiles of the {M}x{N} product "
                f"differently; the operands give a {a.shape[0]}x{b.shape[1]} C, whose tiles it cannot place; "
                f"allowed: the full {M}x{N} operands, partial ones with rows= and cols= (which rows and columns "
                f"of C they are), or the per-tile settings themselves (see its docstring)")
        return _tiles_at(acc, a, b, fa, fb, np.arange(M), np.arange(N), device)
    if acc.for_k is not None and a.shape[1] != acc.for_k:
        raise ValueError(f"accumulator {acc.preset or 'fused-block'!r} was built for K={acc.for_k} (its K order is "
                         f"per shape), but the operands have K={a.shape[1]}; allowed: build it for K={a.shape[1]}")
    if is_fma32_chain(acc, fa, fb):
        return _fma32(acc, _wide_codes(a, fa, "a_codes"), _wide_codes(b, fb, "b_codes"), device)
    ca = codes_for_kernel(a, fa, "a_codes") if fa.name not in WIDE else _wide_codes(a, fa, "a_codes")
    cb = codes_for_kernel(b, fb, "b_codes") if fb.name not in WIDE else _wide_codes(b, fb, "b_codes")
    M, N = ca.shape[0], cb.shape[1]
    if acc.operand_split == "tf32x3":
        if fa.name != "float32" or fb.name != "float32":
            raise ValueError(f"operand_split='tf32x3' splits float32 operands; got {fa.name!r} x {fb.name!r}")
        ca, cb = tf32x3_operands(ca, cb, acc.promote_every // 3)
    if acc.interleave_group is not None:
        ca, cb = _interleave(ca, cb, acc, fa, fb)
    params = kernel_params(acc)
    out = np.zeros((M, N), np.float32)
    if not (M and N):
        return out
    parts = []
    for part_k in split_parts(acc, ca.shape[1]):  # split-K slices, each a chain of its own
        sca, scb = ca[:, part_k], cb[part_k, :]
        if acc.k_tile is not None:
            sca, scb = _residue_first(sca, scb, acc, fa, fb)
        ia, ta = _operand_table(np.ascontiguousarray(sca), fa, acc, "a_format", "C")
        ib, tb = _operand_table(np.ascontiguousarray(scb), fb, acc, "b_format", "F" if device == "cpu" else "C")
        if device == "cuda":
            from . import cuda

            part = cuda.fused_block_part(np.ascontiguousarray(ia), np.ascontiguousarray(ib), ta, tb, params)
        else:
            part = np.zeros_like(out)
            sa = np.ascontiguousarray(ia)
            sbt = np.ascontiguousarray(ib.T)  # N×K: both walk K
            rows = (ta[3][sa] != FINITE).any(axis=1) if sa.size else np.zeros(M, np.bool_)
            cols = (tb[3][sbt] != FINITE).any(axis=1) if sbt.size else np.zeros(N, np.bool_)
            K.fused_block_matmul(sa, sbt, *ta, *tb, rows, cols, *params, part)
        parts.append(part)
    return reduce_parts(parts, acc)


def split_bounds(acc: FusedBlock, Kdim: int) -> list:
    """[(lo, hi)] of the split-K slices: ``split_slices`` as given (checked against K), or
    ``split_k`` slices of whole ``split_granule`` granules."""
    if acc.split_slices is not None:
        if sum(acc.split_slices) != Kdim:
            raise ValueError(f"split_slices={acc.split_slices!r} sum to {sum(acc.split_slices)}, but K={Kdim}; "
                             "allowed: slice lengths summing to K")
        ends = np.cumsum((0,) + acc.split_slices)
        return list(zip(ends[:-1].tolist(), ends[1:].tolist()))
    granules = -(-Kdim // acc.split_granule)
    per = max(1, -(-granules // acc.split_k)) * acc.split_granule
    return [(lo, min(lo + per, Kdim)) for lo in range(0, max(Kdim, 1), per)]


def split_parts(acc: FusedBlock, Kdim: int) -> list:
    """The K indices of each chain, in the order it meets them: a slice (view) per contiguous
    split-K slice (:func:`split_bounds`); with ``split_interleave``, an index array per slice
    of the granules dealt to it round-robin; with ``split_lanes``, an index array per lane of
    each slice (slice 0's lanes first), runs of min(lane_run, ceil(L / lanes)) dealt
    round-robin — :func:`reduce_parts` adds them back."""
    if acc.split_lanes > 1:
        out = []
        for lo, hi in split_bounds(acc, Kdim):
            k = np.arange(lo, hi)
            run = min(acc.lane_run, -(-(hi - lo) // acc.split_lanes))
            lane = ((k - lo) // run) % acc.split_lanes
            out += [k[lane == j] for j in range(acc.split_lanes)]
        return out
    if not acc.split_interleave or acc.split_k == 1:
        return [slice(lo, hi) for lo, hi in split_bounds(acc, Kdim)]
    g, s = acc.split_granule, acc.split_k
    starts = np.arange(0, Kdim, g)
    return [np.concatenate([np.arange(lo, min(lo + g, Kdim)) for lo in starts[z::s]])
            for z in range(min(s, len(starts)))]


def reduce_parts(parts: list, acc: FusedBlock) -> np.ndarray:
    """The chains' results added back: with ``split_lanes``, each slice's lanes by the
    shuffle-down tree (lane i += lane i + s for s = lanes/2, …, 1; IEEE float32), then the
    slices by :func:`reduce_slices`."""
    lanes = acc.split_lanes
    if lanes > 1:
        totals = []
        for z in range(0, len(parts), lanes):
            v = list(parts[z:z + lanes])
            s = lanes // 2
            while s >= 1:
                with np.errstate(invalid="ignore", over="ignore"):
                    v[:s] = [(v[i] + v[i + s]).astype(np.float32) for i in range(s)]
                s //= 2
            totals.append(v[0])
        parts = totals
    return reduce_slices(parts, acc)


def reduce_slices(parts: list, acc: FusedBlock) -> np.ndarray:
    """Add the slices' float32 results in ``split_reduce`` (IEEE, nearest even): in slice order,
    or as ``split_tree`` says."""
    def add(x, y):
        with np.errstate(invalid="ignore", over="ignore"):  # Inf − Inf = NaN, overflow = Inf: IEEE, as wanted
            if acc.split_reduce == "float16":  # IEEE float16 add (exact in float32, rounded once)
                return (x.astype(np.float16) + y.astype(np.float16)).astype(np.float32)
            return (x + y).astype(np.float32)

    def tree(t):
        return parts[t] if isinstance(t, int) else add(tree(t[0]), tree(t[1]))

    if acc.split_reduce in ("bfloat16-partials", "float16-partials"):
        # cuBLAS's reduced-precision split-K reduction (cutlass_80_tensorop_bf16_s16816gemm_bf16…,
        # recorded: vectors/hardware/h100/sweep): each slice's float32 result is stored in the
        # output format (nearest even); the stored partials are then added in float32
        from ..codec import decode, encode

        fmt = acc.split_reduce.split("-")[0]
        parts = [decode(encode(p, fmt), fmt, dtype=np.float32) for p in parts]
    if acc.split_tree is not None:
        return tree(acc.split_tree)
    total = parts[0]
    for p in parts[1:]:
        total = add(total, p)
    return total


def residue_first_order(K: int, k_tile: int, block_size: int) -> np.ndarray:
    """Positions of a K-slice in step order with its partial k-tile first (CUTLASS 2.x
    mainloops load the residue tile first): the first K mod k_tile elements in steps of
    ``block_size`` (the last one padded, position −1), then steps of ``block_size``."""
    r = K % k_tile
    pad = -r % block_size if r else 0
    return np.concatenate([np.arange(r), np.full(pad, -1), np.arange(r, K)]).astype(np.int64)


def _residue_first(ca, cb, acc, fa, fb):
    """One slice rearranged by :func:`residue_first_order`, padded with code 0 (zero products
    take no part in a step)."""
    order = residue_first_order(ca.shape[1], acc.k_tile, acc.block_size)
    if (order >= 0).all():
        return ca, cb
    _check_zero_code(fa, fb, f"k_tile={acc.k_tile} pads K with code 0", "K a multiple of the k-tile")
    ca = np.concatenate([ca, np.zeros((ca.shape[0], 1), ca.dtype)], axis=1)[:, order]
    cb = np.concatenate([cb, np.zeros((1, cb.shape[1]), cb.dtype)], axis=0)[order, :]
    return ca, cb


def _fma32(acc: FusedBlock, a_bits, b_bits, device: str) -> np.ndarray:
    """The float32 FMA chain over each split-K slice, the slices added as :func:`reduce_slices` says."""
    av = np.ascontiguousarray(a_bits.view(np.float32))
    bv = b_bits.view(np.float32)
    M, Kdim, N = av.shape[0], av.shape[1], bv.shape[1]
    out = np.zeros((M, N), np.float32)
    if not (M and N):
        return out
    parts = []
    for part_k in split_parts(acc, Kdim):
        if device == "cuda":
            from . import cuda

            part = cuda.fma32_part(np.ascontiguousarray(av[:, part_k]), np.ascontiguousarray(bv[part_k, :]))
        else:
            part = np.zeros((M, N), np.float32)
            K.fma32_matmul(np.ascontiguousarray(av[:, part_k]), np.ascontiguousarray(bv[part_k, :].T), part)
        parts.append(part)
    return reduce_parts(parts, acc)


def _wide_codes(codes, fmt, name):
    """float32 operands: uint32 bit patterns (every 32-bit pattern is a float32 code)."""
    c = np.asarray(codes)
    if c.dtype.kind not in "ui":
        raise TypeError(f"{name}: {fmt.name} codes must be an integer array of bit patterns (uint32), "
                        f"got dtype {c.dtype}")
    if c.size and (int(c.min()) < 0 or int(c.max()) > 0xFFFFFFFF):
        bad = int(c.min()) if int(c.min()) < 0 else int(c.max())
        raise ValueError(f"{name}: code {bad:#x} out of range for {fmt.name}; allowed: 0..0xffffffff")
    return c.astype(np.uint32)


def interleave_order(K: int, group: int, run: int, block_size: int) -> np.ndarray:
    """Positions of K (padded to a multiple of ``group``) in the order the steps meet them.

    Within each group, runs of ``run`` consecutive positions are dealt in turn to the
    group/block_size steps; step s's positions come before step s+1's.
    """
    steps = group // block_size
    order = []
    for g0 in range(0, -(-K // group) * group, group):
        runs = [np.arange(g0 + t * run, g0 + (t + 1) * run) for t in range(group // run)]
        for s in range(steps):
            order.extend(runs[s::steps])
    return np.concatenate(order) if order else np.zeros(0, np.int64)


def _check_zero_code(fa, fb, what: str, allowed: str) -> None:
    """Padding K with code 0 is exact only where code 0 is the value zero (its products take
    no part in a step); raise ValueError naming the format where it is not."""
    for f in (fa, fb):
        if f.name not in WIDE and (tables(f).sig[0] != 0 or tables(f).special[0]):
            raise ValueError(f"{what}, which is not zero in {f.name!r}; allowed: {allowed} for this format")


def _interleave(ca, cb, acc, fa, fb):
    """Pad K with code 0 and permute it into step order (exact: zero products take no part in
    a step).  ``ca`` is M×K, ``cb`` K×N."""
    K = ca.shape[1]
    Kp = -(-K // acc.interleave_group) * acc.interleave_group
    if Kp != K:
        _check_zero_code(fa, fb, f"interleave_group={acc.interleave_group} pads K={K} with code 0",
                         f"K a multiple of {acc.interleave_group}")
        ca = np.concatenate([ca, np.zeros((ca.shape[0], Kp - K), ca.dtype)], axis=1)
        cb = np.concatenate([cb, np.zeros((Kp - K, cb.shape[1]), cb.dtype)], axis=0)
    p = interleave_order(K, acc.interleave_group, acc.interleave_run, acc.block_size)
    return np.ascontiguousarray(ca[:, p]), np.ascontiguousarray(cb[p, :])
