"""Result snapshots: completing a test stores the read API's live statistics, the admin's
recomputeExperimentResults and the CLI's recompute_results upsert them, and they read back the same."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from core.viewer import ANONYMOUS, Role, Viewer
from models.experiments import Experiment, ExperimentResult, ExperimentVariant
from resolvers.experiments.recompute import UnknownExperiments, recompute_results
from tests.experiments.support import ANALYST, assign, make_experiment
from tests.models import factories as f

ADMIN = Viewer(role=Role.ADMIN, user_id=None)
RESULTS_FIELDS = """
  computedAt source requiredSampleSize winner winnerReason
  sampleRatioMismatch { pValue mismatch }
  variants {
    key isControl users convertedUsers conversions conversionRate revenue revenuePerUser
    uplift ciLower ciUpper pValue pValueAdjusted revenuePValue isSignificant
  }
"""
READ = f"query ($id: ID!) {{ experiment(id: $id) {{ status results {{ {RESULTS_FIELDS} }} }} }}"
COMPLETE = "mutation ($id: ID!) { completeExperiment(input: {id: $id}) { userErrors { code } } }"
RECOMPUTE = f"""
mutation ($id: ID!) {{
  recomputeExperimentResults(input: {{id: $id}}) {{
    experiment {{ key status }}
    results {{ {RESULTS_FIELDS} }}
    userErrors {{ field code }}
  }}
}}
"""
# Figures a snapshot carries; the live-only ones (chi-square, revenue uplift) are not stored.
COMPARED = (
    "key", "isControl", "users", "convertedUsers", "conversions", "conversionRate", "revenue",
    "revenuePerUser", "uplift", "ciLower", "ciUpper", "pValue", "pValueAdjusted", "revenuePValue",
    "isSignificant",
)  # fmt: skip


async def _planned(db: AsyncSession, **overrides) -> Experiment:  # type: ignore[no-untyped-def]
    """A test with a clear winner: control 10%, variant_a 20%, variant_b 11%, 200 users each."""
    test, (control, a, b) = await make_experiment(
        db, weights=(334, 333, 333), baseline_rate=0.10, minimum_detectable_effect=2.0, **overrides
    )
    await assign(db, control, 200, converted=20, revenue="12.50")
    await assign(db, a, 200, converted=40, revenue="10.00")
    await assign(db, b, 200, converted=22, revenue="30.00")
    return test


async def _results(gql, test: Experiment) -> dict:  # type: ignore[no-untyped-def]
    result = await gql(READ, {"id": relay.to_base64("Experiment", test.id)}, viewer=ANALYST)
    assert result.errors is None, result.errors
    return result.data["experiment"]["results"]


def _same_figures(snapshot: dict, live: dict) -> None:
    assert snapshot["winner"] == live["winner"]
    assert snapshot["requiredSampleSize"] == live["requiredSampleSize"]
    assert snapshot["sampleRatioMismatch"]["pValue"] == pytest.approx(live["sampleRatioMismatch"]["pValue"])
    for stored, computed in zip(snapshot["variants"], live["variants"], strict=True):
        for name in COMPARED:
            expected = computed[name]
            assert stored[name] == (
                expected if not isinstance(expected, float) else pytest.approx(expected)
            ), name


async def test_completing_stores_the_live_results_as_the_snapshot(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    test = await _planned(db, status="running")
    live = await _results(gql, test)

    result = await gql(COMPLETE, {"id": relay.to_base64("Experiment", test.id)}, viewer=ADMIN)

    assert result.data["completeExperiment"]["userErrors"] == []
    snapshot = await _results(gql, test)
    assert (live["source"], snapshot["source"]) == ("LIVE", "SNAPSHOT")
    assert snapshot["winner"] == "variant_a"
    _same_figures(snapshot, live)
    assert await db.scalar(select(func.count()).select_from(ExperimentResult)) == 3


async def test_the_admin_recomputes_a_running_test(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    test = await _planned(db, status="running")
    live = await _results(gql, test)

    result = await gql(RECOMPUTE, {"id": relay.to_base64("Experiment", test.id)}, viewer=ADMIN)

    payload = result.data["recomputeExperimentResults"]
    assert payload["userErrors"] == []
    assert payload["experiment"] == {"key": test.key, "status": "RUNNING"}
    assert payload["results"]["source"] == "SNAPSHOT"
    _same_figures(payload["results"], live)

    # and a later recompute replaces the rows instead of adding any
    control = await db.scalar(
        select(ExperimentVariant).where(ExperimentVariant.test_id == test.id, ExperimentVariant.is_control)
    )
    await assign(db, control, 10)
    again = await gql(RECOMPUTE, {"id": relay.to_base64("Experiment", test.id)}, viewer=ADMIN)
    users = {v["key"]: v["users"] for v in again.data["recomputeExperimentResults"]["results"]["variants"]}
    assert users == {"control": 210, "variant_a": 200, "variant_b": 200}
    assert await db.scalar(select(func.count()).select_from(ExperimentResult)) == 3


async def test_a_retried_recompute_replays_the_stored_snapshot(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    test = await _planned(db, status="running")
    document = RECOMPUTE.replace("input: {id: $id}", 'input: {id: $id, idempotencyKey: "nightly-1"}')
    variables = {"id": relay.to_base64("Experiment", test.id)}

    first = await gql(document, variables, viewer=ADMIN)
    stored_at = set(await db.scalars(select(ExperimentResult.computed_at)))
    retry = await gql(document, variables, viewer=ADMIN)

    assert retry.data == first.data
    assert set(await db.scalars(select(ExperimentResult.computed_at))) == stored_at


async def test_recompute_refuses_drafts_and_unknown_tests(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    draft, _ = await make_experiment(db)
    for experiment_id, code in (
        (relay.to_base64("Experiment", draft.id), "INVALID_TRANSITION"),
        (relay.to_base64("Experiment", f.MISSING_ID), "NOT_FOUND"),
        (relay.to_base64("Campaign", draft.id), "NOT_FOUND"),
    ):
        result = await gql(RECOMPUTE, {"id": experiment_id}, viewer=ADMIN)
        assert result.data["recomputeExperimentResults"]["userErrors"] == [{"field": "id", "code": code}]
    assert await db.scalar(select(func.count()).select_from(ExperimentResult)) == 0


@pytest.mark.parametrize(
    "viewer",
    [
        Viewer(role=Role.MARKETER, user_id=1),
        Viewer(role=Role.ANALYST, user_id=1),
        Viewer(role=Role.MERCHANT, user_id=1, merchant_id=1),
        Viewer(role=Role.CUSTOMER, user_id=1),
        Viewer(role=Role.SERVICE),
        ANONYMOUS,
    ],
    ids=["marketer", "analyst", "merchant", "customer", "service", "anonymous"],
)
async def test_only_admins_recompute(db: AsyncSession, gql, viewer: Viewer) -> None:  # type: ignore[no-untyped-def]
    test = await _planned(db, status="running")
    result = await gql(RECOMPUTE, {"id": relay.to_base64("Experiment", test.id)}, viewer=viewer)
    assert result.data == {"recomputeExperimentResults": None}
    assert result.errors[0].extensions["code"] == "FORBIDDEN"
    assert await db.scalar(select(func.count()).select_from(ExperimentResult)) == 0


async def _stored_tests(db: AsyncSession) -> set[str]:
    query = select(Experiment.key).join(ExperimentResult, ExperimentResult.test_id == Experiment.id)
    return set(await db.scalars(query.distinct()))


async def test_the_command_recomputes_running_and_paused_tests(db: AsyncSession) -> None:
    running = await _planned(db, status="running")
    paused = await _planned(db, status="paused")
    await _planned(db, status="completed")
    await make_experiment(db)

    count = await recompute_results(db)

    assert count == 2
    assert await _stored_tests(db) == {running.key, paused.key}


async def test_the_command_recomputes_the_named_tests_except_drafts(db: AsyncSession) -> None:
    await _planned(db, status="running")
    completed = await _planned(db, status="completed")
    draft, _ = await make_experiment(db)

    count = await recompute_results(db, experiment_keys=[completed.key, draft.key])

    assert count == 1
    assert await _stored_tests(db) == {completed.key}


async def test_the_command_refuses_unknown_keys_before_writing(db: AsyncSession) -> None:
    running = await _planned(db, status="running")

    with pytest.raises(UnknownExperiments) as raised:
        await recompute_results(db, experiment_keys=[running.key, "no-such-test"])

    assert raised.value.keys == ("no-such-test",)
    assert await _stored_tests(db) == set()
