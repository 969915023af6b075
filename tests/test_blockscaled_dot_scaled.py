"""Triton 3.6 tl.dot_scaled on SM90 (MX operands): every recorded output bit
(vectors/hardware/h100/blockscaled/dot_scaled_r*.{json,npz}), every element-format pair
Triton accepts, reproduced by lowbit.mx.matmul(..., accumulator="h100-mx-triton") on MXArray
operands built directly from codes and scales; fitting and held-back cases alike."""

import json
import pathlib

import numpy as np
import pytest

import lowbit
from lowbit.mac.mx import SCHEDULES, h100_mx_triton
from lowbit.mx import MXArray, mx_format

HERE = pathlib.Path(__file__).resolve().parent.parent / "vectors" / "hardware" / "h100" / "blockscaled"
MXF = {"e4m3": "mxfp8_e4m3", "e5m2": "mxfp8_e5m2", "e2m1": "mxfp4", "e2m3": "mxfp6_e2m3", "e3m2": "mxfp6_e3m2"}
DATA = {t: (json.loads((HERE / f"dot_scaled_{t}.json").read_text()), np.load(HERE / f"dot_scaled_{t}.npz"))
        for t in ("r1", "r2")}
CASES = [(t, c["id"]) for t, (d, _) in DATA.items() for c in d["cases"] if "error" not in c]
REFUSED = [(t, c["id"]) for t, (d, _) in DATA.items() for c in d["cases"] if "error" in c]


def _operands(tag, cid):
    d, z = DATA[tag]
    c = d["cases"][cid]
    op = c["operands"]
    qa = MXArray(elements=z[f"{op}_a"], scales=z[f"{op}_sa"], format=mx_format(MXF[c["fa"]]), block_size=32, axis=1)
    # B's scales were recorded as Triton takes them, (N, K/32): MXArray wants (K/32, N)
    qb = MXArray(elements=z[f"{op}_b"], scales=z[f"{op}_sb"].T, format=MXF[c["fb"]], block_size=32, axis=0)
    return c, z, qa, qb


@pytest.mark.parametrize("tag,cid", CASES)
def test_recorded_bits(tag, cid):
    c, z, qa, qb = _operands(tag, cid)
    out = lowbit.mx.matmul(qa, qb, accumulator=h100_mx_triton(block_k=c["BK"], fast_math=c["fast_math"]))
    got = z[f"c{cid}_out"]
    ok = (out.view(np.int32) == got) | (np.isnan(out) & np.isnan(got.view(np.float32)))
    assert ok.all(), f"{(~ok).sum()} of {ok.size} outputs differ"


def test_every_accepted_pair_recorded():
    pairs = {(c["fa"], c["fb"]) for t, cid in CASES for c in [DATA[t][0]["cases"][cid]]}
    assert pairs == {(a, b) for a in ("e4m3", "e5m2", "e2m1") for b in ("e4m3", "e5m2", "e2m1")}
    refused = {(c["fa"], c["fb"]) for t, cid in REFUSED for c in [DATA[t][0]["cases"][cid]]}
    assert all("e2m3" in p or "e3m2" in p for p in refused)


@pytest.mark.parametrize("tag,cid", REFUSED[:4])
def test_fp6_refused_like_triton(tag, cid):
    c, z, qa, qb = _operands(tag, cid)
    with pytest.raises(ValueError, match="e2m3 / e3m2"):
        lowbit.mx.matmul(qa, qb, accumulator="h100-mx-triton")


def test_schedules_named_and_agree_on_easy_data():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((8, 128)).astype(np.float32)
    y = rng.standard_normal((128, 8)).astype(np.float32)
    qa, qb = lowbit.mx.quantize(x, "mxfp8_e4m3", axis=1), lowbit.mx.quantize(y, "mxfp8_e4m3", axis=0)
    assert SCHEDULES == ("dot_general", "scaled_chain", "promote_fma")
    dg = lowbit.mx.matmul(qa, qb, accumulator="exact")
    pf = lowbit.mx.matmul(qa, qb, accumulator="exact", schedule="promote_fma")
    assert (dg == pf).all()  # E8M0 scales: the fma's product is exact, so one rounding either way
    fma = lowbit.mac.accumulator("h100-tf32-triton", input_precision="ieee")  # a float32 FMA chain
    sc = lowbit.mx.matmul(qa, qb, accumulator=fma, schedule="scaled_chain")
    want = lowbit.matmul(qa.dequantize().view(np.uint32), qb.dequantize().view(np.uint32), "float32", "float32",
                         accumulator=fma)
    assert (sc.view(np.int32) == want.view(np.int32)).all()
    with pytest.raises(ValueError, match="schedule"):
        lowbit.mx.matmul(qa, qb, accumulator="exact", schedule="nope")
    with pytest.raises(ValueError, match="block_k"):
        h100_mx_triton(block_k=48)
    with pytest.raises(ValueError, match="scales have shape"):
        lowbit.mx.matmul(MXArray(qa.elements, qa.scales[:, :1], qa.format, 32, 1), qb, accumulator="exact")
