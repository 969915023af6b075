"""Explain a conversion result: which real system's rules produce the code you saw.

``lowbit.explain(x, code, fmt)`` answers a kernel team's first question when a cast disagrees
("which rule did my kernel follow?"): the bit fields and value of the code seen, the exact
value of the input, the code every profile (:mod:`lowbit.profiles`) gives, and which of them
agree.  Given arrays it summarises how many results each profile explains.

``lowbit explain FMT VALUE CODE`` is the command-line form (:func:`add_cli`), and
:func:`profiles_markdown` generates ``docs/profiles.md`` (one table of telling inputs × profiles,
then every profile's rules) so that the page cannot drift from the code.
"""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction
from pathlib import Path

import numpy as np

# Column order of tables: the specs, the libraries, the hardware, the MX implementations.
# ``ml_dtypes`` is the era of the installed ml_dtypes; its pinned eras follow it.
PROFILE_ORDER = ("ocp", "ocp_sat", "ml_dtypes", "ml_dtypes_0.7", "ml_dtypes_0.5.1", "ml_dtypes_0.5", "torch",
                 "torch_2.11", "ptx", "microxcaling", "torchao", "default")


def ml_dtypes_note() -> str:
    """Which ml_dtypes releases each pinned ``ml_dtypes_*`` profile reproduces."""
    from .profiles import ML_DTYPES_ERAS

    eras = "; ".join(f"{era}: {', '.join(v)}" for era, v in reversed(ML_DTYPES_ERAS.items()))
    return f"ml_dtypes eras (profile: releases): {eras}"


def _installed_ml_dtypes_note() -> str:
    import ml_dtypes

    from .profiles import ml_dtypes_profile_for

    return (f"ml_dtypes here is {ml_dtypes.__version__}: profile 'ml_dtypes' = "
            f"{ml_dtypes_profile_for(ml_dtypes.__version__)}.  {ml_dtypes_note()}")


def _width(names) -> int:
    return max([14] + [len(n) + 2 for n in names])


def _profiles(names=None) -> list[str]:
    from .profiles import PROFILES

    if names is not None:
        unknown = [n for n in names if n not in PROFILES]
        if unknown:
            raise ValueError(f"unknown profile {unknown[0]!r}; known profiles: {', '.join(sorted(PROFILES))}")
        return list(names)
    known = [n for n in PROFILE_ORDER if n in PROFILES]
    return known + sorted(n for n in PROFILES if n not in known)


def _source_dtype(x, source_dtype) -> np.dtype:
    from .codec import _SOURCES, SOURCE_DTYPES

    if source_dtype is not None:
        dt = np.dtype(source_dtype) if not isinstance(source_dtype, str) or source_dtype != "bfloat16" else None
        if dt is None:
            import ml_dtypes

            dt = np.dtype(ml_dtypes.bfloat16)
        if dt not in _SOURCES:
            raise ValueError(f"unsupported source dtype {source_dtype!r}; allowed: {', '.join(SOURCE_DTYPES)}")
        return dt
    if isinstance(x, (np.ndarray, np.generic)) and np.asarray(x).dtype in _SOURCES:
        return np.asarray(x).dtype
    return np.dtype(np.float32)  # Python numbers and lists: the usual kernel input


def _as_source(x, dt: np.dtype) -> np.ndarray:
    arr = np.asarray(x)
    if arr.dtype == dt:
        return arr
    if arr.dtype.kind not in "fiub" and arr.dtype.name != "bfloat16":
        raise TypeError(f"x must be numbers, got dtype {arr.dtype}")
    with np.errstate(over="ignore", invalid="ignore"):
        return arr.astype(dt)


def _uint(dt: np.dtype):
    return {2: np.uint16, 4: np.uint32, 8: np.uint64}[dt.itemsize]


