"""Experiment statistics: named cases from statistics_cases.json, each checked twice.

The expected numbers in the JSON file were computed with scipy; every test also recomputes them with scipy
live (the oracles below), so a case fails if the implementation drifts from either. scipy is a test
dependency only: resolvers/experiments/statistics.py and distributions.py use the standard library.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from scipy import stats

from resolvers.experiments import distributions
from resolvers.experiments.analysis import VariantStats, analyse_experiment
from resolvers.experiments.statistics import (
    holm_adjust,
    mean_and_variance,
    required_sample_size,
    sample_ratio_mismatch,
    two_proportion_z_test,
    welch_t_test_from_summary,
)

REL = 1e-6


@cache
def cases() -> dict[str, Any]:
    return json.loads((Path(__file__).parent / "statistics_cases.json").read_text("utf-8"))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run every `<section>_case` test once per named case of that section of the JSON file."""
    for name in metafunc.fixturenames:
        if name.endswith("_case"):
            section = cases()[name.removesuffix("_case")]
            metafunc.parametrize(name, section, ids=[case["name"] for case in section])


def assert_close(actual: Any, expected: Any, what: str) -> None:
    expected = math.inf if expected == "inf" else expected  # JSON has no infinity
    if isinstance(expected, list):
        assert len(actual) == len(expected), what
        for got, value in zip(actual, expected, strict=True):
            assert_close(got, value, what)
    elif expected is None or isinstance(expected, bool | str):
        assert actual == expected, what
    else:
        assert actual == pytest.approx(expected, rel=REL), what


def assert_fields(result: Any, expected: dict[str, Any], source: str) -> None:
    for field, value in expected.items():
        assert_close(getattr(result, field), value, f"{field} ({source})")


# ---- scipy oracles ------------------------------------------------------------------------------


def delta_interval(
    mean_a: float, var_a: float, mean_b: float, var_b: float, confidence: float
) -> list[float]:
    """The delta-method interval of mean_b / mean_a - 1, var_* being variances of the means."""
    ratio = mean_b / mean_a
    margin = stats.norm.ppf(1 - (1 - confidence) / 2) * math.sqrt(
        var_b / mean_a**2 + mean_b**2 * var_a / mean_a**4
    )
    return [ratio - margin - 1, ratio + margin - 1]


def oracle_two_proportion(
    conversions_a: int, users_a: int, conversions_b: int, users_b: int, confidence: float = 0.95
) -> dict[str, Any]:
    """scipy's Pearson chi-square on the 2x2 table (no continuity correction) is the pooled z-test squared."""
    rate_a, rate_b = conversions_a / users_a, conversions_b / users_b
    out: dict[str, Any] = {"rate_a": rate_a, "rate_b": rate_b}
    if 0 < conversions_a + conversions_b < users_a + users_b:
        table = [[conversions_b, users_b - conversions_b], [conversions_a, users_a - conversions_a]]
        chi2, p_value, _, _ = stats.chi2_contingency(table, correction=False)
        out["z"] = math.copysign(math.sqrt(chi2), rate_b - rate_a) if rate_b != rate_a else 0.0
        out["p_value"] = float(p_value)
    if rate_a > 0:
        out["uplift"] = rate_b / rate_a - 1
    if 0 < rate_a < 1 and 0 < rate_b < 1:
        var_a, var_b = rate_a * (1 - rate_a) / users_a, rate_b * (1 - rate_b) / users_b
        out["ci_lower"], out["ci_upper"] = delta_interval(rate_a, var_a, rate_b, var_b, confidence)
    return out


