"""hypothesis properties of encode/decode, over the whole registry and every rounding mode.

Reference values come from gfloat's decoder (``gfloat_values``) and exact Fraction arithmetic,
so a property cannot be satisfied by a codec that agrees with itself only.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from test_codec_references import GFLOAT, gfloat_values

import lowbit
from lowbit.formats import INF, NAN
from test_codec_references import serial_numba  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("serial_numba")

SMALL = [n for n, f in lowbit.FORMATS.items() if f.bits <= 16]
ROUNDINGS = ["nearest_even", "nearest_away", "toward_zero", "up", "down", "odd",
             "stochastic", "stochastic_odd", "stochastic_fast", "stochastic_fastest"]
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def values_of(name):
    """Every code's value by gfloat (symmetric integers: the plain integer's values)."""
    return gfloat_values(name.replace("_symmetric", ""))


def overflow_modes(name):
    return ["saturate", "wrap"] if lowbit.format(name).is_int else ["saturate", "nonsaturating"]


def real_codes(name):
    """Codes of numbers (not NaN, not Inf) that the format uses."""
    fmt = lowbit.format(name)
    v = values_of(name)
    ok = np.isfinite(v)
    if fmt.symmetric:
        ok[fmt.num_codes // 2] = False  # the most negative code is not part of a symmetric format
    return np.flatnonzero(ok)


def ulp(name, x: Fraction) -> Fraction:
    """Spacing of the format's values around |x| (in range): 2^(max(e, emin) - mbits)."""
    fmt = lowbit.format(name)
    if fmt.is_int:
        return Fraction(1, 1 << fmt.frac_bits)
    a = abs(x)
    e = a.numerator.bit_length() - a.denominator.bit_length()
    if Fraction(2) ** e > a:
        e -= 1
    emin = -GFLOAT[name].bias if fmt.specials == "exponent_only" else 1 - GFLOAT[name].bias  # E8M0: no subnormals
    return Fraction(2) ** (max(e, emin) - fmt.mbits)


@st.composite
def sr_kwargs(draw, rounding, n):
    if not rounding.startswith("stochastic"):
        return {}
    nb = draw(st.integers(1, 24))
    r = draw(st.lists(st.integers(0, (1 << nb) - 1), min_size=n, max_size=n))
    return {"srbits": np.array(r, np.int64), "srnumbits": nb}