# IEEE P3109 projection specifications (interim report §4.9.2: a rounding mode and a saturation
# mode) that ``explain`` compares for P3109 targets, as lowbit rules.
P3109_ROUNDING_NAMES = {"nearest_even": "NearestTiesToEven", "nearest_away": "NearestTiesToAway",
                        "toward_zero": "TowardZero", "up": "TowardPositive", "down": "TowardNegative",
                        "odd": "ToOdd"}
P3109_SATURATION_NAMES = {"nonsaturating": "SatNone", "saturate": "SatFinite"}


def p3109_candidates() -> list[tuple[str, str, str]]:
    """(label, rounding, overflow) of every deterministic P3109 projection specification."""
    return [(f"P3109:{rn}/{sn}", r, o) for r, rn in P3109_ROUNDING_NAMES.items()
            for o, sn in P3109_SATURATION_NAMES.items()]


def codes_by_profile(x: np.ndarray, fmt, profiles=None) -> dict[str, np.ndarray | str]:
    """Codes each profile gives for ``x`` (in its own dtype), or the reason it gives none.
    For IEEE P3109 targets, with ``profiles`` left out, every deterministic P3109 projection
    specification (rounding mode × SatNone / SatFinite) is compared too."""
    from .codec import encode
    from .profiles import NotApplicable

    out: dict[str, np.ndarray | str] = {}
    if profiles is None and getattr(fmt, "is_p3109", False):
        for label, rounding, overflow in p3109_candidates():
            out[label] = encode(x, fmt, rounding=rounding, overflow=overflow).astype(np.int64)
    for name in _profiles(profiles):
        try:
            out[name] = encode(x, fmt, profile=name).astype(np.int64)
        except NotApplicable as e:
            out[name] = f"n/a: {e}"
        except ValueError as e:
            out[name] = f"error: {e}"
    return out


# ---------------------------------------------------------------------------------------
# Describing codes and inputs
# ---------------------------------------------------------------------------------------
def _num(v: float) -> str:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    if v == 0:
        return "-0" if math.copysign(1.0, v) < 0 else "+0"
    m, e = math.frexp(abs(v))
    if m == 0.5 and abs(e - 1) > 16:
        r = f"2^{e - 1}"  # E8M0 and other far powers of two
    else:
        r = repr(abs(v))
        r = r[:-2] if r.endswith(".0") else r
    return ("-" if v < 0 else "+") + r


def code_hex(code: int, fmt) -> str:
    return f"{code:#0{(fmt.bits + 3) // 4 + 2}x}"


def code_value(code: int, fmt) -> float:
    from .codec import decode

    return float(decode(np.array([code], dtype=np.int64), fmt)[0])


def describe_code(code: int, fmt) -> str:
    """``0x7e (+448)``, ``0x7f (NaN)``."""
    return f"{code_hex(code, fmt)} ({_num(code_value(code, fmt))})"


def code_fields(code: int, fmt) -> str:
    """The code's bit fields and how they read, e.g.
    ``0b0_1111_110: sign +, exponent 1111 (2^8), significand 1.110b → +448``."""
    from .formats import CLASS_NAMES

    v = code_value(code, fmt)
    cls = CLASS_NAMES[int(fmt.classes[code])]
    if fmt.is_int:
        raw = code - (1 << fmt.bits) if code >> (fmt.bits - 1) else code
        scale = f" / 2^{fmt.frac_bits}" if fmt.frac_bits else ""
        return f"0b{code:0{fmt.bits}b}: two's complement {raw}{scale} → {_num(v)}"
    parts = []
    sign = ""
    if fmt.signed:
        s = code >> (fmt.bits - 1)
        parts.append(str(s))
        sign = f"sign {'-' if s else '+'}, "
    field = (code >> fmt.mbits) & ((1 << fmt.ebits) - 1)
    man = code & ((1 << fmt.mbits) - 1)
    parts.append(f"{field:0{fmt.ebits}b}")
    if fmt.mbits:
        parts.append(f"{man:0{fmt.mbits}b}")
    bits = "0b" + "_".join(parts)
    if cls in ("nan", "inf"):
        return f"{bits}: {sign}exponent {field:0{fmt.ebits}b}, significand {man:0{fmt.mbits}b} → {cls.upper() if cls == 'nan' else 'Inf'} ({_num(v)})"
    if cls == "zero":
        return f"{bits}: {sign}zero → {_num(v)}"
    if fmt.specials == "exponent_only":
        return f"{bits}: exponent {field} - bias {fmt.bias} → 2^{field - fmt.bias} = {_num(v)}"
    if cls == "subnormal":
        return (f"{bits}: {sign}exponent 0 (subnormal, 2^{fmt.emin}), significand 0.{man:0{fmt.mbits}b}b → {_num(v)}")
    return (f"{bits}: {sign}exponent {field:0{fmt.ebits}b} (2^{field - fmt.bias}), "
            f"significand 1.{man:0{fmt.mbits}b}b → {_num(v)}" if fmt.mbits else
            f"{bits}: {sign}exponent {field:0{fmt.ebits}b} (2^{field - fmt.bias}) → {_num(v)}")


