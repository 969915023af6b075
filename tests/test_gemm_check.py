"""lowbit.gemm_check and ``lowbit check --gemm``: a full GEMM output checked position by
position, against output recorded on an H100 (vectors/hardware/h100/probes: torch._scaled_mm,
64x64x1024, fast accumulation off — the 128-element promotion interval matters there)."""

import json
from pathlib import Path

import numpy as np
import pytest

import lowbit
from lowbit import cli
from lowbit.gemm_check import check_gemm

PROBES = Path(__file__).resolve().parents[1] / "vectors" / "hardware" / "h100" / "probes"
E4M3 = "float8_e4m3fn"


@pytest.fixture(scope="module")
def slow_accum_case():
    cases = json.loads((PROBES / "probes.json").read_text())["cases"]
    case = next(c for c in cases if c["path"] == "scaled_mm" and c["K"] == 1024 and not c["fast_accum"]
                and c["fa"] == c["fb"] == "e4m3")
    data = np.load(PROBES / "probes.npz")
    a, b = data[case["operands"] + "_a"], data[case["operands"] + "_b"]
    c = data[f"c{case['id']}_out_bits"].view(np.float32)
    return a, b, c


def test_recorded_output_equals_its_preset(slow_accum_case):
    a, b, c = slow_accum_case
    result = check_gemm(a, b, c, E4M3, E4M3, "h100-fp8")
    assert result.ok and "bit for bit" in result.report()


def test_wrong_preset_is_diagnosed_as_the_promotion_interval(slow_accum_case):
    """Checked against fast accumulation (no promotion), the recorded slow-accumulation output
    differs almost everywhere, and the diagnosis names what produced it: promotion every 128."""
    a, b, c = slow_accum_case
    result = check_gemm(a, b, c, E4M3, E4M3, lowbit.mac.accumulator("h100-fp8", fast_accum=True))
    assert not result.ok and result.mismatches.shape[0] > c.size // 2
    assert result.explained_by["same model, promote_every=128"] == result.sampled
    (m, k), n = a.shape, b.shape[1]
    assert result.explained_by[f"h100-fp8 at M={m}, N={n}, K={k}"] == result.sampled
    assert result.explained_by["exact"] < result.sampled
    report = result.report(limit=2)
    assert "C[" in report and "promote_every=128" in report


def test_a_single_flipped_bit_is_found(slow_accum_case):
    a, b, c = slow_accum_case
    bad = c.copy()
    bad.view(np.uint32)[5, 7] ^= 1
    result = check_gemm(a, b, bad, E4M3, E4M3, "h100-fp8")
    assert result.mismatches.tolist() == [[5, 7]]


def test_cli_check_gemm(tmp_path, slow_accum_case, capsys):
    a, b, c = slow_accum_case
    for name, arr in (("a", a), ("b", b), ("c", c)):
        np.save(tmp_path / f"{name}.npy", arr)
    files = [str(tmp_path / f"{n}.npy") for n in "abc"]
    assert cli.main(["check", "--gemm", *files, "--formats", "e4m3", "e4m3"]) == 0
    assert cli.main(["check", "--gemm", *files, "--formats", "e4m3", "e4m3", "--param", "fast_accum=True"]) == 1
    out = capsys.readouterr().out
    assert "differ from h100-fp8, fast_accum=True" in out and "promote_every=128" in out


@pytest.mark.parametrize("argv, message", [
    (["check", "--gemm", "a.npy", "b.npy", "c.npy", "--formats", "e4m3"], "two names"),
    (["check", "--gemm", "a.txt", "b.npy", "c.npy", "--formats", "e4m3", "e4m3"], ".npy"),
    (["check", "only_one_file.txt"], "VECTORS RESULTS"),
    (["check", "--gemm", "a.npy", "b.npy", "c.npy", "--formats", "e4m3", "e4m3", "--param", "oops"], "KEY=VALUE"),
])
def test_cli_check_gemm_bad_input(argv, message, capsys):
    assert cli.main(argv) == 2
    assert message in capsys.readouterr().err


def test_bad_output_shape_and_dtype(slow_accum_case):
    a, b, c = slow_accum_case
    with pytest.raises(ValueError, match="shapes do not match"):
        check_gemm(a, b, c[:, :10], E4M3, E4M3, "h100-fp8")
    with pytest.raises(TypeError, match="allowed: float32, bfloat16, float16"):
        check_gemm(a, b, c.astype(np.float64), E4M3, E4M3, "h100-fp8")


def test_a_mispredicted_split_is_diagnosed_and_the_source_named():
    """A GEMM at a shape no recording has: the report says the schedule is the cuBLAS rule's
    prediction and how to record the shape, and names the split-K count that gives the
    kernel's answer.  The "kernel" here cut K into one more slice than predicted — what a
    mispredicted split looks like (its bits are lowbit's, this tests the diagnosis only)."""
    import dataclasses

    from lowbit.mac import sweep

    M, N, K = 8, 339, 6630
    assert "predicted" in lowbit.mac.provenance("h100-bf16", M, N, K)
    a, b = sweep.operand_codes("bf16-f32", M, N, K)
    acc = lowbit.mac.accumulator("h100-bf16", M=M, N=N, K=K)
    other = 3 if acc.split_k != 3 else 2
    kernel = dataclasses.replace(acc, split_k=other)
    c = np.asarray(lowbit.matmul(a, b, "bfloat16", "bfloat16", accumulator=kernel))
    got = check_gemm(a, b, c, "bfloat16", "bfloat16", "h100-bf16")
    assert not got.ok and "predicted" in got.source
    assert got.explained_by[f"same walk, split_k={other}"] == got.sampled
    report = got.report()
    assert "lowbit calibrate --sweep" in report and f"split_k={other}: {got.sampled} of" in report
