"""Block-scaled dot products as golden vectors: MX operands (element codes and E8M0 scales of
each 32-element block) -> the float32 result, per accumulation variant of ``lowbit.mx.matmul``:

``dot_general``   per-block dots (exact), scaled, added in float32 in block order (OCP MX v1.0 §6.2)
``promote_fma``   per-block chains promoted into float32 by an FMA with the block scales (DeepSeek's
                  recipe as cuBLASLt's SM90 blockwise kernels compute it), here with the H100 FP8
                  tensor-core chain (``h100-fp8``, one chain per block) for FP8 elements, exact else
``scaled_chain``  elements scaled first, one tensor-core chain over K: Triton 3.6 ``tl.dot_scaled``
                  on SM90 (``h100-mx-triton``; FP8 and FP4 elements — Triton refuses FP6 there)

Each case is one dot product of K = 256 (8 blocks): ``a0..a255 sa0..sa7 b0..b255 sb0..sb7 result``.
The operands are float inputs quantized by ``lowbit.mx.quantize`` (spec rules): Gaussian blocks,
blocks of widely different magnitudes, cancelling blocks, outliers, tiny blocks, all-zero blocks
(splitmix64 streams, the same bits everywhere).  ``dot/h100-recorded`` holds the GPU's own bits of
FP8 GEMMs; the tl.dot_scaled recordings behind ``scaled_chain`` are in
``vectors/hardware/h100/blockscaled/``.
"""

from __future__ import annotations

import numpy as np

from .. import __version__
from .families import Target, build_command, family
from .mx_family import _splitmix64
from .textfile import Column, VectorFile

K = 256
BLOCK = 32
PAIRS = (("mxfp8_e4m3", "mxfp8_e4m3"), ("mxfp8_e5m2", "mxfp8_e4m3"), ("mxfp4", "mxfp4"),
         ("mxfp6_e2m3", "mxfp6_e2m3"))
VARIANTS = ("dot_general", "promote_fma", "scaled_chain")
TRITON_ELEMENTS = ("mxfp8_e4m3", "mxfp8_e5m2", "mxfp4")


def _gauss(words) -> np.ndarray:
    """Standard normal values from 64-bit words (Box-Muller on their two halves)."""
    w = np.asarray(words, dtype=np.uint64)
    u1 = ((w >> np.uint64(11)).astype(np.float64) + 0.5) / 2.0 ** 53
    u2 = ((w & np.uint64(0xFFFFFFFF)).astype(np.float64) + 0.5) / 2.0 ** 32
    return np.sqrt(-2 * np.log(u1)) * np.cos(2 * np.pi * u2)