def exact_value(v: float) -> str:
    """The exact value of a float: ``+464 = 0x1.d000000000000p+8 = 29·2^4``."""
    if math.isnan(v) or math.isinf(v) or v == 0:
        return _num(v)
    f = Fraction(v)
    n, d = f.numerator, f.denominator
    k = 0
    while n % 2 == 0:
        n //= 2
        k += 1
    k -= d.bit_length() - 1
    dyadic = f"{n}·2^{k}" if k else str(n)
    return f"{_num(v)} = {v.hex()} = {dyadic}"


def describe_input(xv: np.ndarray) -> str:
    """``464.0 (float32 0x43e80000) = +464 = 0x1.dp+8 = 29·2^4``."""
    dt = xv.dtype
    bits = int(xv.reshape(1).view(_uint(dt))[0])
    v = float(xv.astype(np.float64)) if dt.name != "float64" else float(xv)
    head = f"{dt.name} {bits:#0{dt.itemsize * 2 + 2}x}"
    if math.isnan(v):
        sign = "-" if bits >> (dt.itemsize * 8 - 1) else "+"
        return f"{sign}NaN ({head})"
    return f"{head} = {exact_value(v)}"


def _neighbours(ax: Fraction, fmt) -> tuple[Fraction, Fraction]:
    """The representable magnitudes just below and just above |x| (above max: max + one ulp)."""
    mags = sorted({Fraction(fmt.magnitude_value(m)) for m in range(fmt.max_magnitude_code + 1)})
    if fmt.specials == "exponent_only":
        mags = [Fraction(0)] + mags  # as a grid only: values below 2^-127 sit between 0 and it
    top = mags[-1]
    beyond = top + (top - mags[-2]) if len(mags) > 1 else 2 * top
    if fmt.specials == "exponent_only":
        beyond = 2 * top
    grid = mags + [beyond]
    lo = max((m for m in grid if m <= ax), default=grid[0])
    hi = min((m for m in grid if m >= ax), default=beyond)
    return lo, hi


