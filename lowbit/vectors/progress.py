"""A small progress bar on stderr for long builds (no dependency)."""

from __future__ import annotations

import sys
import time


class Progress:
    """``with Progress(total, enabled) as bar: bar.step(label)`` draws ``[####....] k/n label``."""

    def __init__(self, total: int, enabled: bool, stream=None, width: int = 30):
        self.total, self.enabled, self.width = max(total, 1), enabled, width
        self.stream = stream or sys.stderr
        self.done = 0
        self.start = time.monotonic()

    def __enter__(self):
        return self

    def step(self, label: str = "") -> None:
        self.done += 1
        if not self.enabled:
            return
        filled = self.width * self.done // self.total
        bar = "#" * filled + "." * (self.width - filled)
        label = label if len(label) <= 50 else "…" + label[-49:]
        self.stream.write(f"\r[{bar}] {self.done}/{self.total} {label:<50}")
        self.stream.flush()

    def __exit__(self, *exc):
        if self.enabled:
            self.stream.write(f"\r{' ' * (self.width + 70)}\r")
            self.stream.flush()
        return False

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.start
