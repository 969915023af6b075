"""lowbit.mx.quantize (profile None) against the OCP MX v1.0 §6.3 conversion computed here
independently with exact Fractions (element value sets taken from ml_dtypes), against gfloat's
block quantizer, and hand-derived cases for each edge the spec names."""

import math
from fractions import Fraction

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import lowbit
import lowbit.mx as mx

MX_NAMES = ["mxfp8_e4m3", "mxfp8_e5m2", "mxfp6_e3m2", "mxfp6_e2m3", "mxfp4", "mxint8", "mxint4", "mxint2"]
ROUNDINGS = ["nearest_even", "nearest_away", "toward_zero"]
ML = {"mxfp8_e4m3": ml_dtypes.float8_e4m3fn, "mxfp8_e5m2": ml_dtypes.float8_e5m2,
      "mxfp6_e3m2": ml_dtypes.float6_e3m2fn, "mxfp6_e2m3": ml_dtypes.float6_e2m3fn, "mxfp4": ml_dtypes.float4_e2m1fn}
EMAX = {"mxfp8_e4m3": 8, "mxfp8_e5m2": 15, "mxfp6_e3m2": 4, "mxfp6_e2m3": 2, "mxfp4": 2, "mxint8": 0, "mxint4": 0, "mxint2": 0}


def magnitudes(name):
    """Sorted finite non-negative element values (index = magnitude code), and the largest
    negative magnitude (two's-complement MXINT8 reaches -2)."""
    if name in ML:
        bits = {ml_dtypes.float4_e2m1fn: 4, ml_dtypes.float6_e2m3fn: 6, ml_dtypes.float6_e3m2fn: 6}.get(ML[name], 8)
        v = np.arange(1 << (bits - 1), dtype=np.uint8).view(ML[name]).astype(np.float64)
        v = [Fraction(float(a)) for a in v if np.isfinite(a)]
        return v, v[-1]
    frac, top = {"mxint8": (6, 127), "mxint4": (2, 7), "mxint2": (0, 1)}[name]
    v = [Fraction(k, 1 << frac) for k in range(top + 1)]
    return v, (Fraction(2) if name == "mxint8" else v[-1])


def ref_round(x: Fraction, mags, negmax, mode) -> Fraction:
    """Round x to the element value set: ties per mode (even = even magnitude code), clamp."""
    neg = x < 0
    a = -x if neg else x
    top = negmax if neg else mags[-1]
    grid = mags + ([negmax] if neg and negmax > mags[-1] else [])
    if a >= top:
        r = top
    else:
        i = max(k for k in range(len(grid)) if grid[k] <= a)
        lo, hi = grid[i], grid[i + 1]
        if a == lo:
            r = lo
        elif mode == "toward_zero":
            r = lo
        elif mode in ("up", "down"):
            r = hi if (mode == "up") != neg else lo
        elif mode == "odd":
            r = lo if i % 2 == 1 else hi
        elif a - lo < hi - a:
            r = lo
        elif a - lo > hi - a:
            r = hi
        else:
            r = hi if mode == "nearest_away" else (lo if i % 2 == 0 else hi)
    return -r if neg else r


def ref_block(xs, name, mode):
    """OCP MX v1.0 §6.3: X = 2^(floor(log2 amax) - emax_elem), clamped to E8M0's 2^-127 … 2^127."""
    mags, negmax = magnitudes(name)
    amax = max(abs(Fraction(float(v))) for v in xs)
    if amax == 0:
        s = -127
    else:
        s = max(math.frexp(float(amax))[1] - 1 - EMAX[name], -127)
    X = Fraction(2) ** s
    return s, [ref_round(Fraction(float(v)) / X, mags, negmax, mode) for v in xs]


def check_blocks(x, name, mode, block_size):
    """x: float32 (n, block_size) — each row one block."""
    r = mx.quantize(x, name, rounding=mode, block_size=block_size)
    el = lowbit.decode(r.elements, r.format.element)
    for i in range(x.shape[0]):
        s, vals = ref_block(x[i], name, mode)
        assert int(r.scales[i, 0]) == s + 127, (name, x[i])
        got = [Fraction(float(v)) for v in el[i]]
        assert got == vals, (name, mode, i, x[i], got, vals)
    return r


