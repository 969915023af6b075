"""The golden-vector file format: self-describing plain text, one case per line, in hex.

Layout (after Berkeley TestFloat's vectors)::

    // lowbit golden vectors: one case per line, whitespace-separated hex words
    // operation: encode
    // format: float8_e4m3fn
    // ...
    // columns: input expected flags
    3f800000 38 00
    ...

- Header lines start with ``//`` (the comment syntax of C, SystemVerilog ``$readmemh``
  and ``numpy.loadtxt(..., comments="//")``) and hold ``key: value`` pairs.
- Every data line has the same number of hex words, each of a fixed width (lower-case
  digits, no ``0x``), so a line is a fixed number of bytes and ``$readmemh`` reads the
  words of each case in order.

:func:`render` writes a :class:`VectorFile`, :func:`read` reads one back.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

MAGIC = "lowbit golden vectors: one case per line, whitespace-separated hex words; '//' lines are comments"
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_NIBBLE = np.full(256, -1, dtype=np.int64)
for _i, _c in enumerate(b"0123456789abcdef"):
    _NIBBLE[_c] = _i
for _i, _c in enumerate(b"ABCDEF"):
    _NIBBLE[_c] = 10 + _i


@dataclasses.dataclass
class Column:
    """One hex column: its name, width in hex digits, what it holds, and the values (unsigned)."""

    name: str
    digits: int
    meaning: str
    values: np.ndarray


@dataclasses.dataclass
class VectorFile:
    """A golden-vector file: ordered header fields and equal-length hex columns."""

    header: dict[str, str]
    columns: list[Column]

    @property
    def cases(self) -> int:
        return int(self.columns[0].values.size) if self.columns else 0

    def column(self, name: str) -> np.ndarray:
        for c in self.columns:
            if c.name == name:
                return c.values
        raise KeyError(f"no column {name!r}; columns: {', '.join(c.name for c in self.columns)}")


def hex_matrix(values: np.ndarray, digits: int) -> np.ndarray:
    """ASCII hex digits of unsigned values, as an (n, digits) uint8 matrix (most significant first)."""
    v = np.asarray(values).astype(np.uint64).reshape(-1)
    shifts = np.arange(digits - 1, -1, -1, dtype=np.uint64) * np.uint64(4)
    return _HEX[((v[:, None] >> shifts[None, :]) & np.uint64(0xF)).astype(np.intp)]


def render(vf: VectorFile) -> bytes:
    """The file's bytes: header, then one fixed-width line per case (deterministic)."""
    n = vf.cases
    lines = [f"// {MAGIC}"]
    for key, value in vf.header.items():
        for i, part in enumerate(str(value).split("\n")):
            lines.append(f"// {key}: {part}" if i == 0 else f"//   {part}")
    lines.append("// columns: " + " ".join(c.name for c in vf.columns))
    for c in vf.columns:
        if c.meaning:
            lines.append(f"//   {c.name} ({c.digits} hex digits): {c.meaning}")
    lines.append(f"// cases: {n}")
    head = ("\n".join(lines) + "\n").encode("utf-8")
    parts = []
    for i, c in enumerate(vf.columns):
        if c.values.size != n:
            raise ValueError(f"column {c.name!r} has {c.values.size} values, expected {n}")
        if np.asarray(c.values).size and int(np.max(np.asarray(c.values).astype(np.uint64))) >> (4 * c.digits):
            raise ValueError(f"column {c.name!r}: a value does not fit {c.digits} hex digits")
        parts.append(hex_matrix(c.values, c.digits))
        sep = b"\n" if i == len(vf.columns) - 1 else b" "
        parts.append(np.full((n, 1), sep[0], dtype=np.uint8))
    body = np.concatenate(parts, axis=1).tobytes() if n else b""
    return head + body


class VectorFormatError(ValueError):
    """A vectors or results file that does not follow the format; the message names the line."""