# ----- round trip ------------------------------------------------------------------------
@SETTINGS
@given(name=st.sampled_from(SMALL), data=st.data())
def test_encode_of_decode_is_the_identity(name, data):
    """encode(decode(c)) == c for every non-NaN code, every rounding, both overflow modes, from
    float64 and float32 (every value of these formats is exact in float32; Inf codes included)."""
    fmt = lowbit.format(name)
    v = values_of(name)
    candidates = np.flatnonzero(~np.isnan(v))
    if fmt.symmetric:
        candidates = candidates[candidates != fmt.num_codes // 2]
    codes = np.array(data.draw(st.lists(st.sampled_from(candidates.tolist()), min_size=1, max_size=40)))
    rounding = data.draw(st.sampled_from(ROUNDINGS))
    overflow = data.draw(st.sampled_from(overflow_modes(name)))
    kw = data.draw(sr_kwargs(rounding, codes.size))
    if np.isinf(v[codes]).any():
        overflow = "nonsaturating"  # ±Inf codes come back only when not saturating
    x = lowbit.decode(codes.astype(fmt.code_dtype), name)
    np.testing.assert_array_equal(x, v[codes])  # decode agrees with gfloat (independent)
    for src in (np.float64, np.float32):
        got = lowbit.encode(x.astype(src), name, rounding=rounding, overflow=overflow, **kw)
        np.testing.assert_array_equal(got.astype(np.int64), codes)


# ----- monotonic -------------------------------------------------------------------------
finite_f32 = st.floats(width=32, allow_nan=False, allow_infinity=True)


@SETTINGS
@given(name=st.sampled_from(SMALL), rounding=st.sampled_from(ROUNDINGS), data=st.data())
def test_encode_is_monotonic(name, rounding, data):
    """x <= y implies value(encode(x)) <= value(encode(y)) (saturating; for stochastic modes,
    with the same random bits for both).  Values read by gfloat's decoder."""
    fmt = lowbit.format(name)
    xs = data.draw(st.lists(finite_f32, min_size=2, max_size=30))
    x = np.sort(np.array(xs, np.float32))
    if not fmt.signed:
        x = x[x > 0]
        assume(x.size >= 2)
    kw = {}
    if rounding.startswith("stochastic"):
        nb = data.draw(st.integers(1, 20))
        kw = {"srbits": np.full(x.size, data.draw(st.integers(0, (1 << nb) - 1))), "srnumbits": nb}
    got = values_of(name)[lowbit.encode(x, name, rounding=rounding, overflow="saturate", **kw).astype(np.int64)]
    assert not np.isnan(got).any()
    assert np.all(np.diff(got) >= 0), list(zip(x, got))


# ----- accuracy ---------------------------------------------------------------------------
@SETTINGS
@given(name=st.sampled_from(SMALL), data=st.data())
def test_nearest_even_error_is_at_most_half_an_ulp(name, data):
    """|value(encode(x)) - x| <= ulp(x)/2 for x inside [min, max] (exact Fractions), and the
    directed modes land on the right side within one ulp."""
    fmt = lowbit.format(name)
    v = values_of(name)
    lo_lim = fmt.min_finite if fmt.signed else fmt.min_subnormal
    x = data.draw(st.floats(lo_lim, fmt.max_finite, width=64 if fmt.bits > 8 else 32, allow_subnormal=True))
    x = float(np.float32(x)) if fmt.bits <= 8 else x
    assume(lo_lim <= x <= fmt.max_finite)
    fx = Fraction(x)
    u = ulp(name, fx)
    res = {}
    for rounding in ("nearest_even", "nearest_away", "toward_zero", "up", "down", "odd"):
        code = int(lowbit.encode(np.array([x]), name, rounding=rounding)[0])
        res[rounding] = Fraction(float(v[code]))
    assert abs(res["nearest_even"] - fx) <= u / 2
    assert abs(res["nearest_away"] - fx) <= u / 2
    assert res["down"] <= fx <= res["up"] and res["up"] - res["down"] <= u
    assert abs(res["toward_zero"]) <= abs(fx) and abs(fx - res["toward_zero"]) < u
    assert abs(res["odd"] - fx) < u


# ----- saturation ---------------------------------------------------------------------------
@SETTINGS
@given(name=st.sampled_from(SMALL), rounding=st.sampled_from(ROUNDINGS),
       xs=st.lists(st.floats(allow_nan=False, allow_infinity=True), min_size=1, max_size=30))
def test_saturation_never_gives_a_non_finite_code(name, rounding, xs):
    """overflow='saturate': no Inf and no NaN code for any non-NaN input (E8M0: its rule for
    0 and negatives, NaN, is the exception and is left out)."""
    fmt = lowbit.format(name)
    x = np.array(xs, np.float64)
    if not fmt.signed:
        x = x[x > 0]
        assume(x.size > 0)
    kw = {"srbits": np.zeros(x.size, np.int64) + 3, "srnumbits": 2} if rounding.startswith("stochastic") else {}
    codes = lowbit.encode(x, name, rounding=rounding, overflow="saturate", **kw).astype(np.int64)
    if fmt.bits <= 16:
        cls = fmt.classes[codes]
        assert not np.isin(cls, [INF, NAN]).any(), list(zip(x, codes))
    v = values_of(name)[codes]
    assert np.isfinite(v).all()
    assert np.all(np.abs(v) <= max(fmt.max_finite, -fmt.min_finite))


# ----- stochastic rounding ----------------------------------------------------------------
@SETTINGS
@given(name=st.sampled_from([n for n in SMALL if lowbit.format(n).bits <= 8]),
       rounding=st.sampled_from(["stochastic", "stochastic_odd", "stochastic_fast", "stochastic_fastest"]),
       nb=st.integers(1, 10), data=st.data())
def test_stochastic_rounding_over_every_draw(name, rounding, nb, data):
    """Over all 2^nb random draws, the mean result is x up to the nb-bit quantisation of the
    fraction delta: exactly lo + D/2^nb (hi - lo) with D = delta·2^nb rounded to an integer
    (to even / to odd / down-with-offset), so |mean - x| <= 2^-nb (hi - lo); 'stochastic_fastest'
    is the biased one (up to 2^-nb (hi - lo) away from zero)."""
    fmt = lowbit.format(name)
    v = values_of(name)
    codes = real_codes(name)
    finite = np.unique(v[codes])
    finite = finite[finite > 0] if not fmt.signed else finite
    i = data.draw(st.integers(0, finite.size - 2))
    lo, hi = Fraction(float(finite[i])), Fraction(float(finite[i + 1]))
    t = data.draw(st.fractions(0, 1, max_denominator=1 << 20))
    x = float(lo + t * (hi - lo))
    assume(lo < Fraction(x) < hi)
    draws = np.arange(1 << nb, dtype=np.int64)
    got = lowbit.encode(np.full(draws.size, x), name, rounding=rounding, srbits=draws, srnumbits=nb)
    vals = [Fraction(float(a)) for a in v[got.astype(np.int64)]]
    assert set(vals) <= {lo, hi}
    mean = sum(vals) / len(vals)
    assert abs(mean - Fraction(x)) <= (hi - lo) / (1 << nb)
    if rounding == "stochastic_fastest":
        assert abs(mean) >= abs(Fraction(x)) - (hi - lo) / (1 << nb)


@settings(max_examples=25, deadline=None)
@given(name=st.sampled_from(["float8_e4m3fn", "float8_e5m2", "float4_e2m1fn", "float6_e3m2fn", "int8", "bfloat16"]),
       k=st.integers(1, 255), seed=st.integers(0, 2**32 - 1))
def test_stochastic_rounding_is_unbiased_with_seeded_draws(name, k, seed):
    """With ``seed`` (random bits drawn by lowbit, 16 of them by default), the mean of 40,000
    draws is within 5 standard errors (+ the 2^-16 quantisation) of x."""
    fmt = lowbit.format(name)
    v = values_of(name)
    finite = np.unique(v[real_codes(name)])
    mid = finite.size // 2 + 3
    lo, hi = Fraction(float(finite[mid])), Fraction(float(finite[mid + 1]))
    t = Fraction(k, 256)
    x = lo + t * (hi - lo)
    assert float(x) == x
    n = 40000
    got = lowbit.encode(np.full(n, float(x)), name, rounding="stochastic", seed=seed)
    vals = v[got.astype(np.int64)]
    assert set(np.unique(vals)) <= {float(lo), float(hi)}
    p_hat = np.mean(vals == float(hi))
    p = float(t)
    sigma = np.sqrt(p * (1 - p) / n)
    assert abs(p_hat - p) <= 5 * sigma + 2.0**-16


@settings(max_examples=30, deadline=None)
@given(name=st.sampled_from(SMALL), rounding=st.sampled_from(ROUNDINGS[6:]), seed=st.integers(0, 2**63 - 1),
       nb=st.sampled_from([None, 1, 7, 23, 32]))
def test_stochastic_rounding_is_reproducible_for_a_seed(name, rounding, seed, nb):
    """Same seed, same codes; the seed's draws are numpy.random.default_rng(seed).integers(0,
    2^srnumbits) (as encode's docstring says), so passing them as srbits gives the same codes;
    another seed gives other codes on inputs that need rounding."""
    fmt = lowbit.format(name)
    rng = np.random.default_rng(99)
    x = rng.uniform(-fmt.max_finite if fmt.signed else fmt.min_subnormal, fmt.max_finite, size=4096)
    a = lowbit.encode(x, name, rounding=rounding, seed=seed, srnumbits=nb)
    np.testing.assert_array_equal(a, lowbit.encode(x, name, rounding=rounding, seed=seed, srnumbits=nb))
    nbits = 16 if nb is None else nb
    r = np.random.default_rng(seed).integers(0, 1 << nbits, size=x.size, dtype=np.int64)
    np.testing.assert_array_equal(a, lowbit.encode(x, name, rounding=rounding, srbits=r, srnumbits=nbits))
    if nbits >= 7:
        assert (a != lowbit.encode(x, name, rounding=rounding, seed=seed + 1, srnumbits=nb)).any()