@pytest.mark.parametrize("name", MX_NAMES)
def test_every_single_element_block(name):
    """Every finite element value, shifted by powers of two over the float32 range, as a block
    of one: the scale and element follow §6.3 and the value comes back exactly."""
    mags, negmax = magnitudes(name)
    vals = [float(m) for m in mags[1:]] + [-float(m) for m in mags[1:]] + ([-2.0] if name == "mxint8" else [])
    shifts = [-140, -130, -127, -100, -20, -1, 0, 1, 7, 60, 100, 110]
    x = np.array([v * 2.0 ** k for v in vals for k in shifts], dtype=np.float32)
    ok = np.isfinite(x) & (x != 0) & (x.astype(np.float64) == np.array([v * 2.0 ** k for v in vals for k in shifts]))
    x = x[ok].reshape(-1, 1)
    r = check_blocks(x, name, "nearest_even", 1)
    # a value of the element set times 2^k comes back exactly unless 2^-127 clamps its scale or
    # its significand is beyond the top binade's largest (E4M3: 1.875 · 2^8 is NaN, clamps to 448)
    s = r.scales[:, 0].astype(int) - 127
    a = np.abs(x[:, 0].astype(np.float64))
    lead = np.floor(np.log2(a))
    top_sig = float(mags[-1]) / 2.0 ** EMAX[name]
    exact = (lead - EMAX[name] >= -127) & (a / 2.0 ** lead <= top_sig)
    assert exact.sum() > 0.5 * exact.size
    clamped = (lead - EMAX[name] >= -127) & ~exact
    np.testing.assert_array_equal(np.abs(r.dequantize()[clamped, 0]), float(mags[-1]) * 2.0 ** (lead[clamped] - EMAX[name]))
    np.testing.assert_array_equal(r.dequantize()[exact, 0], x[exact, 0])
    assert (s >= -127).all()


