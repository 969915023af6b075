"""The lowbit command line: outputs checked against ml_dtypes, every --help shows an example,
errors exit 2 with one clear line and no traceback."""

from __future__ import annotations

import subprocess
import sys

import ml_dtypes
import numpy as np
import pytest

from lowbit.cli import build_parser, main


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_no_arguments_prints_the_format_table():
    out = subprocess.run([sys.executable, "-m", "lowbit"], capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[0].split()[:2] == ["name", "bits"]
    assert any(line.startswith("float8_e4m3fn ") for line in out.splitlines())


def test_encode_matches_ml_dtypes(capsys):
    xs = ["1.1", "0x1.8p3", "-0.3", "1e-3", "240"]
    code, out, _ = run(capsys, "encode", "float8_e4m3fn", *xs)
    assert code == 0
    got = [int(line.split("->")[1].split()[0], 16) for line in out.strip().splitlines()]
    want = np.array([float.fromhex(x) if "0x" in x else float(x) for x in xs]).astype(ml_dtypes.float8_e4m3fn)
    assert got == want.view(np.uint8).tolist()
    assert out.splitlines()[0] == "1.1 -> 0x39  0 0111 001  = 1.125  normal"


def test_encode_rules_and_source(capsys):
    code, out, _ = run(capsys, "encode", "float8_e4m3fn", "500", "1.1", "--overflow", "saturate", "--rounding", "toward_zero")
    assert code == 0
    assert [ln.split()[2] for ln in out.splitlines()] == ["0x7e", "0x38"]  # 448 (saturated), 1 (truncated)
    code, out, _ = run(capsys, "encode", "float4_e2m1fn", "1.3", "--from", "bfloat16")
    assert out.startswith("1.3 (as bfloat16: 1.296875) -> 0x3")  # bfloat16(1.3) = 1.296875, FP4 1.5
    code, out, _ = run(capsys, "encode", "float8_e5m2", "1e6", "--profile", "ml_dtypes")
    assert "0x7c" in out  # ml_dtypes: overflow to +Inf


def test_decode_matches_ml_dtypes(capsys):
    code, out, _ = run(capsys, "decode", "float8_e5m2", "0x3c", "0b01111100", "255", "0x01")
    assert code == 0
    vals = np.array([0x3C, 0x7C, 0xFF, 0x01], np.uint8).view(ml_dtypes.float8_e5m2).astype(np.float64)
    lines = out.strip().splitlines()
    assert [ln.split()[-2] for ln in lines] == ["1", "Inf", "NaN", repr(float(vals[3]))]
    assert [ln.split()[-1] for ln in lines] == ["normal", "inf", "nan", "subnormal"]
    code, out, _ = run(capsys, "decode", "int4", "-8", "0x7")
    assert [ln.split()[2] for ln in out.strip().splitlines()] == ["-8", "7"]


def test_table_lists_every_code_with_ml_dtypes_values(capsys):
    code, out, _ = run(capsys, "table", "float4_e2m1fn")
    lines = out.strip().splitlines()
    assert code == 0 and lines[0].startswith("# float4_e2m1fn: 16 codes")
    want = np.arange(16, dtype=np.uint8).view(ml_dtypes.float4_e2m1fn).astype(np.float64)
    for c, line in enumerate(lines[1:]):
        words = line.split()
        assert int(words[0], 16) == c
        assert "".join(words[1:4]) == format(c, "04b")  # sign, exponent, significand fields
        assert float(words[4]) == want[c]


COMMANDS = [["formats"], ["table"], ["encode"], ["decode"], ["vectors"], ["vectors", "build"], ["vectors", "verify"],
            ["check"], []]


@pytest.mark.parametrize("cmd", COMMANDS, ids=lambda c: " ".join(c) or "lowbit")
def test_every_help_shows_an_example(cmd, capsys):
    with pytest.raises(SystemExit) as e:
        main(cmd + ["--help"])
    assert e.value.code == 0
    assert "example" in capsys.readouterr().out


def test_explain_is_wired_when_the_semantics_module_provides_it(capsys):
    parser = build_parser()
    choices = parser._subparsers._group_actions[0].choices
    assert "explain" in choices
    with pytest.raises(SystemExit) as e:
        main(["explain", "--help"])
    assert e.value.code == 0
    assert "example" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["encode", "float9", "1"], "unknown format 'float9'"),
    (["encode", "float8_e4m3fn", "abc"], "cannot read 'abc' as a number"),
    (["decode", "float4_e2m1fn", "0x10"], "code 0x10 out of range for 4-bit format 'float4_e2m1fn'"),
    (["decode", "float8_e4m3fn", "zz"], "cannot read 'zz' as a code"),
    (["table", "float32"], "'lowbit table' lists formats of up to 16 bits"),
    (["encode", "float4_e2m1fn", "100", "--overflow", "nonsaturating"], "has no code in 'float4_e2m1fn'"),
    (["encode", "float8_e4m3fn", "1", "--profile", "nosuch"], "unknown profile 'nosuch'"),
    (["check", "/nonexistent/v.txt", "/nonexistent/r.txt"], "no such file"),
    (["vectors", "verify", "--root", "/nonexistent"], "no such folder"),
    (["vectors", "build", "--out", "/tmp/x", "--only", "nothing/*"], "no vectors file matches"),
])
def test_errors_exit_2_with_one_clear_line(argv, message, capsys):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert err.startswith("lowbit: error: ") and message in err, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_usage_errors_exit_2_without_traceback():
    p = subprocess.run([sys.executable, "-m", "lowbit", "encode"], capture_output=True, text=True)
    assert p.returncode == 2 and "usage:" in p.stderr and "Traceback" not in p.stderr
    p = subprocess.run([sys.executable, "-m", "lowbit", "decode", "e2m1", "0x99"], capture_output=True, text=True)
    assert p.returncode == 2 and "Traceback" not in p.stderr and "out of range" in p.stderr


def test_vectors_build_and_verify(tmp_path, capsys):
    code, out, _ = run(capsys, "vectors", "build", "--out", str(tmp_path), "--only", "decode/int*", "--quiet")
    assert code == 0 and out.startswith("wrote 6 files")
    code, out, _ = run(capsys, "vectors", "verify", "--root", str(tmp_path), "--only", "decode/int*", "--quiet")
    assert code == 0 and "identical to a fresh build" in out
    path = tmp_path / "decode" / "int2.txt"
    path.write_text(path.read_text().replace("\n1 3f800000", "\n1 3f800001"))
    code, out, _ = run(capsys, "vectors", "verify", "--root", str(tmp_path), "--only", "decode/int*", "--quiet")
    assert code == 1 and "decode/int2.txt: differs from a fresh build (line" in out


def test_calibrate_uncertain_refuses_shapes_and_nonpositive_counts(capsys):
    code, _, err = run(capsys, "calibrate", "--sweep", "--uncertain", "10", "--shape", "1", "2", "3")
    assert code == 2 and "--uncertain picks its own shapes" in err
    code, _, err = run(capsys, "calibrate", "--sweep", "--uncertain", "0")
    assert code == 2 and "--uncertain 0" in err
