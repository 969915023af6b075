"""Every number format lowbit knows, as data.

A format is one frozen :class:`Format`; every limit, table and code class is derived
from its fields (no class per format).  The registry maps names — ml_dtypes' dtype
names plus lowbit's own for what ml_dtypes lacks — to these descriptions.

Code layout (all floating-point kinds): sign bit on top (when signed), then
``ebits`` exponent bits, then ``mbits`` trailing significand bits.  A *magnitude code*
is the code without its sign bit; magnitude codes increase with the value they encode,
which is what the codec relies on.

Special-value policies (``specials``):

``ieee``
    IEEE 754-2019 §3.4: the all-ones exponent field holds ±Inf (significand 0) and NaNs.
``fn``
    OCP 8-bit FP v1.0 §4.2 (E4M3): no Inf; the single pattern S.1111.111 (each sign) is NaN.
``fnuz``
    No Inf, no −0: the code 0x80 (sign set, all else zero) is the only NaN.
``finite``
    OCP MX v1.0 §5.3.2 (FP6 / FP4 elements): no Inf and no NaN; every code is a number.
``p3109``
    IEEE P3109 interim report (§4 formats; the value tables of github.com/P3109/Public):
    K bits, precision P (``mbits = P − 1``), signed or unsigned (``signed``), extended or
    finite domain (``domain``).  No −0.  Signed: the would-be −0 (2^(K−1)) is the NaN;
    extended domain: 2^(K−1)−1 and 2^K−1 are ±Inf.  Unsigned: the top code 2^K−1 is the
    NaN; extended domain: 2^K−2 is +Inf.  Bias 2^(K−P−1) signed, 2^(K−P) unsigned.  The
    finite domain has no Inf: a non-saturating overflow gives NaN (P3109 §4.9.4 Saturate).
    The whole family is :func:`p3109` (names ``p3109_k{K}p{P}{s|u}{e|f}``, parsed on look-up);
    the signed extended 8-bit members keep their registered names ``binary8pP``.
``exponent_only``
    OCP MX v1.0 §5.4.1 (E8M0 scale): unsigned, no significand, value 2^(code − bias),
    no zero, the all-ones code is NaN.
``int``
    Two's-complement integer of ``bits`` bits with ``frac_bits`` fraction bits
    (OCP MX v1.0 §5.3.3: MXINT8 elements have 6).  ``symmetric`` drops the most negative code.
"""

from __future__ import annotations

import dataclasses
import re
from fractions import Fraction
from functools import cached_property, lru_cache

import numpy as np

SPECIALS = ("ieee", "fn", "fnuz", "finite", "p3109", "exponent_only", "int")
# P3109 domains: "extended" (±Inf) or "finite" (no Inf); only the p3109 policy has a choice.
DOMAINS = ("extended", "finite")

# Code classes, as small integers so that kernels and tables can carry them.
CLASS_NAMES = ("zero", "subnormal", "normal", "inf", "nan")
ZERO, SUBNORMAL, NORMAL, INF, NAN = range(5)


