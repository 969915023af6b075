"""lowbit check: kernel results (text in any order, one word per line, .npy) against golden
vectors; mismatches with decoded values and the profile the kernel follows; malformed files
named by line."""

from __future__ import annotations

from pathlib import Path

import ml_dtypes
import numpy as np
import pytest

from lowbit.cli import main
from lowbit.profiles import ml_dtypes_profile_for
from lowbit.vectors import read
from lowbit.vectors.check import check_files
from lowbit.vectors.textfile import VectorFormatError

ROOT = Path(__file__).resolve().parents[1] / "vectors"
# signalling-NaN inputs: numpy warns when widening them; the values are what the tests want
pytestmark = pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")
# the pinned era of the installed ml_dtypes (the version-following "ml_dtypes" profile has no files)
ML_E4M3 = ROOT / f"encode/profiles/{ml_dtypes_profile_for(ml_dtypes.__version__)}/float8_e4m3fn.txt"
SAT_E4M3 = ROOT / "encode/profiles/ocp_sat/float8_e4m3fn.txt"


def ml_dtypes_kernel(path):
    vf = read(path)
    x = vf.column("input").astype(np.uint32).view(np.float32)
    with np.errstate(invalid="ignore", over="ignore"):
        return vf, x.astype(ml_dtypes.float8_e4m3fn).view(np.uint8)


def write_pairs(path, inputs, codes, order=None):
    order = np.arange(len(inputs)) if order is None else order
    path.write_text("// my kernel\n" + "".join(f"{int(inputs[i]):08x} {int(codes[i]):02x}\n" for i in order))


def test_matching_results_in_any_order_pass(tmp_path, capsys):
    vf, codes = ml_dtypes_kernel(ML_E4M3)
    res = tmp_path / "r.txt"
    write_pairs(res, vf.column("input"), codes, order=np.random.default_rng(0).permutation(vf.cases))
    r = check_files(ML_E4M3, res)
    assert r.ok and r.checked == vf.cases
    assert main(["check", str(ML_E4M3), str(res)]) == 0
    assert "all match" in capsys.readouterr().out


def test_npy_and_single_column_results(tmp_path):
    vf, codes = ml_dtypes_kernel(ML_E4M3)
    np.save(tmp_path / "r.npy", codes)
    assert check_files(ML_E4M3, tmp_path / "r.npy").ok
    np.save(tmp_path / "f8.npy", codes.view(ml_dtypes.float8_e4m3fn))  # an ml_dtypes array: its bits are the codes
    assert check_files(ML_E4M3, tmp_path / "f8.npy").ok
    (tmp_path / "one.txt").write_text("".join(f"{c:02x}\n" for c in codes))
    assert check_files(ML_E4M3, tmp_path / "one.txt").ok


def test_mismatches_name_the_profile_the_kernel_follows(tmp_path, capsys):
    vf, codes = ml_dtypes_kernel(SAT_E4M3)  # a non-saturating kernel against saturating vectors
    res = tmp_path / "r.txt"
    write_pairs(res, vf.column("input"), codes)
    r = check_files(SAT_E4M3, res)
    assert not r.ok and r.mismatches
    x = vf.column("input").astype(np.uint32).view(np.float32)
    beyond = int(((np.abs(x.astype(np.float64)) > 464) & np.isfinite(x)).sum()) + int(np.isinf(x).sum())
    assert len(r.mismatches) == beyond  # exactly the inputs past the 448|480 midpoint, and ±Inf
    assert "profile ml_dtypes" in r.common
    assert main(["check", str(SAT_E4M3), str(res)]) == 1
    out = capsys.readouterr().out
    assert "expected 0x7e (448), got 0x7f (NaN)" in out
    assert "every mismatch matches: " in out and "profile ml_dtypes" in out


def test_decode_results_as_float32(tmp_path):
    path = ROOT / "decode/float6_e2m3fn.txt"
    vals = np.arange(64, dtype=np.uint8).view(ml_dtypes.float6_e2m3fn).astype(np.float32)
    np.save(tmp_path / "ok.npy", vals)
    assert check_files(path, tmp_path / "ok.npy").ok
    vals[5] = 0.5
    np.save(tmp_path / "bad.npy", vals)
    r = check_files(path, tmp_path / "bad.npy")
    assert [(m.case, m.column) for m in r.mismatches] == [(5, "float32")]
    assert "got 0x3f000000 (0.5)" in r.report()


