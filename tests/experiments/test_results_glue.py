"""The glue between loaders and statistics, without a database: odd configurations never raise."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from loaders.experiments import VariantTotals
from models.experiments import ExperimentVariant
from resolvers.experiments.reads import ExperimentPlan, ResultsSource, live_results, variant_stats

NOW = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)
SIZED = ExperimentPlan("running", 95.0, 80.0, baseline_rate=0.1, minimum_detectable_effect=0.5)


def _variants(*specs: tuple[str, bool, int]) -> list[ExperimentVariant]:
    return [
        ExperimentVariant(id=i + 1, test_id=1, key=key, name=key, is_control=control, weight=weight)
        for i, (key, control, weight) in enumerate(specs)
    ]


def _totals(users: int, converted: int) -> VariantTotals:
    return VariantTotals(users, converted, converted, Decimal(converted * 5), Decimal(converted * 25))


def test_variant_stats_count_zeros_for_a_variant_nobody_joined() -> None:
    variants = _variants(("control", True, 500), ("b", False, 500))
    stats = variant_stats(variants=variants, totals={1: _totals(10, 2)})
    assert [(s.key, s.users, s.revenue_sum) for s in stats] == [
        ("control", 10, Decimal(10)),
        ("b", 0, Decimal(0)),
    ]


def test_two_controls_give_figures_without_comparisons() -> None:
    variants = _variants(("a", True, 500), ("b", True, 500))
    results = live_results(plan=SIZED, variants=variants, totals={1: _totals(10, 2)}, computed_at=NOW)
    assert results.source is ResultsSource.LIVE and results.sample_ratio is None
    assert [(v.users, v.conversion_rate, v.p_value) for v in results.variants] == [
        (10, 0.2, None),
        (0, None, None),
    ]
    assert results.winner_reason == "the experiment needs exactly one control variant"


def test_all_weights_zero_is_reported_not_raised() -> None:
    variants = _variants(("control", True, 0), ("b", False, 0))
    results = live_results(plan=SIZED, variants=variants, totals={}, computed_at=NOW)
    assert results.winner is None and results.winner_reason == "every variant has weight 0"


def test_users_in_a_weight_zero_variant_are_a_mismatch_without_an_infinite_statistic() -> None:
    variants = _variants(("control", True, 1000), ("b", False, 0))
    totals = {1: _totals(50, 5), 2: _totals(5, 1)}
    results = live_results(plan=SIZED, variants=variants, totals=totals, computed_at=NOW)
    assert results.sample_ratio is not None
    assert results.sample_ratio.mismatch is True and results.sample_ratio.chi_square is None
    assert results.sample_ratio.warning


def test_impossible_sizing_leaves_the_sample_size_unknown_but_compares_variants() -> None:
    plan = ExperimentPlan("running", 95.0, 80.0, baseline_rate=0.6, minimum_detectable_effect=1.0)
    variants = _variants(("control", True, 500), ("b", False, 500))
    results = live_results(
        plan=plan, variants=variants, totals={1: _totals(100, 10), 2: _totals(100, 30)}, computed_at=NOW
    )
    assert results.required_sample_size is None and results.winner is None
    assert "sample size is undefined" in results.winner_reason
    assert results.variants[1].p_value is not None and results.variants[1].uplift == pytest.approx(2.0)


def test_revenue_per_user_is_in_cents() -> None:
    variants = _variants(("control", True, 500), ("b", False, 500))
    totals = {1: VariantTotals(3, 1, 1, Decimal("10.00"), Decimal("100.0000")), 2: _totals(3, 1)}
    results = live_results(plan=SIZED, variants=variants, totals=totals, computed_at=NOW)
    assert results.variants[0].revenue_per_user == Decimal("3.33")
