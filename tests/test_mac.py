"""lowbit.mac accumulators against independent references.

- ``exact``: Python ``fractions.Fraction`` sums of the decoded values, rounded to float32 by
  a reference written here with integer arithmetic (never float64 summation).
- ``ieee``: plain numpy float32 / float16 loops and ml_dtypes bfloat16 arithmetic.
- ``fused-block``: a straightforward Fraction model of the documented knobs (module
  docstring of lowbit.mac.accumulators), and, with a huge ``frac_bits``, the exact sum.
"""

import math
from fractions import Fraction

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import lowbit
from lowbit.mac import IEEE, Exact, FusedBlock, accumulator

FP = ["float8_e4m3fn", "float8_e5m2", "float6_e2m3fn", "float6_e3m2fn", "float4_e2m1fn", "int8", "float8_e3m4"]


def test_interleave_order_deals_runs_to_steps():
    from lowbit.mac.api import interleave_order

    order = interleave_order(32, 32, 2, 16)
    assert order[:6].tolist() == [0, 1, 4, 5, 8, 9] and order[16:20].tolist() == [2, 3, 6, 7]
    assert sorted(interleave_order(40, 32, 2, 16).tolist()) == list(range(64))


def finite_codes(fmt):
    f = lowbit.format(fmt)
    v = lowbit.decode(np.arange(f.num_codes).astype(f.code_dtype), f)
    return np.flatnonzero(np.isfinite(v)).astype(f.code_dtype)


def fr(x):
    return Fraction(float(x))


def f32_rne(x: Fraction) -> np.float32:
    """Reference: round a Fraction to float32, nearest even (IEEE 754 §4.3.1), with integers."""
    if x == 0:
        return np.float32(0.0)
    sign = -1 if x < 0 else 1
    m = abs(x)
    e = m.numerator.bit_length() - m.denominator.bit_length()
    if Fraction(2) ** e > m:
        e -= 1
    lsb = max(e - 23, -149)
    t = m / Fraction(2) ** lsb
    r = round(t)  # Fraction.__round__: half to even
    v = Fraction(r) * Fraction(2) ** lsb
    if v >= Fraction(2) ** 128:
        return np.float32(sign * np.inf)
    return np.float32(sign * float(v))


def exact_dot(a_vals, b_vals):
    return sum((fr(x) * fr(y) for x, y in zip(a_vals, b_vals)), Fraction(0))


# ------------------------------------------------------------------------------------
# exact
# ------------------------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(st.sampled_from(FP), st.sampled_from(FP), st.integers(1, 70), st.integers(0, 2**32 - 1))
def test_exact_equals_fraction_sum_rounded_once(fa, fb, K, seed):
    rng = np.random.default_rng(seed)
    a = rng.choice(finite_codes(fa), (3, K))
    b = rng.choice(finite_codes(fb), (K, 2))
    got = lowbit.matmul(a, b, fa, fb, accumulator="exact")
    va, vb = lowbit.decode(a, fa), lowbit.decode(b, fb)
    for i in range(3):
        for j in range(2):
            want = f32_rne(exact_dot(va[i], vb[:, j]))
            assert got[i, j].tobytes() == want.tobytes() or (got[i, j] == 0 and want == 0), (i, j, got[i, j], want)


def test_exact_ties_and_cancellation():
    """64 + 2^-18 is a float32 tie (to 64); one more 2^-18 goes up; big − big leaves the tiny term."""
    e = "float8_e4m3fn"
    code = {v: c for c, v in zip(range(256), lowbit.decode(np.arange(256, dtype=np.uint8), e)) if np.isfinite(v)}
    one, c64, tiny, m64 = code[1.0], code[64.0], code[2.0 ** -9], code[-64.0]
    a = np.array([[c64, tiny], [c64, tiny], [c64, m64]], np.uint8)
    b = np.array([[one], [tiny]], np.uint8)
    out = lowbit.matmul(a[:2], b, e, e, accumulator="exact")[:, 0]
    assert out[0] == np.float32(64.0)
    a3 = np.array([[c64, tiny, tiny]], np.uint8)
    b3 = np.array([[one], [tiny], [tiny]], np.uint8)
    assert lowbit.matmul(a3, b3, e, e, accumulator="exact")[0, 0] == np.float32(64 + 2.0 ** -17)
    a4 = np.array([[c64, tiny, m64]], np.uint8)
    b4 = np.array([[one], [tiny], [one]], np.uint8)
    assert lowbit.matmul(a4, b4, e, e, accumulator="exact")[0, 0] == np.float32(2.0 ** -18)


