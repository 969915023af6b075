"""Build casts_h100.npz, the project's copy of the H100 cast recordings (see README.md).

Reads ``shared/hardware/h100/casts.npz`` (recorded on an H100, not by lowbit) and writes
every array losslessly in a smaller form: the inputs as float32 bit patterns, the float32
source arrays of each system and format in full, and each float16/bfloat16 source array as
its XOR with the float32 one of the same system and format (mostly zeros, so it compresses
to almost nothing).  ``load`` undoes this; ``python casts_build.py [SRC]`` rebuilds the file
and checks that every array loads back bit for bit.

Run from anywhere:  python vectors/hardware/h100/casts_build.py /path/to/shared/hardware/h100/casts.npz
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
OUT = HERE / "casts_h100.npz"
SYSTEMS = ("torch", "triton")
FORMATS = ("e4m3", "e5m2", "e8m0")


def _base(name: str) -> str:
    system, src, _, fmt = name.split("_")
    return f"{system}_f32_to_{fmt}"


def pack(arrays: dict) -> dict:
    out = {"x_f32_bits": np.ascontiguousarray(arrays["x_f32"]).view(np.uint32)}
    for name, a in arrays.items():
        if name == "x_f32":
            continue
        base = _base(name)
        if base == name:
            out[name] = a
        else:
            out[f"xor_{name}"] = a ^ arrays[base]
    return out


def load(path=OUT) -> dict:
    """Every array of the original casts.npz, by its original name."""
    with np.load(path) as z:
        packed = {k: z[k] for k in z.files}
    arrays = {"x_f32": packed.pop("x_f32_bits").view(np.float32)}
    for name, a in packed.items():
        if not name.startswith("xor_"):
            arrays[name] = a
    for name, a in packed.items():
        if name.startswith("xor_"):
            orig = name[len("xor_"):]
            arrays[orig] = a ^ arrays[_base(orig)]
    return arrays


def main(src: str) -> int:
    with np.load(src) as z:
        original = {k: z[k] for k in z.files}
    np.savez_compressed(OUT, **pack(original))
    back = load(OUT)
    assert sorted(back) == sorted(original), (sorted(back), sorted(original))
    for k, a in original.items():
        assert a.dtype == back[k].dtype and np.array_equal(a.view(np.uint8), back[k].view(np.uint8)), k
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes), {len(original)} arrays, all equal to {src}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else str(HERE.parents[3] / "shared/hardware/h100/casts.npz")))
