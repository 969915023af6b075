"""Helpers for the tests users write against lowbit.

Hypothesis strategies (``pip install hypothesis``; imported only when a strategy is called):

- :func:`codes` — codes of a format (any, or only finite / normal / subnormal / zero / nan ones);
- :func:`values` — exactly representable values of a format (float64);
- :func:`near` — float32 inputs at and around values, midpoints, overflow thresholds and specials
  (the edge set of :mod:`lowbit.vectors.edges`, plus small ulp offsets): where codecs break;
- :func:`blocks` — float32 blocks for block-scaled (MX) quantizers, with ties, outliers, zeros and NaN;
- :func:`dot_operands` — pairs of code vectors of length k for dot-product kernels;
- :func:`p3109_formats` — members of the IEEE P3109 family (:func:`lowbit.formats.p3109`), to draw
  a format first and then codes / values / inputs of it (``st.data()`` or ``flatmap``).

Assertions whose failure message is already the diagnosis:

- :func:`assert_bitexact` — two code arrays equal bit for bit;
- :func:`assert_matches` — a quantizer's codes equal ``lowbit.encode(x, fmt, profile=..., ...)``;
  each mismatch is listed with decoded values and the profiles / rules that produce the
  quantizer's code instead.

Example (a property test of your own quantizer)::

    from hypothesis import given
    import numpy as np
    from lowbit.testing import near, assert_matches

    @given(near("float8_e4m3fn"))
    def test_my_quantizer(x):
        x = np.array([x], dtype=np.float32)
        assert_matches(my_quantize_e4m3(x), x, "float8_e4m3fn", profile="ocp_sat")
"""

from __future__ import annotations

import numpy as np

from .codec import check_codes, encode
from .formats import INF, NAN, NORMAL, SUBNORMAL, ZERO, Format, format as lookup

KINDS = ("any", "finite", "normal", "subnormal", "zero", "nan", "inf")
_KIND_CLASSES = {"finite": (ZERO, SUBNORMAL, NORMAL), "normal": (NORMAL,), "subnormal": (SUBNORMAL,),
                 "zero": (ZERO,), "nan": (NAN,), "inf": (INF,)}


def _st():
    try:
        from hypothesis import strategies
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("lowbit.testing strategies need hypothesis: pip install hypothesis "
                          "(or pip install 'lowbit[test]')") from None
    return strategies


def code_pool(fmt, kind: str = "any") -> np.ndarray:
    """Every code of ``fmt`` (up to 16 bits) of the given kind, sorted."""
    fmt = lookup(fmt)
    if kind not in KINDS:
        raise ValueError(f"unknown code kind {kind!r}; allowed: {', '.join(KINDS)}")
    if fmt.bits > 16:
        raise ValueError(f"code_pool needs a format of at most 16 bits, not {fmt.name!r} ({fmt.bits} bits)")
    all_codes = np.arange(fmt.num_codes)
    if kind == "any":
        return all_codes
    pool = all_codes[np.isin(fmt.classes, _KIND_CLASSES[kind])]
    if pool.size == 0:
        raise ValueError(f"format {fmt.name!r} has no {kind} codes")
    return pool


def codes(fmt, kind: str = "any"):
    """Strategy: codes (Python ints) of ``fmt``; ``kind`` one of :data:`KINDS`.

    For 32-bit formats (float32) the codes are drawn from the bit fields directly.
    """
    st = _st()
    fmt = lookup(fmt)
    if fmt.bits > 16:
        if kind not in KINDS:
            raise ValueError(f"unknown code kind {kind!r}; allowed: {', '.join(KINDS)}")
        return _wide_codes(st, fmt, kind)
    pool = code_pool(fmt, kind)
    return st.sampled_from([int(c) for c in pool])


def _wide_codes(st, fmt: Format, kind: str):
    top = (1 << fmt.ebits) - 1
    sign = st.integers(0, 1)
    man = st.integers(0, (1 << fmt.mbits) - 1)

    def build(s, e, m):
        return (s << (fmt.bits - 1)) | (e << fmt.mbits) | m

    field = {"any": st.integers(0, top), "finite": st.integers(0, top - 1), "normal": st.integers(1, top - 1),
             "subnormal": st.just(0), "zero": st.just(0), "nan": st.just(top), "inf": st.just(top)}[kind]
    if kind == "subnormal":
        man = st.integers(1, (1 << fmt.mbits) - 1)
    elif kind in ("zero", "inf"):
        man = st.just(0)
    elif kind == "nan":
        man = st.integers(1, (1 << fmt.mbits) - 1)
    return st.builds(build, sign, field, man)


def values(fmt, finite: bool = True):
    """Strategy: exactly representable values of ``fmt`` as Python floats (±Inf/NaN too when
    ``finite=False`` and the format has them)."""
    st = _st()
    fmt = lookup(fmt)
    pool = code_pool(fmt, "finite" if finite else "any")
    vals = fmt.values[pool]
    # keep -0 and +0 apart; one NaN is enough
    out, seen_nan = [], False
    for v in vals:
        if np.isnan(v):
            if not seen_nan:
                out.append(float("nan"))
            seen_nan = True
        else:
            out.append(float(v))
    return st.sampled_from(out)