def _why(x: float, code: int, fmt) -> str:
    """A short reading of what a profile's code means for this input."""
    v = code_value(code, fmt)
    if math.isnan(x):
        if not math.isnan(v):
            return f"NaN becomes {_num(v)} (the format has no NaN)"
        if not fmt.signed:
            return "NaN"
        neg_in = math.copysign(1.0, x) < 0
        neg_out = bool(code >> (fmt.bits - 1))
        return "NaN, input sign kept" if neg_in == neg_out else f"NaN, sign {'-' if neg_out else '+'} whatever the input's"
    if x == 0 and not fmt.has_zero:
        return "zero has no code" if math.isnan(v) else "zero given the smallest code"
    if x < 0 and not fmt.signed and not fmt.is_int:
        if fmt.is_p3109:  # interim report §4.9.4 Saturate, m_lo = 0
            return ("negative, non-zero after rounding: NaN (P3109 SatNone)" if math.isnan(v) else
                    "negative: 0 (P3109: SatFinite, toward zero / up, or rounds to 0)")
        return "negatives have no code" if math.isnan(v) else "sign ignored"
    if math.isinf(x):
        if math.isnan(v):
            return "Inf becomes NaN"
        return "Inf" if math.isinf(v) else "Inf saturated to max"
    ax = abs(Fraction(x))
    lo, hi = _neighbours(ax, fmt)
    beyond_max = hi > Fraction(fmt.max_finite) or ax > Fraction(fmt.max_finite)
    if math.isnan(v) or math.isinf(v):
        what = "NaN" if math.isnan(v) else "Inf"
        return f"overflow to {what} (non-saturating)"
    av = abs(Fraction(v))
    if av == ax:
        if v == 0 and math.copysign(1, v) != math.copysign(1, x):
            return "zero, sign changed"
        return "exact"
    if beyond_max and av == Fraction(fmt.max_finite) and ax > Fraction(fmt.max_finite):
        mid = (lo + hi) / 2
        if ax > mid:
            return "saturated to max"
        if ax == mid:
            return "tie above max, gives max"
    if v != 0 and math.copysign(1, v) != math.copysign(1, x):
        return "sign changed"
    tie = (ax - lo) == (hi - ax)
    nearest = tie or (av == lo and ax - lo < hi - ax) or (av == hi and hi - ax < ax - lo)
    way = "up" if av > ax else "down"
    if tie:
        return f"tie, rounded {way} (magnitude)"
    return f"rounded {way} (magnitude){'' if nearest else ', not to nearest'}"


def _join(names: list[str]) -> str:
    q = [f"`{n}`" for n in names]
    return q[0] if len(q) == 1 else ", ".join(q[:-1]) + " and " + q[-1]