def test_missing_cases_fail(tmp_path):
    vf, codes = ml_dtypes_kernel(ML_E4M3)
    res = tmp_path / "r.txt"
    write_pairs(res, vf.column("input"), codes, order=np.arange(vf.cases - 3))
    r = check_files(ML_E4M3, res)
    assert not r.ok and len(r.missing) == 3 and "3 cases have no result" in r.report()


@pytest.mark.parametrize("body, message", [
    ("3f800000 38\n3f800000 zz\n", "r.txt:3: 'zz' is not a hex number"),
    ("3f800000 38\n3f800000\n", "r.txt:3: expected 2 hex words"),
    ("3f800000 38 00 11 22\n", "r.txt:2: expected hex words 'expected | input expected | input expected flags', got 5"),
    ("12345678 38\n", "r.txt:2: input 12345678 is not a case of the golden vectors"),
    ("38\n39\n", "2 results for"),
])
def test_malformed_results_name_the_line(tmp_path, body, message, capsys):
    res = tmp_path / "r.txt"
    res.write_text("// header\n" + body)
    with pytest.raises(VectorFormatError, match=message.replace("|", r"\|")):
        check_files(ML_E4M3, res)
    assert main(["check", str(ML_E4M3), str(res)]) == 2
    assert capsys.readouterr().err.startswith("lowbit: error: ")


def test_bad_npy(tmp_path):
    np.save(tmp_path / "short.npy", np.zeros(3, np.uint8))
    with pytest.raises(VectorFormatError, match="expected .* elements"):
        check_files(ML_E4M3, tmp_path / "short.npy")
    vf = read(ML_E4M3)
    np.save(tmp_path / "f32.npy", np.zeros(vf.cases, np.float32))
    with pytest.raises(VectorFormatError, match="needs 1-byte elements"):
        check_files(ML_E4M3, tmp_path / "f32.npy")


def test_block_and_dot_vectors_check_with_their_own_columns(tmp_path):
    dot = ROOT / "dot/float8_e4m3fnxfloat8_e4m3fn/h100-fp8.txt"
    vf = read(dot)
    res = vf.column("result").astype(np.uint32).copy()
    res[4] ^= 1  # the kernel's last bit differs in case 5
    (tmp_path / "dot.txt").write_text("".join(f"{v:08x}\n" for v in res))
    r = check_files(dot, tmp_path / "dot.txt")
    assert [(m.case, m.column) for m in r.mismatches] == [(4, "result")]
    mx = ROOT / "mx/mxfp4/floor-spec.txt"
    vf = read(mx)
    x = [vf.column(f"x{i}") for i in range(32)]
    scale = vf.column("scale").astype(np.int64).copy()
    scale[2] += 1
    lines = [" ".join(f"{int(c[r]):08x}" for c in x) + f" {scale[r]:02x}\n" for r in range(vf.cases)]
    (tmp_path / "mx.txt").write_text("".join(lines[::-1]))  # any order: matched by the 32 inputs
    r = check_files(mx, tmp_path / "mx.txt")
    assert [(m.case, m.column) for m in r.mismatches] == [(2, "scale")] and r.columns == ["scale"]


def test_dot_mismatches_name_the_accumulator_the_kernel_follows(tmp_path):
    """A kernel that adds in float32 (the ieee file's answers) checked against the H100 preset's vectors."""
    h100 = ROOT / "dot/float8_e4m3fnxfloat8_e4m3fn/h100-fp8.txt"
    ieee = read(ROOT / "dot/float8_e4m3fnxfloat8_e4m3fn/ieee.txt").column("result")
    (tmp_path / "r.txt").write_text("".join(f"{int(v):08x}\n" for v in ieee))
    r = check_files(h100, tmp_path / "r.txt")
    assert r.mismatches and all("ieee order=sequential" in m.matches for m in r.mismatches)
    assert "ieee order=sequential" in r.common
    assert "a=[" in r.report()
