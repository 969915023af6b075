"""The swizzled scale layout of block-scaled GEMMs (cuBLAS ``CUBLASLT_MATMUL_MATRIX_SCALE_VEC32_UE8M0``
/ ``VEC16_UE4M3``, CUTLASS ``Sm1xxBlkScaledConfig``, torch ``SwizzleType.SWIZZLE_32_4_4``, torchao
``to_blocked``).

The scale matrix (rows = M or N, columns = K / block_size) is padded with zero codes to a whole
number of 128 × 4 tiles.  Tiles are stored one after another, row-tile major (tile (i, j) at
byte offset (i · ceil(cols/4) + j) · 512).  Inside a tile, the scale of tile row r (0..127) and
tile column c (0..3) is at byte

    (r % 32) · 16 + (r // 32) · 4 + c

i.e. the tile is four 32 × 4 sub-blocks (rows 0–31, 32–63, 64–95, 96–127) interleaved so that
one 16-byte line holds the 4 scales of rows r, r+32, r+64, r+96.  The result is returned as a
(32 · ceil(rows/128), 16 · ceil(cols/4)) uint8 array — the 2-D view torchao returns.
"""

from __future__ import annotations

import numpy as np


def _check2d(scales) -> np.ndarray:
    s = np.asarray(scales)
    if s.dtype.kind not in "iu":
        raise TypeError(f"scale codes must be an integer array, got dtype {s.dtype}")
    if s.ndim != 2:
        raise ValueError(f"scales must be 2-D (rows, K / block_size); got shape {s.shape}")
    return s


def swizzle_scales(scales) -> np.ndarray:
    """Rearrange a (rows, cols) scale matrix into the 128 × 4-tiled layout (see module docstring)."""
    s = _check2d(scales)
    rows, cols = s.shape
    nrb, ncb = -(-rows // 128), -(-cols // 4)
    padded = np.zeros((nrb * 128, ncb * 4), dtype=s.dtype)
    padded[:rows, :cols] = s
    t = padded.reshape(nrb, 4, 32, ncb, 4)  # (row tile, r // 32, r % 32, col tile, c)
    t = t.transpose(0, 3, 2, 1, 4)  # (row tile, col tile, r % 32, r // 32, c)
    return np.ascontiguousarray(t.reshape(nrb * 32, ncb * 16) if nrb and ncb else t.reshape(nrb * 32, ncb * 16))


def unswizzle_scales(swizzled, rows: int, cols: int) -> np.ndarray:
    """Inverse of :func:`swizzle_scales`: the (rows, cols) scale matrix (padding dropped).

    Raises:
      ValueError: the swizzled array does not hold exactly the tiles that rows × cols needs.
    """
    z = np.asarray(swizzled)
    if z.dtype.kind not in "iu":
        raise TypeError(f"scale codes must be an integer array, got dtype {z.dtype}")
    if rows < 0 or cols < 0:
        raise ValueError(f"rows and cols must be non-negative, got {rows}, {cols}")
    nrb, ncb = -(-rows // 128), -(-cols // 4)
    if z.size != nrb * ncb * 512:
        raise ValueError(f"a {rows} x {cols} scale matrix swizzles to {nrb * ncb * 512} bytes; got {z.size}")
    t = z.reshape(nrb, ncb, 32, 4, 4).transpose(0, 3, 2, 1, 4)  # (row tile, r // 32, r % 32, col tile, c)
    return np.ascontiguousarray(t.reshape(nrb * 128, ncb * 4)[:rows, :cols])