@pytest.mark.parametrize("mode", ROUNDINGS)
@pytest.mark.parametrize("name", MX_NAMES)
def test_every_rounding_tie(name, mode):
    """Blocks whose amax fixes the scale, filled with every midpoint between neighbouring
    element values and the float32 neighbours of each midpoint, at several scales (including
    a clamped 2^-127 one)."""
    mags, negmax = magnitudes(name)
    mids = [(a + b) / 2 for a, b in zip(mags, mags[1:])]
    if name == "mxint8":
        mids.append((mags[-1] + negmax) / 2)  # between -127/64 and -2 (negative side only)
    pts = []
    for m in mids:
        f = np.float32(float(m))
        pts += [f, np.nextafter(f, np.float32(0)), np.nextafter(f, np.float32(np.inf))]
    pts += [-p for p in pts]
    # beyond the largest value: saturation
    pts += [np.float32(float(mags[-1]) * 1.5), np.float32(-float(negmax) * 1.1)]
    pts = np.array(pts, dtype=np.float32)
    top = np.float32(2.0 ** EMAX[name])
    for k in (0, -100, 90, -135):
        per = 31
        n = -(-pts.size // per)
        body = np.zeros(n * per, dtype=np.float32)
        body[: pts.size] = pts
        blocks = np.concatenate([np.full((n, 1), top), body.reshape(n, per)], axis=1).astype(np.float64) * 2.0 ** k
        x = blocks.astype(np.float32)
        assert (x.astype(np.float64) == blocks).all() or k == -135  # -135: some values are float32 subnormals
        check_blocks(x, name, mode, 32)


@pytest.mark.parametrize("mode", ["up", "down", "odd"])
@pytest.mark.parametrize("name", ["mxfp8_e4m3", "mxfp6_e3m2", "mxfp4", "mxint8"])
def test_directed_roundings(name, mode):
    """The other roundings lowbit offers (round_pack's), on float32 neighbours of every value."""
    mags, negmax = magnitudes(name)
    pts = []
    for m in mags[1:]:
        f = np.float32(float(m))
        pts += [np.nextafter(f, np.float32(0)), np.nextafter(f, np.float32(np.inf)), np.float32(float(m) * 0.75)]
    pts = np.array(pts + [-p for p in pts], np.float32)
    n = -(-pts.size // 31)
    body = np.zeros(n * 31, np.float32)
    body[: pts.size] = pts
    x = np.concatenate([np.full((n, 1), np.float32(2.0 ** EMAX[name])), body.reshape(n, 31)], axis=1)
    check_blocks(x, name, mode, 32)


@pytest.mark.parametrize("name", ["mxfp8_e5m2", "mxfp4", "mxint8"])
def test_float64_input_and_odd_block_size(name):
    """53-bit inputs (rounded once from the exact quotient) in blocks of 7."""
    rng = np.random.default_rng(21)
    x = rng.standard_normal((40, 7)) * np.exp2(rng.integers(-60, 60, (40, 1)))
    x[5, 3] = 0.0
    r = mx.quantize(x, name, block_size=7)
    el = lowbit.decode(r.elements, r.format.element)
    for i in range(x.shape[0]):
        s, vals = ref_block(x[i], name, "nearest_even")
        assert int(r.scales[i, 0]) == s + 127
        assert [Fraction(float(v)) for v in el[i]] == vals


def test_nvfp4_nonfinite_block():
    x = np.ones((2, 16), np.float32)
    x[0, 3] = np.nan
    x[1, 0] = np.inf
    r = mx.quantize(x, "nvfp4")
    assert list(r.scales[:, 0]) == [0x7F, 0x7F]  # E4M3's NaN
    assert (r.elements == 0).all() and np.isnan(r.dequantize()).all()


@pytest.mark.parametrize("name", ["mxfp8_e4m3", "mxfp8_e5m2", "mxfp6_e3m2", "mxfp6_e2m3", "mxfp4", "mxint8"])
def test_against_gfloat_quantize_block(name):
    gfloat = pytest.importorskip("gfloat", reason="gfloat: independent MX block quantizer")
    from gfloat import RoundMode, quantize_block
    from gfloat.block import compute_scale_amax
    from gfloat import formats as gf

    fi = {"mxfp8_e4m3": gf.format_info_mxfp8_e4m3, "mxfp8_e5m2": gf.format_info_mxfp8_e5m2,
          "mxfp6_e3m2": gf.format_info_mxfp6_e3m2, "mxfp6_e2m3": gf.format_info_mxfp6_e2m3,
          "mxfp4": gf.format_info_mxfp4_e2m1, "mxint8": gf.format_info_mxint8}[name]
    rng = np.random.default_rng(7)
    x = (rng.standard_normal((60, 32)) * np.exp2(rng.integers(-100, 100, (60, 1)))).astype(np.float32)
    x[::7, 3] = 0.0
    ours = mx.fake_quantize(x, name)
    for i in range(x.shape[0]):
        ref = quantize_block(fi, x[i].astype(np.float64), compute_scale_amax, RoundMode.TiesToEven)
        np.testing.assert_array_equal(ours[i].astype(np.float64), ref, err_msg=f"{name} row {i}")


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(MX_NAMES), st.lists(st.floats(width=32, allow_nan=False, allow_infinity=False), min_size=1, max_size=70))
def test_properties_scale_power_of_two_elements_in_range(name, vals):
    x = np.array(vals, dtype=np.float32)
    r = mx.quantize(x, name)
    assert r.scales.shape == (-(-x.size // 32),)
    assert (r.scales != 0xFF).all()  # finite input: a finite power-of-two scale, 2^(code-127)
    np.testing.assert_array_equal(r.scale_values(), np.ldexp(1.0, r.scales.astype(int) - 127))
    el = lowbit.decode(r.elements, r.format.element)
    assert (np.abs(el) <= max(r.format.element.max_finite, 2.0 if name == "mxint8" else 0)).all()
    assert np.isfinite(el).all()


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(MX_NAMES), st.integers(-127, 100), st.data())
def test_properties_representable_block_round_trips(name, s, data):
    """A block whose values are element values times 2^s, with one value in the top binade,
    comes back exactly (with scale 2^s)."""
    mags, _ = magnitudes(name)
    tops = [m for m in mags if m >= 2 ** EMAX[name]]
    idx = data.draw(st.lists(st.integers(0, len(mags) - 1), min_size=31, max_size=31))
    signs = data.draw(st.lists(st.sampled_from([1, -1]), min_size=32, max_size=32))
    vals = [float(data.draw(st.sampled_from(tops)))] + [float(mags[i]) for i in idx]
    x = (np.array(vals) * np.array(signs) * 2.0 ** s).astype(np.float32)
    r = mx.quantize(x, name)
    assert int(r.scales[0]) == s + 127
    np.testing.assert_array_equal(r.dequantize(), x)


# ---- edges, each from the spec ---------------------------------------------------------
def test_nan_or_inf_block_has_nan_scale():
    x = np.ones((3, 32), np.float32)
    x[0, 5] = np.nan
    x[1, 7] = -np.inf
    r = mx.quantize(x, "mxfp8_e4m3")
    assert list(r.scales[:, 0]) == [0xFF, 0xFF, 127 + 0 - 8]  # amax 1: 2^(0 - emax)
    d = r.dequantize()
    assert np.isnan(d[:2]).all() and np.isfinite(d[2]).all()
    assert r.elements[0, 5] == 0x7F and r.elements[1, 7] == 0xFF  # E4M3's NaN, sign kept
    assert (mx.quantize(x, "mxfp4").elements[:2] == 0).all()  # FP4 has no NaN: codes 0


def test_all_zero_block_gets_smallest_scale():
    r = mx.quantize(np.zeros((1, 32), np.float32), "mxfp8_e4m3")
    assert r.scales[0, 0] == 0 and (r.elements == 0).all()
    assert (r.dequantize() == 0).all()


def test_tiny_block_clamps_scale_to_2_pow_minus_127():
    x = np.array([2.0 ** -140, 2.0 ** -149, -(2.0 ** -137)] + [0.0] * 29, np.float32)
    r = mx.quantize(x, "mxfp8_e4m3")
    assert r.scales[0] == 0  # floor(log2 amax) - 8 = -145 < -127
    # elements are x / 2^-127 exactly rounded: 2^-13 is below E4M3's 2^-9 * 1/2 → 0; 2^-10 ties to 0
    np.testing.assert_array_equal(lowbit.decode(r.elements[:3], "float8_e4m3fn"), [0.0, 0.0, -0.0])
    x2 = np.array([2.0 ** -120] + [0.0] * 31, np.float32)
    assert mx.quantize(x2, "mxfp8_e5m2").scales[0] == 0  # -120 - 15 < -127: clamped
    assert mx.quantize(x2, "mxfp8_e5m2").dequantize()[0] == 2.0 ** -120  # 2^7 fits E5M2


def test_shared_exponent_above_127_is_nan():
    x = np.array([2.0 ** 200, 1.0] + [0.0] * 30)  # float64 input only
    r = mx.quantize(x, "mxfp8_e4m3")
    assert r.scales[0] == 0xFF and np.isnan(r.dequantize()).all()
    assert mx.quantize(np.array([2.0 ** 135, 1.0]), "mxfp8_e4m3").scales[0] == 127 + 127


def test_element_overflow_clamps_to_max_normal():
    # amax = 1.9 * 2^8: X = 1, 486.4 > 448 clamps to 448 (OCP MX v1.0 §6.3), sign kept
    x = np.array([486.4, -486.4, 300.0] + [0.0] * 29, np.float32)
    r = mx.quantize(x, "mxfp8_e4m3")
    assert r.scales[0] == 127
    np.testing.assert_array_equal(r.dequantize()[:3], [448.0, -448.0, 288.0])
    assert (mx.fake_quantize(np.float32([7.9] + [0] * 31), "mxfp4")[0]) == 6.0


def test_float32_subnormal_inputs_scaled_exactly():
    x = np.array([2.0 ** -126 * 1.75, 2.0 ** -149, 2.0 ** -130 * 1.5] + [0.0] * 29, np.float32)
    r = mx.quantize(x, "mxfp8_e4m3")
    assert r.scales[0] == 0  # floor(log2 amax) - 8 = -134 < -127: clamped to 2^-127
    np.testing.assert_array_equal(r.dequantize()[:3], np.float32([2.0 ** -126 * 1.75, 0.0, 2.0 ** -130 * 1.5]))
    y = mx.fake_quantize(x[2:3].copy(), "mxfp8_e5m2")  # a lone subnormal: scale 2^-146 → clamped
    assert y[0] == np.float32(2.0 ** -130 * 1.5)
    z = mx.fake_quantize(np.array([2.0 ** -133 * 1.5, 2.0 ** -149], np.float32), "mxint8", block_size=2)
    # scale clamped to 2^-127: 1.5 * 2^-133 / 2^-127 = 1.5 steps of 2^-6, a tie, to even: 2 steps
    np.testing.assert_array_equal(z, np.array([2.0 ** -132, 0.0], np.float32))


def test_ragged_last_block_is_padded():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 70)).astype(np.float32)
    r = mx.quantize(x, "mxfp6_e2m3")
    assert r.elements.shape == x.shape and r.scales.shape == (4, 3)
    padded = np.concatenate([x, np.zeros((4, 26), np.float32)], axis=1)
    rp = mx.quantize(padded, "mxfp6_e2m3")
    np.testing.assert_array_equal(r.elements, rp.elements[:, :70])
    np.testing.assert_array_equal(r.scales, rp.scales)


