"""The decision over an experiment: every variant against the control, Holm-corrected, checked for
sample ratio mismatch and sample size, and a winner only when the evidence allows it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from resolvers.experiments.statistics import (
    MeanTest,
    ProportionTest,
    SampleRatioCheck,
    holm_adjust,
    mean_and_variance,
    required_sample_size,
    sample_ratio_mismatch,
    two_proportion_z_test,
    welch_t_test_from_summary,
)


@dataclass(frozen=True)
class VariantStats:
    """One variant's totals; revenue sums are over per-user revenue, users without revenue counting 0."""

    key: str
    is_control: bool
    users: int
    converted_users: int
    conversions: int
    revenue_sum: Decimal
    revenue_sum_squares: Decimal


@dataclass(frozen=True)
class VariantResult:
    """One variant's figures and, except for the control, its comparison with the control."""

    key: str
    is_control: bool
    users: int
    converted_users: int
    conversions: int
    conversion_rate: float | None
    revenue: Decimal
    revenue_per_user: Decimal | None
    uplift: float | None = None
    ci_lower: float | None = None
    ci_upper: float | None = None
    p_value: float | None = None
    p_value_adjusted: float | None = None
    revenue_uplift: float | None = None
    revenue_p_value: float | None = None
    is_significant: bool = False
    reason: str | None = None


@dataclass(frozen=True)
class ExperimentAnalysis:
    """Every variant's result, the checks behind the decision, and the winner or why there is none."""

    variants: tuple[VariantResult, ...]
    sample_ratio: SampleRatioCheck
    required_sample_size: int
    winner: str | None
    reason: str


def analyse_experiment(
    *,
    variants: Sequence[VariantStats],
    weights: Sequence[int],
    baseline_rate: float,
    minimum_detectable_effect: float,
    confidence_level: float = 0.95,
    power: float = 0.8,
) -> ExperimentAnalysis:
    """Compare every variant with the control and name a winner only when the evidence allows it."""
    controls = [variant for variant in variants if variant.is_control]
    if len(controls) != 1 or len(weights) != len(variants) or len({v.key for v in variants}) != len(variants):
        raise ValueError("an experiment needs exactly one control, one weight per variant and distinct keys")
    control, alpha = controls[0], 1 - confidence_level
    tests = {v.key: _compare(control, v, confidence_level) for v in variants if not v.is_control}
    adjusted = dict(
        zip(tests, holm_adjust([conversion.p_value for conversion, _ in tests.values()]), strict=True)
    )
    results = tuple(_result(v, tests.get(v.key), adjusted.get(v.key), alpha) for v in variants)
    srm = sample_ratio_mismatch(observed=[v.users for v in variants], weights=weights)
    required = required_sample_size(
        baseline_rate=baseline_rate,
        minimum_detectable_effect=minimum_detectable_effect,
        power=power,
        confidence=confidence_level,
    )
    winner, reason = _decide(results, srm, required)
    return ExperimentAnalysis(results, srm, required, winner, reason)


def _compare(
    control: VariantStats, variant: VariantStats, confidence: float
) -> tuple[ProportionTest, MeanTest]:
    conversion = two_proportion_z_test(
        conversions_a=control.converted_users,
        users_a=control.users,
        conversions_b=variant.converted_users,
        users_b=variant.users,
        confidence=confidence,
    )
    return conversion, welch_t_test_from_summary(
        **_revenue(control, "a"), **_revenue(variant, "b"), confidence=confidence
    )


def _revenue(variant: VariantStats, side: str) -> dict[str, float]:
    mean, variance = mean_and_variance(
        n=variant.users, total=variant.revenue_sum, total_squares=variant.revenue_sum_squares
    )
    return {f"n_{side}": variant.users, f"mean_{side}": mean, f"var_{side}": variance}


def _result(
    variant: VariantStats, tests: tuple[ProportionTest, MeanTest] | None, adjusted: float | None, alpha: float
) -> VariantResult:
    result = VariantResult(
        key=variant.key,
        is_control=variant.is_control,
        users=variant.users,
        converted_users=variant.converted_users,
        conversions=variant.conversions,
        conversion_rate=variant.converted_users / variant.users if variant.users else None,
        revenue=variant.revenue_sum,
        revenue_per_user=variant.revenue_sum / variant.users if variant.users else None,
    )
    if tests is None:
        return result
    conversion, revenue = tests
    return replace(
        result,
        uplift=conversion.uplift,
        ci_lower=conversion.ci_lower,
        ci_upper=conversion.ci_upper,
        p_value=conversion.p_value,
        p_value_adjusted=adjusted,
        revenue_uplift=revenue.uplift,
        revenue_p_value=revenue.p_value,
        is_significant=adjusted is not None and adjusted < alpha,
        reason=conversion.reason,
    )


def _decide(results: Sequence[VariantResult], srm: SampleRatioCheck, required: int) -> tuple[str | None, str]:
    challengers = [result for result in results if not result.is_control]
    if not challengers:
        return None, "one variant: nothing to compare with the control"
    # A mismatch means assignment or logging is broken, so the groups are no longer random samples of the
    # same users and no p-value computed from them can be trusted, however small.
    if srm.mismatch:
        return None, f"sample ratio mismatch: {srm.reason}"
    # The planned sample size is the stopping rule: declaring a winner at the first significant peek
    # would inflate the false positive rate well above alpha.
    smallest = min(result.users for result in results)
    if smallest < required:
        return None, f"sample size not reached ({smallest} of {required} users per variant)"
    significant = [result for result in challengers if result.is_significant]
    if not significant:
        return None, "not significant after Holm correction"
    better = [result for result in significant if result.uplift is not None and result.uplift > 0]
    if not better:
        return None, "no variant beats the control: the significant differences are losses"
    best = max(better, key=lambda result: result.uplift or 0.0)
    return (
        best.key,
        f"{best.key} beats the control by {best.uplift:+.1%} (adjusted p = {best.p_value_adjusted:.2g})",
    )