def parse_header(text: str) -> tuple[dict[str, str], list[str], int]:
    """Header fields, column names and the index of the first data line."""
    header: dict[str, str] = {}
    lines = text.split("\n")
    last = None
    i = 0
    for i, line in enumerate(lines):
        if not line.startswith("//"):
            break
        body = line[2:].strip()
        if line.startswith("//   ") or ":" not in body:
            continue  # continuation / column descriptions
        key, _, value = body.partition(":")
        header[key.strip()] = value.strip()
        last = key
    else:
        i = len(lines)
    columns = header.get("columns", "").split()
    del last
    return header, columns, i


def parse_hex_words(lines: list[str], first_lineno: int, ncols: int, what: str, source: str) -> np.ndarray:
    """Parse data lines of ``ncols`` hex words into an (n, ncols) uint64 array.

    Raises VectorFormatError naming the file, line number and what was expected.
    """
    rows = []
    for k, line in enumerate(lines):
        s = line.strip()
        if not s or s.startswith("//"):
            continue
        words = s.split()
        lineno = first_lineno + k + 1
        if len(words) != ncols:
            raise VectorFormatError(
                f"{source}:{lineno}: expected {ncols} hex words ({what}), got {len(words)}: {s!r}")
        try:
            rows.append([int(w, 16) for w in words])
        except ValueError:
            bad = next(w for w in words if not _is_hex(w))
            raise VectorFormatError(
                f"{source}:{lineno}: {bad!r} is not a hex number (expected {what}): {s!r}") from None
    return np.array(rows, dtype=np.uint64).reshape(-1, ncols)


def _is_hex(word: str) -> bool:
    try:
        int(word, 16)
        return True
    except ValueError:
        return False


def read(path) -> VectorFile:
    """Read a golden-vector file written by :func:`render` (column widths come from the data)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise VectorFormatError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise VectorFormatError(f"{path}: not a text file (expected lowbit golden vectors)") from None
    header, names, first = parse_header(text)
    if not names:
        raise VectorFormatError(f"{path}: no '// columns:' header line; not a lowbit golden-vector file")
    lines = text.split("\n")[first:]
    data = _fast_parse(lines, len(names))
    if data is None:
        data = parse_hex_words(lines, first, len(names), " ".join(names), str(path))
    widths = _widths(lines, len(names))
    cols = [Column(n, w, "", data[:, j]) for j, (n, w) in enumerate(zip(names, widths))]
    header.pop("columns", None)
    expected = header.pop("cases", None)
    vf = VectorFile(header, cols)
    if expected is not None and int(expected) != vf.cases:
        raise VectorFormatError(f"{path}: header says {expected} cases, the file has {vf.cases}")
    return vf


def _widths(lines: list[str], ncols: int) -> list[int]:
    for line in lines:
        if line.strip() and not line.startswith("//"):
            return [len(w) for w in line.split()]
    return [0] * ncols


def _fast_parse(lines: list[str], ncols: int):
    """Vectorised parse of well-formed fixed-width lines; None where anything is irregular."""
    body = [ln for ln in lines if ln]
    if not body:
        return np.zeros((0, ncols), dtype=np.uint64)
    width = len(body[0])
    if any(len(ln) != width or ln.startswith("//") for ln in body):
        return None
    raw = np.frombuffer("".join(body).encode("ascii", "replace"), dtype=np.uint8).reshape(len(body), width)
    words = body[0].split(" ")
    if len(words) != ncols:
        return None
    out = np.zeros((len(body), ncols), dtype=np.uint64)
    pos = 0
    for j, w in enumerate(words):
        chunk = raw[:, pos:pos + len(w)]
        digit = _NIBBLE[chunk]
        if (digit < 0).any():
            return None
        if j < ncols - 1 and not (raw[:, pos + len(w)] == ord(" ")).all():
            return None
        for k in range(len(w)):
            out[:, j] = (out[:, j] << np.uint64(4)) | digit[:, k].astype(np.uint64)
        pos += len(w) + 1
    return out
