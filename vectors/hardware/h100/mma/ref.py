"""Standalone numpy/Python reference of the tensor-core step rules found on the H100
(exact integer arithmetic; independent of lowbit.mac).

Values are carried as exact pairs (sig, exp) meaning sig * 2^exp (Python ints).  The step
(a "fused block"):

  given the incoming accumulator c and a group of products a_k * b_k (exact),
  E   = max( e(a_k) + e(b_k) over the non-zero products,  e(c) if c != 0 )
        where e(x) = floor(log2|x|) of a normal operand, the format's emin for a subnormal;
  every product and c are cut to a multiple of 2^(E - F) (``term``: toward zero);
  s   = the exact sum of the cut terms;
  s is cut to ``nbits`` significant bits (``norm``: toward zero) -> the new accumulator.

Special values: any NaN operand, Inf * 0, or Inf - Inf gives NaN (bits ``nan``);
otherwise Inf operands give Inf of the product's sign.
"""
from __future__ import annotations

import numpy as np

# (ebits, mbits, bias)
FMT = {"f32": (8, 23, 127), "tf32": (8, 23, 127), "f16": (5, 10, 15)}


def decode(bits, fmt):
    """bit pattern -> ('f', sig, exp, e) finite (value sig*2^exp, e = alignment exponent),
    ('i', sign) infinity, ('n',) NaN."""
    eb, mb, bias = FMT[fmt]
    bits = int(bits)
    sign = (bits >> (eb + mb)) & 1
    field = (bits >> mb) & ((1 << eb) - 1)
    man = bits & ((1 << mb) - 1)
    if field == (1 << eb) - 1:
        return ("n",) if man else ("i", -1 if sign else 1)
    if field == 0:
        e = 1 - bias
        s = man
    else:
        e = field - bias
        s = man | (1 << mb)
    return ("f", -s if sign else s, e - mb, e, sign)


def bitlen(x):
    return abs(x).bit_length()


def cut(sig, exp, g, mode):
    """sig*2^exp -> integer r with r*2^g the value cut to the grid 2^g."""
    d = g - exp
    if d <= 0:
        return sig << (-d)
    neg = sig < 0
    m = -sig if neg else sig
    r = m >> d
    rem = m - (r << d)
    if mode == "rz":
        pass
    elif mode == "rne":
        h = 1 << (d - 1)
        if rem > h or (rem == h and (r & 1)):
            r += 1
    elif mode == "rd":  # floor of the signed value
        if neg and rem:
            r += 1
    elif mode == "ru":
        if not neg and rem:
            r += 1
    else:
        raise ValueError(mode)
    return -r if neg else r


def round_sig(sig, exp, nbits, mode, min_exp=None):
    """Cut sig*2^exp to nbits significant bits (lsb not below 2^min_exp)."""
    if sig == 0:
        return 0, 0
    lsb = exp + bitlen(sig) - nbits
    if min_exp is not None and lsb < min_exp:
        lsb = min_exp
    if lsb <= exp:
        return sig, exp
    r = cut(sig, exp, lsb, mode)
    return r, lsb


def to_f32_bits(sig, exp, neg_zero=False):
    """Exact sig*2^exp (already <= 24 bits) -> float32 bits, nearest even (overflow -> Inf)."""
    if sig == 0:
        return 0x80000000 if neg_zero else 0
    s, e = round_sig(sig, exp, 24, "rne", -149)
    v = np.float64(s) * np.float64(2.0) ** e if abs(e) < 1000 else float("inf")
    with np.errstate(over="ignore"):
        f = np.float32(np.ldexp(np.float64(s), e))
    if not np.isfinite(f) or abs(float(np.ldexp(np.float64(s), e))) >= 2.0 ** 128:
        return 0xFF800000 if s < 0 else 0x7F800000
    return int(np.array(f, np.float32).view(np.uint32))


def to_f16_bits(sig, exp, mode="rne", neg_zero=False):
    """sig*2^exp -> float16 bits, cut to 11 bits (subnormal lsb 2^-24) by ``mode``; >= 2^16 -> Inf."""
    if sig == 0:
        return 0x8000 if neg_zero else 0
    s, e = round_sig(sig, exp, 11, mode, -24)
    neg = s < 0
    if s == 0:
        return 0x8000 if neg_zero or sig < 0 else 0
    m = abs(s)
    val_exp = e + m.bit_length() - 1
    if val_exp >= 16:
        return 0xFC00 if neg else 0x7C00
    f = np.float16(np.ldexp(np.float64(m), e))
    b = int(np.array(f, np.float16).view(np.uint16))
    return b | (0x8000 if neg else 0)


