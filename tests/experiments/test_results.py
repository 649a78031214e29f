"""Experiment results through the schema: live from hand-made assignments, checked against scipy
computed here independently; snapshots of finished tests; SRM; when a winner is (not) named."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from scipy import stats
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from tests.experiments.support import ANALYST, assign, make_experiment
from tests.models import factories as f

RESULTS = """
query ($id: ID!) {
  experiment(id: $id) {
    variants { key weight assignedUsers }
    results {
      computedAt source requiredSampleSize winner winnerReason
      sampleRatioMismatch { chiSquare pValue mismatch warning }
      variants {
        key isControl users convertedUsers conversions conversionRate revenue revenuePerUser
        uplift ciLower ciUpper pValue pValueAdjusted revenueUplift revenuePValue isSignificant note
      }
    }
  }
}
"""
# Control 10%, variant_a 20%, variant_b 11%, 200 users each: variant_a is clearly better.
PLAN = {"control": (200, 20, "12.50"), "variant_a": (200, 40, "10.00"), "variant_b": (200, 22, "30.00")}


async def _query(gql, test_id: int) -> dict:  # type: ignore[no-untyped-def]
    result = await gql(RESULTS, {"id": relay.to_base64("Experiment", test_id)}, viewer=ANALYST)
    assert result.errors is None, result.errors
    return result.data["experiment"]


async def _planned_experiment(db: AsyncSession, **overrides) -> tuple[int, dict[str, list]]:  # type: ignore[no-untyped-def]
    test, variants = await make_experiment(db, weights=(334, 333, 333), **overrides)
    per_user = {}
    for variant in variants:
        users, converted, revenue = PLAN[variant.key]
        per_user[variant.key] = await assign(db, variant, users, converted=converted, revenue=revenue)
    return test.id, per_user


def _z_test_p(conv_a: int, n_a: int, conv_b: int, n_b: int) -> float:
    pooled = (conv_a + conv_b) / (n_a + n_b)
    z = (conv_b / n_b - conv_a / n_a) / math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    return float(2 * stats.norm.sf(abs(z)))


def _holm(p_values: list[float]) -> list[float]:
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted, running = [0.0] * len(p_values), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


async def test_live_results_match_an_independent_computation(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    # given a running test with known assignments, sized so 200 users per variant are not enough
    test_id, per_user = await _planned_experiment(
        db, status="running", baseline_rate=0.10, minimum_detectable_effect=0.10
    )

    # when its results are read
    experiment = await _query(gql, test_id)
    results = experiment["results"]
    by_key = {v["key"]: v for v in results["variants"]}

    # then counts, rates and uplifts follow the assignments
    assert results["source"] == "LIVE"
    assert [v["assignedUsers"] for v in experiment["variants"]] == [200, 200, 200]
    assert [v["key"] for v in results["variants"]] == ["control", "variant_a", "variant_b"]
    control, a, b = by_key["control"], by_key["variant_a"], by_key["variant_b"]
    assert control["isControl"] and control["uplift"] is None and control["pValue"] is None
    assert (a["users"], a["convertedUsers"], a["conversions"]) == (200, 40, 40)
    assert a["conversionRate"] == pytest.approx(0.2) and control["conversionRate"] == pytest.approx(0.1)
    assert Decimal(a["revenue"]) == Decimal("400.00") and Decimal(a["revenuePerUser"]) == Decimal("2.00")
    assert a["uplift"] == pytest.approx(1.0) and b["uplift"] == pytest.approx(0.1)
    assert a["ciLower"] < a["uplift"] < a["ciUpper"] and a["ciLower"] > 0

    # and the p-values agree with scipy: z-test on conversion, Welch on per-user revenue, Holm over both
    p_a, p_b = _z_test_p(20, 200, 40, 200), _z_test_p(20, 200, 22, 200)
    assert a["pValue"] == pytest.approx(p_a, rel=1e-9) and b["pValue"] == pytest.approx(p_b, rel=1e-9)
    assert [a["pValueAdjusted"], b["pValueAdjusted"]] == pytest.approx(_holm([p_a, p_b]), rel=1e-9)
    revenue = {key: [float(r) for _, r in users] for key, users in per_user.items()}
    welch_a = stats.ttest_ind(revenue["variant_a"], revenue["control"], equal_var=False).pvalue
    welch_b = stats.ttest_ind(revenue["variant_b"], revenue["control"], equal_var=False).pvalue
    assert a["revenuePValue"] == pytest.approx(welch_a, rel=1e-6)
    assert b["revenuePValue"] == pytest.approx(welch_b, rel=1e-6)
    assert a["isSignificant"] is True and b["isSignificant"] is False

    # and the sample size comes from the plan (normal approximation), which 200 users do not reach
    p1, p2 = 0.10, 0.11
    z_alpha, z_power = stats.norm.ppf(0.975), stats.norm.ppf(0.8)
    mean = (p1 + p2) / 2
    needed = (
        z_alpha * math.sqrt(2 * mean * (1 - mean)) + z_power * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    ) ** 2
    assert results["requiredSampleSize"] == math.ceil(needed / (p2 - p1) ** 2)
    assert results["winner"] is None and "sample size not reached" in results["winnerReason"]
    srm = results["sampleRatioMismatch"]
    expected_chi2, expected_p = stats.chisquare(
        [200, 200, 200], [600 * 334 / 1000, 600 * 333 / 1000, 600 * 333 / 1000]
    )
    assert srm["chiSquare"] == pytest.approx(expected_chi2) and srm["pValue"] == pytest.approx(expected_p)
    assert srm["mismatch"] is False and srm["warning"] is None


async def test_winner_when_significant_and_the_sample_size_is_reached(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    # given the same assignments, and a plan that only wants to detect a tripled rate (a small sample)
    test_id, _ = await _planned_experiment(
        db, status="running", baseline_rate=0.10, minimum_detectable_effect=2.0
    )

    results = (await _query(gql, test_id))["results"]

    # then the clearly better variant wins, with the reason saying so
    assert results["requiredSampleSize"] < 200
    assert results["winner"] == "variant_a"
    assert "variant_a" in results["winnerReason"]


async def test_confidence_level_of_the_experiment_decides_significance(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    # given the same data at 99.99% confidence: variant_a's adjusted p-value (~0.0028) is not below 0.0001
    test_id, _ = await _planned_experiment(
        db, status="running", baseline_rate=0.10, minimum_detectable_effect=2.0, confidence_level=99.99
    )

    results = (await _query(gql, test_id))["results"]

    assert results["winner"] is None
    assert not any(v["isSignificant"] for v in results["variants"])


async def test_sample_ratio_mismatch_is_flagged_for_a_skewed_split(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    # given a 50/50 test whose users went 300 / 100
    test, (control, variant) = await make_experiment(
        db, status="running", baseline_rate=0.10, minimum_detectable_effect=2.0
    )
    await assign(db, control, 300, converted=30, revenue="5.00")
    await assign(db, variant, 100, converted=40, revenue="5.00")

    results = (await _query(gql, test.id))["results"]

    # then the split check warns, and no winner is named however strong the effect looks
    srm = results["sampleRatioMismatch"]
    expected = stats.chisquare([300, 100], [200, 200])
    assert srm["mismatch"] is True and srm["pValue"] < 0.001
    assert srm["chiSquare"] == pytest.approx(expected.statistic) and srm["pValue"] == pytest.approx(
        expected.pvalue
    )
    assert srm["warning"]
    assert results["winner"] is None and "sample ratio mismatch" in results["winnerReason"]


async def test_completed_experiment_reads_its_snapshot(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    # given a completed test with a stored snapshot that differs from its (later) assignments
    test, (control, variant) = await make_experiment(
        db, status="completed", baseline_rate=0.1, minimum_detectable_effect=0.2
    )
    await assign(db, control, 5)
    common = {"test_id": test.id, "sample_size_required": 3000, "srm_p_value": 0.4}
    await f.make_ab_test_result(
        db, variant_id=control.id, users_count=1000, converted_users=100, conversion_rate=0.1, **common
    )
    await f.make_ab_test_result(
        db,
        variant_id=variant.id,
        users_count=1010,
        converted_users=150,
        conversion_rate=150 / 1010,
        revenue=Decimal("1234.56"),
        revenue_per_user=1234.56 / 1010,
        uplift=0.485,
        ci_lower=0.2,
        ci_upper=0.7,
        p_value=0.001,
        p_value_adjusted=0.001,
        is_significant=True,
        winner=True,
        **common,
    )

    results = (await _query(gql, test.id))["results"]

    # then the snapshot's figures come back, not the assignments'
    assert results["source"] == "SNAPSHOT"
    assert results["computedAt"] == f.T0.isoformat()
    assert [(v["key"], v["users"]) for v in results["variants"]] == [("control", 1000), ("variant_a", 1010)]
    snap = results["variants"][1]
    assert snap["uplift"] == pytest.approx(0.485) and snap["isSignificant"] is True
    assert Decimal(snap["revenuePerUser"]) == Decimal("1.22")
    assert results["requiredSampleSize"] == 3000
    assert results["sampleRatioMismatch"] == {
        "chiSquare": None,
        "pValue": 0.4,
        "mismatch": False,
        "warning": None,
    }
    assert results["winner"] == "variant_a"


@pytest.mark.parametrize("status", ["completed", "archived"])
async def test_finished_experiment_without_snapshot_falls_back_to_live(
    db: AsyncSession, gql, status: str
) -> None:  # type: ignore[no-untyped-def]
    test, (control, variant) = await make_experiment(
        db, status=status, baseline_rate=0.1, minimum_detectable_effect=0.2
    )
    await assign(db, control, 10, converted=1, revenue="3.00")
    await assign(db, variant, 12, converted=3, revenue="3.00")

    results = (await _query(gql, test.id))["results"]

    assert results["source"] == "LIVE"
    assert [v["users"] for v in results["variants"]] == [10, 12]


async def test_experiment_without_sizing_or_users_still_reports(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    # given a draft with no baseline rate, no MDE and nobody assigned
    test, _ = await make_experiment(db)

    results = (await _query(gql, test.id))["results"]

    # then figures are empty, nothing is computed and the reason says why
    assert results["source"] == "LIVE"
    assert [(v["users"], v["conversionRate"], v["revenuePerUser"]) for v in results["variants"]] == [
        (0, None, None)
    ] * 2
    assert results["requiredSampleSize"] is None and results["winner"] is None
    assert "baseline rate" in results["winnerReason"]
    assert results["sampleRatioMismatch"]["mismatch"] is False


async def test_experiment_without_variants_has_empty_results(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    test = await f.make_ab_test(db, baseline_rate=0.1, minimum_detectable_effect=0.2)

    results = (await _query(gql, test.id))["results"]

    assert results["variants"] == [] and results["sampleRatioMismatch"] is None
    assert results["winnerReason"] == "the experiment has no variants"
