"""profile="microxcaling" against recorded outputs of microsoft/microxcaling's _quantize_mx.

vectors/reference/mx/microxcaling.npz (160 rows × 256, 18 arrays) and microxcaling_edges.npz
(rows built to hit the reference's float32 quirks, 24 arrays incl. int4/int2) are outputs of
that program (see the README there); every value is compared bit for bit (NaN as NaN).
"""

from pathlib import Path

import numpy as np
import pytest

import lowbit.mx as mx

REF = Path(__file__).resolve().parent.parent / "vectors" / "reference" / "mx"
FILES = ("microxcaling.npz", "microxcaling_edges.npz")
_DATA = {f: np.load(REF / f) for f in FILES}
CASES = [(f, k) for f in FILES for k in _DATA[f].files if k != "x"]
MX_ROUND = {"nearest": "nearest_away", "even": "nearest_even", "floor": "toward_zero"}


def _mismatches(y: np.ndarray, ref: np.ndarray) -> np.ndarray:
    same = (y.view(np.uint32) == ref.view(np.uint32)) | (np.isnan(y) & np.isnan(ref))
    return ~same


def test_recorded_sets_are_complete():
    assert len([c for c in CASES if c[0] == FILES[0]]) == 18
    assert len([c for c in CASES if c[0] == FILES[1]]) == 24
    assert _DATA[FILES[0]]["x"].shape == (160, 256)


@pytest.mark.parametrize("fname,key", CASES, ids=[f"{f.split('.')[0]}:{k}" for f, k in CASES])
def test_every_recorded_value_bit_exact(fname, key):
    d = _DATA[fname]
    fmt, rnd = key.split("__")
    q = mx.quantize(d["x"], fmt, profile="microxcaling", rounding=rnd)
    # both ways to the float32 values: the MXArray's dequantize() and fake_quantize (signed
    # zeros included: MXINT8 writes sign(x)·0, which its codes cannot hold alone)
    for y in (q.dequantize(), mx.fake_quantize(d["x"], fmt, profile="microxcaling", rounding=rnd)):
        bad = _mismatches(y, d[key])
        assert y.dtype == np.float32 and y.shape == d[key].shape
        assert not bad.any(), (
            f"{int(bad.sum())} of {bad.size} values differ; first at {tuple(np.argwhere(bad)[0])}: "
            f"x={d['x'][tuple(np.argwhere(bad)[0])]!r}"
        )
    if fmt.startswith("int"):  # the reference's −0 outputs are there to be reproduced
        ref = d[key]
        assert ((ref == 0) & np.signbit(ref)).sum() > 100


@pytest.mark.parametrize("key", ["fp8_e4m3__nearest", "int8__floor"])
def test_lowbit_rounding_names_give_the_same(key):
    d = _DATA[FILES[0]]
    fmt, rnd = key.split("__")
    y = mx.fake_quantize(d["x"], fmt, profile="microxcaling", rounding=MX_ROUND[rnd])
    assert not _mismatches(y, d[key]).any()


def test_edge_rows_are_telling():
    """The spec-exact path (profile None) differs from microxcaling on the edge rows: the quirks
    the profile reproduces are exercised (otherwise the edge file would prove nothing)."""
    d = _DATA[FILES[1]]
    for key in ("fp8_e4m3__floor", "fp8_e5m2__nearest", "fp4_e2m1__even", "int4__nearest"):
        fmt, rnd = key.split("__")
        spec = mx.fake_quantize(d["x"], fmt, rounding=MX_ROUND[rnd])
        differ = ~((spec == d[key]) | (np.isnan(spec) & np.isnan(d[key])))
        assert differ.sum() > 50, key


def test_shared_exponent_rounds_up_below_a_power_of_two():
    """float32 log2 of 2^16 (1 - 2^-24) rounds to 16: the reference takes shared exponent
    16 - emax (the spec: 15 - emax).  Hand-derived from mx_ops._shared_exponents."""
    a = np.nextafter(np.float32(2.0 ** 16), np.float32(0))
    x = np.zeros((1, 32), dtype=np.float32)
    x[0, 0] = a
    r = mx.quantize(x, "mxfp8_e5m2", profile="microxcaling", rounding="floor")
    assert int(r.scales[0, 0]) == 127 + 16 - 15
    # the element 32767.998 is floored with private exponent 15 (log2 rounds up again):
    # 3 * 2^13 * 2 = 49152 (the spec would give 57344)
    assert r.dequantize()[0, 0] == 49152.0
    assert mx.quantize(x, "mxfp8_e5m2", rounding="toward_zero").dequantize()[0, 0] == 57344.0


def test_half_step_neighbour_rounds_up_in_nearest_modes():
    """(0.5 - 2^-25) + 0.5 rounds to 1.0 in float32: a value just below half of the smallest
    step becomes one step (microxcaling), zero in exact arithmetic."""
    v = np.float32((1 - 2.0 ** -24) * 2.0 ** -10)  # e4m3 smallest step 2^-9, amax 256 → scale 1
    x = np.array([[256.0, v, -v] + [0.0] * 29], dtype=np.float32)
    for rnd in ("nearest", "even"):
        y = mx.fake_quantize(x, "fp8_e4m3", profile="microxcaling", rounding=rnd)
        assert y[0, 1] == 2.0 ** -9 and y[0, 2] == -(2.0 ** -9)
        assert mx.fake_quantize(x, "mxfp8_e4m3", rounding=MX_ROUND[rnd])[0, 1] == 0.0
    y = mx.fake_quantize(x, "fp8_e4m3", profile="microxcaling", rounding="floor")
    assert y[0, 1] == 0.0


def test_zero_signs():
    x = np.array([[-0.0, 1.0, -2.0 ** -140, -0.001] + [0.0] * 28], dtype=np.float32)
    y = mx.fake_quantize(x, "int8", profile="microxcaling", rounding="nearest")
    assert not np.signbit(y[0, 0])  # sign(-0) = 0: +0
    assert y[0, 2] == 0 and np.signbit(y[0, 2])  # sign(-2^-140) * 0 = -0 (scale 2^0: no underflow)
    assert y[0, 3] == 0 and np.signbit(y[0, 3])  # -0.001 rounds to -0
    y = mx.fake_quantize(np.array([[2.0 ** 100, -2.0 ** -60] + [0.0] * 30], dtype=np.float32), "fp4_e2m1",
                         profile="microxcaling", rounding="nearest")
    assert y[0, 1] == 0 and not np.signbit(y[0, 1])  # scaled value underflows float32: +0


@pytest.mark.parametrize("bad", [dict(scale_rule="ceil"), dict(rounding="up")])
def test_profile_refuses_what_it_lacks(bad):
    with pytest.raises(ValueError):
        mx.quantize(np.ones((1, 32), np.float32), "mxfp8_e4m3", profile="microxcaling", **bad)


def test_profile_needs_float32():
    with pytest.raises(TypeError, match="float32"):
        mx.quantize(np.ones((1, 32)), "mxfp8_e4m3", profile="microxcaling")


def test_edge_inputs_rebuild_bit_for_bit():
    """The edge file's inputs come from a deterministic construction (the recording script)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_edges", REF / "make_microxcaling_edges.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    np.testing.assert_array_equal(mod.build().view(np.uint32), _DATA[FILES[1]]["x"].view(np.uint32))
