"""The one timing helper every benchmark uses: best of N wall-clock runs after a warm-up."""

from __future__ import annotations

import time


def best_of(fn, repeat: int, warmup: bool = True) -> float:
    """Seconds of the fastest of ``repeat`` calls of ``fn`` (after one untimed call that
    compiles or loads Numba kernels, unless ``warmup`` is False)."""
    if warmup:
        fn()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best
