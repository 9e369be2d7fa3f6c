"""Summary statistics the benchmark scripts share."""

from __future__ import annotations

import math


def percentile(values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile (None when there are no values)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = min(len(ordered), max(1, math.ceil(fraction * len(ordered))))
    return ordered[rank - 1]


def ms(seconds: float | None) -> float | None:
    """Seconds as milliseconds rounded to 0.01 ms; None stays None."""
    return None if seconds is None else round(seconds * 1000, 2)
