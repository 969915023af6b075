"""The vector file format: self-describing headers, fixed-width hex lines that C, $readmemh and
numpy read; render/read round trip; reader errors name the line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from lowbit import __version__
from lowbit.vectors import read, render
from lowbit.vectors.textfile import Column, VectorFile, VectorFormatError

ROOT = Path(__file__).resolve().parents[1] / "vectors"
FILES = sorted(json.loads((ROOT / "MANIFEST.json").read_text())["files"])
REQUIRED = {"encode": ("operation", "source", "format", "profile", "rounding", "overflow", "rules", "spec",
                       "inputs", "compare", "lowbit", "command"),
            "decode": ("operation", "format", "spec", "inputs", "compare", "lowbit", "command"),
            "dot": ("operation", "source", "format", "accumulator", "spec", "inputs", "compare", "lowbit", "command"),
            "mx": ("operation", "source", "format", "profile", "scale_rule", "rounding", "spec", "inputs", "compare",
                   "lowbit", "command")}


def test_every_file_is_self_describing_and_machine_readable():
    data_line = re.compile(rb"^[0-9a-f]+( [0-9a-f]+)*$")
    for rel in FILES:
        raw = (ROOT / rel).read_bytes()
        lines = raw.split(b"\n")
        assert lines[-1] == b"", rel  # ends with a newline
        head = [ln for ln in lines if ln.startswith(b"//")]
        body = [ln for ln in lines[len(head):-1]]
        assert all(data_line.match(ln) for ln in body[:50] + body[-50:]), rel  # $readmemh: hex words only
        assert len({len(ln) for ln in body}) <= 1, rel  # fixed width
        vf_header = {ln[3:].split(b":", 1)[0].decode(): ln for ln in head if not ln.startswith(b"//   ")}
        op = rel.split("/")[0]
        for key in REQUIRED[op]:
            assert key in vf_header, (rel, key)
        assert vf_header["lowbit"].decode().endswith(__version__)
        assert vf_header["cases"].decode().endswith(f": {len(body)}")
        assert vf_header["command"].decode().endswith(f"--only {rel}")


@pytest.mark.filterwarnings("ignore:Input line 1 contained no data:UserWarning")
def test_numpy_loadtxt_reads_what_read_reads():
    path = ROOT / "encode/edges/float8_e5m2/nearest_even-nonsaturating.txt"
    rows = np.loadtxt(path, comments="//", dtype=str, ndmin=2)
    vf = read(path)
    assert rows.shape == (vf.cases, 3)
    np.testing.assert_array_equal([int(w, 16) for w in rows[:, 0]], vf.column("input"))
    np.testing.assert_array_equal([int(w, 16) for w in rows[:, 1]], vf.column("expected"))
    assert vf.header["format"].startswith("float8_e5m2 ")
    assert vf.header["rounding"].startswith("nearest_even: IEEE 754-2019 §4.3.1")


def test_render_read_round_trip_and_widths():
    vf = VectorFile({"operation": "demo", "note": "two\nlines"},
                    [Column("a", 4, "first", np.array([0, 0xFFFF, 0x12])), Column("b", 1, "second", np.array([1, 2, 0xF]))])
    data = render(vf)
    assert data.endswith(b"0000 1\nffff 2\n0012 f\n")
    assert b"// note: two\n//   lines\n" in data
    assert b"//   a (4 hex digits): first\n" in data
    with pytest.raises(ValueError, match="does not fit 1 hex digits"):
        render(VectorFile({}, [Column("b", 1, "", np.array([16]))]))


def test_reader_errors_name_the_line(tmp_path):
    p = tmp_path / "v.txt"
    p.write_text("// columns: a b\n// cases: 2\n01 02\n01 xx\n")
    with pytest.raises(VectorFormatError, match=r"v.txt:4: 'xx' is not a hex number"):
        read(p)
    p.write_text("// columns: a b\n// cases: 3\n01 02\n")
    with pytest.raises(VectorFormatError, match="header says 3 cases, the file has 1"):
        read(p)
    p.write_text("no header\n")
    with pytest.raises(VectorFormatError, match="not a lowbit golden-vector file"):
        read(p)
