"""The whole IEEE P3109 family (K bits, precision P, signed/unsigned, extended/finite domain)
against gfloat, P3109's reference implementation (``gfloat.formats.format_info_p3109``).

Every expected code here comes from gfloat (``round_ndarray`` then ``encode_ndarray``;
``decode_ndarray`` / ``decode_float`` for values and classes), never from lowbit.  Per format:

* every code decodes to gfloat's value (NaN where gfloat says NaN) and class;
* every finite value, every midpoint between neighbours (and between max and the first value
  beyond it, max + ulp(max)), each of those with its float64 neighbours (±1 ulp; ±2 in the slow
  sweep), values beyond max, the smallest values and below, ±0, ±Inf and NaN encode to gfloat's
  code, in every rounding mode, saturating (gfloat ``sat=True`` = P3109 SatFinite) and not
  (``sat=False`` = SatNone), the four stochastic modes with the same random bits.

The default run covers every family member with K <= 12 (the "done" criterion of issue 16);
K = 13..16 run under ``-m slow``.

Where gfloat 0.5.2 (the installed reference) cannot be used as is, and what the test does:

* round-to-odd: gfloat 0.5.2 has no ToOdd; gfloat's development branch does (graphcore-research/
  gfloat #56: ``should_round_away = delta > 0 and code is even``, overflow not clamped under
  SatNone, as P3109 §4.9.4 Saturate says).  Where ``RoundMode.ToOdd`` exists it is used;
  otherwise it is composed from gfloat 0.5.2's own results: exact inputs stay; else the
  TowardZero result if its code is odd, the away-from-zero result if not — except that beyond
  max + ulp(max) the truncated value itself lies past max, so the result is the away result
  (±Inf / NaN under SatNone, ±max under SatFinite).
* StochasticFast / StochasticFastest: gfloat 0.5.2 compares the float64 sum
  ``delta + r·2^-n`` (resp. ``(2r + 1)·2^-(n+1)``) with 1; the sum can round, and does for some
  inputs below the normal range.  Those inputs (found by an exact TwoSum) are decided by
  gfloat's current definition (gfloat #55, P3109 Release 3.1: ``floor(delta·2^n) + r >= 2^n``,
  the same comparison in exact arithmetic) choosing between gfloat's TowardZero and
  away-from-zero results.
* negative inputs into unsigned formats: gfloat's round leaves the value set (it returns the
  negative value), so they are checked against P3109 §4.9.4 Saturate directly (m_lo = 0: 0 under
  SatFinite, and under SatNone for TowardZero/TowardPositive or when the magnitude rounds to 0;
  NaN otherwise), the magnitudes rounded by gfloat.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest

import lowbit
from lowbit.formats import P3109_K_RANGE, p3109, p3109_family

gfloat = pytest.importorskip("gfloat", reason="gfloat is the P3109 reference implementation")
from gfloat import FloatClass, RoundMode, decode_float, decode_ndarray, encode_ndarray, round_ndarray  # noqa: E402
from gfloat.formats import format_info_p3109  # noqa: E402
from gfloat.types import Domain, Signedness  # noqa: E402

DEFAULT_MAX_K = 12
K_FAST = list(range(P3109_K_RANGE[0], DEFAULT_MAX_K + 1))
K_SLOW = list(range(DEFAULT_MAX_K + 1, P3109_K_RANGE[1] + 1))
K_PARAMS = [pytest.param(k, id=f"K{k}") for k in K_FAST] + [
    pytest.param(k, id=f"K{k}", marks=pytest.mark.slow) for k in K_SLOW]

DETERMINISTIC = {"nearest_even": RoundMode.TiesToEven, "nearest_away": RoundMode.TiesToAway,
                 "toward_zero": RoundMode.TowardZero, "up": RoundMode.TowardPositive,
                 "down": RoundMode.TowardNegative}
STOCHASTIC = {"stochastic": RoundMode.Stochastic, "stochastic_odd": RoundMode.StochasticOdd,
              "stochastic_fast": RoundMode.StochasticFast, "stochastic_fastest": RoundMode.StochasticFastest}
SRNUMBITS = (3, 8)
GFLOAT_TO_ODD = getattr(RoundMode, "ToOdd", None)


def fi_of(k, p, signed, domain):
    return format_info_p3109(k, p, Signedness.Signed if signed else Signedness.Unsigned,
                             Domain.Extended if domain == "extended" else Domain.Finite)


def fi_for(fmt):
    return fi_of(fmt.bits, fmt.mbits + 1, fmt.signed, fmt.domain)


def members(k):
    return [f for f in p3109_family(k) if f.bits == k]


def ids(fmts):
    return [f.name for f in fmts]


# ---------------------------------------------------------------------------------------
# the family as data
# ---------------------------------------------------------------------------------------
def test_family_is_every_member_gfloat_constructs_within_float64():
    """lowbit has a format for (K, P, signedness, domain) exactly when gfloat constructs it, the
    interim report defines it (K 3..16; signed P <= K-1: a signed K = P format has no exponent
    bit and the report's value tables have none) and float64 holds its range (<= 11 exponent bits)."""
    have = 0
    for k in range(1, 20):
        for p in range(1, k + 2):
            for signed in (True, False):
                for domain in ("extended", "finite"):
                    try:
                        fi = fi_of(k, p, signed, domain)
                    except ValueError:
                        fi = None
                    ebits = k - p + (0 if signed else 1)
                    ok = fi is not None and 3 <= k <= 16 and (p < k or not signed) and ebits <= 11
                    name = f"p3109_k{k}p{p}{'s' if signed else 'u'}{domain[0]}"
                    if ok:
                        assert fi.name == name
                        fmt = lowbit.format(name)
                        assert (fmt.bits, fmt.mbits + 1, fmt.signed, fmt.domain) == (k, p, signed, domain)
                        have += 1
                    else:
                        with pytest.raises(ValueError, match="P3109|unknown format"):
                            lowbit.format(name)
    assert have == len(p3109_family()) == 454


@pytest.mark.parametrize("p", range(1, 8))
def test_binary8p_names_are_the_signed_extended_8bit_members(p):
    fmt = lowbit.format(f"binary8p{p}")
    assert lowbit.format(f"p3109_k8p{p}se") is fmt
    assert lowbit.format(f"P3109_K8P{p}SE") is fmt
    assert p3109(8, p) is fmt
    fi = fi_of(8, p, True, "extended")
    assert (fmt.ebits, fmt.mbits, fmt.bias) == (fi.expBits, fi.tSignificandBits, fi.bias)


def test_family_members_are_parsed_not_registered():
    assert "p3109_k6p3uf" not in lowbit.FORMATS
    f = lowbit.format("p3109_k6p3uf")
    assert f is lowbit.format("p3109_k6p3uf")  # one object per member
    with pytest.raises(ValueError, match=r"p3109_k\{K\}p\{P\}"):
        lowbit.format("p3109_k6p3xf")
    with pytest.raises(ValueError, match="exponent bits"):
        lowbit.format("p3109_k16p1se")


@pytest.mark.parametrize("k", K_FAST + K_SLOW)
def test_limits_and_special_codes_equal_gfloat(k):
    """max, min, smallest normal and subnormal, and where NaN, ±Inf and ±max sit."""
    for fmt in members(k):
        fi = fi_for(fmt)
        msg = fmt.name
        assert fmt.ebits == fi.expBits and fmt.bias == fi.bias, msg
        assert fmt.max_finite == fi.max, msg
        assert fmt.min_finite == fi.min, msg
        assert fmt.min_normal == fi.smallest_normal, msg
        assert fmt.min_subnormal == fi.smallest, msg
        assert fmt.nan_code == fi.code_of_nan, msg
        assert fmt.has_inf == (fi.num_posinfs == 1) and not fmt.has_negative_zero and not fi.has_nz, msg
        assert fmt.max_magnitude_code == fi.code_of_max, msg
        inf = np.array([np.inf, -np.inf])
        codes = lowbit.encode(inf, fmt, overflow="nonsaturating").astype(np.int64)
        assert codes[0] == (fi.code_of_posinf if fmt.has_inf else fi.code_of_nan), msg
        if fmt.signed:
            assert codes[1] == (fi.code_of_neginf if fmt.has_inf else fi.code_of_nan), msg
        sat = lowbit.encode(inf, fmt, overflow="saturate").astype(np.int64)
        assert sat[0] == fi.code_of_max and sat[1] == (fi.code_of_min if fmt.signed else 0), msg


# ---------------------------------------------------------------------------------------
# decode
# ---------------------------------------------------------------------------------------
_GF_CLASS = {FloatClass.ZERO: "zero", FloatClass.SUBNORMAL: "subnormal", FloatClass.NORMAL: "normal",
             FloatClass.INFINITE: "inf", FloatClass.NAN: "nan"}


@pytest.mark.parametrize("k", K_PARAMS)
def test_every_code_decodes_as_gfloat(k):
    from lowbit.formats import CLASS_NAMES

    for fmt in members(k):
        fi = fi_for(fmt)
        codes = np.arange(fmt.num_codes)
        want = decode_ndarray(fi, codes).astype(np.float64)
        got = lowbit.decode(codes.astype(fmt.code_dtype), fmt)
        nan = np.isnan(want)
        np.testing.assert_array_equal(np.isnan(got), nan, err_msg=fmt.name)
        np.testing.assert_array_equal(got[~nan], want[~nan], err_msg=fmt.name)
        assert not np.signbit(got[~nan & (got == 0)]).any(), fmt.name  # no -0 in P3109
        if k <= 10 or fmt.name.endswith(("1se", "1uf")):
            cls = [_GF_CLASS[decode_float(fi, int(c)).fclass] for c in codes]
            assert [CLASS_NAMES[c] for c in fmt.classes] == cls, fmt.name


# ---------------------------------------------------------------------------------------
# encode: inputs, gfloat's codes
# ---------------------------------------------------------------------------------------
def family_inputs(fmt, fi, walk=1) -> np.ndarray:
    """Values, midpoints (up to max + ulp(max)), beyond max, the bottom, each ±walk float64 ulps;
    both signs for signed formats; ±0, ±Inf, NaN."""
    vals = decode_ndarray(fi, np.arange(fmt.num_codes)).astype(np.float64)
    mags = np.unique(np.abs(vals[np.isfinite(vals)]))
    ulp_top = 2.0 ** (np.floor(np.log2(fi.max)) - fmt.mbits)
    with np.errstate(over="ignore", invalid="ignore"):  # formats whose max + ulp is past float64's
        beyond = np.array([fi.max + ulp_top, fi.max + 2 * ulp_top, fi.max * 2, fi.max * 4, 1e300, 1.7e308])
        grid = np.concatenate([mags, beyond[:2]])
        mids = grid[:-1] + (grid[1:] - grid[:-1]) / 2
    tiny = mags[1]
    pts = np.concatenate([mags, mids, beyond, [tiny / 4, tiny * 0.75, 5e-324, 2.2250738585072014e-308]])
    pts = pts[np.isfinite(pts)]
    steps = [pts]
    for direction in (np.inf, 0.0):
        y = pts
        for _ in range(walk):
            y = np.nextafter(y, direction)
            steps.append(y)
    pos = np.unique(np.concatenate(steps))
    parts = [pos, -pos] if fmt.signed else [pos]
    return np.concatenate(parts + [np.array([0.0, -0.0, np.inf, -np.inf, np.nan])]) if fmt.signed else \
        np.concatenate(parts + [np.array([0.0, -0.0, np.inf, np.nan])])


def _two_sum_inexact(a, b):
    """True where the float64 sum a + b is not exact (Knuth's TwoSum)."""
    s = a + b
    bb = s - a
    err = (a - (s - bb)) + (b - bb)
    return err != 0


def _gfloat_delta(fi, ax):
    """gfloat's ``delta`` (round_ndarray's discarded fraction) of positive finite inputs."""
    expval = np.frexp(ax)[1] - 1
    expval = np.maximum(expval, 1 - fi.bias) - fi.precision + 1
    fsig = np.ldexp(ax, -expval)
    return fsig - np.floor(fsig)


def _away_from_zero(fi, x, sat):
    neg = np.signbit(x) & fi.is_signed
    up = round_ndarray(fi, x, RoundMode.TowardPositive, sat=sat)
    down = round_ndarray(fi, x, RoundMode.TowardNegative, sat=sat)
    return np.where(neg, down, up)


def gfloat_round(fi, x, rounding, sat, srbits=None, nb=0):
    """gfloat's rounded values (see the module docstring for ToOdd and the R3.1 fix-up)."""
    if rounding in DETERMINISTIC:
        return round_ndarray(fi, x, DETERMINISTIC[rounding], sat=sat)
    if rounding == "odd":
        if GFLOAT_TO_ODD is not None:
            return round_ndarray(fi, x, GFLOAT_TO_ODD, sat=sat)
        rz = round_ndarray(fi, x, RoundMode.TowardZero, sat=True)
        ra = _away_from_zero(fi, x, sat)
        rz_odd = (encode_ndarray(fi, rz).astype(np.int64) & 1) == 1
        ulp_top = 2.0 ** (np.floor(np.log2(fi.max)) - (fi.precision - 1))
        with np.errstate(over="ignore"):
            past = np.abs(x) >= fi.max + ulp_top
        out = np.where((rz == x) | (rz_odd & ~past), rz, ra)
        return np.where(np.isnan(x), np.nan, out)
    mode = STOCHASTIC[rounding]
    out = round_ndarray(fi, x, mode, sat=sat, srbits=srbits, srnumbits=nb)
    if rounding in ("stochastic_fast", "stochastic_fastest"):
        fin = np.isfinite(x) & (x != 0)
        ax = np.abs(np.where(fin, x, 1.0))
        delta = _gfloat_delta(fi, ax)
        r = srbits.astype(np.float64)
        term = (2 * r + 1) * 2.0 ** -(nb + 1) if rounding == "stochastic_fast" else r * 2.0 ** -nb
        fix = fin & _two_sum_inexact(delta, term)
        if fix.any():
            assert (ax[fix] < fi.smallest_normal).all()  # only below the normal range: no overflow
            if rounding == "stochastic_fast":
                away = np.floor(np.ldexp(delta, nb + 1)) + (2 * r + 1) >= 2.0 ** (nb + 1)
            else:
                away = np.floor(np.ldexp(delta, nb)) + r >= 2.0 ** nb
            rz = round_ndarray(fi, x, RoundMode.TowardZero, sat=sat)
            ra = _away_from_zero(fi, x, sat)
            out = np.where(fix, np.where(away, ra, rz), out)
    return out


def srbits_for(n, nb, seed):
    full = 1 << nb
    rng = np.random.default_rng(seed)
    r = rng.integers(0, full, size=n)
    special = np.unique(np.clip([0, 1, full // 2 - 1, full // 2, full - 1], 0, full - 1))
    pick = rng.integers(0, 2, size=n).astype(bool)
    r[pick] = special[rng.integers(0, special.size, size=int(pick.sum()))]
    return r


MODES = list(DETERMINISTIC) + ["odd"] + [(m, nb) for m in STOCHASTIC for nb in SRNUMBITS]


def check_format(fmt, walk=1):
    fi = fi_for(fmt)
    x = family_inputs(fmt, fi, walk)
    if not fmt.signed:
        x = x[~(np.signbit(x) & ~np.isnan(x))]  # gfloat has no rule for negatives: see below
    failures = []
    for mode in MODES:
        rounding, nb = (mode, 0) if isinstance(mode, str) else mode
        for sat in (True, False):
            kw = {}
            sr = None
            if nb:
                sr = srbits_for(x.size, nb, seed=zlib.crc32(f"{fmt.name} {rounding} {nb} {sat}".encode()))
                kw = {"srbits": sr, "srnumbits": nb}
            with np.errstate(all="ignore"):
                want = encode_ndarray(fi, gfloat_round(fi, x, rounding, sat, sr, nb)).astype(np.int64)
            got = lowbit.encode(x, fmt, rounding=rounding, overflow="saturate" if sat else "nonsaturating",
                                **kw).astype(np.int64)
            bad = np.flatnonzero(got != want)
            if bad.size:
                i = bad[0]
                failures.append(f"{fmt.name} {rounding}{f'/sr{nb}' if nb else ''} sat={sat}: {bad.size} of "
                                f"{x.size} differ, first x={x[i].hex()} lowbit {got[i]:#x} gfloat {want[i]:#x}")
    return failures


@pytest.mark.parametrize("k", K_PARAMS)
def test_encode_every_mode_equals_gfloat(k):
    """Every member of width K, every rounding mode, saturating and not, on values, midpoints,
    their float64 neighbours, overflow points and specials: lowbit's code is gfloat's."""
    failures = []
    for fmt in members(k):
        failures += check_format(fmt)
    assert not failures, "\n".join(failures[:20])


@pytest.mark.slow
@pytest.mark.parametrize("k", K_FAST)
def test_encode_every_mode_equals_gfloat_two_ulps(k):
    failures = []
    for fmt in members(k):
        failures += check_format(fmt, walk=2)
    assert not failures, "\n".join(failures[:20])


@pytest.mark.parametrize("src", [np.float32, np.float16], ids=["float32", "float16"])
@pytest.mark.parametrize("name", ["binary8p1", "p3109_k8p1ue", "p3109_k8p4uf", "p3109_k6p3sf", "p3109_k12p7uf",
                                  "p3109_k4p2se"])
def test_narrow_sources_and_table_path_equal_gfloat(name, src):
    """float32 / float16 inputs, in arrays large enough for the table-driven path (>= 2^18)."""
    fmt = lowbit.format(name)
    fi = fi_for(fmt)
    rng = np.random.default_rng(7)
    nbits = 32 if src == np.float32 else 16
    bits = rng.integers(0, 2**nbits, size=1 << 18, dtype=np.uint64).astype(np.uint32 if nbits == 32 else np.uint16)
    x = bits.view(src)
    if not fmt.signed:
        x = np.abs(x)
    with np.errstate(all="ignore"):
        xd = x.astype(np.float64)
    for rounding in ("nearest_even", "toward_zero", "odd"):
        for sat in (True, False):
            with np.errstate(all="ignore"):
                want = encode_ndarray(fi, gfloat_round(fi, xd, rounding, sat)).astype(np.int64)
            got = lowbit.encode(x, fmt, rounding=rounding, overflow="saturate" if sat else "nonsaturating")
            np.testing.assert_array_equal(got.astype(np.int64), want, err_msg=f"{rounding} sat={sat}")


# ---------------------------------------------------------------------------------------
# clauses checked directly
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("k", [3, 4, 6, 8, 10, 12])
def test_negative_into_unsigned_follows_the_saturate_clause(k):
    """P3109 §4.9.4 Saturate with m_lo = 0: a negative value whose magnitude rounds (by gfloat,
    direction mirrored) to non-zero gives 0 under SatFinite and, under SatNone, for TowardZero and
    TowardPositive; NaN otherwise.  -0 and values rounding to 0 give 0; -Inf: 0 / NaN."""
    mirror = {"nearest_even": "nearest_even", "nearest_away": "nearest_away", "toward_zero": "toward_zero",
              "up": "toward_zero", "down": "up", "odd": "odd"}
    for fmt in members(k):
        if fmt.signed:
            continue
        fi = fi_for(fmt)
        x = family_inputs(fmt, fi)
        x = x[np.isfinite(x) & (x > 0)]
        for rounding, mag_mode in mirror.items():
            for sat in (True, False):
                with np.errstate(all="ignore"):
                    mag = gfloat_round(fi, x, mag_mode, sat)
                clamp = sat or rounding in ("toward_zero", "up")
                want = np.where((mag == 0) | clamp, 0, fi.code_of_nan)
                got = lowbit.encode(-x, fmt, rounding=rounding, overflow="saturate" if sat else "nonsaturating")
                np.testing.assert_array_equal(got.astype(np.int64), want, err_msg=f"{fmt.name} {rounding} {sat}")
                ends = lowbit.encode(np.array([-0.0, -np.inf]), fmt, rounding=rounding,
                                     overflow="saturate" if sat else "nonsaturating")
                assert list(ends) == [0, 0 if sat else fi.code_of_nan], (fmt.name, rounding, sat)
        # stochastic: the same clause, the magnitude rounded by gfloat with the same random bits
        for rounding in STOCHASTIC:
            sr = srbits_for(x.size, 4, seed=k)
            for sat in (True, False):
                with np.errstate(all="ignore"):
                    mag = gfloat_round(fi, x, rounding, sat, sr, 4)
                want = np.where((mag == 0) | sat, 0, fi.code_of_nan)
                got = lowbit.encode(-x, fmt, rounding=rounding, overflow="saturate" if sat else "nonsaturating",
                                    srbits=sr, srnumbits=4)
                np.testing.assert_array_equal(got.astype(np.int64), want, err_msg=f"{fmt.name} {rounding} {sat}")


def test_precision_one_ties_go_to_the_even_code():
    """P3109 §4.9.3: at P = 1 'even' is the code's parity (the exponent field's), as gfloat does;
    lowbit's E8M0 keeps the larger magnitude (IEEE reading, ml_dtypes)."""
    for name in ("binary8p1", "p3109_k8p1ue", "p3109_k5p1sf"):
        fmt = lowbit.format(name)
        fi = fi_for(fmt)
        mags = np.unique(np.abs(fmt.values[np.isfinite(fmt.values)]))
        mids = (mags[1:-1] + mags[2:]) / 2
        got = lowbit.encode(mids, fmt).astype(np.int64)
        want = encode_ndarray(fi, round_ndarray(fi, mids, RoundMode.TiesToEven)).astype(np.int64)
        np.testing.assert_array_equal(got, want)
        assert (got % 2 == 0).all()
    e8m0 = lowbit.encode(np.array([1.5, 3.0]), "float8_e8m0fnu").astype(np.int64)
    assert list(e8m0) == [128, 129]  # 2^1 and 2^2: the larger magnitude, whatever the parity


def test_round_to_odd_overflow_examples_of_gfloat():
    """The round-to-odd cases of gfloat's development branch (test_round.py, #56), which follow
    P3109 §4.9.4 (SatNone: only directed roundings clamp): the values are gfloat's."""
    cases = [
        ("p3109_k8p4se", [(224.1, np.inf)], False),
        ("p3109_k4p2se", [(1.0, 1.0), (1.01, 1.5), (1.5, 1.5), (1.99, 1.5), (2.0, 2.0), (2.01, np.inf)], False),
        ("p3109_k4p2ue", [(4.0, 4.0), (4.01, 6.0), (6.0, 6.0), (6.01, 6.0), (7.99, 6.0), (8.0, np.inf)], False),
        ("p3109_k4p2uf", [(3.99, 3.0), (4.01, 6.0), (6.01, 6.0), (7.99, 6.0), (8.0, 8.0), (8.01, 8.0)], True),
        ("p3109_k8p4se", [(2.0**-10 / 4, 2.0**-10), (-(2.0**-10) / 2, -(2.0**-10)), (63.0, 60.0), (-58.0, -60.0),
                          (64.0, 64.0)], False),
    ]
    for name, pairs, sat in cases:
        fmt = lowbit.format(name)
        x = np.array([a for a, _ in pairs])
        got = lowbit.decode(lowbit.encode(x, fmt, rounding="odd", overflow="saturate" if sat else "nonsaturating"), fmt)
        np.testing.assert_array_equal(got, [b for _, b in pairs], err_msg=name)
    # the 8p4 extended maximum 224 with p4maxup = 240: SatFinite gives max, SatNone Inf
    fmt = lowbit.format("binary8p4")
    for sat, want in ((True, [224.0, -224.0, 224.0]), (False, [np.inf, -np.inf, np.inf])):
        got = lowbit.decode(lowbit.encode(np.array([232.0, -240.0, np.inf]), fmt, rounding="odd",
                                          overflow="saturate" if sat else "nonsaturating"), fmt)
        np.testing.assert_array_equal(got, want)


def test_finite_domain_overflow_is_nan_without_saturation():
    """P3109 §4.9.4: SatNone into the finite domain gives NaN (no Inf to go to), except where a
    directed rounding clamps; SatFinite gives ±max."""
    fmt = lowbit.format("p3109_k8p4sf")
    x = np.array([1e6, -1e6, np.inf, -np.inf])
    assert list(lowbit.encode(x, fmt)) == [0x80] * 4
    assert list(lowbit.encode(x, fmt, overflow="saturate")) == [0x7F, 0xFF, 0x7F, 0xFF]
    assert list(lowbit.encode(x, fmt, rounding="toward_zero")) == [0x7F, 0xFF, 0x80, 0x80]


# ---------------------------------------------------------------------------------------
# lowbit.testing strategies over the family
# ---------------------------------------------------------------------------------------
def test_testing_strategies_cover_the_family():
    """Hypothesis draws family members, then codes, values and edge inputs of them; the codes
    decode to gfloat's values and the values encode back to their gfloat codes."""
    hypothesis = pytest.importorskip("hypothesis")
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from lowbit.testing import codes, near, p3109_formats, values

    @settings(max_examples=60, deadline=None, derandomize=True)
    @given(p3109_formats(10).flatmap(lambda f: st.tuples(st.just(f), codes(f), values(f), near(f))))
    def check(case):
        fmt, code, value, x = case
        fi = fi_for(fmt)
        want = float(decode_ndarray(fi, np.array([code]))[0])
        got = float(lowbit.decode(np.array([code], dtype=np.int64), fmt)[0])
        assert (np.isnan(got) and np.isnan(want)) or got == want
        assert int(lowbit.encode(np.array([value]), fmt)[0]) == int(encode_ndarray(fi, np.array([value]))[0])
        if fmt.signed or not np.signbit(x):
            with np.errstate(all="ignore"):
                w = encode_ndarray(fi, round_ndarray(fi, np.array([float(x)]), RoundMode.TiesToEven))
            assert int(lowbit.encode(np.array([x]), fmt)[0]) == int(w[0])

    @settings(max_examples=20, deadline=None, derandomize=True)
    @given(p3109_formats(6, min_k=5, signed=False, domain="finite"))
    def restricted(fmt):
        assert not fmt.signed and fmt.domain == "finite" and 5 <= fmt.bits <= 6

    check()
    restricted()
    del hypothesis
