"""Build the golden-vector tree, write its manifest, and verify a tree against a fresh build.

``build(out)`` writes every target of every registered family below ``out`` and
``out/MANIFEST.json`` (per file: SHA-256, case count, bytes, the command that builds it).
The bytes depend on lowbit's code only: two builds are byte-identical.
``verify(root)`` rebuilds in memory and lists every difference with the tree on disk.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from pathlib import Path

from .. import __version__
from .families import CONTEXT, FAMILIES, ROOTS, Target, build_command, load_plugins, targets
from .progress import Progress
from .textfile import render

MANIFEST = "MANIFEST.json"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def manifest_entry(t: Target, data: bytes, cases: int) -> dict:
    return {"sha256": sha256(data), "cases": cases, "bytes": len(data), "command": build_command(t.path)}


def _render(t: Target) -> tuple[bytes, int]:
    vf = t.make()
    return render(vf), vf.cases


@contextlib.contextmanager
def _one_thread():
    """Vector files are small arrays: Numba's parallel kernels only add thread start-up (20x slower
    on a loaded machine), so builds run them on one thread."""
    import numba

    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(before)


def build(out, only=None, progress: bool = False) -> dict:
    """Write the vectors (all, or those whose path matches a pattern in ``only``) below ``out``.

    A full build also writes ``MANIFEST.json`` and removes stale files from the folders the
    families own (never from ``hardware/`` or ``reference/``).  A partial build updates the
    manifest entries of the files it writes (or starts a manifest listing only them).
    Returns the manifest dictionary of the files written.
    """
    out = Path(out)
    CONTEXT["root"] = out
    todo = targets(only)
    if only is not None and not todo:
        raise ValueError(f"no vectors file matches {' '.join(only)!r}; see MANIFEST.json for the paths")
    files = {}
    with _one_thread(), Progress(len(todo), progress) as bar:
        for t in todo:
            data, cases = _render(t)
            dest = out / t.path
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)
            files[t.path] = manifest_entry(t, data, cases)
            bar.step(t.path)
    manifest_path = out / MANIFEST
    if only is None:
        _remove_stale(out, set(files))
        manifest = _manifest(files)
    elif manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        manifest["files"].update(files)
        manifest["files"] = dict(sorted(manifest["files"].items()))
    else:
        manifest = _manifest(files)  # a partial tree: its manifest lists what was built
    manifest_path.write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def _manifest(files: dict) -> dict:
    load_plugins()
    return {
        "generator": f"lowbit {__version__}",
        "command": "lowbit vectors build --out vectors",
        "families": {name: _first_paragraph(FAMILIES[name].__doc__) for name in FAMILIES},
        "total_cases": sum(e["cases"] for e in files.values()),
        "total_bytes": sum(e["bytes"] for e in files.values()),
        "files": dict(sorted(files.items())),
    }


def _first_paragraph(doc: str | None) -> str:
    return " ".join((doc or "").strip().split("\n\n")[0].split())


def owned_files(root: Path) -> set[str]:
    """Files on disk below the folders the families own."""
    load_plugins()
    found = set()
    for sub in sorted(set(ROOTS.values())):
        base = root / sub
        if base.is_dir():
            found |= {p.relative_to(root).as_posix() for p in base.rglob("*") if p.is_file()}
    return found


def _remove_stale(root: Path, keep: set[str]) -> None:
    for rel in sorted(owned_files(root) - keep):
        (root / rel).unlink()


def verify(root, only=None, progress: bool = False) -> list[str]:
    """Rebuild in memory and compare with the tree at ``root`` and its manifest.

    Returns the list of problems (empty when the tree equals a fresh build): files that
    differ (with the first differing line), are missing, are stale, or whose manifest entry
    is wrong.
    """
    root = Path(root)
    CONTEXT["root"] = root
    problems = []
    mpath = root / MANIFEST
    manifest = json.loads(mpath.read_text()) if mpath.exists() else None
    if manifest is None:
        problems.append(f"{mpath}: missing (run: lowbit vectors build --out {root})")
    todo = targets(only)
    if only is not None and not todo:
        raise ValueError(f"no vectors file matches {' '.join(only)!r}")
    fresh = {}
    with _one_thread(), Progress(len(todo), progress) as bar:
        for t in todo:
            data, cases = _render(t)
            fresh[t.path] = manifest_entry(t, data, cases)
            dest = root / t.path
            if not dest.exists():
                problems.append(f"{t.path}: missing")
            else:
                disk = dest.read_bytes()
                if disk != data:
                    problems.append(f"{t.path}: differs from a fresh build ({first_difference(disk, data)})")
            bar.step(t.path)
    if manifest is not None:
        listed = manifest.get("files", {})
        for path, entry in fresh.items():
            if listed.get(path) != entry:
                problems.append(f"{MANIFEST}: entry for {path} is {listed.get(path)}, a fresh build gives {entry}")
        if only is None:
            for path in sorted(set(listed) - set(fresh)):
                problems.append(f"{MANIFEST}: lists {path}, which the build no longer makes")
            if manifest != _manifest(fresh):
                for key in ("generator", "families", "total_cases", "total_bytes"):
                    if manifest.get(key) != _manifest(fresh)[key]:
                        problems.append(f"{MANIFEST}: {key!r} differs from a fresh build")
    if only is None:
        for path in sorted(owned_files(root) - set(fresh)):
            problems.append(f"{path}: stale (not made by the build; run lowbit vectors build --out {root})")
    return problems


def first_difference(old: bytes, new: bytes) -> str:
    a, b = old.split(b"\n"), new.split(b"\n")
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return f"line {i + 1}: on disk {x.decode(errors='replace')!r}, fresh {y.decode(errors='replace')!r}"
    return f"on disk {len(a)} lines, fresh {len(b)} lines"
