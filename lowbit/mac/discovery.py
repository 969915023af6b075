"""``lowbit.mac.discover`` (this module: ``lowbit.mac.discovery``): derive a GEMM's bit-exact accumulator by probing it.

``discover(gemm, a_format, b_format, M=, N=, K=)`` sends crafted operands to ``gemm`` (any
callable taking A (M×K) and B (K×N) as code arrays and returning the M×N float32 result) and
reads, from its bits alone, a :class:`lowbit.mac.FusedBlock` — a :class:`~lowbit.mac.Unit` (what
one step computes) plus a :class:`~lowbit.mac.Schedule` (how K is walked) — or ``exact`` /
``ieee``; then it confirms the result on random operands of several distributions and returns it
only if lowbit reproduces every output bit of every call.  Otherwise it raises
:class:`DiscoveryError`, naming what it found and the probe that contradicts it.

Every probe is a dot product whose terms are exact powers of two (or 1.5 / 0.75 times one),
placed at chosen positions of K; all other products are zero, which take no part in a step.
The probes, in order (the relative magnitudes are chosen inside the formats' product range):

1. **separator**: 1 at position 0 and t at position 1.  A t whose result differs from the
   float32 sum fl32(1 + t) is below the chain's precision: it is the separator.  None: the sum
   is float32 addition or exact (``ieee`` / ``exact`` are tried).
2. **float32 boundaries**: 1 at p and the separator at q give fl32(1 + t) exactly when p and q
   are in different chains whose float32 results are added (split-K slices, promotion) — the
   segments of K (assumed contiguous).
3. **reduction order**: 1 in segments a and b and 2^24 in segment c give 2^24 + 2 when a and b
   are added before c joins them, 2^24 otherwise (float32 rounds 2^24 + 1 to 2^24): the tree
   of the segments' float32 additions, root split by root split.
4. **steps**: −1 at the segment's first position, +1 at p and the separator at q leave the
   separator only when q's step comes after p's (the cancelling pair resets the chain's
   exponent): the steps of the first segment, their sizes and the order K meets them
   (contiguous, partial k-tile first, interleaved runs).
5. **the unit**, inside one step: beside +1 and −1, 2^-k survives iff k <= F (the grid);
   0.75, 0.5 and 0.25 of a grid step show the term rounding; 1.5·1.5 beside −1.5·1.5 keeps
   2^-F only if operand exponents align (not the product's); 1 + 2^-k cancelled in a later
   step shows the sum's width S and, with 0.75 / 0.5 of its last place, its rounding; a NaN
   operand gives the NaN bits.

Assumptions, each checked by the final confirmation rather than trusted: segments are
contiguous ranges of K; a step's incoming accumulator is rounded like its terms; a
24-bit chain is a float32 (range 2^127 / 2^-126).  Floating-point operand formats only.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from typing import Callable

import numpy as np

from ..codec import decode, encode
from ..formats import Format, format as lookup
from .accumulators import ROUNDINGS, Exact, FusedBlock, IEEE, Schedule, Unit

TREE_BIG = 24  # 2^24 + 1 rounds to 2^24 in float32; 2^24 + 2 is exact
STEP_WINDOW = 128  # positions of the first segment whose steps are mapped pair by pair


class DiscoveryError(ValueError):
    """Nothing in lowbit's model space reproduces the GEMM: what was found, and the probe that
    contradicts it."""


@dataclasses.dataclass
class Report:
    """How a discovery went: calls to the GEMM, seconds spent, what each stage found."""

    calls: int = 0
    seconds: float = 0.0
    gemm_seconds: float = 0.0
    lines: list = dataclasses.field(default_factory=list)

    def log(self, line: str) -> None:
        self.lines.append(line)

    def __str__(self) -> str:
        head = f"{self.calls} calls to the GEMM, {self.seconds:.2f} s ({self.gemm_seconds:.2f} s in the GEMM)"
        return "\n".join([head] + [f"  {x}" for x in self.lines])


@functools.lru_cache(maxsize=None)
def _exact_code(f: Format, value_hex: str) -> int | None:
    """The code of f holding float.fromhex(value_hex) exactly (−0 excluded: probes use +0), or None.
    Keyed by the hex spelling so that 0.0 and −0.0 stay apart."""
    value = float.fromhex(value_hex)
    c = int(encode(np.array([value], np.float64), f, overflow="saturate")[0])
    if decode(np.array([c], f.code_dtype), f)[0] != value or (value == 0 and np.signbit(value)):
        return None
    return c


class Prober:
    """Builds operand codes for probes and calls the GEMM, keeping every call for the final check."""

    def __init__(self, gemm, fa: Format, fb: Format, M: int, N: int, K: int, report: Report):
        self.gemm, self.fa, self.fb, self.M, self.N, self.K = gemm, fa, fb, M, N, K
        self.report = report
        self.device = "cpu"
        self._b_found: dict = {}
        self.history: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.zero_a = self.code(fa, 0.0)
        self.zero_b = self.code(fb, 0.0)
        self.pa = self._exponents(fa)
        self.pb = self._exponents(fb)

    @staticmethod
    def _exponents(f: Format) -> tuple[int, int]:
        lo = int(np.floor(np.log2(f.min_subnormal)))
        hi = int(np.floor(np.log2(f.max_finite)))
        return lo, hi

    @property
    def product_range(self) -> tuple[int, int]:
        """Exponents e such that 2^e is a product of two powers of two of the formats."""
        return self.pa[0] + self.pb[0], self.pa[1] + self.pb[1]

    @staticmethod
    def code(f: Format, value: float) -> int:
        c = _exact_code(f, float(value).hex())
        if c is None:
            raise DiscoveryError(f"format {f.name!r} cannot hold the probe value {value!r} exactly")
        return c

    def fits(self, f: Format, value: float) -> bool:
        if value == 0:
            return True
        lo, hi = self._exponents(f)
        m, e = np.frexp(abs(value))  # value = m·2^e, m in [0.5, 1)
        return lo <= e - 1 <= hi and _exact_code(f, float(value).hex()) is not None

    def split(self, value: float, b_fixed: float | None = None) -> tuple[float, float]:
        """(a, b) with a·b == value exactly, both held by the formats (b as given, if given)."""
        if value == 0:
            return 0.0, 1.0 if b_fixed is None else b_fixed
        if b_fixed is not None:
            a = value / b_fixed
            if self.fits(self.fa, a):
                return a, b_fixed
            raise DiscoveryError(f"no operand pair gives the product {value!r} with b = {b_fixed!r}")
        e = int(np.floor(np.log2(abs(value))))
        for eb in sorted(range(self.pb[0], self.pb[1] + 1), key=lambda x: abs(x - e / 2)):
            b = 2.0 ** eb
            a = value / b
            if self.fits(self.fa, a) and self.fits(self.fb, b):
                return a, b
        raise DiscoveryError(f"formats {self.fa.name} x {self.fb.name} have no exact operand pair for the "
                             f"product {value!r}")

    def can_make(self, value: float) -> bool:
        """Is ``value`` a product of two operands the formats hold?"""
        try:
            self.split(value)
        except DiscoveryError:
            return False
        return True

    def _b_for(self, values) -> float:
        """One b (a power of two) at a position such that every a = v / b fits format A."""
        nz = tuple(sorted({v for v in values if v != 0}))
        if nz not in self._b_found:  # the same few value sets recur from call to call
            self._b_found[nz] = self._search_b(nz)
        b = self._b_found[nz]
        if b is None:
            raise DiscoveryError(f"no single operand b serves the products {list(nz)} at one position of K")
        return b

    def _search_b(self, nz: tuple):
        if not nz:
            return 1.0
        e = [int(np.floor(np.log2(abs(v)))) for v in nz]
        mid = (min(e) + max(e)) / 2
        for eb in sorted(range(self.pb[0], self.pb[1] + 1), key=lambda x: abs(x - mid / 2)):
            b = 2.0 ** eb
            if self.fits(self.fb, b) and all(self.fits(self.fa, v / b) for v in nz):
                return b
        return None

    def _serves(self, values: frozenset) -> bool:
        """Can one operand b at a position serve all these entries of probes sharing a call?
        Entries are products, or (a, b) pairs, which must then all name the same b."""
        pairs = {v[1] for v in values if isinstance(v, tuple)}
        if pairs:
            return len(pairs) == 1 and all(isinstance(v, tuple) or v == 0 for v in values)
        try:
            self._b_for(values)
        except DiscoveryError:
            return False
        return True

    def call(self, A: np.ndarray, B: np.ndarray) -> np.ndarray:
        t = time.perf_counter()
        C = self.gemm(A, B)
        self.report.gemm_seconds += time.perf_counter() - t
        self.report.calls += 1
        C = np.asarray(C)
        if C.shape != (self.M, self.N):
            raise DiscoveryError(f"the GEMM returned shape {C.shape}; expected (M, N) = {(self.M, self.N)}")
        if C.dtype != np.float32:
            raise DiscoveryError(f"the GEMM returned dtype {C.dtype}; expected float32")
        self.history.append((A, B, C.view(np.uint32).copy()))
        return C

    def probes(self, probes: list[dict]) -> np.ndarray:
        """Each probe a dict {k: product value} (or {k: (a, b)}): its dot product, float32, in order.
        Probes run as rows of A (or columns of B when N > M), as many per call as fit."""
        out = []
        by_rows = self.M >= self.N
        per = self.M if by_rows else self.N
        if not by_rows and self.fa != self.fb:
            raise DiscoveryError("column probes need A and B of one format; give M >= N")
        for chunk in self._chunks(probes, per):
            A = np.full((self.M, self.K), self.zero_a, self.fa.code_dtype)
            B = np.full((self.K, self.N), self.zero_b, self.fb.code_dtype)
            positions = sorted({k for p in chunk for k in p})
            for k in positions:
                vals = [p.get(k, 0.0) for p in chunk]
                pairs = [v for v in vals if isinstance(v, tuple)]
                if pairs:
                    fixed = {v[1] for v in pairs}
                    if len(fixed) != 1 or any(not isinstance(v, tuple) and v != 0 for v in vals):
                        raise DiscoveryError("probes sharing a call need one operand b per position")
                    shared = fixed.pop()
                else:
                    shared = self._b_for(vals)
                sb = self.code(self.fb, shared)
                if by_rows:
                    B[k, :] = sb
                else:
                    A[:, k] = sb  # the shared operand, here A's
                for i, v in enumerate(vals):
                    a = v[0] if isinstance(v, tuple) else (self.split(v, shared)[0] if v != 0 else 0.0)
                    ca = self.code(self.fa, a) if a != 0 else self.zero_a
                    if by_rows:
                        A[i, k] = ca
                    else:
                        B[k, i] = ca  # in column mode the varying operand is B's
            C = self.call(A, B)
            out.extend(C[:len(chunk), 0] if by_rows else C[0, :len(chunk)])
        return np.array(out, np.float32)

    def _chunks(self, probes: list[dict], per: int):
        """Consecutive probes, at most ``per`` a call, grouped so that one operand b per position
        serves every product there."""
        chunk: list[dict] = []
        at: dict[int, frozenset] = {}  # position -> the chunk's distinct entries there
        for p in probes:
            if chunk and (len(chunk) == per or not all(self._serves(at.get(k, frozenset()) | {v})
                                                       for k, v in p.items())):
                yield chunk
                chunk, at = [], {}
            chunk.append(p)
            for k, v in p.items():
                at[k] = at.get(k, frozenset()) | {v}
        if chunk:
            yield chunk

    def grid(self, common: dict, rows: list[tuple[int, float]], cols: list[tuple[int, float]]) -> np.ndarray:
        """One call: every output (i, j) is the dot product of the common terms, row i's term
        (position, product) and column j's term.  Positions of rows, columns and common terms
        must be distinct.  Returns C[:len(rows), :len(cols)]."""
        A = np.full((self.M, self.K), self.zero_a, self.fa.code_dtype)
        B = np.full((self.K, self.N), self.zero_b, self.fb.code_dtype)
        for k, v in common.items():
            a, b = self.split(v)
            A[:, k] = self.code(self.fa, a)
            B[k, :] = self.code(self.fb, b)
        for i, (k, v) in enumerate(rows):
            b = self._b_for([v])
            B[k, :] = self.code(self.fb, b)
            A[i, k] = self.code(self.fa, v / b)
        for j, (k, v) in enumerate(cols):
            a, b = self.split(v)
            A[:, k] = self.code(self.fa, a)
            B[k, j] = self.code(self.fb, b)
        return self.call(A, B)[:len(rows), :len(cols)]


def f32(x) -> float:
    return float(np.float32(x))


def discover(gemm: Callable, a_format, b_format, *, M: int, N: int, K: int, seed: int = 0,
             report: bool = False, device: str = "cpu"):
    """The accumulator that reproduces ``gemm`` bit for bit at this shape (see the module docstring).

    Args:
      gemm: ``gemm(A, B) -> C``: A (M×K) and B (K×N) as code arrays of ``a_format`` /
        ``b_format`` (the formats' bit patterns, as :func:`lowbit.matmul` takes them), C the M×N
        float32 result (numpy).
      M, N, K: the shape to probe at (the schedule found holds for it: ``for_k``).
      seed: of the random confirmation operands.
      report: also return a :class:`Report` (calls, seconds, what each stage found).
      device: where lowbit computes its candidates for the confirmation ("cpu" or "cuda").

    Raises:
      DiscoveryError: nothing in lowbit's model space reproduces ``gemm`` (the message says what
        was found and which probe contradicts it), or the formats cannot hold the probes.
    """
    fa, fb = lookup(a_format), lookup(b_format)
    for f, name in ((fa, "a_format"), (fb, "b_format")):
        if f.is_int or f.specials == "exponent_only":
            raise DiscoveryError(f"{name}={f.name!r}: discover probes floating-point operand formats with a zero")
    for name, v in (("M", M), ("N", N), ("K", K)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name}={v!r} is not allowed; allowed: an int >= 1")
    if K < 4:
        raise ValueError(f"K={K} is too short to probe; allowed: K >= 4")
    rep = Report()
    t0 = time.perf_counter()
    pr = Prober(gemm, fa, fb, int(M), int(N), int(K), rep)
    pr.device = device
    acc = _discover(pr, rep, seed)
    rep.seconds = time.perf_counter() - t0
    return (acc, rep) if report else acc


def _discover(pr: Prober, rep: Report, seed: int):
    lo, hi = pr.product_range
    lo = max(lo, -120)  # results stay float32 normal numbers
    top = min(hi, 125, lo + 60) - 2  # "1" of the probes: room below it for the separators and grids
    one = 2.0 ** top
    rep.log(f"product exponents {lo}..{hi}; probes scaled to 2^{top}")
    # 1. the grid: +1, −1 and 2^-k in one step leave 2^-k for k <= F
    grid = _grid(pr, one, lo)
    sep = _separator(pr, one, lo)
    if grid is None and sep is None:
        rep.log("no term below a step's precision: the sum is float32 addition or exact")
        return _confirm(pr, rep, seed, _plain_candidates(pr))
    if grid is None:
        raise DiscoveryError("+1, −1 and 2^-k at positions (0, 1, j), j <= 8, never lose 2^-k, yet the sum is not "
                             f"float32 addition (separator {sep}): no fused step of 3 or more products found")
    F, triple = grid
    rep.log(f"grid: F = {F} (positions {triple} share a step)")
    # 2. segments
    if sep is None:
        bounds = []
        rep.log("the chain and float32 addition agree on 1 + t for every t: no float32 boundary can be seen")
    else:
        t, chain_value = sep
        rep.log(f"separator 2^{np.log2(abs(t) / one):.2f} (x 1): inside one chain 1 + t gives {chain_value!r}, "
                f"float32 addition {f32(one + t)!r}")
        bounds = _segments(pr, one, t, chain_value)
    seg = list(zip([0] + bounds, bounds + [pr.K]))
    rep.log(f"{len(seg)} segment(s) with float32 additions between them: lengths {[b - a for a, b in seg]}")
    # 3. reduction tree
    tree = _tree(pr, seg, lo) if len(seg) > 2 else None
    rep.log("segments added " + ("in order" if tree is None else f"as the tree {tree}"))
    # 4. steps of the first segment
    classes = _steps(pr, one, one * 2.0 ** -(F + 2), seg[0])
    sizes = [len(c) for c in classes]
    rep.log(f"steps of segment 0 (first {sum(sizes)} positions): sizes {sizes[:12]}"
            f"{' ...' if len(sizes) > 12 else ''}; first {classes[0][:16]}")
    # 5. the unit
    unit, alternatives = _unit(pr, one, classes, triple, F, lo, rep)
    rep.log(f"unit: {unit}")
    cands = [FusedBlock.of(u, s, preset="discovered")
             for u in [unit] + alternatives for s in _schedules(pr, seg, tree, classes, unit)]
    return _confirm(pr, rep, seed, cands)


# ---- 1. separator ---------------------------------------------------------------------------------
def _separator(pr: Prober, one: float, lo: int):
    e1 = int(np.log2(one))
    tries = []
    for k in range(1, e1 - lo + 1):
        for m in (1.0, 0.75, 1.5, -0.75):
            tries.append(m * 2.0 ** (e1 - k))
    tries = [x for x in tries if np.log2(abs(x)) >= lo and pr.can_make(x)]
    got = pr.probes([{0: one, 1: x} for x in tries])
    # a t where the chain and float32 addition differ; the largest the chain drops entirely first
    differ = [(x, float(g)) for x, g in zip(tries, got) if float(g) != f32(one + x)]
    if not differ:
        return None
    dropped = [xg for xg in differ if xg[1] == one]
    return max(dropped or differ, key=lambda xg: abs(xg[0]))


def _grid(pr: Prober, one: float, lo: int):
    """(F, (0, 1, j)): the grid of a step holding positions 0, 1 and j, or None."""
    e1 = int(np.log2(one))
    ks = [k for k in range(1, e1 - lo + 1) if pr.can_make(2.0 ** (e1 - k))]
    for j in range(2, min(pr.K, 9)):
        got = pr.probes([{0: one, 1: -one, j: 2.0 ** (e1 - k)} for k in ks])
        kept = [k for k, g in zip(ks, got) if float(g) == 2.0 ** (e1 - k)]
        if len(kept) < len(ks):
            F = max(kept) if kept else 0
            if kept != [k for k in ks if k <= F]:
                raise DiscoveryError(f"beside +1 and −1 at positions 0, 1 the surviving 2^-k at {j} are "
                                     f"k = {kept}: not a grid 2^-F")
            return F, (0, 1, j)
    return None


# ---- 2. segments -----------------------------------------------------------------------------------
def _same(v: float, one: float, t: float, chain_value: float, where: str) -> bool:
    if v == chain_value:
        return True
    if v == f32(one + t):
        return False
    raise DiscoveryError(f"{where}: 1 + separator gave {v!r}, neither the in-chain {chain_value!r} nor the "
                         f"float32 sum {f32(one + t)!r}: not a chain of fused steps with float32 additions")


def _pair_probes(pr: Prober) -> bool:
    """Skewed shapes (decode: M of a few tokens): one probe per output along the long side beats a
    grid of min(M, N) × min(M, N) pairs (needs one format for A and B: the operands swap roles)."""
    return max(pr.M, pr.N) >= 4 * min(pr.M, pr.N) and pr.fa == pr.fb


def _segments(pr: Prober, one: float, t: float, chain_value: float) -> list[int]:
    """Positions b where a float32 addition separates b−1 and b (contiguous segments)."""
    K, w = pr.K, min(pr.M, pr.N)
    bounds = set()
    if _pair_probes(pr):
        got = pr.probes([{p: one, p + 1: t} for p in range(K - 1)])
        return sorted(p + 1 for p, v in enumerate(got)
                      if not _same(float(v), one, t, chain_value, f"positions {p}, {p + 1}"))
    for parity in (0, 1):
        start = 0
        while start < K:
            rows = [p for p in range(start + parity, min(K, start + 2 * w), 2)][:w]
            cols = [p + 1 for p in rows if p + 1 < K][:w]
            if not rows or not cols:
                break
            C = pr.grid({}, [(p, one) for p in rows], [(q, t) for q in cols])
            for i, p in enumerate(rows):
                for j, q in enumerate(cols):
                    if q == p + 1:
                        if not _same(float(C[i, j]), one, t, chain_value, f"positions {p}, {q}"):
                            bounds.add(q)
            start += 2 * w
    return sorted(bounds)


# ---- 3. the reduction tree ---------------------------------------------------------------------
def _tree(pr: Prober, seg: list, lo: int):
    """The tree of float32 additions over the segments (None: in order, left to right)."""
    m = len(seg)
    base = 2.0 ** (lo + 4)
    big = base * 2.0 ** TREE_BIG

    def joined_first(triples):
        probes = [{seg[a][0]: base, seg[b][0]: base, seg[c][0]: big} for a, b, c in triples]
        out = []
        for (a, b, c), v in zip(triples, pr.probes(probes)):
            if float(v) == big + 2 * base:
                out.append(True)
            elif float(v) == big:
                out.append(False)
            else:
                raise DiscoveryError(f"segments {a}, {b}, {c}: 1 + 1 + 2^24 gave {float(v) / base!r} (x 1), not a "
                                     "float32 addition of the segments' results")
        return out

    # in order?  (((s0 + s1) + s2) + ...): a, b join before c iff c > max(a, b)
    rng = np.random.default_rng(1)
    sample = [tuple(sorted(rng.choice(m, 3, replace=False))) for _ in range(min(64, m * m))]
    triples = [(a, b, c) for a, b, c in sample] + [(b, c, a) for a, b, c in sample]
    want = [True] * len(sample) + [False] * len(sample)
    if joined_first(triples) == want:
        return None
    # root split by root split, every range of a level in one batch
    todo, splits = [(0, m - 1)], {}
    while todo:
        triples = [(lo_, x, hi_) for lo_, hi_ in todo for x in range(lo_ + 1, hi_)]
        ans = dict(zip(triples, joined_first(triples))) if triples else {}
        nxt = []
        for lo_, hi_ in todo:
            r = next((x for x in range(lo_ + 1, hi_) if not ans[(lo_, x, hi_)]), hi_)
            splits[(lo_, hi_)] = r
            for a, b in ((lo_, r - 1), (r, hi_)):
                if b > a:
                    nxt.append((a, b))
        todo = nxt

    def build(a, b):
        if a == b:
            return a
        r = splits.get((a, b), b)
        return (build(a, r - 1), build(r, b))

    return build(0, m - 1)


# ---- 4. steps ---------------------------------------------------------------------------------------
def _steps(pr: Prober, one: float, t: float, seg0) -> list[list[int]]:
    """The steps of the first segment's first positions, in chain order (lists of positions)."""
    s0, end = seg0
    window = list(range(s0 + 1, min(end, s0 + 1 + STEP_WINDOW)))
    if len(window) < 2:
        return [list(range(s0, end))]
    odd, even = window[0::2], window[1::2]
    later = {}  # (p, q) -> rank(q) > rank(p)
    if _pair_probes(pr):
        pairs = [(p, q) for rows_all, cols_all in ((odd, even), (even, odd)) for p in rows_all for q in cols_all]
        got = pr.probes([{s0: -one, p: one, q: t} for p, q in pairs])
        for (p, q), v in zip(pairs, got):
            if float(v) not in (0.0, t):
                raise DiscoveryError(f"steps: −1 at {s0}, +1 at {p}, separator at {q} gave {float(v)!r}; "
                                     f"expected 0 or the separator {t!r}")
            later[(p, q)] = float(v) == t
    for rows_all, cols_all in (() if _pair_probes(pr) else ((odd, even), (even, odd))):
        for r0 in range(0, len(rows_all), pr.M):
            for c0 in range(0, len(cols_all), pr.N):
                rows, cols = rows_all[r0:r0 + pr.M], cols_all[c0:c0 + pr.N]
                if not rows or not cols:
                    continue
                C = pr.grid({s0: -one}, [(p, one) for p in rows], [(q, t) for q in cols])
                for i, p in enumerate(rows):
                    for j, q in enumerate(cols):
                        v = float(C[i, j])
                        if v not in (0.0, t):
                            raise DiscoveryError(f"steps: −1 at {s0}, +1 at {p}, separator at {q} gave {v!r}; "
                                                 f"expected 0 or the separator {t!r}")
                        later[(p, q)] = v == t
    # rank(x): 0 if no tested position comes before it, else 1 + the largest rank before it
    # (the longest chain of "comes before"; every step holds positions of both parities)
    before = {x: [p for (p, q), lt in later.items() if q == x and lt] for x in window}
    rank: dict[int, int] = {}

    def rank_of(x, depth=0):
        if x not in rank:
            if depth > len(window):
                raise DiscoveryError("steps: the 'comes before' answers form a cycle")
            rank[x] = 1 + max((rank_of(y, depth + 1) for y in before[x]), default=-1)
        return rank[x]

    for x in window:
        rank_of(x)
    n_ranks = max(rank.values()) + 1
    classes = [[x for x in window if rank[x] == r] for r in range(n_ranks)]
    classes[0] = [s0] + classes[0]  # the cancelling −1's position is in the first step
    return [sorted(c) for c in classes if c]


