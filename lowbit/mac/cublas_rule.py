"""cuBLAS's K walk at any GEMM shape: kernel families, their walks, and a shape → kernel table.

cuBLAS (13.0 on SM90) runs, per GEMM shape, one kernel out of a few families — nvjet wgmma
kernels (with or without split-K), CUTLASS 2.x ``mma.sync`` / ``wmma`` kernels with split-K,
sm90/sm80 xmma kernels, SIMT and GEMV kernels for float32.  What the shape changes is the
order K is summed in: the tensor-core step (``block`` products), the k-tile a CUTLASS mainloop
runs first (its residue), and the split-K slices (``split`` slices of whole ``granule``s of K,
each a chain from 0, their results added in order in ``reduce``).

* :func:`describe` reads a launched kernel (name and grid, from :func:`lowbit.mac.sweep.record`)
  as a family key and its split count: CUTLASS kernels put the split in grid z; nvjet splitK
  kernels launch (output tiles, rounded up to the cluster) × split CTAs.
* :func:`fit` chooses, per family, the walk (block, k-tile, granule, reduction) that reproduces
  every output sample recorded for it, from a small candidate set: the method is data, run by
  ``lowbit calibrate --sweep`` on any GPU.
* :class:`Rule` is the result: recorded shapes → (walk, split); a shape not recorded takes the
  walk and split of its nearest recorded shape (log-scale distance in M, N, K, same
  divisibility of N and K by 8 and 16) — a prediction whose held-out accuracy is measured
  (``vectors/hardware/h100/sweep/README.md``), stated in the data file.
"""

from __future__ import annotations

import functools
import gzip
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import sweep

RULE_FORMAT = "lowbit-cublas-rule/1"
SHIPPED = Path(__file__).resolve().parent / "data" / "cublas"
PERSISTENT_CTAS = 132
AUX_KERNELS = ("splitKreduce", "scal_kernel", "reduce_1Block_kernel", "split_k_kernel")


def _short(name: str) -> str:
    m = re.search(r"Kernel2<(\w+)>", name)
    if m:
        return m.group(1)
    name = re.sub(r"^std::enable_if<.*?>::type ", "", name)  # a SFINAE return type before the name
    m = re.match(r"(?:void )?([\w:]+)", name)
    return m.group(1) if m else name


def _is_aux(name: str) -> bool:
    return any(a in name for a in AUX_KERNELS)


def main_kernel(kernels):
    """The GEMM kernel among those launched for one shape (not the split-K reduction)."""
    for k in kernels:
        if not _is_aux(k[0]):
            return k
    return None


