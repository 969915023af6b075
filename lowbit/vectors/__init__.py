"""Golden test vectors: generators, the text file format, build / verify, and check.

- :mod:`lowbit.vectors.textfile`: the self-describing hex line format (``render``, ``read``).
- :mod:`lowbit.vectors.families`: the generator registry (one function per family).
- :mod:`lowbit.vectors.build`: ``build(out)``, ``verify(root)`` and ``MANIFEST.json``.
- :mod:`lowbit.vectors.check`: compare a kernel's results with golden vectors.
"""

from __future__ import annotations

from .build import build, verify
from .families import FAMILIES, family, targets
from .textfile import VectorFile, read, render

__all__ = ["build", "verify", "read", "render", "VectorFile", "FAMILIES", "family", "targets", "check"]


def check(vectors, results):
    """Compare a kernel's results with a golden-vector file (see :func:`lowbit.vectors.check.check_files`)."""
    from .check import check_files

    return check_files(vectors, results)
