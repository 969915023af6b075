"""Accumulators as JSON: ``save(acc, path)`` and ``load(path)`` (``lowbit.mac.load``).

The file holds the kind and every field of the accumulator (a :class:`FusedBlock`'s unit and
schedule, or ``exact`` / ``ieee``), plus optional notes (what it was discovered on).  Loading
rebuilds the same frozen object, so ``load(path) == acc`` and ``lowbit.matmul`` runs it bit for
bit as it ran the saved one.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from .accumulators import IEEE, Exact, FusedBlock

KINDS = {"exact": Exact, "ieee": IEEE, "fused-block": FusedBlock}
FORMAT = "lowbit-accumulator/1"


def _plain(v):
    if isinstance(v, FusedBlock):
        return to_dict(v)
    if isinstance(v, tuple):
        return [_plain(x) for x in v]
    return v


def _tuples(v):
    if isinstance(v, dict) and "kind" in v:
        return from_dict(v)
    if isinstance(v, list):
        return tuple(_tuples(x) for x in v)
    return v


def to_dict(acc) -> dict:
    """``{"kind": ..., field: value, ...}`` with tuples as lists (JSON-ready)."""
    if type(acc) not in KINDS.values():
        raise TypeError(f"only exact, ieee and fused-block accumulators are saved, got {acc!r}")
    out = {"kind": acc.kind}
    for f in dataclasses.fields(acc):
        if f.init:
            out[f.name] = _plain(getattr(acc, f.name))
    return out


def from_dict(d: dict):
    """The accumulator a :func:`to_dict` dictionary describes (fields checked as on construction)."""
    kind = d.get("kind")
    if kind not in KINDS:
        raise ValueError(f"unknown accumulator kind {kind!r}; allowed: {', '.join(KINDS)}")
    cls = KINDS[kind]
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(d) - names - {"kind"})
    if unknown:
        raise ValueError(f"{kind}: unknown field(s) {', '.join(unknown)}; allowed: {', '.join(sorted(names))}")
    return cls(**{k: _tuples(v) for k, v in d.items() if k != "kind"})


def save(acc, path, **notes) -> None:
    """Write ``acc`` to ``path`` as JSON (``notes``: anything JSON-ready, e.g. the GEMM and shape
    it was discovered on)."""
    doc = {"format": FORMAT, "accumulator": to_dict(acc), "notes": notes}
    Path(path).write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")


def load(path):
    """The accumulator saved at ``path`` by :func:`save` (or ``lowbit discover --out``)."""
    try:
        doc = json.loads(Path(path).read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not an accumulator file (JSON error: {err})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ValueError(f"{path}: not an accumulator file (expected format {FORMAT!r})")
    return from_dict(doc["accumulator"])