def describe(kernels, M: int, N: int, K: int) -> tuple[str, int] | None:
    """(family, split) of the kernels launched for one GEMM: the family is the main kernel's
    short name with its tile sizes dropped (the k-tile and instruction kept); split the number
    of split-K slices (1 without a reduction kernel)."""
    main = main_kernel(kernels)
    if main is None:
        return None
    name, grid = _short(main[0]), list(main[1])
    reduced = any(_is_aux(k[0]) for k in kernels)
    split = 1
    m = re.match(r"nvjet_sm90_\w+?_(\d+)x(\d+)_(\d+)x\d+_(\d+)x(\d+)_([hv])_", name)
    if m:
        t1, t2, tk, c1, c2 = (int(v) for v in m.groups()[:5])
        family = f"nvjet[k{tk}]" + ("splitK" if "splitK" in name else "") + name.split("_bz")[-1]
        family = family.replace("_NNT", "").replace("_NNN", "").replace("_TNT", "").replace("_TNN", "")
        if "splitK" in name:
            tiles = -(-(-(-N // t1)) // c1) * c1 * (-(-(-(-M // t2)) // c2) * c2)
            total = grid[0] * grid[1] * grid[2]
            # a persistent launch (one CTA per SM, 132 on an H100) hides the split: 0, found
            # from the outputs where they were sampled
            split = 0 if total % tiles or total == PERSISTENT_CTAS and tiles * 2 > total else total // tiles
        return family, split
    if len(grid) == 3 and grid[2] > 1 and "cutlass" in name:
        split = grid[2]  # CUTLASS split-K: grid z; serial split-K (no reduction kernel) adds in order too
    elif reduced and len(grid) == 3:
        split = grid[2]
    family = re.sub(r"_(\d+)x(\d+)_(\d+)x(\d+)_", r"_\1x\2_k\3_", name)
    family = re.sub(r"tilesize(\d+)x(\d+)x(\d+)", r"k\3", family)
    family = re.sub(r"_(cgasize|warpgroupsize|warpsize)\d+x\d+x\d+", "", family)
    return family + ("+reduce" if reduced else ""), split


@dataclass(frozen=True)
class Walk:
    """How a kernel family sums K: ``block`` products per step (1: a float32 FMA chain), the
    k-tile whose residue each slice runs first (None: in order), split-K slices of whole
    ``granule``s, their results added in ``reduce``."""

    block: int
    k_tile: int | None = None
    granule: int = 1
    reduce: str = "float32"

    def key(self) -> str:
        return f"b{self.block}-t{self.k_tile or 0}-g{self.granule}-{self.reduce}"

    @classmethod
    def from_key(cls, key: str) -> "Walk":
        b, t, g, r = key.split("-", 3)
        return cls(int(b[1:]), int(t[1:]) or None, int(g[1:]), r)


def accumulator(path: str, walk: Walk, split: int, K: int, granule: int | None = None):
    """The lowbit accumulator of ``path``'s GEMM under ``walk`` with ``split`` slices of whole
    ``granule``s (default the walk's) of K."""
    import dataclasses

    from . import h100_paths as hp
    from .accumulators import H100_FP8_UNIT, Exact, FusedBlock, Schedule

    fmt = sweep.PATHS[path][0]
    if fmt == "int8":
        return Exact(formats=("int8",), preset=path)
    if walk.block == 1:
        acc = dataclasses.replace(hp.h100_tf32_triton(32, "ieee"), formats=(fmt,), preset=path)
    elif fmt == "float8_e4m3fn":
        acc = FusedBlock.of(H100_FP8_UNIT, Schedule(promote_every=None if "fast" in path else 128),
                            formats=("float8_e4m3fn",), preset=path)
    elif path == "fp16-acc16":
        acc = hp._tensor_core(walk.block, fmt, path, sum_bits=11, sum_rounding="nearest_even", sum_emax=15,
                              sum_emin=-14)
    else:
        acc = hp._tensor_core(walk.block, fmt, path)
        if fmt == "float32":
            acc = dataclasses.replace(acc, input_rounding="nearest_even")
    acc = dataclasses.replace(acc, k_tile=walk.k_tile if walk.k_tile and walk.k_tile < K else None,
                              split_reduce=walk.reduce, for_k=K)
    if split > 1:
        acc = dataclasses.replace(acc, split_k=split, split_granule=granule or walk.granule)
    return acc


def emulate(path: str, walk: Walk, split: int, M: int, N: int, K: int, rows, cols, granule=None) -> np.ndarray:
    """The sampled outputs' bits (as :func:`lowbit.mac.sweep.record` keeps them) under a walk."""
    from .api import matmul

    a, b = sweep.operand_codes(path, M, N, K, rows, cols)
    fmt, out = sweep.PATHS[path][0], sweep.PATHS[path][1]
    c = matmul(a, b, fmt, fmt, accumulator=accumulator(path, walk, split, K, granule), out_dtype=out, M=M, N=N, K=K)
    c = np.asarray(c)
    if out == "int32":
        return c.astype(np.int64).astype(np.uint32).reshape(-1)
    if out == "float32":
        return c.view(np.uint32).reshape(-1)
    return c.view(np.uint16).astype(np.uint32).reshape(-1)


def candidates(path: str, family: str) -> list:
    """The walks :func:`fit` tries for a family: steps of the instruction named (16816 → 16,
    1688 → 8, wgmma 16 / 32 for FP8, SIMT / GEMV / FFMA → 1), with and without the family's
    k-tile run residue first, granules of 128 bits of operand or the k-tile, reductions in float32
    or (reduced-precision kernels) of partials stored in the output format."""
    fmt, out = sweep.PATHS[path][0], sweep.PATHS[path][1]
    bits = {"bfloat16": 16, "float16": 16, "float32": 32, "float8_e4m3fn": 8, "int8": 8}[fmt]
    m = re.search(r"\[k(\d+)\]|_k(\d+)", family)
    tk = int(next(g for g in m.groups() if g)) if m else None
    if fmt == "int8":
        return [Walk(16)]
    if re.search(r"simt|ffma|gemv|dot_kernel|gemmSN|sgemm", family):
        blocks = [1]
    elif fmt == "float8_e4m3fn":
        blocks = [32]
    elif "1688" in family or "h1688" in family:
        blocks = [8] if fmt != "float32" else [8, 4]
    elif fmt == "float32":
        blocks = [8]
    else:
        blocks = [16, 8]
    tiles = [None] + ([tk] if tk else []) + ([32, 64] if "cutlass_75" in family and not tk else [])
    # the granule is the walk's default only: each shape's own is searched (:func:`granules`)
    grans = [tk] if family.startswith("nvjet") and tk else [max(1, 128 // bits)]
    # reduced-precision reduction kernels (tensorop_bf16_s… / tensorop_f16_s…) store each slice
    # in the output format; FP16-accumulating kernels add the slices in float16
    rpr = re.search(r"tensorop_(bf16|f16)_s", family) is not None
    reduces = [out + "-partials", "float32"] if rpr and out in ("float16", "bfloat16") else ["float32"]
    if path == "fp16-acc16":
        reduces = ["float16", "float32"]
    return [Walk(b, t, g, r) for b in blocks for t in tiles for g in grans for r in reduces]


def _samples(record: dict, index: int):
    s = str(index)
    if s not in record["bits"]:
        return None
    return record["rows"][s], record["cols"][s], np.asarray(record["bits"][s], np.uint32)


def load_record(path) -> dict:
    """A :func:`lowbit.mac.sweep.record` result saved as ``<path>.json.gz`` (kernel names
    deduplicated into ``kernel_names``), with kernels expanded back to (name, grid, block)."""
    with gzip.open(path, "rt") as f:
        r = json.load(f)
    if "kernel_names" in r:
        names = r["kernel_names"]
        r["kernels"] = [[(names[k[0]], k[1:4], k[4:7]) for k in ks] for ks in r["kernels"]]
    return r


def save_record(record: dict, dest) -> None:
    """Write a :func:`lowbit.mac.sweep.record` result as :func:`load_record` reads it: kernel
    names deduplicated into ``kernel_names``, each launch [name index, grid..., block...]."""
    names = sorted({k[0] for ks in record["kernels"] for k in ks})
    index = {n: j for j, n in enumerate(names)}
    out = dict(record, kernel_names=names,
               kernels=[[[index[k[0]], *k[1], *k[2]] for k in ks] for ks in record["kernels"]])
    with gzip.open(dest, "wt") as f:
        json.dump(out, f, separators=(",", ":"))


GRANULES = (1, 2, 4, 8, 16, 32, 64, 128)


def granules(walk: Walk, split: int, K: int) -> list:
    """Granules g whose slices, round_up(ceil(K / split), g) long, make exactly ``split``
    slices (the kernel's grid says how many): the walk's own first.  cuBLAS's CUTLASS kernels
    do not always cut at the same granule (TF32 64×64×48 into 12 slices of 4, 64×64×4096 into 22
    of 192), so each recorded shape keeps the granule its outputs show."""
    out = []
    for g in (walk.granule,) + GRANULES:
        per = -(-(-(-K // split)) // g) * g
        if g not in out and split > 1 and -(-K // per) == split:
            out.append(g)
    return out or [walk.granule]


def _match(record, path, walk, i, split):
    """The granule under which ``walk`` with ``split`` slices reproduces shape ``i`` (or None)."""
    M, N, K = record["shapes"][i]
    rows, cols, want = _samples(record, i)
    for g in granules(walk, split, K) if split > 1 else [walk.granule]:
        try:
            if np.array_equal(emulate(path, walk, split, M, N, K, rows, cols, g), want):
                return g
        except ValueError:
            return None
    return None


def _matches(record, path, walk, i, split) -> bool:
    return _match(record, path, walk, i, split) is not None


def find_split(record, path, walk, i, most: int = 64) -> int | None:
    """The split count (1..most) under which ``walk`` reproduces shape ``i``'s samples."""
    M, N, K = record["shapes"][i]
    rows, cols, want = _samples(record, i)
    for s in range(1, most + 1):
        if s > 1 and -(-K // walk.granule) < s:
            break
        if np.array_equal(emulate(path, walk, s, M, N, K, rows, cols), want):
            return s
    return None


def fit(record: dict, *, pick: int = 10, exclude=(), log=None) -> dict:
    """Per kernel family of one recorded path, the walk that reproduces its output samples, and
    per recorded shape its (walk, split).

    For each family the candidate walks (:func:`candidates`) are tried on up to ``pick`` of its
    sampled shapes (most slices and K off the k-tile first); of those reproducing all of them,
    the one reproducing most of the family's sampled shapes wins.  A persistent nvjet launch
    hides its split: it is searched for on the outputs where they were sampled.  ``exclude``:
    shape indices held out, never looked at.  Returns {"families": {family: {"walk", "shapes",
    "matched"}}, "schedules": {index: [walk key or None, split or None, granule or 0 (the walk's)]}}."""
    path = record["path"]
    described, fams = {}, {}
    for i, (M, N, K) in enumerate(record["shapes"]):
        if i in exclude:
            continue
        d = describe(record["kernels"][i], M, N, K)
        if d is None:
            continue
        described[i] = d
        if str(i) in record["bits"]:
            fams.setdefault(d[0], []).append(i)
    walks, families, granule = {}, {}, {}
    for fam, items in sorted(fams.items()):
        known = [i for i in items if described[i][1] > 0]

        def hardness(i):
            M, N, K = record["shapes"][i]
            return (-min(described[i][1], 4), -(K % 64 != 0), -K)

        picks = sorted(known, key=hardness)[:pick]
        passing = [c for c in (candidates(path, fam) if picks else [])
                   if all(_matches(record, path, c, i, described[i][1]) for i in picks)]
        best, best_n = None, -1
        score = sorted(known, key=hardness)[pick:pick + 30]
        for c in passing:
            n = sum(_matches(record, path, c, i, described[i][1]) for i in score)
            if n > best_n:
                best, best_n = c, n
            if len(passing) == 1:
                break
        if best is None and not known and items:  # every shape persistent: search splits with each walk
            for c in candidates(path, fam):
                if find_split(record, path, c, items[0]) is not None:
                    best = c
                    break
        walks[fam] = best
        matched = 0
        for i in items:
            if best is None:
                continue
            if described[i][1] == 0:
                s = find_split(record, path, best, i)
                described[i] = (fam, s or 0)
                matched += s is not None
            else:
                g = _match(record, path, best, i, described[i][1])
                matched += g is not None
                if g is not None and g != best.granule and described[i][1] > 1:
                    granule[i] = g
        families[fam] = {"walk": best.key() if best else None, "shapes": len(items), "matched": int(matched)}
        if log:
            log(f"{path} {fam}: {families[fam]['walk']} {matched}/{len(items)}")
    schedules = {}
    for i, (fam, split) in described.items():
        w = walks.get(fam)
        if fam not in walks:  # a family seen only without samples: no walk known
            w = None
        schedules[i] = [w.key() if w else None, split or None, granule.get(i, 0)]
    return {"families": families, "schedules": schedules}


# ---- the rule: recorded shapes -> (walk, split), nearest recorded shape elsewhere -------------
def align_class(N, K) -> np.ndarray:
    """What cuBLAS's kernel choice reads of the leading dimensions besides size: N and K's
    divisibility by 8, 4 and 2 (16-byte, 8-byte, 4-byte alignment of rows of 16-bit data), as
    (gcd(N, 8), gcd(K, 8)) — for one shape or, given arrays, one row per shape."""
    return np.stack([np.gcd(N, 8), np.gcd(K, 8)], axis=-1)


@dataclass(frozen=True)
class Rule:
    """One GEMM path's shape → (walk, split) rule on one GPU and cuBLAS version."""

    path: str
    walks: tuple  # walk keys; a table row's walk index -1: the kernel family's walk is not known
    families: tuple  # the kernel family of each walk index (for messages), and of unknowns
    table: np.ndarray  # int64 rows: M, N, K, walk index (-1 unknown), split (0 unknown), family index,
    #                    granule of the slices (0: the walk's)

    @functools.cached_property
    def _classes(self) -> np.ndarray:
        """Each row's :func:`align_class` (computed once per rule, not per lookup)."""
        return align_class(self.table[:, 1], self.table[:, 2])

    def recorded(self, M: int, N: int, K: int) -> np.ndarray:
        """Indices of the table rows recorded at exactly this shape (the first one counts)."""
        t = self.table
        return np.flatnonzero((t[:, 0] == M) & (t[:, 1] == N) & (t[:, 2] == K))

    def lookup(self, M: int, N: int, K: int):
        """(Walk, split, granule, how): the recorded shape's, else the nearest recorded shape's
        with the same alignment class (:func:`align_class`), nearest in log2 M, log2 N, log2 K.
        Raises LookupError where that shape's kernel family has no known walk."""
        t = self.table
        hit = self.recorded(M, N, K)
        if hit.size:
            row, how = t[hit[0]], "recorded"
        else:
            usable = ~((t[:, 3] >= 0) & (t[:, 4] <= 0))  # a known walk whose split was not seen: skip
            same = np.flatnonzero((self._classes == align_class(N, K)).all(axis=1) & usable)
            pool = same if same.size else np.flatnonzero(usable)
            d = (np.log2(t[pool, :3]) - np.log2([M, N, K])) ** 2
            row = t[pool[int(np.argmin(d.sum(axis=1)))]]
            how = f"predicted from the recorded {row[0]}x{row[1]}x{row[2]}"
        w, s, f, g = (int(v) for v in row[3:7])
        if w < 0 or s <= 0:
            raise LookupError(f"{self.path} at M={M}, N={N}, K={K}: cuBLAS runs {self.families[f]} there ({how}), "
                              f"a kernel family whose K walk is not known{' (split not seen)' if w >= 0 else ''}")
        return Walk.from_key(self.walks[w]), s, g or None, how


def _index(values: list, v) -> int:
    """v's index in ``values``, appended first if new (-1 for None: no walk known)."""
    if v is None:
        return -1
    if v not in values:
        values.append(v)
    return values.index(v)


def build_rule(record: dict, fitted: dict) -> Rule:
    """The :class:`Rule` of a recorded path from :func:`fit`'s result (its schedules)."""
    walks, fams, rows = [], [], []
    for i, (w, s, g) in sorted((int(k), v) for k, v in fitted["schedules"].items()):
        M, N, K = record["shapes"][i]
        fam = describe(record["kernels"][i], M, N, K)[0]
        rows.append((M, N, K, _index(walks, w), s or 0, _index(fams, fam), g))
    return Rule(record["path"], tuple(walks), tuple(fams), np.array(rows, np.int64).reshape(-1, 7))


def extend_rule(rule: Rule, record: dict, families: dict, exclude=()) -> Rule:
    """``rule`` with the shapes of another recording of the same path added: each shape's
    kernel family (from its launch alone, no output samples needed) takes the walk ``families``
    fitted for it; shapes already in the rule and ``exclude`` (held out) are skipped."""
    walks, fams = list(rule.walks), list(rule.families)
    have = {tuple(r) for r in rule.table[:, :3].tolist()}
    rows = []
    for i, (M, N, K) in enumerate(record["shapes"]):
        if i in exclude or (M, N, K) in have:
            continue
        d = describe(record["kernels"][i], M, N, K)
        if d is None:
            continue
        fam, split = d
        w = (families.get(fam) or {}).get("walk")
        rows.append((M, N, K, _index(walks, w), split, _index(fams, fam), 0))
        have.add((M, N, K))
    table = np.concatenate([rule.table, np.array(rows, np.int64).reshape(-1, 7)])
    return Rule(rule.path, tuple(walks), tuple(fams), table)


def rule_to_dict(rule: Rule) -> dict:
    """A rule as JSON: its table as little-endian int32 rows, base64 (a list of lists takes a
    second to parse; this, milliseconds)."""
    import base64

    table = np.ascontiguousarray(rule.table, dtype="<i4")
    return {"walks": list(rule.walks), "families": list(rule.families), "rows": int(len(table)),
            "table_int32": base64.b64encode(table.tobytes()).decode()}


def rule_from_dict(path: str, d: dict) -> Rule:
    import base64

    if "table_int32" in d:
        table = np.frombuffer(base64.b64decode(d["table_int32"]), dtype="<i4").astype(np.int64).reshape(-1, 7)
    else:  # the list form fit.py's intermediate files keep
        table = np.array(d["table"], np.int64).reshape(-1, 7)
    return Rule(path, tuple(d["walks"]), tuple(d["families"]), table)


def held_out(record: dict, rule: Rule, indices, fitted: dict | None = None) -> dict:
    """Bit-for-bit reproduction of held-out shapes' samples: by the rule's prediction and, with
    ``fitted`` walks, by the shape's own recorded kernel (what a calibration of it would give)."""
    path = record["path"]
    walks = {f: v["walk"] for f, v in (fitted or {}).get("families", {}).items()}
    out = {"shapes": 0, "predicted": 0, "own_kernel": 0, "unknown_family": 0, "failures": []}
    for i in indices:
        if str(i) not in record["bits"]:
            continue
        M, N, K = record["shapes"][i]
        rows, cols, want = _samples(record, i)
        out["shapes"] += 1
        try:
            walk, split, g, _ = rule.lookup(M, N, K)
            ok = np.array_equal(emulate(path, walk, split, M, N, K, rows, cols, g), want)
        except (LookupError, ValueError):
            ok = False
        out["predicted"] += bool(ok)
        if not ok:
            out["failures"].append([M, N, K])
        d = describe(record["kernels"][i], M, N, K)
        w = walks.get(d[0]) if d else None
        if w is None:
            out["unknown_family"] += 1
            continue
        s = d[1] or find_split(record, path, Walk.from_key(w), i)
        if s and _matches(record, path, Walk.from_key(w), i, s):
            out["own_kernel"] += 1
    return out


# ---- the presets' use of the shipped rules -----------------------------------------------
_RULES: dict = {}


def cache_file() -> Path | None:
    """The rule ``lowbit calibrate --sweep`` wrote in the user cache for an SM90 GPU, if any."""
    from .calibration import cache_dir

    files = sorted((cache_dir().parent / "cublas").glob("*.json.gz"))
    return files[0] if files else None


def read(path: Path) -> dict:
    with gzip.open(path, "rt") as f:
        doc = json.load(f)
    if doc.get("format") != RULE_FORMAT:
        raise ValueError(f"{path}: not a lowbit cuBLAS rule file (format {doc.get('format')!r}, want {RULE_FORMAT!r})")
    doc["rules"] = {k: rule_from_dict(k, v) for k, v in doc["paths"].items()}
    doc["file"] = str(path)
    return doc


def shipped() -> dict:
    """The rules the presets read: the user cache's (``lowbit calibrate --sweep``) where it has
    the path, else the shipped ones (``lowbit/mac/data/cublas/nvidia-h200.json.gz``):
    {"gpu", "versions", "rules": {path: Rule}, "user_rules": {path: Rule} (the cache's alone),
    "held_out", "file"}.  Read once per user-cache file, not per call."""
    user = cache_file()
    key = str(user)
    if key not in _RULES:
        doc = dict(read(SHIPPED / "nvidia-h200.json.gz"), user_rules={})
        if user is not None:  # the user's recorded shapes first, then the shipped table
            mine = read(user)["rules"]
            doc.update(rules={p: merge(mine[p], r) if p in mine else r for p, r in doc["rules"].items()},
                       user_rules=mine, user_file=str(user))
        _RULES.clear()
        _RULES[key] = doc
    return _RULES[key]


def document(gpu: dict, fits: dict) -> dict:
    """The rule file's content from per-path fits ({path: {"rule", "families", "held_out"}})."""
    return {"format": RULE_FORMAT, "gpu": gpu["gpu"], "sm": gpu["sm"], "versions": gpu["versions"],
            "date": gpu.get("date"),
            "paths": {p: rule_to_dict(rule_from_dict(p, f["rule"])) for p, f in sorted(fits.items())},
            "families": {p: f["families"] for p, f in sorted(fits.items())},
            "held_out": {p: f["held_out"] for p, f in sorted(fits.items())},
            "fresh_held_out": {p: f["fresh_held_out"] for p, f in sorted(fits.items()) if "fresh_held_out" in f}}


def write(doc: dict, dest: Path) -> Path:
    """Write a rule file (gzip without a timestamp or name: the same rules give the same bytes)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with open(dest, "wb") as f, gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0) as g:
        g.write((json.dumps(doc, sort_keys=True, separators=(",", ":")) + "\n").encode())
    return dest


def fit_path(record: dict, held: set, log=None) -> dict:
    """Fit one recorded path with ``held`` shape indices held out; measure them."""
    fitted = fit(record, exclude=held, log=log)
    rule = build_rule(record, fitted)
    return {"rule": rule_to_dict(rule), "families": fitted["families"],
            "held_out": held_out(record, rule, sorted(held), fitted)}


def calibrate_sweep(paths, shapes=None, held_out_shapes=None, log=print) -> Path:
    """``lowbit calibrate --sweep``: record cuBLAS on this GPU and add what it runs to the user
    cache, where the presets read it before the shipped rule.

    With ``shapes`` (your own GEMMs): each shape's kernel and grid are recorded with output
    samples; its family's walk comes from a fit of these samples or else the shipped fit, its
    split from the grid (or, for a persistent launch, the samples); each shape is checked on
    its samples and kept only if reproduced.  Without: a whole sweep (grid, 2000 random and the
    LLM shapes, ``held_out_shapes`` — default random_shapes(2, 400) — measured and kept out)
    is recorded and fitted from scratch, as the shipped rule was."""
    from .calibration import _slug, cache_dir, gpu_info

    info = gpu_info()
    if tuple(info["sm"]) != (9, 0):
        raise RuntimeError(f"calibrate --sweep: the h100 presets model SM90 tensor cores; this GPU is {info['gpu']} "
                           f"(SM {info['sm'][0]}.{info['sm'][1]})")
    dest = cache_dir().parent / "cublas" / f"{_slug(info['gpu'])}.json.gz"
    old = read(dest) if dest.exists() else None
    fits = {}
    for p in paths:
        sweep._check_path(p)
        if shapes is None:
            every = sweep.grid_shapes() + sweep.random_shapes(1, 2000) + sweep.llm_shapes()
            held = list(held_out_shapes if held_out_shapes is not None else sweep.random_shapes(2, 400))
            rec = sweep.record(p, every + held, outputs=True, log=log)
            fits[p] = fit_path(rec, set(range(len(every), len(every) + len(held))))
            h = fits[p]["held_out"]
            log(f"{p}: held-out shapes reproduced {h['predicted']}/{h['shapes']}")
            continue
        rec = sweep.record(p, [tuple(s) for s in shapes], outputs=True, log=log)
        mine = fit(rec)["families"]
        known = dict(shipped().get("families", {}).get(p, {}))
        known.update({f: v for f, v in mine.items() if v["walk"]})
        rows, walks, fams = [], [], []
        for i, (M, N, K) in enumerate(rec["shapes"]):
            d = describe(rec["kernels"][i], M, N, K)
            w = (known.get(d[0]) or {}).get("walk") if d else None
            if d is None or w is None or str(i) not in rec["bits"]:
                log(f"{p} {M}x{N}x{K}: kernel family {d and d[0]} has no known walk; not kept")
                continue
            split = d[1] or find_split(rec, p, Walk.from_key(w), i)
            g = _match(rec, p, Walk.from_key(w), i, split) if split else None
            if g is None:
                log(f"{p} {M}x{N}x{K}: {d[0]} with walk {w} does not reproduce the outputs; not kept")
                continue
            rows.append((M, N, K, _index(walks, w), split, _index(fams, d[0]),
                         0 if g == Walk.from_key(w).granule else g))
            log(f"{p} {M}x{N}x{K}: {d[0]}, {split} slice(s), reproduced")
        rule = Rule(p, tuple(walks), tuple(fams), np.array(rows, np.int64).reshape(-1, 7))
        if old is not None and p in old["rules"]:
            prev = old["rules"][p]
            keep = [r for r in prev.table.tolist() if not any(r[:3] == list(x[:3]) for x in rows)]
            rule = merge(rule, Rule(p, prev.walks, prev.families, np.array(keep, np.int64).reshape(-1, 7)))
        fits[p] = {"rule": rule_to_dict(rule), "families": mine, "held_out": {}}
    if old is not None:  # paths calibrated before and not now stay
        for p, r in old["rules"].items():
            fits.setdefault(p, {"rule": rule_to_dict(r), "families": old.get("families", {}).get(p, {}),
                                "held_out": old.get("held_out", {}).get(p, {})})
    write(document(info, fits), dest)
    _RULES.clear()
    return dest


def merge(first: Rule, second: Rule) -> Rule:
    """One rule with ``first``'s rows before ``second``'s (a lookup takes the first hit)."""
    walks, fams = list(first.walks), list(first.families)
    t2 = second.table.copy()
    for col, src, dst in ((3, second.walks, walks), (5, second.families, fams)):
        remap = np.array([_index(dst, v) for v in src] + [-1], np.int64)  # index -1 stays -1
        t2[:, col] = remap[t2[:, col]] if len(t2) else t2[:, col]
    return Rule(first.path, tuple(walks), tuple(fams), np.concatenate([first.table, t2]))


def path_of(preset: str, params: dict, out: str = "float32") -> str | None:
    """The recorded GEMM path a cuBLAS preset's call is (None: not a rule-covered preset).

    ``out``: the output lowbit.matmul is asked for — the kernel cuBLAS runs depends on it;
    ``reduced_precision_reduction`` (a preset knob, torch's default True) picks the float16 /
    bfloat16-output kernels that add split-K partials in the output format."""
    rpr = params.get("reduced_precision_reduction", True)
    if preset == "h100-bf16" and params.get("library", "cublas") == "cublas":
        return {"float32": "bf16-f32", "bfloat16": "bf16-rpr" if rpr else "bf16"}.get(out)
    if preset == "h100-fp16" and params.get("library", "cublas") == "cublas":
        if params.get("acc", "float32") == "float16":
            return "fp16-acc16" if out in ("float16", "float32") else None
        return {"float32": "fp16-f32", "float16": "fp16-rpr" if rpr else "fp16"}.get(out)
    if preset == "h100-tf32":
        return "tf32" if out == "float32" else None
    if preset == "h100-fp32":
        return "fp32" if out == "float32" else None
    if preset == "h100-fp8":
        base = "fp8-fast" if params.get("fast_accum", False) else "fp8-slow"
        return {"float32": base, "bfloat16": base + "-bf16"}.get(out)
    return None


RULE_KNOBS = ("library", "acc", "fast_accum", "reduced_precision_reduction")


def label(acc, preset: str, params: dict | None = None):
    """``acc`` labelled as ``preset``, with the operand formats the preset covers."""
    import dataclasses

    from .registry import PRESETS

    if not hasattr(acc, "split_k"):
        return acc
    knobs = {k: v for k, v in (params or {}).items() if k in ("fast_accum", "acc")}
    return dataclasses.replace(acc, formats=PRESETS[preset](**knobs).formats, preset=preset)


def preset_accumulator(preset: str, params: dict, M: int, N: int, K: int, out: str = "float32",
                       recorded_only: bool = False, user_only: bool = False):
    """The accumulator of a cuBLAS preset at a shape from the rule (user cache first, then the
    shipped one; ``user_only``: the user cache's alone); None where the preset, its knobs or
    (``recorded_only``) the exact shape are not covered.  Raises LookupError where the rule's
    kernel there has no known walk."""
    path = path_of(preset, params, out)
    if path is None or any(k not in RULE_KNOBS for k, v in params.items() if v is not None):
        return None
    rule = shipped()["user_rules" if user_only else "rules"].get(path)
    if rule is None:
        return None
    if recorded_only and not rule.recorded(M, N, K).size:
        return None
    walk, split, granule, how = rule.lookup(M, N, K)
    return label(accumulator(path, walk, split, K, granule), preset, params)