# ---- 5. the unit --------------------------------------------------------------------------------------
def _unit(pr: Prober, one: float, classes, triple, F: int, lo: int, rep: Report):
    c0, c1, c2 = triple
    step = next(c for c in classes if c2 in c)
    later_step = next((c for c in classes if c and min(c) > max(step)), None)
    e1 = int(np.log2(one))
    g = 2.0 ** (e1 - F)
    # term rounding: 0.75, 0.5, 0.25 grid steps, and -0.75
    rr = [m * g for m in (0.75, 0.5, 0.25, -0.75, -0.25)]
    if np.log2(0.25 * g) < lo:
        raise DiscoveryError("the formats cannot hold a quarter of the grid step below the probes' 1")
    r = [float(v) / g for v in pr.probes([{c0: one, c1: -one, c2: x} for x in rr])]
    table = {(0, 0, 0, 0, 0): "toward_zero", (1, 0, 0, -1, 0): "nearest_even", (1, 1, 0, -1, 0): "nearest_away",
             (1, 1, 1, -1, -1): "odd", (0, 0, 0, -1, -1): "down", (1, 1, 1, 0, 0): "up"}
    term = table.get(tuple(int(x) if x == int(x) else 9 for x in r))
    if term is None:
        raise DiscoveryError(f"0.75, 0.5, 0.25, −0.75, −0.25 grid steps beside ±1 gave {r} grid steps: "
                             f"no rounding of {ROUNDINGS}")
    # alignment: 1.5·2^x × 1.5·2^y and its negative, beside 2^(x+y−F): the grid is 2^(x+y−F) if
    # operand exponents align (the term survives), 2^(x+y+1−F) if the product's does (dropped)
    align = _alignment(pr, (c0, c1, c2), e1, F, rep)
    # sum width: 1 + 2^-k in the step, −1 in a later step
    sum_bits, sum_rounding = None, term
    if later_step is not None:
        d = later_step[0]
        ks2 = list(range(1, F + 1))
        got = pr.probes([{c0: one, c1: 2.0 ** (e1 - k), d: -one} for k in ks2])
        kept = [k for k, v in zip(ks2, got) if float(v) == 2.0 ** (e1 - k)]
        S = (max(kept) + 1) if kept else 1
        if kept and max(kept) == F:
            # no loss down to the grid: S > F.  1 + 1 + 2^-F, read as the chain's last value,
            # needs F + 2 bits (visible in the float32 result while F + 2 <= 24)
            S = None
            if F + 2 <= 24:
                v = float(pr.probes([{c0: one, c1: one, c2: g}])[0])
                S = None if v == 2 * one + g else F + 1
        sum_bits = S
        if S is not None and S + 1 <= F:
            lsb = 2.0 ** (e1 - (S - 1))
            got = [float(v) for v in pr.probes([{c0: one, c1: 0.75 * lsb, d: -one},
                                                {c0: one, c1: 0.5 * lsb, d: -one}])]
            sum_rounding = {(0.0, 0.0): "toward_zero", (lsb, 0.0): "nearest_even",
                            (lsb, lsb): "nearest_away"}.get(tuple(got))
            if sum_rounding is None:
                raise DiscoveryError(f"1 + 0.75 / 0.5 of the sum's last place gave {got}: no rounding")
        rep.log(f"sum: {S} significant bits, {sum_rounding}")
    else:
        rep.log("no later step to cancel in: the sum width is not probed (taken as unbounded)")
    nan = _nan_bits(pr, c0)
    emax, emin = (127, -126) if sum_bits == 24 else (None, None)
    inp = _input_rounding(pr, c0, rep)
    unit = Unit(block_size=max(len(c) for c in classes), frac_bits=F, align=align,
                term_rounding=term, acc_rounding=term, sum_bits=sum_bits, sum_rounding=sum_rounding,
                sum_emax=emax, sum_emin=emin, nan_bits=nan, input_rounding=inp)
    alternatives = []
    if emax is not None:
        alternatives.append(dataclasses.replace(unit, sum_emax=None, sum_emin=None))
    if sum_bits is None or sum_bits == F + 1:
        # a sum wider than F + 1 bits is cut again by the next step's grid: its width and rounding
        # show only through carries and a segment's last step — candidates for the confirmation
        for s in (None, F + 1, F + 2, F + 3, 24, 25):
            for r in dict.fromkeys((sum_rounding, "toward_zero", "nearest_even")):
                if (s, r) != (sum_bits, sum_rounding) and (s is None or s >= F + 1):
                    alternatives.append(dataclasses.replace(unit, sum_bits=s, sum_rounding=r))
    return unit, alternatives