# ---------------------------------------------------------------------------------------
# One input
# ---------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Explanation:
    """What ``code`` means for input ``x`` in ``fmt``, and which profiles give it.

    Attributes:
      x: the input (0-d array of its source dtype).
      code: the code seen.
      fmt: the target :class:`lowbit.Format`.
      codes: profile name → the code it gives, or a string saying why it gives none.
    """

    x: np.ndarray
    code: int
    fmt: object
    codes: dict

    @property
    def matches(self) -> list[str]:
        """Profiles that give the code seen."""
        return [n for n, c in self.codes.items() if not isinstance(c, str) and c == self.code]

    @property
    def others(self) -> dict[int, list[str]]:
        """code → profiles that give that other code."""
        out: dict[int, list[str]] = {}
        for n, c in self.codes.items():
            if not isinstance(c, str) and c != self.code:
                out.setdefault(int(c), []).append(n)
        return out

    def summary(self) -> str:
        fmt, code = self.fmt, self.code
        head = f"your code {code_hex(code, fmt)} is {fmt.name} {_num(code_value(code, fmt))}"
        xs = float(self.x.astype(np.float64))
        parts = [f"{head}: it matches {_join(self.matches)}" if self.matches else f"{head}: no profile gives it"]
        for other, names in self.others.items():
            verb = "gives" if len(names) == 1 else "give"
            parts.append(f"{_join(names)} {verb} {code_hex(other, fmt)} ({_num(code_value(other, fmt))}: "
                         f"{_why(xs, other, fmt)})")
        return "; ".join(parts)

    def __str__(self) -> str:
        fmt = self.fmt
        xs = float(self.x.astype(np.float64))
        w = _width(self.codes)
        lines = [
            f"input   {describe_input(self.x)}",
            f"code    {code_hex(self.code, fmt)} in {fmt.name} = {code_fields(self.code, fmt)}",
            self.summary(),
            "",
            f"{'profile':<{w}}{'code':<8}{'value':<14}reading",
        ]
        for name, c in self.codes.items():
            if isinstance(c, str):
                lines.append(f"{name:<{w}}{'-':<8}{'-':<14}{c}")
                continue
            mark = "  <- matches" if c == self.code else ""
            lines.append(f"{name:<{w}}{code_hex(int(c), fmt):<8}{_num(code_value(int(c), fmt)):<14}"
                         f"{_why(xs, int(c), fmt)}{mark}")
        if any(n.startswith("ml_dtypes") for n in self.codes):
            lines += ["", _installed_ml_dtypes_note()]
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------
# Many inputs
# ---------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class ArrayExplanation:
    """How many of the results ``code`` each profile explains.

    Attributes:
      x: the inputs (flattened, source dtype); code: the codes seen (int64, flattened).
      counts: profile name → number of results it reproduces (None where it does not apply).
      codes: profile name → its codes, or why it gives none.
    """

    x: np.ndarray
    code: np.ndarray
    fmt: object
    codes: dict

    @property
    def counts(self) -> dict[str, int | None]:
        return {n: (None if isinstance(c, str) else int((c == self.code).sum())) for n, c in self.codes.items()}

    @property
    def best(self) -> list[str]:
        """The profiles that explain the most results."""
        counts = {n: c for n, c in self.counts.items() if c is not None}
        if not counts:
            return []
        top = max(counts.values())
        return [n for n, c in counts.items() if c == top]

    @property
    def unexplained(self) -> np.ndarray:
        """Indices of results no profile gives."""
        any_match = np.zeros(self.code.shape, bool)
        for c in self.codes.values():
            if not isinstance(c, str):
                any_match |= c == self.code
        return np.nonzero(~any_match)[0]

    def first_difference(self, name: str) -> int | None:
        c = self.codes[name]
        if isinstance(c, str):
            return None
        bad = np.nonzero(c != self.code)[0]
        return int(bad[0]) if bad.size else None

    def __str__(self) -> str:
        n = self.code.size
        fmt = self.fmt
        lines = [f"{n} results in {fmt.name} from {self.x.dtype.name}:"]
        w = 14  # longer names run into the right-aligned counts' padding
        for name, cnt in self.counts.items():
            if cnt is None:
                lines.append(f"  {name:<{w}}{'-':>9}          {self.codes[name]}")
                continue
            tail = "all" if cnt == n else ""
            i = self.first_difference(name)
            if i is not None:
                tail = (f"first difference: x = {describe_input(self.x[i])}: {name} gives "
                        f"{describe_code(int(self.codes[name][i]), fmt)}, you have {describe_code(int(self.code[i]), fmt)}")
            lines.append(f"  {name:<{w}}{cnt:>9} / {n}  {tail}")
        best = self.best
        if best:
            cnt = self.counts[best[0]]
            lines.append(f"best: {_join(best)} ({cnt} of {n})")
        u = self.unexplained
        if u.size:
            i = int(u[0])
            lines.append(f"{u.size} results match no profile; first: x = {describe_input(self.x[i])}, "
                         f"you have {describe_code(int(self.code[i]), fmt)}")
        if any(n.startswith("ml_dtypes") for n in self.codes):
            lines.append(_installed_ml_dtypes_note())
        return "\n".join(lines)