def test_axis_and_block_size():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((64, 5, 3)).astype(np.float32)
    r0 = mx.quantize(x, "mxfp8_e4m3", axis=0, block_size=16)
    rt = mx.quantize(np.moveaxis(x, 0, -1), "mxfp8_e4m3", block_size=16)
    assert r0.axis == 0 and r0.scales.shape == (4, 5, 3)
    np.testing.assert_array_equal(np.moveaxis(r0.elements, 0, -1), rt.elements)
    np.testing.assert_array_equal(np.moveaxis(r0.scales, 0, -1), rt.scales)
    np.testing.assert_array_equal(np.moveaxis(r0.dequantize(), 0, -1), rt.dequantize())


def test_narrow_inputs_are_widened_exactly():
    rng = np.random.default_rng(5)
    x = rng.standard_normal(96).astype(np.float32)
    for dt in (np.float16, ml_dtypes.bfloat16):
        xn = x.astype(dt)
        a = mx.quantize(xn, "mxfp4")
        b = mx.quantize(xn.astype(np.float32), "mxfp4")
        np.testing.assert_array_equal(a.elements, b.elements)
        np.testing.assert_array_equal(a.scales, b.scales)


# ---- the named alternative scale rules, exact ------------------------------------------
def _ref_rule(amax: Fraction, name: str, rule: str) -> int:
    mags, _ = magnitudes(name)
    e = EMAX[name]
    if rule == "floor":
        return _floor_log2(amax) - e
    if rule == "ceil":
        return _ceil_log2(amax) - e
    if rule == "even":
        p = (lowbit.format(mx.mx_format(name).element).mbits if name in ML else {"mxint8": 6, "mxint4": 2, "mxint2": 0}[name]) + 1
        f = _floor_log2(amax)
        q = Fraction(2) ** (f - p + 1)  # spacing of p-bit significands in amax's binade
        rounded = (amax / q + Fraction(1, 2)).__floor__() * q  # ties away
        return _floor_log2(rounded) - e
    return _ceil_log2(amax / mags[-1])