@dataclasses.dataclass(frozen=True)
class Format:
    """The complete description of one number format; everything else is derived.

    Args:
      name: the registry name (ml_dtypes' name where ml_dtypes has the format).
      ebits: exponent field width (0 for integers).
      mbits: trailing significand width (for integers: ``bits - 1``, unused).
      bias: exponent bias.
      specials: one of :data:`SPECIALS` (see the module docstring).
      signed: whether the top bit is a sign bit.
      bits: total width; derived for floats when 0.
      frac_bits: integers only: value = code / 2**frac_bits.
      symmetric: integers only: the most negative code is not used.
    """

    name: str
    ebits: int
    mbits: int
    bias: int
    specials: str = "ieee"
    signed: bool = True
    bits: int = 0
    frac_bits: int = 0
    symmetric: bool = False
    domain: str = "extended"

    def __post_init__(self):
        if self.specials not in SPECIALS:
            raise ValueError(f"unknown specials policy {self.specials!r}; allowed: {', '.join(SPECIALS)}")
        if self.specials == "int":
            if not 2 <= self.bits <= 32:
                raise ValueError(f"integer format {self.name!r}: bits={self.bits} must be in 2..32")
        else:
            width = int(self.signed) + self.ebits + self.mbits
            if self.bits == 0:
                object.__setattr__(self, "bits", width)
            elif self.bits != width:
                raise ValueError(f"format {self.name!r}: bits={self.bits} but sign+ebits+mbits={width}")
            if not 1 <= self.ebits <= 11 or not 0 <= self.mbits <= 52 or self.bits > 32:
                raise ValueError(
                    f"format {self.name!r}: ebits={self.ebits}, mbits={self.mbits} out of range "
                    "(1 <= ebits <= 11, 0 <= mbits <= 52, at most 32 bits in all)"
                )
            if self.specials == "fnuz" and not self.signed:
                raise ValueError(f"format {self.name!r}: specials={self.specials!r} needs a sign bit")
            if self.specials == "fn" and self.mbits == 0:
                raise ValueError(f"format {self.name!r}: 'fn' needs at least one significand bit")
        if self.domain not in DOMAINS:
            raise ValueError(f"format {self.name!r}: unknown domain {self.domain!r}; allowed: {', '.join(DOMAINS)}")
        if self.domain == "finite" and self.specials != "p3109":
            raise ValueError(f"format {self.name!r}: domain='finite' applies to specials='p3109' only "
                             "(other policies say by themselves whether they have Inf)")

    # ----- kind -------------------------------------------------------------------
    @property
    def is_int(self) -> bool:
        return self.specials == "int"

    @property
    def has_inf(self) -> bool:
        return self.specials == "ieee" or (self.specials == "p3109" and self.domain == "extended")

    @property
    def is_p3109(self) -> bool:
        return self.specials == "p3109"

    @property
    def has_nan(self) -> bool:
        return self.specials not in ("finite", "int")

    @property
    def has_negative_zero(self) -> bool:
        return self.signed and self.specials in ("ieee", "fn", "finite")

    @property
    def has_zero(self) -> bool:
        return self.specials != "exponent_only"

    @property
    def has_subnormals(self) -> bool:
        """Field 0 encodes 0.m × 2^(1−bias) (IEEE 754 §3.4 c); E8M0 has no such codes."""
        return not self.is_int and self.specials != "exponent_only" and self.mbits > 0

    @property
    def code_dtype(self) -> np.dtype:
        """uint8 up to 8 bits, uint16 up to 16, else uint32."""
        return np.dtype(np.uint8 if self.bits <= 8 else np.uint16 if self.bits <= 16 else np.uint32)

    @property
    def num_codes(self) -> int:
        return 1 << self.bits

    # ----- limits (as magnitude codes, then values) ----------------------------------
    @property
    def reserved_high_codes(self) -> int:
        """How many of the top magnitude codes are not finite numbers."""
        if self.specials == "p3109":  # +Inf (extended domain), and the NaN of unsigned formats
            return int(self.domain == "extended") + int(not self.signed)
        return {"ieee": 1 << self.mbits, "fn": 1, "fnuz": 0, "finite": 0,
                "exponent_only": 1, "int": 0}[self.specials]

    @property
    def max_magnitude_code(self) -> int:
        """Magnitude code (sign bit clear) of the largest finite value."""
        if self.is_int:
            return (1 << (self.bits - 1)) - 1
        return (1 << (self.ebits + self.mbits)) - 1 - self.reserved_high_codes

    @property
    def emin(self) -> int:
        """Exponent of the smallest normal binade (1 − bias; −bias for E8M0)."""
        return -self.bias if self.specials == "exponent_only" else 1 - self.bias

    @property
    def emax(self) -> int:
        """Exponent of the largest finite binade."""
        if self.is_int:
            return self.bits - 2 - self.frac_bits
        return (self.max_magnitude_code >> self.mbits) - self.bias

    def magnitude_value(self, mag: int) -> Fraction:
        """Exact value of a finite magnitude code."""
        if self.is_int:
            return Fraction(mag, 1 << self.frac_bits)
        field, man = mag >> self.mbits, mag & ((1 << self.mbits) - 1)
        if field == 0 and self.has_subnormals:
            return Fraction(man, 1 << self.mbits) * Fraction(2) ** self.emin
        if field == 0 and self.specials != "exponent_only":  # mbits == 0: field 0 is zero
            return Fraction(0)
        return Fraction((1 << self.mbits) + man, 1 << self.mbits) * Fraction(2) ** (field - self.bias)

    @property
    def max_finite(self) -> float:
        return float(self.magnitude_value(self.max_magnitude_code))

    @property
    def min_finite(self) -> float:
        """Most negative finite value (0 or the smallest value for unsigned formats)."""
        if self.is_int:
            lowest = (1 << (self.bits - 1)) - (1 if self.symmetric else 0)
            return -lowest / (1 << self.frac_bits)
        if not self.signed:
            return float(self.magnitude_value(0)) if not self.has_zero else 0.0
        return -self.max_finite

    @property
    def min_normal(self) -> float:
        if self.is_int:
            return 1.0 / (1 << self.frac_bits)
        return float(Fraction(2) ** self.emin)

    @property
    def min_subnormal(self) -> float:
        """Smallest positive value (the min normal where there are no subnormals)."""
        if self.is_int:
            return 1.0 / (1 << self.frac_bits)
        if not self.has_subnormals:
            return self.min_normal
        return float(Fraction(2) ** (self.emin - self.mbits))

    @property
    def nan_code(self) -> int:
        """The canonical (positive, quiet) NaN code, or -1 where there is no NaN."""
        if self.specials == "ieee":
            quiet = 1 << (self.mbits - 1) if self.mbits else 0
            return (((1 << self.ebits) - 1) << self.mbits) | quiet if self.mbits else -1
        if self.specials == "fn":
            return (1 << (self.bits - 1)) - 1
        if self.specials == "fnuz" or (self.specials == "p3109" and self.signed):
            return 1 << (self.bits - 1)
        if self.specials == "exponent_only" or self.specials == "p3109":  # unsigned P3109: 2^K − 1
            return (1 << self.bits) - 1
        return -1

    # ----- per-code tables --------------------------------------------------------
    def _classify(self, code: int) -> int:
        if self.is_int:
            return ZERO if code == 0 else NORMAL
        sign = (code >> (self.bits - 1)) & 1 if self.signed else 0
        mag = code & ((1 << (self.bits - int(self.signed))) - 1)
        top = (1 << (self.ebits + self.mbits)) - 1
        field, man = mag >> self.mbits, mag & ((1 << self.mbits) - 1)
        s = self.specials
        if s == "ieee" and field == (1 << self.ebits) - 1:
            return INF if man == 0 else NAN
        if s == "fn" and mag == top:
            return NAN
        if s in ("fnuz", "p3109") and sign and mag == 0:
            return NAN
        if s == "p3109" and not self.signed and mag == top:
            return NAN
        if s == "p3109" and self.domain == "extended" and mag == top - int(not self.signed):
            return INF
        if s == "exponent_only":
            return NAN if mag == top else NORMAL
        if mag == 0:
            return ZERO
        if field == 0:
            return SUBNORMAL if self.has_subnormals else ZERO
        return NORMAL

    @cached_property
    def classes(self) -> np.ndarray:
        """Class (index into :data:`CLASS_NAMES`) of every code; for formats up to 16 bits."""
        self._require_table()
        return np.array([self._classify(c) for c in range(self.num_codes)], dtype=np.uint8)

    @cached_property
    def values(self) -> np.ndarray:
        """float64 value of every code (NaN for NaN codes); for formats up to 16 bits."""
        self._require_table()
        from .codec import decode  # the one bit-field decoder

        return decode(np.arange(self.num_codes, dtype=np.uint32).astype(self.code_dtype), self)

    def _require_table(self):
        if self.bits > 16:
            raise ValueError(f"format {self.name!r} has {self.bits} bits: per-code tables exist up to 16 bits")

    def rules_summary(self) -> str:
        """One line on Inf/NaN/zero handling, for the format table."""
        return {
            "ieee": "IEEE: ±Inf, NaNs in the top binade",
            "fn": "no Inf; NaN only at S.1…1 (both signs)",
            "fnuz": "no Inf, no -0; NaN only at 0x80",
            "finite": "no Inf, no NaN (all codes are numbers)",
            "p3109": self._p3109_summary(),
            "exponent_only": "unsigned powers of two; no zero; NaN at 0xFF",
            "int": "two's complement" + (", symmetric" if self.symmetric else "")
            + (f", {self.frac_bits} fraction bits" if self.frac_bits else ""),
        }[self.specials]


    def _p3109_summary(self) -> str:
        d = (self.bits + 3) // 4

        def h(c):
            return f"0x{c:0{d}X}"

        inf = self.max_magnitude_code + 1
        if self.signed:
            infs = f"±Inf at {h(inf)}/{h(inf | self.nan_code)}, " if self.has_inf else "no Inf, "
        else:
            infs = f"+Inf at {h(inf)}, " if self.has_inf else "no Inf, "
        kind = ", ".join(w for w in ("unsigned" if not self.signed else "", "finite" if not self.has_inf else "") if w)
        return (f"{kind}: " if kind else "") + f"{infs}NaN at {h(self.nan_code)}, no -0"


