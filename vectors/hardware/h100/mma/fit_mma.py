"""Fit / check the single-instruction rules against the recorded mma.sync outputs.

python fit_mma.py            -> prints, per instruction and operand family, how many of the
                                recorded outputs the rule in ``RULES`` reproduces
Independent of lowbit.mac: exact integer arithmetic from ref.py.
"""
from __future__ import annotations

import json
import os
import sys
from collections import Counter, defaultdict

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gen  # noqa: E402
import ref  # noqa: E402


def load_mma(name, verify=True):
    A, B, C, fam = gen.mma_probes(name)
    meta = json.load(open(os.path.join(HERE, "data", "meta.json")))
    if verify:
        m = meta["operands"][name]
        for k, arr in (("A", A), ("B", B), ("C", C), ("fam", fam)):
            if gen.sha(arr) != m[k]:
                raise ValueError(f"regenerated operand {k} of {name} differs from the recorded one")
    D = np.load(os.path.join(HERE, "data", "mma_outputs.npz"))[f"D_{name}"]
    return A, B, C, fam, D


def _tf32_rne(b):
    finite = ((b >> 23) & 0xFF) != 0xFF
    low = b & 0x1FFF
    up = (low > 0x1000) | ((low == 0x1000) & (((b >> 13) & 1) == 1))
    return np.where(finite, (b & ~0x1FFF) + np.where(up, 0x2000, 0), b)


def mma_one(a_bits, b_bits, c_bits, name, rule):
    """One output of instruction ``name`` under ``rule`` (dict): returns output bits."""
    K, inp, acc, _ = gen.INSTR[name]
    fin = "tf32" if inp == "tf32" else "f16"
    cfmt = "f32" if acc == "f32" else "f16"
    nan_out = rule.get("nan", 0x7FFFFFFF if acc == "f32" else 0x7FFF)
    prods = []
    nan = pinf = ninf = False
    zsign = []  # signs of the zero products (for the sign of a zero result)
    low_mask = rule.get("tf32_in", "rz")
    for k in range(K):
        ab, bb = int(a_bits[k]), int(b_bits[k])
        if fin == "tf32" and low_mask == "rz":
            ab &= ~0x1FFF
            bb &= ~0x1FFF
        elif fin == "tf32":  # round the low 13 bits off (nearest even) instead
            ab, bb = (int(x) for x in _tf32_rne(np.array([ab, bb], np.int64)))
        da, db = ref.decode(ab, fin), ref.decode(bb, fin)
        if da[0] == "n" or db[0] == "n":
            nan = True
            prods.append((0, 0, 0))
            continue
        if da[0] == "i" or db[0] == "i":
            other = db if da[0] == "i" else da
            if other[0] == "f" and other[1] == 0:
                nan = True
            else:
                sa = da[1] if da[0] == "i" else (1 if da[1] > 0 else -1)
                sb = db[1] if db[0] == "i" else (1 if db[1] > 0 else -1)
                if sa * sb > 0:
                    pinf = True
                else:
                    ninf = True
            prods.append((0, 0, 0))
            continue
        s = da[1] * db[1]
        if s == 0:
            zsign.append(da[4] ^ db[4])
        prods.append((s, da[2] + db[2], da[3] + db[3]))
    dc = ref.decode(int(c_bits), cfmt)
    if dc[0] == "n":
        nan = True
    elif dc[0] == "i":
        if dc[1] > 0:
            pinf = True
        else:
            ninf = True
    if nan or (pinf and ninf):
        return nan_out
    if pinf or ninf:
        if acc == "f32":
            return 0x7F800000 if pinf else 0xFF800000
        return 0x7C00 if pinf else 0xFC00
    accv = (dc[1], dc[2]) if dc[1] != 0 else None
    for grp in rule["groups"]:
        accv = ref.step(accv, [prods[k] for k in grp], rule["F"], rule.get("term", "rz"),
                        rule.get("norm", "rz"), rule.get("nbits", 24), rule.get("acc_term"))
        if rule.get("f16_each_step") and acc == "f16" and accv[0] != 0:
            accv = ref.round_sig(accv[0], accv[1], 11, rule.get("f16_round", "rne"), -24)
    sig, exp = accv if accv is not None else (0, 0)
    allzero_neg = (dc[1] == 0 and dc[4] == 1 and all(z == 1 for z in zsign) and
                   all(p[0] == 0 for p in prods))
    if rule.get("zero") == "pos":
        allzero_neg = False
    if acc == "f32":
        if rule.get("f32_sub") and sig != 0:  # cut to float32's subnormal grid as well
            sig, exp = ref.round_sig(sig, exp, 24, rule["f32_sub"], -149)
        return ref.to_f32_bits(sig, exp, neg_zero=allzero_neg)
    return ref.to_f16_bits(sig, exp, rule.get("f16_round", "rne"), neg_zero=allzero_neg)


