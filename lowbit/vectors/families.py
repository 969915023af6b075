"""The generator registry: each family of golden vectors is one function.

A family function returns the list of :class:`Target` files it builds; a target's
``make()`` computes its :class:`~lowbit.vectors.textfile.VectorFile` on demand, so that
``lowbit vectors build --only PATTERN`` computes only what it writes.  Families are
registered with :func:`family`; the block-scaled (MX) and dot-product (MAC) families
register themselves from their own modules once :mod:`lowbit.mx` / :mod:`lowbit.mac` exist.

Every target is a pure function of lowbit's code: rebuilding gives identical bytes.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import ml_dtypes
import numpy as np

from .. import __version__
from ..codec import decode, encode
from ..formats import CLASS_NAMES, FORMATS, P3109_REPRESENTATIVE, Format, format as lookup
from ..profiles import PROFILES, resolve
from ..rules import Rules, default_rules
from .edges import edge_bits, overflow_subset
from .textfile import Column, VectorFile


@dataclasses.dataclass(frozen=True)
class Target:
    """One golden-vector file: its path under the vectors root and how to compute it."""

    path: str
    make: Callable[[], VectorFile]


FamilyFn = Callable[[], list[Target]]
FAMILIES: dict[str, FamilyFn] = {}
# The vectors folder being built or verified (set by build/verify): families that read recorded
# data (vectors/hardware/...) look for it there first.
CONTEXT: dict[str, object] = {"root": None}
# Top-level folders of the vectors tree that the builder owns (stale files there are removed).
ROOTS: dict[str, str] = {}


def family(name: str, root: str):
    """Register a family generator under ``name``; it writes below the folder ``root``."""

    def deco(fn: FamilyFn) -> FamilyFn:
        FAMILIES[name] = fn
        ROOTS[name] = root
        return fn

    return deco


def targets(only=None) -> list[Target]:
    """Every target of every registered family, in a fixed order, optionally filtered by
    :func:`fnmatch` patterns on the path."""
    from fnmatch import fnmatch

    load_plugins()
    out = []
    for name in FAMILIES:
        for t in FAMILIES[name]():
            if only is None or any(fnmatch(t.path, pat) or t.path.startswith(pat.rstrip("/") + "/") for pat in only):
                out.append(t)
    return out


def build_command(path: str) -> str:
    return f"lowbit vectors build --out vectors --only {path}"


# ------------------------------------------------------------------------------------
# Spec clauses cited in the headers
# ------------------------------------------------------------------------------------
SPEC_FORMAT = {
    "ieee": "IEEE 754-2019 §3.4 (binary interchange encoding: ±Inf and NaNs in the top binade)",
    "fn": "OCP 8-bit Floating Point (OFP8) v1.0 §4 (E4M3: no Inf; NaN only at S.1111.111)",
    "fnuz": "fnuz encoding of ml_dtypes (Graphcore/AMD): no Inf, no -0, the only NaN is 0x80",
    "finite": "OCP Microscaling (MX) v1.0 §5.3.2 (FP6/FP4 elements: no Inf, no NaN)",
    "p3109": "IEEE P3109 interim report (binary8pP, signed, extended: ±Inf at 0x7f/0xff, NaN at 0x80)",
    "p3109_family": "IEEE P3109 interim report §4 (formats), §4.9.3 RoundToPrecision, §4.9.4 Saturate",
    "exponent_only": "OCP Microscaling (MX) v1.0 §5.4.1 (E8M0 scale: 2^(code-127), NaN at 0xff, no zero)",
    "int": "two's-complement integer",
}
SPEC_ROUNDING = {
    "nearest_even": "IEEE 754-2019 §4.3.1 roundTiesToEven",
    "nearest_away": "IEEE 754-2019 §4.3.1 roundTiesToAway",
    "toward_zero": "IEEE 754-2019 §4.3.2 roundTowardZero",
    "up": "IEEE 754-2019 §4.3.2 roundTowardPositive",
    "down": "IEEE 754-2019 §4.3.2 roundTowardNegative",
    "odd": "round to odd (inexact results get an odd last bit)",
}
SPEC_OVERFLOW = {
    "saturate": "beyond ±max finite gives ±max (OCP OFP8 v1.0 §4.4 saturation mode)",
    "nonsaturating": "±Inf where the format has Inf, else NaN (OCP OFP8 v1.0 §4.4; IEEE 754-2019 §7.4)",
    "wrap": "wrap modulo 2^bits (the C conversion of an out-of-range integer)",
    "wrap_int32": "the C conversion on x86-64: truncate to int32 (INT_MIN out of its range), then its low bits",
    "zero": "out of range gives 0 (ml_dtypes >= 0.7 integer casts)",
}
DETERMINISTIC_ROUNDINGS = tuple(SPEC_ROUNDING)

FLAGS_MEANING = ("TestFloat order, OR of: 01 inexact (result value != input), 02 underflow "
                 "(tiny before rounding: 0 < |input| < smallest normal, and inexact), 04 overflow "
                 "(finite |input| > largest finite value), 08 input is ±Inf, 10 input is NaN")
FLAG_INEXACT, FLAG_UNDERFLOW, FLAG_OVERFLOW, FLAG_INF, FLAG_NAN = 0x01, 0x02, 0x04, 0x08, 0x10

SOURCES = {"float32": np.dtype(np.float32), "float16": np.dtype(np.float16), "bfloat16": np.dtype(ml_dtypes.bfloat16)}


def format_spec(fmt: Format) -> str:
    if fmt.name == "mxint8":
        return "OCP Microscaling (MX) v1.0 §5.3.3 (MXINT8 element: two's complement, 6 fraction bits)"
    if fmt.is_p3109 and fmt.name not in FORMATS:
        return (f"{SPEC_FORMAT['p3109_family']}: K={fmt.bits}, P={fmt.mbits + 1}, "
                f"{'signed' if fmt.signed else 'unsigned'}, {fmt.domain} domain")
    return SPEC_FORMAT[fmt.specials]


def format_summary(fmt: Format) -> str:
    kind = (f"{fmt.bits}-bit integer" if fmt.is_int else f"E{fmt.ebits}M{fmt.mbits}, bias {fmt.bias}")
    return f"{fmt.name} ({kind}; {fmt.rules_summary()}; max finite {fmt.max_finite:.9g})"


def rules_text(rules: Rules) -> str:
    return ", ".join(f"{f.name}={getattr(rules, f.name)}" for f in dataclasses.fields(rules))


def code_digits(fmt: Format) -> int:
    return (fmt.bits + 3) // 4


def encode_flags(x: np.ndarray, codes: np.ndarray, fmt: Format) -> np.ndarray:
    """The flags column (see :data:`FLAGS_MEANING`) for inputs ``x`` encoded as ``codes``."""
    with np.errstate(invalid="ignore"):  # signalling NaNs
        xv = x.astype(np.float64)
    v = decode(codes, fmt)
    finite = np.isfinite(xv)
    ax = np.abs(np.where(finite, xv, 0.0))
    inexact = finite & ~(v == xv)
    tiny = finite & (ax > 0) & (ax < fmt.min_normal)
    flags = np.zeros(x.shape, dtype=np.uint8)
    flags |= np.where(inexact, FLAG_INEXACT, 0).astype(np.uint8)
    flags |= np.where(tiny & inexact, FLAG_UNDERFLOW, 0).astype(np.uint8)
    flags |= np.where(finite & (ax > fmt.max_finite), FLAG_OVERFLOW, 0).astype(np.uint8)
    flags |= np.where(np.isinf(xv), FLAG_INF, 0).astype(np.uint8)
    flags |= np.where(np.isnan(xv), FLAG_NAN, 0).astype(np.uint8)
    return flags


def _encode_refusing(x: np.ndarray, fmt: Format, kwargs: dict) -> tuple[np.ndarray, np.ndarray]:
    """Encode; where the rules refuse some inputs (ValueError), drop exactly those.
    Returns (kept mask, codes of the kept inputs)."""
    try:
        return np.ones(x.shape, dtype=bool), encode(x, fmt, **kwargs)
    except ValueError:
        keep = np.ones(x.shape, dtype=bool)
        for i in range(x.size):
            try:
                encode(x[i:i + 1], fmt, **kwargs)
            except ValueError:
                keep[i] = False
        return keep, encode(x[keep], fmt, **kwargs)


def effective_rules(fmt: Format, src: np.dtype, profile: str | None, **overrides) -> Rules:
    """The rules :func:`lowbit.encode` applies (profile, then overrides, then the codec's one
    fix-up: NaN into a format without NaN under a saturating rule becomes +0)."""
    rules = resolve(profile, fmt, src).replace(**overrides)
    if not fmt.has_nan and rules.nan == "error" and rules.overflow in ("saturate", "wrap"):
        rules = rules.replace(nan="zero")
    return rules


def encode_file(fmt: Format, src: str, inputs: np.ndarray, *, profile: str | None, rules: Rules,
                inputs_note: str, path: str, flags: bool = True) -> VectorFile:
    """A vectors file of ``inputs`` (bit patterns of ``src``) encoded into ``fmt``."""
    x = inputs.view(SOURCES[src])
    kwargs = {"profile": profile} if profile else dataclasses.asdict(rules)
    keep, codes = _encode_refusing(x, fmt, kwargs)
    refused = int((~keep).sum())
    x = x[keep]
    header = {
        "operation": f"encode {src} -> {fmt.name}",
        "source": f"{src} bit patterns",
        "format": format_summary(fmt),
        "profile": profile or "- (explicit rules below)",
        "rounding": f"{rules.rounding}: {SPEC_ROUNDING.get(rules.rounding, rules.rounding)}",
        "overflow": f"{rules.overflow}: {SPEC_OVERFLOW[rules.overflow]}",
        "rules": rules_text(rules),
        "spec": format_spec(fmt),
        "inputs": inputs_note + (f"; {refused} inputs the rules refuse (ValueError) left out" if refused else ""),
        "compare": "input -> expected" + (" flags" if flags else ""),
        "lowbit": __version__,
        "command": build_command(path),
    }
    width = SOURCES[src].itemsize * 2
    cols = [Column("input", width, f"{src} bit pattern", x.view(inputs.dtype)),
            Column("expected", code_digits(fmt), f"{fmt.name} code", codes)]
    if flags:
        cols.append(Column("flags", 2, FLAGS_MEANING, encode_flags(x, codes, fmt)))
    return VectorFile(header, cols)


# ------------------------------------------------------------------------------------
# Families
# ------------------------------------------------------------------------------------
def table_formats() -> list[Format]:
    """Formats with a per-code table (up to 16 bits), in registry order."""
    return [f for f in FORMATS.values() if f.bits <= 16]


# Profiles named after a library that follow its installed version: no vectors of their own.
VERSION_FOLLOWING_PROFILES = ("ml_dtypes",)
# P3109 members with golden vectors, kept small (the repository travels to the GPU machine
# under 64 MiB): decode tables up to K = 12, encode edge sets for K <= 6 — every P3109 kind
# (P = 1, P = K, signed / unsigned, extended / finite); the 8-bit signed extended members are
# the binary8pP formats of encode/edges.  tests/test_p3109_family.py covers every member.
P3109_DECODE_MAX_K = 12
P3109_ENCODE_MAX_K = 6


def p3109_formats(max_k: int = P3109_DECODE_MAX_K) -> list[Format]:
    """The representative members of the IEEE P3109 family (:data:`lowbit.formats.P3109_REPRESENTATIVE`)
    of at most ``max_k`` bits that get golden vectors (the binary8pP members are registered formats)."""
    return [f for f in (lookup(n) for n in P3109_REPRESENTATIVE) if f.bits <= max_k]


@family("decode", "decode")
def decode_family() -> list[Target]:
    """decode/<fmt>.txt: every code of every format up to 16 bits -> float32 and float64 bits, class
    (the registered formats and the representative P3109 family members)."""
    return [Target(f"decode/{f.name}.txt", _decode_maker(f)) for f in table_formats() + p3109_formats()]


def _decode_maker(fmt: Format):
    def make() -> VectorFile:
        path = f"decode/{fmt.name}.txt"
        codes = np.arange(fmt.num_codes, dtype=np.uint32).astype(fmt.code_dtype)
        v64 = decode(codes, fmt)
        v32 = decode(codes, fmt, dtype=np.float32)
        header = {
            "operation": f"decode {fmt.name} -> float32, float64",
            "format": format_summary(fmt),
            "spec": format_spec(fmt),
            "float32": "the value rounded to nearest even float32 (exact for every format here); "
                       "NaN codes give the canonical quiet NaN with the code's sign",
            "inputs": f"every code 0..{fmt.num_codes - 1:#x}",
            "compare": "code -> float32 float64 class",
            "lowbit": __version__,
            "command": build_command(path),
        }
        classes = " ".join(f"{i}={n}" for i, n in enumerate(CLASS_NAMES))
        cols = [Column("code", code_digits(fmt), f"{fmt.name} code", codes),
                Column("float32", 8, "float32 bit pattern of the value", v32.view(np.uint32)),
                Column("float64", 16, "float64 bit pattern of the value (exact)", v64.view(np.uint64)),
                Column("class", 1, classes, fmt.classes)]
        return VectorFile(header, cols)

    return make


def overflow_modes(fmt: Format) -> tuple[str, ...]:
    """Overflow rules that mean something for ``fmt``, its default first."""
    default = default_rules(fmt).overflow
    if fmt.is_int:
        allowed = ("saturate", "wrap")
    elif fmt.has_inf or fmt.has_nan:
        allowed = ("saturate", "nonsaturating")
    else:
        allowed = ("saturate",)  # no Inf, no NaN: nothing to overflow to
    return (default,) + tuple(m for m in allowed if m != default)


def edge_formats() -> list[Format]:
    """Targets of the float32 edge sets: every format up to 16 bits (float32 -> float32 is the identity)."""
    return table_formats()


@family("encode-edges", "encode/edges")
def edges_family() -> list[Target]:
    """encode/edges/<fmt>/<rounding>-<overflow>.txt: the float32 edge set under each rounding and
    overflow rule.  The format's default overflow rule gets the whole edge set; the other rule gets
    the part an overflow rule can change (|x| beyond the second-largest finite value, Inf, NaN)."""
    out = []
    for fmt in edge_formats():
        for i, ov in enumerate(overflow_modes(fmt)):
            for rnd in DETERMINISTIC_ROUNDINGS:
                path = f"encode/edges/{fmt.name}/{rnd}-{ov}.txt"
                out.append(Target(path, _edges_maker(fmt, rnd, ov, full=(i == 0), path=path)))
    return out


def _edges_maker(fmt, rnd, ov, full, path):
    def make():
        rules = effective_rules(fmt, SOURCES["float32"], None, rounding=rnd, overflow=ov)
        bits = edge_bits(fmt)
        note = ("the float32 edge set of the format (values, midpoints, thresholds, each ±1..3 ulps; "
                "specials), sorted by bit pattern")
        if not full:
            bits = overflow_subset(fmt, bits)
            note = ("the overflow part of the float32 edge set (|x| beyond the second-largest finite "
                    f"value, ±Inf, NaN); the rest encodes as in {rnd}-{overflow_modes(fmt)[0]}.txt")
        return encode_file(fmt, "float32", bits, profile=None, rules=rules, inputs_note=note, path=path)

    return make


@family("encode-profiles", "encode/profiles")
def profiles_family() -> list[Target]:
    """encode/profiles/<profile>/<fmt>.txt: the float32 edge set under every registered profile
    except ``ml_dtypes``, which follows the installed ml_dtypes (its pinned eras, ``ml_dtypes_0.5``
    …, are built instead, so the tree is the same on every machine)."""
    out = []
    for name in sorted(PROFILES):
        if name in VERSION_FOLLOWING_PROFILES:
            continue
        for fmt in edge_formats():
            try:
                resolve(name, fmt, SOURCES["float32"])
            except ValueError:
                continue  # the profile does not convert float32 into this format
            path = f"encode/profiles/{name}/{fmt.name}.txt"
            out.append(Target(path, _profile_maker(fmt, name, path)))
    return out


def _profile_maker(fmt, name, path):
    def make():
        rules = effective_rules(fmt, SOURCES["float32"], name)
        note = "the float32 edge set of the format (as in encode/edges), sorted by bit pattern"
        vf = encode_file(fmt, "float32", edge_bits(fmt), profile=name, rules=rules, inputs_note=note, path=path)
        doc = (PROFILES[name].__doc__ or "").strip().split("\n")[0]
        if doc:
            vf.header["profile"] = f"{name}: {doc}"
        return vf

    return make


# The exhaustive float16/bfloat16 sets cover the 8-bit and smaller formats that ml_dtypes
# (and so JAX/PyTorch users) name, plus the integer formats; the other small formats
# (P3109, symmetric integers, MXINT8, IEEE-style FP4) are covered by the edge sets.
EXHAUSTIVE_FORMATS = (
    "float8_e4m3fn", "float8_e5m2", "float6_e2m3fn", "float6_e3m2fn", "float4_e2m1fn", "float8_e8m0fnu",
    "float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e4m3b11fnuz", "float8_e3m4", "float8_e4m3",
    "int8", "int4", "int2",
)


@family("encode-exhaustive", "encode/exhaustive")
def exhaustive_family() -> list[Target]:
    """encode/exhaustive/<src>/<fmt>.txt: all 65,536 float16 / bfloat16 inputs -> code (default profile)."""
    out = []
    for src in ("float16", "bfloat16"):
        for name in EXHAUSTIVE_FORMATS:
            path = f"encode/exhaustive/{src}/{name}.txt"
            out.append(Target(path, _exhaustive_maker(FORMATS[name], src, path)))
    return out


def _exhaustive_maker(fmt, src, path):
    def make():
        rules = effective_rules(fmt, SOURCES[src], None)
        bits = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16)
        return encode_file(fmt, src, bits, profile=None, rules=rules, flags=False, path=path,
                           inputs_note=f"every {src} bit pattern 0000..ffff, in order")

    return make


STOCHASTIC_FORMATS = ("float8_e4m3fn", "float8_e5m2", "float6_e2m3fn", "float6_e3m2fn", "float4_e2m1fn")
STOCHASTIC_MODES = ("stochastic", "stochastic_odd", "stochastic_fast", "stochastic_fastest")
SRNUMBITS = 8
SPEC_STOCHASTIC = ("gfloat's stochastic rounding definitions (graphcore-research/gfloat RoundMode): "
                   "round away when the discarded fraction plus srbits/2^srnumbits reaches 1 "
                   "(stochastic: fraction first rounded to srnumbits bits, ties to even; stochastic_odd: "
                   "ties to odd; stochastic_fast: adds (0.5 + srbits)/2^srnumbits; stochastic_fastest: "
                   "adds srbits/2^srnumbits)")


@family("encode-stochastic", "encode/stochastic")
def stochastic_family() -> list[Target]:
    """encode/stochastic/<fmt>/<mode>-sr8.txt: the float32 edge set with one random-bits word per
    input (8 bits, from a fixed splitmix64 stream) -> code, for the OCP FP8/FP6/FP4 formats."""
    out = []
    for name in STOCHASTIC_FORMATS:
        for mode in STOCHASTIC_MODES:
            path = f"encode/stochastic/{name}/{mode}-sr{SRNUMBITS}.txt"
            out.append(Target(path, _stochastic_maker(FORMATS[name], mode, path)))
    return out


def _stochastic_maker(fmt, mode, path):
    def make():
        from .mx_family import _splitmix64

        rules = effective_rules(fmt, SOURCES["float32"], None, rounding=mode)
        bits = edge_bits(fmt)
        x = bits.view(np.float32)
        words = _splitmix64(0x5707 + fmt.bits * 31 + STOCHASTIC_MODES.index(mode), bits.size)
        sr = np.array([w >> (64 - SRNUMBITS) for w in words], dtype=np.int64)
        codes = encode(x, fmt, srbits=sr, srnumbits=SRNUMBITS, **dataclasses.asdict(rules))
        header = {
            "operation": f"encode float32 -> {fmt.name}",
            "source": "float32 bit patterns",
            "format": format_summary(fmt),
            "profile": "- (explicit rules below)",
            "rounding": f"{mode} with srnumbits={SRNUMBITS}: {SPEC_STOCHASTIC}",
            "overflow": f"{rules.overflow}: {SPEC_OVERFLOW[rules.overflow]}",
            "rules": rules_text(rules) + f", srnumbits={SRNUMBITS}",
            "spec": format_spec(fmt),
            "inputs": "the float32 edge set of the format (as in encode/edges), each with one srbits word "
                      "from a fixed splitmix64 stream",
            "compare": "input srbits -> expected flags",
            "lowbit": __version__,
            "command": build_command(path),
        }
        cols = [Column("input", 8, "float32 bit pattern", bits),
                Column("srbits", (SRNUMBITS + 3) // 4, f"the {SRNUMBITS} random bits of this case", sr),
                Column("expected", code_digits(fmt), f"{fmt.name} code", codes),
                Column("flags", 2, FLAGS_MEANING, encode_flags(x, codes, fmt))]
        return VectorFile(header, cols)

    return make


P3109_ROUNDINGS = DETERMINISTIC_ROUNDINGS + STOCHASTIC_MODES
SPEC_P3109_ROUNDING = {
    "nearest_even": "P3109 §4.9.3 NearestTiesToEven ('even': the code's parity, at P = 1 the exponent field's)",
    "nearest_away": "P3109 §4.9.3 NearestTiesToAway",
    "toward_zero": "P3109 §4.9.3 TowardZero",
    "up": "P3109 §4.9.3 TowardPositive",
    "down": "P3109 §4.9.3 TowardNegative",
    "odd": "P3109 §4.9.3 ToOdd (away when inexact and the truncated code is even; §4.9.4: no clamp on overflow)",
    "stochastic": "P3109 §4.9.3 StochasticC = gfloat Stochastic (fraction rounded to srnumbits bits, ties even)",
    "stochastic_odd": "gfloat StochasticOdd (fraction rounded to srnumbits bits, ties odd; not a P3109 mode)",
    "stochastic_fast": "P3109 §4.9.3 StochasticB = gfloat StochasticFast (floor(frac·2^(n+1)) + 2r + 1 >= 2^(n+1))",
    "stochastic_fastest": "P3109 §4.9.3 StochasticA = gfloat StochasticFastest (floor(frac·2^n) + r >= 2^n)",
}
SPEC_P3109_OVERFLOW = {
    "saturate": "P3109 §4.9.4 SatFinite: beyond ±max (and ±Inf) gives ±max; unsigned: negatives give 0",
    "nonsaturating": "P3109 §4.9.4 SatNone: ±Inf (extended domain) or NaN (finite domain), except that "
                     "TowardZero/TowardNegative/TowardPositive clamp finite overflows toward zero to ±max; "
                     "unsigned: a negative value rounding to non-zero gives NaN (0 under TowardZero/TowardPositive)",
}


@family("encode-p3109", "encode/p3109")
def p3109_family_vectors() -> list[Target]:
    """encode/p3109/<fmt>/<rounding>-<overflow>[-sr8].txt: the float32 edge set of representative
    IEEE P3109 family members (every width class, P = 1 and P = K, signed and unsigned, extended and
    finite) under every rounding mode (stochastic ones with 8 random bits per input) and both overflow
    rules (SatNone = nonsaturating, SatFinite = saturate), each on the whole edge set."""
    out = []
    for fmt in p3109_formats(P3109_ENCODE_MAX_K):
        for ov in ("nonsaturating", "saturate"):
            for rnd in P3109_ROUNDINGS:
                tail = f"-sr{SRNUMBITS}" if rnd in STOCHASTIC_MODES else ""
                path = f"encode/p3109/{fmt.name}/{rnd}-{ov}{tail}.txt"
                out.append(Target(path, _p3109_maker(fmt, rnd, ov, path)))
    return out


def _p3109_maker(fmt, rnd, ov, path):
    def make():
        from .mx_family import _splitmix64

        rules = effective_rules(fmt, SOURCES["float32"], None, rounding=rnd, overflow=ov)
        bits = edge_bits(fmt)
        x = bits.view(np.float32)
        note = ("the float32 edge set of the format (values, midpoints, thresholds, each ±1..3 ulps; "
                "specials), sorted by bit pattern")
        kw = dataclasses.asdict(rules)
        sr = None
        if rnd in STOCHASTIC_MODES:
            seed = 0x3109 + fmt.bits * 131 + fmt.mbits * 7 + 2 * int(fmt.signed) + int(fmt.has_inf) \
                + 1000 * P3109_ROUNDINGS.index(rnd) + 50000 * int(ov == "saturate")
            words = _splitmix64(seed, bits.size)
            sr = np.array([w >> (64 - SRNUMBITS) for w in words], dtype=np.int64)
            kw.update(srbits=sr, srnumbits=SRNUMBITS)
            note += f"; each input with one {SRNUMBITS}-bit srbits word from a fixed splitmix64 stream"
        codes = encode(x, fmt, **kw)
        header = {
            "operation": f"encode float32 -> {fmt.name}",
            "source": "float32 bit patterns",
            "format": format_summary(fmt),
            "profile": "- (explicit rules below)",
            "rounding": f"{rnd}{f' with srnumbits={SRNUMBITS}' if sr is not None else ''}: {SPEC_P3109_ROUNDING[rnd]}",
            "overflow": f"{ov}: {SPEC_P3109_OVERFLOW[ov]}",
            "rules": rules_text(rules) + (f", srnumbits={SRNUMBITS}" if sr is not None else ""),
            "spec": format_spec(fmt),
            "inputs": note,
            "compare": "input srbits -> expected flags" if sr is not None else "input -> expected flags",
            "lowbit": __version__,
            "command": build_command(path),
        }
        cols = [Column("input", 8, "float32 bit pattern", bits)]
        if sr is not None:
            cols.append(Column("srbits", (SRNUMBITS + 3) // 4, f"the {SRNUMBITS} random bits of this case", sr))
        cols += [Column("expected", code_digits(fmt), f"{fmt.name} code", codes),
                 Column("flags", 2, FLAGS_MEANING, encode_flags(x, codes, fmt))]
        return VectorFile(header, cols)

    return make


# Families of other capabilities: each module registers its families on import; a module is
# listed here once its capability exists in lowbit (so a build is the same everywhere).
PLUGINS: tuple[str, ...] = ("lowbit.vectors.mx_family", "lowbit.vectors.dot_family", "lowbit.vectors.h100_family",
                            "lowbit.vectors.blockscaled_family")


def load_plugins() -> None:
    """Import the plugin families (once; on first use, so that importing lowbit.vectors stays light)."""
    import importlib

    for module in PLUGINS:
        importlib.import_module(module)