# ------------------------------------------------------------------------------------
# The IEEE P3109 family
# ------------------------------------------------------------------------------------
P3109_K_RANGE = (3, 16)  # the interim report's widths (P3109/Public value tables: K3 ... K16)
P3109_NAME_PATTERN = "p3109_k{K}p{P}{s|u}{e|f}"
_P3109_RE = re.compile(r"p3109_k(\d+)p(\d+)([su])([ef])")


def p3109_params_ok(k: int, p: int, signed: bool) -> str:
    """Why (k, p, signedness) is not a P3109 format lowbit can hold, or '' when it is."""
    lo, hi = P3109_K_RANGE
    if not lo <= k <= hi:
        return f"K={k} out of range; the interim report defines K = {lo}..{hi}"
    top = k - 1 if signed else k
    if not 1 <= p <= top:
        return (f"P={p} out of range for K={k} {'signed' if signed else 'unsigned'}; allowed: 1..{top} "
                "(signed formats need a sign bit and an exponent bit)")
    ebits = k - p + (0 if signed else 1)
    if ebits > 11:
        return (f"K={k}, P={p} {'signed' if signed else 'unsigned'} has {ebits} exponent bits: its range "
                "exceeds float64's (lowbit holds values as float64; at most 11 exponent bits)")
    return ""