def oracle_welch(
    n_a: int, mean_a: float, var_a: float, n_b: int, mean_b: float, var_b: float, confidence: float = 0.95
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    se_a, se_b = var_a / n_a, var_b / n_b
    if n_a >= 2 and n_b >= 2 and se_a + se_b > 0:
        result = stats.ttest_ind_from_stats(
            mean_b, math.sqrt(var_b), n_b, mean_a, math.sqrt(var_a), n_a, equal_var=False
        )
        out["t"], out["p_value"] = float(result.statistic), float(result.pvalue)
        out["df"] = (se_a + se_b) ** 2 / (se_a**2 / (n_a - 1) + se_b**2 / (n_b - 1))
        if mean_a != 0:
            out["uplift"] = mean_b / mean_a - 1
            out["ci_lower"], out["ci_upper"] = delta_interval(mean_a, se_a, mean_b, se_b, confidence)
    return out


def oracle_srm(observed: list[int], weights: list[int]) -> dict[str, Any]:
    cells = [(count, weight) for count, weight in zip(observed, weights, strict=True) if weight]
    total = sum(observed)
    if total == 0 or len(cells) < 2 or total != sum(count for count, _ in cells):
        return {}
    expected = [total * weight / sum(w for _, w in cells) for _, weight in cells]
    result = stats.chisquare([count for count, _ in cells], expected)
    return {
        "chi2": float(result.statistic),
        "p_value": float(result.pvalue),
        "mismatch": bool(result.pvalue < 0.001),
    }


def oracle_sample_size(
    baseline_rate: float, minimum_detectable_effect: float, power: float = 0.8, confidence: float = 0.95
) -> float:
    """The unrounded n of R's power.prop.test (strict = FALSE), with scipy's normal quantiles."""
    p1, p2 = baseline_rate, baseline_rate * (1 + minimum_detectable_effect)
    mean = (p1 + p2) / 2
    root = stats.norm.ppf(1 - (1 - confidence) / 2) * math.sqrt(2 * mean * (1 - mean)) + stats.norm.ppf(
        power
    ) * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    return root**2 / (p2 - p1) ** 2


def exact_mean_variance(values: list[str]) -> tuple[float, float]:
    exact = [Fraction(value) for value in values]
    mean = sum(exact, Fraction(0)) / len(exact)
    return float(mean), float(sum(((v - mean) ** 2 for v in exact), Fraction(0)) / (len(exact) - 1))


DISTRIBUTION_ORACLES = {
    "normal_two_sided_p": lambda z: 2 * stats.norm.sf(abs(z)),
    "normal_quantile": stats.norm.ppf,
    "student_t_two_sided_p": lambda t, df: 2 * stats.t.sf(abs(t), df),
    "chi2_survival": stats.chi2.sf,
}


# ---- named cases --------------------------------------------------------------------------------


def test_distribution(distributions_case: dict[str, Any]) -> None:
    case = distributions_case

    result = getattr(distributions, case["function"])(*case["args"])

    assert_close(result, case["expected"], "frozen")
    assert_close(result, float(DISTRIBUTION_ORACLES[case["function"]](*case["args"])), "scipy")


def test_two_proportion(two_proportion_case: dict[str, Any]) -> None:
    result = two_proportion_z_test(**two_proportion_case["input"])

    assert_fields(result, two_proportion_case["expected"], "frozen")
    if two_proportion_case["input"]["users_a"] and two_proportion_case["input"]["users_b"]:
        assert_fields(result, oracle_two_proportion(**two_proportion_case["input"]), "scipy")


def test_welch(welch_case: dict[str, Any]) -> None:
    result = welch_t_test_from_summary(**welch_case["input"])

    assert_fields(result, welch_case["expected"], "frozen")
    assert_fields(result, oracle_welch(**welch_case["input"]), "scipy")


def test_welch_from_sums(welch_values_case: dict[str, Any]) -> None:
    """Per-user revenue summed in the database: sums of values and of squares, as Decimals."""
    a, b = welch_values_case["values_a"], welch_values_case["values_b"]
    sums = {
        side: mean_and_variance(
            n=len(values),
            total=sum((Decimal(v) for v in values), Decimal(0)),
            total_squares=sum((Decimal(v) ** 2 for v in values), Decimal(0)),
        )
        for side, values in (("a", a), ("b", b))
    }
    assert sums["a"] == pytest.approx(exact_mean_variance(a), rel=1e-12)
    assert sums["b"] == pytest.approx(exact_mean_variance(b), rel=1e-12)

    result = welch_t_test_from_summary(
        n_a=len(a),
        mean_a=sums["a"][0],
        var_a=sums["a"][1],
        n_b=len(b),
        mean_b=sums["b"][0],
        var_b=sums["b"][1],
    )

    assert_fields(result, welch_values_case["expected"], "frozen")
    live = stats.ttest_ind([float(v) for v in b], [float(v) for v in a], equal_var=False)
    assert_fields(
        result, {"t": float(live.statistic), "p_value": float(live.pvalue), "df": float(live.df)}, "scipy"
    )


def test_holm(holm_case: dict[str, Any]) -> None:
    assert_close(holm_adjust(holm_case["p_values"]), holm_case["expected"], "frozen")


def test_sample_ratio_mismatch(srm_case: dict[str, Any]) -> None:
    result = sample_ratio_mismatch(observed=srm_case["observed"], weights=srm_case["weights"])

    assert_fields(result, srm_case["expected"], "frozen")
    assert_fields(result, oracle_srm(srm_case["observed"], srm_case["weights"]), "scipy")


def test_sample_size(sample_size_case: dict[str, Any]) -> None:
    result = required_sample_size(**sample_size_case["input"])

    assert result == sample_size_case["expected"]
    assert result == math.ceil(round(oracle_sample_size(**sample_size_case["input"]), 9))
    assert sample_size_case["unrounded"] == pytest.approx(
        oracle_sample_size(**sample_size_case["input"]), rel=REL
    )


def test_analysis(analysis_case: dict[str, Any]) -> None:
    case = analysis_case
    variants = [
        VariantStats(
            **{
                **v,
                "revenue_sum": Decimal(v["revenue_sum"]),
                "revenue_sum_squares": Decimal(v["revenue_sum_squares"]),
            }
        )
        for v in case["variants"]
    ]

    result = analyse_experiment(variants=variants, **case["settings"])

    assert (result.winner, result.reason) == (case["expected"]["winner"], case["expected"]["reason"])
    assert result.required_sample_size == case["expected"]["required_sample_size"]
    assert_fields(result.sample_ratio, case["expected"]["sample_ratio"], "frozen")
    control = next(v for v in variants if v.is_control)
    confidence = case["settings"].get("confidence_level", 0.95)
    for variant, got, expected in zip(variants, result.variants, case["expected"]["variants"], strict=True):
        assert_fields(got, expected, f"frozen {variant.key}")
        if variant.is_control:
            continue
        live = oracle_two_proportion(
            control.converted_users, control.users, variant.converted_users, variant.users, confidence
        )
        assert_fields(
            got, {k: live[k] for k in ("uplift", "ci_lower", "ci_upper", "p_value") if k in live}, "scipy"
        )
        revenue = oracle_welch(**_revenue_summary(control, "a"), **_revenue_summary(variant, "b"))
        assert_close(got.revenue_p_value, revenue.get("p_value"), f"revenue_p_value {variant.key} (scipy)")


def _revenue_summary(variant: VariantStats, side: str) -> dict[str, Any]:
    n, total, squares = variant.users, Fraction(variant.revenue_sum), Fraction(variant.revenue_sum_squares)
    variance = (squares - total * total / n) / (n - 1) if n > 1 else Fraction(0)
    return {f"n_{side}": n, f"mean_{side}": float(total / n) if n else 0.0, f"var_{side}": float(variance)}


# ---- properties ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "p_values",
    [[0.01, 0.04, 0.03], [0.001, 0.001, 0.2, 0.049], [0.3, 0.02, None, 0.02, 0.5], [0.9, 0.8], [1e-9, 0.5]],
)
def test_holm_matches_the_step_down_rejection_rule(p_values: list[float | None]) -> None:
    """Adjusted p <= alpha exactly when Holm's step-down procedure at level alpha rejects the hypothesis."""
    adjusted = holm_adjust(p_values)
    present = sorted(p for p in p_values if p is not None)
    m = len(present)

    for alpha in [0.001, 0.01, 0.02, 0.04, 0.05, 0.06, 0.1, 0.5, 0.9, 0.99]:
        rejected = 0
        while rejected < m and present[rejected] <= alpha / (m - rejected):
            rejected += 1
        threshold = present[rejected - 1] if rejected else -1.0
        for raw, adj in zip(p_values, adjusted, strict=True):
            if raw is None:
                assert adj is None
            else:
                assert (adj <= alpha + 1e-15) == (raw <= threshold), (alpha, raw, adj)
                assert raw <= adj <= 1


