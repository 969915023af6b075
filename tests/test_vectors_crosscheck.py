"""The torch profile's golden vectors against PyTorch itself (optional: needs torch >= 2.13)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lowbit.vectors import read

torch = pytest.importorskip("torch", reason="crosscheck against PyTorch's casts needs torch")
pytestmark = [pytest.mark.crosscheck,
              pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")]

ROOT = Path(__file__).resolve().parents[1] / "vectors"


def _torch_version():
    return tuple(int(p) for p in torch.__version__.split("+")[0].split(".")[:2])


@pytest.mark.skipif(_torch_version() < (2, 13), reason="profile 'torch' reproduces torch >= 2.13")
@pytest.mark.parametrize("name", ["float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e8m0fnu"])
def test_torch_profile_file_equals_torch_cast(name):
    if not hasattr(torch, name):
        pytest.skip(f"this torch has no {name}")
    vf = read(ROOT / f"encode/profiles/torch/{name}.txt")
    bits = vf.column("input").astype(np.uint32)
    x = torch.from_numpy(bits.view(np.float32).copy())
    want = x.to(getattr(torch, name)).view(torch.uint8).numpy().astype(np.int64)
    np.testing.assert_array_equal(vf.column("expected").astype(np.int64), want)