def test_exact_every_single_product_and_specials_match_numpy():
    """All 256×256 e4m3×e5m2 products (K=1), NaN/Inf included, against float64 numpy products."""
    a = np.arange(256, dtype=np.uint8)[:, None]
    b = np.arange(256, dtype=np.uint8)[None, :]
    got = lowbit.matmul(a, b, "float8_e4m3fn", "float8_e5m2", accumulator="exact")
    with np.errstate(invalid="ignore"):
        want = (lowbit.decode(a, "float8_e4m3fn") * lowbit.decode(b, "float8_e5m2")).astype(np.float32)
    assert np.array_equal(np.isnan(got), np.isnan(want))
    ok = ~np.isnan(want)
    assert np.array_equal(got[ok], want[ok])


def test_exact_specials_in_sums():
    e5 = "float8_e5m2"
    inf, ninf, one, zero, nan = 0x7C, 0xFC, 0x3C, 0x00, 0x7E
    cases = {(inf, one, one, one): np.inf, (inf, ninf, one, one): np.nan, (inf, one, zero, one): np.nan,
             (inf, zero, one, one): np.inf, (nan, one, one, one): np.nan, (ninf, one, one, one): -np.inf}
    for (a0, a1, b0, b1), want in cases.items():
        got = lowbit.dot(np.array([a0, a1], np.uint8), np.array([b0, b1], np.uint8), e5, e5, accumulator="exact")
        assert (np.isnan(got) and np.isnan(want)) or got == want, ((a0, a1, b0, b1), got)


def test_exact_extreme_exponents_wide_sum():
    """e5m2 max and min products in one sum (a 64+ bit span): the tiny term must survive."""
    e5 = "float8_e5m2"
    big, tiny, one = 0x7B, 0x01, 0x3C  # 57344, 2^-16
    a = np.array([[big, 0xFB, tiny]], np.uint8)  # big, -big, tiny
    b = np.array([[big], [big], [tiny]], np.uint8)
    assert lowbit.matmul(a, b, e5, e5, accumulator="exact")[0, 0] == np.float32(2.0 ** -32)
    a = np.full((1, 4096), big, np.uint8)
    b = np.full((4096, 1), big, np.uint8)
    want = f32_rne(Fraction(57344) ** 2 * 4096)
    assert lowbit.matmul(a, b, e5, e5, accumulator="exact")[0, 0] == want
    del one


# ------------------------------------------------------------------------------------
# ieee
# ------------------------------------------------------------------------------------
def np_loop(a_vals, b_vals, dtype, order="sequential", chunk=None):
    with np.errstate(over="ignore", invalid="ignore"):
        return _np_loop(a_vals, b_vals, dtype, order, chunk)


def _np_loop(a_vals, b_vals, dtype, order, chunk):
    prods = [dtype(x * y) for x, y in zip(a_vals, b_vals)]  # float64 product (exact) rounded once
    if order == "sequential":
        acc = dtype(0)
        for p in prods:
            acc = dtype(acc + p)
        return acc
    if order == "chunked":
        total = dtype(0)
        for s in range(0, len(prods), chunk):
            part = dtype(0)
            for p in prods[s:s + chunk]:
                part = dtype(part + p)
            total = dtype(total + part)
        return total

    level = prods
    while len(level) > 1:
        nxt = [dtype(level[t] + level[t + 1]) for t in range(0, len(level) - 1, 2)]
        level = nxt + ([level[-1]] if len(level) % 2 else [])
    return level[0] if level else dtype(0)


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(["float8_e4m3fn", "float8_e5m2", "float6_e2m3fn", "int8"]),
       st.sampled_from([("float32", np.float32), ("float16", np.float16), ("bfloat16", ml_dtypes.bfloat16)]),
       st.sampled_from(["sequential", "pairwise", "chunked"]), st.integers(1, 200), st.integers(1, 17),
       st.integers(0, 2**32 - 1))
def test_ieee_matches_plain_numpy_loops(fmt, accfmt, order, K, chunk, seed):
    name, dtype = accfmt
    rng = np.random.default_rng(seed)
    a = rng.choice(finite_codes(fmt), (2, K))
    b = rng.choice(finite_codes(fmt), (K, 2))
    acc = IEEE(order=order, chunk=chunk if order == "chunked" else None, format=name)
    got = lowbit.matmul(a, b, fmt, fmt, accumulator=acc)
    va, vb = lowbit.decode(a, fmt), lowbit.decode(b, fmt)
    for i in range(2):
        for j in range(2):
            want = np.float32(np_loop(va[i], vb[:, j], dtype, order, chunk))
            assert got[i, j] == want or (np.isnan(got[i, j]) and np.isnan(want)), (i, j, got[i, j], want)


def test_ieee_sequential_float32_on_long_gaussian_dots():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(4, 1000))
    a = lowbit.encode(x, "float8_e4m3fn")
    b = lowbit.encode(rng.normal(size=(1000, 3)), "float8_e4m3fn")
    got = lowbit.matmul(a, b, "e4m3", "e4m3", accumulator="ieee")
    va, vb = lowbit.decode(a, "e4m3"), lowbit.decode(b, "e4m3")
    for i in range(4):
        for j in range(3):
            assert got[i, j] == np_loop(va[i], vb[:, j], np.float32)