def evaluate(name, rule, fams=None, limit=None, collect=0):
    A, B, C, fam, D = load_mma(name)
    K = gen.INSTR[name][0]
    ok = Counter()
    tot = Counter()
    bad = []
    P = A.shape[0] if limit is None else min(limit, A.shape[0])
    for p in range(P):
        f = gen.FAMILIES[fam[p]]
        if fams and f not in fams:
            continue
        for i in range(16):
            for j in range(8):
                got = mma_one(A[p, i], B[p, :, j], C[p, i, j], name, rule)
                want = int(D[p, i, j])
                tot[f] += 1
                if got == want:
                    ok[f] += 1
                elif len(bad) < collect:
                    bad.append((p, i, j, f, hex(got), hex(want)))
    return ok, tot, bad


def seq(K):
    return [list(range(K))]


FOUND = {"F": 25, "zero": "pos", "f32_sub": "rz"}  # + nbits=None for a float16 accumulator
# (instruction, label, rule): the rule found and the alternatives it was preferred to
RULES = [
    ("tf32_k8", "found: one step of 8", dict(FOUND, groups=seq(8))),
    ("tf32_k8", "two steps of 4: k 0-3, 4-7", dict(FOUND, groups=[[0, 1, 2, 3], [4, 5, 6, 7]])),
    ("tf32_k8", "two steps of 4: k 0,1,4,5 / 2,3,6,7", dict(FOUND, groups=[[0, 1, 4, 5], [2, 3, 6, 7]])),
    ("tf32_k8", "one step, F=24", dict(FOUND, groups=seq(8), F=24)),
    ("tf32_k8", "one step, F=26", dict(FOUND, groups=seq(8), F=26)),
    ("tf32_k8", "one step, terms rounded to nearest even", dict(FOUND, groups=seq(8), term="rne")),
    ("tf32_k8", "one step, sum rounded to nearest even", dict(FOUND, groups=seq(8), norm="rne")),
    ("tf32_k8", "one step, low 13 bits rounded (RNE) not dropped", dict(FOUND, groups=seq(8), tf32_in="keep")),
    ("tf32_k4", "found: one step of 4", dict(FOUND, groups=seq(4))),
    ("tf32_k4", "float32 subnormal result rounded to nearest even", dict(FOUND, groups=seq(4), f32_sub=None)),
    ("tf32_k4", "IEEE sign of zero (-0 when all terms are -0)", dict(FOUND, groups=seq(4), zero="ieee")),
    ("f16_k16_f32", "found: one step of 16", dict(FOUND, groups=seq(16))),
    ("f16_k16_f32", "two steps of 8: k 0-7, 8-15", dict(FOUND, groups=[list(range(8)), list(range(8, 16))])),
    ("f16_k16_f32", "two steps of 8: k mod 4 in {0,1} / {2,3}",
     dict(FOUND, groups=[[0, 1, 4, 5, 8, 9, 12, 13], [2, 3, 6, 7, 10, 11, 14, 15]])),
    ("f16_k16_f16", "found: one step of 16, exact window sum rounded to float16", dict(FOUND, groups=seq(16), nbits=None)),
    ("f16_k16_f16", "sum first cut to 24 bits, then rounded to float16", dict(FOUND, groups=seq(16))),
    ("f16_k16_f16", "F=24", dict(FOUND, groups=seq(16), nbits=None, F=24)),
    ("f16_k16_f16", "F=26", dict(FOUND, groups=seq(16), nbits=None, F=26)),
    ("f16_k16_f16", "rounded to float16 toward zero", dict(FOUND, groups=seq(16), nbits=None, f16_round="rz")),
    ("f16_k8_f16", "found: one step of 8, exact window sum rounded to float16", dict(FOUND, groups=seq(8), nbits=None)),
    ("f16_k8_f16", "sum first cut to 24 bits, then rounded to float16", dict(FOUND, groups=seq(8))),
]

if __name__ == "__main__":
    print("| instruction | rule | outputs reproduced |")
    print("| --- | --- | --- |")
    for name, label, rule in RULES:
        ok, tot, _ = evaluate(name, rule)
        print(f"| {gen.INSTR[name][3]} | {label} | {sum(ok.values())}/{sum(tot.values())} |", flush=True)
