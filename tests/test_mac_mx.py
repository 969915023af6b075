"""lowbit.mac.mx_matmul (OCP MX v1.0 §6.2 DotGeneral) against a Fraction reference.

The reference decodes elements and scales, sums each block's products exactly with
fractions.Fraction, rounds to float32 with integer arithmetic, applies the two scales
exactly, rounds once more, and adds the blocks in order with numpy float32.
"""

import dataclasses
from fractions import Fraction

import numpy as np
import pytest

import lowbit
from lowbit.mac import mx_matmul
from test_mac import f32_rne  # the Fraction -> float32 reference of tests/test_mac.py


def reference(qa, qb):
    ea = lowbit.decode(qa.elements, qa._element_format())
    eb = lowbit.decode(qb.elements, qb._element_format())
    sa, sb = qa.scale_values(), qb.scale_values()
    M, K = ea.shape
    N = eb.shape[1]
    bs = qa.block_size
    out = np.zeros((M, N), np.float32)
    for m in range(M):
        for n in range(N):
            acc = np.float32(0)
            for j, lo in enumerate(range(0, K, bs)):
                if np.isnan(sa[m, j]) or np.isnan(sb[j, n]):
                    acc = np.float32(np.nan)
                    continue
                xs, ys = ea[m, lo:lo + bs], eb[lo:lo + bs, n]
                if not (np.isfinite(xs).all() and np.isfinite(ys).all()):  # IEEE: Inf/NaN propagate
                    with np.errstate(invalid="ignore"):
                        acc = np.float32(acc + np.float32(np.sum(xs * ys) * sa[m, j] * sb[j, n]))
                    continue
                s = sum((Fraction(float(x)) * Fraction(float(y)) for x, y in zip(ea[m, lo:lo + bs], eb[lo:lo + bs, n])),
                        Fraction(0))
                term = f32_rne(Fraction(float(f32_rne(s))) * Fraction(float(sa[m, j])) * Fraction(float(sb[j, n])))
                acc = np.float32(acc + term)
            out[m, n] = acc
    return out


@pytest.mark.parametrize("fmt", ["mxfp8_e4m3", "mxfp8_e5m2", "mxfp6_e2m3", "mxfp6_e3m2", "mxfp4", "mxint8", "nvfp4"])
def test_mx_matmul_exact_blocks_match_fraction_reference(fmt):
    rng = np.random.default_rng(11)
    K = 80  # not a multiple of 32: a short last block
    x = rng.standard_t(3, size=(5, K)) * np.exp2(rng.integers(-20, 20, size=(5, 1)))
    w = rng.normal(size=(K, 4))
    qa = lowbit.mx.quantize(x, fmt, axis=1)
    qb = lowbit.mx.quantize(w, fmt, axis=0)
    got = mx_matmul(qa, qb, accumulator="exact")
    assert np.array_equal(got.view(np.int32), reference(qa, qb).view(np.int32))


def test_mx_matmul_nan_scale_and_specials():
    rng = np.random.default_rng(12)
    qa = lowbit.mx.quantize(rng.normal(size=(3, 64)), "mxfp8_e5m2", axis=1)
    qb = lowbit.mx.quantize(rng.normal(size=(64, 3)), "mxfp8_e5m2", axis=0)
    sc = qa.scales.copy()
    sc[1, 1] = 0xFF  # E8M0 NaN
    el = qb.elements.copy()
    el[5, 2] = 0x7C  # +Inf element
    qa2, qb2 = dataclasses.replace(qa, scales=sc), dataclasses.replace(qb, elements=el)
    got = mx_matmul(qa2, qb2)
    ref = reference(qa2, qb2)
    assert np.array_equal(np.isnan(got), np.isnan(ref)) and np.isnan(got[1]).all()
    ok = ~np.isnan(ref)
    assert np.array_equal(got[ok], ref[ok])
    assert np.isinf(got[0, 2]) or np.isnan(got[0, 2])


def test_mx_matmul_bad_input():
    rng = np.random.default_rng(13)
    qa = lowbit.mx.quantize(rng.normal(size=(2, 64)), "mxfp8_e4m3", axis=1)
    qb = lowbit.mx.quantize(rng.normal(size=(64, 2)), "mxfp8_e4m3", axis=0)
    with pytest.raises(ValueError, match="axis 0"):
        mx_matmul(qa, lowbit.mx.quantize(rng.normal(size=(64, 2)), "mxfp8_e4m3", axis=1))
    with pytest.raises(ValueError, match="block sizes differ"):
        mx_matmul(qa, lowbit.mx.quantize(rng.normal(size=(64, 2)), "mxfp8_e4m3", axis=0, block_size=16))
    with pytest.raises(ValueError, match="K must be equal"):
        mx_matmul(qa, lowbit.mx.quantize(rng.normal(size=(96, 2)), "mxfp8_e4m3", axis=0))
    with pytest.raises(TypeError, match="MXArray"):
        mx_matmul(np.zeros((2, 64)), qb)
    with pytest.raises(ValueError, match="unknown accumulator"):
        mx_matmul(qa, qb, accumulator="nope")


def test_lowbit_mx_matmul_is_mac_mx_matmul():
    """The issue's spelling `lowbit.mx.matmul(qa, qb, accumulator=...)` is the MX DotGeneral."""
    import lowbit.mac.mx

    assert lowbit.mx.matmul is lowbit.mac.mx.mx_matmul