# ------------------------------------------------------------------------------------
# fused-block
# ------------------------------------------------------------------------------------
def _align_exp(x: float, fmt) -> int:
    f = lowbit.format(fmt)
    if f.is_int:
        return math.frexp(x)[1] - 1
    return max(math.frexp(x)[1] - 1, f.emin)


def _to_grid(v: Fraction, unit: Fraction, mode: str) -> Fraction:
    t = v / unit
    if mode == "toward_zero":
        r = math.trunc(t)
    elif mode == "down":
        r = math.floor(t)
    elif mode == "up":
        r = math.ceil(t)
    elif mode == "nearest_even":
        r = round(t)
    elif mode == "odd":  # truncate the magnitude; inexact and even: step away from zero
        r = math.trunc(t)
        if r != t and r % 2 == 0:
            r += 1 if t > 0 else -1
    else:  # nearest_away
        r = math.floor(abs(t) + Fraction(1, 2)) * (1 if t >= 0 else -1)
    return r * unit


def _exp(v: Fraction) -> int:
    m = abs(v)
    e = m.numerator.bit_length() - m.denominator.bit_length()
    return e - 1 if Fraction(2) ** e > m else e


def ref_fused_slice(va, vb, fa, fb, p: FusedBlock) -> np.float32:
    outer = np.float32(0)
    acc = Fraction(0)
    inf = 0  # ±1: the chain overflowed its format (sum_emax) and is ±Inf until promoted
    count = 0
    K = len(va)
    for k0 in range(0, K, p.block_size):
        k1 = min(K, k0 + p.block_size)
        terms = [(fr(va[k]) * fr(vb[k]), va[k], vb[k]) for k in range(k0, k1)]
        exps = []
        for t, x, y in terms:
            if t != 0:
                exps.append(_exp(t) if p.align == "product" else _align_exp(x, fa) + _align_exp(y, fb))
        if acc != 0:
            exps.append(_exp(acc))
        if exps and not inf:
            E = max(exps)
            unit = Fraction(2) ** (E - p.frac_bits)
            s = _to_grid(acc, unit, p.acc_rounding) + sum(_to_grid(t, unit, p.term_rounding) for t, _, _ in terms)
            if p.sum_frac_bits is not None and p.sum_frac_bits < p.frac_bits:
                s = _to_grid(s, Fraction(2) ** (E - p.sum_frac_bits), p.sum_rounding)
            if p.sum_bits is not None and s != 0:
                keep = Fraction(2) ** (_exp(s) - p.sum_bits + 1)
                if p.sum_emin is not None:  # never finer than the format's subnormal spacing
                    keep = max(keep, Fraction(2) ** (p.sum_emin - p.sum_bits + 1))
                if keep > unit:
                    s = _to_grid(s, keep, p.sum_rounding)
            acc = s
            if p.sum_emax is not None and abs(s) >= Fraction(2) ** (p.sum_emax + 1):
                inf, acc = (1 if s > 0 else -1), Fraction(0)
        count += k1 - k0
        if p.promote_every is not None:
            end_chunk = k1 >= K or (p.promote_chunk is not None and k1 % p.promote_chunk == 0)
            if count >= p.promote_every or end_chunk:
                with np.errstate(invalid="ignore"):  # +Inf + −Inf = NaN, as IEEE says
                    outer = np.float32(outer + (np.float32(inf * np.inf) if inf else f32_rne(acc)))
                acc, count, inf = Fraction(0), 0, 0
    if p.promote_every is not None:
        return outer
    return np.float32(inf * np.inf) if inf else f32_rne(acc)