def _alignment(pr: Prober, pos, e1: int, F: int, rep: Report) -> str:
    c0, c1, c2 = pos
    # both operands normal: a subnormal one aligns with its format's emin, not its own exponent
    for x in sorted(range(pr.fa.emin, pr.pa[1] + 1), key=lambda v: abs(v - e1 / 2)):
        y = e1 - x
        a, b = 1.5 * 2.0 ** x, 1.5 * 2.0 ** y
        if y < pr.fb.emin or not (pr.fits(pr.fa, a) and pr.fits(pr.fb, b)):
            continue
        small = 2.0 ** (x + y - F)
        try:
            sa, sb = pr.split(small)
        except DiscoveryError:
            continue
        v = float(pr.probes([{c0: (a, b), c1: (-a, b), c2: (sa, sb)}])[0])
        if v == small:
            return "operands"
        if v == 0:
            return "product"
        raise DiscoveryError(f"1.5·1.5 − 1.5·1.5 + 2^(e−F) gave {v!r}: neither alignment")
    rep.log("alignment not probed (the formats hold no 1.5·2^x pair here): taken as operands")
    return "operands"


def _input_rounding(pr: Prober, k: int, rep: Report) -> str:
    """float32 operands: how many fraction bits reach the step (a = 1 + 2^-j alone, times 1), and,
    where it is TF32's 10, how the rest is rounded off (0.75 and 0.5 of TF32's last place)."""
    f = pr.fa
    if f.mbits <= 10 or pr.fb.name != f.name:
        return "none"
    js = list(range(1, f.mbits + 1))
    got = pr.probes([{k: (1.0 + 2.0 ** -j, 1.0)} for j in js])
    kept = [j for j, v in zip(js, got) if float(v) == 1.0 + 2.0 ** -j]
    p = max(kept) if kept else 0
    if p == f.mbits:
        return "none"
    if p != 10:
        raise DiscoveryError(f"float32 operands keep {p} fraction bits: lowbit models 23 (none) or 10 (TF32)")
    ulp = 2.0 ** -10
    r = [float(v) for v in pr.probes([{k: (1.0 + 0.75 * ulp, 1.0)}, {k: (1.0 + 0.5 * ulp, 1.0)},
                                      {k: (1.0 + 1.5 * ulp, 1.0)}])]
    mode = {(1.0, 1.0, 1.0 + ulp): "toward_zero", (1.0 + ulp, 1.0, 1.0 + 2 * ulp): "nearest_even",
            (1.0 + ulp, 1.0 + ulp, 1.0 + 2 * ulp): "nearest_away"}.get(tuple(r))
    if mode is None:
        raise DiscoveryError(f"float32 operands 1 + 0.75, 0.5, 1.5 TF32 ulps gave {r}: no input rounding")
    rep.log(f"float32 operands cut to TF32 (10 fraction bits), {mode}")
    return mode