def explain(x, code, fmt, *, source_dtype=None, profiles=None):
    """Explain the code(s) a system produced for input(s) ``x`` in format ``fmt``.

    Args:
      x: the input: a number (read as float32 unless ``source_dtype`` says otherwise) or an
        array of float64 / float32 / float16 / bfloat16 (its dtype is the source dtype).
      code: the code seen (int), or an integer array of codes, one per element of ``x``.
      fmt: a format name, dtype or :class:`lowbit.Format`.
      source_dtype: the dtype the system converted from (default: x's dtype; float32 for
        Python numbers).  torch and ptx convert from float32/float16/bfloat16 only.
      profiles: profile names to compare (default: every registered profile).

    Returns:
      :class:`Explanation` for one input (``str()`` reads it out: the code's bit fields and
      value, the exact input, every profile's code, which agree) or :class:`ArrayExplanation`
      for arrays (how many results each profile explains, the first difference of each).

    Raises:
      ValueError: unknown format or profile, a code out of range for the format, shapes that
        do not match.
      TypeError: non-integer codes or non-numeric inputs.
    """
    from .codec import check_codes
    from .formats import format as lookup

    fmt = lookup(fmt)
    dt = _source_dtype(x, source_dtype)
    xa = _as_source(x, dt)
    ca = check_codes(np.asarray(code), fmt)
    if xa.ndim == 0 and ca.ndim == 0:
        codes = {n: (c if isinstance(c, str) else int(c.reshape(-1)[0]))
                 for n, c in codes_by_profile(xa.reshape(1), fmt, profiles).items()}
        return Explanation(x=xa, code=int(ca), fmt=fmt, codes=codes)
    if xa.shape != ca.shape:
        raise ValueError(f"x has shape {xa.shape} but code has shape {ca.shape}; give one code per input")
    flat = np.ascontiguousarray(xa).reshape(-1)
    codes = {n: (c if isinstance(c, str) else c.reshape(-1)) for n, c in codes_by_profile(flat, fmt, profiles).items()}
    return ArrayExplanation(x=flat, code=ca.reshape(-1), fmt=fmt, codes=codes)


# ---------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------
EXAMPLE = """examples:
  lowbit explain float8_e4m3fn 464 0x7e
  lowbit explain float8_e4m3fn 500 0x7f --source-dtype bfloat16
  lowbit explain float8_e5m2 nan 0x7f
  lowbit explain float8_e8m0fnu -3 0x80
  lowbit explain float8_e4m3fn bits:0xffc00000 0xff     (a float32 given by its bit pattern)
  lowbit explain float8_e4m3fn inputs.npy codes.npy      (arrays: how many each profile explains)

VALUE is a decimal or hex float (464, 1e6, 0x1.dp+8, inf, -inf, nan, -nan) or bits:0x... (the
raw bit pattern of the source dtype, for a NaN's sign and payload). CODE is the code the system
produced (0x7e or 126). Put -- before a VALUE such as -nan, -inf or -1e6, which argparse would
take for an option, after any --options:  lowbit explain float8_e5m2 -- -nan 0xff"""


