"""Experiment statistics: two-proportion and Welch tests, Holm correction, sample ratio mismatch and
sample size. Pure functions over counts and sums the database computes; the decision built on them
(which variant wins, if any) is in resolvers/experiments/analysis.py.

Intervals of a relative uplift use the delta method on the ratio of means (as GrowthBook's frequentist
engine does): Var(m_b / m_a) ≈ Var(m_b) / m_a² + m_b² · Var(m_a) / m_a⁴, with unpooled variances and the
normal quantile, since the delta method is a large-sample approximation anyway. The interval is symmetric
around the uplift and used for conversion rates and revenue alike.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext

from resolvers.experiments.distributions import (
    chi2_survival,
    normal_quantile,
    normal_two_sided_p,
    student_t_two_sided_p,
)

SRM_THRESHOLD = 0.001


@dataclass(frozen=True)
class ProportionTest:
    """Conversion of B against A; reason says why any field is None."""

    rate_a: float | None
    rate_b: float | None
    z: float | None
    p_value: float | None
    uplift: float | None
    ci_lower: float | None
    ci_upper: float | None
    reason: str | None = None


@dataclass(frozen=True)
class MeanTest:
    """Welch's t-test of B's mean against A's; reason says why any field is None."""

    t: float | None
    df: float | None
    p_value: float | None
    uplift: float | None
    ci_lower: float | None
    ci_upper: float | None
    reason: str | None = None


@dataclass(frozen=True)
class SampleRatioCheck:
    """Whether users split across variants as the weights say."""

    chi2: float | None
    p_value: float | None
    mismatch: bool
    reason: str


def two_proportion_z_test(
    *, conversions_a: int, users_a: int, conversions_b: int, users_b: int, confidence: float = 0.95
) -> ProportionTest:
    """Compare B's conversion rate with A's: pooled two-sided z-test and the relative uplift's interval."""
    _check_counts(conversions_a, users_a)
    _check_counts(conversions_b, users_b)
    if users_a == 0 or users_b == 0:
        missing = "control" if users_a == 0 else "variant"
        return ProportionTest(None, None, None, None, None, None, None, f"no users in the {missing}")
    rate_a, rate_b = conversions_a / users_a, conversions_b / users_b
    pooled = (conversions_a + conversions_b) / (users_a + users_b)
    reasons = []
    z = p_value = None
    if 0 < pooled < 1:
        # Under the null hypothesis both groups share one rate, so the test's standard error pools them.
        z = (rate_b - rate_a) / math.sqrt(pooled * (1 - pooled) * (1 / users_a + 1 / users_b))
        p_value = normal_two_sided_p(z)
    else:
        reasons.append(
            "no conversions in either group" if pooled == 0 else "every user converted in both groups"
        )
    # A rate of 0 or 1 has no variance, which the delta-method interval needs.
    interval = 0 < rate_a < 1 and 0 < rate_b < 1
    var_a, var_b = rate_a * (1 - rate_a) / users_a, rate_b * (1 - rate_b) / users_b
    uplift, ci_lower, ci_upper = _uplift(rate_a, var_a, rate_b, var_b, confidence, interval, reasons)
    return ProportionTest(rate_a, rate_b, z, p_value, uplift, ci_lower, ci_upper, "; ".join(reasons) or None)


def welch_t_test_from_summary(
    *, n_a: int, mean_a: float, var_a: float, n_b: int, mean_b: float, var_b: float, confidence: float = 0.95
) -> MeanTest:
    """Compare B's mean with A's by Welch's t-test, from counts, means and sample variances (ddof 1)."""
    if var_a < 0 or var_b < 0:
        raise ValueError("variances must not be negative")
    if n_a < 2 or n_b < 2:
        return MeanTest(None, None, None, None, None, None, "a Welch test needs at least two users per group")
    var_mean_a, var_mean_b = var_a / n_a, var_b / n_b
    se2 = var_mean_a + var_mean_b
    reasons = []
    t = df = p_value = None
    if se2 > 0:
        t = (mean_b - mean_a) / math.sqrt(se2)
        # Welch–Satterthwaite degrees of freedom.
        df = se2**2 / (var_mean_a**2 / (n_a - 1) + var_mean_b**2 / (n_b - 1))
        p_value = student_t_two_sided_p(t, df)
    else:
        reasons.append("no variance in either group")
    uplift, ci_lower, ci_upper = _uplift(mean_a, var_mean_a, mean_b, var_mean_b, confidence, se2 > 0, reasons)
    return MeanTest(t, df, p_value, uplift, ci_lower, ci_upper, "; ".join(reasons) or None)


