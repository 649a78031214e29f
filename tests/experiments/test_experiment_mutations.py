"""Experiment configuration mutations: create and update with every validation rule (userErrors, nothing
written), the lifecycle state machine, frozen fields once started, the audit trail, idempotent retries
and who may write."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import relay

from core.viewer import ANONYMOUS, Role, Viewer
from models.admin import AuditLogEntry
from models.experiments import Experiment, ExperimentVariant
from resolvers.experiments.statistics import required_sample_size
from tests.experiments.support import make_experiment
from tests.models import factories as f

MARKETER = Viewer(role=Role.MARKETER, user_id=None)
ADMIN = Viewer(role=Role.ADMIN, user_id=None)

CREATE = """
mutation ($input: CreateExperimentInput!) {
  createExperiment(input: $input) {
    experiment {
      id key name status sampleSize confidenceLevel startsAt variants { key name weight isControl }
    }
    userErrors { field message code }
  }
}
"""
UPDATE = """
mutation ($input: UpdateExperimentInput!) {
  updateExperiment(input: $input) {
    experiment { key name sampleSize variants { key name weight isControl } }
    userErrors { field message code }
  }
}
"""
TRANSITIONS = {
    "start": "startExperiment",
    "pause": "pauseExperiment",
    "complete": "completeExperiment",
    "archive": "archiveExperiment",
}


def _transition(verb: str) -> str:
    name = TRANSITIONS[verb]
    return (
        f"mutation ($id: ID!) {{ {name}(input: {{id: $id}}) {{"
        " experiment { status startsAt endsAt } userErrors { field code message } } }"
    )


VARIANTS = [
    {"key": "control", "name": "Control", "weight": 500, "isControl": True},
    {"key": "green_button", "name": "Green button", "weight": 500, "payload": {"color": "green"}},
]
VALID = {
    "key": "checkout-green-button",
    "name": "Green checkout button",
    "hypothesis": "Green converts better",
    "baselineRate": 0.1,
    "minimumDetectableEffect": 0.2,
    "variants": VARIANTS,
}


def gid(row: Experiment) -> str:
    return relay.to_base64("Experiment", row.id)


async def _count(db: AsyncSession, model: type) -> int:
    return int(await db.scalar(select(func.count()).select_from(model)) or 0)


async def _counts(db: AsyncSession) -> tuple[int, int, int]:
    return (
        await _count(db, Experiment),
        await _count(db, ExperimentVariant),
        await _count(db, AuditLogEntry),
    )


def _errors(payload: dict) -> list[tuple[str, str]]:
    return [(e["field"], e["code"]) for e in payload["userErrors"]]


async def test_create_writes_a_draft_its_variants_and_an_audit_row(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    result = await gql(CREATE, {"input": VALID}, viewer=MARKETER)

    assert result.errors is None, result.errors
    payload = result.data["createExperiment"]
    assert payload["userErrors"] == []
    experiment = payload["experiment"]
    assert (experiment["key"], experiment["status"], experiment["confidenceLevel"]) == (
        "checkout-green-button",
        "DRAFT",
        95.0,
    )
    assert experiment["sampleSize"] == required_sample_size(
        baseline_rate=0.1, minimum_detectable_effect=0.2, power=0.8, confidence=0.95
    )
    assert [v["key"] for v in experiment["variants"]] == ["control", "green_button"]
    test_id = int(relay.GlobalID.from_id(experiment["id"]).node_id)
    audit = (await db.scalars(select(AuditLogEntry).where(AuditLogEntry.entity_id == test_id))).one()
    assert (audit.action, audit.entity_type, audit.actor_role) == (
        "experiment.create",
        "experiment",
        "marketer",
    )
    assert audit.before is None
    assert [v["key"] for v in audit.after["variants"]] == ["control", "green_button"]
    assert audit.after["variants"][1]["payload"] == {"color": "green"}


async def test_without_baseline_and_effect_there_is_no_sample_size(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    plain = {k: v for k, v in VALID.items() if k not in ("baselineRate", "minimumDetectableEffect")}
    result = await gql(CREATE, {"input": plain}, viewer=MARKETER)
    assert result.data["createExperiment"]["experiment"]["sampleSize"] is None


def _variants(*weights: int, controls: tuple[int, ...] = (0,)) -> list[dict]:
    return [
        {"key": f"arm_{i}", "name": f"Arm {i}", "weight": w, "isControl": i in controls}
        for i, w in enumerate(weights)
    ]


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"key": ""}, "key", "REQUIRED"),
        ({"key": "Not A Slug"}, "key", "INVALID"),
        ({"key": "slug\n"}, "key", "INVALID"),
        ({"key": "k" * 101}, "key", "TOO_LONG"),
        ({"name": " "}, "name", "REQUIRED"),
        ({"name": "n" * 256}, "name", "TOO_LONG"),
        ({"description": "d" * 5001}, "description", "TOO_LONG"),
        ({"hypothesis": "h" * 5001}, "hypothesis", "TOO_LONG"),
        ({"confidenceLevel": 50}, "confidenceLevel", "OUT_OF_RANGE"),
        ({"confidenceLevel": 100}, "confidenceLevel", "OUT_OF_RANGE"),
        ({"minStatisticalPower": 0}, "minStatisticalPower", "OUT_OF_RANGE"),
        ({"minStatisticalPower": 100}, "minStatisticalPower", "OUT_OF_RANGE"),
        ({"baselineRate": 0}, "baselineRate", "OUT_OF_RANGE"),
        ({"baselineRate": 1}, "baselineRate", "OUT_OF_RANGE"),
        ({"minimumDetectableEffect": 0}, "minimumDetectableEffect", "OUT_OF_RANGE"),
        ({"baselineRate": 0.6, "minimumDetectableEffect": 1.0}, "minimumDetectableEffect", "OUT_OF_RANGE"),
        (
            {"baselineRate": 0.0001, "minimumDetectableEffect": 0.0001},
            "minimumDetectableEffect",
            "OUT_OF_RANGE",
        ),
        ({"variants": _variants(1000)}, "variants", "OUT_OF_RANGE"),
        ({"variants": _variants(*[40] * 25)}, "variants", "OUT_OF_RANGE"),
        ({"variants": _variants(500, 500, controls=())}, "variants", "INVALID"),
        ({"variants": _variants(500, 500, controls=(0, 1))}, "variants", "INVALID"),
        ({"variants": _variants(500, 400)}, "variants", "INVALID"),
        ({"variants": _variants(1001, 0)}, "variants.0.weight", "OUT_OF_RANGE"),
        ({"variants": _variants(1100, -100)}, "variants.1.weight", "OUT_OF_RANGE"),
        ({"variants": [*VARIANTS[:1], {**VARIANTS[1], "key": "control"}]}, "variants.1.key", "TAKEN"),
        ({"variants": [*VARIANTS[:1], {**VARIANTS[1], "key": "Green"}]}, "variants.1.key", "INVALID"),
        ({"variants": [*VARIANTS[:1], {**VARIANTS[1], "name": ""}]}, "variants.1.name", "REQUIRED"),
        ({"variants": [*VARIANTS[:1], {**VARIANTS[1], "payload": [1, 2]}]}, "variants.1.payload", "INVALID"),
        ({"campaignId": relay.to_base64("Campaign", f.MISSING_ID)}, "campaignId", "NOT_FOUND"),
        ({"campaignId": relay.to_base64("Merchant", 1)}, "campaignId", "NOT_FOUND"),
    ],
    ids=lambda value: None if isinstance(value, dict) else str(value),
)
async def test_invalid_input_is_a_user_error_and_writes_nothing(
    db: AsyncSession, gql, changes: dict, field: str, code: str
) -> None:  # type: ignore[no-untyped-def]
    before = await _counts(db)

    result = await gql(CREATE, {"input": {**VALID, **changes}}, viewer=MARKETER)

    assert result.errors is None, result.errors
    payload = result.data["createExperiment"]
    assert payload["experiment"] is None
    assert (field, code) in _errors(payload), payload["userErrors"]
    assert await _counts(db) == before


async def test_a_taken_key_is_refused(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    await f.make_ab_test(db, key=VALID["key"])
    before = await _counts(db)

    result = await gql(CREATE, {"input": VALID}, viewer=MARKETER)

    assert _errors(result.data["createExperiment"]) == [("key", "TAKEN")]
    assert await _counts(db) == before


async def test_a_campaign_can_be_linked(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    campaign = await f.make_campaign(db)
    result = await gql(
        CREATE, {"input": {**VALID, "campaignId": relay.to_base64("Campaign", campaign.id)}}, viewer=MARKETER
    )
    key = result.data["createExperiment"]["experiment"]["key"]
    assert await db.scalar(select(Experiment.campaign_id).where(Experiment.key == key)) == campaign.id


async def _create(gql, **changes) -> str:  # type: ignore[no-untyped-def]
    result = await gql(CREATE, {"input": {**VALID, **changes}}, viewer=MARKETER)
    assert result.data["createExperiment"]["userErrors"] == [], result.data
    return result.data["createExperiment"]["experiment"]["id"]


async def test_a_draft_can_change_everything(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    experiment_id = await _create(gql)
    arms = [
        {"key": "control", "name": "Control", "weight": 300, "isControl": True},
        {"key": "red", "name": "Red", "weight": 300},
        {"key": "blue", "name": "Blue", "weight": 400},
    ]

    result = await gql(
        UPDATE,
        {"input": {"id": experiment_id, "key": "checkout-colour", "baselineRate": 0.2, "variants": arms}},
        viewer=ADMIN,
    )

    payload = result.data["updateExperiment"]
    assert payload["userErrors"] == []
    assert payload["experiment"]["key"] == "checkout-colour"
    assert payload["experiment"]["sampleSize"] == required_sample_size(
        baseline_rate=0.2, minimum_detectable_effect=0.2
    )
    assert {v["key"]: v["weight"] for v in payload["experiment"]["variants"]} == {
        "control": 300,
        "red": 300,
        "blue": 400,
    }
    audit = await db.scalar(select(AuditLogEntry).where(AuditLogEntry.action == "experiment.update"))
    assert audit.before["key"] == "checkout-green-button" and audit.after["key"] == "checkout-colour"
    assert len(audit.before["variants"]) == 2 and len(audit.after["variants"]) == 3


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"key": "another-key"}, "key"),
        ({"confidenceLevel": 90.0}, "confidenceLevel"),
        ({"minStatisticalPower": 90.0}, "minStatisticalPower"),
        ({"baselineRate": 0.3}, "baselineRate"),
        ({"minimumDetectableEffect": 0.5}, "minimumDetectableEffect"),
        ({"variants": [{**VARIANTS[0], "weight": 400}, {**VARIANTS[1], "weight": 600}]}, "variants"),
        ({"variants": [VARIANTS[0], {**VARIANTS[1], "key": "blue_button"}]}, "variants"),
        ({"variants": [{**VARIANTS[0], "isControl": False}, {**VARIANTS[1], "isControl": True}]}, "variants"),
    ],
    ids=["key", "confidence", "power", "baseline", "effect", "weights", "variant key", "control"],
)
async def test_a_started_test_keeps_its_key_variants_and_plan(
    db: AsyncSession, gql, changes: dict, field: str
) -> None:  # type: ignore[no-untyped-def]
    experiment_id = await _create(gql)
    await gql(_transition("start"), {"id": experiment_id}, viewer=MARKETER)
    before = await _counts(db)

    result = await gql(UPDATE, {"input": {"id": experiment_id, **changes}}, viewer=MARKETER)

    payload = result.data["updateExperiment"]
    assert payload["experiment"] is None
    assert _errors(payload) == [(field, "INVALID_TRANSITION")]
    assert await _counts(db) == before


async def test_a_started_test_can_be_renamed_and_its_arms_relabelled(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    experiment_id = await _create(gql)
    await gql(_transition("start"), {"id": experiment_id}, viewer=MARKETER)
    variant_ids = set(await db.scalars(select(ExperimentVariant.id)))
    relabelled = [VARIANTS[0], {**VARIANTS[1], "name": "Emerald button"}]

    result = await gql(
        UPDATE,
        # the unchanged key and plan may be sent back as they are
        {
            "input": {
                "id": experiment_id,
                "name": "Renamed",
                "key": VALID["key"],
                "baselineRate": 0.1,
                "variants": relabelled,
            }
        },
        viewer=MARKETER,
    )

    payload = result.data["updateExperiment"]
    assert payload["userErrors"] == []
    assert payload["experiment"]["name"] == "Renamed"
    assert [v["name"] for v in payload["experiment"]["variants"]] == ["Control", "Emerald button"]
    # relabelled in place: the rows (and the assignments pointing at them) are the same
    assert set(await db.scalars(select(ExperimentVariant.id))) == variant_ids


async def test_update_refuses_unknown_and_archived_experiments(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    archived = await f.make_ab_test(db, status="archived")
    cases = {
        relay.to_base64("Experiment", f.MISSING_ID): ("id", "NOT_FOUND"),
        relay.to_base64("Campaign", archived.id): ("id", "NOT_FOUND"),
        gid(archived): ("id", "INVALID_TRANSITION"),
    }
    for experiment_id, expected in cases.items():
        result = await gql(UPDATE, {"input": {"id": experiment_id, "name": "x"}}, viewer=MARKETER)
        assert _errors(result.data["updateExperiment"]) == [expected]


async def test_update_validates_like_create(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    experiment_id = await _create(gql)
    other = await f.make_ab_test(db)
    result = await gql(
        UPDATE,
        {"input": {"id": experiment_id, "key": other.key, "name": "", "variants": _variants(600, 600)}},
        viewer=MARKETER,
    )
    assert set(_errors(result.data["updateExperiment"])) == {
        ("key", "TAKEN"),
        ("name", "REQUIRED"),
        ("variants", "INVALID"),
    }


async def test_the_lifecycle_and_its_audit_trail(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    experiment_id = await _create(gql)

    steps = ["start", "pause", "start", "complete", "archive"]
    statuses = []
    for verb in steps:
        result = await gql(_transition(verb), {"id": experiment_id}, viewer=MARKETER)
        payload = result.data[TRANSITIONS[verb]]
        assert payload["userErrors"] == [], (verb, payload)
        statuses.append(payload["experiment"]["status"])

    assert statuses == ["RUNNING", "PAUSED", "RUNNING", "COMPLETED", "ARCHIVED"]
    row = await db.scalar(select(Experiment))
    assert row.starts_at is not None and row.ends_at is not None and row.starts_at < row.ends_at
    actions = list(await db.scalars(select(AuditLogEntry.action).order_by(AuditLogEntry.id)))
    assert actions == [
        "experiment.create",
        "experiment.running",
        "experiment.paused",
        "experiment.running",
        "experiment.completed",
        "experiment.archived",
    ]


async def test_a_draft_can_be_archived(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    experiment_id = await _create(gql)
    result = await gql(_transition("archive"), {"id": experiment_id}, viewer=MARKETER)
    assert result.data["archiveExperiment"]["experiment"]["status"] == "ARCHIVED"


@pytest.mark.parametrize(
    ("status", "verb"),
    [
        ("draft", "pause"),
        ("draft", "complete"),
        ("running", "start"),
        ("running", "archive"),
        ("paused", "pause"),
        ("paused", "archive"),
        ("completed", "start"),
        ("completed", "pause"),
        ("archived", "start"),
        ("archived", "archive"),
    ],
)
async def test_the_state_machine_refuses_other_moves(db: AsyncSession, gql, status: str, verb: str) -> None:  # type: ignore[no-untyped-def]
    test, _ = await make_experiment(db, status=status)
    before = await _counts(db)

    result = await gql(_transition(verb), {"id": gid(test)}, viewer=MARKETER)

    payload = result.data[TRANSITIONS[verb]]
    assert payload["experiment"] is None
    assert _errors(payload) == [("id", "INVALID_TRANSITION")]
    await db.refresh(test)
    assert test.status == status
    assert await _counts(db) == before


@pytest.mark.parametrize(
    "weights_and_controls",
    [((1000,), (0,)), ((500, 500), ()), ((500, 400), (0,))],
    ids=["one variant", "no control", "weights not 1000"],
)
async def test_a_draft_needs_valid_variants_to_start(db: AsyncSession, gql, weights_and_controls) -> None:  # type: ignore[no-untyped-def]
    weights, controls = weights_and_controls
    test = await f.make_ab_test(db)
    for i, weight in enumerate(weights):
        await f.make_ab_test_variant(db, test_id=test.id, weight=weight, is_control=i in controls)

    result = await gql(_transition("start"), {"id": gid(test)}, viewer=MARKETER)

    assert _errors(result.data["startExperiment"]) == [("variants", "INVALID")]
    await db.refresh(test)
    assert test.status == "draft" and test.starts_at is None


async def test_a_transition_of_an_unknown_experiment_is_not_found(gql) -> None:  # type: ignore[no-untyped-def]
    result = await gql(
        _transition("start"), {"id": relay.to_base64("Experiment", f.MISSING_ID)}, viewer=ADMIN
    )
    assert _errors(result.data["startExperiment"]) == [("id", "NOT_FOUND")]


async def test_a_retry_with_the_same_key_creates_once(db: AsyncSession, gql) -> None:  # type: ignore[no-untyped-def]
    variables = {"input": {**VALID, "idempotencyKey": "create-1"}}
    first = await gql(CREATE, variables, viewer=MARKETER)
    second = await gql(CREATE, variables, viewer=MARKETER)

    assert first.data == second.data
    assert await _count(db, Experiment) == 1
    assert await _count(db, AuditLogEntry) == 1


REFUSED_WRITERS = [
    Viewer(role=Role.ANALYST, user_id=1),
    Viewer(role=Role.MERCHANT, user_id=1, merchant_id=1),
    Viewer(role=Role.CUSTOMER, user_id=1),
    Viewer(role=Role.SERVICE),
    ANONYMOUS,
]
ROLE_IDS = ["analyst", "merchant", "customer", "service", "anonymous"]


@pytest.mark.parametrize("viewer", REFUSED_WRITERS, ids=ROLE_IDS)
async def test_only_admins_and_marketers_create_and_update(db: AsyncSession, gql, viewer: Viewer) -> None:  # type: ignore[no-untyped-def]
    test, _ = await make_experiment(db)
    before = await _counts(db)

    created = await gql(CREATE, {"input": VALID}, viewer=viewer)
    updated = await gql(UPDATE, {"input": {"id": gid(test), "name": "x"}}, viewer=viewer)

    assert created.data == {"createExperiment": None}
    assert updated.data == {"updateExperiment": None}
    assert [e.extensions["code"] for e in created.errors + updated.errors] == ["FORBIDDEN", "FORBIDDEN"]
    assert await _counts(db) == before


@pytest.mark.parametrize("verb", sorted(TRANSITIONS))
@pytest.mark.parametrize("viewer", REFUSED_WRITERS, ids=ROLE_IDS)
async def test_only_admins_and_marketers_move_the_lifecycle(
    db: AsyncSession, gql, viewer: Viewer, verb: str
) -> None:  # type: ignore[no-untyped-def]
    status = {"start": "draft", "pause": "running", "complete": "running", "archive": "draft"}[verb]
    test, _ = await make_experiment(db, status=status)

    result = await gql(_transition(verb), {"id": gid(test)}, viewer=viewer)

    assert result.data == {TRANSITIONS[verb]: None}
    assert result.errors[0].extensions["code"] == "FORBIDDEN"
    await db.refresh(test)
    assert test.status == status
    assert await _count(db, AuditLogEntry) == 0


async def test_admins_write_too(gql) -> None:  # type: ignore[no-untyped-def]
    result = await gql(CREATE, {"input": VALID}, viewer=ADMIN)
    assert result.data["createExperiment"]["experiment"]["status"] == "DRAFT"