def _nan_bits(pr: Prober, k: int) -> int:
    if not pr.fa.has_nan:
        return 0x7FC00000
    A = np.full((pr.M, pr.K), pr.zero_a, pr.fa.code_dtype)
    B = np.full((pr.K, pr.N), pr.zero_b, pr.fb.code_dtype)
    A[:, k] = int(encode(np.array([np.nan]), pr.fa)[0])
    B[k, :] = pr.code(pr.fb, 1.0)
    C = pr.call(A, B)
    bits = int(C.view(np.uint32)[0, 0])
    return bits if (bits >> 23) & 0xFF == 0xFF and bits & 0x7FFFFF else 0x7FC00000


# ---- schedules ------------------------------------------------------------------------------------
def _schedules(pr: Prober, seg, tree, classes, unit) -> list[Schedule]:
    """Schedules consistent with the segments, their tree and the first steps, most specific first."""
    K = pr.K
    lengths = tuple(b - a for a, b in seg)
    n = unit.block_size
    first = classes[0]
    s0 = seg[0][0]
    orders: list[dict] = []
    contiguous = first == list(range(s0, s0 + len(first)))
    if contiguous and len(first) == n:
        orders.append({})
    elif contiguous and len(first) < n:  # a partial k-tile first (CUTLASS 2.x residue-first mainloop)
        r = len(first)
        for kt in (16, 32, 64, 128, 256, 512):
            if kt % n == 0 and lengths[0] % kt == r:
                orders.append({"k_tile": kt})
    else:  # interleaved runs
        runs = np.split(np.array(first), np.flatnonzero(np.diff(first) != 1) + 1)
        run = len(runs[0])
        if len(runs) > 1:
            stride = int(runs[1][0] - runs[0][0])
            orders.append({"interleave_group": stride // run * n, "interleave_run": run})
    if not orders:
        orders.append({})
    out = []
    regular = len(set(lengths[:-1])) <= 1 and lengths[-1] <= lengths[0]
    for o in orders:
        if len(seg) == 1:
            out.append(Schedule(for_k=K, **o))
            continue
        if tree is None and regular and not o.get("k_tile"):
            out.append(Schedule(promote_every=lengths[0], for_k=K, **o))  # found at this K only
        out.append(Schedule(split_slices=lengths, split_tree=tree, for_k=K, **o))
    return out


# ---- confirmation -----------------------------------------------------------------------------------
def _plain_candidates(pr: Prober):
    return [Exact(), IEEE(), IEEE(order="pairwise")]


def _random_operands(pr: Prober, rng) -> list[tuple[np.ndarray, np.ndarray, str]]:
    out = []
    for f_name in ("normal", "wide", "every code", "cancellation"):
        ops = []
        for f, shape in ((pr.fa, (pr.M, pr.K)), (pr.fb, (pr.K, pr.N))):
            codes = (np.arange(1 << f.bits, dtype=np.uint32) if f.bits <= 16 else
                     rng.integers(0, 1 << 32, 1 << 16, dtype=np.uint64).astype(np.uint32)).astype(f.code_dtype)
            vals = decode(codes, f)
            finite = codes[np.isfinite(vals) & (np.abs(vals) < 2.0 ** 60) & (np.abs(vals) > 2.0 ** -60)]
            if f_name == "normal":
                c = encode(rng.normal(size=shape), f, overflow="saturate")
            elif f_name == "wide":
                c = encode(rng.normal(size=shape) * 2.0 ** rng.integers(-8, 8, size=shape), f, overflow="saturate")
            elif f_name == "every code":
                c = rng.choice(finite, size=shape)
            else:
                x = rng.normal(size=shape)
                c = encode(x, f, overflow="saturate")
            ops.append(np.asarray(c, f.code_dtype))
        A, B = ops
        if f_name == "cancellation":  # pairs of opposite products along K
            half = pr.K // 2
            B = B.copy()
            B[half:2 * half] = B[:half]
            Av = decode(A, pr.fa)
            A = A.copy()
            A[:, half:2 * half] = encode(-Av[:, :half] * (1 + rng.integers(0, 2, (pr.M, half)) * 2.0 ** -3),
                                         pr.fa, overflow="saturate")
        out.append((A, B, f_name))
    return out


def _confirm(pr: Prober, rep: Report, seed: int, candidates: list):
    from .api import matmul

    rng = np.random.default_rng(seed)
    for A, B, name in _random_operands(pr, rng):
        pr.call(A, B)
    calls = [(A, B, C) for A, B, C in pr.history]
    worst = None
    for cand in candidates:
        bad = None
        for i, (A, B, C) in enumerate(calls):
            try:
                with np.errstate(all="ignore"):
                    dev = pr.device if isinstance(cand, FusedBlock) else "cpu"
                    got = matmul(A, B, pr.fa, pr.fb, accumulator=cand, device=dev).view(np.uint32)
            except ValueError as err:
                bad = (i, -1, str(err))
                break
            diff = np.flatnonzero(got != C)
            if diff.size:
                bad = (i, int(diff.size), f"output {np.unravel_index(diff[0], C.shape)}: GEMM "
                                          f"{C.flat[diff[0]]:#010x}, model {got.flat[diff[0]]:#010x}")
                break
        if bad is None:
            rep.log(f"confirmed on {len(calls)} calls ({len(calls) - len(pr.history) + 4} random): {cand!r}")
            return cand
        if worst is None:
            worst = (cand, bad)
    cand, (i, n, what) = worst
    kind = "random" if i >= len(calls) - 4 else "crafted"
    raise DiscoveryError(f"no accumulator in lowbit's model space reproduces the GEMM.  Found: {cand!r}; "
                         f"it fails call {i} ({kind} operands, {n} outputs differ; {what}).  "
                         f"Steps so far:\n" + "\n".join(rep.lines))
