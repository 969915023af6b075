"""Rowwise and blockwise (DeepSeek-V3) scales of ``torch._scaled_mm`` as cuBLASLt computes them on SM90.

:func:`lowbit.matmul` hands its work here when ``scale_a`` / ``scale_b`` are arrays (not
per-tensor scalars).  The scales are float32, shaped as ``torch._scaled_mm`` takes them; the
kind of scaling follows from the shapes, checked in torch's order of preference
(ATen/native/cuda/ScaledBlas.cpp, ``get_joint_scaling``), with kb = ceil(K/128):

``rowwise``          scale_a (M, 1), scale_b (1, N)
``b128x128_b1x128``  scale_a (ceil(M/128), kb) per 128×128 of A, scale_b (kb, N) per 128×1 of B
``b1x128_b128x128``  scale_a (M, kb) per 1×128 of A, scale_b (kb, ceil(N/128)) per 128×128 of B
``b1x128_b1x128``    scale_a (M, kb), scale_b (kb, N)

The rules (vectors/hardware/h100/blockscaled/README.md; NVIDIA H200, driver 580.159.04,
torch 2.11.0+cu130, cuBLASLt 13.1.0.0 = 130100; fitted with ``fit_scaled_mm.py`` there):

* rowwise (kernels ``nvjet_sm90_*_ovscale``): the FP8 tensor-core chain of ``h100-fp8``
  (fast_accum: one chain over K; otherwise promoted into float32 every 128 of K), then
  C = fl32(fl32(acc · scale_b[n]) · scale_a[m]) — scale_b first — and bfloat16 output rounds
  that float32 to nearest even.
* blockwise (kernels ``nvjet_sm90_*_Ablk128_Bvec128`` / ``Avec128_Bblk128`` /
  ``Avec128_Bvec128``): per 128 of K a partial P_j, the ``h100-fp8`` chain from 0 over those
  128 elements (4 steps of 32) rounded to float32, is promoted into the float32 accumulator by
  one fused multiply-add (one rounding, nearest even): with a 128×128 scale on either side
  acc = fma(P_j, fl32(sa_j · sb_j), acc); with 1×128 scales on both sides (the 64×8-tile
  kernel) acc = fma(fl32(P_j · sa_j), sb_j, acc).  No further epilogue scale; bfloat16 output
  rounds acc to nearest even.  ``use_fast_accum=True`` is refused by cuBLASLt for blockwise
  scales (torch raises), and so here.

cuBLASLt's split-K is chosen by shape: a preset called by name fixes the schedule from the
recorded shapes (:data:`RECORDED`, one unsplit chain, and :data:`BLOCKWISE_SPLITS`: blockwise
128×256×8192 runs ``..._splitK_TNN`` + ``splitKreduce_kernel`` as slices of 3072, 3072 and 2048
elements of K, each promoting its 128-blocks by fma from 0, the slices added in order — found by
``lowbit.mac.discover``); any other shape is an error naming
``accumulator=lowbit.mac.accumulator("h100-fp8", split_k=1)`` (one chain).
"""

from __future__ import annotations

import numpy as np

from ..formats import format as lookup

MODES = ("rowwise", "b128x128_b1x128", "b1x128_b128x128", "b1x128_b1x128")
FP8 = ("float8_e4m3fn", "float8_e5m2")

# (mode, M, N, K, fast_accum) recorded on the H200 with one unsplit chain (the bits of every
# output reproduced); the split ones are listed in SPLIT and refused.
_R1 = [(128, 128, 256), (128, 128, 1024), (256, 256, 4096), (64, 128, 512), (384, 128, 768), (2048, 2048, 4096),
       (16, 128, 2048), (128, 128, 512)]
_R2 = [(256, 128, 640), (128, 384, 2304), (512, 512, 8192), (1024, 256, 3072)]
RECORDED = set()
for _s in _R1 + _R2 + [(128, 256, 8192)]:
    for _f in (False, True):
        RECORDED.add(("rowwise",) + _s + (_f,))