def ref_fused(va, vb, fa, fb, p: FusedBlock) -> np.float32:
    if p.interleave_group is not None:  # pad with zeros, then deal runs to the group's steps
        g, r, n = p.interleave_group, p.interleave_run, p.block_size
        Kp = -(-len(va) // g) * g
        va = list(va) + [0.0] * (Kp - len(va))
        vb = list(vb) + [0.0] * (Kp - len(vb))
        order = []
        for g0 in range(0, Kp, g):
            for step in range(g // n):
                for run in range(step, g // r, g // n):
                    order += list(range(g0 + run * r, g0 + run * r + r))
        va, vb = [va[i] for i in order], [vb[i] for i in order]
    K = len(va)
    per = max(1, -(-(-(-K // p.split_granule)) // p.split_k)) * p.split_granule
    total = None
    for lo in range(0, max(K, 1), per):
        sa, sb = list(va[lo:lo + per]), list(vb[lo:lo + per])
        if p.k_tile is not None:  # the partial k-tile first, its last step padded with zeros
            r = len(sa) % p.k_tile
            pad = (-r % p.block_size) if r else 0
            sa = sa[:r] + [0.0] * pad + sa[r:]
            sb = sb[:r] + [0.0] * pad + sb[r:]
        part = ref_fused_slice(sa, sb, fa, fb, p)
        with np.errstate(invalid="ignore", over="ignore"):  # +Inf + −Inf slices = NaN, as IEEE says
            if total is None:
                total = part
            elif p.split_reduce == "float16":
                total = np.float32(np.float16(total) + np.float16(part))
            else:
                total = np.float32(total + part)
    return total


ROUND = st.sampled_from(["toward_zero", "nearest_even", "down", "up", "nearest_away", "odd"])


@st.composite
def fused_params(draw):
    n = draw(st.sampled_from([1, 2, 3, 4, 8, 16, 32]))
    inter = draw(st.sampled_from([None, (2, 1), (2, 2), (4, 2)]))  # (group/block_size, run as a fraction)
    group = None if inter is None else inter[0] * n
    run = 1 if inter is None else max(1, n // inter[1]) if n % inter[1] == 0 else 1
    promote = draw(st.sampled_from([None, 1, 2, 4]))
    if group is not None and promote is not None:
        promote = inter[0] * promote
    chunk = draw(st.sampled_from([None, 1, 3])) if promote else None
    sum_bits = draw(st.sampled_from([None, 1, 8, 14, 24]))
    return FusedBlock(
        block_size=n, frac_bits=draw(st.integers(0, 30)), align=draw(st.sampled_from(["operands", "product"])),
        term_rounding=draw(ROUND), acc_rounding=draw(ROUND),
        sum_frac_bits=draw(st.sampled_from([None, 0, 5, 12, 24])), sum_bits=sum_bits,
        sum_rounding=draw(ROUND), sum_emax=draw(st.sampled_from([None, 0, 4, 9, 15])),
        sum_emin=None if sum_bits is None else draw(st.sampled_from([None, -1, -6, -14])), promote_every=None if promote is None else promote * n,
        promote_chunk=None if chunk is None else chunk * n, split_k=draw(st.integers(1, 3)),
        split_reduce=draw(st.sampled_from(["float32", "float16"])),
        k_tile=None if (promote or group) else draw(st.sampled_from([None, 3, 8, 16])),
        split_granule=n * draw(st.integers(1, 3)), interleave_group=group, interleave_run=run,
    )


@settings(max_examples=120, deadline=None)
@given(fused_params(), st.sampled_from(FP), st.sampled_from(FP), st.integers(1, 90), st.integers(0, 2**32 - 1))
def test_fused_block_matches_fraction_model(p, fa, fb, K, seed):
    rng = np.random.default_rng(seed)
    a = rng.choice(finite_codes(fa), (2, K))
    b = rng.choice(finite_codes(fb), (K, 2))
    got = lowbit.matmul(a, b, fa, fb, accumulator=p)
    va, vb = lowbit.decode(a, fa), lowbit.decode(b, fb)
    for i in range(2):
        for j in range(2):
            want = ref_fused(va[i], vb[:, j], fa, fb, p)
            assert got[i, j] == want or (np.isnan(got[i, j]) and np.isnan(want)), (p, i, j, got[i, j], want)


@pytest.mark.parametrize("fa,fb", [("float8_e4m3fn", "float8_e4m3fn"), ("int8", "int8"),
                                   ("float4_e2m1fn", "float6_e3m2fn"), ("float8_e4m3fn", "int8")])
def test_fused_block_with_huge_frac_bits_is_exact(fa, fb):
    rng = np.random.default_rng(3)
    a = rng.choice(finite_codes(fa), (16, 300))
    b = rng.choice(finite_codes(fb), (300, 16))
    wide = FusedBlock(block_size=32, frac_bits=53, sum_bits=None)
    got = lowbit.matmul(a, b, fa, fb, accumulator=wide)
    want = lowbit.matmul(a, b, fa, fb, accumulator="exact")
    assert np.array_equal(got.view(np.int32), want.view(np.int32))
    # and that the comparison has teeth: the H100 step is not exact on the same data
    if fa == fb == "float8_e4m3fn":
        assert not np.array_equal(lowbit.matmul(a, b, fa, fb, accumulator=accumulator("h100-fp8", split_k=1)), want)


# ------------------------------------------------------------------------------------
# epilogue, dot, accumulator objects
# ------------------------------------------------------------------------------------
def test_scales_and_bfloat16_output_follow_float32_rules():
    rng = np.random.default_rng(5)
    a = rng.choice(finite_codes("e4m3"), (8, 64))
    b = rng.choice(finite_codes("e4m3"), (64, 8))
    base = lowbit.matmul(a, b, "e4m3", "e4m3", accumulator="h100-fp8")
    sa, sb = 0.1, 0.7
    scaled = lowbit.matmul(a, b, "e4m3", "e4m3", accumulator="h100-fp8", scale_a=sa, scale_b=sb)
    assert np.array_equal(scaled, base * (np.float32(sa) * np.float32(sb)))
    bf = lowbit.matmul(a, b, "e4m3", "e4m3", accumulator="h100-fp8", scale_a=sa, scale_b=sb, out_dtype="bfloat16")
    assert bf.dtype == ml_dtypes.bfloat16
    assert np.array_equal(bf.view(np.int16), scaled.astype(ml_dtypes.bfloat16).view(np.int16))


def test_dot_is_the_one_by_one_matmul():
    rng = np.random.default_rng(9)
    x = rng.choice(finite_codes("e5m2"), 100)
    y = rng.choice(finite_codes("e4m3"), 100)
    d = lowbit.dot(x, y, "e5m2", "e4m3", accumulator="exact")
    assert isinstance(d, np.float32)
    assert d == f32_rne(exact_dot(lowbit.decode(x, "e5m2"), lowbit.decode(y, "e4m3")))


def test_accumulator_builder_and_presets():
    assert accumulator("exact") == Exact()
    assert accumulator("ieee", order="chunked", chunk=8) == IEEE(order="chunked", chunk=8)
    h = accumulator("h100-fp8", fast_accum=False, split_k=1)
    assert (h.block_size, h.frac_bits, h.sum_bits, h.promote_every) == (32, 13, 14, 128)
    assert accumulator("h100-fp8", fast_accum=True, split_k=1).promote_every is None
    # without split_k or a shape, cuBLASLt's K order is not fixed yet: lowbit.matmul fixes it by shape
    by = accumulator("h100-fp8", fast_accum=True)
    assert isinstance(by, lowbit.mac.ByShape) and by.formats == ("float8_e4m3fn", "float8_e5m2")
    assert by.for_shape(64, 64, 16384).split_k == 6 and by.for_shape(64, 64, 4096).split_k == 1
    t = accumulator("h100-fp8-triton", block_k=128, max_num_imprecise_acc=40)
    assert (t.promote_every, t.promote_chunk) == (64, 128)
    assert accumulator(h) is h
    with pytest.raises(AttributeError):
        h.frac_bits = 3  # frozen data


# ------------------------------------------------------------------------------------
# bad input
# ------------------------------------------------------------------------------------
def test_bad_input_gives_clear_errors():
    a = np.zeros((2, 3), np.uint8)
    b = np.zeros((3, 2), np.uint8)
    with pytest.raises(ValueError, match="code 0x10 out of range.*float4_e2m1fn"):
        lowbit.matmul(np.full((2, 3), 0x10, np.uint8), b, "float4_e2m1fn", "e4m3", accumulator="exact")
    with pytest.raises(ValueError, match="b_codes.*0x100"):
        lowbit.matmul(a, np.full((3, 2), 256, np.int32), "e4m3", "e4m3", accumulator="exact")
    with pytest.raises(TypeError, match="integer array"):
        lowbit.matmul(a.astype(np.float32), b, "e4m3", "e4m3", accumulator="exact")
    with pytest.raises(ValueError, match="shapes do not match"):
        lowbit.matmul(a, np.zeros((4, 2), np.uint8), "e4m3", "e4m3", accumulator="exact")
    with pytest.raises(ValueError, match="2-D"):
        lowbit.matmul(a[0], b, "e4m3", "e4m3", accumulator="exact")
    with pytest.raises(ValueError, match="unknown accumulator 'h100-fp9'.*presets: h100-fp8"):
        lowbit.matmul(a, b, "e4m3", "e4m3", accumulator="h100-fp9")
    with pytest.raises(TypeError, match="unknown parameter.*fast_acum.*allowed: fast_accum"):
        accumulator("h100-fp8", fast_acum=True)
    with pytest.raises(TypeError, match="fast_accum must be True or False"):
        accumulator("h100-fp8", fast_accum=1)
    with pytest.raises(ValueError, match="frac_bits=90 out of range"):
        accumulator("fused-block", frac_bits=90)
    with pytest.raises(ValueError, match="term_rounding='stochastic' is not allowed"):
        accumulator("fused-block", term_rounding="stochastic")
    with pytest.raises(ValueError, match="promote_every=48 must be a multiple of block_size=32"):
        accumulator("fused-block", promote_every=48)
    with pytest.raises(ValueError, match="sum_emax=-3 out of range"):
        accumulator("fused-block", sum_emax=-3)
    with pytest.raises(ValueError, match="sum_emin=-14 needs sum_bits"):
        accumulator("fused-block", sum_bits=None, sum_emin=-14)
    with pytest.raises(ValueError, match="order='random'"):
        accumulator("ieee", order="random")
    with pytest.raises(ValueError, match="chunk=4 is only allowed"):
        accumulator("ieee", chunk=4)
    with pytest.raises(ValueError, match="block_k=48 must be a multiple of 32"):
        accumulator("h100-fp8-triton", block_k=48)
    with pytest.raises(ValueError, match="max_num_imprecise_acc=64 out of range"):
        accumulator("h100-fp8-triton", block_k=32, max_num_imprecise_acc=64)
    # float16 output is supported since the H100 paths (test_float16_output_and_nan_bits); a
    # format that no GEMM epilogue writes is still refused, naming the allowed ones
    with pytest.raises(ValueError, match="out_dtype='float8_e4m3fn' is not supported; allowed: float32, float16, bfloat16"):
        lowbit.matmul(a, b, "e4m3", "e4m3", accumulator="exact", out_dtype="float8_e4m3fn")
    with pytest.raises(TypeError, match="scale_a must be a real number"):
        lowbit.matmul(a, b, "e4m3", "e4m3", accumulator="exact", scale_a="2")
    with pytest.raises(ValueError, match="unknown format 'e9m9'"):
        lowbit.matmul(a, b, "e9m9", "e4m3", accumulator="exact")
    with pytest.raises(ValueError, match="at most 16 bits.*float32"):
        lowbit.matmul(a, b, "float32", "e4m3", accumulator="exact")
    with pytest.raises(ValueError, match="lengths do not match"):
        lowbit.dot(np.zeros(3, np.uint8), np.zeros(4, np.uint8), "e4m3", "e4m3", accumulator="exact")


def test_float16_output_and_nan_bits():
    """float16 output = the scaled float32 rounded to nearest even by numpy's float16 cast
    (independent), overflow to ±Inf; NaN bits: the preset's nan_bits16 where it has one (the
    H100 paths write 0x7FFF, recorded), else the cast's quiet NaN."""
    rng = np.random.default_rng(11)
    a = rng.choice(finite_codes("e4m3"), (6, 64))
    b = rng.choice(finite_codes("e4m3"), (64, 5))
    a[0, 0] = 0x7F  # NaN code: row 0 is NaN
    f32 = lowbit.matmul(a, b, "e4m3", "e4m3", accumulator="h100-fp8", scale_a=300.0, scale_b=2.0)
    f16 = lowbit.matmul(a, b, "e4m3", "e4m3", accumulator="h100-fp8", scale_a=300.0, scale_b=2.0, out_dtype="float16")
    assert f16.dtype == np.float16
    with np.errstate(over="ignore"):
        want = f32.astype(np.float16)
    assert np.isinf(want).any()  # the scale drives some outputs past float16's range
    assert np.array_equal(f16[1:].view(np.uint16), want[1:].view(np.uint16))
    # h100-fp8 has no recorded 16-bit NaN: the cast's, of its float32 NaN 0x7FFFFFFF
    assert (f32[0].view(np.uint32) == 0x7FFFFFFF).all()
    assert np.array_equal(f16[0].view(np.uint16), want[0].view(np.uint16))
    bf = lowbit.matmul(a, b, "e4m3", "e4m3", accumulator="h100-fp8", out_dtype="bfloat16")
    assert (bf[0].view(np.uint16) == 0x7FC0).all()  # ml_dtypes' cast of 0x7FFFFFFF
    for fmt, preset, nan_code in (("float16", "h100-fp16", 0x7E01), ("bfloat16", "h100-bf16", 0x7FC1)):
        h = np.arange(0x3C00, 0x3C00 + 64, dtype=np.uint16).reshape(8, 8)
        h[0, 0] = nan_code  # a NaN operand: row 0 and column 0 of h @ h are NaN
        out = lowbit.matmul(h, h, fmt, fmt, accumulator=accumulator(preset, split_k=1), out_dtype=fmt).view(np.uint16)
        assert (out[0] == 0x7FFF).all() and (out[:, 0] == 0x7FFF).all()
        assert not np.isnan(out[1:, 1:].view(np.float16 if fmt == "float16" else ml_dtypes.bfloat16)).any()


def test_presets_registry():
    from lowbit.mac import PRESETS
    from lowbit.mac import h100_paths as P

    for name in ("h100-fp8", "h100-fp8-triton", "h100-fp16", "h100-bf16", "h100-fp16-triton", "h100-bf16-triton",
                 "h100-tf32", "h100-tf32-triton", "h100-fp32", "h100-int8"):
        assert name in PRESETS
    assert accumulator("h100-bf16", split_k=3) == P.h100_bf16(split_k=3)
    assert accumulator("h100-tf32-triton", input_precision="tf32x3").operand_split == "tf32x3"
    assert accumulator("h100-fp16-triton", acc="float16").sum_bits == 11
    assert accumulator("h100-tf32", M=64, N=64, K=256) == P.h100_tf32(64, 64, 256)
    assert accumulator("h100-fp16", acc="float16", M=64, N=64, K=1000).split_reduce == "float16"
    # by name through lowbit.matmul: h100-bf16 on bfloat16 codes equals the preset object
    x = np.arange(0x3F80, 0x3F80 + 48, dtype=np.uint16).reshape(3, 16)
    assert np.array_equal(lowbit.matmul(x, x.T.copy(), "bfloat16", "bfloat16", accumulator="h100-bf16", M=64, N=64),
                          lowbit.matmul(x, x.T.copy(), "bfloat16", "bfloat16",
                                        accumulator=P.h100_bf16(M=64, N=64, K=16)))


def test_preset_refuses_formats_it_does_not_cover():
    a16 = np.zeros((2, 4), np.uint16)
    with pytest.raises(ValueError, match="a_format='float16' is not covered by accumulator 'h100-fp8'; "
                                         "its operand formats: float8_e4m3fn, float8_e5m2"):
        lowbit.matmul(a16, a16.T.copy(), "float16", "float16", accumulator="h100-fp8")
    with pytest.raises(ValueError, match="b_format='float16' is not covered by accumulator 'h100-fp8-triton'"):
        lowbit.matmul(np.zeros((2, 4), np.uint8), a16.T.copy(), "e4m3", "float16", accumulator="h100-fp8-triton")
    with pytest.raises(ValueError, match="a_format='bfloat16' is not covered by accumulator 'h100-fp16'; "
                                         "its operand formats: float16"):
        lowbit.matmul(a16, a16.T.copy(), "bfloat16", "float16", accumulator="h100-fp16")
    with pytest.raises(ValueError, match="not covered by accumulator 'h100-int8'; its operand formats: int8"):
        lowbit.matmul(np.zeros((2, 4), np.uint8), np.zeros((4, 2), np.uint8), "e4m3", "int8", accumulator="h100-int8")
    # the kinds themselves take any format
    assert lowbit.matmul(a16, a16.T.copy(), "float16", "float16", accumulator="fused-block").shape == (2, 2)


def test_device_argument():
    from lowbit.mac import cuda as C

    a = np.zeros((2, 4), np.uint8)
    b = np.zeros((4, 2), np.uint8)
    for bad in ("gpu", "CUDA:0", None, 0):
        with pytest.raises(ValueError, match=r"device=.* is not supported; allowed: 'cpu', 'cuda'"):
            lowbit.matmul(a, b, "e4m3", "e4m3", accumulator="h100-fp8", device=bad)
    with pytest.raises(ValueError, match="device='cuda' runs fused-block accumulators .* only, got 'exact'"):
        lowbit.matmul(a, b, "e4m3", "e4m3", accumulator="exact", device="cuda")
    assert lowbit.dot(a[0], b[:, 0], "e4m3", "e4m3", accumulator="h100-fp8", device="cpu") == 0
    if not C.available():
        with pytest.raises(RuntimeError, match="device='cuda': no CUDA GPU found.*allowed here: device='cpu'"):
            lowbit.matmul(a, b, "e4m3", "e4m3", accumulator="h100-fp8", device="cuda")


def test_empty_shapes():
    out = lowbit.matmul(np.zeros((2, 0), np.uint8), np.zeros((0, 3), np.uint8), "e4m3", "e4m3", accumulator="h100-fp8")
    assert out.shape == (2, 3) and not out.any()
    for acc in ("exact", "ieee", "h100-fp8"):
        assert lowbit.matmul(np.zeros((0, 4), np.uint8), np.zeros((4, 3), np.uint8), "e4m3", "e4m3",
                             accumulator=acc).shape == (0, 3)


# ------------------------------------------------------------------------------------
# the float32 FMA chain (h100-tf32-triton "ieee", h100-fp32) against exact FMA
# ------------------------------------------------------------------------------------
def fma_chain(a_vals, b_vals) -> np.float32:
    """Reference: acc = fl32(acc + a·b), one rounding per step (IEEE 754 §5.4.1 fusedMultiplyAdd),
    from +0, in Fractions; an Inf accumulator stays Inf (§6.1: Inf + finite); signed zeros
    as §6.3 (an exact zero sum is +0 unless both addends are −0; a non-zero sum that rounds
    to zero keeps its sign — f32_rne gives that −0)."""
    r = np.float32(0.0)
    for x, y in zip(a_vals, b_vals):
        if np.isinf(r):
            continue
        prod = Fraction(float(x)) * Fraction(float(y))
        exact = Fraction(float(r)) + prod
        if exact == 0:
            both_neg_zero = np.signbit(r) and prod == 0 and np.signbit(np.float32(x) * np.float32(y))
            r = np.float32(-0.0) if both_neg_zero else np.float32(0.0)
        else:
            r = f32_rne(exact)
    return r


def tie_pair(rng):
    """float32 a, b with a·b = m·2^-60, m ≡ 2^36 + 1 (mod 2^37): added to 1.0 the sum is a
    tie at float32's last place but for a bit 2^-60 (the sticky case of an FMA)."""
    mod, target = 1 << 37, (1 << 36) + 1
    while True:
        a = int(rng.integers(1 << 23, 1 << 24)) | 1
        b = (target * pow(a, -1, mod)) % mod
        if (1 << 23) <= b < (1 << 24):
            return np.float32(a * 2.0 ** -47), np.float32(b * 2.0 ** -13)


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 40), st.sampled_from([(-20, 20), (-140, -100), (100, 127), (-5, 5)]),
       st.booleans(), st.integers(0, 2**32 - 1))
def test_ieee_chain_is_a_correctly_rounded_fma_chain(K, erange, ties, seed):
    rng = np.random.default_rng(seed)
    e = rng.integers(erange[0], erange[1] + 1, size=(2, 2, K))
    m = rng.integers(1 << 23, 1 << 24, size=(2, 2, K))
    s = rng.choice([-1.0, 1.0], size=(2, 2, K))
    v = (s * m * np.exp2(e - 23.0)).astype(np.float32)  # exact: 24-bit significands, normal exponents
    a, b = v[0], v[1].T.copy()
    if ties:  # row 0 · column 0: 1.0, then the sticky tie product, then the rest
        a[0, 0], b[0, 0] = 1.0, 1.0
        if K > 1:
            a[0, 1], b[1, 0] = tie_pair(rng)
    got = lowbit.matmul(a.view(np.uint32), b.view(np.uint32), "float32", "float32",
                        accumulator=accumulator("h100-tf32-triton", input_precision="ieee"))
    for i in range(2):
        for j in range(2):
            want = fma_chain(a[i], b[:, j])
            assert got[i, j].view(np.uint32) == want.view(np.uint32), (i, j, got[i, j], want)


def test_ieee_chain_sticky_ties():
    """The crafted sticky ties alone (each one a wrong answer if bits below the grid were cut)."""
    rng = np.random.default_rng(7)
    pairs = [tie_pair(rng) for _ in range(8)]
    a = np.array([[1.0, x] for x, _ in pairs], np.float32)            # 8×2
    b = np.array([[1.0] * 8, [y for _, y in pairs]], np.float32)      # 2×8
    got = lowbit.matmul(a.view(np.uint32), b.view(np.uint32), "float32", "float32",
                        accumulator=accumulator("h100-tf32-triton", input_precision="ieee"))
    want = np.array([[fma_chain(a[i], b[:, j]) for j in range(8)] for i in range(8)], np.float32)
    assert np.array_equal(got.view(np.uint32), want.view(np.uint32))
    # the comparison has teeth: truncating the product at the grid instead loses the sticky bit
    import dataclasses
    cut = dataclasses.replace(accumulator("h100-tf32-triton", input_precision="ieee"), term_rounding="toward_zero")
    diag = np.arange(8)
    wrong = lowbit.matmul(a.view(np.uint32), b.view(np.uint32), "float32", "float32", accumulator=cut)
    assert np.count_nonzero(wrong[diag, diag] != want[diag, diag]) >= 2


def test_chain_meets_specials_and_overflow_in_k_order():
    """The chain is one IEEE-style register along K (§6.1, §7.2): Inf + finite = Inf, Inf − Inf =
    NaN — so the order in which an Inf product and a finite overflow arrive decides."""
    acc = FusedBlock(block_size=2, frac_bits=10, sum_bits=8, sum_emax=10)  # |step sum| >= 2^11: ±Inf
    enc = lambda v: lowbit.encode(np.array(v, np.float64), "float8_e5m2")  # noqa: E731
    inf, nan = np.inf, np.nan
    rows = {  # a row · b row (each pair one product), expected result
        "inf_first_then_negative_overflow": ([inf, 0, -1024, -1024], [1, 0, 2, 2], inf),
        "overflow_first_then_negative_inf": ([1024, 1024, -inf, 0], [2, 2, 1, 0], nan),
        "overflow_then_opposite_overflow": ([1024, 1024, -1024, -1024], [2, 2, 4, 4], inf),
        "negative_overflow_then_finite": ([-1024, -1024, 1, 1], [2, 2, 1, 1], -inf),
        "inf_times_zero": ([inf, 1, 1, 1], [0, 1, 1, 1], nan),
        "inf_then_same_inf": ([inf, 1, inf, 1], [1, 1, 2, 1], inf),
        "finite": ([4, 8, -2, 1], [1, 1, 1, 1], 11.0),
    }
    for name, (av, bv, want) in rows.items():
        got = lowbit.dot(enc(av), enc(bv), "float8_e5m2", "float8_e5m2", accumulator=acc)
        assert (np.isnan(got) and np.isnan(want)) or got == want, (name, got, want)


def test_unit_and_schedule_split_fused_block_exactly():
    """Unit and Schedule declare FusedBlock's fields again, in two parts (the kernels take the
    flat FusedBlock): every field is in exactly one part, with FusedBlock's default."""
    import dataclasses

    from lowbit.mac import Schedule, Unit

    flat = {f.name: f.default for f in dataclasses.fields(FusedBlock) if f.init and f.name not in ("formats", "preset")}
    unit = {f.name: f.default for f in dataclasses.fields(Unit)}
    sched = {f.name: f.default for f in dataclasses.fields(Schedule)}
    assert not set(unit) & set(sched) and {**unit, **sched} == flat
    acc = accumulator("h100-fp8", split_k=1)
    assert FusedBlock.of(acc.unit, acc.schedule, formats=acc.formats, preset=acc.preset) == acc