def _floor_log2(a: Fraction) -> int:
    k = a.numerator.bit_length() - a.denominator.bit_length()
    return k if Fraction(2) ** k <= a else k - 1


def _ceil_log2(a: Fraction) -> int:
    f = _floor_log2(a)
    return f if Fraction(2) ** f == a else f + 1


@pytest.mark.parametrize("rule", ["floor", "ceil", "even", "rceil"])
@pytest.mark.parametrize("name", MX_NAMES)
def test_scale_rules_exact(name, rule):
    rng = np.random.default_rng(11)
    a = (rng.uniform(1, 2, 300) * np.exp2(rng.integers(-120, 110, 300))).astype(np.float32)
    edges = []
    for k in (-3, 0, 5, 40):
        p = np.float32(2.0 ** k)
        edges += [p, np.nextafter(p, np.float32(0)), np.nextafter(p, np.float32(10 ** 30))]
        for m in (1.5, 1.75, 1.875, 1.9375, 1.96875, 1.984375):  # near max_pos and rounding edges
            v = np.float32(m * 2.0 ** k)
            edges += [v, np.nextafter(v, np.float32(0)), np.nextafter(v, np.float32(10 ** 30))]
    a = np.concatenate([a, np.array(edges, np.float32)])
    r = mx.quantize(a.reshape(-1, 1), name, scale_rule=rule, block_size=1)
    for v, c in zip(a, r.scales[:, 0]):
        s = _ref_rule(Fraction(float(v)), name, rule)
        assert int(c) == max(s, -127) + 127, (name, rule, float(v), int(c) - 127, s)


