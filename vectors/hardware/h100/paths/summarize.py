"""Print, per recorded path, how many cases (and outputs) the lowbit presets reproduce bit for bit.

python summarize.py  -> the table in README.md.  Reads cases.json / operands.npz / outputs.npz.
"""
import json
import os
from collections import defaultdict

import numpy as np

import lowbit
from lowbit.mac import h100_paths as P

HERE = os.path.dirname(os.path.abspath(__file__))
FMT = {"f16": "float16", "bf16": "bfloat16"}


def preset_output(c, a, b):
    fam, path, prm = c["fam"], c["path"], c["params"]
    if fam in FMT:
        if path == "triton_dot" and prm.get("acc") == "float16":
            acc, out = P.h100_fp16_triton(32, "float16"), "float16"
        elif prm.get("fp16_accumulation") or prm.get("compute") == "16F":
            acc, out = P.h100_fp16(acc="float16", M=c["M"], N=c["N"], K=c["K"]), "float16"
        else:
            # cuBLAS picks a split-K kernel for 64x64x4096 (see README)
            split = 3 if (path != "triton_dot" and c["M"] == 64 and c["K"] == 4096) else 1
            acc = P.h100_fp16(split_k=split) if fam == "f16" else P.h100_bf16(split_k=split)
            out = "float32" if c["out_dtype"] == "uint32" else FMT[fam]
        return lowbit.matmul(a, b, FMT[fam], FMT[fam], accumulator=acc, out_dtype=out, M=c["M"], N=c["N"]).view(
            np.uint32 if out == "float32" else np.uint16)
    if fam == "f32" and path == "torch_matmul" and prm == {"allow_tf32": False}:
        sl = P.H100_FP32_CUBLAS_SLICES.get((c["M"], c["N"], c["K"]))
        if sl is None:
            return np.full((a.shape[0], b.shape[1]), 0x7FC00001, np.uint32)  # shape not modelled: not reproduced
        return lowbit.matmul(a, b, "float32", "float32", accumulator=P.h100_fp32(K=c["K"], slice_k=sl)).view(np.uint32)
    if fam == "f32" and path == "torch_matmul" and prm == {"allow_tf32": True}:
        M, N, K = c["M"], c["N"], c["K"]
        out = lowbit.matmul(a, b, "float32", "float32",
                            accumulator=P.h100_tf32(M, N, K, segmented=False)).view(np.uint32).copy()
        seg = P.H100_TF32_SEGMENTED.get((M, N, K))
        if seg is not None:  # the stream-K tiles (rows/cols: the recorded ones' places in C)
            ri = np.flatnonzero((c["rows"] >= seg["rows"][0]) & (c["rows"] < seg["rows"][1]))
            ci = np.flatnonzero((c["cols"] >= seg["cols"][0]) & (c["cols"] < seg["cols"][1]))
            if ri.size and ci.size:
                out[np.ix_(ri, ci)] = lowbit.matmul(
                    np.ascontiguousarray(a[ri]), np.ascontiguousarray(b[:, ci]), "float32", "float32",
                    accumulator=P.h100_tf32(M, N, K, segmented=True)).view(np.uint32)
        return out
    if fam == "f32" and path == "triton_dot":
        return lowbit.matmul(a, b, "float32", "float32",
                             accumulator=P.h100_tf32_triton(32, prm["input_precision"])).view(np.uint32)
    if fam == "e4m3" and path == "triton_dot" and prm.get("max_num_imprecise_acc") == 0:
        from lowbit.mac import accumulator
        acc = accumulator("h100-fp8-triton", block_k=prm["block_k"], max_num_imprecise_acc=0)
        return lowbit.matmul(a, b, "float8_e4m3fn", "float8_e4m3fn", accumulator=acc).view(np.uint32)
    if fam == "e4m3" and (path == "scaled_mm" or prm.get("max_num_imprecise_acc") == -1):
        from lowbit.mac import accumulator  # the MAC helper's FP8 presets, on shapes they were not fitted on
        acc = (accumulator("h100-fp8", fast_accum=prm["fast_accum"]) if path == "scaled_mm"
               else accumulator("h100-fp8-triton", block_k=prm["block_k"]))
        return lowbit.matmul(a, b, "float8_e4m3fn", "float8_e4m3fn", accumulator=acc, M=c["M"], N=c["N"]).view(
            np.uint32)
    if fam == "i8":
        return (a.astype(np.int64) @ b.astype(np.int64)).astype(np.int32)  # exactness check
    return None


def main():
    meta = json.load(open(os.path.join(HERE, "cases.json")))
    import sys

    sys.path.insert(0, HERE)
    import operands  # rebuilds the recorded operands, checked against their SHA-256

    ops = operands.load()
    outs = np.load(os.path.join(HERE, "outputs.npz"))
    tab = defaultdict(lambda: [0, 0, 0, 0, []])
    for c in meta["cases"]:
        key = (c["fam"], c["path"], json.dumps(c["params"], sort_keys=True))
        a, b = ops[f"op_{c['operands']}_a"], ops[f"op_{c['operands']}_b"]
        c = dict(c, rows=ops[f"op_{c['operands']}_rows"], cols=ops[f"op_{c['operands']}_cols"])
        got = preset_output(c, a, b)
        want = outs[f"out_{c['id']}"]
        t = tab[key]
        t[0] += 1
        t[2] += want.size
        if got is None:
            t[1] = None
            continue
        bad = int(np.count_nonzero(got != want))
        t[3] += want.size - bad
        if bad == 0:
            t[1] += 1
        else:
            t[4].append(f"{c['dist']} {c['M']}x{c['K']}")
    print("| inputs | path | params | cases reproduced | outputs reproduced | cases not reproduced |")
    print("| --- | --- | --- | --- | --- | --- |")
    for (fam, path, prm), (n, ok, nout, okout, bad) in tab.items():
        if ok is None:
            print(f"| {fam} | {path} | {prm} | no preset ({n} cases) | | |")
        else:
            print(f"| {fam} | {path} | {prm} | {ok}/{n} | {okout}/{nout} | {'; '.join(bad)} |")


if __name__ == "__main__":
    main()