def step(acc, prods, F, term="rz", norm="rz", nbits=24, acc_term=None):
    """One fused-block step.  acc: (sig, exp) or None; prods: list of (sig, exp, e_align)."""
    E = None
    for (s, x, e) in prods:
        if s != 0 and (E is None or e > E):
            E = e
    if acc is not None and acc[0] != 0:
        ea = acc[1] + bitlen(acc[0]) - 1
        if E is None or ea > E:
            E = ea
    if E is None:
        return (0, 0)
    g = E - F
    tot = 0
    if acc is not None and acc[0] != 0:
        tot += cut(acc[0], acc[1], g, acc_term or term)
    for (s, x, e) in prods:
        if s != 0:
            tot += cut(s, x, g, term)
    if nbits is None:
        return (tot, g)
    return round_sig(tot, g, nbits, norm)


def mma_output(inp, acc, a_bits, b_bits, c_bits):
    """One output of an H100 ``mma.sync`` (m16n8k4/k8 TF32, m16n8k8/k16 FP16), from bit patterns.

    inp: "tf32" (float32 bit patterns; the 13 low fraction bits are ignored: truncation) or
    "f16"; acc: "f32" (c_bits / result float32 bits) or "f16".  a_bits, b_bits: the K
    operands of one row of A and one column of B (K = 4, 8 or 16: the whole instruction is ONE
    step); c_bits: the incoming accumulator.  Returns the output bit pattern.

    The rule (found by probe_mma.py, checked by check.py):
      products exact; E = max(e_a + e_b over non-zero products, e(c) if c != 0);
      products and c cut toward zero to multiples of 2^(E-25); exact sum s;
      float32 accumulator: s cut toward zero to 24 significant bits and to float32's
        subnormal grid (lsb >= 2^-149); |s| >= 2^128 -> Inf;
      float16 accumulator: s (exact, no 24-bit cut) rounded to nearest even to float16
        (11 bits, lsb >= 2^-24; rounding to >= 2^16 -> Inf);
      a zero result is +0 (even when every product and c are -0);
      NaN operand, Inf * 0, Inf - Inf (among products and c) -> NaN 0x7FFFFFFF / 0x7FFF;
      otherwise an Inf operand or c gives Inf of its sign.
    """
    fin = "tf32" if inp == "tf32" else "f16"
    cfmt = "f32" if acc == "f32" else "f16"
    prods = []
    nan = pinf = ninf = False
    for ab, bb in zip(a_bits, b_bits):
        ab, bb = int(ab), int(bb)
        if fin == "tf32":
            ab &= ~0x1FFF
            bb &= ~0x1FFF
        da, db = decode(ab, fin), decode(bb, fin)
        if da[0] == "n" or db[0] == "n":
            nan = True
            continue
        if da[0] == "i" or db[0] == "i":
            other = db if da[0] == "i" else da
            if other[0] == "f" and other[1] == 0:
                nan = True
                continue
            sa = da[1] if da[0] == "i" else (1 if da[1] > 0 else -1)
            sb = db[1] if db[0] == "i" else (1 if db[1] > 0 else -1)
            if sa * sb > 0:
                pinf = True
            else:
                ninf = True
            continue
        prods.append((da[1] * db[1], da[2] + db[2], da[3] + db[3]))
    dc = decode(int(c_bits), cfmt)
    if dc[0] == "n":
        nan = True
    elif dc[0] == "i":
        pinf, ninf = pinf or dc[1] > 0, ninf or dc[1] < 0
    if nan or (pinf and ninf):
        return 0x7FFFFFFF if acc == "f32" else 0x7FFF
    if pinf or ninf:
        if acc == "f32":
            return 0x7F800000 if pinf else 0xFF800000
        return 0x7C00 if pinf else 0xFC00
    c = (dc[1], dc[2]) if dc[1] != 0 else None
    if acc == "f32":
        sig, exp = step(c, prods, 25, "rz", "rz", 24)
        if sig != 0:
            sig, exp = round_sig(sig, exp, 24, "rz", -149)
        return to_f32_bits(sig, exp)
    sig, exp = step(c, prods, 25, "rz", None, None)
    return to_f16_bits(sig, exp, "rne")


def mma_tile(name_inp, acc, A, B, C):
    """D (16 x 8 bits) of one mma tile: A (16 x K), B (K x 8), C (16 x 8) bit patterns."""
    D = np.zeros(C.shape, C.dtype)
    for i in range(A.shape[0]):
        for j in range(B.shape[1]):
            D[i, j] = mma_output(name_inp, acc, A[i], B[:, j], C[i, j])
    return D
