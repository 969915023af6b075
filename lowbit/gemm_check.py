"""Check a kernel's full-size GEMM output against an accumulator model, position by position.

``check_gemm(a, b, c, a_format, b_format, accumulator)`` recomputes C = A·B with
:func:`lowbit.matmul` under the named accumulator and compares every output *bit*
(NaN payloads included) with the kernel's C.  For the mismatching positions it also asks
which other model would have produced the kernel's answer: the same preset with another
promotion interval (``promote_every``), the other H100 presets that accept these operand
formats, the exactly rounded sum and float32 sequential accumulation — computed only on
the rows and columns that hold mismatches (a sample of them), so the diagnosis stays cheap
next to the full check.  ``lowbit check --gemm A.npy B.npy C.npy`` is the command-line form.
"""

from __future__ import annotations

import dataclasses

import ml_dtypes
import numpy as np

from .formats import format as lookup

OUT_DTYPES = {np.dtype(np.float32): "float32", np.dtype(ml_dtypes.bfloat16): "bfloat16",
              np.dtype(np.float16): "float16"}
PROMOTION_INTERVALS = (None, 32, 64, 128, 256, 512, 1024)


@dataclasses.dataclass
class GemmCheck:
    """The outcome of :func:`check_gemm`: mismatching positions and what explains them."""

    shape: tuple
    accumulator: str
    mismatches: np.ndarray          # (n, 2) int64 positions (row, column)
    got: np.ndarray                 # the kernel's values at those positions
    want: np.ndarray                # the model's values there
    explained_by: dict              # alternative model -> how many sampled mismatches it reproduces
    sampled: int                    # how many mismatches the alternatives were tried on
    source: str | None = None       # where a cuBLAS preset's schedule at this shape came from

    @property
    def ok(self) -> bool:
        return self.mismatches.shape[0] == 0

    def report(self, limit: int = 20) -> str:
        m, n = self.shape
        total = m * n
        bad = self.mismatches.shape[0]
        where = [f"schedule at this shape: {self.source}"] if self.source else []
        if not bad:
            return "\n".join([f"all {total} outputs ({m}x{n}) equal {self.accumulator} bit for bit"] + where)
        lines = [f"{bad} of {total} outputs ({m}x{n}) differ from {self.accumulator}:"]
        for (i, j), g, w in list(zip(self.mismatches.tolist(), self.got, self.want))[:limit]:
            lines.append(f"  C[{i}, {j}]: kernel {_show(g)}  model {_show(w)}")
        if bad > limit:
            lines.append(f"  ... {bad - limit} more")
        if self.explained_by:
            lines.append(f"models that give the kernel's answer (on {self.sampled} sampled mismatches):")
            ranked = [(name, hits) for name, hits in sorted(self.explained_by.items(), key=lambda kv: -kv[1]) if hits]
            for name, hits in ranked[:limit // 2]:
                lines.append(f"  {name}: {hits} of {self.sampled}")
            if len(ranked) > limit // 2:
                lines.append(f"  ... {len(ranked) - limit // 2} more give some of them")
            if not any(self.explained_by.values()):
                lines.append("  none of the alternatives tried")
        return "\n".join(lines + where)


def _show(v) -> str:
    arr = np.asarray(v)
    bits = arr.view({4: np.uint32, 2: np.uint16}[arr.dtype.itemsize])
    return f"{float(arr.astype(np.float64)):.9g} ({int(bits):#0{arr.dtype.itemsize * 2 + 2}x})"


def _bits(x: np.ndarray) -> np.ndarray:
    return x.view({4: np.uint32, 2: np.uint16}[x.dtype.itemsize])


def alternatives(acc, a_format, b_format, shape=None) -> dict:
    """Other models to try on mismatches: the same accumulator at other promotion intervals,
    every preset that accepts these formats (default parameters; presets whose K order cuBLAS
    picks per shape are fixed for the GEMM's own ``shape`` = (M, N, K), and left out where it
    is not given or its schedule is not known — never tried at a shape of another GEMM), exact
    and float32 sequential."""
    from . import mac

    out = {}
    if dataclasses.is_dataclass(acc) and hasattr(acc, "promote_every"):
        for every in PROMOTION_INTERVALS:
            if every != acc.promote_every:
                try:
                    out[f"same model, promote_every={every}"] = dataclasses.replace(acc, promote_every=every)
                except (TypeError, ValueError):
                    pass
    for name in getattr(mac, "PRESETS", {}):
        for params in ({}, {"fast_accum": True}, {"acc": "float16"}):
            try:
                cand = mac.accumulator(name, **params)
                if isinstance(cand, mac.ByShape):
                    # the library picks the K order by shape: only the GEMM's own shape is right
                    if shape is None:
                        continue
                    cand = cand.for_shape(*shape)
                _probe(cand, a_format, b_format, 1 if shape is None else int(shape[2]))
            except (TypeError, ValueError):
                continue
            if cand != acc:
                label = name + "".join(f", {k}={v}" for k, v in params.items())
                if shape is not None and getattr(cand, "for_k", None) is not None:
                    label += f" at M={shape[0]}, N={shape[1]}, K={shape[2]}"
                out.setdefault(label, cand)
    if getattr(acc, "for_k", None) is not None and hasattr(acc, "split_k") and acc.split_slices is None:
        # a per-shape library schedule: the same walk cut into other split-K counts (what a
        # mispredicted split looks like)
        for split in range(1, 65):
            if split != acc.split_k:
                out[f"same walk, split_k={split}"] = dataclasses.replace(acc, split_k=split)
    out["exact"] = mac.accumulator("exact")
    out["ieee float32 sequential"] = mac.accumulator("ieee")
    return out


def _probe(acc, a_format, b_format, K: int = 1):
    """Raise if ``acc`` refuses these operand formats or this K (a 1×K×1 product of code 0)."""
    from . import mac

    fa, fb = lookup(a_format), lookup(b_format)
    mac.matmul(np.zeros((1, K), fa.code_dtype), np.zeros((K, 1), fb.code_dtype), fa, fb, accumulator=acc)


def check_gemm(a, b, c, a_format, b_format, accumulator, *, scale_a=1.0, scale_b=1.0,
               sample: int = 64, diagnose: bool = True, **matmul_kwargs) -> GemmCheck:
    """Compare a kernel's C (M×N, float32 / bfloat16 / float16) with ``lowbit.matmul``.

    Args:
      a, b: the operands as codes (M×K and K×N), as the kernel read them.
      c: the kernel's output; its dtype picks ``out_dtype``.
      accumulator: a name or an object of :func:`lowbit.mac.accumulator`.
      sample: at most this many mismatching rows and columns are used for the diagnosis.
      matmul_kwargs: passed on to :func:`lowbit.matmul` (e.g. ``device="cuda"``).

    Raises:
      ValueError / TypeError: C's shape is not M×N, C's dtype is not an output dtype,
        and everything :func:`lowbit.matmul` refuses.
    """
    from . import mac
    from .mac.api import for_operands

    a, b, c = np.asarray(a), np.asarray(b), np.asarray(c)
    if c.dtype not in OUT_DTYPES:
        raise TypeError(f"the kernel's output has dtype {c.dtype}; allowed: float32, bfloat16, float16")
    if a.ndim != 2 or b.ndim != 2 or c.shape != (a.shape[0], b.shape[1]):
        raise ValueError(f"shapes do not match: A {a.shape}, B {b.shape}, C {c.shape}; C must be "
                         "A.shape[0] x B.shape[1]")
    shape = (a.shape[0], b.shape[1], a.shape[1])
    out_dtype = OUT_DTYPES[c.dtype]
    # a by-shape preset fixed for this GEMM and its output (cuBLAS's kernel depends on both)
    acc = for_operands(accumulator, a, b, a_format, b_format, out=out_dtype)
    kw = dict(scale_a=scale_a, scale_b=scale_b, out_dtype=out_dtype, **matmul_kwargs)
    want = mac.matmul(a, b, a_format, b_format, accumulator=acc, **kw)
    bad = np.argwhere(_bits(want) != _bits(c))
    explained, sampled = {}, 0
    if diagnose and bad.size:
        rows = np.unique(bad[:, 0])[:sample]
        cols = np.unique(bad[:, 1])[:sample]
        keep = np.isin(bad[:, 0], rows) & np.isin(bad[:, 1], cols)
        pos = bad[keep]
        ri = np.searchsorted(rows, pos[:, 0])
        ci = np.searchsorted(cols, pos[:, 1])
        got_sub = _bits(c[pos[:, 0], pos[:, 1]])
        sampled = int(pos.shape[0])
        sub_kw = {k: v for k, v in kw.items() if k != "device"}
        for label, cand in alternatives(acc, a_format, b_format, shape).items():
            try:
                alt = mac.matmul(a[rows], b[:, cols], a_format, b_format, accumulator=cand, **sub_kw)
            except (TypeError, ValueError):
                continue
            explained[label] = int((_bits(alt[ri, ci]) == got_sub).sum())
    name = accumulator if isinstance(accumulator, str) else repr(acc)
    source = None
    by_shape = mac.accumulator(accumulator) if isinstance(accumulator, str) else accumulator
    if isinstance(by_shape, mac.ByShape):
        try:
            source = mac.provenance(by_shape.preset, *shape, out_dtype=out_dtype, **dict(by_shape.params))
        except (TypeError, ValueError):
            source = None
    return GemmCheck(shape=c.shape, accumulator=name, mismatches=bad.astype(np.int64),
                     got=c[bad[:, 0], bad[:, 1]], want=want[bad[:, 0], bad[:, 1]],
                     explained_by=explained, sampled=sampled, source=source)