def test_scale_rules_hand_derived():
    x = np.float32([3.0] + [0.0] * 31)
    assert mx.quantize(x, "mxfp4", scale_rule="floor").scales[0] == 127 + 1 - 2
    assert mx.quantize(x, "mxfp4", scale_rule="ceil").scales[0] == 127 + 2 - 2
    assert mx.quantize(x, "mxfp4", scale_rule="even").scales[0] == 127 + 1 - 2  # 3 = 1.1b · 2 keeps 2 bits
    assert mx.quantize(np.float32([3.5] + [0] * 31), "mxfp4", scale_rule="even").scales[0] == 127 + 2 - 2
    assert mx.quantize(x, "mxfp4", scale_rule="rceil").scales[0] == 127 - 1  # 3/6 = 2^-1
    assert mx.quantize(np.float32([6.0001] + [0] * 31), "mxfp4", scale_rule="rceil").scales[0] == 127 + 1


# ---- NVFP4 (profile None): NVIDIA's recipe in exact arithmetic -----------------------------
E4M3 = [Fraction(float(v)) for v in np.arange(0x7F, dtype=np.uint8).view(ml_dtypes.float8_e4m3fn).astype(np.float64)]
FP4 = magnitudes("mxfp4")[0]


@pytest.mark.parametrize("ts", [None, 1.0, 0.37, 3e-5, 2.0 ** 20])
def test_nvfp4_exact(ts):
    rng = np.random.default_rng(12)
    x = (rng.standard_normal((40, 16)) * np.exp2(rng.integers(-30, 30, (40, 1)))).astype(np.float32)
    x[3] = 0.0
    x[4, 0] = 6.0 * 448 * 1.01  # scale saturates at 448
    r = mx.quantize(x, "nvfp4", tensor_scale=ts)
    t = Fraction(float(np.float32(ts))) if ts is not None else Fraction(1)
    el = lowbit.decode(r.elements, "float4_e2m1fn")
    sv = r.scale_values()
    for i in range(x.shape[0]):
        amax = max(abs(Fraction(float(v))) for v in x[i])
        q = min(max(amax / 6 / t, Fraction(2) ** -9), Fraction(448))
        s = ref_round(q, E4M3, E4M3[-1], "nearest_even")
        assert Fraction(float(sv[i, 0])) == s, (i, float(amax))
        for j in range(16):
            e = ref_round(Fraction(float(x[i, j])) / (s * t), FP4, FP4[-1], "nearest_even")
            assert Fraction(float(el[i, j])) == e, (i, j)
    d = r.dequantize()
    np.testing.assert_array_equal(d, (el * sv.repeat(16, axis=1) * float(t)).astype(np.float32))


# ---- bad input -----------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(block_size=0), ValueError, "block_size"),
    (dict(block_size=-3), ValueError, "block_size"),
    (dict(block_size=2.5), TypeError, "block_size"),
    (dict(axis=2), ValueError, "axis 2 out of range"),
    (dict(axis=-3), ValueError, "axis"),
    (dict(scale_rule="round"), ValueError, "scale_rule 'round'"),
    (dict(rounding="nearest"), ValueError, "rounding 'nearest'"),
    (dict(profile="tf"), ValueError, "profile 'tf'"),
    (dict(tensor_scale=1.0), ValueError, "nvfp4 only"),
])
def test_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        mx.quantize(np.ones((2, 32), np.float32), "mxfp8_e4m3", **kwargs)


def test_bad_format_and_input():
    with pytest.raises(ValueError, match="unknown block format 'mxfp3'"):
        mx.quantize(np.ones(32, np.float32), "mxfp3")
    with pytest.raises(TypeError, match="int64"):
        mx.quantize(np.ones(32, np.int64), "mxfp4")
    with pytest.raises(TypeError, match="float32"):
        mx.quantize(np.ones(32, np.float32) > 0, "mxfp4")
    with pytest.raises(ValueError, match="0-d"):
        mx.quantize(np.float32(1.0), "mxfp4")
    assert mx.quantize(np.zeros((0, 32), np.float32), "mxfp4").scales.shape == (0, 1)


@pytest.mark.parametrize("ts", [np.nan, np.inf, 0.0, -1.0])
def test_bad_tensor_scale(ts):
    with pytest.raises(ValueError, match="tensor_scale"):
        mx.quantize(np.ones(16, np.float32), "nvfp4", tensor_scale=ts)
