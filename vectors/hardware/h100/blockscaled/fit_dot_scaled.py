"""Fit Triton 3.6 ``tl.dot_scaled`` on SM90 (an emulation: MX operands upcast to bfloat16).

    python vectors/hardware/h100/blockscaled/fit_dot_scaled.py [--all]

Candidate rule, written out here with NumPy + lowbit's h100-bf16-triton chain (independent of
lowbit.mac.mx's preset): each element becomes bfloat16 value(code) · 2^(scale − 127) rounded
by ``conv`` (nearest even with bfloat16 subnormals, or flushed), a scale code 255 gives NaN
(unless fast_math), then a bfloat16 tensor-core chain (16-product steps, as h100-bf16) over K.
Prints the fraction of output bits reproduced per case and candidate.
"""

import json
import os
import sys

import ml_dtypes
import numpy as np

import lowbit
from lowbit.mac.h100_paths import h100_bf16_triton

HERE = os.path.dirname(os.path.abspath(__file__))
FMT = {"e4m3": "float8_e4m3fn", "e5m2": "float8_e5m2", "e2m3": "float6_e2m3fn", "e3m2": "float6_e3m2fn",
       "e2m1": "float4_e2m1fn"}


def to_bf16(codes, scales, fmt, axis, conv, fast):
    """bfloat16 codes (uint16) of the scaled elements; scales repeat 32 times along K (axis)."""
    v = lowbit.decode(codes, FMT[fmt]).astype(np.float64)
    if fmt == "e5m2" and conv != "rne":  # exponent field 31 (Inf, NaN) upcast as finite (1 + m/4) * 2^16
        top = (codes & 0x7C) == 0x7C
        mag = (1 + (codes & 3) / 4.0) * 65536.0
        v = np.where(top, np.where(codes & 0x80, -mag, mag), v)
    s = np.repeat(scales.astype(np.int64), 32, axis=1)
    if axis == 0:
        s = s.T  # B: scales are (N, K/32); elements K x N
    with np.errstate(over="ignore", invalid="ignore"):
        x = v * np.ldexp(1.0, s - 127)
        if conv == "zero_code0":  # scale code 0 read as bf16 bits 0x0000 = +0: IEEE product
            x = np.where(s == 0, v * 0.0, x)
        if conv in ("zero_all", "zero_signed"):  # scale code 0: the element becomes zero, whatever it was
            x = np.where(s == 0, np.copysign(0.0, v) if conv == "zero_signed" else 0.0, x)
        if not fast:
            x = np.where(s == 255, np.nan, x)
        else:  # scale code 255 is bf16 bits 0x7F80 = +Inf: an IEEE product (0 * Inf = NaN)
            x = np.where(s == 255, v * np.inf, x)
        b = x.astype(np.float32).astype(ml_dtypes.bfloat16)  # exact in float32 except its own subnormals
    if conv == "ftz":
        bits = b.view(np.uint16)
        b = np.where((bits & 0x7F80) == 0, np.uint16(0) | (bits & 0x8000), bits).astype(np.uint16).view(ml_dtypes.bfloat16)
    return b.view(np.uint16)


def model(a, sa, b, sb, fa, fb, bk, fast, conv):
    ab = to_bf16(a, sa, fa, 1, conv, fast)
    bb = to_bf16(b, sb, fb, 0, conv, fast)
    return lowbit.matmul(ab, bb, "bfloat16", "bfloat16", accumulator=h100_bf16_triton(min(bk, 256)))


def score(tag, which):
    d = json.load(open(os.path.join(HERE, f"dot_scaled_{tag}.json")))
    z = np.load(os.path.join(HERE, f"dot_scaled_{tag}.npz"))
    tot = {}
    for c in d["cases"]:
        if "error" in c or (which is not None and c.get("fit") is not which):
            continue
        op = c["operands"]
        a, sa, b, sb = z[f"{op}_a"], z[f"{op}_sa"], z[f"{op}_b"], z[f"{op}_sb"]
        got = z[f"c{c['id']}_out"]
        line = []
        for conv in ("rne", "zero_code0", "zero_all", "zero_signed"):
            v = model(a, sa, b, sb, c["fa"], c["fb"], c["BK"], c["fast_math"], conv)
            w = v.view(np.int32)
            gf = got.view(np.float32)
            ok = (w == got) | (np.isnan(v) & np.isnan(gf))
            t = tot.setdefault(conv, [0, 0])
            t[0] += int(ok.sum())
            t[1] += ok.size
            line.append(f"{conv}: {ok.mean():.4f}")
        print(c["id"], c["fa"], c["fb"], op, c["BK"], c["fast_math"], "|", "; ".join(line))
    print("---- totals", tag, which, {k: f"{g}/{n}" for k, (g, n) in tot.items()})


if __name__ == "__main__":
    score("r1", True)
    if "--all" in sys.argv:
        score("r1", False)
        score("r2", None)