def inputs(seed: int) -> np.ndarray:
    """(cases, K) float64 rows: each a dot product's operand before quantization."""
    g = _gauss(_splitmix64(seed, 16 * K)).reshape(16, K)
    rows = [g[0], g[1] * 1e-3, g[2] * 2.0 ** 20]
    wide = g[3].copy()
    for j in range(K // BLOCK):  # block magnitudes 2^-12 .. 2^12
        wide[j * BLOCK:(j + 1) * BLOCK] *= 2.0 ** (3 * j - 12)
    rows.append(wide)
    cancel = g[4].copy()
    cancel[K // 2:] = -cancel[:K // 2]  # the second half cancels the first
    rows.append(cancel)
    out = g[5].copy()
    out[::37] *= 1000.0  # outliers dominate their block's scale
    rows.append(out)
    tiny = g[6].copy()
    tiny[BLOCK:] *= 2.0 ** -30  # one ordinary block, seven tiny ones
    rows.append(tiny)
    zeros = g[7].copy()
    zeros[BLOCK:3 * BLOCK] = 0.0  # all-zero blocks
    rows.append(zeros)
    rows.extend(g[8:16])
    return np.stack(rows)


def accumulator_for(variant: str, fa: str, fb: str):
    """The accumulator of ``variant`` for these MX formats (see the module docstring)."""
    from ..mac import accumulator
    from ..mac.mx import h100_mx_triton

    if variant == "scaled_chain":
        return h100_mx_triton(block_k=64)
    if variant == "promote_fma" and fa.startswith("mxfp8") and fb.startswith("mxfp8"):
        return accumulator("h100-fp8", fast_accum=True, split_k=1)
    return accumulator("exact")


@family("blockscaled", "dot/blockscaled")
def blockscaled_family() -> list[Target]:
    """dot/blockscaled/<a>x<b>/<variant>.txt: K=256 MX dot products (8 blocks of 32, E8M0 scales)
    -> float32 result bits, per accumulation variant of lowbit.mx.matmul."""
    out = []
    for fa, fb in PAIRS:
        for variant in VARIANTS:
            if variant == "scaled_chain" and (fa not in TRITON_ELEMENTS or fb not in TRITON_ELEMENTS):
                continue
            path = f"dot/blockscaled/{fa}x{fb}/{variant}.txt"
            out.append(Target(path, _maker(fa, fb, variant, path)))
    return out


def _maker(fa_name, fb_name, variant, path):
    def make() -> VectorFile:
        from .. import mx
        from ..mac.mx import mx_matmul

        xa = inputs(0xB10C + 1)
        xb = inputs(0xB10C + 2)[::-1].copy()
        qa = mx.quantize(xa.astype(np.float32), fa_name, axis=1)
        qb = mx.quantize(np.ascontiguousarray(xb.T).astype(np.float32), fb_name, axis=0)
        acc = accumulator_for(variant, fa_name, fb_name)
        with np.errstate(over="ignore", invalid="ignore"):
            full = mx_matmul(qa, qb, accumulator=acc, schedule=variant)
        result = np.ascontiguousarray(np.diagonal(full)).astype(np.float32).view(np.uint32)
        ea, eb = qa.format.element, qb.format.element
        header = {
            "operation": f"MX dot product of K={K} ({K // BLOCK} blocks of {BLOCK}) {fa_name} x {fb_name} -> float32",
            "source": "float inputs quantized by lowbit.mx.quantize (spec rules), see lowbit/vectors/blockscaled_family.py",
            "format": f"{fa_name} ({ea.name} elements, E8M0 scales) x {fb_name} ({eb.name} elements, E8M0 scales)",
            "accumulator": f"schedule={variant}: {acc!r}",
            "spec": {"dot_general": "OCP MX v1.0 §6.2 DotGeneral: per-block dot, times both scales, float32 sum in "
                                    "block order",
                     "promote_fma": "per-block chain from 0, promoted by fma(P_j, fl32(X_A*X_B), acc) (DeepSeek-V3 "
                                    "blockwise recipe; cuBLASLt SM90, vectors/hardware/h100/blockscaled)",
                     "scaled_chain": "Triton 3.6 tl.dot_scaled on SM90: bf16 upcast times a bf16 scale, one "
                                     "bf16 tensor-core chain (vectors/hardware/h100/blockscaled)"}[variant],
            "inputs": "edge rows: Gaussian, 1e-3 and 2^20 scaled, blocks 2^-12..2^12, cancelling halves, outliers, "
                      "tiny blocks, all-zero blocks, Gaussian",
            "compare": "a0..a255 sa0..sa7 b0..b255 sb0..sb7 -> result (float32 bits)",
            "lowbit": __version__,
            "command": build_command(path),
        }
        n_blocks = K // BLOCK
        cols = [Column(f"a{i}", 2, f"a0..a{K - 1}: {ea.name} element codes" if i == 0 else "", qa.elements[:, i])
                for i in range(K)]
        cols += [Column(f"sa{j}", 2, "sa0..sa7: E8M0 scale codes of a's blocks" if j == 0 else "", qa.scales[:, j])
                 for j in range(n_blocks)]
        cols += [Column(f"b{i}", 2, f"b0..b{K - 1}: {eb.name} element codes" if i == 0 else "", qb.elements[i, :])
                 for i in range(K)]
        cols += [Column(f"sb{j}", 2, "sb0..sb7: E8M0 scale codes of b's blocks" if j == 0 else "", qb.scales[j, :])
                 for j in range(n_blocks)]
        cols.append(Column("result", 8, "float32 bit pattern of the dot product", result))
        return VectorFile(header, cols)

    return make


# ---- recorded on the GPU ----------------------------------------------------------------------
RECORDED_DIR = "hardware/h100/blockscaled"
TRITON_NAMES = {"e4m3": "float8_e4m3fn", "e5m2": "float8_e5m2", "e2m1": "float4_e2m1fn"}


def _recording():
    """(meta, arrays) of dot_scaled_r1 from the tree being built (or the repository), or None."""
    import json
    from pathlib import Path

    from .families import CONTEXT

    roots = ([Path(CONTEXT["root"])] if CONTEXT["root"] is not None else []) + \
        [Path(__file__).resolve().parents[2] / "vectors"]
    for r in roots:
        d = r / RECORDED_DIR
        if (d / "dot_scaled_r1.json").exists() and (d / "dot_scaled_r1.npz").exists():
            return json.loads((d / "dot_scaled_r1.json").read_text()), np.load(d / "dot_scaled_r1.npz")
    return None


def recorded_cases(meta) -> list[dict]:
    """One K=256 tl.dot_scaled case per element pair (fast_math off), as recorded."""
    seen = {}
    for c in meta["cases"]:
        if c["K"] == K and "error" not in c and not c["fast_math"]:
            seen.setdefault((c["fa"], c["fb"]), c)
    return list(seen.values())


@family("blockscaled-recorded", "dot/blockscaled-recorded")
def blockscaled_recorded_family() -> list[Target]:
    """dot/blockscaled-recorded/<id>-<a>x<b>.txt: the 16 diagonal dot products of a Triton 3.6
    ``tl.dot_scaled`` GEMM recorded on an H200 (K=256), per element pair: operands and scales ->
    the float32 bits the GPU produced."""
    rec = _recording()
    if rec is None:
        return []
    meta, _ = rec
    out = []
    for c in recorded_cases(meta):
        path = f"dot/blockscaled-recorded/{c['id']:03d}-{c['fa']}x{c['fb']}.txt"
        out.append(Target(path, _recorded_maker(c, path)))
    return out


def _recorded_maker(c, path):
    def make() -> VectorFile:
        meta, z = _recording()
        op = c["operands"]
        a, b = z[f"{op}_a"], z[f"{op}_b"]
        sa, sb = z[f"{op}_sa"], z[f"{op}_sb"]  # sb as Triton takes it: (N, K/32)
        out = z[f"c{c['id']}_out"]
        n = min(a.shape[0], b.shape[1])
        result = np.array([out[i, i] for i in range(n)], np.int64).astype(np.uint32)
        env = meta.get("env", {})
        header = {
            "operation": f"tl.dot_scaled dot product of K={K} ({K // BLOCK} blocks of {BLOCK}) "
                         f"{c['fa']} x {c['fb']} MX elements -> float32, recorded",
            "source": f"vectors/hardware/h100/blockscaled/dot_scaled_r1 case {c['id']} ({c['note']}), the diagonal "
                      f"C[i, i] of its {n}x{n} recorded outputs",
            "format": f"{TRITON_NAMES[c['fa']]} x {TRITON_NAMES[c['fb']]} elements, E8M0 scales per {BLOCK}",
            "accumulator": f"the GPU: Triton {env.get('triton', '?')} tl.dot_scaled on {env.get('gpu', '?')} "
                           f"(torch {env.get('torch', '?')}, driver {env.get('driver', '?')}), BLOCK_K {c['BK']}; "
                           "lowbit.mx.matmul(..., accumulator='h100-mx-triton') reproduces it",
            "spec": "measured hardware output, not lowbit's",
            "inputs": f"row i of the recorded A and column i of the recorded B ({c['note']}), with their E8M0 "
                      "block scales",
            "compare": "a0..a255 sa0..sa7 b0..b255 sb0..sb7 -> result (float32 bits)",
            "lowbit": __version__,
            "command": build_command(path),
        }
        cols = [Column(f"a{i}", 2, f"a0..a{K - 1}: {TRITON_NAMES[c['fa']]} codes" if i == 0 else "", a[:n, i])
                for i in range(K)]
        cols += [Column(f"sa{j}", 2, "sa0..sa7: E8M0 scale codes of a's blocks" if j == 0 else "", sa[:n, j])
                 for j in range(K // BLOCK)]
        cols += [Column(f"b{i}", 2, f"b0..b{K - 1}: {TRITON_NAMES[c['fb']]} codes" if i == 0 else "", b[i, :n])
                 for i in range(K)]
        cols += [Column(f"sb{j}", 2, "sb0..sb7: E8M0 scale codes of b's blocks" if j == 0 else "", sb[:n, j])
                 for j in range(K // BLOCK)]
        cols.append(Column("result", 8, "float32 bit pattern the GPU produced", result))
        return VectorFile(header, cols)

    return make