for _s in _R1 + _R2:
    RECORDED.add(("b1x128_b128x128",) + _s + (False,))
RECORDED.add(("b1x128_b1x128", 256, 256, 1024, False))
RECORDED.add(("b128x128_b1x128", 256, 256, 1024, False))
SPLIT: set = set()  # recorded split-K shapes whose reduction is not known (none left)
# Blockwise split-K kernels: the K-slice lengths, each slice's per-128 fma promotions from 0, the
# slices' float32 results added in order — read by lowbit.mac.discover with every scale 1.0
# (discover_blockwise_splitk.py and its log in vectors/hardware/h100/blockscaled/discover/:
# 64 segments of 128, tree ((blocks 0-23, blocks 24-47), blocks 48-63)), then checked on the
# recorded random-scale cases of that shape.
BLOCKWISE_SPLITS = {("b1x128_b128x128", 128, 256, 8192, False): (3072, 3072, 2048)}


def _ceil(x, n):
    return -(-x // n)


def scaling_kind(M: int, N: int, K: int, sa_shape: tuple, sb_shape: tuple) -> str:
    """The scaling mode these scale shapes give for an M×K · K×N product (torch's order of
    preference), or ValueError naming the shapes and every allowed pair."""
    kb, mb, nb = _ceil(K, 128), _ceil(M, 128), _ceil(N, 128)
    allowed = {
        "rowwise": ((M, 1), (1, N)),
        "b128x128_b1x128": ((mb, kb), (kb, N)),
        "b1x128_b128x128": ((M, kb), (kb, nb)),
        "b1x128_b1x128": ((M, kb), (kb, N)),
    }
    for mode in MODES:
        if (tuple(sa_shape), tuple(sb_shape)) == allowed[mode]:
            return mode
    listing = "; ".join(f"{m}: scale_a {a}, scale_b {b}" for m, (a, b) in allowed.items())
    raise ValueError(f"scale shapes scale_a {tuple(sa_shape)}, scale_b {tuple(sb_shape)} are not a scaling "
                     f"torch._scaled_mm takes for M={M}, N={N}, K={K}; allowed: per-tensor scalars, or {listing}")


def _scales(value, name):
    arr = np.asarray(value)
    if arr.dtype.kind not in "fiu" or arr.dtype == np.bool_:
        raise TypeError(f"{name} must be real numbers (float32 scales), got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a scalar (per-tensor) or a 2-D array shaped as torch._scaled_mm takes it, "
                         f"got shape {arr.shape}")
    return arr.astype(np.float32)


def _fp8_chain(acc):
    """The h100-fp8 tensor-core chain (fast_accum, one slice) of the preset ``acc``, checked."""
    from .accumulators import ByShape, FusedBlock, h100_fp8

    name = getattr(acc, "preset", None)
    if name != "h100-fp8" or not isinstance(acc, (ByShape, FusedBlock)):
        raise ValueError(f"array scales (rowwise / blockwise) are torch._scaled_mm's: they need accumulator "
                         f"'h100-fp8' (or lowbit.mac.accumulator('h100-fp8', ...)); got {name or acc!r}")
    if isinstance(acc, ByShape):
        fast = dict(acc.params).get("fast_accum", False)
        return None, fast, h100_fp8(fast_accum=True, split_k=1)
    fast = acc.promote_every is None
    if acc.split_k != 1 or acc.split_slices is not None:
        raise ValueError(f"h100-fp8 with split_k={acc.split_k}: cuBLASLt's split-K with array scales is not modelled; "
                         "allowed: split_k=1")
    return 1, fast, h100_fp8(fast_accum=True, split_k=1)


def _fma32(a, b, c):
    """Correctly rounded float32 a·b + c, elementwise (IEEE 754 fusedMultiplyAdd, nearest even).

    a·b is exact in float64 (24 + 24 bits); TwoSum gives s + e = a·b + c exactly; rounding s to
    float32 is then the correct rounding except where s lies exactly half-way between two
    float32 numbers, where e's sign decides."""
    with np.errstate(over="ignore", invalid="ignore"):
        p = a.astype(np.float64) * b.astype(np.float64)
        cc = np.broadcast_to(c, p.shape).astype(np.float64)
        s = p + cc
        bb = s - p
        e = (p - (s - bb)) + (cc - bb)
        r = s.astype(np.float32)
        r64 = r.astype(np.float64)
        up = np.where(s > r64, np.float32(np.inf), np.float32(-np.inf))
        nxt = np.nextafter(r, up.astype(np.float32))
        fin = np.isfinite(s) & np.isfinite(r64) & np.isfinite(nxt)
        half = np.abs(nxt.astype(np.float64) - r64) / 2
        mid = fin & (s != r64) & (np.abs(s - r64) == half) & (e != 0) & (np.sign(e) == np.sign(s - r64))
        return np.where(mid, nxt, r).astype(np.float32)


def _index(idx, n, whole, name, dim):
    if idx is None:
        if n != whole:
            raise ValueError(f"the operands have {n} of the GEMM's {dim}={whole} {name}; with array scales name which "
                             f"ones: lowbit.mac.blockscaled.scaled_matmul(..., {name}=indices)")
        return np.arange(n)
    idx = np.asarray(idx)
    if idx.shape != (n,) or idx.dtype.kind not in "iu" or (n and (idx.min() < 0 or idx.max() >= whole)):
        raise ValueError(f"{name} must be {n} integer indices in 0..{whole - 1} ({dim}), got {idx!r}")
    return idx.astype(np.int64)


def scaled_matmul(a_codes, b_codes, a_format, b_format, *, accumulator, scale_a, scale_b, out_dtype="float32",
                  device="cpu", M=None, N=None, K=None, rows=None, cols=None) -> np.ndarray:
    """``lowbit.matmul`` with rowwise or blockwise array scales (see the module docstring).

    ``scale_a`` / ``scale_b`` are shaped for the whole M×N×K GEMM.  Operands that are only some
    rows of A and columns of B (with the whole GEMM's ``M=, N=``) name them: ``rows`` (indices
    into M of a_codes' rows) and ``cols`` (indices into N of b_codes' columns); default: the
    operands are the whole A and B."""
    from . import api
    from .registry import accumulator as build

    acc = build(accumulator)
    odt = api._out_dtype(out_dtype)
    if odt not in ("float32", "bfloat16"):
        raise ValueError(f"out_dtype={out_dtype!r} with array scales: recorded outputs are float32 and bfloat16; "
                         "allowed: 'float32', 'bfloat16'")
    dev = api._device(device)
    Mg, Ng, Kg = api.gemm_shape(a_codes, b_codes, M, N, K)
    a, b = np.asarray(a_codes), np.asarray(b_codes)
    fa, fb = lookup(a_format), lookup(b_format)
    for f, name in ((fa, "a_format"), (fb, "b_format")):
        if f.name not in FP8:
            raise ValueError(f"{name}={f.name!r}: array scales are torch._scaled_mm's FP8 scaling; allowed: "
                             f"{', '.join(FP8)}")
    if fa.name == fb.name == "float8_e5m2":
        raise ValueError("float8_e5m2 x float8_e5m2 is refused by torch._scaled_mm (cuBLASLt); allowed: at most one "
                         "e5m2 operand")
    sa, sb = _scales(scale_a, "scale_a"), _scales(scale_b, "scale_b")
    mode = scaling_kind(Mg, Ng, Kg, sa.shape, sb.shape)
    split, fast, chain = _fp8_chain(acc)
    if mode != "rowwise" and fast:
        raise ValueError(f"fast_accum=True with {mode} scales: cuBLASLt refuses it (torch raises \"scaled_gemm doesn't "
                         "support fast accum with blockwise scaling\"); allowed: fast_accum=False")
    key = (mode, Mg, Ng, Kg, fast)
    if key in SPLIT:
        raise ValueError(f"{mode} at M={Mg}, N={Ng}, K={Kg}: cuBLASLt runs a split-K kernel here whose reduction is "
                         "not modelled (recorded, not fitted)")
    if split is None and key not in RECORDED and key not in BLOCKWISE_SPLITS:
        raise ValueError(f"{mode} scales at M={Mg}, N={Ng}, K={Kg}, fast_accum={fast} were not recorded (cuBLASLt "
                         f"picks split-K by shape); pass accumulator=lowbit.mac.accumulator('h100-fp8'"
                         f"{', fast_accum=True' if fast else ''}, split_k=1) for one unsplit chain")
    if mode == "b1x128_b128x128" and _ceil(Kg, 128) % 4 and Ng > 128:
        raise ValueError(f"b1x128_b128x128 with K/128 = {_ceil(Kg, 128)} not a multiple of 4 and N={Ng} > 128: torch "
                         "2.11 + cuBLASLt 13.1 read scale_b of 128-column block n at n*roundup(K/128, 4) + j, past "
                         "the tensor for the last blocks (recorded: garbage scales); allowed: K a multiple of 512 "
                         "or N <= 128")
    rows = _index(rows, a.shape[0], Mg, "rows", "M")
    cols = _index(cols, b.shape[1], Ng, "cols", "N")
    if mode == "rowwise":
        if fast:
            acc32 = api.accumulate(a, b, fa, fb, chain, dev)
        else:
            acc32 = np.zeros((a.shape[0], b.shape[1]), np.float32)
            with np.errstate(over="ignore", invalid="ignore"):
                for lo in range(0, Kg, 128):
                    acc32 = (acc32 + api.accumulate(a[:, lo:lo + 128], b[lo:lo + 128], fa, fb, chain, dev)
                             ).astype(np.float32)
        with np.errstate(over="ignore", invalid="ignore"):
            out = ((acc32 * sb[0, cols][None, :]).astype(np.float32) * sa[rows, 0][:, None]).astype(np.float32)
    else:
        slices = BLOCKWISE_SPLITS.get(key, (Kg,)) if split is None else (Kg,)
        ends = np.cumsum((0,) + tuple(slices)).tolist()
        total = None
        for s_lo, s_hi in zip(ends[:-1], ends[1:]):
            part = _blockwise_slice(api, a, b, fa, fb, chain, dev, mode, sa, sb, rows, cols, s_lo, s_hi)
            with np.errstate(over="ignore", invalid="ignore"):
                total = part if total is None else (total + part).astype(np.float32)  # splitKreduce, in order
        out = total
    return api.epilogue(out, np.float32(1), np.float32(1), odt, chain)


def _blockwise_slice(api, a, b, fa, fb, chain, dev, mode, sa, sb, rows, cols, k_lo, k_hi):
    """One K-slice of a blockwise kernel: per 128 of K the chain's partial, promoted by one fma."""
    out = np.zeros((a.shape[0], b.shape[1]), np.float32)
    for lo in range(k_lo, k_hi, 128):
        j = lo // 128
        p = api.accumulate(a[:, lo:lo + 128], b[lo:lo + 128], fa, fb, chain, dev)
        if mode == "b1x128_b128x128":
            x, y = sa[rows, j][:, None], sb[j, cols // 128][None, :]
        elif mode == "b128x128_b1x128":
            x, y = sa[rows // 128, j][:, None], sb[j, cols][None, :]
        else:
            x, y = sa[rows, j][:, None], sb[j, cols][None, :]
        with np.errstate(over="ignore", invalid="ignore"):
            if mode == "b1x128_b1x128":
                out = _fma32((p * x).astype(np.float32), np.broadcast_to(y, p.shape), out)
            else:
                out = _fma32(p, np.broadcast_to((x * y).astype(np.float32), p.shape), out)
    return out