def near(fmt, ulps: int = 3):
    """Strategy: float32 inputs (``numpy.float32``) at and around the places a conversion into
    ``fmt`` can go wrong: every value and midpoint (16-bit formats: the ends of each binade),
    overflow thresholds, the smallest values, ±0, ±Inf and NaNs with payloads, each moved by up
    to ``ulps`` float32 ulps (:func:`lowbit.vectors.edges.edge_bits`)."""
    st = _st()
    from .vectors.edges import edge_bits

    fmt = lookup(fmt)
    if not 0 <= ulps <= 1 << 20:
        raise ValueError(f"ulps={ulps} out of range; allowed: 0..{1 << 20}")
    base = [int(b) for b in edge_bits(fmt)]

    def move(b, k):
        sign, mag = b & 0x80000000, b & 0x7FFFFFFF
        if mag >= 0x7F800000:  # Inf / NaN stay
            return np.array([b], dtype=np.uint32).view(np.float32)[0]
        mag = min(max(mag + k, 0), 0x7F800000)
        return np.array([sign | mag], dtype=np.uint32).view(np.float32)[0]

    return st.builds(move, st.sampled_from(base), st.integers(-ulps, ulps))


def blocks(mx_fmt, block_size: int | None = None, nan: bool = True):
    """Strategy: one float32 block (shape ``(block_size,)``) for a block-scaled quantizer.

    ``mx_fmt`` is an MX format name (``mxfp8_e4m3``, ``mxfp4``, ``nvfp4``: the element format and
    block size come from :mod:`lowbit.mx`) or an element format name.  A block is a power-of-two
    scale times element values (so that many are exact and many sit on midpoints) with optional
    outliers far above the rest, zeros (an all-zero block too), ±Inf and NaN (``nan=True``).
    """
    st = _st()
    elem, default_bs = _block_format(mx_fmt)
    bs = default_bs if block_size is None else int(block_size)
    if bs < 1:
        raise ValueError(f"block_size={block_size} must be a positive integer")
    mags = [float(v) for v in np.unique(np.abs(elem.values[np.isfinite(elem.values)]))]
    mids = [(a + b) / 2 for a, b in zip(mags[:-1], mags[1:])]
    element = st.one_of(st.sampled_from(mags), st.sampled_from(mids or mags),
                        st.floats(0, mags[-1] * 2, width=32, allow_nan=False))
    signed = st.builds(lambda v, s: -v if s else v, element, st.booleans())
    specials = [0.0, -0.0] + ([float("inf"), float("-inf"), float("nan")] if nan else [])

    def assemble(body, scale_exp, outliers, zeros, special):
        x = np.array(body, dtype=np.float64) * 2.0 ** scale_exp
        for pos, k in outliers:
            x[pos % bs] = x[pos % bs] * 2.0 ** k if x[pos % bs] else mags[-1] * 2.0 ** (scale_exp + k)
        for pos in zeros:
            x[pos % bs] = 0.0
        for pos, v in special:
            x[pos % bs] = v
        with np.errstate(over="ignore"):
            return x.astype(np.float32)

    block = st.builds(assemble, st.lists(signed, min_size=bs, max_size=bs), st.integers(-20, 20),
                      st.lists(st.tuples(st.integers(0, bs - 1), st.integers(1, 12)), max_size=2),
                      st.lists(st.integers(0, bs - 1), max_size=bs // 4 + 1),
                      st.lists(st.tuples(st.integers(0, bs - 1), st.sampled_from(specials)), max_size=2))
    return st.one_of(block, st.just(np.zeros(bs, dtype=np.float32)))


def _block_format(spec) -> tuple[Format, int]:
    if isinstance(spec, str) and spec.lower().startswith(("mx", "nvfp")):
        from .mx import mx_format

        f = mx_format(spec)
        return f.element, f.block_size
    if isinstance(spec, Format):
        return spec, 32
    try:
        from .mx import MXFormat

        if isinstance(spec, MXFormat):
            return spec.element, spec.block_size
    except ImportError:  # pragma: no cover
        pass
    return lookup(spec), 32


def dot_operands(fmt, k: int, kind: str = "finite"):
    """Strategy: ``(a, b)``, two code vectors of length ``k`` (``fmt.code_dtype``) for a dot
    product; by default only finite codes (``kind`` as in :func:`codes`)."""
    st = _st()
    fmt = lookup(fmt)
    if int(k) < 1:
        raise ValueError(f"k={k} must be a positive integer")
    pool = [int(c) for c in code_pool(fmt, kind)]
    vec = st.lists(st.sampled_from(pool), min_size=int(k), max_size=int(k)).map(
        lambda xs: np.array(xs, dtype=np.int64).astype(fmt.code_dtype))
    return st.tuples(vec, vec)


def p3109_formats(max_k: int = 16, *, min_k: int = 3, signed=None, domain=None):
    """Strategy: :class:`lowbit.Format` members of the IEEE P3109 family with ``min_k <= K <= max_k``
    (every precision; ``signed`` / ``domain`` restrict them when given), e.g.::

        @given(p3109_formats(8).flatmap(lambda f: st.tuples(st.just(f), near(f))))
        def test_my_p3109_cast(case): fmt, x = case; ...
    """
    st = _st()
    from .formats import DOMAINS, P3109_K_RANGE, p3109_family

    if not P3109_K_RANGE[0] <= min_k <= max_k <= P3109_K_RANGE[1]:
        raise ValueError(f"min_k={min_k}, max_k={max_k}: allowed {P3109_K_RANGE[0]} <= min_k <= max_k <= {P3109_K_RANGE[1]}")
    if domain is not None and domain not in DOMAINS:
        raise ValueError(f"unknown domain {domain!r}; allowed: {', '.join(DOMAINS)}")
    pool = [f for f in p3109_family(max_k) if f.bits >= min_k and (signed is None or f.signed == bool(signed))
            and (domain is None or f.domain == domain)]
    return st.sampled_from(pool)


# ---------------------------------------------------------------------------------------
# assertions
# ---------------------------------------------------------------------------------------
def assert_bitexact(got, want, fmt, *, inputs=None, max_report: int = 10) -> None:
    """Assert that two arrays of codes of ``fmt`` are equal bit for bit.

    Args:
      got, want: integer code arrays of the same shape (int8-style negatives are read as bit patterns).
      fmt: the format (name, dtype or :class:`lowbit.Format`).
      inputs: optional float inputs the codes came from (float64/32/16/bfloat16, same shape):
        the message then says which profiles or rules produce each of ``got``'s codes.
      max_report: how many mismatches the message lists.

    Raises:
      AssertionError: listing the mismatch count and the first ``max_report`` mismatches:
        index, input, got and want with their decoded values, and the matching behaviours.
      ValueError / TypeError: shapes differ, or codes out of range / not integers.
    """
    fmt = lookup(fmt)
    g = check_codes(got, fmt)
    w = check_codes(want, fmt)
    if g.shape != w.shape:
        raise ValueError(f"shapes differ: got {g.shape}, want {w.shape}")
    bad = np.argwhere(g != w)
    if bad.size == 0:
        return
    x = None
    if inputs is not None:
        x = np.asarray(inputs)
        if x.shape != g.shape:
            raise ValueError(f"inputs have shape {x.shape}, the codes {g.shape}")
    raise AssertionError(_mismatch_message(g, w, fmt, bad, x, max_report))


def assert_matches(got_codes, x, fmt, *, profile: str | None = None, max_report: int = 10, **rules) -> None:
    """Assert that ``got_codes`` equal ``lowbit.encode(x, fmt, profile=profile, **rules)``.

    On failure the message lists the first mismatches with decoded values and, for each, the
    profiles and rule bundles under which lowbit gives the kernel's code (so a kernel that
    truncates reads ``matches rounding=toward_zero overflow=...``).
    """
    fmt = lookup(fmt)
    x = np.asarray(x)
    want = encode(x, fmt, profile=profile, **rules)
    got = np.asarray(got_codes)
    if got.shape != want.shape:
        raise ValueError(f"shapes differ: got {got.shape}, inputs {x.shape}")
    assert_bitexact(got, want, fmt, inputs=x, max_report=max_report)


def _mismatch_message(g, w, fmt: Format, bad: np.ndarray, x, max_report: int) -> str:
    from .vectors.diagnose import _num, common, describe_code, matching_behaviours

    n = len(bad)
    shown = bad[:max_report]
    labels = None
    if x is not None and (x.dtype.kind == "f" or x.dtype.name == "bfloat16"):
        xs = np.array([x[tuple(i)] for i in shown], dtype=x.dtype)
        labels = matching_behaviours(xs, np.array([g[tuple(i)] for i in shown]), fmt)
    lines = [f"{n} of {g.size} {fmt.name} codes differ" + (f" (first {max_report}):" if n > max_report else ":")]
    for j, idx in enumerate(shown):
        idx_t = tuple(int(i) for i in idx)
        where = f"[{', '.join(map(str, idx_t))}]"
        inp = f" input {_num(float(x[idx_t]))}" if x is not None else ""
        line = (f"  {where}{inp}: got {describe_code(int(g[idx_t]), fmt)}, "
                f"want {describe_code(int(w[idx_t]), fmt)}")
        if labels is not None:
            line += "; got matches " + (", ".join(labels[j]) if labels[j] else "no known profile or rule")
        lines.append(line)
    if labels:
        both = common(labels)
        if both:
            lines.append("every listed mismatch matches: " + ", ".join(both))
    return "\n".join(lines)
