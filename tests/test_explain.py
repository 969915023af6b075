"""lowbit.explain, ``lowbit explain`` and the generated docs/profiles.md.

References: ml_dtypes (code values and astype codes), exact Fraction arithmetic (input values),
the H100 recordings (which profile explains a real system's array of results).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import math
from fractions import Fraction
from pathlib import Path

import ml_dtypes
import numpy as np
import pytest

import lowbit

E = importlib.import_module("lowbit.explanation")
ROOT = Path(__file__).resolve().parents[1]


def test_issue_example_saturating_code():
    """500 → 0x7e in E4M3 is the saturating answer: ptx, ocp_sat, torch ≥ 2.13 give it;
    ocp, ml_dtypes, torch_2.11 give NaN 0x7f."""
    ex = lowbit.explain(500.0, 0x7E, "float8_e4m3fn")
    assert {"ptx", "ocp_sat", "torch"} <= set(ex.matches)
    assert not {"ocp", "ml_dtypes", "torch_2.11"} & set(ex.matches)
    # ml_dtypes' own answer (independent): NaN 0x7f
    ml = int(np.array([500.0], np.float32).astype(ml_dtypes.float8_e4m3fn).view(np.uint8)[0])
    assert ml == 0x7F and ex.codes["ml_dtypes"] == ml
    assert set(ex.others) == {0x7F} and {"ocp", "ml_dtypes", "torch_2.11"} <= set(ex.others[0x7F])
    text = str(ex)
    assert "your code 0x7e is float8_e4m3fn +448: it matches" in text
    assert "give 0x7f (NaN: overflow to NaN (non-saturating))" in text
    for name in ex.codes:
        assert f"\n{name} " in text  # one line per profile


def test_matches_are_exactly_the_profiles_giving_the_code():
    x = np.float32(-1e6)
    ex = lowbit.explain(x, 0xFB, "float8_e5m2")
    for name, c in ex.codes.items():
        assert (name in ex.matches) == (not isinstance(c, str) and c == 0xFB)
    assert "ptx" in ex.matches and "ocp" not in ex.matches


@pytest.mark.parametrize("code", [0x00, 0x01, 0x07, 0x08, 0x38, 0x7E, 0x7F, 0x80, 0xB9, 0xFF])
def test_code_fields_e4m3(code):
    """Bit fields read back as the value ml_dtypes gives the code."""
    fmt = lowbit.format("float8_e4m3fn")
    text = E.code_fields(code, fmt)
    s, e, m = code >> 7, (code >> 3) & 0xF, code & 7
    assert text.startswith(f"0b{s}_{e:04b}_{m:03b}: ")
    v = float(np.array([code], np.uint8).view(ml_dtypes.float8_e4m3fn).astype(np.float64)[0])
    assert text.endswith(E._num(v)) or (math.isnan(v) and "NaN" in text)


def test_code_fields_other_kinds():
    assert E.code_fields(0x7C, lowbit.format("float8_e5m2")).startswith("0b0_11111_00: sign +, exponent 11111")
    assert "Inf" in E.code_fields(0x7C, lowbit.format("float8_e5m2"))
    assert E.code_fields(0x80, lowbit.format("float8_e8m0fnu")) == "0b10000000: exponent 128 - bias 127 → 2^1 = +2"
    assert E.code_fields(0x00, lowbit.format("float8_e8m0fnu")).endswith("→ 2^-127 = +2^-127")
    assert E.code_fields(0xC0, lowbit.format("mxint8")) == "0b11000000: two's complement -64 / 2^6 → -1"
    assert "subnormal" in E.code_fields(0x01, lowbit.format("float4_e2m1fn"))


@pytest.mark.parametrize("v", [464.0, 0.1, -3.0, 2.0**-149, 1e38, -0.0])
def test_exact_value_is_exact(v):
    x = float(np.float32(v))
    text = E.exact_value(x)
    if x == 0:
        assert text == "-0"
        return
    n, _, k = text.rsplit(" = ", 1)[1].partition("·2^")
    assert Fraction(int(n)) * Fraction(2) ** int(k or 0) == Fraction(x)
    assert float.fromhex(text.split(" = ")[1]) == x


def test_describe_input_nan_sign_and_bits():
    neg_nan = np.array(0xFFC00001, np.uint32).view(np.float32)
    assert E.describe_input(neg_nan) == "-NaN (float32 0xffc00001)"
    assert E.describe_input(np.float16(1.5)) == "float16 0x3e00 = +1.5 = 0x1.8000000000000p+0 = 3·2^-1"


def test_nan_given_by_bits_every_ptx_nan_is_0x7f():
    x = E.parse_value("bits:0xffc00000", np.dtype(np.float32))
    assert np.isnan(x) and np.signbit(x)
    ex = lowbit.explain(x, 0x7F, "float8_e4m3fn")
    assert "ptx" in ex.matches and "ml_dtypes" not in ex.matches  # ml_dtypes keeps the sign: 0xff
    ml = int(x.reshape(1).astype(ml_dtypes.float8_e4m3fn).view(np.uint8)[0])
    assert ml == 0xFF and ex.codes["ml_dtypes"] == ml
    lines = str(ex).split("\n")
    assert any(l.startswith("ptx ") and "NaN, sign + whatever the input's" in l for l in lines)
    assert any(l.startswith("ml_dtypes ") and "NaN, input sign kept" in l for l in lines)
    fp4 = lowbit.explain(x, 0x8, "float4_e2m1fn")  # ml_dtypes: a NaN into FP4 is a zero of the other sign
    want = int(x.reshape(1).astype(ml_dtypes.float4_e2m1fn).view(np.uint8)[0]) & 0xF
    assert want == 0x0 and fp4.codes["ml_dtypes"] == want and "ml_dtypes" not in fp4.matches
    assert "NaN becomes +0 (the format has no NaN)" in str(fp4)


def test_array_summary_h100_cvt():
    """The H100's cvt results (Triton, float32 → E4M3) are explained in full by `ptx` only
    among the torch/ptx profiles; torch_2.11 misses the overflows."""
    spec = importlib.util.spec_from_file_location("cb", ROOT / "vectors/hardware/h100/casts_build.py")
    cb = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cb)
    d = cb.load()
    x, code = d["x_f32"][::50], d["triton_f32_to_e4m3"][::50]
    ex = lowbit.explain(x, code, "float8_e4m3fn", profiles=["ptx", "torch_2.11", "ocp_sat", "ml_dtypes"])
    n = x.size
    assert ex.counts["ptx"] == n and "ptx" in ex.best
    overflow = np.abs(x[~np.isnan(x)]) > 464
    assert ex.counts["torch_2.11"] <= n - overflow.sum()
    assert ex.unexplained.size == 0
    text = str(ex)
    assert f"ptx" in text and f"{n} / {n}  all" in text and "first difference" in text


def test_array_unexplained_results_are_counted():
    x = np.array([1.0, 2.0, 3.0], np.float32)
    code = lowbit.encode(x, "float8_e4m3fn", profile="ml_dtypes").copy()
    code[1] = 0x55  # no profile gives this for 2.0
    ex = lowbit.explain(x, code, "float8_e4m3fn")
    assert ex.unexplained.tolist() == [1] and ex.counts["ml_dtypes"] == 2
    assert "1 results match no profile" in str(ex)


@pytest.mark.parametrize("call, message", [
    (lambda: lowbit.explain(1.0, 0x100, "float8_e4m3fn"), "out of range"),
    (lambda: lowbit.explain(np.ones(3, np.float32), np.ones(2, np.uint8), "float8_e4m3fn"), "shape"),
    (lambda: lowbit.explain(1.0, 0x38, "float8_e4m3fn", profiles=["nope"]), "unknown profile 'nope'"),
    (lambda: lowbit.explain(1.0, 0x38, "float9"), "float9"),
    (lambda: lowbit.explain(1.0, 0x38, "float8_e4m3fn", source_dtype="int8"), "source dtype"),
    (lambda: E.parse_value("abc", np.dtype(np.float32)), "bad value 'abc'"),
    (lambda: E.parse_value("bits:0x1ffff", np.dtype(np.float16)), "does not fit float16"),
    (lambda: E.parse_code("7e"), "bad code '7e'"),
])
def test_bad_input_is_a_clear_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_profiles_that_do_not_apply_say_why():
    ex = lowbit.explain(-3.0, 0x81, "float8_e8m0fnu")
    assert ex.codes["ptx"].startswith("n/a: profile 'ptx' has no conversion to 'float8_e8m0fnu'")
    assert "torch" in ex.matches and "sign ignored" in str(ex)
    assert "no profile gives it" not in str(ex)


def _run(parser, argv):
    args = parser.parse_args(argv)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = args.func(args)
    return rc, out.getvalue()


def _parser():
    p = argparse.ArgumentParser(prog="lowbit")
    E.add_cli(p.add_subparsers(dest="command"))
    return p


def test_cli_explain_and_help():
    rc, out = _run(_parser(), ["explain", "float8_e4m3fn", "500", "0x7e"])
    assert rc == 0 and "it matches" in out and "`ptx`" in out
    rc, out = _run(_parser(), ["explain", "float8_e5m2", "--source-dtype", "bfloat16", "--", "-nan", "0x7f"])
    assert rc == 0 and "-NaN (bfloat16 0xffc0)" in out and "`ptx`" in out.split("\n")[2]
    rc, out = _run(_parser(), ["explain", "float8_e4m3fn", "0.1", "0x1d"])
    assert out.startswith("note: 0.1 is not a float32 value")
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), pytest.raises(SystemExit):
        _parser().parse_args(["explain", "--help"])
    assert "lowbit explain float8_e4m3fn 464 0x7e" in buf.getvalue()


def test_cli_explain_arrays_from_npy(tmp_path):
    x = np.array([1.0, 500.0, -1e6, 0.3], np.float32)
    code = np.array([0x38, 0x7E, 0xFE, 0x2A], np.uint8)  # the cvt instruction's answers
    want = [0x38, 0x7E, 0xFE]
    assert x[:3].astype(ml_dtypes.float8_e4m3fn).view(np.uint8).tolist()[0] == want[0]
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "c.npy", code)
    rc, out = _run(_parser(), ["explain", "float8_e4m3fn", str(tmp_path / "x.npy"), str(tmp_path / "c.npy")])
    assert rc == 0 and out.startswith("4 results in float8_e4m3fn from float32:")
    assert "ptx                   4 / 4  all" in out and "best: `ocp_sat`" in out
    with pytest.raises(ValueError, match="both VALUE and CODE"):
        _run(_parser(), ["explain", "float8_e4m3fn", str(tmp_path / "x.npy"), "0x38"])


def _main_cli_has_explain() -> bool:
    from lowbit import cli

    sub = [a for a in cli.build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return bool(sub) and "explain" in sub[0].choices


def test_main_cli_runs_explain():
    from lowbit import cli

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = cli.main(["explain", "float8_e4m3fn", "464", "0x7e"])
    assert rc == 0 and "your code 0x7e" in out.getvalue()


def test_docs_profiles_md_is_generated_from_the_code():
    committed = (ROOT / "docs" / "profiles.md").read_text(encoding="utf-8")
    assert committed == E.profiles_markdown() + "\n", (
        "docs/profiles.md is stale: python -c \"import lowbit.explanation as e; e.write_profiles_doc()\"")


def test_docs_table_cells_against_ml_dtypes():
    """Every ml_dtypes cell of the table is what ml_dtypes' astype gives (independent)."""
    table = E.profiles_table(["ml_dtypes"]).split("\n")[2:]
    assert len(table) == len(E.TELLING_INPUTS)
    for row, (_, fmt_name, value) in zip(table, E.TELLING_INPUTS):
        x = E._telling_x(value).reshape(1)
        want = x.astype(getattr(ml_dtypes, fmt_name)).view(np.uint8)[0]
        if fmt_name.startswith(("float4", "float6")):
            want = want & ((1 << lowbit.format(fmt_name).bits) - 1)
        cell = row.split(" | ")[2]
        assert int(cell.split()[0], 16) == want, (row, hex(want))


def test_docs_cover_every_profile_and_rule_kind():
    from lowbit.profiles import PROFILES

    doc = E.profiles_markdown()
    for name in PROFILES:
        if name == "ml_dtypes":
            # the installed ml_dtypes' era: the table shows every pinned era instead, so that the
            # page does not depend on the ml_dtypes installed where it is generated
            assert "### `ml_dtypes`" in doc and "| `ml_dtypes` |" not in doc
            continue
        assert f"### `{name}`" in doc and f"`{name}` |" in doc
    from lowbit.profiles import ML_DTYPES_ERAS

    for era, versions in ML_DTYPES_ERAS.items():  # each era column, and the releases it holds for
        assert f"`{era}` |" in doc and f"{era}: {', '.join(versions)}" in doc
    for name in ("ocp", "ocp_sat", "torch", "torch_2.11", "ptx", "microxcaling", "torchao"):
        rules = PROFILES[name].__doc__.lower()
        for word in ("round", "overflow", "inf", "nan", "−0", "subnormal"):
            assert word in rules or word.replace("−", "-") in rules, (name, word)