@lru_cache(maxsize=None)
def p3109(k: int, p: int, signed: bool = True, domain: str = "extended") -> Format:
    """The IEEE P3109 format of width ``k`` and precision ``p`` (interim report §4).

    Signed: sign bit, K−P exponent bits, P−1 significand bits, bias 2^(K−P−1); unsigned:
    K−P+1 exponent bits, bias 2^(K−P).  Names follow gfloat: ``p3109_k8p4se``; the signed
    extended 8-bit formats are the registered ``binary8p1`` … ``binary8p7`` (same object).

    Raises:
      ValueError: K outside 3..16, P outside 1..K−1 (signed) / 1..K (unsigned), an unknown
        domain, or a format whose exponent range float64 cannot hold (more than 11 exponent bits).
    """
    k, p, signed = int(k), int(p), bool(signed)
    if domain not in DOMAINS:
        raise ValueError(f"unknown P3109 domain {domain!r}; allowed: {', '.join(DOMAINS)}")
    why = p3109_params_ok(k, p, signed)
    if why:
        raise ValueError(f"no P3109 format p3109_k{k}p{p}{'s' if signed else 'u'}{domain[0]}: {why}")
    if k == 8 and signed and domain == "extended" and f"binary8p{p}" in FORMATS:
        return FORMATS[f"binary8p{p}"]
    name = p3109_name(k, p, signed, domain)
    ebits = k - p if signed else k - p + 1
    bias = 1 << (k - p - 1) if signed else 1 << (k - p)
    return Format(name, ebits=ebits, mbits=p - 1, bias=bias, specials="p3109", signed=signed, domain=domain)


