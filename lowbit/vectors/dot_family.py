"""Dot-product vectors: two code vectors of length K -> the float32 result bits, per accumulator
(lowbit.mac: ``exact``, ``ieee``, the H100 presets), for FP8 and INT8 operands.

Each case is one dot product on one line: ``a0 … a{K-1} b0 … b{K-1} result``.  The operand
pairs are edge cases of accumulation: cancellation of large terms leaving a small remainder,
one large product among many small ones (what a truncating fixed-point adder drops), products
that overflow float32's partial sums or stay exact, subnormal products, signed zeros, an
Inf or NaN code in one operand, and pseudo-random vectors (splitmix64, same bits everywhere).
"""

from __future__ import annotations

import numpy as np

from .. import __version__
from ..formats import format as lookup
from .families import Target, build_command, family
from .mx_family import _splitmix64
from .textfile import Column, VectorFile

K = 32
# (a format, b format, accumulators): the accumulator name and its parameters.
DOT_SETS = (
    ("float8_e4m3fn", "float8_e4m3fn", (("exact", {}), ("ieee", {}), ("h100-fp8", {}),
                                        ("h100-fp8", {"fast_accum": True}), ("h100-fp8-triton", {}))),
    ("float8_e5m2", "float8_e4m3fn", (("exact", {}), ("ieee", {}), ("h100-fp8", {}),
                                      ("h100-fp8", {"fast_accum": True}))),
    ("int8", "int8", (("exact", {}), ("ieee", {}))),
)


def _label(name: str, params: dict) -> str:
    return name + "".join(f"-{k}={v}" for k, v in sorted(params.items()))


def operand_pairs(fa, fb, k: int = K) -> tuple[np.ndarray, np.ndarray]:
    """The edge operand pairs (codes) for formats ``fa``, ``fb``: arrays of shape (cases, k)."""
    def code(fmt, value):
        from ..codec import encode

        return int(encode(np.array([value], dtype=np.float64), fmt, overflow="saturate")[0])

    def vec(fmt, values):
        return np.array([code(fmt, v) for v in np.resize(np.asarray(values, dtype=np.float64), k)])

    ma, mb = fa.max_finite, fb.max_finite
    sa, sb = fa.min_subnormal, fb.min_subnormal
    A, B = [], []

    def add(av, bv):
        A.append(vec(fa, av))
        B.append(vec(fb, bv))

    add([0.0], [0.0])
    add([-0.0, 0.0], [0.0, -0.0])
    add([1.0], [1.0])
    add([ma], [mb])                                           # every product at the top
    add([ma, -ma], [mb, mb])                                  # exact cancellation
    add([ma, -ma, 1.0], [mb, mb, 1.0])
    add([ma] + [1.0] * (k - 1), [mb] + [sb * 2] * (k - 1))     # one large product, many small
    add([1.0] * k, [sb] * k)                                   # tiny products
    add([sa] * k, [sb] * k)                                    # subnormal x subnormal
    add([1.0, 2.0 ** -8, -1.0], [1.0, 1.0, 1.0])               # a small remainder after cancellation
    add(np.linspace(-ma, ma, k), np.linspace(mb, -mb, k))
    add([ma / 2 ** i for i in range(k)], [1.0] * k)            # a geometric series
    if not fa.is_int:
        with np.errstate(over="ignore"):
            add([ma] * k, [mb] * k)
    codes_a = list(range(fa.num_codes))
    codes_b = list(range(fb.num_codes))
    fin_a = [c for c in codes_a if np.isfinite(fa.values[c])]
    fin_b = [c for c in codes_b if np.isfinite(fb.values[c])]
    words = _splitmix64(0xD07 + fa.bits + 7 * fb.ebits, 24 * k)
    for r in range(12):  # pseudo-random finite vectors
        w = words[r * 2 * k:(r + 1) * 2 * k]
        A.append(np.array([fin_a[x % len(fin_a)] for x in w[:k]]))
        B.append(np.array([fin_b[x % len(fin_b)] for x in w[k:]]))
    for special in range(fa.num_codes):  # one NaN / Inf code in a, everything else 1.0
        if fa.has_nan and not np.isfinite(fa.values[special]):
            a = vec(fa, [1.0])
            a[k // 2] = special
            A.append(a)
            B.append(vec(fb, [1.0]))
    return np.stack(A).astype(np.int64), np.stack(B).astype(np.int64)


@family("dot", "dot")
def dot_family() -> list[Target]:
    """dot/<a>x<b>/<accumulator>.txt: K=32 operand pairs -> float32 result bits, per accumulator
    of lowbit.mac (exact, ieee, h100-fp8 with and without fast_accum, h100-fp8-triton)."""
    out = []
    for fa, fb, accs in DOT_SETS:
        for name, params in accs:
            path = f"dot/{fa}x{fb}/{_label(name, params)}.txt"
            out.append(Target(path, _dot_maker(fa, fb, name, params, path)))
    return out


def _dot_maker(fa_name, fb_name, acc_name, params, path):
    def make() -> VectorFile:
        from ..mac import ByShape, accumulator, matmul
        from .families import code_digits

        fa, fb = lookup(fa_name), lookup(fb_name)
        a, b = operand_pairs(fa, fb)
        acc = accumulator(acc_name, **params)
        if isinstance(acc, ByShape):  # K=32 is within one 128-element split-K granule: one slice, any shape
            acc = accumulator(acc_name, **params, split_k=1)
        with np.errstate(over="ignore", invalid="ignore"):
            full = matmul(a.astype(fa.code_dtype), b.T.astype(fb.code_dtype).copy(), fa, fb, accumulator=acc)
        result = np.ascontiguousarray(np.diagonal(full)).astype(np.float32).view(np.uint32)
        header = {
            "operation": f"dot product of K={K} {fa.name} x {fb.name} codes -> float32",
            "source": f"{fa.name} and {fb.name} codes",
            "format": f"{fa.name} x {fb.name}",
            "accumulator": f"{_label(acc_name, params)}: {acc!r}",
            "spec": "lowbit.mac accumulator models (exact: one rounding to float32; ieee: float32 adds in order; "
                    "h100-*: the fused-block adders of the H100 tensor core, fitted to recorded GPU output)",
            "inputs": "edge operand pairs (see lowbit/vectors/dot_family.py), one dot product per line",
            "compare": " ".join(f"a{i}" for i in range(K)) + " " + " ".join(f"b{i}" for i in range(K)) + " -> result",
            "lowbit": __version__,
            "command": build_command(path),
        }
        cols = [Column(f"a{i}", code_digits(fa), f"a0..a{K - 1}: {fa.name} codes" if i == 0 else "", a[:, i])
                for i in range(K)]
        cols += [Column(f"b{i}", code_digits(fb), f"b0..b{K - 1}: {fb.name} codes" if i == 0 else "", b[:, i])
                 for i in range(K)]
        cols.append(Column("result", 8, "float32 bit pattern of the dot product", result))
        return VectorFile(header, cols)

    return make