def parse_value(text: str, dt: np.dtype) -> np.ndarray:
    """A VALUE argument as a 0-d array of ``dt``."""
    t = text.strip().lower()
    if t.startswith("bits:"):
        try:
            bits = int(t[5:], 0)
        except ValueError:
            raise ValueError(f"bad bit pattern {text!r}; expected bits:0x... (hex digits)") from None
        if not 0 <= bits < (1 << (8 * dt.itemsize)):
            raise ValueError(f"bit pattern {text!r} does not fit {dt.name} ({8 * dt.itemsize} bits)")
        return np.array(bits, dtype=_uint(dt)).view(dt)
    try:
        if t in ("nan", "+nan", "-nan"):
            v = math.copysign(math.nan, -1.0 if t.startswith("-") else 1.0)
        elif "0x" in t:
            v = float.fromhex(t)
        else:
            v = float(t)
    except ValueError:
        raise ValueError(f"bad value {text!r}; expected a number (464, 1e6, 0x1.dp+8, inf, nan) or bits:0x...") from None
    arr = np.array(v, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        return arr.astype(dt)


def parse_code(text: str) -> int:
    try:
        return int(text.strip(), 0)
    except ValueError:
        raise ValueError(f"bad code {text!r}; expected an integer such as 0x7e or 126") from None


def _cmd_explain(args) -> int:
    profiles = args.profiles.split(",") if args.profiles else None
    if args.value.endswith(".npy") or args.code.endswith(".npy"):
        if not (args.value.endswith(".npy") and args.code.endswith(".npy")):
            raise ValueError("give both VALUE and CODE as .npy files (inputs and codes), or neither")
        x = np.load(args.value)
        dt = _source_dtype(x, args.source_dtype)
        print(explain(_as_source(x, dt), np.load(args.code), args.fmt, source_dtype=dt, profiles=profiles))
        return 0
    dt = _source_dtype(None, args.source_dtype or "float32")
    x = parse_value(args.value, dt)
    note = ""
    if not args.value.strip().lower().startswith("bits:"):
        try:
            given = float(args.value) if "0x" not in args.value.lower() else float.fromhex(args.value)
        except ValueError:
            given = None
        if given is not None and not math.isnan(given) and float(x.astype(np.float64)) != given:
            note = f"note: {args.value} is not a {dt.name} value; it was rounded to the nearest {dt.name}\n"
    print(note + str(explain(x, parse_code(args.code), args.fmt, source_dtype=dt, profiles=profiles)))
    return 0


def add_cli(subparsers) -> None:
    """Register ``lowbit explain FMT VALUE CODE [--source-dtype DT] [--profiles a,b]``."""
    import argparse

    p = subparsers.add_parser(
        "explain",
        help="which profile (torch, ptx, ocp, ml_dtypes, ...) produces a code you saw",
        description="Explain a code some system produced for an input: the code's bit fields and value, "
                    "the input's exact value, the code every profile gives, and which agree.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("fmt", metavar="FMT", help="target format, e.g. float8_e4m3fn (see `lowbit formats`)")
    p.add_argument("value", metavar="VALUE", help="the input (number, inf, nan, bits:0x...), or a .npy of inputs")
    p.add_argument("code", metavar="CODE", help="the code the system produced (0x7e or 126), or a .npy of codes")
    p.add_argument("--source-dtype", default=None, choices=["float32", "float16", "bfloat16", "float64"],
                   help="dtype the system converted from (default: float32; for .npy inputs, their dtype)")
    p.add_argument("--profiles", help="comma-separated profiles to compare (default: all)")
    p.set_defaults(func=_cmd_explain)


# ---------------------------------------------------------------------------------------
# docs/profiles.md
# ---------------------------------------------------------------------------------------
# (row label, target format, input as float32 bit pattern or value)
TELLING_INPUTS = (
    ("just above max: 464 (the tie at the top)", "float8_e4m3fn", 464.0),
    ("just above max: 480", "float8_e4m3fn", 480.0),
    ("far above max: 1e6", "float8_e4m3fn", 1e6),
    ("just above max: 61440 (the tie at the top)", "float8_e5m2", 61440.0),
    ("far above max: 1e6", "float8_e5m2", 1e6),
    ("+Inf", "float8_e4m3fn", math.inf),
    ("-Inf", "float8_e4m3fn", -math.inf),
    ("+Inf", "float8_e5m2", math.inf),
    ("-Inf", "float8_e5m2", -math.inf),
    ("NaN (+, quiet 0x7fc00000)", "float8_e4m3fn", 0x7FC00000),
    ("NaN (-, 0xffc00000)", "float8_e4m3fn", 0xFFC00000),
    ("NaN (+, quiet 0x7fc00000)", "float8_e5m2", 0x7FC00000),
    ("NaN (-, 0xffc00000)", "float8_e5m2", 0xFFC00000),
    ("NaN (+)", "float4_e2m1fn", 0x7FC00000),
    ("-0", "float8_e4m3fn", -0.0),
    ("a tie: 1.0625 (between 1 and 1.125)", "float8_e4m3fn", 1.0625),
    ("a tie: -2.5 (between -2 and -3)", "float4_e2m1fn", -2.5),
    ("above max: 7", "float4_e2m1fn", 7.0),
    ("a subnormal: 0.005", "float8_e4m3fn", 0.005),
    ("a subnormal tie: 3·2^-10", "float8_e4m3fn", 3 * 2.0**-10),
    ("a negative into E8M0: -3", "float8_e8m0fnu", -3.0),
    ("zero into E8M0", "float8_e8m0fnu", 0.0),
    ("a tie into E8M0: 1.5 (between 1 and 2)", "float8_e8m0fnu", 1.5),
    ("a tie into E8M0: 0.75 (between 0.5 and 1)", "float8_e8m0fnu", 0.75),
    ("below 2^-126 into E8M0: 1.25·2^-127", "float8_e8m0fnu", 1.25 * 2.0**-127),
    ("far above max into E8M0: 3.4e38", "float8_e8m0fnu", 3.4e38),
)


def _telling_x(value) -> np.ndarray:
    if isinstance(value, int):
        return np.array(value, dtype=np.uint32).view(np.float32)
    return np.array(value, dtype=np.float32)


def profiles_table(profiles=None) -> str:
    """The markdown table of telling inputs (rows) × profiles (columns), float32 sources."""
    from .formats import format as lookup

    names = _profiles(profiles)
    lines = ["| input | format | " + " | ".join(f"`{n}`" for n in names) + " |",
             "| --- | --- | " + " | ".join("---" for _ in names) + " |"]
    for label, fmt_name, value in TELLING_INPUTS:
        fmt = lookup(fmt_name)
        x = _telling_x(value).reshape(1)
        codes = codes_by_profile(x, fmt, names)
        cells = []
        for n in names:
            c = codes[n]
            if isinstance(c, str):
                cells.append("n/a" if c.startswith("n/a") else "error")
            else:
                cells.append(f"{code_hex(int(c[0]), fmt)} {_num(code_value(int(c[0]), fmt))}")
        lines.append(f"| {label} | {fmt_name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


DOC_PATH = Path(__file__).resolve().parents[1] / "docs" / "profiles.md"


def profiles_markdown() -> str:
    """The whole ``docs/profiles.md``: the table, then each profile's documented rules."""
    from .profiles import PROFILES

    names = _profiles()
    # The table must not depend on the ml_dtypes installed: it shows the pinned eras, not 'ml_dtypes'.
    table_names = [n for n in names if n != "ml_dtypes"]
    out = [
        "# Conversion profiles: how real systems round, saturate and encode specials",
        "",
        "<!-- generated by lowbit.explanation.profiles_markdown(); do not edit: regenerate with",
        "     python -c \"import lowbit.explanation as e; e.write_profiles_doc()\"",
        "     (tests/test_explain.py checks this file equals a fresh generation) -->",
        "",
        "Each column is a profile (`lowbit.encode(x, fmt, profile=NAME)`); each cell is the code that",
        "profile gives for the input (a float32) and the code's value; `n/a`: the profile does not",
        "describe that conversion. `lowbit explain FMT VALUE CODE` tells which profiles give a code you saw.",
        "",
        "`ml_dtypes` is the era of the ml_dtypes installed (`ml_dtypes_profile_for(ml_dtypes.__version__)`);",
        "the table shows each pinned era instead. " + ml_dtypes_note() + " (recorded in",
        "`vectors/reference/ml_dtypes/`).",
        "",
        profiles_table(table_names),
        "",
        "## The rules of each profile",
        "",
    ]
    for n in names:
        doc = (PROFILES[n].__doc__ or "").strip("\n")
        out += [f"### `{n}`", "", "```text", _dedent(doc), "```", ""]
    return "\n".join(out)


def _dedent(doc: str) -> str:
    import textwrap

    first, _, rest = doc.partition("\n")
    return (first.strip() + ("\n" + textwrap.dedent(rest) if rest else "")).rstrip()


def write_profiles_doc(path=None) -> Path:
    """Write ``docs/profiles.md`` (or ``path``) from the code."""
    p = Path(path) if path is not None else DOC_PATH
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(profiles_markdown() + "\n", encoding="utf-8")
    return p