def p3109_name(k: int, p: int, signed: bool = True, domain: str = "extended") -> str:
    """gfloat's name of a P3109 format: ``p3109_k{K}p{P}{s|u}{e|f}``."""
    return f"p3109_k{k}p{p}{'s' if signed else 'u'}{domain[0]}"


def p3109_family(max_k: int = P3109_K_RANGE[1]) -> list[Format]:
    """Every P3109 format lowbit holds with K up to ``max_k``, ordered by K, P, signedness, domain."""
    out = []
    for k in range(P3109_K_RANGE[0], max_k + 1):
        for p in range(1, k + 1):
            for signed in (True, False):
                for domain in DOMAINS:
                    if not p3109_params_ok(k, p, signed):
                        out.append(p3109(k, p, signed, domain))
    return out


def _parse_p3109(key: str) -> Format | None:
    m = _P3109_RE.fullmatch(key)
    if m is None:
        return None
    k, p, s, d = m.groups()
    return p3109(int(k), int(p), s == "s", "extended" if d == "e" else "finite")


# ------------------------------------------------------------------------------------
# The registry
# ------------------------------------------------------------------------------------
def _p3109(p: int) -> Format:
    """IEEE P3109 binary8pP (signed, extended): precision p, bias 2^(8−p−1); the family
    member p3109_k8pPse under its registered name."""
    return Format(f"binary8p{p}", ebits=8 - p, mbits=p - 1, bias=1 << (7 - p), specials="p3109")


_REGISTERED: list[tuple[Format, tuple[str, ...]]] = [
    (Format("float8_e4m3fn", 4, 3, 7, "fn"), ("e4m3", "fp8_e4m3", "ocp_e4m3")),
    (Format("float8_e5m2", 5, 2, 15, "ieee"), ("e5m2", "fp8_e5m2", "ocp_e5m2")),
    (Format("float6_e2m3fn", 2, 3, 1, "finite"), ("e2m3", "fp6_e2m3")),
    (Format("float6_e3m2fn", 3, 2, 3, "finite"), ("e3m2", "fp6_e3m2")),
    (Format("float4_e2m1fn", 2, 1, 1, "finite"), ("e2m1", "fp4_e2m1", "fp4")),
    (Format("float4_e2m1", 2, 1, 1, "ieee"), ("fp4_e2m1_ieee",)),
    (Format("float8_e8m0fnu", 8, 0, 127, "exponent_only", signed=False), ("e8m0", "ue8m0")),
    (Format("float8_e4m3fnuz", 4, 3, 8, "fnuz"), ()),
    (Format("float8_e5m2fnuz", 5, 2, 16, "fnuz"), ()),
    (Format("float8_e4m3b11fnuz", 4, 3, 11, "fnuz"), ()),
    (Format("float8_e3m4", 3, 4, 3, "ieee"), ()),
    (Format("float8_e4m3", 4, 3, 7, "ieee"), ("e4m3_ieee",)),
    (Format("float16", 5, 10, 15, "ieee"), ("half", "fp16")),
    (Format("bfloat16", 8, 7, 127, "ieee"), ("bf16",)),
    (Format("float32", 8, 23, 127, "ieee"), ("single", "fp32")),
    (Format("int8", 0, 7, 0, "int", bits=8), ()),
    (Format("int8_symmetric", 0, 7, 0, "int", bits=8, symmetric=True), ()),
    (Format("int4", 0, 3, 0, "int", bits=4), ()),
    (Format("int4_symmetric", 0, 3, 0, "int", bits=4, symmetric=True), ()),
    (Format("int2", 0, 1, 0, "int", bits=2), ()),
    (Format("int2_symmetric", 0, 1, 0, "int", bits=2, symmetric=True), ()),
    (Format("mxint8", 0, 7, 0, "int", bits=8, frac_bits=6), ("mxint8_element",)),
] + [(_p3109(p), (f"p3109_k8p{p}se",)) for p in range(1, 8)]

