"""Packing (bit order derived by hand from the documented stream layout) and the 128x4 swizzled
scale layout (offsets from the cuBLAS formula, computed here element by element)."""

import numpy as np
import pytest

import lowbit.mx as mx


def test_fp4_first_element_in_low_nibble():
    assert mx.pack(np.array([0x1, 0xA], np.uint8), "mxfp4").tolist() == [0xA1]
    assert mx.pack(np.array([0x3, 0xF, 0x7], np.uint8), 4).tolist() == [0xF3, 0x07]  # odd: zero-padded
    assert mx.unpack(np.array([0xA1], np.uint8), 4).tolist() == [0x1, 0xA]


def test_fp6_four_in_three_bytes():
    e = np.array([0b000001, 0b100010, 0b110011, 0b111100], np.uint8)
    stream = sum(int(v) << (6 * i) for i, v in enumerate(e))  # element i at bits 6i..6i+5
    expect = [(stream >> (8 * k)) & 0xFF for k in range(3)]
    assert mx.pack(e, "mxfp6_e2m3").tolist() == expect
    assert expect == [0b10000001, 0b00111000, 0b11110011]  # e1>>2 | (e2 & 0xF)<<4 = 0b0011_1000
    np.testing.assert_array_equal(mx.unpack(np.array(expect, np.uint8), 6), e)


def test_int2_four_per_byte():
    assert mx.pack(np.array([1, 2, 3, 0, 1], np.uint8), "mxint2").tolist() == [0b00111001, 0b01]


@pytest.mark.parametrize("bits", [2, 4, 6, 8])
@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 31, 32, 33])
def test_round_trip(bits, n):
    rng = np.random.default_rng(bits * 100 + n)
    c = rng.integers(0, 1 << bits, (3, 2, n)).astype(np.uint8)
    p = mx.pack(c, bits)
    assert p.dtype == np.uint8 and p.shape == (3, 2, -(-n * bits // 8) if bits != 6 else 3 * -(-n // 4))
    np.testing.assert_array_equal(mx.unpack(p, bits, n), c)
    # the stream, bit by bit
    flat = c.reshape(-1, n)[0]
    stream = sum(int(v) << (bits * i) for i, v in enumerate(flat))
    got = sum(int(b) << (8 * k) for k, b in enumerate(p.reshape(-1, p.shape[-1])[0]))
    assert got == stream


def test_pack_quantized_result_round_trips():
    x = np.random.default_rng(1).standard_normal((4, 64)).astype(np.float32)
    for name in ("mxfp4", "mxfp6_e3m2", "mxint8", "mxint2", "nvfp4"):
        r = mx.quantize(x, name)
        np.testing.assert_array_equal(mx.unpack(mx.pack(r.elements, r.format), r.format, 64), r.elements)


def test_pack_errors():
    with pytest.raises(ValueError, match="does not fit in 4 bits"):
        mx.pack(np.array([16], np.uint8), 4)
    with pytest.raises(ValueError, match="allowed widths"):
        mx.pack(np.array([1], np.uint8), 5)
    with pytest.raises(TypeError, match="integer"):
        mx.pack(np.array([1.0]), 4)
    with pytest.raises(ValueError, match="groups of 3 bytes"):
        mx.unpack(np.zeros(4, np.uint8), 6)
    with pytest.raises(ValueError, match="count 9"):
        mx.unpack(np.zeros(4, np.uint8), 4, 9)
    with pytest.raises(TypeError, match="uint8"):
        mx.unpack(np.zeros(4, np.int32), 4)


@pytest.mark.parametrize("rows,cols", [(128, 4), (1, 1), (129, 5), (256, 12), (383, 3)])
def test_swizzle_offsets(rows, cols):
    rng = np.random.default_rng(rows * 7 + cols)
    s = rng.integers(1, 256, (rows, cols)).astype(np.uint8)
    z = mx.swizzle_scales(s)
    nrb, ncb = -(-rows // 128), -(-cols // 4)
    assert z.shape == (32 * nrb, 16 * ncb)
    flat = z.reshape(-1)
    for r in range(rows):
        for c in range(cols):
            tile = (r // 128) * ncb + c // 4
            off = tile * 512 + (r % 32) * 16 + ((r % 128) // 32) * 4 + c % 4
            assert flat[off] == s[r, c]
    assert (flat != 0).sum() == rows * cols  # the padding is zero codes
    np.testing.assert_array_equal(mx.unswizzle_scales(z, rows, cols), s)


def test_swizzle_errors():
    with pytest.raises(ValueError, match="2-D"):
        mx.swizzle_scales(np.zeros(4, np.uint8))
    with pytest.raises(ValueError, match="swizzles to 512 bytes"):
        mx.unswizzle_scales(np.zeros(100, np.uint8), 4, 4)