def test_the_winner_waits_for_every_check() -> None:
    """A clear, significant lift is still no winner while the sample is short."""
    variants = [
        VariantStats("control", True, 3000, 300, 320, Decimal("0"), Decimal("0")),
        VariantStats("b", False, 3000, 420, 450, Decimal("0"), Decimal("0")),
    ]
    settings = {"weights": [500, 500], "baseline_rate": 0.10}

    short = analyse_experiment(variants=variants, minimum_detectable_effect=0.05, **settings)
    enough = analyse_experiment(variants=variants, minimum_detectable_effect=0.5, **settings)

    assert short.variants[1].is_significant and short.winner is None
    assert short.reason.startswith("sample size not reached (3000 of ")
    assert enough.winner == "b"


@pytest.mark.parametrize(
    "call",
    [
        lambda: two_proportion_z_test(conversions_a=11, users_a=10, conversions_b=1, users_b=10),
        lambda: welch_t_test_from_summary(n_a=5, mean_a=1, var_a=-1, n_b=5, mean_b=1, var_b=1),
        lambda: holm_adjust([0.5, 1.5]),
        lambda: sample_ratio_mismatch(observed=[1, 2], weights=[1000]),
        lambda: required_sample_size(baseline_rate=0.6, minimum_detectable_effect=1.0),
        lambda: required_sample_size(baseline_rate=0.1, minimum_detectable_effect=0.1, power=1.0),
        lambda: analyse_experiment(
            variants=[VariantStats("a", False, 1, 0, 0, Decimal(0), Decimal(0))],
            weights=[1000],
            baseline_rate=0.1,
            minimum_detectable_effect=0.1,
        ),
    ],
    ids=[
        "conversions above users",
        "negative variance",
        "p above 1",
        "weights missing",
        "lift above 1",
        "power of 1",
        "no control",
    ],
)
def test_impossible_inputs_are_errors(call: Any) -> None:
    with pytest.raises(ValueError):
        call()