def holm_adjust(p_values: Sequence[float | None]) -> list[float | None]:
    """Return Holm–Bonferroni adjusted p-values in the input order; None passes through and is not counted."""
    present = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    if any(not 0 <= p <= 1 for p, _ in present):
        raise ValueError("p-values must be between 0 and 1")
    adjusted: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, index) in enumerate(present):
        # Step-down: the k-th smallest is multiplied by (m - k + 1), and the running maximum keeps the
        # adjusted values in the order of the raw ones (ties get the same value).
        running = max(running, min(1.0, (len(present) - rank) * p))
        adjusted[index] = running
    return adjusted


def sample_ratio_mismatch(
    *, observed: Sequence[int], weights: Sequence[int], threshold: float = SRM_THRESHOLD
) -> SampleRatioCheck:
    """Test the users per variant against the configured weights (chi-square goodness of fit)."""
    if len(observed) != len(weights):
        raise ValueError("one weight per observed count is needed")
    if any(count < 0 for count in observed) or any(weight < 0 for weight in weights) or sum(weights) == 0:
        raise ValueError("counts and weights must not be negative, and some weight must be positive")
    total = sum(observed)
    if total == 0:
        return SampleRatioCheck(None, None, False, "no users assigned yet")
    if any(count > 0 and weight == 0 for count, weight in zip(observed, weights, strict=True)):
        return SampleRatioCheck(math.inf, 0.0, True, "users were assigned to a variant with weight 0")
    pairs = zip(observed, weights, strict=True)
    cells = [(count, total * weight / sum(weights)) for count, weight in pairs if weight]
    if len(cells) < 2:
        return SampleRatioCheck(None, None, False, "one variant: no split to check")
    chi2 = math.fsum((count - expected) ** 2 / expected for count, expected in cells)
    p_value = chi2_survival(chi2, len(cells) - 1)
    if p_value < threshold:
        return SampleRatioCheck(
            chi2, p_value, True, f"users split unlike the weights (p = {p_value:.2g} < {threshold})"
        )
    return SampleRatioCheck(chi2, p_value, False, f"users split as the weights say (p = {p_value:.2g})")


def required_sample_size(
    *, baseline_rate: float, minimum_detectable_effect: float, power: float = 0.8, confidence: float = 0.95
) -> int:
    """Return the users needed per variant for a two-sided two-proportion test to detect a relative lift."""
    p1 = baseline_rate
    p2 = baseline_rate * (1 + minimum_detectable_effect)
    if not 0 < p1 < 1 or minimum_detectable_effect <= 0 or not p2 < 1:
        raise ValueError("need 0 < baseline_rate < 1, minimum_detectable_effect > 0 and p2 below 1")
    _check_level(power)
    _check_level(confidence)
    # n = (z_(1-α/2) · √(2 p̄ q̄) + z_power · √(p1 q1 + p2 q2))² / (p2 - p1)², p̄ = (p1 + p2) / 2: the normal
    # approximation without continuity correction, the equation R's power.prop.test solves (strict = FALSE).
    mean = (p1 + p2) / 2
    z_alpha, z_power = normal_quantile(1 - (1 - confidence) / 2), normal_quantile(power)
    root = z_alpha * math.sqrt(2 * mean * (1 - mean)) + z_power * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    # Rounding first keeps an exact whole number (say 3841.0000000000005) from becoming one user more.
    return math.ceil(round(root**2 / (p2 - p1) ** 2, 9))


def _uplift(
    mean_a: float,
    var_a: float,
    mean_b: float,
    var_b: float,
    confidence: float,
    interval: bool,
    reasons: list[str],
) -> tuple[float | None, float | None, float | None]:
    """Return B's relative uplift over A and its delta-method interval; var_* are variances of the means."""
    _check_level(confidence)
    if mean_a == 0:
        reasons.append("the control is 0, so the relative uplift is undefined")
        return None, None, None
    ratio = mean_b / mean_a
    if not interval:
        reasons.append("no variance for a delta-method interval")
        return ratio - 1, None, None
    margin = normal_quantile(1 - (1 - confidence) / 2) * math.sqrt(
        var_b / mean_a**2 + mean_b**2 * var_a / mean_a**4
    )
    return ratio - 1, ratio - margin - 1, ratio + margin - 1


def mean_and_variance(*, n: int, total: Decimal, total_squares: Decimal) -> tuple[float, float]:
    """Return the mean and sample variance (ddof 1, 0 below two values) of n values from their sums."""
    if n < 1:
        return 0.0, 0.0
    # Decimal at 50 digits: in floats, sum of squares minus n·mean² cancels catastrophically when the
    # spread is small next to the mean.
    with localcontext() as context:
        context.prec = 50
        mean = total / n
        variance = max(Decimal(0), (total_squares - total * mean) / (n - 1)) if n > 1 else Decimal(0)
        return float(mean), float(variance)


def _check_counts(conversions: int, users: int) -> None:
    if users < 0 or not 0 <= conversions <= users:
        raise ValueError(f"need 0 <= conversions <= users, got {conversions} of {users}")


def _check_level(level: float) -> None:
    if not 0 < level < 1:
        raise ValueError(f"a confidence or power must be between 0 and 1, got {level}")