FORMATS: dict[str, Format] = {f.name: f for f, _ in _REGISTERED}
_ALIASES: dict[str, str] = {}
for _f, _names in _REGISTERED:
    _ALIASES[_f.name.lower()] = _f.name
    for _a in _names:
        _ALIASES[_a.lower()] = _f.name


def format(spec) -> Format:  # noqa: A001 - the public name users expect: lowbit.format
    """Look a format up by name (case-insensitive), numpy/ml_dtypes dtype, or pass a Format through.

    Raises:
      ValueError: unknown name (the message lists the known names).
      TypeError: anything that is neither a name, a dtype nor a Format.
    """
    if isinstance(spec, Format):
        return spec
    if spec is None:
        raise TypeError("format is None; pass a name, a numpy/ml_dtypes dtype or a lowbit.Format")
    if isinstance(spec, str):
        key = spec.strip().lower()
    else:
        try:
            key = np.dtype(spec).name.lower()
        except TypeError:
            raise TypeError(
                f"cannot interpret {spec!r} as a format: pass a name, a numpy/ml_dtypes dtype or a lowbit.Format"
            ) from None
    if key not in _ALIASES:
        fam = _parse_p3109(key)  # the P3109 family: parsed, not registered (hundreds of members)
        if fam is not None:
            return fam
        raise ValueError(f"unknown format {spec!r}; known formats: {', '.join(FORMATS)}, "
                         f"and the IEEE P3109 family {P3109_NAME_PATTERN} (e.g. p3109_k6p3uf)")
    return FORMATS[_ALIASES[key]]


def register(fmt: Format, *aliases: str) -> Format:
    """Add a user-defined format to the registry (its name and aliases become look-up keys)."""
    for key in (fmt.name, *aliases):
        k = key.lower()
        if k in _ALIASES and FORMATS[_ALIASES[k]] != fmt:
            raise ValueError(f"format name {key!r} is already registered for {FORMATS[_ALIASES[k]]}")
    FORMATS[fmt.name] = fmt
    for key in (fmt.name, *aliases):
        _ALIASES[key.lower()] = fmt.name
    return fmt


# Members of the P3109 family shown by ``lowbit formats`` and given golden vectors: every
# width class (3, 4, 6, 8, 10, 12, 16 bits), P = 1 and P = K, signed and unsigned, both domains.
P3109_REPRESENTATIVE = (
    "p3109_k3p2sf", "p3109_k3p1ue", "p3109_k4p2se", "p3109_k4p4uf", "p3109_k6p3sf", "p3109_k6p1ue",
    "p3109_k8p1uf", "p3109_k8p3ue", "p3109_k8p4sf", "p3109_k8p4uf", "p3109_k8p8uf", "p3109_k10p5se",
    "p3109_k12p7uf", "p3109_k16p11se", "p3109_k16p12uf",
)


def format_table(p3109_members=P3109_REPRESENTATIVE, registered: bool = True) -> str:
    """The table of every registered format (name, bits, bias, max finite, min subnormal, rules),
    then the given members of the IEEE P3109 family (any member is looked up by name)."""
    rows = [("name", "bits", "E", "M", "bias", "max finite", "min normal", "min subnormal", "Inf/NaN rules")]
    fams = [format(n) for n in p3109_members]
    regs = list(FORMATS.values()) if registered else []
    for f in regs + fams:
        rows.append((
            f.name, str(f.bits), str(f.ebits), str(f.mbits if not f.is_int else "-"),
            str(f.bias) if not f.is_int else "-", f"{f.max_finite:.9g}", f"{f.min_normal:.6g}",
            f"{f.min_subnormal:.6g}", f.rules_summary(),
        ))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    if fams:
        n = len(p3109_family())
        lines.insert(len(regs) + 2, f"-- IEEE P3109 family: {P3109_NAME_PATTERN}, K {P3109_K_RANGE[0]}..{P3109_K_RANGE[1]}, "
                     f"P 1..K-1 signed / 1..K unsigned, e = extended (±Inf), f = finite ({n} formats within "
                     "float64's range; binary8pP = p3109_k8pPse)"
                     + ("; a representative set (lowbit formats --p3109 lists them all):" if registered else ":"))
    return "\n".join(lines)
