"""Progress on stderr while bytes move: a bar redrawn in place when stderr is a terminal (and not in CI), nothing
otherwise. Thread-safe: parallel transfers add to one total."""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import TextIO


def wanted(stream: TextIO = sys.stderr) -> bool:
    """A terminal, and not a CI job (CI=true is set by GitHub Actions, GitLab CI and most others)."""
    return stream.isatty() and os.environ.get("CI", "").lower() not in ("1", "true", "yes")


def _size(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    raise AssertionError("unreachable")


class Progress:
    """``advance(n)`` as bytes move; ``close()`` ends the line. Silent unless ``enabled``."""

    def __init__(self, label: str, total: int, *, enabled: bool, stream: TextIO = sys.stderr) -> None:
        self.label, self.total, self.enabled, self.stream = label, total, enabled, stream
        self.done = 0
        self._lock = threading.Lock()
        self._started = self._drawn = time.monotonic()

    def advance(self, count: int) -> None:
        with self._lock:
            self.done += count
            now = time.monotonic()
            if self.enabled and (now - self._drawn > 0.1 or self.done >= self.total):
                self._drawn = now
                self._draw(now)

    def _draw(self, now: float) -> None:
        fraction = self.done / self.total if self.total else 1.0
        bar = "#" * int(fraction * 30)
        rate = self.done / max(now - self._started, 1e-6)
        self.stream.write(
            f"\r{self.label} [{bar:<30}] {fraction:4.0%} {_size(self.done)} of {_size(self.total)} {_size(rate)}/s "
        )
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self._draw(time.monotonic())
            self.stream.write("\n")
            self.stream.flush()
