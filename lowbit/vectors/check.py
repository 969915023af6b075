"""Compare a kernel's results with golden vectors (``lowbit check VECTORS RESULTS``).

A results file is either

- text in the vectors' own line format: each line the input word(s) of a case followed by
  the kernel's output word(s) (the first one, or more of them in the golden column order),
  in hex; cases may come in any order, ``//`` lines and blank lines are skipped; or one hex
  word per line: the first output of each case, in the golden order;
- a ``.npy`` array with one element per case: the first output (codes for encode vectors;
  float32 / float64 values or bit patterns for decode vectors).

Each mismatch is reported with decoded values and, for encode vectors, the profiles and
rule bundles that produce the kernel's answer instead (:mod:`lowbit.vectors.diagnose`).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from ..formats import format as lookup
from . import diagnose
from .textfile import VectorFile, VectorFormatError, parse_header, parse_hex_words, read


@dataclasses.dataclass
class Mismatch:
    case: int            # 0-based index of the case in the golden file
    where: str           # "line N" of the results file, or "element N"
    inputs: str          # the input, described
    column: str          # which output differs
    expected: str
    got: str
    matches: list[str]   # behaviours that give the kernel's answer


@dataclasses.dataclass
class CheckResult:
    vectors: str
    results: str
    cases: int
    checked: int
    columns: list[str]
    mismatches: list[Mismatch]
    missing: list[int]
    common: list[str]

    @property
    def ok(self) -> bool:
        return not self.mismatches and not self.missing

    def report(self, limit: int = 20) -> str:
        lines = [f"{self.vectors}: {self.cases} cases; {self.results}: {self.checked} checked "
                 f"({', '.join(self.columns)})"]
        if self.ok:
            lines.append("all match")
            return "\n".join(lines)
        if self.missing:
            shown = ", ".join(str(i + 1) for i in self.missing[:10])
            lines.append(f"{len(self.missing)} cases have no result (case numbers {shown}"
                         f"{', ...' if len(self.missing) > 10 else ''})")
        if self.mismatches:
            lines.append(f"{len(self.mismatches)} mismatches" + (f" (first {limit} shown)" if len(self.mismatches) > limit else "") + ":")
            for m in self.mismatches[:limit]:
                alt = "; matches " + ", ".join(m.matches) if m.matches else ""
                if not m.matches and m.column == "expected":
                    alt = "; matches no known profile or rule"
                if not m.matches and m.column == "result":
                    alt = "; matches no lowbit.mac accumulator"
                lines.append(f"  case {m.case + 1} ({m.where}): {m.inputs}: {m.column} {m.expected}, got {m.got}{alt}")
            if self.common:
                lines.append("every mismatch matches: " + ", ".join(self.common))
        return "\n".join(lines)


def _compare_spec(vf: VectorFile, path) -> tuple[list[str], list[str]]:
    spec = vf.header.get("compare")
    names = [c.name for c in vf.columns]
    if spec is None or "->" not in spec:
        raise VectorFormatError(f"{path}: no '// compare: inputs -> outputs' header line; not a golden-vector file lowbit check knows")
    ins, outs = (part.split() for part in spec.split("->", 1))
    for n in ins + outs:
        if n not in names:
            raise VectorFormatError(f"{path}: compare header names column {n!r}, columns are {names}")
    return ins, outs


def _load_results(path: Path, golden: VectorFile, ins: list[str], outs: list[str]):
    """(case index per result, {output column: values}, where-labels) from a results file."""
    n = golden.cases
    if path.suffix == ".npy":
        try:
            arr = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise VectorFormatError(f"{path}: not a readable .npy file ({e})") from None
        arr = arr.reshape(-1) if arr.ndim == 1 or arr.size == n else arr
        if arr.ndim != 1 or arr.size != n:
            raise VectorFormatError(f"{path}: expected {n} elements (one per case, the {outs[0]!r} column), got shape {arr.shape}")
        width = golden.columns[[c.name for c in golden.columns].index(outs[0])].digits
        return np.arange(n), {outs[0]: _as_bits(arr, width, path, outs[0])}, [f"element {i}" for i in range(n)]
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise VectorFormatError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise VectorFormatError(f"{path}: not a text file (expected hex lines or a .npy array)") from None
    _, _, first = parse_header(text)
    lines = text.split("\n")[first:]
    numbered = [(first + k + 1, ln.strip()) for k, ln in enumerate(lines) if ln.strip() and not ln.strip().startswith("//")]
    if not numbered:
        raise VectorFormatError(f"{path}: no results (expected one line per case: {' '.join(ins)} then {outs[0]} in hex)")
    nwords = len(numbered[0][1].split())
    allowed = [1] + [len(ins) + k for k in range(1, len(outs) + 1)]
    what = " | ".join([outs[0]] + [" ".join(ins + outs[:k]) for k in range(1, len(outs) + 1)])
    if nwords not in allowed:
        raise VectorFormatError(f"{path}:{numbered[0][0]}: expected hex words '{what}', got {nwords} words: {numbered[0][1]!r}")
    data = np.concatenate([parse_hex_words([ln], no - 1, nwords, what, str(path)) for no, ln in numbered]) \
        if len(numbered) < 64 else _parse_all(numbered, nwords, what, path)
    where = [f"line {no}" for no, _ in numbered]
    if nwords == 1:
        if data.shape[0] != n:
            raise VectorFormatError(f"{path}: {data.shape[0]} results for {n} cases (one hex word per line means one line per case, in order)")
        return np.arange(n), {outs[0]: data[:, 0]}, where
    key = np.stack([golden.column(c) for c in ins], axis=1)
    index = {tuple(int(v) for v in row): i for i, row in enumerate(key)}
    cases = np.empty(data.shape[0], dtype=np.int64)
    for r in range(data.shape[0]):
        k = tuple(int(v) for v in data[r, :len(ins)])
        if k not in index:
            raise VectorFormatError(
                f"{path}:{numbered[r][0]}: input {' '.join(f'{v:x}' for v in k)} is not a case of the golden vectors")
        cases[r] = index[k]
    got = {outs[j]: data[:, len(ins) + j] for j in range(nwords - len(ins))}
    return cases, got, where


def _parse_all(numbered, nwords, what, path):
    return parse_hex_words([ln for _, ln in numbered], 0, nwords, what, str(path)) if all(
        no == numbered[0][0] + i for i, (no, _) in enumerate(numbered)) else np.concatenate(
        [parse_hex_words([ln], no - 1, nwords, what, str(path)) for no, ln in numbered])


def _as_bits(arr: np.ndarray, digits: int, path, column: str) -> np.ndarray:
    nbytes = max(1, (digits + 1) // 2)
    if arr.dtype.kind in "iu":
        a = arr.astype(np.int64)
        return np.where(a < 0, a + (1 << (4 * digits)), a).astype(np.uint64)
    if arr.dtype.itemsize == nbytes and arr.dtype.kind in "fVc" or arr.dtype.kind == "V":
        if arr.dtype.itemsize != nbytes:
            raise VectorFormatError(f"{path}: {arr.dtype} elements are {arr.dtype.itemsize} bytes; {column!r} needs {nbytes}")
        return arr.view({1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}[nbytes]).astype(np.uint64)
    if arr.dtype.kind == "f":  # e.g. ml_dtypes float8 arrays, or floats of another width
        raise VectorFormatError(f"{path}: got {arr.dtype} values; {column!r} needs {nbytes}-byte elements (codes or bit patterns)")
    raise VectorFormatError(f"{path}: unsupported dtype {arr.dtype}; expected integer codes or {nbytes}-byte values")


def check_files(vectors, results, limit_diagnosis: int = 200) -> CheckResult:
    """Compare ``results`` with the golden ``vectors`` file; see the module docstring."""
    vpath, rpath = Path(vectors), Path(results)
    golden = read(vpath)
    ins, outs = _compare_spec(golden, vpath)
    cases, got, where = _load_results(rpath, golden, ins, outs)
    op = golden.header.get("operation", "").split()[:1]
    fmt = lookup(golden.header["format"].split()[0]) if op in (["encode"], ["decode"]) and "format" in golden.header else None
    mism: list[Mismatch] = []
    for col, values in got.items():
        want = golden.column(col)[cases]
        bad = np.nonzero(values != want)[0]
        for r in bad:
            c = int(cases[r])
            mism.append(Mismatch(c, where[r], _describe_inputs(golden, ins, c), col,
                                 _describe(golden, col, int(want[r]), fmt), _describe(golden, col, int(values[r]), fmt), []))
    if op == ["encode"] and fmt is not None:
        code_mism = [m for m in mism if m.column == "expected"][:limit_diagnosis]
        if code_mism:
            src = golden.header["source"].split()[0]
            from .families import SOURCES

            x = golden.column(ins[0])[[m.case for m in code_mism]]
            x = x.astype({2: np.uint16, 4: np.uint32}[SOURCES[src].itemsize]).view(SOURCES[src])
            gotc = np.array([int(m.got.split()[0], 16) for m in code_mism], dtype=np.int64)
            for m, labels in zip(code_mism, diagnose.matching_behaviours(x, gotc, fmt)):
                m.matches = labels
    if op == ["dot"]:
        _diagnose_dot(golden, [m for m in mism if m.column == "result"][:limit_diagnosis])
    seen = np.zeros(golden.cases, dtype=bool)
    seen[cases] = True
    common = diagnose.common([m.matches for m in mism if m.column in ("expected", "result")]) if mism else []
    return CheckResult(str(vpath), str(rpath), golden.cases, int(len(cases)), list(got), mism,
                       [int(i) for i in np.nonzero(~seen)[0]], common)


def _diagnose_dot(golden: VectorFile, mism: list[Mismatch]) -> None:
    """Name the lowbit.mac accumulators that give each mismatching dot result."""
    import re

    if not mism:
        return
    fa, fb = (lookup(n.strip()) for n in golden.header["format"].split(" x "))
    k = sum(1 for c in golden.columns if re.fullmatch(r"a\d+", c.name))
    rows = [m.case for m in mism]
    a = np.stack([golden.column(f"a{i}")[rows] for i in range(k)], axis=1).astype(np.int64)
    b = np.stack([golden.column(f"b{i}")[rows] for i in range(k)], axis=1).astype(np.int64)
    scales = dict(re.findall(r"(scale_[ab])=([0-9.eE+-]+)", golden.header.get("accumulator", "")))
    got = np.array([int(m.got.split()[0], 16) for m in mism], dtype=np.int64)
    labels = diagnose.matching_accumulators(a, b, got, fa, fb, float(scales.get("scale_a", 1.0)),
                                            float(scales.get("scale_b", 1.0)))
    for m, lab in zip(mism, labels):
        m.matches = lab


def _describe_inputs(golden: VectorFile, ins: list[str], case: int) -> str:
    if len(ins) > 4:  # vectors of operands (blocks, dot products): a0..a31 -> "a=[7e fe ...]"
        import re

        groups: dict[str, list[str]] = {}
        for name in ins:
            groups.setdefault(re.sub(r"\d+$", "", name), []).append(f"{int(golden.column(name)[case]):x}")
        return ", ".join(f"{g}=[{' '.join(v)}]" for g, v in groups.items())
    parts = []
    for name in ins:
        v = int(golden.column(name)[case])
        if name == "input" and "source" in golden.header:
            from .families import SOURCES

            parts.append(f"{golden.header['source'].split()[0]} {diagnose.describe_float(v, SOURCES[golden.header['source'].split()[0]])}")
        else:
            parts.append(f"{name} {v:#x}")
    return ", ".join(parts)


def _describe(golden: VectorFile, col: str, value: int, fmt) -> str:
    if col == "expected" and fmt is not None:
        return diagnose.describe_code(value, fmt)
    if col in ("float32", "float64", "result"):
        return diagnose.describe_float(value, np.float64 if col == "float64" else np.float32)
    if col == "class":
        return f"{value} ({diagnose.class_name(value)})"
    return f"{value:#x}"
