"""Recorded H100 dot products as golden vectors: for each FP8 GEMM recorded on an H100
(``vectors/hardware/h100/gemm.npz`` / ``gemm.json``, see ``gemm_README.md``), the 64 diagonal
results C[i, i] = A[i, :] · B[:, i] with their operands and the float32 bits the GPU produced.

The expected results are measurements of real hardware, not lowbit's outputs: a kernel that
matches these files matches the H100 (``lowbit.mac``'s presets reproduce them, see
tests/test_mac_h100.py).  The files are rebuilt from the recording, so they are deterministic.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .. import __version__
from .families import Target, build_command, family
from .textfile import Column, VectorFile

REPO_RECORDING = Path(__file__).resolve().parents[2] / "vectors" / "hardware" / "h100"
FORMAT_NAMES = {"e4m3": "float8_e4m3fn", "e5m2": "float8_e5m2"}


def recording_dir() -> Path | None:
    """Where the recorded GEMMs are: ``<vectors root>/hardware/h100`` of the tree being built or
    verified, else the repository beside this package; None when neither has them (a package
    installed without the repository builds no recorded-H100 files)."""
    from .families import CONTEXT

    candidates = [Path(CONTEXT["root"]) / "hardware" / "h100"] if CONTEXT["root"] is not None else []
    for d in candidates + [REPO_RECORDING]:
        if (d / "gemm.json").exists() and (d / "gemm.npz").exists():
            return d
    return None


def _cases(where: Path | None) -> list[dict]:
    return [] if where is None else json.loads((where / "gemm.json").read_text())["cases"]


def _label(c: dict) -> str:
    if c["tag"] == "scaled_mm":
        return (f"scaled_mm-{c['fa']}x{c['fb']}-K{c['K']}-{c['dist']}-scale{c['scale_a']:g}x{c['scale_b']:g}"
                f"-fast_accum={c['fast_accum']}")
    return f"triton_dot-{c['fa']}x{c['fb']}-K{c['K']}-BK{c['BK']}-{c['dist']}-imp{c['max_num_imprecise_acc']}"


@family("h100-recorded", "dot/h100-recorded")
def h100_family() -> list[Target]:
    """dot/h100-recorded/<case>.txt: the 64 diagonal dot products of every FP8 GEMM recorded on an
    H100 (torch._scaled_mm and Triton tl.dot), operands -> the float32 bits the GPU produced."""
    where = recording_dir()
    out = []
    for c in _cases(where):
        path = f"dot/h100-recorded/{c['id']:03d}-{_label(c)}.txt"
        out.append(Target(path, _maker(c, path, where)))
    return out


def _maker(c: dict, path: str, where: Path):
    def make() -> VectorFile:
        from .families import code_digits
        from ..formats import format as lookup

        z = np.load(where / "gemm.npz")
        a, b = z[f"p{c['pair']}_a"], z[f"p{c['pair']}_b"]
        out = z[f"c{c['id']}_out_bits"].astype(np.int64) & 0xFFFFFFFF
        n = min(a.shape[0], b.shape[1])
        fa, fb = lookup(FORMAT_NAMES[c["fa"]]), lookup(FORMAT_NAMES[c["fb"]])
        k = a.shape[1]
        rows = np.arange(n)
        ops = {key: c[key] for key in ("scale_a", "scale_b", "fast_accum", "BK", "max_num_imprecise_acc") if key in c}
        header = {
            "operation": f"dot product of K={k} {fa.name} x {fb.name} codes -> float32 (recorded on an H100)",
            "source": f"{fa.name} and {fb.name} codes: row i of A and column i of B of recorded GEMM case {c['id']}",
            "format": f"{fa.name} x {fb.name}",
            "accumulator": f"NVIDIA H100 tensor core via {c['tag']} ({', '.join(f'{k_}={v}' for k_, v in ops.items())}); "
                           "result = accumulator x fl32(scale_a x scale_b) where scales are given",
            "recorded_on": ", ".join(f"{k_} {v}" for k_, v in json.loads((where / "gemm.json").read_text())["recorded_on"].items()),
            "spec": "measurement of real hardware (vectors/hardware/h100/gemm_README.md); lowbit.mac presets "
                    "h100-fp8 / h100-fp8-triton reproduce it",
            "inputs": f"the {n} diagonal results C[i, i] of the recorded {a.shape[0]}x{b.shape[1]} GEMM "
                      f"(operand distribution: {c['dist']})",
            "compare": " ".join(f"a{i}" for i in range(k)) + " " + " ".join(f"b{i}" for i in range(k)) + " -> result",
            "lowbit": __version__,
            "command": build_command(path),
        }
        cols = [Column(f"a{i}", code_digits(fa), f"a0..a{k - 1}: {fa.name} codes" if i == 0 else "", a[rows, i])
                for i in range(k)]
        cols += [Column(f"b{i}", code_digits(fb), f"b0..b{k - 1}: {fb.name} codes" if i == 0 else "", b[i, rows])
                 for i in range(k)]
        cols.append(Column("result", 8, "float32 bit pattern the H100 produced", out[rows, rows]))
        return VectorFile(header, cols)

    return make
