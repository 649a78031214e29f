"""Rough experiment statistics for seeded result snapshots (the API recomputes them properly)."""

from __future__ import annotations

import math
from statistics import NormalDist

_NORMAL = NormalDist()


def two_sided_p(z: float) -> float:
    return min(1.0, max(0.0, 2.0 * (1.0 - _NORMAL.cdf(abs(z)))))


def proportion_test(n_a: int, x_a: int, n_b: int, x_b: int) -> float:
    """Two-proportion z-test (pooled), two-sided p-value."""
    if not n_a or not n_b:
        return 1.0
    pooled = (x_a + x_b) / (n_a + n_b)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    return two_sided_p((x_b / n_b - x_a / n_a) / se) if se else 1.0


def difference_interval(n_a: int, x_a: int, n_b: int, x_b: int, confidence: float) -> tuple[float, float]:
    """Interval of the absolute difference of rates b - a (unpooled Wald)."""
    p_a, p_b = x_a / n_a, x_b / n_b
    se = math.sqrt(p_a * (1 - p_a) / n_a + p_b * (1 - p_b) / n_b)
    z = _NORMAL.inv_cdf(0.5 + confidence / 2)
    return p_b - p_a - z * se, p_b - p_a + z * se


def welch_p(n_a: int, sum_a: float, sq_a: float, n_b: int, sum_b: float, sq_b: float) -> float:
    """Welch's test on per-user values from their sums and squares; normal approximation (n is large)."""
    if n_a < 2 or n_b < 2:
        return 1.0
    mean_a, mean_b = sum_a / n_a, sum_b / n_b
    var_a = max(0.0, (sq_a - n_a * mean_a**2) / (n_a - 1))
    var_b = max(0.0, (sq_b - n_b * mean_b**2) / (n_b - 1))
    se = math.sqrt(var_a / n_a + var_b / n_b)
    return two_sided_p((mean_b - mean_a) / se) if se else 1.0


def chi2_sf(x: float, df: int) -> float:
    """Upper tail of the chi-square distribution for an integer number of degrees of freedom."""
    if x <= 0:
        return 1.0
    half = x / 2
    if df % 2 == 0:
        term, total = 1.0, 1.0
        for i in range(1, df // 2):
            term *= half / i
            total += term
        return min(1.0, math.exp(-half) * total)
    total = math.erfc(math.sqrt(half))
    term = math.sqrt(x) * math.sqrt(2 / math.pi) * math.exp(-half)
    for i in range(1, (df + 1) // 2):
        total += term
        term *= x / (2 * i + 1)
    return min(1.0, max(0.0, total))


def srm_p(observed: list[int], weights: list[int]) -> float:
    """Sample-ratio mismatch: chi-square goodness of fit of the arm sizes to the configured weights."""
    n, w = sum(observed), sum(weights)
    expected = [n * wi / w for wi in weights]
    statistic = sum((o - e) ** 2 / e for o, e in zip(observed, expected, strict=True) if e > 0)
    return chi2_sf(statistic, len(observed) - 1)


def sample_size(baseline: float, mde: float, confidence: float, power: float) -> int:
    """Users per arm to detect a relative uplift `mde` over `baseline` (two-sided, two proportions)."""
    p1, p2 = baseline, min(0.999, baseline * (1 + mde))
    z = _NORMAL.inv_cdf(0.5 + confidence / 2) + _NORMAL.inv_cdf(power)
    return math.ceil(z**2 * (p1 * (1 - p1) + p2 * (1 - p2)) / (p2 - p1) ** 2)
