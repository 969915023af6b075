"""The golden vectors' contents against independent references, never against lowbit:

- decode tables: ml_dtypes / numpy casts, gfloat's decoder (P3109), two's complement arithmetic;
- exhaustive float16/bfloat16 files: ml_dtypes ``astype`` and numpy rint/clip;
- ``encode/profiles/ml_dtypes``: ml_dtypes ``astype``, case by case, NaNs included;
- ``encode/edges``: an exact reference rounding written here from the definitions (IEEE 754-2019
  §4.3 and §7.4; OCP OFP8 v1.0 §4.4), over value tables from ml_dtypes / gfloat / numpy, and
  gfloat's ``round_ndarray`` where gfloat knows the format;
- the flags column: recomputed from the definitions in the header.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

import ml_dtypes
import numpy as np
import pytest

from lowbit.formats import FORMATS
from lowbit.vectors.families import p3109_formats
from lowbit.formats import format as lookup
from lowbit.vectors import read

ROOT = Path(__file__).resolve().parents[1] / "vectors"
# signalling-NaN inputs: numpy warns when widening them; the values are what the tests want
pytestmark = pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")
MLD = {n: np.dtype(getattr(ml_dtypes, n)) for n in (
    "float8_e4m3fn", "float8_e5m2", "float6_e2m3fn", "float6_e3m2fn", "float4_e2m1fn", "float8_e8m0fnu",
    "float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e4m3b11fnuz", "float8_e3m4", "float8_e4m3", "bfloat16")}
MLD["float16"] = np.dtype(np.float16)


def _gfloat_fi(name):
    gf = pytest.importorskip("gfloat", reason="gfloat is the independent reference for P3109 and MXINT8")
    from gfloat import formats as F

    if name.startswith("binary8p"):
        return F.format_info_p3109(8, int(name[-1]))
    if name.startswith("p3109_"):
        f = lookup(name)
        return F.format_info_p3109(f.bits, f.mbits + 1, F.Signedness.Signed if f.signed else F.Signedness.Unsigned,
                                   F.Domain.Extended if f.has_inf else F.Domain.Finite)
    table = {"float8_e4m3fn": F.format_info_ocp_e4m3, "float8_e5m2": F.format_info_ocp_e5m2,
             "float6_e2m3fn": F.format_info_ocp_e2m3, "float6_e3m2fn": F.format_info_ocp_e3m2,
             "float4_e2m1fn": F.format_info_ocp_e2m1, "float16": F.format_info_binary16,
             "bfloat16": F.format_info_bfloat16, "mxint8": F.format_info_ocp_int8}
    del gf
    return table.get(name)


@lru_cache(maxsize=None)
def independent_values(name: str) -> np.ndarray:
    """float64 value of every code, from a library other than lowbit (or plain integer arithmetic)."""
    fmt = lookup(name)
    codes = np.arange(fmt.num_codes)
    if name in MLD:
        dt = MLD[name]
        raw = codes.astype({1: np.uint8, 2: np.uint16}[dt.itemsize])
        with np.errstate(invalid="ignore"):
            return raw.view(dt).astype(np.float64) if fmt.bits >= 8 or name == "float16" else \
                raw.astype(np.uint8).view(dt).astype(np.float64)
    if fmt.is_int:
        signed = np.where(codes >= fmt.num_codes // 2, codes - fmt.num_codes, codes)
        return signed.astype(np.float64) / (1 << fmt.frac_bits)
    if name.startswith(("binary8p", "p3109_")):
        from gfloat import decode_ndarray

        return decode_ndarray(_gfloat_fi(name), codes).astype(np.float64)
    if name == "float4_e2m1":  # IEEE-style FP4: E2M1 with Inf/NaN at exponent 3 (IEEE 754 §3.4 rules)
        out = []
        for c in codes:
            s, e, m = c >> 3, (c >> 1) & 3, c & 1
            v = (m / 2) * 2.0 ** 0 if e == 0 else (math.inf if m == 0 else math.nan) if e == 3 else (1 + m / 2) * 2.0 ** (e - 1)
            out.append(-v if s else v)
        return np.array(out)
    raise AssertionError(f"no independent value table for {name}")


def _vec(path):
    return read(ROOT / path)


# ---------------------------------------------------------------------------------------
# decode tables
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", [n for n, f in FORMATS.items() if f.bits <= 16]
                         + [f.name for f in p3109_formats()])
def test_decode_table_matches_independent_values(name):
    fmt = lookup(name)
    vf = _vec(f"decode/{name}.txt")
    assert vf.cases == fmt.num_codes
    assert (vf.column("code") == np.arange(fmt.num_codes)).all()
    want = independent_values(name)
    got64 = vf.column("float64").view(np.float64)
    got32 = vf.column("float32").astype(np.uint32).view(np.float32)
    nan = np.isnan(want)
    assert (np.isnan(got64) == nan).all() and (np.isnan(got32) == nan).all()
    np.testing.assert_array_equal(got64[~nan], want[~nan])
    np.testing.assert_array_equal(np.signbit(got64[~nan]), np.signbit(want[~nan]))  # -0 stays -0
    np.testing.assert_array_equal(got32[~nan].astype(np.float64), want[~nan])  # float32 exact for all of these
    # NaN codes: canonical quiet NaN, sign of the code (where the format has a sign bit)
    sign = (np.arange(fmt.num_codes) >> (fmt.bits - 1)) & 1 if fmt.signed else np.zeros(fmt.num_codes, int)
    want_nan32 = np.where(sign == 1, 0xFFC00000, 0x7FC00000)
    if fmt.specials == "fnuz" or (fmt.specials == "p3109" and fmt.signed):
        want_nan32 = np.full(fmt.num_codes, 0xFFC00000)  # their one NaN is 0x80, the sign bit set
    np.testing.assert_array_equal(vf.column("float32")[nan], want_nan32[nan])
    cls = vf.column("class")
    finite = np.isfinite(want)
    tiny = finite & (want != 0) & (np.abs(want) < fmt.min_normal)
    expect = np.select([np.isnan(want), np.isinf(want), finite & (want == 0), tiny], [4, 3, 0, 1], 2)
    np.testing.assert_array_equal(cls, expect)


# ---------------------------------------------------------------------------------------
# exhaustive float16 / bfloat16 inputs (lowbit's default rules)
# ---------------------------------------------------------------------------------------
EXHAUSTIVE = sorted((ROOT / "encode" / "exhaustive").glob("*/*.txt"))


@pytest.mark.parametrize("path", EXHAUSTIVE, ids=lambda p: f"{p.parent.name}->{p.stem}")
def test_exhaustive_file_against_ml_dtypes_and_numpy(path):
    name, src = path.stem, path.parent.name
    fmt = FORMATS[name]
    vf = read(path)
    assert (vf.column("input") == np.arange(65536)).all()
    x = np.arange(65536, dtype=np.uint32).astype(np.uint16).view(MLD[src])
    got = vf.column("expected").astype(np.int64)
    with np.errstate(invalid="ignore"):
        xv = x.astype(np.float64)
    nan = np.isnan(xv)
    if fmt.is_int:  # lowbit default for integers: round half to even, saturate; NaN -> 0
        lo = -(1 << (fmt.bits - 1))
        with np.errstate(invalid="ignore"):
            want = np.clip(np.rint(np.where(nan, 0, xv)), lo, -lo - 1).astype(np.int64) & (fmt.num_codes - 1)
        np.testing.assert_array_equal(got, want)
        return
    with np.errstate(invalid="ignore", over="ignore"):
        want = x.astype(MLD[name]).view(np.uint8).astype(np.int64)
    if fmt.bits < 8:
        want &= fmt.num_codes - 1
    keep = ~nan
    if fmt.specials == "exponent_only":
        # ml_dtypes rounds below 2^-126 as if code 0 were zero (lowbit's 'ml_dtypes' profile);
        # lowbit's default rounds among the real values (2^-127 is code 0): compare above.
        keep &= np.abs(xv) >= 2.0 ** -126
        small = np.nonzero((xv > 0) & (xv < 2.0 ** -126))[0]
        assert small.size > 0 or src == "float16"  # float16 has nothing below 2^-24
        for i in small:  # below 2^-126: the exact reference rounding among the real values
            assert got[i] == reference_encode(float(xv[i]), name, "nearest_even", "nonsaturating"), xv[i]
    np.testing.assert_array_equal(got[keep], want[keep])
    # NaN inputs: the format's NaN (ml_dtypes' class) keeping the sign, or +0 where there is no NaN
    if fmt.has_nan:
        assert np.isnan(independent_values(name)[got[nan]]).all()
    else:
        assert (independent_values(name)[got[nan]] == 0).all()


# ---------------------------------------------------------------------------------------
# the ml_dtypes profile: exactly x.astype(ml_dtypes.<fmt>), every case
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(MLD) + ["int4", "int2"])
def test_ml_dtypes_profile_file_equals_astype(name):
    """The file of the installed ml_dtypes' era (``profile="ml_dtypes"`` follows the installed
    version; each era has its own directory) is what the installed ml_dtypes gives."""
    from lowbit.profiles import ml_dtypes_profile_for

    vf = _vec(f"encode/profiles/{ml_dtypes_profile_for(ml_dtypes.__version__)}/{name}.txt")
    x = vf.column("input").astype(np.uint32).view(np.float32)
    dt = MLD.get(name) or np.dtype(getattr(ml_dtypes, name))
    with np.errstate(invalid="ignore", over="ignore"):
        want = x.astype(dt).view({1: np.uint8, 2: np.uint16}[dt.itemsize]).astype(np.int64)
    want &= FORMATS[name].num_codes - 1
    np.testing.assert_array_equal(vf.column("expected").astype(np.int64), want)


# ---------------------------------------------------------------------------------------
# edge files: an exact reference rounding from the definitions
# ---------------------------------------------------------------------------------------
def reference_encode(x: float, name: str, rounding: str, overflow: str) -> int:
    """The code of float ``x`` (finite or ±Inf) in format ``name``, computed from the value table.

    Rounding per IEEE 754-2019 §4.3 (ties to even: even last code bit; formats without significand
    bits (E8M0): the larger magnitude, as IEEE does when both neighbours are odd); round-to-odd:
    the neighbour with an odd last code bit, i.e. truncate and set the last significand bit if inexact
    (without significand bits, E8M0: every nonzero value is odd, zero even) (an overflow goes to ±max, as under roundTowardZero: IEEE
    does not define round-to-odd, and this is lowbit's definition).  P3109 formats (binary8pP) follow the
    interim report: §4.9.3 reads "even" and "odd" as the code's parity (at P = 1 the exponent field's),
    and §4.9.4 does not clamp a round-to-odd overflow (±Inf under SatNone).  Beyond the largest finite value the rounding
    continues with the top binade's spacing; a result past it overflows: ±max (saturate), ±Inf or
    NaN (non-saturating), modulo 2^bits (wrap).  Directed roundings carry an overflow toward zero
    to ±max (IEEE 754-2019 §7.4).
    """
    fmt = FORMATS[name]
    vals = independent_values(name)
    if not fmt.signed:  # E8M0: zero, negatives and -Inf have no code: NaN
        if not x > 0:
            return fmt.nan_code
    neg = math.copysign(1.0, x) < 0
    if fmt.is_int:  # round the scaled value to an integer, then saturate or wrap (Inf: ±extreme / 0)
        hi = (1 << (fmt.bits - 1)) - 1
        lo = -hi if fmt.symmetric else -hi - 1
        if math.isinf(x):
            n = 0 if overflow == "wrap" else (lo if neg else hi)
        else:
            n = _round_int(x * (1 << fmt.frac_bits), rounding)
            n = n if overflow == "wrap" else min(max(n, lo), hi)
        return n & (fmt.num_codes - 1)
    mag = abs(x)
    pos, code_of, top = _tables(name)
    ulp_top = (1.0 / (1 << fmt.frac_bits)) if fmt.is_int else 2.0 ** (fmt.emax - fmt.mbits)

    def code(v, negative):
        if v == 0:
            return code_of.get((0.0, negative), code_of.get((0.0, False)))
        return code_of[(-v, True)] if negative else code_of[(v, False)]

    def last_bit(v):
        return code(v, False) & 1

    toward_up = (rounding == "up" and not neg) or (rounding == "down" and neg)
    toward_down = rounding == "toward_zero" or (rounding == "up" and neg) or (rounding == "down" and not neg)
    if math.isinf(mag) or mag > top:
        if math.isinf(mag):
            over = True
        elif toward_down:
            over = False
        elif toward_up:
            over = True
        else:
            if rounding == "odd" and fmt.is_p3109:  # §4.9.3/§4.9.4: truncate to max, away if max's code is even
                over = not (mag < top + ulp_top and last_bit(top) == 1)
            elif rounding == "odd":
                over = False  # lowbit's definition: round-to-odd carries overflow to ±max (as toward zero)
            elif mag < top + ulp_top / 2:
                over = False
            elif mag > top + ulp_top / 2:
                over = True
            else:  # tie between max and the first value past it
                over = rounding == "nearest_away" or (last_bit(top) == 1 and (fmt.mbits > 0 or fmt.is_p3109)) or (
                    fmt.mbits == 0 and not fmt.is_p3109)
        if not over or overflow == "saturate":
            return code(top, neg)
        if fmt.has_inf:
            return code_of.get((math.inf, neg)) or [c for c in range(fmt.num_codes) if vals[c] == (-math.inf if neg else math.inf)][0]
        return _nan_code(fmt, neg)
    if mag in pos:
        return code(mag, neg)
    if fmt.is_int and fmt.symmetric and neg and mag > top:
        return code(top, True)
    i = int(np.searchsorted(pos, mag))
    lo = pos[i - 1] if i > 0 else None
    hi = pos[i]
    if lo is None:  # below the smallest value of a format without zero (E8M0): no lower neighbour
        return code(hi, neg)
    if rounding in ("nearest_even", "nearest_away"):
        dl, dh = mag - lo, hi - mag
        if dl != dh:
            pick = lo if dl < dh else hi
        elif rounding == "nearest_away":
            pick = hi
        elif fmt.mbits == 0 and not fmt.is_p3109:  # zero even; nonzero powers of two both odd: larger magnitude
            pick = lo if lo == 0 else hi
        else:
            pick = lo if last_bit(lo) == 0 else hi
    elif rounding == "odd":  # truncate, then set the last significand bit if inexact
        if fmt.mbits == 0 and not fmt.is_p3109:  # significand 0 even, of every power of two odd: truncate unless lo is 0
            pick = lo if lo != 0 else hi
        else:
            pick = lo if last_bit(lo) == 1 else hi
    else:
        pick = hi if toward_up else lo
    return code(pick, neg)


@lru_cache(maxsize=None)
def _tables(name):
    """Sorted non-negative finite values, {(value, sign): first code}, largest finite value."""
    vals = independent_values(name)
    finite_codes = [c for c in range(len(vals)) if np.isfinite(vals[c])]
    pos = sorted({float(vals[c]) for c in finite_codes if vals[c] >= 0})
    code_of = {}
    for c in finite_codes:
        code_of.setdefault((float(vals[c]), bool(np.signbit(vals[c]))), c)
    return pos, code_of, pos[-1]


def _round_int(v: float, rounding: str) -> int:
    f = math.floor(v)
    if v == f:
        return int(f)
    up = {"toward_zero": v < 0, "up": True, "down": False}.get(rounding)
    if rounding == "nearest_even":
        up = v - f > 0.5 or (v - f == 0.5 and f % 2 == 1)
    elif rounding == "nearest_away":
        up = v - f > 0.5 or (v - f == 0.5 and v > 0)
    elif rounding == "odd":
        up = f % 2 == 0
    return int(f) + int(up)


def _nan_code(fmt, neg):
    if fmt.specials == "fn":
        return fmt.nan_code | ((1 << (fmt.bits - 1)) if neg else 0)
    return fmt.nan_code


EDGE_FILES = sorted((ROOT / "encode" / "edges").glob("*/*.txt"))
FAST = {"float8_e4m3fn", "float8_e5m2", "float4_e2m1fn", "float6_e3m2fn", "float8_e8m0fnu", "int4", "mxint8",
        "float8_e4m3fnuz", "binary8p3"}


def _edge_params():
    for p in EDGE_FILES:
        marks = [] if p.parent.name in FAST else [pytest.mark.slow]
        yield pytest.param(p, marks=marks, id=f"{p.parent.name}/{p.stem}")


@pytest.mark.parametrize("path", list(_edge_params()))
def test_edge_file_against_reference_rounding(path):
    name = path.parent.name
    rounding, overflow = path.stem.split("-")
    vf = read(path)
    x = vf.column("input").astype(np.uint32).view(np.float32)
    got = vf.column("expected").astype(np.int64)
    bad = []
    for xi, g in zip(x, got):
        xf = float(xi)
        if math.isnan(xf):
            continue
        want = reference_encode(xf, name, rounding, overflow)
        if want != g:
            bad.append((xf, hex(int(g)), hex(want)))
    assert not bad, f"{len(bad)} cases differ from the reference (input, file, reference): {bad[:8]}"


@pytest.mark.parametrize("name", ["float8_e4m3fn", "float8_e5m2", "float6_e2m3fn", "float4_e2m1fn", "bfloat16",
                                  "binary8p2", "binary8p5", "mxint8"])
def test_edge_files_against_gfloat(name):
    from gfloat import RoundMode, encode_ndarray, round_ndarray

    fi = _gfloat_fi(name)
    modes = {"nearest_even": RoundMode.TiesToEven, "nearest_away": RoundMode.TiesToAway,
             "toward_zero": RoundMode.TowardZero, "up": RoundMode.TowardPositive, "down": RoundMode.TowardNegative}
    for path in sorted((ROOT / "encode" / "edges" / name).glob("*.txt")):
        rounding, overflow = path.stem.split("-")
        if rounding not in modes or overflow == "wrap":
            continue
        vf = read(path)
        x = vf.column("input").astype(np.uint32).view(np.float32).astype(np.float64)
        keep = ~np.isnan(x)
        rounded = round_ndarray(fi, x[keep], modes[rounding], sat=overflow == "saturate")
        got = vf.column("expected")[keep].astype(np.int64)
        nan = np.isnan(rounded)  # gfloat's NaN code carries no sign; lowbit keeps the input's sign
        assert np.isnan(independent_values(name)[got[nan]]).all(), path
        want = encode_ndarray(fi, rounded[~nan]).astype(np.int64) & ((1 << fi.k) - 1)
        np.testing.assert_array_equal(got[~nan], want, err_msg=str(path))


def test_binary8p1_ties_match_gfloat():
    """P3109 §4.9.3: ties at P = 1 go to the even code, as gfloat (the P3109 reference) does."""
    from gfloat import RoundMode, encode_ndarray, round_ndarray

    fi = _gfloat_fi("binary8p1")
    vf = _vec("encode/edges/binary8p1/nearest_even-nonsaturating.txt")
    x = vf.column("input").astype(np.uint32).view(np.float32).astype(np.float64)
    keep = ~np.isnan(x)
    want = encode_ndarray(fi, round_ndarray(fi, x[keep], RoundMode.TiesToEven))
    np.testing.assert_array_equal(vf.column("expected")[keep].astype(np.int64), want.astype(np.int64))


# ---------------------------------------------------------------------------------------
# the P3109 family files: gfloat's codes, every mode (tests/test_p3109_family.py's gfloat_round)
# ---------------------------------------------------------------------------------------
P3109_FILES = sorted((ROOT / "encode" / "p3109").glob("*/*.txt"))


def test_p3109_family_files_are_there():
    from lowbit.vectors.families import P3109_ENCODE_MAX_K

    assert {p.parent.name for p in P3109_FILES} == {f.name for f in p3109_formats(P3109_ENCODE_MAX_K)}
    assert len(P3109_FILES) == 20 * len(p3109_formats(P3109_ENCODE_MAX_K))


@pytest.mark.parametrize("path", P3109_FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_p3109_family_files_against_gfloat(path):
    from gfloat import encode_ndarray
    from test_p3109_family import gfloat_round

    name = path.parent.name
    parts = path.stem.split("-")
    rounding, overflow = parts[0], parts[1]
    fi = _gfloat_fi(name)
    vf = read(path)
    x = vf.column("input").astype(np.uint32).view(np.float32)
    with np.errstate(invalid="ignore"):
        xd = x.astype(np.float64)
    got = vf.column("expected").astype(np.int64)
    sr = vf.column("srbits").astype(np.int64) if "srbits" in vf.header["compare"] else None
    keep = ~np.signbit(xd) | fi.is_signed | np.isnan(xd)  # unsigned negatives: test_p3109_family
    with np.errstate(all="ignore"):
        rounded = gfloat_round(fi, xd[keep], rounding, overflow == "saturate", None if sr is None else sr[keep],
                               8 if sr is not None else 0)
        want = encode_ndarray(fi, rounded).astype(np.int64)
    np.testing.assert_array_equal(got[keep], want, err_msg=str(path))


# ---------------------------------------------------------------------------------------
# NaN inputs and the flags column
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", [p for p in EDGE_FILES if p.parent.name in FAST], ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_flags_column_and_nan_inputs(path):
    name = path.parent.name
    fmt = FORMATS[name]
    vf = read(path)
    bits = vf.column("input").astype(np.uint32)
    x = bits.view(np.float32)
    with np.errstate(invalid="ignore"):
        xv = x.astype(np.float64)
    got = vf.column("expected").astype(np.int64)
    vals = independent_values(name)[got]
    finite = np.isfinite(xv)
    inexact = finite & ~(vals == xv)
    want = (inexact * 0x01 | (inexact & finite & (np.abs(xv) > 0) & (np.abs(xv) < fmt.min_normal)) * 0x02
            | (finite & (np.abs(np.where(finite, xv, 0)) > fmt.max_finite)) * 0x04 | np.isinf(xv) * 0x08 | np.isnan(xv) * 0x10)
    np.testing.assert_array_equal(vf.column("flags"), want)
    nan = np.isnan(xv)
    assert nan.sum() >= 8
    if fmt.has_nan:
        assert np.isnan(vals[nan]).all()
    else:
        assert (vals[nan] == 0).all()


STOCHASTIC = sorted((ROOT / "encode" / "stochastic").glob("*/*.txt"))


@pytest.mark.parametrize("path", STOCHASTIC, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_stochastic_files_against_gfloat(path):
    from gfloat import RoundMode, encode_ndarray, round_ndarray

    name = path.parent.name
    mode = path.stem.rsplit("-", 1)[0]
    rm = {"stochastic": RoundMode.Stochastic, "stochastic_odd": RoundMode.StochasticOdd,
          "stochastic_fast": RoundMode.StochasticFast, "stochastic_fastest": RoundMode.StochasticFastest}[mode]
    vf = read(path)
    assert vf.header["rules"].endswith("srnumbits=8")
    sat = vf.header["overflow"].startswith("saturate")
    x = vf.column("input").astype(np.uint32).view(np.float32).astype(np.float64)
    keep = ~np.isnan(x)
    sr = vf.column("srbits").astype(np.int64)[keep]
    rounded = round_ndarray(_gfloat_fi(name), x[keep], rm, sat=sat, srbits=sr, srnumbits=8)
    got = vf.column("expected")[keep].astype(np.int64)
    nan = np.isnan(rounded)
    assert np.isnan(independent_values(name)[got[nan]]).all()
    want = encode_ndarray(_gfloat_fi(name), rounded[~nan]).astype(np.int64)
    np.testing.assert_array_equal(got[~nan], want)
    assert len(set(sr.tolist())) > 100  # the random bits vary


# ---------------------------------------------------------------------------------------
# block-scaled dot products: the spec's DotGeneral, computed here from the file's own codes with
# ml_dtypes decoding and exact fractions (independent of lowbit.mx and lowbit.mac)
# ---------------------------------------------------------------------------------------
BLOCKSCALED = sorted((ROOT / "dot" / "blockscaled").glob("*/dot_general.txt"))


def test_blockscaled_files_are_there():
    names = {p.parent.name for p in (ROOT / "dot" / "blockscaled").glob("*/*.txt")}
    assert names == {"mxfp8_e4m3xmxfp8_e4m3", "mxfp8_e5m2xmxfp8_e4m3", "mxfp4xmxfp4", "mxfp6_e2m3xmxfp6_e2m3"}
    assert len(BLOCKSCALED) == 4


@pytest.mark.parametrize("path", BLOCKSCALED, ids=lambda p: p.parent.name)
def test_blockscaled_dot_general_equals_exact_block_sums(path):
    from fractions import Fraction

    import ml_dtypes

    elem = {"mxfp8_e4m3": ml_dtypes.float8_e4m3fn, "mxfp8_e5m2": ml_dtypes.float8_e5m2,
            "mxfp4": ml_dtypes.float4_e2m1fn, "mxfp6_e2m3": ml_dtypes.float6_e2m3fn}
    fa, rest = path.parent.name.split("xmx", 1)
    fb = "mx" + rest
    vf = _vec(str(path.relative_to(ROOT)))
    col = lambda n: vf.column(n).astype(np.uint8)  # noqa: E731
    a = np.stack([col(f"a{i}") for i in range(256)], 1).view(elem[fa]).astype(np.float64)
    b = np.stack([col(f"b{i}") for i in range(256)], 1).view(elem[fb]).astype(np.float64)
    sa = np.stack([col(f"sa{j}") for j in range(8)], 1).view(ml_dtypes.float8_e8m0fnu).astype(np.float64)
    sb = np.stack([col(f"sb{j}") for j in range(8)], 1).view(ml_dtypes.float8_e8m0fnu).astype(np.float64)
    want = np.zeros(vf.cases, np.float32)
    for c in range(vf.cases):
        total = np.float32(0)
        for j in range(8):
            d = sum((Fraction(x) * Fraction(y) for x, y in zip(a[c, 32 * j:32 * j + 32], b[c, 32 * j:32 * j + 32])),
                    Fraction(0))
            total = np.float32(total + np.float32(float(d * Fraction(sa[c, j]) * Fraction(sb[c, j]))))
        want[c] = total
    got = vf.column("result").astype(np.uint32).view(np.float32)
    assert vf.cases >= 16 and np.array_equal(got.view(np.uint32), want.view(np.uint32))


RECORDED_BS = sorted((ROOT / "dot" / "blockscaled-recorded").glob("*.txt"))


def test_blockscaled_recorded_files_are_there():
    assert len(RECORDED_BS) == 9  # every element pair tl.dot_scaled takes on SM90


@pytest.mark.parametrize("path", RECORDED_BS, ids=lambda p: p.stem)
def test_blockscaled_recorded_files_are_reproduced_by_h100_mx_triton(path):
    """The GPU's bits in the file (Triton tl.dot_scaled on an H200) equal lowbit.mx.matmul with the
    h100-mx-triton preset on the file's own operands."""
    from lowbit.mac.mx import mx_matmul
    from lowbit.mx import MXArray

    names = {"e4m3": "mxfp8_e4m3", "e5m2": "mxfp8_e5m2", "e2m1": "mxfp4"}
    fa, fb = path.stem.split("-", 1)[1].split("x")
    vf = _vec(str(path.relative_to(ROOT)))
    col = lambda n: vf.column(n).astype(np.uint8)  # noqa: E731
    a = np.stack([col(f"a{i}") for i in range(256)], 1)
    b = np.stack([col(f"b{i}") for i in range(256)], 1)  # case c: column c of B
    sa = np.stack([col(f"sa{j}") for j in range(8)], 1)
    sb = np.stack([col(f"sb{j}") for j in range(8)], 1)
    qa = MXArray(elements=a, scales=sa, format=names[fa], block_size=32, axis=1)
    qb = MXArray(elements=np.ascontiguousarray(b.T), scales=np.ascontiguousarray(sb.T), format=names[fb],
                 block_size=32, axis=0)
    got = np.diagonal(mx_matmul(qa, qb, accumulator="h100-mx-triton")).view(np.uint32)
    assert vf.cases == 16 and np.array_equal(got, vf.column("result").astype(np.uint32))
