"""Intervals for the numbers a report shows: Student t intervals over seeds, and percentile
bootstrap intervals of a mean (written here: a dozen lines each, and SciPy is not a dependency)."""

from __future__ import annotations

import math
import random
import statistics

import numpy as np

# Student t quantiles t(0.975, df) for df = 1..30; beyond that the normal 1.96.
T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
        2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
        2.045, 2.042)


def t975(df: float) -> float:
    """Student's t(0.975, df), df rounded down (conservative); the normal 1.96 beyond the table."""
    return T975[max(int(df), 1) - 1] if df < len(T975) + 1 else 1.96


def interval(values) -> tuple[float, float]:
    """Mean and half-width of the 95% t interval (half-width NaN for a single value); None and
    non-finite values are left out."""
    values = [v for v in values if v is not None and math.isfinite(v)]
    if not values:
        return math.nan, math.nan
    mean = float(np.mean(values))
    if len(values) < 2:
        return mean, math.nan
    return mean, float(t975(len(values) - 1) * np.std(values, ddof=1) / math.sqrt(len(values)))


def bootstrap_mean(values, draws: int = 10_000, seed: int = 0) -> tuple[float, float, float]:
    """The mean of ``values`` and a percentile bootstrap 95% interval of it (resampling the values)."""
    values = list(values)
    rng = random.Random(seed)
    means = sorted(statistics.fmean(rng.choices(values, k=len(values))) for _ in range(draws))
    return statistics.fmean(values), means[int(0.025 * draws)], means[int(0.975 * draws) - 1]
