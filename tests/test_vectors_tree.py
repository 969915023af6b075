"""The committed vectors/ tree equals a fresh build, byte for byte, and its manifest is right.

A change in lowbit's semantics therefore cannot slip in silently: it fails here until the
tree is rebuilt (``lowbit vectors build --out vectors``) and the diff is committed.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lowbit.vectors import build, verify
from lowbit.vectors.families import targets

ROOT = Path(__file__).resolve().parents[1] / "vectors"


def test_committed_vectors_equal_a_fresh_build():
    problems = verify(ROOT)
    assert problems == [], "\n".join(problems[:20])


def test_manifest_hashes_and_case_counts_match_the_files_on_disk():
    manifest = json.loads((ROOT / "MANIFEST.json").read_text())
    assert len(manifest["files"]) == len(targets()) > 400
    for rel, entry in manifest["files"].items():
        data = (ROOT / rel).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], rel
        assert len(data) == entry["bytes"], rel
        data_lines = [ln for ln in data.split(b"\n") if ln and not ln.startswith(b"//")]
        assert len(data_lines) == entry["cases"], rel
        assert entry["command"] == f"lowbit vectors build --out vectors --only {rel}"
    assert manifest["total_cases"] == sum(e["cases"] for e in manifest["files"].values())


def test_committed_tree_stays_modest():
    total = sum(p.stat().st_size for p in ROOT.rglob("*") if p.is_file() and "hardware" not in p.parts
                and "reference" not in p.parts)
    assert total < 40e6, f"vectors/ grew to {total / 1e6:.1f} MB; keep it to a few tens of MB"


def test_a_manifest_command_rebuilds_its_file(tmp_path):
    from lowbit.cli import main

    rel = "encode/edges/float4_e2m1fn/nearest_even-saturate.txt"
    assert main(["vectors", "build", "--out", str(tmp_path), "--only", rel, "--quiet"]) == 0
    assert (tmp_path / rel).read_bytes() == (ROOT / rel).read_bytes()
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.txt")) == [rel]


def test_builds_in_separate_processes_are_byte_identical(tmp_path):
    """Different hash seeds, fresh interpreters: same bytes (no dict/set order or time leaks)."""
    outs = []
    for seed in ("1", "2"):
        out = tmp_path / f"b{seed}"
        env = dict(os.environ, PYTHONHASHSEED=seed)
        subprocess.run([sys.executable, "-m", "lowbit", "vectors", "build", "--out", str(out), "--quiet",
                        "--only", "decode/float8_e4m3fn.txt", "encode/profiles/*/float6_e3m2fn.txt",
                        "encode/exhaustive/bfloat16/float4_e2m1fn.txt"], check=True, env=env,
                       capture_output=True)
        outs.append(out)
    files = sorted(p.relative_to(outs[0]) for p in outs[0].rglob("*.txt"))
    assert len(files) == 2 + len(targets(["encode/profiles/*/float6_e3m2fn.txt"])) >= 4
    for rel in files:
        assert (outs[0] / rel).read_bytes() == (outs[1] / rel).read_bytes() == (ROOT / rel).read_bytes()


def test_full_build_removes_stale_files_but_never_touches_hardware(tmp_path):
    stale = tmp_path / "encode" / "edges" / "old.txt"
    keep = tmp_path / "hardware" / "h100" / "casts.txt"
    for p in (stale, keep):
        p.parent.mkdir(parents=True)
        p.write_text("x\n")
    build(tmp_path)
    assert not stale.exists() and keep.read_text() == "x\n"
    assert verify(tmp_path) == []


def test_verify_names_a_changed_case_missing_and_stale_files(tmp_path):
    build(tmp_path, only=["decode/*"])
    path = tmp_path / "decode" / "float8_e5m2.txt"
    text = path.read_text().replace("\n3c ", "\n3c 0", 1)
    lines = path.read_text().split("\n")
    idx = next(i for i, ln in enumerate(lines) if ln.startswith("3c "))
    lines[idx] = "3c 00000000" + lines[idx][11:]
    path.write_text("\n".join(lines))
    (tmp_path / "decode" / "int4.txt").unlink()
    (tmp_path / "decode" / "extra.txt").write_text("")
    problems = verify(tmp_path, only=["decode/*"])
    assert any(p.startswith("decode/float8_e5m2.txt: differs") and f"line {idx + 1}" in p for p in problems), problems
    assert "decode/int4.txt: missing" in problems
    del text
    full = verify(tmp_path)
    assert any("decode/extra.txt: stale" in p for p in full)
    assert any("encode/" in p and "missing" in p for p in full)


def test_progress_bar_draws_on_request():
    import io

    from lowbit.vectors.progress import Progress

    buf = io.StringIO()
    with Progress(4, True, stream=buf, width=8) as bar:
        for i in range(4):
            bar.step(f"file{i}.txt")
    out = buf.getvalue()
    assert "[##......] 1/4 file0.txt" in out and "[########] 4/4 file3.txt" in out
    quiet = io.StringIO()
    with Progress(4, False, stream=quiet) as bar:
        bar.step("x")
    assert quiet.getvalue() == ""
